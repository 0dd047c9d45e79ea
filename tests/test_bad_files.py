"""Bad inputs: each kind stops the run with an error naming the file and the problem; with
--skip-bad-files the run completes, records the file, the reason and the events lost, and the
event accounting (catalog = processed + skipped) holds."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import uproot

sys.path.insert(0, str(Path(__file__).parent))

from workflow_helpers import TOY, make_fileset, write_events

from processors.registry import get as get_search
from workflows import outputs
from workflows.inputcheck import BadInputError
from workflows.run import RunConfig, run
from workflows.runoptions import load_run_options


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_fileset(tmp_path_factory.mktemp("inputs"), files_per_sample=2, n=300).parent


def _copy(pristine: Path, tmp_path: Path) -> Path:
    d = tmp_path / "in"
    shutil.copytree(pristine, d)
    return d


def _run(inputs: Path, out: Path, skip: bool):
    opts = load_run_options(cli={"executor": "iterative", "chunksize": 1000, "skip_bad_files": skip, "status": False})
    cfg = RunConfig(search=get_search(TOY), samples=inputs / "fileset.json", output=out, options=opts, plots=False)
    return run(cfg)


def _truncate(p: Path) -> None:
    data = p.read_bytes()
    p.write_bytes(data[: len(data) * 2 // 3])


def _garbage(p: Path) -> None:
    p.write_bytes(np.random.default_rng(0).bytes(p.stat().st_size))


def _no_tree(p: Path) -> None:
    with uproot.recreate(p) as f:
        f["other"] = np.histogram(np.arange(5.0), bins=2)


def _drop_branch(p: Path) -> None:
    write_events(p, 337, seed=1, mc=True, drop=("Track_pz",))


CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "missing": (lambda p: p.unlink(), "missing: file not found"),
    "truncated": (_truncate, "truncated"),
    "corrupt": (_garbage, "unreadable: not a readable ROOT file"),
    "no-tree": (_no_tree, "no-tree: no TTree 'events'"),
    "missing-branch": (_drop_branch, "missing-branches: .*Track_pz"),
    "empty": (lambda p: p.write_bytes(b""), "empty: file is empty"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_file_stops_run(case: str, pristine: Path, tmp_path: Path) -> None:
    inputs = _copy(pristine, tmp_path)
    victim = inputs / "sig_m1_1.root"
    CASES[case][0](victim)
    with pytest.raises(BadInputError, match=rf"{victim}.*\(sample sig_m1\): {CASES[case][1]}") as err:
        _run(inputs, tmp_path / "out", skip=False)
    assert "--skip-bad-files" in str(err.value)  # says what to do
    assert len(err.value.problems) == 1
    assert not (tmp_path / "out" / outputs.HISTS_FILE).exists()


@pytest.mark.parametrize("case", ["missing", "truncated", "missing-branch"])
def test_skip_bad_files_records_and_accounts(case: str, pristine: Path, tmp_path: Path) -> None:
    inputs = _copy(pristine, tmp_path)
    victim = inputs / "sig_m1_1.root"
    meta = json.loads((inputs / "fileset.json").read_text())["sig_m1"]["metadata"]
    lost_expected = meta["file_events"][victim.name]
    CASES[case][0](victim)
    res = _run(inputs, tmp_path / "out", skip=True)
    assert res.processed["sig_m1"] == meta["n_events"] - lost_expected
    assert sum(res.expected.values()) == sum(res.processed.values()) + lost_expected
    prov = outputs.load(tmp_path / "out").provenance
    (skipped,) = prov["skipped_files"]
    assert skipped["path"] == str(victim) and skipped["sample"] == "sig_m1"
    assert skipped["reason"] == CASES[case][1].split(":")[0]
    assert skipped["events_lost"] == lost_expected
    acc = prov["accounting"]["per_sample"]["sig_m1"]
    assert acc == {
        "catalog": meta["n_events"],
        "processed": meta["n_events"] - lost_expected,
        "skipped": lost_expected,
        "not_requested": 0,
    }
    assert f"SKIPPED 1 bad file(s), {lost_expected} events lost" in res.summary
    assert f"skipped {lost_expected}" in res.summary


def test_stale_catalog_count_is_an_error(pristine: Path, tmp_path: Path) -> None:
    """A file whose entry count differs from the catalog is bad input, never silently accepted."""
    inputs = _copy(pristine, tmp_path)
    write_events(inputs / "data_0.root", 123, seed=5, mc=False)
    with pytest.raises(BadInputError, match=r"data_0.root.*entries: tree has 123 entries, the catalog says 300"):
        _run(inputs, tmp_path / "out", skip=False)


def _corrupt_basket(p: Path, branch: str = "Track_px") -> None:
    """Overwrite the compressed payload of one basket: the metadata stay valid, reading the data fails."""
    with uproot.open(p) as f:
        seek = int(f["events"][branch].member("fBasketSeek")[0])
    raw = bytearray(p.read_bytes())
    keylen = int.from_bytes(raw[seek + 14 : seek + 16], "big")
    start = seek + keylen + 9  # after the 9-byte compression header
    raw[start : start + 64] = np.random.default_rng(1).bytes(64)
    p.write_bytes(bytes(raw))


@pytest.mark.parametrize("skip", [False, True])
def test_corrupt_basket_found_during_processing(skip: bool, pristine: Path, tmp_path: Path) -> None:
    inputs = _copy(pristine, tmp_path)
    victim = inputs / "bkg_mumu_0.root"
    _corrupt_basket(victim)
    if not skip:
        with pytest.raises(BadInputError, match=rf"{victim} \(sample bkg_mumu\): read-error: reading failed"):
            _run(inputs, tmp_path / "out", skip=False)
        return
    res = _run(inputs, tmp_path / "out", skip=True)
    (p,) = res.skipped
    assert p.path == str(victim) and p.reason == "read-error" and p.events_lost == 300
    assert res.processed["bkg_mumu"] == res.expected["bkg_mumu"] - 300
    assert "SKIPPED 1 bad file(s), 300 events lost" in res.summary

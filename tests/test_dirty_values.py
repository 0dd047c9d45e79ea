"""Dirty values inside good files (issue 18, section 4), each with the exact behaviour a user sees.

Inputs: copies of the Z' -> invisible golden files (tests/searches/zprime_inv/golden) with a few values changed
(tests/dirty_inputs.py). The runs use two samples (mumu, eemumu; --partial) and the iterative executor.

- NaN / inf in a column the search reads, a NaN / negative / absurd MC weight: refused, naming file, branch and
  entries; with --drop-bad-events the events are dropped and listed in provenance and the summary, and the
  other samples' histograms are bit-identical to a clean run.
- A counter that does not count its branches, a float branch stored as integers: a bad file (refused, or
  skipped with --skip-bad-files).
- A file listed twice (one sample or two; a catalog refuses it itself, a fileset JSON in the input check), the
  same events in two files of a sample: refused.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from dirty_inputs import edit, first_with, set_jagged

from processors.registry import get as get_search
from processors.validity import MAX_EVENT_WEIGHT, BadEventsError
from samples.catalog import CatalogError
from workflows import checkpoint, outputs
from workflows.inputcheck import BadInputError, DuplicateInputError
from workflows.run import RunConfig, RunResult, run
from workflows.runoptions import load_run_options

GOLDEN = Path(__file__).parent / "searches" / "zprime_inv" / "golden"
KEEP = ("mumu", "eemumu")


def _inputs(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    cat = yaml.safe_load((GOLDEN / "catalog.yaml").read_text())
    cat["samples"] = {k: v for k, v in cat["samples"].items() if k in KEEP}
    for s in cat["samples"].values():
        for f in s["files"]:
            shutil.copy(GOLDEN / f["path"], d / f["path"])
    (d / "catalog.yaml").write_text(yaml.safe_dump(cat))
    return d


def _catalog(d: Path, change: Any) -> None:
    cat = yaml.safe_load((d / "catalog.yaml").read_text())
    change(cat["samples"])
    (d / "catalog.yaml").write_text(yaml.safe_dump(cat))


def _run(d: Path, out: Path, **cli: Any) -> RunResult:
    opts = load_run_options(cli={"executor": "iterative", "status": False, **cli})
    cfg = RunConfig(search=get_search("zprime-inv"), samples=d / "catalog.yaml", output=out, options=opts,
                    plots=False, partial=True)  # fmt: skip
    return run(cfg)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> outputs.RunOutput:
    tmp = tmp_path_factory.mktemp("clean")
    _run(_inputs(tmp), tmp / "out")
    return outputs.load(tmp / "out")


def _nan_px(data: dict[str, Any]) -> None:
    set_jagged(data, "Track", "px", first_with(data, "Track", 10), np.nan)


def _inf_muon_id(data: dict[str, Any]) -> None:
    set_jagged(data, "Track", "muonID", first_with(data, "Track", 20), np.inf)


def _weight(value: float, entries: tuple[int, ...] = (5, 7)):
    def change(data: dict[str, Any]) -> None:
        for i in entries:
            data["weight"][i] = value

    return change


VALUE_CASES = {
    "nan-px": (_nan_px, "Track_px", "nan", (10, 10)),
    "inf-muonID": (_inf_muon_id, "Track_muonID", "inf", (20, 20)),
    "nan-weight": (_weight(np.nan), "weight", "nan", (5, 7)),
    "negative-weight": (_weight(-1.0), "weight", "negative", (5, 7)),
    "absurd-weight": (_weight(MAX_EVENT_WEIGHT * 10), "weight", "absurd", (5, 7)),
}


@pytest.mark.parametrize("case", sorted(VALUE_CASES))
def test_bad_values_refused(case: str, tmp_path: Path) -> None:
    change, column, reason, (first, last) = VALUE_CASES[case]
    d = _inputs(tmp_path)
    edit(d / "mumu.root", change)
    with pytest.raises(BadEventsError) as err:
        _run(d, tmp_path / "out")
    msg = str(err.value)
    n = 1 if first == last else 2
    assert f"{d / 'mumu.root'} (sample mumu): branch {column}: {n} event(s) with {reason} values at entries " \
           f"{first}..{last}" in msg  # fmt: skip
    assert "--drop-bad-events" in msg and "Traceback" not in msg
    assert not (tmp_path / "out" / outputs.RUN_FILE).exists()  # nothing half-saved


def test_bad_values_dropped_and_recorded(tmp_path: Path, clean: outputs.RunOutput) -> None:
    d = _inputs(tmp_path)
    edit(d / "mumu.root", _nan_px)
    edit(d / "eemumu.root", _weight(-2.0, (3,)))
    res = _run(d, tmp_path / "out", drop_bad_events=True)
    got = outputs.load(tmp_path / "out")
    rows = {(b["sample"], b["column"], b["reason"]): b for b in got.provenance["bad_events"]}
    assert set(rows) == {("mumu", "Track_px", "nan"), ("eemumu", "weight", "negative")}
    assert (rows["mumu", "Track_px", "nan"]["events"], rows["mumu", "Track_px", "nan"]["first"]) == (1, 10)
    assert rows["eemumu", "weight", "negative"]["file"] == str(d / "eemumu.root")
    acc = got.provenance["accounting"]
    assert acc["dropped_bad_events"] == {"mumu": 1, "eemumu": 1}
    assert acc["total"]["processed"] == clean.provenance["accounting"]["total"]["processed"]  # all events read
    assert "DROPPED 2 event(s) with bad values" in res.summary
    assert "of the processed, 2 dropped for bad values" in res.summary
    # the physics of the other events is unchanged: the first cutflow step loses at most the dropped event
    for s in KEEP:
        a, b = got.cutflows[s]["raw"], clean.cutflows[s]["raw"]
        assert all(0 <= y - x <= 1 for x, y in zip(a, b, strict=True)), (s, a, b)


def _run_resume(d: Path, out: Path, **cli: Any) -> RunResult:
    opts = load_run_options(cli={"executor": "iterative", "status": False, "chunksize": 400, **cli})
    cfg = RunConfig(search=get_search("zprime-inv"), samples=d / "catalog.yaml", output=out, options=opts,
                    plots=False, partial=True, resume=True, keep_partial=True)  # fmt: skip
    return run(cfg)


def test_drop_resumes_after_refusal(tmp_path: Path) -> None:
    """A refused run keeps its finished chunks: --resume --drop-bad-events reuses them (the option is not in the
    resume hash); a refusing --resume over chunks that a dropping run checkpointed refuses again."""
    d = _inputs(tmp_path)
    edit(d / "mumu.root", _nan_px)
    with pytest.raises(BadEventsError):
        _run_resume(d, tmp_path / "out")
    finished = checkpoint.count(tmp_path / "out" / checkpoint.PARTIAL_DIR)
    assert finished >= 1
    res = _run_resume(d, tmp_path / "out", drop_bad_events=True)
    assert res.provenance["resume"]["chunks_reused"] == finished
    assert res.provenance["accounting"]["dropped_bad_events"] == {"mumu": 1}
    with pytest.raises(BadEventsError, match="branch Track_px: 1 event"):
        _run_resume(d, tmp_path / "out")


def _bad_counter(data: dict[str, Any]) -> dict[str, np.ndarray]:
    counts = ak.to_numpy(ak.num(data["Track"])).copy()
    counts[10] += 1
    return {"Track": counts}


def _int_px(data: dict[str, Any]) -> None:
    data["Track"] = ak.with_field(data["Track"], ak.values_astype(data["Track"].px * 1000, np.int32), "px")


@pytest.mark.parametrize(
    ("change", "reason", "detail"),
    [
        (_bad_counter, "counter", "Track_* branches (e.g. Track_charge) are counted by '_nTrack', not by nTrack"),
        (_int_px, "dtype", "Track_px is int32, the event format says float32"),
    ],
    ids=["counter", "dtype"],
)
def test_structural_problems_are_bad_files(change: Any, reason: str, detail: str, tmp_path: Path) -> None:
    d = _inputs(tmp_path)
    edit(d / "mumu.root", change)
    with pytest.raises(BadInputError) as err:
        _run(d, tmp_path / "out")
    assert f"{d / 'mumu.root'} (sample mumu): {reason}: {detail}" in str(err.value)
    res = _run(d, tmp_path / "out", skip_bad_files=True)
    skipped = res.provenance["skipped_files"]
    assert [(p["path"], p["reason"], p["events_lost"]) for p in skipped] == [(str(d / "mumu.root"), reason, 1000)]


def test_file_listed_twice_in_a_catalog(tmp_path: Path) -> None:
    d = _inputs(tmp_path)

    def twice(samples: dict[str, Any]) -> None:
        samples["mumu"]["files"].append(dict(samples["mumu"]["files"][0]))
        samples["mumu"]["n_events"] *= 2

    _catalog(d, twice)
    msg = "sample 'mumu' lists it twice point to the same file mumu.root: its events would be counted twice"
    with pytest.raises(CatalogError, match=re.escape(msg)):
        _run(d, tmp_path / "out")


def _fileset_json(d: Path, files: dict[str, list[str]]) -> Path:
    """A fileset JSON (no catalog checks of its own) with the given files per sample."""
    from workflows.fileset import load_fileset

    fs = load_fileset(d / "catalog.yaml", 79.7)
    out = {s: {**fs[s], "files": {str(d / f): "events" for f in fl}} for s, fl in files.items()}
    for s, e in out.items():
        e["metadata"] = {**e["metadata"], "file_events": {p: 1000 for p in e["files"]}, "n_events": 1000 * len(fl)
                         if (fl := files[s]) else 0}  # fmt: skip
    path = d / "fileset.json"
    path.write_text(json.dumps(out, default=str))
    return path


@pytest.mark.parametrize(
    ("files", "where"),
    [
        ({"mumu": ["mumu.root", "link.root"], "eemumu": ["eemumu.root"]}, r"sample mumu as .*, sample mumu as "),
        ({"mumu": ["mumu.root"], "eemumu": ["eemumu.root", "mumu.root"]}, r"sample mumu as .*, sample eemumu as "),
    ],
    ids=["one-sample", "two-samples"],
)
def test_file_listed_twice_in_a_fileset(files: dict[str, list[str]], where: str, tmp_path: Path) -> None:
    d = _inputs(tmp_path)
    (d / "link.root").symlink_to(d / "mumu.root")  # another name of the same file
    fileset = _fileset_json(d, files)
    opts = load_run_options(cli={"executor": "iterative", "status": False})
    cfg = RunConfig(search=get_search("zprime-inv"), samples=fileset, output=tmp_path / "out", options=opts,
                    plots=False, partial=True)  # fmt: skip
    with pytest.raises(DuplicateInputError, match=rf"1 input file\(s\) listed more than once .*\n  {d / 'mumu.root'}: "
                       rf"{where}"):  # fmt: skip
        run(cfg)


def test_same_events_in_two_files(tmp_path: Path) -> None:
    d = _inputs(tmp_path)
    shutil.copy(d / "mumu.root", d / "mumu_copy.root")

    def copy(samples: dict[str, Any]) -> None:
        samples["mumu"]["files"].append({"path": "mumu_copy.root", "events": 1000, "format": "root"})
        samples["mumu"]["n_events"] = 2000

    _catalog(d, copy)
    with pytest.raises(DuplicateInputError) as err:
        _run(d, tmp_path / "out")
    assert "sample mumu: 1000 event(s) in two files, e.g. (exp, run, event) = " in str(err.value)
    assert f"in {d / 'mumu.root'} and {d / 'mumu_copy.root'}" in str(err.value)


def test_parquet_counter_inconsistent_with_its_column(tmp_path: Path) -> None:
    """Parquet lists carry their own lengths, the counter is another column: a counter asking for more values than
    the column holds is refused with the file and entry range, not coffea's traceback."""
    from dirty_inputs import read_columns

    d = _inputs(tmp_path)
    data = read_columns(d / "mumu.root")
    flat = {k: v for k, v in data.items() if not isinstance(v, ak.Array)}
    for coll in ("Track", "Photon", "KLMCluster", "Vertex", "MCParticle"):
        if coll in data:
            flat[f"n{coll}"] = ak.to_numpy(ak.num(data[coll])).astype(np.int32)
            for f in ak.fields(data[coll]):
                flat[f"{coll}_{f}"] = data[coll][f]
    flat["nTrack"][10] += 1
    ak.to_parquet(ak.zip(flat, depth_limit=1), d / "mumu.parquet")  # as tests/synthetic.py writes Parquet

    def to_parquet(samples: dict[str, Any]) -> None:
        for s in samples.values():  # one format per run: the other sample goes too
            s["files"] = [{"path": "mumu.parquet", "events": 1000, "format": "parquet"}] if s is samples["mumu"] else []
        samples.pop("eemumu")

    _catalog(d, to_parquet)
    with pytest.raises(BadEventsError) as err:
        _run(d, tmp_path / "out")
    assert f"{d / 'mumu.parquet'} (sample mumu): branch Track_" in str(err.value)
    assert "the counter nTrack does not match the branch's lengths in entries 0..999" in str(err.value)

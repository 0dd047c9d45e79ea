"""Normalisation mistakes stop `b2dark run` with one line naming the catalog entry (issue 19): a generator
filter efficiency of 0, two entries pointing to the same file, a negative cross section, and pseudo-data at
another luminosity than the one MC is normalised to (in `b2dark run`, and in `b2dark limits` for old runs)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from workflow_helpers import TOY, make_fileset

from samples import catalog as cat
from workflows import cli, outputs

GOLDEN = Path(__file__).parent / "searches" / "zprime_inv" / "golden"


def golden_catalog(tmp_path: Path, **changes: dict[str, Any]) -> Path:
    """The Z' -> invisible golden catalog with absolute file paths and ``changes`` {sample: {key: value}}."""
    data = cat.load_catalog(GOLDEN / "catalog.yaml").model_dump(mode="json")
    for name, over in changes.items():
        data["samples"][name].update(over)
    for entry in data["samples"].values():
        for f in entry["files"]:
            f["path"] = str((GOLDEN / f["path"]).resolve())
    path = tmp_path / "catalog.yaml"
    path.write_text(json.dumps(data))  # JSON is YAML
    return path


def run_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert cli.main(list(argv)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line, no traceback
    return err.strip()


def _run(catalog: Path, out: Path, *extra: str) -> list[str]:
    return ["run", "zprime-inv", "--samples", str(catalog), "--output", str(out), "--executor", "iterative",
            "--no-plots", "--no-progress", *extra]  # fmt: skip


def test_zero_filter_efficiency_is_a_catalog_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = golden_catalog(tmp_path, mumu={"filter_efficiency": 0.0})
    assert run_error(capsys, *_run(catalog, tmp_path / "out")) == (
        f"b2dark run: error: catalog {catalog}: sample 'mumu': 'filter_efficiency' is 0: it is the fraction of "
        "generated events the generator filter kept (n_events / n_generated), in (0, 1]; 1.0 means no filter"
    )


def test_negative_cross_section_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = golden_catalog(tmp_path, tautau={"xsec_fb": -919000.0})
    assert run_error(capsys, *_run(catalog, tmp_path / "out")) == (
        f"b2dark run: error: catalog {catalog}: sample 'tautau': key 'xsec_fb': Input should be greater than or "
        "equal to 0"
    )


def test_two_entries_with_one_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mumu = cat.load_catalog(GOLDEN / "catalog.yaml").samples["mumu"].model_dump(mode="json")
    catalog = golden_catalog(tmp_path, eemumu={"files": mumu["files"], "n_events": mumu["n_events"],
                                               "n_generated": max(mumu["n_generated"], mumu["n_events"])})  # fmt: skip
    err = run_error(capsys, *_run(catalog, tmp_path / "out"))
    path = (GOLDEN / "mumu.root").resolve()
    assert err == (
        f"b2dark run: error: catalog {catalog}: samples 'mumu' and 'eemumu' point to the same file {path}: its "
        "events would be counted twice; remove one entry (or give each its own file)"
    )


def test_one_entry_listing_a_file_twice(tmp_path: Path) -> None:
    e = cat.load_catalog(GOLDEN / "catalog.yaml").samples["mumu"].model_dump(mode="json")
    e["files"] = [e["files"][0], e["files"][0]]
    e["n_events"] *= 2
    e["n_generated"] *= 2
    with pytest.raises(cat.CatalogError, match=r"sample 'mumu' lists it twice point to the same file mumu.root"):
        cat.parse_catalog({"samples": {"mumu": e}}, "c.yaml", base_dir=str(GOLDEN))


def test_data_at_another_luminosity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = golden_catalog(tmp_path, data_zprime_inv={"lumi_fb": 2.0})
    out = tmp_path / "out"
    assert run_error(capsys, *_run(catalog, out)) == (
        f"b2dark run: error: {catalog}: data sample 'data_zprime_inv' has lumi_fb 2 fb^-1 but MC would be normalised "
        "to 79.7 fb^-1 (the search's declared luminosity); rerun with --lumi 2 to normalise MC to the data, or "
        "choose data of that luminosity (--data, `b2dark searches` lists them)"
    )
    assert "(--lumi)" in run_error(capsys, *_run(catalog, out, "--lumi", "10"))
    assert not out.exists() or not (out / outputs.HISTS_FILE).exists()
    assert cli.main(_run(catalog, out, "--lumi", "2")) == 0  # what the message says to do
    assert outputs.load(out).lumi_fb == 2.0


def test_limits_refuses_an_old_run_with_mismatched_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fileset = make_fileset(tmp_path / "in", files_per_sample=1, n=200)
    out = tmp_path / "out"
    assert cli.main(["run", TOY, "--samples", str(fileset), "--output", str(out), "--executor", "iterative",
                     "--no-plots", "--no-progress"]) == 0  # fmt: skip
    run = json.loads((out / outputs.RUN_FILE).read_text())
    run["samples"]["data"]["lumi_fb"] = 2.0  # as written by a b2dark that did not check
    (out / outputs.RUN_FILE).write_text(json.dumps(run))
    # keep the folder's manifest true to the edited file, as that old b2dark would have written it
    manifest = json.loads((out / outputs.MANIFEST_FILE).read_text())
    manifest["files"][outputs.RUN_FILE] = (out / outputs.RUN_FILE).stat().st_size
    (out / outputs.MANIFEST_FILE).write_text(json.dumps(manifest))
    capsys.readouterr()
    assert cli.main(["limits", TOY, "--input", str(out), "--no-progress"]) == 2
    assert capsys.readouterr().err == (
        f"b2dark limits: error: {out}: data sample 'data' has lumi_fb 2 fb^-1 but the MC was normalised to 79.7 "
        f"fb^-1; rerun `b2dark run {TOY} --lumi 2`\n"
    )

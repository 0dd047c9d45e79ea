"""Parquet is a first-class input of `b2dark run`: every search's golden inputs, converted to Parquet with the
project's own writer (samples.generator.io), give the same histograms and cutflows as the ROOT files;
`b2dark inspect` reads Parquet; a run mixing ROOT-only and Parquet-only samples is refused naming them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from samples import catalog as cat
from samples.generator import io
from workflows import cli, outputs

SEARCHES = Path(__file__).parent / "searches"
GOLDEN = {"zprime-inv": SEARCHES / "zprime_inv" / "golden", "zprime-mumu": SEARCHES / "zprime_mumu" / "golden"}


def to_parquet(golden: Path, out: Path, only: set[str] | None = None) -> Path:
    """A copy of a golden catalog whose samples (all, or ``only``) point to Parquet files with the same events."""
    out.mkdir(parents=True, exist_ok=True)
    c = cat.load_catalog(golden / "catalog.yaml")
    for name, e in c.samples.items():
        (f,) = e.files
        if only is not None and name not in only:
            shutil.copy(c.resolve(f.path), out / f.path)
            continue
        path = out / (Path(f.path).stem + ".parquet")
        io.write_parquet(path, io.read_root(c.resolve(f.path)), mc=not e.is_data)
        e.files = [cat.FileEntry(path=path.name, events=f.events, format="parquet")]
    return c.save(out / "catalog.yaml")


def _run(search: str, catalog: Path, out: Path) -> int:
    return cli.main(["run", search, "--samples", str(catalog), "--output", str(out), "--executor", "iterative",
                     "--no-plots", "--no-progress"])  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("search", sorted(GOLDEN))
def test_parquet_run_equals_root_run(search: str, tmp_path: Path) -> None:
    assert _run(search, GOLDEN[search] / "catalog.yaml", tmp_path / "root") == 0
    assert _run(search, to_parquet(GOLDEN[search], tmp_path / "pq"), tmp_path / "parquet") == 0
    root, pq = outputs.load(tmp_path / "root"), outputs.load(tmp_path / "parquet")
    assert pq.provenance["options"]["input_format"] == "parquet"
    assert root.provenance["options"]["input_format"] == "root"
    assert set(pq.hists) == set(root.hists) and root.hists
    for name, h in root.hists.items():
        g = pq.hists[name]
        assert g.axes == h.axes, name
        np.testing.assert_allclose(g.values(flow=True), h.values(flow=True), rtol=1e-12, atol=0, err_msg=name)
        np.testing.assert_allclose(g.variances(flow=True), h.variances(flow=True), rtol=1e-12, atol=0, err_msg=name)
    assert pq.cutflows == root.cutflows
    assert pq.cutflow_regions == root.cutflow_regions
    assert pq.nevents == root.nevents


def test_mixed_formats_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = to_parquet(GOLDEN["zprime-inv"], tmp_path / "mixed", only={"mumu"})
    assert _run("zprime-inv", catalog, tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1  # one line
    head = f"b2dark run: error: {catalog}: the selected samples are in different file formats (parquet: mumu; root: "
    assert err.startswith(head)
    assert "write the samples in one format" in err
    assert not (tmp_path / "out" / outputs.HISTS_FILE).exists()


def test_inspect_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = to_parquet(GOLDEN["zprime-inv"], tmp_path / "pq", only={"mumu"})
    path = catalog.parent / "mumu.parquet"
    assert cli.main(["inspect", str(path), "-n", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{path}: Parquet, 1 row group(s)"
    assert out[1].startswith("1000 entries, ") and any(line.split()[:1] == ["nTrack"] for line in out)
    assert sum(line.startswith("{") for line in out) == 2  # the first two events
    bad = tmp_path / "cut.parquet"
    bad.write_bytes(path.read_bytes()[:1000])  # truncated: no footer
    assert cli.main(["inspect", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"b2dark inspect: error: {bad}: not a readable Parquet file (") and err.count("\n") == 1


def test_truncated_parquet_input_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    catalog = to_parquet(GOLDEN["zprime-inv"], tmp_path / "pq")
    mumu = catalog.parent / "mumu.parquet"
    mumu.write_bytes(mumu.read_bytes()[:1000])
    assert _run("zprime-inv", catalog, tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert f"{mumu} (sample mumu): unreadable: not a readable Parquet file" in err

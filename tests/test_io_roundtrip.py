"""ROOT and Parquet files hold identical columns; data files carry no truth; ROOT itself reads them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import uproot

from samples import eventformat as EF
from samples.generator import io, pipeline
from tests.generator_toys import register_toys


@pytest.fixture
def toy_processes(monkeypatch: pytest.MonkeyPatch) -> dict:
    return register_toys(monkeypatch)


@pytest.fixture
def sample(toy_processes):
    return pipeline.generate("toy_ks", 3000, seed=5, chunk_size=1000)


def test_root_and_parquet_roundtrip_identical(sample, tmp_path: Path) -> None:
    cols = sample.columns
    io.write_root(tmp_path / "s.root", cols, basket_events=700)  # several baskets
    io.write_parquet(tmp_path / "s.parquet", cols, row_group=700)
    r = io.read_root(tmp_path / "s.root")
    p = io.read_parquet(tmp_path / "s.parquet")
    assert set(r) == set(p) == set(cols)
    for k in cols:
        assert r[k].dtype == p[k].dtype == cols[k].dtype, k
        assert r[k].tobytes() == p[k].tobytes() == cols[k].tobytes(), k


def test_root_file_is_a_ttree_with_nanoaod_branches(sample, tmp_path: Path) -> None:
    io.write_root(tmp_path / "s.root", sample.columns)
    with uproot.open(tmp_path / "s.root") as f:
        tree = f[EF.TREE_NAME]
        assert isinstance(tree, uproot.TTree)
        # all_branches lists what every file must carry; the MC-only event columns (mc_*) come on top
        # (mc_beam_* in every MC file, the model parameters in signal samples).
        mc_event = {c.name for c in EF.MC_EVENT_COLUMNS}
        assert set(tree.keys()) - mc_event == set(EF.all_branches(mc=True))
        assert {"mc_beam_E", "mc_beam_px", "mc_beam_py", "mc_beam_pz"} <= set(tree.keys())
        assert tree["Track_px"].count_branch.name == "nTrack"
        assert tree.num_entries == sample.n_events


def test_data_files_have_no_mc_columns(sample, tmp_path: Path) -> None:
    io.write_root(tmp_path / "d.root", sample.columns, mc=False)
    io.write_parquet(tmp_path / "d.parquet", sample.columns, mc=False)
    expected = set(EF.all_branches(mc=False))
    with uproot.open(tmp_path / "d.root") as f:
        assert set(f["events"].keys()) == expected
    assert set(io.read_parquet(tmp_path / "d.parquet")) == expected
    assert not any(k.startswith(("MCParticle", "mc_")) or k.endswith("mcIndex") for k in expected)


def test_unknown_column_and_format_are_rejected(sample, tmp_path: Path) -> None:
    with pytest.raises(KeyError, match=r"not in samples/eventformat\.py"):
        io.write_root(tmp_path / "x.root", {**sample.columns, "bogus": sample.columns["event"]})
    with pytest.raises(ValueError, match="unknown output format"):
        io.write(tmp_path / "x.csv", sample.columns)
    with pytest.raises(ValueError, match="unknown ROOT compression"):
        io.compression_of("GZIP:1")


@pytest.mark.slow
def test_root_itself_reads_the_file(sample, tmp_path: Path) -> None:
    ROOT = pytest.importorskip("ROOT")  # the PyPI `root` package is installed in the dev venv
    path = tmp_path / "s.root"
    io.write_root(path, sample.columns)
    f = ROOT.TFile.Open(str(path))
    assert f and not f.IsZombie()
    tree = f.Get("events")
    assert tree.GetEntries() == sample.n_events
    df = ROOT.RDataFrame("events", str(path))
    n_tracks = df.Sum("nTrack").GetValue()
    sum_px = df.Define("s", "ROOT::VecOps::Sum(Track_px)").Sum("s").GetValue()
    assert n_tracks == int(sample.columns["nTrack"].sum())
    assert sum_px == pytest.approx(float(sample.columns["Track_px"].astype(np.float64).sum()), rel=1e-5, abs=1e-3)
    f.Close()


def test_format_doc_lists_every_column() -> None:
    from samples import formatdoc

    text = formatdoc.FORMAT_MD.read_text()
    assert formatdoc.render_tables() in text, "FORMAT.md is out of date: run python -m samples.formatdoc"
    for name in EF.all_branches(mc=True):
        assert f"`{name}`" in text, name

"""basf2 ntuples as input (samples/basf2_names.py, basf2_reader.py, basf2_export.py).

Round trip: a search's committed golden inputs written as basf2-style ntuples (both flavours) give exactly the
golden histograms and cutflows of the native files; a variable the search needs but the file lacks is an error
naming the basf2 variable and the steering-file call; unsorted candidate rows are put back in order, rows that
cannot be grouped are refused. Z' -> invisible runs in the fast selection, the other searches are `slow`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import uproot
from golden_tools import compare, run_fingerprint

from samples import basf2_export, basf2_reader
from samples.basf2_names import LISTS, make_root_compatible
from samples.generator import io

SEARCHES = Path(__file__).parent / "searches"
ZP_GOLDEN = SEARCHES / "zprime_inv" / "golden"


def _export(key: str, flavour: str, out: Path) -> Path:
    return basf2_export.export_catalog(SEARCHES / key / "golden" / "catalog.yaml", out, flavour)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def zp_ntuples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("basf2")
    return {fl: _export("zprime_inv", fl, base / fl) for fl in ("ntuple", "eventtree")}


def _run(search: str, catalog: Path, out: Path) -> int:
    from workflows import cli

    return cli.main(["run", search, "--samples", str(catalog), "--output", str(out), "--executor", "iterative",
                     "--no-plots", "--no-progress"])  # fmt: skip


def _round_trip(search: str, key: str, catalog: Path, out: Path) -> None:
    assert _run(search, catalog, out) == 0
    got = run_fingerprint(out)
    expected = json.loads((SEARCHES / key / "golden" / "expected.json").read_text())
    assert compare(expected, got) == []
    assert got["cutflow"] == expected["cutflow"] and got["hists"] == expected["hists"]
    prov = json.loads((out / "provenance.json").read_text())
    assert sorted(Path(p).name for p in prov["options"]["basf2_inputs"].values()) == sorted(
        p.name for p in catalog.parent.glob("*.root")
    )


def test_make_root_compatible_is_basf2s() -> None:
    assert make_root_compatible("useCMSFrame(p)") == "useCMSFrame__bop__bc"
    assert make_root_compatible("daughter(0, mdstIndex)") == "daughter__bo0__cm__spmdstIndex__bc"
    assert make_root_compatible("pi+:all") == "pi__pl__clall"
    assert make_root_compatible("a-b*c/d") == "a__mib__muc__sld"
    assert make_root_compatible("x§é") == "x__pa"  # mapped multi-byte characters kept, others dropped


def test_layout_follows_basf2(zp_ntuples: dict[str, Path]) -> None:
    """Leaf lists as VariablesToNtuple / VariablesToEventBasedTree declare them; one row per candidate / event."""
    native = io.read_root(ZP_GOLDEN / "mumu.root")
    with uproot.open(zp_ntuples["ntuple"].parent / "mumu.ntuple.root") as f:
        tracks = f["pi__pl__clall"]
        titles = {k: b.title for k, b in tracks.items()}
        assert titles["__event__"] == "__event__/i" and titles["__experiment__"] == "__experiment__/I"
        assert titles["__candidate__"] == "__candidate__/I" and titles["__weight__"] == "__weight__/D"
        assert titles["klmClusterLayers"] == "klmClusterLayers/I" and titles["muonID"] == "muonID/D"
        assert tracks.num_entries == native["nTrack"].sum() and f["event"].num_entries == native["event"].size
        # no matched cluster: basf2's NaN, not b2dark's 0
        assert np.isnan(tracks["clusterE"].array(library="np")).sum() == (native["Track_clusterE"] == 0).sum()
    with uproot.open(zp_ntuples["eventtree"].parent / "mumu.eventtree.root") as f:
        titles = {k: b.title for k, b in f["pi__pl__clall"].items()}
        assert titles["muonID"] == "muonID[__ncandidates__]/D" and titles["__weight__"] == "__weight__/F"
        assert titles["beamE"] == "beamE/D"
        assert {t.split(";")[0] for t in f.keys()} == {pl.tree for pl in LISTS}


@pytest.mark.parametrize("flavour", ["ntuple", "eventtree"])
def test_zprime_inv_round_trip(zp_ntuples: dict[str, Path], flavour: str, tmp_path: Path) -> None:
    _round_trip("zprime-inv", "zprime_inv", zp_ntuples[flavour], tmp_path / "out")


@pytest.mark.slow
@pytest.mark.parametrize("flavour", ["ntuple", "eventtree"])
@pytest.mark.parametrize(
    "search", ["zprime-mumu", "monophoton", "dark-higgsstrahlung", "idm", "zprime-tautau"]
)  # fmt: skip
def test_search_round_trip(search: str, flavour: str, tmp_path: Path) -> None:
    key = search.replace("-", "_")
    _round_trip(search, key, _export(key, flavour, tmp_path / flavour), tmp_path / "out")


def _drop_branch(src: Path, dst: Path, tree: str, branch: str) -> None:
    with uproot.open(src) as f, uproot.recreate(dst) as g:
        for name in {k.split(";")[0] for k in f.keys()}:
            arrays = f[name].arrays(library="np")
            if name == tree:
                del arrays[branch]
            g.mktree(name, {k: v.dtype for k, v in arrays.items()}).extend(arrays)


def test_missing_variable_names_the_basf2_variable(
    zp_ntuples: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = zp_ntuples["ntuple"]
    folder = tmp_path / "cat"
    folder.mkdir()
    for p in catalog.parent.glob("*.root"):
        if p.name == "mumu.ntuple.root":
            _drop_branch(p, folder / p.name, "pi__pl__clall", "muonID")
        else:
            (folder / p.name).symlink_to(p)
    (folder / "catalog.yaml").write_text(catalog.read_text())
    assert _run("zprime-inv", folder / "catalog.yaml", tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert "mumu.ntuple.root: tree 'pi__pl__clall' has no branch 'muonID' (basf2 variable 'muonID')" in err
    assert "zprime-inv needs for Track_muonID" in err
    assert "variablesToNtuple('pi+:all', [..., 'muonID'], treename='pi__pl__clall')" in err


def test_missing_event_variable_of_an_event_based_tree(tmp_path: Path) -> None:
    cols = io.read_root(ZP_GOLDEN / "mumu.root")
    del cols["beam_E"]
    io.write_root(tmp_path / "nobeam.root", cols)
    basf2_export.export_file(tmp_path / "nobeam.root", tmp_path / "nobeam.eventtree.root", "eventtree")
    with pytest.raises(basf2_reader.Basf2InputError, match=r"basf2 variable 'beamE'.*event_variables"):
        basf2_reader.read_basf2(tmp_path / "nobeam.eventtree.root", {"beam_E", "nTrack", "Track_px"}, "zprime-inv")


def _rewrite_rows(src: Path, dst: Path, tree: str, order: np.ndarray) -> None:
    with uproot.open(src) as f, uproot.recreate(dst) as g:
        for name in {k.split(";")[0] for k in f.keys()}:
            arrays = f[name].arrays(library="np")
            if name == tree:
                arrays = {k: v[order] for k, v in arrays.items()}
            g.mktree(name, {k: v.dtype for k, v in arrays.items()}).extend(arrays)


def test_unsorted_rows_are_regrouped_and_ungroupable_refused(zp_ntuples: dict[str, Path], tmp_path: Path) -> None:
    src = zp_ntuples["ntuple"].parent / "eemumu.ntuple.root"
    cols = {"event", "run", "nTrack", "Track_px", "Track_charge", "nPhoton", "Photon_E", "Vertex_trk1"}
    reference = basf2_reader.read_basf2(src, cols)
    native = io.read_root(ZP_GOLDEN / "eemumu.root", sorted(cols))
    for c in cols:
        np.testing.assert_array_equal(reference[c], native[c])
    with uproot.open(src) as f:
        n = f["pi__pl__clall"].num_entries
    shuffled = tmp_path / "shuffled.root"
    _rewrite_rows(src, shuffled, "pi__pl__clall", np.random.default_rng(1).permutation(n))
    got = basf2_reader.read_basf2(shuffled, cols)
    for c in cols:
        np.testing.assert_array_equal(got[c], reference[c])
    twice = tmp_path / "twice.root"
    _rewrite_rows(src, twice, "pi__pl__clall", np.r_[np.arange(n), 0])
    with pytest.raises(basf2_reader.Basf2InputError, match="candidate twice"):
        basf2_reader.read_basf2(twice, cols)
    first = tmp_path / "first_dropped.root"
    _rewrite_rows(src, first, "pi__pl__clall", np.arange(1, n))
    with pytest.raises(basf2_reader.Basf2InputError, match=r"candidate twice \(or one missing\)"):
        basf2_reader.read_basf2(first, cols)
    with uproot.open(src) as f:
        c = f["pi__pl__clall"].arrays(["__candidate__", "__ncandidates__"], library="np")
    last = int(np.flatnonzero((c["__ncandidates__"] >= 2) & (c["__candidate__"] == c["__ncandidates__"] - 1))[0])
    sampled = tmp_path / "last_dropped.root"
    _rewrite_rows(src, sampled, "pi__pl__clall", np.delete(np.arange(n), last))
    with pytest.raises(basf2_reader.Basf2InputError, match="fewer rows than __ncandidates__"):
        basf2_reader.read_basf2(sampled, cols)


def test_inspect_recognises_basf2(zp_ntuples: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    from workflows import cli

    for flavour, module in (("ntuple", "VariablesToNtuple"), ("eventtree", "VariablesToEventBasedTree")):
        path = zp_ntuples[flavour].parent / f"mumu.{flavour}.root"
        assert basf2_reader.detect(path) == flavour
        assert cli.main(["inspect", str(path)]) == 0
        out = capsys.readouterr().out
        assert f"({module} layout); catalog format 'basf2-{flavour}'" in out
        assert "particle list pi+:all -> Track" in out and "muonID -> Track_muonID" in out
    assert basf2_reader.detect(ZP_GOLDEN / "mumu.root") is None


def test_contracts_table_is_the_name_table() -> None:
    from samples.basf2_names import markdown_table

    text = (Path(__file__).parents[1] / "docs" / "CONTRACTS.md").read_text()
    assert f"<!-- BEGIN BASF2 TABLE -->\n{markdown_table()}\n<!-- END BASF2 TABLE -->" in text


def test_export_cli_one_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from workflows import cli

    out = tmp_path / "ee.eventtree.root"
    assert cli.main(["export-basf2", str(ZP_GOLDEN / "ee.root"), "--out", str(out), "--flavour", "eventtree"]) == 0
    assert f"wrote {out}: pi__pl__clall 41 rows" in capsys.readouterr().out
    assert basf2_reader.detect(out) == "eventtree"
    with pytest.raises(SystemExit, match="give one native FILE or --catalog CATALOG"):
        cli.main(["export-basf2", "--out", str(tmp_path / "x")])


def test_missing_basf2_file_is_a_bad_input(
    zp_ntuples: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A basf2 file that is not there goes to the input checks like a native one (named, with its events)."""
    catalog = zp_ntuples["eventtree"]
    folder = tmp_path / "cat"
    folder.mkdir()
    for p in catalog.parent.glob("*.root"):
        if p.name != "ee.eventtree.root":
            (folder / p.name).symlink_to(p)
    (folder / "catalog.yaml").write_text(catalog.read_text())
    assert _run("zprime-inv", folder / "catalog.yaml", tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert "ee.eventtree.root" in err and "missing" in err

"""Catalog validation, filesets, pseudo-data and the `b2dark generate` command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from samples import catalog as cat
from samples import cli
from samples.generator import io
from samples.pseudodata import take_events
from tests.generator_toys import register_toys


@pytest.fixture
def toy_processes(monkeypatch: pytest.MonkeyPatch) -> dict:
    return register_toys(monkeypatch)


CONTRACT_KEYS = {
    "sample", "process", "is_data", "is_signal", "xsec_fb", "n_events", "n_generated", "filter_efficiency",
    "lumi_fb", "mass", "mass2", "mass3", "coupling", "ctau", "injected_signal", "file_events",
}  # fmt: skip


def entry(**over) -> dict:
    e = {
        "process": "mumu",
        "xsec_fb": 1.148e6,
        "xsec_source": "Physics Book",
        "n_generated": 1000,
        "n_events": 100,
        "filter": "zprime_inv",
        "filter_efficiency": 0.1,
        "files": [{"path": "mumu.root", "events": 100}],
        "seed": 1,
    }
    e.update(over)
    return e


def test_to_fileset_metadata_and_weight(tmp_path: Path) -> None:
    data = {
        "lumi_fb": 79.7,
        "samples": {
            "mumu": entry(),
            "sig": entry(process="zprime_inv", is_signal=True, params={"mass": 1.0, "coupling": 0.01}, xsec_fb=5.0,
                         files=[{"path": "sig.root", "events": 100}]),
            "data": {
                "process": "data", "is_data": True, "n_generated": 7, "n_events": 7, "filter_efficiency": 1.0,
                "files": [{"path": "data.root", "events": 7}], "lumi_fb": 79.7, "seed": 3,
            },
        },
    }  # fmt: skip
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump(data))
    c = cat.load_catalog(tmp_path / "catalog.yaml")
    fs = c.to_fileset()
    assert set(fs) == {"mumu", "sig", "data"}
    for s in fs.values():
        assert set(s["metadata"]) == CONTRACT_KEYS
        (path,) = s["files"]
        assert Path(path).is_absolute() and Path(path).parent == tmp_path.resolve()
        assert s["files"][path] == "events"
    assert fs["sig"]["metadata"]["mass"] == 1.0 and fs["sig"]["metadata"]["is_signal"]
    assert fs["mumu"]["metadata"]["lumi_fb"] == 79.7
    assert c.to_fileset(lumi_fb=10.0)["mumu"]["metadata"]["lumi_fb"] == 10.0
    assert fs["data"]["metadata"]["is_data"] and fs["data"]["metadata"]["xsec_fb"] is None
    assert c.weight("mumu") == pytest.approx(1.148e6 * 0.1 * 79.7 / 100)
    # Save + reload is lossless.
    c.save(tmp_path / "again.yaml")
    assert cat.load_catalog(tmp_path / "again.yaml").samples == c.samples


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"n_generated": None}, r"sample 'mumu': key 'n_generated'"),
        ({"xsec_fb": None}, r"sample 'mumu'.*MC samples need 'xsec_fb'"),
        ({"filter_efficiency": 1.5}, r"sample 'mumu': key 'filter_efficiency'"),
        ({"filter_efficiency": 0.0}, r"sample 'mumu': 'filter_efficiency' is 0: it is the fraction of generated"),
        ({"xsec_fb": -1.0}, r"sample 'mumu': key 'xsec_fb': Input should be greater than or equal to 0$"),
        ({"params": {"mass": -1.0}}, r"sample 'mumu': key 'params.mass'"),
        ({"bogus": 1}, r"sample 'mumu': key 'bogus'"),
        ({"n_events": 50}, r"files hold 100 events but n_events is 50"),
    ],
)
def test_invalid_entries_name_sample_and_key(tmp_path: Path, bad: dict, message: str) -> None:
    e = entry(**bad)
    e = {k: v for k, v in e.items() if v is not None}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"samples": {"mumu": e}}))
    with pytest.raises(cat.CatalogError, match=message) as info:
        cat.load_catalog(path)
    assert str(path) in str(info.value)


def test_missing_catalog_and_missing_lumi(tmp_path: Path) -> None:
    with pytest.raises(cat.CatalogError, match="does not exist"):
        cat.load_catalog(tmp_path / "nope.yaml")
    c = cat.parse_catalog({"samples": {"mumu": entry()}})
    with pytest.raises(cat.CatalogError, match="needs a luminosity"):
        c.to_fileset()
    with pytest.raises(cat.CatalogError, match="not in the catalog"):
        c.to_fileset(1.0, samples=["x"])


def test_take_events_keeps_collections_aligned() -> None:
    cols = {
        "event": np.arange(3, dtype=np.int64),
        "nTrack": np.array([2, 0, 1], dtype=np.int32),
        "Track_px": np.array([1.0, 2.0, 3.0], dtype=np.float32),
    }
    out = take_events(cols, np.array([2, 0]))
    np.testing.assert_array_equal(out["nTrack"], [1, 2])
    np.testing.assert_array_equal(out["Track_px"], [3.0, 1.0, 2.0])
    np.testing.assert_array_equal(out["event"], [2, 0])


def test_cli_single_process_writes_files_and_catalog(toy_processes, tmp_path: Path) -> None:
    rc = cli.main(
        ["--process", "toy_inv", "--n", "2000", "--param", "mass=2.5", "--out", str(tmp_path),
         "--format", "root", "--format", "parquet", "--jobs", "1", "--no-progress", "--lumi-fb", "79.7"]
    )  # fmt: skip
    assert rc == 0
    c = cat.load_catalog(tmp_path / "catalog.yaml")
    e = c.samples["toy_inv_m2p5"]
    assert e.params.mass == 2.5 and e.is_signal and e.n_events == 2000 and len(e.files) == 2
    root = io.read_root(tmp_path / "toy_inv_m2p5.root")
    pq = io.read_parquet(tmp_path / "toy_inv_m2p5.parquet")
    assert root["event"].tobytes() == pq["event"].tobytes()
    assert set(c.to_fileset()["toy_inv_m2p5"]["metadata"]) == CONTRACT_KEYS


def test_cli_recipe_with_pseudodata(toy_processes, tmp_path: Path) -> None:
    recipe = {
        "lumi_fb": 0.002,
        "samples": [
            {"name": "mu", "process": "toy_mumu", "n": 3000, "seed": 1},
            {"name": "sig", "process": "toy_inv", "n": 500, "masses": [1.0, 4.0], "filter": "zprime_inv"},
        ],
        "pseudodata": [
            {"name": "data", "lumi_fb": 0.002, "seed": 9, "backgrounds": ["mu"],
             "inject": {"process": "toy_inv", "params": {"mass": 4.0}, "n_events": 25}},
        ],
    }  # fmt: skip
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    assert cli.main(["--recipe", str(path), "--out", str(tmp_path / "out"), "--jobs", "1", "--no-progress"]) == 0
    c = cat.load_catalog(tmp_path / "out" / "catalog.yaml")
    assert set(c.samples) == {"mu", "sig_m1", "sig_m4", "data"}
    assert c.samples["sig_m4"].filter == "zprime_inv" and 0 < c.samples["sig_m4"].filter_efficiency < 1
    d = c.samples["data"]
    assert d.is_data and d.injected_signal.startswith("toy_inv") and d.components["signal"] == 25
    expected = 1.148e6 * 0.002  # toy xsec * lumi, Poisson
    assert abs(d.components["mu"] - expected) < 5 * np.sqrt(expected)
    cols = io.read_root(tmp_path / "out" / "data.root")
    assert "MCParticle_pdg" not in cols and "Track_mcIndex" not in cols
    assert np.all(cols["exp"] == 1000) and cols["event"].size == d.n_events
    np.testing.assert_array_equal(cols["event"], np.arange(d.n_events))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--process", "nope", "--n", "10"], "unknown process 'nope'"),
        (["--process", "toy_inv", "--n", "10", "--param", "mass=-1"], "mass=-1 must be >= 0"),
        (["--process", "toy_inv", "--n", "10"], "missing model parameter"),
        (["--process", "toy_inv", "--n", "10", "--param", "mass"], "expected key=value"),
    ],
)
def test_cli_errors_are_clear(toy_processes, tmp_path: Path, capsys, argv: list[str], message: str) -> None:
    assert cli.main([*argv, "--out", str(tmp_path), "--jobs", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_recipe_missing_key(tmp_path: Path, capsys) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({"samples": [{"name": "a", "process": "mumu"}]}))
    assert cli.main(["--recipe", str(path), "--out", str(tmp_path)]) == 2
    assert "samples[0] (a): missing key 'n'" in capsys.readouterr().err


def test_cli_help(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    assert "--recipe" in capsys.readouterr().out


def test_default_recipe_parses() -> None:
    tasks, pseudo, settings = cli.parse_recipe(Path(__file__).parents[1] / "samples" / "recipes" / "zprime_inv.yaml")
    assert settings["lumi_fb"] == pytest.approx(79.7)
    masses = sorted(t.params["mass"] for t in tasks if t.process == "zprime_inv")
    assert masses[0] <= 0.1 and masses[-1] >= 9.0 and len(masses) >= 15
    assert pseudo and pseudo[0].lumi_fb == pytest.approx(79.7)


def test_cli_pseudodata_resampled_from_mc_with_skim(toy_processes, tmp_path: Path) -> None:
    recipe = {
        "lumi_fb": 0.01,
        "samples": [{"name": "mu", "process": "toy_mumu", "n": 4000, "seed": 2}],
        "pseudodata": [
            {"name": "data", "lumi_fb": 0.01, "seed": 4, "backgrounds": ["mu"], "mode": "resample",
             "skim": "two_leptons"},
        ],
    }  # fmt: skip
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    out = tmp_path / "out"
    assert cli.main(["--recipe", str(path), "--out", str(out), "--jobs", "1", "--no-progress"]) == 0
    c = cat.load_catalog(out / "catalog.yaml")
    pool = io.read_root(out / "mu.root")
    from samples.pseudodata import skim_two_leptons

    eff_skim = skim_two_leptons(pool).mean()
    expected = 1.148e6 * 0.01 * eff_skim  # more events than the pool holds: resampled with replacement
    n = c.samples["data"].n_events
    assert abs(n - expected) < 5 * np.sqrt(expected) and n > pool["event"].size
    data = io.read_root(out / "data.root")
    assert skim_two_leptons(data).all()
    assert "MCParticle_pdg" not in data


def test_generate_refuses_to_replace_a_sample_defined_differently(
    toy_processes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--process", "toy_inv", "--n", "300", "--param", "mass=2.5", "--out", str(tmp_path), "--jobs", "1",
            "--no-progress", "--lumi-fb", "79.7"]  # fmt: skip
    assert cli.main([*base, "--param", "coupling=0.01"]) == 0
    first = (tmp_path / "toy_inv_m2p5.root").read_bytes()
    capsys.readouterr()
    assert cli.main([*base, "--param", "coupling=0.02"]) == 2  # same name, another coupling
    assert capsys.readouterr().err == (
        f"b2dark generate: error: sample 'toy_inv_m2p5' in {tmp_path / 'catalog.yaml'} was made from another "
        "definition; --replace regenerates it (or give the new sample another name)\n"
    )
    assert (tmp_path / "toy_inv_m2p5.root").read_bytes() == first
    assert cat.load_catalog(tmp_path / "catalog.yaml").samples["toy_inv_m2p5"].params.coupling == 0.01
    # An entry with no recorded definition (written by hand) is not replaced silently either.
    c = cat.load_catalog(tmp_path / "catalog.yaml")
    c.samples["toy_inv_m2p5"].digest = None
    c.save(tmp_path / "catalog.yaml")
    assert cli.main([*base, "--param", "coupling=0.01"]) == 2
    assert "was made with no recorded definition; --replace regenerates it" in capsys.readouterr().err
    assert cli.main([*base, "--param", "coupling=0.02", "--replace"]) == 0
    assert cat.load_catalog(tmp_path / "catalog.yaml").samples["toy_inv_m2p5"].params.coupling == 0.02

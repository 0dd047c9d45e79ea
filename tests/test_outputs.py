"""Output folder: hists reload exactly (UHI JSON), ROOT file matches, cutflows, provenance, loader."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import hist
import numpy as np
import pytest
import uproot

sys.path.insert(0, str(Path(__file__).parent))

from workflows import outputs


def _hists(rng: np.random.Generator) -> dict[str, hist.Hist]:
    h1 = hist.Hist(
        hist.axis.StrCategory(["a", "b"], growth=True, name="sample"),
        hist.axis.StrCategory(["nominal", "up"], growth=True, name="syst"),
        hist.axis.Regular(30, -0.5, 81, name="m2", label=r"$M^2_{recoil}$ [GeV$^2$]"),
        storage=hist.storage.Weight(),
    )
    for s in ("a", "b"):
        for v in ("nominal", "up"):
            h1.fill(s, v, rng.uniform(-1, 82, 500), weight=rng.exponential(0.37, 500))
    h2 = hist.Hist(
        hist.axis.StrCategory(["a"], growth=True, name="sample"),
        hist.axis.Variable([0, 0.3, 1.1, 2.0], name="m2"),
        hist.axis.Regular(4, 0, np.pi, name="theta"),
        storage=hist.storage.Weight(),
    )
    h2.fill("a", rng.uniform(0, 2, 100), rng.uniform(0, 3, 100), weight=rng.random(100) / 3)
    return {"template": h2, "m2_recoil": h1}


def _output(rng: np.random.Generator) -> dict:
    return {
        "hists": _hists(rng),
        "cutflow": {
            "a": {"names": ["all", "2 tracks"] * 3, "raw": np.array([10, 4]), "weighted": np.array([1.5, 0.25])},
            "b": {"names": ["all", "2 tracks"], "raw": [7, 1], "weighted": [7.0, 1.0]},
        },
        "nevents": {"a": 10, "b": 7},
        "blinded": True,
    }


def test_roundtrip_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    out = _output(rng)
    samples = {"a": {"is_signal": True, "mass": 1.5}, "b": {"is_data": True, "mass": None}}
    outputs.save(out, tmp_path, search="zprime-inv", lumi_fb=79.7, samples=samples, provenance={"x": np.int64(3)})
    r = outputs.load(tmp_path)
    assert set(r.hists) == {"template", "m2_recoil"}
    for name, h in out["hists"].items():
        g = r.hists[name]
        assert isinstance(g, hist.Hist)
        assert g.axes.name == h.axes.name
        assert g.axes.label == h.axes.label
        # Exact float64 equality, flow bins included.
        np.testing.assert_array_equal(g.values(flow=True), h.values(flow=True))
        np.testing.assert_array_equal(g.variances(flow=True), h.variances(flow=True))
        assert list(g.axes["sample"]) == list(h.axes["sample"])
    # Reloaded hists still merge with fresh ones (growth categories preserved).
    merged = r.hists["m2_recoil"] + out["hists"]["m2_recoil"]
    np.testing.assert_allclose(merged.values(), 2 * out["hists"]["m2_recoil"].values())
    assert r.samples == samples and r.lumi_fb == 79.7 and r.search == "zprime-inv"
    assert r.nevents == {"a": 10, "b": 7} and r.blinded is True
    assert r.provenance == {"x": 3}
    # Repeated names from chunk merging are undone; the lengths must match the counts.
    assert r.cutflows["a"]["names"] == ["all", "2 tracks"]
    assert r.cutflows["a"]["raw"] == [10, 4]
    text = (tmp_path / outputs.CUTFLOW_TXT).read_text()
    assert "== a" in text and "25.0000%" not in text and "16.6667%" in text  # 0.25 / 1.5


def test_root_file_matches(tmp_path: Path) -> None:
    out = _output(np.random.default_rng(2))
    outputs.save(out, tmp_path, search="s", lumi_fb=None, samples={})
    h = out["hists"]["m2_recoil"]
    with uproot.open(tmp_path / outputs.ROOT_FILE) as f:
        names = {k.split(";")[0] for k in f.keys()}
        assert {"m2_recoil__a__nominal", "m2_recoil__b__up", "template__a"} <= names
        th1 = f["m2_recoil__b__up"]
        np.testing.assert_allclose(th1.values(), h[{"sample": "b", "syst": "up"}].values(), rtol=1e-12)
        np.testing.assert_allclose(th1.variances(), h[{"sample": "b", "syst": "up"}].variances(), rtol=1e-12)
        assert f["template__a"].values().shape == (3, 4)


def test_bad_cutflow_and_foreign_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"sample 'a'.*lengths"):
        outputs.normalize_cutflows({"a": {"names": ["x", "y", "z"], "raw": [1, 2], "weighted": [1.0, 2.0]}})
    with pytest.raises(FileNotFoundError, match="not a b2dark run output"):
        outputs.load(tmp_path)
    (tmp_path / outputs.HISTS_FILE).write_text(json.dumps({"format": "other", "hists": {}}))
    (tmp_path / outputs.RUN_FILE).write_text("{}")
    with pytest.raises(ValueError, match="not a b2dark histogram file"):
        outputs.load(tmp_path)

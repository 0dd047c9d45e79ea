"""The iDM model quantities (h' widths and lifetime, chi2 branching fraction and lifetime, the recipe's
benchmark numbers) and the lifetime dependence of the selection efficiency on generated signal."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import run_runner

from processors.idm.processor import IDMProcessor
from processors.idm.search import SEARCH, IDMWorkingPoint
from samples import constants as C
from samples.generator import idm_model as M

RECIPE = Path(__file__).resolve().parents[3] / "samples" / "recipes" / "idm.yaml"


def test_h_widths() -> None:
    w = M.h_widths(0.8, 1e-4)
    # the SM-Higgs leptonic width at 0.8 GeV, written out
    beta = math.sqrt(1 - 4 * C.M_MU**2 / 0.64)
    assert w["mumu"] == pytest.approx(1e-8 * C.G_FERMI * C.M_MU**2 * 0.8 * beta**3 / (4 * math.sqrt(2) * math.pi))
    assert w["KK"] == 0.0  # below 2 m_K
    assert sum(M.h_branching_fraction(c, 1.2) for c in M.H_CHANNELS) == pytest.approx(1.0)
    # c tau ~ 1 / sin^2
    assert M.h_ctau_cm(0.8, 1e-5) == pytest.approx(100.0 * M.h_ctau_cm(0.8, 1e-4))


def test_chi2_decay() -> None:
    assert M.chi2_bf_ee(0.5, 0.2, 1.5) == 1.0  # Delta < 2 m_mu: e e only
    bf = M.chi2_bf_ee(1.0, 0.4, 3.0)
    assert 0.5 < bf < 1.0  # mu mu open but phase-space suppressed
    # Gamma ~ eps^2 Delta^5: c tau scales as 1/eps^2
    assert M.chi2_ctau_cm(1.0, 0.4, 3.0, 1e-4, 0.1) == pytest.approx(100 * M.chi2_ctau_cm(1.0, 0.4, 3.0, 1e-3, 0.1))


def test_recipe_is_the_declared_benchmark_plane() -> None:
    bench = M.benchmark()
    sig = [s for s in yaml.safe_load(RECIPE.read_text())["samples"] if s["process"].startswith("idm_")]
    assert {s["process"] for s in sig} == set(SEARCH.signal_processes) - {"idm"}  # idm_combined has no samples
    for s in sig:
        p = s["params"]
        for k in ("mass", "mass3", "delta_m", "alpha_D", "coupling"):
            assert p[k] == pytest.approx(bench[k]), (s["name"], k)
        assert p["ctau"] == pytest.approx(bench["ctau"], rel=1e-3), s["name"]
    # every generated m_h' is blinded in data
    assert {s["params"]["mass2"] for s in sig} <= set(IDMWorkingPoint().blind_masses)


def _efficiency(tmp_path: Path, n: int, **params: float) -> float:
    from synthetic import write_columns

    from samples.generator import pipeline

    sample = pipeline.generate("idm_mumu", n, 11, {**M.benchmark(), "mass2": 0.8, **params}, filter_name=None)
    path = write_columns(tmp_path / f"s{len(list(tmp_path.iterdir()))}.root", sample.columns)
    meta = {"sample": "sig", "process": "idm_mumu", "is_data": False, "is_signal": True, "xsec_fb": 1.0,
            "n_events": n, "n_generated": n, "filter_efficiency": 1.0, "lumi_fb": 1.0}  # fmt: skip
    out = run_runner({"sig": {"files": {str(path): "events"}, "metadata": meta}}, IDMProcessor())
    return float(out["cutflow"]["sig"]["raw"][-1]) / n


def test_efficiency_vs_lifetime(tmp_path: Path) -> None:
    """Prompt h' (c tau -> 0): no displaced vertex, efficiency 0; h' decaying outside the tracker
    (c tau -> infinity): 0; in between the efficiency rises and falls, with a maximum of some per cent."""
    n = 600
    eff = {ct: _efficiency(tmp_path, n, ctau_h=ct) for ct in (1e-4, 1.0, 10.0, 1e6)}
    assert eff[1e-4] == 0.0
    assert eff[1e6] == 0.0
    assert eff[1.0] > 0.03 and eff[10.0] > 0.03
    # the chi2 vertex too: a prompt chi2 gives no e e vertex
    assert _efficiency(tmp_path, n, ctau_h=3.0, ctau=1e-4) == 0.0
    np.testing.assert_array_less([eff[1e-4], eff[1e6]], [eff[1.0], eff[10.0]])

"""The three signal models of the Z' -> tau tau search: each declared with its own generator process, its own samples
in the recipe, and a recast whose coupling limit reproduces the cross-section limit it came from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from processors.zprime_tautau.search import SEARCH
from samples.generator import scalar as sc
from samples.generator import xsec as xs

RECIPE = Path(__file__).resolve().parents[3] / "samples" / "recipes" / "zprime_tautau.yaml"


def test_each_model_has_its_own_process_and_samples() -> None:
    procs = {m.name: m.process for m in SEARCH.signals}
    assert procs == {"zprime": "zprime_tautau", "scalar": "scalar_tautau", "alp": "alp_tautau"}
    recipe = yaml.safe_load(RECIPE.read_text())
    masses = {s["process"]: s["masses"] for s in recipe["samples"] if "masses" in s}
    for proc in procs.values():
        assert min(masses[proc]) == 3.6 and max(masses[proc]) == 10.0 and len(masses[proc]) >= 6


@pytest.mark.parametrize("model", ["zprime", "scalar", "alp"])
def test_recast_inverts_the_rate(model: str) -> None:
    """c_UL = c_ref (sigma_UL / (sigma_ref BF))^(1/2) gives back sigma(c_UL) x BF = sigma_UL, with the generator's own
    cross sections (sigma x BF = the registry cross section of the model's process)."""
    (rc,) = next(m for m in SEARCH.signals if m.name == model).recasts
    process = next(m for m in SEARCH.signals if m.name == model).process
    params = {"mass": np.array([4.0, 7.0])}
    sigma_ul = np.array([0.8, 1.5])  # fb
    rate_ref = rc.xsec_fb(params, rc.c_ref) * rc.bf(params)
    c_ul = rc.c_ref * (sigma_ul / rate_ref) ** (1.0 / rc.power)
    np.testing.assert_allclose(rc.xsec_fb(params, float(c_ul[0]))[0] * rc.bf(params)[0], sigma_ul[0], rtol=1e-10)
    for i, m in enumerate(params["mass"]):
        assert xs.XSEC[process](mass=float(m), coupling=float(c_ul[i])) == pytest.approx(sigma_ul[i], rel=1e-10)


def test_spin0_branching_fractions_enter_the_recasts() -> None:
    (rs,) = next(m for m in SEARCH.signals if m.name == "scalar").recasts
    (ra,) = next(m for m in SEARCH.signals if m.name == "alp").recasts
    p = {"mass": np.array([3.6, 8.0])}
    np.testing.assert_allclose(rs.bf(p), sc.leptophilic_branching_fractions(p["mass"])["tautau"])
    np.testing.assert_allclose(ra.bf(p), sc.alp_branching_fractions(p["mass"])["tautau"])
    assert np.all(ra.bf(p) < 0.34) and np.all(rs.bf(p) > 0.5)  # the ALP shares its width with e and mu

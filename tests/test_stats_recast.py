"""Coupling limits from cross-section limits, and the scan significance summary."""

import numpy as np
import pytest

from samples.generator import xsec
from workflows.stats import recast, significance


@pytest.mark.parametrize("model", ["lmu_ltau", "lmu_ltau_fully_invisible", "dark_photon"])
def test_recast_round_trip(model):
    masses = np.array([0.5, 2.0, 6.0])
    sigma_ul = np.array([3.0, 10.0, 40.0])  # fb
    c = recast.recast(model, masses, sigma_ul)
    assert np.all(np.isfinite(c)) and np.all(c > 0)
    back = np.array([recast.signal_xsec_fb(model, [m], float(ci))[0] for m, ci in zip(masses, c, strict=True)])
    np.testing.assert_allclose(back, sigma_ul, rtol=1e-9)


def test_recast_zprime_uses_generator_directly():
    m, sigma_ul = 1.0, 5.0
    g = recast.recast("lmu_ltau", [m], [sigma_ul])[0]
    bf = xsec.zprime_branching_fractions(m)["invisible"]
    assert xsec.zprime_xsec_fb(m, g=g) * bf == pytest.approx(sigma_ul, rel=1e-9)
    # fully invisible: BF = 1 > BF(nu nu) -> tighter coupling limit
    assert recast.recast("lmu_ltau_fully_invisible", [m], [sigma_ul])[0] < g


def test_recast_dark_higgsstrahlung_product():
    mA, mh, sigma_ul = np.array([3.0]), np.array([1.0]), np.array([2.0])
    e2a = recast.recast("dark_higgsstrahlung", mA, sigma_ul, mh=mh)[0]
    # any split of eps^2 * alpha_D gives the same cross section
    s = xsec.darkhiggs_xsec_fb(3.0, 1.0, eps=np.sqrt(e2a / 0.5), alpha_D=0.5)
    assert s == pytest.approx(2.0, rel=1e-9)
    with pytest.raises(ValueError, match="mh"):
        recast.recast("dark_higgsstrahlung", mA, sigma_ul)


def test_every_search_has_known_models():
    for models in recast.SEARCH_MODELS.values():
        assert set(models) <= set(recast.MODELS)


def test_global_significance_below_local():
    rng = np.random.default_rng(5)
    masses = np.linspace(1, 9, 200)
    z = np.abs(rng.normal(size=200)) * 0.7
    z[120] = 3.5
    res = significance.scan_significance(masses, z, window_halfwidth=0.1)
    assert res.mass_max == pytest.approx(masses[120])
    assert res.z_local == pytest.approx(3.5)
    assert res.upcrossings > 1
    assert res.z_global_gv < res.z_local and res.z_global_neff < res.z_local
    assert res.n_eff == pytest.approx(40.0, rel=1e-6)  # 8 GeV / 0.2 GeV windows
    # no excess anywhere: global p-value is 1
    assert significance.scan_significance(masses, np.zeros(200)).p_global_gv == 1.0

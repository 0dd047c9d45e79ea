"""The eps^2 alpha_D recast of the dark Higgsstrahlung search: sigma from the BPR formula and B(A' -> mu mu) of
a dark photon with SM decays (not 1, as the generator registry's sample cross section assumes)."""

from __future__ import annotations

import numpy as np
import pytest

from processors.dark_higgsstrahlung.search import SEARCH
from samples import constants as C
from samples.generator import xsec
from workflows.stats.plans.common import recast_limits


def test_dark_photon_branching_fractions() -> None:
    m = np.array([1.2, 2.0, 3.0, 5.0, 8.0, 9.7])
    bf = xsec.aprime_branching_fractions(m)
    np.testing.assert_allclose(sum(bf.values()), 1.0, rtol=1e-12)
    assert np.all((bf["mumu"] > 0.14) & (bf["mumu"] < 0.35))  # ~0.15-0.34 over 1-8 GeV
    # below the tau threshold: ee = mu mu (up to the muon mass), hadrons = R x mu mu
    r2 = np.interp(2.0, *np.array(C.DARK_PHOTON_R_KNOTS).T)
    assert bf["mumu"][1] == pytest.approx(1.0 / (2.0 + r2), rel=5e-3)
    assert bf["tautau"][1] == 0.0 and bf["tautau"][-1] > 0.1
    with pytest.raises(ValueError, match="R not modelled"):
        xsec.aprime_branching_fractions(0.8)


def test_recast_divides_by_the_branching_fraction() -> None:
    (rc,) = SEARCH.signals[0].recasts
    params = {"mass": np.array([4.0, 8.0]), "mass2": np.array([1.0, 2.0])}
    sigma_ul = [2.0, 3.0]  # fb on sigma x B(A' -> mu mu)
    got = recast_limits(rc, params, sigma_ul)
    sigma_1 = xsec.darkhiggs_xsec_fb(params["mass"], params["mass2"], eps=1.0, alpha_D=1.0)
    bf = xsec.aprime_branching_fractions(params["mass"])["mumu"]
    np.testing.assert_allclose(got, np.array(sigma_ul) / (sigma_1 * bf), rtol=1e-12)
    # with B = 1 (the registry's sample cross section) the limit would be 3-7 times too strong
    assert np.all((got * bf * sigma_1 / sigma_ul > 0.999) & (1 / bf > 2.9) & (1 / bf < 7.0))
    # the recast's sigma is the sample's: sigma(eps = 1) of the registry at alpha_D = 1
    assert xsec.XSEC["dark_higgsstrahlung"](mass=4.0, mass2=1.0) == pytest.approx(sigma_1[0], rel=1e-12)

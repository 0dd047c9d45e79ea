"""Coupling limits from cross-section limits, and the scan significance summary."""

import numpy as np
import pytest

from processors.registry import get, searches
from samples.generator import xsec
from workflows.stats import significance
from workflows.stats.plans.common import recast_limits


def _recast(name: str):
    (model,) = get("zprime-inv").signals
    return next(r for r in model.recasts if r.name == name)


@pytest.mark.parametrize("name", ["lmu_ltau", "lmu_ltau_fully_invisible"])
def test_recast_round_trip(name):
    rc = _recast(name)
    masses = np.array([0.5, 2.0, 6.0])
    sigma_ul = np.array([3.0, 10.0, 40.0])  # fb
    c = recast_limits(rc, {"mass": masses}, sigma_ul)
    assert np.all(np.isfinite(c)) and np.all(c > 0)
    back = [
        float(rc.xsec_fb({"mass": np.array([m])}, float(ci))[0] * rc.bf({"mass": np.array([m])})[0])
        for m, ci in zip(masses, c, strict=True)
    ]
    np.testing.assert_allclose(back, sigma_ul, rtol=1e-9)


def test_recast_zprime_uses_generator_directly():
    m, sigma_ul = 1.0, 5.0
    g = recast_limits(_recast("lmu_ltau"), {"mass": np.array([m])}, [sigma_ul])[0]
    bf = xsec.zprime_branching_fractions(m)["invisible"]
    assert xsec.zprime_xsec_fb(m, g=g) * bf == pytest.approx(sigma_ul, rel=1e-9)
    # fully invisible: BF = 1 > BF(nu nu) -> tighter coupling limit
    assert recast_limits(_recast("lmu_ltau_fully_invisible"), {"mass": np.array([m])}, [sigma_ul])[0] < g


def test_every_declared_recast_is_a_power_law():
    """Each declared recast: sigma(c) = sigma(c_ref) (c / c_ref)^power at a few parameter points."""
    for spec in searches().values():
        for model in spec.signals:
            for rc in model.recasts:
                p = {"mass": np.array([1.0, 3.0])} if model.params == ("mass",) else None
                if p is None:
                    continue
                a, b = rc.xsec_fb(p, rc.c_ref), rc.xsec_fb(p, 2 * rc.c_ref)
                np.testing.assert_allclose(b / a, 2.0**rc.power, rtol=1e-9, err_msg=f"{spec.name} {rc.name}")


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

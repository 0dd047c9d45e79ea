"""Exact counting CLs (workflows.stats.counting) and its agreement with pyhf asymptotics."""

import numpy as np
import pytest
from stats_helpers import one_bin_hist

from workflows.stats import counting, limits
from workflows.stats.model import NormSys, build_workspace


@pytest.mark.parametrize("cl, expected", [(0.90, np.log(10.0)), (0.95, np.log(20.0))])
def test_zero_observed_gives_minus_log_alpha_whatever_b(cl, expected):
    b = np.array([0.0, 0.1, 1.0, 3.0, 25.0, 400.0])
    for rel in (0.0, 0.3):
        res = counting.counting_limits(np.zeros_like(b), b, rel, cl=cl)
        np.testing.assert_allclose(res.observed, expected, rtol=1e-5)
    assert round(float(res.observed[0]), 3) == {0.90: 2.303, 0.95: 2.996}[cl]


def test_cls_definition_and_monotonic_in_b():
    # limit at n = 3 falls with background; CLs(limit) = alpha
    b = np.array([0.0, 1.0, 2.0, 4.0])
    res = counting.counting_limits(np.full(4, 3.0), b, 0.0, cl=0.9)
    assert np.all(np.diff(res.observed) < 0)
    np.testing.assert_allclose(counting.cls_counting(res.observed, 3.0, b), 0.1, rtol=1e-5)
    # b = 0: classical Poisson upper limit, 0.5 * chi2_ppf(0.9, 2(n+1))
    from scipy import stats

    assert res.observed[0] == pytest.approx(0.5 * stats.chi2.ppf(0.9, 8), rel=1e-5)


def test_background_uncertainty_loosens_the_limit():
    tight = counting.counting_limits([10.0], [8.0], 0.0).observed[0]
    loose = counting.counting_limits([10.0], [8.0], 0.5).observed[0]
    assert loose > tight * 1.05


def test_expected_band_ordered():
    res = counting.counting_limits(np.array([2.0, 10.0, 100.0]), np.array([1.5, 9.0, 95.0]), 0.1)
    assert np.all(np.diff(res.expected, axis=0) >= 0)
    assert np.all(res.expected[0] < res.expected[4])


def test_exact_agrees_with_pyhf_asymptotic_at_large_background():
    b, n, s = 400.0, 400.0, 10.0
    ws, _ = build_workspace(
        one_bin_hist(s), {"bkg": one_bin_hist(b)}, np.array([n]), systematics=[NormSys("bnorm", 0.99, 1.01, ("bkg",))]
    )
    exact = limits.upper_limit(ws, cl=0.9, method="exact")
    asym = limits.pyhf_upper_limit(dict(ws), cl=0.9)
    assert exact.method == "exact"
    assert exact.observed == pytest.approx(asym[0], rel=0.04)
    assert exact.expected[2] == pytest.approx(asym[1][2], rel=0.04)


def test_sideband_background_handles_empty_sideband():
    b, rel = counting.sideband_background(np.array([0.0, 99.0]), 0.1)
    np.testing.assert_allclose(b, [0.1, 10.0])
    np.testing.assert_allclose(rel, [1.0, 0.1])
    assert counting.counting_limits([0.0], b[:1], rel[:1]).observed[0] == pytest.approx(np.log(10), rel=1e-5)


def test_p0_exact():
    # P(n >= 5 | b = 1) = 1 - sum_{k<5} Poisson(k; 1)
    from scipy import stats

    assert counting.counting_p0([5.0], [1.0])[0] == pytest.approx(stats.poisson.sf(4, 1.0), rel=1e-10)
    assert counting.counting_p0([0.0], [1.0])[0] == 1.0

"""Z' -> invisible limits on a template as sparse as the default run's (large MC weights, 1000 x 6 bins):
the acceptance criteria of the limit scan (finite, Asimov-consistent, ordered bands, linear in the signal)."""

import warnings

import numpy as np
import pytest
from stats_helpers import sparse_zprime_template

from workflows.stats import binning, limits
from workflows.stats.plans import peak_scan as scan

MASSES = (0.5, 2.0, 5.0)


@pytest.fixture(scope="module")
def sparse():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # hist: "sample" axis name, list indexing
        return sparse_zprime_template(MASSES)


@pytest.fixture(scope="module")
def rows(sparse):
    h, samples = sparse
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pts = scan.template_points(h, samples)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no root-finder tolerance flood
        return pts, scan.run_limits(pts, 0.90, processes=1, progress=False)


def test_rebinned_template_is_small_and_populated(rows):
    pts, _ = rows
    for p in pts:
        assert 15 <= p.report.n_bins_kept <= 60, p.report
        assert p.report.floored == 0  # empty-MC bins merged into neighbours, not floored
        bkg = np.sum([s["data"] for s in p.workspace["channels"][0]["samples"][1:]], axis=0)
        assert np.all(bkg > 0)


def test_every_mass_finite_asimov_consistent_and_ordered(rows):
    _, rs = rows
    assert [r["mass"] for r in rs] == list(MASSES)
    for r in rs:
        exp = np.asarray(r["expected"])
        assert r["method"] == "asymptotic", r
        assert np.isfinite(r["observed"]) and np.all(np.isfinite(exp)), r
        assert np.all(np.diff(exp) > 1e-3 * exp[2]), exp  # -2 < -1 < median < +1 < +2, non-degenerate
        assert r["observed"] == pytest.approx(exp[2], rel=1e-3)  # blinded: observed counts are Asimov
        assert r["reason"] == ""


@pytest.mark.slow
def test_fine_binning_no_longer_fails(sparse):
    """Without the rebinning (the processor's 1000 x 6 bins, mostly 0/1 MC events per bin) the fast fit used
    not to be Asimov-consistent (the failure seen on the default run): its free fit, started at mu = 1,
    stopped next to a bin emptied by a shape variation. It now keeps the lower of the free and the mu = 0
    minima (fastfit.AsymptoticCLs), and the free fit from mu = 1 alone is still the worse one here."""
    h, samples = sparse
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        (p,) = scan.template_points(h, samples, masses=[5.0], rebin=False)
    assert p.report.n_bins_kept > 200 and p.report.floored > 20
    sig, bkg, data = limits._yields(p.workspace)
    m = limits.fastfit.FastModel.from_workspace(p.workspace)
    cls = limits.fastfit.AsymptoticCLs(m, limits.default_mu_max(sig, bkg, data))
    _, nll_from_mu1 = m.fit(m.data, m.nominal_aux(), cls.mu_bounds)
    assert cls.nll_free_data < nll_from_mu1 - 1e-3  # the case the mu = 0 minimum repairs
    r = cls.upper_limit(0.1)
    assert limits.consistency_problem(r.observed, r.expected, asimov=True) == ""


def test_limit_scales_inversely_with_signal(sparse):
    h, samples = sparse
    doubled = {k: dict(v) for k, v in samples.items()}
    doubled["zp_2"]["xsec_fb"] = samples["zp_2"]["xsec_fb"] / 2.0  # same events, half the xsec: 2x per fb
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        (p1,) = scan.template_points(h, samples, masses=[2.0])
        (p2,) = scan.template_points(h, doubled, masses=[2.0])
    r1, r2 = limits.upper_limit(p1.workspace, 0.9), limits.upper_limit(p2.workspace, 0.9)
    assert r2.observed == pytest.approx(r1.observed / 2.0, rel=1e-3)
    np.testing.assert_allclose(r2.expected, r1.expected / 2.0, rtol=1e-3)


def test_window_edges_follow_resolution():
    fine = np.linspace(-0.5, 81, 1001)
    j = binning.window_edges(fine, 9.0, 0.5, 10.0)
    w = np.diff(fine[j])
    assert j.size - 1 == 20
    assert np.allclose(w[4:16], 0.25, atol=0.09)  # sigma/2 in the core (snapped to 0.0815 fine bins)
    assert fine[j[0]] == pytest.approx(4.0, abs=0.05) and fine[j[-1]] == pytest.approx(14.0, abs=0.05)
    # window reaching below the axis is clipped to it
    assert binning.window_edges(fine, 0.25, 0.1, 10.0)[0] == 0


def test_merge_groups_merges_sparse_neighbours():
    starts = binning.merge_groups(np.array([1.0, 500, 600, 2, 3, 800]), n_peak_bins=10, min_neff=10, max_bins=60)
    assert starts[0] == 0 and len(starts) <= 6
    neff = np.add.reduceat(np.array([1.0, 500, 600, 2, 3, 800]), starts)
    assert neff.min() >= 100


@pytest.mark.slow
def test_fallback_records_reason(monkeypatch):
    """A failing fast fit falls back to plain pyhf (small model: pyhf is slow) and records why."""
    from stats_helpers import template

    from workflows.stats.model import StatError, build_workspace

    sig = template([0.5, 3.0, 6.0, 3.0, 0.5], rel_var=0.01)
    bkg = template([20.0, 18.0, 16.0, 14.0, 12.0], rel_var=0.2)
    ws, _ = build_workspace(sig, {"bkg": bkg}, None, None, [StatError(0.01, include_signal=False)])

    def broken(self, level=0.1, rtol=1e-4):
        raise RuntimeError("simulated failure")

    good = limits.upper_limit(ws, 0.9)
    monkeypatch.setattr(limits.fastfit.AsymptoticCLs, "upper_limit", broken)
    res = limits.upper_limit(ws, 0.9)
    assert res.method == "asymptotic-pyhf-fallback" and "simulated failure" in res.reason
    assert res.observed == pytest.approx(good.observed, rel=0.02)
    np.testing.assert_allclose(res.expected, good.expected, rtol=0.02)

"""Workspaces from hists (workflows.stats.model) and the fast likelihood checked against pyhf."""

import hist
import numpy as np
import pyhf
import pytest
from stats_helpers import data_hist, one_bin_hist, template

from workflows.stats import fastfit, limits
from workflows.stats.model import (
    HistoSys,
    NormSys,
    StatError,
    build_workspace,
    load_workspace,
    lumi_normsys,
    save_workspace,
    select_sample,
    window_mask,
)

SYSTS = [lumi_normsys(), NormSys("eff", 0.95, 1.05, ("signal",)), HistoSys("shape"), StatError(0.01)]


def small_workspace(bkg_rel_var=0.3):
    sig = template([0.0, 2.0, 5.0, 1.0], 0.05)
    bkg = template([12.0, 9.0, 7.0, 5.0], bkg_rel_var)
    return build_workspace(sig, {"bkg": bkg}, data_hist([14, 8, 9, 4]), None, SYSTS)


def pyhf_cls(ws, mu):
    model = ws.model()
    bounds = model.config.suggested_bounds()
    bounds[model.config.poi_index] = (0.0, 50.0)
    obs, exp = pyhf.infer.hypotest(
        mu, ws.data(model), model, par_bounds=bounds, test_stat="qtilde", return_expected_set=True
    )
    return float(obs), np.asarray(exp, float)


def test_workspace_round_trip_reproduces_pyhf(tmp_path):
    ws, rep = small_workspace()
    types = {m["type"] for s in ws["channels"][0]["samples"] for m in s["modifiers"]}
    assert types == {"normfactor", "normsys", "histosys", "staterror"}
    assert rep.n_bins_kept == 4 and rep.staterror_free == 4
    back = load_workspace(save_workspace(ws, tmp_path / "ws.json"))
    before, after = pyhf_cls(ws, 1.5), pyhf_cls(back, 1.5)
    assert after[0] == pytest.approx(before[0], rel=1e-9)
    np.testing.assert_allclose(after[1], before[1], rtol=1e-9)


@pytest.mark.parametrize("mu", [0.5, 2.0])
def test_fast_likelihood_matches_pyhf_cls(mu):
    ws, _ = small_workspace()
    calc = fastfit.AsymptoticCLs(fastfit.FastModel.from_workspace(dict(ws)), 50.0)
    obs, exp = pyhf_cls(ws, mu)
    assert calc.cls_observed(mu) == pytest.approx(obs, rel=2e-3, abs=1e-5)
    np.testing.assert_allclose(calc.cls_expected(mu), exp, rtol=2e-3, atol=1e-5)


def test_fast_gradient_matches_finite_differences():
    from scipy import optimize

    ws, _ = small_workspace()
    m = fastfit.FastModel.from_workspace(dict(ws))
    aux = m.nominal_aux()
    theta = np.array([1.3, 0.4, -0.7, 0.2])  # mu, eff, lumi, shape (some alphas negative)
    assert m.n_alpha == 3
    err = optimize.check_grad(lambda t: m.profile(t, m.data, aux)[0], lambda t: m.profile(t, m.data, aux)[1], theta)
    assert err < 1e-4


def test_zero_bins_dropped_and_tiny_background_floored():
    sig = template([0.0, 1.0, 3.0, 0.0], 0.05)
    bkg = template([0.0, 0.0, 4.0, -0.5], 0.2)  # empty bin with signal, negative MC bin
    ws, rep = build_workspace(sig, {"bkg": bkg}, data_hist([0, 0, 5, 1]), None, SYSTS)
    assert rep.dropped_empty == 1  # bin 0: nothing anywhere
    assert rep.floored == 2  # bin 1 (signal only) and bin 3 (negative MC, one data event)
    bdata = ws["channels"][0]["samples"][1]["data"]
    assert min(bdata) == pytest.approx(rep.epsilon)
    res = limits.upper_limit(ws, cl=0.9, method="asymptotic")
    assert np.isfinite(res.observed) and res.observed > 0


def test_staterror_pruning_fixes_negligible_gammas():
    sig = template([1.0, 2.0, 1.0], 1e-6)
    bkg = template([1e4, 5.0, 1e4], 1.0)  # relative MC error 1 % in the big bins
    ws, rep = build_workspace(sig, {"bkg": bkg}, data_hist([1e4, 5, 1e4]), None, [StatError(prune_below=0.02)])
    assert rep.staterror_pruned == 2 and rep.staterror_free == 1
    assert len(fastfit.FastModel.from_workspace(dict(ws)).stat_bins) == 1
    fixed = ws.model().config.suggested_fixed()
    assert sum(fixed) == 2  # pyhf fixes the same gammas


def test_window_and_sample_selection():
    ax = hist.axis.Regular(10, 0, 10, name="m2")
    h = hist.Hist(hist.axis.StrCategory(["a", "b"], name="sample"), ax)
    h.view()[0, :] = 1.0  # ("sample" is a protected keyword of Hist.fill)
    h.view()[1, :] = 2.0
    assert select_sample(h, ["a", "b"]).values().sum() == 30
    with pytest.raises(KeyError, match="not in the hist"):
        select_sample(h, "c")
    mask = window_mask(select_sample(h, "a"), {"m2": (2.0, 5.0)})
    assert mask.sum() == 3  # centres 2.5, 3.5, 4.5


def test_single_bin_auto_uses_exact():
    ws, _ = build_workspace(one_bin_hist(5.0), {"bkg": one_bin_hist(0.2)}, np.array([0.0]))
    res = limits.upper_limit(ws, cl=0.9)
    assert res.method == "exact"
    assert res.observed * res.signal_yield == pytest.approx(np.log(10.0), rel=1e-4)


def test_toy_percentile_fix_gives_ordered_band():
    ws, _ = build_workspace(
        one_bin_hist(5.0), {"bkg": one_bin_hist(3.0)}, np.array([3.0]), systematics=[NormSys("b", 0.9, 1.1, ("bkg",))]
    )
    model = ws.model()
    with limits.numpy_percentile_fix():
        obs, exp = pyhf.infer.hypotest(
            1.0, ws.data(model), model, calctype="toybased", ntoys=40, return_expected_set=True, track_progress=False
        )
    exp = np.asarray(exp, float)
    assert np.all(np.diff(exp) >= 0) and 0 <= float(obs) <= 1


@pytest.mark.slow
def test_fast_limit_matches_pyhf_limit():
    ws, _ = small_workspace()
    fast = limits.upper_limit(ws, cl=0.9, method="asymptotic")
    assert fast.method == "asymptotic"
    obs, exp = limits.pyhf_upper_limit(dict(ws), cl=0.9, mu_max=30.0)
    assert fast.observed == pytest.approx(obs, rel=5e-3)
    np.testing.assert_allclose(fast.expected, exp, rtol=5e-3)
    assert np.all(np.diff(fast.expected) > 0)


def test_signal_fit_matches_pyhf_mle_and_profile_interval():
    """Best-fit POI and its 68 % profile-likelihood interval (fastfit.signal_fit) against pyhf's MLE and
    a pyhf profile scan of the same model (an excess in the data so that the interval is away from 0)."""
    sig = template([0.0, 2.0, 5.0, 1.0], 0.05)
    bkg = template([12.0, 9.0, 7.0, 5.0], 0.3)
    ws, _ = build_workspace(sig, {"bkg": bkg}, data_hist([13, 14, 21, 6]), None, SYSTS)
    fit = limits.signal_fit(dict(ws), interval_cl=0.6827)
    model, data = ws.model(), ws.data(ws.model())
    bounds = model.config.suggested_bounds()
    bounds[model.config.poi_index] = (0.0, 50.0)
    best, twice_nll_min = pyhf.infer.mle.fit(data, model, par_bounds=bounds, return_fitted_val=True)
    assert fit.mu_hat == pytest.approx(float(best[model.config.poi_index]), rel=2e-3)
    assert 1.0 < fit.lo < fit.mu_hat < fit.hi
    for mu in (fit.lo, fit.hi):  # 2 Delta NLL = 1 at both ends, in pyhf's own likelihood
        _, twice_nll = pyhf.infer.mle.fixed_poi_fit(mu, data, model, par_bounds=bounds, return_fitted_val=True)
        assert float(twice_nll - twice_nll_min) == pytest.approx(1.0, abs=0.01)
    assert fit.z == pytest.approx(limits.local_significance(dict(ws)), rel=1e-9)
    none = limits.signal_fit(dict(build_workspace(sig, {"bkg": bkg}, data_hist([12, 9, 7, 5]), None, SYSTS)[0]))
    assert none.mu_hat < 0.3 and np.isnan(none.lo)  # no excess: a small best fit, no interval asked

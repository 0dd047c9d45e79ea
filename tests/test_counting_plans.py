"""The counting statistics plans (window counting in a 2D plane, sideband counting) on toy event lists
written and read through the real eventlist.parquet, and the Bayesian counting limits they use."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import integrate, stats

from processors.spec import DataSample, Luminosity, SearchSpec, SidebandCounting, SignalModel, WindowCounting
from workflows import outputs
from workflows.stats import counting
from workflows.stats.plans import implementation
from workflows.stats.plans.common import StatsOptions

LUMI = 10.0
MODEL = SignalModel("toy2d", "toy2d", "T", params=("mass", "mass2"))


def _spec(plan) -> SearchSpec:
    return SearchSpec(
        name="toy-count",
        title="toy",
        reference="none",
        processor="x:y",
        lumi=Luminosity(LUMI, "toy"),
        signals=(MODEL,),
        backgrounds=("bkg",),
        data=(DataSample("data"),),
        recipe="none",
        stats=plan,
    )


def _run(tmp_path, lists: dict, samples: dict) -> outputs.RunOutput:
    outputs.write_eventlist(lists, tmp_path / outputs.EVENTLIST_FILE)
    return outputs.RunOutput(hists={}, cutflows={}, samples=samples, nevents={}, blinded=False, search="toy-count",
                             lumi_fb=LUMI, path=tmp_path)  # fmt: skip


def _gauss2d(rng, n, centre, sx, sy, angle_deg, weight):
    u, v = rng.normal(0, sx, n), rng.normal(0, sy, n)
    a = np.radians(angle_deg)
    x = centre[0] + u * np.cos(a) - v * np.sin(a)
    y = centre[1] + u * np.sin(a) + v * np.cos(a)
    return {"x": x, "y": y, "weight": np.full(n, weight)}


# ----------------------------------------------------------------------------- Bayesian limits


def test_bayesian_limit_known_values():
    lim = counting.bayesian_limits(np.array([0.0, 0.0, 3.0]), np.array([0.0, 5.0, 0.0]), 0.0, cl=0.90)
    # n = 0: posterior e^-s whatever b; n = 3, b = 0: Gamma(4) quantile
    assert lim.observed == pytest.approx([-np.log(0.1), -np.log(0.1), stats.gamma.ppf(0.9, 4)], rel=1e-6)


def test_bayesian_limit_matches_numerical_integration_with_uncertain_background():
    n, b, r, cl = 4.0, 2.5, 0.3, 0.90
    prior = stats.gamma(1 / r**2, scale=b * r**2)

    def like(s):  # Poisson likelihood averaged over the background prior
        return integrate.quad(lambda bb: stats.poisson.pmf(n, s + bb) * prior.pdf(bb), 0, 40)[0]

    norm = integrate.quad(like, 0, 60)[0]
    ul = counting.bayesian_limits(np.array([n]), np.array([b]), r, cl=cl).observed[0]
    assert integrate.quad(like, 0, ul)[0] / norm == pytest.approx(cl, abs=2e-3)


# ----------------------------------------------------------------------------- window counting


def _window_setup(tmp_path, rng):
    # two hypotheses with the same first mass, different second masses and different yields: each must
    # get its own window and its own yield (never the first mass's nearest match)
    lists = {
        "sig_a": _gauss2d(rng, 4000, (5.0, 2.0), 0.10, 0.03, 30.0, 0.5),  # 2000 weighted events
        "sig_b": _gauss2d(rng, 1000, (5.0, 3.0), 0.10, 0.03, 30.0, 0.5),  # 500
        "bkg": {"x": rng.uniform(0, 10, 20000), "y": rng.uniform(0, 6, 20000), "weight": np.full(20000, 0.1)},
    }
    lists["data"] = {"x": rng.uniform(0, 10, 2000), "y": rng.uniform(0, 6, 2000), "weight": np.ones(2000)}
    samples = {
        "sig_a": {"is_signal": True, "process": "toy2d", "mass": 5.0, "mass2": 2.0, "xsec_fb": 400.0},
        "sig_b": {"is_signal": True, "process": "toy2d", "mass": 5.0, "mass2": 3.0, "xsec_fb": 100.0},
        "bkg": {"is_signal": False, "process": "bkg"},
        "data": {"is_data": True, "process": "data"},
    }
    return _run(tmp_path, lists, samples)


def test_window_counting_keys_hypotheses_by_every_parameter(tmp_path):
    rng = np.random.default_rng(1)
    run = _window_setup(tmp_path, rng)
    plan = WindowCounting(x="x", y="y", observable=lambda p: (p["mass"], p["mass2"]), xsec_label="sigma")
    res = implementation(_spec(plan))(run, _spec(plan), StatsOptions(cl=0.90, progress=False))
    by = {r.hypothesis["mass2"]: r for r in res.rows}
    assert set(by) == {2.0, 3.0}
    contained = 1 - np.exp(-0.5 * 2.0**2)  # a 2-sigma ellipse holds 86.5 % of a 2D Gaussian
    assert by[2.0].extra["signal_events"] == pytest.approx(2000 * contained, rel=0.04)
    assert by[3.0].extra["signal_events"] == pytest.approx(500 * contained, rel=0.08)
    for r in res.rows:  # the rotated ellipse is measured, not assumed
        assert r.extra["angle_deg"] % 180 == pytest.approx(30.0, abs=3.0)
        assert r.extra["sigma_major"] == pytest.approx(0.10, rel=0.08)
        assert r.extra["sigma_minor"] == pytest.approx(0.03, rel=0.08)
        area = np.pi * 4 * r.extra["sigma_major"] * r.extra["sigma_minor"]
        assert r.extra["background"] == pytest.approx(2000 * area / 60.0, rel=0.35)  # uniform MC, 2000 in 60
        assert r.method == "bayesian counting" and not r.data_is_asimov
        assert r.observed > 0 and r.expected[0] <= r.expected[2] <= r.expected[4]


def test_window_counting_signal_limit_scales_with_efficiency(tmp_path):
    """Same window, four times fewer signal events per fb: four times the cross-section limit."""
    rng = np.random.default_rng(2)
    run = _window_setup(tmp_path, rng)
    plan = WindowCounting(x="x", y="y", observable=lambda p: (p["mass"], p["mass2"]), xsec_label="sigma")
    res = implementation(_spec(plan))(run, _spec(plan), StatsOptions(cl=0.90, progress=False))
    for r in res.rows:
        events_ul = r.observed * r.extra["signal_events"] / run.samples[r.extra["sample"]]["xsec_fb"]
        direct = counting.bayesian_limits(np.array([r.extra["n_obs"]]), np.array([r.extra["background"]]),
                                          r.extra["background_rel_unc"], 0.90).observed[0]  # fmt: skip
        assert events_ul == pytest.approx(direct, rel=1e-9)


def test_window_counting_refuses_missing_columns(tmp_path):
    rng = np.random.default_rng(3)
    run = _window_setup(tmp_path, rng)
    plan = WindowCounting(x="x", y="m_recoil", observable=lambda p: (p["mass"], p["mass2"]), xsec_label="s")
    with pytest.raises(KeyError, match="m_recoil"):
        implementation(_spec(plan))(run, _spec(plan), StatsOptions(cl=0.9, progress=False))


# ----------------------------------------------------------------------------- sideband counting


def test_sideband_counting_predicts_a_flat_background_and_closes_on_mc(tmp_path):
    rng = np.random.default_rng(4)
    lists = {
        "sig": {"x": rng.normal(3.0, 0.05, 2000), "y": np.zeros(2000), "weight": np.full(2000, 0.05)},
        "bkg": {"x": rng.uniform(0, 6, 60000), "y": np.zeros(60000), "weight": np.full(60000, 0.01)},
        "data": {"x": rng.uniform(0, 6, 600), "y": np.zeros(600), "weight": np.ones(600)},
    }
    samples = {
        "sig": {"is_signal": True, "process": "toy2d", "mass": 3.0, "mass2": 1.0, "xsec_fb": 10.0},
        "bkg": {"is_signal": False, "process": "bkg"},
        "data": {"is_data": True, "process": "data"},
    }
    run = _run(tmp_path, lists, samples)
    plan = SidebandCounting(x="x", observable=lambda p: p["mass"], xsec_label="s", window_n_sigma=2.0,
                            sideband_n_sigma=(3.0, 8.0))  # fmt: skip
    spec = _spec(plan)
    (row,) = implementation(spec)(run, spec, StatsOptions(cl=0.95, progress=False)).rows
    assert row.extra["width"] == pytest.approx(0.05, rel=0.08)
    assert row.extra["transfer"] == pytest.approx(2.0 / 5.0, rel=0.1)  # window 4 sigma wide, sidebands 10
    # data density 100 / GeV: window 0.2 GeV -> 20 events, predicted from ~50 sideband events
    assert row.extra["background"] == pytest.approx(20.0, rel=0.35)
    assert row.extra["mc_sideband_prediction"] == pytest.approx(row.extra["mc_in_window"], rel=0.15)
    assert row.cl == 0.95 and row.method == "CLs counting"


def test_sideband_counting_refuses_sidebands_inside_the_window(tmp_path):
    plan = SidebandCounting(x="x", observable=lambda p: p["mass"], xsec_label="s", window_n_sigma=3.0,
                            sideband_n_sigma=(2.0, 8.0))  # fmt: skip
    spec = replace(_spec(plan))
    with pytest.raises(ValueError, match="outside the window"):
        implementation(spec)(None, spec, StatsOptions(cl=0.95, progress=False))

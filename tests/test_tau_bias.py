"""Importance-sampled tau decays (samples/generator/tau_bias.py) and the weighted tautau_mu process:
the weighted sample reproduces the unbiased one, with more of the enriched modes."""

from __future__ import annotations

import numpy as np
import pytest
from test_tau import _mode_from_daughters, _taus

from samples.generator import pipeline
from samples.generator.tau import TAU_BR, TAU_MODES, decay_taus
from samples.generator.tau_bias import biased_mode_probabilities, decay_taus_enriched

N = 80_000


def test_weighted_modes_reproduce_branching_fractions() -> None:
    rng = np.random.default_rng(5)
    dec, w = decay_taus_enriched(rng, _taus(N, rng), -1, {"mu": 0.6})
    mode = _mode_from_daughters(dec)
    assert np.all(mode == dec.mode)
    assert abs(np.mean(mode == TAU_MODES.index("mu")) - 0.6) < 5 * np.sqrt(0.24 / N)
    assert abs(w.mean() - 1.0) < 0.02  # E[p/q] = 1
    for k, name in enumerate(TAU_MODES):
        sel = mode == k
        frac, err = w[sel].sum() / N, np.sqrt((w[sel] ** 2).sum()) / N
        assert abs(frac - TAU_BR[name]) < 5 * err + 1e-3, name


def test_weighted_spectrum_equals_unbiased() -> None:
    """The muon energy spectrum of all taus, weighted, agrees with the unbiased generator (chi2)."""
    rng = np.random.default_rng(6)
    p4 = _taus(N, rng)
    biased, w = decay_taus_enriched(rng, p4, +1, {"mu": 0.6})
    plain = decay_taus(rng, p4, +1)
    bins = np.linspace(0.0, 8.0, 21)

    def spectrum(dec, weight):
        is_mu = (np.abs(dec.pdg) == 13) & dec.valid
        e = dec.p4[..., 3][is_mu]
        ww = np.broadcast_to(weight[:, None], is_mu.shape)[is_mu]
        return np.histogram(e, bins, weights=ww)[0], np.histogram(e, bins, weights=ww**2)[0]

    (hb, vb), (hp, vp) = spectrum(biased, w), spectrum(plain, np.ones(N))
    ok = (vb + vp) > 0
    chi2 = np.sum((hb - hp)[ok] ** 2 / (vb + vp)[ok])
    assert chi2 < ok.sum() + 5 * np.sqrt(2 * ok.sum())
    assert (hb.sum() / w.sum() > 0) and np.sum(vb) < np.sum(vp)  # enriched: smaller error on the muons


def test_bad_enrichment_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        biased_mode_probabilities({"kaon": 0.5})
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        biased_mode_probabilities({"mu": 0.7, "e": 0.4})


def test_tautau_mu_process_is_weighted_tautau() -> None:
    """tautau_mu has tautau's cross section, 0.6^2 of its events with two muons, mean weight 1."""
    from samples.generator import registry

    assert registry.get("tautau_mu").xsec_fb() == registry.get("tautau").xsec_fb()
    truth, _ = pipeline.generate_truth("tautau_mu", 40_000, np.random.default_rng(7))
    w = truth.event["weight"]
    assert abs(w.mean() - 1.0) < 0.03
    q_mu, p_mu = 0.6, TAU_BR["mu"]
    two_mu = np.isclose(w, (p_mu / q_mu) ** 2)
    assert abs(two_mu.mean() - q_mu**2) < 0.01


def test_weighted_pool_resamples_to_unweighted_data(tmp_path) -> None:
    """Pseudo-data from a weighted pool: N follows the weighted efficiency and events are drawn in
    proportion to their weights, so the data's mode mixture is the unbiased one."""
    from samples.generator import io
    from samples.pseudodata import Component, resample_component

    s = pipeline.generate("tautau_mu", 30_000, seed=3, filter_name=None)
    pool = s.columns
    path = io.write(tmp_path / "pool.root", pool)
    w = pool["weight"].astype(np.float64)
    two_mu = np.isclose(w, (TAU_BR["mu"] / 0.6) ** 2, rtol=1e-6)
    assert two_mu.mean() > 0.3  # the pool is enriched ...
    comp = Component("tautau_mu", xsec_fb=1000.0, filter_efficiency=1.0, pool_files=[str(path)])
    lumi = 200.0
    cols, n = resample_component(comp, lumi, np.random.default_rng(1), skim=None)
    expected = 1000.0 * lumi * w.sum() / w.size
    assert abs(n - expected) < 5 * np.sqrt(expected)
    drawn = np.isclose(cols["weight"].astype(np.float64), (TAU_BR["mu"] / 0.6) ** 2, rtol=1e-6)
    # ... the data are not: two-muon pairs at the branching-fraction rate (weighted pool fraction).
    f_true = w[two_mu].sum() / w.sum()
    assert abs(drawn.mean() - f_true) < 5 * np.sqrt(f_true * (1 - f_true) / n)
    assert abs(f_true - TAU_BR["mu"] ** 2) < 0.01

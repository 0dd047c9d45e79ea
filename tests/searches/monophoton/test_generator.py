"""The generator pieces the mono-photon backgrounds use: the biased gamma gamma and Bhabha samples keep
their cross sections (mean weight 1, the weighted angular distribution of the unbiased generator), the
four-lepton antenna weight has its soft-photon limits, and the ecl_objects filter partitions a sample."""

from __future__ import annotations

import numpy as np
import pytest

from samples.generator import backgrounds as B
from samples.generator import pipeline
from samples.generator.backgrounds import coherence_weight, gg_corner_intervals

RS = 10.58


def _pair_cos(truth) -> np.ndarray:
    """cos(theta*) of the first pair photon (CMS), per event."""
    first = truth.offsets[:-1]
    return truth.pz[first] / truth.E[first]


def test_gg_corner_weights_reproduce_the_unbiased_distribution() -> None:
    n = 400_000
    unb = B.gen_gg(n, np.random.default_rng(1), np.full(n, RS), isr=False)
    bia = B.gen_gg(n, np.random.default_rng(2), np.full(n, RS), isr=False, corner_fraction=0.9)
    w = bia.event["weight"]
    assert w.mean() == pytest.approx(1.0, abs=0.01)
    corners = gg_corner_intervals(np.cos(np.radians(B.THETA_MIN_EE_DEG)))
    assert corners.shape == (2, 2) and np.all(np.diff(corners, axis=1) > 0)

    def frac(c: np.ndarray, wt: np.ndarray) -> float:
        inside = np.zeros(c.size, bool)
        for lo, hi in corners:
            inside |= (c >= lo) & (c <= hi)
        return float(wt[inside].sum() / wt.sum())

    f_true, f_bias = frac(_pair_cos(unb), np.ones(n)), frac(_pair_cos(bia), w)
    assert f_bias == pytest.approx(f_true, rel=0.03)
    # and the corners hold ~90 % of the drawn events (the point of the bias), against ~10 % unbiased
    assert frac(_pair_cos(bia), np.ones(n)) > 0.85 and f_true < 0.15


def test_ee_wide_keeps_the_total_and_widens_the_photons() -> None:
    n = 200_000
    ev = B.gen_ee(n, np.random.default_rng(3), np.full(n, RS), isr_wide_fraction=0.8, coherent=True)
    w = ev.event["weight"]
    assert w.mean() == pytest.approx(1.0, abs=1e-9)  # normalised to the Physics Book cross section
    assert np.all(w >= 0) and np.all(np.isfinite(w))
    plain = B.gen_ee(n, np.random.default_rng(3), np.full(n, RS))
    assert np.all(plain.event["weight"] == 1)


def test_coherence_weight_soft_photon_limits() -> None:
    """Small-angle Bhabha: a photon at 90 deg is suppressed (in/out currents cancel); a photon along the
    e- beam keeps weight ~1 (the beam term dominates); no photon -> 1."""
    e = RS / 2
    th = np.radians(8.0)
    em = np.array([[e * np.sin(th), 0.0, e * np.cos(th), e]])
    ep = np.array([[-e * np.sin(th), 0.0, -e * np.cos(th), e]])
    rs = np.array([RS])
    wide = coherence_weight(rs, em, ep, np.array([[0.0, 1.0, 0.0, 1.0]]), np.array([True]))[0]
    along = coherence_weight(rs, em, ep, np.array([[0.0, 1e-3, 1.0, 1.0]]), np.array([True]))[0]
    assert wide < 0.1
    assert along == pytest.approx(1.0, abs=0.1)
    assert coherence_weight(rs, em, ep, np.zeros((1, 4)), np.array([False]))[0] == 1.0
    # large-angle (s-channel-like) scattering: no strong suppression at 90 deg
    th = np.radians(90.0)
    em = np.array([[e * np.sin(th), 0.0, e * np.cos(th), e]])
    ep = -em * np.array([1, 1, 1, -1])
    assert coherence_weight(rs, em, ep, np.array([[0.0, 0.6, 0.8, 1.0]]), np.array([True]))[0] > 0.3


def test_ecl_objects_partition() -> None:
    """n_max=1 (everything else lost) and n_min=2 (the rest) split the events with a hard photon."""
    opts = {"hard_theta_deg": (20.0, 147.0)}
    lost = pipeline.generate("gg", 30_000, 5, {}, filter_name="ecl_objects", filter_options={**opts, "n_max": 1})
    rest = pipeline.generate("gg", 30_000, 5, {}, filter_name="ecl_objects",
                             filter_options={**opts, "n_min": 2, "n_max": 99})  # fmt: skip
    ev_l, ev_r = set(lost.columns["event"].tolist()), set(rest.columns["event"].tolist())
    assert not ev_l & ev_r and len(ev_l) > 0 and len(ev_r) > 0
    # the lost class: mostly one reconstructed cluster above 0.3 GeV (beam background is softer)
    n = lost.columns["nPhoton"]
    hard = np.bincount(np.repeat(np.arange(n.size), n)[lost.columns["Photon_E"] > 0.3], minlength=n.size)
    assert np.mean(hard == 1) > 0.95

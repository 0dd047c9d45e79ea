"""tau decays (samples/generator/tau.py): branching fractions, kinematics, conjugation."""

from __future__ import annotations

import numpy as np
import pytest

from samples import constants as C
from samples.generator.tau import N_SLOTS, TAU_BR, TAU_MODES, decay_taus

N = 60_000


def _taus(n: int, rng: np.random.Generator, boosted: bool = True) -> np.ndarray:
    p = np.zeros((n, 4))
    if boosted:
        p[:, :3] = rng.normal(0.0, 3.0, (n, 3))
    p[:, 3] = np.sqrt(np.sum(p[:, :3] ** 2, axis=1) + C.M_TAU**2)
    return p


def _mode_from_daughters(dec) -> np.ndarray:
    """Classify each decay from its visible daughters only (independent of dec.mode)."""
    a = np.abs(dec.pdg) * dec.valid
    n_e = np.sum(a == 11, axis=1)
    n_mu = np.sum(a == 13, axis=1)
    n_pi = np.sum(a == 211, axis=1)
    n_pi0 = np.sum(a == 111, axis=1)
    out = np.full(a.shape[0], -1)
    out[(n_e == 1) & (n_pi == 0)] = 0
    out[(n_mu == 1) & (n_pi == 0)] = 1
    out[(n_pi == 1) & (n_pi0 == 0)] = 2
    out[(n_pi == 1) & (n_pi0 == 1)] = 3
    out[n_pi == 3] = 4
    out[(n_pi == 1) & (n_pi0 == 2)] = 5
    return out


def test_branching_fractions_within_statistical_error():
    rng = np.random.default_rng(11)
    dec = decay_taus(rng, _taus(N, rng), rng.choice([-1, 1], N))
    mode = _mode_from_daughters(dec)
    assert np.all(mode == dec.mode)
    for i, name in enumerate(TAU_MODES):
        p = TAU_BR[name]
        frac = np.mean(mode == i)
        assert abs(frac - p) < 4.0 * np.sqrt(p * (1 - p) / N), (name, frac, p)
    # renormalised PDG values: the ratio of any two modes is the PDG ratio
    assert TAU_BR["e"] / TAU_BR["pi"] == pytest.approx(C.TAU_BR_PDG["e"] / C.TAU_BR_PDG["pi"])


def test_direct_daughters_sum_to_tau_and_masses():
    rng = np.random.default_rng(12)
    tau = _taus(20_000, rng)
    dec = decay_taus(rng, tau, -1)
    direct = dec.valid & (dec.mother == -1)
    tot = np.sum(dec.p4 * direct[..., None], axis=1)
    assert np.allclose(tot, tau, rtol=0, atol=1e-9 * np.abs(tau).max())
    # each resonance's daughters sum to it
    for s in range(N_SLOTS):
        kids = dec.valid & (dec.mother == s)
        has = kids.any(axis=1)
        if has.any():
            ksum = np.sum(dec.p4 * kids[..., None], axis=1)
            assert np.allclose(ksum[has], dec.p4[has, s], atol=1e-9)
    # final-state masses
    m2 = dec.p4[..., 3] ** 2 - np.sum(dec.p4[..., :3] ** 2, axis=-1)
    a = np.abs(dec.pdg)
    for pdg, m in ((211, C.M_PI), (13, C.M_MU), (22, 0.0), (16, 0.0)):
        sel = dec.valid & (a == pdg)
        assert np.allclose(np.sqrt(np.maximum(m2[sel], 0)), m, atol=2e-5), pdg


def test_michel_spectrum_and_rho_peak():
    rng = np.random.default_rng(13)
    n = 40_000
    dec = decay_taus(rng, _taus(n, rng, boosted=False), -1, modes=("e",))
    x = 2.0 * dec.p4[:, 1, 3] / C.M_TAU
    # V-A (rho = 3/4), massless: <x> = 0.7, and phase space would give 0.5-ish
    assert abs(x.mean() - 0.7) < 5 * x.std() / np.sqrt(n) + 1e-3
    dec = decay_taus(rng, _taus(n, rng, boosted=False), -1, modes=("rho",))
    rho = dec.p4[:, 1]
    m = np.sqrt(rho[:, 3] ** 2 - np.sum(rho[:, :3] ** 2, axis=1))
    hist, edges = np.histogram(m, 60, (0.3, 1.5))
    peak = 0.5 * (edges[:-1] + edges[1:])[np.argmax(hist)]
    assert abs(peak - C.M_RHO) < 0.05


def test_charge_conjugation_and_forced_modes():
    rng = np.random.default_rng(14)
    n = 5000
    tau = _taus(n, rng)
    dm = decay_taus(np.random.default_rng(1), tau, -1)
    dp = decay_taus(np.random.default_rng(1), tau, +1)
    self_conj = (np.abs(dm.pdg) == 22) | (dm.pdg == 111) | ~dm.valid
    assert np.array_equal(np.where(self_conj, dm.pdg, -dm.pdg), dp.pdg)
    # charge of visible daughters = tau charge
    charged = {211: 1, 11: -1, 13: -1}
    q = sum(np.sign(dp.pdg) * (np.abs(dp.pdg) == k) * v for k, v in charged.items())
    assert np.all(np.sum(q * dp.final * dp.valid, axis=1) == 1)
    one = decay_taus(rng, tau, -1, modes=("e", "mu", "pi"))
    assert set(np.unique(one.mode)) <= {0, 1, 2}
    with pytest.raises(ValueError, match="unknown tau mode"):
        decay_taus(rng, tau, -1, modes=("kaon",))
    with pytest.raises(ValueError, match="charge"):
        decay_taus(rng, tau, 0)

"""Standard-model background generators of the Belle II fast simulation: the process table.

Every generator has the contract signature
``gen(n, rng, sqrt_s, **params) -> TruthEvents`` (CMS frame, e- beam along +z,
all particles including intermediates, mothers before daughters). The physics
lives in small modules:

* qed.py         e+e- -> f fbar (gamma) with ISR/FSR: mumu, tautau, ee (Bhabha), gamma gamma
* tau.py         tau decays
* twophoton.py   e+e- -> e+e- X via two (quasi-real) photons: eemumu, eeee, eetautau
* fourlepton.py  e+e- -> mu mu (gamma* -> l l): mumumumu, mumutautau
* hadrons.py     e+e- -> q qbar as multi-hadron final states: uu, dd, ss, cc
* neutrinos.py   e+e- -> gamma nu nubar and its cross-section formula
Cross sections are attached by the registry (constants.XSEC_NB); only gnunu,
which is not in the Physics Book table, is computed here (``XSEC_FB``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from samples import constants as C
from samples.generator.fourlepton import gen_mumumumu, gen_mumutautau
from samples.generator.hadrons import gen_cc, gen_dd, gen_ss, gen_uu
from samples.generator.neutrinos import GNUNU_DEFAULTS, gen_gnunu, gnunu_xsec_fb
from samples.generator.phasespace import TabulatedSampler, sample_1pcos2, sample_inv_1mc2
from samples.generator.qed import KMIN_DEFAULT, RadiativePair, radiative_pair
from samples.generator.slots import SlotEvents
from samples.generator.tau import TAU_CTAU_CM, decay_taus
from samples.generator.tau_bias import decay_taus_enriched
from samples.generator.truth import TruthEvents
from samples.generator.twophoton import gen_eeee, gen_eemumu, gen_eemumu_corner, gen_eetautau

# The Physics Book's Bhabha and gamma gamma cross sections are defined for
# 10 < theta* < 170 deg (arXiv:1808.10567, Table 3).
THETA_MIN_EE_DEG = 10.0
# Lowest pair mass reached by ISR for the massless processes (Bhabha, gamma
# gamma): their t-channel-like cross sections are not the 1/s' point-like one
# at large x; we stop the radiative-return tail at 2 GeV.
SQRT_S_MIN_MASSLESS = 2.0


def _check(n: int, sqrt_s: np.ndarray) -> np.ndarray:
    sqrt_s = np.asarray(sqrt_s, dtype=np.float64)
    if sqrt_s.shape != (n,):
        raise ValueError(f"generator: sqrt_s must have shape ({n},), got {sqrt_s.shape}")
    if np.any(sqrt_s < 1.0):
        raise ValueError("generator: sqrt_s must be the e+e- CMS energy in GeV (about 10.58)")
    return sqrt_s


def _pair_events(
    n: int, pdg_f: int, rp: RadiativePair, final: bool = True, ctau: float = 0.0
) -> tuple[SlotEvents, int, int]:
    ev = SlotEvents(n)
    i_f = ev.add(pdg_f, rp.f, final=final, ctau=ctau)
    i_fb = ev.add(-pdg_f if pdg_f != 22 else 22, rp.fbar, final=final, ctau=ctau)
    ev.add(22, rp.isr, valid=rp.has_isr)
    ev.add(22, rp.fsr, valid=rp.has_fsr)
    return ev, i_f, i_fb


def _weights(n: int) -> dict[str, np.ndarray]:
    return {"weight": np.ones(n)}


def gen_mumu(
    n: int,
    rng: np.random.Generator,
    sqrt_s: np.ndarray,
    kmin: float = KMIN_DEFAULT,
    isr: bool = True,
    fsr: bool = True,
) -> TruthEvents:
    """e+e- -> mu+mu-(gamma): 1 + cos^2 in the pair frame, LL ISR (with radiative return) and FSR."""
    sqrt_s = _check(n, sqrt_s)
    rp = radiative_pair(rng, sqrt_s, C.M_MU, sample_1pcos2, 2.0 * C.M_MU, isr, fsr, kmin)
    ev, _, _ = _pair_events(n, 13, rp)
    return ev.build(_weights(n))


def gen_tautau(
    n: int,
    rng: np.random.Generator,
    sqrt_s: np.ndarray,
    kmin: float = KMIN_DEFAULT,
    isr: bool = True,
    fsr: bool = True,
    modes: tuple[str, ...] | None = None,
    enrich: dict[str, float] | None = None,
) -> TruthEvents:
    """e+e- -> tau+tau-(gamma), both taus decayed by tau.decay_taus (``modes`` forces a subset).

    ``enrich`` (e.g. {"mu": 0.6}) draws those tau modes with the given probabilities and weights the
    events back to the branching fractions (tau_bias.py): same physics, more of the selected modes."""
    sqrt_s = _check(n, sqrt_s)
    rp = radiative_pair(rng, sqrt_s, C.M_TAU, sample_1pcos2, 2.0 * C.M_TAU, isr, fsr, kmin)
    ev, i_m, i_p = _pair_events(n, 15, rp, final=False, ctau=TAU_CTAU_CM)
    if enrich is None:
        ev.add_block(decay_taus(rng, rp.f, -1, modes), parent=i_m)
        ev.add_block(decay_taus(rng, rp.fbar, +1, modes), parent=i_p)
        return ev.build(_weights(n))
    if modes is not None:
        raise ValueError("gen_tautau: give either modes (forced) or enrich (weighted), not both")
    minus, w_minus = decay_taus_enriched(rng, rp.f, -1, enrich)
    plus, w_plus = decay_taus_enriched(rng, rp.fbar, +1, enrich)
    ev.add_block(minus, parent=i_m)
    ev.add_block(plus, parent=i_p)
    return ev.build({"weight": w_minus * w_plus})


def _bhabha_sampler(cmax: float) -> TabulatedSampler:
    # d sigma/d cos ~ ((3 + c^2)/(1 - c))^2: QED Bhabha, s + t channels, massless
    # (e.g. Peskin & Schroeder problem 5.2); c is the e- angle to the e- beam.
    c = np.unique(np.concatenate([np.linspace(-cmax, cmax, 2001), 1.0 - np.geomspace(1.0 - cmax, 1.0 + cmax, 4001)]))
    c = c[(c >= -cmax) & (c <= cmax)]
    return TabulatedSampler(c, ((3.0 + c * c) / (1.0 - c)) ** 2)


_BHABHA: dict[float, TabulatedSampler] = {}


def gen_ee(
    n: int,
    rng: np.random.Generator,
    sqrt_s: np.ndarray,
    theta_min_deg: float = THETA_MIN_EE_DEG,
    kmin: float = KMIN_DEFAULT,
    isr: bool = True,
    fsr: bool = True,
    isr_wide_fraction: float = 0.0,
    coherent: bool = False,
) -> TruthEvents:
    """Bhabha e+e- -> e+e-(gamma), theta*(e-) in [theta_min, 180 - theta_min] in the pair frame.
    ``isr_wide_fraction`` > 0: that share of the ISR photons drawn at wide angles, events weighted
    (qed.sample_isr): the e e gamma corner of the mono-photon search. ``coherent``: every photon weighted
    by :func:`coherence_weight` (the four-lepton soft-photon antenna instead of the beams' and the final
    pair's separately): small-angle Bhabha scattering radiates little at wide angles."""
    sqrt_s = _check(n, sqrt_s)
    cmax = float(np.cos(np.radians(theta_min_deg)))
    if cmax not in _BHABHA:
        _BHABHA[cmax] = _bhabha_sampler(cmax)
    smp = _BHABHA[cmax]
    rp = radiative_pair(
        rng,
        sqrt_s,
        C.M_E,
        lambda r, k: smp.sample(r, k),
        SQRT_S_MIN_MASSLESS,
        isr,
        fsr,
        kmin,
        xsec_shape="1/s",
        isr_wide_fraction=isr_wide_fraction,
    )
    ev, _, _ = _pair_events(n, 11, rp)
    w = np.ones(n) if rp.weight is None else rp.weight
    if coherent:
        w = w * coherence_weight(sqrt_s, rp.f, rp.fbar, rp.isr, rp.has_isr)
        w = w * coherence_weight(sqrt_s, rp.f, rp.fbar, rp.fsr, rp.has_fsr)
        # the total (Physics Book) cross section stays: R only moves photons between angles (mean ~0.83)
        w = w / w.mean()
    return ev.build({"weight": w})


COHERENCE_WEIGHT_MAX = 4.0  # |J_full|^2 / (|J_in|^2 + |J_out|^2) <= 2 for soft photons; a cap for rounding


def coherence_weight(sqrt_s: np.ndarray, em: np.ndarray, ep: np.ndarray, k: np.ndarray, has: np.ndarray) -> np.ndarray:
    """Soft-photon (eikonal) weight of a photon ``k`` in e+e- -> e-(em) e+(ep) gamma, CMS, e- beam along +z:
    R = -J.J / (-J_in.J_in - J_out.J_out), J = sum_i eta_i q_i p_i / (p_i.k) over the four leptons. The
    generator radiates from the beams (ISR) and from the final pair (FSR) independently, i.e. with the
    incoherent sum in the denominator; R restores their interference (Low's theorem: exact for soft
    photons, an approximation for hard ones). For small-angle scattering the e- in / e- out currents
    cancel at wide photon angles (R ~ theta_e^2); 1 where ``has`` is False."""
    out = np.ones(sqrt_s.shape[0])
    h = np.flatnonzero(has)
    if h.size == 0:
        return out
    e = 0.5 * sqrt_s[h]
    pz = np.sqrt(np.maximum(e * e - C.M_E * C.M_E, 0.0))
    zero = np.zeros_like(e)
    p1 = np.stack([zero, zero, pz, e], axis=1)  # e- beam
    p2 = np.stack([zero, zero, -pz, e], axis=1)  # e+ beam
    kk = k[h]

    def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a[:, 3] * b[:, 3] - np.sum(a[:, :3] * b[:, :3], axis=1)

    a = [p / dot(p, kk)[:, None] for p in (p1, p2, em[h], ep[h])]
    j_in, j_out = a[0] - a[1], a[3] - a[2]  # e- in (q=-1, incoming) ~ +p1; e+ in ~ -p2; e- out ~ -p3; e+ out ~ +p4
    full, inc = -dot(j_in + j_out, j_in + j_out), -dot(j_in, j_in) - dot(j_out, j_out)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(inc > 0, full / inc, 1.0)
    out[h] = np.clip(np.nan_to_num(r, nan=1.0), 0.0, COHERENCE_WEIGHT_MAX)
    return out


def _gg_cos(cmax: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    """(1 + c^2)/(1 - c^2) on [-cmax, cmax] (lowest-order e+e- -> gamma gamma, massless limit)."""

    def sample(rng: np.random.Generator, k: int) -> np.ndarray:
        out = np.empty(k)
        todo = np.arange(k)
        while todo.size:
            c = sample_inv_1mc2(rng, todo.size, cmax)
            ok = rng.random(todo.size) < 0.5 * (1.0 + c * c)
            out[todo[ok]] = c[ok]
            todo = todo[~ok]
        return out

    return sample


def gen_gg(
    n: int,
    rng: np.random.Generator,
    sqrt_s: np.ndarray,
    theta_min_deg: float = THETA_MIN_EE_DEG,
    kmin: float = KMIN_DEFAULT,
    isr: bool = True,
    corner_fraction: float = 0.0,
) -> TruthEvents:
    """e+e- -> gamma gamma(gamma): (1 + cos^2)/(1 - cos^2) within [theta_min, 180 - theta_min], ISR photon.

    ``corner_fraction`` > 0 draws that share of the pair angles uniformly in the corners where one photon
    of the pair is lost (ECL gaps, beyond the acceptance: :func:`gg_corner_intervals`) and weights every
    event by p_true(c) / p_drawn(c): the same physics, mean weight 1, more of the mono-photon fakes."""
    sqrt_s = _check(n, sqrt_s)
    cmax = float(np.cos(np.radians(theta_min_deg)))
    weights = _weights(n)
    sampler = _gg_cos(cmax)
    if corner_fraction > 0.0:
        sampler = _gg_cos_biased(cmax, corner_fraction, gg_corner_intervals(cmax), weights["weight"])
    rp = radiative_pair(rng, sqrt_s, 0.0, sampler, SQRT_S_MIN_MASSLESS, isr, False, kmin, xsec_shape="1/s")
    ev, _, _ = _pair_events(n, 22, rp)
    return ev.build(weights)


# Lab polar ranges [deg] where a photon of a gamma gamma pair is lost to the ECL and seen only by the KLM:
# its two gaps (constants), widened by GG_CORNER_MARGIN_DEG for the 41.5 mrad tilt of the boost and for ISR.
# (A pair photon beyond the acceptance has its partner below 17 deg, outside any mono-photon fiducial region.)
GG_CORNER_MARGIN_DEG = 3.0


def gg_corner_intervals(cmax: float, margin_deg: float = GG_CORNER_MARGIN_DEG) -> np.ndarray:
    """Disjoint CMS cos(theta) intervals (k, 2) of the pair photon ``f`` for which ``f`` or its partner
    (at -cos) points into an ECL gap of the lab (nominal boost along z)."""
    m = margin_deg
    lab = [(C.ECL_FWD_MAX_DEG - m, C.ECL_FWD_GAP_MAX_DEG + m), (C.ECL_BARREL_MAX_DEG - m, C.ECL_BWD_GAP_MAX_DEG + m)]
    bg = C.BOOST_BETAGAMMA_NOMINAL
    beta = bg / np.sqrt(1.0 + bg * bg)

    def to_cms(t_deg: float) -> float:
        c = np.cos(np.radians(t_deg))
        return float((c - beta) / (1.0 - beta * c))

    one = [(min(to_cms(a), to_cms(b)), max(to_cms(a), to_cms(b))) for a, b in lab]
    both = one + [(-hi, -lo) for lo, hi in one]
    iv = sorted((max(lo, -cmax), min(hi, cmax)) for lo, hi in both if min(hi, cmax) > max(lo, -cmax))
    merged: list[list[float]] = []
    for lo, hi in iv:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return np.asarray(merged, float)


def _gg_cos_biased(
    cmax: float, f: float, corners: np.ndarray, weight_out: np.ndarray
) -> Callable[[np.random.Generator, int], np.ndarray]:
    """A mixture (1 - f) p_true + f uniform(corners); writes p_true / p_mix into ``weight_out``."""
    if not 0.0 < f < 1.0:
        raise ValueError(f"gen_gg: corner_fraction={f} must be in (0, 1)")
    true_sampler = _gg_cos(cmax)
    norm = 2.0 * (-cmax + 2.0 * np.arctanh(cmax))  # int of (1 + c^2)/(1 - c^2) over [-cmax, cmax]
    lengths = np.diff(corners, axis=1)[:, 0]
    total = float(lengths.sum())

    def sample(rng: np.random.Generator, k: int) -> np.ndarray:
        c = true_sampler(rng, k)
        biased = rng.random(k) < f
        nb = int(biased.sum())
        pick = rng.choice(len(lengths), size=nb, p=lengths / total)
        c[biased] = corners[pick, 0] + lengths[pick] * rng.random(nb)
        in_corner = np.zeros(k, dtype=bool)
        for lo, hi in corners:
            in_corner |= (c >= lo) & (c <= hi)
        p_true = (1.0 + c * c) / (1.0 - c * c) / norm
        weight_out[:] = p_true / ((1.0 - f) * p_true + f * in_corner / total)
        return c

    return sample


# tau -> mu nu nu drawn with probability 0.6 instead of 0.19 (tau_bias.py): 9.5x more mu mu tau
# pairs, the ones the Z' -> invisible search selects; their weight is (0.194 / 0.6)^2 = 0.105.
TAUTAU_MU_ENRICH: dict[str, float] = {"mu": 0.6}
# gamma gamma(gamma) with 90 % of the pair angles drawn in the corners that fake one photon (mono-photon).
GG_CORNER_FRACTION = 0.9
# Bhabha with 80 % of the ISR photons drawn at wide angles (|cos theta*| < 0.95), photons weighted by the
# four-lepton soft-photon antenna (coherence_weight): the e e gamma corner of the mono-photon search.
EE_WIDE_ISR_FRACTION = 0.8

GENERATORS: dict[str, Callable[..., TruthEvents]] = {
    "mumu": gen_mumu,
    "tautau": gen_tautau,
    "tautau_mu": partial(gen_tautau, enrich=TAUTAU_MU_ENRICH),
    "ee": gen_ee,
    "gg": gen_gg,
    "gg_corner": partial(gen_gg, corner_fraction=GG_CORNER_FRACTION),
    "ee_wide": partial(gen_ee, isr_wide_fraction=EE_WIDE_ISR_FRACTION, coherent=True),
    "eemumu": gen_eemumu,
    "eemumu_corner": gen_eemumu_corner,
    "eeee": gen_eeee,
    "eetautau": gen_eetautau,
    "mumumumu": gen_mumumumu,
    "mumutautau": gen_mumutautau,
    "uu": gen_uu,
    "dd": gen_dd,
    "ss": gen_ss,
    "cc": gen_cc,
    "gnunu": gen_gnunu,
}

# Cross sections not in constants.XSEC_NB, for the generators' default parameters [fb].
XSEC_FB: dict[str, float] = {
    "gnunu": gnunu_xsec_fb(GNUNU_DEFAULTS["emin_cms"], GNUNU_DEFAULTS["cos_range"]),
    "tautau_mu": C.XSEC_NB["tautau"] * 1.0e6,  # the same process, only sampled differently
    "gg_corner": C.XSEC_NB["gg"] * 1.0e6,  # the same process, only sampled differently
    "eemumu_corner": C.XSEC_NB["eemumu"] * 1.0e6,  # the same process, only sampled differently
    "ee_wide": C.XSEC_NB["ee"] * 1.0e6,
}

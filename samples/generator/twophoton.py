"""Two-photon processes e+e- -> e+e- f fbar (f = mu, e, tau) in the equivalent-photon approximation.

Model:
* each beam lepton radiates a quasi-real photon with energy fraction x and virtuality
  Q^2 from the Weizsacker-Williams spectrum (Budnev et al., Phys. Rep. 15 (1975) 181, Eq. 6.17a):
  dn = alpha/(pi x) [ (1 - x + x^2/2)/Q^2 - (1 - x) Q2min/Q^4 ] dx dQ^2,
  Q2min = m_e^2 x^2/(1 - x), Q2max = W^2 (the pair mass: beyond it the gamma* gamma* -> ff
  cross section is suppressed);
* gamma gamma -> f fbar with the Breit-Wheeler cross section
  sigma(W) = 4 pi alpha^2/W^2 [ (1 + 4m^2/W^2 - 8m^4/W^4) ln((1+b)/(1-b)) - b (1 + 4m^2/W^2) ]
  and its angular distribution [1 + 2b^2 sin^2 - b^4 - b^4 sin^4]/(1 - b^2 cos^2)^2 in the
  pair frame (axis: z);
* the spectators keep E (1 - x) at the scattering angle fixed by Q^2 (mostly < 1 deg:
  they escape down the beam pipe); the pair takes the exact four-momentum balance,
  so its transverse momentum is that of the two photons (small) and it is boosted
  along z by x1 != x2.
Sampling: tau = x1 x2 from 1/tau^2, y = ln(x1/x2)/2 uniform, weight f(x1) f(x2) sigma(W)
tau^2 |ln tau| by hit-or-miss (the maximum is found once per configuration on a pilot sample).
Events whose exact pair mass is below W_min are redrawn (the sample definition W > W_min).

Corner sampling (``eemumu_corner``, :class:`CornerBias`): the Z' -> invisible and dark Higgsstrahlung
searches keep e e mu mu only where both electrons are lost down the beam pipe and the recoil against the
muons (the spectator pair) points into the barrel: the two photons carry similar energies (y = ln(x1/x2)/2
near 0 in the CMS, a little positive for the lab boost), at least one photon has a virtuality large enough
to give the recoil p_T* > 0.1 GeV, and W is ~0.8-7 GeV for recoil masses up to 9 GeV. tau, y and the
(Q1^2, Q2^2) pair are each drawn from a mixture of its unbiased density p and a corner density r,
q = (1 - f) p + f r, and each event carries the product of p/q (at most 1/(1 - f)^3). (One mixture over the
joint corner, weights <= 1/(1 - f), was worse: the passing events outside it took the large weights.) The
hit-or-miss on the flux x cross section and the W_min redraw act on
the biased proposals as on the unbiased ones, so the weighted density equals the unbiased one in every
variable; only the overall normalisation of the p/q product changes (the redraw's acceptance differs), and
it is fixed by dividing by the mean over the generated events (each generator call): weights average to
1, as the catalog's weight formula needs, with the cross section unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from samples import constants as C
from samples.generator import lorentz as L
from samples.generator.phasespace import breit_wheeler_weight, collinear_pair_cos
from samples.generator.slots import SlotEvents
from samples.generator.tau import TAU_CTAU_CM, decay_taus
from samples.generator.truth import TruthEvents

ALPHA = C.ALPHA_EM
W_MIN_DEFAULT = 0.5  # [GeV], the Physics Book's definition for ee mu mu and ee ee


def breit_wheeler_xsec(W: np.ndarray, m: float) -> np.ndarray:
    """sigma(gamma gamma -> f fbar) [GeV^-2] for unit charge."""
    W2 = W * W
    a = 4.0 * m * m / W2
    b = np.sqrt(np.clip(1.0 - a, 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        lg = np.where(b > 0, np.log((1.0 + b) / np.maximum(1.0 - b, 1e-300)), 0.0)
    return np.where(b > 0, 4.0 * np.pi * ALPHA**2 / W2 * ((1.0 + a - 0.5 * a * a) * lg - b * (1.0 + a)), 0.0)


def epa_flux(x: np.ndarray, q2max: np.ndarray) -> np.ndarray:
    """Q^2-integrated photon flux x-density (Budnev Eq. 6.17a integrated), clipped at 0."""
    q2min = C.M_E**2 * x * x / (1.0 - x)
    lg = np.log(np.maximum(q2max / q2min, 1.0))
    return np.maximum(ALPHA / (np.pi * x) * ((1.0 - x + 0.5 * x * x) * lg - (1.0 - x) * (1.0 - q2min / q2max)), 0.0)


def _propose(rng: np.random.Generator, k: int, s: float, w_min: float, m: float) -> tuple[np.ndarray, ...]:
    tau_min = max(w_min, 2.0 * m) ** 2 / s
    tau = tau_min / (1.0 - rng.random(k) * (1.0 - tau_min))
    lt = -np.log(tau)
    y = (rng.random(k) - 0.5) * lt
    x1 = np.sqrt(tau) * np.exp(y)
    x2 = np.sqrt(tau) * np.exp(-y)
    W = np.sqrt(tau * s)
    good = (x1 < 0.999) & (x2 < 0.999)  # the spectator keeps > 5 MeV
    x1 = np.where(good, x1, 0.5)
    x2 = np.where(good, x2, 0.5)
    w = epa_flux(x1, W * W) * epa_flux(x2, W * W) * breit_wheeler_xsec(W, m) * tau * tau * lt
    return x1, x2, W, np.where(good, w, 0.0)


@dataclass(frozen=True)
class CornerBias:
    """The corner densities r of tau, y and one photon's Q^2, and how often each is drawn (f: weights are at
    most 1/(1 - f)^3 before normalising)."""

    f: float = 0.6
    w_range: tuple[float, float] = (0.8, 10.6)  # [GeV] r(tau) ~ 1/tau (log-uniform in W) on this W range
    y_range: tuple[float, float] = (-0.25, 1.5)  # r(y) uniform here (CMS, e- along +z)
    q2_min: float = 0.05  # [GeV^2] r(Q^2) ~ 1/Q^2 from here to Q2max (spectator p_T >~ 0.2 GeV) ...
    first: float = 0.5  # ... for the e- side's photon with this probability, else the e+ side's


# The e e mu mu corner of the two-muon + recoil searches: of the unbiased events that pass the Z' -> invisible
# filter, 96 % have y in (-0.5, 1.5), 91 % a spectator with p_T > 0.1 GeV, and at recoil masses of 5.5-8.4
# GeV the pair mass W is 0.5-3.5 GeV (1M-event probes, 2026-12-04).
EEMUMU_CORNER = CornerBias()


def _propose_corner(
    rng: np.random.Generator, k: int, s: float, w_min: float, m: float, bias: CornerBias
) -> tuple[np.ndarray, ...]:
    """As _propose, with tau and y each drawn from its r with probability f; also returns p/q of (tau, y)
    (a variable whose corner interval is empty at this tau is drawn from p)."""
    tau_min = max(w_min, 2.0 * m) ** 2 / s
    a, b = max(bias.w_range[0] ** 2 / s, tau_min), min(bias.w_range[1] ** 2 / s, 1.0)
    pick, pick_y = rng.random(k) < bias.f, rng.random(k) < bias.f
    u = rng.random(k)
    tau = np.where(pick, a * (b / a) ** u, tau_min / (1.0 - u * (1.0 - tau_min)))
    p_t = tau_min / (1.0 - tau_min) / (tau * tau)
    r_t = np.where((tau >= a) & (tau <= b), 1.0 / (tau * np.log(b / a)), 0.0)
    lt = -np.log(tau)
    v = rng.random(k)
    lo, hi = np.maximum(bias.y_range[0], -0.5 * lt), np.minimum(bias.y_range[1], 0.5 * lt)
    has = hi > lo  # the corner interval inside this tau's rapidity range
    y = np.where(pick_y & has, lo + v * (hi - lo), (v - 0.5) * lt)
    r_y = np.where((y >= lo) & (y <= hi), lt / np.where(has, hi - lo, 1.0), 0.0)  # r(y) / p(y), p = 1/lt
    f = bias.f
    ratio = 1.0 / ((1.0 - f) + f * r_t / p_t) / np.where(has, (1.0 - f) + f * r_y, 1.0)
    x1 = np.sqrt(tau) * np.exp(y)
    x2 = np.sqrt(tau) * np.exp(-y)
    W = np.sqrt(tau * s)
    good = (x1 < 0.999) & (x2 < 0.999)
    x1 = np.where(good, x1, 0.5)
    x2 = np.where(good, x2, 0.5)
    w = epa_flux(x1, W * W) * epa_flux(x2, W * W) * breit_wheeler_xsec(W, m) * tau * tau * lt
    return x1, x2, W, np.where(good, w, 0.0), ratio


@lru_cache(maxsize=16)
def _w_max(w_min: float, m: float) -> float:
    rng = np.random.default_rng(12345)
    *_, w = _propose(rng, 400_000, C.SQRT_S_NOMINAL**2, w_min, m)
    return 1.3 * float(w.max())


@lru_cache(maxsize=16)
def _w_max_corner(w_min: float, m: float, bias: CornerBias) -> float:
    """The hit-or-miss bound over both the unbiased and the corner proposals."""
    *_, w, _ = _propose_corner(np.random.default_rng(12346), 400_000, C.SQRT_S_NOMINAL**2, w_min, m, bias)
    return max(_w_max(w_min, m), 1.3 * float(w.max()))


def _q2(rng: np.random.Generator, x: np.ndarray, q2max: np.ndarray) -> np.ndarray:
    """Q^2 from the Budnev integrand at fixed x: dQ^2/Q^2 proposal, hit-or-miss on the Q2min/Q^4 term."""
    n = x.shape[0]
    out = np.empty(n)
    todo = np.arange(n)
    while todo.size:
        xx = x[todo]
        q2min = C.M_E**2 * xx * xx / (1.0 - xx)
        qmax = np.maximum(q2max[todo], q2min * 1.0000001)
        q2 = q2min * (qmax / q2min) ** rng.random(todo.size)
        w = 1.0 - (1.0 - xx) * q2min / ((1.0 - xx + 0.5 * xx * xx) * q2)
        ok = rng.random(todo.size) < w
        out[todo[ok]] = q2[ok]
        todo = todo[~ok]
    return out


def _budnev_q2(x: np.ndarray, q2: np.ndarray, q2max: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The exact conditional density p(Q^2 | x) that _q2 draws, normalised analytically:
    (1/Q^2 - c Q2min/Q^4) / (ln(Q2max/Q2min) - c (1 - Q2min/Q2max)), c = (1 - x)/(1 - x + x^2/2);
    also Q2min and the Q2max _q2 uses."""
    q2min = C.M_E**2 * x * x / (1.0 - x)
    qmax = np.maximum(q2max, q2min * 1.0000001)
    c = (1.0 - x) / (1.0 - x + 0.5 * x * x)
    p = (1.0 / q2 - c * q2min / (q2 * q2)) / (np.log(qmax / q2min) - c * (1.0 - q2min / qmax))
    return p, q2min, qmax


def _q2_pair_corner(
    rng: np.random.Generator, x1: np.ndarray, x2: np.ndarray, q2max: np.ndarray, bias: CornerBias
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Q1^2, Q2^2): with probability f one of the two photons (the e- side's with probability ``first``) takes
    r ~ 1/Q^2 on [q2_min, Q2max] and the other keeps the exact Budnev density (the search needs one hard
    spectator, not two); else both are Budnev. Returns Q1^2, Q2^2 and p/q of the pair, q/p = (1 - f) +
    f (first r1/p1 + (1 - first) r2/p2)."""
    n = x1.shape[0]
    pick = rng.random(n) < bias.f
    qa, qb = _q2(rng, x1, q2max), _q2(rng, x2, q2max)
    one = rng.random(n) < bias.first
    v = rng.random(n)
    out, rel = [], []
    for x, q, mine in ((x1, qa, pick & one), (x2, qb, pick & ~one)):
        _, q2min, qmax = _budnev_q2(x, q, q2max)
        lo = np.maximum(bias.q2_min, q2min)
        has = qmax > lo
        lr = np.log(np.where(has, qmax / lo, 2.0))
        qq = np.where(mine & has, lo * np.exp(v * lr), q)
        p, *_ = _budnev_q2(x, qq, q2max)
        r = np.where(has & (qq >= lo), 1.0 / (qq * lr), 0.0)
        out.append(qq)
        rel.append(np.where(has, r / p, 1.0))  # drawn from p where the corner is empty
    rel_q = bias.first * rel[0] + (1.0 - bias.first) * rel[1]
    return out[0], out[1], 1.0 / ((1.0 - bias.f) + bias.f * rel_q)


def _spectator(rng: np.random.Generator, E: np.ndarray, x: np.ndarray, q2: np.ndarray, sign: float) -> np.ndarray:
    """Scattered beam lepton (energy E(1-x), Q^2 = -(p - p')^2); sign +1: e- along +z, -1: e+ along -z."""
    m = C.M_E
    Ep = E * (1.0 - x)
    p = np.sqrt(E * E - m * m)
    pp = np.sqrt(np.maximum(Ep * Ep - m * m, 0.0))
    # 1 - cos(theta) = (Q^2/2 + m^2 - (E E' - p p'))/(p p'), E E' - p p' written without cancellation
    eemp = m * m * (E * E + Ep * Ep - m * m) / (E * Ep + p * pp)
    omc = np.clip((0.5 * q2 + m * m - eemp) / (p * pp), 0.0, 2.0)
    st = np.sqrt(omc * (2.0 - omc))
    phi = rng.uniform(0.0, 2.0 * np.pi, x.shape[0])
    v = np.empty((x.shape[0], 4))
    v[:, 0] = pp * st * np.cos(phi)
    v[:, 1] = pp * st * np.sin(phi)
    v[:, 2] = sign * pp * (1.0 - omc)
    v[:, 3] = Ep
    return v


def two_photon_pair(
    rng: np.random.Generator,
    sqrt_s: np.ndarray,
    m_f: float,
    w_min: float = W_MIN_DEFAULT,
    bias: CornerBias | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """e-', e+', f, fbar (n, 4) in the CMS for e+e- -> e+e- f fbar with W(f fbar) > w_min, and the
    event weights (1 without ``bias``; with it, p/q normalised to mean 1: see the module docstring)."""
    n = sqrt_s.shape[0]
    s_nom = C.SQRT_S_NOMINAL**2
    wmax = _w_max(float(w_min), float(m_f)) if bias is None else _w_max_corner(float(w_min), float(m_f), bias)
    em, ep, X = np.empty((n, 4)), np.empty((n, 4)), np.empty((n, 4))
    weight = np.ones(n)
    todo = np.arange(n)
    while todo.size:
        k = todo.size
        if bias is None:  # the unbiased path draws its random numbers exactly as before
            x1, x2, W, w = _propose(rng, k, s_nom, w_min, m_f)
            ok = rng.random(k) * wmax < w
            q1 = _q2(rng, x1, W * W)
            q2 = _q2(rng, x2, W * W)
            ratio = None
        else:
            x1, x2, W, w, ratio = _propose_corner(rng, k, s_nom, w_min, m_f, bias)
            ok = rng.random(k) * wmax < w
            q1, q2, ratio_q = _q2_pair_corner(rng, x1, x2, W * W, bias)
            ratio = ratio * ratio_q  # p/q with q = prod over tau, y, Q^2 of ((1 - f) p + f r)
        E = 0.5 * sqrt_s[todo]
        a = _spectator(rng, E, x1, q1, +1.0)
        b = _spectator(rng, E, x2, q2, -1.0)
        Xk = -(a + b)
        Xk[:, 3] += 2.0 * E
        ok &= L.mass2(Xk) > max(w_min, 2.0 * m_f) ** 2
        sel = todo[ok]
        em[sel], ep[sel], X[sel] = a[ok], b[ok], Xk[ok]
        if ratio is not None:
            weight[sel] = ratio[ok]
        todo = todo[~ok]
    if bias is not None:
        weight /= weight.mean()
    WX = L.mass(X)
    omb = (4.0 * m_f**2 / WX**2) / (1.0 + np.sqrt(1.0 - 4.0 * m_f**2 / WX**2))
    c, om, op = collinear_pair_cos(rng, n, omb, breit_wheeler_weight)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    st = np.sqrt(om * op)
    pf = L.two_body_momentum(WX, m_f, m_f)
    f = np.empty((n, 4))
    f[:, 0] = pf * st * np.cos(phi)
    f[:, 1] = pf * st * np.sin(phi)
    f[:, 2] = pf * c
    f[:, 3] = 0.5 * WX
    fb = -f
    fb[:, 3] = 0.5 * WX
    return em, ep, L.boost_from_rest_of(f, X), L.boost_from_rest_of(fb, X), weight


def _build(
    n: int,
    rng: np.random.Generator,
    sqrt_s: np.ndarray,
    pdg_f: int,
    m_f: float,
    w_min: float,
    bias: CornerBias | None = None,
) -> TruthEvents:
    sqrt_s = np.asarray(sqrt_s, dtype=np.float64)
    if w_min < 0:
        raise ValueError(f"two-photon generator: w_min={w_min} must be >= 0 GeV")
    em, ep, f, fb, weight = two_photon_pair(rng, sqrt_s, m_f, w_min, bias)
    ev = SlotEvents(n)
    ev.add(11, em)
    ev.add(-11, ep)
    is_tau = abs(pdg_f) == 15
    ctau = TAU_CTAU_CM if is_tau else 0.0
    i_f = ev.add(pdg_f, f, final=not is_tau, ctau=ctau)
    i_fb = ev.add(-pdg_f, fb, final=not is_tau, ctau=ctau)
    if is_tau:
        ev.add_block(decay_taus(rng, f, -1), parent=i_f)
        ev.add_block(decay_taus(rng, fb, +1), parent=i_fb)
    return ev.build({"weight": weight})


def gen_eemumu(n: int, rng: np.random.Generator, sqrt_s: np.ndarray, w_min: float = W_MIN_DEFAULT) -> TruthEvents:
    """e+e- -> e+e- mu+mu- (two-photon), W(mu mu) > w_min."""
    return _build(n, rng, sqrt_s, 13, C.M_MU, w_min)


def gen_eemumu_corner(
    n: int, rng: np.random.Generator, sqrt_s: np.ndarray, w_min: float = W_MIN_DEFAULT
) -> TruthEvents:
    """e+e- -> e+e- mu+mu-, W(mu mu) > w_min, sampled toward the lost-electrons barrel-recoil corner
    (EEMUMU_CORNER) with weights: the same process and cross section as eemumu."""
    return _build(n, rng, sqrt_s, 13, C.M_MU, w_min, EEMUMU_CORNER)


def gen_eeee(n: int, rng: np.random.Generator, sqrt_s: np.ndarray, w_min: float = W_MIN_DEFAULT) -> TruthEvents:
    """e+e- -> e+e- e+e- (two-photon), W(produced pair) > w_min; spectators listed first."""
    return _build(n, rng, sqrt_s, 11, C.M_E, w_min)


def gen_eetautau(n: int, rng: np.random.Generator, sqrt_s: np.ndarray, w_min: float = 0.0) -> TruthEvents:
    """e+e- -> e+e- tau+tau- (two-photon), taus decayed by tau.py."""
    return _build(n, rng, sqrt_s, 15, C.M_TAU, w_min)


def epa_xsec_nb(m_f: float, w_min: float = W_MIN_DEFAULT, n: int = 1_000_000, seed: int = 1) -> float:
    """sigma(e+e- -> e+e- f fbar, W > w_min) [nb] in this EPA model (MC integral of the sampling weight).

    A cross-check of the model against the Physics Book table, not used for the
    normalisation (the registry takes constants.XSEC_NB). Estimates at 10.58 GeV:
    ee mu mu ~ 22 nb (table 18.9), ee ee ~ 95 nb (table 39.7), ee tau tau ~ 0.019 nb
    (table 0.0185, see constants.XSEC_NB): the EPA with Q2max = W^2 is good to ~15 % for muons only.
    """
    s = C.SQRT_S_NOMINAL**2
    tau_min = max(w_min, 2.0 * m_f) ** 2 / s
    *_, w = _propose(np.random.default_rng(seed), n, s, w_min, m_f)
    return float(w.mean() * (1.0 - tau_min) / tau_min * C.GEV2_TO_FB * 1e-6)

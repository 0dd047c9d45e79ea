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
"""

from __future__ import annotations

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


@lru_cache(maxsize=16)
def _w_max(w_min: float, m: float) -> float:
    rng = np.random.default_rng(12345)
    *_, w = _propose(rng, 400_000, C.SQRT_S_NOMINAL**2, w_min, m)
    return 1.3 * float(w.max())


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
    rng: np.random.Generator, sqrt_s: np.ndarray, m_f: float, w_min: float = W_MIN_DEFAULT
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """e-', e+', f, fbar (n, 4) in the CMS for e+e- -> e+e- f fbar with W(f fbar) > w_min."""
    n = sqrt_s.shape[0]
    s_nom = C.SQRT_S_NOMINAL**2
    wmax = _w_max(float(w_min), float(m_f))
    em, ep, X = np.empty((n, 4)), np.empty((n, 4)), np.empty((n, 4))
    todo = np.arange(n)
    while todo.size:
        k = todo.size
        x1, x2, W, w = _propose(rng, k, s_nom, w_min, m_f)
        ok = rng.random(k) * wmax < w
        E = 0.5 * sqrt_s[todo]
        q1 = _q2(rng, x1, W * W)
        q2 = _q2(rng, x2, W * W)
        a = _spectator(rng, E, x1, q1, +1.0)
        b = _spectator(rng, E, x2, q2, -1.0)
        Xk = -(a + b)
        Xk[:, 3] += 2.0 * E
        ok &= L.mass2(Xk) > max(w_min, 2.0 * m_f) ** 2
        sel = todo[ok]
        em[sel], ep[sel], X[sel] = a[ok], b[ok], Xk[ok]
        todo = todo[~ok]
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
    return em, ep, L.boost_from_rest_of(f, X), L.boost_from_rest_of(fb, X)


def _build(n: int, rng: np.random.Generator, sqrt_s: np.ndarray, pdg_f: int, m_f: float, w_min: float) -> TruthEvents:
    sqrt_s = np.asarray(sqrt_s, dtype=np.float64)
    if w_min < 0:
        raise ValueError(f"two-photon generator: w_min={w_min} must be >= 0 GeV")
    em, ep, f, fb = two_photon_pair(rng, sqrt_s, m_f, w_min)
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
    return ev.build({"weight": np.ones(n)})


def gen_eemumu(n: int, rng: np.random.Generator, sqrt_s: np.ndarray, w_min: float = W_MIN_DEFAULT) -> TruthEvents:
    """e+e- -> e+e- mu+mu- (two-photon), W(mu mu) > w_min."""
    return _build(n, rng, sqrt_s, 13, C.M_MU, w_min)


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

"""e+e- -> f fbar (gamma) with ISR and FSR photons: the engine of mumu, tautau, ee, gg (and q qbar axes).

Model (a fast simulation, leading-log accuracy):

* ISR: at most one hard photon, energy fraction x = 2k/sqrt(s) from the Kuraev-Fadin
  LL structure function times sigma0(s')/sigma0(s) (the radiative-return rise);
  polar angle from the eikonal factor of the beams (collinear peaks ~ 1/(1 - b_e^2 cos^2)
  with the electron-mass dead cone). Below ``kmin`` the photon is soft: not emitted
  (its energy stays in the pair), the standard soft-photon treatment.
* The pair is produced in its rest frame (mass sqrt(s') = sqrt(s (1 - x)), exact
  recoil against the ISR photon) with the process's angular distribution w.r.t. z.
* FSR: at most one photon off the final-state pair, LL spectrum with the
  fermion's beta = 2 alpha/pi (ln(s'/m_f^2) - 1), angle to the emitter from the
  eikonal factor with the fermion velocity (dead cone m/E). The three-body final
  state is built exactly: emitter+photon form a system X of mass m* that recoils
  against the other fermion, then X -> emitter + gamma.

Four-momentum is conserved exactly by construction (checked in the tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from samples.constants import M_E, SQRT_S_NOMINAL
from samples.generator import lorentz as L
from samples.generator.phasespace import (
    TabulatedSampler,
    eikonal_cos,
    fsr_fraction,
    isr_sampler,
    radiator_beta,
    rotate_to,
)

# Photons softer than this [GeV] (in the CMS for ISR, the pair frame for FSR) are
# not emitted: far below the ECL cluster threshold (20 MeV), they only cost time.
KMIN_DEFAULT = 0.005
WIDE_ISR_COS = 0.95  # |cos theta*| range of widened ISR photons (sample_isr; the ECL fiducial regions lie inside)

CosSampler = Callable[[np.random.Generator, int], np.ndarray]


@dataclass
class RadiativePair:
    """Four-vectors (n, 4) in the CMS; photons are zero vectors where ``has_*`` is False."""

    f: np.ndarray
    fbar: np.ndarray
    isr: np.ndarray
    fsr: np.ndarray
    has_isr: np.ndarray
    has_fsr: np.ndarray
    sqrt_s_pair: np.ndarray  # sqrt(s') after ISR
    weight: np.ndarray | None = None  # importance weight of a biased ISR angle (None: all 1)


def sigma_ratio_pointlike(m_f: float, s: float = SQRT_S_NOMINAL**2) -> Callable[[np.ndarray], np.ndarray]:
    """sigma0(s(1-x))/sigma0(s) for e+e- -> f fbar via a photon: (s/s') * b(3 - b^2)/2 threshold factor."""

    def thr(sp: np.ndarray) -> np.ndarray:
        b2 = np.clip(1.0 - 4.0 * m_f**2 / sp, 0.0, None)
        b = np.sqrt(b2)
        return b * (3.0 - b2) / 2.0

    def ratio(x: np.ndarray) -> np.ndarray:
        sp = s * (1.0 - x)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(sp > 4.0 * m_f**2, (s / sp) * thr(sp) / thr(np.asarray(s)), 0.0)
        return r

    return ratio


@lru_cache(maxsize=32)
def _isr_table(key: str, m_f: float, sqrt_s_min: float) -> tuple[TabulatedSampler, float, float]:
    s = SQRT_S_NOMINAL**2
    x_max = 1.0 - sqrt_s_min**2 / s
    if key == "pointlike":
        ratio = sigma_ratio_pointlike(m_f)
    else:  # "1/s": massless processes with a fixed angular range (Bhabha, gamma gamma)

        def ratio(x: np.ndarray) -> np.ndarray:
            return 1.0 / (1.0 - x)

    sampler, beta = isr_sampler(s, x_max, ratio, M_E)
    return sampler, beta, x_max


def sample_isr(
    rng: np.random.Generator,
    sqrt_s: np.ndarray,
    m_f: float,
    sqrt_s_min: float,
    kmin: float = KMIN_DEFAULT,
    xsec_shape: str = "pointlike",
    wide_fraction: float = 0.0,
    wide_cos: float = WIDE_ISR_COS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ISR photon four-vectors (n, 4) in the CMS, the has-photon mask and the event weights.

    ``wide_fraction`` > 0 draws that share of the emitted photons uniformly in |cos| < ``wide_cos``
    instead of from the eikonal factor, and weights them by p_eikonal / p_drawn (mean weight 1): more
    wide-angle photons (the ones a mono-photon search sees) for the same physics."""
    n = sqrt_s.shape[0]
    sampler, beta, _ = _isr_table(xsec_shape, float(m_f), float(sqrt_s_min))
    x = sampler.sample(rng, n) ** (1.0 / beta)
    # x comes from the nominal-energy table; keep s' >= sqrt_s_min^2 for this event's sqrt(s)
    k = np.minimum(0.5 * x * sqrt_s, (sqrt_s**2 - sqrt_s_min**2) / (2.0 * sqrt_s))
    has = k > kmin
    k = np.where(has, k, 0.0)
    # angles only for the emitted photons
    h = np.flatnonzero(has)
    kh = k[h]
    omb = (2.0 * M_E / sqrt_s[h]) ** 2 / 2.0  # 1 - b of the beams, ~ 5e-9
    c, om, op = eikonal_cos(rng, h.size, omb)
    weight = np.ones(n)
    if wide_fraction > 0.0:
        c, om, op, weight[h] = _widen(rng, c, om, op, omb, wide_fraction, wide_cos)
    st = np.sqrt(om * op)
    phi = rng.uniform(0.0, 2.0 * np.pi, h.size)
    isr = np.zeros((n, 4))
    isr[h, 0] = kh * st * np.cos(phi)
    isr[h, 1] = kh * st * np.sin(phi)
    isr[h, 2] = kh * c
    isr[h, 3] = kh
    return isr, has, weight


def _widen(
    rng: np.random.Generator, c: np.ndarray, om: np.ndarray, op: np.ndarray, omb: np.ndarray, f: float, cw: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Replace a share ``f`` of the eikonal angles by uniform ones in |c| < cw; weights p_eik / p_mix.
    p_eik(c) = F(c) / N, F = 2(1+b^2)/(1-b^2c^2) - (1-b^2)[1/(1-bc)^2 + 1/(1+bc)^2] (the eikonal factor of
    phasespace.eikonal_weight), N = int_{-1}^{1} F = 2(1+b^2)/b ln((1+b)/(1-b)) - 4."""
    if not 0.0 < f < 1.0 or not 0.0 < cw < 1.0:
        raise ValueError(f"ISR widening: fraction {f} and cos range {cw} must lie in (0, 1)")
    k = c.size
    u = rng.random(k) < f
    cu = rng.uniform(-cw, cw, int(u.sum()))
    c, om, op = c.copy(), om.copy(), op.copy()
    c[u], om[u], op[u] = cu, 1.0 - cu, 1.0 + cu
    b = 1.0 - omb
    omb2 = omb * (2.0 - omb)  # 1 - b^2
    d_m, d_p = omb + b * om, omb + b * op  # 1 - b c, 1 + b c
    F = 2.0 * (1.0 + b * b) / (d_m * d_p) - omb2 / d_m**2 - omb2 / d_p**2
    N = 2.0 * (1.0 + b * b) / b * np.log((2.0 - omb) / omb) - 4.0
    p_eik = F / N
    p_mix = (1.0 - f) * p_eik + f * (np.abs(c) < cw) / (2.0 * cw)
    return c, om, op, p_eik / p_mix


def fsr_pair_rest(
    rng: np.random.Generator,
    W: np.ndarray,
    m_f: float,
    cos_sampler: CosSampler,
    fsr: bool = True,
    kmin: float = KMIN_DEFAULT,
    direction: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """f, fbar, FSR photon (n, 4) in the pair rest frame (mass W); photon mask.

    cos_sampler gives the polar angle of f w.r.t. +z (the e- beam direction); ``direction`` = (cos theta,
    phi) of f fixes it instead (the pair of a given decay radiating: signals.radiate_pair).
    """
    n = W.shape[0]
    m = m_f
    k = np.zeros(n)
    cr = np.zeros(n)  # cos(angle photon - emitter), in the W frame
    emit_f = np.ones(n, dtype=bool)
    if fsr:
        beta_f = radiator_beta(W**2, m)
        x_max = np.maximum(1.0 - 4.0 * m * m / W**2, 0.0)
        # emitter velocity before emission: 1 - b, precise
        omb = (2.0 * m / W) ** 2 / (1.0 + np.sqrt(np.maximum(1.0 - (2.0 * m / W) ** 2, 0.0)))
        # Draw (k, angle) jointly; redraw both where the three-body configuration
        # does not exist (only near the k endpoint for massive fermions).
        kk = 0.5 * fsr_fraction(rng, beta_f, x_max) * W
        idx = np.flatnonzero(kk > kmin)  # the others emit nothing (soft photon reabsorbed)
        kk = kk[idx]
        while idx.size:
            c, _, _ = eikonal_cos(rng, idx.size, omb[idx])
            ef = c >= 0.0  # photon nearer f: f emits; else fbar emits at angle pi - theta
            cr_try = np.where(ef, c, -c)
            _, ok = _emitter_energy(W[idx], kk, cr_try, m)
            sel = idx[ok]
            k[sel], cr[sel], emit_f[sel] = kk[ok], cr_try[ok], ef[ok]
            idx = idx[~ok]
            # no three-body configuration (near the k endpoint): redraw k as well
            kk = 0.5 * fsr_fraction(rng, beta_f[idx], x_max[idx]) * W[idx]
            keep = kk > kmin
            idx, kk = idx[keep], kk[keep]
    # Production angle of f w.r.t. +z (e- beam) in the pair frame.
    if direction is None:
        cf = cos_sampler(rng, n)
        sf = np.sqrt(np.maximum(1.0 - cf * cf, 0.0))
        phi = rng.uniform(0.0, 2.0 * np.pi, n)
    else:
        cf, phi = direction
        sf = np.sqrt(np.maximum(1.0 - cf * cf, 0.0))
    # No FSR photon: back-to-back pair (most events; cheap path).
    p = np.sqrt(np.maximum(0.25 * W * W - m * m, 0.0))
    f = np.empty((n, 4))
    f[:, 0] = p * sf * np.cos(phi)
    f[:, 1] = p * sf * np.sin(phi)
    f[:, 2] = p * cf
    f[:, 3] = 0.5 * W
    fbar = -f
    fbar[:, 3] = 0.5 * W
    g = np.zeros((n, 4))
    h = np.flatnonzero(k > 0.0)
    if h.size:
        fh, fbh, gh = _three_body(rng, W[h], k[h], cr[h], emit_f[h], cf[h], sf[h], phi[h], m)
        f[h], fbar[h], g[h] = fh, fbh, gh
    return f, fbar, g, k > 0.0


def _three_body(
    rng: np.random.Generator,
    W: np.ndarray,
    k: np.ndarray,
    cr: np.ndarray,
    emit_f: np.ndarray,
    cf: np.ndarray,
    sf: np.ndarray,
    phi: np.ndarray,
    m: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """f, fbar, photon in the W frame for photon energy k at angle acos(cr) to the emitter."""
    n = W.shape[0]
    Ee, _ = _emitter_energy(W, k, cr, m)
    pe = np.sqrt(np.maximum(Ee * Ee - m * m, 0.0))
    mstar2 = m * m + 2.0 * k * (Ee - pe * cr)
    mstar = np.sqrt(mstar2)
    # W -> X + other with X along +z for now
    pX = L.two_body_momentum(W, mstar, m)
    EX = np.sqrt(pX * pX + mstar2)
    # photon in the X frame: k* = (m*^2 - m^2)/(2 m*); cos* from k = (EX k* + pX k* cos*)/m*
    kst = (mstar2 - m * m) / (2.0 * mstar)
    cst = np.clip((k * mstar / kst - EX) / pX, -1.0, 1.0)
    sst = np.sqrt(1.0 - cst * cst)
    phs = rng.uniform(0.0, 2.0 * np.pi, n)
    g_x = np.empty((n, 4))
    g_x[:, 0] = kst * sst * np.cos(phs)
    g_x[:, 1] = kst * sst * np.sin(phs)
    g_x[:, 2] = kst * cst
    g_x[:, 3] = kst
    e_x = -g_x
    e_x[:, 3] = np.sqrt(kst * kst + m * m)
    bz = np.zeros((n, 3))
    bz[:, 2] = pX / EX
    g_w = L.boost(g_x, bz)
    e_w = L.boost(e_x, bz)
    other = np.zeros((n, 4))
    other[:, 2] = -pX
    other[:, 3] = np.sqrt(pX * pX + m * m)
    # Orient: X along the f direction if f emits, else along -f.
    cX = np.where(emit_f, cf, -cf)
    g_w = rotate_to(g_w, cX, sf, phi)
    e_w = rotate_to(e_w, cX, sf, phi)
    other = rotate_to(other, cX, sf, phi)
    ef = emit_f[:, None]
    return np.where(ef, e_w, other), np.where(ef, other, e_w), g_w


def _emitter_energy(W: np.ndarray, k: np.ndarray, c: np.ndarray, m: float) -> tuple[np.ndarray, np.ndarray]:
    """Energy of the emitter in the W frame given photon energy k and the photon-emitter angle.

    From energy-momentum balance with the recoiling fermion (mass m):
    (W - k) E + k c p = W (W - 2k)/2, p = sqrt(E^2 - m^2)  =>  quadratic in E.
    Returns (E, ok); ok False where no physical solution exists.
    """
    A = W - k
    B = k * c
    D = 0.5 * W * (W - 2.0 * k)
    disc = D * D - (A * A - B * B) * m * m
    E = (A * D - B * np.sqrt(np.maximum(disc, 0.0))) / (A * A - B * B)
    p = np.sqrt(np.maximum(E * E - m * m, 0.0))
    ok = (disc >= 0.0) & (E >= m) & (np.abs(A * E + B * p - D) <= 1e-9 * W * W)
    return E, ok


def radiative_pair(
    rng: np.random.Generator,
    sqrt_s: np.ndarray,
    m_f: float,
    cos_sampler: CosSampler,
    sqrt_s_min: float,
    isr: bool = True,
    fsr: bool = True,
    kmin: float = KMIN_DEFAULT,
    xsec_shape: str = "pointlike",
    isr_wide_fraction: float = 0.0,
) -> RadiativePair:
    """e+e- -> f fbar (gamma_ISR) (gamma_FSR) in the CMS, e- along +z (``isr_wide_fraction``: sample_isr)."""
    n = sqrt_s.shape[0]
    weight = None
    if isr:
        g_isr, has_isr, w = sample_isr(rng, sqrt_s, m_f, sqrt_s_min, kmin, xsec_shape, isr_wide_fraction)
        weight = w if isr_wide_fraction > 0.0 else None
    else:
        g_isr, has_isr = np.zeros((n, 4)), np.zeros(n, dtype=bool)
    # pair system recoiling against the ISR photon
    P = -g_isr
    P[:, 3] = sqrt_s - g_isr[:, 3]
    W = np.sqrt(sqrt_s * (sqrt_s - 2.0 * g_isr[:, 3]))
    f, fbar, g_fsr, has_fsr = fsr_pair_rest(rng, W, m_f, cos_sampler, fsr, kmin)
    # Boost only the events that radiated (P = (0, sqrt_s) otherwise).
    h = np.flatnonzero(has_isr)
    beta = P[h, :3] / P[h, 3:4]
    f[h] = L.boost(f[h], beta)
    fbar[h] = L.boost(fbar[h], beta)
    g_fsr[h] = L.boost(g_fsr[h], beta)
    return RadiativePair(
        f=f,
        fbar=fbar,
        isr=g_isr,
        fsr=g_fsr,
        has_isr=has_isr,
        has_fsr=has_fsr,
        sqrt_s_pair=W,
        weight=weight,
    )

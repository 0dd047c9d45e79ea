"""tau -> (e nu nu, mu nu nu, pi nu, rho nu, a1 nu) decays, vectorised; used by every tau process.

Model (unpolarised taus, no spin correlations between the two taus):

* leptonic: charged-lepton energy from the V-A matrix element integrated over the
  neutrinos (Michel spectrum with the lepton mass, rho = 3/4):
  dG/dE ~ p [ (M^2 + m^2 - 2 M E) M E + 2 (M^2 - M E)(M E - m^2) ];
  direction isotropic; the two neutrinos share the recoil isotropically in their
  rest frame (only their sum is observable).
* pi nu: two-body.
* rho nu: rho mass from a relativistic Breit-Wigner with p-wave running width times the
  tau -> V nu factor (1 - m^2/M^2)^2 (1 + 2 m^2/M^2); rho -> pi pi0 isotropic; pi0 -> gamma gamma.
* 3prong / pi2pi0: a1(1260) Breit-Wigner (constant width) times the same factor and a
  three-pion threshold factor; a1 -> 3 pi flat phase space (lorentz.three_body_phase_space).
Branching fractions: constants.TAU_BR_PDG (PDG 2024) renormalised over these six
modes (together 89.7 %; K modes and 3pi pi0 are not modelled).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numba
import numpy as np

from samples import constants as C
from samples.generator import lorentz as L
from samples.generator.phasespace import TabulatedSampler

TAU_MODES: tuple[str, ...] = ("e", "mu", "pi", "rho", "3prong", "pi2pi0")
_RAW = np.array([C.TAU_BR_PDG[m] for m in TAU_MODES])
TAU_BR: dict[str, float] = {m: float(b) for m, b in zip(TAU_MODES, _RAW / _RAW.sum(), strict=True)}
TAU_CTAU_CM: float = C.TAU_CTAU_CM
N_SLOTS = 9  # pi2pi0: nu, a1, pi, pi0, pi0, 4 gamma

M_TAU = C.M_TAU
_M_PI0 = C.M_PI0
_M_PI = C.M_PI

# PDG codes for a tau- decay, per mode and slot (0 = unused); tau+ gets the charge conjugate.
_PDG = {
    "e": [16, 11, -12],
    "mu": [16, 13, -14],
    "pi": [16, -211],
    "rho": [16, -213, -211, 111, 22, 22],
    "3prong": [16, -20213, -211, -211, 211],
    "pi2pi0": [16, -20213, -211, 111, 111, 22, 22, 22, 22],
}
# mother slot inside the block (-1 = the tau)
_MOTHER = {
    "e": [-1, -1, -1],
    "mu": [-1, -1, -1],
    "pi": [-1, -1],
    "rho": [-1, -1, 1, 1, 3, 3],
    "3prong": [-1, -1, 1, 1, 1],
    "pi2pi0": [-1, -1, 1, 1, 1, 3, 3, 4, 4],
}
_FINAL = {22, 11, 13, 211, 12, 14, 16}


@dataclass
class TauDecays:
    p4: np.ndarray  # (n, N_SLOTS, 4) (px, py, pz, E) in the caller's frame
    pdg: np.ndarray  # (n, N_SLOTS) int32
    mother: np.ndarray  # (n, N_SLOTS) int32; slot inside the block, -1 = the tau
    final: np.ndarray  # (n, N_SLOTS) bool
    valid: np.ndarray  # (n, N_SLOTS) bool
    ctau: np.ndarray  # (n, N_SLOTS) [cm]; all 0 (prompt daughters of the tau)
    mode: np.ndarray  # (n,) int8, index into TAU_MODES


def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    S = N_SLOTS
    nm = len(TAU_MODES)
    pdg = np.zeros((nm, S), np.int32)
    mother = np.full((nm, S), -1, np.int32)
    valid = np.zeros((nm, S), bool)
    for i, m in enumerate(TAU_MODES):
        k = len(_PDG[m])
        pdg[i, :k] = _PDG[m]
        mother[i, :k] = _MOTHER[m]
        valid[i, :k] = True
    final = np.isin(np.abs(pdg), list(_FINAL))
    return pdg, mother, valid, final


_PDG_T, _MOTHER_T, _VALID_T, _FINAL_T = _tables()


@lru_cache(maxsize=4)
def _lepton_energy_sampler(m: float) -> TabulatedSampler:
    M = M_TAU
    e = np.linspace(m, (M * M + m * m) / (2 * M), 4001)
    p = np.sqrt(np.maximum(e * e - m * m, 0.0))
    dens = p * ((M * M + m * m - 2 * M * e) * M * e + 2 * (M * M - M * e) * (M * e - m * m))
    return TabulatedSampler(e, np.maximum(dens, 0.0))


def _tau_vector_factor(mv: np.ndarray) -> np.ndarray:
    r = mv**2 / M_TAU**2
    return (1.0 - r) ** 2 * (1.0 + 2.0 * r)


@lru_cache(maxsize=4)
def _resonance_sampler(kind: str) -> TabulatedSampler:
    if kind == "rho":
        lo = _M_PI + _M_PI0
        m = np.linspace(lo, M_TAU, 4001)
        q = L.two_body_momentum(m, _M_PI, _M_PI0)
        q0 = L.two_body_momentum(C.M_RHO, _M_PI, _M_PI0)
        gam = C.GAMMA_RHO * (q / q0) ** 3 * (C.M_RHO / m)
        bw = m * C.M_RHO * gam / ((m * m - C.M_RHO**2) ** 2 + (C.M_RHO * gam) ** 2)
        dens = bw * _tau_vector_factor(m)
    else:
        lo = 3 * _M_PI if kind == "3prong" else _M_PI + 2 * _M_PI0
        m = np.linspace(lo, M_TAU, 4001)
        bw = m * C.M_A1 * C.GAMMA_A1 / ((m * m - C.M_A1**2) ** 2 + (C.M_A1 * C.GAMMA_A1) ** 2)
        dens = bw * _tau_vector_factor(m) * (1.0 - lo / m) ** 2  # 3-body threshold
    return TabulatedSampler(m, np.nan_to_num(np.maximum(dens, 0.0)))


# ------------------------------------------------------------------ numba kernel
# Every tau is decayed at rest, mode by mode exactly as described in the module
# docstring, then boosted with the tau's velocity: one pass, no per-mode temporaries.
_MODE_E, _MODE_MU, _MODE_PI, _MODE_RHO, _MODE_3PRONG, _MODE_PI2PI0 = range(6)


# Four-vectors are addressed as (array, row, slot) -- a[i, j, 0:4] -- rather than as views:
# a numba view costs a reference-count round trip, which dominated this kernel.
@numba.njit(cache=True, inline="always")
def _boost(a, i, j, bx, by, bz):  # pragma: no cover - numba
    """In place: a particle at rest ends up with velocity (bx, by, bz) (formula of lorentz.boost)."""
    b2 = bx * bx + by * by + bz * bz
    g = 1.0 / math.sqrt(1.0 - b2)
    bp = bx * a[i, j, 0] + by * a[i, j, 1] + bz * a[i, j, 2]
    coef = g * g / (g + 1.0) * bp + g * a[i, j, 3]
    a[i, j, 0] += coef * bx
    a[i, j, 1] += coef * by
    a[i, j, 2] += coef * bz
    a[i, j, 3] = g * (a[i, j, 3] + bp)


@numba.njit(cache=True, inline="always")
def _boost_from_rest_of(a, i, j, p, pi, pj):  # pragma: no cover - numba
    e = p[pi, pj, 3]
    _boost(a, i, j, p[pi, pj, 0] / e, p[pi, pj, 1] / e, p[pi, pj, 2] / e)


@numba.njit(cache=True, inline="always")
def _mass(p, pi, pj):  # pragma: no cover - numba
    m2 = p[pi, pj, 3] ** 2 - p[pi, pj, 0] ** 2 - p[pi, pj, 1] ** 2 - p[pi, pj, 2] ** 2
    return math.sqrt(max(m2, 0.0))


@numba.njit(cache=True, inline="always")
def _set(a, i, j, p, ct, phi, e):  # pragma: no cover - numba
    st = math.sqrt(max(1.0 - ct * ct, 0.0))
    a[i, j, 0] = p * st * math.cos(phi)
    a[i, j, 1] = p * st * math.sin(phi)
    a[i, j, 2] = p * ct
    a[i, j, 3] = e


@numba.njit(cache=True, inline="always")
def _pstar(M, m1, m2):  # pragma: no cover - numba
    """Two-body momentum in the rest frame of M (Kallen function)."""
    lam = (M * M - (m1 + m2) ** 2) * (M * M - (m1 - m2) ** 2)
    return math.sqrt(max(lam, 0.0)) / (2.0 * M)


@numba.njit(cache=True, inline="always")
def _two_body_at_rest(rng, M, m1, m2, a, i, j1, b, k, j2):  # pragma: no cover - numba
    """Isotropic M -> m1 m2 at rest into a[i, j1] and b[k, j2]; the first along the drawn direction."""
    p = _pstar(M, m1, m2)
    ct = rng.uniform(-1.0, 1.0)
    phi = rng.uniform(0.0, 2.0 * math.pi)
    _set(a, i, j1, p, ct, phi, math.sqrt(p * p + m1 * m1))
    _set(b, k, j2, -p, ct, phi, math.sqrt(p * p + m2 * m2))


@numba.njit(cache=True, inline="always")
def _decay_isotropic(rng, p, pi, pj, m1, m2, a, i, j1, j2):  # pragma: no cover - numba
    """Isotropic two-body decay of p[pi, pj] (lorentz.decay_isotropic) into a[i, j1], a[i, j2]."""
    _two_body_at_rest(rng, _mass(p, pi, pj), m1, m2, a, i, j1, a, i, j2)
    _boost_from_rest_of(a, i, j1, p, pi, pj)
    _boost_from_rest_of(a, i, j2, p, pi, pj)


@numba.njit(cache=True, inline="always")
def _tabulated(rng, inv):  # pragma: no cover - numba
    """TabulatedSampler.sample for one value (inverse-CDF table, linear interpolation)."""
    u = rng.random() * (inv.size - 1)
    k = int(u)
    return inv[k] + (u - k) * (inv[k + 1] - inv[k])


@numba.njit(cache=True)
def _three_body(rng, o, t, m1, m2, m3, tmp):  # pragma: no cover - numba
    """a1 in slot 1 -> slots 2, 3, 4: flat Dalitz plot (lorentz.three_body_phase_space, no weight)."""
    M = _mass(o, t, 1)
    while True:
        a = rng.uniform((m1 + m2) ** 2, (M - m3) ** 2)
        b = rng.uniform((m2 + m3) ** 2, (M - m1) ** 2)
        sa = math.sqrt(a)
        e2 = (a - m1 * m1 + m2 * m2) / (2.0 * sa)
        e3 = (M * M - a - m3 * m3) / (2.0 * sa)
        q2 = math.sqrt(max(e2 * e2 - m2 * m2, 0.0))
        q3 = math.sqrt(max(e3 * e3 - m3 * m3, 0.0))
        if (e2 + e3) ** 2 - (q2 + q3) ** 2 <= b <= (e2 + e3) ** 2 - (q2 - q3) ** 2:
            break
    m23 = math.sqrt(b)
    _two_body_at_rest(rng, M, m1, m23, o, t, 2, tmp, 0, 0)
    _two_body_at_rest(rng, m23, m2, m3, o, t, 3, o, t, 4)
    _boost_from_rest_of(o, t, 3, tmp, 0, 0)
    _boost_from_rest_of(o, t, 4, tmp, 0, 0)
    for j in range(2, 5):
        _boost_from_rest_of(o, t, j, o, t, 1)


@numba.njit(cache=True)
def _decay_kernel(rng, tau_p4, mode, inv_e, inv_mu, inv_rho, inv_3prong, inv_pi2pi0, masses, o):
    """Fill o (n, N_SLOTS, 4) with the daughters of every tau, slot order as in _PDG."""
    m_tau, m_e, m_mu, m_pi, m_pi0 = masses[0], masses[1], masses[2], masses[3], masses[4]
    tmp = np.empty((1, 1, 4))
    o[:] = 0.0
    for t in range(mode.size):
        md = mode[t]
        if md == _MODE_E or md == _MODE_MU:
            m = m_e if md == _MODE_E else m_mu
            e = _tabulated(rng, inv_e if md == _MODE_E else inv_mu)
            p = math.sqrt(max(e * e - m * m, 0.0))
            ct = rng.uniform(-1.0, 1.0)
            phi = rng.uniform(0.0, 2.0 * math.pi)
            _set(o, t, 1, p, ct, phi, math.sqrt(p * p + m * m))
            for k in range(3):  # the two neutrinos recoil against the lepton
                tmp[0, 0, k] = -o[t, 1, k]
            tmp[0, 0, 3] = m_tau - e
            _decay_isotropic(rng, tmp, 0, 0, 0.0, 0.0, o, t, 0, 2)
        elif md == _MODE_PI:
            _two_body_at_rest(rng, m_tau, m_pi, 0.0, o, t, 1, o, t, 0)
        elif md == _MODE_RHO:
            mr = _tabulated(rng, inv_rho)
            _two_body_at_rest(rng, m_tau, mr, 0.0, o, t, 1, o, t, 0)
            _decay_isotropic(rng, o, t, 1, m_pi, m_pi0, o, t, 2, 3)
            _decay_isotropic(rng, o, t, 3, 0.0, 0.0, o, t, 4, 5)
        else:
            three = md == _MODE_3PRONG
            ma = _tabulated(rng, inv_3prong if three else inv_pi2pi0)
            _two_body_at_rest(rng, m_tau, ma, 0.0, o, t, 1, o, t, 0)
            m2 = m_pi if three else m_pi0
            _three_body(rng, o, t, m_pi, m2, m2, tmp)
            if not three:
                _decay_isotropic(rng, o, t, 3, 0.0, 0.0, o, t, 5, 6)
                _decay_isotropic(rng, o, t, 4, 0.0, 0.0, o, t, 7, 8)
        e_tau = tau_p4[t, 3]
        bx, by, bz = tau_p4[t, 0] / e_tau, tau_p4[t, 1] / e_tau, tau_p4[t, 2] / e_tau
        for j in range(o.shape[1]):
            if o[t, j, 3] != 0.0:
                _boost(o, t, j, bx, by, bz)


_MASSES = np.array([M_TAU, C.M_E, C.M_MU, _M_PI, _M_PI0])


def _inverse_cdf(sampler: TabulatedSampler) -> np.ndarray:
    return sampler._inv  # the table TabulatedSampler.sample interpolates (same distribution)


def _decay_all(rng: np.random.Generator, tau_p4: np.ndarray, mode: np.ndarray) -> np.ndarray:
    out = np.empty((mode.size, N_SLOTS, 4))
    _decay_kernel(
        rng,
        np.ascontiguousarray(tau_p4),
        mode,
        _inverse_cdf(_lepton_energy_sampler(C.M_E)),
        _inverse_cdf(_lepton_energy_sampler(C.M_MU)),
        _inverse_cdf(_resonance_sampler("rho")),
        _inverse_cdf(_resonance_sampler("3prong")),
        _inverse_cdf(_resonance_sampler("pi2pi0")),
        _MASSES,
        out,
    )
    return out


def decay_taus(
    rng: np.random.Generator,
    tau_p4: np.ndarray,
    charge: np.ndarray,
    modes: Sequence[str] | None = None,
) -> TauDecays:
    """Decay taus with four-momenta ``tau_p4`` (n, 4) and charges +-1; daughters in the same frame."""
    tau_p4 = np.asarray(tau_p4, dtype=np.float64)
    n = tau_p4.shape[0]
    charge = np.broadcast_to(np.asarray(charge), (n,))
    if not np.all(np.abs(charge) == 1):
        raise ValueError("decay_taus: charge must be +1 or -1 for every tau")
    if modes is None:
        br = _RAW
    else:
        unknown = set(modes) - set(TAU_MODES)
        if unknown:
            raise ValueError(f"decay_taus: unknown tau mode(s) {sorted(unknown)}; known: {TAU_MODES}")
        br = np.array([C.TAU_BR_PDG[m] if m in modes else 0.0 for m in TAU_MODES])
    cdf = np.cumsum(br) / br.sum()
    mode = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(TAU_MODES) - 1).astype(np.int8)
    p4 = _decay_all(rng, tau_p4, mode)
    valid = _VALID_T[mode]
    pdg = _PDG_T[mode]
    conj = (charge > 0)[:, None] & (pdg != 22) & (pdg != 111)
    pdg = np.where(conj, -pdg, pdg).astype(np.int32)
    return TauDecays(
        p4=p4,
        pdg=pdg,
        mother=_MOTHER_T[mode],
        final=_FINAL_T[mode],
        valid=valid,
        ctau=np.broadcast_to(0.0, (n, N_SLOTS)),
        mode=mode,
    )

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

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

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


def _at_rest(mass: np.ndarray) -> np.ndarray:
    v = np.zeros((mass.shape[0], 4))
    v[:, 3] = mass
    return v


def _two_body(
    rng: np.random.Generator, M: np.ndarray | float, m1, m2, n: int
) -> tuple[np.ndarray, np.ndarray]:
    ct, phi = L.random_directions(rng, n)
    return L.two_body_decay_rest(np.broadcast_to(np.asarray(M, float), (n,)), m1, m2, ct, phi)


def _pi0_to_gg(rng: np.random.Generator, pi0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return L.decay_isotropic(rng, pi0, 0.0, 0.0)


def _decay_at_rest(rng: np.random.Generator, mode: str, n: int) -> np.ndarray:
    """Daughters (n, k, 4) of taus at rest for one mode, slot order as in _PDG."""
    out = np.zeros((n, len(_PDG[mode]), 4))
    if mode in ("e", "mu"):
        m = C.M_E if mode == "e" else C.M_MU
        e = _lepton_energy_sampler(m).sample(rng, n)
        p = np.sqrt(np.maximum(e * e - m * m, 0.0))
        ct, phi = L.random_directions(rng, n)
        lep = L.from_mass(L.unit_vectors(ct, phi) * p[:, None], m)
        nunu = -lep
        nunu[:, 3] = M_TAU - e
        nu_tau, nu_l = L.decay_isotropic(rng, nunu, 0.0, 0.0)
        out[:, 0], out[:, 1], out[:, 2] = nu_tau, lep, nu_l
    elif mode == "pi":
        pi, nu = _two_body(rng, M_TAU, _M_PI, 0.0, n)
        out[:, 0], out[:, 1] = nu, pi
    elif mode == "rho":
        mr = _resonance_sampler("rho").sample(rng, n)
        rho, nu = _two_body(rng, M_TAU, mr, 0.0, n)
        pi, pi0 = L.decay_isotropic(rng, rho, _M_PI, _M_PI0)
        g1, g2 = _pi0_to_gg(rng, pi0)
        out[:, 0], out[:, 1], out[:, 2], out[:, 3], out[:, 4], out[:, 5] = nu, rho, pi, pi0, g1, g2
    else:
        ma = _resonance_sampler(mode).sample(rng, n)
        a1, nu = _two_body(rng, M_TAU, ma, 0.0, n)
        if mode == "3prong":
            d1, d2, d3 = L.three_body_phase_space(rng, a1, _M_PI, _M_PI, _M_PI)
            out[:, 0], out[:, 1], out[:, 2], out[:, 3], out[:, 4] = nu, a1, d1, d2, d3
        else:
            d1, d2, d3 = L.three_body_phase_space(rng, a1, _M_PI, _M_PI0, _M_PI0)
            g1, g2 = _pi0_to_gg(rng, d2)
            g3, g4 = _pi0_to_gg(rng, d3)
            for s, v in enumerate((nu, a1, d1, d2, d3, g1, g2, g3, g4)):
                out[:, s] = v
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
    # Decay at rest mode by mode, boost each mode's occupied slots with its taus' velocity.
    p4 = np.zeros((n, N_SLOTS, 4))
    beta = tau_p4[:, :3] / tau_p4[:, 3:4]
    for i, name in enumerate(TAU_MODES):
        idx = np.flatnonzero(mode == i)
        if idx.size:
            d = _decay_at_rest(rng, name, idx.size)
            p4[idx, : d.shape[1]] = L.boost(d, beta[idx][:, None, :])
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

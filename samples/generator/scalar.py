"""Spin-0 mediators radiated off a final-state muon: e+e- -> gamma* -> mu+ mu- S (scalar or pseudoscalar vertex);
first the muonphilic dark scalar, e+e- -> mu+ mu- S, S -> mu+ mu-, then (below) the tau tau models.

Model: a CP-even scalar S coupled only to muons, L = g_S S mubar mu (the
muonphilic-scalar reinterpretation of the Z' -> mu mu search, Belle II,
PRD 109, 112015 (2024) [arXiv:2403.02841]). S is radiated off either
final-state muon of e+e- -> gamma* -> mu+ mu-; the scalar analogue of the
L_mu - L_tau Z' generator in samples.generator.signals.

Matrix element (derived here with the trace technique, muon mass m kept,
electrons massless, no ISR, no running alpha). With D_i = s_i - m^2,
s_i = (k_i + q)^2, the amplitude is

    M = (e^2 g_S / s) [vbar(p2) gamma_mu u(p1)] [ubar(k1) Gamma^mu v(k2)],
    Gamma^mu = (k1 + q + m) gamma^mu / D1 + gamma^mu (-k2 - q + m) / D2
             = (q + 2m) gamma^mu / D1 + gamma^mu (2m - q) / D2   (Dirac equation on the outer spinors),

and sum|M|^2 = (e^4 g_S^2 / s^2) L_{mu nu} H^{mu nu} with the muon tensor
H^{mu nu} = Tr[(k1 + m) Gamma^mu (k2 - m) Gammabar^nu] (closed form in
:func:`scalar_muon_tensor`). H is conserved (Q_mu H^{mu nu} = 0, the photon
couples to a conserved current), so averaged over beam orientations
<L H> = (4 s / 3) T with T = -g_{mu nu} H^{mu nu}:

    T = A11 / D1^2 + A22 / D2^2 + 2 A12 / (D1 D2),
    A11 = 8 [(4m^2 - M^2)(k1.k2) + 2 (q.k1)(q.k2) + 8 m^2 (q.k1) + 4 m^2 (q.k2) + 2 m^2 M^2 + 8 m^4],
    A22 = A11 with k1 <-> k2,
    A12 = 16 (q.k1)(q.k2) + 32 m^2 (k1.k2) + 48 m^2 (q.k1 + q.k2) + 8 m^2 M^2 + 64 m^4,
    q.k_i = (D_i - M^2) / 2,  k1.k2 = (s - 2 m^2 + M^2 - D1 - D2) / 2.

Massless limit: (1/sigma_0) d sigma / dx1 dx2 = (alpha_S / 4 pi) x3^2 / ((1 - x1)(1 - x2)),
alpha_S = g_S^2 / 4 pi -- the textbook "scalar gluon" result (e+e- -> q qbar + scalar
gluon, C_F alpha_s -> alpha_S); compare (alpha' / 2 pi)(x1^2 + x2^2) / (...) for the Z'.
No soft singularity: the S spectrum is much harder than the Z' one (tested).

Decay: Gamma(S -> mu mu) = g_S^2 M / (8 pi) beta^3, beta = sqrt(1 - 4 m^2 / M^2)
(sum|M|^2 = 2 g_S^2 M^2 beta^2, two-body phase space beta / (8 pi)). The loop-induced
S -> gamma gamma (through the muon loop, O(alpha^2 g_S^2 / (4 pi)^3) suppressed for
M > 2 m_mu) is neglected, so BF(S -> mu mu) = 1 above threshold; below 2 m_mu the
scalar cannot decay to muons and this module refuses the mass.

Generalised (issue 11) to a coupling structure and a decay channel, one machinery for three models:

* ``parity="scalar"`` (vertex g_mu, the matrix element above) or ``"pseudoscalar"`` (vertex i g_mu gamma5,
  L = i g a lbar gamma5 l). For the pseudoscalar the same reduction gives, with Y^mu = q gamma^mu / D1 -
  gamma^mu q / D2 (gamma5 pslash = -pslash gamma5, Dirac equation on the outer spinors),

      Gamma^mu = gamma5 (k1 + q + m) gamma^mu / D1 + gamma^mu (-k2 - q + m) gamma5 / D2 = gamma5 Y^mu,
      H^{mu nu} = Tr[(k1 + m) Y^mu (k2 + m) Ybar^nu]   (gamma5 moved through: the sign of m flips),
      T = -g_{mu nu} H^{mu nu} = (16 (q.k1)(q.k2) - 8 M^2 (k1.k2) - 16 m^2 M^2)(1/D1^2 + 1/D2^2)
                                 + (32 (q.k1)(q.k2) - 16 m^2 M^2) / (D1 D2),

  which equals the scalar T in the massless limit (chirality) and differs at m, M != 0 (tested against
  helicity amplitudes with gamma5 in tests/scalar_reference.py; the tensor is evaluated from explicit
  Dirac matrices, its current conservation Q_mu H^{mu nu} = 0 is tested).
* decay S -> mu mu (the muonphilic scalar) or S -> tau tau (taus decayed by samples.generator.tau, unpolarised).
* models: the muonphilic scalar (``scalar_mumu``, g_S); the leptophilic scalar (``scalar_tautau``, couplings
  xi m_l / v to e, mu, tau; Batell, Lange, McKeen, Pospelov, Ritz, PRD 95, 075003 (2017) [arXiv:1606.04943],
  its Lagrangian; the model of Belle II PRL 131, 121802); the ALP (``alp_tautau``, i g_a a lbar gamma5 l with equal
  g_a for e, mu, tau and no photon coupling, the ALP of PRL 131, 121802).

Widths: Gamma(S -> l l) = xi^2 m_l^2 M beta_l^3 / (8 pi v^2) (the g_S formula with g = xi m_l / v) plus the
lepton-loop S -> gamma gamma, Gamma = alpha^2 M^3 / (256 pi^3 v^2) |sum_l xi A_1/2(M^2 / 4 m_l^2)|^2
(Djouadi, Phys. Rept. 457 (2008) 1 [hep-ph/0503172], sec. 2.3, H -> gamma gamma, with N_c Q^2 = 1; BF(S -> gamma
gamma) = 3.7e-4 at 3.6 GeV, 1-2e-5 at 5-10 GeV: kept and declared). Gamma(a -> l l) = g_a^2 M beta_l / (8 pi)
(S-wave: sum|M|^2 = 2 g^2 M^2); no a -> gamma gamma (no photon coupling, as the issue's model).

PDG code: S reuses the project's spin-0 dark-mediator code 54 (signals.PDG_DARK_HIGGS;
PDG MC numbering, 51-60 = dark-sector states and mediators). Units: GeV, cm, fb.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Literal

import numpy as np

from samples import constants as C
from samples.generator import lorentz as lz
from samples.generator import matrix_elements as me
from samples.generator import xsec as xs
from samples.generator.slots import SlotEvents
from samples.generator.truth import TruthEvents

FloatLike = float | np.ndarray
Parity = Literal["scalar", "pseudoscalar"]
PARITIES: tuple[str, ...] = ("scalar", "pseudoscalar")

PDG_SCALAR = 54  # = signals.PDG_DARK_HIGGS (not imported: signals imports this module)
DEFAULT_COUPLING = 0.01  # g_S; Gamma ~ 4e-6 GeV at M = 1 GeV (prompt), as the Z' default g' = 0.01
# Lowest accepted mass: 1 MeV above the mu mu threshold (beta^3 -> 0 makes c tau diverge there).
THRESHOLD_MARGIN = 1.0e-3  # [GeV]
M_MIN = 2.0 * C.M_MU + THRESHOLD_MARGIN
M_MIN_TAUTAU = 2.0 * C.M_TAU + THRESHOLD_MARGIN  # the tau tau models: generated above their search channel
DEFAULT_XI = 10.0  # leptophilic scalar: g_mu = xi m_mu / v = 4.3e-3, c tau(M = 4 GeV) = 2.4e-10 cm (prompt)
DEFAULT_G_ALP = 0.01  # ALP g_a, as the default g' = 0.01 of the Z'; c tau(M = 4 GeV) = 5e-10 cm
LEPTON_MASSES: dict[str, float] = {"ee": C.M_E, "mumu": C.M_MU, "tautau": C.M_TAU}


def _check_scalar_mass(
    mass: FloatLike, what: str, sqrt_s: float | None = None, m_min: float = M_MIN, channel: str = "mu mu"
) -> np.ndarray:
    M = np.asarray(mass, dtype=np.float64)
    if np.any(~np.isfinite(M)) or np.any(M <= 0):
        raise ValueError(f"{what}: mass={mass} must be a positive mass in GeV")
    if np.any(M <= m_min):
        raise ValueError(
            f"{what}: mass={mass} GeV is at or below the S -> {channel} threshold + "
            f"{THRESHOLD_MARGIN * 1e3:.0f} MeV = {m_min:.4f} GeV; a scalar that light cannot decay to it "
            "(S -> gamma gamma is not modelled as a search channel)"
        )
    if sqrt_s is not None and np.any(M >= sqrt_s - 2.0 * C.M_MU):
        raise ValueError(
            f"{what}: mass={mass} GeV is not below the kinematic limit sqrt(s) - 2 m_mu = {sqrt_s - 2 * C.M_MU:.4f} GeV"
        )
    return M


def _check_coupling(g: float, what: str) -> float:
    if g is None or not np.isfinite(g) or g < 0:
        raise ValueError(f"{what}: coupling={g} must be a finite number >= 0")
    return float(g)


# --------------------------------------------------------------------------
# width, lifetime, branching fractions
# --------------------------------------------------------------------------
def scalar_width_mumu(mass: FloatLike, g: float = DEFAULT_COUPLING) -> np.ndarray | float:
    """Gamma(S -> mu+ mu-) = g_S^2 M / (8 pi) beta^3 [GeV], beta = sqrt(1 - 4 m_mu^2 / M^2).

    P-wave (beta^3) because a CP-even scalar couples to the 3P0 mu+ mu- state.
    """
    what = "scalar_width_mumu"
    M = _check_scalar_mass(mass, what)
    g = _check_coupling(g, what)
    beta = np.sqrt(1.0 - 4.0 * C.M_MU**2 / M**2)
    out = g * g * M / (8.0 * math.pi) * beta**3
    return float(out) if out.ndim == 0 else out


def scalar_ctau_cm(mass: FloatLike, g: float = DEFAULT_COUPLING) -> np.ndarray | float:
    """Proper decay length c tau = hbar c / Gamma(S -> mu mu) [cm] (the only decay; inf for g = 0)."""
    w = np.asarray(scalar_width_mumu(mass, g))
    with np.errstate(divide="ignore"):
        out = C.HBARC_GEV_CM / w
    return float(out) if out.ndim == 0 else out


def scalar_branching_fractions(mass: FloatLike) -> dict[str, np.ndarray]:
    """BF(S -> mu mu) = 1 above threshold (muon couplings only; S -> gamma gamma loop neglected)."""
    M = _check_scalar_mass(mass, "scalar_branching_fractions")
    return {"mumu": np.ones_like(M), "gammagamma": np.zeros_like(M)}


def _beta(M: np.ndarray, m: float) -> np.ndarray:
    return np.sqrt(np.clip(1.0 - 4.0 * m * m / (M * M), 0.0, None))


def _loop_a_half(tau: np.ndarray) -> np.ndarray:
    """Fermion loop amplitude A_1/2(tau) = 2 [tau + (tau - 1) f(tau)] / tau^2, tau = M^2 / (4 m_f^2)
    (Djouadi, hep-ph/0503172, sec. 2.3); -> 4/3 for a heavy fermion, -> 0 for a light one."""
    tau = np.asarray(tau, dtype=np.float64)
    below = tau <= 1.0
    sq = np.sqrt(np.clip(1.0 - 1.0 / np.where(below, 2.0, tau), 0.0, None))
    f_above = -0.25 * (np.log((1.0 + sq) / (1.0 - sq)) - 1j * math.pi) ** 2
    f_below = np.arcsin(np.sqrt(np.where(below, tau, 0.0))) ** 2
    f = np.where(below, f_below + 0j, f_above)
    return 2.0 * (tau + (tau - 1.0) * f) / (tau * tau)


def leptophilic_widths(mass: FloatLike, xi: float = DEFAULT_XI) -> dict[str, np.ndarray]:
    """Partial widths [GeV] of the leptophilic scalar (couplings xi m_l / v): ee, mumu, tautau, gammagamma."""
    M = np.asarray(mass, dtype=np.float64)
    if np.any(~np.isfinite(M)) or np.any(M <= 0):
        raise ValueError(f"leptophilic_widths: mass={mass} must be a positive mass in GeV")
    xi = _check_coupling(xi, "leptophilic_widths")
    v2 = C.V_HIGGS**2
    out = {ch: xi * xi * m * m * M * _beta(M, m) ** 3 / (8.0 * math.pi * v2) for ch, m in LEPTON_MASSES.items()}
    amp = sum(_loop_a_half(M * M / (4.0 * m * m)) for m in LEPTON_MASSES.values())
    out["gammagamma"] = C.ALPHA_EM**2 * M**3 / (256.0 * math.pi**3 * v2) * xi * xi * np.abs(amp) ** 2
    return out


def alp_widths(mass: FloatLike, g: float = DEFAULT_G_ALP) -> dict[str, np.ndarray]:
    """Partial widths [GeV] of the ALP (i g a lbar gamma5 l, equal g for e, mu, tau; no photon coupling)."""
    M = np.asarray(mass, dtype=np.float64)
    if np.any(~np.isfinite(M)) or np.any(M <= 0):
        raise ValueError(f"alp_widths: mass={mass} must be a positive mass in GeV")
    g = _check_coupling(g, "alp_widths")
    return {ch: g * g * M * _beta(M, m) / (8.0 * math.pi) for ch, m in LEPTON_MASSES.items()}


def _fractions(widths: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    tot = sum(widths.values())
    return {k: np.asarray(w / tot) for k, w in widths.items()}


def leptophilic_branching_fractions(mass: FloatLike) -> dict[str, np.ndarray]:
    """BF of the leptophilic scalar (independent of xi: every width scales as xi^2)."""
    return _fractions(leptophilic_widths(mass, 1.0))


def alp_branching_fractions(mass: FloatLike) -> dict[str, np.ndarray]:
    """BF of the ALP (independent of g_a)."""
    return _fractions(alp_widths(mass, 1.0))


# --------------------------------------------------------------------------
# matrix element
# --------------------------------------------------------------------------
def scalar_trace_dalitz(s: FloatLike, s1: FloatLike, s2: FloatLike, M: float, m: float = C.M_MU) -> np.ndarray:
    """T = -g_{mu nu} H^{mu nu} (couplings stripped) as a function of the Dalitz variables (formula in the
    module docstring). 1/4 sum|M|^2 averaged over beam orientations = e^4 g_S^2 T / (3 s)."""
    s, s1, s2 = (np.asarray(x, dtype=np.float64) for x in (s, s1, s2))
    m2, mm2 = m * m, M * M
    d1, d2 = s1 - m2, s2 - m2
    qk1, qk2 = 0.5 * (d1 - mm2), 0.5 * (d2 - mm2)
    k1k2 = 0.5 * (s - 2.0 * m2 + mm2 - d1 - d2)
    common = (4.0 * m2 - mm2) * k1k2 + 2.0 * qk1 * qk2 + 2.0 * m2 * mm2 + 8.0 * m2 * m2
    a11 = 8.0 * (common + 8.0 * m2 * qk1 + 4.0 * m2 * qk2)
    a22 = 8.0 * (common + 4.0 * m2 * qk1 + 8.0 * m2 * qk2)
    a12 = 16.0 * qk1 * qk2 + 32.0 * m2 * k1k2 + 48.0 * m2 * (qk1 + qk2) + 8.0 * m2 * mm2 + 64.0 * m2 * m2
    return a11 / (d1 * d1) + a22 / (d2 * d2) + 2.0 * a12 / (d1 * d2)


def pseudoscalar_trace_dalitz(s: FloatLike, s1: FloatLike, s2: FloatLike, M: float, m: float = C.M_MU) -> np.ndarray:
    """T = -g_{mu nu} H^{mu nu} for the pseudoscalar vertex i gamma5 (formula in the module docstring)."""
    s, s1, s2 = (np.asarray(x, dtype=np.float64) for x in (s, s1, s2))
    m2, mm2 = m * m, M * M
    d1, d2 = s1 - m2, s2 - m2
    qk1, qk2 = 0.5 * (d1 - mm2), 0.5 * (d2 - mm2)
    k1k2 = 0.5 * (s - 2.0 * m2 + mm2 - d1 - d2)
    diag = 16.0 * qk1 * qk2 - 8.0 * mm2 * k1k2 - 16.0 * m2 * mm2
    return diag * (1.0 / (d1 * d1) + 1.0 / (d2 * d2)) + (32.0 * qk1 * qk2 - 16.0 * m2 * mm2) / (d1 * d2)


def spin0_trace_dalitz(
    s: FloatLike, s1: FloatLike, s2: FloatLike, M: float, m: float = C.M_MU, parity: Parity = "scalar"
) -> np.ndarray:
    """-g_{mu nu} H^{mu nu} for the scalar or the pseudoscalar muon vertex."""
    if parity == "scalar":
        return scalar_trace_dalitz(s, s1, s2, M, m)
    if parity == "pseudoscalar":
        return pseudoscalar_trace_dalitz(s, s1, s2, M, m)
    raise ValueError(f"spin0_trace_dalitz: parity={parity!r}, expected one of {PARITIES}")


def pseudoscalar_muon_tensor(k1: np.ndarray, k2: np.ndarray, q: np.ndarray, m: float = C.M_MU) -> np.ndarray:
    """H^{mu nu} = Tr[(k1 + m) Y^mu (k2 + m) Ybar^nu], Y^mu = q gamma^mu / D1 - gamma^mu q / D2 (the gamma5 vertex
    after the Dirac-equation reduction of the module docstring), from explicit Dirac matrices; real symmetric
    part (the antisymmetric part drops against the symmetric beam tensor), (n, 4, 4) contravariant."""
    m2 = m * m
    d1 = (me.mdot(k1 + q, k1 + q) - m2)[:, None, None, None]
    d2 = (me.mdot(k2 + q, k2 + q) - m2)[:, None, None, None]
    qs = me.slash(q)[:, None]  # (n, 1, 4, 4)
    g = me.GAMMA[None]  # (1, mu, 4, 4)
    y = qs @ g / d1 - g @ qs / d2  # Y^mu
    ybar = g @ qs / d1 - qs @ g / d2  # Ybar^nu = gamma0 Y^nu+ gamma0
    left = (me.slash(k1) + m * me.ID4)[:, None] @ y  # (k1 + m) Y^mu
    right = (me.slash(k2) + m * me.ID4)[:, None] @ ybar  # (k2 + m) Ybar^nu
    h = np.einsum("nmij,nvji->nmv", left, right, optimize=True)
    return np.ascontiguousarray(0.5 * (h.real + np.swapaxes(h.real, 1, 2)))


def spin0_muon_tensor(
    k1: np.ndarray, k2: np.ndarray, q: np.ndarray, m: float = C.M_MU, parity: Parity = "scalar"
) -> np.ndarray:
    if parity == "scalar":
        return scalar_muon_tensor(k1, k2, q, m)
    if parity == "pseudoscalar":
        return pseudoscalar_muon_tensor(k1, k2, q, m)
    raise ValueError(f"spin0_muon_tensor: parity={parity!r}, expected one of {PARITIES}")


def _sym(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a^mu b^nu + b^mu a^nu for (n, 4) contravariant vectors."""
    ab = a[:, :, None] * b[:, None, :]
    return ab + np.swapaxes(ab, 1, 2)


def scalar_muon_tensor(k1: np.ndarray, k2: np.ndarray, q: np.ndarray, m: float = C.M_MU) -> np.ndarray:
    """H^{mu nu} = Tr[(k1 + m) Gamma^mu (k2 - m) Gammabar^nu] for mu-(k1) mu+(k2) S(q), couplings stripped.

    Contravariant, (n, 4, 4) in Minkowski order (E, x, y, z), the convention of
    samples.generator.matrix_elements (so its beam-direction helpers apply). Closed form
    from the traces with the Dirac-equation-reduced vertex of the module docstring
    (S(b, c) = 4 [b c + c b - (b.c) g]):

        H = H11 / D1^2 + H22 / D2^2 + 2 H12 / (D1 D2),
        H11 = 4 [V k2 + k2 V - g (V.k2 + m^2 (4 q.k1 + M^2 + 4 m^2))],  V = (4m^2 - M^2) k1 + (2 q.k1 + 4 m^2) q,
        H22 = H11 with k1 <-> k2,
        H12 = -g [16 m^4 + 8 m^2 (q.k1 + q.k2) + 4 m^2 M^2 + 8 (q.k1)(q.k2)] + (4 m^2 - M^2) S(k1, k2)
              + 2 m^2 [S(k1, q) + S(k2, q)] + (8 m^2 - 8 k1.k2) q q + 4 (q.k1)(q k2 + k2 q) + 4 (q.k2)(q k1 + k1 q)
              (symmetric part; the antisymmetric part cancels against the other interference term).
    """
    a, b, c = me.to_minkowski(k1), me.to_minkowski(k2), me.to_minkowski(q)
    m2 = m * m
    mm2 = me.mdot(q, q)[:, None, None]
    d1 = (me.mdot(k1 + q, k1 + q) - m2)[:, None, None]
    d2 = (me.mdot(k2 + q, k2 + q) - m2)[:, None, None]
    qk1, qk2, k1k2 = me.mdot(q, k1), me.mdot(q, k2), me.mdot(k1, k2)
    g = np.diag(me.METRIC)[None]
    col = (slice(None), None, None)

    def s_of(x: np.ndarray, y: np.ndarray, xy: np.ndarray) -> np.ndarray:
        return 4.0 * (_sym(x, y) - xy[col] * g)

    def h_diag(ka: np.ndarray, kb: np.ndarray, qka: np.ndarray) -> np.ndarray:
        v = (4.0 * m2 - mm2[:, :, 0]) * ka + (2.0 * qka + 4.0 * m2)[:, None] * c
        vkb = np.einsum("na,na->n", v * me.METRIC, kb)
        return 4.0 * (_sym(v, kb) - (vkb + m2 * (4.0 * qka + mm2[:, 0, 0] + 4.0 * m2))[col] * g)

    h11 = h_diag(a, b, qk1)
    h22 = h_diag(b, a, qk2)
    h12 = (
        -(16.0 * m2 * m2 + 8.0 * m2 * (qk1 + qk2) + 4.0 * m2 * mm2[:, 0, 0] + 8.0 * qk1 * qk2)[col] * g
        + (4.0 * m2 - mm2) * s_of(a, b, k1k2)
        + 2.0 * m2 * (s_of(a, c, qk1) + s_of(b, c, qk2))
        + (8.0 * m2 - 8.0 * k1k2)[col] * (c[:, :, None] * c[:, None, :])
        + 4.0 * qk1[col] * _sym(c, b)
        + 4.0 * qk2[col] * _sym(c, a)
    )
    return h11 / (d1 * d1) + h22 / (d2 * d2) + 2.0 * h12 / (d1 * d2)


def scalar_dsigma_ds1ds2_fb(
    sqrt_s: FloatLike,
    s1: FloatLike,
    s2: FloatLike,
    M: float,
    g: float = 1.0,
    m: float = C.M_MU,
    parity: Parity = "scalar",
) -> np.ndarray:
    """d sigma / ds1 ds2 [fb / GeV^4] of e+e- -> mu+ mu- S, summed over beam orientations.

    sigma = 1/(2s) * 1/4 sum|M|^2 * dPhi_3, dPhi_3 = ds1 ds2 / (128 pi^3 s) after the three orientation
    angles, 1/4 sum|M|^2 = (e^4 g_S^2 / (4 s^2)) (4 s / 3) T (same bookkeeping as xsec.mumuv_dsigma_ds1ds2_fb).
    Zero outside the Dalitz region. ``g`` is the muon coupling (g_S, xi m_mu / v or g_a).
    """
    sqrt_s = np.asarray(sqrt_s, dtype=np.float64)
    s = sqrt_s**2
    lo, hi = xs.s2_limits(s, s1, m, M)
    inside = (np.asarray(s2) >= lo) & (np.asarray(s2) <= hi) & (np.asarray(s1) >= (m + M) ** 2)
    e4 = (4.0 * math.pi * C.ALPHA_EM) ** 2
    msq = e4 * g * g / (4.0 * s * s) * (4.0 * s / 3.0) * spin0_trace_dalitz(s, s1, s2, M, m, parity)
    dsig = msq / (2.0 * s) / (128.0 * math.pi**3 * s) * C.GEV2_TO_FB
    return np.where(inside, dsig, 0.0)


# --------------------------------------------------------------------------
# total cross section
# --------------------------------------------------------------------------
def _gauss_01(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (x + 1.0), 0.5 * w


def _dalitz_quadrature(
    dsigma: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    M: float,
    sqrt_s: float,
    n_outer: int,
    n_inner: int,
    m: float = C.M_MU,
) -> float:
    """int dsigma(sqrt_s, s1, s2) ds1 ds2 over the Dalitz region: the nested Gauss-Legendre scheme of
    xsec._mumuv_xsec_one (log(s_i - m^2), cosine maps flattening the square-root edges)."""
    s = sqrt_s**2
    lo, hi = (m + M) ** 2 - m * m, (sqrt_s - m) ** 2 - m * m
    t, wt = _gauss_01(n_outer)
    xa, xb = math.log(lo), math.log(hi)
    x = xa + (xb - xa) * 0.5 * (1.0 - np.cos(math.pi * t))
    jx = (xb - xa) * 0.5 * math.pi * np.sin(math.pi * t)
    u1 = np.exp(x)
    s1 = u1 + m * m
    a, b = xs.s2_limits(s, s1, m, M)
    ya, yb = np.log(np.maximum(a - m * m, 1e-300)), np.log(b - m * m)
    tt, wtt = _gauss_01(n_inner)
    y = ya[:, None] + (yb - ya)[:, None] * 0.5 * (1.0 - np.cos(math.pi * tt))[None, :]
    jy = (yb - ya)[:, None] * 0.5 * math.pi * np.sin(math.pi * tt)[None, :]
    u2 = np.exp(y)
    s1g = np.broadcast_to(s1[:, None], u2.shape)
    # the raw density (not the masked one): quadrature nodes sit inside by construction, up to rounding
    dsig = dsigma(np.full(u2.shape, sqrt_s), s1g, u2 + m * m)
    integrand = dsig * u2 * jy * u1[:, None] * jx[:, None]
    return float(np.sum(integrand * wtt[None, :] * wt[:, None]))


def _dsigma_unmasked(
    sqrt_s: np.ndarray, s1: np.ndarray, s2: np.ndarray, M: float, parity: Parity = "scalar"
) -> np.ndarray:
    s = sqrt_s**2
    e4 = (4.0 * math.pi * C.ALPHA_EM) ** 2
    msq = e4 / (4.0 * s * s) * (4.0 * s / 3.0) * spin0_trace_dalitz(s, s1, s2, M, C.M_MU, parity)
    return msq / (2.0 * s) / (128.0 * math.pi**3 * s) * C.GEV2_TO_FB


@lru_cache(maxsize=4096)
def _scalar_xsec_cached(M: float, sqrt_s: float, n_outer: int, n_inner: int, parity: Parity = "scalar") -> float:
    return _dalitz_quadrature(lambda rs, a, b: _dsigma_unmasked(rs, a, b, M, parity), M, sqrt_s, n_outer, n_inner)


def spin0_xsec_fb(
    mass: FloatLike,
    g_mu: float,
    parity: Parity = "scalar",
    sqrt_s: float = C.SQRT_S_NOMINAL,
    n_outer: int = 48,
    n_inner: int = 24,
    m_min: float = M_MIN,
) -> np.ndarray | float:
    """sigma(e+e- -> mu+ mu- X) [fb] for a spin-0 X with muon coupling ``g_mu`` (scalar or pseudoscalar vertex),
    X on shell, before its decay; tree level, no ISR, computed at g_mu = 1 (cached per mass) times g_mu^2."""
    what = "spin0_xsec_fb"
    if g_mu is None or not np.isfinite(g_mu):
        raise ValueError(f"{what}: coupling g={g_mu} must be finite")
    if parity not in PARITIES:
        raise ValueError(f"{what}: parity={parity!r}, expected one of {PARITIES}")
    M = _check_scalar_mass(mass, what, sqrt_s, m_min)
    out = np.array([_scalar_xsec_cached(float(x), float(sqrt_s), n_outer, n_inner, parity) for x in M.ravel()])
    out = out.reshape(M.shape) * g_mu * g_mu
    return float(out) if out.ndim == 0 else out


def scalar_xsec_fb(
    mass: FloatLike,
    g: float = DEFAULT_COUPLING,
    sqrt_s: float = C.SQRT_S_NOMINAL,
    n_outer: int = 48,
    n_inner: int = 24,
) -> np.ndarray | float:
    """sigma(e+e- -> mu+ mu- S) [fb], S on shell, before its decay; vectorised over ``mass``.

    Same calling convention and quadrature as xsec.zprime_xsec_fb: tree level, muon mass kept,
    no ISR; computed at g_S = 1 (cached per mass) and scaled by g_S^2 (exact power law).
    Checked against helicity amplitudes + Monte Carlo phase space (tests/scalar_reference.py).
    """
    what = "scalar_xsec_fb"
    if g is None or not np.isfinite(g):
        raise ValueError(f"{what}: coupling g={g} must be finite")
    _check_scalar_mass(mass, what, sqrt_s)
    return spin0_xsec_fb(mass, g, "scalar", sqrt_s, n_outer, n_inner)


def leptophilic_xsec_fb(
    mass: FloatLike, xi: float = DEFAULT_XI, sqrt_s: float = C.SQRT_S_NOMINAL
) -> np.ndarray | float:
    """sigma(e+e- -> mu+ mu- S) [fb] of the leptophilic scalar: the scalar vertex with g_mu = xi m_mu / v. Defined
    above 2 m_mu + 1 MeV like scalar_xsec_fb (production does not need the tau tau threshold; the BF does)."""
    return spin0_xsec_fb(mass, xi * C.M_MU / C.V_HIGGS, "scalar", sqrt_s)


def alp_xsec_fb(mass: FloatLike, g: float = DEFAULT_G_ALP, sqrt_s: float = C.SQRT_S_NOMINAL) -> np.ndarray | float:
    """sigma(e+e- -> mu+ mu- a) [fb] of the ALP: the pseudoscalar vertex with g_mu = g_a (above 2 m_mu + 1 MeV)."""
    return spin0_xsec_fb(mass, g, "pseudoscalar", sqrt_s)


# --------------------------------------------------------------------------
# generator
# --------------------------------------------------------------------------
@lru_cache(maxsize=256)
def _scalar_wmax(M: float, sqrt_s: float, m: float, parity: Parity = "scalar") -> float:
    """Maximum of dsigma/g from a fixed-seed pilot run (x 1.3 safety margin), as for the Z'."""
    from samples.generator import signals as S  # lazy: signals imports this module for its registry

    rng = np.random.default_rng(12345)
    rs = np.full(20_000, sqrt_s)
    s1, s2, gden = S.sample_mumuv_dalitz(rng, rs, M, m)
    return 1.3 * float(np.max(scalar_dsigma_ds1ds2_fb(rs, s1, s2, M, 1.0, m, parity) / gden))


def generate_mumus(
    rng: np.random.Generator, sqrt_s: np.ndarray, M: float, m: float = C.M_MU, parity: Parity = "scalar"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unweighted mu-(k1), mu+(k2), S(q) in the CMS (e- along +z) from the e+e- -> mu mu S matrix element.

    The Z' strategy (signals.generate_mumuv): (s1, s2) from the multi-channel ~1/(s_i - m^2) density
    and hit-or-miss on the orientation-averaged d sigma / ds1 ds2; the beam direction relative to the
    event plane from the exact L_{mu nu} H^{mu nu}(n); a uniform azimuth about the beam.
    """
    from samples.generator import signals as S  # lazy: signals imports this module for its registry

    n = sqrt_s.shape[0]
    wmax = _scalar_wmax(float(M), round(float(np.mean(sqrt_s)), 2), float(m), parity)  # cache per 10 MeV
    s1o = np.empty(n)
    s2o = np.empty(n)
    todo = np.arange(n)
    for _ in range(10_000):
        if todo.size == 0:
            break
        s1, s2, gden = S.sample_mumuv_dalitz(rng, sqrt_s[todo], M, m)
        w = scalar_dsigma_ds1ds2_fb(sqrt_s[todo], s1, s2, M, 1.0, m, parity) / gden
        ok = rng.uniform(size=todo.size) * wmax < w
        s1o[todo[ok]], s2o[todo[ok]] = s1[ok], s2[ok]
        todo = todo[~ok]
    else:  # pragma: no cover - would need an efficiency ~ 0
        raise RuntimeError("scalar generator: accept-reject did not converge; report this")
    k1, k2, q = xs.dalitz_momenta(sqrt_s, s1o, s2o, m, M)
    h = spin0_muon_tensor(k1, k2, q, m, parity)
    nb = S.sample_beam_direction(rng, h, sqrt_s**2)
    # rotate the final state so that the beam direction nb becomes +z, then a random azimuth
    R = np.einsum("nij,njk->nik", S._random_rotation_about_z(rng, n), np.swapaxes(lz.rotation_z_to(nb), 1, 2))
    return tuple(lz.rotate(v, R) for v in (k1, k2, q))


def gen_scalar_mumu(
    n: int,
    rng: np.random.Generator,
    sqrt_s: np.ndarray | float,
    mass: float,
    coupling: float = DEFAULT_COUPLING,
    **params: object,
) -> TruthEvents:
    """e+e- -> mu+ mu- S, S -> mu+ mu- (muonphilic scalar, coupling = g_S).

    Particles per event: mu-, mu+ (primaries), S (pdg 54, final=False, c tau from Gamma(S -> mu mu)),
    then mu-, mu+ from S (isotropic in the S rest frame: spin 0, no correlation with the production).
    """
    from samples.generator import signals as S  # lazy: signals imports this module for its registry

    what = "signals.scalar_mumu"
    rs = S._sqrt_s_array(n, sqrt_s)
    M = float(_check_scalar_mass(mass, what, float(np.min(rs))))
    g = _check_coupling(coupling, what)
    unknown = {k: v for k, v in params.items() if v is not None and k not in ("mass2", "mass3")}
    if unknown:  # c tau is not free: it follows from the width (set coupling instead)
        raise ValueError(f"{what}: unknown parameter(s) {sorted(unknown)} (ctau follows from mass and coupling)")
    k1, k2, q = generate_mumus(rng, rs, M)
    ctau = 0.0 if g == 0 else float(scalar_ctau_cm(M, g))
    d1, d2 = lz.decay_isotropic(rng, q, C.M_MU, C.M_MU)
    ev = SlotEvents(n)
    ev.add(13, k1)
    ev.add(-13, k2)
    i_s = ev.add(PDG_SCALAR, q, final=False, ctau=ctau)
    ev.add(13, d1, mother=i_s)
    ev.add(-13, d2, mother=i_s)
    return ev.build(event=S._event_columns(n, mass=M, coupling=g, ctau=ctau))


def xsec_scalar_mumu(mass: float, coupling: float = DEFAULT_COUPLING, **_: object) -> float:
    """Registry cross section: sigma(e+e- -> mu mu S) x BF(S -> mu mu) [fb] (BF = 1)."""
    return float(scalar_xsec_fb(mass, coupling) * scalar_branching_fractions(mass)["mumu"])


def _gen_spin0_tautau(
    n: int,
    rng: np.random.Generator,
    sqrt_s: np.ndarray | float,
    mass: float,
    coupling: float,
    what: str,
    parity: Parity,
    widths: Callable[[float, float], dict[str, np.ndarray]],
    params: dict[str, object],
) -> TruthEvents:
    """e+e- -> mu+ mu- X, X -> tau+ tau- for a spin-0 X: mu-, mu+, X (pdg 54, final=False, c tau from the total
    width), tau-, tau+ (isotropic in the X rest frame; tau polarisation and the CP-dependent tau spin correlation
    not propagated, as for the Z'), then the tau daughters from samples.generator.tau. The events do not depend on
    the coupling (only c tau does): the rate is the registry cross section."""
    from samples.generator import signals as S  # lazy: signals imports this module for its registry
    from samples.generator.tau import TAU_CTAU_CM, decay_taus

    rs = S._sqrt_s_array(n, sqrt_s)
    M = float(_check_scalar_mass(mass, what, float(np.min(rs)), M_MIN_TAUTAU, "tau tau"))
    g = _check_coupling(coupling, what)
    unknown = {k: v for k, v in params.items() if v is not None and k not in ("mass2", "mass3")}
    if unknown:  # c tau is not free: it follows from the widths (set coupling instead)
        raise ValueError(f"{what}: unknown parameter(s) {sorted(unknown)} (ctau follows from mass and coupling)")
    k1, k2, q = generate_mumus(rng, rs, M, C.M_MU, parity)
    total = float(sum(np.asarray(w) for w in widths(M, g).values()))
    ctau = 0.0 if g == 0 else C.HBARC_GEV_CM / total
    t1, t2 = lz.decay_isotropic(rng, q, C.M_TAU, C.M_TAU)
    ev = SlotEvents(n)
    ev.add(13, k1)
    ev.add(-13, k2)
    i_s = ev.add(PDG_SCALAR, q, final=False, ctau=ctau)
    i1 = ev.add(15, t1, mother=i_s, final=False, ctau=TAU_CTAU_CM)
    i2 = ev.add(-15, t2, mother=i_s, final=False, ctau=TAU_CTAU_CM)
    ev.add_block(decay_taus(rng, t1, -np.ones(n, dtype=np.int64)), parent=i1)
    ev.add_block(decay_taus(rng, t2, np.ones(n, dtype=np.int64)), parent=i2)
    return ev.build(event=S._event_columns(n, mass=M, coupling=g, ctau=ctau))


def gen_scalar_tautau(
    n: int,
    rng: np.random.Generator,
    sqrt_s: np.ndarray | float,
    mass: float,
    coupling: float = DEFAULT_XI,
    **params: object,
) -> TruthEvents:
    """e+e- -> mu+ mu- S, S -> tau+ tau- (leptophilic scalar, coupling = xi: g_l = xi m_l / v)."""
    return _gen_spin0_tautau(
        n, rng, sqrt_s, mass, coupling, "signals.scalar_tautau", "scalar", leptophilic_widths, params
    )


def gen_alp_tautau(
    n: int,
    rng: np.random.Generator,
    sqrt_s: np.ndarray | float,
    mass: float,
    coupling: float = DEFAULT_G_ALP,
    **params: object,
) -> TruthEvents:
    """e+e- -> mu+ mu- a, a -> tau+ tau- (ALP, i g_a a lbar gamma5 l, equal g_a for e, mu, tau)."""
    return _gen_spin0_tautau(n, rng, sqrt_s, mass, coupling, "signals.alp_tautau", "pseudoscalar", alp_widths, params)


def xsec_scalar_tautau(mass: float, coupling: float = DEFAULT_XI, **_: object) -> float:
    """Registry cross section: sigma(e+e- -> mu mu S) x BF(S -> tau tau) [fb], leptophilic scalar (xi)."""
    return float(leptophilic_xsec_fb(mass, coupling) * leptophilic_branching_fractions(mass)["tautau"])


def xsec_alp_tautau(mass: float, coupling: float = DEFAULT_G_ALP, **_: object) -> float:
    """Registry cross section: sigma(e+e- -> mu mu a) x BF(a -> tau tau) [fb], ALP (g_a)."""
    return float(alp_xsec_fb(mass, coupling) * alp_branching_fractions(mass)["tautau"])


def _table() -> None:
    masses = np.array([0.3, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    sig_s = scalar_xsec_fb(masses, 0.01)
    sig_z = xs.zprime_xsec_fb(masses, 0.01)
    print(f"sqrt(s) = {C.SQRT_S_NOMINAL} GeV, g_S = g' = 0.01 (tree level, no ISR)")
    print(f"{'M [GeV]':>8} {'sigma(mumuS) [fb]':>18} {'sigma(mumuZp) [fb]':>19} {'ratio':>7} {'ctau_S [cm]':>12}")
    for i, mm in enumerate(masses):
        print(
            f"{mm:8.2f} {sig_s[i]:18.4g} {sig_z[i]:19.4g} {sig_s[i] / sig_z[i]:7.3f} {scalar_ctau_cm(mm, 0.01):12.3g}"
        )


if __name__ == "__main__":
    _table()

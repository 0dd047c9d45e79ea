"""Inelastic dark matter with a dark Higgs: the model quantities the generator and the recasts need.

Model: Duerr, Ferber, Garcia-Cely, Hearty, Schmidt-Hoberg, arXiv:2012.08595 (JHEP 04 (2021) 146).

- h' decays through its mixing sin(theta) with the SM Higgs (v = (sqrt2 G_F)^-1/2), every width ~ sin^2:
  Gamma(h' -> l l) = sin^2 G_F m_l^2 m beta^3 / (4 sqrt2 pi) (the SM Higgs formula); Gamma(h' -> pi pi)
  from the leading-order trace-anomaly / chiral amplitude A = (2/9)(m^2 + 11/2 m_pi^2) sin/v (Voloshin,
  Sov. J. Nucl. Phys. 44 (1986) 478; Donoghue, Gasser, Leutwyler, NPB 343 (1990) 341), pi+pi- plus pi0pi0
  (1/2 for identical particles); K K with the same amplitude at the kaon mass for K+K- and K0 K0bar (an
  assumption: the dispersive widths of Winkler, arXiv:1809.01876, are larger near the f0(980), so our
  h' lives longer there and its K K fraction is uncertain by a factor ~2).
- chi2 -> chi1 e+ e- through an off-shell A': Gamma ~ 4 eps^2 alpha alpha_D Delta^5 / (15 pi m_A'^4)
  (Izaguirre, Krnjaic, Schuster, Toro, PRD 92, 095014 (2015), small-splitting limit); chi1 mu mu opens
  above Delta = 2 m_mu: B(chi2 -> chi1 e e) from the ratio of the Dalitz integrals of the generator's
  matrix element with the two lepton masses; hadrons through the off-shell A' are neglected.
"""

from __future__ import annotations

import math

import numpy as np

from samples import constants as C

H_CHANNELS = ("ee", "mumu", "pipi", "KK")


def h_widths(m: float, sin_theta: float) -> dict[str, float]:
    """Partial widths of h' [GeV] (channels below threshold are 0)."""
    s2, gf = sin_theta**2, C.G_FERMI

    def beta(mx: float) -> float:
        return math.sqrt(max(1.0 - 4.0 * mx * mx / (m * m), 0.0))

    def lep(ml: float) -> float:
        return s2 * gf * ml * ml * m * beta(ml) ** 3 / (4.0 * math.sqrt(2.0) * math.pi)

    def had(mx: float, states: float) -> float:
        # |A|^2 beta / (16 pi m) per charged-like state; sqrt2 G_F = 1/v^2
        a2 = (2.0 / 9.0) ** 2 * (m * m + 5.5 * mx * mx) ** 2 * math.sqrt(2.0) * gf * s2
        return states * a2 * beta(mx) / (16.0 * math.pi * m)

    return {"ee": lep(C.M_E), "mumu": lep(C.M_MU), "pipi": had(C.M_PI, 1.5), "KK": had(C.M_K, 2.0)}


def h_branching_fraction(channel: str, m: float) -> float:
    """B(h' -> channel): independent of sin(theta)."""
    w = h_widths(m, 1.0)
    return w[channel] / sum(w.values())


def h_ctau_cm(m: float, sin_theta: float) -> float:
    """c tau of h' [cm]."""
    return C.HBARC_GEV_CM / sum(h_widths(m, sin_theta).values())


def _dalitz_integral(m1: float, m2: float, ml: float, ma: float, n: int = 400) -> float:
    """int |M|^2 dm12^2 dm23^2 of chi2 -> chi1 l l (the generator's matrix element, any lepton mass)."""
    if m2 - m1 <= 2.0 * ml:
        return 0.0
    g12 = np.linspace((m1 + ml) ** 2, (m2 - ml) ** 2, n)
    g23 = np.linspace(4 * ml * ml, (m2 - m1) ** 2, n)
    x, y = np.meshgrid(g12, g23)
    m13 = m2 * m2 + m1 * m1 + 2 * ml * ml - x - y
    ab, bc, ac = (x - m1 * m1 - ml * ml) / 2, (y - 2 * ml * ml) / 2, (m13 - m1 * m1 - ml * ml) / 2
    ap, bp, cp = m1 * m1 + ab + ac, ab + ml * ml + bc, ac + bc + ml * ml
    a_, c_ = ap - m1 * m2, bc + ml * ml
    val = (2 * ab * cp + 2 * ac * bp - 2 * a_ * bc - 2 * c_ * ap + 4 * a_ * c_) / (y - ma * ma) ** 2
    # Dalitz boundary: m12^2 between its limits at fixed m23^2 (PDG kinematics, eq. 49.23)
    e2 = np.sqrt(np.maximum(y, 1e-30)) / 2
    e3 = (m2 * m2 - y - m1 * m1) / (2 * np.sqrt(np.maximum(y, 1e-30)))
    p2, p3 = np.sqrt(np.maximum(e2 * e2 - ml * ml, 0)), np.sqrt(np.maximum(e3 * e3 - m1 * m1, 0))
    inside = (x >= (e2 + e3) ** 2 - (p2 + p3) ** 2) & (x <= (e2 + e3) ** 2 - (p2 - p3) ** 2) & (e3 >= m1)
    return float(np.sum(np.where(inside, val, 0.0)) * (g12[1] - g12[0]) * (g23[1] - g23[0]))


def chi2_bf_ee(m_chi1: float, delta: float, m_a: float) -> float:
    """B(chi2 -> chi1 e+ e-) = Gamma_ee / (Gamma_ee + Gamma_mumu) (hadrons neglected)."""
    m2 = m_chi1 + delta
    ee = _dalitz_integral(m_chi1, m2, C.M_E, m_a)
    return ee / (ee + _dalitz_integral(m_chi1, m2, C.M_MU, m_a))


def chi2_ctau_cm(m_chi1: float, delta: float, m_a: float, eps: float, alpha_d: float) -> float:
    """c tau of chi2 [cm]: Gamma(chi1 e e) in the small-splitting limit, divided by B(chi1 e e)."""
    g_ee = 4.0 * eps**2 * C.ALPHA_EM * alpha_d * delta**5 / (15.0 * math.pi * m_a**4)
    return C.HBARC_GEV_CM * chi2_bf_ee(m_chi1, delta, m_a) / g_ee


def benchmark(m_chi1: float = C.IDM_M_CHI1) -> dict[str, float]:
    """The benchmark plane's fixed parameters at one m_chi1 (samples/constants.py, block "idm")."""
    m_a, delta = C.IDM_MA_OVER_MCHI1 * m_chi1, C.IDM_DELTA_OVER_MCHI1 * m_chi1
    return {"mass": m_a, "mass3": m_chi1, "delta_m": delta, "alpha_D": C.IDM_ALPHA_D, "coupling": C.IDM_EPS_REF,
            "ctau": chi2_ctau_cm(m_chi1, delta, m_a, C.IDM_EPS_REF, C.IDM_ALPHA_D)}  # fmt: skip

"""e+e- -> gamma nu nubar: the irreducible mono-photon background, and its cross section.

Formula (initial-state radiation factorised on the Born cross section; Gaemers, Gastmans,
Renard, Phys. Rev. D 19 (1979) 1605, Eq. (2.9)-(2.10); see also Nicrosini & Trentadue,
Nucl. Phys. B 318 (1989) 1):

    d sigma / dx dc = (2 alpha / (pi x)) [ (1 - x/2)^2 + x^2 c^2 / 4 ] / (1 - c^2) * sigma0(s (1 - x)),

x = 2 E_gamma / sqrt(s) (CMS), c = cos(theta_gamma). Its collinear limit reproduces the
leading-log radiator (1 + (1-x)^2)/x ln(s/m_e^2). Born cross section at s << M_Z^2
(contact interaction; Z exchange for all three flavours, plus W exchange for nu_e):

    sigma0(s) = G_F^2 s / (6 pi) [ (g_L + 1)^2 + g_R^2 + 2 (g_L^2 + g_R^2) ],
    g_L = -1/2 + sin^2 theta_W, g_R = sin^2 theta_W,

i.e. ~ 264 fb at 10.58 GeV. Neglected: the Z propagator (s/M_Z^2 ~ 1.3 %) and
photon-energy-dependent W-propagator effects (same order).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from samples import constants as C
from samples.generator import lorentz as L
from samples.generator.phasespace import TabulatedSampler
from samples.generator.slots import SlotEvents
from samples.generator.truth import TruthEvents

GNUNU_DEFAULTS: dict = {"emin_cms": 0.5, "cos_range": (-0.95, 0.95)}

_GL = -0.5 + C.SIN2_THETA_W
_GR = C.SIN2_THETA_W
# relative weights of nu_e, nu_mu, nu_tau in sigma0
_FLAV = np.array([(_GL + 1.0) ** 2 + _GR**2, _GL**2 + _GR**2, _GL**2 + _GR**2])


def sigma0_nunu_fb(s: float) -> float:
    """Born sigma(e+e- -> nu nubar), summed over three flavours [fb]."""
    return C.G_FERMI**2 * s / (6.0 * np.pi) * float(_FLAV.sum()) * C.GEV2_TO_FB


def _angular_integral(x: np.ndarray, c1: float, c2: float) -> np.ndarray:
    """int_{c1}^{c2} [(1 - x/2)^2 + x^2 c^2/4]/(1 - c^2) dc, analytic."""
    da = np.arctanh(c2) - np.arctanh(c1)
    return ((1.0 - 0.5 * x) ** 2 + 0.25 * x * x) * da - 0.25 * x * x * (c2 - c1)


def _x_density(x: np.ndarray, c1: float, c2: float) -> np.ndarray:
    """d sigma/dx / sigma0(s): (2 alpha/(pi x)) (1 - x) * angular integral."""
    return 2.0 * C.ALPHA_EM / (np.pi * x) * (1.0 - x) * _angular_integral(x, c1, c2)


def _check(emin_cms: float, cos_range: tuple[float, float], sqrt_s: float) -> tuple[float, float, float]:
    c1, c2 = (float(v) for v in cos_range)
    if not -1.0 < c1 < c2 < 1.0:
        raise ValueError(f"gnunu: cos_range={cos_range} must satisfy -1 < c1 < c2 < 1")
    if not 0.0 < emin_cms < 0.5 * sqrt_s:
        raise ValueError(f"gnunu: emin_cms={emin_cms} GeV must be in (0, sqrt(s)/2)")
    return 2.0 * emin_cms / sqrt_s, c1, c2


def gnunu_xsec_fb(
    emin_cms: float = GNUNU_DEFAULTS["emin_cms"],
    cos_range: tuple[float, float] = GNUNU_DEFAULTS["cos_range"],
    sqrt_s: float = C.SQRT_S_NOMINAL,
) -> float:
    """sigma(e+e- -> gamma nu nubar) [fb] for E*_gamma > emin_cms and cos(theta*_gamma) in cos_range."""
    xmin, c1, c2 = _check(emin_cms, cos_range, sqrt_s)
    lx = np.linspace(np.log(xmin), 0.0, 20001)
    x = np.exp(lx)
    integrand = _x_density(x, c1, c2) * x  # d/d ln x
    return float(np.trapezoid(integrand, lx) * sigma0_nunu_fb(sqrt_s**2))


@lru_cache(maxsize=16)
def _x_sampler(xmin: float, c1: float, c2: float) -> TabulatedSampler:
    lx = np.linspace(np.log(xmin), 0.0, 8001)
    x = np.exp(lx)
    return TabulatedSampler(lx, _x_density(x, c1, c2) * x)


def gen_gnunu(
    n: int,
    rng: np.random.Generator,
    sqrt_s: np.ndarray,
    emin_cms: float = GNUNU_DEFAULTS["emin_cms"],
    cos_range: tuple[float, float] = GNUNU_DEFAULTS["cos_range"],
) -> TruthEvents:
    """e+e- -> gamma nu nubar with E*_gamma > emin_cms, cos(theta*) in cos_range; the nu nubar pair
    (via an intermediate Z*, pdg 23, final=False) recoils exactly."""
    sqrt_s = np.asarray(sqrt_s, dtype=np.float64)
    xmin, c1, c2 = _check(emin_cms, tuple(cos_range), C.SQRT_S_NOMINAL)
    x = np.exp(_x_sampler(xmin, c1, c2).sample(rng, n))
    # angle given x: proposal 1/(1 - c^2) on [c1, c2], accept [(A+B) - B (1 - c^2)]/(A+B)
    c = np.empty(n)
    todo = np.arange(n)
    a1, a2 = np.arctanh(c1), np.arctanh(c2)
    while todo.size:
        xx = x[todo]
        cc = np.tanh(a1 + (a2 - a1) * rng.random(todo.size))
        A = (1.0 - 0.5 * xx) ** 2
        B = 0.25 * xx * xx
        ok = rng.random(todo.size) < (A + B * cc * cc) / (A + B)
        c[todo[ok]] = cc[ok]
        todo = todo[~ok]
    k = 0.5 * x * sqrt_s
    st = np.sqrt(1.0 - c * c)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    g = np.stack([k * st * np.cos(phi), k * st * np.sin(phi), k * c, k], axis=1)
    Z = -g
    Z[:, 3] = sqrt_s - k
    nu, nubar = L.decay_isotropic(rng, Z, 0.0, 0.0)
    flav = np.searchsorted(np.cumsum(_FLAV) / _FLAV.sum(), rng.random(n), side="right")
    pdg_nu = np.array([12, 14, 16])[np.minimum(flav, 2)]
    ev = SlotEvents(n)
    ev.add(22, g)
    iz = ev.add(23, Z, final=False)
    ev.add(pdg_nu, nu, iz)
    ev.add(-pdg_nu, nubar, iz)
    return ev.build({"weight": np.ones(n)})

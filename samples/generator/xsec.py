"""Cross sections, widths and branching fractions of the dark-sector signals.

* L_mu - L_tau Z': e+e- -> mu+ mu- Z' with Z' radiated off the final-state
  muons; sigma from the tree-level matrix element (samples.generator.
  matrix_elements), integrated over three-body phase space with the Z' on shell
  (narrow width). sigma is exactly proportional to g'^2. Widths from DESIGN.md.
* Dark Higgsstrahlung e+e- -> A' h': Batell, Pospelov, Ritz, PRD 79, 115008
  (2009) [arXiv:0903.0363] (re-derived here, same result).
* Mono-photon e+e- -> gamma A': Essig, Mardon, Papucci, Volansky, Zhong,
  JHEP 11 (2013) 167 [arXiv:1309.5084]; Belle II Physics Book arXiv:1808.10567.

Run ``python -m samples.generator.xsec`` for the sigma(M) table at g' = 0.01.
Units: GeV, fb.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from samples import constants as C
from samples.generator import matrix_elements as me

FloatLike = float | np.ndarray


# --------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------
def _check_mass(name: str, value: FloatLike, upper: float, what: str) -> np.ndarray:
    v = np.asarray(value, dtype=np.float64)
    if np.any(~np.isfinite(v)) or np.any(v <= 0):
        raise ValueError(f"{what}: {name}={value} must be a positive mass in GeV")
    if np.any(v >= upper):
        raise ValueError(f"{what}: {name}={value} GeV is not below the kinematic limit {upper:.4f} GeV")
    return v


# --------------------------------------------------------------------------
# L_mu - L_tau Z': widths and branching fractions (DESIGN.md)
# --------------------------------------------------------------------------
def zprime_width_ll(mass: FloatLike, m_lep: float, g: float = 0.01) -> np.ndarray:
    """Gamma(Z' -> l+ l-) = g'^2 M / (12 pi) (1 + 2 m_l^2/M^2) sqrt(1 - 4 m_l^2/M^2), 0 below threshold."""
    M = np.asarray(mass, dtype=np.float64)
    r = np.clip(4.0 * m_lep**2 / M**2, 0.0, 1.0)
    return g**2 * M / (12.0 * math.pi) * (1.0 + 0.5 * r) * np.sqrt(1.0 - r)


def zprime_width_nunu(mass: FloatLike, g: float = 0.01) -> np.ndarray:
    """Gamma(Z' -> nu nubar) = g'^2 M / (24 pi) for one flavour (nu_mu or nu_tau; left-handed only)."""
    return g**2 * np.asarray(mass, dtype=np.float64) / (24.0 * math.pi)


def zprime_partial_widths(mass: FloatLike, g: float = 0.01) -> dict[str, np.ndarray]:
    """Partial widths [GeV] of the vanilla L_mu - L_tau Z' (keys mumu, tautau, nunu = both flavours)."""
    return {
        "mumu": zprime_width_ll(mass, C.M_MU, g),
        "tautau": zprime_width_ll(mass, C.M_TAU, g),
        "nunu": 2.0 * zprime_width_nunu(mass, g),
    }


def zprime_total_width(mass: FloatLike, g: float = 0.01, invisible_extra: bool = False) -> np.ndarray:
    """Total width [GeV]. ``invisible_extra``: a dark-matter channel dominates, width then unknown -> NaN."""
    if invisible_extra:
        return np.full(np.shape(mass), np.nan)
    return sum(zprime_partial_widths(mass, g).values())


def zprime_branching_fractions(mass: FloatLike, invisible_extra: bool = False) -> dict[str, np.ndarray]:
    """BF(Z' -> mumu, tautau, invisible) (independent of g').

    ``invisible_extra=True`` is the "fully invisible" benchmark: Z' -> chi chi
    with a dark coupling >> g' so BF(invisible) = 1.
    """
    M = _check_mass("mass", mass, math.inf, "zprime_branching_fractions")
    if invisible_extra:
        one = np.ones_like(M)
        return {"mumu": 0.0 * one, "tautau": 0.0 * one, "invisible": one}
    w = zprime_partial_widths(M, 1.0)
    tot = w["mumu"] + w["tautau"] + w["nunu"]
    return {"mumu": w["mumu"] / tot, "tautau": w["tautau"] / tot, "invisible": w["nunu"] / tot}


def zprime_ctau_cm(mass: FloatLike, g: float = 0.01) -> np.ndarray:
    """Proper decay length of the vanilla Z' [cm] (prompt for any g' of interest)."""
    return C.HBARC_GEV_CM / zprime_total_width(mass, g)


# --------------------------------------------------------------------------
# e+e- -> mu+ mu- Z': Dalitz kinematics shared with the generator
# --------------------------------------------------------------------------
def s2_limits(s: FloatLike, s1: FloatLike, m: float, M: float) -> tuple[np.ndarray, np.ndarray]:
    """Range of s2 = (k2+q)^2 at fixed s1 = (k1+q)^2 (PDG kinematics review, Dalitz plot).

    Symmetric in the two muons, so it also gives s1 at fixed s2.
    """
    s = np.asarray(s, dtype=np.float64)
    s1 = np.asarray(s1, dtype=np.float64)
    r1 = np.sqrt(s1)
    eq = (s1 - m * m + M * M) / (2.0 * r1)  # V energy in the (k1 q) rest frame
    ek = (s - s1 - m * m) / (2.0 * r1)  # mu+ energy in that frame
    pq = np.sqrt(np.maximum(eq * eq - M * M, 0.0))
    pk = np.sqrt(np.maximum(ek * ek - m * m, 0.0))
    return (eq + ek) ** 2 - (pq + pk) ** 2, (eq + ek) ** 2 - (pq - pk) ** 2


def s1_range(sqrt_s: FloatLike, m: float, M: float) -> tuple[np.ndarray, np.ndarray]:
    return np.full_like(np.asarray(sqrt_s, dtype=np.float64), (m + M) ** 2), (np.asarray(sqrt_s) - m) ** 2


def dalitz_momenta(sqrt_s: np.ndarray, s1: np.ndarray, s2: np.ndarray, m: float, M: float):
    """mu-(k1), mu+(k2), V(q) in the CMS, k1 along +z, q in the x-z plane (x > 0). (n, 4) each."""
    e2 = (sqrt_s**2 - s1 + m * m) / (2.0 * sqrt_s)  # mu+ recoils against (k1 q) of mass^2 s1
    e1 = (sqrt_s**2 - s2 + m * m) / (2.0 * sqrt_s)
    eq = sqrt_s - e1 - e2
    p1 = np.sqrt(np.maximum(e1 * e1 - m * m, 0.0))
    p2 = np.sqrt(np.maximum(e2 * e2 - m * m, 0.0))
    pq = np.sqrt(np.maximum(eq * eq - M * M, 0.0))
    # k2 = -(k1 + q): |k2|^2 = |k1|^2 + |q|^2 + 2 |k1||q| cos
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.clip((p2 * p2 - p1 * p1 - pq * pq) / (2.0 * p1 * pq), -1.0, 1.0)
    sin = np.sqrt(1.0 - cos * cos)
    z = np.zeros_like(p1)
    k1 = np.stack([z, z, p1, e1], axis=-1)
    q = np.stack([pq * sin, z, pq * cos, eq], axis=-1)
    k2 = np.stack([-q[:, 0], z, -p1 - q[:, 2], e2], axis=-1)
    return k1, k2, q


def mumuv_dsigma_ds1ds2_fb(
    sqrt_s: np.ndarray, s1: np.ndarray, s2: np.ndarray, M: float, g: float, m: float = C.M_MU
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """d sigma / ds1 ds2 [fb / GeV^4], orientation-averaged; also returns the momenta and H^{mu nu}.

    sigma = 1/(2s) * 1/4 sum|M|^2 * dPhi_3, dPhi_3 = ds1 ds2 / (128 pi^3 s) after the
    three orientation angles; 1/4 sum|M|^2 = (e^4 g'^2 / (4 s^2)) <L H>.
    """
    s = sqrt_s**2
    k1, k2, q = dalitz_momenta(sqrt_s, s1, s2, m, M)
    h = me.muon_tensor_chunked(k1, k2, q, m)
    e4 = (4.0 * math.pi * C.ALPHA_EM) ** 2
    msq = e4 * g * g / (4.0 * s * s) * me.orientation_averaged_lh(h, s)
    dsig = msq / (2.0 * s) / (128.0 * math.pi**3 * s) * C.GEV2_TO_FB
    return dsig, (k1, k2, q), h


def _gauss_01(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (x + 1.0), 0.5 * w


def _mumuv_xsec_one(M: float, g: float, sqrt_s: float, n_outer: int, n_inner: int) -> float:
    m = C.M_MU
    s = sqrt_s**2
    lo, hi = (m + M) ** 2 - m * m, (sqrt_s - m) ** 2 - m * m
    # Outer: t in [0, 1] -> x = log(s1 - m^2) with a cosine map that flattens the
    # square-root edges of the Dalitz region; inner: log(s2 - m^2) between the limits.
    t, wt = _gauss_01(n_outer)
    xa, xb = math.log(lo), math.log(hi)
    x = xa + (xb - xa) * 0.5 * (1.0 - np.cos(math.pi * t))
    jx = (xb - xa) * 0.5 * math.pi * np.sin(math.pi * t)
    u1 = np.exp(x)
    s1 = u1 + m * m
    a, b = s2_limits(s, s1, m, M)
    ya, yb = np.log(np.maximum(a - m * m, 1e-300)), np.log(b - m * m)
    tt, wtt = _gauss_01(n_inner)
    # inner variable also cosine-mapped (sqrt edges in s2 at fixed s1)
    y = ya[:, None] + (yb - ya)[:, None] * 0.5 * (1.0 - np.cos(math.pi * tt))[None, :]
    jy = (yb - ya)[:, None] * 0.5 * math.pi * np.sin(math.pi * tt)[None, :]
    u2 = np.exp(y)
    s1g = np.broadcast_to(s1[:, None], u2.shape).ravel()
    s2g = (u2 + m * m).ravel()
    dsig, _, _ = mumuv_dsigma_ds1ds2_fb(np.full(s1g.shape, sqrt_s), s1g, s2g, M, g, m)
    integrand = dsig.reshape(u2.shape) * u2 * jy * u1[:, None] * jx[:, None]
    return float(np.sum(integrand * wtt[None, :] * wt[:, None]))


@lru_cache(maxsize=4096)
def _mumuv_xsec_cached(M: float, sqrt_s: float, n_outer: int, n_inner: int) -> float:
    return _mumuv_xsec_one(M, 1.0, sqrt_s, n_outer, n_inner)


def zprime_xsec_fb(
    mass: FloatLike,
    g: float = 0.01,
    sqrt_s: float = C.SQRT_S_NOMINAL,
    n_outer: int = 48,
    n_inner: int = 24,
) -> np.ndarray | float:
    """sigma(e+e- -> mu+ mu- Z') [fb], Z' on shell, before its decay; vectorised over ``mass``.

    Tree-level matrix element with the muon mass kept (no ISR, no running alpha),
    integrated with two nested Gauss-Legendre quadratures in log(s1 - m^2),
    log(s2 - m^2); ~1e-4 relative accuracy at the default orders (tested).
    sigma is computed at g' = 1 (cached per mass) and scaled by g'^2.
    """
    if not np.isfinite(g):
        raise ValueError(f"zprime_xsec_fb: coupling g={g} must be finite")
    M = _check_mass("mass", mass, sqrt_s - 2.0 * C.M_MU, "zprime_xsec_fb")
    out = np.array([_mumuv_xsec_cached(float(x), float(sqrt_s), n_outer, n_inner) for x in M.ravel()])
    out = out.reshape(M.shape) * g * g
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------
# Dark Higgsstrahlung e+e- -> A' h'
# --------------------------------------------------------------------------
def _beta2(sqrt_s: float, m1: np.ndarray, m2: np.ndarray) -> np.ndarray:
    s = sqrt_s**2
    return np.sqrt(np.maximum((1.0 - (m1 + m2) ** 2 / s) * (1.0 - (m1 - m2) ** 2 / s), 0.0))


def darkhiggs_xsec_fb(
    mA: FloatLike, mh: FloatLike, eps: float = 1.0, alpha_D: float = 1.0, sqrt_s: float = C.SQRT_S_NOMINAL
) -> np.ndarray | float:
    """sigma(e+e- -> A' h') [fb], Batell, Pospelov, Ritz, PRD 79, 115008 (2009), eq. for A'-strahlung:

        sigma = pi alpha alpha_D eps^2 / (3 s) * beta (beta^2 + 12 mA^2 / s) / (1 - mA^2/s)^2,
        beta^2 = [1 - (mA + mh)^2/s][1 - (mA - mh)^2/s].

    Same structure as SM Higgsstrahlung (e+e- -> Z h); re-derived here with the
    A'A'h' vertex 2 g_D m_A' (tests: the generator's angular distribution
    integrates to it). Only eps^2 * alpha_D is physical; defaults 1 so the
    result is sigma / (eps^2 alpha_D).
    """
    what = "darkhiggs_xsec_fb"
    a = _check_mass("mA", mA, sqrt_s, what)
    h = _check_mass("mh", mh, sqrt_s, what)
    if np.any(a + h >= sqrt_s):
        raise ValueError(f"{what}: mA + mh = {np.max(a + h):.4f} GeV must be below sqrt(s) = {sqrt_s} GeV")
    if eps < 0 or alpha_D < 0:
        raise ValueError(f"{what}: eps={eps} and alpha_D={alpha_D} must be >= 0")
    s = sqrt_s**2
    b = _beta2(sqrt_s, a, h)
    sig = math.pi * C.ALPHA_EM * alpha_D * eps**2 / (3.0 * s) * b * (b * b + 12.0 * a * a / s) / (1.0 - a * a / s) ** 2
    out = sig * C.GEV2_TO_FB
    return float(out) if np.ndim(out) == 0 else out


def aprime_branching_fractions(mass: FloatLike) -> dict[str, np.ndarray]:
    """B(A' -> ee, mu mu, tau tau, hadrons) of a dark photon with SM decays only (h' lighter than A' and no
    dark-matter channel): Gamma_ll ~ (1 + 2 m_l^2/M^2) sqrt(1 - 4 m_l^2/M^2), Gamma_had = R(M) Gamma_mumu with
    the continuum R of constants.DARK_PHOTON_R_KNOTS (valid above ~1.1 GeV: the rho/omega/phi region is not
    modelled, so masses below the first knot are refused)."""
    M = _check_mass("mass", mass, math.inf, "aprime_branching_fractions")
    knots = np.array(C.DARK_PHOTON_R_KNOTS)
    if np.any(M < knots[0, 0]):
        raise ValueError(f"aprime_branching_fractions: mass={mass} GeV below {knots[0, 0]} GeV (R not modelled)")

    def ll(m_lep: float) -> np.ndarray:
        r = np.clip(m_lep**2 / M**2, 0.0, 0.25)
        return (1.0 + 2.0 * r) * np.sqrt(1.0 - 4.0 * r)

    w = {"ee": ll(C.M_E), "mumu": ll(C.M_MU), "tautau": ll(C.M_TAU)}
    w["hadrons"] = np.interp(M, knots[:, 0], knots[:, 1]) * w["mumu"]
    tot = sum(w.values())
    return {k: v / tot for k, v in w.items()}


def darkhiggs_angular_weight(cos_theta: np.ndarray, mA: float, mh: float, sqrt_s: float) -> np.ndarray:
    """d sigma / d cos(theta_A') up to a constant: beta^2 s sin^2(theta) / 4 + 2 mA^2 (<= 1 after / max)."""
    s = sqrt_s**2
    k2 = s * _beta2(sqrt_s, np.asarray(mA), np.asarray(mh)) ** 2 / 4.0
    return (k2 * (1.0 - cos_theta**2) + 2.0 * mA * mA) / (k2 + 2.0 * mA * mA)


# --------------------------------------------------------------------------
# Mono-photon e+e- -> gamma A'
# --------------------------------------------------------------------------
DEFAULT_MONOPHOTON_THETA = (math.radians(20.0), math.radians(160.0))  # CMS polar range of the photon [rad]


def monophoton_dsigma_dcos_fb(cos_theta: np.ndarray, mA: float, eps: float = 1.0, sqrt_s: float = C.SQRT_S_NOMINAL):
    """d sigma / d cos(theta*_gamma) [fb]  (Essig et al. 2013; derived from e+e- -> gamma gamma*):

    (2 pi alpha^2 eps^2 / s) (1 - M^2/s) [(1 + c^2) + 4 s M^2/(s - M^2)^2] / (1 - c^2).
    """
    s = sqrt_s**2
    a = 4.0 * s * mA**2 / (s - mA**2) ** 2
    c = np.asarray(cos_theta)
    pre = 2.0 * math.pi * C.ALPHA_EM**2 * eps**2 / s * (1.0 - mA**2 / s)
    return pre * ((1.0 + c * c) + a) / (1.0 - c * c) * C.GEV2_TO_FB


def monophoton_xsec_fb(
    mA: FloatLike,
    eps: float = 1.0,
    theta_range: tuple[float, float] = DEFAULT_MONOPHOTON_THETA,
    sqrt_s: float = C.SQRT_S_NOMINAL,
) -> np.ndarray | float:
    """sigma(e+e- -> gamma A') [fb] for a CMS photon polar angle in ``theta_range`` [rad] (analytic integral).

    The integral of [(1 + c^2) + a] / (1 - c^2) is -c + (2 + a) artanh(c).
    Tree level (no ISR); diverges for theta -> 0, pi, hence the range.
    """
    what = "monophoton_xsec_fb"
    M = _check_mass("mA", mA, sqrt_s, what)
    t0, t1 = theta_range
    if not (0.0 < t0 < t1 < math.pi):
        raise ValueError(f"{what}: theta_range={theta_range} must satisfy 0 < theta_min < theta_max < pi (radians)")
    s = sqrt_s**2
    a = 4.0 * s * M**2 / (s - M**2) ** 2
    c0, c1 = math.cos(t1), math.cos(t0)

    def prim(c: float) -> np.ndarray:
        return -c + (2.0 + a) * math.atanh(c)

    pre = 2.0 * math.pi * C.ALPHA_EM**2 * eps**2 / s * (1.0 - M**2 / s)
    out = pre * (prim(c1) - prim(c0)) * C.GEV2_TO_FB
    return float(out) if np.ndim(out) == 0 else out


# --------------------------------------------------------------------------
# Registry interface: process name -> sigma(**sample params) [fb] (including
# the branching fraction of the decay the sample generates).
# --------------------------------------------------------------------------
def _zp(channel: str) -> Callable[..., float]:
    def f(mass: float, coupling: float = 0.01, invisible_extra: bool = False, **_: object) -> float:
        bf = zprime_branching_fractions(mass, invisible_extra=invisible_extra)[channel]
        return float(zprime_xsec_fb(mass, coupling) * bf)

    f.__doc__ = f"sigma(e+e- -> mu mu Z') x BF(Z' -> {channel}) [fb]"
    return f


def _dh(mass: float, mass2: float, coupling: float = 1.0, alpha_D: float = 1.0, **_: object) -> float:
    """Dark Higgsstrahlung x BF(A' -> mu mu) = 1 (A' below other visible thresholds is not modelled): fb.

    ``coupling`` = eps; the result scales as eps^2 alpha_D.
    """
    return float(darkhiggs_xsec_fb(mass, mass2, coupling, alpha_D))


def _idm(mass: float, mass2: float, coupling: float = 1.0, alpha_D: float = 1.0, **_: object) -> float:
    """iDM: sigma(A' h') x BF(A' -> chi1 chi2) = 1 (A' decays dark when allowed, alpha_D >> alpha eps^2)."""
    return float(darkhiggs_xsec_fb(mass, mass2, coupling, alpha_D))


def _mono(mass: float, coupling: float = 1.0, theta_range=DEFAULT_MONOPHOTON_THETA, **_: object) -> float:
    return float(monophoton_xsec_fb(mass, coupling, tuple(theta_range)))


def _scalar_mumu(mass: float, coupling: float = 0.01, **params: object) -> float:
    """sigma(e+e- -> mu mu S) x BF(S -> mu mu) = 1 [fb], muonphilic scalar (samples/generator/scalar.py)."""
    from samples.generator import scalar  # lazy: scalar.py imports this module

    return scalar.xsec_scalar_mumu(mass, coupling, **params)


def _scalar_tautau(mass: float, coupling: float = 10.0, **params: object) -> float:
    """sigma(e+e- -> mu mu S) x BF(S -> tau tau) [fb], leptophilic scalar, coupling = xi (generator/scalar.py)."""
    from samples.generator import scalar  # lazy: scalar.py imports this module

    return scalar.xsec_scalar_tautau(mass, coupling, **params)


def _alp_tautau(mass: float, coupling: float = 0.01, **params: object) -> float:
    """sigma(e+e- -> mu mu a) x BF(a -> tau tau) [fb], ALP, coupling = g_a (samples/generator/scalar.py)."""
    from samples.generator import scalar  # lazy: scalar.py imports this module

    return scalar.xsec_alp_tautau(mass, coupling, **params)


XSEC: dict[str, Callable[..., float]] = {
    "zprime_inv": _zp("invisible"),
    "zprime_mumu": _zp("mumu"),
    "zprime_tautau": _zp("tautau"),
    "dark_higgsstrahlung": _dh,
    "darkhiggs": _dh,
    "idm": _idm,
    "idm_mumu": _idm,
    "idm_pipi": _idm,
    "idm_kk": _idm,
    "monophoton": _mono,
    "scalar_mumu": _scalar_mumu,
    "scalar_tautau": _scalar_tautau,
    "alp_tautau": _alp_tautau,
}


def _table() -> None:
    masses = np.array([0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    sig = zprime_xsec_fb(masses, 0.01)
    print(f"sigma(e+e- -> mu+ mu- Z') at g' = 0.01, sqrt(s) = {C.SQRT_S_NOMINAL} GeV (tree level, no ISR)")
    print(
        f"{'M [GeV]':>8} {'sigma [fb]':>11} {'BF(inv)':>8} {'BF(mumu)':>9} {'BF(tautau)':>10} "
        f"{'sigma*BF(inv) [fb]':>19}"
    )
    bf = zprime_branching_fractions(masses)
    for i, mz in enumerate(masses):
        print(
            f"{mz:8.2f} {sig[i]:11.4g} {bf['invisible'][i]:8.3f} {bf['mumu'][i]:9.3f} "
            f"{bf['tautau'][i]:10.3f} {sig[i] * bf['invisible'][i]:19.4g}"
        )


if __name__ == "__main__":
    _table()

"""Independent reference for e+e- -> mu+ mu- S (scalar vertex 1 or pseudoscalar vertex gamma5): explicit spinors,
Monte Carlo phase space.

Nothing here uses the analytic traces of samples/generator/scalar.py, nor its quadrature, nor the
Lorentz helpers of the product code:

* Dirac matrices, u / v spinors and the helicity amplitudes are rebuilt here; the amplitude keeps the
  full propagator numerators (k1 + q + m), (-k2 - q + m), i.e. no Dirac-equation reduction;
* the e+ e- beams are explicit (along +-z), no orientation averaging;
* phase space is sequential two-body decays P -> mu + (mu S), (mu S) -> mu S with the two pairings as two
  Monte Carlo channels (multi-channel weight), the pair mass drawn from a log / uniform mix in
  m^2 - m_mu^2 (the collinear peak), angles uniform.
"""

from __future__ import annotations

import math

import numpy as np

from samples import constants as C

# Physical constants are inputs, not code: taken from samples.constants so the comparison is like for like.
ALPHA = C.ALPHA_EM
GEV2_TO_FB = C.GEV2_TO_FB
M_MU = C.M_MU

_SIG = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)
_Z = np.zeros((2, 2), dtype=complex)
GAMMA = np.array(
    [np.block([[np.eye(2), _Z], [_Z, -np.eye(2)]])] + [np.block([[_Z, s], [-s, _Z]]) for s in _SIG]
)  # gamma^mu, Dirac representation
ETA = np.array([1.0, -1.0, -1.0, -1.0])
GAMMA5 = 1j * GAMMA[0] @ GAMMA[1] @ GAMMA[2] @ GAMMA[3]
VERTEX = {"scalar": np.eye(4, dtype=complex), "pseudoscalar": 1j * GAMMA5}  # g S lbar l, i g a lbar gamma5 l


def mink(p: np.ndarray) -> np.ndarray:
    """(px, py, pz, E) -> (E, px, py, pz)."""
    return np.concatenate([p[..., 3:], p[..., :3]], axis=-1)


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[..., 3] * b[..., 3] - np.sum(a[..., :3] * b[..., :3], axis=-1)


def pslash(p: np.ndarray) -> np.ndarray:
    """p_mu gamma^mu, (n, 4, 4), p in (px, py, pz, E)."""
    return np.einsum("nm,mij->nij", (mink(p) * ETA).astype(complex), GAMMA)


def u_spinors(p: np.ndarray, m: float) -> np.ndarray:
    """(n, 2, 4): u(p, s) = [sqrt(E+m) xi; sigma.p xi / sqrt(E+m)], xi = (1,0), (0,1)."""
    e = np.sqrt(p[:, 3] + m)
    sp = np.einsum("ni,ijk->njk", p[:, :3].astype(complex), _SIG)
    top = e[:, None, None] * np.eye(2)[None]
    bot = np.swapaxes(sp, 1, 2) / e[:, None, None]  # row s = sigma.p xi_s
    return np.concatenate([top, bot], axis=-1)


def v_spinors(p: np.ndarray, m: float) -> np.ndarray:
    """(n, 2, 4): v(p, s) = [sigma.p eta / sqrt(E+m); sqrt(E+m) eta]."""
    e = np.sqrt(p[:, 3] + m)
    sp = np.einsum("ni,ijk->njk", p[:, :3].astype(complex), _SIG)
    top = np.swapaxes(sp, 1, 2) / e[:, None, None]
    bot = e[:, None, None] * np.eye(2)[None]
    return np.concatenate([top, bot], axis=-1)


def bar(sp: np.ndarray) -> np.ndarray:
    return np.einsum("nsi,ij->nsj", sp.conj(), GAMMA[0])


def msq_scalar(p1, p2, k1, k2, q, g: float = 1.0, m: float = M_MU, parity: str = "scalar") -> np.ndarray:
    """sum over all spins of |M|^2 for e-(p1) e+(p2) -> mu-(k1) mu+(k2) S(q), massless electrons; the vertex
    matrix (1 or i gamma5) sits at the emission point, next to the full propagator numerator."""
    vtx = VERTEX[parity]
    n = k1.shape[0]
    e2 = 4.0 * math.pi * ALPHA
    s = dot(p1 + p2, p1 + p2)
    # beam current J^mu_{ab} = vbar_a(p2) gamma^mu u_b(p1), lowered for the contraction
    jb = np.einsum("nai,mij,nbj->nabm", bar(v_spinors(p2, 0.0)), GAMMA, u_spinors(p1, 0.0)).reshape(n, 4, 4)
    jb = jb * ETA
    i4 = np.eye(4)
    s1 = pslash(k1 + q) + m * i4
    s2 = -pslash(k2 + q) + m * i4
    d1 = dot(k1 + q, k1 + q) - m * m
    d2 = dot(k2 + q, k2 + q) - m * m
    ub = bar(u_spinors(k1, m))  # (n, 2, 4)
    v = v_spinors(k2, m)
    left1 = np.einsum("nsi,ik,nkj->nsj", ub, vtx, s1) / d1[:, None, None]  # ubar V (k1+q+m) / D1
    right2 = np.einsum("nij,jk,ntk->nti", s2, vtx, v) / d2[:, None, None]  # (-k2-q+m) V v / D2
    # muon current K^mu_{st} = ubar_s Gamma^mu v_t
    k_cur = np.einsum("nsi,mij,ntj->nstm", left1, GAMMA, v) + np.einsum("nsi,mij,ntj->nstm", ub, GAMMA, right2)
    amp = np.einsum("nhm,nstm->nhst", jb, k_cur.reshape(n, 2, 2, 4))
    return e2 * e2 * g * g / (s * s) * np.sum(np.abs(amp) ** 2, axis=(1, 2, 3))


# ------------------------------------------------------------------ phase space
def _kallen_p(M, m1, m2):
    lam = (M * M - (m1 + m2) ** 2) * (M * M - (m1 - m2) ** 2)
    return np.sqrt(np.maximum(lam, 0.0)) / (2.0 * M)


def _two_body(rng, M, m1, m2):
    """Isotropic decay at rest; returns (d1, d2) in (px, py, pz, E) and the momentum."""
    n = np.shape(M)[0]
    p = _kallen_p(M, m1, m2)
    c = rng.uniform(-1, 1, n)
    ph = rng.uniform(0, 2 * math.pi, n)
    sn = np.sqrt(1 - c * c)
    d = p[:, None] * np.stack([sn * np.cos(ph), sn * np.sin(ph), c], axis=1)
    e1 = np.sqrt(p * p + m1 * m1)
    e2 = np.sqrt(p * p + m2 * m2)
    return np.concatenate([d, e1[:, None]], 1), np.concatenate([-d, e2[:, None]], 1), p


def _boost(v, parent):
    b = parent[:, :3] / parent[:, 3:4]
    b2 = np.sum(b * b, axis=1)
    gam = 1.0 / np.sqrt(1.0 - b2)
    bp = np.sum(b * v[:, :3], axis=1)
    k = np.where(b2 > 0, (gam - 1.0) / np.where(b2 > 0, b2, 1.0), 0.0)
    p3 = v[:, :3] + (k * bp + gam * v[:, 3])[:, None] * b
    return np.concatenate([p3, (gam * (v[:, 3] + bp))[:, None]], axis=1)


_F_LOG = 0.7


def _mix_density(u, lo, hi):
    return _F_LOG / (u * math.log(hi / lo)) + (1 - _F_LOG) / (hi - lo)


def phase_space_points(rng: np.random.Generator, n: int, M: float, sqrt_s: float, m: float = M_MU):
    """n points of mu-(k1) mu+(k2) S(q) phase space with weights w such that E[f w] = int f dPhi_3."""
    lo, hi = (m + M) ** 2 - m * m, (sqrt_s - m) ** 2 - m * m
    use_log = rng.uniform(size=n) < _F_LOG
    r = rng.uniform(size=n)
    u = np.where(use_log, lo * (hi / lo) ** r, lo + (hi - lo) * r)
    mx = np.sqrt(u + m * m)
    rs = np.full(n, sqrt_s)
    ka, x, _ = _two_body(rng, rs, m, mx)  # spectator muon and the (mu S) system
    kb, q, _ = _two_body(rng, mx, m, M)
    kb, q = _boost(kb, x), _boost(q, x)
    first = rng.uniform(size=n) < 0.5  # channel: which muon pairs with S
    k1 = np.where(first[:, None], kb, ka)
    k2 = np.where(first[:, None], ka, kb)

    def density(kspec, kpair):  # density of the point in the channel "kpair pairs with S", w.r.t. dPhi_3
        ux = dot(kpair + q, kpair + q) - m * m
        mxx = np.sqrt(ux + m * m)
        pa = _kallen_p(rs, m, mxx)
        pb = _kallen_p(mxx, m, M)
        jac = pa / (16 * math.pi**2 * sqrt_s) * pb / (16 * math.pi**2 * mxx) / (2 * math.pi) * (4 * math.pi) ** 2
        return _mix_density(ux, lo, hi) / jac

    w = 1.0 / (0.5 * density(k2, k1) + 0.5 * density(k1, k2))
    return k1, k2, q, w


def beams(n: int, sqrt_s: float):
    z = np.zeros(n)
    e = np.full(n, sqrt_s / 2)
    return np.stack([z, z, e, e], 1), np.stack([z, z, -e, e], 1)


def xsec_mc_fb(M: float, sqrt_s: float, n: int, rng: np.random.Generator, chunk: int = 50_000, parity: str = "scalar"):
    """sigma(e+e- -> mu mu S) at g_S = 1 [fb] by Monte Carlo: (estimate, standard error)."""
    vals = []
    for a in range(0, n, chunk):
        k = min(chunk, n - a)
        k1, k2, q, w = phase_space_points(rng, k, M, sqrt_s)
        p1, p2 = beams(k, sqrt_s)
        vals.append(msq_scalar(p1, p2, k1, k2, q, parity=parity) / 4.0 * w / (2 * sqrt_s**2) * GEV2_TO_FB)
    v = np.concatenate(vals)
    return float(v.mean()), float(v.std() / math.sqrt(v.size))


def width_mumu_reference(
    M: float, g: float, rng: np.random.Generator, m: float = M_MU, parity: str = "scalar"
) -> float:
    """Gamma(S -> mu+ mu-) = 1/(2M) int sum_spins |g ubar(k1) v(k2)|^2 dPhi_2, by Monte Carlo over isotropic decay
    directions (int dPhi_2 = p / (4 pi M)); exact for a scalar up to rounding, since |M|^2 is isotropic."""
    rest = np.tile([0.0, 0.0, 0.0, M], (64, 1))
    k1, k2, p = _two_body(rng, rest[:, 3], m, m)
    amp = np.einsum("nsi,ij,ntj->nst", bar(u_spinors(k1, m)), VERTEX[parity], v_spinors(k2, m))
    msq = g * g * np.sum(np.abs(amp) ** 2, axis=(1, 2))
    return float(np.mean(msq / (2 * M) * p / (4 * math.pi * M)))

"""Tree-level matrix elements for the dark-sector signals, evaluated numerically in numpy.

e+(p2) e-(p1) -> gamma* -> mu-(k1) mu+(k2) V(q), with a vector boson V (the
L_mu - L_tau Z') of mass M radiated off either final-state muon, vector coupling
g' and the full muon mass kept. The amplitude is

    M = (e^2 g' / s) [vbar(p2) gamma_mu u(p1)] [ubar(k1) Gamma^{alpha mu} v(k2)] eps*_alpha(q),
    Gamma^{alpha mu} = gamma^alpha (k1+q+m) gamma^mu / D1 + gamma^mu (-k2-q+m) gamma^alpha / D2,
    D1 = (k1+q)^2 - m^2,  D2 = (k2+q)^2 - m^2.

The muon ("hadronic") tensor H^{mu nu} = sum_pol Tr[(k1+m) Gamma (k2-m) Gammabar]
is computed from explicit 4x4 Dirac matrices, batched over events with einsum:
no analytic trace has to be trusted. The V polarisation sum is -g_{alpha beta}:
the q_alpha q_beta / M^2 term drops because the abelian current is conserved
(tests check this against explicit physical polarisation vectors).

Why a tensor and not |M|^2 directly: the e+e- tensor L_{mu nu} is the only place
the beam direction enters. Averaged over all orientations it becomes
(4 s / 3) (-g_{mu nu} + Q_mu Q_nu / s), so the total cross section needs only
the trace -H^mu_mu on the two Dalitz variables; for a given final state the beam
direction n then follows a known quadratic form n^T H n (see
:func:`beam_direction_weight`), which the generator samples exactly.

Four-vectors follow samples.generator.lorentz: (..., 4) ordered (px, py, pz, E).
"""

from __future__ import annotations

import numpy as np

# Dirac representation, upper index: gamma^0, gamma^1, gamma^2, gamma^3.
_I2 = np.eye(2, dtype=complex)
_Z2 = np.zeros((2, 2), dtype=complex)
PAULI = np.array(
    [[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]],
    dtype=complex,
)
GAMMA = np.empty((4, 4, 4), dtype=complex)
GAMMA[0] = np.block([[_I2, _Z2], [_Z2, -_I2]])
for _i in range(3):
    GAMMA[_i + 1] = np.block([[_Z2, PAULI[_i]], [-PAULI[_i], _Z2]])
METRIC = np.array([1.0, -1.0, -1.0, -1.0])  # g_{mu mu}, diagonal
ID4 = np.eye(4, dtype=complex)


def to_minkowski(p: np.ndarray) -> np.ndarray:
    """(px, py, pz, E) -> contravariant (E, px, py, pz)."""
    return np.concatenate([p[..., 3:4], p[..., :3]], axis=-1)


def mdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minkowski product of (..., 4) arrays in the (px, py, pz, E) convention."""
    return a[..., 3] * b[..., 3] - np.sum(a[..., :3] * b[..., :3], axis=-1)


def slash(p: np.ndarray) -> np.ndarray:
    """p_mu gamma^mu for (n, 4) momenta in the (px, py, pz, E) convention -> (n, 4, 4)."""
    pm = to_minkowski(p) * METRIC  # lower index
    return np.einsum("nm,mij->nij", pm.astype(complex), GAMMA)


def muon_tensor_v(k1: np.ndarray, k2: np.ndarray, q: np.ndarray, m: float) -> np.ndarray:
    """Real symmetric part of H^{mu nu} (contravariant, (n, 4, 4), Minkowski order (E, x, y, z)).

    mu-(k1) mu+(k2) V(q), V radiated off either muon, summed over muon spins and
    V polarisations (-g), couplings stripped (multiply by e^2 g'^2 elsewhere).
    """
    n = k1.shape[0]
    a_mat, b_mat = _ab_matrices(k1, k2, q, m)
    # sum over alpha with -g_{alpha alpha}; Tr[A B] = sum_ij A_ij B_ji
    a_flat = (a_mat * (-METRIC)[None, :, None, None, None]).reshape(n, 4, 4, 16)
    b_flat = np.swapaxes(b_mat, -1, -2).reshape(n, 4, 4, 16)
    h = np.einsum("namk,navk->nmv", a_flat, b_flat, optimize=True)
    return np.ascontiguousarray(0.5 * (h.real + np.swapaxes(h.real, 1, 2)))


def _ab_matrices(k1: np.ndarray, k2: np.ndarray, q: np.ndarray, m: float) -> tuple[np.ndarray, np.ndarray]:
    """A[n, a, mu] = (k1+m) Gamma^{a mu} and B[n, b, nu] = (k2-m) Gammabar^{b nu}, each (n, 4, 4, 4, 4)."""
    left = slash(k1) + m * ID4  # sum u ubar
    right = slash(k2) - m * ID4  # sum v vbar
    s1 = slash(k1 + q) + m * ID4  # propagator numerators
    s2 = -slash(k2 + q) + m * ID4
    d1 = (mdot(k1 + q, k1 + q) - m * m)[:, None, None, None, None]
    d2 = (mdot(k2 + q, k2 + q) - m * m)[:, None, None, None, None]
    g = GAMMA[None]
    lg = left[:, None] @ g  # (n, a, 4, 4): (k1 + m) gamma^a
    rg = right[:, None] @ g
    lgs1, lgs2 = lg @ s1[:, None], lg @ s2[:, None]
    rgs1, rgs2 = rg @ s1[:, None], rg @ s2[:, None]
    # Gammabar^{b nu} = gamma^nu S1 gamma^b / D1 + gamma^b S2 gamma^nu / D2 (Dirac conjugate).
    a_mat = (lgs1[:, :, None] @ GAMMA[None, None]) / d1 + (lgs2[:, None, :] @ GAMMA[None, :, None]) / d2
    b_mat = (rgs1[:, None, :] @ GAMMA[None, :, None]) / d1 + (rgs2[:, :, None] @ GAMMA[None, None]) / d2
    return a_mat, b_mat


def vector_production_density(
    k1: np.ndarray, k2: np.ndarray, q: np.ndarray, m: float, sqrt_s: np.ndarray
) -> np.ndarray:
    """Unnormalised spin density matrix P^{ab} (contravariant, real symmetric part) of the radiated V.

    P^{ab} = L_{mu nu} Tr[(k1+m) Gamma^{a mu} (k2-m) Gammabar^{b nu}] with the e- beam along +z and
    the e+ along -z (massless). Contracted with the V decay tensor it gives the full spin-correlated
    |M|^2 of e+e- -> mu mu (V -> f fbar) in the narrow-width limit.
    """
    n = k1.shape[0]
    a_mat, b_mat = _ab_matrices(k1, k2, q, m)
    e = sqrt_s / 2.0
    z = np.zeros(n)
    p1 = np.stack([e, z, z, e], axis=1) * METRIC  # lower index, Minkowski order (E, x, y, z)
    p2 = np.stack([e, z, z, -e], axis=1) * METRIC
    lower = 4.0 * (
        p1[:, :, None] * p2[:, None, :]
        + p2[:, :, None] * p1[:, None, :]
        - np.diag(METRIC)[None] * (2.0 * e * e)[:, None, None]
    )
    a_flat = a_mat.reshape(n, 4, 4, 16)
    b_flat = np.swapaxes(b_mat, -1, -2).reshape(n, 4, 4, 16)
    dens = np.einsum("nmv,namk,nbvk->nab", lower.astype(complex), a_flat, b_flat, optimize=True)
    return np.ascontiguousarray(0.5 * (dens.real + np.swapaxes(dens.real, 1, 2)))


def vector_decay_weight(dens: np.ndarray, f1: np.ndarray, f2: np.ndarray, mf: float, M: float) -> np.ndarray:
    """W / (1.5 <W>) in [0, 1] for V -> f(f1) fbar(f2) with a vector coupling, given P^{ab} from
    :func:`vector_production_density`.

    W = P^{ab} D_ab, D_ab = 4 [f1_a f2_b + f2_a f1_b - g_ab (f1.f2 + mf^2)]; its average over decay
    angles is (4/3)(M^2 + 2 mf^2)(-g_ab P^{ab}) (P is transverse), and W <= <W> / (1 - beta^2/3) <= 1.5 <W>.
    """
    a = to_minkowski(f1) * METRIC
    b = to_minkowski(f2) * METRIC
    c = mdot(f1, f2) + mf * mf
    w = 4.0 * (2.0 * np.einsum("na,nab,nb->n", a, dens, b) - c * np.einsum("naa,a->n", dens, METRIC))
    avg = (4.0 / 3.0) * (M * M + 2.0 * mf * mf) * (-np.einsum("naa,a->n", dens, METRIC))
    return w / (1.5 * avg)


def muon_tensor_chunked(k1: np.ndarray, k2: np.ndarray, q: np.ndarray, m: float, chunk: int = 4096) -> np.ndarray:
    """:func:`muon_tensor_v` in chunks (the intermediate arrays hold 256 complex numbers per event)."""
    out = np.empty((k1.shape[0], 4, 4))
    for a in range(0, k1.shape[0], chunk):
        b = a + chunk
        out[a:b] = muon_tensor_v(k1[a:b], k2[a:b], q[a:b], m)
    return out


def trace_lower(h: np.ndarray) -> np.ndarray:
    """g_{mu nu} H^{mu nu}."""
    return np.einsum("nmm,m->n", h, METRIC)


def orientation_averaged_lh(h: np.ndarray, s: np.ndarray | float) -> np.ndarray:
    """<L_{mu nu} H^{mu nu}> over beam orientations, massless beams: -(4 s / 3) g_{mu nu} H^{mu nu}."""
    return -(4.0 / 3.0) * np.asarray(s) * trace_lower(h)


def beam_direction_weight(h: np.ndarray, s: np.ndarray | float, n: np.ndarray) -> np.ndarray:
    """L_{mu nu} H^{mu nu} for an e- beam along unit vector n (n, 3) (e+ along -n), massless beams.

    With p1 = E(1, n), p2 = E(1, -n): L H = 2 s [H^00 - n_i n_j H^ij - g_{mu nu} H^{mu nu}].
    Even in n, so the beam direction can be folded onto a hemisphere.
    """
    hs = h[:, 1:, 1:]
    quad = np.einsum("ni,nij,nj->n", n, hs, n)
    return 2.0 * np.asarray(s) * (h[:, 0, 0] - quad - trace_lower(h))


def lepton_tensor_contract(a: np.ndarray, b: np.ndarray, ma_mb: float, c: np.ndarray, d: np.ndarray, mc2: float):
    """(a^mu b^nu + b^mu a^nu - g^{mu nu} A)(c_mu d_nu + d_mu c_nu - g_{mu nu} C) for A = a.b + ma_mb, C = c.d + mc2.

    Building block for spin-summed fermion-current products (times 16 for the two
    traces 4 [...] each). Used for chi2 -> chi1 e+ e- and A' -> mu mu correlations.
    """
    A = mdot(a, b) + ma_mb
    C = mdot(c, d) + mc2
    return (
        2.0 * mdot(a, c) * mdot(b, d)
        + 2.0 * mdot(a, d) * mdot(b, c)
        - 2.0 * A * mdot(c, d)
        - 2.0 * C * mdot(a, b)
        + 4.0 * A * C
    )

"""Small vectorised Lorentz-kinematics helpers shared by the generators and the pipeline.

Convention: a four-vector array has shape ``(n, 4)`` ordered ``(px, py, pz, E)``;
three-vectors are ``(n, 3)``. Every function works on whole columns (no loop over
events) and never modifies its inputs.
"""

from __future__ import annotations

import numpy as np

FloatArray = np.ndarray


def p4(px: FloatArray, py: FloatArray, pz: FloatArray, E: FloatArray) -> FloatArray:
    """Stack components into an (n, 4) four-vector array."""
    return np.stack(np.broadcast_arrays(px, py, pz, E), axis=-1).astype(np.float64)


def from_mass(p3: FloatArray, m: FloatArray | float) -> FloatArray:
    """Four-vectors of particles with momenta ``p3`` (n, 3) and mass ``m``."""
    e = np.sqrt(np.sum(p3 * p3, axis=-1) + np.asarray(m, dtype=np.float64) ** 2)
    return np.concatenate([p3, e[..., None]], axis=-1)


def mass2(v: FloatArray) -> FloatArray:
    """Invariant mass squared of (n, 4) four-vectors."""
    return v[..., 3] ** 2 - np.sum(v[..., :3] ** 2, axis=-1)


def mass(v: FloatArray) -> FloatArray:
    """Invariant mass (negative mass-squared clipped to 0)."""
    return np.sqrt(np.maximum(mass2(v), 0.0))


def two_body_momentum(M: FloatArray | float, m1: FloatArray | float, m2: FloatArray | float) -> FloatArray:
    """Daughter momentum in the rest frame of a mother of mass M (Kallen function).

    Returns NaN where the decay is kinematically forbidden, so callers can check.
    """
    M = np.asarray(M, dtype=np.float64)
    lam = (M**2 - (np.asarray(m1) + m2) ** 2) * (M**2 - (np.asarray(m1) - m2) ** 2)
    with np.errstate(invalid="ignore"):
        return np.where(lam >= 0, np.sqrt(np.maximum(lam, 0.0)) / (2.0 * M), np.nan)


def random_directions(rng: np.random.Generator, n: int) -> tuple[FloatArray, FloatArray]:
    """Isotropic (cos_theta, phi) pairs."""
    return rng.uniform(-1.0, 1.0, n), rng.uniform(0.0, 2.0 * np.pi, n)


def unit_vectors(cos_theta: FloatArray, phi: FloatArray) -> FloatArray:
    """(n, 3) unit vectors from polar cosine and azimuth."""
    sin_theta = np.sqrt(np.maximum(1.0 - cos_theta**2, 0.0))
    return np.stack([sin_theta * np.cos(phi), sin_theta * np.sin(phi), cos_theta], axis=-1)


def two_body_decay_rest(
    M: FloatArray | float,
    m1: FloatArray | float,
    m2: FloatArray | float,
    cos_theta: FloatArray,
    phi: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Daughters (n, 4) of a decay at rest; daughter 1 along (cos_theta, phi)."""
    p = np.asarray(two_body_momentum(M, m1, m2))
    d = unit_vectors(cos_theta, phi) * p[..., None]
    return from_mass(d, m1), from_mass(-d, m2)


def boost(v: FloatArray, beta: FloatArray) -> FloatArray:
    """Boost four-vectors ``v`` (n, 4) by velocity ``beta`` (n, 3) or (3,).

    A particle at rest ends up with velocity ``+beta``. Written per component:
    it is the hot loop of the lab transformation.
    """
    beta = np.asarray(beta, dtype=np.float64)
    bx, by, bz = beta[..., 0], beta[..., 1], beta[..., 2]
    x, y, z, e = v[..., 0], v[..., 1], v[..., 2], v[..., 3]
    b2 = bx * bx + by * by + bz * bz
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = bx * x + by * y + bz * z
    # (gamma - 1)/b2 written as gamma^2/(gamma + 1): finite at beta = 0.
    coef = gamma * gamma / (gamma + 1.0) * bp + gamma * e
    out = np.empty(np.broadcast_shapes(v.shape, (*beta.shape[:-1], 4)), dtype=np.float64)
    out[..., 0] = x + coef * bx
    out[..., 1] = y + coef * by
    out[..., 2] = z + coef * bz
    out[..., 3] = gamma * (e + bp)
    return out


def boost_from_rest_of(v: FloatArray, parent: FloatArray) -> FloatArray:
    """Take daughters defined in the parent's rest frame into the frame where the parent is ``parent``."""
    return boost(v, parent[..., :3] / parent[..., 3:4])


def boost_to_rest_of(v: FloatArray, frame: FloatArray) -> FloatArray:
    """Express ``v`` in the rest frame of the four-vector ``frame`` (e.g. the e+e- CMS)."""
    return boost(v, -frame[..., :3] / frame[..., 3:4])


def rotation_z_to(n: FloatArray) -> FloatArray:
    """Rotation matrices (n, 3, 3) taking +z onto the unit vectors ``n`` (n, 3).

    Rotation about the axis z x n (Rodrigues); needs n_z > -1 (fine for the
    e- beam direction, which is within a few degrees of +z).
    """
    nx, ny, nz = n[..., 0], n[..., 1], n[..., 2]
    k = 1.0 / (1.0 + nz)
    R = np.empty((*n.shape[:-1], 3, 3), dtype=np.float64)
    R[..., 0, 0] = 1.0 - nx * nx * k
    R[..., 0, 1] = -nx * ny * k
    R[..., 0, 2] = nx
    R[..., 1, 0] = -nx * ny * k
    R[..., 1, 1] = 1.0 - ny * ny * k
    R[..., 1, 2] = ny
    R[..., 2, 0] = -nx
    R[..., 2, 1] = -ny
    R[..., 2, 2] = nz
    return R


def rotate(v: FloatArray, R: FloatArray) -> FloatArray:
    """Apply rotations R (n, 3, 3) or (3, 3) to the spatial part of (n, 4) or (n, 3) arrays."""
    out = np.array(v, dtype=np.float64, copy=True)
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    for i in range(3):
        out[..., i] = R[..., i, 0] * x + R[..., i, 1] * y + R[..., i, 2] * z
    return out


def decay_isotropic(
    rng: np.random.Generator, parent: FloatArray, m1: FloatArray | float, m2: FloatArray | float
) -> tuple[FloatArray, FloatArray]:
    """Isotropic two-body decay of ``parent`` (n, 4); daughters in the parent's frame of reference."""
    n = parent.shape[0]
    ct, phi = random_directions(rng, n)
    d1, d2 = two_body_decay_rest(mass(parent), m1, m2, ct, phi)
    return boost_from_rest_of(d1, parent), boost_from_rest_of(d2, parent)


def three_body_phase_space(
    rng: np.random.Generator,
    parent: FloatArray,
    m1: float,
    m2: float,
    m3: float,
    weight_fn=None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Three-body decay of ``parent`` (n, 4), flat in the Dalitz plot (optionally reweighted).

    ``weight_fn(m12sq, m23sq, M) -> w in [0, 1]`` is an optional matrix-element
    acceptance applied by hit-or-miss. Vectorised rejection: only the rejected
    rows are redrawn. Daughters returned in the parent's frame of reference.
    """
    n = parent.shape[0]
    M = mass(parent)
    d1 = np.empty((n, 4))
    d2 = np.empty((n, 4))
    d3 = np.empty((n, 4))
    todo = np.arange(n)
    while todo.size:
        Mt = M[todo]
        k = todo.size
        # m23^2 from the flat Dalitz plot (hit-or-miss inside the boundary,
        # PDG kinematics review); then the angles are isotropic, which makes
        # m12^2 uniform at fixed m23^2 -- i.e. flat phase space overall.
        a = rng.uniform((m1 + m2) ** 2, (Mt - m3) ** 2)
        b = rng.uniform((m2 + m3) ** 2, (Mt - m1) ** 2)
        sa = np.sqrt(a)
        e2 = (a - m1**2 + m2**2) / (2 * sa)
        e3 = (Mt**2 - a - m3**2) / (2 * sa)
        q2 = np.sqrt(np.maximum(e2**2 - m2**2, 0.0))
        q3 = np.sqrt(np.maximum(e3**2 - m3**2, 0.0))
        ok = (b >= (e2 + e3) ** 2 - (q2 + q3) ** 2) & (b <= (e2 + e3) ** 2 - (q2 - q3) ** 2)
        m23 = np.sqrt(b)
        ct, phi = random_directions(rng, k)
        r1, s23 = two_body_decay_rest(Mt, m1, m23, ct, phi)
        ct2, phi2 = random_directions(rng, k)
        r2, r3 = two_body_decay_rest(m23, m2, m3, ct2, phi2)
        r2, r3 = boost_from_rest_of(r2, s23), boost_from_rest_of(r3, s23)
        if weight_fn is not None:
            ok &= rng.uniform(size=k) < weight_fn(mass2(r1 + r2), b, Mt)
        d1[todo[ok]], d2[todo[ok]], d3[todo[ok]] = r1[ok], r2[ok], r3[ok]
        todo = todo[~ok]
    return boost_from_rest_of(d1, parent), boost_from_rest_of(d2, parent), boost_from_rest_of(d3, parent)

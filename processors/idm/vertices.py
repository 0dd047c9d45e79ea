"""Two-track displaced vertices for the iDM search: per-vertex quantities as flat numpy arrays (one entry per
``Vertex`` of the chunk) and the per-event choice of one vertex of a kind.

Displacement: the transverse distance r = hypot(x, y) from the beam line (the beam spot is 10 um x 0.2 um,
negligible) and its significance r / sigma_r, sigma_r from the vertex resolution model of the fast simulation
(samples/constants.py: it grows with the radius; the Vertex collection carries no per-vertex covariance).
Pointing: the 3D angle between the vertex momentum (the two tracks' summed momentum) and the displacement
vector from the IP: ~0 for a particle from the IP decaying to the two tracks only (h'), large when an
invisible particle takes momentum away (chi2 -> chi1 e+ e-).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from processors import kinematics as K
from samples import constants as C


def sigma_r(r: np.ndarray) -> np.ndarray:
    """Transverse vertex resolution [cm] at radius r (the fast simulation's model)."""
    lo, hi = C.VERTEX_RES_SCALE_RANGE
    return C.VERTEX_RES_TRANSVERSE * np.clip(np.asarray(r, float) / C.VERTEX_RES_R_REF, lo, hi)


def pointing_cos(x, y, z, px, py, pz) -> np.ndarray:
    """cos of the angle between the vertex momentum and its displacement from the IP."""
    return np.asarray(K.cos_angle(px, py, pz, x, y, z), float)


def pair_mass(p1: np.ndarray, p2: np.ndarray, m1: float | np.ndarray, m2: float | np.ndarray) -> np.ndarray:
    """Invariant mass of two tracks ((n, 3) momenta) with mass hypotheses m1, m2."""
    e = np.sqrt((p1**2).sum(axis=1) + np.asarray(m1) ** 2) + np.sqrt((p2**2).sum(axis=1) + np.asarray(m2) ** 2)
    return np.sqrt(np.clip(e**2 - ((p1 + p2) ** 2).sum(axis=1), 0.0, None))


def lambda_mass(p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """M(p pi) with the higher-momentum track as the proton (it carries most of a Lambda's momentum)."""
    first = (p1**2).sum(axis=1) >= (p2**2).sum(axis=1)
    m1 = np.where(first, C.M_PROTON, C.M_PI)
    m2 = np.where(first, C.M_PI, C.M_PROTON)
    return pair_mass(p1, p2, m1, m2)


def opening_cos(p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
    return np.asarray(K.cos_angle(p1[:, 0], p1[:, 1], p1[:, 2], p2[:, 0], p2[:, 1], p2[:, 2]), float)


@dataclass
class Vertices:
    """Every vertex of a chunk with its event index, its two tracks' momenta and PID scores."""

    evt: np.ndarray  # event of each vertex (0..n-1)
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    p: np.ndarray  # (nv, 3) summed momentum
    p1: np.ndarray  # (nv, 3) positive track
    p2: np.ndarray  # (nv, 3) negative track
    pid1: dict[str, np.ndarray]
    pid2: dict[str, np.ndarray]

    @property
    def r(self) -> np.ndarray:
        return np.hypot(self.x, self.y)

    @property
    def significance(self) -> np.ndarray:
        return self.r / sigma_r(self.r)

    @property
    def cos_pointing(self) -> np.ndarray:
        return pointing_cos(self.x, self.y, self.z, self.p[:, 0], self.p[:, 1], self.p[:, 2])


PID_FIELDS = ("electronID", "muonID", "pionID", "kaonID")


def from_events(events, momentum_scale: float = 1.0) -> Vertices:
    """The chunk's Vertex collection joined to its tracks (indices within the event)."""
    vtx, trk = K.Jagged(events.Vertex), K.Jagged(events.Track)
    evt = np.repeat(np.arange(len(vtx.counts)), vtx.counts)
    g1 = trk.offsets[evt] + vtx.flat("trk1").astype(np.int64)
    g2 = trk.offsets[evt] + vtx.flat("trk2").astype(np.int64)

    def mom(g: np.ndarray) -> np.ndarray:
        return np.stack([trk.flat(c)[g].astype(float) for c in ("px", "py", "pz")], axis=1) * momentum_scale

    p1, p2 = mom(g1), mom(g2)
    return Vertices(
        evt=evt,
        x=vtx.flat("x").astype(float),
        y=vtx.flat("y").astype(float),
        z=vtx.flat("z").astype(float),
        p=p1 + p2,
        p1=p1,
        p2=p2,
        pid1={f: trk.flat(f)[g1].astype(float) for f in PID_FIELDS},
        pid2={f: trk.flat(f)[g2].astype(float) for f in PID_FIELDS},
    )


def best_per_event(evt: np.ndarray, score: np.ndarray, ok: np.ndarray, n: int) -> np.ndarray:
    """Index (into the vertex arrays) of the vertex with the highest ``score`` among ``ok`` ones per event,
    -1 where an event has none."""
    out = np.full(n, -1, dtype=np.int64)
    idx = np.flatnonzero(ok)
    if idx.size:
        order = idx[np.lexsort((-score[idx], evt[idx]))]
        ev, first = np.unique(evt[order], return_index=True)
        out[ev] = order[first]
    return out

"""Two-track + recoil building blocks, shared by the searches with two leptons and missing momentum
(Z' -> invisible, dark Higgsstrahlung) and by the control samples of others.

The inputs are prepared for a subset of the chunk's events (``rows``, see :mod:`processors.rows`):
the beam four-vector and its CMS boost, the two leading tracks as four-vectors of a mass hypothesis
with a variation's momentum scale, their particle-ID values, and a photon veto bound to those rows.
:func:`pair_kinematics` gives what a recoil search cuts on and fills (pair, recoil mass squared,
recoil direction, CMS opening angle).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from processors import kinematics as K
from processors import selections as S
from samples.constants import M_MU

PID_KEYS = ("muonID", "electronID")


@dataclass
class TwoTrackInputs:
    """What a two-track selection reads, for the events it is evaluated on (numpy, per row)."""

    beam: K.P4
    frame: K.CMSFrame
    t1: K.P4  # the two leading tracks with the mass hypothesis and momentum scale asked for
    t2: K.P4
    ids: dict  # (muonID|electronID, track 0|1) -> per-row values
    veto: Callable[..., Any]  # photon veto for a recoil direction: (theta, phi, where=None)
    photon: tuple[Any, Any, Any] = ()  # E, theta, phi of the hardest photon (0 if none)
    extra_energy: Any = None
    raw: dict[str, np.ndarray] = field(default_factory=dict)  # the tracks' px/py/pz as in the file


def track_ids(trk: K.Jagged, rows: np.ndarray, keys: tuple[str, ...] = PID_KEYS) -> dict[tuple[str, int], np.ndarray]:
    """Particle-ID values of the first two tracks of ``rows`` (float64, 0 where absent)."""
    return {(k, i): trk.nth(k, i, 0.0, rows).astype(np.float64) for k in keys for i in (0, 1)}


def tracks_as(
    raw: dict[str, np.ndarray], scale: float, mass: float = M_MU, sub: Any = slice(None)
) -> tuple[K.P4, K.P4]:
    """The two tracks with mass ``mass`` from their raw momenta: the numbers of ``K.nth`` on tracks
    scaled by ``scale`` (content dtype * Python float, then float64)."""

    def comp(i: int, k: str) -> np.ndarray:
        v = raw[f"{i}{k}"][sub]
        return (v if scale == 1.0 else v * scale).astype(np.float64)

    return tuple(K.P4.from_pxpypzm(comp(i, "px"), comp(i, "py"), comp(i, "pz"), mass) for i in (0, 1))  # type: ignore[return-value]


def veto_on(veto_of: S.PhotonVeto, rows: np.ndarray) -> Callable[..., np.ndarray]:
    """The veto for the events ``rows`` of the chunk, evaluated only ``where`` asked (False
    elsewhere): (theta, phi, where=None) -> per-row pass flags."""

    def veto(theta: np.ndarray, phi: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
        if where is None:
            return veto_of(theta, phi, rows)
        out = np.zeros(len(rows), dtype=bool)
        idx = np.flatnonzero(where)
        out[idx] = veto_of(theta[idx], phi[idx], rows[idx])
        return out

    return veto


def two_track_inputs(
    beam_all: K.P4, trk: K.Jagged, rows: np.ndarray, momentum_scale: float, veto_of: S.PhotonVeto, ids: dict,
    photons: K.Jagged | None = None, mass: float = M_MU,
) -> TwoTrackInputs:  # fmt: skip
    """The inputs for ``rows`` of the chunk; the hardest photon and the extra energy if ``photons``."""
    beam = K.P4(beam_all.x[rows], beam_all.y[rows], beam_all.z[rows], beam_all.t[rows])
    raw = {f"{i}{k}": trk.nth(k, i, rows=rows) for i in (0, 1) for k in ("px", "py", "pz")}
    t1, t2 = tracks_as(raw, momentum_scale, mass)
    inp = TwoTrackInputs(
        beam=beam, frame=K.CMSFrame.of(beam), t1=t1, t2=t2, ids=ids, veto=veto_on(veto_of, rows), raw=raw
    )
    if photons is not None:
        inp.photon = photons.leading_by("E", ("E", "theta", "phi"), 0.0, rows)
        inp.extra_energy = veto_of.extra_energy[rows]
    return inp


def lepton_pair_ids(ids: dict, muon_min: float, electron_min: float) -> tuple[Any, Any, Any]:
    """(both muons, one e + one mu, both electrons) from the two tracks' muonID / electronID: a track
    is an electron if electronID > electron_min and not muon-ID'd, a muon (in e mu) if muonID > muon_min
    and not electron-ID'd; "both muons" needs only muonID > muon_min on each."""
    muid1, muid2, eid1, eid2 = ids["muonID", 0], ids["muonID", 1], ids["electronID", 0], ids["electronID", 1]
    muid = (muid1 > muon_min) & (muid2 > muon_min)
    is_e1, is_e2 = (eid1 > electron_min) & (muid1 <= muon_min), (eid2 > electron_min) & (muid2 <= muon_min)
    is_mu1, is_mu2 = (muid1 > muon_min) & (eid1 <= electron_min), (muid2 > muon_min) & (eid2 <= electron_min)
    return muid, (is_e1 & is_mu2) | (is_mu1 & is_e2), is_e1 & is_e2


@dataclass
class PairKinematics:
    """A two-track system against the beam: the quantities recoil searches cut on."""

    pair: K.P4
    pair_cms: K.P4
    recoil_theta: np.ndarray  # lab polar angle of the recoil momentum [rad]
    recoil_phi: np.ndarray
    opening_deg: np.ndarray  # 3D opening angle of the two tracks in the CMS [deg]
    m2_recoil: np.ndarray  # s + M^2 - 2 sqrt(s) E*_pair [GeV^2]


def pair_kinematics(beam: K.P4, frame: K.CMSFrame, t1: K.P4, t2: K.P4) -> PairKinematics:
    pair = t1 + t2
    pair_cms = frame.to_cms(pair)
    rec = K.recoil(beam, pair)
    opening = np.degrees(K.opening_angle_cms(t1, t2, beam, frame))
    return PairKinematics(pair, pair_cms, rec.theta, rec.phi, opening, K.recoil_mass2(beam, pair, pair_cms))


# The network inputs of the Z' -> invisible search (seeds 000 and 003: "the muons' pT with respect to the
# thrust axis, the pT and pL of the harder muon with respect to the softer one, the dimuon pT"), in the CMS.
PAIR_FEATURES = ("pt_thrust_hard", "pt_thrust_soft", "pt_hard_wrt_soft", "pl_hard_wrt_soft", "pt_pair_cms")


def pair_features(c1: K.P4, c2: K.P4) -> dict[str, np.ndarray]:
    """PAIR_FEATURES of two tracks given in the CMS. The thrust axis of two momenta is along p1 + p2 or
    p1 - p2, whichever is longer (it maximises |p1.n| + |p2.n|); "hard" is the larger |p|."""
    p1 = np.stack([np.asarray(c1.x, float), np.asarray(c1.y, float), np.asarray(c1.z, float)], axis=-1)
    p2 = np.stack([np.asarray(c2.x, float), np.asarray(c2.y, float), np.asarray(c2.z, float)], axis=-1)
    plus, minus = p1 + p2, p1 - p2
    axis = np.where((np.linalg.norm(minus, axis=-1) >= np.linalg.norm(plus, axis=-1))[:, None], minus, plus)
    axis /= np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), 1e-12)
    first_hard = np.linalg.norm(p1, axis=-1) >= np.linalg.norm(p2, axis=-1)
    hard = np.where(first_hard[:, None], p1, p2)
    soft = np.where(first_hard[:, None], p2, p1)
    soft_dir = soft / np.maximum(np.linalg.norm(soft, axis=-1, keepdims=True), 1e-12)
    pl = np.sum(hard * soft_dir, axis=-1)
    return {
        "pt_thrust_hard": np.linalg.norm(np.cross(hard, axis), axis=-1),
        "pt_thrust_soft": np.linalg.norm(np.cross(soft, axis), axis=-1),
        "pt_hard_wrt_soft": np.linalg.norm(hard - pl[:, None] * soft_dir, axis=-1),
        "pl_hard_wrt_soft": pl,
        "pt_pair_cms": np.hypot(plus[:, 0], plus[:, 1]),
    }

"""Hand-built iDM events in the lab (no generator): an h' vertex of two tracks whose summed momentum points
along its displacement, a chi2 vertex of e+ e- whose summed momentum does not, nothing else. Every knob a
cut looks at is a keyword, so a test can make an event fail exactly one cut."""

from __future__ import annotations

from typing import Any

import numpy as np

from samples import constants as C

MASS = {"mumu": C.M_MU, "pipi": C.M_PI, "KK": C.M_K, "ee": C.M_E}
PID = {  # (electronID, muonID, pionID, kaonID)
    "mumu": (0.01, 0.99, 0.01, 0.01),
    "pipi": (0.01, 0.01, 0.9, 0.01),
    "KK": (0.01, 0.01, 0.01, 0.99),
    "ee": (0.99, 0.01, 0.01, 0.01),
}


def _unit(v: np.ndarray) -> np.ndarray:
    return np.asarray(v, float) / np.linalg.norm(v)


def two_body(p_parent: np.ndarray, m_parent: float, m_d: float, cos_star: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Daughter momenta (3-vectors) of a parent with 3-momentum p_parent and mass m_parent."""
    p_star = np.sqrt(max(m_parent**2 / 4.0 - m_d**2, 0.0))
    axis = _unit(p_parent)
    perp = _unit(np.cross(axis, [0.0, 0.0, 1.0] if abs(axis[2]) < 0.9 else [1.0, 0.0, 0.0]))
    sin_star = np.sqrt(1.0 - cos_star**2)
    e_par = np.sqrt(p_parent @ p_parent + m_parent**2)
    gamma, bg = e_par / m_parent, np.linalg.norm(p_parent) / m_parent
    e_star = np.sqrt(p_star**2 + m_d**2)
    out = []
    for sgn in (1.0, -1.0):
        pl = sgn * p_star * cos_star
        pl_lab = gamma * pl + bg * e_star
        out.append(pl_lab * axis + sgn * p_star * sin_star * perp)
    return out[0], out[1]


def _track(p: np.ndarray, q: int, kind: str) -> dict[str, Any]:
    e, mu, pi, k = PID[kind]
    return {"px": p[0], "py": p[1], "pz": p[2], "charge": q, "d0": 1.0, "electronID": e, "muonID": mu,
            "pionID": pi, "kaonID": k}  # fmt: skip


def idm_event(
    m_h: float = 0.8,
    channel: str = "mumu",
    h_pos: tuple[float, float, float] = (3.0, 1.0, 2.0),
    h_p: float = 3.0,
    h_tilt: float = 0.0,
    chi_pos: tuple[float, float, float] = (-2.0, 4.0, 1.0),
    chi_p: float = 1.5,
    chi_tilt: float = 0.5,
    m_ee: float = 0.2,
    extra_tracks: int = 0,
    photon_e: float = 0.0,
    trigger: bool = True,
    daughter_kinds: tuple[str, str] | None = None,
    daughter_masses: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """One event; ``h_tilt`` / ``chi_tilt`` [rad] rotate the vertex momentum away from its displacement."""
    hp = _unit(h_pos)
    hdir = _unit(hp + np.tan(h_tilt) * _unit(np.cross(hp, [0, 0, 1]))) if h_tilt else hp
    kinds = daughter_kinds or (channel, channel)
    if daughter_masses is None:
        a, b = two_body(h_p * hdir, m_h, MASS[channel])
    else:  # unequal masses (a Lambda -> p pi): the decay is done at rest along the axis, then boosted
        a, b = _two_body_unequal(h_p * hdir, m_h, *daughter_masses)
    cp = _unit(chi_pos)
    cdir = _unit(cp + np.tan(chi_tilt) * _unit(np.cross(cp, [0, 0, 1])))
    e1, e2 = two_body(chi_p * cdir, m_ee, C.M_E, cos_star=0.1)
    tracks = [_track(a, 1, kinds[0]), _track(b, -1, kinds[1]), _track(e1, 1, "ee"), _track(e2, -1, "ee")]
    for i in range(extra_tracks):
        tracks.append(_track(np.array([0.3, 0.2 * i, 0.1]), 1 if i % 2 else -1, "pipi"))
    vertices = [
        {"x": h_pos[0], "y": h_pos[1], "z": h_pos[2], "trk1": 0, "trk2": 1, "px": (a + b)[0], "py": (a + b)[1],
         "pz": (a + b)[2]},
        {"x": chi_pos[0], "y": chi_pos[1], "z": chi_pos[2], "trk1": 2, "trk2": 3, "px": (e1 + e2)[0],
         "py": (e1 + e2)[1], "pz": (e1 + e2)[2]},
    ]  # fmt: skip
    ev: dict[str, Any] = {"Track": tracks, "Vertex": vertices, "trg_hie": trigger, "trg_lml": False}
    ev.update({k: False for k in ("trg_ffo", "trg_stt", "trg_cdcklm")})
    if photon_e > 0:
        ev["Photon"] = [{"E": photon_e, "theta": 1.2, "phi": 0.3}]
    return ev


def _two_body_unequal(p_parent: np.ndarray, m: float, m1: float, m2: float) -> tuple[np.ndarray, np.ndarray]:
    p_star = np.sqrt((m**2 - (m1 + m2) ** 2) * (m**2 - (m1 - m2) ** 2)) / (2 * m)
    axis = _unit(p_parent)
    e_par = np.sqrt(p_parent @ p_parent + m**2)
    gamma, bg = e_par / m, np.linalg.norm(p_parent) / m
    e1, e2 = np.sqrt(p_star**2 + m1**2), np.sqrt(p_star**2 + m2**2)
    # along the axis: the heavier daughter forward (it then carries most of the momentum, as in a Lambda)
    return (gamma * p_star + bg * e1) * axis, (-gamma * p_star + bg * e2) * axis


def metadata(name: str, n: int, is_data: bool = False, process: str = "idm_mumu", mass2: float = 0.8,
             sin_theta: float = 1e-3) -> dict[str, Any]:  # fmt: skip
    mc = not is_data
    return {"sample": name, "process": process if mc else "data", "is_data": is_data, "is_signal": mc,
            "xsec_fb": 5.0 if mc else None, "n_events": n, "n_generated": n, "filter_efficiency": 1.0,
            "lumi_fb": 365.0, "mass2": mass2 if mc else None, "sin_theta": sin_theta if mc else None}  # fmt: skip

"""Hand-built e+e- -> mu mu X, X -> tau tau -> (pi nu)(pi nu) events for the Z' -> tau tau processor tests
(no dependency on the generator)."""

from __future__ import annotations

from typing import Any

import numpy as np

from samples import constants as C


def _two_body(rng: np.random.Generator, parent: np.ndarray, m1: float, m2: float) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic two-body decay of (n, 4) parents into masses m1, m2 (in the parents' frame)."""
    from synthetic import boost

    n = len(parent)
    mass = np.sqrt(np.maximum(parent[:, 3] ** 2 - np.sum(parent[:, :3] ** 2, axis=1), 0.0))
    k = np.sqrt(np.maximum((mass**2 - (m1 + m2) ** 2) * (mass**2 - (m1 - m2) ** 2), 0.0)) / (2 * mass)
    c = rng.uniform(-1, 1, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    s = np.sqrt(1 - c**2)
    d = np.column_stack([s * np.cos(phi), s * np.sin(phi), c]) * k[:, None]
    beta = parent[:, :3] / parent[:, 3:4]
    a = np.column_stack([d, np.sqrt(k**2 + m1**2)])
    b = np.column_stack([-d, np.sqrt(k**2 + m2**2)])
    return boost(a, beta), boost(b, beta)


def _track(p: np.ndarray, charge: int, muon: bool) -> dict[str, Any]:
    ids = {"muonID": 0.99, "electronID": 0.01, "pionID": 0.01} if muon else {
        "muonID": 0.01, "electronID": 0.01, "pionID": 0.9}  # fmt: skip
    return {"px": p[0], "py": p[1], "pz": p[2], "charge": charge, **ids}


def mumu_tautau_events(rng: np.random.Generator, n: int, m_x: float, m_mumu: float = 4.0) -> list[dict[str, Any]]:
    """e+e- -> (mu mu)(X), the mu mu system of mass ``m_mumu`` back to back with X of mass ``m_x`` in the CMS
    (pair central, |cos theta*| < 0.5), X -> tau tau, each tau -> pi nu. Muon-ID'd muons, pion-ID'd pions.
    Only events safely inside the selection are kept (M(4 tracks) < 9 GeV, each muon with the two pions
    above 2 GeV: 0.5 and 0.2 GeV from the working point's thresholds), the first ``n`` of them."""
    from synthetic import cms_to_lab, nominal_beam

    kept: list[dict[str, Any]] = []
    while len(kept) < n:
        kept += _mumu_tautau(rng, 4 * n, m_x, m_mumu, cms_to_lab, nominal_beam())
    return kept[:n]


def _mass(*p: np.ndarray) -> np.ndarray:
    t = np.sum(p, axis=0)
    return np.sqrt(np.maximum(t[:, 3] ** 2 - np.sum(t[:, :3] ** 2, axis=1), 0.0))


def _mumu_tautau(
    rng: np.random.Generator, n: int, m_x: float, m_mumu: float, cms_to_lab: Any, beam: np.ndarray
) -> list:
    rs = np.sqrt(beam[3] ** 2 - np.sum(beam[:3] ** 2))
    q = np.sqrt((rs**2 - (m_x + m_mumu) ** 2) * (rs**2 - (m_x - m_mumu) ** 2)) / (2 * rs)
    c = rng.uniform(-0.5, 0.5, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    s = np.sqrt(1 - c**2)
    u = np.column_stack([s * np.cos(phi), s * np.sin(phi), c])
    a = np.column_stack([q * u, np.full(n, np.sqrt(q**2 + m_mumu**2))])
    x = np.column_stack([-q * u, np.full(n, np.sqrt(q**2 + m_x**2))])
    mu1, mu2 = _two_body(rng, a, C.M_MU, C.M_MU)
    t1, t2 = _two_body(rng, x, C.M_TAU, C.M_TAU)
    (pi1, _), (pi2, _) = _two_body(rng, t1, C.M_PI, 0.0), _two_body(rng, t2, C.M_PI, 0.0)
    ok = (_mass(mu1, mu2, pi1, pi2) < 9.0) & (_mass(mu1, pi1, pi2) > 2.0) & (_mass(mu2, pi1, pi2) > 2.0)
    lab = [cms_to_lab(v, beam) for v in (mu1, mu2, pi1, pi2)]
    return [
        {
            "Track": [
                _track(lab[0][i], -1, True),
                _track(lab[1][i], 1, True),
                _track(lab[2][i], -1, False),
                _track(lab[3][i], 1, False),
            ],
            "mc_mass": m_x,
        }
        for i in np.flatnonzero(ok)
    ]


def explicit_event(cms_tracks: list[tuple[float, float, float]], muon: tuple[bool, ...]) -> dict[str, Any]:
    """One event from four CMS three-momenta (charges -, +, -, +), the muon-ID'd ones flagged."""
    from synthetic import cms_to_lab

    out = []
    for (px, py, pz), q, is_mu in zip(cms_tracks, (-1, 1, -1, 1), muon, strict=True):
        m = C.M_MU if is_mu else C.M_PI
        p4 = np.array([[px, py, pz, np.sqrt(px * px + py * py + pz * pz + m * m)]])
        out.append(_track(cms_to_lab(p4)[0], q, is_mu))
    return {"Track": out}

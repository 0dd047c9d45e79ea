"""Generator-level filters: skim-like truth selections applied before the detector.

A filter takes the truth (lab frame, production vertices set) and the beams
and returns a boolean mask per event. Filters are deliberately looser than the
searches' selections (the detector smears and loses particles); the pipeline
measures the efficiency and the catalog records it, so MC weights stay right.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from samples import constants as C
from samples.generator import lorentz as lz
from samples.generator.beams import Beams
from samples.generator.truth import TruthEvents

FilterFn = Callable[..., np.ndarray]

CHARGED_STABLE = np.array([11, 13, 211, 321, 2212])


def charge_of(pdg: np.ndarray) -> np.ndarray:
    """Electric charge of the stable charged particles (0 for everything else)."""
    a = np.abs(pdg)
    sign = np.sign(pdg)
    return np.where(np.isin(a, (11, 13, 15)), -sign, np.where(np.isin(a, (211, 321, 2212)), sign, 0)).astype(np.int32)


def _cdc_tracks(truth: TruthEvents, pt_min: float) -> np.ndarray:
    """Truth particles that would make a track: charged, final, in the CDC, above pT."""
    pt = np.hypot(truth.px, truth.py)
    theta = np.degrees(np.arctan2(pt, truth.pz))
    return (
        truth.final
        & np.isin(np.abs(truth.pdg), CHARGED_STABLE)
        & (theta > C.CDC_THETA_MIN_DEG)
        & (theta < C.CDC_THETA_MAX_DEG)
        & (pt > pt_min)
    )


def leading_two(values: np.ndarray, evt: np.ndarray, n_events: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of the two largest ``values`` per event (-1 where missing) and the per-event count."""
    counts = np.bincount(evt, minlength=n_events)
    if values.size == 0:
        none = np.full(n_events, -1, dtype=np.int64)
        return none, none.copy(), counts
    order = np.lexsort((-values, evt))
    starts = np.zeros(n_events, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    last = order.size - 1
    first = np.where(counts >= 1, order[np.minimum(starts, last)], -1)
    second = np.where(counts >= 2, order[np.minimum(starts + 1, last)], -1)
    return first, second, counts


def two_track_recoil(
    truth: TruthEvents,
    beams: Beams,
    pt_min: float = 0.1,
    max_tracks: int = 3,
    recoil_theta_deg: tuple[float, float] = (25.0, 140.0),
    m2_recoil_min: float = -1.0,
    recoil_pt_cms_min: float = 0.0,
    photon_veto_e: float | None = None,
) -> np.ndarray:
    """Z'->invisible skim: 2..max_tracks CDC tracks with pT > pt_min, the two leading of opposite
    charge, truth recoil against them pointing into a broad window around the ECL barrel
    (lab polar angle), M2_recoil > m2_recoil_min and recoil p_T in the CMS above recoil_pt_cms_min.
    With ``photon_veto_e``: no true photon above that lab energy inside the ECL outside its gaps
    (the detector finds those with probability 1 - 1e-3, and the search vetoes them)."""
    n = truth.n_events
    idx = np.flatnonzero(_cdc_tracks(truth, pt_min))
    if idx.size == 0:
        return np.zeros(n, dtype=bool)
    evt = truth.event_index()[idx]
    i1, i2, count = leading_two(np.hypot(truth.px[idx], truth.py[idx]), evt, n)
    ok = (count >= 2) & (count <= max_tracks)
    g1 = idx[np.where(ok, i1, 0)]
    g2 = idx[np.where(ok, i2, 0)]
    q = charge_of(truth.pdg)
    ok &= q[g1] * q[g2] < 0
    pair = np.stack(
        [
            truth.px[g1] + truth.px[g2],
            truth.py[g1] + truth.py[g2],
            truth.pz[g1] + truth.pz[g2],
            truth.E[g1] + truth.E[g2],
        ],
        axis=-1,
    )
    recoil = beams.total - pair
    theta = np.degrees(np.arctan2(np.hypot(recoil[:, 0], recoil[:, 1]), recoil[:, 2]))
    ok &= (theta > recoil_theta_deg[0]) & (theta < recoil_theta_deg[1]) & (lz.mass2(recoil) > m2_recoil_min)
    if recoil_pt_cms_min > 0:
        rc = lz.boost(recoil, -beams.beta)
        ok &= np.hypot(rc[:, 0], rc[:, 1]) > recoil_pt_cms_min
    if photon_veto_e is not None:
        ok &= ~_has_visible_photon(truth, photon_veto_e)
    return ok


def _has_visible_photon(truth: TruthEvents, e_min: float) -> np.ndarray:
    """Events with a true final-state photon above ``e_min`` (lab) in the ECL outside the gaps."""
    theta = np.degrees(np.arctan2(np.hypot(truth.px, truth.py), truth.pz))
    in_ecl = (
        ((theta >= C.ECL_FWD_MIN_DEG) & (theta < C.ECL_FWD_MAX_DEG))
        | ((theta >= C.ECL_BARREL_MIN_DEG) & (theta <= C.ECL_BARREL_MAX_DEG))
        | ((theta >= C.ECL_BWD_MIN_DEG) & (theta <= C.ECL_BWD_MAX_DEG))
    )
    sel = truth.final & (truth.pdg == 22) & (truth.E > e_min) & in_ecl
    return np.bincount(truth.event_index()[sel], minlength=truth.n_events) > 0


def min_tracks(truth: TruthEvents, beams: Beams, n_min: int = 4, pt_min: float = 0.05) -> np.ndarray:
    """At least ``n_min`` charged final-state particles in the CDC (4-track searches)."""
    sel = _cdc_tracks(truth, pt_min)
    return np.bincount(truth.event_index()[sel], minlength=truth.n_events) >= n_min


def single_photon(truth: TruthEvents, beams: Beams, e_cms_min: float = 0.5, max_tracks: int = 0) -> np.ndarray:
    """Mono-photon skim: a photon with E* > e_cms_min in the ECL and at most ``max_tracks`` CDC tracks."""
    evt = truth.event_index()
    v = np.stack([truth.px, truth.py, truth.pz, truth.E], axis=-1)
    e_cms = lz.boost(v, -beams.beta[evt])[:, 3]
    theta = np.degrees(np.arctan2(np.hypot(truth.px, truth.py), truth.pz))
    gam = (
        truth.final
        & (truth.pdg == 22)
        & (e_cms > e_cms_min)
        & (theta > C.ECL_FWD_MIN_DEG)
        & (theta < C.ECL_BWD_MAX_DEG)
    )
    has_gamma = np.bincount(evt[gam], minlength=truth.n_events) > 0
    n_trk = np.bincount(evt[_cdc_tracks(truth, 0.1)], minlength=truth.n_events)
    return has_gamma & (n_trk <= max_tracks)


def displaced_pairs(truth: TruthEvents, beams: Beams, n_min: int = 2, pt_min: float = 0.05) -> np.ndarray:
    """At least ``n_min`` displaced decays (true transverse radius > VERTEX_MIN_RADIUS) with a positive and a
    negative daughter that could make CDC tracks: the only events the fast simulation can give that many
    Vertex entries (it forms vertices from true displaced decays only), so the skim loses nothing."""
    trk = _cdc_tracks(truth, pt_min) & (truth.mother >= 0)
    trk &= np.hypot(truth.vx, truth.vy) > C.VERTEX_MIN_RADIUS
    evt = truth.event_index()
    gm = truth.offsets[:-1][evt] + truth.mother  # global index of the mother
    q = charge_of(truth.pdg)
    pos = np.unique(gm[trk & (q > 0)])
    neg = np.unique(gm[trk & (q < 0)])
    both = np.intersect1d(pos, neg, assume_unique=True)
    return np.bincount(evt[both], minlength=truth.n_events) >= n_min


def _in_ecl_proper(theta_deg: np.ndarray) -> np.ndarray:
    """Inside the ECL forward / barrel / backward crystals (not the gaps, not beyond)."""
    t = theta_deg
    return (
        ((t >= C.ECL_FWD_MIN_DEG) & (t < C.ECL_FWD_MAX_DEG))
        | ((t >= C.ECL_BARREL_MIN_DEG) & (t <= C.ECL_BARREL_MAX_DEG))
        | ((t >= C.ECL_BWD_MIN_DEG) & (t <= C.ECL_BWD_MAX_DEG))
    )


def ecl_objects(
    truth: TruthEvents,
    beams: Beams,
    e_min: float = 0.1,
    e_cms_min: float = 0.4,
    n_min: int = 1,
    n_max: int = 1,
    hard_theta_deg: tuple[float, float] = (C.ECL_FWD_MIN_DEG, C.ECL_BWD_MAX_DEG),
    hard_pdg: tuple[int, ...] = (22, 11),
) -> np.ndarray:
    """Mono-photon skim: ``n_min``..``n_max`` visible objects, of which at least one is a neutral or
    charged particle with E* > ``e_cms_min`` in the ECL crystals. An object is a final-state photon or
    electron in the ECL crystals (not the gaps) above ``e_min`` GeV (lab), or any charged particle that
    makes a CDC track (pT > 0.1 GeV). ``n_max=1``: events where everything else is lost (gaps, beyond
    the acceptance, soft); ``n_min=2``: the complement, which fakes one photon only through the random
    ECL inefficiency -- the two partition a sample exactly."""
    evt = truth.event_index()
    theta = np.degrees(np.arctan2(np.hypot(truth.px, truth.py), truth.pz))
    a = np.abs(truth.pdg)
    ecl = truth.final & ((a == 22) | (a == 11)) & (truth.E > e_min) & _in_ecl_proper(theta)
    trk = _cdc_tracks(truth, 0.1)
    obj = ecl | trk
    n_obj = np.bincount(evt[obj], minlength=truth.n_events)
    v = np.stack([truth.px, truth.py, truth.pz, truth.E], axis=-1)
    e_cms = lz.boost(v, -beams.beta[evt])[:, 3]
    in_range = (theta > hard_theta_deg[0]) & (theta < hard_theta_deg[1]) & np.isin(a, hard_pdg)
    hard = np.bincount(evt[ecl & (e_cms > e_cms_min) & in_range], minlength=truth.n_events) > 0
    return hard & (n_obj >= n_min) & (n_obj <= n_max)


FILTERS: dict[str, FilterFn] = {
    "displaced_pairs": displaced_pairs,
    "ecl_objects": ecl_objects,
    "zprime_inv": two_track_recoil,
    "two_track_recoil": two_track_recoil,
    "min_tracks": min_tracks,
    "single_photon": single_photon,
}


def get_filter(name: str | None) -> FilterFn | None:
    if name in (None, "", "none"):
        return None
    try:
        return FILTERS[name]
    except KeyError:
        raise KeyError(f"unknown generator filter {name!r}; known: {', '.join(sorted(FILTERS))}") from None

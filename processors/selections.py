"""Reusable selections, written once: particle ID, track quality, detector
acceptance by region, the photon veto and trigger requirements.

Every function returns boolean awkward arrays (per object or per event) built
from ufuncs and awkward reductions only, so they work in every NanoEvents mode.
Angles are lab polar angles in radians unless the name says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable

import awkward as ak
import numba
import numpy as np

from processors import kinematics as K
from samples import constants as C

DEG = np.pi / 180.0
PID_FIELDS = {"muon": "muonID", "electron": "electronID", "pion": "pionID", "kaon": "kaonID"}


# Systematic variations the muon searches share (assumptions in the spirit of the Belle II lepton-ID
# tables and tracking studies; no published per-analysis numbers): per-muon ID efficiency uncertainty
# below / above MUID_UNC_P_SPLIT, and the track momentum scale.
MUID_REL_UNC_LOW_P = 0.02
MUID_REL_UNC_HIGH_P = 0.01
MUID_UNC_P_SPLIT = 1.0  # [GeV]
MOMENTUM_SCALE_UNC = 1e-3


def muon_id_rel_unc(p: np.ndarray) -> np.ndarray:
    """Relative muon-ID efficiency uncertainty of muons of momentum ``p`` [GeV]."""
    return MUID_REL_UNC_HIGH_P + (MUID_REL_UNC_LOW_P - MUID_REL_UNC_HIGH_P) * (np.asarray(p) < MUID_UNC_P_SPLIT)


# ------------------------------------------------------------------ tracks
def pid(tracks, kind: str, threshold: float):
    """Tracks whose ``<kind>ID`` likelihood ratio exceeds ``threshold``."""
    try:
        return tracks[PID_FIELDS[kind]] > threshold
    except KeyError:
        raise ValueError(f"unknown particle kind {kind!r}; use one of {sorted(PID_FIELDS)}") from None


def from_ip(tracks, d0_max: float = C.TRACK_IP_D0_MAX, z0_max: float = C.TRACK_IP_Z0_MAX):
    """Prompt tracks: |d0| < d0_max and |z0| < z0_max [cm]."""
    return (np.abs(tracks.d0) < d0_max) & (np.abs(tracks.z0) < z0_max)


def n_from_ip(tracks, d0_max: float = C.TRACK_IP_D0_MAX, z0_max: float = C.TRACK_IP_Z0_MAX):
    """Per event: the number of prompt tracks (:func:`from_ip`); numpy int64 in eager mode
    (``tracks`` may be a :class:`kinematics.Jagged` view)."""
    if isinstance(tracks, K.Jagged):
        offsets, d0, z0 = tracks.offsets, tracks.flat("d0"), tracks.flat("z0")
    elif not K.is_eager(tracks):
        return K.as_columns(ak.sum(from_ip(tracks, d0_max, z0_max), axis=1), 0, np.int64)
    else:
        offsets, (d0, z0) = _flat_fields(tracks, ("d0", "z0"))
    running = np.zeros(len(d0) + 1, dtype=np.int64)
    np.cumsum((np.abs(d0) < d0_max) & (np.abs(z0) < z0_max), out=running[1:])
    return running[offsets[1:]] - running[offsets[:-1]]


def in_cdc(theta):
    return (theta > C.CDC_THETA_MIN_DEG * DEG) & (theta < C.CDC_THETA_MAX_DEG * DEG)


# --------------------------------------------------------- ECL / KLM regions
def in_ecl_forward(theta):
    return (theta >= C.ECL_FWD_MIN_DEG * DEG) & (theta < C.ECL_FWD_MAX_DEG * DEG)


def in_ecl_barrel(theta, exclude_gap90: bool = False):
    """Barrel ECL (32.2-128.7 deg); optionally without the gap around 90 deg."""
    inside = (theta >= C.ECL_BARREL_MIN_DEG * DEG) & (theta <= C.ECL_BARREL_MAX_DEG * DEG)
    if exclude_gap90:
        inside = inside & (np.abs(theta - np.pi / 2) > C.ECL_BARREL_GAP90_HALF_WIDTH_DEG * DEG)
    return inside


def in_ecl_backward(theta):
    return (theta > C.ECL_BWD_MIN_DEG * DEG) & (theta <= C.ECL_BWD_MAX_DEG * DEG)


def in_ecl(theta):
    return in_ecl_forward(theta) | in_ecl_barrel(theta) | in_ecl_backward(theta)


def in_ecl_gap(theta, include_gap90: bool = True):
    """Directions where the ECL is blind: the barrel-endcap gaps (31.4-32.2, 128.7-130.7
    deg), optionally the 90 deg gap, and outside the ECL acceptance."""
    gaps = ~in_ecl(theta)
    if include_gap90:
        gaps = gaps | (np.abs(theta - np.pi / 2) <= C.ECL_BARREL_GAP90_HALF_WIDTH_DEG * DEG)
    return gaps


def in_klm(theta):
    return (theta > C.KLM_THETA_MIN_DEG * DEG) & (theta < C.KLM_THETA_MAX_DEG * DEG)


def in_klm_barrel(theta):
    return (theta > C.KLM_BARREL_MIN_DEG * DEG) & (theta < C.KLM_BARREL_MAX_DEG * DEG)


# ------------------------------------------------------------- photon veto
def photons_in_cone(photons, axis_theta, axis_phi, half_angle_deg: float, min_energy: float = 0.0):
    """Per photon: within ``half_angle_deg`` of the per-event axis and above ``min_energy``."""
    cone = K.within_cone(photons.theta, photons.phi, axis_theta, axis_phi, half_angle_deg * DEG)
    return cone & (photons.E > min_energy)


def photon_veto(
    photons,
    klm,
    recoil_theta,
    recoil_phi,
    *,
    cone_deg: float = 15.0,
    photon_min_energy: float = 0.1,
    extra_energy_max: float = 0.5,
    use_klm_in_ecl_gaps: bool = True,
):
    """True for events passing the veto: no photon above ``photon_min_energy`` within
    ``cone_deg`` of the recoil direction (lab), total extra ECL energy not above
    ``extra_energy_max``, and -- where the ECL has gaps -- no KLM cluster lying in an
    ECL gap within the cone (photons crossing the gaps shower in the KLM).

    For several recoil hypotheses per chunk, build one :class:`PhotonVeto` and call it."""
    veto = PhotonVeto(
        photons, klm, cone_deg=cone_deg, photon_min_energy=photon_min_energy,
        extra_energy_max=extra_energy_max, use_klm_in_ecl_gaps=use_klm_in_ecl_gaps,
    )  # fmt: skip
    return veto(recoil_theta, recoil_phi)


def photon_veto_awkward(
    photons, klm, recoil_theta, recoil_phi, *, cone_deg: float, photon_min_energy: float,
    extra_energy_max: float, use_klm_in_ecl_gaps: bool = True,
):  # fmt: skip
    """The veto in jagged ufuncs (dask mode, and the reference the fast path is tested against)."""
    in_cone = photons_in_cone(photons, recoil_theta, recoil_phi, cone_deg, photon_min_energy)
    passes = ~K.as_columns(ak.any(in_cone, axis=1), False, bool)
    passes = passes & (K.extra_energy(photons) <= extra_energy_max)
    if use_klm_in_ecl_gaps and klm is not None:
        klm_cone = K.within_cone(klm.theta, klm.phi, recoil_theta, recoil_phi, cone_deg * DEG)
        passes = passes & ~K.as_columns(ak.any(klm_cone & in_ecl_gap(klm.theta), axis=1), False, bool)
    return passes


class PhotonVeto:
    """The photon veto of :func:`photon_veto`, prepared once per chunk.

    Eager/virtual chunks: what does not depend on the recoil direction (object unit
    vectors, the energy and ECL-gap selections, the extra energy) is computed once with
    the same numpy ufuncs the jagged version applies, and the per-event cone test runs in
    a numba loop that repeats the jagged version's float arithmetic operation by
    operation -- so the decisions are identical (tests/test_selections.py checks it).
    Dask arrays use :func:`photon_veto_awkward`.

    ``rows`` (eager): the veto will only be asked for these events of the chunk; the
    objects of the others are left out of the preparation. ``photons`` may be a
    :class:`kinematics.Jagged` view of them (its flat fields are reused).
    """

    def __init__(
        self, photons, klm, *, cone_deg: float = 15.0, photon_min_energy: float = 0.1,
        extra_energy_max: float = 0.5, use_klm_in_ecl_gaps: bool = True, rows: np.ndarray | None = None,
    ) -> None:  # fmt: skip
        view = photons if isinstance(photons, K.Jagged) else None  # eager: fields flattened once, shared
        photons = photons.objects if view is not None else photons
        self.photons, self.klm = photons, (klm if use_klm_in_ecl_gaps else None)
        self.options = dict(
            cone_deg=cone_deg, photon_min_energy=photon_min_energy,
            extra_energy_max=extra_energy_max, use_klm_in_ecl_gaps=use_klm_in_ecl_gaps,
        )  # fmt: skip
        self.fast = isinstance(photons, ak.Array) and not K._is_dask(photons)
        if not self.fast:
            return
        self.cos_max = np.cos(cone_deg * DEG)
        offsets, (e, theta, phi) = _flat_fields(photons if view is None else view, ("E", "theta", "phi"))
        # the same numpy ufuncs on the flat content as awkward applies (float32 vs Python float: float32)
        self.extra_energy = _sum_float32(offsets, e)  # = K.extra_energy(photons)
        self.extra_ok = self.extra_energy <= extra_energy_max
        self.gamma = _Directions(offsets, theta, phi, _of_rows(offsets, rows, e > photon_min_energy))
        self.klm_dirs = None
        if self.klm is not None:
            k_offsets, (k_theta, k_phi) = _flat_fields(klm, ("theta", "phi"))
            self.klm_dirs = _Directions(k_offsets, k_theta, k_phi, _of_rows(k_offsets, rows, in_ecl_gap(k_theta)))

    def __call__(self, recoil_theta, recoil_phi, rows: np.ndarray | None = None):
        """Per-event pass flag for the recoil direction (lab theta, phi per event); with
        ``rows`` (eager only) for those events of the chunk, the axis given for them only."""
        if not self.fast or K._is_dask(recoil_theta):
            if rows is None:
                return photon_veto_awkward(self.photons, self.klm, recoil_theta, recoil_phi, **self.options)
            klm = None if self.klm is None else self.klm[rows]
            return photon_veto_awkward(self.photons[rows], klm, recoil_theta, recoil_phi, **self.options)
        # the per-event axis, as K.within_cone computes it (float64 per event)
        bx, by, bz = K.unit_from_angles(K.as_columns(recoil_theta, np.nan), K.as_columns(recoil_phi, np.nan))
        if rows is None:
            rows = np.arange(len(self.extra_ok))
        rows = np.asarray(rows, dtype=np.int64)
        bx, by, bz = (np.ascontiguousarray(np.broadcast_to(b, rows.shape), dtype=np.float64) for b in (bx, by, bz))
        bn2 = bx * bx + by * by + bz * bz
        hit = self.gamma.any_within(rows, bx, by, bz, bn2, self.cos_max)
        passes = ~hit & self.extra_ok[rows]
        if self.klm_dirs is not None:
            passes = passes & ~self.klm_dirs.any_within(rows, bx, by, bz, bn2, self.cos_max)
        return passes


def _flat_fields(objects, names: tuple[str, ...]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Offsets and flat numpy contents of fields of a jagged record array (stored fields,
    not behaviour properties), or of a :class:`kinematics.Jagged` view (flattened once)."""
    if isinstance(objects, K.Jagged):
        return objects.offsets, [objects.flat(n) for n in names]
    counts = ak.to_numpy(ak.num(objects, axis=1))
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets, [ak.to_numpy(ak.flatten(objects[n], axis=1)) for n in names]


@numba.njit(cache=True)
def _sum_float32_kernel(offsets, values, out):  # pragma: no cover - numba
    for i in range(len(out)):
        acc = values.dtype.type(0)
        for j in range(offsets[i], offsets[i + 1]):
            acc += values[j]
        out[i] = acc


def _sum_float32(offsets: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per-event sums in the content's own dtype, summed in order: the numbers
    ``K.extra_energy`` (``ak.sum``) gives, as float64."""
    out = np.zeros(len(offsets) - 1, dtype=values.dtype)
    _sum_float32_kernel(offsets, values, out)
    return out.astype(np.float64)


def _of_rows(offsets: np.ndarray, rows: np.ndarray | None, use: np.ndarray) -> np.ndarray:
    """``use`` (per object) and-ed with "the object's event is one of ``rows``"."""
    if rows is None:
        return use
    in_rows = np.zeros(len(offsets) - 1, dtype=bool)
    in_rows[rows] = True
    return use & np.repeat(in_rows, np.diff(offsets))


class _Directions:
    """Unit vectors (and their squared norms, as K.cos_angle needs them) of the jagged
    objects selected by ``use``; only those are kept (offsets re-counted)."""

    def __init__(self, offsets: np.ndarray, theta: np.ndarray, phi: np.ndarray, use: np.ndarray) -> None:
        use = np.asarray(use, dtype=bool)
        kept = np.zeros(len(use) + 1, dtype=np.int64)
        np.cumsum(use, out=kept[1:])
        self.offsets = kept[offsets]  # per event: where its kept objects start / stop
        ux, uy, uz = K.unit_from_angles(theta[use], phi[use])
        self.ux, self.uy, self.uz = ux, uy, uz
        self.un2 = ux * ux + uy * uy + uz * uz

    def any_within(self, rows: np.ndarray, bx, by, bz, bn2, cos_max: float) -> np.ndarray:
        out = np.zeros(len(rows), dtype=bool)
        starts, stops = self.offsets[:-1][rows], self.offsets[1:][rows]
        _any_within_cone(starts, stops, self.ux, self.uy, self.uz, self.un2, bx, by, bz, bn2, cos_max, out)
        return out


@numba.njit(cache=True, error_model="numpy")
def _any_within_cone(starts, stops, ux, uy, uz, un2, bx, by, bz, bn2, cos_max, out):  # pragma: no cover - numba
    """out[i] = any object j in starts[i]:stops[i] has clip(cos angle(u_j, b_i)) > cos_max.
    Same operations, order and dtypes as K.cos_angle on (jagged float32, per-event float64)."""
    for i in range(len(out)):
        for j in range(starts[i], stops[i]):
            dot = ux[j] * bx[i] + uy[j] * by[i] + uz[j] * bz[i]
            c = dot / np.sqrt(un2[j] * bn2[i])
            if c != c:  # NaN (zero vector): no comparison is True
                continue
            c = min(max(c, -1.0), 1.0)
            if c > cos_max:
                out[i] = True
                break


# ----------------------------------------------------------------- trigger
TRIGGER_BITS = ("trg_ffo", "trg_stt", "trg_cdcklm", "trg_hie", "trg_lml")


def trigger(events, bits: Iterable[str]):
    """Logical OR of the named trigger bits (event-format names, e.g. 'trg_ffo')."""
    bits = list(bits)
    unknown = [b for b in bits if b not in TRIGGER_BITS]
    if unknown or not bits:
        raise ValueError(f"unknown trigger bits {unknown}; known: {TRIGGER_BITS}")
    fields = set(events.fields)
    missing = [b for b in bits if b not in fields]
    if missing:
        raise KeyError(f"trigger branches {missing} not in the input file; regenerate it with the current format")
    out = K.as_columns(events[bits[0]], False, bool)
    for b in bits[1:]:
        out = out | K.as_columns(events[b], False, bool)
    return out


def four_ip_tracks_zero_charge(trk: K.Jagged) -> tuple[np.ndarray, np.ndarray]:
    """Per event, the four-track searches' first cuts: (exactly four tracks, all from the IP) and (of those
    events, four charged tracks of zero total charge; False elsewhere)."""
    n = len(trk.counts)
    four = (trk.counts == 4) & (n_from_ip(trk) == 4)
    rows4 = np.flatnonzero(four)
    charge4 = np.stack([trk.nth("charge", i, 0, rows4) for i in range(4)], axis=1)
    zero = np.zeros(n, dtype=bool)
    zero[rows4] = (charge4.sum(axis=1) == 0) & (np.abs(charge4).sum(axis=1) == 4)
    return four, zero

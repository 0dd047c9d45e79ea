"""Kinematics shared by the searches, written once.

Four-vectors here are :class:`P4` -- four component arrays (x, y, z, t) -- and
every function is plain ufunc arithmetic on them. The same code therefore runs
on numpy arrays (eager/virtual chunks: per-event quantities are converted to
numpy once, which is ~100x cheaper per operation than awkward), on jagged
awkward arrays (per-object quantities) and on dask-awkward arrays (dask mode).
The awkward behaviours (``events.Track.as_muon + events.Photon``,
``.boostCM_of(events.Beam)``) give the same numbers; the tests check both
against an independent numpy calculation.

The CMS frame is the basf2 one: boost the lab into the e+e- rest frame with
the per-event beam four-vector, then measure polar angles from the e- beam
direction in that frame (basf2 rotates the e- beam onto +z; the angle to the
boosted e- direction is the same polar angle).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import awkward as ak
import numba
import numpy as np

from samples.constants import HER_ANGLE, HER_ENERGY

# Nominal e- (HER) beam direction in the lab: defines the CMS z axis.
_HER = (HER_ENERGY * np.sin(HER_ANGLE), 0.0, HER_ENERGY * np.cos(HER_ANGLE), HER_ENERGY)


def _is_dask(a: Any) -> bool:
    return type(a).__module__.startswith("dask_awkward")


def as_columns(a: Any, fill: float = 0.0, dtype: type = np.float64) -> Any:
    """Per-event awkward array -> numpy (missing -> ``fill``); dask and jagged arrays unchanged
    (dask-awkward keeps its graph; jagged arrays stay awkward)."""
    if _is_dask(a) or not isinstance(a, ak.Array):
        return a
    if a.ndim > 1:
        return a
    if isinstance(a.layout, ak.contents.NumpyArray):  # no missing values (ak.fill_none costs ~1 ms a call)
        return ak.to_numpy(a).astype(dtype, copy=False)
    return ak.to_numpy(ak.fill_none(a, fill)).astype(dtype, copy=False)


@dataclass(frozen=True)
class P4:
    """A four-vector as four component arrays (any array library with numpy ufuncs)."""

    x: Any
    y: Any
    z: Any
    t: Any

    @classmethod
    def from_record(cls, rec: Any) -> P4:
        """From an awkward record with vector behaviour (x/y/z/t are computed by vector)."""
        return cls(rec.x, rec.y, rec.z, rec.t)

    @classmethod
    def from_pxpypzm(cls, px: Any, py: Any, pz: Any, mass: Any) -> P4:
        return cls(px, py, pz, np.sqrt(px * px + py * py + pz * pz + mass * mass))

    @classmethod
    def from_angles(cls, e: Any, theta: Any, phi: Any) -> P4:
        """A massless four-vector (photon) from its energy and direction."""
        st = np.sin(theta)
        return cls(e * st * np.cos(phi), e * st * np.sin(phi), e * np.cos(theta), e)

    def take(self, rows: Any) -> P4:
        """The four-vectors of a subset of the events (numpy index)."""
        return P4(self.x[rows], self.y[rows], self.z[rows], self.t[rows])

    def __add__(self, o: P4) -> P4:
        return P4(self.x + o.x, self.y + o.y, self.z + o.z, self.t + o.t)

    def __sub__(self, o: P4) -> P4:
        return P4(self.x - o.x, self.y - o.y, self.z - o.z, self.t - o.t)

    @property
    def p2(self) -> Any:
        return self.x * self.x + self.y * self.y + self.z * self.z

    @property
    def p(self) -> Any:
        return np.sqrt(self.p2)

    @property
    def pt(self) -> Any:
        return np.hypot(self.x, self.y)

    @property
    def mass2(self) -> Any:
        return self.t * self.t - self.p2

    @property
    def mass(self) -> Any:
        m2 = self.mass2
        return np.sign(m2) * np.sqrt(np.abs(m2))

    @property
    def theta(self) -> Any:
        return np.arctan2(self.pt, self.z)

    @property
    def phi(self) -> Any:
        return np.arctan2(self.y, self.x)

    @property
    def cos_theta(self) -> Any:
        # NaN for a missing object (zero vector: events with fewer tracks than picked); such
        # events never pass a selection, so the NaN is intended and not worth a warning.
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.z / self.p


def beam_p4(events: Any) -> P4:
    """Per-event e+e- four-vector (lab) from the event columns, as numpy in eager mode."""
    return P4(*(as_columns(events[f"beam_{c}"]) for c in ("px", "py", "pz", "E")))


def boost(p: P4, bx: Any, by: Any, bz: Any) -> P4:
    """Lorentz boost of ``p`` by velocity (bx, by, bz)."""
    b2 = bx * bx + by * by + bz * bz
    return _boost(p, bx, by, bz, b2, 1.0 / np.sqrt(1.0 - b2))


def _boost(p: P4, bx: Any, by: Any, bz: Any, b2: Any, gamma: Any) -> P4:
    bp = bx * p.x + by * p.y + bz * p.z
    k = (gamma - 1.0) * bp / b2 + gamma * p.t
    return P4(p.x + k * bx, p.y + k * by, p.z + k * bz, gamma * (p.t + bp))


def to_cms(p: P4, beam: P4) -> P4:
    """``p`` in the e+e- rest frame of each event (boost by -beta of the beam)."""
    return boost(p, -beam.x / beam.t, -beam.y / beam.t, -beam.z / beam.t)


@dataclass(frozen=True)
class CMSFrame:
    """The per-event boost into the e+e- rest frame, prepared once for several vectors:
    ``CMSFrame.of(beam).to_cms(p)`` is ``to_cms(p, beam)``, number for number."""

    bx: Any
    by: Any
    bz: Any
    b2: Any
    gamma: Any

    @classmethod
    def of(cls, beam: P4) -> CMSFrame:
        bx, by, bz = -beam.x / beam.t, -beam.y / beam.t, -beam.z / beam.t
        b2 = bx * bx + by * by + bz * bz
        return cls(bx, by, bz, b2, 1.0 / np.sqrt(1.0 - b2))

    def to_cms(self, p: P4) -> P4:
        return _boost(p, self.bx, self.by, self.bz, self.b2, self.gamma)

    def take(self, rows: Any) -> CMSFrame:
        """The frames of a subset of the events (numpy index)."""
        return CMSFrame(self.bx[rows], self.by[rows], self.bz[rows], self.b2[rows], self.gamma[rows])


def sqrt_s(beam: P4) -> Any:
    return np.sqrt(beam.mass2)


def electron_beam_axis_cms(beam: P4, frame: CMSFrame | None = None) -> tuple[Any, Any, Any]:
    """Unit vector of the nominal e- beam direction in each event's CMS."""
    one = 0.0 * beam.t + 1.0
    her = P4(_HER[0] * one, _HER[1] * one, _HER[2] * one, _HER[3] * one)
    her = to_cms(her, beam) if frame is None else frame.to_cms(her)
    n = her.p
    return her.x / n, her.y / n, her.z / n


def cos_angle(ax: Any, ay: Any, az: Any, bx: Any, by: Any, bz: Any) -> Any:
    """Cosine of the angle between two three-vectors (clipped to [-1, 1])."""
    dot = ax * bx + ay * by + az * bz
    norm = np.sqrt((ax * ax + ay * ay + az * az) * (bx * bx + by * by + bz * bz))
    with np.errstate(invalid="ignore", divide="ignore"):  # zero vectors (padded objects) give NaN on purpose
        return np.minimum(np.maximum(dot / norm, -1.0), 1.0)  # np.clip is no ufunc (dask-awkward)


def angle(a: P4, b: P4) -> Any:
    """3D opening angle [rad] between the momenta of two four-vectors."""
    return np.arccos(cos_angle(a.x, a.y, a.z, b.x, b.y, b.z))


def opening_angle_cms(a: P4, b: P4, beam: P4, frame: CMSFrame | None = None) -> Any:
    """3D opening angle [rad] in the CMS (``frame``: ``CMSFrame.of(beam)`` if already made)."""
    if frame is None:
        return angle(to_cms(a, beam), to_cms(b, beam))
    return angle(frame.to_cms(a), frame.to_cms(b))


def cos_theta_cms(p: P4, beam: P4) -> Any:
    """cos of the CMS polar angle (to the e- beam direction)."""
    c = to_cms(p, beam)
    return cos_angle(c.x, c.y, c.z, *electron_beam_axis_cms(beam))


def recoil(beam: P4, system: P4) -> P4:
    """Recoil four-vector (lab) against ``system``."""
    return beam - system


def recoil_mass2(beam: P4, system: P4, system_cms: P4 | None = None) -> Any:
    """M^2_recoil = s + M^2 - 2 sqrt(s) E*_system (the paper's formula, E* in the CMS;
    ``system_cms``: ``to_cms(system, beam)`` if already computed)."""
    s = beam.mass2
    c = to_cms(system, beam) if system_cms is None else system_cms
    return s + system.mass2 - 2.0 * np.sqrt(s) * c.t


def recoil_theta_cms(beam: P4, system: P4, system_cms: P4 | None = None, e_axis: tuple | None = None) -> Any:
    """Polar angle [rad] of the recoil momentum in the CMS (direction of -p*_system);
    ``system_cms`` / ``e_axis`` (``electron_beam_axis_cms(beam)``) if already computed."""
    c = to_cms(system, beam) if system_cms is None else system_cms
    axis = electron_beam_axis_cms(beam) if e_axis is None else e_axis
    return np.arccos(cos_angle(-c.x, -c.y, -c.z, *axis))


def helicity_cos(daughter: P4, parent: P4, beam: P4) -> Any:
    """cos of the helicity angle: the daughter's direction in the parent rest frame
    relative to the parent's direction in the CMS."""
    pc = to_cms(parent, beam)
    d = boost(to_cms(daughter, beam), -pc.x / pc.t, -pc.y / pc.t, -pc.z / pc.t)
    return cos_angle(d.x, d.y, d.z, pc.x, pc.y, pc.z)


def unit_from_angles(theta: Any, phi: Any) -> tuple[Any, Any, Any]:
    st = np.sin(theta)
    return st * np.cos(phi), st * np.sin(phi), np.cos(theta)


def within_cone(theta: Any, phi: Any, axis_theta: Any, axis_phi: Any, half_angle: float) -> Any:
    """True for directions (theta, phi) -- e.g. jagged photons -- within ``half_angle`` [rad]
    of a per-event axis."""
    return cos_angle(*unit_from_angles(theta, phi), *unit_from_angles(axis_theta, axis_phi)) > np.cos(half_angle)


def extra_energy(photons: Any, mask: Any = None) -> Any:
    """Summed photon (unmatched ECL cluster) energy per event [GeV], optionally of a subset."""
    energies = photons.E if mask is None else photons.E[mask]
    return as_columns(ak.sum(energies, axis=1))


def _nth_numpy(jagged: ak.Array, i: int, fill: float, scale: float = 1.0) -> np.ndarray:
    """Eager fast path of ``as_columns(ak.pad_none(jagged * scale, i + 1)[:, i], fill)``: the
    same numbers without building option arrays (index arithmetic on the flat content)."""
    counts = ak.to_numpy(ak.num(jagged, axis=1))
    flat = ak.to_numpy(ak.flatten(jagged, axis=1))
    if scale != 1.0:
        flat = flat * scale  # on the content, as awkward does it (same dtype rules)
    has = counts > i
    idx = np.cumsum(counts) - counts + i
    vals = flat[np.where(has, idx, 0)] if len(flat) else np.zeros(len(counts), dtype=flat.dtype)
    out = np.where(has, vals, fill)
    return out.astype(np.float64, copy=False)


def is_eager(objects: Any) -> bool:
    """A jagged awkward array in memory (not dask): numpy fast paths apply."""
    return isinstance(objects, ak.Array) and not _is_dask(objects) and objects.ndim == 2


def nth(objects: Any, i: int, mass: Any = None, momentum_scale: float = 1.0) -> P4:
    """The ``i``-th object (px, py, pz records, e.g. tracks) of each event as a per-event P4;
    events with fewer objects get a zero vector (angles NaN: every comparison False).
    ``mass``: a number, or a jagged per-object array; default the objects' ``mass`` field.
    ``momentum_scale`` multiplies px, py, pz (the same numbers as scaling the objects first)."""
    if is_eager(objects):
        px, py, pz = (_nth_numpy(objects[c], i, 0.0, momentum_scale) for c in ("px", "py", "pz"))
        if mass is None:
            mass = objects.mass
        m = mass if isinstance(mass, (int, float)) else _nth_numpy(mass, i, 0.0)
        return P4.from_pxpypzm(px, py, pz, m)
    padded = ak.pad_none(objects, i + 1, axis=1)[:, i]
    s = momentum_scale
    px, py, pz = (as_columns(padded[c] if s == 1.0 else padded[c] * s) for c in ("px", "py", "pz"))
    if mass is None:
        mass = padded.mass
    elif not isinstance(mass, (int, float)):
        mass = ak.pad_none(mass, i + 1, axis=1)[:, i]
    m = as_columns(mass) if not isinstance(mass, (int, float)) else mass
    if _is_dask(px):
        px, py, pz = (ak.fill_none(c, 0.0) for c in (px, py, pz))
        m = m if isinstance(m, (int, float)) else ak.fill_none(m, 0.0)
    return P4.from_pxpypzm(px, py, pz, m)


def nth_field(objects: Any, i: int, name: str, fill: float = np.nan) -> Any:
    """Field ``name`` of the ``i``-th object per event (``fill`` where absent)."""
    if is_eager(objects):
        return _nth_numpy(objects[name], i, fill)
    col = ak.pad_none(objects, i + 1, axis=1)[:, i][name]
    return as_columns(col, fill) if not _is_dask(col) else ak.fill_none(col, fill)


@numba.njit(cache=True)
def _argmax_kernel(starts, stops, values, out):  # pragma: no cover - numba
    """First index of the maximum per event (-1 if empty), as ak.argmax picks it."""
    for i in range(len(out)):
        best = -1
        for j in range(starts[i], stops[i]):
            if best < 0 or values[j] > values[best]:
                best = j
        out[i] = best


class Jagged:
    """An eager jagged record array (e.g. ``events.Track``) as offsets + flat numpy fields,
    each field flattened once: per-event picks by index arithmetic, for all events or a
    subset (``rows``), with the numbers the padded awkward expressions give."""

    def __init__(self, objects: ak.Array) -> None:
        self.objects = objects
        self.counts = ak.to_numpy(ak.num(objects, axis=1)).astype(np.int64, copy=False)
        self.offsets = np.zeros(len(self.counts) + 1, dtype=np.int64)
        np.cumsum(self.counts, out=self.offsets[1:])
        self._flat: dict[str, np.ndarray] = {}

    def flat(self, name: str) -> np.ndarray:
        """The field's flat content (its own dtype)."""
        if name not in self._flat:
            self._flat[name] = ak.to_numpy(ak.flatten(self.objects[name], axis=1))
        return self._flat[name]

    def nth(self, name: str, i: int, fill: float = 0.0, rows: np.ndarray | None = None) -> np.ndarray:
        """Field ``name`` of the ``i``-th object of each event (of ``rows``), ``fill`` where
        absent, in the field's own dtype (``fill`` may promote it)."""
        flat = self.flat(name)
        starts, counts = (self.offsets[:-1], self.counts) if rows is None else (self.offsets[rows], self.counts[rows])
        has = counts > i
        if has.all():  # e.g. preselected two-track events: nothing to fill (same dtype as np.where gives)
            vals = flat[starts + i]
            return vals.astype(np.result_type(vals, fill), copy=False)
        vals = flat[np.where(has, starts + i, 0)] if len(flat) else np.zeros(len(counts), dtype=flat.dtype)
        return np.where(has, vals, fill)

    def leading_by(self, key: str, names: tuple[str, ...], fill: float = 0.0,
                   rows: np.ndarray | None = None) -> tuple[np.ndarray, ...]:  # fmt: skip
        """:func:`leading_by` for all events or ``rows``."""
        starts, stops = (
            (self.offsets[:-1], self.offsets[1:]) if rows is None else (self.offsets[rows], self.offsets[rows + 1])
        )
        best = np.empty(len(starts), dtype=np.int64)
        _argmax_kernel(starts, stops, self.flat(key), best)
        has = best >= 0
        out = []
        for n in names:
            flat = self.flat(n)
            vals = flat[np.where(has, best, 0)] if len(flat) else np.zeros(len(best), dtype=flat.dtype)
            out.append(np.where(has, vals, fill).astype(np.float64, copy=False))
        return tuple(out)


def leading_by(objects: Any, key: str, names: tuple[str, ...], fill: float = 0.0) -> tuple[Any, ...]:
    """Fields ``names`` of each event's object with the largest ``key`` (``fill`` if none),
    per event; numpy in eager mode (a numba argmax), awkward/dask otherwise."""
    if not is_eager(objects):
        best = ak.argmax(objects[key], axis=1, keepdims=True)
        cols = [as_columns(ak.firsts(objects[n][best]), fill) for n in names]
        return tuple(ak.fill_none(c, fill) if _is_dask(c) else c for c in cols)
    return Jagged(objects).leading_by(key, names, fill)

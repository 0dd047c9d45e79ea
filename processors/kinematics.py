"""Kinematics shared by the searches, written once.

Inputs are awkward four-vector records (``processors.behaviors``) or, for
directions, anything with ``theta``/``phi`` or x/y/z; everything is plain
awkward/numpy ufunc arithmetic so it runs on eager, virtual and dask-awkward
arrays alike.

The CMS frame is the basf2 one: boost the lab into the e+e- rest frame with
the per-event beam four-vector (``events.Beam``), then measure polar angles
from the e- beam direction in that frame (basf2 rotates the e- beam onto +z;
taking the angle to the boosted e- direction is the same polar angle).
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from processors import behaviors
from samples.constants import HER_ANGLE, HER_ENERGY

# Nominal e- (HER) beam four-momentum in the lab, (x, y, z, t): defines the CMS z axis.
_HER = (HER_ENERGY * np.sin(HER_ANGLE), 0.0, HER_ENERGY * np.cos(HER_ANGLE), HER_ENERGY)


def _p4(x, y, z, t) -> ak.Array:
    return ak.zip({"x": x, "y": y, "z": z, "t": t}, with_name="LorentzVector", behavior=behaviors.behavior)


def sqrt_s(beam) -> ak.Array:
    """Per-event centre-of-mass energy [GeV]."""
    return beam.mass


def to_cms(p4, beam):
    """Four-vectors boosted into the e+e- rest frame of each event."""
    return p4.boostCM_of(beam)


def electron_beam_direction_cms(beam):
    """Unit three-vector (x, y, z) of the e- beam in the CMS of each event."""
    her = _p4(
        _HER[0] + 0.0 * beam.px, _HER[1] + 0.0 * beam.px, _HER[2] + 0.0 * beam.px, _HER[3] + 0.0 * beam.px
    )
    h = her.boostCM_of(beam)
    norm = np.sqrt(h.x**2 + h.y**2 + h.z**2)
    return h.x / norm, h.y / norm, h.z / norm


def cos_angle(ax, ay, az, bx, by, bz):
    """Cosine of the angle between two three-vectors given by components (clipped to [-1, 1])."""
    dot = ax * bx + ay * by + az * bz
    norm = np.sqrt((ax**2 + ay**2 + az**2) * (bx**2 + by**2 + bz**2))
    return np.minimum(np.maximum(dot / norm, -1.0), 1.0)  # np.clip is no ufunc (dask-awkward)


def angle(a, b):
    """3D opening angle [rad] between two vector records (x/y/z via vector)."""
    return np.arccos(cos_angle(a.x, a.y, a.z, b.x, b.y, b.z))


def opening_angle_cms(a, b, beam):
    """3D opening angle [rad] between two four-vectors in the CMS."""
    return angle(to_cms(a, beam), to_cms(b, beam))


def cos_theta_cms(p4, beam):
    """cos of the CMS polar angle (to the e- beam direction) of four-vectors."""
    c = to_cms(p4, beam)
    ex, ey, ez = electron_beam_direction_cms(beam)
    return cos_angle(c.x, c.y, c.z, ex, ey, ez)


def recoil(beam, system):
    """Recoil four-vector (lab) against ``system``: beam - system."""
    return beam - system


def recoil_mass2(beam, system):
    """M^2_recoil = s + M^2 - 2 sqrt(s) E*_system (the paper's formula, E* in the CMS)."""
    s = beam.mass2
    e_cms = to_cms(system, beam).t
    return s + system.mass2 - 2.0 * np.sqrt(s) * e_cms


def recoil_theta_cms(beam, system):
    """Polar angle [rad] of the recoil momentum in the CMS (= direction of -p*_system)."""
    c = to_cms(system, beam)
    ex, ey, ez = electron_beam_direction_cms(beam)
    return np.arccos(cos_angle(-c.x, -c.y, -c.z, ex, ey, ez))


def helicity_cos(daughter, parent, beam):
    """cos of the helicity angle: the daughter direction in the parent's rest frame
    relative to the parent's direction in the CMS."""
    parent_cms = to_cms(parent, beam)
    d = to_cms(daughter, beam).boostCM_of(parent_cms)
    return cos_angle(d.x, d.y, d.z, parent_cms.x, parent_cms.y, parent_cms.z)


def unit_from_angles(theta, phi):
    """(x, y, z) unit vector components from polar and azimuthal angles."""
    st = np.sin(theta)
    return st * np.cos(phi), st * np.sin(phi), np.cos(theta)


def within_cone(theta, phi, axis_theta, axis_phi, half_angle):
    """True for directions (theta, phi) -- e.g. jagged photons -- within ``half_angle``
    [rad] of a per-event axis (axis_theta, axis_phi)."""
    a = unit_from_angles(theta, phi)
    b = unit_from_angles(axis_theta, axis_phi)
    return cos_angle(*a, *b) > np.cos(half_angle)


def extra_energy(photons, mask=None):
    """Sum of the photon (unmatched ECL cluster) energies per event [GeV], optionally of a subset."""
    energies = photons.E if mask is None else photons.E[mask]
    return ak.sum(energies, axis=1)


def pair_pt(system):
    """Transverse momentum (lab) of a four-vector."""
    return np.hypot(system.x, system.y)


def nth_candidate(objects, i: int, mass=None):
    """The ``i``-th object of each event as a four-vector record (x, y, z, t, charge)
    with no missing values: events with fewer objects get a zero vector (their
    angles are NaN, so every comparison on them is False). ``mass`` overrides the
    objects' own mass (a number or a per-object array)."""
    padded = ak.pad_none(objects, i + 1, axis=1)[:, i]
    # float64: the recoil mass^2 is a difference of ~ s-sized numbers.
    x = ak.values_astype(ak.fill_none(padded.px, 0.0), np.float64)
    y = ak.values_astype(ak.fill_none(padded.py, 0.0), np.float64)
    z = ak.values_astype(ak.fill_none(padded.pz, 0.0), np.float64)
    m = ak.fill_none(padded.mass, 0.0) if mass is None else mass
    if not isinstance(m, (int, float)):
        m = ak.fill_none(ak.pad_none(m, i + 1, axis=1)[:, i], 0.0) if m.ndim > 1 else m
    t = np.sqrt(x**2 + y**2 + z**2 + m**2)
    charge = ak.fill_none(padded.charge, 0)
    return ak.zip({"x": x, "y": y, "z": z, "t": t, "charge": charge}, with_name="Candidate", behavior=behaviors.behavior)

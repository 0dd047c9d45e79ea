"""Awkward behaviours (mixins) for the b2dark event format.

Record names and what they are:

- ``Track``      charged track; a coffea ``Candidate`` (x/y/z from px/py/pz, a
                 ``mass`` field set by the schema to the pion hypothesis, as basf2
                 fits tracks). ``.as_muon`` / ``.as_electron`` / ``.as_pion`` /
                 ``.as_kaon`` / ``.with_mass(m)`` give the same tracks with another
                 mass hypothesis.
- ``Photon``     ECL cluster without a track; a massless ``LorentzVector`` from
                 (pt, theta, phi, E) -- pt is synthesised by the schema. coffea's
                 ``Candidate`` needs a charge, so this is LorentzVector based.
- ``MCParticle`` true particle, ``LorentzVector`` (px, py, pz, E).
- ``KLMCluster`` direction only (``.direction`` unit ThreeVector).
- ``Vertex``     two-track vertex; ``.position`` and ``.momentum`` ThreeVectors
                 (the record carries x/y/z *and* px/py/pz, so it cannot itself be a
                 vector: vector would read both as the same coordinate).
- the per-event beam is a plain ``LorentzVector`` (px, py, pz, E) so that
  ``.boostCM_of(events.Beam)`` works.

awkward looks ufunc overloads up by record *name*, so every pair of
four-vector names gets an explicit ``+`` / ``-`` registration below (otherwise
``beam - (mu1 + mu2)`` or ``track + photon`` raise). This module must be
importable on every dask worker (it is, as part of the installed package).
"""

from __future__ import annotations

import itertools

import awkward as ak
import numpy as np
from coffea.nanoevents.methods import base, candidate, vector

from samples.constants import M_E, M_K, M_MU, M_PI

behavior: dict = {}
behavior.update(base.behavior)
behavior.update(candidate.behavior)


@ak.mixin_class(behavior)
class Track(candidate.Candidate):
    """A charged track with a mass hypothesis (field ``mass``, pion by default)."""

    def with_mass(self, mass: float) -> ak.Array:
        """The same tracks with every mass set to ``mass`` [GeV] (float64)."""
        return ak.with_field(self, mass * ak.ones_like(self.px, dtype=np.float64), "mass")

    @property
    def as_muon(self) -> ak.Array:
        return self.with_mass(M_MU)

    @property
    def as_electron(self) -> ak.Array:
        return self.with_mass(M_E)

    @property
    def as_pion(self) -> ak.Array:
        return self.with_mass(M_PI)

    @property
    def as_kaon(self) -> ak.Array:
        return self.with_mass(M_K)


@ak.mixin_class(behavior)
class Photon(vector.LorentzVector):
    """A photon (neutral ECL cluster): massless, from E, theta, phi and pt = E sin(theta)."""


@ak.mixin_class(behavior)
class MCParticle(vector.LorentzVector):
    """A generated particle (lab frame)."""


@ak.mixin_class(behavior)
class KLMCluster:
    """A KLM cluster: a direction (theta, phi) and a number of layers."""

    @property
    def direction(self) -> ak.Array:
        st = np.sin(self.theta)
        return ak.zip(
            {"x": st * np.cos(self.phi), "y": st * np.sin(self.phi), "z": np.cos(self.theta)},
            with_name="ThreeVector",
            behavior=self.behavior,
        )


@ak.mixin_class(behavior)
class Vertex:
    """A fitted two-track vertex."""

    @property
    def position(self) -> ak.Array:
        return ak.zip({"x": self.x, "y": self.y, "z": self.z}, with_name="ThreeVector", behavior=self.behavior)

    @property
    def momentum(self) -> ak.Array:
        return ak.zip({"x": self.px, "y": self.py, "z": self.pz}, with_name="ThreeVector", behavior=self.behavior)

    @property
    def rho(self) -> ak.Array:
        """Transverse distance of the vertex from the z axis [cm]."""
        return np.hypot(self.x, self.y)


# vector builds the results of its methods from these class attributes (as coffea
# does for its own mixins): projections are plain vectors; a Track keeps its class
# as "momentum class", so e.g. a scaled track is still a Track.
for _name in ("Track", "Photon", "MCParticle"):
    for _kind in ("Array", "Record"):
        _cls = globals()[_name + _kind]
        _cls.ProjectionClass2D = getattr(vector, "TwoVector" + _kind)
        _cls.ProjectionClass3D = getattr(vector, "ThreeVector" + _kind)
        _cls.ProjectionClass4D = getattr(vector, "LorentzVector" + _kind)
        _cls.MomentumClass = (
            globals()["Track" + _kind] if _name == "Track" else getattr(vector, "LorentzVector" + _kind)
        )

# Cross-type + and - for every pair of four-vector record names: charged +
# charged keeps the charge (Candidate), anything else gives a LorentzVector.
_CHARGED = ("Candidate", "PtEtaPhiMCandidate", "PtEtaPhiECandidate", "Track")
_NEUTRAL = ("LorentzVector", "PtEtaPhiMLorentzVector", "PtEtaPhiELorentzVector", "Photon", "MCParticle")
for _lhs, _rhs in itertools.product(_CHARGED + _NEUTRAL, repeat=2):
    if _lhs in _CHARGED and _rhs in _CHARGED:
        behavior[(np.add, _lhs, _rhs)] = candidate.Candidate.add
        behavior[(np.subtract, _lhs, _rhs)] = candidate.Candidate.subtract
    else:
        behavior[(np.add, _lhs, _rhs)] = vector.LorentzVector.add
        behavior[(np.subtract, _lhs, _rhs)] = vector.LorentzVector.subtract

__all__ = ["KLMCluster", "MCParticle", "Photon", "Track", "Vertex", "behavior"]

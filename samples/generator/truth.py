"""The contract between physics generators and the detector simulation.

A generator returns a :class:`TruthEvents`: a flat particle table (numpy,
float64) with per-event counts, in the e+e- centre-of-mass frame. The common
pipeline then boosts it to the lab (per-event beam four-vector, crossing angle
and energy spread), assigns production vertices (finite lifetimes), applies the
generator-level filter and runs the detector response.

Why a flat table and not awkward: generators build fixed-multiplicity blocks
with numpy and concatenate them; offsets make that free, and the detector
works on whole columns at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class TruthEvents:
    counts: np.ndarray  # (n_events,) int64: particles per event
    pdg: np.ndarray  # (n_particles,) int32
    px: np.ndarray  # (n_particles,) float64, GeV
    py: np.ndarray
    pz: np.ndarray
    E: np.ndarray
    mother: np.ndarray  # (n_particles,) int32: index *within the event*, -1 for primaries
    # Proper decay length c*tau [cm] of each particle (0: decays/ends at its
    # production point or is stable for the detector). Used to place daughters.
    ctau: np.ndarray
    # True for particles the detector sees (stable final state: e, mu, pi, K,
    # p, gamma, K_L, neutrinos/dark states are final but invisible).
    final: np.ndarray  # (n_particles,) bool
    # Event-level columns (mc_* model parameters, weight), each (n_events,).
    event: dict[str, np.ndarray] = field(default_factory=dict)
    # Production vertices in the lab [cm]; filled by the pipeline.
    vx: np.ndarray | None = None
    vy: np.ndarray | None = None
    vz: np.ndarray | None = None

    @property
    def n_events(self) -> int:
        return int(self.counts.shape[0])

    @property
    def offsets(self) -> np.ndarray:
        off = np.zeros(self.n_events + 1, dtype=np.int64)
        np.cumsum(self.counts, out=off[1:])
        return off

    def event_index(self) -> np.ndarray:
        """Event number (0..n-1) of every particle."""
        return np.repeat(np.arange(self.n_events, dtype=np.int64), self.counts)

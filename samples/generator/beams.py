"""SuperKEKB beams per event: lab four-vectors, sqrt(s) and the CMS -> lab transformation.

The e- (HER) and e+ (LER) beams cross at 83 mrad in the x-z plane
(samples.constants, from basf2 beamparameters.py); each beam energy is
smeared by its Gaussian spread, event by event. Generators work in the CMS with
the e- along +z; :meth:`Beams.to_lab` first rotates +z onto the e- direction as
seen in the CMS (it is tilted because of the crossing angle), then boosts with
the e+e- velocity. A generated final state summing to (0, 0, 0, sqrt_s) thus
sums exactly to the beam four-vector in the lab.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from samples import constants as C
from samples.generator import lorentz as lz


def _beam_p4(energy: np.ndarray, angle: float) -> np.ndarray:
    p = np.sqrt(np.maximum(energy**2 - C.M_E**2, 0.0))
    zeros = np.zeros_like(energy)
    return lz.p4(p * np.sin(angle), zeros, p * np.cos(angle), energy)


@dataclass
class Beams:
    electron: np.ndarray  # (n, 4) e- lab four-momentum
    positron: np.ndarray  # (n, 4) e+ lab four-momentum

    @cached_property
    def total(self) -> np.ndarray:
        """(n, 4) e+e- four-momentum in the lab."""
        return self.electron + self.positron

    @property
    def sqrt_s(self) -> np.ndarray:
        return lz.mass(self.total)

    @cached_property
    def beta(self) -> np.ndarray:
        """(n, 3) velocity of the CMS in the lab."""
        t = self.total
        return t[:, :3] / t[:, 3:4]

    @property
    def betagamma(self) -> np.ndarray:
        t = self.total
        return np.linalg.norm(t[:, :3], axis=1) / self.sqrt_s

    def rotation(self) -> np.ndarray:
        """(n, 3, 3) rotation taking the generator's +z onto the CMS e- direction."""
        e_cms = lz.boost_to_rest_of(self.electron, self.total)[:, :3]
        return lz.rotation_z_to(e_cms / np.linalg.norm(e_cms, axis=1, keepdims=True))

    def to_lab(self, v: np.ndarray, event_index: np.ndarray) -> np.ndarray:
        """Generator-CMS four-vectors (m, 4) of particles in events ``event_index`` -> lab."""
        R = self.rotation()
        if np.all(R[:, 1, :] == (0.0, 1.0, 0.0)):
            # Beams in the x-z plane: the rotation is about y (cos = R_zz, sin = R_xz); written
            # out per component, this is the hot loop of the lab transformation.
            c, s = R[event_index, 2, 2], R[event_index, 0, 2]
            x, z = v[:, 0], v[:, 2]
            r = np.empty_like(v, dtype=np.float64)
            r[:, 0] = c * x + s * z
            r[:, 1] = v[:, 1]
            r[:, 2] = c * z - s * x
            r[:, 3] = v[:, 3]
            return lz.boost(r, self.beta[event_index])
        return lz.boost(lz.rotate(v, R[event_index]), self.beta[event_index])

    def to_cms(self, v: np.ndarray, event_index: np.ndarray) -> np.ndarray:
        """Lab four-vectors -> e+e- CMS (axes parallel to the lab, as basf2's useCMSFrame)."""
        return lz.boost(v, -self.beta[event_index])

    def take(self, mask_or_index: np.ndarray) -> Beams:
        return Beams(self.electron[mask_or_index], self.positron[mask_or_index])


def sample_beams(n: int, rng: np.random.Generator, energy_spread: bool = True) -> Beams:
    """Beams for ``n`` events; energies smeared by the HER/LER spreads unless ``energy_spread`` is False."""
    e_her = np.full(n, C.HER_ENERGY)
    e_ler = np.full(n, C.LER_ENERGY)
    if energy_spread:
        e_her = e_her + rng.normal(0.0, C.HER_ENERGY_SPREAD, n)
        e_ler = e_ler + rng.normal(0.0, C.LER_ENERGY_SPREAD, n)
    return Beams(_beam_p4(e_her, C.HER_ANGLE), _beam_p4(e_ler, C.LER_ANGLE))


def nominal_beams(n: int = 1) -> Beams:
    """Beams at the nominal energies (no spread)."""
    return sample_beams(n, np.random.default_rng(0), energy_spread=False)

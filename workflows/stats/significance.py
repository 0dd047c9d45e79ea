"""Local and global significance of the most significant excess in a mass scan.

Global p-values (look-elsewhere effect), both reported:
- Gross & Vitells, Eur. Phys. J. C 70 (2010) 525: p_global ~ p_local + <N(c0)> exp(-(c - c0) / 2), with
  c = Z_max^2 and <N(c0)> the number of upcrossings of the local q0(M) curve above a low reference level
  c0, counted on the observed scan itself (q0 with one degree of freedom, signal >= 0).
- Effective number of independent hypotheses from the resolution: N_eff = range / (2 * window half
  width); p_global = 1 - (1 - p_local)^N_eff.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats


@dataclass
class ScanSignificance:
    mass_max: float
    z_local: float
    p_local: float
    p_global_gv: float
    z_global_gv: float
    upcrossings: int
    ref_level_z: float
    n_eff: float | None
    p_global_neff: float | None
    z_global_neff: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def z_from_p(p) -> np.ndarray:
    return stats.norm.isf(np.clip(np.asarray(p, float), 1e-300, 1.0))


def p_from_z(z) -> np.ndarray:
    return stats.norm.sf(np.asarray(z, float))


def upcrossings(z_local: np.ndarray, level: float) -> int:
    """Number of times the local-significance curve crosses `level` upwards (ordered in mass)."""
    above = np.asarray(z_local) > level
    return int(np.count_nonzero(above[1:] & ~above[:-1]) + int(above[0]))


def scan_significance(masses, z_local, window_halfwidth=None, ref_level_z: float = 0.5) -> ScanSignificance:
    """Summarise a scan: the largest local excess and its global significance (two estimates)."""
    masses = np.asarray(masses, float)
    order = np.argsort(masses)
    masses, z = masses[order], np.clip(np.nan_to_num(np.asarray(z_local, float)[order], nan=0.0), 0.0, None)
    i = int(np.argmax(z))
    z_max = float(z[i])
    p_loc = float(p_from_z(z_max))
    n_up = upcrossings(z, ref_level_z)
    c, c0 = z_max**2, ref_level_z**2
    p_gv = p_loc + n_up * np.exp(-(c - c0) / 2.0) if z_max > ref_level_z else 1.0
    p_gv = float(min(max(p_gv, p_loc), 1.0))
    n_eff = p_ne = z_ne = None
    if window_halfwidth is not None and masses.size > 1:
        hw = np.broadcast_to(np.asarray(window_halfwidth, float), masses.shape)
        widths = 2.0 * hw
        n_eff = max(1.0, float(np.trapezoid(1.0 / widths, masses)))
        p_ne = float(-np.expm1(n_eff * np.log1p(-p_loc))) if p_loc < 1 else 1.0
        z_ne = max(float(z_from_p(p_ne)), 0.0)
    return ScanSignificance(
        float(masses[i]), z_max, p_loc, p_gv, max(float(z_from_p(p_gv)), 0.0), n_up, ref_level_z, n_eff, p_ne, z_ne
    )

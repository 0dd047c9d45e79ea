"""Hand-built mono-photon events for the processor tests (no dependency on the generator)."""

from __future__ import annotations

from typing import Any

import numpy as np


def lab_photon(e_cms: float, theta_lab_deg: float, phi: float = 0.3) -> dict[str, float]:
    """A photon of CMS energy ``e_cms`` at lab polar angle ``theta_lab_deg`` (nominal beams): the lab
    energy that has this E* at that direction, found by boosting a unit vector to the CMS."""
    from synthetic import boost, nominal_beam

    beam = nominal_beam()
    beta = -beam[:3] / beam[3]
    t = np.radians(theta_lab_deg)
    u = np.array([[np.sin(t) * np.cos(phi), np.sin(t) * np.sin(phi), np.cos(t), 1.0]])
    e_star_per_gev = boost(u, beta[None, :])[0, 3]
    return {"E": float(e_cms / e_star_per_gev), "theta": float(t), "phi": float(phi), "time": 0.0}


def partner_direction_lab(photon: dict[str, float]) -> tuple[float, float]:
    """Lab (theta, phi) of the direction back to back with ``photon`` in the CMS (nominal beams)."""
    from synthetic import boost, cms_to_lab, nominal_beam

    beam = nominal_beam()
    t, p = photon["theta"], photon["phi"]
    lab = np.array([[np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t), 1.0]]) * photon["E"]
    cms = boost(lab, -beam[:3][None, :] / beam[3])
    back = cms * np.array([-1.0, -1.0, -1.0, 1.0])
    b = cms_to_lab(back, beam)[0]
    return float(np.arctan2(np.hypot(b[0], b[1]), b[2])), float(np.arctan2(b[1], b[0]))


def event(*photons: dict[str, float], klm: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"Photon": list(photons), "KLMCluster": klm or [], **extra}

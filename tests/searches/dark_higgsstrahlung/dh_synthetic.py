"""Hand-built dark Higgsstrahlung events: mu+ mu- of mass M_mumu recoiling against an invisible state of mass
M_recoil, with a chosen recoil direction (CMS) and a chosen helicity angle of the mu+ (exact before float32)."""

from __future__ import annotations

from typing import Any

import numpy as np
from synthetic import boost, cms_to_lab, nominal_beam

from samples import constants as C


def dimuon_event(m_mumu: float, m_recoil: float, recoil_cos: float, cos_hel: float, phi: float = 0.4,
                 muon_id: float = 0.99) -> dict[str, Any]:  # fmt: skip
    """One event; ``_recoil_lab`` = (theta, phi) of the recoil in the lab, ``_truth`` = (M_mumu, M_recoil)."""
    beam = nominal_beam()
    rs = float(np.sqrt(beam[3] ** 2 - np.sum(beam[:3] ** 2)))
    q = np.sqrt((rs**2 - (m_mumu + m_recoil) ** 2) * (rs**2 - (m_mumu - m_recoil) ** 2)) / (2 * rs)
    sth = np.sqrt(1 - recoil_cos**2)
    u = -np.array([sth * np.cos(phi), sth * np.sin(phi), recoil_cos])  # pair direction (opposite to the recoil)
    pair = np.r_[q * u, np.sqrt(q * q + m_mumu**2)]
    v = np.cross(u, [0.0, 0.0, 1.0]) if abs(recoil_cos) < 0.99 else np.cross(u, [1.0, 0.0, 0.0])
    v /= np.linalg.norm(v)
    k = np.sqrt(m_mumu**2 / 4 - C.M_MU**2)
    d = k * (cos_hel * u + np.sqrt(1 - cos_hel**2) * v)  # mu+ in the pair rest frame
    e = np.sqrt(k * k + C.M_MU**2)
    beta = pair[:3] / pair[3]
    mu_p = cms_to_lab(boost(np.r_[d, e][None], beta), beam)[0]
    mu_m = cms_to_lab(boost(np.r_[-d, e][None], beta), beam)[0]
    rec = beam - mu_p - mu_m
    return {
        "Track": [
            {"px": mu_p[0], "py": mu_p[1], "pz": mu_p[2], "charge": 1, "muonID": muon_id},
            {"px": mu_m[0], "py": mu_m[1], "pz": mu_m[2], "charge": -1, "muonID": muon_id},
        ],
        "Photon": [],
        "_recoil_lab": (float(np.arctan2(np.hypot(rec[0], rec[1]), rec[2])), float(np.arctan2(rec[1], rec[0]))),
        "_truth": (m_mumu, m_recoil),
    }


def metadata(sample: str, n_events: int, is_data: bool = False, **extra: Any) -> dict[str, Any]:
    sig = sample.startswith("sig")
    md: dict[str, Any] = {
        "sample": sample, "process": "data" if is_data else ("dark_higgsstrahlung" if sig else sample),
        "is_data": is_data, "is_signal": sig and not is_data, "xsec_fb": None if is_data else 10.0,
        "n_events": n_events, "n_generated": n_events, "filter_efficiency": 1.0, "lumi_fb": 8.34,
        "mass": 5.0 if sig else None, "mass2": 2.0 if sig else None, "mass3": None, "coupling": None, "ctau": None,
        "injected_signal": None,
    }  # fmt: skip
    md.update(extra)
    return md

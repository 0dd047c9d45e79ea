"""The synthetic Z' -> invisible sample of the processor tests: sizes, the background events, metadata."""

from __future__ import annotations

from typing import Any

import numpy as np

SIGNAL_MASS = 3.0  # GeV: the synthetic signal peaks at M^2_recoil = 9 GeV^2
N_SIGNAL = 150
N_BKG = 150
N_INJECTED = 40


def bkg_events(rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
    """mu mu gamma-like background: two muons recoiling against a massless state; half of
    the events have that photon reconstructed (they fail the photon veto)."""
    from synthetic import dimuon_recoil_events

    events = dimuon_recoil_events(rng, n, 0.0, recoil_cos_range=(-0.6, 0.6))
    for i, ev in enumerate(events):
        if i % 2 == 0:
            theta, phi = ev["_recoil_lab"]
            ev["Photon"] = [{"E": 1.5, "theta": theta, "phi": phi}]
    return events


def zp_metadata(sample: str, n_events: int, is_data: bool = False, **extra: Any) -> dict[str, Any]:
    md: dict[str, Any] = {
        "sample": sample, "process": "zprime_inv" if sample.startswith("sig") else sample, "is_data": is_data,
        "is_signal": sample.startswith("sig"),
        "xsec_fb": None if is_data else 20.0, "n_events": n_events, "n_generated": n_events,
        "filter_efficiency": 1.0 if is_data else 0.5, "lumi_fb": 79.7,
        "mass": SIGNAL_MASS if sample.startswith("sig") else None, "coupling": None, "ctau": None,
        "mass2": None, "mass3": None, "injected_signal": None,
    }  # fmt: skip
    md.update(extra)
    return md

"""The helicity-angle cut by a figure of merit: for every cut value c on |cos theta_hel|, the Punzi figure of
merit eps_S(c) / (a/2 + sqrt(B(c))) (a = 3; Punzi, physics/0308063) per generated signal point, from the N-1
histogram ``nm1_helicity_plane`` of a run (all cuts but the helicity one), in the plane cells that hold the
central part of that signal; averaged over the points after normalising each to its best value, so that every
mass counts alike. The declared working point (search.py) is the maximum of this scan on the recipe's samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

PUNZI_A = 3.0
CORE_FRACTION = 0.7  # the signal's plane cells holding this fraction of it (before the helicity cut)


def helicity_scan(hist: Any, signals: list[str], backgrounds: list[str]) -> dict[str, Any]:
    """{"cuts": upper cut values, "fom": mean normalised FOM per cut, "per_signal": {sample: FOM per cut},
    "best": the cut with the largest mean}."""
    edges = hist.axes["abs_cos_hel"].edges
    cuts = edges[1:]
    present = set(hist.axes["sample"])
    bkg = sum(hist[{"sample": b}].values() for b in backgrounds if b in present)
    per: dict[str, np.ndarray] = {}
    for s in signals:
        if s not in present:
            continue
        sig = hist[{"sample": s}].values()  # (m_mumu, m_recoil, cos)
        tot = sig.sum()
        if tot <= 0:
            continue
        plane = sig.sum(axis=2).ravel()
        order = np.argsort(plane)[::-1]
        core = np.zeros(plane.size, bool)
        core[order[: int(np.searchsorted(np.cumsum(plane[order]) / tot, CORE_FRACTION)) + 1]] = True
        core = core.reshape(sig.shape[:2])
        s_cum = np.cumsum(sig[core].sum(axis=0)) / tot
        b_cum = np.cumsum(bkg[core].sum(axis=0)) if np.ndim(bkg) else np.zeros_like(s_cum)
        fom = s_cum / (PUNZI_A / 2 + np.sqrt(np.maximum(b_cum, 0.0)))
        per[s] = fom / fom.max()
    if not per:
        raise ValueError("helicity_scan: no signal sample with events in the N-1 histogram")
    mean = np.mean(list(per.values()), axis=0)
    return {"cuts": cuts, "fom": mean, "per_signal": per, "best": float(cuts[int(np.argmax(mean))])}


def scan_of_run(run: Any, spec: Any) -> dict[str, Any]:
    """The scan on a run output (workflows.outputs.RunOutput) of the search ``spec``."""
    samples: Mapping[str, Mapping[str, Any]] = run.samples
    sig = [s for s, m in samples.items() if m.get("is_signal")]
    return helicity_scan(run.hists["nm1_helicity_plane"], sig, list(spec.backgrounds))

"""Resolution-tied rebinning of a fit template inside its mass window.

The processors fill fine, fixed binnings (Z' -> invisible: 1000 M^2_recoil bins x 6 theta_recoil bins) so
that one histogram serves every mass hypothesis. Background MC events carry large weights (the MC
equivalent luminosity is far below the data's), so at that granularity most window bins hold 0 or 1 MC
events: 100 % staterror nuisances, floored empty bins and a likelihood the asymptotic formulae cannot
describe. The rule used per mass hypothesis (`window_edges`, `merge_groups`):

- peak axis: bins of sigma/2 within +-`core` sigma of the peak (where the signal is), 4 wider bins on each
  side out to +-n_sigma (they constrain the background level and slope); every edge snapped to the nearest
  fine edge (so no fine bin is split) and clipped to the axis range;
- other axes (theta_recoil): adjacent bins are merged, smallest effective MC background first, until every
  group holds at least `min_neff` effective background MC events per peak-axis bin on average
  (N_eff = (sum w)^2 / sum w^2) and the template has at most `max_bins` bins.
This gives O(20-60) bins per mass with a few MC events per bin instead of hundreds of empty ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import hist
import numpy as np


def window_edges(
    fine: np.ndarray, peak: float, sigma: float, n_sigma: float = 10.0, core: float = 3.0, n_side: int = 4
) -> np.ndarray:
    """Indices into the fine edges `fine` of the coarse bin edges inside peak +- n_sigma * sigma."""
    core = min(core, n_sigma)
    inner = np.arange(-core, core + 1e-9, 0.5)
    outer = np.linspace(core, n_sigma, n_side + 1)[1:] if n_sigma > core else np.array([])
    target = peak + sigma * np.concatenate([-outer[::-1], inner, outer])
    # snap every edge to the nearest fine edge
    tgt_sorted = np.clip(np.sort(target), fine[0], fine[-1])
    j = np.searchsorted(fine, tgt_sorted)
    j = np.clip(j, 1, fine.size - 1)
    j = np.where(np.abs(fine[j - 1] - tgt_sorted) <= np.abs(fine[j] - tgt_sorted), j - 1, j)
    j = np.unique(j)
    if j.size < 2:  # window narrower than one fine bin: the fine bin holding the peak
        k = int(np.clip(np.searchsorted(fine, peak) - 1, 0, fine.size - 2))
        j = np.array([k, k + 1])
    return j


def merge_groups(neff: np.ndarray, n_peak_bins: int, min_neff: float = 10.0, max_bins: int = 60) -> np.ndarray:
    """Start indices of merged groups of adjacent bins (see the module doc) given each bin's N_eff."""
    groups = [[i] for i in range(neff.size)]

    def g_neff(g: list[int]) -> float:
        return float(np.sum(neff[g]))

    while len(groups) > 1:
        sizes = np.array([g_neff(g) for g in groups])
        if sizes.min() >= min_neff * n_peak_bins and len(groups) * n_peak_bins <= max_bins:
            break
        i = int(np.argmin(sizes))
        if i == 0:
            j = 1
        elif i == len(groups) - 1:
            j = i - 1
        else:
            j = i - 1 if sizes[i - 1] <= sizes[i + 1] else i + 1
        a, b = sorted((i, j))
        groups[a : b + 1] = [groups[a] + groups[b]]
    return np.array([g[0] for g in groups], int)


def effective_entries(values: np.ndarray, variances: np.ndarray | None) -> np.ndarray:
    """N_eff = (sum w)^2 / sum w^2 per bin (the values themselves for unweighted fills)."""
    v = np.asarray(values, float)
    if variances is None:
        return np.clip(v, 0, None)
    var = np.asarray(variances, float)
    return np.divide(v * v, var, out=np.zeros_like(v), where=var > 0)


def rebin(h: hist.Hist, axis: str, starts: np.ndarray, stop: int | None = None) -> hist.Hist:
    """Sum the fine bins of `axis` into groups [starts[i], starts[i+1]) (the last group ends at `stop`,
    default: the axis end); underflow/overflow and bins outside the groups are dropped."""
    ax_i = h.axes.name.index(axis)
    old = h.axes[axis]
    stop = len(old) if stop is None else stop
    starts = np.asarray(starts, int)
    edges = np.append(np.asarray(old.edges)[starts], np.asarray(old.edges)[stop])
    new_ax = hist.axis.Variable(edges, name=old.name, label=old.label, underflow=False, overflow=False)
    axes = [new_ax if i == ax_i else a for i, a in enumerate(h.axes)]
    out = hist.Hist(*axes, storage=h.storage_type())
    view = h.view(flow=False)
    sl = [slice(None)] * view.ndim
    sl[ax_i] = slice(None, stop)
    view = view[tuple(sl)]
    if view.dtype.names:  # Weight-like storage: sum each field
        for f in view.dtype.names:
            out.view(flow=False)[f] = np.add.reduceat(view[f], starts, axis=ax_i)
    else:
        out.view(flow=False)[...] = np.add.reduceat(view, starts, axis=ax_i)
    return out


def window_rebin_plan(
    background: Sequence[hist.Hist],
    peak_axis: str,
    peak: float,
    sigma: float,
    n_sigma: float,
    min_neff: float = 10.0,
    max_bins: int = 60,
) -> dict[str, tuple]:
    """{axis: (starts, stop)} for `rebin`: resolution-tied peak-axis bins, sparse other axes merged."""
    h0 = background[0]
    fine = np.asarray(h0.axes[peak_axis].edges)
    j = window_edges(fine, peak, sigma, n_sigma)
    plan: dict[str, tuple] = {peak_axis: (j[:-1], int(j[-1]))}
    others = [a.name for a in h0.axes if a.name not in (peak_axis, "syst", "sample")]
    n_peak = j.size - 1
    for name in others:
        val: Any = 0.0
        var: Any = 0.0
        for h in background:
            hn = h[{"syst": "nominal"}] if "syst" in h.axes.name else h
            proj = rebin(hn, peak_axis, j[:-1], int(j[-1])).project(name)
            val = val + proj.values()
            var = var + (proj.variances() if proj.variances() is not None else proj.values())
        neff = effective_entries(val, var)
        plan[name] = (merge_groups(np.asarray(neff), n_peak, min_neff, max(max_bins, n_peak)), None)
    return plan


def apply_plan(h: hist.Hist, plan: dict[str, tuple]) -> hist.Hist:
    for axis, (starts, stop) in plan.items():
        h = rebin(h, axis, starts, stop)
    return h

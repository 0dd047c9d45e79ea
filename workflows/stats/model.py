"""Build pyhf workspaces from hist objects: one small API for every search shape.

`build_workspace(signal, backgrounds, data, window, systematics)` takes hists that share their binning
(any number of axes; a "syst" StrCategory axis carries shape variations named <name>Up / <name>Down),
keeps the bins inside the window, flattens them into one channel and returns a pyhf workspace and a
`BuildReport` saying what was dropped, floored and pruned:

- bins with no signal, no background and no data carry no information and break the fit: dropped;
- a bin whose total background is below `epsilon` (empty or negative MC) gets its background floored
  to `epsilon` events (default 1e-3, far below one event, so it cannot hide a signal but keeps
  log(nu) finite); negative per-sample yields are clipped at zero first;
- merge_empty=True (used by the mass scans): a bin with no MC background is first merged into its nearest
  bin with background along the first (peak) axis, same other-axis bin; only bins without any such
  neighbour are floored. Real data in a zero-MC bin would otherwise face a 1e-3 background and read as
  signal; Asimov data never populate such bins. Without data the observed counts are the Asimov
  background-only expectation of the model *including* the floors, so observed and expected agree;
- staterror (Barlow-Beeston lite) parameters for bins with a relative MC error below
  `StatError.prune_below` are fixed (pyhf fixes gammas whose uncertainty is zero), which removes
  nuisance parameters that do nothing.

The same builder serves a binned template (2D flattened), a 1D fit scan (1D hist + window on the mass
axis), a single-window counting (one bin) and a cut-and-count with a sideband background (pass the
sideband prediction as a one-bin background with a NormSys for its statistical uncertainty).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import hist
import numpy as np
import pyhf

from processors.spec import HistoSys, NormSys, StatError
from samples.constants import LUMI_REL_UNCERTAINTY

NOMINAL = "nominal"
DEFAULT_EPSILON = 1e-3  # events; floor for empty/negative background bins (see module doc)


# The systematics vocabulary is declared with the searches (processors/spec.py); re-exported here.
__all__ = ["HistoSys", "NormSys", "StatError", "build_workspace", "lumi_normsys"]


def lumi_normsys(rel: float = LUMI_REL_UNCERTAINTY) -> NormSys:
    """The integrated-luminosity uncertainty on every MC-normalised sample."""
    return NormSys("lumi", 1.0 - rel, 1.0 + rel)


@dataclass
class BuildReport:
    n_bins_window: int = 0
    n_bins_kept: int = 0
    dropped_empty: int = 0
    floored: int = 0
    epsilon: float = DEFAULT_EPSILON
    staterror_free: int = 0
    staterror_pruned: int = 0
    merged_empty: int = 0  # bins without MC background merged into a neighbour (merge_empty=True)
    data_is_asimov: bool = False
    notes: list[str] = field(default_factory=list)


def _nominal(h: hist.Hist, syst: str = NOMINAL) -> hist.Hist:
    if "syst" in h.axes.name:
        if syst not in h.axes["syst"]:
            raise KeyError(
                f"hist has no syst entry {syst!r}; entries: {list(h.axes['syst'])}. "
                "Fill the variation in the processor or drop the HistoSys."
            )
        return h[{"syst": syst}]
    if syst != NOMINAL:
        raise KeyError(f"hist has no 'syst' axis, cannot read the variation {syst!r}")
    return h


VARIATION_SUFFIXES = (("Up", "Down"), ("_up", "_down"))


def variation_labels(h: hist.Hist, name: str) -> tuple[str, str]:
    """syst-axis entries of a shape variation: <name>Up/<name>Down or <name>_up/<name>_down."""
    entries = list(h.axes["syst"]) if "syst" in h.axes.name else []
    for up, dn in VARIATION_SUFFIXES:
        if name + up in entries and name + dn in entries:
            return name + up, name + dn
    raise KeyError(
        f"hist has no variation pair {name}Up/{name}Down or {name}_up/{name}_down on its syst axis "
        f"(entries: {entries}); fill it in the processor or drop HistoSys({name!r})"
    )


def variation_names(h: hist.Hist) -> list[str]:
    """All shape-variation names with both an up and a down entry on the hist's syst axis."""
    entries = list(h.axes["syst"]) if "syst" in h.axes.name else []
    return [
        e[: -len(up)]
        for e in entries
        for up, dn in VARIATION_SUFFIXES
        if e.endswith(up) and e[: -len(up)] + dn in entries
    ]


def select_sample(h: hist.Hist, samples: str | Sequence[str]) -> hist.Hist:
    """Sum a processor hist over the given entries of its "sample" axis."""
    names = [samples] if isinstance(samples, str) else list(samples)
    missing = [s for s in names if s not in h.axes["sample"]]
    if missing:
        raise KeyError(f"samples {missing} not in the hist's sample axis {list(h.axes['sample'])}")
    return h[{"sample": names}][{"sample": sum}]


def window_mask(h: hist.Hist, window: Mapping[str, tuple[float, float]] | None) -> np.ndarray:
    """Boolean mask over the (non-syst) bins whose centres lie inside the window on each named axis."""
    axes = [ax for ax in h.axes if ax.name != "syst"]
    masks = []
    for ax in axes:
        if window and ax.name in window:
            lo, hi = window[ax.name]
            c = np.asarray(ax.centers)
            masks.append((c >= lo) & (c <= hi))
        else:
            masks.append(np.ones(len(ax), bool))
    unknown = set(window or ()) - {ax.name for ax in axes}
    if unknown:
        raise KeyError(f"window axes {sorted(unknown)} not in hist axes {[ax.name for ax in axes]}")
    out = masks[0]
    for m in masks[1:]:
        out = np.logical_and.outer(out, m)
    return out


def _flat(
    h: hist.Hist, mask: np.ndarray, syst: str = NOMINAL, group: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    hn = _nominal(h, syst)
    val = np.asarray(hn.values(), float)[mask]
    var = hn.variances()
    var = np.asarray(var, float)[mask] if var is not None else np.abs(val)
    if group is not None:
        n = int(group.max()) + 1
        val, var = np.bincount(group, val, n), np.bincount(group, var, n)
    return val, var


def empty_bin_groups(mask: np.ndarray, btot: np.ndarray, epsilon: float) -> np.ndarray:
    """Group index per window bin: a bin without MC background (< epsilon) joins its nearest bin along
    the first axis (the peak axis) with the same other-axis indices that has background, so no fit bin
    is left whose background is only the floor (data there would be read as signal)."""
    idx = np.argwhere(mask)  # (n, ndim), the order of arr[mask]
    target = np.arange(len(idx))
    empty = btot < epsilon
    for e in np.flatnonzero(empty):
        same = np.all(idx[:, 1:] == idx[e, 1:], axis=1) & ~empty
        if same.any():
            cand = np.flatnonzero(same)
            target[e] = cand[np.argmin(np.abs(idx[cand, 0] - idx[e, 0]))]
    return np.unique(target, return_inverse=True)[1]


def _applies(s: NormSys | HistoSys, sample: str) -> bool:
    return s.samples is None or sample in s.samples


def build_workspace(
    signal: hist.Hist,
    backgrounds: Mapping[str, hist.Hist],
    data: hist.Hist | np.ndarray | None = None,
    window: Mapping[str, tuple[float, float]] | None = None,
    systematics: Sequence[NormSys | HistoSys | StatError] = (),
    *,
    signal_name: str = "signal",
    channel: str = "sr",
    poi: str = "mu",
    epsilon: float = DEFAULT_EPSILON,
    merge_empty: bool = False,
) -> tuple[pyhf.Workspace, BuildReport]:
    """Workspace for one mass hypothesis; the signal carries the POI `poi` (a normfactor)."""
    mask = window_mask(_nominal(signal), window)
    report = BuildReport(n_bins_window=int(mask.sum()), epsilon=epsilon)
    samples = {signal_name: signal, **backgrounds}
    group = None
    if merge_empty and backgrounds:
        b0 = sum(np.clip(_flat(h, mask)[0], 0.0, None) for h in backgrounds.values())
        group = empty_bin_groups(mask, b0, epsilon)
        report.merged_empty = int(group.size - (group.max() + 1))
    nom = {k: np.clip(_flat(h, mask, group=group)[0], 0.0, None) for k, h in samples.items()}
    var = {k: _flat(h, mask, group=group)[1] for k, h in samples.items()}
    if data is None:
        obs = None
        report.data_is_asimov = True
        report.notes.append("no data given: observed = Asimov background-only (floors included)")
    elif isinstance(data, hist.Hist):
        obs = _flat(data, mask, group=group)[0]
    else:
        obs = np.asarray(data, float).reshape(-1)
        if obs.size != mask.size:
            raise ValueError(f"data array has {obs.size} bins, the hists {mask.size}")
        obs = obs[mask.reshape(-1)]
        if group is not None:
            obs = np.bincount(group, obs, int(group.max()) + 1)

    btot = sum(nom[k] for k in backgrounds) if backgrounds else np.zeros_like(nom[signal_name])
    if obs is None:
        obs = np.maximum(btot, epsilon)  # = the floored background model below
    keep = (nom[signal_name] > 0) | (btot > 0) | (obs > 0)
    report.dropped_empty = int((~keep).sum())
    low = keep & (btot < epsilon)
    report.floored = int(low.sum())
    first_bkg = next(iter(backgrounds)) if backgrounds else None
    if first_bkg is None:
        raise ValueError("build_workspace needs at least one background sample")
    nom[first_bkg] = np.where(low, nom[first_bkg] + (epsilon - btot), nom[first_bkg])

    stat = next((s for s in systematics if isinstance(s, StatError)), None)
    stat_samples = [k for k in samples if stat and (stat.include_signal or k != signal_name)]
    sigma = np.zeros(keep.sum())
    if stat:
        tot = sum(nom[k][keep] for k in stat_samples)
        err = np.sqrt(sum(np.clip(var[k][keep], 0, None) for k in stat_samples))
        rel = np.divide(err, tot, out=np.zeros_like(err), where=tot > 0)
        prune = rel < stat.prune_below
        report.staterror_pruned = int(prune.sum())
        report.staterror_free = int((~prune).sum())
        sigma = np.where(prune, 0.0, 1.0)

    spec_samples = []
    for name, h in samples.items():
        mods: list[dict] = []
        if name == signal_name:
            mods.append({"name": poi, "type": "normfactor", "data": None})
        for s in systematics:
            if isinstance(s, NormSys) and _applies(s, name):
                mods.append({"name": s.name, "type": "normsys", "data": {"hi": s.hi, "lo": s.lo}})
            elif isinstance(s, HistoSys) and _applies(s, name) and "syst" in h.axes.name:
                lab_up, lab_dn = variation_labels(h, s.name)
                up = np.clip(_flat(h, mask, lab_up, group)[0], 0, None)[keep]
                dn = np.clip(_flat(h, mask, lab_dn, group)[0], 0, None)[keep]
                base = nom[name][keep]
                floored = low[keep] if name == first_bkg else np.zeros_like(base, bool)
                up, dn = np.where(floored, base, up), np.where(floored, base, dn)
                mods.append(
                    {"name": s.name, "type": "histosys", "data": {"hi_data": up.tolist(), "lo_data": dn.tolist()}}
                )
        if stat and name in stat_samples:
            err = np.sqrt(np.clip(var[name][keep], 0, None)) * sigma
            mods.append({"name": f"staterror_{channel}", "type": "staterror", "data": err.tolist()})
        spec_samples.append({"name": name, "data": nom[name][keep].tolist(), "modifiers": mods})

    report.n_bins_kept = int(keep.sum())
    spec = {
        "channels": [{"name": channel, "samples": spec_samples}],
        "observations": [{"name": channel, "data": obs[keep].tolist()}],
        "measurements": [{"name": "meas", "config": {"poi": poi, "parameters": []}}],
        "version": "1.0.0",
    }
    return pyhf.Workspace(spec), report


def set_poi_bounds(ws: pyhf.Workspace, hi: float, lo: float = 0.0) -> pyhf.Workspace:
    """Explicit POI bounds (pyhf's default normfactor range [0, 10] breaks toms748 brackets)."""
    spec = json.loads(json.dumps(dict(ws)))
    poi = spec["measurements"][0]["config"]["poi"]
    pars = [p for p in spec["measurements"][0]["config"]["parameters"] if p["name"] != poi]
    pars.append({"name": poi, "bounds": [[lo, hi]], "inits": [min(1.0, hi)]})
    spec["measurements"][0]["config"]["parameters"] = pars
    return pyhf.Workspace(spec)


def save_workspace(ws: pyhf.Workspace, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(ws), indent=1, sort_keys=True))
    return path


def load_workspace(path: str | Path) -> pyhf.Workspace:
    return pyhf.Workspace(json.loads(Path(path).read_text()))

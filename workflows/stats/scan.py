"""Mass scans: one workspace per mass hypothesis, limits in parallel, a table row per mass.

The signal of every mass point is normalised to 1 fb of sigma x BF before the model is built, so the POI
*is* the cross section in fb and the limit on mu is the cross-section limit.

Z' -> invisible (`template_points` with the defaults): the 2D template M^2_recoil x theta_recoil of the processor, in a window
of +-`n_sigma` resolutions around M^2. The resolution sigma(M^2) and the signal efficiency are measured on
the generated signal samples (central 68 % half-width of the M^2 peak, yield / xsec) and interpolated
linearly in M for intermediate masses, where the signal template is a Gaussian in M^2 times the theta
distribution of the nearest generated mass. Each window is rebinned with the resolution-tied rule of
workflows.stats.binning (the processor's 1000 x 6 bins leave most window bins with 0-1 weighted MC events),
empty-MC bins are merged into neighbours, and the staterror gammas cover the background MC only.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import hist
import numpy as np

from workflows.stats import binning, limits
from workflows.stats.model import (
    NOMINAL,
    BuildReport,
    HistoSys,
    NormSys,
    StatError,
    build_workspace,
    lumi_normsys,
    variation_names,
)


@dataclass
class MassPoint:
    mass: float
    workspace: dict
    report: BuildReport
    interpolated: bool = False
    window: tuple[float, float] | None = None
    extra: dict = field(default_factory=dict)


def _signal_stats(h2: hist.Hist, m2_axis: str) -> tuple[float, float, float]:
    """(peak M^2, resolution = central 68 % half-width, total yield) of a signal template."""
    proj = h2.project(m2_axis) if len(h2.axes) > 1 else h2
    v = np.clip(proj.values(), 0, None)
    c = proj.axes[0].centers
    tot = v.sum()
    if tot <= 0:
        return np.nan, np.nan, 0.0
    cdf = np.cumsum(v) / tot
    lo, med, hi = np.interp([0.16, 0.5, 0.84], cdf, c)
    width = max((hi - lo) / 2.0, proj.axes[0].widths.min())
    return float(med), float(width), float(tot)


def template_points(
    template: hist.Hist,
    samples: dict[str, dict],
    masses: Sequence[float] | None = None,
    n_sigma: float = 10.0,
    m2_axis: str = "m2_recoil",
    to_axis: Callable[[float], float] = lambda m: m * m,
    signal_eff_unc: float = 0.05,
    prune_below: float = 0.02,
    rebin: bool = True,
    min_neff: float = 10.0,
    max_bins: int = 60,
) -> list[MassPoint]:
    """Workspaces per mass from a processor hist with "sample" (and "syst") axes.

    `m2_axis` is the axis the signal peaks on and `to_axis(mass)` the peak position on it (M^2_recoil for
    Z' -> invisible, the default; identity for a 1D M(mu mu) fit scan). The window is +-n_sigma
    resolutions around the peak. rebin=True (default) rebins the window with the resolution-tied rule of
    workflows.stats.binning (min_neff, max_bins); rebin=False keeps the processor's fine bins."""
    names = list(template.axes["sample"])
    sig = {k: m for k, m in samples.items() if m.get("is_signal") and k in names and m.get("mass")}
    bkg = [k for k, m in samples.items() if not m.get("is_signal") and not m.get("is_data") and k in names]
    data = [k for k, m in samples.items() if m.get("is_data") and k in names]
    if not sig or not bkg:
        raise ValueError(f"template hist needs signal and background samples; has {names}, catalog {list(samples)}")
    gen = sorted(sig, key=lambda k: sig[k]["mass"])
    gen_m = np.array([sig[k]["mass"] for k in gen], float)
    per_fb = {k: template[{"sample": k}] * (1.0 / float(sig[k]["xsec_fb"])) for k in gen}
    st = np.array([_signal_stats(per_fb[k][{"syst": NOMINAL}] if "syst" in per_fb[k].axes.name else per_fb[k],
                                 m2_axis) for k in gen])
    ok = np.isfinite(st[:, 1]) & (st[:, 2] > 0)
    bkg_h = {k: template[{"sample": k}] for k in bkg}
    data_h = template[{"sample": data}][{"sample": sum}] if data else None
    blinded_data = data_h is None or float(np.sum(data_h[{"syst": NOMINAL}].values()
                                                   if "syst" in data_h.axes.name else data_h.values())) == 0
    if data_h is not None and "syst" in data_h.axes.name:
        data_h = data_h[{"syst": NOMINAL}]
    systs: list = [lumi_normsys(), NormSys("signal_eff", 1 - signal_eff_unc, 1 + signal_eff_unc, ("signal",)),
                   # background MC only: a gamma shared with the signal would scale with the arbitrary signal
                   # normalisation (1 fb) and break the linearity of the limit in sigma; the signal's MC
                   # statistics (thousands of events per mass) sit well inside signal_eff
                   StatError(prune_below=prune_below, include_signal=False)]
    systs += [HistoSys(n) for n in variation_names(template)]
    points = []
    for mass in (gen_m if masses is None else np.asarray(masses, float)):
        i_near = int(np.argmin(np.abs(gen_m - mass)))
        exact = abs(gen_m[i_near] - mass) < 1e-6
        if exact:
            sh = per_fb[gen[i_near]]
            width = st[i_near, 1]
        else:
            width = float(np.interp(mass, gen_m[ok], st[ok, 1]))
            sh = _gaussian_signal(per_fb[gen[i_near]], to_axis(mass), width,
                                  float(np.interp(mass, gen_m[ok], st[ok, 2])), m2_axis)
        if not np.isfinite(width):
            warnings.warn(f"mass {mass:g} GeV: no selected signal to measure the resolution; skipped", stacklevel=2)
            continue
        win = (to_axis(mass) - n_sigma * width, to_axis(mass) + n_sigma * width)
        # an interpolated signal has no syst axis: its shape variations are skipped, the backgrounds' kept
        if rebin:
            plan = binning.window_rebin_plan(list(bkg_h.values()), m2_axis, to_axis(mass), width, n_sigma,
                                             min_neff, max_bins)
            rb = {k: binning.apply_plan(v, plan) for k, v in bkg_h.items()}
            rsig = binning.apply_plan(sh, plan)
            rdata = None if blinded_data else binning.apply_plan(data_h, plan)
            edges = rsig.axes[m2_axis].edges
            win = (float(edges[0]), float(edges[-1]))
            ws, rep = build_workspace(rsig, rb, rdata, None, systs, merge_empty=True)
            rep.notes.append(f"rebinned: {len(edges) - 1} {m2_axis} bins x "
                             f"{int(np.prod([len(a) for a in rsig.axes if a.name not in (m2_axis, 'syst')]))}")
        else:
            ws, rep = build_workspace(sh, bkg_h, None if blinded_data else data_h, {m2_axis: win}, systs)
        if sum(ws["channels"][0]["samples"][0]["data"]) <= 0:
            warnings.warn(f"mass {mass:g} GeV: no signal inside the window {win}; skipped", stacklevel=2)
            continue
        points.append(MassPoint(float(mass), dict(ws), rep, interpolated=not exact, window=win,
                                extra={"resolution_m2": width}))
    return points


def _gaussian_signal(nearest: hist.Hist, m2: float, width: float, yield_per_fb: float, m2_axis: str) -> hist.Hist:
    """Signal template at an intermediate mass: Gaussian in M^2 x the nearest sample's other-axis shape
    (nominal only: shape variations of the signal are not interpolated)."""
    from scipy import stats

    h = nearest[{"syst": NOMINAL}] if "syst" in nearest.axes.name else nearest.copy()
    iax = h.axes.name.index(m2_axis)
    vals = np.clip(np.asarray(h.values(), float), 0, None)
    other = vals.sum(axis=iax, keepdims=True)
    frac = other / max(other.sum(), 1e-300)
    gauss = np.diff(stats.norm.cdf(h.axes[m2_axis].edges, m2, width))
    shape = [1] * vals.ndim
    shape[iax] = gauss.size
    new = gauss.reshape(shape) * frac * yield_per_fb
    # keep the nearest sample's mean relative MC error per bin
    var = h.variances()
    rel2 = float(np.sum(var) / max(np.sum(vals) ** 2, 1e-300) * np.count_nonzero(vals)) if var is not None else 0.0
    out = hist.Hist(*h.axes, storage=hist.storage.Weight())
    out.view()["value"] = new
    out.view()["variance"] = new**2 * rel2
    return out


def _limit_row(args) -> dict:
    point, cl, method = args
    row = {"mass": point.mass, "cl": cl}
    try:
        res = limits.upper_limit(point.workspace, cl=cl, method=method)
    except (RuntimeError, ValueError, FloatingPointError) as err:  # one bad mass must not stop the scan
        res = limits.LimitResult(np.nan, np.full(5, np.nan), "failed", cl, np.nan, f"{type(err).__name__}: {err}")
    row["reason"] = res.reason
    try:
        z = limits.local_significance(point.workspace)
    except (NotImplementedError, RuntimeError, ValueError):
        z = float("nan")
    return row | {
        "observed": res.observed,
        "expected": res.expected.tolist(),
        "method": res.method,
        "z_local": z,
        "interpolated": point.interpolated,
        "n_bins": point.report.n_bins_kept,
        "floored_bins": point.report.floored,
        "staterror_free": point.report.staterror_free,
        "data_is_asimov": point.report.data_is_asimov,
        "window": list(point.window) if point.window else None,
    }


def run_limits(points: Sequence[MassPoint], cl: float = 0.90, method: str = "auto",
               processes: int | None = None, progress: bool = True,
               row: Callable = _limit_row) -> list[dict]:
    """Limits for every mass point, in a process pool (processes=1: in this process), with a tqdm bar."""
    from tqdm.auto import tqdm

    jobs = [(p, cl, method) for p in points]
    processes = processes or min(len(jobs), os.cpu_count() or 1)
    if processes <= 1:
        return [row(j) for j in tqdm(jobs, desc="limits", disable=not progress)]
    with ProcessPoolExecutor(processes) as pool:
        return list(tqdm(pool.map(row, jobs), total=len(jobs), desc="limits", disable=not progress))

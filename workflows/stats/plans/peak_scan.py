"""Mass scans: one workspace per mass hypothesis, limits in parallel, a table row per mass.

The signal of every mass point is normalised to 1 fb of sigma x BF before the model is built, so the POI
*is* the cross section in fb and the limit on mu is the cross-section limit.

Z' -> invisible (`template_points` with the defaults): the 2D template M^2_recoil x theta_recoil of the
processor, in a window of +-`n_sigma` resolutions around M^2. The resolution sigma(M^2) and the signal
efficiency are measured on the generated signal samples (sigma_W of a double Crystal Ball near the peak,
processors.resolution.peak_width, the same width the run summary prints; yield / xsec) and interpolated
linearly in M for intermediate masses, where the signal template is a Gaussian in M^2 times the theta
distribution of the nearest generated mass. Each window is rebinned with the resolution-tied rule of
workflows.stats.binning (the processor's 1000 x 6 bins leave most window bins with 0-1 weighted MC events),
empty-MC bins are merged into neighbours, and the staterror gammas cover the background MC only."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import hist
import numpy as np

from processors.resolution import peak_width
from processors.spec import PeakScan, SearchSpec, Systematic
from workflows.stats import binning, fastfit, limits, significance
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
from workflows.stats.plans.common import (
    Hypothesis,
    LimitRow,
    StatsOptions,
    StatsResult,
    add_couplings,
    run_pool,
    signal_samples,
)

# the fitted cross section of every hypothesis; its profile-likelihood interval (68.3 % CL) where the local
# excess reaches FIT_INTERVAL_MIN_Z (an injected or real signal), NaN elsewhere
FIT_INTERVAL_CL = 0.6827
FIT_INTERVAL_MIN_Z = 2.0


class HypothesisRangeError(ValueError):
    """A requested mass lies outside the generated (selected) signal masses of a model."""


@dataclass
class MassPoint:
    mass: float
    workspace: dict
    report: BuildReport
    interpolated: bool = False
    window: tuple[float, float] | None = None
    extra: dict = field(default_factory=dict)
    hypothesis: Hypothesis | None = None


def _signal_stats(
    h2: hist.Hist, m2_axis: str, peak: float, half_range: float, n_sigma: float
) -> tuple[float, float, float]:
    """(width on the peak axis, total yield, yield within +-n_sigma widths of the peak) of a signal
    template; the width is the shared definition of the run summary (processors.resolution.peak_width).
    The in-window yield is what an interpolated (Gaussian) signal carries: entries far from the peak
    (radiative tails, wrong-pairing candidates) belong to no Gaussian."""
    proj = h2.project(m2_axis) if len(h2.axes) > 1 else h2
    vals = np.clip(proj.values(), 0, None)
    tot = float(vals.sum())
    if tot <= 0:
        return np.nan, 0.0, 0.0
    width = peak_width(proj, peak, half_range)[0]
    inside = np.abs(proj.axes[0].centers - peak) <= n_sigma * width
    return width, tot, float(vals[inside].sum())


def scan_masses(
    gen_m: np.ndarray, widths: np.ndarray, to_axis: Callable[[float], float], step_sigma: float
) -> np.ndarray:
    """Hypotheses from the lowest to the highest generated mass, one every ``step_sigma`` signal widths
    (the width on the peak axis interpolated in M and turned into a mass width with d(axis)/dM), the
    generated masses included: no step is wider than step_sigma widths (the one into a generated mass may be
    shorter)."""
    order = np.argsort(gen_m)
    gm, gw = np.asarray(gen_m, float)[order], np.asarray(widths, float)[order]

    def sigma_mass(m: float) -> float:
        slope = abs(to_axis(m + 5e-4) - to_axis(m - 5e-4)) / 1e-3
        return float(np.interp(m, gm, gw)) / max(slope, 1e-12)

    steps = [float(gm[0])]
    while steps[-1] + step_sigma * sigma_mass(steps[-1]) < gm[-1]:
        steps.append(steps[-1] + step_sigma * sigma_mass(steps[-1]))
    # every scan point is kept: dropping the one just below a generated mass as a near-duplicate would leave a
    # step of up to 1.25 step_sigma widths there (seen for Z' -> mu mu at 3-4 GeV, 2026-12-04)
    return np.unique(np.concatenate([gm, np.asarray(steps, float)]))


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
    systematics: Sequence[Systematic] | None = None,
    signal_names: Sequence[str] | None = None,
    model: str = "signal",
    width_half_range: float | Callable[[float], float] = 2.0,
    scan_step_sigma: float | None = None,
) -> list[MassPoint]:
    """Workspaces per mass from a processor hist with "sample" (and "syst") axes.

    `m2_axis` is the axis the signal peaks on and `to_axis(mass)` the peak position on it (M^2_recoil for
    Z' -> invisible, the default; identity for a 1D M(mu mu) fit scan). The window is +-n_sigma
    resolutions around the peak. rebin=True (default) rebins the window with the resolution-tied rule of
    workflows.stats.binning (min_neff, max_bins); rebin=False keeps the processor's fine bins.
    `signal_names`: the signal samples of one model (default: every signal sample); `systematics`: the
    search's declared ones (default: lumi, signal_eff, background staterror, every shape variation).
    A requested mass outside the generated masses whose signal was selected raises
    HypothesisRangeError. The signal width is measured within +-`width_half_range` (axis units; a
    number or a function of the mass) of the peak, as in the run summary. Without ``masses`` the
    hypotheses are the generated masses, or with ``scan_step_sigma`` a scan over their range in steps
    of that many signal widths (:func:`scan_masses`)."""
    names = list(template.axes["sample"])
    sig = {k: m for k, m in samples.items() if m.get("is_signal") and k in names and m.get("mass")
           and (signal_names is None or k in signal_names)}  # fmt: skip
    bkg = [k for k, m in samples.items() if not m.get("is_signal") and not m.get("is_data") and k in names]
    data = [k for k, m in samples.items() if m.get("is_data") and k in names]
    if not sig or not bkg:
        raise ValueError(f"template hist needs signal and background samples; has {names}, catalog {list(samples)}")
    gen = sorted(sig, key=lambda k: sig[k]["mass"])
    gen_m = np.array([sig[k]["mass"] for k in gen], float)
    per_fb = {k: template[{"sample": k}] * (1.0 / float(sig[k]["xsec_fb"])) for k in gen}

    def half(m: float) -> float:
        return float(width_half_range(m) if callable(width_half_range) else width_half_range)

    st = np.array(
        [
            _signal_stats(
                per_fb[k][{"syst": NOMINAL}] if "syst" in per_fb[k].axes.name else per_fb[k],
                m2_axis,
                to_axis(float(sig[k]["mass"])),
                half(float(sig[k]["mass"])),
                n_sigma,
            )
            for k in gen
        ]
    )
    ok = np.isfinite(st[:, 0]) & (st[:, 1] > 0)
    bkg_h = {k: template[{"sample": k}] for k in bkg}
    data_h = template[{"sample": data}][{"sample": sum}] if data else None
    blinded_data = (
        data_h is None
        or float(np.sum(data_h[{"syst": NOMINAL}].values() if "syst" in data_h.axes.name else data_h.values())) == 0
    )
    if data_h is not None and "syst" in data_h.axes.name:
        data_h = data_h[{"syst": NOMINAL}]
    if systematics is None:
        systs: list = [
            lumi_normsys(),
            NormSys("signal_eff", 1 - signal_eff_unc, 1 + signal_eff_unc, ("signal",)),
            # background MC only (see processors/zprime_inv/search.py)
            StatError(prune_below=prune_below, include_signal=False),
        ]
        systs += [HistoSys(n) for n in variation_names(template)]
    else:
        systs = list(systematics)
        filled = set(variation_names(template))
        undeclared = [s.name for s in systs if isinstance(s, HistoSys) and s.name not in filled]
        if undeclared:
            raise KeyError(
                f"declared shape systematics {undeclared} are not on the hist's syst axis "
                f"(filled: {sorted(filled)}): fill them in the processor or drop them from the declaration"
            )
    usable = gen_m[ok]
    if masses is None and scan_step_sigma is not None and ok.sum() >= 2:
        masses = scan_masses(usable, st[ok, 0], to_axis, scan_step_sigma).tolist()
    if masses is not None:
        bad = [m for m in masses if not usable.size or m < usable.min() - 1e-9 or m > usable.max() + 1e-9]
        if bad:
            raise HypothesisRangeError(
                f"{model}: mass(es) {bad} GeV outside the range of generated signal samples with selected events "
                f"({usable.min():g}-{usable.max():g} GeV): generate signal there; b2dark does not extrapolate"
                if usable.size
                else f"{model}: no signal sample with selected events"
            )
    points = []
    for mass in gen_m if masses is None else np.asarray(masses, float):
        i_near = int(np.argmin(np.abs(gen_m - mass)))
        exact = abs(gen_m[i_near] - mass) < 1e-6
        if exact:
            sh = per_fb[gen[i_near]]
            width = st[i_near, 0]
        else:
            width = float(np.interp(mass, gen_m[ok], st[ok, 0]))
            sh = _gaussian_signal(
                per_fb[gen[i_near]], to_axis(mass), width, float(np.interp(mass, gen_m[ok], st[ok, 2])), m2_axis
            )
        if not np.isfinite(width):
            warnings.warn(f"{model} mass {mass:g} GeV: sample {gen[i_near]!r} selected no signal event; dropped",
                          stacklevel=2)  # fmt: skip
            continue
        win = (to_axis(mass) - n_sigma * width, to_axis(mass) + n_sigma * width)
        # an interpolated signal has no syst axis: its shape variations are skipped, the backgrounds' kept
        if rebin:
            plan = binning.window_rebin_plan(
                list(bkg_h.values()), m2_axis, to_axis(mass), width, n_sigma, min_neff, max_bins
            )
            rb = {k: binning.apply_plan(v, plan) for k, v in bkg_h.items()}
            rsig = binning.apply_plan(sh, plan)
            rdata = None if blinded_data else binning.apply_plan(data_h, plan)
            edges = rsig.axes[m2_axis].edges
            win = (float(edges[0]), float(edges[-1]))
            ws, rep = build_workspace(rsig, rb, rdata, None, systs, merge_empty=True)
            rep.notes.append(
                f"rebinned: {len(edges) - 1} {m2_axis} bins x "
                f"{int(np.prod([len(a) for a in rsig.axes if a.name not in (m2_axis, 'syst')]))}"
            )
        else:
            ws, rep = build_workspace(sh, bkg_h, None if blinded_data else data_h, {m2_axis: win}, systs)
        if sum(ws["channels"][0]["samples"][0]["data"]) <= 0:
            warnings.warn(f"mass {mass:g} GeV: no signal inside the window {win}; skipped", stacklevel=2)
            continue
        points.append(
            MassPoint(
                float(mass),
                dict(ws),
                rep,
                interpolated=not exact,
                window=win,
                extra={"resolution_m2": width},
                hypothesis=Hypothesis(model, (("mass", float(mass)),)),
            )
        )
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
    point, cl, method, ntoys = args
    row = {"mass": point.mass, "cl": cl}
    try:
        res = limits.upper_limit(point.workspace, cl=cl, method=method, ntoys=ntoys)
    except (RuntimeError, ValueError, FloatingPointError) as err:  # one bad mass must not stop the scan
        res = limits.LimitResult(np.nan, np.full(5, np.nan), "failed", cl, np.nan, f"{type(err).__name__}: {err}")
    row["reason"] = res.reason
    try:
        fit = limits.signal_fit(point.workspace)
        if fit.z >= FIT_INTERVAL_MIN_Z:  # the interval costs ~10 fits: only where there is an excess
            fit = limits.signal_fit(point.workspace, interval_cl=FIT_INTERVAL_CL)
    except (NotImplementedError, RuntimeError, ValueError):
        fit = fastfit.SignalFit(float("nan"), float("nan"))
    return row | {
        "z_local": fit.z,
        "xsec_fit": fit.mu_hat,
        "xsec_fit_interval": [fit.lo, fit.hi],
        "observed": res.observed,
        "expected": res.expected.tolist(),
        "method": res.method,
        "interpolated": point.interpolated,
        "n_bins": point.report.n_bins_kept,
        "floored_bins": point.report.floored,
        "staterror_free": point.report.staterror_free,
        "data_is_asimov": point.report.data_is_asimov,
        "window": list(point.window) if point.window else None,
    }


def run_limits(
    points: Sequence[MassPoint],
    cl: float = 0.90,
    method: str = "auto",
    processes: int | None = None,
    progress: bool = True,
    row: Callable = _limit_row,
    ntoys: int = 2000,
) -> list[dict]:
    """Limits for every mass point, in a process pool (processes=1: in this process), with a tqdm bar."""
    return run_pool(row, [(p, cl, method, ntoys) for p in points], processes, progress, "limits")


def to_limit_row(point: MassPoint, r: Mapping) -> LimitRow:
    return LimitRow(
        hypothesis=point.hypothesis or Hypothesis("signal", (("mass", point.mass),)), cl=r["cl"],
        observed=r["observed"], expected=r["expected"], method=r["method"], z_local=r["z_local"],
        interpolated=r["interpolated"], n_bins=r["n_bins"], reason=r["reason"], window=r["window"],
        floored_bins=r["floored_bins"], staterror_free=r["staterror_free"], data_is_asimov=r["data_is_asimov"],
        extra={"resolution": point.extra.get("resolution_m2"), "xsec_fit_fb": r.get("xsec_fit"),
               "xsec_fit_interval_fb": r.get("xsec_fit_interval"), "xsec_fit_interval_cl": FIT_INTERVAL_CL},
    )  # fmt: skip


def run(run_output, spec: SearchSpec, opts: StatsOptions) -> StatsResult:
    """The peak scan of a run output: every signal model of the search, its limits and recasts."""
    plan = spec.stats
    assert isinstance(plan, PeakScan)
    if plan.hist not in run_output.hists:
        raise KeyError(f"{run_output.path}/hists.json has no hist {plan.hist!r} for {spec.name}; it has "
                       f"{sorted(run_output.hists)}. Re-run `b2dark run {spec.name}`.")  # fmt: skip
    template = run_output.hists[plan.hist]
    sigs = signal_samples(spec, run_output.samples, template.axes["sample"])
    models = {m.name: m for m in spec.signals}
    points: list[MassPoint] = []
    step = plan.scan_step_sigma if opts.scan_step_sigma is None else (opts.scan_step_sigma or None)
    for model in spec.signals:
        names = [s for s, (m, _) in sigs.items() if m.name == model.name]
        if not names:
            continue
        points += template_points(template, run_output.samples, opts.masses, plan.n_sigma, plan.axis,
                                  plan.observable, rebin=plan.rebin, min_neff=plan.min_neff,
                                  max_bins=plan.max_bins, systematics=spec.systematics, signal_names=names,
                                  model=model.name, width_half_range=plan.width_half_range,
                                  scan_step_sigma=step)  # fmt: skip
    if not points:
        raise ValueError(f"{spec.name}: no hypothesis to fit (no signal sample with selected events)")
    if opts.method == "toys":  # minutes per hypothesis: time one and say what the scan will cost
        import time

        t0 = time.perf_counter()
        head = run_limits(points[:1], opts.cl, opts.method, 1, progress=False, ntoys=opts.ntoys)
        dt = time.perf_counter() - t0
        n_proc = opts.processes or min(len(points), os.cpu_count() or 1)
        rest_min = dt * (len(points) - 1) / max(n_proc, 1) / 60
        print(
            f"[b2dark limits] toys: {len(points)} hypotheses x {opts.ntoys} toys; the first took {dt:.0f} s, "
            f"the rest about {rest_min:.1f} min on {n_proc} process(es)"
        )
        raw = head + run_limits(points[1:], opts.cl, opts.method, opts.processes, opts.progress, ntoys=opts.ntoys)
    else:
        raw = run_limits(points, opts.cl, opts.method, opts.processes, progress=opts.progress, ntoys=opts.ntoys)
    rows = [to_limit_row(p, r) for p, r in zip(points, raw, strict=True)]
    add_couplings(rows, models)
    # the look-elsewhere effect over the first model's scan (each model is its own search): independent
    # hypotheses ~ one per +-2 sigma of mass resolution (axis resolution / d(axis)/dM)
    obs = plan.observable
    first = [(p, r) for p, r in zip(points, rows, strict=True) if r.hypothesis.model == rows[0].hypothesis.model]
    halfwidth = [2.0 * p.extra["resolution_m2"] * 1e-3 / abs(obs(p.mass + 5e-4) - obs(p.mass - 5e-4)) for p, _ in first]
    sig = significance.scan_significance([r.mass for _, r in first], [r.z_local for _, r in first], halfwidth)
    masses = np.array([p.mass for p in points])
    target = opts.postfit_mass if opts.postfit_mass is not None else float(masses[len(masses) // 2])
    chosen = points[int(np.argmin(np.abs(masses - target)))]
    return StatsResult(
        rows=rows,
        workspaces={f"{spec.name}_{r.hypothesis.model + '_' if len(models) > 1 else ''}{r.hypothesis.tag}": p.workspace
                    for p, r in zip(points, rows, strict=True)},
        postfit=(f"{spec.name}_m{chosen.mass:.4g}", chosen.workspace),
        significance={"model": rows[0].hypothesis.model, **sig.as_dict(), **_fit_at_max(first)},
        notes=[f"{m}: {sum(r.hypothesis.model == m for r in rows)} hypotheses "
               f"({sum(r.interpolated for r in rows if r.hypothesis.model == m)} between generated masses)"
               for m in dict.fromkeys(r.hypothesis.model for r in rows)],
    )  # fmt: skip


def _fit_at_max(first: Sequence[tuple[MassPoint, LimitRow]]) -> dict:
    """The fitted cross section of the hypothesis with the largest local excess (for the summary line)."""
    z = np.array([r.z_local for _, r in first], float)
    if not np.any(np.isfinite(z)):
        return {}
    r = first[int(np.nanargmax(z))][1]
    return {"xsec_fit_fb": r.extra.get("xsec_fit_fb"), "xsec_fit_interval_fb": r.extra.get("xsec_fit_interval_fb")}

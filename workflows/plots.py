"""Plots of a run output (mplhep, "Belle II Simulation" + "fast simulation" label).

- every 1D histogram: stacked backgrounds (grouped by process), pseudo-data with the
  blinded region shaded, a data/MC ratio panel, and signal overlays at a few masses;
- the cutflow (efficiency per cut, per process and per signal mass);
- for peak scans: signal efficiency vs mass and the signal width on the peak axis vs mass,
  with the published resolution of the search's declaration beside it;
- the search's own plots (its declaration's ``plots`` hook, called with this module as ``tools``).
Each as PNG and PDF in DIR/plots.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from processors.spec import PeakScan, SearchSpec
from workflows.masstable import mass_table, sample_roles
from workflows.outputs import RunOutput

SIGNAL_OVERLAYS = 3
FORMATS = ("png", "pdf")


def _short_reference(reference: str) -> str:
    """ "Belle II, PRL 130, 231801 (2023)" -> "PRL 130"; "paper" when there is no comma."""
    return reference.split(",")[1].strip() if "," in reference else "paper"


def _mpl() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    plt.style.use(mplhep.style.CMS)  # a clean HEP style; the label below says Belle II
    return plt, mplhep


def _label(ax: Any, mplhep: Any, lumi_fb: float | None) -> None:
    # "Simulation" + "fast simulation": these are b2dark's own fast-simulation samples, not Belle II MC.
    mplhep.label.exp_text(exp="Belle II", text="Simulation", loc=0, ax=ax)
    right = "fast simulation" + (rf", $\int\mathcal{{L}}\,dt$ = {lumi_fb:g} fb$^{{-1}}$" if lumi_fb else "")
    ax.text(1.0, 1.01, right, transform=ax.transAxes, ha="right", va="bottom", fontsize=13)


def _save(fig: Any, path: Path) -> list[Path]:
    out = []
    for fmt in FORMATS:
        p = path.with_suffix(f".{fmt}")
        fig.savefig(p, dpi=110 if fmt == "png" else None, bbox_inches="tight")
        out.append(p)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return out


def _pick_overlays(sig: list[str], n: int) -> list[str]:
    if len(sig) <= n:
        return sig
    idx = np.unique(np.linspace(0, len(sig) - 1, n).round().astype(int))
    return [sig[i] for i in idx]


def _slice(h: Any, samples: list[str], rebin: bool = True) -> Any | None:
    """Sum of the given samples (nominal systematic) as a 1D hist, or None if none is present."""
    present = [s for s in samples if s in list(h.axes["sample"])]
    if not present:
        return None
    nominal = {"syst": "nominal"} if "syst" in h.axes.name else {}
    parts = [h[{"sample": s, **nominal}] for s in present]
    total = sum(parts[1:], parts[0])
    return _display_rebin(total) if rebin else total


MAX_DISPLAY_BINS = 120


def _display_rebin(h1: Any) -> Any:
    """Merge bins of fine (fit) binnings for display: 1000-bin templates are unreadable and slow to draw."""
    import hist

    n = h1.axes[0].size
    if h1.ndim != 1 or n <= MAX_DISPLAY_BINS or not isinstance(h1.axes[0], hist.axis.Regular):
        return h1
    k = next(k for k in range(int(np.ceil(n / MAX_DISPLAY_BINS)), n + 1) if n % k == 0)
    return h1[:: hist.rebin(k)]


def signal_label(run: RunOutput, s: str, spec: SearchSpec | None = None) -> str:
    """e.g. "Z' 3 GeV", "A' 5 / h' 2 GeV": the model label and its hypothesis parameters."""
    m = run.samples.get(s, {})
    label = "signal"
    params: tuple[str, ...] = ("mass",)
    if spec is not None:
        model = next((x for x in spec.signals if x.process == m.get("process")), None)
        if model is not None:
            label, params = model.label, model.params
    vals = [m.get(p) for p in params]
    if any(v is None for v in vals):
        return s
    return f"{label} " + " / ".join(f"{v:g}" for v in vals) + (" GeV" if params[0].startswith("mass") else "")


def stack_plot(run: RunOutput, name: str, outdir: Path, spec: SearchSpec | None = None) -> list[Path]:
    plt, mplhep = _mpl()
    h = run.hists[name]
    bkg, sig, _ = sample_roles(run, list(h.axes["sample"]))
    # Data samples come from the run, not the hist: a fully blinded data sample never fills it.
    data = [s for s, m in run.samples.items() if m.get("is_data")]
    # MC is drawn at the data luminosity when pseudo-data are shown (the catalog may differ).
    data_lumi = sum(float(run.samples[s].get("lumi_fb") or 0.0) for s in data) or None
    scale = data_lumi / run.lumi_fb if data_lumi and run.lumi_fb else 1.0
    bkg_h = {p: hh * scale for p, ss in bkg.items() if (hh := _slice(h, ss)) is not None}
    if not bkg_h:
        return []
    order = sorted(bkg_h, key=lambda p: float(bkg_h[p].values().sum()))  # smallest at the bottom
    fig, (ax, rax) = plt.subplots(
        2, 1, figsize=(9, 8), sharex=True, gridspec_kw={"height_ratios": (3, 1), "hspace": 0.05}
    )
    mplhep.histplot([bkg_h[p] for p in order], stack=True, histtype="fill", label=order, ax=ax)
    total = sum((bkg_h[p] for p in order[1:]), bkg_h[order[0]])
    edges = total.axes[0].edges
    mc = total.values()
    for s in _pick_overlays(sig, SIGNAL_OVERLAYS):
        hs = _slice(h, [s])
        if hs is not None:
            mplhep.histplot(
                hs * scale, histtype="step", yerr=False, lw=2, ls="--", label=signal_label(run, s, spec), ax=ax
            )
    hidden = np.zeros(len(mc), dtype=bool)
    if data:
        hd = _slice(h, data)
        vals = hd.values() if hd is not None else np.zeros_like(mc)
        # Blinded data have no entries in the signal region: hatch the bins where MC expects events.
        hidden = bool(run.blinded) & (vals == 0) & (mc > 0)
        centers = total.axes[0].centers
        show = ~hidden
        ax.errorbar(centers[show], vals[show], yerr=np.sqrt(vals[show]), fmt="ko", ms=4, label="pseudo-data")
        if hidden.any():
            # One patch per contiguous run of hidden bins (a patch per bin is slow with 1000 bins).
            flips = np.flatnonzero(np.diff(np.concatenate([[0], hidden.astype(np.int8), [0]])))
            for a in (ax, rax):
                for i0, i1 in zip(flips[::2], flips[1::2], strict=True):
                    a.axvspan(edges[i0], edges[i1], facecolor="none", edgecolor="0.35", hatch="//", lw=0, zorder=3)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = vals / mc
            err = np.sqrt(vals) / mc
        ok = show & (mc > 0)
        rax.errorbar(centers[ok], ratio[ok], yerr=err[ok], fmt="ko", ms=4)
    rax.axhline(1.0, color="0.4", lw=1)
    rax.set_ylim(0.5, 1.5)
    rax.set_ylabel("data / MC")
    rax.set_xlabel(h.axes[-1].label or h.axes[-1].name)
    ax.set_ylabel("events / bin")
    ax.set_xlabel("")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.1)
    handles, labels = ax.get_legend_handles_labels()
    if hidden.any():
        from matplotlib.patches import Patch

        handles.append(Patch(facecolor="none", edgecolor="0.35", hatch="//"))
        labels.append("data blinded")
    ax.legend(handles, labels, fontsize=11, ncols=2, loc="upper right")
    ax.set_ylim(top=ax.get_ylim()[1] * 30)  # room for the legend on the log scale
    _label(ax, mplhep, data_lumi or run.lumi_fb)
    return _save(fig, outdir / f"stack_{name}")


def cutflow_plot(run: RunOutput, outdir: Path, spec: SearchSpec | None = None) -> list[Path]:
    plt, mplhep = _mpl()
    if not run.cutflows:
        return []
    bkg, sig, _ = sample_roles(run, list(run.cutflows))
    fig, ax = plt.subplots(figsize=(10, 7))
    names: list[str] = []

    def eff(samples: list[str]) -> np.ndarray:
        w = np.sum([run.cutflows[s]["weighted"] for s in samples], axis=0)
        return w / w[0] if w[0] else np.zeros_like(w)

    for proc, ss in sorted(bkg.items()):
        names = run.cutflows[ss[0]]["names"]
        ax.plot(range(len(names)), eff(ss), marker="o", label=proc)
    for s in _pick_overlays(sig, SIGNAL_OVERLAYS):
        names = run.cutflows[s]["names"]
        ax.plot(range(len(names)), eff([s]), marker="s", ls="--", label=signal_label(run, s, spec))
    ax.set_xticks(range(len(names)), names, rotation=40, ha="right", fontsize=11)
    ax.set_yscale("log")
    ax.set_ylabel("cumulative efficiency (weighted)")
    ax.legend(fontsize=11)
    _label(ax, mplhep, run.lumi_fb)
    return _save(fig, outdir / "cutflow")


def _by_model(rows: list[dict], key: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out: dict[str, list] = {}
    for r in rows:
        if r.get(key) is not None:
            out.setdefault(r.get("model", ""), []).append((r["mass"], r[key]))
    return {k: (np.array([p[0] for p in sorted(v)]), np.array([p[1] for p in sorted(v)])) for k, v in out.items()}


def mass_plots(run: RunOutput, outdir: Path, spec: SearchSpec, rows: list[dict] | None = None) -> list[Path]:
    """Signal efficiency and the width on the peak axis vs mass, per signal model (peak scans)."""
    if not isinstance(spec.stats, PeakScan):
        return []
    plt, mplhep = _mpl()
    made: list[Path] = []
    rows = mass_table(run, spec) if rows is None else rows  # one set of peak fits for both plots
    labels = {m.name: m.label for m in spec.signals}
    xlabel = spec.signals[0].param_labels.get("mass", "mass [GeV]") if spec.signals else "mass [GeV]"
    eff = _by_model(rows, "efficiency")
    if eff:
        fig, ax = plt.subplots(figsize=(9, 6))
        for model, (m, e) in eff.items():
            ax.plot(m, 100 * e, "o-", label=labels.get(model, model))
        ax.set_xlabel(xlabel)
        ax.set_ylabel("signal efficiency (of generated events) [%]")
        ax.set_ylim(bottom=0)
        if len(eff) > 1:
            ax.legend(fontsize=12)
        _label(ax, mplhep, None)
        made += _save(fig, outdir / "signal_efficiency")
    res = _by_model(rows, "sigma_m2")
    if res:
        fig, ax = plt.subplots(figsize=(9, 6))
        for model, (m, s) in res.items():
            ax.plot(m, s, "o-", label=f"b2dark fast simulation, {labels.get(model, model)} (double CB $\\sigma_W$)")
        published = spec.published
        pub = published.resolution if published else ()
        if pub and published:  # the published signal width (read off the paper; a reference, not a fit)
            ax.plot(
                [p.params["mass"] for p in pub],
                [p.value for p in pub],
                "s",
                color="0.3",
                ms=8,
                label=f"{published.reference.split(',')[0].strip()} ({_short_reference(published.reference)})",
            )
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"signal width on {spec.stats.axis}")
        ax.legend(fontsize=12)
        ax.set_ylim(bottom=0)
        _label(ax, mplhep, None)
        made += _save(fig, outdir / "resolution")
    return made


def make_all(run: RunOutput, outdir: Path | str, spec: SearchSpec, rows: list[dict] | None = None) -> list[Path]:
    """Every plot of a run; ``rows``: its mass table (workflows.masstable) if already computed."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    for name, h in sorted(run.hists.items()):
        dense = [ax for ax in h.axes if ax.name not in ("sample", "syst")]
        if "sample" in h.axes.name and len(dense) == 1:
            made += stack_plot(run, name, outdir, spec)
    made += cutflow_plot(run, outdir, spec)
    made += mass_plots(run, outdir, spec, rows)
    if spec.plots:
        import sys

        from processors.registry import import_object

        made += list(import_object(spec.plots)(run, outdir, sys.modules[__name__]))
    return made

"""What the notebooks draw, with the production plotting code (workflows.plots, workflows.stats.report).

A notebook that drives ``processor.Runner`` itself wraps its output with ``run_output`` and then gets the same
stacked histograms with the data / MC ratio, cutflows and Brazil bands that ``b2dark run`` / ``b2dark limits``
write, shown inline (``show``); ``plane`` draws a 2D histogram for the background sum and one signal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from workflows.outputs import RunOutput


def show(paths: Iterable[Path]) -> list[Path]:
    """Display the PNG files among ``paths`` in the notebook (a no-op outside IPython); returns them."""
    pngs = [Path(p) for p in paths if Path(p).suffix == ".png"]
    try:
        from IPython.display import Image, display
    except ImportError:
        return pngs
    for p in pngs:
        display(Image(filename=str(p)))
    return pngs


def run_output(out: Mapping[str, Any], fileset: Mapping[str, Any], search: str, lumi_fb: float) -> RunOutput:
    """A RunOutput around a ``processor.Runner`` result, so workflows.plots can draw it."""
    return RunOutput(
        hists=dict(out["hists"]),
        cutflows=dict(out["cutflow"]),
        samples={s: dict(fileset[s]["metadata"]) for s in fileset},
        nevents=dict(out.get("nevents", {})),
        blinded=bool(out.get("blinded")),
        search=search,
        lumi_fb=lumi_fb,
        cutflow_regions=dict(out.get("cutflow_regions", {})),
    )


def stack_with_ratio(run: RunOutput, hist: str, outdir: Path, spec: Any = None) -> list[Path]:
    """Backgrounds stacked, signals overlaid, pseudo-data with the data / MC ratio (blinded bins hatched)."""
    from workflows import plots

    return show(plots.stack_plot(run, hist, Path(outdir), spec))


def cutflow(run: RunOutput, outdir: Path, spec: Any = None) -> list[Path]:
    """Cumulative weighted efficiency per cut for every background process and a few signals."""
    from workflows import plots

    return show(plots.cutflow_plot(run, Path(outdir), spec))


def cutflow_table(run: RunOutput, samples: Sequence[str]) -> None:
    """Weighted events after each cut, one column per sample."""
    present = [s for s in samples if s in run.cutflows]
    if not present:
        return
    names = run.cutflows[present[0]]["names"]
    print(f"{'cut':28s}" + "".join(f"{s[:14]:>15s}" for s in present))
    for i, cut in enumerate(names):
        print(f"{cut:28s}" + "".join(f"{run.cutflows[s]['weighted'][i]:15.4g}" for s in present))


def peak_scan_limits(
    template: Any, meta: Mapping[str, Any], spec: Any, model: Any, masses: Sequence[float], signals: Sequence[str]
) -> list[Any]:
    """Limit rows (with the model's recast couplings) of a peak-scan search at ``masses``, from the run's
    template histogram, as `b2dark limits` computes them (one process, no progress bar)."""
    from workflows.stats.plans import peak_scan
    from workflows.stats.plans.common import add_couplings

    plan = spec.stats
    points = peak_scan.template_points(
        template, meta, masses=list(masses), n_sigma=plan.n_sigma, m2_axis=plan.axis, to_axis=plan.observable,
        rebin=plan.rebin, min_neff=plan.min_neff, max_bins=plan.max_bins, systematics=spec.systematics,
        signal_names=list(signals), model=model.name, width_half_range=plan.width_half_range,
    )  # fmt: skip
    raw = peak_scan.run_limits(points, cl=spec.cl, processes=1, progress=False)
    rows = [peak_scan.to_limit_row(p, r) for p, r in zip(points, raw, strict=True)]
    add_couplings(rows, {model.name: model})
    return rows


def brazil(
    rows: Sequence[Any], outdir: Path, ylabel: str, lumi_fb: float | None, cl: float, key: str | None = None
) -> list[Path]:
    """Expected median with the +-1 / +-2 sigma bands and the observed limit vs mass (``key``: a recast)."""
    from workflows.stats.report import brazil_plot

    name = f"brazil_{key or 'xsec'}.png"
    return show([brazil_plot(rows, Path(outdir) / name, ylabel, lumi_fb=lumi_fb, key=key, cl=cl)])


def plane(run: RunOutput, hist: str, signal: str, backgrounds: Sequence[str], outdir: Path) -> list[Path]:
    """The 2D histogram ``hist`` (nominal) for the summed backgrounds and for ``signal``, side by side, log colour."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    h = run.hists[hist]
    nominal = {"syst": "nominal"} if "syst" in h.axes.name else {}
    present = [b for b in backgrounds if b in list(h.axes["sample"])]
    parts = {"backgrounds": sum(h[{"sample": b, **nominal}] for b in present), signal: h[{"sample": signal, **nominal}]}
    fig, axes = plt.subplots(1, 2, figsize=(13, 5), constrained_layout=True)
    for ax, (label, h2) in zip(axes, parts.items(), strict=True):
        if not hasattr(h2, "axes") or h2.ndim != 2:
            raise ValueError(f"plane({hist!r}): {label} is not a 2D histogram")
        vals = h2.values()
        mesh = ax.pcolormesh(
            h2.axes[0].edges, h2.axes[1].edges, np.where(vals > 0, vals, np.nan).T, norm=LogNorm(), cmap="viridis"
        )
        fig.colorbar(mesh, ax=ax, label="events / bin")
        ax.set_xlabel(h2.axes[0].label or h2.axes[0].name)
        ax.set_ylabel(h2.axes[1].label or h2.axes[1].name)
        ax.set_title(label)
    path = Path(outdir) / f"plane_{hist}_{signal}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return show([path])

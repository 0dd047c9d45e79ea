"""Per-mass summary of a peak-scan search run: signal efficiency, the signal width on the peak axis
and the background in a window around each generated mass, by process.

Printed at the end of `b2dark run` and written to DIR/masstable.json; the plots (workflows.plots)
draw efficiency and resolution from the same rows. The peak axis, the mass -> peak map and the
window come from the search's :class:`processors.spec.PeakScan` plan.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from processors.resolution import peak_width
from processors.spec import PeakScan, SearchSpec
from workflows.outputs import RunOutput


def sample_roles(run: RunOutput, samples: list[str]) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """Backgrounds grouped by process, signal samples (sorted by mass), data samples."""
    bkg: dict[str, list[str]] = defaultdict(list)
    sig, data = [], []
    for s in samples:
        m = run.samples.get(s, {})
        if m.get("is_data"):
            data.append(s)
        elif m.get("is_signal"):
            sig.append(s)
        else:
            bkg[str(m.get("process") or s)].append(s)
    sig.sort(key=lambda s: run.samples.get(s, {}).get("mass") or 0.0)
    return dict(bkg), sig, data


def total_efficiency(run: RunOutput, sample: str) -> float | None:
    """Selected / generated: the weighted cutflow's last over first step, times the generator-level
    filter efficiency (the files hold only the events that passed the filter)."""
    w = run.cutflows.get(sample, {}).get("weighted") or []
    if not w or w[0] <= 0:
        return None
    return float(w[-1] / w[0]) * float(run.samples.get(sample, {}).get("filter_efficiency") or 1.0)


def nominal_1d(h: Any, sample: str) -> Any:
    sel: dict[str, Any] = {"sample": sample}
    if "syst" in h.axes.name:
        sel["syst"] = "nominal"
    out = h[sel]
    return out.project(out.axes[0].name) if out.ndim > 1 else out


def _slope(plan: PeakScan, mass: float, h: float = 5e-4) -> float:
    """|d observable / d mass| (to turn a width on the peak axis into a mass resolution)."""
    return abs(plan.observable(mass + h) - plan.observable(mass - h)) / (2 * h)


def mass_table(run: RunOutput, spec: SearchSpec) -> list[dict[str, Any]]:
    """One row per generated signal sample: efficiency, the width on the peak axis, signal and
    background yields in the +-n sigma window, with the background split by process (weighted to the
    run's luminosity). A signal sample that selected nothing has no row."""
    plan = spec.stats
    if not isinstance(plan, PeakScan):
        return []
    hist_name = plan.summary_hist or plan.hist
    if hist_name not in run.hists:
        return []
    h = run.hists[hist_name]
    n_sigma = plan.summary_window_n_sigma
    bkg, sig, _ = sample_roles(run, list(h.axes["sample"]))
    rows = []
    for s in sig:
        meta = run.samples.get(s, {})
        mass = meta.get("mass")
        hs = nominal_1d(h, s)
        if mass is None or hs.values().sum() <= 0:
            continue
        m2 = float(plan.observable(float(mass)))
        sigma, how = peak_width(hs, m2, plan.half_range(float(mass)))
        lo, hi = m2 - n_sigma * sigma, m2 + n_sigma * sigma
        centers = hs.axes[0].centers
        inside = (centers >= lo) & (centers <= hi)
        per_proc = {
            proc: float(sum(nominal_1d(h, x).values()[inside].sum() for x in members))
            for proc, members in sorted(bkg.items())
        }
        rows.append(
            {
                "sample": s,
                "model": next((m.name for m in spec.signals if m.process == meta.get("process")), ""),
                "mass": float(mass),
                "efficiency": total_efficiency(run, s),
                "sigma_m2": sigma,
                "sigma_m2_method": how,
                "sigma_m": sigma / max(_slope(plan, float(mass)), 2e-3),
                "window_m2": [lo, hi],
                "signal_in_window": float(hs.values()[inside].sum()),
                "background_in_window": float(sum(per_proc.values())),
                "background_by_process": per_proc,
            }
        )
    return rows


def format_table(rows: list[dict[str, Any]], spec: SearchSpec) -> str:
    """The per-mass table as text; a model column when the search declares several signal models."""
    if not rows or not isinstance(spec.stats, PeakScan):
        return ""
    axis = spec.stats.axis
    procs = sorted({p for r in rows for p in r["background_by_process"]})
    several = len(spec.signals) > 1
    model_head = f"{'model':>8s} " if several else ""
    head = (
        f"{model_head}{'M [GeV]':>8s} {'eff':>6s} {'sigma(' + axis + ')':>12s} {'window ' + axis:>20s} {'S':>9s} "
        f"{'B':>10s}  " + "  ".join(f"{p:>8s}" for p in procs)
    )
    lines = [
        f"per-mass table (signal at the catalog coupling; windows +-{spec.stats.summary_window_n_sigma:g} sigma; "
        "background fractions by process)",
        head,
    ]
    for r in sorted(rows, key=lambda r: (r.get("model", ""), r["mass"])):
        b = r["background_in_window"]
        fr = "  ".join(f"{(r['background_by_process'][p] / b if b > 0 else 0):>8.1%}" for p in procs)
        eff = f"{r['efficiency']:.3f}" if r["efficiency"] is not None else "-"
        model = f"{r.get('model', ''):>8s} " if several else ""
        window = f"{r['window_m2'][0]:.4g}..{r['window_m2'][1]:.4g}"
        lines.append(
            f"{model}{r['mass']:>8.3g} {eff:>6s} {r['sigma_m2']:>12.4g} {window:>20s} "
            f"{r['signal_in_window']:>9.3g} {b:>10.4g}  {fr}"
        )
    return "\n".join(lines)

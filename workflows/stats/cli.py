"""`b2dark limits SEARCH --input DIR`: limits, coupling limits, tables, HEPData, plots into DIR/limits/.

Reads the run output written by `b2dark run` (workflows.outputs.load) and applies the statistics plan
the search declares (processors/<key>/search.py); the published numbers of the declaration are printed
beside ours.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from workflows.stats.limits import METHODS


def _cl(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give e.g. 0.90 or 0.95") from None
    if not (math.isfinite(v) and 0.5 <= v < 1.0):
        raise argparse.ArgumentTypeError(f"{text!r}: the confidence level is a fraction in [0.5, 1), e.g. 0.90 "
                                         "(not a percentage)")  # fmt: skip
    return v


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--ntoys {text!r} is not an integer") from None
    if v < 100:
        raise argparse.ArgumentTypeError(f"--ntoys {text!r}: give at least 100 toys")
    return v


def _step(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--step {text!r} is not a number") from None
    if not (v == 0 or 0.25 <= v <= 20):
        raise argparse.ArgumentTypeError(f"--step {text!r}: give 0 (generated masses only) or 0.25-20 widths")
    return v


def parser() -> argparse.ArgumentParser:
    from processors.registry import names

    p = argparse.ArgumentParser(prog="b2dark limits", description=__doc__.splitlines()[0])
    p.add_argument("search", choices=names())
    p.add_argument("--input", required=True, type=Path, help="output folder of `b2dark run`")
    p.add_argument("--cl", type=_cl, default=None, help="confidence level (default: the paper's, e.g. 0.90)")
    p.add_argument(
        "--method",
        choices=(*METHODS, "bayesian", "cls"),
        default="auto",
        help="peak scans: auto/asymptotic/toys/exact; counting plans: bayesian or cls (default: declared)",
    )
    p.add_argument("--masses", type=float, nargs="+", help="mass hypotheses [GeV] (default: the declared scan)")
    p.add_argument(
        "--step",
        type=_step,
        default=None,
        metavar="SIGMAS",
        help="peak scans: a hypothesis every SIGMAS signal widths (0: the generated masses only; "
        "default: the search's declaration)",
    )
    p.add_argument("--processes", type=int, default=None, help="parallel processes (default: CPU count)")
    p.add_argument("--ntoys", type=_positive_int, default=2000, help="toys per hypothesis with --method toys")
    p.add_argument("--postfit-mass", type=float, default=None, help="mass for the pulls/post-fit plots")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--no-hepdata", action="store_true")
    return p


def published_lines(spec, rows) -> list[str]:
    """Our expected limits beside the published ones at the declared points (the nearest hypothesis
    of the same model when the point was not fitted exactly)."""
    pub = spec.published
    if pub is None or not pub.limits:
        return []
    lines = [f"published ({pub.reference}) vs b2dark (expected median):"]
    for pt in pub.limits:
        model = pt.model or spec.signals[0].name
        cands = [r for r in rows if r.hypothesis.model == model and set(pt.params) <= set(r.hypothesis.names)]
        ours, where = "-", ", ".join(f"{k}={v:g}" for k, v in pt.params.items())
        if cands:
            r = min(cands, key=lambda r: sum((r.hypothesis[k] - v) ** 2 for k, v in pt.params.items()))
            val = r.couplings[pt.recast].expected[2] if pt.recast else r.expected[2]
            ours = f"{val:.3g}" + ("" if all(abs(r.hypothesis[k] - v) < 1e-6 for k, v in pt.params.items())
                                   else f" (at {r.hypothesis.label})")  # fmt: skip
        lines.append(f"  {where:>14s}  {pt.what:<36s} published {pt.value:<8.3g} b2dark {ours}  {pt.note}")
    if pub.note:
        lines.append(f"  note: {pub.note}")
    return lines


def empty_signal_lines(run: Any) -> list[str]:
    """A signal sample that selected no events has no template: it is named, never dropped silently."""
    lines = []
    for name, meta in sorted(run.samples.items()):
        cf = run.cutflows.get(name) or {}
        if meta.get("is_signal") and not meta.get("is_data") and cf.get("raw") and cf["raw"][-1] == 0:
            lines.append(f"b2dark limits: signal sample {name!r} (mass {meta.get('mass')}) selected no events: "
                         "it gives no limit; its hypothesis is outside what the selection accepts")  # fmt: skip
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from processors.registry import get
    from workflows import outputs
    from workflows.stats import plans, report
    from workflows.stats.model import save_workspace
    from workflows.stats.plans.common import StatsOptions

    spec = get(args.search)
    from processors.spec import PeakScan

    if isinstance(spec.stats, PeakScan) and args.method == "exact":
        print(f"b2dark limits: error: --method exact is the exact Poisson CLs of a one-bin counting model; the peak "
              f"scan of {spec.name} fits a multi-bin template: use --method auto, asymptotic or toys",
              file=sys.stderr)  # fmt: skip
        return 2
    if not args.input.is_dir():
        print(f"b2dark limits: error: --input {args.input} is not a folder; give the --output folder of "
              f"`b2dark run {spec.name}`", file=sys.stderr)  # fmt: skip
        return 2
    try:
        run = outputs.load(args.input)
    except (FileNotFoundError, ValueError) as err:
        print(f"b2dark limits: error: {err}", file=sys.stderr)
        return 2
    if run.search and run.search != spec.name:
        print(f"b2dark limits: error: {args.input} is a run of {run.search!r}, not {spec.name!r}", file=sys.stderr)
        return 2
    if run.partial:
        print(f"b2dark limits: error: {args.input} is a partial run (the catalog lacked "
              f"{', '.join(run.provenance.get('selection', {}).get('missing', []))}); make the samples and rerun "
              f"`b2dark run {spec.name}`", file=sys.stderr)  # fmt: skip
        return 2
    for name, meta in run.samples.items():  # runs made before `b2dark run` refused this
        data_lumi = meta.get("lumi_fb") if meta.get("is_data") else None
        if data_lumi is not None and run.lumi_fb and abs(float(data_lumi) - float(run.lumi_fb)) > 1e-6 * run.lumi_fb:
            print(f"b2dark limits: error: {args.input}: data sample {name!r} has lumi_fb {float(data_lumi):g} fb^-1 "
                  f"but the MC was normalised to {float(run.lumi_fb):g} fb^-1; rerun `b2dark run {spec.name} --lumi "
                  f"{float(data_lumi):g}`", file=sys.stderr)  # fmt: skip
            return 2
    cl = args.cl if args.cl is not None else spec.cl
    for line in empty_signal_lines(run):
        print(line)
    opts = StatsOptions(cl=cl, method=args.method, masses=args.masses, processes=args.processes,
                        progress=not args.no_progress, postfit_mass=args.postfit_mass,
                        scan_step_sigma=args.step, ntoys=args.ntoys)  # fmt: skip
    try:
        result = plans.implementation(spec)(run, spec, opts)
    except (KeyError, ValueError) as err:
        print(f"b2dark limits: error: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2
    rows = result.rows

    out = args.input / "limits"
    before = outputs.snapshot(out)  # what is there now: only what this call writes joins the manifest
    for name, ws in result.workspaces.items():
        save_workspace(ws, out / "workspaces" / f"{name}.json")
    extra = {"cl": cl, "significance": result.significance, "lumi_fb": run.lumi_fb, "blinded": run.blinded,
             "xsec_unit": "fb (sigma x BF of the searched final state)", **result.extra}  # fmt: skip
    files = report.write_tables(rows, out, spec.name, extra)
    if not args.no_hepdata:
        files["hepdata"] = report.write_hepdata(rows, out, spec.name, cl)
    files.update(report.brazil_plots(rows, out, spec, run.lumi_fb, cl))
    if result.postfit is not None:
        tag, ws = result.postfit
        report.pulls_and_postfit(ws, out, tag, run.lumi_fb)

    methods = sorted({r.method for r in rows})
    sig = result.significance
    summary = f"{spec.name}: {len(rows)} hypotheses, CL {cl}, methods {methods}"
    if sig:
        summary += (
            f"; max local Z = {sig['z_local']:.2f} at M = {sig['mass_max']:g} GeV"
            + (f" ({sig['model']})" if len(spec.signals) > 1 and "model" in sig else "")
            + " "
            f"(global Z: {sig['z_global_gv']:.2f} Gross-Vitells, "
            f"{sig['z_global_neff'] if sig['z_global_neff'] is not None else float('nan'):.2f} N_eff)"
        )
        lo, hi = sig.get("xsec_fit_interval_fb") or (float("nan"), float("nan"))
        if sig.get("xsec_fit_fb") is not None and math.isfinite(lo) and math.isfinite(hi):
            summary += f"; fitted sigma x BF there {sig['xsec_fit_fb']:.3g} fb (68 % CL {lo:.3g}-{hi:.3g})"
    outputs.record_limits_files(args.input, before)
    print(summary)
    for note in result.notes:
        print(f"  {note}")
    for line in published_lines(spec, rows):
        print(line)
    print(json.dumps({k: str(v) for k, v in files.items()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`b2dark limits SEARCH --input DIR`: limits, coupling limits, tables, HEPData, plots into DIR/limits/.

Reads the run output written by `b2dark run` (workflows.outputs.load: hists.json + run.json).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workflows.stats import recast, report, scan, significance
from workflows.stats.limits import METHODS
from workflows.stats.model import save_workspace


@dataclass(frozen=True)
class SearchStats:
    hist: str  # processor hist holding the fit template
    axis: str  # axis the signal peaks on
    to_axis: Callable[[float], float]  # mass -> peak position on that axis
    ylabel: str  # what the cross-section limit is on
    n_sigma: float = 10.0


def _square(m: float) -> float:
    return m * m


def _identity(m: float) -> float:
    return m


SEARCHES: dict[str, SearchStats] = {
    "zprime-inv": SearchStats("template", "m2_recoil", _square,
                              r"$\sigma(e^+e^-\to\mu^+\mu^- Z')\times\mathcal{B}(Z'\to\mathrm{inv.})$ [fb]"),
    "zprime-mumu": SearchStats("m_mumu", "m", _identity, r"$\sigma\times\mathcal{B}(Z'\to\mu\mu)$ [fb]", 3.0),
    "zprime-tautau": SearchStats("m_recoil", "m", _identity, r"$\sigma\times\mathcal{B}(Z'\to\tau\tau)$ [fb]", 3.0),
    "monophoton": SearchStats("e_gamma_cms", "e", _identity, r"$\sigma(e^+e^-\to\gamma A')$ [fb]", 2.0),
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="b2dark limits", description=__doc__.splitlines()[0])
    p.add_argument("search", choices=sorted(SEARCHES))
    p.add_argument("--input", required=True, type=Path, help="output folder of `b2dark run`")
    p.add_argument("--cl", type=float, default=0.90, help="confidence level (default 0.90; 0.95 also common)")
    p.add_argument("--method", choices=METHODS, default="auto")
    p.add_argument("--masses", type=float, nargs="+", help="mass hypotheses [GeV] (default: generated masses)")
    p.add_argument("--processes", type=int, default=None, help="parallel processes (default: CPU count)")
    p.add_argument("--postfit-mass", type=float, default=None, help="mass for the pulls/post-fit plots")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--no-hepdata", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from workflows import outputs

    run = outputs.load(args.input)
    cfg = SEARCHES[args.search]
    if cfg.hist not in run.hists:
        print(f"error: {args.input}/hists.json has no hist {cfg.hist!r} for {args.search}; "
              f"it has {sorted(run.hists)}. Re-run `b2dark run {args.search}`.", file=sys.stderr)
        return 2
    points = scan.template_points(run.hists[cfg.hist], run.samples, args.masses, cfg.n_sigma, cfg.axis, cfg.to_axis)
    rows = scan.run_limits(points, args.cl, args.method, args.processes, progress=not args.no_progress)
    rows = report.add_couplings(rows, recast.SEARCH_MODELS.get(args.search, ()))
    # independent hypotheses ~ one per +-2 sigma of mass resolution (axis resolution / d(axis)/dM)
    halfwidth = [2.0 * p.extra["resolution_m2"] * 1e-3 / abs(cfg.to_axis(p.mass + 5e-4) - cfg.to_axis(p.mass - 5e-4))
                 for p in points]
    sig = significance.scan_significance([r["mass"] for r in rows], [r["z_local"] for r in rows], halfwidth)

    out = args.input / "limits"
    for p in points:
        save_workspace(p.workspace, out / "workspaces" / f"{args.search}_m{p.mass:.4g}.json")
    extra = {"cl": args.cl, "significance": sig.as_dict(), "lumi_fb": run.lumi_fb, "blinded": run.blinded,
             "xsec_unit": "fb (sigma x BF of the searched final state)"}
    files = report.write_tables(rows, out, args.search, extra)
    if not args.no_hepdata:
        files["hepdata"] = report.write_hepdata(rows, out, args.search, args.cl)
    files["brazil"] = report.brazil_plot(rows, out / f"brazil_{args.search}.png", cfg.ylabel, run.lumi_fb, cl=args.cl)
    for model in recast.SEARCH_MODELS.get(args.search, ()):
        files[f"brazil_{model}"] = report.brazil_plot(rows, out / f"brazil_{args.search}_{model}.png",
                                                      recast.MODELS[model].label, run.lumi_fb, key=model, cl=args.cl)
    masses = np.array([p.mass for p in points])
    target = args.postfit_mass if args.postfit_mass is not None else float(masses[len(masses) // 2])
    chosen = points[int(np.argmin(np.abs(masses - target)))]
    report.pulls_and_postfit(chosen.workspace, out, f"{args.search}_m{chosen.mass:.4g}", run.lumi_fb)

    methods = sorted({r["method"] for r in rows})
    print(f"{args.search}: {len(rows)} masses, CL {args.cl}, methods {methods}; "
          f"max local Z = {sig.z_local:.2f} at M = {sig.mass_max:g} GeV "
          f"(global Z: {sig.z_global_gv:.2f} Gross-Vitells, "
          f"{sig.z_global_neff if sig.z_global_neff is not None else float('nan'):.2f} N_eff)")
    print(json.dumps({k: str(v) for k, v in files.items()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

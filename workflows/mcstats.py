"""Background MC statistics of a finished run: MC-equivalent luminosity per background, in the whole
selected region and in every +-n sigma window of a peak-scan search, and the MC error on the background
against the data's Poisson error there.

Definitions (weights w_i of the selected MC events of one background, already scaled to the run's
luminosity L):

* yield B = sum w, MC error sqrt(sum w^2), effective MC events N_eff = (sum w)^2 / sum w^2;
* MC-equivalent luminosity L_MC = L * N_eff / B: the luminosity of an unweighted sample with the same
  relative statistical error 1/sqrt(N_eff) (for equal weights w, L_MC = L / w);
* in a window the MC error on the summed background is sqrt(sum over backgrounds of sum w^2), the data's
  Poisson error sqrt(B); MC error <= data error  <=>  L_MC >= L for a single background of equal weights.

    python -m workflows.mcstats SEARCH --input RUN_DIR [--json FILE]

The sums come from the run's histograms (Weight storage: values = sum w, variances = sum w^2): the
selected region from the summary histogram of a peak-scan plan, for other plans from the event list (one
row per selected event), the windows from DIR/masstable.json (bin centres inside the window, as the
per-mass table counts them).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from processors import registry
from processors.spec import PeakScan, SearchSpec
from workflows.masstable import nominal_1d
from workflows.outputs import RunOutput, load


def _hist_name(run: RunOutput, spec: SearchSpec) -> str:
    plan = spec.stats
    if isinstance(plan, PeakScan):
        name = plan.summary_hist or plan.hist
        if name in run.hists:
            return name
    return next(iter(run.hists))


def _background_processes(run: RunOutput, samples: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for s in samples:
        m = run.samples.get(s, {})
        if not (m.get("is_data") or m.get("is_signal")):
            out[str(m.get("process") or s)].append(s)
    return dict(out)


def _entry(lumi: float, w: float, w2: float, n_mc: float | None = None) -> dict[str, float | None]:
    n_eff = w * w / w2 if w2 > 0 else 0.0
    return {
        "yield": w,
        "mc_error": math.sqrt(w2),
        "data_error": math.sqrt(w) if w > 0 else 0.0,
        "n_mc": n_mc,
        "n_eff": n_eff,
        "lumi_mc_fb": lumi * n_eff / w if w > 0 else math.inf,
    }


def mc_stats(run: RunOutput, spec: SearchSpec) -> dict[str, Any]:
    """{"lumi_fb", "hist", "selected": {sample: entry}, "windows": [{mass, window, total, by_process}]}."""
    lumi = float(run.lumi_fb or spec.lumi.fb)
    name = _hist_name(run, spec)
    h = run.hists[name]
    procs = _background_processes(run, list(h.axes["sample"]))
    selected: dict[str, Any] = {}
    per_sample = {s: nominal_1d(h, s) for members in procs.values() for s in members}
    # A peak scan's summary histogram holds one entry per selected event; other plans count in the event
    # list (one row per selected event), whose histograms may be N-1 or hold several candidates per event.
    events = run.eventlists() if not isinstance(spec.stats, PeakScan) and run.path is not None else {}
    for proc, members in sorted(procs.items()):
        for s in members:
            raw = (run.cutflows.get(s) or {}).get("raw") or [None]
            if s in events:
                we = np.asarray(events[s]["weight"], dtype=np.float64)
                selected[s] = {"process": proc, **_entry(lumi, float(we.sum()), float((we * we).sum()), float(we.size))}
                continue
            hs = per_sample[s]
            selected[s] = {
                "process": proc,
                **_entry(lumi, float(hs.values().sum()), float(hs.variances().sum()), raw[-1]),
            }
    if events:
        name = "event list"
    windows = []
    table = Path(run.path) / "masstable.json" if run.path is not None else None
    rows = json.loads(table.read_text()) if table is not None and table.exists() else []
    for r in sorted(rows, key=lambda r: (r.get("model", ""), r["mass"])):
        lo, hi = r["window_m2"]
        by_proc: dict[str, Any] = {}
        tw = tw2 = 0.0
        for proc, members in sorted(procs.items()):
            w = w2 = 0.0
            for s in members:
                hs = per_sample[s]
                c = hs.axes[0].centers
                inside = (c >= lo) & (c <= hi)
                w += float(hs.values()[inside].sum())
                w2 += float(hs.variances()[inside].sum())
            by_proc[proc] = _entry(lumi, w, w2)
            tw, tw2 = tw + w, tw2 + w2
        tot = _entry(lumi, tw, tw2)
        ratio = tot["mc_error"] / tot["data_error"] if tot["data_error"] else math.inf  # type: ignore[operator]
        row = {"model": r.get("model", ""), "mass": r["mass"], "window": [lo, hi], "total": {**tot, "ratio": ratio}}
        windows.append({**row, "by_process": by_proc})
    return {"search": spec.name, "lumi_fb": lumi, "hist": name, "selected": selected, "windows": windows}


def _fmt_lumi(x: float) -> str:
    return "inf" if not np.isfinite(x) else f"{x:.3g}"


def format_mc_stats(res: dict[str, Any]) -> str:
    lumi = res["lumi_fb"]
    lines = [
        f"MC statistics of {res['search']} (data luminosity {lumi:g} fb^-1; from {res['hist']!r}; "
        "L_MC = L * N_eff / yield, N_eff = (sum w)^2 / sum w^2)",
        "selected region:",
        f"  {'sample':<14s} {'process':<12s} {'MC events':>10s} {'N_eff':>10s} {'yield':>10s} {'<w>':>8s}"
        f" {'L_MC [fb^-1]':>13s} {'L_MC / L':>9s}",
    ]
    for s, e in res["selected"].items():
        mean_w = e["yield"] / e["n_mc"] if e["n_mc"] else math.nan
        lines.append(
            f"  {s:<14s} {e['process']:<12s} {e['n_mc'] or 0:>10.0f} {e['n_eff']:>10.1f} {e['yield']:>10.4g} "
            f"{mean_w:>8.3g} {_fmt_lumi(e['lumi_mc_fb']):>13s} {e['lumi_mc_fb'] / lumi:>9.3g}"
        )
    if any(e["n_mc"] and e["n_eff"] > 1.001 * e["n_mc"] for e in res["selected"].values()):
        lines.append(
            "  (N_eff > MC events: the histogram holds several candidates per event; N_eff counts candidates, "
            "L_MC = L / w stays right for equal weights, but a window that takes several candidates of one event "
            "has a larger MC error than sqrt(sum w^2))"
        )
    if res["windows"]:
        procs = sorted({p for w in res["windows"] for p in w["by_process"]})
        lines += [
            "per window (+-2 sigma): background B, MC error, data Poisson error sqrt(B), their ratio, and L_MC "
            "[fb^-1] per process (- = none selected there)",
            f"  {'model':>8s} {'M [GeV]':>8s} {'B':>10s} {'MC err':>9s} {'sqrt(B)':>9s} {'ratio':>6s}  "
            + " ".join(f"{p:>10s}" for p in procs),
        ]
        for w in res["windows"]:
            t = w["total"]
            lm = " ".join(
                f"{(_fmt_lumi(w['by_process'][p]['lumi_mc_fb']) if w['by_process'][p]['yield'] > 0 else '-'):>10s}"
                for p in procs
            )
            lines.append(
                f"  {w['model']:>8s} {w['mass']:>8.3g} {t['yield']:>10.4g} {t['mc_error']:>9.3g} "
                f"{t['data_error']:>9.3g} {t['ratio']:>6.2f}  {lm}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m workflows.mcstats", description=__doc__.split("\n\n")[0])
    ap.add_argument("search", choices=registry.names())
    ap.add_argument("--input", required=True, type=Path, help="a b2dark run output folder")
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers as JSON here")
    a = ap.parse_args(argv)
    res = mc_stats(load(a.input), registry.get(a.search))
    print(format_mc_stats(res))
    if a.json is not None:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(res, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

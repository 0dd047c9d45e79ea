"""Per-mass signal resolution of a peak-scan search from small signal samples, ours against Belle II's.

    python -m workflows.resolution zprime-inv --out DIR [--n 20000] [--masses 0.1 1 5 8]

Generates only the search's signal samples (its recipe's signal entries, ``--n`` events each, the same
seeds and filters) into DIR/samples, runs the search on them (``--partial``, iterative executor) into
DIR/run, and prints the width on the peak axis per mass (the shared definition,
processors.resolution.peak_width: sigma_W of a double Crystal Ball) beside Belle II's published width
(samples.constants.BELLE2_RESOLUTION, with its source), their ratio, and writes DIR/resolution.json and
DIR/resolution.png. The README's resolution tables are this command's output.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from processors.spec import PeakScan, WindowCounting
from samples.constants import BELLE2_RESOLUTION

REPO = Path(__file__).resolve().parent.parent


def reference(key: str, mass: float) -> float | None:
    """Belle II's published width at ``mass`` (linear interpolation between the quoted masses; None outside)."""
    ref = BELLE2_RESOLUTION.get(key)
    if ref is None:
        return None
    m = np.array(sorted(ref["points"]))
    s = np.array([ref["points"][x] for x in m])
    if mass < m[0] - 1e-9 or mass > m[-1] + 1e-9:
        return None
    return float(np.interp(mass, m, s))


def signal_recipe(spec: Any, n: int | None, masses: list[float] | None) -> dict[str, Any]:
    """The search's recipe reduced to its signal entries (no pseudo-data), ``n`` events each."""
    data = yaml.safe_load((REPO / "samples" / "recipes" / f"{spec.recipe}.yaml").read_text())
    keep = []
    for s in data["samples"]:
        if s["process"] not in spec.signal_processes:
            continue
        s = dict(s)
        if n is not None:
            s["n"] = int(n)
        if masses and s.get("masses"):
            s["masses"] = [m for m in s["masses"] if any(abs(m - x) < 1e-9 for x in masses)]
            if not s["masses"]:
                continue
        keep.append(s)
    if not keep:
        raise SystemExit(f"recipe {spec.recipe}: no signal entry left (masses {masses})")
    return {**{k: v for k, v in data.items() if k not in ("samples", "pseudodata")}, "samples": keep}


def measure(key: str, out: Path, n: int | None = None, masses: list[float] | None = None) -> list[dict[str, Any]]:
    """Generate, run and return the per-mass rows (ours, Belle II's, ratio)."""
    from processors.registry import get as get_search
    from samples.cli import main as generate_main
    from workflows.cli import main as cli_main

    spec = get_search(key)
    out.mkdir(parents=True, exist_ok=True)
    recipe = out / "signal_recipe.yaml"
    recipe.write_text(yaml.safe_dump(signal_recipe(spec, n, masses), sort_keys=False))
    rc = generate_main(["--recipe", str(recipe), "--out", str(out / "samples"), "--no-progress", "--jobs", "1"])
    if rc:
        raise SystemExit(f"sample generation failed ({rc})")
    run_dir = out / "run"
    catalog = str(out / "samples" / "catalog.yaml")
    rc = cli_main(["run", key, "--samples", catalog, "--output", str(run_dir), "--partial", "--executor", "iterative"])
    if rc:
        raise SystemExit(f"b2dark run failed ({rc})")
    events = _event_list(run_dir)
    if not isinstance(spec.stats, PeakScan):
        return plane_rows(out, spec, events)
    rows = json.loads((run_dir / "masstable.json").read_text())
    table = []
    for r in rows:
        ref = reference(key, r["mass"])
        table.append(
            {
                "model": r.get("model", ""),
                "sample": r["sample"],
                "mass": r["mass"],
                "ours": r["sigma_m2"],
                "q68": _q68(events, spec, r),
                "method": r["sigma_m2_method"],
                "belle2": ref,
                "ratio": r["sigma_m2"] / ref if ref else None,
                "efficiency": r["efficiency"],
            }
        )
    if spec.stats.axis == "m2_recoil" and key == "zprime-inv":
        terms = recoil_terms(out, events, spec, rows)
        for t in table:
            t.update({f"term_{k}": v for k, v in terms.get(t["sample"], {}).items()})
    return table


def _event_list(run_dir: Path) -> Any:
    path = run_dir / "eventlist.parquet"
    if not path.is_file():
        return None
    import pandas as pd

    return pd.read_parquet(path)


def _q68(events: Any, spec: Any, row: dict[str, Any]) -> float | None:
    """Half of the central 68 % interval of the signal's peak-axis values within the width-fit range: a
    robust cross-check of sigma_W (the 8-parameter fit moves by ~10 % between statistically equal samples)."""
    axis = spec.stats.axis
    if events is None or axis not in events.columns:
        return None
    x = events.loc[events["sample"] == row["sample"], axis].to_numpy()
    peak, half = float(spec.stats.observable(row["mass"])), spec.stats.half_range(row["mass"])
    x = x[np.abs(x - peak) <= half]
    if x.size < 20:
        return None
    q16, q84 = np.quantile(x, [0.16, 0.84])
    return float(q84 - q16) / 2


def plane_rows(out: Path, spec: Any, events: Any) -> list[dict[str, Any]]:
    """Searches without a peak-scan axis: the signal's 2D ellipse (window counting: principal widths and
    rotation, workflows.stats.plans.window_counting.fit_ellipse, as the statistics fit it) or the width of the
    sideband-counting variable (half of the central 68 %), per generated point."""
    from workflows.stats.plans.window_counting import axes_of, fit_ellipse

    catalog = yaml.safe_load((out / "samples" / "catalog.yaml").read_text())["samples"]
    plan = spec.stats
    rows = []
    for name, entry in sorted(catalog.items()):
        if not entry.get("is_signal") or events is None:
            continue
        d = events[events["sample"] == name]
        params = {k: v for k, v in (entry.get("params") or {}).items() if v is not None}
        row: dict[str, Any] = {"model": entry["process"], "sample": name, "mass": params.get("mass"), **params}
        row["n_selected"] = len(d)
        if isinstance(plan, WindowCounting) and len(d) >= 20:
            x, y = d[plan.x].to_numpy(), d[plan.y].to_numpy()
            _c, cov = fit_ellipse(x, y, d["weight"].to_numpy(), plan.observable(params))
            row.update({f"sigma_{plan.x}": float(np.sqrt(cov[0, 0])), f"sigma_{plan.y}": float(np.sqrt(cov[1, 1]))})
            row.update(axes_of(cov))
        elif plan.x in d.columns:
            # the peak only: candidates within +-max(50 MeV, 10 % of M) of the generated value (the event list
            # also holds the other vertex pairings of the preselection, which are not resolution)
            centre = float(plan.observable(params))
            x = d[plan.x].to_numpy()
            x = x[np.abs(x - centre) <= max(0.05, 0.1 * centre)]
            row["n_selected"] = int(x.size)
            if x.size >= 20:
                row[f"q68_{plan.x}"] = _half68(x)
        rows.append(row)
    return rows


def format_plane(key: str, rows: list[dict[str, Any]]) -> str:
    keys = [k for k in rows[0] if k.startswith(("sigma_", "q68_", "angle"))] if rows else []
    lines = [f"{key}: signal widths per generated point (no published per-point widths in samples.constants)"]
    lines.append(f"{'sample':>28s} {'n sel':>6s} " + " ".join(f"{k:>14s}" for k in keys))
    for r in rows:
        vals = " ".join(f"{r.get(k, float('nan')):>14.4g}" for k in keys)
        lines.append(f"{r['sample']:>28s} {r['n_selected']:>6d} {vals}")
    return "\n".join(lines)


def _half68(x: np.ndarray) -> float:
    q16, q84 = np.quantile(x, [0.16, 0.84])
    return float(q84 - q16) / 2


def recoil_terms(out: Path, events: Any, spec: Any, rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Where the M^2_recoil width of each selected signal event comes from, exactly additive per event:
    m2_reco - M^2 = tracking (reco muons vs true muons, nominal beam) + beam (nominal vs true beam, true
    muons) + FSR (true muons without their photon vs the Z' mass). Returns central-68 % half-widths [GeV^2]
    per sample (and the fraction of events that radiated a photon above 5 MeV)."""
    import awkward as ak
    import uproot

    catalog = yaml.safe_load((out / "samples" / "catalog.yaml").read_text())["samples"]
    terms: dict[str, dict[str, float]] = {}
    for r in rows:
        entry = catalog.get(r["sample"])
        if entry is None or events is None:
            continue
        sel = events[events["sample"] == r["sample"]]
        branches = ["event", "nMCParticle", "MCParticle_pdg", "MCParticle_mother"]
        branches += [f"MCParticle_{c}" for c in ("px", "py", "pz", "E")]
        branches += [f"{b}_{c}" for b in ("beam", "mc_beam") for c in ("px", "py", "pz", "E")]
        path = out / "samples" / entry["files"][0]["path"]
        arr = uproot.open(path)["events"].arrays(branches, library="ak")
        a = {k: np.asarray(ak.flatten(arr[k]) if arr[k].ndim > 1 else arr[k]) for k in branches}
        keep = np.isin(a["event"], sel["event"].to_numpy())
        evt = np.repeat(np.arange(a["event"].size), a["nMCParticle"])
        mu = (np.abs(a["MCParticle_pdg"]) == 13) & (a["MCParticle_mother"] < 0)
        mumu = np.stack(
            [
                np.bincount(evt[mu], weights=a[f"MCParticle_{c}"][mu], minlength=a["event"].size)
                for c in "px py pz E".split()
            ],
            axis=1,
        )
        nominal = np.stack([a[f"beam_{c}"] for c in ("px", "py", "pz", "E")], axis=1)
        true = np.stack([a[f"mc_beam_{c}"] for c in ("px", "py", "pz", "E")], axis=1)

        def m2(v: np.ndarray) -> np.ndarray:
            return v[:, 3] ** 2 - np.sum(v[:, :3] ** 2, axis=1)

        m2_nom, m2_true = m2(nominal - mumu)[keep], m2(true - mumu)[keep]
        order = np.argsort(a["event"][keep])
        reco = sel.set_index("event").loc[a["event"][keep][order], spec.stats.axis].to_numpy()
        fsr = m2_true - r["mass"] ** 2
        terms[r["sample"]] = {
            "tracking": _half68(reco - m2_nom[order]),
            "beam": _half68(m2_nom - m2_true),
            "fsr": _half68(fsr),
            "fsr_fraction": float(np.mean(fsr > 1e-3)),
        }
    return terms


def format_rows(key: str, rows: list[dict[str, Any]]) -> str:
    ref = BELLE2_RESOLUTION.get(key, {})
    unit = ref.get("unit", "")
    lines = [
        f"{key}: width of the signal peak ({ref.get('what', 'peak axis')}) [{unit}]; "
        f"Belle II: {ref.get('source', '-')}",
        f"{'model':>8s} {'M [GeV]':>8s} {'ours':>9s} {'Belle II':>9s} {'ratio':>6s} {'eff':>6s} {'ours q68':>9s}"
        "  method",
    ]
    for r in sorted(rows, key=lambda r: (r["model"], r["mass"])):
        b = f"{r['belle2']:.4g}" if r["belle2"] else "-"
        q = f"{r['ratio']:.2f}" if r["ratio"] else "-"
        q68 = f"{r['q68']:.4g}" if r.get("q68") else "-"
        eff = f"{r['efficiency']:.3f}" if r.get("efficiency") is not None else "-"
        lines.append(
            f"{r['model']:>8s} {r['mass']:>8.3g} {r['ours']:>9.4g} {b:>9s} {q:>6s} {eff:>6s} {q68:>9s}  {r['method']}"
        )
    if any("term_tracking" in r for r in rows):
        lines.append("where the width comes from (central-68 % half-widths of each additive term, selected signal):")
        lines.append(f"{'M [GeV]':>8s} {'tracking':>9s} {'beam':>9s} {'FSR':>9s} {'FSR > 1e-3':>10s}")
        for r in sorted(rows, key=lambda r: r["mass"]):
            if "term_tracking" in r:
                lines.append(
                    f"{r['mass']:>8.3g} {r['term_tracking']:>9.4g} {r['term_beam']:>9.4g} {r['term_fsr']:>9.4g} "
                    f"{r['term_fsr_fraction']:>10.2f}"
                )
    return "\n".join(lines)


def plot(key: str, rows: list[dict[str, Any]], path: Path, before: list[dict[str, Any]] | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.style.context("default"):  # the run's plotting style (mplhep) is not meant for this small figure
        _plot(key, rows, path, plt, before or [])


def _plot(key: str, rows: list[dict[str, Any]], path: Path, plt: Any, before: list[dict[str, Any]]) -> None:
    ref = BELLE2_RESOLUTION.get(key, {})
    fig, (ax, axr) = plt.subplots(2, 1, figsize=(6.4, 5.6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    for model in sorted({r["model"] for r in rows}):
        rr = sorted((r for r in rows if r["model"] == model), key=lambda r: r["mass"])
        ax.plot([r["mass"] for r in rr], [r["ours"] for r in rr], "o-", label=f"b2dark {model}".strip())
        q = [(r["mass"], r["ratio"]) for r in rr if r["ratio"]]
        if q:
            axr.plot(*zip(*q, strict=True), "o-")
    for model in sorted({r["model"] for r in before}):
        rb = sorted((r for r in before if r["model"] == model), key=lambda r: r["mass"])
        ax.plot([r["mass"] for r in rb], [r["ours"] for r in rb], "o:", color="0.6", label=f"before {model}".strip())
    if ref.get("points"):
        pts = sorted(ref["points"].items())
        ax.plot(*zip(*pts, strict=True), "ks--", label="Belle II (" + ref.get("short", "published") + ")")
    axr.axhspan(0.9, 1.1, color="0.85")
    axr.axhline(1.0, color="k", lw=0.8)
    axr.set_ylabel("ours / Belle II")
    axr.set_xlabel("M [GeV]")
    ax.set_ylabel(f"{ref.get('what', 'width').split(',')[0]} [{ref.get('unit', '')}]")
    ax.set_title(f"{key}: signal resolution")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m workflows.resolution", description=__doc__.split("\n\n")[0])
    ap.add_argument("search")
    ap.add_argument("--out", type=Path, required=True, help="folder for the samples, the run and the table")
    ap.add_argument("--n", type=int, default=None, help="events per signal sample (default: the recipe's)")
    ap.add_argument("--masses", type=float, nargs="*", help="only these generated masses")
    ap.add_argument("--before", type=Path, help="an earlier output folder of this command, drawn for comparison")
    args = ap.parse_args(argv)
    rows = measure(args.search, args.out, args.n, args.masses)
    if rows and "ours" not in rows[0]:  # no peak axis: widths per generated point, no plot
        text = format_plane(args.search, rows)
        print(text)
        (args.out / "resolution.json").write_text(json.dumps(rows, indent=1))
        (args.out / "resolution.txt").write_text(text + "\n")
        return 0
    text = format_rows(args.search, rows)
    print(text)
    (args.out / "resolution.json").write_text(json.dumps(rows, indent=1))
    (args.out / "resolution.txt").write_text(text + "\n")
    before = json.loads((args.before / "resolution.json").read_text()) if args.before else None
    plot(args.search, rows, args.out / "resolution.png", before)
    print(f"-> {args.out}/resolution.{{txt,json,png}}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

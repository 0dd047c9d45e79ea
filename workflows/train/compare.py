"""Selections side by side: ``python -m workflows.train.compare SEARCH LABEL=RUN_DIR ... [--out DIR]``.

Each RUN_DIR is a `b2dark run` + `b2dark limits` output of the same search with a different selection (cut-based,
``--set network=...``). Printed: one Markdown table per mass with the signal efficiency, the background in the
+-2 sigma window (the run's masstable.json) and the expected median limits on the cross section and on the first
recast; written: efficiency vs mass and expected limit vs mass (``compare_efficiency.png``, ``compare_limits.png``).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path


def _rows(run: Path, search: str) -> tuple[dict[float, dict], dict[float, dict]]:
    table = json.loads((run / "masstable.json").read_text()) if (run / "masstable.json").is_file() else []
    lim = run / "limits" / f"limits_{search}.csv"
    if not lim.is_file():
        raise SystemExit(f"{lim} not found: run `b2dark limits {search} --input {run}` first")
    with open(lim) as f:
        limits = {float(r["mass"]): r for r in csv.DictReader(f) if r.get("model", "") in ("", "zprime")}
    return {float(r["mass"]): r for r in table}, limits


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m workflows.train.compare", description=__doc__.splitlines()[0])
    ap.add_argument("search")
    ap.add_argument("runs", nargs="+", help="LABEL=RUN_DIR")
    ap.add_argument("--out", type=Path, default=None, help="folder of the figures [the first run's plots/]")
    args = ap.parse_args(argv)
    runs = dict(r.split("=", 1) for r in args.runs)
    data = {k: _rows(Path(v), args.search) for k, v in runs.items()}
    first_limits = next(iter(data.values()))[1]
    recast = next((c[: -len("_exp_median")] for c in next(iter(first_limits.values())) if c.endswith("_exp_median")
                   and not c.startswith("xsec")), None)  # fmt: skip
    masses = sorted(first_limits)
    head = " | ".join(f"{k}: eff, B, sigma [fb]" + (f", {recast}" if recast else "") for k in data)
    print(f"| M [GeV] | {head} |\n|---|" + "---|" * len(data))
    for m in masses:
        cells = []
        for mt, lim in data.values():
            t, r = mt.get(m, {}), lim.get(m)
            if r is None:
                cells.append("-")
                continue
            c = f"{t.get('efficiency', float('nan')):.3f}, {t.get('background_in_window', float('nan')):.3g}, "
            c += f"{float(r['xsec_exp_median_fb']):.3g}"
            c += f", {float(r[recast + '_exp_median']):.3g}" if recast else ""
            cells.append(c)
        print(f"| {m:g} | " + " | ".join(cells) + " |")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = args.out or Path(next(iter(runs.values()))) / "plots"
    out.mkdir(parents=True, exist_ok=True)
    for name, key, ylabel, log in (("efficiency", "efficiency", "signal efficiency", False),
                                   ("limits", "xsec_exp_median_fb", "expected 90 % CL limit [fb]", True)):  # fmt: skip
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for label, (mt, lim) in data.items():
            src = mt if key == "efficiency" else {m: {key: float(r[key])} for m, r in lim.items()}
            ms = sorted(m for m in src if key in src[m])
            ax.plot(ms, [src[m][key] for m in ms], marker="o", label=label)
        ax.set(xlabel="mass [GeV]", ylabel=ylabel, yscale="log" if log else "linear", title=args.search)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / f"compare_{name}.png", dpi=110)
        plt.close(fig)
    print(f"-> {out}/compare_efficiency.png, compare_limits.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

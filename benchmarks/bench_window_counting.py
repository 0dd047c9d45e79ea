"""The window-counting plan end to end (dark Higgsstrahlung-like): ellipse fits of the generated points, the
interpolated dense grid, background counts per window, Bayesian 90 % limits with the expected band, the global
significance; on synthetic event lists (no samples needed). Prints windows per second and the time for the
grid alone (its peer, measured in the same run).

    .venv/bin/python -m benchmarks.bench_window_counting [--step 1.2]   (B2DARK_BENCH_QUICK=1: a coarser grid)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import machine_info, write_json
from processors.spec import DataSample, Luminosity, NormSys, SearchSpec, SignalModel, WindowCounting
from workflows import outputs
from workflows.stats.plans import window_counting as W
from workflows.stats.plans.common import StatsOptions
from workflows.stats.plans.counting_common import split_eventlists


def _shape(m: float, h: float) -> tuple[float, float, float]:
    return 0.004 + 0.002 * m, 0.05 + 0.3 / (1 + 2 * h), -0.2 - 0.5 * h / m


def _setup(d: Path, rng: np.random.Generator) -> outputs.RunOutput:
    lists, samples = {}, {}
    for i, (m, h) in enumerate((m, h) for m in np.arange(2.0, 10.1, 1.5) for h in (0.5, 1.5, 2.5, 3.5) if h < m - 1):
        cov = W.cov_from(*_shape(m, h))
        xy = rng.multivariate_normal([m, h], cov, 3000)
        lists[f"sig{i}"] = {"x": xy[:, 0], "y": xy[:, 1], "weight": np.full(3000, 0.1)}
        samples[f"sig{i}"] = {"is_signal": True, "process": "toy2d", "mass": m, "mass2": h, "xsec_fb": 100.0}
    nb = 200_000
    lists["bkg"] = {"x": rng.uniform(1.5, 10.5, nb), "y": rng.uniform(0, 4, nb), "weight": rng.exponential(0.05, nb)}
    samples["bkg"] = {"is_signal": False, "process": "bkg"}
    outputs.write_eventlist(lists, d / outputs.EVENTLIST_FILE)
    return outputs.RunOutput(hists={}, cutflows={}, samples=samples, nevents={}, blinded=False, search="bench",
                             lumi_fb=10.0, path=d)  # fmt: skip


def main() -> None:
    quick = os.environ.get("B2DARK_BENCH_QUICK") == "1"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--step", type=float, default=3.0 if quick else 1.2, help="scan step in signal widths")
    ap.add_argument(
        "--out",
        type=Path,
        default=Path(os.environ.get("B2DARK_BENCH_RESULT", "data/bench/results/bench_window_counting.json")),
    )
    args = ap.parse_args()
    plan = WindowCounting(x="x", y="y", observable=lambda p: (p["mass"], p["mass2"]), xsec_label="s",
                          scan_step_sigma=args.step)  # fmt: skip
    spec = SearchSpec(name="bench", title="bench", reference="none", processor="x:y", lumi=Luminosity(10.0, "-"),
                      signals=(SignalModel("toy2d", "toy2d", "T", params=("mass", "mass2")),), backgrounds=("bkg",),
                      data=(DataSample("data"),), recipe="none", stats=plan,
                      systematics=(NormSys("b", 0.9, 1.1, ("bkg",)), NormSys("s", 0.9, 1.1, ("signal",))))  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        run = _setup(Path(d), np.random.default_rng(1))
        t0 = time.perf_counter()
        W.build_windows(run, spec, split_eventlists(run, spec, ("x", "y")), plan, args.step)
        t_grid = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = W.run(run, spec, StatsOptions(cl=0.9, progress=False))
        t_all = time.perf_counter() - t0
    n = len(res.rows)
    print(f"window counting: {n} windows (+ expected bands) in {t_all:.1f} s = {n / t_all:.0f} windows/s; "
          f"the grid alone {t_grid:.1f} s ({t_grid / t_all:.0%}); load {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")  # fmt: skip
    write_json(args.out, {"windows": n, "seconds": t_all, "grid_seconds": t_grid, "load": os.getloadavg()[0],
                          "machine": machine_info()})  # fmt: skip


if __name__ == "__main__":
    main()

"""Throughput of the statistics stage; prints hypotheses per second.

    .venv/bin/python benchmarks/bench_stats.py [--windows 9000] [--processes 2] [--template-masses 3] [--pyhf]

1. exact CLs counting limits (observed + 5 expected) for N single-bin windows (dark Higgsstrahlung-like:
   b ~ exponential(mean 3), 20 % gamma-prior background uncertainty), split over a process pool;
2. the Z' -> invisible-like 2D template (10 x 10 bins, lumi + efficiency normsys, a histosys, per-bin
   staterror) asymptotic CLs limit with the fast profiled likelihood, per mass on one core;
   --pyhf also times plain pyhf (numpy/scipy toms748_scan) on the same workspace (minutes).
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

import hist
import numpy as np

from workflows.stats import counting, limits
from workflows.stats.model import HistoSys, NormSys, StatError, build_workspace, lumi_normsys


def _count_chunk(args):
    n, b = args
    return counting.counting_limits(n, b, 0.2, cl=0.9).observed


def bench_counting(n_windows: int, processes: int) -> None:
    rng = np.random.default_rng(1)
    b = rng.exponential(3.0, n_windows)
    n = rng.poisson(b).astype(float)
    t0 = time.perf_counter()
    chunks = [(n[i::processes], b[i::processes]) for i in range(processes)]
    if processes > 1:
        with ProcessPoolExecutor(processes) as pool:
            out = list(pool.map(_count_chunk, chunks))
    else:
        out = [_count_chunk(c) for c in chunks]
    dt = time.perf_counter() - t0
    assert sum(len(o) for o in out) == n_windows
    print(
        f"exact counting: {n_windows} windows (obs + 5 expected each) in {dt:.2f} s on {processes} "
        f"process(es) -> {n_windows / dt:.0f} hypotheses/s"
    )


def template_workspace(mass_bin: int, rng: np.random.Generator):
    ax1 = hist.axis.Regular(10, 0, 10, name="m2_recoil")
    ax2 = hist.axis.Regular(10, 0.6, 2.5, name="theta_recoil")
    sy = hist.axis.StrCategory(["nominal", "pscale_up", "pscale_down"], name="syst")
    x = np.arange(10) + 0.5

    def mk(vals, relvar):
        h = hist.Hist(ax1, ax2, sy, storage=hist.storage.Weight())
        for j, t in enumerate([0.0, 0.05, -0.05]):
            v = vals * (1 + t * np.linspace(-1, 1, 10)[:, None])
            h.view()[:, :, j]["value"] = v
            h.view()[:, :, j]["variance"] = v * relvar
        return h

    sig = mk(3.0 * np.exp(-0.5 * ((x - mass_bin - 0.5) / 1.2) ** 2)[:, None] * np.ones(10), 0.02)
    bkg = mk(np.outer(np.linspace(30, 3, 10), np.linspace(1, 2, 10)), 0.5)
    data = rng.poisson(bkg[{"syst": "nominal"}].values()).astype(float)
    systs = [lumi_normsys(), NormSys("signal_eff", 0.95, 1.05, ("signal",)), HistoSys("pscale"), StatError(0.01)]
    return build_workspace(sig, {"bkg": bkg}, data, None, systs)


def bench_template(n_masses: int, with_pyhf: bool) -> None:
    rng = np.random.default_rng(3)
    for k in range(n_masses):
        ws, rep = template_workspace(2 + 2 * k, rng)
        t0 = time.perf_counter()
        res = limits.upper_limit(ws, cl=0.9, method="asymptotic")
        dt = time.perf_counter() - t0
        print(
            f"2D template ({rep.n_bins_kept} bins, {rep.staterror_free} staterror + 3 alpha NPs), mass {k}: "
            f"mu_up obs {res.observed:.4g} exp {res.expected[2]:.4g} [{res.method}] in {dt:.2f} s "
            f"-> {1 / dt:.2f} hypotheses/s"
        )
        if with_pyhf and k == 0:
            t0 = time.perf_counter()
            obs, exp = limits.pyhf_upper_limit(dict(ws), cl=0.9)
            dt = time.perf_counter() - t0
            print(f"   plain pyhf numpy/scipy toms748_scan: obs {obs:.4g} exp {exp[2]:.4g} in {dt:.1f} s")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--windows", type=int, default=9000)
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--template-masses", type=int, default=3)
    p.add_argument("--pyhf", action="store_true")
    a = p.parse_args()
    bench_counting(a.windows, a.processes)
    bench_template(a.template_masses, a.pyhf)


if __name__ == "__main__":
    main()

"""Scaling with local dask workers (issue 5): the Z' -> invisible processor on 1 and 2 workers.

    python -m benchmarks.bench_scaling [--events 600000] [--workers 1 2] [--repeat 2] [--chunksize N]

Each worker count gets a fresh ``dask@local`` cluster from ``workflows.executors.build_executor``
(single-thread worker processes), one warm-up run (imports, first file opens), then ``--repeat``
timed runs of ``processor.Runner``; events/s is events / median wall time, cluster start-up
excluded. Outputs of every worker count must equal the 1-worker output (histogram values, raw
cutflows), or the benchmark exits non-zero. Efficiency = (rate_N / rate_1) / N.
The sample is benchmarks.sample (generator events when the generator has every process, else a
synthetic stand-in; the JSON and the printout say which).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import BENCH_DIR, RESULTS_DIR, machine_info, warm_page_cache, write_json
from benchmarks.sample import ensure_sample


def make_processor() -> Any:
    from processors.zprime_inv.processor import ZPrimeInvisibleProcessor

    return ZPrimeInvisibleProcessor()


def hist_values(out: dict) -> dict[str, np.ndarray]:
    return {name: np.asarray(h.values(flow=True)) for name, h in out["hists"].items()}


def outputs_differ(ref: dict, other: dict) -> list[str]:
    problems = []
    a, b = hist_values(ref), hist_values(other)
    if a.keys() != b.keys():
        return [f"histogram names differ: {sorted(a)} vs {sorted(b)}"]
    for name in a:
        if a[name].shape != b[name].shape or not np.allclose(a[name], b[name], rtol=1e-9, atol=0):
            problems.append(f"histogram {name} differs")
    for sample, cf in ref.get("cutflow", {}).items():
        if [int(x) for x in np.asarray(cf["raw"])] != [int(x) for x in np.asarray(other["cutflow"][sample]["raw"])]:
            problems.append(f"cutflow of {sample} differs")
    return problems


def time_workers(n_workers: int, fileset: dict, chunksize: int, repeat: int) -> tuple[dict[str, Any], dict]:
    from processors.schema import B2Schema
    from workflows.executors import build_executor
    from workflows.runoptions import load_run_options

    opts = load_run_options(cli={"executor": "dask@local", "workers": n_workers, "chunksize": chunksize})
    t_start = time.perf_counter()
    with build_executor(None, opts) as handle:
        handle.client.wait_for_workers(n_workers, timeout=120)
        startup = time.perf_counter() - t_start
        runner = handle.runner(schema=B2Schema)
        out = runner(fileset, processor_instance=make_processor(), treename="events")  # warm-up
        seconds = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            out = runner(fileset, processor_instance=make_processor(), treename="events")
            seconds.append(time.perf_counter() - t0)
        desc = handle.describe()
    return {
        "workers": n_workers,
        "seconds": seconds,
        "median_s": statistics.median(seconds),
        "cluster_startup_s": round(startup, 2),
        "worker_events": desc.get("worker_events"),
    }, out


def run(args: argparse.Namespace) -> dict[str, Any]:
    directory = args.sample_dir or BENCH_DIR / f"zprime_inv_{args.events}_{args.source}"
    print(f"[bench_scaling] sample: {args.events} events in {directory} (source {args.source}) ...", flush=True)
    sample = ensure_sample(args.events, directory, compressions=("zlib1",), parquet=False, source=args.source)
    source = next(iter(sample.files.values())).source
    fileset = sample.fileset("root", "zlib1")
    n_events = sample.n_events
    warm_page_cache(sample.paths("root", "zlib1"))
    n_chunks = sum(-(-f.n_events // args.chunksize) for f in sample.files.values())
    print(
        f"[bench_scaling] {n_events} events ({source} sample), chunksize {args.chunksize} -> ~{n_chunks} chunks, "
        f"{os.cpu_count()} CPUs on this machine",
        flush=True,
    )

    rows, reference, problems = [], None, []
    for n in args.workers:
        row, out = time_workers(n, fileset, args.chunksize, args.repeat)
        row["events"] = n_events
        row["events_per_s"] = n_events / row["median_s"]
        rows.append(row)
        if reference is None:
            reference = out
        else:
            problems += [f"{n} workers: {p}" for p in outputs_differ(reference, out)]
        print(
            f"[bench_scaling] {n} worker(s): {row['events_per_s']:10.0f} events/s  "
            f"(median {row['median_s']:.2f} s of {[round(s, 2) for s in row['seconds']]}, "
            f"cluster start {row['cluster_startup_s']} s)",
            flush=True,
        )
    base = rows[0]["events_per_s"] / rows[0]["workers"]
    for row in rows:
        row["speedup_vs_first"] = row["events_per_s"] / rows[0]["events_per_s"]
        row["efficiency"] = row["events_per_s"] / (base * row["workers"])
        print(
            f"[bench_scaling] {row['workers']} worker(s): speed-up {row['speedup_vs_first']:.2f}, "
            f"parallel efficiency {row['efficiency']:.0%}"
        )
    if problems:
        print("[bench_scaling] OUTPUTS DIFFER between worker counts:\n  " + "\n  ".join(problems), file=sys.stderr)
    return {
        "benchmark": "scaling",
        "sample_source": source,
        "events": n_events,
        "chunksize": args.chunksize,
        "chunks": n_chunks,
        "machine": machine_info(),
        "note": "CPUs are shared with other processes on this machine; efficiency < 100% includes that contention",
        "rows": rows,
        "outputs_equal": not problems,
        "problems": problems,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    quick = os.environ.get("B2DARK_BENCH_QUICK") == "1"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=60_000 if quick else 600_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=1 if quick else 2)
    ap.add_argument(
        "--chunksize",
        type=int,
        default=10_000 if quick else 50_000,
        help="entries per chunk (small enough that every worker gets several chunks)",
    )
    ap.add_argument("--source", choices=("auto", "generator", "synthetic"), default="auto")
    ap.add_argument("--sample-dir", type=Path, default=None)
    ap.add_argument(
        "--output", type=Path, default=Path(os.environ.get("B2DARK_BENCH_RESULT", RESULTS_DIR / "bench_scaling.json"))
    )
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    res = run(args)
    write_json(args.output, res)
    print(f"[bench_scaling] wrote {args.output}")
    return 0 if res["outputs_equal"] else 1


if __name__ == "__main__":
    sys.exit(main())

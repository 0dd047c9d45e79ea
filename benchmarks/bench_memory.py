"""Per-worker peak memory (issue 5): Z' -> invisible on one dask worker, per chunk size.

    python -m benchmarks.bench_memory [--events 600000] [--chunksizes 25000 100000 200000]

For each chunk size the single ``dask@local`` worker is restarted (fresh process), its resident
memory after start-up and imports is read (baseline), one full run is made, and the worker's
peak RSS (``VmHWM`` in /proc/self/status) is read. The default chunk size is
``RunOptions().chunksize``; the target is a peak below 2 GB there. No assertion: figures only.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import BENCH_DIR, RESULTS_DIR, machine_info, write_json
from benchmarks.sample import ensure_sample

TARGET_BYTES = 2e9


def _worker_memory() -> dict[str, int]:
    """Runs on the worker: current and peak resident set size of this process, bytes.

    VmHWM (Linux) is the high-water mark of this process image; ru_maxrss is not used because
    Linux carries it over from the parent across fork+exec (it would report the nanny's memory).
    """
    import psutil

    rss = psutil.Process().memory_info().rss
    try:
        status = Path("/proc/self/status").read_text().splitlines()
        peak = next(int(ln.split()[1]) * 1024 for ln in status if ln.startswith("VmHWM:"))
    except (OSError, StopIteration):  # not Linux: lifetime peak from getrusage (KiB on Linux, bytes on macOS)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return {"rss": rss, "peak": peak}


def _prime_worker() -> bool:
    """Import what a task imports, so the baseline includes the libraries and not the data."""
    import coffea.processor  # noqa: F401

    import processors.zprime_inv.processor  # noqa: F401

    return True


def run(args: argparse.Namespace) -> dict[str, Any]:
    from processors.schema import B2Schema
    from processors.zprime_inv.processor import ZPrimeInvisibleProcessor
    from workflows.executors import build_executor
    from workflows.runoptions import RunOptions, load_run_options

    default_chunk = RunOptions().chunksize
    directory = args.sample_dir or BENCH_DIR / f"zprime_inv_{args.events}_{args.source}"
    sample = ensure_sample(args.events, directory, compressions=("zlib1",), parquet=False, source=args.source)
    source = next(iter(sample.files.values())).source
    largest = max(f.n_events for f in sample.files.values())
    print(
        f"[bench_memory] {sample.n_events} events ({source} sample); largest file {largest} events; "
        f"default chunksize {default_chunk}",
        flush=True,
    )
    fileset = sample.fileset("root", "zlib1")
    if not args.all_files:  # memory per worker is set by the chunk, not by how many files follow it
        name = max(sample.files, key=lambda k: sample.files[k].n_events)
        fileset = {name: fileset[name]}
        print(f"[bench_memory] running on the largest file only ({name}); --all-files for every file")

    rows = []
    opts = load_run_options(cli={"executor": "dask@local", "workers": 1, "memory_limit": args.memory_limit})
    with build_executor(None, opts) as handle:
        client = handle.client
        for chunksize in args.chunksizes:
            client.restart()
            client.wait_for_workers(1, timeout=120)
            client.run(_prime_worker)
            base = next(iter(client.run(_worker_memory).values()))
            t0 = time.perf_counter()
            out = handle.runner(schema=B2Schema, chunksize=chunksize)(
                fileset, processor_instance=ZPrimeInvisibleProcessor(), treename="events"
            )
            dt = time.perf_counter() - t0
            mem = next(iter(client.run(_worker_memory).values()))
            # coffea evens chunks out: N entries at chunksize c -> ceil(N / c) chunks of ~N / that
            n_chunks = -(-largest // chunksize)
            full_chunk = -(-largest // n_chunks)
            row = {
                "chunksize": chunksize,
                "largest_chunk_events": full_chunk,
                "baseline_rss_bytes": base["rss"],
                "peak_rss_bytes": mem["peak"],
                "increase_bytes": mem["peak"] - base["rss"],
                "bytes_per_event_of_largest_chunk": (mem["peak"] - base["rss"]) / full_chunk,
                "seconds": dt,
                "events": sum(int(v) for v in out["nevents"].values()),
                "below_target": mem["peak"] < TARGET_BYTES,
                "default": chunksize == default_chunk,
            }
            rows.append(row)
            print(
                f"[bench_memory] chunksize {chunksize:>7d}{' (default)' if row['default'] else '':10s}: "
                f"largest chunk {full_chunk} events, worker peak {mem['peak'] / 1e6:7.0f} MB "
                f"(baseline {base['rss'] / 1e6:.0f} MB, "
                f"+{row['increase_bytes'] / 1e6:.0f} MB = {row['bytes_per_event_of_largest_chunk']:.0f} B/event), "
                f"target < {TARGET_BYTES / 1e9:.0f} GB: {'yes' if row['below_target'] else 'NO'}",
                flush=True,
            )
    if largest % default_chunk:
        print(
            f"[bench_memory] note: the largest file ({largest} events) is not a multiple of the default chunk "
            "size, so its chunks are smaller; --events 333334 gives a 100000-event file (30 % of the mix)"
        )
    return {
        "benchmark": "memory",
        "sample_source": source,
        "events": sample.n_events,
        "default_chunksize": default_chunk,
        "target_bytes": TARGET_BYTES,
        "machine": machine_info(),
        "rows": rows,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    quick = os.environ.get("B2DARK_BENCH_QUICK") == "1"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=60_000 if quick else 333_334)
    ap.add_argument(
        "--chunksizes", type=int, nargs="+", default=[10_000, 100_000] if quick else [25_000, 100_000, 200_000]
    )
    ap.add_argument("--all-files", action="store_true", help="process every file, not only the largest")
    ap.add_argument("--memory-limit", default="6GB", help="dask worker memory limit (above the peak to be measured)")
    ap.add_argument("--source", choices=("auto", "generator", "synthetic"), default="auto")
    ap.add_argument("--sample-dir", type=Path, default=None)
    ap.add_argument(
        "--output", type=Path, default=Path(os.environ.get("B2DARK_BENCH_RESULT", RESULTS_DIR / "bench_memory.json"))
    )
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    res = run(args)
    write_json(args.output, res)
    print(f"[bench_memory] wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

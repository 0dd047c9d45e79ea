"""Profile the b2dark case of the throughput benchmark with pyinstrument.

    python -m benchmarks.profile_b2dark [--events 300000] [--format root|parquet] [--compression default]

Runs the Z' -> invisible processor through processor.Runner (iterative
executor, one core) over the cached benchmark sample once to warm up, then once
under pyinstrument, and writes a text and an HTML report to data/bench/profile/.
"""

from __future__ import annotations

from benchmarks.common import pin_single_core

if __name__ == "__main__":
    pin_single_core()

import argparse
from pathlib import Path

from benchmarks.bench_throughput import run_b2dark
from benchmarks.common import BENCH_DIR, warm_page_cache
from benchmarks.sample import COMPRESSIONS, ensure_sample, resolve_source


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--format", default="root", choices=("root", "parquet"))
    ap.add_argument("--compression", default="default", choices=COMPRESSIONS)
    ap.add_argument("--source", default="auto", choices=("auto", "generator", "synthetic"))
    ap.add_argument("--sample-dir", type=Path, default=None)
    ap.add_argument("--chunksize", type=int, default=None, help="default: RunOptions().chunksize")
    ap.add_argument("--maxchunks", type=int, default=None, help="chunks per sample (profile a part of a big sample)")
    ap.add_argument("--interval", type=float, default=0.0005, help="pyinstrument sampling interval [s]")
    ap.add_argument("--out", type=Path, default=BENCH_DIR / "profile")
    args = ap.parse_args(argv)

    from pyinstrument import Profiler

    if args.chunksize is None:
        from workflows.runoptions import RunOptions

        args.chunksize = RunOptions().chunksize

    directory = args.sample_dir or BENCH_DIR / f"zprime_inv_{args.events}_{resolve_source(args.source)}"
    sample = ensure_sample(args.events, directory, compressions=(args.compression,), source=args.source)
    warm_page_cache(sample.paths(args.format, args.compression))
    fileset = sample.fileset(args.format, args.compression)
    run_b2dark(
        fileset, chunksize=args.chunksize, fmt=args.format, maxchunks=args.maxchunks
    )  # warm-up: imports, metadata cache
    profiler = Profiler(interval=args.interval)
    profiler.start()
    run_b2dark(fileset, chunksize=args.chunksize, fmt=args.format, maxchunks=args.maxchunks)
    profiler.stop()
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"b2dark_{args.format}_{args.compression}_{sample.n_events}"
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    stem.with_suffix(".txt").write_text(text)
    stem.with_suffix(".html").write_text(profiler.output_html())
    print(text)
    print(f"written: {stem}.txt / .html")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

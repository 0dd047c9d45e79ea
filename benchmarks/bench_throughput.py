"""Throughput yardstick (issue 6): b2dark's Z' -> invisible processor against the
I/O floor, ROOT RDataFrame and a per-event Python loop, on one core.

    python -m benchmarks.bench_throughput [--events 3000000] [--repeat 5] [--cases ...]

Cases (all on the same files, warm page cache, median of ``--repeat`` runs after
one warm-up):
  floor           uproot reads exactly the branches b2dark's processor materialises
  b2dark          processor.Runner + IterativeExecutor, full selection + histograms
  rdf             the same selection in ROOT RDataFrame (compiled C++, implicit MT off)
  pyloop          plain per-event Python loop on a subsample, time scaled to all events
  floor_parquet   pyarrow reads the same columns from the Parquet copy
  b2dark_parquet  Runner(format="parquet")
  dask1, dask2    Runner + DaskExecutor on a LocalCluster with 1 / 2 single-thread workers
The RDataFrame per-sample cutflow (raw counts) must equal b2dark's, and its
histograms must agree, or the benchmark exits non-zero. MB/s is the compressed
size of the needed branches divided by the time, the same numerator for every
case, so MB/s ratios equal events/s ratios.
"""

from __future__ import annotations

from benchmarks.common import pin_single_core  # first: thread pools must see the pinning

# Pin only when run as a program: importing this module (tests) must not pin the caller.
PINNED_CPU = pin_single_core() if __name__ == "__main__" else None

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.common import (  # noqa: E402
    BENCH_DIR,
    RESULTS_DIR,
    Timing,
    machine_info,
    time_case,
    unpin,
    warm_page_cache,
    write_json,
)
from benchmarks.sample import COMPRESSIONS, BenchSample, ensure_sample, resolve_source  # noqa: E402

ALL_CASES = ("floor", "b2dark", "rdf", "pyloop", "floor_parquet", "b2dark_parquet", "dask1", "dask2")
GOALS = {"b2dark/rdf": 1.0, "b2dark/floor": 0.6}


# ----------------------------------------------------------------------------- b2dark
def make_processor() -> Any:
    from processors.zprime_inv.processor import ZPrimeInvisibleProcessor

    return ZPrimeInvisibleProcessor()


def run_b2dark(
    fileset: dict,
    *,
    chunksize: int,
    fmt: str = "root",
    executor: Any = None,
    savemetrics: bool = False,
    maxchunks: int | None = None,
) -> Any:
    from coffea import processor

    from processors.schema import B2Schema

    runner = processor.Runner(
        executor=executor or processor.IterativeExecutor(status=False),
        schema=B2Schema,
        chunksize=chunksize,
        format=fmt,
        savemetrics=savemetrics,
        maxchunks=maxchunks,
    )
    return runner(fileset, processor_instance=make_processor(), treename="events")


def materialised_branches(sample: BenchSample, compression: str, chunksize: int) -> list[str]:
    """Branches b2dark's processor actually reads (coffea's access log, first chunk of every sample)."""
    out, metrics = run_b2dark(sample.fileset("root", compression), chunksize=chunksize, savemetrics=True, maxchunks=1)
    del out
    columns = metrics.get("columns", set())
    return sorted({c.rsplit("-", 1)[0] for c in columns})


# ----------------------------------------------------------------------------- I/O floors
def read_floor_root(paths: list[Path], branches: list[str], chunksize: int) -> int:
    """uproot: read the branches chunk by chunk (same chunking as the Runner), nothing else."""
    import uproot

    n = 0
    for path in paths:
        with uproot.open(path) as f:
            tree = f["events"]
            for start in range(0, tree.num_entries, chunksize):
                stop = min(start + chunksize, tree.num_entries)
                arrays = tree.arrays(branches, entry_start=start, entry_stop=stop, how=dict)
                n += stop - start
                del arrays
    return n


def read_floor_parquet(paths: list[Path], branches: list[str]) -> int:
    import pyarrow.parquet as pq

    n = 0
    for path in paths:
        pf = pq.ParquetFile(path)
        for rg in range(pf.num_row_groups):
            n += pf.read_row_group(rg, columns=branches, use_threads=False).num_rows
    return n


def branch_bytes(paths: list[Path], branches: list[str]) -> tuple[int, int]:
    """(compressed, uncompressed) bytes of ``branches`` summed over the ROOT files."""
    import uproot

    comp = unc = 0
    for path in paths:
        with uproot.open(path) as f:
            tree = f["events"]
            for b in branches:
                comp += tree[b].compressed_bytes
                unc += tree[b].uncompressed_bytes
    return comp, unc


# ----------------------------------------------------------------------------- comparisons
def cutflow_raw(out: dict) -> dict[str, dict[str, Any]]:
    """{sample: {"names": [...], "raw": [int, ...], "weighted": [...]}} from a processor output."""
    res = {}
    for sample, cf in out["cutflow"].items():
        res[sample] = {
            "names": list(cf["names"]),
            "raw": [int(x) for x in np.asarray(cf["raw"])],
            "weighted": [float(x) for x in np.asarray(cf["weighted"])],
        }
    return res


def compare_cutflows(reference: dict, other: dict, label: str, *, rtol_weighted: float = 1e-5) -> list[str]:
    """Differences between two {sample: {names, raw, weighted}} cutflows (empty list: equal)."""
    problems = []
    for sample in sorted(set(reference) | set(other)):
        if sample not in reference or sample not in other:
            problems.append(f"{label}: sample {sample!r} missing on one side")
            continue
        ref, oth = reference[sample], other[sample]
        if list(ref["names"]) != list(oth["names"]):
            problems.append(f"{label}: {sample}: cut names differ: {ref['names']} vs {oth['names']}")
            continue
        for name, a, b in zip(ref["names"], ref["raw"], oth["raw"], strict=True):
            if int(a) != int(b):
                problems.append(f"{label}: {sample}: cut {name!r}: b2dark {a} events, {label} {b}")
        if "weighted" in oth and oth["weighted"] is not None:
            for name, a, b in zip(ref["names"], ref["weighted"], oth["weighted"], strict=True):
                if not np.isclose(a, b, rtol=rtol_weighted, atol=1e-9):
                    problems.append(f"{label}: {sample}: cut {name!r} weighted: b2dark {a:.6g}, {label} {b:.6g}")
    return problems


# ----------------------------------------------------------------------------- the run
def run(args: argparse.Namespace) -> dict[str, Any]:
    directory = args.sample_dir or BENCH_DIR / f"zprime_inv_{args.events}_{resolve_source(args.source)}"
    compressions = tuple(dict.fromkeys([args.compression, *args.compare_compressions]))
    print(f"[bench] sample: {args.events} events in {directory} (source {args.source}) ...", flush=True)
    t0 = time.perf_counter()
    sample = ensure_sample(args.events, directory, compressions=compressions, source=args.source)
    source = next(iter(sample.files.values())).source
    print(f"[bench] sample ready ({sample.n_events} events, {source}) in {time.perf_counter() - t0:.1f} s", flush=True)

    root_paths = sample.paths("root", args.compression)
    pq_paths = sample.paths("parquet")
    warm_page_cache(root_paths + pq_paths)
    n_events = sample.n_events
    chunksize = args.chunksize

    branches = materialised_branches(sample, args.compression, chunksize)
    comp_bytes, unc_bytes = branch_bytes(root_paths, branches)
    print(f"[bench] b2dark materialises {len(branches)} branches: {', '.join(branches)}", flush=True)

    timings: list[Timing] = []
    results: dict[str, Any] = {}
    failures: list[str] = []

    def case(
        name: str, fn: Callable[[], Any], *, events: int = n_events, scale: float = 1.0, repeat: int | None = None
    ) -> Any:
        if name not in args.cases:
            return None
        print(f"[bench] {name} ...", flush=True)
        t, res = time_case(name, fn, events=events, repeat=repeat or args.repeat, warmup=args.warmup,
                           bytes_read=comp_bytes, scale=scale)  # fmt: skip
        timings.append(t)
        print(f"[bench]   {t.events_per_s:,.0f} ev/s, {t.events_per_cpu_s:,.0f} ev/CPU-s (median {t.median:.3f} s of "
              f"{[round(s, 3) for s in t.seconds]})", flush=True)  # fmt: skip
        return res

    case("floor", lambda: read_floor_root(root_paths, branches, chunksize))
    out = case("b2dark", lambda: run_b2dark(sample.fileset("root", args.compression), chunksize=chunksize))
    if out is None and ("rdf" in args.cases or "pyloop" in args.cases):
        out = run_b2dark(sample.fileset("root", args.compression), chunksize=chunksize)
    reference = cutflow_raw(out) if out is not None else None
    if reference is not None:
        results["b2dark_cutflow"] = reference

    if "rdf" in args.cases:
        from benchmarks import rdf_zprime_inv

        rdf_zprime_inv.setup()
        files = {s: f.root[args.compression] for s, f in sample.files.items()}
        meta = {s: d["metadata"] for s, d in sample.fileset("root", args.compression).items()}
        rdf_out = case("rdf", lambda: rdf_zprime_inv.run(files, meta))
        results["rdf_cutflow"] = rdf_out.cutflow
        failures += compare_cutflows(reference, rdf_out.cutflow, "rdf")
        failures += rdf_zprime_inv.compare_hists(out, rdf_out)

    if "pyloop" in args.cases:
        from benchmarks import pyloop_zprime_inv

        n_sub = min(args.pyloop_events, n_events)
        sub = pyloop_zprime_inv.Subsample.build(sample, args.compression, n_sub)
        py_out = case("pyloop", sub.run, events=n_events, scale=n_events / sub.n_events, repeat=1)
        results["pyloop_subsample_events"] = sub.n_events
        failures += compare_cutflows(sub.reference(out), py_out, "pyloop", rtol_weighted=1e-4)

    if pq_paths:
        case("floor_parquet", lambda: read_floor_parquet(pq_paths, branches))
        pq_out = case(
            "b2dark_parquet", lambda: run_b2dark(sample.fileset("parquet"), chunksize=chunksize, fmt="parquet")
        )
        if pq_out is not None and reference is not None:
            failures += compare_cutflows(reference, cutflow_raw(pq_out), "b2dark_parquet", rtol_weighted=1e-9)

    for workers in (1, 2):
        name = f"dask{workers}"
        if name not in args.cases:
            continue
        from coffea import processor
        from distributed import Client, LocalCluster

        unpin()  # workers inherit the affinity: let two of them use both cores
        with (
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
            Client(cluster) as client,
        ):
            executor = processor.DaskExecutor(client=client, status=False, treereduction=8)
            d_out = case(
                name,
                lambda ex=executor: run_b2dark(
                    sample.fileset("root", args.compression), chunksize=chunksize, executor=ex
                ),
                repeat=args.dask_repeat,
            )
        if PINNED_CPU is not None:
            pin_single_core(PINNED_CPU)
        if d_out is not None and reference is not None:
            failures += compare_cutflows(reference, cutflow_raw(d_out), name, rtol_weighted=1e-9)

    if args.compare_compressions:
        results["compressions"] = compression_study(sample, branches, chunksize, args)

    by = {t.name: t for t in timings}
    ratios = {}
    for label, (num, den) in {"b2dark/rdf": ("b2dark", "rdf"), "b2dark/floor": ("b2dark", "floor"),
                              "rdf/floor": ("rdf", "floor"), "b2dark/pyloop": ("b2dark", "pyloop"),
                              "b2dark_parquet/floor_parquet": ("b2dark_parquet", "floor_parquet"),
                              "b2dark_parquet/rdf": ("b2dark_parquet", "rdf"),
                              "dask2/dask1": ("dask2", "dask1")}.items():  # fmt: skip
        if num in by and den in by:
            ratios[label] = by[num].events_per_s / by[den].events_per_s
    cpu_ratios = {}
    for label in ("b2dark/rdf", "b2dark/floor", "rdf/floor", "b2dark_parquet/floor_parquet"):
        num, den = label.split("/")
        if num in by and den in by:
            cpu_ratios[label] = by[num].events_per_cpu_s / by[den].events_per_cpu_s
    goals = {k: {"goal": v, "value": ratios.get(k), "value_cpu": cpu_ratios.get(k), "met": ratios.get(k, 0) >= v}
             for k, v in GOALS.items() if k in ratios}  # fmt: skip
    return {
        "benchmark": "throughput",
        "machine": machine_info(),
        "pinned_cpu": PINNED_CPU,
        "sample": {
            "directory": str(directory),
            "source": source,
            "events": n_events,
            "per_sample": {k: v.n_events for k, v in sample.files.items()},
            "compression": args.compression,
            "compression_spec": next(iter(sample.files.values())).root_specs.get(args.compression),
            "chunksize": chunksize,
            "branches": branches,
            "branch_bytes_compressed": comp_bytes,
            "branch_bytes_uncompressed": unc_bytes,
            "root_file_bytes": sum(p.stat().st_size for p in root_paths),
            "parquet_file_bytes": sum(p.stat().st_size for p in pq_paths),
        },
        "repeat": args.repeat,
        "timings": [t.as_dict() for t in timings],
        "ratios": ratios,
        "ratios_cpu": cpu_ratios,
        "goals": goals,
        "failures": failures,
        **results,
    }


def compression_study(sample: BenchSample, branches: list[str], chunksize: int, args: argparse.Namespace) -> dict:
    """I/O-floor (and, if the b2dark case is on, b2dark) throughput per ROOT compression of the same events."""
    study = {}
    for comp in dict.fromkeys([args.compression, *args.compare_compressions]):
        paths = sample.paths("root", comp)
        warm_page_cache(paths)
        cb, _ = branch_bytes(paths, branches)
        tf, _ = time_case(
            f"floor[{comp}]",
            lambda p=paths: read_floor_root(p, branches, chunksize),
            events=sample.n_events,
            repeat=args.repeat,
            bytes_read=cb,
        )
        study[comp] = {
            "branch_bytes": cb,
            "file_bytes": sum(p.stat().st_size for p in paths),
            "floor_events_per_s": tf.events_per_s,
            "floor_events_per_cpu_s": tf.events_per_cpu_s,
        }
        line = (
            f"[bench] {comp:<8} {cb / 1e6:8.1f} MB  floor {tf.events_per_s:12,.0f} ev/s "
            f"{tf.events_per_cpu_s:12,.0f} ev/CPU-s"
        )
        if "b2dark" in args.cases:  # b2dark reads the same bytes; its time is mostly compute
            tb, _ = time_case(
                f"b2dark[{comp}]",
                lambda c=comp: run_b2dark(sample.fileset("root", c), chunksize=chunksize),
                events=sample.n_events,
                repeat=args.repeat,
                bytes_read=cb,
            )
            study[comp].update(b2dark_events_per_s=tb.events_per_s, b2dark_events_per_cpu_s=tb.events_per_cpu_s)
            line += f"  b2dark {tb.events_per_s:12,.0f} ev/s {tb.events_per_cpu_s:12,.0f} ev/CPU-s"
        print(line, flush=True)
    return study


def print_table(res: dict[str, Any]) -> None:
    s = res["sample"]
    spec = s.get("compression_spec")
    comp = f"{s['compression']} ({spec[0]}-{spec[1]})" if spec else s["compression"]
    print(f"\nThroughput, {s['events']:,} events ({s['source']}), {comp}, chunksize {s['chunksize']}, "
          f"one core (cpu {res['pinned_cpu']}), median of {res['repeat']}")  # fmt: skip
    print(f"{'case':<16}{'events/s':>14}{'MB/s':>10}{'median s':>10}{'vs floor':>10}{'vs rdf':>9}{'ev/CPU-s':>14}")
    by = {t["name"]: t for t in res["timings"]}
    for t in res["timings"]:
        vf = t["events_per_s"] / by["floor"]["events_per_s"] if "floor" in by else float("nan")
        vr = t["events_per_s"] / by["rdf"]["events_per_s"] if "rdf" in by else float("nan")
        note = f"  (scaled from {t['scaled_from']:,})" if t.get("scaled_from") else ""
        cpu = t["events_per_cpu_s"] if not t["name"].startswith("dask") else float("nan")
        print(
            f"{t['name']:<16}{t['events_per_s']:>14,.0f}{t['mb_per_s']:>10.1f}{t['median_s']:>10.3f}{vf:>10.2f}{vr:>9.2f}{cpu:>14,.0f}{note}"
        )
    for k, v in res["ratios"].items():
        goal = res["goals"].get(k)
        tag = f"   goal >= {goal['goal']}: {'met' if goal['met'] else 'NOT met'}" if goal else ""
        cpu = res["ratios_cpu"].get(k)
        cpu_txt = f"  (CPU time: {cpu:.3f})" if cpu is not None else ""
        print(f"  {k:<30}{v:8.3f}{cpu_txt}{tag}")
    for f in res["failures"]:
        print(f"  FAILURE: {f}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    quick = os.environ.get("B2DARK_BENCH_QUICK") == "1"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=60_000 if quick else 2_000_000)
    ap.add_argument("--repeat", type=int, default=2 if quick else 3)
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs before the timed ones (per case)")
    ap.add_argument("--dask-repeat", type=int, default=None, help="repetitions of the dask cases (default --repeat)")
    ap.add_argument(
        "--chunksize",
        type=int,
        default=None,
        help="entries per chunk (default: the project's, workflows.runoptions.RunOptions().chunksize)",
    )
    ap.add_argument("--compression", default="default", choices=COMPRESSIONS)
    ap.add_argument("--compare-compressions", nargs="*", default=[], choices=COMPRESSIONS,
                    help="also time floor + b2dark on copies written with these compressions")  # fmt: skip
    ap.add_argument("--source", default="auto", choices=("auto", "generator", "synthetic"))
    ap.add_argument("--sample-dir", type=Path, default=None)
    ap.add_argument("--cases", nargs="*", default=list(ALL_CASES), choices=ALL_CASES)
    ap.add_argument("--pyloop-events", type=int, default=20_000 if quick else 100_000)
    ap.add_argument(
        "--output",
        type=Path,
        default=Path(os.environ.get("B2DARK_BENCH_RESULT", RESULTS_DIR / "bench_throughput.json")),
    )
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.chunksize is None:  # what `b2dark run` uses unless told otherwise
        from workflows.runoptions import RunOptions

        args.chunksize = RunOptions().chunksize
    res = run(args)
    write_json(args.output, res)
    print_table(res)
    print(f"written: {args.output}")
    return 1 if res["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())

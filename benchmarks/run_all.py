"""``make bench``: run every ``benchmarks/bench_*.py`` one after the other and collect their JSON.

Convention for a benchmark module (see benchmarks/README.md):
- runnable as ``python -m benchmarks.bench_<name>``;
- writes its result JSON to the path in ``$B2DARK_BENCH_RESULT`` (default
  ``data/bench/results/bench_<name>.json``);
- reads ``$B2DARK_BENCH_QUICK=1`` as "small sample, few repetitions";
- exits non-zero when the benchmark fails (a wrong result, not a slow one).

Benchmarks run sequentially in their own processes (no two compete for the
cores; each pins its own threads). The collected summary goes to
``data/bench/results/summary.json``; the exit code is non-zero if any failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import RESULTS_DIR, machine_info, write_json

HERE = Path(__file__).resolve().parent


def discover(only: list[str] | None = None) -> list[str]:
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if only:
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise SystemExit(f"unknown benchmark(s) {unknown}; available in {HERE}: {names}")
        names = [n for n in names if n in only]
    return names


def run_one(name: str, quick: bool, extra: list[str], results_dir: Path) -> dict:
    result_path = results_dir / f"{name}.json"
    if result_path.exists():
        result_path.unlink()  # never collect a stale result
    env = dict(os.environ, B2DARK_BENCH_RESULT=str(result_path))
    if quick:
        env["B2DARK_BENCH_QUICK"] = "1"
    cmd = [sys.executable, "-m", f"benchmarks.{name}", *extra]
    print(f"\n=== {name}: {' '.join(cmd)}", flush=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, check=False)
    entry: dict = {"name": name, "returncode": proc.returncode, "wall_s": round(time.perf_counter() - start, 2)}
    if result_path.exists():
        try:
            entry["result"] = json.loads(result_path.read_text())
        except json.JSONDecodeError as err:
            entry["error"] = f"{result_path}: not valid JSON ({err})"
    else:
        entry["error"] = f"{name} wrote no result file {result_path}"
    return entry


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", help="benchmark module names, e.g. bench_throughput")
    ap.add_argument("--quick", action="store_true", help="small samples and few repetitions (smoke test)")
    ap.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args, extra = ap.parse_known_args(argv)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    names = discover(args.only)
    if not names:
        print(f"no benchmarks/bench_*.py found in {HERE}")
        return 1
    entries = [run_one(n, args.quick, extra if len(names) == 1 else [], args.results_dir) for n in names]
    summary = {"machine": machine_info(), "quick": args.quick, "benchmarks": entries}
    path = write_json(args.results_dir / "summary.json", summary)
    print("\n=== summary")
    for e in entries:
        status = (
            "ok"
            if e["returncode"] == 0 and "error" not in e
            else f"FAILED ({e.get('error', 'exit ' + str(e['returncode']))})"
        )
        print(f"  {e['name']:<24} {e['wall_s']:>8.1f} s  {status}")
    print(f"written: {path}")
    return 0 if all(e["returncode"] == 0 and "error" not in e for e in entries) else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Shared machinery of the benchmarks: single-core pinning, page-cache warming,
repeated timing with medians, JSON results.

``pin_single_core()`` must run before numpy/numba/ROOT start their thread pools,
so benchmark entry points call it before importing anything heavy.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Where the benchmark sample and results live: git-ignored (data/ is in .gitignore).
BENCH_DIR = Path(os.environ.get("B2DARK_BENCH_DIR", "data/bench"))
RESULTS_DIR = BENCH_DIR / "results"

_THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


def pin_single_core(cpu: int | None = None) -> int | None:
    """One thread everywhere and (where the OS allows) one CPU for this process.

    Returns the CPU pinned to, or None if affinity is not supported. Worker
    processes started later (dask LocalCluster) inherit the environment but get
    their own affinity.
    """
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    os.environ.setdefault("PYTHONHASHSEED", "0")
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    chosen = allowed[-1] if cpu is None else cpu
    os.sched_setaffinity(0, {chosen})
    return chosen


def unpin() -> None:
    """Allow every CPU again (before starting multi-worker dask clusters)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, range(os.cpu_count() or 1))


def warm_page_cache(paths: Iterable[Path]) -> int:
    """Read every file once so timings measure a warm page cache, not the disk."""
    total = 0
    for path in paths:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 24):
                total += len(chunk)
    return total


@dataclass
class Timing:
    """Repeated wall-clock timings of one benchmark case."""

    name: str
    events: int  # events processed per repetition (after scaling, for subsampled cases)
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)  # this process only (not dask workers)
    bytes_read: int = 0  # compressed bytes of the branches the search needs, per repetition
    scaled_from: int | None = None  # events actually processed, if extrapolated
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def events_per_s(self) -> float:
        return self.events / self.median

    @property
    def mb_per_s(self) -> float:
        return self.bytes_read / 1e6 / self.median

    @property
    def events_per_cpu_s(self) -> float:
        """Events per CPU second of this process: robust when other jobs share the cores."""
        return self.events / statistics.median(self.cpu_seconds) if self.cpu_seconds else float("nan")

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(
            median_s=self.median,
            events_per_s=self.events_per_s,
            mb_per_s=self.mb_per_s,
            events_per_cpu_s=self.events_per_cpu_s,
        )
        return d


def time_case(
    name: str,
    fn: Callable[[], Any],
    *,
    events: int,
    repeat: int,
    warmup: int = 1,
    bytes_read: int = 0,
    scale: float = 1.0,
) -> tuple[Timing, Any]:
    """Run ``fn`` ``warmup`` + ``repeat`` times; keep the timings of the last ``repeat``.

    ``scale`` extrapolates a subsample: the timing is multiplied by it and
    ``events`` is the full event count the scaled time stands for.
    """
    result = None
    for _ in range(warmup):
        result = fn()
    t = Timing(name, events, bytes_read=bytes_read, scaled_from=round(events / scale) if scale != 1.0 else None)
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        t.seconds.append((time.perf_counter() - start) * scale)
        t.cpu_seconds.append((time.process_time() - cpu) * scale)
    return t, result


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info


def write_json(path: Path, payload: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path

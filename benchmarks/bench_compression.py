"""Choose the ROOT compression of the sample files by measurement.

Writes the same realistic sample (mu mu(gamma) + tau tau(gamma) mix with the
detector response, MC columns included) with each candidate compression, then
times (best of ``--repeat``) reading exactly the branches the Z'->invisible
search reads, and reading everything. Prints a table and writes JSON; the
numbers and the decision are recorded in samples/FORMAT.md.

    python -m benchmarks.bench_compression [--n 200000] [--out data/bench/compression]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import uproot

from samples.generator import io, pipeline, registry
from samples.pseudodata import take_events

CANDIDATES: list[tuple[str, int] | None] = [
    None,
    ("ZLIB", 1),
    ("ZLIB", 4),
    ("LZ4", 1),
    ("LZ4", 4),
    ("ZSTD", 1),
    ("ZSTD", 3),
    ("ZSTD", 6),
    ("LZMA", 1),
]

# What the Z'->invisible selection reads (tracks, photons, KLM veto, beam, trigger, weight).
SEARCH_BRANCHES = [
    "beam_E", "beam_px", "beam_py", "beam_pz", "weight", "trg_ffo", "trg_stt", "trg_cdcklm",
    "nTrack", "Track_px", "Track_py", "Track_pz", "Track_charge", "Track_d0", "Track_z0", "Track_muonID",
    "Track_electronID", "Track_EoverP", "nPhoton", "Photon_E", "Photon_theta", "Photon_phi", "Photon_time",
    "Photon_region", "nKLMCluster", "KLMCluster_theta", "KLMCluster_phi", "KLMCluster_layers",
]  # fmt: skip


def realistic_sample(n: int, seed: int = 1) -> tuple[dict[str, np.ndarray], str]:
    """mu mu(gamma) + tau tau(gamma) (1:1), no generator filter; falls back to a signal if needed."""
    procs = [p for p in ("mumu", "tautau") if registry.get(p).available()]
    label = "+".join(procs)
    if not procs:
        procs, label = ["dark_higgsstrahlung"], "dark_higgsstrahlung (backgrounds not available)"
    parts = []
    for i, p in enumerate(procs):
        params = {"mass": 2.0, "mass2": 1.0} if p == "dark_higgsstrahlung" else {}
        parts.append(pipeline.generate(p, n // len(procs), seed + i, params, filter_name=None).columns)
    cols = pipeline.concat_columns(parts)
    # Interleave the processes as in a real mixed file (shuffled event order).
    order = np.random.default_rng(seed).permutation(cols["event"].size)
    return take_events(cols, order), label


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    quick = os.environ.get("B2DARK_BENCH_QUICK") == "1"
    ap.add_argument("--n", type=int, default=20_000 if quick else 200_000)
    ap.add_argument("--repeat", type=int, default=1 if quick else 3)
    ap.add_argument("--out", type=Path, default=Path("data/bench/compression"), help="scratch directory")
    ap.add_argument(
        "--result",
        type=Path,
        default=Path(os.environ.get("B2DARK_BENCH_RESULT", "data/bench/results/bench_compression.json")),
    )
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    cols, label = realistic_sample(args.n)
    n = cols["event"].size
    print(f"sample: {label}, {n} events, {sum(v.nbytes for v in cols.values()) / 1e6:.1f} MB in memory")
    rows = []
    for comp in CANDIDATES:
        name = "none" if comp is None else f"{comp[0]}:{comp[1]}"
        path = args.out / f"bench_{name.replace(':', '_')}.root"
        t_write = best_of(lambda c=comp, p=path: io.write_root(p, cols, compression=c), 1)
        size = os.path.getsize(path)

        def read(branches, p=path):
            with uproot.open(p) as f:
                f["events"].arrays(branches, library="ak")

        t_search = best_of(lambda: read(SEARCH_BRANCHES), args.repeat)
        t_all = best_of(lambda: read(None), args.repeat)
        rows.append(
            {
                "compression": name,
                "size_MB": size / 1e6,
                "write_s": t_write,
                "read_search_s": t_search,
                "read_all_s": t_all,
                "read_search_kevt_s": n / t_search / 1e3,
            }
        )
        r = rows[-1]
        print(
            f"{name:8s} size {r['size_MB']:7.1f} MB  write {r['write_s']:6.2f} s  "
            f"read(search) {r['read_search_s']:5.2f} s ({r['read_search_kevt_s']:7.0f} kevt/s)  "
            f"read(all) {r['read_all_s']:5.2f} s"
        )
        path.unlink()
    args.result.parent.mkdir(parents=True, exist_ok=True)
    args.result.write_text(json.dumps({"sample": label, "n_events": n, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

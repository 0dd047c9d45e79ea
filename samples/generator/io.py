"""Write/read event-format columns as ROOT (uproot TTree ``events``) and Parquet.

In memory a sample is a flat column dict (samples/generator/pipeline.py): event
columns, counters ``nX`` and flat contents ``X_field``. ROOT gets NanoAOD-style
branches (``nX`` + ``X_field[nX]``, written by uproot from one awkward record
per collection); Parquet gets the same column names, collection fields as list
columns next to their ``nX`` counter. Data files drop every MC-only column.

ROOT compression: chosen by measurement, see samples/FORMAT.md
(benchmarks/bench_compression.py); the default is :data:`ROOT_COMPRESSION`.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import uproot

from samples import eventformat as EF

# Chosen by benchmarks/bench_compression.py (numbers in samples/FORMAT.md).
ROOT_COMPRESSION = ("LZ4", 1)
BASKET_EVENTS = 100_000  # entries per uproot basket / Parquet row group
_MC_ONLY = {f"{coll}_{c.name}" for coll, cols in EF.COLLECTIONS.items() for c in cols if c.mc_only} | {
    c.name for c in EF.MC_EVENT_COLUMNS
}
_MC_ONLY_COLLECTIONS = {coll for coll, cols in EF.COLLECTIONS.items() if all(c.mc_only for c in cols)}


def compression_of(spec: tuple[str, int] | str | None) -> uproot.compression.Compression | None:
    if spec is None:
        return None
    if isinstance(spec, str):
        algo, _, level = spec.partition(":")
        spec = (algo, int(level or 1))
    algo, level = spec
    classes = {"ZLIB": uproot.ZLIB, "LZ4": uproot.LZ4, "ZSTD": uproot.ZSTD, "LZMA": uproot.LZMA}
    try:
        return classes[algo.upper()](level)
    except KeyError:
        raise ValueError(f"unknown ROOT compression {algo!r}; use one of {', '.join(classes)}") from None


def strip_mc(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Data files carry no MC-only column (truth indices, MCParticle, mc_*)."""
    drop = _MC_ONLY | {f"n{c}" for c in _MC_ONLY_COLLECTIONS}
    return {k: v for k, v in cols.items() if k not in drop}


_EVENT_NAMES = [c.name for c in EF.EVENT_COLUMNS + EF.MC_EVENT_COLUMNS]


def split_columns(
    cols: dict[str, np.ndarray],
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]]]:
    """-> (event columns, {collection: {field: flat array}}), in event-format order."""
    event = {k: cols[k] for k in _EVENT_NAMES if k in cols}
    colls = {
        coll: {c.name: cols[f"{coll}_{c.name}"] for c in fields if f"{coll}_{c.name}" in cols}
        for coll, fields in EF.COLLECTIONS.items()
        if f"n{coll}" in cols
    }
    known = set(event) | {f"n{c}" for c in colls} | {f"{c}_{f}" for c, fs in colls.items() for f in fs}
    unknown = sorted(set(cols) - known)
    if unknown:
        raise KeyError(f"columns {unknown} are not in samples/eventformat.py; add them there first")
    return event, colls


def _slice(cols: dict[str, np.ndarray], start: int, stop: int) -> dict[str, np.ndarray]:
    """Events [start, stop) of a flat column dict."""
    out = {}
    offsets = {}
    for coll in EF.COLLECTIONS:
        if f"n{coll}" in cols:
            c = cols[f"n{coll}"]
            off = np.zeros(c.size + 1, dtype=np.int64)
            np.cumsum(c, out=off[1:])
            offsets[coll] = (off[start], off[stop])
    for k, v in cols.items():
        coll = k.split("_", 1)[0]
        if coll in offsets and k != f"n{coll}":
            a, b = offsets[coll]
            out[k] = v[a:b]
        else:
            out[k] = v[start:stop]
    return out


def _to_awkward(cols: dict[str, np.ndarray]) -> dict[str, object]:
    event, colls = split_columns(cols)
    out: dict[str, object] = dict(event)
    for coll, fields in colls.items():
        counts = cols[f"n{coll}"]
        if not fields:
            continue
        out[coll] = ak.zip({f: ak.unflatten(v, counts) for f, v in fields.items()})
    return out


def write_root(
    path: str | Path,
    cols: dict[str, np.ndarray],
    mc: bool = True,
    compression: tuple[str, int] | str | None = ROOT_COMPRESSION,
    basket_events: int = BASKET_EVENTS,
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = cols if mc else strip_mc(cols)
    n = int(cols["event"].shape[0])
    with uproot.recreate(path, compression=compression_of(compression)) as f:
        tree = None
        for start in range(0, max(n, 1), basket_events):
            chunk = _to_awkward(_slice(cols, start, min(start + basket_events, n)))
            if tree is None:
                # mktree, not f[name] = ...: uproot >= 5.7 writes an RNTuple on assignment.
                tree = f.mktree(EF.TREE_NAME, chunk)
            else:
                tree.extend(chunk)
    return path


def write_parquet(
    path: str | Path, cols: dict[str, np.ndarray], mc: bool = True, row_group: int = BASKET_EVENTS
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = cols if mc else strip_mc(cols)
    event, colls = split_columns(cols)
    arrays: dict[str, pa.Array] = {k: pa.array(v) for k, v in event.items()}
    for coll, fields in colls.items():
        counts = cols[f"n{coll}"]
        off = np.zeros(counts.size + 1, dtype=np.int32)
        np.cumsum(counts, out=off[1:])
        arrays[f"n{coll}"] = pa.array(counts)
        for f, v in fields.items():
            arrays[f"{coll}_{f}"] = pa.ListArray.from_arrays(pa.array(off), pa.array(v))
    pq.write_table(pa.table(arrays), path, compression="zstd", row_group_size=row_group)
    return path


def _flatten_record(name: str, arr: ak.Array, out: dict[str, np.ndarray]) -> None:
    out[f"n{name}"] = ak.to_numpy(ak.num(arr, axis=1)).astype(np.int32)
    for f in arr.fields:
        out[f"{name}_{f}"] = ak.to_numpy(ak.flatten(arr[f], axis=1))


def read_root(path: str | Path, branches: list[str] | None = None) -> dict[str, np.ndarray]:
    """Read back into the flat column layout (for tests and tools; processors use coffea)."""
    with uproot.open(path) as f:
        tree = f[EF.TREE_NAME]
        arrays = tree.arrays(branches, library="ak")
    out: dict[str, np.ndarray] = {}
    for k in arrays.fields:
        a = arrays[k]
        if a.ndim == 1:
            out[k] = ak.to_numpy(a)
        else:
            out[k] = ak.to_numpy(ak.flatten(a, axis=1))
    return out


def read_parquet(path: str | Path, columns: list[str] | None = None) -> dict[str, np.ndarray]:
    table = pq.read_table(path, columns=columns)
    out: dict[str, np.ndarray] = {}
    for name in table.column_names:
        col = table.column(name).combine_chunks()
        if pa.types.is_list(col.type):
            out[name] = col.flatten().to_numpy(zero_copy_only=False)
        else:
            out[name] = col.to_numpy(zero_copy_only=False)
    return out


def write(path: str | Path, cols: dict[str, np.ndarray], mc: bool = True, **kw) -> Path:
    """Write by suffix: .root or .parquet."""
    suffix = Path(path).suffix
    if suffix == ".root":
        return write_root(path, cols, mc=mc, **kw)
    if suffix in (".parquet", ".pq"):
        return write_parquet(path, cols, mc=mc, **kw)
    raise ValueError(f"{path}: unknown output format {suffix!r}; use .root or .parquet")

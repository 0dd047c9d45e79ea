"""Copies of event-format ROOT files with a few values changed, as a user's dirty inputs would have them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot

from samples.eventformat import COLLECTIONS


def read_columns(path: Path) -> dict[str, Any]:
    """Every branch of ``events``: event-level columns as numpy, collections as awkward records."""
    tree = uproot.open(path)["events"]
    data: dict[str, Any] = {}
    for name in tree.keys():
        if "_" in name and name.split("_", 1)[0] in COLLECTIONS:
            continue
        if name[1:] in COLLECTIONS:
            continue
        data[name] = tree[name].array(library="np")
    for coll in COLLECTIONS:
        fields = {k.split("_", 1)[1]: tree[k].array() for k in tree.keys() if k.startswith(f"{coll}_")}
        if fields:
            data[coll] = ak.zip(fields)
    return data


def write_columns(path: Path, data: dict[str, Any], counters: dict[str, np.ndarray] | None = None) -> Path:
    """Write ``data`` as the ``events`` tree. ``counters`` {collection: counts} replaces a counter ``nX`` by
    values of your choice (the jagged branches keep their own lengths under a hidden counter ``_nX``)."""
    counters = counters or {}
    branch_types = {k: (v.type if isinstance(v, ak.Array) else v.dtype) for k, v in data.items()}
    extra = {f"n{c}": np.asarray(v, dtype=np.int32) for c, v in counters.items()}
    branch_types.update({k: v.dtype for k, v in extra.items()})
    with uproot.recreate(path) as f:
        f.mktree(
            "events",
            branch_types,
            counter_name=lambda coll: f"_n{coll}" if coll in counters else f"n{coll}",
        )
        f["events"].extend({**data, **extra})
    return path


def edit(path: Path, change: Callable[[dict[str, Any]], dict[str, np.ndarray] | None]) -> Path:
    """Rewrite ``path`` after ``change(data)`` (which edits ``data`` in place and may return counters)."""
    data = read_columns(path)
    counters = change(data)
    return write_columns(path, data, counters)


def set_jagged(data: dict[str, Any], coll: str, field: str, event: int, value: float) -> None:
    """The first object of ``event`` in collection ``coll`` gets ``value`` in ``field``."""
    arr = data[coll][field]
    flat = ak.to_numpy(ak.flatten(arr)).copy()
    offsets = np.concatenate([[0], np.cumsum(ak.to_numpy(ak.num(arr)))])
    if offsets[event + 1] == offsets[event]:
        raise ValueError(f"event {event} has no {coll}")
    flat[offsets[event]] = value
    data[coll] = ak.with_field(data[coll], ak.unflatten(flat, ak.num(arr)), field)


def first_with(data: dict[str, Any], coll: str, start: int = 0) -> int:
    """The first event at or after ``start`` with at least one object in ``coll``."""
    counts = ak.to_numpy(ak.num(data[coll]))
    return int(np.flatnonzero(counts[start:] > 0)[0]) + start

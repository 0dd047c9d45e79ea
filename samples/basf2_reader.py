"""Read basf2 ntuples (both flavours) into the b2dark event format: the adapter in front of every search.

:func:`read_basf2` maps a basf2 file to the flat native column layout (``samples.generator.io``) by the one
table of :mod:`samples.basf2_names`; :func:`native_fileset` does that for the basf2 samples of a run's
fileset, writing each file once as a native ROOT file into a cache folder, so the unchanged processors,
schema, input checks, chunking and checkpoints run on it (a chunk is a range of whole events, so no chunk
splits one event's candidates).

Event grouping (candidate-based files): every candidate row is matched to its event of the event-wise tree
by (``__production__``, ``__experiment__``, ``__run__``, ``__event__``). Rows that are not in event order or
not grouped by event (merged or re-sorted files) are put back in order (stable, by event then
``__candidate__``); a row of an event the event tree lacks, an event key twice in the event tree, candidates
missing from an event (``__ncandidates__`` larger than its rows: a sampled or filtered file) or a candidate
twice are refused with the file, the tree and what to do.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot

from samples import eventformat as EF
from samples.basf2_names import (
    EVENT_TREE,
    EVENT_VARIABLES,
    FORMATS,
    ID_COUNTERS,
    LISTS,
    Flavour,
    ParticleList,
    Var,
    source_of,
)

_DTYPES: dict[str, str] = {c.name: c.dtype for c in EF.EVENT_COLUMNS + EF.MC_EVENT_COLUMNS} | {
    f"{coll}_{c.name}": c.dtype for coll, cols in EF.COLLECTIONS.items() for c in cols
}
_KEYS = ("__production__", "__experiment__", "__run__", "__event__")


class Basf2InputError(ValueError):
    """A basf2 ntuple cannot give what a search needs (names the file, tree and basf2 variable)."""


def _trees(f: Any) -> dict[str, Any]:
    """The file's TTrees by name (the highest cycle: ROOT keeps older ones after an autosave)."""
    return {k: f[k] for k, cls in f.classnames(recursive=False, cycle=False).items() if cls == "TTree"}


def _tree_of(trees: Mapping[str, Any], pl: ParticleList) -> Any | None:
    return trees.get(pl.tree) or trees.get(pl.name)


def detect(path: str | Path) -> Flavour | None:
    """ "ntuple" (VariablesToNtuple), "eventtree" (VariablesToEventBasedTree) or None (not a basf2 ntuple)."""
    with uproot.open(path) as f:
        trees = _trees(f)
        return _flavour(trees)


def _flavour(trees: Mapping[str, Any]) -> Flavour | None:
    keys = {name: set(t.keys()) for name, t in trees.items()}
    if any({"__candidate__", "__ncandidates__", "__experiment__"} <= k for k in keys.values()) or (
        "__experiment__" in keys.get(EVENT_TREE, set()) and "__ncandidates__" not in keys[EVENT_TREE]
    ):
        return "ntuple"
    if any({"__ncandidates__", "__experiment__"} <= k and "__candidate__" not in k for k in keys.values()):
        return "eventtree"
    return None


def _missing(path: Path, tree: str, var: Var | str, column: str, pl: ParticleList | None, search: str) -> str:
    name = var.variable if isinstance(var, Var) else var
    branch = var.branch if isinstance(var, Var) else var
    where = (
        f"variablesToNtuple('{pl.name}', [..., '{name}'], treename='{pl.tree}')"
        if pl is not None
        else f"variablesToNtuple('', [..., '{name}'], treename='{EVENT_TREE}') (or the event_variables of "
        "variablesToEventBasedTree)"
    )
    return (
        f"{path}: tree {tree!r} has no branch {branch!r} (basf2 variable {name!r}), which {search} needs for "
        f"{column}; add {name!r} to the steering file: {where}"
    )


def _needed(columns: Iterable[str], path: Path, search: str) -> tuple[list[Var], dict[str, list[Var]]]:
    """Event variables and, per collection, list variables (counters: an empty list) the columns need."""
    event: list[Var] = []
    lists: dict[str, list[Var]] = {}
    for col in sorted(set(columns)):
        src = source_of(col)
        if src is None:
            raise Basf2InputError(
                f"{path}: {search} needs {col}, which has no basf2 equivalent in samples/basf2_names.py "
                "(MC truth is not read from basf2 ntuples); add it to that table"
            )
        pl, var = src
        if pl is not None:
            lists.setdefault(pl.collection, [])
            if isinstance(var, Var):
                lists[pl.collection].append(var)
        elif isinstance(var, Var):
            event.append(var)
    return event, lists


def _to_native(var: Var, values: np.ndarray, column: str) -> np.ndarray:
    values = np.asarray(values)
    if var.none_is_nan:
        values = np.where(np.isnan(values), 0, values)
    dtype = _DTYPES[column]
    return values != 0 if dtype == "bool" else values.astype(dtype)


def _event_keys(arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    n = len(arrays["__event__"])
    out = np.zeros(n, dtype=[(k, "<i8") for k in _KEYS])
    for k in _KEYS:
        out[k] = arrays[k] if k in arrays else 0  # __production__ is newer than the other counters
    return out


def _group_rows(path: Path, tree: str, events: np.ndarray, rows: Mapping[str, np.ndarray]) -> tuple:
    """(order of the rows, counts per event) for the candidate rows of ``tree`` against the event keys."""
    n = events.size
    uniq, inverse = np.unique(np.concatenate([events, _event_keys(rows)]), return_inverse=True)
    inverse = inverse.reshape(-1)
    ev_id, row_id = inverse[:n], inverse[n:]
    if np.unique(ev_id).size != n:
        raise Basf2InputError(f"{path}: tree {EVENT_TREE!r} holds an event (production, exp, run, event) twice; "
                              "write each event once (do not hadd a file with itself)")  # fmt: skip
    position = np.full(uniq.size, -1, np.int64)
    position[ev_id] = np.arange(n)
    pos = position[row_id]
    if (pos < 0).any():
        i = int(np.argmax(pos < 0))
        raise Basf2InputError(
            f"{path}: tree {tree!r} has candidates of event {tuple(int(x) for x in _event_keys(rows)[i])} "
            f"(production, exp, run, event) that tree {EVENT_TREE!r} lacks; write the event-wise tree in the same "
            "basf2 path as the candidate trees"
        )
    cand = np.asarray(rows["__candidate__"], np.int64)
    in_order = pos.size < 2 or bool(np.all((np.diff(pos) > 0) | ((np.diff(pos) == 0) & (np.diff(cand) > 0))))
    order = np.arange(pos.size) if in_order else np.lexsort((cand, pos))
    counts = np.bincount(pos, minlength=n)
    starts = np.cumsum(counts) - counts
    local = np.arange(pos.size) - starts[pos[order]]
    if not np.array_equal(cand[order], local):
        raise Basf2InputError(f"{path}: tree {tree!r} has a candidate twice (or one missing) within an event; "
                              "one basf2 job writes each candidate once")  # fmt: skip
    ncand = np.asarray(rows["__ncandidates__"], np.int64)[order]
    if not np.array_equal(ncand, counts[pos[order]]):
        raise Basf2InputError(
            f"{path}: tree {tree!r} has fewer rows than __ncandidates__ for some events (candidates sampled or "
            "filtered out); write every candidate of the list (no 'sampling')"
        )
    return order, counts


def read_basf2(path: str | Path, columns: Iterable[str], search: str = "the search") -> dict[str, np.ndarray]:
    """The native flat columns of a basf2 ntuple of either flavour: ``columns`` (an error names the basf2
    variable of any the file lacks) and every other column of the table the file has."""
    path = Path(path)
    columns = set(columns)
    event_vars, list_vars = _needed(columns, path, search)
    with uproot.open(path) as f:
        trees = _trees(f)
        flavour = _flavour(trees)
        if flavour is None:
            raise Basf2InputError(f"{path}: not a basf2 ntuple (no tree with __experiment__ / __ncandidates__; "
                                  f"trees: {sorted(trees)}); check the sample's 'format' in the catalog")  # fmt: skip
        lists: dict[str, tuple[ParticleList, Any]] = {}
        for pl in LISTS:
            if pl.collection in list_vars:
                t = _tree_of(trees, pl)
                if t is None:
                    raise Basf2InputError(
                        f"{path}: no tree {pl.tree!r} (particle list {pl.name}), which {search} needs for "
                        f"{pl.collection}; add variablesToNtuple('{pl.name}', [...], treename='{pl.tree}') (or "
                        f"variablesToEventBasedTree) to the steering file, the list made by {pl.fill}"
                    )
                lists[pl.collection] = (pl, t)
            elif _tree_of(trees, pl) is not None:
                lists[pl.collection] = (pl, _tree_of(trees, pl))
                list_vars[pl.collection] = []
        # Every mapped variable the file has, not only the ones the search declares: a collection's record
        # (and its vector behaviour) is built from all its fields, as on native files.
        for coll, (pl, t) in lists.items():
            list_vars[coll] += [v for v in pl.variables if v.branch in t and v not in list_vars[coll]]
        if flavour == "ntuple":
            if EVENT_TREE not in trees:
                raise Basf2InputError(
                    f"{path}: a candidate-based ntuple needs the event-wise tree {EVENT_TREE!r} (events with no "
                    f"candidate have no row elsewhere); add variablesToNtuple('', [event variables], "
                    f"treename='{EVENT_TREE}') to the steering file"
                )
            event_tree = trees[EVENT_TREE]
        else:
            candidates = [t for _, t in lists.values()] or [t for t in trees.values() if "__ncandidates__" in t]
            event_tree = next((t for t in candidates if all(v.branch in t for v in event_vars)), candidates[0])
        event_vars += [v for v in EVENT_VARIABLES if v.branch in event_tree and v not in event_vars]
        out: dict[str, np.ndarray] = {}
        ev = event_tree.arrays([k for k in (*_KEYS, "__weight__") if k in event_tree], library="np")
        keys = _event_keys(ev)
        for col, counter in ID_COUNTERS.items():
            out[col] = ev[counter].astype(_DTYPES[col])
        for v in event_vars:
            if v.branch not in event_tree:
                if v.field == "weight":  # generator weight not stored: the sampling weight alone
                    continue
                raise Basf2InputError(_missing(path, event_tree.name, v, v.field, None, search))
            out[v.field] = _to_native(v, event_tree[v.branch].array(library="np"), v.field)
        if "weight" in columns or "weight" in out:
            w = ev["__weight__"].astype(np.float64)
            out["weight"] = (w * out["weight"] if "weight" in out else w).astype(_DTYPES["weight"])
        for coll, (pl, t) in lists.items():
            for v in list_vars[coll]:
                if v.branch not in t:
                    raise Basf2InputError(_missing(path, t.name, v, f"{coll}_{v.field}", pl, search))
            branches = [v.branch for v in list_vars[coll]]
            if flavour == "ntuple":
                rows = t.arrays([k for k in (*_KEYS, "__candidate__", "__ncandidates__") if k in t], library="np")
                order, counts = _group_rows(path, t.name, keys, rows)
                flat = {b: t[b].array(library="np")[order] for b in branches}
            else:
                ids = _event_keys(t.arrays([k for k in _KEYS if k in t], library="np"))
                if not np.array_equal(ids, keys):
                    raise Basf2InputError(f"{path}: trees {event_tree.name!r} and {t.name!r} do not hold the same "
                                          "events in the same order; write them in one basf2 path")  # fmt: skip
                counts = t["__ncandidates__"].array(library="np").astype(np.int64)
                flat = {b: ak.to_numpy(ak.flatten(t[b].array(library="ak"))) for b in branches}
            out[f"n{coll}"] = counts.astype(np.int32)
            for v in list_vars[coll]:
                out[f"{coll}_{v.field}"] = _to_native(v, flat[v.branch], f"{coll}_{v.field}")
    return out


# --------------------------------------------------------------------------- the run's fileset


def _cache_name(path: Path, columns: set[str]) -> str:
    st = path.stat()
    code = Path(__file__).with_name("basf2_names.py").read_bytes() + Path(__file__).read_bytes()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{sorted(columns)}".encode()
    return f"{path.stem}-{hashlib.sha256(key + code).hexdigest()[:16]}.root"


def native_fileset(
    fileset: Mapping[str, Mapping[str, Any]], required: Mapping[str, set[str]], cache: Path, search: str
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The fileset with every basf2 sample's files replaced by native copies in ``cache`` (made once per file
    content and column set) -> (fileset, {native copy: basf2 file}). A file that does not exist or cannot be
    opened stays as it is, for the input checks to report (and ``--skip-bad-files`` to skip)."""
    from samples.generator import io

    basf2_formats = set(FORMATS.values())
    out: dict[str, dict[str, Any]] = {}
    sources: dict[str, str] = {}
    for sample, entry in fileset.items():
        entry = dict(entry)
        if str(entry.get("format")) not in basf2_formats:
            out[sample] = entry
            continue
        meta = dict(entry.get("metadata") or {})
        file_events = dict(meta.get("file_events") or {})
        files: dict[str, str] = {}
        for p in entry["files"]:
            src = Path(p)
            try:
                uproot.open(src).close()
            except Exception:
                files[p] = "events"
                continue
            cols = set(required.get(sample, set()))
            dst = cache / _cache_name(src, cols)
            if not dst.exists():
                native = read_basf2(src, cols, search)
                tmp = dst.with_suffix(f".tmp{os.getpid()}")
                io.write_root(tmp, native)
                os.replace(tmp, dst)
            files[str(dst)] = "events"
            sources[str(dst)] = str(src)
            if p in file_events:
                file_events[str(dst)] = file_events.pop(p)
        meta["file_events"] = file_events
        entry.update(files=files, format="root", metadata=meta)
        out[sample] = entry
    return out, sources


def describe(path: str | Path) -> str | None:
    """What ``b2dark inspect`` prints for a basf2 ntuple (None if ``path`` is not one): the flavour, each
    tree's particle list, rows and the b2dark columns it gives, and the table's variables it lacks."""
    by_tree = {pl.tree: pl for pl in LISTS} | {pl.name: pl for pl in LISTS}
    with uproot.open(path) as f:
        trees = _trees(f)
        flavour = _flavour(trees)
        if flavour is None:
            return None
        module = "VariablesToNtuple" if flavour == "ntuple" else "VariablesToEventBasedTree"
        lines = [f"{path}: basf2 ntuple ({module} layout); catalog format '{FORMATS[flavour]}'"]
        for name, t in sorted(trees.items()):
            branches = set(t.keys())
            pl = by_tree.get(name)
            what = f"particle list {pl.name} -> {pl.collection}" if pl else "event-wise" if name == EVENT_TREE else ""
            lines.append(f"tree {name!r}: {t.num_entries} rows{', ' + what if what else ''}")
            mapped = [v for v in EVENT_VARIABLES if v.branch in branches]
            if pl is not None:
                mapped += [v for v in pl.variables if v.branch in branches]
            for v in mapped:
                col = v.field if v in EVENT_VARIABLES else f"{pl.collection}_{v.field}"  # type: ignore[union-attr]
                lines.append(f"  {v.branch:<36s} {t[v.branch].typename:<10s} {v.variable} -> {col}")
            known = {v.branch for v in mapped} | {*_KEYS, "__candidate__", "__ncandidates__", "__weight__"}
            other = sorted(branches - known)
            if other:
                lines.append(f"  not mapped: {', '.join(other)}")
            if pl is not None:
                lacking = [v.variable for v in pl.variables if v.branch not in branches]
                if lacking:
                    lines.append(f"  lacks (searches reading them will ask for them): {', '.join(lacking)}")
        return "\n".join(lines)

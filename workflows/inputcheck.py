"""Check every input file before processing, so a bad file is named up front.

Cheap checks only (metadata, no event data is decompressed): the file exists and is
not empty; Parquet: its footer is readable, it has the needed columns and the catalog's row count;
ROOT: uproot can open it, it is not truncated (the ROOT end-of-file pointer and
every basket of the needed branches lie inside the file), it has the ``events`` tree,
the branches the search reads, and as many entries as the catalog says. The types of the branches the
search reads are those of the event format (``samples/eventformat.py``: a float column stored as integers,
or a boolean as floats, is refused) and, in ROOT, every jagged ``X_*`` branch is counted by ``nX``.

Then the catalog itself: a file listed twice (in one sample or in two) is refused, and so are events
listed twice -- the same (exp, run, event) in two files of one sample (:func:`duplicate_events`, which
reads the three event-identifier columns of every file).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FileProblem:
    sample: str
    path: str
    reason: str  # short tag: missing, empty, unreadable, truncated, no-tree, missing-branches, entries, dtype,
    # counter
    detail: str
    events_lost: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FileCheck:
    sample: str
    path: str
    entries: int | None  # None when the file could not be read
    problem: tuple[str, str] | None  # (reason, detail)


class BadInputError(RuntimeError):
    """Raised when inputs are bad and --skip-bad-files was not given."""

    def __init__(self, problems: list[FileProblem]):
        self.problems = problems
        lines = [f"{len(problems)} bad input file(s):"]
        for p in problems:
            lines.append(f"  {p.path} (sample {p.sample}): {p.reason}: {p.detail}")
        lines.append(
            "Fix or regenerate these files (`b2dark generate ...`), or rerun with --skip-bad-files "
            "to process the rest; skipped files and lost events are then recorded in provenance.json."
        )
        super().__init__("\n".join(lines))


class DuplicateInputError(ValueError):
    """The same file or the same events listed twice: the catalog would count them twice. Always refused."""


def _expected_dtypes() -> dict[str, str]:
    from samples.eventformat import COLLECTIONS, EVENT_COLUMNS

    out = {c.name: c.dtype for c in EVENT_COLUMNS}
    for coll, cols in COLLECTIONS.items():
        out[f"n{coll}"] = "int32"
        out.update({f"{coll}_{c.name}": c.dtype for c in cols})
    return out


EXPECTED_DTYPES = _expected_dtypes()


def _kind(dtype: Any) -> str:
    """f (floating), i (integer, signed or not) or b (bool): what a column must keep; the width may differ."""
    k = np.dtype(dtype).kind
    return "i" if k == "u" else k


def dtype_problems(actual: Mapping[str, Any]) -> list[str]:
    """``name: stored as X, the event format says Y`` for every branch whose kind differs from the format's."""
    bad = []
    for name, dt in sorted(actual.items()):
        want = EXPECTED_DTYPES.get(name)
        if want is not None and dt is not None and _kind(dt) != _kind(want):
            bad.append(f"{name} is {np.dtype(dt).name}, the event format says {want}")
    return bad


def _root_dtype(branch: Any) -> Any:
    interp = branch.interpretation
    interp = getattr(interp, "content", interp)  # AsJagged(AsDtype(...))
    return getattr(interp, "to_dtype", None)


def _counter_problems(tree: Any, required: frozenset[str]) -> list[str]:
    """Collections whose jagged ``X_*`` branches are not counted by the counter ``nX`` the reader uses."""
    bad: dict[str, str] = {}
    for name in sorted(required):
        coll, sep, _ = name.partition("_")
        if not sep or coll in bad or f"n{coll}" not in tree.keys() or not hasattr(tree[name].interpretation, "content"):
            continue
        count = tree[name].count_branch
        if count is None or count.name != f"n{coll}":
            got = "no counter" if count is None else f"{count.name!r}"
            bad[coll] = f"{coll}_* branches (e.g. {name}) are counted by {got}, not by n{coll}"
    return list(bad.values())


def _check_one(
    sample: str, path: str, treename: str, required: frozenset[str], expected: int | None, fmt: str = "root"
) -> FileCheck:
    import uproot

    def bad(reason: str, detail: str, entries: int | None = None) -> FileCheck:
        return FileCheck(sample, path, entries, (reason, detail))

    if "://" not in path:
        if not os.path.exists(path):
            return bad("missing", "file not found")
        size = os.path.getsize(path)
        if size == 0:
            return bad("empty", "file is empty (0 bytes)")
    else:
        size = None
    if fmt == "parquet":
        return _check_parquet(sample, path, required, expected)
    try:
        f = uproot.open(path)
    except Exception as e:  # uproot raises many types for garbage bytes
        return bad("unreadable", f"not a readable ROOT file ({type(e).__name__}: {e})")
    with f:
        if size is not None and f.file.fEND > size:
            return bad("truncated", f"file is {size} bytes but its ROOT header says {f.file.fEND}")
        try:
            tree = f[treename]
        except Exception:
            keys = sorted({k.split(";")[0] for k in f.keys()})
            return bad("no-tree", f"no TTree {treename!r} (keys: {keys})")
        if not hasattr(tree, "num_entries"):
            return bad("no-tree", f"{treename!r} is a {type(tree).__name__}, not a TTree")
        entries = int(tree.num_entries)
        missing = sorted(required - set(tree.keys()))
        if missing:
            return bad("missing-branches", f"branches needed by the search are absent: {missing}", entries)
        wrong = dtype_problems({name: _root_dtype(tree[name]) for name in required})
        if wrong:
            return bad("dtype", "; ".join(wrong) + "; rewrite the file with the event format's types", entries)
        counters = _counter_problems(tree, required)
        if counters:
            return bad("counter", "; ".join(counters) + ": the counter does not match the branch lengths, the "
                       "events cannot be read reliably; rewrite the file", entries)  # fmt: skip
        if size is not None:
            for name in required:
                br = tree[name]
                n = br.num_baskets
                if n == 0:
                    continue
                seeks = np.asarray(br.member("fBasketSeek")[:n], dtype=np.int64)
                nbytes = np.asarray(br.member("fBasketBytes")[:n], dtype=np.int64)
                if int((seeks + nbytes).max()) > size:
                    return bad("truncated", f"branch {name!r} has baskets beyond the end of the file", entries)
        if expected is not None and entries != expected:
            return bad("entries", f"tree has {entries} entries, the catalog says {expected}", entries)
    return FileCheck(sample, path, entries, None)


def _check_parquet(sample: str, path: str, required: frozenset[str], expected: int | None) -> FileCheck:
    """The Parquet footer (schema, row count) only: a truncated file has no readable footer."""
    import pyarrow.parquet as pq

    def bad(reason: str, detail: str, entries: int | None = None) -> FileCheck:
        return FileCheck(sample, path, entries, (reason, detail))

    try:
        meta = pq.ParquetFile(path).metadata
    except Exception as e:  # pyarrow raises ArrowInvalid / OSError for garbage or cut-off bytes
        return bad("unreadable", f"not a readable Parquet file ({type(e).__name__}: {e})")
    entries = int(meta.num_rows)
    schema = meta.schema.to_arrow_schema()
    missing = sorted(required - set(schema.names))
    if missing:
        return bad("missing-branches", f"columns needed by the search are absent: {missing}", entries)
    wrong = dtype_problems({n: _arrow_dtype(schema.field(n).type) for n in required})
    if wrong:
        return bad("dtype", "; ".join(wrong) + "; rewrite the file with the event format's types", entries)
    if expected is not None and entries != expected:
        return bad("entries", f"file has {entries} rows, the catalog says {expected}", entries)
    return FileCheck(sample, path, entries, None)


def _arrow_dtype(t: Any) -> Any:
    import pyarrow as pa

    while pa.types.is_list(t) or pa.types.is_large_list(t):
        t = t.value_type
    try:
        return np.dtype(t.to_pandas_dtype())
    except (NotImplementedError, TypeError):
        return np.dtype(object)  # strings and the like: never a format type


def check_fileset(
    fileset: Mapping[str, Mapping[str, Any]],
    required_branches: Mapping[str, Iterable[str]] | Iterable[str],
    treename: str = "events",
    threads: int = 4,
) -> list[FileCheck]:
    """Check all files of a coffea fileset. ``required_branches`` is per sample or one set for all."""
    jobs = []
    for sample, entry in fileset.items():
        req = required_branches[sample] if isinstance(required_branches, Mapping) else required_branches
        req = frozenset(req)
        per_file = (entry.get("metadata") or {}).get("file_events") or {}
        fmt = str(entry.get("format") or "root")
        for path in _files(entry):
            jobs.append((sample, path, treename, req, per_file.get(path), fmt))
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        return list(pool.map(lambda a: _check_one(*a), jobs))


def _files(entry: Mapping[str, Any]) -> list[str]:
    files = entry["files"]
    return list(files.keys()) if isinstance(files, Mapping) else list(files)


def account(
    fileset: Mapping[str, Mapping[str, Any]], checks: list[FileCheck]
) -> tuple[dict[str, int], list[FileProblem]]:
    """Events the catalog promises per sample, and the problems with the events each one loses.

    A file's lost events are the catalog's per-file count when known, else the entries
    read from the file, else (unreadable file, no per-file count) the sample's catalog
    total minus what the other files hold, shared among the unreadable files.
    """
    expected: dict[str, int] = {}
    problems: list[FileProblem] = []
    by_sample: dict[str, list[FileCheck]] = {}
    for c in checks:
        by_sample.setdefault(c.sample, []).append(c)
    for sample, entry in fileset.items():
        meta = entry.get("metadata") or {}
        per_file = meta.get("file_events") or {}
        cs = by_sample.get(sample, [])
        known = {c.path: per_file.get(c.path, c.entries) for c in cs}
        total = meta.get("n_events")
        if total is None:
            total = sum(v for v in known.values() if v is not None)
        expected[sample] = int(total)
        unknown = [p for p, v in known.items() if v is None]
        if unknown:
            rest = int(total) - sum(v for v in known.values() if v is not None)
            share, extra = divmod(max(rest, 0), len(unknown))
            for i, p in enumerate(unknown):
                known[p] = share + (1 if i < extra else 0)
        for c in cs:
            if c.problem is not None:
                problems.append(FileProblem(sample, c.path, c.problem[0], c.problem[1], int(known[c.path] or 0)))
    return expected, problems


def drop_bad_files(fileset: Mapping[str, Mapping[str, Any]], problems: list[FileProblem]) -> dict[str, dict[str, Any]]:
    """The fileset without the bad files (samples left with no file are dropped)."""
    bad = {p.path for p in problems}
    out: dict[str, dict[str, Any]] = {}
    for sample, entry in fileset.items():
        files = entry["files"]
        if isinstance(files, Mapping):
            kept: Any = {p: t for p, t in files.items() if p not in bad}
        else:
            kept = [p for p in files if p not in bad]
        if kept:
            out[sample] = {**entry, "files": kept}
    return out


def duplicate_files(fileset: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse a file listed twice, in one sample or in two (its events would be counted twice)."""
    seen: dict[str, list[tuple[str, str]]] = {}
    for sample, entry in fileset.items():
        for path in _files(entry):
            key = path if "://" in path else os.path.realpath(path)
            seen.setdefault(key, []).append((sample, path))
    twice = {k: v for k, v in seen.items() if len(v) > 1}
    if twice:
        lines = [f"{len(twice)} input file(s) listed more than once (their events would be counted twice):"]
        for key, where in sorted(twice.items()):
            lines.append(f"  {key}: " + ", ".join(f"sample {s} as {p}" for s, p in where))
        lines.append("Remove the repeated entries from the catalog (or fileset JSON) and rerun.")
        raise DuplicateInputError("\n".join(lines))


ID_COLUMNS = ("exp", "run", "event")


def _ids(path: str, fmt: str, treename: str) -> np.ndarray:
    """(exp, run, event) of every entry, packed as one structured array."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        t = pq.read_table(path, columns=list(ID_COLUMNS))
        cols = {c: t.column(c).to_numpy() for c in ID_COLUMNS}
    else:
        import uproot

        with uproot.open(path) as f:
            cols = f[treename].arrays(list(ID_COLUMNS), library="np")
    out = np.empty(len(cols["event"]), dtype=[("exp", "i8"), ("run", "i8"), ("event", "i8")])
    for c in ID_COLUMNS:
        out[c] = cols[c]
    return out


def duplicate_events(
    fileset: Mapping[str, Mapping[str, Any]], checks: list[FileCheck], treename: str = "events", threads: int = 2
) -> None:
    """Refuse the same (exp, run, event) in two files of one sample (a copied or re-listed file under another
    name). Reads three integer columns of every good file of the samples with several files; the sort is
    vectorised (numpy)."""
    good = [c for c in checks if c.problem is None]
    n_files: dict[str, int] = {}
    for c in good:
        n_files[c.sample] = n_files.get(c.sample, 0) + 1
    good = [c for c in good if n_files[c.sample] > 1]  # a single file cannot repeat another file's events
    fmts = {s: str(e.get("format") or "root") for s, e in fileset.items()}
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        ids = list(pool.map(lambda c: _ids(c.path, fmts.get(c.sample, "root"), treename), good))
    lines: list[str] = []
    for sample in fileset:
        mine = [(c.path, a) for c, a in zip(good, ids, strict=True) if c.sample == sample]
        if len(mine) < 2:
            continue
        keys = np.concatenate([a for _, a in mine])
        owner = np.concatenate([np.full(len(a), i) for i, (_, a) in enumerate(mine)])
        order = np.argsort(keys, kind="stable", order=list(ID_COLUMNS))
        k, o = keys[order], owner[order]
        same = (k[1:] == k[:-1]) & (o[1:] != o[:-1])
        if same.any():
            first = np.flatnonzero(same)[0]
            a, b = mine[o[first]][0], mine[o[first + 1]][0]
            e = k[first + 1]
            lines.append(f"  sample {sample}: {int(same.sum())} event(s) in two files, e.g. (exp, run, event) = "
                         f"({e['exp']}, {e['run']}, {e['event']}) in {a} and {b}")  # fmt: skip
    if lines:
        raise DuplicateInputError(
            "events listed twice (same (exp, run, event) in two files of one sample):\n"
            + "\n".join(lines)
            + "\nA file was copied or listed under two names: remove the duplicate from the catalog and rerun."
        )

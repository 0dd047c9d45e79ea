"""Check every input file before processing, so a bad file is named up front.

Cheap checks only (metadata, no event data is decompressed): the file exists and is
not empty; Parquet: its footer is readable, it has the needed columns and the catalog's row count;
ROOT: uproot can open it, it is not truncated (the ROOT end-of-file pointer and
every basket of the needed branches lie inside the file), it has the ``events`` tree,
the branches the search reads, and as many entries as the catalog says.
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
    reason: str  # short tag: missing, empty, unreadable, truncated, no-tree, missing-branches, entries
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
    missing = sorted(required - set(meta.schema.to_arrow_schema().names))
    if missing:
        return bad("missing-branches", f"columns needed by the search are absent: {missing}", entries)
    if expected is not None and entries != expected:
        return bad("entries", f"file has {entries} rows, the catalog says {expected}", entries)
    return FileCheck(sample, path, entries, None)


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

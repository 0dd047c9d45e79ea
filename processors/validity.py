"""Bad values inside good files, found per chunk before any physics.

What counts as bad (every column the search reads, vectorised over the chunk):

- ``nan`` / ``inf``: a NaN or an infinity in a floating column (kinematics, PID likelihoods, beam,
  ECL and vertex quantities). ``mc_*`` truth parameters are not checked (not reconstructed values).
- a counter ``nX`` that asks for more values than the ``X_*`` branch holds (Parquet; in ROOT the input check
  already refuses jagged branches not counted by ``nX``): always refused, naming the file and entry range.
- MC ``weight`` that is NaN / infinite (``nan``, ``inf``), ``negative``, or ``absurd``: larger than
  :data:`MAX_EVENT_WEIGHT` (the fast simulation's importance-sampling weights stay below ~10).

A chunk with bad events either stops the run (:class:`BadEventsError`, naming the file, branch, entry
range and count; the default) or, when the processor's ``drop_bad_events`` is set, loses those events
before the analysis, and every (file, column, reason, count, entry range) is returned in the output
(``bad_events``) for provenance and the summary. A clean chunk is passed on untouched (bit-identical physics).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

MAX_EVENT_WEIGHT = 1e3  # generator weights above this are a broken file, not a rare event
_MARK = "b2dark-bad-events"  # survives coffea's wrapping of worker errors into a string


@dataclass(frozen=True, order=True)
class BadValues:
    """One column's bad values in one chunk (``first``/``last``: entries of the file)."""

    sample: str
    file: str
    column: str
    reason: str  # nan, inf, negative, absurd
    count: int  # events affected
    first: int
    last: int
    chunk: tuple[int, int]  # entry range of the chunk

    def line(self) -> str:
        return (f"{self.file} (sample {self.sample}): branch {self.column}: {self.count} event(s) with {self.reason} "
                f"values at entries {self.first}..{self.last} (chunk {self.chunk[0]}-{self.chunk[1]})")  # fmt: skip


class BadEventsError(ValueError):
    """Events with bad values, and the run was not told to drop them."""

    def __init__(self, records: Iterable[BadValues] | str):
        if isinstance(records, str):
            super().__init__(records)
            return
        recs = sorted(records)
        lines = [f"bad values in the inputs ({_MARK}):"]
        lines += [f"  {r.line()}" for r in recs[:20]]
        if len(recs) > 20:
            lines.append(f"  ... and {len(recs) - 20} more")
        lines.append("Fix or regenerate these files, or rerun with --drop-bad-events to drop those events (they are "
                     "then listed in provenance.json 'bad_events' and in the summary); "
                     "--resume keeps finished chunks.")  # fmt: skip
        super().__init__("\n".join(lines))


def counter_message(sample: str, file: str, name: str, chunk: tuple[int, int], err: BaseException) -> str:
    coll = name.partition("_")[0]
    return (f"bad values in the inputs ({_MARK}):\n  {file} (sample {sample}): branch {name}: the counter n{coll} "
            f"does not match the branch's lengths in entries {chunk[0]}..{chunk[1] - 1} ({err}).\nThe events of this "
            "file cannot be read reliably: rewrite it (or leave it out of the catalog).")  # fmt: skip


def _column(events: Any, name: str) -> Any:
    if name in events.fields:
        return events[name]
    coll, _, field = name.partition("_")
    return events[coll][field]


def _flags(values: Any) -> dict[str, np.ndarray]:
    """Per-event bool arrays for nan and inf (jagged columns: any object of the event)."""
    out = {}
    for reason, test in (("nan", np.isnan), ("inf", np.isinf)):
        hit = test(values)
        if isinstance(hit, ak.Array) and hit.ndim > 1:
            hit = ak.any(hit, axis=1)
        out[reason] = np.asarray(ak.fill_none(hit, False) if isinstance(hit, ak.Array) else hit, dtype=bool)
    return out


def scan(events: Any, columns: Iterable[str], is_mc: bool) -> tuple[np.ndarray, list[BadValues]]:
    """(per-event bool: the event has a bad value, the records). ``columns``: floating branches to check."""
    md = events.metadata
    sample = str(md.get("sample", md.get("dataset", "?")))
    file = str(md.get("filename", "?"))
    start = int(md.get("entrystart", 0) or 0)
    chunk = (start, int(md.get("entrystop", start + len(events)) or 0))
    bad = np.zeros(len(events), dtype=bool)
    records: list[BadValues] = []

    def record(column: str, reason: str, hit: np.ndarray) -> None:
        if hit.any():
            idx = np.flatnonzero(hit)
            records.append(BadValues(sample, file, column, reason, int(idx.size), start + int(idx[0]),
                                     start + int(idx[-1]), chunk))  # fmt: skip
            bad[:] |= hit

    for name in sorted(columns):
        try:
            flags = _flags(_column(events, name))
        except (TypeError, ValueError) as e:  # awkward: the counter's offsets ask for more values than the branch has
            if "size of array" not in str(e):
                raise
            raise BadEventsError(counter_message(sample, file, name, chunk, e)) from None
        for reason, hit in flags.items():
            record(name, reason, hit)
    if is_mc and "weight" in events.fields:
        w = np.asarray(ak.to_numpy(events.weight), dtype=np.float64)
        record("weight", "nan", np.isnan(w))
        record("weight", "inf", np.isinf(w))
        with np.errstate(invalid="ignore"):
            record("weight", "negative", w < 0)
            record("weight", "absurd", np.isfinite(w) & (w > MAX_EVENT_WEIGHT))
    return bad, records


def float_columns(branches: Iterable[str]) -> set[str]:
    """The floating branches of the event format among ``branches`` (weight and mc_* truth excluded)."""
    from samples.eventformat import COLLECTIONS, EVENT_COLUMNS

    kinds = {c.name: c.dtype for c in EVENT_COLUMNS}
    for coll, cols in COLLECTIONS.items():
        kinds.update({f"{coll}_{c.name}": c.dtype for c in cols})
    return {b for b in branches if b in kinds and np.dtype(kinds[b]).kind == "f" and b != "weight"
            and not b.startswith("mc_")}  # fmt: skip


def find_error(exc: BaseException) -> BadEventsError | None:
    """A :class:`BadEventsError` raised in a worker, through coffea's wrapping (chained or as text)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, BadEventsError):
            return cause
        cause = cause.__cause__ or cause.__context__
    text = str(exc)
    if _MARK not in text:
        return None
    body = text[text.index("bad values in the inputs") :] if "bad values in the inputs" in text else text
    return BadEventsError(body.rsplit("')", 1)[0].replace("\\n", "\n"))

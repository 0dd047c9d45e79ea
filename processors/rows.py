"""Row subsets: compute a search's kinematics only for the events a region can use.

Most events of a chunk fail a search's first cuts (track count, charge, particle ID). The searches
evaluate their kinematics for the surviving rows only (numpy arrays of those rows) and put the
results back per event of the chunk, with False / NaN elsewhere. Cutflows count consecutive cuts
and every histogram fill is inside its region, so no output changes, and the work shrinks by the
preselection's rejection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from processors import kinematics as K


class ToChunk:
    """Arrays computed for some events of a chunk (``rows``, sorted indices) -> per-event arrays of the chunk."""

    def __init__(self, rows: np.ndarray, n: int) -> None:
        self.rows, self.n = rows, n

    def _put(self, a: np.ndarray, fill: Any) -> np.ndarray:
        a = np.asarray(a)
        out = np.full(self.n, fill, dtype=np.result_type(a.dtype, np.asarray(fill).dtype))
        out[self.rows] = a
        return out

    def mask(self, a: np.ndarray, fill: bool = False) -> np.ndarray:
        """A per-row bool array as a per-event mask (``fill`` for the other events)."""
        return self._put(a, fill)

    def values(self, a: np.ndarray, fill: float = np.nan) -> np.ndarray:
        """Per-row values as per-event values (``fill``, NaN by default, for the other events)."""
        return self._put(a, fill)


def on_events(where: np.ndarray, fn: Callable[[Callable[[Any], Any]], Any]) -> np.ndarray:
    """``fn(take)`` for the events ``where`` is True, NaN elsewhere: ``take`` gives the subset of a
    per-event numpy array, :class:`kinematics.P4` or :class:`kinematics.CMSFrame`."""
    where = np.asarray(where)
    idx = np.flatnonzero(where)
    out = np.full(len(where), np.nan)
    out[idx] = fn(lambda a: a.take(idx) if isinstance(a, (K.P4, K.CMSFrame)) else a[idx])
    return out

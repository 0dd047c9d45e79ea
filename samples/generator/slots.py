"""Fixed-slot event builder: the fast way to assemble a :class:`TruthEvents`.

Most processes have a small, bounded particle list per event (mu mu + up to two
photons; tau tau with two decay blocks). Each candidate particle gets a *slot*:
a column of length n_events, with a ``valid`` mask for particles that exist in
only some events (a radiated photon, the second pi0 of a mode). ``build`` packs
the valid slots row-major -- which keeps slot order inside every event, so
adding mothers before daughters is enough -- and renumbers mother indices
within each event. No Python loop over events; one boolean gather per column.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from samples.generator.truth import TruthEvents


class Block(Protocol):
    """A group of slots attached to one parent (e.g. tau.TauDecays)."""

    p4: np.ndarray  # (n, S, 4) (px, py, pz, E)
    pdg: np.ndarray  # (n, S)
    mother: np.ndarray  # (n, S): slot inside the block, -1 = the parent
    final: np.ndarray  # (n, S) bool
    valid: np.ndarray  # (n, S) bool
    ctau: np.ndarray  # (n, S)


class SlotEvents:
    """Collect per-slot particle columns for ``n`` events, then ``build()``."""

    def __init__(self, n: int) -> None:
        self.n = int(n)
        self._p4: list[np.ndarray] = []
        self._pdg: list[np.ndarray] = []
        self._mother: list[np.ndarray] = []
        self._final: list[np.ndarray] = []
        self._valid: list[np.ndarray] = []
        self._ctau: list[np.ndarray] = []

    @property
    def n_slots(self) -> int:
        return len(self._pdg)

    def _col(self, value, dtype) -> np.ndarray:
        return np.broadcast_to(np.asarray(value, dtype=dtype), (self.n,))

    def add(
        self,
        pdg: int | np.ndarray,
        p4: np.ndarray,
        mother: int | np.ndarray = -1,
        final: bool | np.ndarray = True,
        ctau: float | np.ndarray = 0.0,
        valid: np.ndarray | None = None,
    ) -> int:
        """Add one slot; ``mother`` is an earlier slot index (or -1). Returns this slot's index."""
        if p4.shape != (self.n, 4):
            raise ValueError(f"SlotEvents.add: p4 must have shape ({self.n}, 4), got {p4.shape}")
        mother_col = self._col(mother, np.int32)
        if np.any(mother_col >= self.n_slots):
            raise ValueError("SlotEvents.add: a mother must be added before its daughters")
        self._p4.append(np.asarray(p4, dtype=np.float64))
        self._pdg.append(self._col(pdg, np.int32))
        self._mother.append(mother_col)
        self._final.append(self._col(final, bool))
        self._valid.append(self._col(True if valid is None else valid, bool))
        self._ctau.append(self._col(ctau, np.float64))
        return self.n_slots - 1

    def add_block(self, block: Block, parent: int, valid: np.ndarray | None = None) -> list[int]:
        """Attach all slots of ``block``; its mother -1 means ``parent``. ``valid`` masks whole events."""
        first = self.n_slots
        out = []
        for s in range(block.pdg.shape[1]):
            m = block.mother[:, s]
            mother = np.where(m < 0, parent, first + m).astype(np.int32)
            v = block.valid[:, s] if valid is None else block.valid[:, s] & valid
            out.append(self.add(block.pdg[:, s], block.p4[:, s], mother, block.final[:, s], block.ctau[:, s], v))
        return out

    def build(self, event: dict[str, np.ndarray] | None = None) -> TruthEvents:
        valid = np.stack(self._valid, axis=1)  # (n, S)
        # Position of every slot among the valid slots of its event.
        newpos = np.cumsum(valid, axis=1, dtype=np.int32) - 1
        mother = np.stack(self._mother, axis=1)
        has_m = mother >= 0
        safe = np.where(has_m, mother, 0)
        m_valid = np.take_along_axis(valid, safe, axis=1)
        if np.any(valid & has_m & ~m_valid):
            raise ValueError("SlotEvents.build: a valid particle has an invalid (dropped) mother slot")
        new_mother = np.where(has_m, np.take_along_axis(newpos, safe, axis=1), -1).astype(np.int32)
        p4 = np.stack(self._p4, axis=1)[valid]  # row-major: event by event, slot order kept
        return TruthEvents(
            counts=valid.sum(axis=1).astype(np.int64),
            pdg=np.stack(self._pdg, axis=1)[valid],
            px=np.ascontiguousarray(p4[:, 0]),
            py=np.ascontiguousarray(p4[:, 1]),
            pz=np.ascontiguousarray(p4[:, 2]),
            E=np.ascontiguousarray(p4[:, 3]),
            mother=new_mother[valid],
            ctau=np.stack(self._ctau, axis=1)[valid],
            final=np.stack(self._final, axis=1)[valid],
            event=dict(event or {}),
        )

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
    """Collect per-slot particle columns for ``n`` events, then ``build()``.

    Internally slots are stored in blocks of shape (n, S_b): ``add`` makes a
    one-slot block, ``add_block`` keeps a whole decay block, so ``build``
    needs one masked gather per block.
    """

    def __init__(self, n: int) -> None:
        self.n = int(n)
        self._blocks: list[dict[str, np.ndarray]] = []
        self.n_slots = 0

    def _col(self, value, dtype, width: int = 1) -> np.ndarray:
        v = np.asarray(value, dtype=dtype)
        if v.ndim == 1:
            v = v[:, None]
        return np.broadcast_to(v, (self.n, width))

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
        self._append(
            p4[:, None, :],
            self._col(pdg, np.int32),
            self._col(mother, np.int32),
            self._col(final, bool),
            self._col(ctau, np.float64),
            self._col(True if valid is None else valid, bool),
        )
        return self.n_slots - 1

    def _append(self, p4, pdg, mother, final, ctau, valid) -> None:
        own = self.n_slots + np.arange(pdg.shape[1])
        if np.any(mother >= own):
            raise ValueError("SlotEvents: a mother must be added before its daughters")
        self._blocks.append(
            {
                "p4": np.asarray(p4, np.float64),
                "pdg": pdg,
                "mother": mother,
                "final": final,
                "ctau": ctau,
                "valid": valid,
            }
        )
        self.n_slots += pdg.shape[1]

    def add_block(self, block: Block, parent: int, valid: np.ndarray | None = None) -> list[int]:
        """Attach all slots of ``block``; its mother -1 means ``parent``. ``valid`` masks whole events."""
        first = self.n_slots
        S = block.pdg.shape[1]
        mother = np.where(block.mother < 0, parent, first + block.mother).astype(np.int32)
        v = block.valid if valid is None else block.valid & valid[:, None]
        self._append(
            block.p4,
            self._col(block.pdg, np.int32, S),
            np.broadcast_to(mother, (self.n, S)),
            self._col(block.final, bool, S),
            self._col(block.ctau, np.float64, S),
            np.broadcast_to(v, (self.n, S)),
        )
        return list(range(first, first + S))

    def build(self, event: dict[str, np.ndarray] | None = None) -> TruthEvents:
        valid = np.concatenate([b["valid"] for b in self._blocks], axis=1)  # (n, S)
        n_slots = valid.shape[1]
        counts = valid.sum(axis=1).astype(np.int64)
        # Rank of every slot among the valid slots of its event -> flat position.
        newpos = np.cumsum(valid, axis=1, dtype=np.int64) - 1
        start = np.zeros(self.n, dtype=np.int64)
        np.cumsum(counts[:-1], out=start[1:])
        flatpos = start[:, None] + newpos
        newpos_flat, valid_flat = newpos.ravel(), valid.ravel()
        total = int(counts.sum())
        comps = [np.empty(total) for _ in range(4)]  # px, py, pz, E
        pdg = np.empty(total, np.int32)
        mother = np.empty(total, np.int32)
        final = np.empty(total, bool)
        ctau = np.empty(total)
        s0 = 0
        for b in self._blocks:
            S = b["pdg"].shape[1]
            v = b["valid"]
            mask = None if v.all() else v
            if mask is None:
                pos = flatpos[:, s0 : s0 + S].ravel()
                rows = np.repeat(np.arange(self.n), S) if S > 1 else np.arange(self.n)
            else:
                rows, cols = np.nonzero(v)
                pos = flatpos[rows, s0 + cols]
            p4 = b["p4"]
            for j in range(4):
                comps[j][pos] = _take(mask, p4[..., j])
            pdg[pos] = _take(mask, b["pdg"])
            final[pos] = _take(mask, b["final"])
            ctau[pos] = _take(mask, b["ctau"])
            m = _take(mask, b["mother"])
            if np.ndim(m) == 0:  # one mother slot for the whole block column
                if m < 0:
                    mother[pos] = -1
                else:
                    if not np.all(valid_flat[rows * n_slots + m]):
                        raise ValueError("SlotEvents.build: a valid particle has an invalid (dropped) mother slot")
                    mother[pos] = newpos_flat[rows * n_slots + m]
            else:
                has = m >= 0
                k = rows * n_slots + np.where(has, m, 0)
                if not np.all(valid_flat[k] | ~has):
                    raise ValueError("SlotEvents.build: a valid particle has an invalid (dropped) mother slot")
                mother[pos] = np.where(has, newpos_flat[k], -1)
            s0 += S
        return TruthEvents(
            counts=counts,
            pdg=pdg,
            px=comps[0],
            py=comps[1],
            pz=comps[2],
            E=comps[3],
            mother=mother,
            ctau=ctau,
            final=final,
            event=dict(event or {}),
        )


def _take(mask: np.ndarray | None, x: np.ndarray) -> np.ndarray:
    """Row-major gather of the valid entries of a (n, S) block column (all if mask is None).

    A fully broadcast column (one value for every event and slot, e.g. a pdg code)
    comes back as that scalar: assigning it costs nothing.
    """
    if x.strides == (0, 0) and x.size:
        return x[0, 0]
    return x.ravel() if mask is None else x[mask]

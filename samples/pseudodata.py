"""Unweighted pseudo-data at a luminosity: Poisson-fluctuated SM backgrounds (+ optional signal).

For each background component, N ~ Poisson(sigma * filter_eff * L) events are
generated through the same pipeline and generator-level filter as the MC
sample it stands for, then all components are mixed, shuffled and stripped of
truth: the result looks like a skimmed data set (exp = 1000). An injected signal
is given by a process + parameters and either a cross section (N ~ Poisson(sigma
* eff * L)) or a fixed number of events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from samples import eventformat as EF
from samples.generator import pipeline
from samples.generator.io import strip_mc

PSEUDODATA_EXP = 1000
MIN_TRIES = 1000


@dataclass
class Component:
    """One ingredient of the pseudo-data: a process generated with a given filter."""

    process: str
    xsec_fb: float
    filter_efficiency: float  # measured on the matching MC sample
    params: dict[str, Any] = field(default_factory=dict)
    filter_name: str | None = None
    filter_options: dict[str, Any] = field(default_factory=dict)
    n_events: int | None = None  # fixed number instead of a Poisson draw (signal injection)


def take_events(cols: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    """Events ``idx`` (any order) of a flat column dict: jagged collections follow their counters."""
    out: dict[str, np.ndarray] = {}
    for coll in EF.COLLECTIONS:
        key = f"n{coll}"
        if key not in cols:
            continue
        counts = cols[key].astype(np.int64)
        off = np.zeros(counts.size + 1, dtype=np.int64)
        np.cumsum(counts, out=off[1:])
        c = counts[idx]
        # Gather index: for each kept event, its contiguous slice of the flat content.
        starts = np.repeat(off[idx], c)
        within = np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c)
        gather = starts + within
        out[key] = cols[key][idx]
        for k, v in cols.items():
            if k.startswith(coll + "_"):
                out[k] = v[gather]
    for k, v in cols.items():
        if k not in out:
            out[k] = v[idx]
    return out


def generate_component(
    comp: Component, n_target: int, seed: int, chunk_size: int = pipeline.DEFAULT_CHUNK
) -> dict:
    """Exactly ``n_target`` events passing the filter (generated in rounds, each with its own seed)."""
    parts = []
    have = 0
    round_ = 0
    eff = max(comp.filter_efficiency, 1e-9)
    while have < n_target:
        need = n_target - have
        n_try = max(MIN_TRIES, int(np.ceil(need / eff * 1.1)))
        s = pipeline.generate(
            comp.process,
            n_try,
            seed=seed * 1000 + round_,
            params=comp.params,
            filter_name=comp.filter_name,
            filter_options=comp.filter_options,
            chunk_size=chunk_size,
            mc=True,
        )
        take = min(need, s.n_events)
        parts.append(take_events(s.columns, np.arange(take)))
        have += take
        round_ += 1
        if round_ > 50:
            raise RuntimeError(
                f"pseudo-data: process {comp.process!r} passes its filter too rarely to reach {n_target} events"
            )
    return pipeline.concat_columns(parts) if parts else {}


def make_pseudodata(
    components: dict[str, Component], lumi_fb: float, seed: int, chunk_size: int = pipeline.DEFAULT_CHUNK
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """-> (data columns without truth, events per component)."""
    if lumi_fb <= 0:
        raise ValueError(f"pseudo-data luminosity must be positive, got {lumi_fb}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, PSEUDODATA_EXP]))
    parts: list[dict[str, np.ndarray]] = []
    counts: dict[str, int] = {}
    for i, (name, comp) in enumerate(components.items()):
        if comp.n_events is not None:
            n = int(comp.n_events)
        else:
            n = int(rng.poisson(comp.xsec_fb * comp.filter_efficiency * lumi_fb))
        counts[name] = n
        if n == 0:
            continue
        cols = generate_component(comp, n, seed=seed * 100 + i, chunk_size=chunk_size)
        # Signal samples carry mc_* columns, backgrounds do not: truth is dropped anyway.
        parts.append(strip_mc({k: v for k, v in cols.items() if not k.startswith("mc_")}))
    if not parts:
        raise ValueError("pseudo-data: no events in any component (check cross sections and luminosity)")
    keys = set(parts[0])
    for p in parts[1:]:
        keys &= set(p)
    mixed = pipeline.concat_columns([{k: p[k] for k in keys} for p in parts])
    n_tot = mixed["event"].shape[0]
    mixed = take_events(mixed, rng.permutation(n_tot))
    mixed["exp"] = np.full(n_tot, PSEUDODATA_EXP, dtype=np.int32)
    mixed["run"] = np.full(n_tot, seed % 2**31, dtype=np.int32)
    mixed["event"] = np.arange(n_tot, dtype=np.int64)
    mixed["weight"] = np.ones(n_tot, dtype=np.float32)
    return mixed, counts

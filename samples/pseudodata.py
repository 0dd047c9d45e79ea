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
    # Resampling instead of fresh generation: the MC pool files (events after the generator
    # filter) of this component. See make_pseudodata.
    pool_files: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- reco skims
def _event_sum(counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.bincount(np.repeat(np.arange(counts.size), counts), weights=values, minlength=counts.size)


def skim_two_leptons(cols: dict[str, np.ndarray], extra_e_max: float = 0.5) -> np.ndarray:
    """Data skim for the two-lepton + missing-momentum searches (reconstructed objects only):
    2 or 3 tracks, >= 1 muon-ID'd (> 0.5) and >= 2 lepton-ID'd (muon or electron > 0.5) tracks,
    summed neutral ECL energy below ``extra_e_max`` GeV. Looser than the Z'->invisible signal
    region and its e-mu control sample."""
    nt = cols["nTrack"]
    mu = _event_sum(nt, cols["Track_muonID"] > 0.5)
    lep = _event_sum(nt, (cols["Track_muonID"] > 0.5) | (cols["Track_electronID"] > 0.5))
    extra = _event_sum(cols["nPhoton"], cols["Photon_E"])
    return (nt >= 2) & (nt <= 3) & (mu >= 1) & (lep >= 2) & (extra < extra_e_max)


def skim_four_tracks(cols: dict[str, np.ndarray], extra_e_max: float = 1.0) -> np.ndarray:
    """Data skim for the four-track searches (Z' -> mu mu): exactly 4 tracks, >= 2 muon-ID'd (> 0.5),
    summed neutral ECL energy below ``extra_e_max`` GeV. Looser than the Z' -> mu mu selection and its
    four-track-mass sideband."""
    nt = cols["nTrack"]
    mu = _event_sum(nt, cols["Track_muonID"] > 0.5)
    extra = _event_sum(cols["nPhoton"], cols["Photon_E"])
    return (nt == 4) & (mu >= 2) & (extra < extra_e_max)


def skim_two_vertices(cols: dict[str, np.ndarray], max_tracks: int = 5) -> np.ndarray:
    """Data skim for the displaced-vertex searches (iDM): >= 2 two-track vertices and at most ``max_tracks``
    tracks. Looser than the iDM selection (<= 4 tracks)."""
    return (cols["nVertex"] >= 2) & (cols["nTrack"] <= max_tracks)


def skim_one_photon(cols: dict[str, np.ndarray], e_min: float = 0.4, extra_e_max: float = 0.6) -> np.ndarray:
    """Data skim for the mono-photon search: no track, a cluster above ``e_min`` GeV (lab) and the other
    clusters summing to less than ``extra_e_max`` GeV. Looser than the mono-photon selection."""
    nph = cols["nPhoton"]
    e = cols["Photon_E"].astype(np.float64)
    total = _event_sum(nph, e)
    off = np.concatenate([[0], np.cumsum(nph)])
    emax = np.zeros(nph.size)
    has = nph > 0
    if e.size:
        emax[has] = np.maximum.reduceat(e, off[:-1][has])
    return (cols["nTrack"] == 0) & (emax > e_min) & (total - emax < extra_e_max)


SKIMS = {
    "two_leptons": skim_two_leptons,
    "four_tracks": skim_four_tracks,
    "two_vertices": skim_two_vertices,
    "one_photon": skim_one_photon,
}

# Resampled pseudo-data are built in memory: a component asking for more events than this is a recipe
# mistake (a missing skim), refused before it exhausts the machine.
MAX_RESAMPLED_EVENTS = 20_000_000


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


def generate_component(comp: Component, n_target: int, seed: int, chunk_size: int = pipeline.DEFAULT_CHUNK) -> dict:
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
        w = s.columns.get("weight")
        if w is not None and not np.all(w == 1):
            raise ValueError(
                f"pseudo-data: process {comp.process!r} generates weighted events, which are not data-like; "
                "use mode: resample (draws events in proportion to their weights) or an unweighted process"
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


def resample_component(
    comp: Component, lumi_fb: float, rng: np.random.Generator, skim: str | None
) -> tuple[dict[str, np.ndarray], int]:
    """Unweighted events drawn with replacement from the component's MC pool.

    N ~ Poisson(sigma * eff_filter * eff_skim * L) with eff_skim measured on the pool. A weighted
    pool (importance-sampled generation, E[weight] = 1 per generated event) enters with its weights:
    eff_skim is the weighted fraction and each event is drawn with probability proportional to its
    weight, so the pseudo-data are unweighted and follow the same distributions.
    Because the background template is made from the same pool, the pseudo-data
    scatter around it exactly like Poisson data around a perfect model; what is
    lost is independence from the pool's own statistical fluctuations (say so
    when interpreting pseudo-data fits). Used where fresh generation of
    sigma * L events does not fit the budget (e.g. Bhabha: 2.4e10 events).
    """
    from samples.generator import io

    pool = pipeline.concat_columns([io.read_root(f) for f in comp.pool_files])
    n_pool = int(pool["event"].shape[0])
    keep = np.flatnonzero(SKIMS[skim](pool)) if skim else np.arange(n_pool)
    w = np.asarray(pool.get("weight", np.ones(n_pool)), dtype=np.float64)[keep]
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError(
            f"pseudo-data: pool of {comp.process!r} ({comp.pool_files}) has negative or non-finite weights"
        )
    eff_skim = w.sum() / n_pool if n_pool else 0.0
    mean = comp.xsec_fb * comp.filter_efficiency * eff_skim * lumi_fb
    if mean > MAX_RESAMPLED_EVENTS:
        raise ValueError(
            f"pseudo-data: {comp.process!r} would need {mean:.3g} events at {lumi_fb:g} fb^-1 (skim {skim!r}), more "
            f"than {MAX_RESAMPLED_EVENTS:.0e}; give the pseudo-data entry a tighter `skim:` (one of {', '.join(SKIMS)})"
        )
    n = int(rng.poisson(mean))
    if n and keep.size == 0:
        raise ValueError(f"pseudo-data: pool of {comp.process!r} has no event passing the skim")
    prob = None if np.all(w == 1) else w / w.sum()  # unweighted pools: the plain uniform draw
    return take_events(pool, rng.choice(keep, size=n, replace=True, p=prob)) if n else {}, n


def make_pseudodata(
    components: dict[str, Component],
    lumi_fb: float,
    seed: int,
    chunk_size: int = pipeline.DEFAULT_CHUNK,
    skim: str | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """-> (data columns without truth, events per component).

    Components with ``pool_files`` are resampled from their MC pool
    (:func:`resample_component`); the others are generated fresh. ``skim`` (a key
    of SKIMS) is applied to every component, like a data skim.
    """
    if lumi_fb <= 0:
        raise ValueError(f"pseudo-data luminosity must be positive, got {lumi_fb}")
    if skim is not None and skim not in SKIMS:
        raise KeyError(f"unknown pseudo-data skim {skim!r}; known: {', '.join(SKIMS)}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, PSEUDODATA_EXP]))
    parts: list[dict[str, np.ndarray]] = []
    counts: dict[str, int] = {}
    for i, (name, comp) in enumerate(components.items()):
        if comp.pool_files and comp.n_events is None:
            cols, n = resample_component(comp, lumi_fb, rng, skim)
            counts[name] = n
            if n:
                parts.append(strip_mc({k: v for k, v in cols.items() if not k.startswith("mc_")}))
            continue
        if comp.n_events is not None:
            n = int(comp.n_events)
        else:
            n = int(rng.poisson(comp.xsec_fb * comp.filter_efficiency * lumi_fb))
        counts[name] = n
        if n == 0:
            continue
        cols = generate_component(comp, n, seed=seed * 100 + i, chunk_size=chunk_size)
        if skim is not None:  # thinning keeps the count Poisson
            cols = take_events(cols, np.flatnonzero(SKIMS[skim](cols)))
            counts[name] = int(cols["event"].shape[0])
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

"""The training table of a search, from a ``b2dark run`` output folder (numpy only).

``load_table(run_dir, features, observable)`` reads the run's weighted event list
(``workflows.outputs.load(DIR).eventlists()``) and the samples' metadata (``RunOutput.samples``) into one
``Table``: the declared feature columns, the observable that defines the mass windows, the weight, whether
an event is signal and of which sample, and its fold from the event-number split
(``processors.mva.split_fold``: 0 train, 1 validation, 2 application). Data samples are never used.

Weights: the event list carries each event's expected yield at the run's luminosity. Within one fold
every sample's weights are scaled by (sample's total weight / its weight in that fold), so the background
counted in a window of one fold is the expected background of the full luminosity, as the Punzi FOM needs
(sqrt(B) against a/2); a signal efficiency is a ratio and does not care.

Hypotheses: one per signal sample (its catalog ``mass``). The window of hypothesis j is
``|observable - centre_j| < n_sigma * width_j``, centre = weighted median and width = central-68 %
half-width of the observable in that signal sample (training fold), the same width definition as the
sideband plan (``workflows.stats.plans.sideband.central_halfwidth``). With several observable columns
(several candidates per event) an event is in the window when any of them is; the window's centre and
width are measured on the first column only, so a search with several candidates must put the one that
carries the signal peak first (not yet true of Z' -> mu mu, whose m_reduced_0 is one pairing of four).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from processors.mva import FOLD_APPLICATION, FOLD_TRAIN, FOLD_VALIDATION, N_FOLDS, SPLIT_SCHEME, split_fold

FOLD_NAMES = {FOLD_TRAIN: "train", FOLD_VALIDATION: "validation", FOLD_APPLICATION: "application"}


@dataclass(frozen=True)
class Hypothesis:
    sample: str
    mass: float
    centre: float
    halfwidth: float  # n_sigma * central-68 % half-width

    def window(self, obs: np.ndarray) -> np.ndarray:
        """Events (rows of obs, one column per candidate) with any candidate inside the window."""
        return np.any(np.abs(obs - self.centre) < self.halfwidth, axis=1)


@dataclass
class Table:
    """All MC events of a run: features X, observable, full-luminosity weight per fold, labels, folds."""

    features: list[str]
    observable: list[str]
    X: np.ndarray  # (n, n_features)
    obs: np.ndarray  # (n, n_observable)
    weight: np.ndarray  # per-fold weight scaled to the full luminosity (module doc)
    sample: np.ndarray  # index into `samples`
    samples: list[str]
    is_signal: np.ndarray
    fold: np.ndarray
    mass: dict[str, float]  # signal sample -> mass
    run: np.ndarray
    event: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def rows(self, fold: int | None = None, samples: Sequence[str] | None = None) -> np.ndarray:
        sel = np.ones(self.weight.size, bool) if fold is None else self.fold == fold
        if samples is not None:
            sel &= np.isin(self.sample, [self.samples.index(s) for s in samples])
        return sel


@dataclass(frozen=True)
class RangeData:
    """One network's inputs on one fold: features, weights, signal hypothesis per event, windows."""

    X: np.ndarray
    weight: np.ndarray
    hyp: np.ndarray  # index of the signal hypothesis, -1 for background
    window: np.ndarray  # (n, n_hyp) bool: background events inside each hypothesis window
    hypotheses: tuple[Hypothesis, ...]

    @property
    def is_signal(self) -> np.ndarray:
        return self.hyp >= 0


def central_halfwidth(x: np.ndarray, w: np.ndarray, centre: float) -> float:
    from workflows.stats.plans.sideband import central_halfwidth as chw

    return chw(x, w, centre)


def weighted_median(x: np.ndarray, w: np.ndarray) -> float:
    order = np.argsort(x, kind="stable")
    cw = np.cumsum(w[order])
    return float(x[order][np.searchsorted(cw, 0.5 * cw[-1])])


def parse_ranges(texts: Sequence[str]) -> list[tuple[float, float]]:
    """Parse "0.1-2" as (0.1, 2.0); ranges must be increasing and must not overlap."""
    out = []
    for t in texts:
        try:
            lo, hi = (float(v) for v in t.split("-", 1))
        except ValueError:
            raise ValueError(f"mass range {t!r}: write LO-HI in GeV, e.g. 0.1-2") from None
        if not lo < hi:
            raise ValueError(f"mass range {t!r}: LO must be below HI")
        out.append((lo, hi))
    for (_, h1), (l2, _) in itertools.pairwise(out):
        if l2 < h1:
            raise ValueError(f"mass ranges {texts}: they must be increasing and must not overlap")
    return out


def in_range(mass: float, rng: tuple[float, float], last: bool) -> bool:
    """[lo, hi); the last range also includes its upper edge (same rule as processors.mva.Artefact)."""
    return rng[0] <= mass < rng[1] or (last and mass == rng[1])


def build_table(
    eventlists: Mapping[str, Mapping[str, np.ndarray]],
    samples_meta: Mapping[str, Mapping[str, Any]],
    features: Sequence[str],
    observable: Sequence[str],
    processes: Sequence[str] | None = None,
) -> Table:
    """The table of every MC sample in ``eventlists`` (signals restricted to ``processes`` if given)."""
    features, observable = list(features), list(observable)
    if not features:
        raise ValueError("declare at least one feature")
    need = {*features, *observable, "weight", "run", "event"}
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("X", "obs", "w", "s", "sig", "run", "event")}
    names: list[str] = []
    mass: dict[str, float] = {}
    for name in sorted(eventlists):
        meta = samples_meta.get(name, {})
        if meta.get("is_data") or not meta:
            continue  # data never trains; a sample without metadata cannot be labelled
        sig = bool(meta.get("is_signal"))
        if sig and processes is not None and meta.get("process") not in processes:
            continue
        cols = eventlists[name]
        missing = sorted(need - set(cols))
        if missing:
            raise ValueError(f"sample {name!r}: the event list has no column(s) {missing} (it has {sorted(cols)}); "
                             "the search's processor must save the features in its eventlist")  # fmt: skip
        n = np.asarray(cols["weight"]).size
        if n == 0:
            continue
        if sig:
            if meta.get("mass") is None:
                raise ValueError(f"signal sample {name!r} has no 'mass' in its metadata")
            mass[name] = float(meta["mass"])
        names.append(name)
        parts["X"].append(np.stack([np.asarray(cols[f], np.float64) for f in features], axis=1))
        parts["obs"].append(np.stack([np.asarray(cols[o], np.float64) for o in observable], axis=1))
        parts["w"].append(np.asarray(cols["weight"], np.float64))
        parts["s"].append(np.full(n, len(names) - 1))
        parts["sig"].append(np.full(n, sig))
        parts["run"].append(np.asarray(cols["run"]).astype(np.int64))
        parts["event"].append(np.asarray(cols["event"]).astype(np.int64))
    if not mass:
        raise ValueError("no signal sample with selected events in the event list")
    if len(names) == len(mass):
        raise ValueError("no background sample with selected events in the event list")
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    fold = split_fold(cat["run"], cat["event"])
    bad = ~np.all(np.isfinite(cat["X"]), axis=1)
    if bad.any():
        raise ValueError(f"{int(bad.sum())} events have non-finite features; the processor must fill every feature")
    weight = cat["w"].copy()
    for i in range(len(names)):
        for f in range(N_FOLDS):
            sel = (cat["s"] == i) & (fold == f)
            w_fold = weight[sel].sum()
            if w_fold > 0:
                weight[sel] *= cat["w"][cat["s"] == i].sum() / w_fold
    return Table(features=features, observable=observable, X=cat["X"], obs=cat["obs"], weight=weight,
                 sample=cat["s"], samples=names, is_signal=cat["sig"], fold=fold, mass=mass, run=cat["run"],
                 event=cat["event"])  # fmt: skip


def hypotheses(table: Table, rng: tuple[float, float], last: bool, n_sigma: float) -> tuple[Hypothesis, ...]:
    """The signal hypotheses of a mass range with their windows (measured on the training fold)."""
    out = []
    for name, m in sorted(table.mass.items(), key=lambda kv: (kv[1], kv[0])):
        if not in_range(m, rng, last):
            continue
        sel = table.rows(FOLD_TRAIN, [name])
        x = table.obs[sel, 0]  # the first observable column is the signal candidate
        w = table.weight[sel]
        centre = weighted_median(x, w)
        out.append(Hypothesis(name, m, centre, n_sigma * central_halfwidth(x, w, centre)))
    if not out:
        raise ValueError(f"no signal sample with a mass in the range {rng[0]:g}-{rng[1]:g} GeV")
    return tuple(out)


def range_data(table: Table, hyps: Sequence[Hypothesis], fold: int) -> RangeData:
    """Signal of the range's hypotheses plus the background inside any of their windows, on one fold."""
    sel_fold = table.fold == fold
    hyp = np.full(table.weight.size, -1)
    for j, h in enumerate(hyps):
        hyp[table.sample == table.samples.index(h.sample)] = j
    bkg = ~table.is_signal
    window = np.stack([h.window(table.obs) & bkg for h in hyps], axis=1)
    keep = sel_fold & ((hyp >= 0) | window.any(axis=1))
    return RangeData(X=table.X[keep], weight=table.weight[keep], hyp=hyp[keep], window=window[keep],
                     hypotheses=tuple(hyps))  # fmt: skip


def split_record(table: Table) -> dict[str, Any]:
    """What goes into the artefact about the split: the scheme and the events per sample and fold."""
    counts = {
        name: {FOLD_NAMES[f]: int(np.count_nonzero((table.sample == i) & (table.fold == f))) for f in range(N_FOLDS)}
        for i, name in enumerate(table.samples)
    }
    return {"scheme": SPLIT_SCHEME, "n_folds": N_FOLDS, "folds": FOLD_NAMES, "events": counts}


def file_digest(path: Path) -> str | None:
    if not path.is_file():
        return None
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def catalog_digests(run_dir: Path, provenance: Mapping[str, Any], names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """{sample: {catalog_digest, generator_digest}} from the run's catalog when it can still be found."""
    cands: list[Path] = []
    given = (provenance.get("options") or {}).get("samples")
    if given:
        cands += [Path(given), run_dir / given]
    for inp in provenance.get("inputs") or []:
        if inp.get("path"):
            cands.append(Path(inp["path"]).parent / "catalog.yaml")
            break
    out: dict[str, dict[str, Any]] = {n: {"catalog_digest": None, "generator_digest": None} for n in names}
    for c in cands:
        if c.suffix in (".yaml", ".yml") and c.is_file():
            from samples.catalog import load_catalog

            cat = load_catalog(c)
            for n in names:
                if n in cat.samples:
                    out[n] = {
                        "catalog_digest": cat.samples[n].digest,
                        "generator_digest": cat.samples[n].generator_digest,
                    }
            break
    return out


def load_table(
    run_dir: str | Path, features: Sequence[str], observable: Sequence[str], processes: Sequence[str] | None = None
) -> tuple[Table, Any]:
    """(Table, RunOutput) of a run folder; the table's ``info`` records where it came from."""
    from workflows.outputs import EVENTLIST_FILE, load

    run_dir = Path(run_dir)
    ro = load(run_dir)
    evl = ro.eventlists()
    if not evl:
        raise ValueError(f"{run_dir}: no event list ({EVENTLIST_FILE}); run `b2dark run {ro.search}` first")
    table = build_table(evl, ro.samples, features, observable, processes)
    table.info = {
        "run_dir": str(run_dir.resolve()),
        "eventlist_sha256": file_digest(run_dir / EVENTLIST_FILE),
        "git": (ro.provenance.get("git") or {}),
        "lumi_fb": ro.lumi_fb,
        "samples": catalog_digests(run_dir, ro.provenance, table.samples),
    }
    return table, ro

"""Processor base: everything that is not physics.

A search subclasses :class:`SearchProcessor` and defines only

- ``search_name``, ``branches`` (what it reads: the bad-file check asks for exactly these) and
  ``histograms()``: the histograms it fills (axes besides "sample"/"syst"),
- ``analyze(events, variation) -> SearchResult``: its regions (ordered cuts),
  what to fill, its signal region (for blinding), per-event weight variations.
- its thresholds as ``self.wp``, an instance of the search's declared working point
  (processors/spec.py: WorkingPoint), passed to the constructor.

The base does the rest: event weights from the fileset metadata, the shape
variations (``analyze_shape(events, variation)``, by default ``analyze``, called per
variation on the events passing the search's ``shape_invariant_cuts``; only the
fills of hists declared ``syst=True`` are used), cutflows per sample and
region (raw and weighted), histogram booking, per-file event accounting,
weighted event lists and blinding. Processors run under coffea's ``processor.Runner``
(eager/virtual events in numpy-sized chunks) on every executor, dask included.

Blinding: for a data sample (metadata ``is_data``) and unless the processor
was built with ``unblind=True``, every event in the search's signal region is
dropped from every histogram and event list, and from the cutflow steps at and
after the region's ``blind_from`` step (earlier steps are looser than the
signal region). ``output["blinded"]`` records what was done.

Output: ``{"hists", "cutflow", "cutflow_regions", "nevents", "files", "blinded",
"blinded_samples", "eventlist"}``. Cutflows are booked as a histogram of "number of
consecutive cuts passed" (which adds across chunks); :meth:`SearchProcessor.postprocess`
turns it into cumulative arrays. Event lists carry the event weight (column "weight").
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import awkward as ak
import hist
import numpy as np
from coffea import processor

from processors import mva, validity
from processors.kinematics import P4, as_columns, nth
from samples.eventformat import all_branches

NOMINAL = "nominal"
MAX_CUTS = 32  # cutflow steps per region (axis size)


@dataclass(frozen=True)
class Variation:
    """A shape variation: the search recomputes its variables with it. Object scales multiply
    every track momentum (``momentum_scale``) or photon energy (``photon_energy_scale``);
    efficiency variations are per-event weight ratios (``SearchResult.weight_variations``,
    named in ``SearchProcessor.weight_variation_names``)."""

    name: str = NOMINAL
    momentum_scale: float = 1.0  # multiplies every track momentum
    photon_energy_scale: float = 1.0  # multiplies every photon (ECL cluster) energy

    def nth_track(self, tracks, i: int, mass: Any = None) -> P4:
        """The ``i``-th track per event as a P4 with this variation's momentum scale: the
        numbers of ``K.nth(self.tracks(tracks), i, mass)`` without rebuilding the tracks."""
        return nth(tracks, i, mass, momentum_scale=self.momentum_scale)

    def tracks(self, tracks):
        """The tracks with this variation's momentum scale applied."""
        if self.momentum_scale == 1.0:
            return tracks
        out = tracks
        for comp in ("px", "py", "pz"):
            out = ak.with_field(out, tracks[comp] * self.momentum_scale, comp)
        return out


@dataclass(frozen=True)
class HistSpec:
    axes: tuple[hist.axis.AxesMixin, ...]
    syst: bool = False  # gets the "syst" axis (shape and weight variations)
    label: str = "Events"


@dataclass
class Fill:
    """Fill ``hist`` for events passing every cut of ``region`` (and ``mask`` if given)."""

    hist: str
    region: str
    values: dict[str, Any]
    mask: Any = None


@dataclass
class Region:
    cuts: list[tuple[str, Any]]  # ordered (name, per-event bool mask)
    blind_from: str | None = None  # first cut whose cumulative selection may reveal the signal region

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.cuts]


@dataclass
class SearchResult:
    regions: dict[str, Region]  # the first one is the search's signal selection ("cutflow")
    fills: list[Fill]
    signal_region: Any  # per-event bool: events hidden from data outputs while blinded
    weight_variations: dict[str, Any] = field(default_factory=dict)  # name -> per-event weight ratio
    eventlist: dict[str, Any] = field(default_factory=dict)  # columns of events in the first region
    eventlist_region: str | None = None
    cache: dict[str, Any] = field(default_factory=dict)  # search-private values analyze_shape may reuse


def _fill(h, weight, **values) -> None:
    """Fill by axis order: hist reserves the keyword ``sample`` (Mean storage), our axis name."""
    h.fill(*(values[ax.name] for ax in h.axes), weight=weight)


def _fill_cutflow_binned(cf, sample: str, npass: dict[str, np.ndarray], one: np.ndarray, weight: np.ndarray) -> None:
    """The cutflow fills of a chunk (raw and weighted, every region) in one call: per-bin sums
    from np.bincount, which adds in event order like a per-event fill, so the bins are the same."""
    if not npass:
        return
    n_bins = MAX_CUTS + 1
    sums = [np.bincount(np.asarray(n, dtype=np.int64), weights=w, minlength=n_bins)
            for n in npass.values() for w in (one, weight)]  # fmt: skip
    # one row of n_bins per (region, kind), in the order of sums
    regions = np.repeat(np.array(list(npass), dtype=str), 2 * n_bins)
    kinds = np.tile(np.repeat(np.array(["raw", "weighted"]), n_bins), len(npass))
    _fill(cf, weight=np.concatenate(sums), sample=sample, region=regions, npass=np.tile(np.arange(n_bins), len(sums)),
          kind=kinds)  # fmt: skip


def _mask_of(values: Any, mask: Any) -> Any:
    """``values[mask]`` (a plain number stays as it is)."""
    return values if isinstance(values, (int, float, np.number)) else values[mask]


def _mask(m: Any) -> Any:
    """Per-event bool mask without missing values (numpy in eager mode)."""
    return as_columns(ak.fill_none(m, False) if isinstance(m, ak.Array) else m, False, bool)


def _flat(values: Any, weight: Any) -> tuple[Any, Any]:
    """Values ready to fill, with matching weights: jagged awkward values are flattened
    (the per-event weight broadcast); missing values become NaN (they land in no bin)."""
    if isinstance(values, ak.Array) and values.ndim > 1:
        # [:, None] so that regular (n, k) values broadcast too (numpy rules align right)
        weight, values = ak.broadcast_arrays(ak.Array(weight)[:, None], values)
        values, weight = ak.flatten(values, axis=None), ak.flatten(weight, axis=None)
        return as_columns(values, np.nan), as_columns(weight)
    if isinstance(values, ak.Array):
        values = ak.fill_none(values, np.nan)
    return as_columns(values, np.nan), weight


class SearchProcessor(processor.ProcessorABC):
    """Base of every b2dark search processor."""

    search_name: ClassVar[str] = ""
    # Branches the search reads (counters included); empty = the whole event format.
    branches: ClassVar[tuple[str, ...]] = ()
    shape_variations: ClassVar[tuple[Variation, ...]] = ()
    weight_variation_names: ClassVar[tuple[str, ...]] = ()
    primary_region: ClassVar[str] = "sr"  # its cutflow is output["cutflow"]
    # Cuts of the primary region that no shape variation changes: a shape variation is
    # evaluated (analyze_shape) only on events passing them in the nominal pass.
    shape_invariant_cuts: ClassVar[tuple[str, ...]] = ()

    # The features the search computes for its background-suppression network (processors/mva.py); a
    # search with a network declares them and a working-point field ``network`` (artefact path or None).
    network_features: ClassVar[tuple[str, ...]] = ()

    # Events with NaN / inf values or broken MC weights (processors/validity.py): False stops the run with
    # an error naming the file, branch and entries; True drops them and reports them in output["bad_events"].
    drop_bad_events: bool = False

    def __init__(self, lumi_fb: float | None = None, unblind: bool = False, working_point: Any = None) -> None:
        self.lumi_fb = lumi_fb
        self.unblind = bool(unblind)
        self.wp = self.default_working_point() if working_point is None else working_point
        self.network = self._load_network()

    def _load_network(self) -> mva.Artefact | None:
        """The artefact named by the working point's ``network`` (None: cut-based). Relative paths are
        looked up from the working directory, then from the repository root (committed artefacts)."""
        path = getattr(self.wp, "network", None)
        if not path:
            return None
        if not self.network_features:
            raise ValueError(f"{type(self).__name__}: the working point names a network ({path}) but the "
                             "processor declares no network_features")  # fmt: skip
        p = Path(path)
        if not p.is_absolute() and not p.exists():
            p = Path(__file__).resolve().parents[1] / p
        return mva.load(p, search=self.search_name or None, features=self.network_features)

    def network_step(self, features: Mapping[str, Any], mass: Any) -> Any:
        """The declared network selection step, a per-event bool for a Region's cuts: the working point of
        the network of the event's mass range (all True when the search runs cut-based)."""
        if self.network is None:
            return np.ones(len(mass), dtype=bool)
        cols = {k: as_columns(features[k], np.nan) for k in self.network.features}
        return self.network.selected_per_event(cols, as_columns(mass, np.nan))

    def application_weight(self, events) -> Any:
        """With a network, MC events of the training and validation folds must not fill anything: weight
        N_FOLDS on the application fold, 0 elsewhere (an unbiased estimate of every MC yield)."""
        fold = mva.split_fold(as_columns(events.run), as_columns(events.event))
        return np.where(fold == mva.FOLD_APPLICATION, float(mva.N_FOLDS), 0.0)

    @classmethod
    def default_working_point(cls) -> Any:
        """The search's working point with its declared defaults (None for a search without one)."""
        return None

    # ---------------------------------------------------------------- hooks
    def histograms(self) -> dict[str, HistSpec]:
        raise NotImplementedError

    def analyze(self, events, variation: Variation) -> SearchResult:
        raise NotImplementedError

    def analyze_shape(self, events, variation: Variation, selection: Any, nominal: SearchResult) -> SearchResult:
        """A shape variation, for the events of the chunk passing ``shape_invariant_cuts``
        (``selection``, a per-event bool mask, or None = all): every per-event array of the
        result is for those events only, and only the fills of syst hists are used.
        ``nominal`` is the nominal result (its ``cache`` holds what the search chose to keep
        for reuse). Default: the full :meth:`analyze` on the selected events."""
        return self.analyze(events if selection is None else events[selection], variation)

    @classmethod
    def required_branches(cls, is_mc: bool = False) -> set[str]:
        """Branches a file must have (the bad-file check): what the search reads, the event
        identifiers, and the generator weight for MC (the whole event format if undeclared)."""
        if not cls.branches:
            return set(all_branches(mc=is_mc))
        return {*cls.branches, "run", "event", *(("weight",) if is_mc else ())}

    # -------------------------------------------------------------- helpers
    @property
    def syst_names(self) -> list[str]:
        return [NOMINAL, *self.weight_variation_names, *(v.name for v in self.shape_variations)]

    def _book(self, specs: dict[str, HistSpec]) -> dict[str, Any]:
        cls = hist.Hist
        out = {}
        # hist warns that "sample" is its fill keyword; the contract names the axis so and we fill by position.
        warnings.filterwarnings("ignore", message="sample is a protected keyword")
        for name, spec in specs.items():
            axes = [hist.axis.StrCategory([], growth=True, name="sample", label="Sample")]
            if spec.syst:
                axes.append(hist.axis.StrCategory(self.syst_names, name="syst", label="Variation"))
            out[name] = cls(*axes, *spec.axes, storage=hist.storage.Weight(), label=spec.label)
        out["__cutflow__"] = cls(
            hist.axis.StrCategory([], growth=True, name="sample"),
            hist.axis.StrCategory([], growth=True, name="region"),
            hist.axis.Integer(0, MAX_CUTS + 1, name="npass", underflow=False, overflow=False),
            hist.axis.StrCategory(["raw", "weighted"], name="kind"),
            storage=hist.storage.Double(),
        )
        return out

    def event_weight(self, events) -> Any:
        """Per-event weight: data 1; MC xsec_fb * filter_efficiency * lumi_fb / n_events * weight."""
        md = events.metadata
        sample = md.get("sample", md.get("dataset", "?"))
        if md.get("is_data", False):
            return as_columns(ak.ones_like(events.run, dtype=np.float64))
        missing = [k for k in ("xsec_fb", "n_events") if md.get(k) is None]
        lumi = self.lumi_fb if self.lumi_fb is not None else md.get("lumi_fb")
        if lumi is None:
            missing.append("lumi_fb")
        if missing:
            raise KeyError(
                f"sample {sample!r}: fileset metadata lacks {missing}; the catalog entry must give them "
                "(or pass lumi_fb to the processor)"
            )
        if float(md["n_events"]) <= 0:
            raise ValueError(f"sample {sample!r}: metadata n_events = {md['n_events']} must be > 0")
        # None = no generator filter; 0 is a mistake in the catalog, never silently "no filter"
        feff = md.get("filter_efficiency")
        feff = 1.0 if feff is None else float(feff)
        if not 0.0 < feff <= 1.0:
            raise ValueError(f"sample {sample!r}: metadata filter_efficiency = {feff} must be in (0, 1]; fix its "
                             "catalog entry")  # fmt: skip
        norm = float(md["xsec_fb"]) * feff * float(lumi)
        norm /= float(md["n_events"])
        if "weight" in events.fields:
            return norm * as_columns(ak.values_astype(events.weight, np.float64))
        return norm * as_columns(ak.ones_like(events.run, dtype=np.float64))

    # -------------------------------------------------------------- process
    def process(self, events) -> dict[str, Any]:
        md = dict(events.metadata)
        sample = str(md.get("sample", md.get("dataset", "unknown")))
        is_data = bool(md.get("is_data", False))
        blind = is_data and not self.unblind
        n_read = len(events)  # the event accounting counts every event read, dropped ones included
        bad, bad_values = validity.scan(
            events, validity.float_columns(self.required_branches(not is_data)), not is_data
        )
        if bad_values:
            if not self.drop_bad_events:
                raise validity.BadEventsError(bad_values)
            events = events[~bad]
        specs = self.histograms()
        hists = self._book(specs)
        weight = self.event_weight(events)
        one = weight * 0.0 + 1.0
        if self.network is not None and not is_data:  # the application fold only (raw counts too)
            app = self.application_weight(events)
            weight, one = weight * app, one * (app > 0)

        eventlist: dict[str, Any] = {}
        res = self.analyze(events, Variation())
        keep = ~_mask(res.signal_region) if blind else None
        region_masks = self._region_masks(res)
        self._fill_all(
            hists, specs, res, region_masks, weight, sample, NOMINAL, keep, with_weight_variations=not is_data
        )
        npass = {rname: self._npass(region, keep) for rname, region in res.regions.items()}
        _fill_cutflow_binned(hists["__cutflow__"], sample, npass, one, weight)
        if res.eventlist:
            sel = region_masks[res.eventlist_region or next(iter(res.regions))]
            if keep is not None:
                sel = sel & keep
            eventlist = {k: _flat(v, None)[0][sel] for k, v in res.eventlist.items()}
            eventlist["weight"] = np.asarray(weight)[sel]
        # a set of (region, step, name): sets merge by union across chunks, lists would concatenate
        cut_names = {(rname, i, n) for rname, region in res.regions.items() for i, n in enumerate(region.names)}

        if not is_data and self.shape_variations:
            # Shape variations only on events passing the variation-independent cuts.
            cuts = dict(res.regions[self.primary_region].cuts)
            missing = [c for c in self.shape_invariant_cuts if c not in cuts]
            if missing:
                raise KeyError(f"{type(self).__name__}.shape_invariant_cuts names {missing}, not cuts of region "
                               f"{self.primary_region!r} ({list(cuts)})")  # fmt: skip
            sel = None
            for c in self.shape_invariant_cuts:
                sel = _mask(cuts[c]) if sel is None else sel & _mask(cuts[c])
            sub_weight = weight if sel is None else weight[sel]
            for variation in self.shape_variations:
                vres = self.analyze_shape(events, variation, sel, res)
                vmasks = self._region_masks(vres)
                self._fill_all(hists, specs, vres, vmasks, sub_weight, sample, variation.name, None, syst_only=True)
        return {
            "hists": hists,
            "nevents": {sample: n_read},
            "cutflow_names": {sample: cut_names},
            "bad_events": set(bad_values),  # merges by union: one record per (chunk, column, reason)
            "dropped_events": {sample: int(bad.sum())},
            # a set: it merges by union across chunks (bools would add up to ints)
            "blinded_samples": {sample} if blind else set(),
            "files": {sample: {md.get("filename", "?"): n_read}},
            "eventlist": {
                sample: {k: processor.column_accumulator(np.asarray(v, dtype=np.float64)) for k, v in eventlist.items()}
            },
        }

    @staticmethod
    def _region_masks(res: SearchResult) -> dict[str, Any]:
        out = {}
        for rname, region in res.regions.items():
            passed = None
            for _, mask in region.cuts:
                m = _mask(mask)
                passed = m if passed is None else passed & m
            out[rname] = passed
        return out

    @staticmethod
    def _fill_all(
        hists: dict[str, Any], specs: dict[str, HistSpec], res: SearchResult, region_masks: dict[str, Any],
        weight: Any, sample: str, syst_name: str, keep: Any, *, with_weight_variations: bool = False,
        syst_only: bool = False,
    ) -> None:  # fmt: skip
        """Fill ``res.fills`` (only the syst hists if ``syst_only``); the syst axis gets
        ``syst_name`` and, if asked, the per-event weight variations."""
        for f in res.fills:
            spec = specs[f.hist]
            if syst_only and not spec.syst:
                continue
            mask = region_masks[f.region]
            if f.mask is not None:
                mask = mask & _mask(f.mask)
            if keep is not None:
                mask = mask & keep
            # select first, then vary: (w * r)[mask] == w[mask] * r[mask], on fewer entries
            w_nom = weight[mask]
            wsets = [(syst_name, w_nom)]
            if with_weight_variations and spec.syst:
                wsets += [(n, w_nom * _mask_of(r, mask)) for n, r in res.weight_variations.items()]
            selected = {axis_name: values[mask] for axis_name, values in f.values.items()}
            for syst, w_sel in wsets:
                kwargs = {}
                for axis_name, values in selected.items():
                    kwargs[axis_name], w_fill = _flat(values, w_sel)
                if spec.syst:
                    kwargs["syst"] = syst
                _fill(hists[f.hist], weight=w_fill, sample=sample, **kwargs)

    @staticmethod
    def _npass(region: Region, keep) -> Any:
        """Number of consecutive cuts passed (0 .. n_cuts); blinded events stop before ``blind_from``."""
        if len(region.cuts) > MAX_CUTS:
            raise ValueError(f"region has {len(region.cuts)} cuts; at most {MAX_CUTS} are supported")
        running: Any = None
        npass: Any = None
        cap: int | None = None
        for i, (name, mask) in enumerate(region.cuts):
            m = _mask(mask)
            if running is None:
                running = m.copy() if isinstance(m, np.ndarray) else m
                npass = running * 1
            else:  # in place, no temporaries
                np.logical_and(running, m, out=running)
                npass += running
            if name == region.blind_from:
                cap = i
        if keep is not None and cap is not None:
            # A hidden event counts only for the steps before blind_from.
            npass = keep * npass + (~keep) * np.minimum(npass, cap)
        return npass

    # ---------------------------------------------------------- postprocess
    def postprocess(self, accumulator: dict[str, Any]) -> dict[str, Any]:
        """Turn the internal cutflow histogram into the contract's cumulative arrays.

        Idempotent: calling it on an already post-processed output is a no-op.
        """
        hists = accumulator.get("hists", {})
        if "__cutflow__" not in hists:
            return accumulator
        cf = hists.pop("__cutflow__")
        names_by_sample = accumulator.pop("cutflow_names", {})
        regions: dict[str, dict[str, dict[str, Any]]] = {}
        for sample, entries in names_by_sample.items():
            names_by_region: dict[str, list[str]] = {}
            for rname, _, name in sorted(entries, key=lambda e: (e[0], e[1])):
                names_by_region.setdefault(rname, []).append(name)
            for rname, names in names_by_region.items():
                raw = cf[{"sample": sample, "region": rname, "kind": "raw"}].values()
                wgt = cf[{"sample": sample, "region": rname, "kind": "weighted"}].values()
                n = len(names)
                # step i = events passing the first i+1 cuts = sum over npass > i
                raw_c = np.cumsum(raw[::-1])[::-1][1 : n + 1]
                wgt_c = np.cumsum(wgt[::-1])[::-1][1 : n + 1]
                regions.setdefault(rname, {})[sample] = {
                    "names": list(names), "raw": raw_c.astype(np.float64), "weighted": wgt_c,
                }  # fmt: skip
        first = self.primary_region
        accumulator["cutflow"] = regions.get(first, {})
        accumulator["cutflow_regions"] = regions
        evl = accumulator.get("eventlist", {})
        for sample, cols in evl.items():
            arrays = {k: np.asarray(v.value if hasattr(v, "value") else v, dtype=np.float64) for k, v in cols.items()}
            if arrays and "run" in arrays and "event" in arrays:
                order = np.lexsort((arrays["event"], arrays["run"]))
                arrays = {k: v[order] for k, v in arrays.items()}
            evl[sample] = arrays
        # True unless unblind=True was passed: data signal regions are hidden.
        accumulator["blinded"] = not self.unblind
        hidden = accumulator.get("blinded_samples", set())
        if isinstance(hidden, set):
            accumulator["blinded_samples"] = {s: s in hidden for s in accumulator.get("nevents", {})}
        return accumulator

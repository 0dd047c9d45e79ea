"""The vocabulary of a search declaration: one :class:`SearchSpec` per search says everything the
framework needs to know about it, and nothing here knows any particular search.

A search is a package ``processors/<key>/`` with ``search.py`` (the declaration: a module-level
``SEARCH = SearchSpec(...)`` and the search's :class:`WorkingPoint`; light imports only, so that
``b2dark --help`` stays fast) and ``processor.py`` (its physics). `b2dark run` / `b2dark limits`,
the Make targets, provenance and the README table are derived from the declarations
(:mod:`processors.registry` finds them); a search that is not declared cannot be run or fitted.

The statistics plans and systematics are plain data here (processors never import workflows); the
statistics stage (``workflows/stats/plans``) implements one strategy per plan type:

- :class:`PeakScan`: a binned template fit per mass hypothesis in a window of the peak axis
  (Z' -> invisible, Z' -> mu mu, tau tau, mono-photon), with the mass -> observable map of the search;
- :class:`WindowCounting`: counting in rotated elliptical windows of a 2D plane (dark Higgsstrahlung);
- :class:`SidebandCounting`: cut-and-count with a background estimated from data sidebands (iDM).

Hypotheses are keyed by all the parameters a :class:`SignalModel` declares (never one mass with a
nearest match).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

# ----------------------------------------------------------------------------- model and samples


@dataclass(frozen=True)
class Luminosity:
    """The luminosity MC is normalised to by default (the published dataset), with its source."""

    fb: float
    source: str


@dataclass(frozen=True)
class Recast:
    """Cross-section limits -> coupling limits with the generator's own sigma(params, coupling).

    The signal rate is ``xsec_fb(params, c_ref) * (c / c_ref)**power * bf(params)``: tree-level cross
    sections are exact power laws in the coupling, so ``c_UL = c_ref (sigma_UL / (sigma_ref BF))**(1/power)``.
    ``params`` is a dict of the hypothesis parameters as numpy arrays (``{"mass": [...]}``)."""

    name: str  # key in tables / file names, e.g. "lmu_ltau"
    label: str  # coupling name for tables and plots, e.g. "g'"
    power: float
    c_ref: float
    xsec_fb: Callable[[Mapping[str, np.ndarray], float], np.ndarray]
    bf: Callable[[Mapping[str, np.ndarray]], np.ndarray]
    description: str


@dataclass(frozen=True)
class SignalModel:
    """A family of signal hypotheses: the generator process of its samples and the parameters that
    tell one hypothesis from another (catalog ``params`` names: mass, mass2, mass3, coupling, ctau)."""

    name: str  # e.g. "zprime"
    process: str  # catalog / generator process of its samples, e.g. "zprime_inv"
    label: str  # e.g. "Z'"
    params: tuple[str, ...] = ("mass",)
    param_labels: Mapping[str, str] = field(default_factory=dict)  # e.g. {"mass": r"$M_{Z'}$ [GeV]"}
    recasts: tuple[Recast, ...] = ()


@dataclass(frozen=True)
class DataSample:
    """A named data sample a search may be run on (the first one declared is the default)."""

    name: str
    doc: str = ""


# ----------------------------------------------------------------------------- systematics


@dataclass(frozen=True)
class NormSys:
    """Normalisation uncertainty (pyhf normsys, exponential interpolation): yield x hi at +1 sigma.
    ``samples``: None = every sample (signal included); otherwise the sample names it applies to
    ("signal" = the signal of the hypothesis)."""

    name: str
    lo: float
    hi: float
    samples: tuple[str, ...] | None = None


@dataclass(frozen=True)
class HistoSys:
    """Shape uncertainty read from the "syst" axis entries <name>Up/<name>Down or <name>_up/<name>_down."""

    name: str
    samples: tuple[str, ...] | None = None


@dataclass(frozen=True)
class StatError:
    """MC statistical uncertainty per bin (pyhf staterror, one gamma per bin shared by the samples)."""

    prune_below: float = 0.01  # fix gammas whose combined relative MC error is below this
    include_signal: bool = True


Systematic = NormSys | HistoSys | StatError


def lumi_normsys(rel: float) -> NormSys:
    """The integrated-luminosity uncertainty on every MC-normalised sample."""
    return NormSys("lumi", 1.0 - rel, 1.0 + rel)


# ----------------------------------------------------------------------------- statistics plans


@dataclass(frozen=True)
class PeakScan:
    """Binned template fit per mass hypothesis, in a window of +-``n_sigma`` signal widths on the
    axis ``axis`` of the processor histogram ``hist``; ``observable(mass)`` is where a signal of that
    mass peaks on it (M^2 for a recoil mass squared, (s - M^2)/(2 sqrt s) for a photon energy...).
    The signal width is the shared definition of :mod:`processors.resolution` (sigma_W of a double
    Crystal Ball, with the central-68 % half-width where the fit cannot converge)."""

    hist: str
    axis: str
    observable: Callable[[float], float]
    xsec_label: str  # what the cross-section limit is on (plots)
    n_sigma: float = 10.0
    rebin: bool = True  # resolution-tied rebinning of each window (workflows/stats/binning.py)
    min_neff: float = 10.0
    max_bins: int = 60
    summary_hist: str | None = None  # 1D hist of the peak axis for the per-mass table (default: hist)
    summary_window_n_sigma: float = 2.0  # the paper's signal region for background studies
    # where the signal width is measured around the peak, in axis units (processors.resolution.peak_width):
    # a number, or a function of the mass for peaks that narrow or widen strongly across the scan
    width_half_range: float | Callable[[float], float] = 2.0
    # None: a hypothesis per generated mass; a number: a scan in steps of that many signal widths
    scan_step_sigma: float | None = None

    def half_range(self, mass: float) -> float:
        r = self.width_half_range
        return float(r(mass) if callable(r) else r)


@dataclass(frozen=True)
class WindowCounting:
    """Counting in one rotated elliptical window per hypothesis in a 2D plane (x, y) of the weighted
    event lists (``x``/``y`` are event-list columns); the signal ellipse (widths along its principal
    axes and rotation) is fitted per generated point and interpolated across the plane."""

    x: str
    y: str
    observable: Callable[[Mapping[str, float]], tuple[float, float]]  # hypothesis -> ellipse centre
    xsec_label: str
    window_n_sigma: float = 2.0
    region: str | None = None  # event-list region (default: the processor's primary region)
    method: Literal["bayesian", "cls"] = "bayesian"
    # None: a window per generated point; a number: also a dense grid of hypotheses between them, in steps of
    # that many (marginal) signal widths, with the ellipse and the efficiency interpolated across the plane
    scan_step_sigma: float | None = None


@dataclass(frozen=True)
class SidebandCounting:
    """Cut-and-count per hypothesis in a window of the event-list column ``x`` tied to its resolution;
    the background from data sidebands of ``x`` (validated on MC, where the truth is known)."""

    x: str
    observable: Callable[[Mapping[str, float]], float]  # hypothesis -> window centre on x
    xsec_label: str
    window_n_sigma: float = 2.0
    sideband_n_sigma: tuple[float, float] = (3.0, 8.0)  # sidebands between these distances (in sigma)
    region: str | None = None
    # categories (e.g. final states): an event-list column and, per signal model, the value of its
    # category; a model's windows count only background and data events of that category
    category: str | None = None
    model_categories: Mapping[str, float] = field(default_factory=dict)
    closure_rel_unc: float = 0.0  # relative uncertainty of the sideband method (MC closure), added in quadrature
    # combination of the categories: rows of the declared signal model ``combine_as`` per hypothesis that two or
    # more category models share, counts and backgrounds summed, each model's signal weighted by
    # ``combine_weight(model, params)`` (e.g. its branching fraction): a limit on the cross section before it
    combine_as: str | None = None
    combine_weight: Callable[[str, Mapping[str, float]], float] | None = None


StatsPlan = PeakScan | WindowCounting | SidebandCounting


# ----------------------------------------------------------------------------- working points


class WorkingPoint(BaseModel):
    """Base of a search's working point: the thresholds that define its selection (ID cuts, vetoes,
    windows). A search subclasses it with its fields and their defaults; a variant working point is a
    YAML file (`b2dark run --working-point FILE`) or ``--set key=value``, checked against the model
    (unknown keys rejected) and recorded in provenance.json."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# ----------------------------------------------------------------------------- published numbers


@dataclass(frozen=True)
class PublishedPoint:
    """One published figure to print beside ours (a limit or a resolution at a parameter point)."""

    params: Mapping[str, float]
    value: float
    what: str  # e.g. "g' (expected)", "sigma x B [fb] (observed)"
    note: str = ""
    recast: str | None = None  # the Recast the value is a limit on (None: the cross section)
    model: str | None = None  # the signal model (None: the search's first)


@dataclass(frozen=True)
class Published:
    """The published result a search is compared with."""

    reference: str
    lumi_fb: float
    limits: tuple[PublishedPoint, ...] = ()
    resolution: tuple[PublishedPoint, ...] = ()  # the signal width on the peak axis, where published
    note: str = ""


# ----------------------------------------------------------------------------- the declaration


@dataclass(frozen=True)
class SearchSpec:
    """Everything about one search that is not its per-event physics."""

    name: str  # CLI / Make target, e.g. "zprime-inv"
    title: str  # e.g. "e+e- -> mu mu Z', Z' -> invisible"
    reference: str  # the analysis it follows
    processor: str  # "module:Class", imported only when the search runs
    lumi: Luminosity
    signals: tuple[SignalModel, ...]
    backgrounds: tuple[str, ...]  # catalog sample names, explicit
    data: tuple[DataSample, ...]  # the first is the default
    recipe: str  # samples/recipes/<recipe>.yaml makes every sample above
    stats: StatsPlan
    working_point: type[WorkingPoint] = WorkingPoint
    systematics: tuple[Systematic, ...] = ()
    published: Published | None = None
    cl: float = 0.90  # the paper's confidence level
    plots: str | None = None  # "module:function"(run, outdir, tools) -> list[Path]: search-specific plots
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Python-identifier form of the name (package name): "zprime-inv" -> "zprime_inv"."""
        return self.name.replace("-", "_")

    @property
    def default_data(self) -> str | None:
        return self.data[0].name if self.data else None

    @property
    def signal_processes(self) -> tuple[str, ...]:
        return tuple(m.process for m in self.signals)

    def signal_model(self, process: str) -> SignalModel:
        for m in self.signals:
            if m.process == process:
                return m
        raise KeyError(f"search {self.name}: no signal model for process {process!r}; declared: "
                       f"{[m.process for m in self.signals]}")  # fmt: skip


def hypothesis_key(model: SignalModel, params: Mapping[str, Any]) -> tuple[tuple[str, float], ...]:
    """The identity of a hypothesis: every declared parameter and its value (missing -> error)."""
    missing = [p for p in model.params if params.get(p) is None]
    if missing:
        raise KeyError(f"signal model {model.name!r} needs parameter(s) {missing}; got {dict(params)}")
    return tuple((p, float(params[p])) for p in model.params)

"""What every statistics plan shares: hypotheses keyed by all their parameters, typed limit rows,
the options of `b2dark limits`, the result a plan hands to the reports, and limits over workspaces."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from processors.spec import Recast, SearchSpec, SignalModel


@dataclass(frozen=True, order=True)
class Hypothesis:
    """One signal hypothesis: its model and every declared parameter with its value."""

    model: str
    params: tuple[tuple[str, float], ...]

    def __getitem__(self, name: str) -> float:
        for k, v in self.params:
            if k == name:
                return v
        raise KeyError(f"hypothesis {self.label} has no parameter {name!r}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.params)

    @property
    def label(self) -> str:
        return f"{self.model}(" + ", ".join(f"{k}={v:g}" for k, v in self.params) + ")"

    @property
    def tag(self) -> str:
        """File-name form: ``m2.5`` for a mass-only hypothesis, ``mass5_mass2_2`` otherwise."""
        if self.names == ("mass",):
            return f"m{self['mass']:.4g}"
        return "_".join(f"{k}{v:.4g}" for k, v in self.params)


@dataclass
class CouplingLimit:
    label: str
    observed: float
    expected: list[float]


@dataclass
class LimitRow:
    """The limit of one hypothesis, on sigma x B [fb] of the searched final state."""

    hypothesis: Hypothesis
    cl: float
    observed: float
    expected: list[float]  # -2, -1, median, +1, +2 sigma
    method: str
    z_local: float = float("nan")
    interpolated: bool = False
    n_bins: int | None = None
    reason: str = ""
    window: list[float] | None = None
    floored_bins: int = 0
    staterror_free: int = 0
    data_is_asimov: bool = False
    couplings: dict[str, CouplingLimit] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def mass(self) -> float:
        return self.hypothesis["mass"]

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"model": self.hypothesis.model, **dict(self.hypothesis.params), "cl": self.cl,
                             "reason": self.reason, "observed": self.observed, "expected": list(self.expected),
                             "method": self.method, "z_local": self.z_local, "interpolated": self.interpolated,
                             "n_bins": self.n_bins, "floored_bins": self.floored_bins,
                             "staterror_free": self.staterror_free, "data_is_asimov": self.data_is_asimov,
                             "window": self.window}  # fmt: skip
        if self.couplings:
            d["couplings"] = {k: vars(c) for k, c in self.couplings.items()}
        d.update(self.extra)
        return d


@dataclass
class StatsOptions:
    cl: float
    method: str = "auto"
    masses: Sequence[float] | None = None  # peak scans: these masses instead of the generated ones
    processes: int | None = None
    progress: bool = True
    ntoys: int = 2000
    postfit_mass: float | None = None  # peak scans: the mass of the pulls / post-fit plots
    scan_step_sigma: float | None = None  # peak scans: override the plan's step (0: the generated masses only)


@dataclass
class StatsResult:
    rows: list[LimitRow]
    workspaces: dict[str, dict] = field(default_factory=dict)  # name -> pyhf workspace (saved)
    postfit: tuple[str, dict] | None = None  # (tag, workspace) for the pulls / post-fit plots
    significance: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def signal_samples(spec: SearchSpec, samples: Mapping[str, Mapping[str, Any]], present: Iterable[str]
                   ) -> dict[str, tuple[SignalModel, Hypothesis]]:  # fmt: skip
    """Signal samples of the run -> (model, hypothesis); two samples of one hypothesis are an error."""
    from processors.spec import hypothesis_key

    present = set(present)
    out: dict[str, tuple[SignalModel, Hypothesis]] = {}
    seen: dict[Hypothesis, str] = {}
    for name, m in samples.items():
        if not m.get("is_signal") or name not in present or m.get("process") not in spec.signal_processes:
            continue
        model = spec.signal_model(str(m["process"]))
        hyp = Hypothesis(model.name, hypothesis_key(model, m))
        if hyp in seen:
            raise ValueError(f"signal samples {seen[hyp]!r} and {name!r} are the same hypothesis {hyp.label}")
        seen[hyp] = name
        out[name] = (model, hyp)
    return out


def add_couplings(rows: list[LimitRow], models: Mapping[str, SignalModel]) -> None:
    """Recast every row's cross-section limits into the couplings its model declares."""
    by_model: dict[str, list[LimitRow]] = {}
    for r in rows:
        by_model.setdefault(r.hypothesis.model, []).append(r)
    for name, rs in by_model.items():
        model = models[name]
        params = {p: np.array([r.hypothesis[p] for r in rs], float) for p in model.params}
        for rc in model.recasts:
            obs = recast_limits(rc, params, [r.observed for r in rs])
            exp = np.array([recast_limits(rc, params, [r.expected[i] for r in rs]) for i in range(5)])
            for j, r in enumerate(rs):
                r.couplings[rc.name] = CouplingLimit(rc.label, float(obs[j]), exp[:, j].tolist())


def recast_limits(rc: Recast, params: Mapping[str, np.ndarray], sigma_ul_fb: Sequence[float]) -> np.ndarray:
    """c_UL = c_ref (sigma_UL / (sigma(params, c_ref) BF(params)))^(1/power) (see processors.spec.Recast)."""
    ref = np.asarray(rc.xsec_fb(params, rc.c_ref), float) * np.asarray(rc.bf(params), float)
    sigma_ul = np.asarray(sigma_ul_fb, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ref > 0, rc.c_ref * (sigma_ul / ref) ** (1.0 / rc.power), np.nan)


def run_pool(fn: Callable[[Any], Any], jobs: Sequence[Any], processes: int | None, progress: bool, desc: str) -> list:
    """``fn`` over ``jobs`` in a process pool (processes=1: here), with a tqdm bar."""
    from concurrent.futures import ProcessPoolExecutor

    from tqdm.auto import tqdm

    processes = processes or min(len(jobs), os.cpu_count() or 1)
    if processes <= 1 or len(jobs) <= 1:
        return [fn(j) for j in tqdm(jobs, desc=desc, disable=not progress)]
    with ProcessPoolExecutor(processes) as pool:
        return list(tqdm(pool.map(fn, jobs), total=len(jobs), desc=desc, disable=not progress))

"""What the two counting plans (window counting, sideband counting) share: the weighted event lists of
a run split into signal hypotheses, MC backgrounds and the chosen data sample, and the conversion of a
limit on signal events into a cross-section limit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from processors.spec import SearchSpec
from workflows.stats.plans.common import Hypothesis, signal_samples


@dataclass
class EventLists:
    signals: dict[str, tuple[Hypothesis, dict[str, np.ndarray], float]]  # sample -> (hypothesis, columns, xsec_fb)
    background: dict[str, np.ndarray]  # the columns of every MC background, concatenated
    data: dict[str, np.ndarray] | None  # the data sample of the run (None: no data -> expected only)


def _concat(parts: list[Mapping[str, np.ndarray]], columns: set[str]) -> dict[str, np.ndarray]:
    return {c: np.concatenate([np.asarray(p[c], float) for p in parts]) if parts else np.zeros(0) for c in columns}


def split_eventlists(run_output, spec: SearchSpec, columns: tuple[str, ...]) -> EventLists:
    """The run's event lists by role; every column the plan needs (and the weights) must be there."""
    lists = run_output.eventlists()
    if not lists:
        raise KeyError(f"{run_output.path}: the run wrote no event list (eventlist.parquet); {spec.name}'s "
                       f"statistics plan counts events. Re-run `b2dark run {spec.name}`.")  # fmt: skip
    need = set(columns) | {"weight"}
    for sample, cols in lists.items():
        missing = sorted(need - set(cols))
        if missing:
            raise KeyError(f"{run_output.path}/eventlist.parquet: sample {sample!r} lacks column(s) {missing} that "
                           f"the {type(spec.stats).__name__} plan of {spec.name} needs; the processor must "
                           f"write them to its event list")  # fmt: skip
    sigs = signal_samples(spec, run_output.samples, lists)
    signals = {s: (hyp, lists[s], float(run_output.samples[s]["xsec_fb"])) for s, (_, hyp) in sigs.items()}
    bkg = [lists[s] for s in lists if s in spec.backgrounds]
    # a data sample of the run that selected nothing observed n = 0 (it has no event list, but it is data)
    data_names = [s for s, m in run_output.samples.items() if (m or {}).get("is_data")]
    data = _concat([lists[s] for s in data_names if s in lists], need) if data_names else None
    return EventLists(signals, _concat(bkg, need), data)


def sigma_limit_fb(events_ul: np.ndarray, signal_events: float, xsec_fb: float) -> np.ndarray:
    """A limit on signal events in the window -> a limit on sigma x B [fb]: the sample's selected yield
    ``signal_events`` corresponds to its cross section ``xsec_fb``."""
    if signal_events <= 0:
        return np.full(np.shape(events_ul), np.nan)
    return np.asarray(events_ul, float) * xsec_fb / signal_events

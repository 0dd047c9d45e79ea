"""Statistics plans: one implementation per strategy of processors.spec (PeakScan, WindowCounting,
SidebandCounting). Each module has ``run(run_output, spec, options) -> StatsResult``; `b2dark limits`
dispatches on the type of the search's declared plan and never on the search's name."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from processors.spec import PeakScan, SearchSpec, SidebandCounting, WindowCounting

IMPLEMENTATIONS: dict[type, str] = {
    PeakScan: "workflows.stats.plans.peak_scan",
    WindowCounting: "workflows.stats.plans.window_counting",
    SidebandCounting: "workflows.stats.plans.sideband",
}


def implementation(spec: SearchSpec) -> Callable[..., Any]:
    """The ``run`` function of the search's statistics plan."""
    try:
        module = IMPLEMENTATIONS[type(spec.stats)]
    except KeyError:
        raise TypeError(f"search {spec.name}: no statistics implementation for {type(spec.stats).__name__}; "
                        f"known plans: {[t.__name__ for t in IMPLEMENTATIONS]}") from None  # fmt: skip
    return importlib.import_module(module).run

"""workflows.masstable: per-mass efficiency, resolution and background composition."""

from __future__ import annotations

import hist
import numpy as np
import pytest

from processors.registry import get
from workflows.masstable import format_table, mass_table, total_efficiency
from workflows.outputs import RunOutput

SIGMA_M2 = 0.25  # [GeV^2] width of the synthetic signal peak
MASS = 2.0


def _run() -> RunOutput:
    rng = np.random.default_rng(3)
    h = hist.Hist(
        hist.axis.StrCategory([], growth=True, name="sample"),
        hist.axis.StrCategory([], growth=True, name="syst"),
        hist.axis.Regular(1000, -0.5, 81.0, name="m2_recoil"),
        storage=hist.storage.Weight(),
    )
    h.fill("sig", "nominal", rng.normal(MASS**2, SIGMA_M2, 40_000), weight=0.01)
    h.fill("sig", "muid_up", rng.normal(MASS**2, SIGMA_M2, 40_000), weight=0.02)  # must be ignored
    h.fill("bkg_a", "nominal", rng.uniform(0.0, 20.0, 20_000), weight=2.0)
    h.fill("bkg_b", "nominal", rng.uniform(0.0, 20.0, 10_000), weight=1.0)
    samples = {
        "sig": {"is_signal": True, "is_data": False, "mass": MASS, "filter_efficiency": 0.5, "process": "zprime_inv"},
        "bkg_a": {"is_signal": False, "is_data": False, "process": "mumu"},
        "bkg_b": {"is_signal": False, "is_data": False, "process": "tautau"},
    }
    cutflows = {"sig": {"names": ["all", "sel"], "raw": [100, 40], "weighted": [10.0, 4.0]}}
    return RunOutput({"m2_recoil": h}, cutflows, samples, {}, True, "zprime-inv", 79.7)


def test_efficiency_includes_the_generator_filter() -> None:
    assert total_efficiency(_run(), "sig") == pytest.approx(0.4 * 0.5)


def test_resolution_window_and_composition() -> None:
    spec = get("zprime-inv")
    (row,) = mass_table(_run(), spec)
    assert row["sigma_m2"] == pytest.approx(SIGMA_M2, rel=0.05)
    lo, hi = row["window_m2"]
    assert lo == pytest.approx(MASS**2 - 2 * row["sigma_m2"]) and hi == pytest.approx(MASS**2 + 2 * row["sigma_m2"])
    # +-2 sigma holds ~95 % of a Gaussian peak (nominal only: the muid_up fill is not counted)
    assert row["signal_in_window"] == pytest.approx(0.954 * 400.0, rel=0.03)
    # flat backgrounds: yield = density x window width, split 4:1 between the two processes
    width = hi - lo
    assert row["background_by_process"]["mumu"] == pytest.approx(40_000 / 20.0 * width, rel=0.1)
    assert row["background_by_process"]["tautau"] == pytest.approx(10_000 / 20.0 * width, rel=0.15)
    assert row["background_in_window"] == pytest.approx(sum(row["background_by_process"].values()))
    text = format_table([row], spec)
    assert "mumu" in text and "tautau" in text and f"{MASS:>8.3g}" in text

"""processors.resolution.peak_width: the fitted width, or the central 68 % width when the fit is implausible."""

from __future__ import annotations

import dataclasses

import hist
import numpy as np
import pytest

from processors import resolution

SIGMA = 0.02
PEAK = 5.0


def _peak() -> hist.Hist:
    h = hist.Hist(hist.axis.Regular(400, 4.0, 6.0, name="m"), storage=hist.storage.Weight())
    h.fill(np.random.default_rng(7).normal(PEAK, SIGMA, 50_000))
    return h


def test_a_gaussian_peak_gets_the_double_cb_width() -> None:
    width, how = resolution.peak_width(_peak(), PEAK, 10 * SIGMA)
    assert how == "double CB"
    assert width == pytest.approx(SIGMA, rel=0.05)


@pytest.mark.parametrize("factor", [0.3, 4.0])
def test_a_fit_far_from_the_68_percent_width_is_not_used(monkeypatch: pytest.MonkeyPatch, factor: float) -> None:
    """A double Crystal Ball that put a tail into one of its cores (seen for tau tau signals: sigma_W 2.7-14x
    the central width) would make every +-n sigma window that many times too wide: the 68 % width is used."""
    real = resolution.fit_double_cb_hist

    def distorted(h: hist.Hist) -> resolution.DCBFit:
        fit = real(h)
        return dataclasses.replace(fit, sigma1=fit.sigma1 * factor, sigma2=fit.sigma2 * factor)

    monkeypatch.setattr(resolution, "fit_double_cb_hist", distorted)
    width, how = resolution.peak_width(_peak(), PEAK, 10 * SIGMA)
    assert how == "68% interval"
    assert width == pytest.approx(SIGMA, rel=0.05)

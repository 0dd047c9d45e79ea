"""workflows.resolution: the Belle II reference tables and the signal-only recipe it generates (fast; the
end-to-end command is run by hand, its output is the README's resolution tables)."""

from __future__ import annotations

import numpy as np
import pytest

from processors.registry import get
from samples.constants import BELLE2_RESOLUTION
from workflows import resolution as R


def test_reference_interpolates_between_quoted_masses_and_not_beyond() -> None:
    pts = BELLE2_RESOLUTION["zprime-inv"]["points"]
    assert R.reference("zprime-inv", 0.1) == pytest.approx(pts[0.1])
    assert R.reference("zprime-inv", 0.55) == pytest.approx(np.interp(0.55, [0.1, 1.0], [pts[0.1], pts[1.0]]))
    assert R.reference("zprime-inv", 0.05) is None and R.reference("zprime-inv", 9.5) is None
    assert R.reference("monophoton", 1.0) is None  # no published table


def test_signal_recipe_keeps_only_signal_entries_with_the_asked_statistics() -> None:
    spec = get("zprime-inv")
    rec = R.signal_recipe(spec, 5000, [0.1, 8.0])
    assert [s["process"] for s in rec["samples"]] == ["zprime_inv"]
    assert rec["samples"][0]["masses"] == [0.1, 8.0] and rec["samples"][0]["n"] == 5000
    assert "pseudodata" not in rec
    with pytest.raises(SystemExit, match="no signal entry"):
        R.signal_recipe(spec, 5000, [0.123])


def test_half68_of_a_gaussian() -> None:
    x = np.random.default_rng(1).normal(0.0, 0.2, 200000)
    assert R._half68(x) == pytest.approx(0.2, rel=0.01)

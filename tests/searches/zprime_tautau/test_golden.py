"""Golden output of the Z' -> tau tau search: `b2dark run` + `b2dark limits` on the committed small
input set (golden/*.root, golden/catalog.yaml, built with `python tests/golden_tools.py build --skim
four_tracks --n 400`) reproduce golden/expected.json exactly (histograms, cutflows) and to 1e-4 (the
limit table). See tests/golden_tools.py."""

from __future__ import annotations

from pathlib import Path

import golden_tools
import pytest
from golden_tools import check_or_update, golden_fingerprint

GOLDEN = Path(__file__).parent / "golden"


def test_golden_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the expected bands of these 400-event inputs (tau tau events of weight ~100 in the windows; the fast
    # fit overflows on them) move by ~3e-6 relative between identical runs: compared to 1e-4 here, the
    # histograms and cutflows stay exact
    monkeypatch.setattr(golden_tools, "LIMIT_RTOL", 1e-4)
    got = golden_fingerprint("zprime-tautau", GOLDEN, tmp_path / "out", ("--step", "0"))
    check_or_update(GOLDEN / "expected.json", got)

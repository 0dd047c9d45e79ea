"""Golden output of the mono-photon search: `b2dark run` + `b2dark limits` on the committed small input set
(golden/*.root, golden/catalog.yaml: 600 skimmed events per sample, two signal masses) reproduce
golden/expected.json exactly (histograms, cutflows) and to 1e-6 (the limit table). See tests/golden_tools.py."""

from __future__ import annotations

from pathlib import Path

from golden_tools import check_or_update, golden_fingerprint

GOLDEN = Path(__file__).parent / "golden"


def test_golden_outputs(tmp_path: Path) -> None:
    got = golden_fingerprint("monophoton", GOLDEN, tmp_path / "out", ("--step", "0"))
    check_or_update(GOLDEN / "expected.json", got)

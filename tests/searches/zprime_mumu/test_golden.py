"""Golden output of the Z' -> mu mu search: `b2dark run` + `b2dark limits` on the committed small
input set (golden/*.root, golden/catalog.yaml) reproduce golden/expected.json exactly (histograms,
cutflows) and to 1e-6 (the limit table). See tests/golden_tools.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from golden_tools import check_or_update, limit_rows, run_fingerprint

from workflows import cli

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def golden_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("golden_zprime_mumu") / "out"
    rc = cli.main(
        [
            "run",
            "zprime-mumu",
            "--samples",
            str(GOLDEN / "catalog.yaml"),
            "--output",
            str(out),
            "--executor",
            "iterative",
            "--no-plots",
            "--no-progress",
        ]
    )
    assert rc == 0
    assert (
        cli.main(
            [
                "limits",
                "zprime-mumu",
                "--input",
                str(out),
                "--processes",
                "1",
                "--no-progress",
                "--no-hepdata",
                "--step",
                "0",
            ]
        )
        == 0
    )
    return out


def test_golden_outputs(golden_run: Path) -> None:
    got = run_fingerprint(golden_run)
    got["limits"] = limit_rows(golden_run / "limits" / "limits_zprime-mumu.csv")
    check_or_update(GOLDEN / "expected.json", got)

"""The mass scan of `b2dark limits` (issue 19): hypotheses outside the generated range are refused,
intermediate hypotheses lie between their generated neighbours, and the toy / step options are checked;
plus `b2dark generate --n 1e6` as the README writes it."""

from __future__ import annotations

import numpy as np
import pytest
from test_stats_cli import MASSES, fake_run

from workflows.stats import cli
from workflows.stats.plans import peak_scan as scan


def test_masses_outside_the_generated_range_are_refused(tmp_path, capsys) -> None:
    fake_run(tmp_path)
    rc = cli.main(["zprime-inv", "--input", str(tmp_path), "--masses", "3", "4.5", "--processes", "1", "--no-progress"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "[4.5]" in err and "outside the range of generated signal samples" in err and "2-4 GeV" in err
    with pytest.raises(scan.HypothesisRangeError, match=r"\[1.0\]"):
        h, samples = fake_run(tmp_path)
        scan.template_points(h, samples, [1.0, 3.0])


def test_intermediate_hypotheses_lie_between_their_neighbours(tmp_path) -> None:
    """Width, signal in the window and the expected limit of 2.5, 3, 3.5 GeV between those at 2 and 4 GeV."""
    h, samples = fake_run(tmp_path)
    masses = [MASSES[0], 2.5, 3.0, 3.5, MASSES[1]]
    pts = scan.template_points(h, samples, masses)
    rows = scan.run_limits(pts, 0.90, processes=1, progress=False)
    width = np.array([p.extra["resolution_m2"] for p in pts])
    sig = np.array([sum(p.workspace["channels"][0]["samples"][0]["data"]) for p in pts])
    for values in (width, sig):
        lo, hi = sorted((values[0], values[-1]))
        assert np.all((values[1:-1] >= lo * (1 - 1e-9)) & (values[1:-1] <= hi * (1 + 1e-9))), values
    # the signal of an intermediate mass carries the interpolated in-window yield: monotone in M here
    assert np.all(np.diff(sig) * np.sign(sig[-1] - sig[0]) >= -1e-9 * sig.max())
    exp = np.array([r["expected"][2] for r in rows])
    assert np.all(np.isfinite(exp)) and np.all(exp > 0)
    lo, hi = sorted((exp[0], exp[-1]))
    assert np.all((exp[1:-1] > 0.7 * lo) & (exp[1:-1] < 1.3 * hi)), exp


@pytest.mark.parametrize(("args", "message"), [
    (["--ntoys", "10"], "at least 100 toys"),
    (["--ntoys", "many"], "is not an integer"),
    (["--step", "-1"], "give 0 (generated masses only) or 0.25-20 widths"),
    (["--step", "x"], "is not a number"),
])  # fmt: skip
def test_scan_options_are_checked(tmp_path, capsys, args, message) -> None:
    fake_run(tmp_path)
    with pytest.raises(SystemExit) as e:
        cli.main(["zprime-inv", "--input", str(tmp_path), *args])
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_toys_reach_every_hypothesis_and_the_scan_time_is_announced(tmp_path, capsys, monkeypatch) -> None:
    """--method toys --ntoys N: N reaches the limit of every hypothesis, and one line says what the scan will
    cost. (The toys themselves are pyhf's, tested there: here they are replaced by the asymptotic limit so
    that the test takes seconds.)"""
    from workflows.stats import limits

    seen: list[tuple[str, int]] = []
    original = limits.upper_limit

    def fake_toys(ws, cl=0.9, method="auto", ntoys=2000, **kw):
        seen.append((method, ntoys))
        return original(ws, cl=cl, method="asymptotic")

    monkeypatch.setattr(limits, "upper_limit", fake_toys)
    fake_run(tmp_path)
    rc = cli.main(["zprime-inv", "--input", str(tmp_path), "--method", "toys", "--ntoys", "150", "--masses", "2", "3",
                   "4", "--processes", "1", "--no-progress", "--no-hepdata"])  # fmt: skip
    assert rc == 0
    assert seen == [("toys", 150)] * 3
    out = capsys.readouterr().out
    assert "[b2dark limits] toys: 3 hypotheses x 150 toys; the first took" in out and "min on 1 process(es)" in out


def test_generate_accepts_counts_in_e_notation() -> None:
    from samples.cli import _count

    assert _count("1e6") == 1_000_000 and _count("20000") == 20_000
    with pytest.raises(Exception, match=r"1\.5"):
        _count("1.5")

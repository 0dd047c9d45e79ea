"""`b2dark limits` options are validated up front with one line (issue 19), and a signal sample that selected
no events is named by `b2dark run`'s summary and by `b2dark limits` instead of being dropped silently."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import awkward as ak
import pytest
import uproot

sys.path.insert(0, str(Path(__file__).parent))

from workflow_helpers import TOY, make_fileset

from workflows import cli, outputs
from workflows.stats import cli as stats_cli


@pytest.mark.parametrize("value", ["95", "0", "1.5", "nan", "-0.2", "1"])
def test_cl_out_of_range(value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        cli.main(["limits", "zprime-inv", "--input", str(tmp_path), "--cl", value])
    assert e.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"b2dark limits: error: argument --cl: {value!r}: the confidence level is a fraction in [0.5, 1), e.g. 0.90 "
        "(not a percentage)"
    )


def test_cl_not_a_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["limits", "zprime-inv", "--input", str(tmp_path), "--cl", "ninety"])
    assert capsys.readouterr().err.splitlines()[-1] == (
        "b2dark limits: error: argument --cl: 'ninety' is not a number; give e.g. 0.90 or 0.95"
    )


@pytest.mark.parametrize("search", ["zprime-inv", "zprime-mumu"])
def test_exact_method_refused_on_a_template_fit(
    search: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["limits", search, "--input", str(tmp_path), "--method", "exact"]) == 2
    assert capsys.readouterr().err == (
        f"b2dark limits: error: --method exact is the exact Poisson CLs of a one-bin counting model; the peak scan "
        f"of {search} fits a multi-bin template: use --method auto, asymptotic or toys\n"
    )


def test_missing_input_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["limits", "zprime-inv", "--input", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err == (
        f"b2dark limits: error: --input {tmp_path / 'nope'} is not a folder; give the --output folder of "
        "`b2dark run zprime-inv`\n"
    )


def _keep_no_two_track_events(fileset: Path, sample: str) -> None:
    """Rewrite ``sample``'s file without the events the toy selection keeps (nTrack == 2)."""
    fs = json.loads(fileset.read_text())
    (name,) = fs[sample]["files"]
    path = fileset.parent / name
    with uproot.open(path) as f:
        arrays = f["events"].arrays()
    arrays = arrays[arrays.nTrack != 2]
    data = {k: arrays[k] for k in arrays.fields if not k.startswith("n")}
    colls = {c for c in {k.split("_", 1)[0] for k in arrays.fields} if f"n{c}" in arrays.fields}
    out = {k: v for k, v in data.items() if k.split("_", 1)[0] not in colls}
    for c in colls:
        out[c] = ak.zip({k.split("_", 1)[1]: arrays[k] for k in arrays.fields if k.startswith(c + "_")})
    with uproot.recreate(path) as f:
        f.mktree("events", {k: v.type for k, v in out.items()}, counter_name=lambda c: f"n{c}")
        f["events"].extend(out)
    n = len(arrays)
    fs[sample]["metadata"].update(n_events=n, n_generated=n, file_events={name: n})
    fileset.write_text(json.dumps(fs))


def test_signal_without_selected_events_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fileset = make_fileset(tmp_path / "in", files_per_sample=1, n=300)
    _keep_no_two_track_events(fileset, "sig_m1")
    out = tmp_path / "out"
    assert cli.main(["run", TOY, "--samples", str(fileset), "--output", str(out), "--executor", "iterative",
                     "--no-plots", "--no-progress"]) == 0  # fmt: skip
    n = outputs.load(out).nevents["sig_m1"]
    line = (f"NO EVENTS SELECTED: signal sample sig_m1 selected 0 of {n} events (no signal template, no limit at its "
            "hypothesis)")  # fmt: skip
    assert n > 0 and line in capsys.readouterr().out.splitlines()
    assert line in (out / "summary.txt").read_text().splitlines()
    assert stats_cli.empty_signal_lines(outputs.load(out)) == [
        "b2dark limits: signal sample 'sig_m1' (mass 1.0) selected no events: it gives no limit; its hypothesis is "
        "outside what the selection accepts"
    ]

    capsys.readouterr()
    assert cli.main(["limits", TOY, "--input", str(out), "--no-progress", "--processes", "1"]) == 2
    printed = capsys.readouterr()
    assert printed.out.splitlines()[0] == stats_cli.empty_signal_lines(outputs.load(out))[0]
    assert printed.err == f"b2dark limits: error: {TOY}: no hypothesis to fit (no signal sample with selected events)\n"

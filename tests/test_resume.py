"""Resume: kill `b2dark run` mid-run (SIGKILL, or Ctrl-C = SIGINT), rerun with --resume: the chunks
finished before the kill are not recomputed and the histograms equal an uninterrupted run exactly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from workflow_helpers import TOY, make_fileset

from workflows import cli, outputs
from workflows.checkpoint import PARTIAL_DIR

TESTS = Path(__file__).parent
B2DARK = [sys.executable, "-m", "workflows.cli"]


def _cmd(fileset: Path, out: Path, *extra: str) -> list[str]:
    return [
        *B2DARK,
        "run",
        TOY,
        "--samples",
        str(fileset),
        "--output",
        str(out),
        "--executor",
        "iterative",
        "--chunksize",
        "100",
        "--no-plots",
        "--no-progress",
        *extra,
    ]


def _env(**kw: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    env.update(kw)
    return env


def _partials(out: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in (out / PARTIAL_DIR).rglob("*.pkl")}


def _chunks(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize("sig", [signal.SIGKILL, pytest.param(signal.SIGINT, marks=pytest.mark.slow)])
def test_resume_after_kill(
    sig: signal.Signals, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fileset = make_fileset(tmp_path / "in", files_per_sample=2, n=300)
    out = tmp_path / "out"
    log1, log2 = tmp_path / "first.log", tmp_path / "second.log"
    # A shell starts background jobs (CI's among them) with SIGINT ignored, and children inherit that;
    # a user's Ctrl-C comes from a terminal where SIGINT has its default action, so restore it.
    proc = subprocess.Popen(
        _cmd(fileset, out),
        env=_env(B2_STANDIN_SLEEP="0.25", B2_STANDIN_LOG=str(log1)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 120
    while len(_partials(out)) < 5 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, f"run ended before it could be interrupted:\n{proc.communicate()[0]}"
    proc.send_signal(sig)
    text = proc.communicate(timeout=60)[0]
    assert proc.returncode != 0, text
    if sig == signal.SIGINT:
        assert "--resume" in text  # tells the user what to do
    assert not (out / outputs.HISTS_FILE).exists()
    before = _partials(out)
    assert len(before) >= 5

    # The restart runs in this process (same command line) to save an interpreter start-up.
    monkeypatch.setenv("B2_STANDIN_LOG", str(log2))
    monkeypatch.delenv("B2_STANDIN_SLEEP", raising=False)
    assert cli.main(_cmd(fileset, out, "--resume", "--keep-partial")[len(B2DARK) :]) == 0
    assert f"resume: {len(before)} finished chunk(s) found" in capsys.readouterr().out
    # Finished chunks were neither recomputed nor rewritten.
    recomputed = _chunks(log2)
    after = _partials(out)
    assert len(recomputed) == len(set(recomputed)) == len(after) - len(before) > 0
    assert all(after[p] == t for p, t in before.items())
    # The first run logged every chunk it started; the finished ones must not show up again.
    started_first = _chunks(log1)
    assert len(set(started_first) & set(recomputed)) <= 1  # at most the chunk cut short by the kill
    resumed = outputs.load(out)
    assert resumed.provenance["resume"]["chunks_reused"] == len(before)

    clean_out = tmp_path / "clean"
    _run_in_process(fileset, clean_out, chunksize=100, resume=False, keep=False)
    clean = outputs.load(clean_out)
    assert not (clean_out / PARTIAL_DIR).exists()  # cleaned up after a successful run
    assert set(clean.hists) == set(resumed.hists)
    for name, h in clean.hists.items():
        np.testing.assert_array_equal(resumed.hists[name].values(flow=True), h.values(flow=True))
        np.testing.assert_array_equal(resumed.hists[name].variances(flow=True), h.variances(flow=True))
    assert resumed.cutflows == clean.cutflows
    assert resumed.nevents == clean.nevents


def _run_in_process(fileset: Path, out: Path, chunksize: int, resume: bool, keep: bool) -> dict:
    from processors.registry import get as get_search
    from workflows.run import RunConfig, run
    from workflows.runoptions import load_run_options

    opts = load_run_options(cli={"executor": "iterative", "chunksize": chunksize, "status": False})
    run(
        RunConfig(
            search=get_search(TOY),
            samples=fileset,
            output=out,
            options=opts,
            plots=False,
            resume=resume,
            keep_partial=keep,
        )
    )
    return outputs.load(out).provenance["resume"]


def test_resume_ignores_other_configuration(tmp_path: Path) -> None:
    """Partials from a different chunk size are not reused (the hash covers the configuration)."""
    fileset = make_fileset(tmp_path / "in", files_per_sample=1, n=200)
    out = tmp_path / "out"

    def go(chunksize: int, resume: bool) -> dict:
        return _run_in_process(fileset, out, chunksize, resume, keep=True)

    first = go(100, resume=False)
    assert first["chunks_reused"] == 0
    again = go(100, resume=True)
    assert again["chunks_reused"] == again["chunks_computed"] + again["chunks_reused"] == 6
    other = go(50, resume=True)
    assert other["chunks_reused"] == 0 and other["hash"] != first["hash"]


@pytest.mark.slow
def test_twenty_interrupts_all_stop_and_resume_gives_the_clean_histograms(tmp_path: Path) -> None:
    """Ctrl-C (and SIGTERM) at 20 random moments of `b2dark run --resume`: every one stops the run with a
    non-zero status, the finished chunks survive, and the last resume gives exactly the uninterrupted
    run's histograms. Half of the moments are random times after the start (start-up, input checks,
    chunking, processing: wherever a loaded machine happens to be), half random times after the run has
    computed a chunk (certainly the processing), so both kinds are covered however slow the machine is."""
    # ~450 chunks of 0.25 s: far more than 20 attempts of at most a few seconds each can finish, so every
    # attempt is still running when its signal comes
    fileset = make_fileset(tmp_path / "in", files_per_sample=2, n=1500)
    out = tmp_path / "out"
    log = tmp_path / "chunks.log"
    rng = np.random.default_rng(20261203)
    stopped_at_safe_point = 0
    for attempt in range(20):
        sig = signal.SIGTERM if attempt % 4 == 3 else signal.SIGINT
        n_logged = len(_chunks(log))
        proc = subprocess.Popen(_cmd(fileset, out, "--chunksize", "20", "--resume", "--keep-partial"),
                                env=_env(B2_STANDIN_SLEEP="0.25", B2_STANDIN_LOG=str(log)), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
        if attempt % 2 == 0:
            time.sleep(rng.uniform(0.0, 3.0))
        else:
            deadline = time.time() + 180
            while len(_chunks(log)) <= n_logged and proc.poll() is None and time.time() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 1.0))
        assert proc.poll() is None, f"attempt {attempt}: the run ended before its signal:\n{proc.communicate()[0]}"
        proc.send_signal(sig)
        text = proc.communicate(timeout=120)[0]
        assert proc.returncode != 0, f"attempt {attempt} ({sig.name}) was not stopped:\n{text}"
        assert not (out / outputs.HISTS_FILE).exists(), text
        if attempt % 2 == 1:  # stopped during the processing: at a safe point, with the resume command
            assert "the finished chunks are checkpointed" in text and "--resume" in text, text
        stopped_at_safe_point += "the finished chunks are checkpointed" in text
    n_partials = len(_partials(out))
    print(f"20 of 20 interrupts stopped the run; {stopped_at_safe_point} of them during the processing "
          f"(at a safe point), {n_partials} chunks checkpointed")  # fmt: skip
    assert stopped_at_safe_point >= 10 and n_partials > 0

    done = subprocess.run(_cmd(fileset, out, "--chunksize", "20", "--resume"), env=_env(), capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    resumed = outputs.load(out)
    assert resumed.provenance["resume"]["chunks_reused"] == n_partials
    clean_out = tmp_path / "clean"
    _run_in_process(fileset, clean_out, chunksize=20, resume=False, keep=False)
    clean = outputs.load(clean_out)
    for name, h in clean.hists.items():
        np.testing.assert_array_equal(resumed.hists[name].values(flow=True), h.values(flow=True))
        np.testing.assert_array_equal(resumed.hists[name].variances(flow=True), h.variances(flow=True))
    assert resumed.cutflows == clean.cutflows and resumed.nevents == clean.nevents

"""Interrupted runs leave one consistent output folder (issue 18, section 5), with deterministic injection points
(``B2DARK_TEST_SIGNAL=STAGE:SIGNAL``: the run signals itself at that stage, no timing luck):

- SIGINT / SIGTERM after a chunk, between two files of the saving stage, before the plots, during the switch of
  the results into DIR: exit 128 + signal, one line on stderr with the resume command and no traceback; DIR
  holds the previous complete run (or, for the switch, the new complete one); ``--resume`` completes it.
- SIGKILL in the middle of the switch: ``outputs.load`` refuses the folder, the next run completes the switch.
- ``outputs.load`` refuses a folder whose files come from different runs; a run removes stale temporaries.
- The processes an executor started do not outlive the run (``ownedprocs.reaped``)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import psutil
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from workflow_helpers import TOY, make_fileset

from workflows import cli, interrupt, outputs, ownedprocs

TESTS = Path(__file__).parent
WORKTREE = TESTS.parent


def _args(fileset: Path, out: Path, *extra: str) -> list[str]:
    return ["run", TOY, "--samples", str(fileset), "--output", str(out), "--executor", "iterative", "--chunksize",
            "100", "--no-plots", "--no-progress", *extra]  # fmt: skip


@pytest.fixture(scope="module")
def previous(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Inputs and a complete earlier run's folder (copied per test)."""
    tmp = tmp_path_factory.mktemp("prev")
    fileset = make_fileset(tmp / "in", files_per_sample=1, n=300)
    assert cli.main(_args(fileset, tmp / "out")) == 0
    return fileset, tmp / "out"


def _run_id(out: Path) -> str:
    return str(outputs.load(out).provenance["run_id"])


@contextmanager
def _inject(spec: str) -> Iterator[None]:
    os.environ["B2DARK_TEST_SIGNAL"] = spec
    try:
        yield
    finally:
        del os.environ["B2DARK_TEST_SIGNAL"]


CASES = [
    ("after-chunk-2", "SIGINT", "previous"),
    ("saving-between-files", "SIGINT", "previous"),
    ("plots", "SIGTERM", "previous"),
    ("commit", "SIGTERM", "new"),
]


@pytest.mark.parametrize(("stage", "sig", "left"), CASES, ids=[f"{s}-{g}" for s, g, _ in CASES])
def test_interrupt_leaves_one_complete_run(
    stage: str, sig: str, left: str, previous: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fileset, prev = previous
    out = tmp_path / "out"
    shutil.copytree(prev, out)
    before = _run_id(out)
    (out / ".hists.root.tmp4242").write_bytes(b"half")  # a temporary a killed run left: removed under the lock
    (out / "mine.tmp1").write_text("a user's file: not b2dark's pattern, kept")
    capsys.readouterr()
    with _inject(f"{stage}:{sig}"):
        code = cli.main(_args(fileset, out))
    err = capsys.readouterr().err
    assert code == 128 + signal.Signals[sig], err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines == [f"[b2dark] stopped by {sig}; the finished chunks are checkpointed. To go on: b2dark "
                     + " ".join([*_args(fileset, out), "--resume"])], err  # fmt: skip
    now = _run_id(out)  # loads: the folder is one complete run
    assert (now == before) == (left == "previous")
    assert not (out / outputs.STAGING_DIR).exists() and not (out / outputs.COMMIT_JOURNAL).exists()
    assert [p.name for p in out.iterdir() if ".tmp" in p.name] == ["mine.tmp1"]
    assert cli.main(_args(fileset, out, "--resume")) == 0
    done = outputs.load(out)
    assert done.provenance["run_id"] not in (before, now)
    if stage == "after-chunk-2":
        assert done.provenance["resume"]["chunks_reused"] == 2
    ref = outputs.load(prev)
    for name, h in ref.hists.items():
        np.testing.assert_array_equal(done.hists[name].values(flow=True), h.values(flow=True))


def test_killed_during_the_switch_is_refused_then_completed(previous: tuple[Path, Path], tmp_path: Path) -> None:
    fileset, prev = previous
    out = tmp_path / "out"
    shutil.copytree(prev, out)
    env = {**os.environ, "B2DARK_TEST_SIGNAL": "commit:SIGKILL",
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "workflows.cli", *_args(fileset, out)], cwd=WORKTREE, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    killed = json.loads((out / outputs.COMMIT_JOURNAL).read_text())["run_id"]
    with pytest.raises(outputs.OutputFolderError, match="killed while it switched its results in"):
        outputs.load(out)
    assert outputs.recover(out) == [f"completed the interrupted switch of run {killed} into {out}"]
    assert _run_id(out) == killed and not (out / outputs.STAGING_DIR).exists()


def test_load_refuses_a_folder_of_two_runs(previous: tuple[Path, Path], tmp_path: Path) -> None:
    a = tmp_path / "a"
    shutil.copytree(previous[1], a)
    info = json.loads((a / outputs.RUN_FILE).read_text())
    (a / outputs.RUN_FILE).write_text(json.dumps({**info, "run_id": "0" * 32}))  # run.json of another run
    prev = _run_id(previous[1])
    with pytest.raises(outputs.OutputFolderError, match=rf"{a / outputs.RUN_FILE} belongs to run 0{{32}}, the "
                       rf"folder's other files to run {prev}: {a} mixes two runs"):  # fmt: skip
        outputs.load(a)
    shutil.copy(previous[1] / outputs.RUN_FILE, a / outputs.RUN_FILE)
    (a / outputs.CUTFLOW_TXT).write_text("edited\n")
    with pytest.raises(outputs.OutputFolderError, match=rf"{a / outputs.CUTFLOW_TXT} has 7 bytes, not \d+"):
        outputs.load(a)


class _Starts:
    """An executor-like context that starts a process which ignores SIGTERM and does not stop on close."""

    def __enter__(self) -> subprocess.Popen:
        code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); " \
               "time.sleep(120)"  # fmt: skip
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline() == "up\n"
        return self.proc

    def __exit__(self, *exc: object) -> None:
        return None


def test_processes_the_run_started_do_not_outlive_it() -> None:
    t0 = time.monotonic()
    with ownedprocs.reaped(_Starts(), grace_s=0.2) as proc:
        pid = proc.pid
    # it ignored SIGTERM and would have slept 120 s: gone at once means killed (and reaped)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert time.monotonic() - t0 < 30


def test_multiprocessing_helpers_are_not_reaped() -> None:
    """The resource tracker ignores SIGINT / SIGTERM and exits with this process: waiting for it would add the
    whole grace time to every stop (and killing it makes multiprocessing relaunch it)."""
    cmd = [sys.executable, "-c", "import time; time.sleep(60)", "multiprocessing.resource_tracker"]
    with ownedprocs.reaped(_Starts(), grace_s=0.2) as worker:
        helper = subprocess.Popen(cmd)  # started while the executor is open, like the real one
    try:
        assert helper.poll() is None and not psutil.pid_exists(worker.pid)
    finally:
        helper.kill()
        helper.wait()


class _HangsOnClose(_Starts):
    """A cluster whose close waits for its worker forever (a nanny joining a worker process that does not exit)."""

    def __exit__(self, *exc: object) -> None:
        self.proc.wait()


def test_an_executor_that_hangs_on_close_is_stopped_anyway() -> None:
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match=r"did not close within 0\.5 s"):
        with ownedprocs.reaped(_HangsOnClose(), grace_s=0.2, close_s=0.5) as worker:
            pid = worker.pid
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert time.monotonic() - t0 < 30


class _StopsWhileStarting(_Starts):
    """Ctrl-C while the executor starts (a LocalCluster spawning its workers): its processes are never closed by it;
    left alone, they and the nannies joining them kept a stopped run alive for minutes (stress try 5)."""

    def __enter__(self) -> subprocess.Popen:
        proc = super().__enter__()
        self.pid = proc.pid
        raise interrupt.RunInterrupted(signal.SIGINT)


def test_a_stop_while_the_executor_starts_stops_its_processes() -> None:
    ctx = _StopsWhileStarting()
    with pytest.raises(interrupt.RunInterrupted):
        with ownedprocs.reaped(ctx, grace_s=0.2):
            pass
    assert not psutil.pid_exists(ctx.pid) or psutil.Process(ctx.pid).status() == psutil.STATUS_ZOMBIE


class _SignalsInDestructor:
    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # the stop lands inside a destructor: Python cannot raise it there


def test_a_stop_inside_a_destructor_is_raised_again_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(interrupt.RunInterrupted):
        with interrupt.stop_on_signal(), interrupt.at_once(repeat_s=0.05):
            _SignalsInDestructor()  # dropped at once: __del__ runs here
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # the repeat timer raises it again within 0.05 s
                time.sleep(0.01)
    assert "Exception ignored" not in capsys.readouterr().err

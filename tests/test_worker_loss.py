"""Killing a dask worker in the middle of a run still gives the clean run's result (retries/rescheduling)."""

import os
import signal
import threading
import time

import executor_toys as toys
import pytest

from workflows.executors import build_executor
from workflows.runoptions import load_run_options


def _scheduler_state(dask_scheduler):
    """Per worker: (pid-independent address, tasks processing); and tasks finished so far."""
    processing = {addr: len(ws.processing) for addr, ws in dask_scheduler.workers.items()}
    done = sum(1 for ts in dask_scheduler.tasks.values() if ts.state == "memory")
    return processing, done


def _kill_one_busy_worker(client, killed: dict, stop: threading.Event) -> None:
    """Wait until >= 2 chunks are done and a worker is busy, then SIGKILL that worker's process."""
    while not stop.is_set():
        processing, done = client.run_on_scheduler(_scheduler_state)
        busy = [addr for addr, n in processing.items() if n > 0]
        if done >= 2 and busy:
            pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            killed.update(address=busy[0], pid=pid, done_before=done, t=time.monotonic())
            return
        time.sleep(0.05)


@pytest.mark.slow
def test_worker_killed_mid_run_gives_identical_result(tmp_path):
    toys.ship_by_value()
    files = toys.write_toy_files(tmp_path, n_files=2, n_events=3000, seed=11)
    fileset = {"toyA": {"files": {files[0]: "events"}}, "toyB": {"files": {files[1]: "events"}}}
    # 12 chunks x 0.4 s on 2 workers: a ~2.5 s run, long enough to kill a worker in the middle
    with build_executor("iterative", load_run_options()) as h:
        clean = toys.run_toy(h.executor, fileset, chunksize=500)

    opts = load_run_options(cli={"executor": "dask@local", "workers": 2, "retries": 3})
    killed: dict = {}
    stop = threading.Event()
    with build_executor(None, opts) as handle:
        handle.client.wait_for_workers(2, timeout=60)
        killer = threading.Thread(target=_kill_one_busy_worker, args=(handle.client, killed, stop))
        killer.start()
        try:
            survived = toys.run_toy(handle.executor, fileset, chunksize=500, sleep=0.4)
        finally:
            stop.set()
            killer.join(timeout=30)
        t_end = time.monotonic()
        events = handle.describe()["worker_events"]

    assert killed, "the worker was never killed: the run finished too fast to test worker loss"
    assert killed["t"] < t_end
    print(
        f"killed worker {killed['address']} (pid {killed['pid']}) after {killed['done_before']} tasks; "
        f"scheduler saw {events}"
    )
    assert events["workers_removed"] >= 1
    assert events["tasks_rescheduled_after_worker_loss"] >= 1
    assert events["tasks_erred"] == 0
    toys.assert_same_output(clean, survived)
    assert survived["chunks"] == {"toyA": 6, "toyB": 6}


@pytest.mark.slow
def test_transient_task_error_is_retried_and_counted(tmp_path):
    """A chunk that fails once is re-run by dask (``retries``); the result equals a clean run."""
    toys.ship_by_value()
    files = toys.write_toy_files(tmp_path, n_files=2, n_events=1000, seed=5)
    fileset = {"toyA": {"files": {files[0]: "events"}}, "toyB": {"files": {files[1]: "events"}}}
    with build_executor("iterative", load_run_options()) as h:
        clean = toys.run_toy(h.executor, fileset, chunksize=500)
    markers = tmp_path / "markers"
    markers.mkdir()
    opts = load_run_options(cli={"executor": "dask@local", "workers": 1, "retries": 2})
    with build_executor(None, opts) as handle:
        flaky = toys.run_toy(
            handle.executor, fileset, chunksize=500, processor_instance=toys.FlakyToyProcessor(str(markers))
        )
        events = handle.describe()["worker_events"]
    print(f"worker events: {events}")
    assert sorted(p.name for p in markers.iterdir()) == ["toy_0.failed-once", "toy_1.failed-once"]
    assert events["tasks_retried_after_error"] == 2
    assert events["tasks_erred"] == 0
    toys.assert_same_output(clean, flaky)


@pytest.mark.slow
def test_without_retries_the_error_names_the_chunk(tmp_path):
    toys.ship_by_value()
    files = toys.write_toy_files(tmp_path, n_files=1, n_events=600, seed=5)
    (tmp_path / "markers").mkdir()
    opts = load_run_options(cli={"executor": "dask@local", "workers": 1, "retries": 0})
    with (
        build_executor(None, opts) as handle,
        pytest.raises(Exception, match=r"transient read error \(test\) in .*toy_0\.root"),
    ):
        toys.run_toy(
            handle.executor,
            {"toyA": {"files": {files[0]: "events"}}},
            chunksize=300,
            processor_instance=toys.FlakyToyProcessor(str(tmp_path / "markers")),
        )

"""The processes a run starts (dask workers and nannies, futures pools) end with the run.

A LocalCluster's worker processes get the terminal's Ctrl-C too and may outlive the client by seconds while
they shut down; a run stopped by a signal must not leave them behind. :func:`reaped` wraps the executor
context: on exit (shielded from further signals) the executor is closed as usual (given ``close_s``), then every
process that appeared under this one while the executor was open is waited for, terminated after ``grace_s`` and
killed after as long again.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

import psutil

from workflows import interrupt

T = TypeVar("T")


# multiprocessing's helpers serve this process, not the executor: they ignore SIGINT / SIGTERM by design and exit
# when this process does (their pipe closes), so they are neither waited for nor stopped.
_HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


def _children() -> dict[int, psutil.Process]:
    out = {}
    try:
        for p in psutil.Process().children(recursive=True):
            try:
                if not any(h in " ".join(p.cmdline()) for h in _HELPERS):
                    out[p.pid] = p
            except psutil.Error:
                continue
    except psutil.Error:
        pass
    return out


def stop(procs: list[psutil.Process], grace_s: float) -> list[int]:
    """Wait for ``procs`` to exit, then SIGTERM, then SIGKILL the rest. Returns the pids that had to be killed."""
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    forced = [p.pid for p in alive]
    for sig_fn in ("terminate", "kill"):
        for p in alive:
            try:
                getattr(p, sig_fn)()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(alive, timeout=grace_s)
        if not alive:
            break
    return forced


def _close(ctx: AbstractContextManager[Any], info: Any, close_s: float) -> BaseException | None:
    """``ctx.__exit__`` in a helper thread, given ``close_s``: a cluster whose workers were hit by the same Ctrl-C
    can wait for them forever (a nanny joins its worker process); the reaping after it ends them either way."""
    out: list[BaseException] = []

    def close() -> None:
        try:
            ctx.__exit__(*info)
        except Exception as e:  # closing a cluster that is already going down
            out.append(e)

    t = threading.Thread(target=close, name="b2dark-executor-close", daemon=True)
    t.start()
    t.join(close_s)
    if t.is_alive():
        out.append(TimeoutError(f"the executor did not close within {close_s:g} s"))
    return out[0] if out else None


@contextmanager
def reaped(ctx: AbstractContextManager[T], grace_s: float = 10.0, close_s: float = 30.0) -> Iterator[T]:
    """``with reaped(executor_context) as handle``: no process started inside outlives the block."""
    before = set(_children())
    seen: dict[int, psutil.Process] = {}

    def snapshot() -> None:
        for pid, p in _children().items():
            if pid not in before:
                seen.setdefault(pid, p)

    try:
        value = ctx.__enter__()
    except BaseException:  # e.g. Ctrl-C while a LocalCluster spawns its workers: nothing will close them
        snapshot()
        with interrupt.shielded():
            stop(list(seen.values()), grace_s)
        raise
    snapshot()
    try:
        yield value
    finally:
        info = sys.exc_info()
        snapshot()  # workers restarted during the run
        with interrupt.shielded():
            error = _close(ctx, info, close_s)
            forced = stop(list(seen.values()), grace_s)
            if forced and info[0] is None:  # after a stop or an error the user sees that one line only
                print(f"[b2dark] stopped {len(forced)} process(es) of the run that did not exit: {forced}",
                      file=sys.stderr)  # fmt: skip
            if error is not None and info[0] is None:
                raise error

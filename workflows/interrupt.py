"""Ctrl-C / SIGTERM that stop a run every time, with its finished chunks intact.

Python's default KeyboardInterrupt is raised wherever the main thread happens to be; inside a
destructor (e.g. uproot's ``ReadOnlyFile.__del__``) it is printed as "Exception ignored" and lost,
and the run goes on to finish with exit 0. So while chunks are processed, :func:`stop_on_signal`
installs handlers (from the input checks to the end of the processing) that only *record* the
request; the run stops at the next safe point:

- after the input checks and the chunking, and when this process computes the chunks (iterative
  executor) right after a chunk's checkpoint is written or read (:func:`check`, called by
  workflows.checkpoint): the checkpoints are whole;
- when workers compute them (futures / dask executors: the main thread only waits and merges,
  :func:`workers_compute`), at once, and again every ``repeat_s`` until it is not swallowed.

- while the run saves its results into DIR/.staging/ (:func:`at_once`): at once (the staging folder
  is thrown away; the previous results in DIR stay);
- never inside :func:`shielded` (switching the complete results into DIR, stopping the workers): the
  request waits until the block is done, however often the signal comes.

The stop is a :class:`RunInterrupted` (a BaseException, so no ``except Exception`` of coffea's
retries or ours can swallow it); `b2dark run` prints how to resume and exits 128 + signal number.
A second Ctrl-C while waiting for the safe point stops at once.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class RunInterrupted(BaseException):
    """The user asked the run to stop (SIGINT / SIGTERM); finished chunks are checkpointed."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


_requested: int | None = None  # the signal received while a run processes chunks (this process only)
_deferred = False  # True: raise only at safe points (chunks computed in this process)
_shielded = 0  # > 0: never raise (the output folder is being switched, workers are being stopped)


def requested() -> int | None:
    return _requested


def check() -> None:
    """A safe point: stop here if a stop was requested."""
    if _requested is not None:
        raise RunInterrupted(_requested)


def _handler(signum: int, frame: FrameType | None) -> None:
    global _requested
    first = _requested is None
    _requested = signum
    if _shielded:
        return
    if not _deferred or not first:  # workers compute (nothing to tear here), or the user insists
        raise RunInterrupted(signum)


def _repeat(signum: int, frame: FrameType | None) -> None:
    if _requested is not None and not _shielded:
        raise RunInterrupted(_requested)


@contextmanager
def stop_on_signal() -> Iterator[None]:
    """Record SIGINT / SIGTERM during the block and stop at safe points (see the module docstring);
    a request still pending at the end of the block stops there. No-op off the main thread."""
    global _requested, _deferred
    if threading.current_thread() is not threading.main_thread() or active():
        yield  # nested (the run driver holds it over the whole run): the outer block owns the handlers
        check()
        return
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    previous_hook = sys.unraisablehook
    _requested, _deferred = None, True
    for s in SIGNALS:
        signal.signal(s, _handler)
    sys.unraisablehook = _quiet_unraisable(previous_hook)
    try:
        yield
        check()
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        sys.unraisablehook = previous_hook
        _requested, _deferred = None, False


def _quiet_unraisable(previous: Any) -> Any:
    """A stop raised inside a destructor is lost ("Exception ignored in ..." and a traceback on stderr); the
    repeat timer raises it again where it lands. Only that message is hidden: every other one is printed."""

    def hook(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, RunInterrupted):
            previous(unraisable)

    return hook


def active() -> bool:
    """True inside :func:`stop_on_signal` (on the main thread)."""
    return signal.getsignal(signal.SIGINT) is _handler


@contextmanager
def shielded() -> Iterator[None]:
    """A block that a signal must not cut (e.g. moving the complete results into DIR): requests are only
    recorded; the caller calls :func:`check` after it."""
    global _shielded
    _shielded += 1
    try:
        yield
    finally:
        _shielded -= 1


@contextmanager
def workers_compute(repeat_s: float = 0.5) -> Iterator[None]:
    """Inside :func:`stop_on_signal`, while workers compute the chunks: stop at once on a request,
    re-raised every ``repeat_s`` until it lands outside a destructor."""
    with at_once(repeat_s):
        yield


@contextmanager
def at_once(repeat_s: float = 0.5) -> Iterator[None]:
    """Inside :func:`stop_on_signal`, where nothing is lost by stopping anywhere (workers compute; the run
    writes its staging folder): stop at once, re-raised every ``repeat_s`` until it lands outside a destructor."""
    global _deferred
    if threading.current_thread() is not threading.main_thread() or not active():
        yield
        return
    check()
    previous_alarm = signal.getsignal(signal.SIGALRM)
    _deferred = False
    signal.signal(signal.SIGALRM, _repeat)
    signal.setitimer(signal.ITIMER_REAL, repeat_s, repeat_s)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous_alarm)
        _deferred = True


def inject(stage: str) -> None:
    """A test hook: with ``B2DARK_TEST_SIGNAL=STAGE:SIGNAME`` (e.g. ``saving-between-files:SIGTERM``) the run
    sends itself that signal when it reaches the named stage, so interrupt tests need no timing luck.
    Stages: after-chunk-K (K-th chunk checkpointed, from 1), saving-between-files, plots, commit."""
    want = os.environ.get("B2DARK_TEST_SIGNAL")
    if not want:
        return
    name, _, sig = want.rpartition(":")
    if name == stage:
        os.kill(os.getpid(), signal.Signals[sig])

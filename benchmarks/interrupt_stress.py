"""Interrupt `b2dark run` at random moments and check what it leaves (issue 18, section 5).

    python -m benchmarks.interrupt_stress --tries 20 [--seed 18] [--executor dask@local]
        [--samples tests/searches/zprime_inv/golden/catalog.yaml] [--search zprime-inv] [--out data/stress]

First one complete run (its wall time T sets the range of the delays). Then, per try: start the run in its own
process group, send SIGINT (as Ctrl-C does, to the whole group) or SIGTERM (to the main process) after a
seeded random delay in [0, 1.1 T], and check

- the folder: ``outputs.load`` reads it and it is the previous complete run or a new complete one (its
  histograms equal the first run's);
- processes: one second after the main process exited, no process of its group is alive (/proc);
- ``--resume`` (no signal; ``--no-plots`` to keep the measurement short) completes with the first run's
  histograms.

Prints one row per try and exits 1 if any check failed. A measurement, not a unit test (those use the
deterministic injection points of workflows.interrupt.inject).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from workflows import outputs

STAGE_LINE = re.compile(r"\[b2dark\] stage (\S+)")


def group_members(pgid: int) -> list[int]:
    """Pids of the live (non-zombie) processes in process group ``pgid`` (from /proc)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(d.name))
    return out


def _hists_equal(a: outputs.RunOutput, b: outputs.RunOutput) -> bool:
    return set(a.hists) == set(b.hists) and all(
        np.array_equal(a.hists[k].values(flow=True), b.hists[k].values(flow=True)) for k in a.hists
    )


def _start(cmd: list[str]) -> subprocess.Popen:
    # own session = own process group, SIGINT not ignored (a background job would inherit SIG_IGN)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tries", type=int, default=20)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--search", default="zprime-inv")
    ap.add_argument("--samples", default="tests/searches/zprime_inv/golden/catalog.yaml")
    ap.add_argument("--executor", default="dask@local")
    ap.add_argument("--workers", default="2")
    ap.add_argument("--out", type=Path, default=Path("data/stress"))
    ap.add_argument("--extra", nargs="*", default=[], help="more `b2dark run` arguments")
    args = ap.parse_args(argv)

    out = args.out / args.search
    base = [sys.executable, "-m", "workflows.cli", "run", args.search, "--samples", args.samples, "--output",
            str(out), "--executor", args.executor, "--workers", args.workers, "--no-progress", *args.extra]  # fmt: skip
    t0 = time.perf_counter()
    first = subprocess.run(base, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if first.returncode != 0:
        print(first.stdout + first.stderr)
        return 1
    reference = outputs.load(out)
    previous = reference.provenance["run_id"]
    print(f"complete run: {wall:.1f} s wall; delays uniform in [0, {1.1 * wall:.1f}] s; seed {args.seed}")
    rng = np.random.default_rng(args.seed)
    head = f"{'try':>3} {'signal':<7} {'delay s':>7} {'stage done':<11} {'exit':>4} {'folder':<9} {'left':>4} " \
           f"{'one line':<8} {'resume':<6}"  # fmt: skip
    print(head)
    failures = 0
    for i in range(args.tries):
        sig = signal.SIGINT if rng.random() < 0.5 else signal.SIGTERM
        delay = float(rng.uniform(0.0, 1.1 * wall))
        proc = _start(base)
        time.sleep(delay)
        if proc.poll() is None:
            if sig == signal.SIGINT:
                os.killpg(proc.pid, sig)  # Ctrl-C: the terminal signals the whole foreground group
            else:
                proc.send_signal(sig)  # kill PID
        try:
            text = proc.communicate(timeout=600)[0]
        except subprocess.TimeoutExpired:  # a hung run is a failure of this check; end it and go on
            os.killpg(proc.pid, signal.SIGKILL)
            text = proc.communicate()[0] + "\n[interrupt_stress] HUNG: killed after 600 s"
        time.sleep(1.0)
        left = group_members(proc.pid)
        stages = STAGE_LINE.findall(text)
        try:
            now = outputs.load(out)
            state = "previous" if now.provenance["run_id"] == previous else "new"
            ok_folder = state == "previous" or _hists_equal(now, reference)
        except Exception as e:  # a folder b2dark refuses: a failure of this check
            state, ok_folder = f"BAD ({type(e).__name__})", False
        tail = [ln for ln in text.splitlines() if ln.strip()][-1:] or [""]
        one_line = proc.returncode == 0 or ("Traceback" not in text and "--resume" in tail[0])
        resumed = subprocess.run([*base, "--resume", "--no-plots"], capture_output=True, text=True)
        ok_resume = resumed.returncode == 0 and _hists_equal(outputs.load(out), reference)
        previous = outputs.load(out).provenance["run_id"]
        ok = ok_folder and not left and one_line and ok_resume
        failures += not ok
        print(f"{i + 1:>3} {sig.name:<7} {delay:>7.2f} {(stages[-1] if stages else '-'):<11} {proc.returncode:>4} "
              f"{state:<9} {len(left):>4} {one_line!s:<8} {ok_resume!s:<6}" + ("" if ok else "  <-- FAIL"),
              flush=True)  # fmt: skip
        if not ok and not one_line:
            print("    " + "\n    ".join(text.splitlines()[-15:]))
    print(f"{args.tries - failures} of {args.tries} tries passed every check")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

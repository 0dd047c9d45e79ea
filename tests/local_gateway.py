"""A dask-gateway server on localhost for the tests (tests/test_gateway.py, the analysis-facility notebook):
started with workflows/scripts/start_gateway.sh, stopped with stop_gateway.sh; the fixture in conftest.py fails
if the server or one of its schedulers / workers survives the stop."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "workflows" / "scripts"
START_TIMEOUT = 300  # seconds: a loaded 2-core CI machine starts the server and its Go proxy slowly


def _alive(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def _cluster_processes(gateway_dir: Path) -> list[int]:
    """Schedulers and workers of this gateway: their working directory lies in gateway_dir/clusters."""
    pids = []
    for cwd in Path("/proc").glob("[0-9]*/cwd"):
        try:
            target = os.readlink(cwd)
        except OSError:
            continue
        if target.startswith(str(gateway_dir / "clusters") + "/") and _alive(int(cwd.parent.name)):
            pids.append(int(cwd.parent.name))
    return pids


def running_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A running local gateway: {"dir", "address", "password"}; stopped afterwards, with its clusters."""
    gdir = tmp_path_factory.mktemp("gateway")
    env = {**os.environ, "PYTHON": sys.executable, "B2DARK_GATEWAY_TIMEOUT": str(START_TIMEOUT)}
    proc = subprocess.run(
        ["bash", str(SCRIPTS / "start_gateway.sh"), str(gdir)],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT + 60,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    pid_file = gdir / "gateway.pid"
    server_pid = int(pid_file.read_text()) if pid_file.is_file() else None
    try:
        if proc.returncode != 0:
            pytest.fail(
                f"start_gateway.sh failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            )
        values = dict(
            line.removeprefix("export ").split("=", 1) for line in (gdir / "gateway.env").read_text().splitlines()
        )
        yield {
            "dir": str(gdir),
            "address": values["B2DARK_GATEWAY_ADDRESS"],
            "password": values["B2DARK_GATEWAY_PASSWORD"],
        }
    finally:
        stop = subprocess.run(
            ["bash", str(SCRIPTS / "stop_gateway.sh"), str(gdir)], capture_output=True, text=True, timeout=180
        )
        left = _cluster_processes(gdir) + ([server_pid] if server_pid and _alive(server_pid) else [])
        print(f"[test_gateway] stop_gateway.sh: {stop.stdout.strip()}; processes left: {left or 'none'}")
        assert stop.returncode == 0 and not left, f"the gateway left {left} running:\n{stop.stdout}\n{stop.stderr}"

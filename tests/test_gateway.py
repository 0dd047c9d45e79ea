"""A real dask-gateway server on localhost: dask@gateway gives the same result as a local run.

Starts dask-gateway-server (its local process backend, password authentication) with
workflows/scripts/start_gateway.sh, which writes the configuration, and stops it with stop_gateway.sh.
Not skipped: if the server cannot start, the test fails and says why. Leaves nothing running: the fixture
fails if the server or one of its schedulers / workers survives the stop.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import executor_toys as toys
import numpy as np
import pytest

from workflows.executors import ExecutorError, build_executor
from workflows.gateway import close as close_gateway
from workflows.runoptions import load_run_options

pytestmark = [pytest.mark.gateway, pytest.mark.slow]

SCRIPTS = Path(__file__).resolve().parent.parent / "workflows" / "scripts"
GOLDEN = Path(__file__).resolve().parent / "searches" / "zprime_inv" / "golden"
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


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
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


def _options(gateway: dict[str, str], **extra: object) -> dict[str, object]:
    return {
        "executor": "dask@gateway",
        "gateway.address": gateway["address"],
        "gateway.auth": "basic",
        "gateway.username": "b2dark-test",
        "gateway.workers": 2,
        "gateway.cluster_options": {"worker_memory": 1.0},
        "cluster.wait_for_workers_timeout": START_TIMEOUT,
        **extra,
    }


def test_wrong_password_is_a_clear_error(gateway, monkeypatch):
    monkeypatch.setenv("B2DARK_GATEWAY_PASSWORD", "not-the-password")
    opts = load_run_options(cli=_options(gateway))
    with (
        pytest.raises(ExecutorError, match=r"refused the credentials.*B2DARK_GATEWAY_PASSWORD"),
        build_executor(None, opts),
    ):
        pass


def test_unknown_cluster_option_is_a_clear_error(gateway, monkeypatch):
    monkeypatch.setenv("B2DARK_GATEWAY_PASSWORD", gateway["password"])
    opts = load_run_options(cli=_options(gateway, **{"gateway.cluster_options": {"image": "b2dark:latest"}}))
    with pytest.raises(ExecutorError, match=r"could not start a cluster.*image"), build_executor(None, opts):
        pass


def test_two_gateway_workers_equal_iterative(gateway, monkeypatch, tmp_path, capsys):
    """Toy processor on a gateway cluster of 2 workers; the cluster is gone from the gateway after close."""
    from dask_gateway import BasicAuth, Gateway

    monkeypatch.setenv("B2DARK_GATEWAY_PASSWORD", gateway["password"])
    toys.ship_by_value()
    files = toys.write_toy_files(tmp_path, n_files=2, n_events=2000, seed=5)
    fileset = {"toyA": {"files": {files[0]: "events"}}, "toyB": {"files": {files[1]: "events"}}}
    with build_executor("iterative", load_run_options()) as h:
        local = toys.run_toy(h.executor, fileset, chunksize=500)
    with build_executor(None, load_run_options(cli=_options(gateway))) as handle:
        handle.client.wait_for_workers(2, timeout=START_TIMEOUT)
        result = toys.run_toy(handle.executor, fileset, chunksize=500)
        desc = handle.describe()
    with capsys.disabled():
        print(
            f"\n[test_gateway] toy run: cluster {desc['cluster']['name']} at {desc['cluster']['gateway_address']}, "
            f"workers {desc['n_workers']}, scheduler {desc['scheduler_address']}, events {result['nevents']}"
        )
    assert desc["cluster"]["type"] == "GatewayCluster" and desc["n_workers"] == 2
    assert desc["scheduler_address"].startswith("gateway://") or desc["scheduler_address"].startswith("tls://")
    toys.assert_same_output(local, result)
    g = Gateway(gateway["address"], auth=BasicAuth("b2dark-test", gateway["password"]))
    try:
        assert desc["cluster"]["name"] not in [c.name for c in g.list_clusters()]  # shut down on close
    finally:
        close_gateway(g)


def test_zprime_inv_on_gateway_equals_local(gateway, monkeypatch, tmp_path, capsys):
    """`b2dark run zprime-inv --executor dask@gateway` on the committed golden inputs equals the local run."""
    from workflows import cli, outputs

    monkeypatch.setenv("B2DARK_GATEWAY_PASSWORD", gateway["password"])
    # the run options file start_gateway.sh writes, as a user would take it
    run_options = Path(gateway["dir"]) / "run_options.yaml"
    common = ["run", "zprime-inv", "--samples", str(GOLDEN / "catalog.yaml"), "--no-progress", "--no-plots"]
    common += ["--chunksize", "400"]
    assert cli.main([*common, "--output", str(tmp_path / "local"), "--executor", "iterative"]) == 0
    rc = cli.main([*common, "--output", str(tmp_path / "gw"), "--run-options", str(run_options)])
    assert rc == 0
    local, remote = outputs.load(tmp_path / "local"), outputs.load(tmp_path / "gw")
    prov = json.loads((tmp_path / "gw" / "provenance.json").read_text())["executor"]
    with capsys.disabled():
        print(
            f"\n[test_gateway] zprime-inv on dask-gateway: cluster {prov['cluster']['name']} at "
            f"{prov['cluster']['gateway_address']}, workers {prov['n_workers']}, {prov['n_chunks']} chunks, "
            f"events {sum(remote.nevents.values())} in {len(remote.nevents)} samples"
        )
    assert prov["spec"] == "dask@gateway" and prov["cluster"]["type"] == "GatewayCluster"
    assert prov["n_workers"] >= 1 and prov["cluster"]["workers"] == 2
    assert remote.nevents == local.nevents and sum(local.nevents.values()) > 0
    assert set(remote.hists) == set(local.hists)
    for name, h in local.hists.items():
        for sample in h.axes["sample"]:  # category order follows chunk arrival: compare sample by sample
            np.testing.assert_allclose(
                remote.hists[name][{"sample": sample}].values(flow=True),
                h[{"sample": sample}].values(flow=True),
                rtol=1e-12,
                atol=0,
                err_msg=f"{name} {sample}",
            )
    expected = json.loads((GOLDEN / "expected.json").read_text())["cutflow"]  # the committed golden run
    assert set(remote.cutflows) == set(local.cutflows) == set(expected)
    for s, cf in local.cutflows.items():
        assert remote.cutflows[s]["names"] == cf["names"] == expected[s]["names"]
        assert remote.cutflows[s]["raw"] == cf["raw"] == expected[s]["raw"]
        np.testing.assert_allclose(remote.cutflows[s]["weighted"], cf["weighted"], rtol=1e-12, err_msg=s)

"""A real dask-gateway server on localhost: dask@gateway gives the same result as a local run.

Starts dask-gateway-server (its local process backend, password authentication) with
workflows/scripts/start_gateway.sh, which writes the configuration, and stops it with stop_gateway.sh.
Not skipped: if the server cannot start, the test fails and says why. Leaves nothing running: the fixture
fails if the server or one of its schedulers / workers survives the stop.
"""

from __future__ import annotations

import json
from pathlib import Path

import executor_toys as toys
import numpy as np
import pytest
from local_gateway import START_TIMEOUT

from workflows.executors import ExecutorError, build_executor
from workflows.gateway import close as close_gateway
from workflows.runoptions import load_run_options

pytestmark = [pytest.mark.gateway, pytest.mark.slow]

GOLDEN = Path(__file__).resolve().parent / "searches" / "zprime_inv" / "golden"


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


def test_wrong_password_is_a_clear_error(local_gateway, monkeypatch):
    monkeypatch.setenv("B2DARK_GATEWAY_PASSWORD", "not-the-password")
    opts = load_run_options(cli=_options(local_gateway))
    with (
        pytest.raises(ExecutorError, match=r"refused the credentials.*B2DARK_GATEWAY_PASSWORD"),
        build_executor(None, opts),
    ):
        pass


def test_unknown_cluster_option_is_a_clear_error(local_gateway, monkeypatch):
    monkeypatch.setenv("B2DARK_GATEWAY_PASSWORD", local_gateway["password"])
    opts = load_run_options(cli=_options(local_gateway, **{"gateway.cluster_options": {"image": "b2dark:latest"}}))
    with pytest.raises(ExecutorError, match=r"could not start a cluster.*image"), build_executor(None, opts):
        pass


def test_two_gateway_workers_equal_iterative(local_gateway, monkeypatch, tmp_path, capsys):
    """Toy processor on a gateway cluster of 2 workers; the cluster is gone from the gateway after close."""
    from dask_gateway import BasicAuth, Gateway

    monkeypatch.setenv("B2DARK_GATEWAY_PASSWORD", local_gateway["password"])
    toys.ship_by_value()
    files = toys.write_toy_files(tmp_path, n_files=2, n_events=2000, seed=5)
    fileset = {"toyA": {"files": {files[0]: "events"}}, "toyB": {"files": {files[1]: "events"}}}
    with build_executor("iterative", load_run_options()) as h:
        local = toys.run_toy(h.executor, fileset, chunksize=500)
    with build_executor(None, load_run_options(cli=_options(local_gateway))) as handle:
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
    g = Gateway(local_gateway["address"], auth=BasicAuth("b2dark-test", local_gateway["password"]))
    try:
        assert desc["cluster"]["name"] not in [c.name for c in g.list_clusters()]  # shut down on close
    finally:
        close_gateway(g)


def test_zprime_inv_on_gateway_equals_local(local_gateway, monkeypatch, tmp_path, capsys):
    """`b2dark run zprime-inv --executor dask@gateway` on the committed golden inputs equals the local run."""
    from workflows import cli, outputs

    monkeypatch.setenv("B2DARK_GATEWAY_PASSWORD", local_gateway["password"])
    # the run options file start_gateway.sh writes, as a user would take it
    run_options = Path(local_gateway["dir"]) / "run_options.yaml"
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

"""A real single-node SLURM on this machine: dask@slurm gives the same result as a local run.

Starts SLURM with workflows/scripts/start_slurm.sh (apt-get install slurm-wlm munge on first use;
needs root or sudo). Not skipped: if SLURM cannot be installed or started, the test fails and says why.
"""

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import executor_toys as toys
import pytest

from workflows.executors import build_executor
from workflows.runoptions import load_run_options

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

SCRIPT = Path(__file__).resolve().parent.parent / "workflows" / "scripts" / "start_slurm.sh"


STOP_SCRIPT = SCRIPT.with_name("stop_slurm.sh")
DAEMON_PIDFILES = {
    "munged": Path("/run/munge/munged.pid"),
    "slurmctld": Path("/run/slurm/slurmctld.pid"),
    "slurmd": Path("/run/slurm/slurmd.pid"),
}


def _alive(pid: int) -> bool:
    """A live, non-zombie process (a container without an init never reaps a stopped daemon)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _running_daemons() -> dict[str, int]:
    """The SLURM/munge daemons running now, by pid file or, started some other way, by process name."""
    running: dict[str, int] = {}
    for name, pidfile in DAEMON_PIDFILES.items():
        with contextlib.suppress(OSError, ValueError):
            pid = int(pidfile.read_text().strip())
            if _alive(pid):
                running[name] = pid
                continue
        found = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout.split()
        live = [int(p) for p in found if _alive(int(p))]
        if live:
            running[name] = live[0]
    return running


@pytest.fixture(scope="module")
def slurm() -> Iterator[str]:
    """A running single-node SLURM; stops afterwards the daemons this fixture started (none of those that
    already ran), so a workstation that runs the tests does not inherit batch daemons running as root."""
    before = _running_daemons()
    proc = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    started = {name: pid for name, pid in _running_daemons().items() if name not in before}
    try:
        if proc.returncode != 0:
            pytest.fail(
                f"{SCRIPT.name} failed (exit {proc.returncode}); SLURM could not be installed/started:\n"
                f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            )
        assert shutil.which("sbatch") and shutil.which("squeue")
        yield proc.stdout
    finally:
        # the idempotence test may have restarted nothing; re-read the pids the script left running
        started.update({n: p for n, p in _running_daemons().items() if n not in before})
        if started:
            stop = subprocess.run(
                ["bash", str(STOP_SCRIPT), *sorted(started)],
                capture_output=True,
                text=True,
                timeout=120,
                stdin=subprocess.DEVNULL,
            )
            left = {n: p for n, p in started.items() if _alive(p)}
            print(
                f"[test_slurm] stopped {', '.join(sorted(started))}; kept running: {', '.join(sorted(before)) or '-'}"
            )
            assert stop.returncode == 0 and not left, (
                f"{STOP_SCRIPT.name} {' '.join(sorted(started))} left {left} running:\n{stop.stdout}\n{stop.stderr}"
            )


def _jobcomp(job_ids: list[str], timeout: float = 10.0) -> list[str]:
    """Finished-job records of ``job_ids`` written by SLURM's jobcomp/filetxt plugin (see start_slurm.sh);
    waits until every job has one (cancelled jobs are recorded a moment after scancel)."""
    log = Path("/var/log/slurm/jobcomp.log")
    deadline = time.monotonic() + timeout
    while True:
        lines = log.read_text().splitlines() if log.is_file() else []
        found = [ln for ln in lines if any(ln.startswith(f"JobId={j} ") for j in job_ids)]
        if len(found) >= len(job_ids) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _daemon_pids() -> dict[str, str]:
    return {d: Path(f"/run/slurm/{d}.pid").read_text().strip() for d in ("slurmctld", "slurmd")}


def test_start_script_is_idempotent(slurm):
    before = _daemon_pids()
    # a different OMP_NUM_THREADS must not change the written configuration (nproc would follow it)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    again = subprocess.run(
        ["bash", str(SCRIPT)], capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, env=env
    )
    assert again.returncode == 0, again.stderr
    assert "writing /etc/slurm/slurm.conf" not in again.stdout
    assert "starting slurmctld" not in again.stdout and "starting slurmd" not in again.stdout
    assert "SLURM is up" in again.stdout
    assert _daemon_pids() == before  # the same daemons still run


def test_dask_slurm_equals_local_run(slurm, tmp_path, capsys):
    toys.ship_by_value()
    files = toys.write_toy_files(tmp_path, n_files=2, n_events=2000, seed=3)
    fileset = {"toyA": {"files": {files[0]: "events"}}, "toyB": {"files": {files[1]: "events"}}}
    with build_executor("iterative", load_run_options()) as h:
        local = toys.run_toy(h.executor, fileset, chunksize=500)

    (tmp_path / "logs").mkdir()
    opts = load_run_options(
        site="slurm",
        cli={
            "executor": "dask@slurm",
            "cluster.scaling": "fixed",
            "cluster.jobs": 2,
            "cluster.cores": 1,
            "cluster.memory": "1GB",
            "cluster.walltime": "00:10:00",
            "cluster.interface": "lo",  # workers reach the scheduler on localhost
            "cluster.log_directory": str(tmp_path / "logs"),
            "cluster.wait_for_workers_timeout": 180,
        },
    )
    with build_executor(None, opts) as handle:
        handle.client.wait_for_workers(2, timeout=180)
        squeue = subprocess.run(["squeue", "-h", "-o", "%i %j %T %N"], capture_output=True, text=True).stdout
        result = toys.run_toy(handle.executor, fileset, chunksize=500)
        desc = handle.describe()
    job_ids = desc["job_ids"]
    with capsys.disabled():  # the job ids belong in the CI log, not only in captured output
        print(f"\n[test_slurm] SLURM job ids: {' '.join(job_ids)}")
        print(f"[test_slurm] squeue during the run:\n{squeue}", end="")
        print(
            f"[test_slurm] workers {desc['n_workers']}, scheduler {desc['scheduler_address']}, events "
            f"{result['nevents']}"
        )
    assert desc["cluster"]["type"] == "SLURMCluster"
    assert len(job_ids) == 2 and all(j.isdigit() for j in job_ids)
    assert all(j in squeue for j in job_ids)
    assert "#SBATCH --mem=" in desc["cluster"]["job_script"]
    toys.assert_same_output(local, result)
    # the jobs really ran under SLURM: scancel'ed on close, recorded by the jobcomp plugin
    records = _jobcomp(job_ids)
    with capsys.disabled():
        print("[test_slurm] jobcomp:\n" + "\n".join(ln[:160] for ln in records))
    assert len(records) == 2
    assert all("NodeList=" in ln for ln in records)


@pytest.fixture(scope="module")
def zprime_catalog(tmp_path_factory) -> Path:
    """A small generated Z' -> invisible signal sample (two masses) and its catalog."""
    from samples.cli import main as generate

    d = tmp_path_factory.mktemp("slurm_samples")
    for mass in (1.0, 6.0):
        rc = generate(
            [
                "--process",
                "zprime_inv",
                "--n",
                "600",
                "--param",
                f"mass={mass}",
                "--seed",
                str(int(mass * 7)),
                "--out",
                str(d),
                "--jobs",
                "1",
                "--no-progress",
            ]
        )
        assert rc in (0, None)
    return d / "catalog.yaml"


def test_zprime_inv_run_on_slurm_equals_local(slurm, zprime_catalog, tmp_path, capsys):
    """`b2dark run zprime-inv --executor dask@slurm` (2 SLURM jobs) gives the local run's histograms."""
    import json

    import numpy as np

    from workflows import cli, outputs

    (tmp_path / "logs").mkdir()
    run_options = tmp_path / "slurm_test.yaml"
    run_options.write_text(
        "site: slurm\n"
        "cluster:\n"
        "  scaling: fixed\n  jobs: 2\n  cores: 1\n  memory: 1GB\n  walltime: '00:10:00'\n"
        "  interface: lo\n"
        f"  log_directory: {tmp_path / 'logs'}\n"
        "  wait_for_workers_timeout: 180\n"
    )
    common = [
        "run",
        "zprime-inv",
        "--samples",
        str(zprime_catalog),
        "--no-progress",
        "--no-plots",
        "--chunksize",
        "200",
        "--partial",
    ]  # signal samples only: a partial run (not fittable), enough to compare hists
    assert cli.main([*common, "--output", str(tmp_path / "local"), "--executor", "iterative"]) == 0
    assert (
        cli.main(
            [
                *common,
                "--output",
                str(tmp_path / "slurm"),
                "--executor",
                "dask@slurm",
                "--run-options",
                str(run_options),
            ]
        )
        == 0
    )
    local, batch = outputs.load(tmp_path / "local"), outputs.load(tmp_path / "slurm")
    prov = json.loads((tmp_path / "slurm" / "provenance.json").read_text())["executor"]
    with capsys.disabled():
        print(
            f"\n[test_slurm] zprime-inv on SLURM: job ids {' '.join(prov['job_ids'])}, {prov['n_chunks']} chunks, "
            f"workers {prov['n_workers']}, events {batch.nevents}"
        )
    assert prov["spec"] == "dask@slurm" and prov["cluster"]["type"] == "SLURMCluster"
    assert len(prov["job_ids"]) == 2
    records = _jobcomp(prov["job_ids"])
    assert len(records) == 2 and all("NodeList=" in ln for ln in records)
    assert batch.nevents == local.nevents == {"zprime_inv_m1": 600, "zprime_inv_m6": 600}
    assert set(batch.hists) == set(local.hists)
    for name, h in local.hists.items():
        for s in h.axes["sample"]:
            np.testing.assert_allclose(
                batch.hists[name][{"sample": s}].values(flow=True),
                h[{"sample": s}].values(flow=True),
                rtol=1e-12,
                atol=0,
                err_msg=name,
            )
    for s, cf in local.cutflows.items():
        assert batch.cutflows[s]["raw"] == cf["raw"]

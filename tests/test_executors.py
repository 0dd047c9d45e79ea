"""Executor specs, cluster descriptions, batch job scripts, and equal results on every executor."""

import json
import sys
import zipfile
from pathlib import Path

import executor_toys as toys
import pytest

from workflows.executors import (
    ExecutorError,
    build_executor,
    make_jobqueue_cluster,
    parse_spec,
    zip_code_packages,
)
from workflows.runoptions import load_run_options


@pytest.fixture(scope="module")
def toy_fileset(tmp_path_factory):
    files = toys.write_toy_files(tmp_path_factory.mktemp("toy"), n_files=2, n_events=1500)
    return {"toyA": {"files": {files[0]: "events"}}, "toyB": {"files": {files[1]: "events"}}}


@pytest.mark.parametrize(
    ("spec", "kind", "backend", "address"),
    [
        ("iterative", "iterative", None, None),
        ("futures", "futures", None, None),
        ("dask@local", "dask", "local", None),
        ("dask@slurm", "dask", "slurm", None),
        ("dask@condor", "dask", "condor", None),
        ("dask@gateway", "dask", "gateway", None),
        ("dask@tcp://10.1.2.3:8786", "dask", "address", "tcp://10.1.2.3:8786"),
    ],
)
def test_parse_spec(spec, kind, backend, address):
    parsed = parse_spec(spec)
    assert (parsed.kind, parsed.backend, parsed.address) == (kind, backend, address)
    assert parsed.name == spec


@pytest.mark.parametrize("spec", ["dask", "dask@pbs", "dask@tcp://nohostport", "threads", ""])
def test_parse_spec_rejects(spec):
    with pytest.raises(ExecutorError, match="use iterative, futures, dask@local"):
        parse_spec(spec)


def test_iterative_runs_and_describes(toy_fileset):
    opts = load_run_options(cli={"executor": "iterative"})
    with build_executor(None, opts) as handle:
        out = toys.run_toy(handle.executor, toy_fileset)
        desc = handle.describe()
    assert out["nevents"] == {"toyA": 1500, "toyB": 1500}
    assert out["chunks"] == {"toyA": 3, "toyB": 3}
    assert desc == {"spec": "iterative", "kind": "iterative"}


def test_runner_helper_uses_run_options(toy_fileset):
    opts = load_run_options(cli={"executor": "iterative", "chunksize": 500, "maxchunks": 2})
    with build_executor(None, opts) as handle:
        runner = handle.runner(schema=toys.BaseSchema)
        assert (runner.chunksize, runner.maxchunks) == (500, 2)
        out = runner(toy_fileset, processor_instance=toys.ToyProcessor(), treename="events")
    assert out["chunks"] == {"toyA": 2, "toyB": 2}
    assert out["nevents"] == {"toyA": 1000, "toyB": 1000}  # 1500 events = 3 chunks of 500


def test_gateway_without_package_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask_gateway", None)  # import now raises ImportError
    opts = load_run_options(cli={"executor": "dask@gateway"})
    with (
        pytest.raises(ExecutorError, match=r"optional dependency dask-gateway.*pip install"),
        build_executor(None, opts),
    ):
        pass


def test_batch_spec_without_submit_command_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    for spec, cmd in (("dask@condor", "condor_submit"), ("dask@slurm", "sbatch")):
        opts = load_run_options(cli={"executor": spec})
        with pytest.raises(ExecutorError, match=f"'{cmd}' is not on PATH"), build_executor(None, opts):
            pass


def test_slurm_job_script_from_site_and_user_layers(tmp_path):
    user = tmp_path / "u.yaml"
    user.write_text(
        "cluster:\n  cores: 2\n  memory: 3GB\n  queue: short\n  walltime: '00:20:00'\n"
        "  job_script_prologue: ['source /opt/b2dark/venv/bin/activate']\n"
        "  job_extra_directives: ['--constraint=avx2']\n"
    )
    opts = load_run_options(site="slurm", user_file=user)
    with make_jobqueue_cluster("slurm", opts.cluster) as cluster:
        script = cluster.job_script()
    assert "#SBATCH -p short" in script
    assert "#SBATCH --cpus-per-task=2" in script
    assert "#SBATCH --mem=" in script
    assert "#SBATCH -t 00:20:00" in script
    assert "#SBATCH --constraint=avx2" in script
    assert "source /opt/b2dark/venv/bin/activate" in script
    assert "export OMP_NUM_THREADS=1" not in script  # a list in a later layer replaces, not appends
    assert "--death-timeout 120" in script  # a scalar from the site layer survives
    assert f"{sys.executable} -m distributed.cli.dask_worker" in script
    assert "--nthreads 2" in script


def test_htcondor_job_description():
    opts = load_run_options(site="condor", cli={"cluster.cores": 2, "cluster.memory": "4GB"})
    with make_jobqueue_cluster("condor", opts.cluster) as cluster:
        script = cluster.job_script()
    lines = {ln.split("=", 1)[0].strip(): ln.split("=", 1)[1].strip() for ln in script.splitlines() if " = " in ln}
    assert lines["RequestCpus"] == "MY.DaskWorkerCores"
    assert lines["MY.DaskWorkerCores"] == "2"
    assert int(lines["MY.DaskWorkerMemory"]) == 4_000_000_000
    assert int(lines["MY.DaskWorkerDisk"]) == 2_000_000_000
    assert lines["+MaxRuntime"] == "3600"  # a site submit-file line passes through
    assert lines["getenv"] == "True"
    # HTCondor runs one command: the prologue is chained in front of the worker with ';'
    args = lines["Arguments"]
    assert args.index("export OMP_NUM_THREADS=1") < args.index("distributed.cli.dask_worker")
    assert f"{sys.executable} -m distributed.cli.dask_worker" in args
    assert "--nthreads 2" in args and "--local-directory $_CONDOR_SCRATCH_DIR" in args
    assert lines["Executable"] == "/bin/sh"
    assert script.rstrip().endswith("\nQueue")


def test_htcondor_directive_must_be_key_value():
    opts = load_run_options(site="condor", cli={"cluster.job_extra_directives": ["no equals sign"]})
    with pytest.raises(ExecutorError, match=r"'no equals sign'.*key = value"):
        make_jobqueue_cluster("condor", opts.cluster)


def test_zip_code_packages(tmp_path):
    path = zip_code_packages(tmp_path / "code.zip")
    names = set(zipfile.ZipFile(path).namelist())
    for pkg in ("processors", "workflows", "samples"):
        assert f"{pkg}/__init__.py" in names
    assert "workflows/executors.py" in names
    assert "workflows/sites/slurm.yaml" in names
    assert not any("__pycache__" in n for n in names)


@pytest.mark.slow
def test_same_result_on_every_local_executor(toy_fileset):
    """futures, dask@local, dask@tcp:// (existing scheduler) and upload_package all equal iterative."""
    from distributed import LocalCluster

    toys.ship_by_value()
    with build_executor("iterative", load_run_options()) as h:
        reference = toys.run_toy(h.executor, toy_fileset)
    descriptions = {}
    for spec, extra in [("futures", {}), ("dask@local", {"upload_package": True})]:
        opts = load_run_options(cli={"executor": spec, "workers": 2, **extra})
        with build_executor(None, opts) as h:
            toys.assert_same_output(reference, toys.run_toy(h.executor, toy_fileset))
            descriptions[spec] = h.describe()
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as cluster:
        opts = load_run_options(cli={"executor": f"dask@{cluster.scheduler_address}"})
        with build_executor(None, opts) as h:
            toys.assert_same_output(reference, toys.run_toy(h.executor, toy_fileset))
            descriptions["tcp"] = h.describe()
    json.dumps(descriptions)  # provenance must be JSON-able
    local = descriptions["dask@local"]
    assert local["cluster"]["type"] == "LocalCluster"
    assert local["n_workers"] == 2
    assert local["code_shipping"].startswith("client.upload_file")
    assert local["worker_events"]["tasks_erred"] == 0
    assert descriptions["tcp"]["cluster"]["type"] == "existing scheduler"
    assert descriptions["tcp"]["scheduler_address"] == cluster.scheduler_address


def test_shipped_sites_exist():
    assert (Path(__file__).resolve().parent.parent / "workflows" / "sites" / "slurm.yaml").is_file()

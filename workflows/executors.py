"""Executors: one spec string picks where a coffea ``processor.Runner`` runs.

    iterative | futures | dask@local | dask@slurm | dask@condor | dask@gateway | dask@tcp://HOST:PORT

``build_executor`` is a context manager: it starts (or connects to) the cluster, yields an
``ExecutorHandle`` holding the coffea executor, and tears everything down on exit. The handle's
``describe()`` gives a JSON-able record of the cluster for provenance, including the batch job
ids and how many tasks were rescheduled after worker loss or retried after an error.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from coffea import processor

from workflows.runoptions import ClusterOptions, RunOptions

Backend = Literal["local", "slurm", "condor", "gateway", "address"]

#: batch submission command each dask-jobqueue backend calls
SUBMIT_COMMANDS = {"slurm": "sbatch", "condor": "condor_submit"}

#: the packages a worker must import to unpickle a b2dark processor and its schema
CODE_PACKAGES = ("processors", "workflows", "samples")


class ExecutorError(RuntimeError):
    """The executor could not be set up (bad spec, missing optional dependency, no workers)."""


@dataclass(frozen=True)
class ExecutorSpec:
    kind: Literal["iterative", "futures", "dask"]
    backend: Backend | None = None
    address: str | None = None

    @property
    def name(self) -> str:
        if self.kind != "dask":
            return self.kind
        return f"dask@{self.address}" if self.backend == "address" else f"dask@{self.backend}"


def parse_spec(spec: str) -> ExecutorSpec:
    """Parse an ``--executor`` value; raises ExecutorError saying what is accepted."""
    spec = spec.strip()
    if spec in ("iterative", "futures"):
        return ExecutorSpec(kind=spec)  # type: ignore[arg-type]
    if spec.startswith("dask@"):
        target = spec.removeprefix("dask@")
        if target in ("local", "slurm", "condor", "gateway"):
            return ExecutorSpec(kind="dask", backend=target)  # type: ignore[arg-type]
        if target.startswith(("tcp://", "tls://")) and ":" in target.split("://", 1)[1]:
            return ExecutorSpec(kind="dask", backend="address", address=target)
    raise ExecutorError(
        f"unknown executor {spec!r}: use iterative, futures, dask@local, dask@slurm, dask@condor, "
        "dask@gateway or dask@tcp://HOST:PORT (an existing dask scheduler)"
    )


# --- scheduler-side bookkeeping of worker loss and retries --------------------------------

try:
    from distributed.diagnostics.plugin import SchedulerPlugin
except ImportError:  # distributed is a dependency; keep iterative/futures usable without it
    SchedulerPlugin = object  # type: ignore[misc,assignment]


class WorkerEventCounter(SchedulerPlugin):
    """Counts what a run survived: workers lost, tasks rescheduled, retried, failed."""

    name = "b2dark-worker-events"

    def __init__(self) -> None:
        self.counts: dict[str, int] = {
            "workers_added": 0,
            "workers_removed": 0,
            "tasks_rescheduled_after_worker_loss": 0,
            "tasks_retried_after_error": 0,
            "tasks_erred": 0,
        }

    def add_worker(self, scheduler: Any, worker: str) -> None:
        self.counts["workers_added"] += 1

    def remove_worker(self, scheduler: Any, worker: str, **kwargs: Any) -> None:
        self.counts["workers_removed"] += 1

    def transition(self, key: Any, start: str, finish: str, *args: Any, stimulus_id: str = "", **kwargs: Any) -> None:
        # A running task is released either because its worker left or because it raised and has
        # retries left (the scheduler then goes processing -> released -> waiting); the stimulus
        # tells which.
        if start == "processing" and finish in ("released", "waiting"):
            if stimulus_id.startswith("task-erred"):
                self.counts["tasks_retried_after_error"] += 1
            elif "worker" in stimulus_id:  # handle-worker-cleanup, remove-worker, retire-workers
                self.counts["tasks_rescheduled_after_worker_loss"] += 1
        elif finish == "erred":
            self.counts["tasks_erred"] += 1


def _read_counts(dask_scheduler: Any) -> dict[str, int]:
    plugin = dask_scheduler.plugins.get(WorkerEventCounter.name)
    return dict(plugin.counts) if plugin is not None else {}


# --- code on the workers -------------------------------------------------------------------


def zip_code_packages(dest: Path, root: Path | None = None) -> Path:
    """Zip the b2dark packages (sources only) so ``client.upload_file`` can ship them to workers."""
    root = root or Path(__file__).resolve().parent.parent
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for pkg in CODE_PACKAGES:
            pkg_dir = root / pkg
            if not (pkg_dir / "__init__.py").is_file():
                raise ExecutorError(f"cannot ship package {pkg!r}: {pkg_dir}/__init__.py not found")
            for path in sorted(pkg_dir.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".yaml", ".sh"):
                    zf.write(path, path.relative_to(root).as_posix())
    return dest


# --- the handle --------------------------------------------------------------------------------


@dataclass
class ExecutorHandle:
    spec: ExecutorSpec
    options: RunOptions
    executor: processor.ExecutorBase
    client: Any = None  # distributed.Client for dask executors
    cluster: Any = None  # LocalCluster / JobQueueCluster / GatewayCluster, None for an existing scheduler
    job_ids: set[str] = field(default_factory=set)
    _info: dict[str, Any] = field(default_factory=dict)

    def runner(self, **kwargs: Any) -> processor.Runner:
        """A coffea Runner on this executor with the run options' chunking; kwargs override."""
        settings: dict[str, Any] = {
            "chunksize": self.options.chunksize,
            "maxchunks": self.options.maxchunks,
            "skipbadfiles": self.options.skip_bad_files,
            "metadata_cache": {},  # coffea's default cache is process-global and stale across runs
        }
        settings.update(kwargs)
        return processor.Runner(executor=self.executor, **settings)

    def poll_job_ids(self) -> set[str]:
        """Record the batch job ids of the cluster's current workers (jobs come and go when adaptive)."""
        workers = getattr(self.cluster, "workers", None)
        if isinstance(workers, dict):
            for job in list(workers.values()):
                job_id = getattr(job, "job_id", None)
                if job_id:
                    self.job_ids.add(str(job_id))
        return self.job_ids

    def worker_events(self) -> dict[str, int]:
        if self.client is None:
            return {}
        try:
            return self.client.run_on_scheduler(_read_counts)
        except Exception:  # a remote scheduler may not have b2dark installed; provenance says so
            return {"unavailable": 1}

    def describe(self) -> dict[str, Any]:
        """JSON-able description for provenance."""
        desc: dict[str, Any] = {"spec": self.spec.name, "kind": self.spec.kind, **self._info}
        if self.spec.kind == "dask":
            desc["retries"] = self.options.retries
            desc["treereduction"] = self.options.treereduction
        if self.client is not None:
            info = self.client.scheduler_info()
            desc["scheduler_address"] = info.get("address")
            desc["n_workers"] = len(info.get("workers", {}))
            desc["worker_threads"] = sum(w.get("nthreads", 0) for w in info.get("workers", {}).values())
            desc["worker_events"] = self.worker_events()
        if self.spec.backend in ("slurm", "condor"):
            desc["job_ids"] = sorted(self.poll_job_ids(), key=lambda s: (len(s), s))
        return desc


# --- cluster factories -----------------------------------------------------------------------


def _jobqueue_kwargs(c: ClusterOptions, backend: Backend) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "cores": c.cores,
        "processes": c.processes,
        "memory": c.memory,
        "job_script_prologue": list(c.job_script_prologue),
        "python": c.python or sys.executable,
        "death_timeout": c.death_timeout,
        "interface": c.interface,
        "log_directory": c.log_directory,
        "local_directory": c.local_directory,
        "job_name": "b2dark-worker",
        # port 8787 is often taken on shared login nodes: let the dashboard pick a free port
        "scheduler_options": {"dashboard_address": ":0"},
    }
    if backend == "slurm":
        kwargs.update(
            walltime=c.walltime, queue=c.queue, account=c.account, job_extra_directives=list(c.job_extra_directives)
        )
    else:  # HTCondor: submit-file lines are "key = value"; no walltime/queue in the submit description
        directives: dict[str, str] = {}
        for line in c.job_extra_directives:
            key, sep, value = line.partition("=")
            if not sep:
                raise ExecutorError(
                    f"cluster.job_extra_directives entry {line!r}: HTCondor lines must read 'key = value'"
                )
            directives[key.strip()] = value.strip()
        kwargs.update(disk=c.disk, job_extra_directives=directives)
    return kwargs


def make_jobqueue_cluster(backend: Literal["slurm", "condor"], c: ClusterOptions) -> Any:
    """The dask-jobqueue cluster object (nothing submitted until it is scaled)."""
    from dask_jobqueue import HTCondorCluster, SLURMCluster

    cls = SLURMCluster if backend == "slurm" else HTCondorCluster
    return cls(**_jobqueue_kwargs(c, backend))


def _scale(cluster: Any, c: ClusterOptions) -> dict[str, Any]:
    if c.scaling == "adaptive":
        cluster.adapt(minimum_jobs=c.minimum_jobs, maximum_jobs=c.maximum_jobs)
        return {"scaling": "adaptive", "minimum_jobs": c.minimum_jobs, "maximum_jobs": c.maximum_jobs}
    cluster.scale(jobs=c.jobs)
    return {"scaling": "fixed", "jobs": c.jobs}


def _wait_for_workers(client: Any, n: int, timeout: float, what: str) -> None:
    try:
        client.wait_for_workers(n, timeout=timeout)
    except TimeoutError:
        raise ExecutorError(
            f"{what}: no dask worker connected within {timeout:.0f} s. Check the queue (squeue / condor_q), "
            "the worker logs (cluster.log_directory) and that workers can reach the scheduler "
            "(cluster.interface)."
        ) from None


@contextlib.contextmanager
def _dask_client(spec: ExecutorSpec, opts: RunOptions, handle_info: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
    from distributed import Client, LocalCluster

    c = opts.cluster
    if spec.backend == "local":
        with (
            LocalCluster(
                n_workers=opts.workers,
                threads_per_worker=opts.threads_per_worker,
                processes=True,
                memory_limit=opts.memory_limit,
                dashboard_address=":0",  # a free port: several runs may share a machine
            ) as cluster,
            Client(cluster) as client,
        ):
            handle_info["cluster"] = {
                "type": "LocalCluster",
                "workers": opts.workers,
                "threads_per_worker": opts.threads_per_worker,
                "memory_limit": opts.memory_limit,
            }
            yield client, cluster
    elif spec.backend in ("slurm", "condor"):
        submit = SUBMIT_COMMANDS[spec.backend]
        if shutil.which(submit) is None:
            raise ExecutorError(
                f"{spec.name}: '{submit}' is not on PATH; run b2dark on a machine that submits "
                f"{spec.backend.upper()} jobs (a login node)"
                + ("; or start a local SLURM with workflows/scripts/start_slurm.sh" if spec.backend == "slurm" else "")
            )
        with make_jobqueue_cluster(spec.backend, c) as cluster, Client(cluster) as client:
            handle_info["cluster"] = {
                "type": type(cluster).__name__,
                "job_script": cluster.job_script(),
                **c.model_dump(include={"cores", "processes", "memory", "walltime", "queue", "disk"}),
                **_scale(cluster, c),
            }
            yield client, cluster
    elif spec.backend == "gateway":
        from workflows.gateway import GatewayError, close, connect, shutdown

        g = opts.gateway
        try:
            gateway = connect(g)
        except GatewayError as err:
            raise ExecutorError(str(err)) from None
        try:
            cluster = gateway.new_cluster(**g.cluster_options)
        except Exception as err:  # unknown cluster option, quota, backend failure: the server says which
            close(gateway)
            raise ExecutorError(
                f"dask-gateway at {gateway.address} could not start a cluster with options {g.cluster_options}: "
                f"{err}; `gateway.cluster_options()` lists what it accepts"
            ) from None
        try:
            if g.workers is not None:
                cluster.scale(g.workers)
            else:
                cluster.adapt(minimum=g.minimum, maximum=g.maximum)
            handle_info["cluster"] = {
                "type": "GatewayCluster",
                "name": cluster.name,
                "gateway_address": gateway.address,
                **g.model_dump(exclude={"address", "password_env"}),
            }
            with cluster.get_client() as client:
                yield client, cluster
        finally:
            shutdown(cluster)
            close(gateway)
    else:  # an existing scheduler the user started (dask-scheduler, a facility's JupyterHub)
        try:
            client = Client(spec.address, timeout=30)
        except OSError as err:
            raise ExecutorError(f"cannot connect to the dask scheduler at {spec.address}: {err}") from None
        with client:
            handle_info["cluster"] = {"type": "existing scheduler", "address": spec.address}
            yield client, None


@contextlib.contextmanager
def coffea_progress(shown: bool) -> Iterator[None]:
    """Show or hide coffea's rich progress bars for the duration of a run.

    coffea 2026.9 passes ``status`` to rich as an unknown task field (``disable=``), so its bars
    appear even with ``status=False``; muting its console is the one switch that works."""
    from coffea.util import coffea_console

    before = coffea_console.quiet
    coffea_console.quiet = before or not shown
    try:
        yield
    finally:
        coffea_console.quiet = before


@contextlib.contextmanager
def build_executor(spec: str | None, opts: RunOptions) -> Iterator[ExecutorHandle]:
    """Start (or connect to) the executor named by ``spec`` (default ``opts.executor``)."""
    with coffea_progress(opts.status):
        yield from _build_executor(spec, opts)


def _build_executor(spec: str | None, opts: RunOptions) -> Iterator[ExecutorHandle]:
    parsed = parse_spec(spec or opts.executor)
    if parsed.kind == "iterative":
        yield ExecutorHandle(parsed, opts, processor.IterativeExecutor(status=opts.status))
        return
    if parsed.kind == "futures":
        ex = processor.FuturesExecutor(workers=opts.workers, status=opts.status)
        yield ExecutorHandle(parsed, opts, ex, _info={"workers": opts.workers})
        return

    info: dict[str, Any] = {}
    with _dask_client(parsed, opts, info) as (client, cluster):
        handle = ExecutorHandle(
            parsed,
            opts,
            processor.DaskExecutor(
                client=client, retries=opts.retries, treereduction=opts.treereduction, status=opts.status
            ),
            client=client,
            cluster=cluster,
            _info=info,
        )
        with contextlib.suppress(Exception):  # remote schedulers without b2dark cannot load the plugin
            client.register_plugin(WorkerEventCounter())
        stop = threading.Event()
        poller = None
        if parsed.backend in ("slurm", "condor"):
            # adaptive clusters retire jobs during the run: remember every job id we saw
            def _poll() -> None:
                while not stop.wait(1.0):
                    handle.poll_job_ids()

            poller = threading.Thread(target=_poll, name="b2dark-jobid-poller", daemon=True)
            poller.start()
        try:
            if opts.upload_package:
                with tempfile.TemporaryDirectory() as tmp:
                    client.upload_file(str(zip_code_packages(Path(tmp) / "b2dark_code.zip")))
                info["code_shipping"] = "client.upload_file(b2dark_code.zip)"
            else:
                info["code_shipping"] = "installed package on the workers"
            if parsed.backend in ("slurm", "condor", "gateway"):
                t0 = time.monotonic()
                _wait_for_workers(client, 1, opts.cluster.wait_for_workers_timeout, parsed.name)
                info["first_worker_after_s"] = round(time.monotonic() - t0, 1)
                handle.poll_job_ids()
            yield handle
        finally:
            stop.set()
            if poller is not None:
                poller.join(timeout=5)
            handle.poll_job_ids()

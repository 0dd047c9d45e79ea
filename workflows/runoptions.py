"""Layered run options: built-in defaults < site YAML < user YAML < command-line flags.

A site file (``workflows/sites/<name>.yaml``) describes one facility (batch system, queue,
worker size, environment set-up); a user file (``--run-options FILE``) tunes one analysis;
command-line flags win over both. Every layer is validated against the same pydantic model,
so a misspelt key fails loudly with the key and the file it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SITES_DIR = Path(__file__).resolve().parent / "sites"

EXECUTOR_KINDS = ("iterative", "futures", "dask@local", "dask@slurm", "dask@condor", "dask@gateway")


class RunOptionsError(ValueError):
    """A run-options layer is malformed (unknown key, wrong type, missing file)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ClusterOptions(_Strict):
    """One batch job = one dask-jobqueue job; it runs ``processes`` dask workers."""

    cores: int = Field(1, ge=1, description="cores per batch job")
    processes: int = Field(1, ge=1, description="dask worker processes per batch job")
    memory: str = Field("2GB", description="memory per batch job (dask byte string, e.g. '4GB')")
    disk: str = Field("2GB", description="scratch disk per job (HTCondor request_disk)")
    walltime: str = Field("01:00:00", description="wall-clock limit per job, HH:MM:SS")
    queue: str | None = Field(None, description="SLURM partition / HTCondor has none")
    account: str | None = None
    job_script_prologue: list[str] = Field(
        default_factory=list, description="shell lines run before the worker starts (environment set-up)"
    )
    job_extra_directives: list[str] = Field(
        default_factory=list, description="extra '#SBATCH ...' lines / HTCondor submit-file lines"
    )
    scaling: Literal["fixed", "adaptive"] = "fixed"
    jobs: int = Field(2, ge=1, description="number of batch jobs for fixed scaling")
    minimum_jobs: int = Field(0, ge=0, description="adaptive scaling lower bound")
    maximum_jobs: int = Field(10, ge=1, description="adaptive scaling upper bound")
    interface: str | None = Field(None, description="network interface for scheduler+workers, e.g. 'ib0', 'lo'")
    python: str | None = Field(None, description="python on the worker nodes; default: this interpreter")
    log_directory: str | None = None
    local_directory: str | None = Field(None, description="worker scratch, e.g. '$TMPDIR'")
    death_timeout: int = Field(120, ge=1, description="seconds a worker waits for the scheduler")
    wait_for_workers_timeout: float = Field(
        600.0, gt=0, description="seconds to wait for the first worker (queue wait)"
    )


class GatewayOptions(_Strict):
    address: str | None = Field(
        None, description="gateway URL; default $B2DARK_GATEWAY_ADDRESS, else the dask-gateway config (gateway.address)"
    )
    proxy_address: str | None = Field(None, description="scheduler proxy address if the facility has a separate one")
    # passwords and tokens never live in a file: basic reads the variable named by password_env,
    # jupyterhub reads JUPYTERHUB_API_TOKEN (set inside a facility's JupyterHub), kerberos a kinit ticket
    auth: Literal["basic", "jupyterhub", "kerberos"] | None = Field(
        None, description="authentication; None = the dask-gateway config (gateway.auth.type)"
    )
    username: str | None = Field(None, description="user name for basic auth; default the login name")
    password_env: str = Field(
        "B2DARK_GATEWAY_PASSWORD", description="environment variable holding the basic-auth password"
    )
    cluster_options: dict[str, Any] = Field(
        default_factory=dict, description="gateway cluster options (e.g. image, worker_memory; the facility's list)"
    )
    workers: int | None = Field(None, ge=1, description="fixed workers; None = adaptive")
    minimum: int = Field(1, ge=0)
    maximum: int = Field(20, ge=1)


class RunOptions(_Strict):
    executor: str = Field("futures", description=" | ".join((*EXECUTOR_KINDS, "dask@tcp://HOST:PORT")))
    site: str | None = Field(None, description="site YAML name in workflows/sites or a path")
    workers: int = Field(2, ge=1, description="local workers (futures / dask@local)")
    threads_per_worker: int = Field(1, ge=1)
    memory_limit: str = Field("2GB", description="per-worker memory limit for dask@local")
    # 100k: 300k reads ~1.45x faster per core (the per-chunk fixed cost is spread over more events,
    # benchmarks/PROFILE.md) but took dask@local workers to 1.5 GiB on the default sample set, where
    # dask pauses a 2 GB worker; raise it per run (--chunksize) where workers have memory to spare.
    chunksize: int = Field(100_000, ge=1, description="entries per chunk")
    chunksize_per_sample: dict[str, int] = Field(default_factory=dict)
    maxchunks: int | None = Field(None, ge=1, description="process only this many chunks per sample")
    retries: int = Field(3, ge=0, description="dask task retries (worker loss, transient I/O)")
    treereduction: int = Field(20, ge=2, description="outputs merged per reduction task")
    skip_bad_files: bool = False
    # events with NaN / inf or broken MC weights: dropped and recorded, instead of stopping the run
    drop_bad_events: bool = False
    status: bool = Field(False, description="progress bars")
    upload_package: bool = Field(
        False, description="zip processors/workflows/samples and client.upload_file it to dask workers"
    )
    cluster: ClusterOptions = Field(default_factory=ClusterOptions)
    gateway: GatewayOptions = Field(default_factory=GatewayOptions)

    @field_validator("executor")
    @classmethod
    def _known_executor(cls, value: str) -> str:
        if value in EXECUTOR_KINDS or value.startswith(("dask@tcp://", "dask@tls://")):
            return value
        raise ValueError(f"unknown executor {value!r}; use one of {', '.join(EXECUTOR_KINDS)} or dask@tcp://HOST:PORT")

    @field_validator("chunksize_per_sample")
    @classmethod
    def _positive_chunks(cls, value: dict[str, int]) -> dict[str, int]:
        bad = {k: v for k, v in value.items() if v < 1}
        if bad:
            raise ValueError(f"chunksize_per_sample must be >= 1, got {bad}")
        return value

    def chunksize_for(self, sample: str) -> int:
        return self.chunksize_per_sample.get(sample, self.chunksize)


# --- layering ------------------------------------------------------------------------------


def _deep_merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _check_layer(layer: Mapping[str, Any], source: str) -> None:
    """Validate one layer alone so an error names the file that holds the bad key."""
    try:
        RunOptions.model_validate(_deep_merge(RunOptions().model_dump(), layer))
    except ValidationError as err:
        problems = []
        for e in err.errors():
            key = ".".join(str(p) for p in e["loc"])
            if e["type"] == "extra_forbidden":
                problems.append(f"unknown key '{key}'")
            else:
                problems.append(f"key '{key}': {e['msg']}")
        raise RunOptionsError(
            f"{source}: {'; '.join(problems)} (valid keys: see workflows/runoptions.py RunOptions)"
        ) from None


def read_yaml_layer(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise RunOptionsError(f"run-options file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise RunOptionsError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise RunOptionsError(f"{path}: expected a mapping of option: value at the top level")
    _check_layer(data, str(path))
    return data


def site_path(site: str) -> Path:
    """A site is a name in workflows/sites (``slurm``) or a path to a YAML file."""
    candidate = Path(site)
    if candidate.suffix in (".yaml", ".yml"):
        return candidate
    path = SITES_DIR / f"{site}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in SITES_DIR.glob("*.yaml"))
        raise RunOptionsError(f"unknown site {site!r}: no {path}; known sites: {known} or give a YAML path")
    return path


def load_run_options(
    site: str | None = None,
    user_file: str | Path | None = None,
    cli: Mapping[str, Any] | None = None,
) -> RunOptions:
    """Build the run options from all layers; later layers override earlier ones key by key.

    ``cli`` holds command-line values; entries that are None (flag not given) are ignored.
    Nested keys may be given as ``{"cluster": {"jobs": 4}}`` or ``{"cluster.jobs": 4}``.
    """
    user_layer = read_yaml_layer(Path(user_file)) if user_file is not None else {}
    cli_layer: dict[str, Any] = {}
    for key, value in (cli or {}).items():
        if value is None:
            continue
        node = cli_layer
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    _check_layer(cli_layer, "command-line options")

    site = cli_layer.get("site") or site or user_layer.get("site")
    merged = RunOptions().model_dump()
    if site:
        merged = _deep_merge(merged, read_yaml_layer(site_path(site)))
    merged = _deep_merge(merged, user_layer)
    merged = _deep_merge(merged, cli_layer)
    if site:
        merged["site"] = str(site)
    try:
        return RunOptions.model_validate(merged)
    except ValidationError as err:  # cross-layer problems only; single layers were checked
        raise RunOptionsError(f"combined run options are invalid: {err}") from None

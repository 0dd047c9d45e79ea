"""What made an output folder: command, configuration, code revision, versions, inputs, what was skipped."""

from __future__ import annotations

import datetime as _dt
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "b2dark",
    "coffea",
    "awkward",
    "uproot",
    "hist",
    "boost-histogram",
    "numpy",
    "numba",
    "dask",
    "distributed",
    "dask-awkward",
    "dask-histogram",
    "dask-jobqueue",
    "pyhf",
    "vector",
    "scipy",
    "mplhep",
)


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = None
    return out


def git_state(repo: Path = REPO_ROOT) -> dict[str, Any]:
    """HEAD revision and whether the work tree has uncommitted changes (None outside a git checkout)."""

    def git(*args: str) -> str | None:
        try:
            r = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return r.stdout.strip() if r.returncode == 0 else None

    rev = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"revision": rev, "dirty": bool(status) if status is not None else None}


def collect(
    *,
    command: list[str] | None = None,
    search: str,
    options: dict[str, Any],
    inputs: list[dict[str, Any]],
    skipped: list[dict[str, Any]],
    accounting: dict[str, Any],
    executor: dict[str, Any],
    timings: dict[str, float],
    resume: dict[str, Any],
    selection: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    bad_events: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    prov = {
        "command": command if command is not None else sys.argv,
        "search": search,
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "python": sys.version.split()[0],
        "git": git_state(),
        "packages": package_versions(),
        "options": options,
        "executor": executor,
        "selection": selection or {},
        "inputs": inputs,
        "skipped_files": skipped,
        "bad_events": bad_events or [],  # events dropped for bad values (--drop-bad-events), per file and branch
        "accounting": accounting,
        "resume": resume,
        "timings_s": timings,
    }
    if extra:
        prov.update(extra)
    return prov

"""What every test folder shares: the ROOT requirement of `make test`, the toy search of the workflow
tests (declared in toy_search.py and made visible to subprocesses too), and a Runner helper.
Search-specific fixtures live in tests/searches/<key>/conftest.py."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
# The toy search: importable in this process and in the subprocesses tests start (b2dark CLI runs).
os.environ["B2DARK_SEARCH_MODULES"] = "toy_search"
os.environ["PYTHONPATH"] = os.pathsep.join([str(TESTS), *filter(None, [os.environ.get("PYTHONPATH")])])

if os.environ.get("B2DARK_REQUIRE_ROOT") == "1":
    # `make test` (and so CI) installs ROOT for the cross-checks: its absence must fail the run,
    # not turn the ROOT tests' importorskip into silent skips.
    import ROOT  # noqa: F401


def run_runner(fileset: dict[str, Any], processor_instance: Any, executor: str = "iterative", chunksize: int = 100_000):
    """Run a processor with coffea's processor.Runner (iterative or futures)."""
    from coffea import processor

    from processors.schema import B2Schema

    ex = processor.IterativeExecutor() if executor == "iterative" else processor.FuturesExecutor(workers=2)
    # metadata_cache={}: coffea's default cache is process-global and keyed on (dataset, file, tree);
    # it would hand a later run the *user metadata* of an earlier one (e.g. another xsec_fb).
    runner = processor.Runner(executor=ex, schema=B2Schema, chunksize=chunksize, metadata_cache={})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return runner(fileset, processor_instance=processor_instance, treename="events")


@pytest.fixture(scope="session")
def local_gateway(tmp_path_factory: pytest.TempPathFactory):
    """A running dask-gateway on localhost, {"dir", "address", "password"}; stopped at the end of the session."""
    from local_gateway import running_gateway

    yield from running_gateway(tmp_path_factory)

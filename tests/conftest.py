"""Shared pytest fixtures. Others may append fixtures at the end of this file.

Processor fixtures (helper C): small synthetic files written by tests/synthetic.py
(no dependency on the generator) and the coffea filesets that point at them.
"""

from __future__ import annotations

import itertools
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

if os.environ.get("B2DARK_REQUIRE_ROOT") == "1":
    # `make test` (and so CI) installs ROOT for the cross-checks: its absence must fail the run,
    # not turn the ROOT tests' importorskip into silent skips.
    import ROOT  # noqa: F401

SIGNAL_MASS = 3.0  # GeV: the synthetic signal peaks at M^2_recoil = 9 GeV^2
N_SIGNAL = 150
N_BKG = 150
N_INJECTED = 40


def _bkg_events(rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
    """mu mu gamma-like background: two muons recoiling against a massless state; half of
    the events have that photon reconstructed (they fail the photon veto)."""
    from synthetic import dimuon_recoil_events

    events = dimuon_recoil_events(rng, n, 0.0, recoil_cos_range=(-0.6, 0.6))
    for i, ev in enumerate(events):
        if i % 2 == 0:
            theta, phi = ev["_recoil_lab"]
            ev["Photon"] = [{"E": 1.5, "theta": theta, "phi": phi}]
    return events


@pytest.fixture(scope="session")
def zp_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Synthetic ROOT/Parquet files: signal (M = 3 GeV), background, pseudo-data with an
    injected signal (its first N_INJECTED events are the signal)."""
    from synthetic import columns_from_events, dimuon_recoil_events, write_columns

    d = tmp_path_factory.mktemp("zp_synthetic")
    rng = np.random.default_rng(20260101)
    sig = dimuon_recoil_events(rng, N_SIGNAL, SIGNAL_MASS, mmumu=2.0, recoil_cos_range=(-0.4, 0.4))
    for i, ev in enumerate(sig):
        ev["weight"] = 1.0 + (i % 3) * 0.5  # non-trivial generator weights
    bkg = _bkg_events(rng, N_BKG)
    injected = dimuon_recoil_events(rng, N_INJECTED, SIGNAL_MASS, mmumu=2.0, recoil_cos_range=(-0.4, 0.4))
    data = [{k: v for k, v in ev.items() if k != "mc_mass"} for ev in injected + _bkg_events(rng, N_BKG)]
    out = {
        "signal": write_columns(d / "signal.root", columns_from_events(sig)),
        "signal_parquet": write_columns(d / "signal.parquet", columns_from_events(sig)),
        "bkg": write_columns(d / "bkg.root", columns_from_events(bkg)),
        "data": write_columns(d / "data.root", columns_from_events(data, mc=False)),
    }
    return out


def zp_metadata(sample: str, n_events: int, is_data: bool = False, **extra: Any) -> dict[str, Any]:
    md: dict[str, Any] = {
        "sample": sample, "process": sample, "is_data": is_data, "is_signal": sample.startswith("sig"),
        "xsec_fb": None if is_data else 20.0, "n_events": n_events, "n_generated": n_events,
        "filter_efficiency": 1.0 if is_data else 0.5, "lumi_fb": 79.7,
        "mass": SIGNAL_MASS if sample.startswith("sig") else None, "coupling": None, "ctau": None,
        "mass2": None, "mass3": None, "injected_signal": None,
    }  # fmt: skip
    md.update(extra)
    return md


@pytest.fixture(scope="session")
def zp_fileset(zp_files: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """coffea fileset (Runner layout) over the synthetic files."""
    return {
        "sig_m3": {"files": {str(zp_files["signal"]): "events"}, "metadata": zp_metadata("sig_m3", N_SIGNAL)},
        "bkg_mumu": {"files": {str(zp_files["bkg"]): "events"}, "metadata": zp_metadata("bkg_mumu", N_BKG)},
        "data": {
            "files": {str(zp_files["data"]): "events"},
            "metadata": zp_metadata("data", N_INJECTED + N_BKG, is_data=True, injected_signal="sig_m3"),
        },
    }


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


def run_dask(fileset: dict[str, Any], processor_instance: Any, step_size: int):
    """Run a processor in dask mode (dask-awkward events, hist.dask) via apply_to_fileset."""
    import dask
    import uproot
    from coffea.dataset_tools import apply_to_fileset

    from processors.base import merge_outputs
    from processors.schema import B2Schema

    spec = {}
    for name, ds in fileset.items():
        files = {}
        for path, tree in ds["files"].items():
            n = uproot.open(path)[tree].num_entries
            edges = [*range(0, n, step_size), n]
            files[path] = {"object_path": tree, "steps": [[a, b] for a, b in itertools.pairwise(edges)]}
        spec[name] = {"files": files, "metadata": ds["metadata"]}
    outs = apply_to_fileset(processor_instance, spec, schemaclass=B2Schema)
    (outs,) = dask.compute(outs, scheduler="sync")
    return processor_instance.postprocess(merge_outputs(outs))

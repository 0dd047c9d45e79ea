"""A tiny coffea processor and ROOT sample for executor tests (no physics, fast, deterministic).

Workers started by dask (local processes, SLURM jobs) cannot import this tests/ module, so
``ship_by_value()`` makes cloudpickle send its classes by value.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import awkward as ak
import cloudpickle
import hist
import numpy as np
import uproot
from coffea import processor
from coffea.nanoevents import BaseSchema


def ship_by_value() -> None:
    cloudpickle.register_pickle_by_value(sys.modules[__name__])


def write_toy_files(directory: Path, n_files: int = 2, n_events: int = 2000, seed: int = 7) -> list[str]:
    """ROOT files with an `events` tree: a flat `x` and a jagged `Track_pt`."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n_files):
        counts = rng.poisson(2.0, n_events)
        pt = ak.unflatten(rng.exponential(1.5, counts.sum()), counts)
        path = directory / f"toy_{i}.root"
        with uproot.recreate(path) as f:
            f["events"] = {"x": rng.normal(0.0, 1.0, n_events), "Track_pt": pt}
        paths.append(str(path))
    return paths


class ToyProcessor(processor.ProcessorABC):
    """Histograms x and track pT; `sleep` seconds per chunk make runs long enough to kill a worker."""

    def __init__(self, sleep: float = 0.0) -> None:
        self.sleep = sleep

    def process(self, events):
        if self.sleep:
            time.sleep(self.sleep)
        dataset = events.metadata["dataset"]
        h_x = hist.Hist.new.StrCat([], name="dataset", growth=True).Reg(40, -4, 4, name="x").Int64()
        h_pt = hist.Hist.new.StrCat([], name="dataset", growth=True).Reg(30, 0, 6, name="pt").Int64()
        h_x.fill(dataset=dataset, x=events.x)
        h_pt.fill(dataset=dataset, pt=ak.flatten(events.Track_pt))
        return {
            "hists": {"x": h_x, "pt": h_pt},
            "nevents": {dataset: len(events)},
            "chunks": {dataset: 1},
        }

    def postprocess(self, accumulator):
        return accumulator


class FlakyToyProcessor(ToyProcessor):
    """Fails its first attempt at the first chunk of every file (a transient error), then works."""

    def __init__(self, marker_dir: str) -> None:
        super().__init__()
        self.marker_dir = marker_dir

    def process(self, events):
        meta = events.metadata
        if meta["entrystart"] == 0:
            marker = Path(self.marker_dir) / f"{Path(meta['filename']).stem}.failed-once"
            if not marker.exists():
                marker.touch()
                raise OSError(f"transient read error (test) in {meta['filename']}")
        return super().process(events)


def run_toy(
    executor: processor.ExecutorBase,
    fileset: dict,
    chunksize: int = 500,
    sleep: float = 0.0,
    processor_instance: processor.ProcessorABC | None = None,
) -> dict:
    runner = processor.Runner(executor=executor, chunksize=chunksize, schema=BaseSchema)
    return runner(fileset, processor_instance=processor_instance or ToyProcessor(sleep=sleep), treename="events")


def assert_same_output(a: dict, b: dict) -> None:
    assert a["nevents"] == b["nevents"]
    assert a["chunks"] == b["chunks"]
    assert a["hists"].keys() == b["hists"].keys()
    for name in a["hists"]:
        ha, hb = a["hists"][name], b["hists"][name]
        assert list(ha.axes["dataset"]) == list(hb.axes["dataset"]) or sorted(ha.axes["dataset"]) == sorted(
            hb.axes["dataset"]
        )
        for s in ha.axes["dataset"]:
            np.testing.assert_array_equal(ha[{"dataset": s}].values(flow=True), hb[{"dataset": s}].values(flow=True))

"""Shared by the workflow tests: tiny event-format ROOT files, a fileset JSON, and the toy search.

The toy search ("toy", declared in toy_search.py, which conftest.py names in B2DARK_SEARCH_MODULES) runs a
stand-in processor that reads real event-format branches and returns the processor output contract (hists with
a "sample" axis, cutflow arrays, nevents), so the driver is tested independently of the physics processors.
Importable on workers as ``workflow_helpers`` (tests/ is put on PYTHONPATH)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import awkward as ak
import hist
import numpy as np
import uproot
from coffea import processor
from coffea.nanoevents import BaseSchema
from toy_search import SEARCH, TOY  # noqa: F401  (the toy declaration, kept light for `b2dark --help`)

from samples.eventformat import COLLECTIONS, EVENT_COLUMNS


def write_events(path: Path, n: int, seed: int, mc: bool = True, drop: tuple[str, ...] = ()) -> Path:
    """A small file in the b2dark event format (random content, right branches and types)."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    for c in EVENT_COLUMNS:
        if c.dtype == "bool":
            data[c.name] = rng.random(n) < 0.7
        elif c.dtype.startswith("int"):
            data[c.name] = np.arange(n, dtype=c.dtype) + seed * 100000
        else:
            data[c.name] = rng.normal(1.0, 0.5, n).astype(c.dtype)
    data["weight"] = np.ones(n, dtype="float32")
    for coll, cols in COLLECTIONS.items():
        kept = [c for c in cols if mc or not c.mc_only]
        if not kept:
            continue
        counts = rng.integers(0, 4, n)
        fields = {}
        for c in kept:
            flat = rng.normal(0.0, 1.0, counts.sum()).astype(c.dtype)
            fields[c.name] = ak.unflatten(flat, counts)
        data[coll] = ak.zip(fields)
    for name in drop:
        coll, _, field = name.partition("_")
        if coll in data and isinstance(data[coll], ak.Array) and field:
            data[coll] = ak.zip({f: data[coll][f] for f in ak.fields(data[coll]) if f != field})
        else:
            data.pop(name, None)
    with uproot.recreate(path) as f:
        f.mktree(
            "events",
            {k: (v.type if isinstance(v, ak.Array) else v.dtype) for k, v in data.items()},
            counter_name=lambda coll: f"n{coll}",
        )
        f["events"].extend(data)
    return path


def make_fileset(directory: Path, files_per_sample: int = 2, n: int = 400) -> Path:
    """Two MC samples and one data sample, as a fileset JSON (what a catalog's to_fileset returns)."""
    directory.mkdir(parents=True, exist_ok=True)
    spec = {
        "bkg_mumu": {"is_data": False, "is_signal": False, "xsec_fb": 1.148e6},
        "sig_m1": {"is_data": False, "is_signal": True, "xsec_fb": 50.0, "mass": 1.0},
        "data": {"is_data": True, "is_signal": False, "xsec_fb": None},
    }
    fileset: dict[str, Any] = {}
    for i, (sample, meta) in enumerate(spec.items()):
        files = {}
        counts = {}
        for j in range(files_per_sample):
            p = write_events(directory / f"{sample}_{j}.root", n + 37 * j, seed=10 * i + j, mc=not meta["is_data"])
            files[p.name] = "events"
            counts[p.name] = n + 37 * j
        fileset[sample] = {
            "files": files,
            "metadata": {
                "sample": sample,
                "process": "zprime_inv" if meta["is_signal"] else sample,
                **meta,
                "n_events": sum(counts.values()),
                "n_generated": sum(counts.values()),
                "filter_efficiency": 1.0,
                "lumi_fb": 79.7,
                "file_events": counts,
            },
        }
    path = directory / "fileset.json"
    path.write_text(json.dumps(fileset, indent=1))
    return path


class StandInProcessor(processor.ProcessorABC):
    """Minimal processor with the output contract. B2_STANDIN_SLEEP slows each chunk, B2_STANDIN_LOG logs it."""

    schema = BaseSchema

    def __init__(self, lumi_fb: float | None = None, unblind: bool = False, working_point: Any = None):
        self.lumi_fb = lumi_fb
        self.unblind = unblind

    def required_branches(self, is_mc: bool) -> set[str]:
        return {"nTrack", "Track_px", "Track_py", "Track_pz", "Track_charge", "beam_E", "weight"}

    def process(self, events: Any) -> dict[str, Any]:
        delay = float(os.environ.get("B2_STANDIN_SLEEP", "0"))
        if delay:
            time.sleep(delay)
        meta = events.metadata
        log = os.environ.get("B2_STANDIN_LOG")
        if log:  # which chunks were really computed (the resume test reads it)
            with open(log, "a") as f:
                f.write(f"{meta['dataset']} {Path(meta['filename']).name} {meta['entrystart']}\n")
        sample = meta["sample"]
        n = len(events)
        if meta.get("is_data"):
            w = np.ones(n)
        else:
            w = (
                meta["xsec_fb"]
                * meta["filter_efficiency"]
                * self.lumi_fb
                / meta["n_events"]
                * ak.to_numpy(events.weight)
            )
        pt = np.hypot(events.Track_px, events.Track_py)
        two = ak.to_numpy(events.nTrack == 2)
        x = ak.to_numpy(ak.fill_none(ak.max(pt, axis=1), 0.0))
        blind = bool(meta.get("is_data")) and not self.unblind
        sel = two & ~(blind & (x > 1.0))
        h = hist.Hist(
            hist.axis.StrCategory([], growth=True, name="sample"),
            hist.axis.Regular(20, 0, 4, name="x", label="max track pT [GeV]"),
            storage=hist.storage.Weight(),
        )
        h.fill(sample, x[sel], weight=w[sel])
        h2 = hist.Hist(
            hist.axis.StrCategory([], growth=True, name="sample"),
            hist.axis.Regular(10, 0, 4, name="x"),
            hist.axis.Regular(5, -1, 1, name="y"),
            storage=hist.storage.Weight(),
        )
        h2.fill(sample, x[sel], np.tanh(ak.to_numpy(events.beam_E))[sel], weight=w[sel])
        return {
            "hists": {"x": h, "template": h2},
            "cutflow": {
                sample: {
                    "names": ["all", "two tracks", "blind"],
                    "raw": np.array([n, two.sum(), sel.sum()]),
                    "weighted": np.array([w.sum(), w[two].sum(), w[sel].sum()]),
                }
            },
            "nevents": {sample: n},
            "blinded": blind or (not bool(meta.get("is_data")) and not self.unblind),
        }

    def postprocess(self, accumulator: Any) -> Any:
        return accumulator

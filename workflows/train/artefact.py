"""The versioned network artefact of a search (JSON), written by ``b2dark train``, read by ``processors/mva.py``.

One JSON document (float64 weights as decimal text: JSON round-trips doubles exactly, and the file is
small: ~1-2 k parameters per network), format ``processors.mva.FORMAT_NAME`` version
``processors.mva.FORMAT_VERSION``::

    format, version, search, created_utc
    features            the input columns, in the networks' order
    observable, window_n_sigma    what defines the mass windows of the loss
    loss, a, reduction, config    the training (TrainConfig), seed
    split               the event-number split and the events per sample and fold
    training_samples    {sample: {catalog_digest, generator_digest, is_signal, mass}}
    input               the run folder, sha256 of its event list, its git revision, lumi
    libraries           python, numpy, torch versions
    networks            per mass range: mass_range, masses, hypotheses (window centre, half-width),
                        mean, scale, layers, best_epoch, seconds, working_point_logit (the logit cut of the
                        largest validation FOM summed over the range) and working_point (its sigmoid),
                        validation {soft_fom, fom_at_working_point,
                        eff_at_working_point, background_at_working_point, best_fom_per_mass}
    digest              sha256 of everything above (processors.mva.content_digest)

The loader refuses a document whose digest does not match, so a hand-edited or truncated artefact fails.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from processors import mva
from workflows.outputs import _jsonable, write_json_atomic
from workflows.train import fom
from workflows.train.dataset import RangeData


def library_versions() -> dict[str, str]:
    import torch

    return {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__}


def validation_record(net: mva.Network, val: RangeData, a: float) -> tuple[float, dict[str, Any]]:
    """(working point on the logit, validation summary) of a network, scored with the numpy inference.

    The cuts are scanned on the logit: the Punzi loss drives many scores to sigmoid saturation (1.0 in
    float64), where cuts on the score itself could not be told apart.
    """
    logit = net.logit(dict(zip(net.features, val.X.T, strict=True)))
    score = mva.sigmoid(logit)
    scan = fom.cut_scan(logit, val, a)
    i = scan.best
    names = [h.sample for h in val.hypotheses]
    rec = {
        "soft_fom": dict(zip(names, fom.soft_fom(score, val, a).tolist(), strict=True)),
        "fom_at_working_point": dict(zip(names, scan.fom[i].tolist(), strict=True)),
        "eff_at_working_point": dict(zip(names, scan.eff[i].tolist(), strict=True)),
        "background_at_working_point": dict(zip(names, scan.background[i].tolist(), strict=True)),
        "best_fom_per_mass": dict(zip(names, scan.fom.max(axis=0).tolist(), strict=True)),
        "fom_no_cut": dict(zip(names, scan.fom[0].tolist(), strict=True)),
    }
    return float(scan.cuts[i]), rec


def network_entry(
    mass_range: tuple[float, float], val: RangeData, layers: list[dict[str, Any]], mean: np.ndarray,
    scale: np.ndarray, features: Sequence[str], a: float, extra: Mapping[str, Any],
) -> dict[str, Any]:  # fmt: skip
    entry: dict[str, Any] = {
        "mass_range": list(mass_range),
        "masses": [h.mass for h in val.hypotheses],
        "hypotheses": [
            {"sample": h.sample, "mass": h.mass, "centre": h.centre, "halfwidth": h.halfwidth} for h in val.hypotheses
        ],
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "layers": layers,
        **extra,
    }
    net = mva._network_from_dict(entry, tuple(features), "")
    wp, rec = validation_record(net, val, a)
    entry["working_point_logit"] = wp  # select logit >= this (processors.mva.Network.selected)
    entry["working_point"] = float(mva.sigmoid(np.array([wp]))[0])
    entry["validation"] = rec
    return entry


def document(
    *, search: str, features: Sequence[str], observable: Sequence[str], window_n_sigma: float,
    config: Mapping[str, Any], split: Mapping[str, Any], training_samples: Mapping[str, Any],
    source: Mapping[str, Any], networks: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:  # fmt: skip
    doc: dict[str, Any] = {
        "format": mva.FORMAT_NAME,
        "version": mva.FORMAT_VERSION,
        "search": search,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "features": list(features),
        "observable": list(observable),
        "window_n_sigma": window_n_sigma,
        "loss": config["loss"],
        "a": config["a"],
        "seed": config["seed"],
        "config": dict(config),
        "split": dict(split),
        "training_samples": dict(training_samples),
        "input": dict(source),
        "libraries": library_versions(),
        "networks": list(networks),
    }
    doc = _jsonable(doc)
    doc["digest"] = mva.content_digest(doc)
    return doc


def write(path: str | Path, doc: Mapping[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, doc, allow_nan=False)
    return path

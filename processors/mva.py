"""Columnar inference of the b2dark background-suppression networks (numpy only, no training library).

An artefact (written by ``b2dark train``, ``workflows/train/artefact.py``) holds one small MLP per declared
mass range: dense layers with ReLU / tanh / sigmoid, a logistic output, the feature names and their
normalisation ``(x - mean) / scale``. ``load(path, features=...)`` reads and checks it; ``Artefact.score``
and ``Network.score`` map ``{feature: array}`` to one score in [0, 1] per event.

Why the dense layers are written as a sum over input units instead of ``x @ W``: a BLAS matrix product
may block and reorder the additions differently for a different number of rows, so the score of one
event could change in the last bit with the chunk size. The explicit sum adds in a fixed order for every
row, so eager and dask execution give bit-identical scores whatever the chunking; for networks of tens of
units its cost is negligible next to reading the events.

The event-number split (``split_fold``) lives here too, so that a processor can tell the application
events (the only ones that may fill templates of a trained selection) without importing ``workflows``.

Errors (``ArtefactError``) say how to retrain: ``b2dark train SEARCH``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMAT_NAME = "b2dark-mva"
FORMAT_VERSION = 1
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")

# The split: fold 0 trains, fold 1 validates (model and working-point choice), fold 2 is the
# application set (templates, limits). Recorded in every artefact.
N_FOLDS = 3
FOLD_TRAIN, FOLD_VALIDATION, FOLD_APPLICATION = 0, 1, 2
SPLIT_SCHEME = "splitmix64((run << 32) ^ event) % 3; 0 train, 1 validation, 2 application"


class ArtefactError(RuntimeError):
    """A missing, corrupt or stale network artefact, or features that do not match it."""


def _retrain_hint(search: str | None) -> str:
    return f"retrain with `b2dark train {search or 'SEARCH'} --input RUN_DIR ...` (see `b2dark train --help`)"


# --------------------------------------------------------------------------- split


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: a well-mixed, platform-independent integer hash (Python's hash is salted)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def split_fold(run: np.ndarray, event: np.ndarray, n_folds: int = N_FOLDS) -> np.ndarray:
    """The fold (0 .. n_folds - 1) of each event, from its (run, event) numbers only."""
    r = np.asarray(run).astype(np.int64).astype(np.uint64)
    e = np.asarray(event).astype(np.int64).astype(np.uint64)
    return (_splitmix64((r << np.uint64(32)) ^ e) % np.uint64(n_folds)).astype(np.int64)


# --------------------------------------------------------------------------- network


def _activate(x: np.ndarray, name: str) -> np.ndarray:
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "tanh":
        return np.tanh(x)
    if name == "sigmoid":
        return sigmoid(x)
    if name == "linear":
        return x
    raise ArtefactError(f"unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}")


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function without overflow warnings for large |x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def dense(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``x @ weight + bias`` summed in a fixed order per row (chunk-size independent, see the module doc)."""
    out = np.broadcast_to(bias, (x.shape[0], weight.shape[1])).copy()
    for k in range(weight.shape[0]):
        out += x[:, k, None] * weight[k]
    return out


@dataclass(frozen=True)
class Layer:
    weight: np.ndarray  # (n_in, n_out)
    bias: np.ndarray  # (n_out,)
    activation: str


@dataclass(frozen=True)
class Network:
    """One MLP of an artefact: its mass range, hypotheses, normalisation and working point."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    layers: tuple[Layer, ...]
    mass_range: tuple[float, float]
    masses: tuple[float, ...] = ()
    working_point: float | None = None  # score cut chosen on the validation split by the Punzi FOM
    working_point_logit: float | None = None  # the same cut on the logit (exact where the sigmoid saturates)
    info: dict[str, Any] = field(default_factory=dict)

    def matrix(self, features: Mapping[str, Any]) -> np.ndarray:
        """The (n_events, n_features) input in this network's feature order; wrong names are an error."""
        given = set(features)
        missing = [f for f in self.features if f not in given]
        extra = sorted(given - set(self.features))
        if missing or extra:
            raise ArtefactError(
                f"the network was trained on features {list(self.features)}; the caller gives {sorted(given)} "
                f"(missing {missing}, not in the artefact {extra}): {_retrain_hint(self.info.get('search'))}"
            )
        cols = [np.asarray(features[f], dtype=np.float64).reshape(-1) for f in self.features]
        if len({c.size for c in cols}) > 1:
            raise ValueError(f"feature columns have different lengths: {[c.size for c in cols]}")
        return np.stack(cols, axis=1) if cols else np.zeros((0, 0))

    def logit(self, features: Mapping[str, Any]) -> np.ndarray:
        h = (self.matrix(features) - self.mean) / self.scale
        for layer in self.layers:
            h = _activate(dense(h, layer.weight, layer.bias), layer.activation)
        return h[:, 0]

    def score(self, features: Mapping[str, Any]) -> np.ndarray:
        """Network output in [0, 1] per event (the sigmoid of the last layer)."""
        return sigmoid(self.logit(features))

    def selected(self, features: Mapping[str, Any]) -> np.ndarray:
        """Events passing the working point (logit >= working_point_logit)."""
        if self.working_point_logit is None:
            raise ArtefactError(f"the network {self.mass_range} has no working point: "
                                f"{_retrain_hint(self.info.get('search'))}")  # fmt: skip
        return self.logit(features) >= self.working_point_logit


@dataclass(frozen=True)
class Artefact:
    """A loaded artefact: one network per mass range plus the training record (``meta``)."""

    search: str
    features: tuple[str, ...]
    networks: tuple[Network, ...]
    meta: dict[str, Any]
    digest: str
    path: Path | None = None

    def network_for(self, mass: float) -> Network:
        """The network whose range holds ``mass`` ([lo, hi), the last range also includes its upper edge)."""
        for i, net in enumerate(self.networks):
            lo, hi = net.mass_range
            if lo <= mass < hi or (i == len(self.networks) - 1 and mass == hi):
                return net
        ranges = ", ".join(f"{n.mass_range[0]:g}-{n.mass_range[1]:g}" for n in self.networks)
        raise ArtefactError(f"mass {mass:g} is in no trained range ({ranges}): {_retrain_hint(self.search)}")

    def selected_per_event(self, features: Mapping[str, Any], mass: np.ndarray) -> np.ndarray:
        """Per event: passes the working point of the network whose range holds the event's own ``mass``
        (the reconstructed observable in GeV); an event outside every trained range fails."""
        mass = np.asarray(mass, dtype=np.float64)
        out = np.zeros(mass.shape, dtype=bool)
        for i, net in enumerate(self.networks):
            lo, hi = net.mass_range
            inside = (mass >= lo) & ((mass < hi) | ((mass == hi) & (i == len(self.networks) - 1)))
            if inside.any():
                out[inside] = net.selected({k: np.asarray(v)[inside] for k, v in features.items()})
        return out

    def score(self, features: Mapping[str, Any], mass: float | None = None) -> np.ndarray:
        if mass is None:
            if len(self.networks) != 1:
                raise ValueError(f"the artefact has {len(self.networks)} networks (one per mass range): give mass=")
            return self.networks[0].score(features)
        return self.network_for(mass).score(features)


# --------------------------------------------------------------------------- file format


def content_digest(doc: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of everything but the digest itself."""
    body = {k: v for k, v in doc.items() if k != "digest"}
    blob = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
    return hashlib.sha256(blob).hexdigest()


def _network_from_dict(d: Mapping[str, Any], features: tuple[str, ...], search: str) -> Network:
    layers = []
    n_in = len(features)
    for i, ld in enumerate(d["layers"]):
        w = np.asarray(ld["weight"], dtype=np.float64).reshape(n_in, -1)
        b = np.asarray(ld["bias"], dtype=np.float64)
        if b.shape != (w.shape[1],):
            raise ArtefactError(f"layer {i}: bias shape {b.shape} does not match weight {w.shape}")
        layers.append(Layer(w, b, str(ld["activation"])))
        n_in = w.shape[1]
    if n_in != 1:
        raise ArtefactError(f"the last layer has {n_in} outputs; the score needs one")
    lo, hi = d["mass_range"]
    wp, wpl = d.get("working_point"), d.get("working_point_logit")
    return Network(
        features=features,
        mean=np.asarray(d["mean"], dtype=np.float64),
        scale=np.asarray(d["scale"], dtype=np.float64),
        layers=tuple(layers),
        mass_range=(float(lo), float(hi)),
        masses=tuple(float(m) for m in d.get("masses", ())),
        working_point=None if wp is None else float(wp),
        working_point_logit=None if wpl is None else float(wpl),
        info={"search": search, **{k: v for k, v in d.items() if k not in ("layers", "mean", "scale")}},
    )


def from_document(doc: Mapping[str, Any], path: Path | None = None) -> Artefact:
    where = str(path) if path else "<artefact>"
    if doc.get("format") != FORMAT_NAME:
        raise ArtefactError(f"{where}: not a b2dark network artefact (format={doc.get('format')!r})")
    search = str(doc.get("search", ""))
    if int(doc.get("version", -1)) != FORMAT_VERSION:
        raise ArtefactError(f"{where}: artefact format version {doc.get('version')} != {FORMAT_VERSION}: "
                            f"{_retrain_hint(search)}")  # fmt: skip
    recorded = doc.get("digest")
    actual = content_digest(doc)
    if recorded != actual:
        raise ArtefactError(f"{where}: recorded digest {recorded} != content digest {actual[:16]}... (edited or "
                            f"truncated): {_retrain_hint(search)}")  # fmt: skip
    features = tuple(str(f) for f in doc["features"])
    nets = tuple(_network_from_dict(n, features, search) for n in doc["networks"])
    meta = {k: v for k, v in doc.items() if k not in ("networks", "digest")}
    return Artefact(search=search, features=features, networks=nets, meta=meta, digest=str(recorded), path=path)


def load(
    path: str | Path,
    *,
    search: str | None = None,
    features: Sequence[str] | None = None,
    sample_digests: Mapping[str, str | None] | None = None,
) -> Artefact:
    """Read and check an artefact.

    ``search``: the search that uses it; ``features``: the feature list the caller declares (as a set: the
    artefact's order is used); ``sample_digests``: {sample: catalog digest} of the samples the caller runs
    on, compared with the digests recorded at training for the samples both know. Any mismatch is an
    ``ArtefactError`` saying how to retrain.
    """
    path = Path(path)
    if not path.is_file():
        raise ArtefactError(f"network artefact {path} not found: {_retrain_hint(search)}")
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ArtefactError(f"{path}: unreadable ({e}): {_retrain_hint(search)}") from e
    art = from_document(doc, path)
    if search is not None and art.search != search:
        raise ArtefactError(f"{path}: trained for search {art.search!r}, not {search!r}: {_retrain_hint(search)}")
    if features is not None and set(features) != set(art.features):
        raise ArtefactError(
            f"{path}: trained on features {list(art.features)}, the search declares {list(features)} "
            f"(missing {sorted(set(art.features) - set(features))}, new {sorted(set(features) - set(art.features))}): "
            f"{_retrain_hint(art.search)}"
        )
    if sample_digests is not None:
        check_samples(art, sample_digests)
    return art


def check_samples(art: Artefact, sample_digests: Mapping[str, str | None]) -> None:
    """ArtefactError if a sample the network was trained on has another catalog digest now (its recipe
    entry changed: other events, other weights); samples it does not know are fine (e.g. new masses)."""
    trained = art.meta.get("training_samples", {})
    stale = [
        f"{s}: trained on {trained[s].get('catalog_digest')}, now {d}"
        for s, d in sorted(sample_digests.items())
        if s in trained and trained[s].get("catalog_digest") is not None and d != trained[s]["catalog_digest"]
    ]
    if stale:
        raise ArtefactError(f"{art.path or '<artefact>'}: the samples changed since training ({'; '.join(stale)}): "
                            f"{_retrain_hint(art.search)}")  # fmt: skip

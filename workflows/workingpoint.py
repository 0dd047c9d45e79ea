"""A search's working point in layers: declared defaults < YAML files (--working-point) < --set key=value.

Every layer is validated against the search's declared model (processors/<key>/search.py), so a
misspelt key fails with the key and the layer it came from. The result is recorded in provenance.json
and enters the resume hash: a variant working point is a configuration, never a code edit.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from processors.spec import SearchSpec, WorkingPoint


class WorkingPointError(ValueError):
    pass


def parse_assignment(text: str) -> tuple[str, Any]:
    """``key=value`` with a YAML value (``muon_id_min=0.9``, ``trigger=[trg_ffo, trg_stt]``)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise WorkingPointError(f"--set {text!r}: expected key=value, e.g. --set muon_id_min=0.9")
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError as err:
        raise WorkingPointError(f"--set {text!r}: value is not valid YAML: {err}") from None


def load_working_point(spec: SearchSpec, files: Sequence[Path] = (), assignments: Sequence[str] = ()) -> WorkingPoint:
    model = spec.working_point
    values: dict[str, Any] = {}
    layers: list[tuple[str, dict[str, Any]]] = []
    for path in files:
        path = Path(path)
        if not path.is_file():
            raise WorkingPointError(f"working-point file {path} not found")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise WorkingPointError(f"{path}: not valid YAML: {err}") from None
        if not isinstance(data, dict):
            raise WorkingPointError(f"{path}: expected a mapping of working-point keys, got {type(data).__name__}")
        layers.append((str(path), data))
    if assignments:
        layers.append(("--set", dict(parse_assignment(a) for a in assignments)))
    for where, layer in layers:
        unknown = sorted(set(layer) - set(model.model_fields))
        if unknown:
            raise WorkingPointError(f"{where}: unknown working-point key(s) {unknown} for {spec.name}; "
                                    f"known: {sorted(model.model_fields)}")  # fmt: skip
        values.update(layer)
        try:
            model(**values)
        except ValidationError as err:
            first = err.errors()[0]
            raise WorkingPointError(f"{where}: working point of {spec.name}: key {'.'.join(map(str, first['loc']))!r}: "
                                    f"{first['msg']}") from None  # fmt: skip
    return model(**values)


def changed(wp: WorkingPoint) -> dict[str, Any]:
    """The keys that differ from the declared defaults (for the summary line)."""
    default = type(wp)()
    return {k: v for k, v in wp.model_dump().items() if getattr(default, k) != v}

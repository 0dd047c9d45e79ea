"""Registry: search name -> processor class, schema, default luminosity, the samples it needs.

Classes are given as "module:attribute" strings and imported only when a search runs,
so `b2dark --help` stays fast and a broken search module does not break the others.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from samples.constants import LUMI_FB


@dataclass(frozen=True)
class Search:
    name: str
    processor: str  # "module:Class"
    schema: str | None = None  # "module:Class"; default: the processor's `schema` attribute
    description: str = ""
    # Which catalog samples the search reads: processes (or sample names) to keep; empty = all.
    processes: tuple[str, ...] = ()
    processor_kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def lumi_fb(self) -> float:
        return LUMI_FB[self.name]

    def processor_class(self) -> type:
        return import_object(self.processor)

    def schema_class(self) -> type:
        if self.schema:
            return import_object(self.schema)
        cls = self.processor_class()
        schema = getattr(cls, "schema", None)
        if schema is None:
            schema = import_object("processors.schema:B2Schema")
        return schema

    def select_samples(self, fileset: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        if not self.processes:
            return fileset
        keep = set(self.processes)
        return {
            s: e for s, e in fileset.items() if s in keep or (e.get("metadata") or {}).get("process") in keep
        }


def import_object(spec: str) -> Any:
    """Import "package.module:Name" with an error that says what to check."""
    module, _, attr = spec.partition(":")
    if not attr:
        raise ValueError(f"{spec!r}: expected 'module:Class'")
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f"cannot import {module!r} (needed for {spec!r}): {e}. Is b2dark installed (pip install -e .)?") from e
    try:
        return getattr(mod, attr)
    except AttributeError:
        raise ImportError(f"module {module!r} has no {attr!r} (needed for {spec!r})") from None


SEARCHES: dict[str, Search] = {
    "zprime-inv": Search(
        name="zprime-inv",
        processor="processors.zprime_invisible:ZPrimeInvisibleProcessor",
        description="e+e- -> mu mu Z', Z' -> invisible (L_mu - L_tau); PRL 130, 231801 (2023)",
    ),
}


def get(name: str) -> Search:
    try:
        return SEARCHES[name]
    except KeyError:
        raise KeyError(f"unknown search {name!r}; available: {', '.join(sorted(SEARCHES))}") from None

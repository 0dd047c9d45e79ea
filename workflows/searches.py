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
    # Signal processes of this search; other searches' signals in a shared catalog are left out.
    signal_processes: tuple[str, ...] = ()
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

    @property
    def key(self) -> str:
        return self.name.replace("-", "_")

    def select_samples(self, fileset: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """All SM background MC; signal samples of this search's processes; data samples named after
        the search (e.g. data_zprime_inv, data_zprime_inv_injected), or every data sample if none is."""
        meta = {s: e.get("metadata") or {} for s, e in fileset.items()}
        data = [s for s, m in meta.items() if m.get("is_data")]
        own_data = [s for s in data if self.key in s]
        keep = []
        for s, m in meta.items():
            if m.get("is_data"):
                ok = s in own_data or not own_data
            elif m.get("is_signal"):
                ok = not self.signal_processes or m.get("process") in self.signal_processes
            else:
                ok = True
            if ok:
                keep.append(s)
        return {s: fileset[s] for s in keep}


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
        signal_processes=("zprime_inv",),
    ),
}


def get(name: str) -> Search:
    try:
        return SEARCHES[name]
    except KeyError:
        raise KeyError(f"unknown search {name!r}; available: {', '.join(sorted(SEARCHES))}") from None

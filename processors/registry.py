"""The declared searches: every ``processors/<key>/search.py`` defining ``SEARCH``, plus out-of-tree ones.

Out-of-tree searches (an analyst's private search, the test suite's toy search) are modules that
define ``SEARCH = SearchSpec(...)``, named in the environment variable ``B2DARK_SEARCH_MODULES``
(comma-separated module names) or registered as entry points of the group ``b2dark.searches``.
Only the declarations are imported here (light modules): the processors are imported when a
search runs.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
from functools import cache
from importlib import metadata
from typing import Any

from processors.spec import SearchSpec

ENV_MODULES = "B2DARK_SEARCH_MODULES"
ENTRY_POINT_GROUP = "b2dark.searches"


class UnknownSearchError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def _declaration(module: str) -> SearchSpec:
    mod = importlib.import_module(module)
    spec = getattr(mod, "SEARCH", None)
    if not isinstance(spec, SearchSpec):
        raise TypeError(f"{module} must define SEARCH = processors.spec.SearchSpec(...), found {type(spec).__name__}")
    return spec


def _builtin_modules() -> list[str]:
    import processors

    out = []
    for info in pkgutil.iter_modules(processors.__path__):
        if info.ispkg and importlib.util.find_spec(f"processors.{info.name}.search") is not None:
            out.append(f"processors.{info.name}.search")
    return sorted(out)


def _extra_modules() -> list[str]:
    mods = [m.strip() for m in os.environ.get(ENV_MODULES, "").split(",") if m.strip()]
    try:
        mods += [ep.value for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)]
    except Exception:  # a broken third-party distribution must not stop the built-in searches
        pass
    return mods


@cache
def _discover(extra: tuple[str, ...]) -> dict[str, SearchSpec]:
    found: dict[str, SearchSpec] = {}
    for module in [*_builtin_modules(), *extra]:
        spec = _declaration(module)
        if spec.name in found:
            raise ValueError(f"search {spec.name!r} is declared twice ({module} and an earlier module)")
        if module.startswith("processors.") and module != f"processors.{spec.key}.search":
            raise ValueError(f"{module} declares {spec.name!r}: the package must be named processors/{spec.key}/")
        found[spec.name] = spec
    return found


def searches() -> dict[str, SearchSpec]:
    """Every declared search, by name."""
    return dict(_discover(tuple(_extra_modules())))


def names() -> list[str]:
    return sorted(searches())


def get(name: str) -> SearchSpec:
    found = searches()
    try:
        return found[name]
    except KeyError:
        raise UnknownSearchError(f"unknown search {name!r}; declared searches: {', '.join(sorted(found))}") from None


def import_object(spec: str) -> Any:
    """Import "package.module:Name" with an error that says what to check."""
    module, _, attr = spec.partition(":")
    if not attr:
        raise ValueError(f"{spec!r}: expected 'module:Name'")
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        raise ImportError(
            f"cannot import {module!r} (needed for {spec!r}): {e}. Is b2dark installed (pip install -e .)?"
        ) from e
    try:
        return getattr(mod, attr)
    except AttributeError:
        raise ImportError(f"module {module!r} has no {attr!r} (needed for {spec!r})") from None

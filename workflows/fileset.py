"""From a sample catalog to the coffea fileset of one search: explicit sample selection.

A search takes exactly the samples its declaration names (processors/spec.py): its background
samples by name, the signal samples of its signal processes (one per hypothesis: two samples of the
same hypothesis are an error), and ONE data sample -- the declared default or the one asked for.
Other samples of a shared catalog are left out; a declared sample the catalog lacks is an error that
names it and the recipe that makes it (``partial=True`` runs on what is there and marks the output
partial, which the statistics stage refuses).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from processors.spec import SearchSpec, hypothesis_key


class SampleSelectionError(ValueError):
    """The catalog does not hold what the search needs (or holds it twice)."""


@dataclass
class Selection:
    fileset: dict[str, dict[str, Any]]
    backgrounds: list[str]
    signals: list[str]
    data: str | None
    missing: list[str] = field(default_factory=list)  # declared samples absent (partial runs only)
    ignored: list[str] = field(default_factory=list)  # catalog samples not used by this search

    @property
    def partial(self) -> bool:
        return bool(self.missing)


def load_fileset(samples: Path, lumi_fb: float) -> dict[str, dict[str, Any]]:
    """A catalog YAML (samples.catalog) or an already-built coffea fileset JSON, with absolute paths."""
    samples = Path(samples)
    if not samples.exists():
        raise FileNotFoundError(f"sample catalog {samples} not found; make it with `make samples` or `b2dark generate`")
    if samples.suffix == ".json":
        fileset = json.loads(samples.read_text())
    else:
        from samples import catalog as cat

        fileset = cat.load_catalog(samples).to_fileset(lumi_fb)
    # Relative paths in a fileset JSON are relative to that JSON.
    base = samples.parent
    out = {}
    for name, entry in fileset.items():
        entry = dict(entry)
        files = entry["files"]
        if isinstance(files, Mapping):
            entry["files"] = {_abs(p, base): t for p, t in files.items()}
        else:
            entry["files"] = {_abs(p, base): "events" for p in files}
        entry["format"] = entry.get("format") or _format_of(name, list(entry["files"]), samples)
        meta = dict(entry.get("metadata") or {})
        meta.setdefault("sample", name)
        if "file_events" in meta:
            meta["file_events"] = {_abs(p, base): int(n) for p, n in meta["file_events"].items()}
        entry["metadata"] = meta
        out[name] = entry
    return out


PARQUET_SUFFIXES = (".parquet", ".pq")


def file_format(path: str | Path) -> str:
    """The format of a fileset-JSON file, by its suffix: "parquet" for .parquet/.pq, else "root"."""
    return "parquet" if Path(str(path)).suffix.lower() in PARQUET_SUFFIXES else "root"


def _format_of(sample: str, files: list[str], source: Path) -> str:
    formats = {file_format(p) for p in files}
    if len(formats) > 1:
        raise SampleSelectionError(f"{source}: sample {sample!r} mixes ROOT and Parquet files; give each sample the "
                                   "files of one format (a run reads one format)")  # fmt: skip
    return formats.pop() if formats else "root"


def run_format(fileset: Mapping[str, Mapping[str, Any]], catalog: Path | str = "catalog") -> str:
    """The one input format of a run ("root" or "parquet"): coffea's Runner reads one format, and merging
    the outputs of two Runners would post-process each half on its own, so a mixed selection is refused."""
    by_format: dict[str, list[str]] = {}
    for name, entry in fileset.items():
        by_format.setdefault(str(entry.get("format") or "root"), []).append(name)
    if len(by_format) > 1:
        listed = "; ".join(f"{fmt}: {', '.join(sorted(names))}" for fmt, names in sorted(by_format.items()))
        raise SampleSelectionError(
            f"{catalog}: the selected samples are in different file formats ({listed}); one run reads one format: "
            "write the samples in one format (`b2dark generate --format root` or `--format parquet`)"
        )
    return next(iter(by_format), "root")


def _abs(p: str, base: Path) -> str:
    return p if "://" in p or Path(p).is_absolute() else str((base / p).resolve())


def recipe_hint(spec: SearchSpec, catalog: Path | str) -> str:
    out = Path(catalog).parent
    return (f"make them with `b2dark samples {spec.name} --out {out}` (recipe samples/recipes/{spec.recipe}.yaml) "
            f"or `make {spec.name}`")  # fmt: skip


def select_samples(
    spec: SearchSpec, fileset: Mapping[str, Mapping[str, Any]], catalog: Path | str = "catalog",
    data: str | None = None, partial: bool = False,
) -> Selection:  # fmt: skip
    """The samples of ``spec`` in ``fileset`` (see the module doc)."""
    meta = {s: dict(e.get("metadata") or {}) for s, e in fileset.items()}
    missing: list[str] = []
    problems: list[str] = []

    backgrounds = []
    for name in spec.backgrounds:
        m = meta.get(name)
        if m is None:
            missing.append(name)
        elif m.get("is_data") or m.get("is_signal"):
            problems.append(f"sample {name!r} is declared a background of {spec.name} but the catalog has it as "
                            f"{'data' if m.get('is_data') else 'a signal'}")  # fmt: skip
        else:
            backgrounds.append(name)

    signals: list[str] = []
    seen: dict[tuple, str] = {}
    for name, m in meta.items():
        if m.get("is_data") or not m.get("is_signal") or m.get("process") not in spec.signal_processes:
            continue
        model = spec.signal_model(str(m["process"]))
        try:
            key = (model.name, hypothesis_key(model, m))
        except KeyError as err:
            problems.append(f"signal sample {name!r}: {err.args[0]}")
            continue
        if key in seen:
            problems.append(f"signal samples {seen[key]!r} and {name!r} are the same hypothesis {dict(key[1])} of "
                            f"{model.name}: a hypothesis must have one sample (remove or rename one)")  # fmt: skip
            continue
        seen[key] = name
        signals.append(name)
    if not signals:
        missing.append(f"signal samples of process(es) {list(spec.signal_processes)}")

    chosen = data if data is not None else spec.default_data
    declared = [d.name for d in spec.data]
    if data is not None and data not in declared:
        problems.append(f"data sample {data!r} is not declared by {spec.name}; declared: {declared}")
    data_name = None
    if chosen is not None and not problems:
        m = meta.get(chosen)
        if m is None:
            missing.append(chosen)
        elif not m.get("is_data"):
            problems.append(f"sample {chosen!r} is declared as data of {spec.name} but the catalog has it as MC")
        else:
            data_name = chosen
    if problems:
        raise SampleSelectionError(f"{catalog}: " + "; ".join(problems))
    if missing and not partial:
        raise SampleSelectionError(
            f"{catalog} lacks sample(s) of search {spec.name}: {', '.join(missing)}; {recipe_hint(spec, catalog)}. "
            "(--partial runs on what the catalog has; its output cannot be fitted)"
        )
    keep = [*backgrounds, *signals, *([data_name] if data_name else [])]
    return Selection(
        fileset={s: dict(fileset[s]) for s in keep},
        backgrounds=backgrounds, signals=signals, data=data_name, missing=missing,
        ignored=sorted(set(fileset) - set(keep)),
    )  # fmt: skip

"""The sample catalog: validated YAML describing every sample file set.

Layout of a catalog file::

    lumi_fb: 79.7            # default luminosity MC is normalised to (optional)
    samples:
      mumu:                  # sample name (unique)
        process: mumu
        is_data: false
        xsec_fb: 1148000.0
        xsec_source: "Belle II Physics Book, ..."
        n_generated: 2000000
        n_events: 150000     # after the generator-level filter
        filter: zprime_inv
        filter_efficiency: 0.075
        params: {mass: null, coupling: null}
        files: [{path: mumu.root, events: 150000}]   # relative to the catalog file
        seed: 1

MC weight = xsec_fb * filter_efficiency * lumi_fb / n_events * event weight.
Loader errors name the catalog file, the sample and the key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

FILESET_METADATA_KEYS = (
    "sample",
    "process",
    "is_data",
    "is_signal",
    "xsec_fb",
    "n_events",
    "n_generated",
    "filter_efficiency",
    "lumi_fb",
    "mass",
    "mass2",
    "mass3",
    "coupling",
    "ctau",
    "injected_signal",
    "file_events",
)  # plus the numeric generator-specific parameters of the sample (ModelParams extras)


class CatalogError(ValueError):
    """A catalog problem; the message names the file, the sample and the key."""


class ModelParams(BaseModel):
    model_config = ConfigDict(extra="allow")  # extra generator options (e.g. decay channel) are kept
    mass: float | None = Field(default=None, ge=0)
    mass2: float | None = Field(default=None, ge=0)
    mass3: float | None = Field(default=None, ge=0)
    coupling: float | None = Field(default=None, ge=0)
    ctau: float | None = Field(default=None, ge=0)


class FileEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str
    events: int = Field(ge=0)
    format: Literal["root", "parquet", "basf2-ntuple", "basf2-eventtree"] = "root"


class SampleEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    process: str
    is_data: bool = False
    is_signal: bool = False
    xsec_fb: float | None = Field(default=None, ge=0)  # sigma x BF [fb]; 0 is allowed (a closed channel)
    xsec_source: str | None = None
    n_generated: int = Field(ge=0)
    n_events: int = Field(ge=0)
    filter: str | None = None
    filter_options: dict[str, Any] = Field(default_factory=dict)
    filter_efficiency: float = Field(ge=0, le=1)
    params: ModelParams = Field(default_factory=ModelParams)
    files: list[FileEntry]
    lumi_fb: float | None = Field(default=None, gt=0)
    seed: int
    injected_signal: str | None = None
    components: dict[str, int] = Field(default_factory=dict)  # pseudo-data: events per process
    doc: str = ""
    digest: str | None = None  # b2dark generate: digest of the sample's definition (recipe entry)
    generator_digest: str | None = None  # ... and of the generator code that made it

    @model_validator(mode="after")
    def _consistent(self) -> SampleEntry:
        if self.is_data:
            if self.lumi_fb is None:
                raise ValueError("data samples need 'lumi_fb'")
        else:
            if self.xsec_fb is None:
                raise ValueError("MC samples need 'xsec_fb'")
            if self.injected_signal is not None:
                raise ValueError("'injected_signal' only applies to data samples")
        if self.filter_efficiency == 0:
            # It multiplies every MC weight: 0 would silently empty the sample (and was once read as 1).
            raise ValueError("'filter_efficiency' is 0: it is the fraction of generated events the generator "
                             "filter kept (n_events / n_generated), in (0, 1]; 1.0 means no filter")  # fmt: skip
        if self.n_events > self.n_generated and not self.is_data:
            raise ValueError(f"n_events ({self.n_events}) > n_generated ({self.n_generated})")
        for fmt in {f.format for f in self.files}:
            held = sum(f.events for f in self.files if f.format == fmt)
            if held != self.n_events:
                raise ValueError(f"the {fmt} files hold {held} events but n_events is {self.n_events}")
        return self


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lumi_fb: float | None = Field(default=None, gt=0)
    samples: dict[str, SampleEntry] = Field(default_factory=dict)
    base_dir: str | None = Field(default=None, exclude=True)

    # ----------------------------------------------------------------- I/O
    def resolve(self, path: str) -> str:
        p = Path(path)
        if not p.is_absolute() and self.base_dir is not None:
            p = Path(self.base_dir) / p
        return str(p)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = self.model_dump(mode="json", exclude_none=False)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    # ------------------------------------------------------------ filesets
    def to_fileset(
        self, lumi_fb: float | None = None, samples: list[str] | None = None, fmt: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """coffea fileset {sample: {"files": {path: "events"}, "format": fmt, "metadata": {...}}} (metadata keys:
        FILESET_METADATA_KEYS). ``fmt`` None takes each sample's ROOT files, or its Parquet files when it has
        no ROOT ones; "format" says which (coffea ignores the key; the run driver picks the Runner by it)."""
        names = samples if samples is not None else list(self.samples)
        lumi_mc = lumi_fb if lumi_fb is not None else self.lumi_fb
        out: dict[str, dict[str, Any]] = {}
        for name in names:
            if name not in self.samples:
                raise CatalogError(f"sample {name!r} is not in the catalog; known: {', '.join(self.samples)}")
            s = self.samples[name]
            held = [f.format for f in s.files]
            want = fmt if fmt is not None else ("root" if "root" in held or not held else held[0])
            files = [f for f in s.files if f.format == want]
            if not files:
                raise CatalogError(f"sample {name!r}: no {want} files in the catalog entry 'files'")
            if not s.is_data and lumi_mc is None:
                raise CatalogError(
                    f"sample {name!r}: MC needs a luminosity to normalise to; "
                    "pass lumi_fb= or set 'lumi_fb' in the catalog"
                )
            tree = "events" if want == "root" else None
            meta = {
                "sample": name,
                "process": s.process,
                "is_data": s.is_data,
                "is_signal": s.is_signal,
                "xsec_fb": s.xsec_fb,
                "n_events": s.n_events,
                "n_generated": s.n_generated,
                "filter_efficiency": s.filter_efficiency,
                "lumi_fb": s.lumi_fb if s.is_data else float(lumi_mc),
                "mass": s.params.mass,
                "mass2": s.params.mass2,
                "mass3": s.params.mass3,
                "coupling": s.params.coupling,
                "ctau": s.params.ctau,
                "injected_signal": s.injected_signal,
                "file_events": {self.resolve(f.path): f.events for f in files},
            }
            # numeric generator-specific parameters (e.g. idm's sin_theta) can key hypotheses too
            extra = s.params.model_extra or {}
            meta.update({k: float(v) for k, v in extra.items() if isinstance(v, int | float) and k not in meta})
            out[name] = {"files": {self.resolve(f.path): tree for f in files}, "format": want, "metadata": meta}
        return out

    def weight(self, sample: str, lumi_fb: float | None = None) -> float:
        """Per-event MC weight (times the event `weight` column)."""
        s = self.samples[sample]
        if s.is_data:
            return 1.0
        lumi = lumi_fb if lumi_fb is not None else self.lumi_fb
        if lumi is None or s.n_events == 0:
            raise CatalogError(f"sample {sample!r}: cannot compute a weight without lumi_fb and events")
        return float(s.xsec_fb) * s.filter_efficiency * lumi / s.n_events


def _format_errors(path: str, err: ValidationError) -> str:
    """One line per problem; a single problem is one line in all (what the CLI prints)."""
    lines = [f"catalog {path}: invalid entries:"]
    for e in err.errors():
        loc = list(e["loc"])
        where = ""
        if len(loc) >= 2 and loc[0] == "samples":
            where = f"sample {loc[1]!r}"
            rest = loc[2:]
        else:
            rest = loc
        key = ".".join(str(x) for x in rest)
        msg = str(e["msg"]).removeprefix("Value error, ")
        lines.append(f"  {where + ': ' if where else ''}{f'key {key!r}: ' if key else ''}{msg}")
    if len(lines) == 2:
        return f"catalog {path}: {lines[1].strip()}"
    return "\n".join(lines)


def _check_shared_files(cat: Catalog, path: str) -> None:
    """Two entries (or one entry twice) listing the same file would count its events twice."""
    owner: dict[str, str] = {}
    for name, entry in cat.samples.items():
        for f in entry.files:
            where = os.path.normpath(cat.resolve(f.path))
            if where in owner:
                first = owner[where]
                whose = f"sample {name!r} lists it twice" if first == name else f"samples {first!r} and {name!r}"
                raise CatalogError(f"catalog {path}: {whose} point to the same file {f.path}: its events would be "
                                   "counted twice; remove one entry (or give each its own file)")  # fmt: skip
            owner[where] = name


def parse_catalog(data: dict[str, Any], path: str = "<memory>", base_dir: str | None = None) -> Catalog:
    if not isinstance(data, dict) or "samples" not in data:
        raise CatalogError(f"catalog {path}: expected a mapping with a 'samples' key")
    try:
        cat = Catalog.model_validate(data)
    except ValidationError as err:
        raise CatalogError(_format_errors(path, err)) from None
    cat.base_dir = base_dir
    _check_shared_files(cat, path)
    return cat


def load_catalog(path: str | Path) -> Catalog:
    path = Path(path)
    if not path.exists():
        raise CatalogError(f"catalog {path} does not exist; build it with `make samples` or `b2dark generate`")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise CatalogError(f"catalog {path}: not valid YAML: {err}") from None
    return parse_catalog(data, str(path), base_dir=str(path.parent.resolve()))

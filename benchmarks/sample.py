"""The fixed benchmark sample: a Z' -> invisible background + signal mix in ROOT and Parquet.

Events come from the project's generator (``samples.generator.pipeline``) when
it can make every process of the mix; otherwise from :func:`synthetic_columns`,
a small stand-in that follows ``samples.eventformat`` (kept for the tests and
as a fallback, never for physics). Files are cached in ``data/bench/<tag>/``
and reused while their manifest matches the request.

Files are written with the project's writers (samples.generator.io) from the
event-format column dict the pipeline returns, so the same events can be
written with several ROOT compressions for the compression study.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from samples import constants as C
from samples import eventformat as EF

# Z' -> invisible: the backgrounds of PRL 130, 231801 (seed 002) and three signal
# masses, as event fractions of the benchmark sample. Cross-section weights make
# the yields physical; the fractions only set how much CPU each kind costs.
DEFAULT_MIX: dict[str, tuple[str, dict[str, float], float]] = {
    # sample name: (process, model parameters, fraction of events)
    "mumu": ("mumu", {}, 0.30),
    "tautau": ("tautau", {}, 0.25),
    "eemumu": ("eemumu", {}, 0.20),
    "ee": ("ee", {}, 0.10),
    "gg": ("gg", {}, 0.06),
    "zprime_inv_m1": ("zprime_inv", {"mass": 1.0, "coupling": 0.01}, 0.03),
    "zprime_inv_m3": ("zprime_inv", {"mass": 3.0, "coupling": 0.01}, 0.03),
    "zprime_inv_m6": ("zprime_inv", {"mass": 6.0, "coupling": 0.01}, 0.03),
}

COMPRESSIONS = ("default", "zlib1", "zlib4", "lz4", "zstd1", "zstd3", "zstd5", "lzma1", "none")
LUMI_FB = C.LUMI_FB["zprime-inv"]

_SPECS: dict[str, tuple[str, int] | None] = {
    "zlib1": ("ZLIB", 1),
    "zlib4": ("ZLIB", 4),
    "lz4": ("LZ4", 1),
    "zstd1": ("ZSTD", 1),
    "zstd3": ("ZSTD", 3),
    "zstd5": ("ZSTD", 5),
    "lzma1": ("LZMA", 1),
    "none": None,
}


def compression_spec(name: str) -> tuple[str, int] | None:
    """Benchmark compression name -> (algorithm, level) as samples.generator.io takes it.

    "default" is the project's default (samples.generator.io.ROOT_COMPRESSION).
    """
    if name == "default":
        from samples.generator.io import ROOT_COMPRESSION

        return ROOT_COMPRESSION
    if name not in _SPECS:
        raise ValueError(f"unknown compression {name!r}; use one of {', '.join(COMPRESSIONS)}")
    return _SPECS[name]


# ----------------------------------------------------------------------------- writing
# The project's own writers (samples.generator.io): same layout, basket size and
# Parquet settings as `b2dark generate`; only the ROOT compression varies here.
def write_root(columns: Mapping[str, np.ndarray], path: Path, compression: str = "default") -> Path:
    from samples.generator import io

    tmp = path.with_suffix(".tmp.root")
    io.write_root(tmp, dict(columns), mc=True, compression=compression_spec(compression))
    tmp.replace(path)
    return path


def write_parquet(columns: Mapping[str, np.ndarray], path: Path) -> Path:
    from samples.generator import io

    tmp = path.with_suffix(".tmp.parquet")
    io.write_parquet(tmp, dict(columns), mc=True)
    tmp.replace(path)
    return path


# ----------------------------------------------------------------------------- synthetic stand-in
def synthetic_columns(
    process: str, n: int, seed: int, params: Mapping[str, float] | None = None
) -> dict[str, np.ndarray]:
    """Event-format columns with plausible low-multiplicity kinematics (not physics).

    Two-track processes get back-to-back-ish tracks in the lab, muon-like PID for
    mu processes; a few photons and KLM clusters per event; signal samples lose
    the recoil Z' momentum. Only for the benchmark machinery and its tests.
    """
    rng = np.random.default_rng(seed)
    params = dict(params or {})
    beam_E = np.full(n, C.HER_ENERGY + C.LER_ENERGY) + rng.normal(0, 5e-3, n)
    beam_px = np.full(n, (C.HER_ENERGY + C.LER_ENERGY) * math.sin(C.HER_ANGLE))
    beam_pz = np.full(n, (C.HER_ENERGY - C.LER_ENERGY) * math.cos(C.HER_ANGLE))
    cols: dict[str, np.ndarray] = {
        "exp": np.zeros(n, np.int32),
        "run": np.ones(n, np.int32),
        "event": np.arange(n, dtype=np.int64),
        "beam_E": beam_E,
        "beam_px": beam_px,
        "beam_py": np.zeros(n),
        "beam_pz": beam_pz,
        "weight": np.ones(n, np.float32),
    }
    muonic = process in ("mumu", "eemumu", "zprime_inv", "mumumumu")
    n_trk = rng.choice([2, 2, 2, 3, 4], size=n) if process != "gg" else rng.choice([0, 0, 2], size=n)
    nt = int(n_trk.sum())
    # Pair-wise back-to-back momenta in the CMS (2 GeV .. sqrt(s)/2), boosted crudely along z.
    p = rng.uniform(0.3, 5.2, nt)
    if process == "zprime_inv":
        p *= 1.0 - params.get("mass", 1.0) / C.SQRT_S_NOMINAL
    cos_t = rng.uniform(-0.9, 0.95, nt)
    phi = rng.uniform(-math.pi, math.pi, nt)
    sin_t = np.sqrt(1 - cos_t**2)
    charge = np.where(np.arange(nt) % 2 == 0, 1, -1).astype(np.int32)
    flip = rng.random(nt) < 0.03
    charge[flip] *= -1
    mu_like = rng.random(nt) < (0.92 if muonic else 0.05)
    trk = {
        "px": (p * sin_t * np.cos(phi)).astype(np.float32),
        "py": (p * sin_t * np.sin(phi)).astype(np.float32),
        "pz": (p * cos_t + 0.2).astype(np.float32),
        "charge": charge,
        "d0": rng.normal(0, 0.01, nt).astype(np.float32),
        "z0": rng.normal(0, 0.02, nt).astype(np.float32),
        "muonID": np.where(mu_like, rng.uniform(0.6, 1.0, nt), rng.uniform(0, 0.4, nt)).astype(np.float32),
        "electronID": np.where(mu_like, rng.uniform(0, 0.1, nt), rng.uniform(0, 1, nt)).astype(np.float32),
        "pionID": rng.uniform(0, 1, nt).astype(np.float32),
        "kaonID": rng.uniform(0, 1, nt).astype(np.float32),
        "EoverP": np.where(mu_like, rng.uniform(0.0, 0.3, nt), rng.uniform(0.3, 1.1, nt)).astype(np.float32),
        "clusterE": rng.uniform(0, 0.5, nt).astype(np.float32),
        "klmLayers": np.where(mu_like, rng.integers(5, 15, nt), rng.integers(0, 3, nt)).astype(np.int32),
        "mcIndex": rng.integers(-1, 4, nt).astype(np.int32),
    }
    n_gam = rng.poisson(1.5 if process not in ("gg", "ee") else 3.0, n)
    ng = int(n_gam.sum())
    gam = {
        "E": rng.exponential(0.08, ng).astype(np.float32) + 0.02,
        "theta": np.arccos(rng.uniform(-0.9, 0.95, ng)).astype(np.float32),
        "phi": rng.uniform(-math.pi, math.pi, ng).astype(np.float32),
        "time": rng.normal(0, 5, ng).astype(np.float32),
        "region": rng.choice([1, 2, 2, 2, 3, 11, 13], ng).astype(np.int32),
        "nHits": rng.uniform(1, 20, ng).astype(np.float32),
        "mcIndex": rng.integers(-1, 4, ng).astype(np.int32),
    }
    n_klm = rng.poisson(1.0, n)
    nk = int(n_klm.sum())
    klm = {
        "theta": np.arccos(rng.uniform(-0.9, 0.95, nk)).astype(np.float32),
        "phi": rng.uniform(-math.pi, math.pi, nk).astype(np.float32),
        "layers": rng.integers(1, 15, nk).astype(np.int32),
        "time": rng.normal(0, 5, nk).astype(np.float32),
    }
    n_vtx = np.zeros(n, np.int64)
    n_mc = np.full(n, 3, np.int64)
    nm = int(n_mc.sum())
    mc = {
        "pdg": rng.choice([13, -13, 22], nm).astype(np.int32),
        "px": rng.normal(0, 2, nm),
        "py": rng.normal(0, 2, nm),
        "pz": rng.normal(0, 2, nm),
        "E": rng.uniform(0, 6, nm),
        "vx": np.zeros(nm, np.float32),
        "vy": np.zeros(nm, np.float32),
        "vz": np.zeros(nm, np.float32),
        "mother": np.full(nm, -1, np.int32),
    }
    for coll, counts, fields in (
        ("Track", n_trk, trk),
        ("Photon", n_gam, gam),
        ("KLMCluster", n_klm, klm),
        ("Vertex", n_vtx, {}),
        ("MCParticle", n_mc, mc),
    ):
        cols[f"n{coll}"] = counts.astype(np.int32)
        for c in EF.COLLECTIONS[coll]:
            cols[f"{coll}_{c.name}"] = fields.get(c.name, np.zeros(0, c.dtype)).astype(c.dtype)
    if process == "zprime_inv":
        cols["mc_mass"] = np.full(n, params.get("mass", 1.0))
        cols["mc_coupling"] = np.full(n, params.get("coupling", 0.01))
    for trg in ("trg_ffo", "trg_stt", "trg_cdcklm", "trg_hie", "trg_lml"):
        cols[trg] = rng.random(n) < 0.9
    return cols


# ----------------------------------------------------------------------------- the sample
@dataclass
class SampleFile:
    name: str
    process: str
    params: dict[str, float]
    n_events: int
    n_generated: int
    xsec_fb: float
    source: str  # "generator" or "synthetic"
    root: dict[str, str] = field(default_factory=dict)  # compression -> path
    parquet: str | None = None
    # compression name -> the (algorithm, level) the file was written with: "default" follows
    # samples.generator.io.ROOT_COMPRESSION, so a cached file may predate a change of default
    root_specs: dict[str, list[Any] | None] = field(default_factory=dict)


@dataclass
class BenchSample:
    directory: Path
    files: dict[str, SampleFile]

    @property
    def n_events(self) -> int:
        return sum(f.n_events for f in self.files.values())

    def fileset(self, fmt: str = "root", compression: str = "default", max_events: int | None = None) -> dict[str, Any]:
        """coffea fileset with the metadata contract of docs/CONTRACTS.md."""
        out: dict[str, Any] = {}
        for name, f in self.files.items():
            path = f.parquet if fmt == "parquet" else f.root[compression]
            meta = {
                "sample": name,
                "process": f.process,
                "is_data": False,
                "is_signal": f.process.startswith("zprime"),
                "xsec_fb": f.xsec_fb,
                "n_events": f.n_events,
                "n_generated": f.n_generated,
                "filter_efficiency": f.n_events / max(f.n_generated, 1),
                "lumi_fb": LUMI_FB,
                "mass": f.params.get("mass"),
                "mass2": None,
                "mass3": None,
                "coupling": f.params.get("coupling"),
                "ctau": None,
                "injected_signal": None,
                "file_events": {path: f.n_events},
            }
            out[name] = {"files": {path: EF.TREE_NAME}, "metadata": meta}
        return out

    def paths(self, fmt: str = "root", compression: str = "default") -> list[Path]:
        return [Path(f.parquet if fmt == "parquet" else f.root[compression]) for f in self.files.values()]


GEN_CHUNK = 25_000  # events per generator call (bounded memory for multi-million-event samples)


def _generate_chunked(process: str, n: int, seed: int, params: dict[str, float]) -> tuple[dict[str, np.ndarray], int]:
    """``n`` generated events, made in chunks of GEN_CHUNK with seeds derived from ``seed``."""
    from samples.generator import pipeline

    parts: list[dict[str, np.ndarray]] = []
    n_gen = 0
    for k, done in enumerate(range(0, n, GEN_CHUNK)):
        gs = pipeline.generate(process, min(GEN_CHUNK, n - done), seed * 10_000 + k, params)
        parts.append(dict(gs.columns))
        n_gen += int(gs.n_generated)
    columns = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    columns["event"] = np.arange(len(columns["event"]), dtype=columns["event"].dtype)  # unique after concatenation
    return columns, n_gen


def _generate(
    process: str, n: int, seed: int, params: dict[str, float], source: str
) -> tuple[dict[str, np.ndarray], int, float]:
    """(columns, n_generated, xsec_fb) from the generator, or the synthetic stand-in."""
    if source == "generator":
        from samples.generator import registry

        columns, n_gen = _generate_chunked(process, n, seed, params)
        return columns, n_gen, float(registry.get(process).xsec_fb(params))
    columns = synthetic_columns(process, n, seed, params)
    xsec = C.XSEC_NB.get(process, 1e-3) * 1e6
    return columns, n, xsec


def generator_available(processes: list[str]) -> bool:
    """True if samples.generator.pipeline imports and has a generator for every process."""
    try:
        from samples.generator import pipeline, registry  # noqa: F401
    except ImportError:
        return False
    return all(registry.get(p).available() for p in processes)


def resolve_source(source: str, mix: Mapping[str, tuple[str, dict[str, float], float]] = DEFAULT_MIX) -> str:
    """ "auto" -> "generator" if it can make every process of ``mix``, else "synthetic"."""
    if source == "auto":
        return "generator" if generator_available(sorted({p for p, _, _ in mix.values()})) else "synthetic"
    if source not in ("generator", "synthetic"):
        raise ValueError(f"unknown sample source {source!r}; use auto, generator or synthetic")
    return source


def _spec_json(compression: str) -> list[Any] | None:
    spec = compression_spec(compression)
    return None if spec is None else [str(spec[0]).upper(), int(spec[1])]


def _written_as(f: SampleFile, compression: str) -> bool:
    """The cached ROOT file for ``compression`` exists and was written with its current spec
    (a manifest from before specs were recorded: the file's own compression, as uproot reads it)."""
    path = f.root.get(compression)
    if path is None or not Path(path).exists():
        return False
    want = _spec_json(compression)
    if compression not in f.root_specs:
        import uproot

        with uproot.open(path) as rf:
            c = rf.file.compression
        f.root_specs[compression] = None if c is None or c.level == 0 else [type(c).__name__.upper(), int(c.level)]
    return f.root_specs[compression] == want


def ensure_sample(
    n_events: int,
    directory: Path,
    *,
    mix: Mapping[str, tuple[str, dict[str, float], float]] = DEFAULT_MIX,
    compressions: tuple[str, ...] = ("default",),
    parquet: bool = True,
    seed: int = 20260,
    source: str = "auto",
) -> BenchSample:
    """Build (or reuse) the benchmark sample in ``directory``.

    ``source``: "generator", "synthetic" or "auto" (generator if it has every
    process of ``mix``). Reuses files listed in ``manifest.json`` when the request
    (event count, mix, seed, source) is unchanged; adds missing compressions and rewrites
    (same events) a file whose compression is no longer what its name stands for ("default"
    after a change of ``samples.generator.io.ROOT_COMPRESSION``).
    """
    source = resolve_source(source, mix)
    request = {"n_events": n_events, "mix": {k: list(v) for k, v in mix.items()}, "seed": seed, "source": source}
    manifest_path = directory / "manifest.json"
    manifest: dict[str, Any] = {}
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("request") != request:
            manifest = {}
    files: dict[str, SampleFile] = {k: SampleFile(**v) for k, v in manifest.get("files", {}).items()}

    for i, (name, (process, params, frac)) in enumerate(mix.items()):
        f = files.get(name)
        missing = [c for c in compressions if f is None or not _written_as(f, c)]
        need_pq = parquet and (f is None or f.parquet is None or not Path(f.parquet).exists())
        if not missing and not need_pq:
            continue
        existing = [Path(p) for c, p in (f.root.items() if f else []) if c not in missing and Path(p).exists()]
        existing += [Path(p) for c, p in (f.root.items() if f else []) if c in missing and Path(p).exists()]
        if f is not None and existing:
            # Same events, another compression: read back instead of generating again.
            from samples.generator import io

            columns = io.read_root(existing[0])
        else:
            n = max(1, round(n_events * frac))
            columns, n_gen, xsec = _generate(process, n, seed + 1000 * i, dict(params), source)
            f = SampleFile(name, process, dict(params), len(columns["event"]), n_gen, xsec, source)
        for comp in missing:
            f.root[comp] = str(write_root(columns, directory / comp / f"{name}.root", comp))
            f.root_specs[comp] = _spec_json(comp)
        if need_pq:
            f.parquet = str(write_parquet(columns, directory / "parquet" / f"{name}.parquet"))
        files[name] = f
        manifest_path.parent.mkdir(parents=True, exist_ok=True)
        manifest_path.write_text(
            json.dumps({"request": request, "files": {k: v.__dict__ for k, v in files.items()}}, indent=1)
        )
    return BenchSample(directory, files)

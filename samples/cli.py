"""`b2dark generate`: make samples (files + catalog entries) with the fast simulation.

Either one sample from the command line::

    b2dark generate --process zprime_inv --n 20000 --param mass=2.0 --out data/samples

or one or more recipes (samples/recipes/<search>.yaml; `b2dark samples SEARCH` picks the search's)::

    b2dark generate --recipe samples/recipes/zprime_inv.yaml --out data/samples

Recipe keys: ``lumi_fb`` (MC normalisation written into the catalog),
``formats`` (root and/or parquet), ``samples`` (list of {name, process, n,
seed, params, filter, filter_options, masses}) -- ``masses`` expands one entry into
a mass scan named ``<name>_m<mass>`` -- and ``pseudodata`` (list of {name, lumi_fb,
seed, backgrounds: [MC sample names], inject: {process, params, xsec_fb | n_events}}).
Files and DIR/catalog.yaml are written into --out; existing catalog entries of
other samples are kept.

Incremental: every catalog entry records a digest of its definition (the recipe entry, or for
pseudo-data also its backgrounds' digests) and of the generator's code. A sample whose entry has the
same digests and whose files are intact is reused, so pools shared by several searches' recipes are
generated once; a changed generator regenerates it; the same name with a *different* definition is
refused (--replace regenerates it). Several recipes may name the same sample only with identical
definitions. The catalog folder is locked while `generate` writes to it.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import sys
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from samples.catalog import Catalog, CatalogError, FileEntry, ModelParams, SampleEntry, load_catalog

FORMATS = ("root", "parquet")
SUFFIX = {"root": ".root", "parquet": ".parquet"}
TASK_KEYS = {
    "name",
    "process",
    "n",
    "seed",
    "params",
    "filter",
    "filter_options",
    "masses",
    "chunk_size",
    "doc",
}
PD_KEYS = {"name", "lumi_fb", "seed", "backgrounds", "inject", "doc", "mode", "skim"}


class RecipeError(ValueError):
    pass


@dataclass
class Task:
    name: str
    process: str
    n: int
    seed: int
    params: dict[str, Any] = field(default_factory=dict)
    filter: str | None = "default"
    filter_options: dict[str, Any] = field(default_factory=dict)
    chunk_size: int = 100_000
    doc: str = ""


@dataclass
class PseudoTask:
    name: str
    lumi_fb: float
    seed: int
    backgrounds: list[str]
    inject: dict[str, Any] | None = None
    doc: str = ""
    mode: str = "generate"  # or "resample": draw from the MC sample files (samples/pseudodata.py)
    skim: str | None = None


def stable_seed(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def generator_digest() -> str:
    """The fast simulation's code: a sample made by other generator code is regenerated."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted([*root.joinpath("generator").rglob("*.py"), root / "constants.py", root / "eventformat.py",
                     root / "pseudodata.py"]):  # fmt: skip
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def definition_digest(task: Task | PseudoTask, formats: list[str], upstream: dict[str, str] | None = None) -> str:
    """The sample's definition: the recipe entry (+ formats; pseudo-data: its backgrounds' digests)."""
    return _digest({"task": dataclasses.asdict(task), "formats": sorted(formats), "upstream": upstream or {}})


def _intact(entry: SampleEntry, out: Path) -> bool:
    return all((out / f.path).is_file() and (out / f.path).stat().st_size > 0 for f in entry.files)


@contextlib.contextmanager
def catalog_lock(out: Path) -> Iterator[None]:
    """One `b2dark generate` at a time writes a sample folder (e.g. `make -j` of two searches)."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".catalog.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"b2dark generate: {out} is being written by another `b2dark generate`; waiting...", file=sys.stderr)
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _count(text: str) -> int:
    """An event count: 20000, 2e4 or 1e6 (an integer written in any form)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of events") from None
    if not v.is_integer() or v <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: the number of events must be a positive integer")
    return int(v)


def merge_recipes(paths: list[Path]) -> tuple[list[Task], list[PseudoTask], dict[str, Any]]:
    """Tasks of several recipes; a name defined in two recipes must have the same definition."""
    tasks: dict[str, Task] = {}
    pseudo: dict[str, PseudoTask] = {}
    settings: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    for path in paths:
        t_list, p_list, st = parse_recipe(path)
        for key in ("formats",):
            if key in st and key in settings and st[key] != settings[key]:
                raise RecipeError(f"recipes {origin.get('__settings')} and {path} disagree on {key!r}")
        settings = {**st, **settings}
        origin.setdefault("__settings", path)
        for table, items in ((tasks, t_list), (pseudo, p_list)):
            for t in items:
                if t.name in table and table[t.name] != t:
                    raise RecipeError(f"sample {t.name!r} is defined differently in {origin[t.name]} and {path}; "
                                      "shared pools must be identical in every recipe (or renamed)")  # fmt: skip
                table.setdefault(t.name, t)
                origin.setdefault(t.name, path)
    return list(tasks.values()), list(pseudo.values()), settings


def _value(text: str) -> Any:
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return {"none": None, "true": True, "false": False}.get(text.lower(), text)


def parse_params(items: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, val = item.partition("=")
        if not sep or not key:
            raise RecipeError(f"--param {item!r}: expected key=value, e.g. --param mass=1.5")
        out[key.strip()] = _value(val.strip())
    return out


def _mass_tag(m: float) -> str:
    return f"{m:g}".replace(".", "p")


def parse_recipe(path: Path) -> tuple[list[Task], list[PseudoTask], dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise RecipeError(f"recipe {path} does not exist") from None
    except yaml.YAMLError as err:
        raise RecipeError(f"recipe {path}: not valid YAML: {err}") from None
    if not isinstance(data, dict) or "samples" not in data:
        raise RecipeError(f"recipe {path}: expected a mapping with a 'samples' list")
    tasks: list[Task] = []
    for i, s in enumerate(data.get("samples") or []):
        where = f"recipe {path}: samples[{i}]" + (
            f" ({s.get('name')})" if isinstance(s, dict) and s.get("name") else ""
        )
        if not isinstance(s, dict):
            raise RecipeError(f"{where}: expected a mapping")
        unknown = set(s) - TASK_KEYS
        if unknown:
            raise RecipeError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(TASK_KEYS)}")
        for key in ("name", "process", "n"):
            if key not in s:
                raise RecipeError(f"{where}: missing key {key!r}")
        masses = s.get("masses")
        variants = [(s["name"], dict(s.get("params") or {}))]
        if masses:
            variants = [
                (f"{s['name']}_m{_mass_tag(float(m))}", {**(s.get("params") or {}), "mass": float(m)}) for m in masses
            ]
        for k, (name, params) in enumerate(variants):
            tasks.append(
                Task(
                    name=name,
                    process=str(s["process"]),
                    n=int(s["n"]),
                    seed=int(s["seed"]) + k if "seed" in s else stable_seed(name),
                    params=params,
                    filter=s.get("filter", "default"),
                    filter_options=dict(s.get("filter_options") or {}),
                    chunk_size=int(s.get("chunk_size", 100_000)),
                    doc=str(s.get("doc", "")),
                )
            )
    pseudo: list[PseudoTask] = []
    for i, p in enumerate(data.get("pseudodata") or []):
        where = f"recipe {path}: pseudodata[{i}]"
        unknown = set(p) - PD_KEYS
        if unknown:
            raise RecipeError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(PD_KEYS)}")
        for key in ("name", "lumi_fb", "backgrounds"):
            if key not in p:
                raise RecipeError(f"{where}: missing key {key!r}")
        pseudo.append(
            PseudoTask(
                name=p["name"],
                lumi_fb=float(p["lumi_fb"]),
                seed=int(p.get("seed", stable_seed(p["name"]))),
                backgrounds=list(p["backgrounds"]),
                inject=p.get("inject"),
                doc=str(p.get("doc", "")),
                mode=str(p.get("mode", "generate")),
                skim=p.get("skim"),
            )
        )
        if pseudo[-1].mode not in ("generate", "resample"):
            raise RecipeError(f"{where}: mode must be 'generate' or 'resample', got {pseudo[-1].mode!r}")
    names = [t.name for t in tasks] + [p.name for p in pseudo]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise RecipeError(f"recipe {path}: duplicate sample names {sorted(dup)}")
    return tasks, pseudo, {k: v for k, v in data.items() if k not in ("samples", "pseudodata")}


def validate_task(t: Task) -> None:
    """Cheap checks in the parent process, so bad input fails before any work starts."""
    from samples.generator import registry
    from samples.generator.filters import get_filter

    proc = registry.get(t.process)
    proc.check_params(t.params)
    if t.n <= 0:
        raise RecipeError(f"sample {t.name!r}: n must be positive, got {t.n}")
    get_filter(proc.default_filter if t.filter == "default" else t.filter)


def _write_files(name: str, cols: dict, out: Path, formats: list[str], mc: bool) -> list[FileEntry]:
    from samples.generator import io

    n = int(cols["event"].shape[0])
    files = []
    for fmt in formats:
        path = out / f"{name}{SUFFIX[fmt]}"
        io.write(path, cols, mc=mc)
        files.append(FileEntry(path=path.name, events=n, format=fmt))
    return files


def run_task(t: Task, out: Path, formats: list[str]) -> tuple[str, dict[str, Any], float]:
    """Worker: generate one MC sample, write its files, return its catalog entry (as a dict)."""
    from samples.generator import pipeline, registry

    t0 = time.perf_counter()
    proc = registry.get(t.process)
    s = pipeline.generate(
        t.process,
        t.n,
        t.seed,
        t.params,
        filter_name=t.filter,
        filter_options=t.filter_options,
        chunk_size=t.chunk_size,
    )
    files = _write_files(t.name, s.columns, out, formats, mc=True)
    entry = SampleEntry(
        process=t.process,
        is_data=False,
        is_signal=proc.is_signal,
        xsec_fb=proc.xsec_fb(s.params),
        xsec_source=proc.source,
        n_generated=s.n_generated,
        n_events=s.n_events,
        filter=s.filter_name,
        filter_options=s.filter_options,
        filter_efficiency=s.filter_efficiency,
        params=ModelParams(**{k: v for k, v in s.params.items()}),
        files=files,
        seed=t.seed,
        doc=t.doc or proc.doc,
    )
    return t.name, entry.model_dump(mode="json"), time.perf_counter() - t0


def run_pseudo(p: PseudoTask, catalog: Catalog, out: Path, formats: list[str]) -> tuple[str, dict[str, Any], float]:
    from samples.generator import registry
    from samples.pseudodata import Component, make_pseudodata

    t0 = time.perf_counter()
    comps: dict[str, Component] = {}
    for bkg in p.backgrounds:
        if bkg not in catalog.samples:
            raise RecipeError(f"pseudo-data {p.name!r}: background {bkg!r} is not a generated MC sample")
        e = catalog.samples[bkg]
        comps[bkg] = Component(
            process=e.process,
            xsec_fb=float(e.xsec_fb),
            filter_efficiency=e.filter_efficiency,
            params=e.params.model_dump(exclude_none=True),
            filter_name=e.filter,
            filter_options=e.filter_options,
            pool_files=[str(out / f.path) for f in e.files if f.format == "root"] if p.mode == "resample" else [],
        )
    injected = None
    if p.inject:
        inj = dict(p.inject)
        if "process" not in inj:
            raise RecipeError(f"pseudo-data {p.name!r}: inject needs a 'process'")
        proc = registry.get(inj["process"])
        params = proc.check_params(dict(inj.get("params") or {}))
        filt = inj.get("filter")
        eff = float(inj.get("filter_efficiency", 1.0))
        xsec = inj.get("xsec_fb")
        if xsec is None and "n_events" not in inj:
            xsec = proc.xsec_fb(params)
        comps["signal"] = Component(
            process=inj["process"],
            xsec_fb=float(xsec or 0.0),
            filter_efficiency=eff,
            params=params,
            filter_name=filt,
            n_events=inj.get("n_events"),
        )
        injected = f"{inj['process']} {params}"
    cols, counts = make_pseudodata(comps, p.lumi_fb, p.seed, skim=p.skim)
    files = _write_files(p.name, cols, out, formats, mc=False)
    n = int(cols["event"].shape[0])
    entry = SampleEntry(
        process="data",
        is_data=True,
        n_generated=n,
        n_events=n,
        filter_efficiency=1.0,
        files=files,
        lumi_fb=p.lumi_fb,
        seed=p.seed,
        injected_signal=injected,
        components=counts,
        doc=p.doc or f"pseudo-data at {p.lumi_fb} fb^-1 from {', '.join(p.backgrounds)} ({p.mode}, skim {p.skim})",
    )
    return p.name, entry.model_dump(mode="json"), time.perf_counter() - t0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="b2dark generate",
        description="Generate Belle II fast-simulation samples (ROOT/Parquet) and their catalog entries.",
    )
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--recipe", type=Path, action="append", help="YAML recipe of samples (samples/recipes/*.yaml); repeatable"
    )
    src.add_argument("--process", help="one process (see --list)")
    src.add_argument("--list", action="store_true", help="list the known processes and exit")
    ap.add_argument("--n", type=_count, default=10_000, help="events to generate (before the filter), e.g. 1e6")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: from the sample name)")
    ap.add_argument("--param", action="append", metavar="KEY=VALUE", help="model parameter, repeatable (mass=1.0)")
    ap.add_argument("--filter", default="default", help="generator-level filter name, or 'none'")
    ap.add_argument("--name", help="sample name (default: process[_m<mass>])")
    ap.add_argument("--lumi-fb", type=float, default=None, help="luminosity MC is normalised to (catalog lumi_fb)")
    ap.add_argument("--out", type=Path, default=Path("data/samples"), help="output directory (catalog.yaml inside)")
    ap.add_argument("--format", action="append", choices=FORMATS, help="file format(s); default root")
    ap.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    ap.add_argument("--only", action="append", help="with --recipe: only these sample names")
    ap.add_argument("--skip-missing", action="store_true", help="skip processes whose generator does not exist yet")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument(
        "--replace",
        action="store_true",
        help="regenerate samples whose catalog entry has another definition (default: refuse)",
    )
    return ap


def _fail(msg: str) -> int:
    print(f"b2dark generate: error: {msg}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from samples.generator import registry

    if args.list:
        for name, p in sorted(registry.PROCESSES.items()):
            status = "ok" if p.available() else "generator missing"
            print(f"{name:22s} {'signal' if p.is_signal else 'bkg   '} {status:18s} {p.doc}")
        return 0
    try:
        if args.recipe is not None:
            tasks, pseudo, settings = merge_recipes(args.recipe)
            if args.only:
                tasks = [t for t in tasks if t.name in args.only]
                pseudo = [p for p in pseudo if p.name in args.only]
        else:
            params = parse_params(args.param)
            name = args.name or (
                f"{args.process}_m{_mass_tag(float(params['mass']))}" if "mass" in params else args.process
            )
            seed = args.seed if args.seed is not None else stable_seed(name)
            tasks = [Task(name, args.process, args.n, seed, params, args.filter)]
            pseudo, settings = [], {}
        formats = args.format or settings.get("formats") or ["root"]
        bad = [f for f in formats if f not in FORMATS]
        if bad:
            raise RecipeError(f"unknown format(s) {bad}; use {FORMATS}")
        lumi = args.lumi_fb if args.lumi_fb is not None else settings.get("lumi_fb")
        ready = []
        for t in tasks:
            validate_task(t)
            if registry.get(t.process).available():
                ready.append(t)
            elif args.skip_missing or args.recipe is not None:
                print(
                    f"b2dark generate: skipping {t.name!r}: generator for {t.process!r} not available yet",
                    file=sys.stderr,
                )
            else:
                raise RecipeError(f"process {t.process!r}: generator not available yet (see --list)")
    except (RecipeError, CatalogError, ValueError, KeyError, NotImplementedError) as err:
        return _fail(str(err))

    out: Path = args.out
    with catalog_lock(out):
        return _generate(args, ready, pseudo, formats, lumi, out)


def _generate(args: argparse.Namespace, ready: list[Task], pseudo: list[PseudoTask], formats: list[str],
              lumi: float | None, out: Path) -> int:  # fmt: skip
    cat_path = out / "catalog.yaml"
    try:
        catalog = load_catalog(cat_path) if cat_path.exists() else Catalog()
    except CatalogError as err:
        return _fail(f"{err}\n(remove or fix {cat_path})")
    if lumi is not None:
        catalog.lumi_fb = float(lumi)
    code = generator_digest()

    def up_to_date(name: str, digest: str) -> bool:
        """Reusable as it is (same definition, same generator, files intact); raises on a conflict."""
        e = catalog.samples.get(name)
        if e is None:
            return False
        if e.digest != digest and not args.replace:
            # An entry without a digest (written by hand or by an older b2dark) is not known to match either.
            made = "from another definition" if e.digest is not None else "with no recorded definition"
            raise RecipeError(f"sample {name!r} in {cat_path} was made {made}; --replace "
                              "regenerates it (or give the new sample another name)")  # fmt: skip
        return e.digest == digest and e.generator_digest == code and _intact(e, out)

    try:
        digests = {t.name: definition_digest(t, formats) for t in ready}
        todo = [t for t in ready if not up_to_date(t.name, digests[t.name])]
        pd_digests = {}
        for p in pseudo:
            missing = [b for b in p.backgrounds if b not in digests and b not in catalog.samples]
            if missing:
                raise RecipeError(f"pseudo-data {p.name!r}: background(s) {missing} are neither in the recipe(s) nor "
                                  f"in {cat_path}")  # fmt: skip
            upstream = {b: digests.get(b) or catalog.samples[b].digest or "" for b in p.backgrounds}
            pd_digests[p.name] = definition_digest(p, formats, upstream)
        pseudo_todo = [p for p in pseudo if not up_to_date(p.name, pd_digests[p.name])
                       or any(b in {t.name for t in todo} for b in p.backgrounds)]  # fmt: skip
    except RecipeError as err:
        return _fail(str(err))
    reused = len(ready) + len(pseudo) - len(todo) - len(pseudo_todo)
    if reused:
        print(f"b2dark generate: {reused} sample(s) up to date in {cat_path}, reused")

    from tqdm import tqdm

    bar = tqdm(total=len(todo) + len(pseudo_todo), unit="sample", disable=args.no_progress, desc="generate")
    t_start = time.perf_counter()
    errors: list[str] = []

    def record(name: str, entry: dict, dt: float, digest: str) -> None:
        catalog.samples[name] = SampleEntry.model_validate({**entry, "digest": digest, "generator_digest": code})
        e = catalog.samples[name]
        bar.write(f"  {name:28s} {e.n_events:>9d} events (eff {e.filter_efficiency:.4g}) in {dt:6.1f} s")
        bar.update(1)
        catalog.save(cat_path)  # after every sample: an interrupted run keeps what is done

    if args.jobs > 1 and len(todo) > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = {pool.submit(run_task, t, out, formats): t for t in sorted(todo, key=lambda t: -t.n)}
            for fut in as_completed(futures):
                try:
                    record(*fut.result(), digests[futures[fut].name])
                except Exception as err:  # keep the other samples; report at the end
                    errors.append(f"{futures[fut].name}: {type(err).__name__}: {err}")
    else:
        for t in todo:
            try:
                record(*run_task(t, out, formats), digests[t.name])
            except Exception as err:
                errors.append(f"{t.name}: {type(err).__name__}: {err}")
    for p in pseudo_todo:
        absent = [b for b in p.backgrounds if b not in catalog.samples]
        if absent:
            errors.append(f"{p.name}: background(s) {absent} failed or are missing; pseudo-data not made")
            continue
        try:
            record(*run_pseudo(p, catalog, out, formats), pd_digests[p.name])
        except Exception as err:
            errors.append(f"{p.name}: {type(err).__name__}: {err}")
    bar.close()
    catalog.save(cat_path)
    print(f"b2dark generate: {len(catalog.samples)} samples in {cat_path} ({time.perf_counter() - t_start:.1f} s)")
    if errors:
        return _fail("some samples failed:\n  " + "\n  ".join(errors))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

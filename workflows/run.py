"""The run driver behind `b2dark run SEARCH`: catalog -> checked fileset -> coffea Runner -> output folder.

Stages (each timed and printed): inputs (catalog + bad-file check), chunking,
processing (coffea ``processor.Runner`` on the chosen executor, every finished chunk
checkpointed for ``--resume``), saving (hists/cutflows/provenance), plots.
Event accounting -- events in the catalog = processed + skipped -- is asserted.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sys
import time
import uuid
import zlib
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from processors import validity
from processors.registry import import_object
from processors.spec import SearchSpec, WorkingPoint
from samples import basf2_reader
from workflows import checkpoint, inputcheck, interrupt, masstable, outputs, ownedprocs, provenance
from workflows.fileset import SampleSelectionError, Selection, load_fileset, run_format, select_samples

REPO_ROOT = Path(__file__).resolve().parents[1]


class AccountingError(AssertionError):
    pass


@dataclass
class RunConfig:
    search: SearchSpec
    samples: Path
    output: Path
    options: Any  # workflows.runoptions.RunOptions
    unblind: bool = False
    resume: bool = False
    lumi_fb: float | None = None
    plots: bool = True
    keep_partial: bool = False
    command: list[str] | None = None
    data: str | None = None  # which declared data sample (default: the search's first)
    partial: bool = False  # run on the declared samples the catalog has (output not fittable)
    working_point: WorkingPoint | None = None  # default: the search's declared one


@dataclass
class RunResult:
    output_dir: Path
    output: dict[str, Any]
    expected: dict[str, int]
    processed: dict[str, int]
    skipped: list[inputcheck.FileProblem]
    timings: dict[str, float] = field(default_factory=dict)
    summary: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- small helpers


class StageTimer:
    def __init__(self, echo: bool = True):
        self.timings: dict[str, float] = {}
        self.echo = echo

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            dt = time.perf_counter() - t0
            self.timings[name] = round(dt, 3)
            if self.echo:
                print(f"[b2dark] stage {name:<10s} {dt:8.2f} s", flush=True)


def required_branches(proc: Any, fileset: Mapping[str, Mapping[str, Any]]) -> dict[str, set[str]]:
    from samples.eventformat import all_branches

    out = {}
    for sample, entry in fileset.items():
        is_mc = not (entry.get("metadata") or {}).get("is_data", False)
        fn = getattr(proc, "required_branches", None)
        out[sample] = set(fn(is_mc)) if callable(fn) else set(all_branches(mc=False))
    return out


def _executor_context(opts: Any) -> contextlib.AbstractContextManager:
    from workflows.executors import build_executor

    return build_executor(opts.executor, opts)


def make_chunks(runner_factory: Any, fileset: dict[str, dict[str, Any]], opts: Any) -> list:
    """Work items for every sample, with each sample's own chunk size (coffea takes one per Runner)."""
    groups: dict[int, dict[str, Any]] = defaultdict(dict)
    for sample, entry in fileset.items():
        groups[opts.chunksize_for(sample)][sample] = entry
    chunks: list = []
    for size, sub in sorted(groups.items()):
        chunks.extend(runner_factory(size).preprocess(sub, treename="events"))
    # A fixed order: same chunks, same merge order, on every run and resume.
    chunks.sort(key=lambda c: (c.dataset, c.filename, c.entrystart))
    return chunks


def code_digest(proc_cls: type) -> str:
    """The processors package (search modules import its shared physics) or, for a processor defined
    elsewhere, that module's file: editing the code invalidates old partial outputs."""
    import inspect

    src = Path(inspect.getfile(proc_cls)).resolve()
    pkg = REPO_ROOT / "processors"
    if pkg in src.parents:
        return checkpoint.source_digest([pkg])
    return checkpoint.config_hash({"file": str(src), "text": src.read_text()})


def run_hash(
    cfg: RunConfig, proc_spec: str, fileset: dict[str, Any], opts: Any, code: str, wp: Any, network: str | None = None
) -> str:
    import coffea

    return checkpoint.config_hash(
        {
            "search": cfg.search.name,
            "processor": proc_spec,
            "working_point": wp.model_dump(mode="json") if wp is not None else None,
            "network": network,  # the artefact's content digest: a retrained network never resumes
            "unblind": cfg.unblind,
            "lumi_fb": cfg.lumi_fb,
            "fileset": fileset,
            "chunksize": {s: opts.chunksize_for(s) for s in fileset},
            "maxchunks": opts.maxchunks,
            "code": code,
            "coffea": coffea.__version__,
        }
    )


def check_network_samples(network: Any, samples: Path, fileset: dict[str, Any]) -> None:
    """The catalog digests of the MC samples of this run against those the network was trained on."""
    from processors.mva import check_samples

    if Path(samples).suffix not in (".yaml", ".yml"):
        return  # a fileset JSON carries no digests
    from samples.catalog import load_catalog

    cat = load_catalog(samples)
    digests = {s: cat.samples[s].digest for s, e in fileset.items()
               if s in cat.samples and not e["metadata"].get("is_data")}  # fmt: skip
    check_samples(network, digests)


# --------------------------------------------------------------------------- driver


def run(cfg: RunConfig) -> RunResult:
    """Run a search into ``cfg.output``: the run holds the folder's lock, writes into DIR/.staging/ and
    switches its files into DIR only when it is complete (outputs.commit, shielded from signals), so a failed
    or interrupted run keeps the previous results and a concurrent run into DIR is refused (workflows.outputs).
    Ctrl-C / SIGTERM are handled over the whole run (workflows.interrupt)."""
    out_dir = Path(cfg.output)
    run_id = uuid.uuid4().hex
    with interrupt.stop_on_signal(), outputs.lock_output(out_dir):
        with interrupt.shielded():
            for line in outputs.recover(out_dir):
                print(f"[b2dark] {line}")
            stage = outputs.staging(out_dir)
        try:
            result = _run(cfg, out_dir, stage, run_id)
        except BaseException:
            with interrupt.shielded():
                shutil.rmtree(stage, ignore_errors=True)
            raise
        with interrupt.shielded():
            outputs.commit(stage, out_dir, run_id)
        # a stop requested while the results were switched in is honoured here: DIR holds the complete new run
        interrupt.check()
    print(result.summary)
    if not cfg.keep_partial:
        checkpoint.cleanup(out_dir)
    return result


def _run(cfg: RunConfig, out_dir: Path, stage: Path, run_id: str) -> RunResult:
    from coffea import processor

    opts = cfg.options
    timer = StageTimer()
    search = cfg.search
    lumi = cfg.lumi_fb if cfg.lumi_fb is not None else search.lumi.fb
    lumi_given = cfg.lumi_fb is not None  # --lumi (else the declaration's)
    cfg.lumi_fb = lumi
    proc_spec = search.processor
    proc_cls = import_object(proc_spec)
    schema = getattr(proc_cls, "schema", None) or import_object("processors.schema:B2Schema")
    wp = cfg.working_point if cfg.working_point is not None else search.working_point()
    proc = proc_cls(lumi_fb=lumi, unblind=cfg.unblind, working_point=wp)
    # Not in the resume hash: a clean chunk's output is the same either way, and a refusing run re-checks
    # the reused chunks' records below, so `--resume --drop-bad-events` after a refusal keeps finished chunks.
    proc.drop_bad_events = bool(getattr(opts, "drop_bad_events", False))

    # Ctrl-C / SIGTERM from the input checks to the end of the processing stop at a safe point
    # (workflows.interrupt): the finished chunks stay checkpointed, `--resume` goes on from them.
    with interrupt.stop_on_signal():
        with timer("inputs"):
            selection = select_samples(search, load_fileset(cfg.samples, lumi), cfg.samples, cfg.data, cfg.partial)
            fileset = selection.fileset
            if not fileset:
                raise ValueError(f"{cfg.samples}: no sample of search {search.name!r} in the catalog")
            # basf2 ntuples: mapped once per file to native copies (samples/basf2_reader.py)
            fileset, basf2_sources = basf2_reader.native_fileset(
                fileset, required_branches(proc, fileset), out_dir / ".basf2-native", search.name
            )
            input_format = run_format(fileset, cfg.samples)
            check_data_lumi(selection, lumi, cfg.samples, explicit=lumi_given)
            print(_selection_line(search, selection))
            inputcheck.duplicate_files(fileset)
            checks = inputcheck.check_fileset(fileset, required_branches(proc, fileset))
            expected, problems = inputcheck.account(fileset, checks)
            if problems and not opts.skip_bad_files:
                raise inputcheck.BadInputError(problems)
            good = inputcheck.drop_bad_files(fileset, problems)
            for p in problems:
                print(f"[b2dark] SKIPPED {p.path} ({p.sample}): {p.reason}: {p.detail}; {p.events_lost} events lost")
            if not good:
                raise inputcheck.BadInputError(problems)
            inputcheck.duplicate_events(good, checks)
        interrupt.check()

        network = getattr(proc, "network", None)
        if network is not None:  # a network trained on other samples than these is stale
            check_network_samples(network, cfg.samples, fileset)
        rhash = run_hash(cfg, proc_spec, fileset, opts, code_digest(proc_cls), wp, network.digest if network else None)
        partial_dir, n_before = checkpoint.prepare(out_dir, rhash, cfg.resume)
        if cfg.resume:
            print(f"[b2dark] resume: {n_before} finished chunk(s) found in {partial_dir}")
            stale = checkpoint.other_configs(out_dir, rhash)
            if stale:
                print(f"[b2dark] resume: ignoring partial outputs of other configurations: {stale}")

        # coffea's default metadata cache is process-global and replays the fileset metadata of an
        # earlier run over the same (dataset, file): one fresh cache per run (notebooks, tests).
        metadata_cache: dict = {}
        with ownedprocs.reaped(_executor_context(opts)) as handle:

            def runner_factory(chunksize: int) -> Any:
                return processor.Runner(
                    executor=handle.executor,
                    schema=schema,
                    chunksize=chunksize,
                    maxchunks=opts.maxchunks,
                    skipbadfiles=False,  # bad files were found above; anything else must stop the run
                    checkpointer=checkpoint.ChunkCheckpointer(partial_dir),
                    metadata_cache=metadata_cache,
                    format=input_format,
                )

            with timer("chunking"):
                chunks = make_chunks(runner_factory, good, opts)
            print(
                f"[b2dark] {len(chunks)} chunks over {sum(len(e['files']) for e in good.values())} files, "
                f"executor {opts.executor}" + (f", {input_format} input" if input_format != "root" else "")
            )
            interrupt.check()
            in_workers = interrupt.workers_compute() if opts.executor != "iterative" else contextlib.nullcontext()
            with timer("processing"), in_workers:
                wrapped, chunks = process_chunks(runner_factory(opts.chunksize), chunks, proc, opts, checks, problems)
            executor_info = handle.describe() if hasattr(handle, "describe") else {"spec": opts.executor}
    out = wrapped["out"]
    n_reused = min(n_before, len(chunks))
    bad_events = bad_event_table(out.get("bad_events") or set())
    if bad_events and not proc.drop_bad_events:  # records of chunks reused from a --drop-bad-events run
        raise validity.BadEventsError(out["bad_events"])
    for b in bad_events:
        print(f"[b2dark] DROPPED {b['events']} event(s) of {b['file']} ({b['sample']}): {b['column']} {b['reason']} "
              f"at entries {b['first']}..{b['last']}")  # fmt: skip

    with timer("accounting"):
        processed: dict[str, int] = defaultdict(int)
        for item in wrapped["processed"]:
            processed[item.dataset] += len(item)
        accounting = check_accounting(expected, dict(processed), problems, good, checks, opts.maxchunks, out)
        dropped = {s: int(n) for s, n in (out.get("dropped_events") or {}).items() if n}
        accounting["dropped_bad_events"] = dropped
        if dropped:
            accounting["line"] += f"; of the processed, {sum(dropped.values())} dropped for bad values"
        print(accounting["line"])

    with interrupt.at_once(), timer("saving"):
        samples_meta = {s: {k: v for k, v in e["metadata"].items() if k != "file_events"} for s, e in fileset.items()}
        prov = provenance.collect(
            command=cfg.command,
            search=search.name,
            options={
                "run_options": opts.model_dump(mode="json") if hasattr(opts, "model_dump") else dict(vars(opts)),
                "samples": str(cfg.samples),
                "output": str(out_dir),
                "unblind": cfg.unblind,
                "lumi_fb": lumi,
                "processor": proc_spec,
                "schema": f"{schema.__module__}:{schema.__qualname__}",
                "working_point": wp.model_dump(mode="json") if wp is not None else None,
                "network": None if network is None else {"path": str(network.path), "digest": network.digest},
                "data_sample": selection.data,
                "input_format": input_format,
                "basf2_inputs": basf2_sources,
            },
            selection={
                "backgrounds": selection.backgrounds,
                "signals": selection.signals,
                "data": selection.data,
                "missing": selection.missing,
                "ignored": selection.ignored,
                "partial": selection.partial,
            },
            inputs=[
                {"sample": c.sample, "path": c.path, "entries": c.entries, "ok": c.problem is None} for c in checks
            ],
            skipped=[p.as_dict() for p in problems],
            bad_events=bad_events,
            accounting=accounting,
            executor={
                **executor_info,
                "n_chunks": len(chunks),
                "chunksize": {s: opts.chunksize_for(s) for s in good},
                "retries": opts.retries,
            },
            timings=timer.timings,
            resume={
                "resumed": cfg.resume,
                "hash": rhash,
                "chunks_reused": n_reused,
                "chunks_computed": len(chunks) - n_reused,
            },
            extra={"blinded": bool(out.get("blinded", not cfg.unblind)), "unblinded_by_user": cfg.unblind},
        )
        files = outputs.save(
            out,
            stage,
            search=search.name,
            lumi_fb=lumi,
            samples=samples_meta,
            provenance=prov,
            partial=selection.partial,
            run_id=run_id,
        )
    with interrupt.at_once():
        return _finish(cfg, search, out_dir, stage, run_id, out, expected, processed, problems, timer, prov, files,
                       accounting)  # fmt: skip


def _finish(
    cfg: RunConfig,
    search: SearchSpec,
    out_dir: Path,
    stage: Path,
    run_id: str,
    out: dict[str, Any],
    expected: dict[str, int],
    processed: Mapping[str, int],
    problems: list[inputcheck.FileProblem],
    timer: StageTimer,
    prov: dict[str, Any],
    files: dict[str, Path],
    accounting: dict[str, Any],
) -> RunResult:
    """The mass table, plots, final provenance and summary, all in the staging folder."""
    result = RunResult(out_dir, out, expected, dict(processed), problems, timer.timings, provenance=prov)
    saved = outputs.load(stage)  # what users and the stats stage see: the tables and plots read it too
    rows = masstable.mass_table(saved, search)
    outputs.write_json_atomic(stage / "masstable.json", rows)
    interrupt.inject("plots")
    if cfg.plots:
        with timer("plots"):
            try:
                from workflows import plots

                made = plots.make_all(saved, stage / "plots", search, rows)
                print(f"[b2dark] {len(made)} plots in {out_dir / 'plots'}")
            except Exception as e:  # outputs are saved; a plotting bug must not lose them, but it is reported
                print(
                    f"[b2dark] WARNING: plotting failed ({type(e).__name__}: {e}); outputs are complete",
                    file=sys.stderr,
                )
    # Timings of the late stages go in as well (the file is rewritten atomically).
    prov["timings_s"] = timer.timings
    prov["run_id"] = run_id
    outputs.write_json_atomic(files["provenance"], outputs._jsonable(prov))
    result.summary = summary(result, accounting, files, masstable.format_table(rows, search), stage)
    (stage / "summary.txt").write_text(result.summary + "\n")
    return result


def bad_event_table(records: set[validity.BadValues]) -> list[dict[str, Any]]:
    """The dropped events per (sample, file, column, reason): events, first and last entry, chunks."""
    table: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for r in sorted(records):
        key = (r.sample, r.file, r.column, r.reason)
        row = table.setdefault(key, {"sample": r.sample, "file": r.file, "column": r.column, "reason": r.reason,
                                     "events": 0, "first": r.first, "last": r.last, "chunks": 0})  # fmt: skip
        row["events"] += r.count
        row["first"], row["last"] = min(row["first"], r.first), max(row["last"], r.last)
        row["chunks"] += 1
    return list(table.values())


LUMI_RTOL = 1e-6


def check_data_lumi(selection: Selection, lumi_fb: float, catalog: Path | str, explicit: bool = False) -> None:
    """Pseudo-data at one luminosity fitted against MC normalised to another is a wrong result, not a warning."""
    if selection.data is None:
        return
    data_lumi = (selection.fileset[selection.data].get("metadata") or {}).get("lumi_fb")
    if data_lumi is None or abs(float(data_lumi) - lumi_fb) <= LUMI_RTOL * max(abs(lumi_fb), 1.0):
        return
    source = "--lumi" if explicit else "the search's declared luminosity"
    raise SampleSelectionError(
        f"{catalog}: data sample {selection.data!r} has lumi_fb {float(data_lumi):g} fb^-1 but MC would be normalised "
        f"to {lumi_fb:g} fb^-1 ({source}); rerun with --lumi {float(data_lumi):g} to normalise MC to the data, or "
        "choose data of that luminosity (--data, `b2dark searches` lists them)"
    )


def _selection_line(spec: SearchSpec, sel: Selection) -> str:
    line = (f"[b2dark] {spec.name}: {len(sel.backgrounds)} background, {len(sel.signals)} signal sample(s), "
            f"data {sel.data or '-'}")  # fmt: skip
    if sel.ignored:
        line += f"; {len(sel.ignored)} other catalog sample(s) not used"
    if sel.missing:
        line += f"; PARTIAL: missing {', '.join(sel.missing)}"
    return line


_FILE_IN_MESSAGE = re.compile(r"filename='([^']+)'")


def _read_error(exc: BaseException) -> bool:
    """True when the root cause is reading/decompressing the file (not a bug in the processor)."""
    cause: BaseException | None = exc
    while cause is not None:
        mod = type(cause).__module__ or ""
        if isinstance(cause, (OSError, EOFError, zlib.error)) or mod.split(".")[0] in {
            "uproot",
            "lz4",
            "cramjam",
            "zstandard",
        }:
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def process_chunks(
    runner: Any,
    chunks: list,
    proc: Any,
    opts: Any,
    checks: list[inputcheck.FileCheck],
    problems: list[inputcheck.FileProblem],
) -> tuple[dict[str, Any], list]:
    """Run all chunks. A file that fails while its data are read (e.g. a corrupt basket the cheap
    checks cannot see) stops the run naming the file -- or, with skip_bad_files, joins the skipped
    files and the run continues; chunks already finished are reloaded from their checkpoints."""
    entries = {c.path: c.entries for c in checks}
    while True:
        try:
            return runner.run(chunks, proc, treename="events"), chunks
        except Exception as e:
            bad_values = validity.find_error(e)
            if bad_values is not None:  # one clear message, not coffea's wrapper
                raise bad_values from None
            m = _FILE_IN_MESSAGE.search(str(e))
            if m is None or not _read_error(e):
                raise
            path = m.group(1)
            detail = f"reading failed during processing ({type(e.__cause__ or e).__name__}: {e.__cause__ or e})"
            if not opts.skip_bad_files:
                sample = next((c.dataset for c in chunks if c.filename == path), "?")
                raise inputcheck.BadInputError(
                    [inputcheck.FileProblem(sample, path, "read-error", detail[:500], entries.get(path) or 0)]
                ) from e
            sample = next(c.dataset for c in chunks if c.filename == path)
            problems.append(inputcheck.FileProblem(sample, path, "read-error", detail[:500], entries.get(path) or 0))
            print(f"[b2dark] SKIPPED {path} ({sample}): read error during processing; rerunning the rest")
            chunks = [c for c in chunks if c.filename != path]
            if not chunks:
                raise inputcheck.BadInputError(problems) from e


def check_accounting(
    expected: dict[str, int],
    processed: dict[str, int],
    problems: list[inputcheck.FileProblem],
    good: dict[str, Any],
    checks: list[inputcheck.FileCheck],
    maxchunks: int | None,
    out: Mapping[str, Any],
) -> dict[str, Any]:
    """events in the catalog = processed + skipped (+ left out by --maxchunks); raises if not."""
    lost: dict[str, int] = defaultdict(int)
    for p in problems:
        lost[p.sample] += p.events_lost
    entries: dict[str, int] = defaultdict(int)
    bad = {p.path for p in problems}
    for c in checks:
        if c.path not in bad and c.entries is not None:
            entries[c.sample] += c.entries
    per_sample = {}
    for s, n in expected.items():
        limited = entries[s] - processed.get(s, 0) if maxchunks else 0
        per_sample[s] = {"catalog": n, "processed": processed.get(s, 0), "skipped": lost[s], "not_requested": limited}
        if n != processed.get(s, 0) + lost[s] + limited:
            raise AccountingError(
                f"sample {s}: catalog has {n} events but {processed.get(s, 0)} were processed and {lost[s]} "
                f"skipped (+{limited} left out by maxchunks); a file changed or the catalog is stale -- regenerate it"
            )
    nev = out.get("nevents") or {}
    for s, n in nev.items():
        if s in processed and int(n) != processed[s]:
            raise AccountingError(f"sample {s}: the processor counted {n} events, the runner processed {processed[s]}")
    tot = {k: sum(v[k] for v in per_sample.values()) for k in ("catalog", "processed", "skipped", "not_requested")}
    line = (
        f"[b2dark] events: catalog {tot['catalog']} = processed {tot['processed']} + skipped {tot['skipped']}"
        + (f" + not requested (maxchunks) {tot['not_requested']}" if tot["not_requested"] else "")
        + (f"  ({len(problems)} bad file(s) skipped)" if problems else "")
    )
    return {"per_sample": per_sample, "total": tot, "line": line}


def summary(
    result: RunResult, accounting: dict[str, Any], files: dict[str, Path], table: str = "", written: Path | None = None
) -> str:
    """The run summary; ``written``: the folder the files are in now (the staging folder before the commit)."""
    cfs = outputs.normalize_cutflows(result.output.get("cutflow", {}))
    lines = ["", "== b2dark run summary", f"{'sample':<32s} {'processed':>10s} {'selected':>9s} {'yield':>12s}"]
    for s in sorted(result.expected):
        cf = cfs.get(s)
        sel_raw = cf["raw"][-1] if cf and cf["raw"] else 0
        sel_w = cf["weighted"][-1] if cf and cf["weighted"] else 0.0
        lines.append(f"{s:<32s} {result.processed.get(s, 0):>10d} {sel_raw:>9d} {sel_w:>12.4g}")
    signals = ((result.provenance or {}).get("selection") or {}).get("signals") or []
    for s in sorted(signals):
        cf = cfs.get(s)
        if result.processed.get(s, 0) and cf and cf["raw"] and cf["raw"][-1] == 0:
            lines.append(f"NO EVENTS SELECTED: signal sample {s} selected 0 of {result.processed[s]} events "
                         "(no signal template, no limit at its hypothesis)")  # fmt: skip
    lines.append(accounting["line"].replace("[b2dark] ", ""))
    bad = (result.provenance or {}).get("bad_events") or []
    if bad:
        lines.append(f"DROPPED {sum(b['events'] for b in bad)} event(s) with bad values (--drop-bad-events), "
                     f"{len(bad)} (file, branch, reason): see provenance.json 'bad_events'")  # fmt: skip
        lines += [f"  {b['file']} ({b['sample']}): {b['column']} {b['reason']}: {b['events']} event(s), entries "
                  f"{b['first']}..{b['last']}" for b in bad[:10]]  # fmt: skip
    if result.skipped:
        lines.append(
            f"SKIPPED {len(result.skipped)} bad file(s), "
            f"{sum(p.events_lost for p in result.skipped)} events lost: see provenance.json 'skipped_files'"
        )
    if table:
        lines.append(table)
    lines.append(f"blinded: {bool(result.output.get('blinded', True))}")
    prov_sel = (result.provenance or {}).get("selection") or {}
    if prov_sel.get("missing"):
        lines.append(f"PARTIAL run: the catalog lacks {', '.join(prov_sel['missing'])}; `b2dark limits` refuses it")
    plots_made = ((written or result.output_dir) / "plots").is_dir()
    names = sorted(p.name for p in files.values()) + (["plots/"] if plots_made else [])
    lines.append(f"outputs: {result.output_dir.resolve()}  ({', '.join(names)})")
    return "\n".join(lines)

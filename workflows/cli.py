"""`b2dark` command line: searches | samples | generate | run | limits | train | inspect | export-basf2.

Subcommand modules are imported only when used, so `b2dark --help` does not pay
for coffea/dask/pyhf imports.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

# One BLAS thread per process, set before numpy loads OpenBLAS: b2dark parallelises over processes
# (dask workers, the limit pool), and BLAS threads on the fits' small matrices only compete with them
# (measured on a loaded 2-core machine: a Z' -> mu mu hypothesis 8.1 s with the default, 3.8 s with one).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

DEFAULT_EXECUTOR = "dask@local"


def _run_parser(sub: argparse._SubParsersAction) -> None:
    from processors.registry import names  # light: the declarations only

    p = sub.add_parser(
        "run",
        help="run a search over the sample catalog and write hists, cutflows, provenance and plots",
        description="Run a search's coffea processor over the catalog's files. Run options come in layers: "
        "defaults < site YAML (--site) < user YAML (--run-options) < these flags.",
    )
    p.add_argument("search", choices=names(), help="which search")
    p.add_argument(
        "--samples",
        type=Path,
        default=Path("data/samples/catalog.yaml"),
        help="sample catalog YAML (or a coffea fileset JSON) [%(default)s]",
    )
    p.add_argument("--output", type=Path, default=None, help="output folder [data/outputs/SEARCH]")
    p.add_argument(
        "--executor",
        default=None,
        help=f"iterative | futures | dask@local | dask@slurm | dask@condor | dask@gateway | "
        f"dask@tcp://HOST:PORT [{DEFAULT_EXECUTOR}]",
    )
    p.add_argument("--workers", type=int, default=None, help="local workers (futures, dask@local)")
    p.add_argument("--chunksize", type=int, default=None, help="events per chunk")
    p.add_argument("--maxchunks", type=int, default=None, help="process at most this many chunks per sample (tests)")
    p.add_argument("--retries", type=int, default=None, help="task retries on worker loss")
    p.add_argument("--site", default=None, help="site YAML name in workflows/sites or a path")
    p.add_argument("--run-options", type=Path, default=None, help="user YAML with run options")
    p.add_argument(
        "--unblind",
        action="store_true",
        help="show data in the signal region (recorded in the output); blinded by default",
    )
    p.add_argument(
        "--skip-bad-files",
        action="store_true",
        default=None,
        help="skip unreadable/incomplete input files (recorded with the events lost) instead of stopping",
    )
    p.add_argument(
        "--drop-bad-events",
        action="store_true",
        default=None,
        help="drop events with NaN/inf values or broken MC weights (recorded per file and branch) instead of stopping",
    )
    p.add_argument("--resume", action="store_true", help="reuse the finished chunks of an interrupted identical run")
    p.add_argument("--keep-partial", action="store_true", help="keep per-chunk outputs (DIR/.partial) after success")
    p.add_argument("--no-plots", action="store_true", help="skip the plots")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: on when the terminal is interactive)",
    )
    p.add_argument(
        "--lumi", type=float, default=None, help="normalise MC to this luminosity [fb^-1] (default: the paper's)"
    )
    p.add_argument(
        "--data", default=None, help="which declared data sample (default: the search's first; see `b2dark searches`)"
    )
    p.add_argument(
        "--partial",
        action="store_true",
        help="run on the declared samples the catalog has (the output is marked partial: not fittable)",
    )
    p.add_argument(
        "--working-point",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="YAML of working-point keys over the declared defaults (repeatable, later wins)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="wp_set",
        help="one working-point key, e.g. --set muon_id_min=0.9 (wins over --working-point)",
    )


def _searches_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("searches", help="list the declared searches (samples, data, plan, working point)")
    p.add_argument("name", nargs="?", help="one search: its whole declaration")
    p.add_argument("--markdown", action="store_true", help="the README's table of searches")


def _samples_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("samples", help="generate the samples a search needs (its recipe), reusing what exists")
    p.add_argument("search", nargs="*", help="search names (default with --all: every declared search)")
    p.add_argument("--all", action="store_true", help="every declared search")
    p.add_argument("--out", type=Path, default=Path("data/samples"), help="sample folder (catalog.yaml inside)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument(
        "--replace",
        action="store_true",
        help="regenerate samples whose catalog entry has another definition (default: refuse)",
    )


def _export_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export-basf2",
        help="write native files as basf2-style ntuples (VariablesToNtuple / VariablesToEventBasedTree layout)",
        description="Write fast-simulation files as basf2-style ntuples: one FILE to --out FILE, or every sample "
        "of --catalog into the folder --out with a catalog.yaml declaring them (format basf2-ntuple or "
        "basf2-eventtree). The variable table is samples/basf2_names.py.",
    )
    p.add_argument("file", type=Path, nargs="?", help="one native file (ROOT or Parquet)")
    p.add_argument("--catalog", type=Path, help="export every sample of this catalog instead")
    p.add_argument("--out", type=Path, required=True, help="output file (FILE) or folder (--catalog)")
    p.add_argument(
        "--flavour",
        choices=("ntuple", "eventtree"),
        default="ntuple",
        help="ntuple: candidate based (VariablesToNtuple); eventtree: one row per event (VariablesToEventBasedTree)",
    )


def cmd_export_basf2(args: argparse.Namespace) -> int:
    from samples import basf2_export

    if (args.file is None) == (args.catalog is None):
        raise SystemExit("b2dark export-basf2: give one native FILE or --catalog CATALOG")
    if args.catalog is not None:
        print(f"wrote {basf2_export.export_catalog(args.catalog, args.out, args.flavour)}")
    else:
        rows = basf2_export.export_file(args.file, args.out, args.flavour)
        print(f"wrote {args.out}: " + ", ".join(f"{t} {n} rows" for t, n in rows.items()))
    return 0


def _inspect_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="print a file's trees, branches and event count")
    p.add_argument("file", type=Path)
    p.add_argument("--tree", default="events")
    p.add_argument("-n", "--events", type=int, default=0, help="also print the first N events")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="b2dark", description="Belle II dark-sector searches with coffea + dask")
    sub = parser.add_subparsers(
        dest="command", metavar="{searches,samples,generate,run,limits,train,inspect,export-basf2}"
    )
    _searches_parser(sub)
    _samples_parser(sub)
    sub.add_parser(
        "generate", help="generate samples with the fast simulation (see `b2dark generate --help`)", add_help=False
    )
    _run_parser(sub)
    sub.add_parser(
        "limits", help="statistics stage: limits from a run output (see `b2dark limits --help`)", add_help=False
    )
    sub.add_parser(
        "train",
        help="train the Punzi-loss (or cross-entropy) networks of a search on a run output (`b2dark train --help`)",
        add_help=False,
    )
    _inspect_parser(sub)
    _export_parser(sub)
    return parser


def cmd_run(args: argparse.Namespace, argv: list[str]) -> int:
    from processors import registry
    from workflows.run import RunConfig, run
    from workflows.runoptions import load_run_options
    from workflows.workingpoint import load_working_point

    cli = {
        "executor": args.executor,
        "workers": args.workers,
        "chunksize": args.chunksize,
        "maxchunks": args.maxchunks,
        "retries": args.retries,
        "skip_bad_files": args.skip_bad_files,
        "drop_bad_events": args.drop_bad_events,
        "status": args.progress if args.progress is not None else sys.stderr.isatty(),
    }
    if args.executor is None and args.run_options is None and args.site is None:
        cli["executor"] = DEFAULT_EXECUTOR
    opts = load_run_options(site=args.site, user_file=args.run_options, cli=cli)
    search = registry.get(args.search)
    cfg = RunConfig(
        search=search,
        samples=args.samples,
        output=args.output or Path("data/outputs") / args.search,
        options=opts,
        unblind=args.unblind,
        resume=args.resume,
        lumi_fb=args.lumi,
        plots=not args.no_plots,
        keep_partial=args.keep_partial,
        command=["b2dark", *argv],
        data=args.data,
        partial=args.partial,
        working_point=load_working_point(search, args.working_point, args.wp_set),
    )
    run(cfg)
    return 0


def cmd_searches(args: argparse.Namespace) -> int:
    from workflows.declared import describe, markdown_table, summary_table

    if args.name:
        print(describe(args.name))
    else:
        print(markdown_table() if args.markdown else summary_table())
    return 0


def cmd_samples(args: argparse.Namespace) -> int:
    from processors import registry
    from samples.cli import main as generate_main
    from samples.recipes import recipe_path

    wanted = registry.names() if args.all or not args.search else args.search
    for name in wanted:
        registry.get(name)  # unknown search -> clear error
    paths = sorted({str(recipe_path(registry.get(n).recipe)) for n in wanted})
    extra = ["--jobs", str(args.jobs), *(["--no-progress"] if args.no_progress else []),
             *(["--replace"] if args.replace else [])]  # fmt: skip
    return int(generate_main(["--out", str(args.out), *[a for p in paths for a in ("--recipe", p)], *extra]) or 0)


def _is_parquet(path: Path) -> bool:
    """By the magic bytes, so a renamed file is still recognised (Parquet files start with b"PAR1")."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"PAR1"
    except OSError:
        return False


def _inspect_parquet(args: argparse.Namespace) -> int:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(args.file)
    except Exception as e:  # a damaged file: say so in one line
        raise InspectError(f"{args.file}: not a readable Parquet file ({type(e).__name__}: {e})") from None
    schema = pf.schema_arrow
    print(f"{args.file}: Parquet, {pf.metadata.num_row_groups} row group(s)")
    print(f"{pf.metadata.num_rows} entries, {len(schema.names)} columns")
    for field in schema:
        print(f"  {field.name:<28s} {field.type}")
    if args.events:
        for batch in pf.iter_batches(batch_size=args.events):
            for row in batch.to_pylist():
                print(row)
            break
    return 0


class InspectError(ValueError):
    """`b2dark inspect` on a file it cannot read: one line naming the file."""


def cmd_inspect(args: argparse.Namespace) -> int:
    import uproot

    if not args.file.is_file():
        raise InspectError(f"{args.file}: no such file")
    if _is_parquet(args.file):
        return _inspect_parquet(args)
    try:
        f = uproot.open(args.file)
    except Exception as e:
        why = str(e).splitlines()[0] if str(e) else ""
        raise InspectError(f"{args.file}: neither a ROOT nor a Parquet file ({type(e).__name__}: {why})") from None
    with f:
        keys = sorted({k.split(";")[0] for k in f.keys()})
        if args.tree not in keys:
            from samples.basf2_reader import describe

            basf2 = describe(args.file)
            if basf2 is not None:
                print(basf2)
                return 0
        print(f"{args.file}: keys {keys}")
        if args.tree not in keys:
            raise InspectError(f"{args.file}: no tree {args.tree!r} (keys: {keys}); choose one with --tree")
        tree = f[args.tree]
        print(f"tree {args.tree!r}: {tree.num_entries} entries, {len(tree.keys())} branches")
        for name, br in tree.items():
            print(f"  {name:<28s} {br.typename}")
        if args.events:
            arr = tree.arrays(entry_stop=args.events)
            for i in range(len(arr)):
                print(arr[i].to_list())
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # generate / limits / train own their argument parsing (their --help included).
    if argv and argv[0] == "generate":
        from samples.cli import main as generate_main

        return int(generate_main(argv[1:]) or 0)
    if argv and argv[0] == "limits":
        from workflows.stats.cli import main as limits_main

        return int(limits_main(argv[1:]) or 0)
    if argv and argv[0] == "train":
        from workflows.train.cli import main as train_main  # torch is imported only when training starts

        return int(train_main(argv[1:]) or 0)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    commands = {"run": lambda: cmd_run(args, argv), "inspect": lambda: cmd_inspect(args),
                "searches": lambda: cmd_searches(args), "samples": lambda: cmd_samples(args),
                "export-basf2": lambda: cmd_export_basf2(args)}  # fmt: skip
    from workflows.interrupt import RunInterrupted

    try:
        with _stop_on_sigterm(args.command == "run"):
            return commands[args.command]()
    except RunInterrupted as stop:
        again = " ".join(["b2dark", *argv] + ([] if "--resume" in argv else ["--resume"]))
        print(f"\n[b2dark] stopped by {stop.name}; the finished chunks are checkpointed. To go on: {again}",
              file=sys.stderr)  # fmt: skip
        return stop.exit_code
    except KeyboardInterrupt:  # before or after the processing (nothing to lose there)
        print("\n[b2dark] interrupted; finished chunks are kept: rerun the same command with --resume", file=sys.stderr)
        return 130
    except Exception as e:
        if isinstance(e, _user_errors()):
            print(f"b2dark {args.command}: error: {e}", file=sys.stderr)
            return 1
        raise


@contextlib.contextmanager
def _stop_on_sigterm(active: bool) -> Iterator[None]:
    """Before and after the run's own handlers (workflows.interrupt): SIGTERM stops like Ctrl-C, with one line."""
    import signal
    import threading

    from workflows.interrupt import RunInterrupted

    def stop(signum: int, frame: object) -> None:
        raise RunInterrupted(signum)

    if not active or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors that are the user's input, printed as one line (anything else is a bug: traceback)."""
    from processors.mva import ArtefactError
    from processors.registry import UnknownSearchError
    from processors.validity import BadEventsError
    from samples.basf2_export import ExportError
    from samples.basf2_reader import Basf2InputError
    from samples.catalog import CatalogError
    from workflows.fileset import SampleSelectionError
    from workflows.inputcheck import BadInputError, DuplicateInputError
    from workflows.outputs import OutputFolderError
    from workflows.run import AccountingError
    from workflows.runoptions import RunOptionsError
    from workflows.workingpoint import WorkingPointError

    return (BadInputError, FileNotFoundError, RunOptionsError, AccountingError, SampleSelectionError,
            WorkingPointError, CatalogError, UnknownSearchError, InspectError, OutputFolderError,
            ArtefactError, Basf2InputError, ExportError, DuplicateInputError, BadEventsError)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())

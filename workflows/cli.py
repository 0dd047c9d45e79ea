"""`b2dark` command line: generate | run | limits | inspect.

Subcommand modules are imported only when used, so `b2dark --help` does not pay
for coffea/dask/pyhf imports.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_EXECUTOR = "dask@local"


def _run_parser(sub: argparse._SubParsersAction) -> None:
    from workflows.searches import SEARCHES  # light: only samples.constants

    p = sub.add_parser(
        "run",
        help="run a search over the sample catalog and write hists, cutflows, provenance and plots",
        description="Run a search's coffea processor over the catalog's files. Run options come in layers: "
        "defaults < site YAML (--site) < user YAML (--run-options) < these flags.",
    )
    p.add_argument("search", choices=sorted(SEARCHES), help="which search")
    p.add_argument("--samples", type=Path, default=Path("data/samples/catalog.yaml"),
                   help="sample catalog YAML (or a coffea fileset JSON) [%(default)s]")
    p.add_argument("--output", type=Path, default=None, help="output folder [data/outputs/SEARCH]")
    p.add_argument("--executor", default=None,
                   help=f"iterative | futures | dask@local | dask@slurm | dask@condor | dask@gateway | "
                        f"dask@tcp://HOST:PORT [{DEFAULT_EXECUTOR}]")
    p.add_argument("--workers", type=int, default=None, help="local workers (futures, dask@local)")
    p.add_argument("--chunksize", type=int, default=None, help="events per chunk")
    p.add_argument("--maxchunks", type=int, default=None, help="process at most this many chunks per sample (tests)")
    p.add_argument("--retries", type=int, default=None, help="task retries on worker loss")
    p.add_argument("--site", default=None, help="site YAML name in workflows/sites or a path")
    p.add_argument("--run-options", type=Path, default=None, help="user YAML with run options")
    p.add_argument("--unblind", action="store_true",
                   help="show data in the signal region (recorded in the output); blinded by default")
    p.add_argument("--skip-bad-files", action="store_true", default=None,
                   help="skip unreadable/incomplete input files (recorded with the events lost) instead of stopping")
    p.add_argument("--resume", action="store_true", help="reuse the finished chunks of an interrupted identical run")
    p.add_argument("--keep-partial", action="store_true", help="keep per-chunk outputs (DIR/.partial) after success")
    p.add_argument("--no-plots", action="store_true", help="skip the plots")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar (default: on when the terminal is interactive)")
    p.add_argument("--lumi", type=float, default=None, help="normalise MC to this luminosity [fb^-1] (default: the paper's)")
    p.add_argument("--processor", default=None, help=argparse.SUPPRESS)  # "module:Class" override for development


def _inspect_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="print a file's trees, branches and event count")
    p.add_argument("file", type=Path)
    p.add_argument("--tree", default="events")
    p.add_argument("-n", "--events", type=int, default=0, help="also print the first N events")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="b2dark", description="Belle II dark-sector searches with coffea + dask")
    sub = parser.add_subparsers(dest="command", metavar="{generate,run,limits,inspect}")
    sub.add_parser("generate", help="generate samples with the fast simulation (see `b2dark generate --help`)",
                   add_help=False)
    _run_parser(sub)
    sub.add_parser("limits", help="statistics stage: limits from a run output (see `b2dark limits --help`)",
                   add_help=False)
    _inspect_parser(sub)
    return parser


def cmd_run(args: argparse.Namespace, argv: list[str]) -> int:
    from workflows import searches
    from workflows.run import RunConfig, run
    from workflows.runoptions import load_run_options

    cli = {
        "executor": args.executor,
        "workers": args.workers,
        "chunksize": args.chunksize,
        "maxchunks": args.maxchunks,
        "retries": args.retries,
        "skip_bad_files": args.skip_bad_files,
        "status": args.progress if args.progress is not None else sys.stderr.isatty(),
    }
    if args.executor is None and args.run_options is None and args.site is None:
        cli["executor"] = DEFAULT_EXECUTOR
    opts = load_run_options(site=args.site, user_file=args.run_options, cli=cli)
    search = searches.get(args.search)
    cfg = RunConfig(
        search=search,
        samples=args.samples,
        output=args.output or Path("data/outputs") / args.search,
        options=opts,
        unblind=args.unblind,
        resume=args.resume,
        processor=args.processor,
        lumi_fb=args.lumi,
        plots=not args.no_plots,
        keep_partial=args.keep_partial,
        command=["b2dark", *argv],
    )
    run(cfg)
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    import uproot

    with uproot.open(args.file) as f:
        print(f"{args.file}: keys {sorted({k.split(';')[0] for k in f.keys()})}")
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
    # generate / limits own their argument parsing (their --help included).
    if argv and argv[0] == "generate":
        from samples.cli import main as generate_main

        return int(generate_main(argv[1:]) or 0)
    if argv and argv[0] == "limits":
        from workflows.stats.cli import main as limits_main

        return int(limits_main(argv[1:]) or 0)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "run":
            return cmd_run(args, argv)
        if args.command == "inspect":
            return cmd_inspect(args)
    except KeyboardInterrupt:
        print("\n[b2dark] interrupted; finished chunks are kept: rerun the same command with --resume", file=sys.stderr)
        return 130
    except Exception as e:
        from workflows.inputcheck import BadInputError

        if isinstance(e, (BadInputError, FileNotFoundError)) or type(e).__name__ in {"RunOptionsError", "AccountingError"}:
            print(f"b2dark {args.command}: error: {e}", file=sys.stderr)
            return 1
        raise
    return 2


if __name__ == "__main__":
    sys.exit(main())

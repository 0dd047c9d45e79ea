"""``b2dark train SEARCH`` (also ``python -m workflows.train.cli SEARCH``): one network per mass range.

    b2dark train zprime-inv --input data/outputs/zprime-inv --features f1 f2 ... --observable m2_recoil \\
        --ranges 0.1-2 2-9 [--loss punzi|bce] [--a 3] [--seed 0] [--epochs 300] [--out FILE]

Reads the run's event list (``dataset.load_table``), trains on fold 0 of the event-number split, keeps the
state with the best objective on fold 1 and chooses the working point there; fold 2 (application) is never
read by the training. Writes the artefact (default ``RUN_DIR/mva_<loss>.json``) and prints per mass the
validation FOM at the working point against no network cut.

torch is imported only when training starts, so ``b2dark --help`` stays light.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workflows.train.dataset import Table


def add_arguments(p: argparse.ArgumentParser) -> None:
    from processors.registry import names  # light: the declarations only

    p.add_argument("search", choices=names(), help="which search")
    p.add_argument("--input", type=Path, required=True, help="the b2dark run output folder (its eventlist.parquet)")
    p.add_argument("--features", nargs="+", required=True, help="event-list columns the networks take")
    p.add_argument("--observable", nargs="+", required=True,
                   help="event-list column(s) of the mass windows (several: candidates, any one inside)")  # fmt: skip
    p.add_argument("--ranges", nargs="+", required=True, help="mass ranges LO-HI [GeV], one network each")
    p.add_argument("--window-sigma", type=float, default=2.0,
                   help="window half-width in central-68 %% signal widths [%(default)s]")  # fmt: skip
    p.add_argument("--process", nargs="+", default=None, help="signal processes to train on (default: all)")
    p.add_argument("--loss", choices=("punzi", "bce"), default="punzi", help="[%(default)s]")
    p.add_argument("--a", type=float, default=3.0, help="Punzi a (EPJC 82, 121 uses 3) [%(default)s]")
    p.add_argument("--reduction", choices=("sum", "mean"), default="sum", help="over the masses [%(default)s]")
    p.add_argument("--hidden", nargs="+", type=int, default=[32, 32], help="hidden layer sizes [32 32]")
    p.add_argument("--activation", choices=("relu", "tanh", "sigmoid"), default="relu", help="[%(default)s]")
    p.add_argument("--epochs", type=int, default=300, help="full-batch steps [%(default)s]")
    p.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate [%(default)s]")
    p.add_argument("--seed", type=int, default=0, help="[%(default)s]")
    p.add_argument("--threads", type=int, default=2, help="torch threads [%(default)s]")
    p.add_argument("--out", type=Path, default=None, help="artefact JSON [RUN_DIR/mva_<loss>.json]")
    p.add_argument("--plots", action=argparse.BooleanOptionalAction, default=True,
                   help="network output and FOM-vs-cut figures into RUN_DIR/plots/<artefact stem>/ [on]")  # fmt: skip
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar (default: on when the terminal is interactive)")  # fmt: skip


def train(
    table: Table,
    search: str,
    ranges: Sequence[tuple[float, float]],
    config: Any,
    window_n_sigma: float = 2.0,
    progress: bool = False,
) -> dict[str, Any]:
    """Train one network per range on ``table`` and return the artefact document."""
    from dataclasses import asdict

    from processors.mva import FOLD_TRAIN, FOLD_VALIDATION
    from workflows.train import artefact, dataset
    from workflows.train.punzi import train_network

    nets = []
    for i, rng in enumerate(ranges):
        hyps = dataset.hypotheses(table, rng, i == len(ranges) - 1, window_n_sigma)
        tr = dataset.range_data(table, hyps, FOLD_TRAIN)
        va = dataset.range_data(table, hyps, FOLD_VALIDATION)
        cfg = type(config)(**{**asdict(config), "seed": config.seed + i})  # one seed per network, recorded
        res = train_network(tr, va, cfg, progress=progress, desc=f"{config.loss} {rng[0]:g}-{rng[1]:g} GeV")
        nets.append(artefact.network_entry(
            rng, va, res.layers, res.mean, res.scale, table.features, config.a,
            {"seed": cfg.seed, "best_epoch": res.best_epoch, "seconds": res.seconds, "history": res.history,
             "n_train": int(tr.X.shape[0]), "n_validation": int(va.X.shape[0])},
        ))  # fmt: skip
    samples_info = table.info.get("samples", {})
    training_samples = {
        s: {**samples_info.get(s, {"catalog_digest": None, "generator_digest": None}),
            "is_signal": s in table.mass, "mass": table.mass.get(s)}
        for s in table.samples
    }  # fmt: skip
    source = {k: v for k, v in table.info.items() if k != "samples"}
    return artefact.document(search=search, features=table.features, observable=table.observable,
                             window_n_sigma=window_n_sigma, config=asdict(config), split=dataset.split_record(table),
                             training_samples=training_samples, source=source, networks=nets)  # fmt: skip


def summary(doc: dict[str, Any]) -> str:
    lines = [f"{doc['search']}: {doc['loss']} networks (a = {doc['a']:g}), validation split"]
    for net in doc["networks"]:
        lo, hi = net["mass_range"]
        v = net["validation"]
        lines.append(f"  range {lo:g}-{hi:g} GeV: working point {net['working_point']:.4g}, best epoch "
                     f"{net['best_epoch']}, {net['seconds']:.1f} s")  # fmt: skip
        for h in net["hypotheses"]:
            s = h["sample"]
            lines.append(f"    m = {h['mass']:<6g} FOM {v['fom_at_working_point'][s]:.4g} (no network cut "
                         f"{v['fom_no_cut'][s]:.4g}), eff {v['eff_at_working_point'][s]:.3f}, "
                         f"B {v['background_at_working_point'][s]:.4g}")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="b2dark train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    add_arguments(p)
    args = p.parse_args(argv)
    from workflows.outputs import load
    from workflows.train import artefact, dataset
    from workflows.train.punzi import TrainConfig

    ranges = dataset.parse_ranges(args.ranges)
    if load(args.input).search != args.search:
        raise SystemExit(f"{args.input} is a run of {load(args.input).search!r}, not {args.search!r}")
    table, _ = dataset.load_table(args.input, args.features, args.observable, args.process)
    cfg = TrainConfig(loss=args.loss, a=args.a, reduction=args.reduction, hidden=tuple(args.hidden),
                      activation=args.activation, epochs=args.epochs, lr=args.lr, seed=args.seed,
                      threads=args.threads)  # fmt: skip
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    doc = train(table, args.search, ranges, cfg, args.window_sigma, progress)
    out = artefact.write(args.out or Path(args.input) / f"mva_{args.loss}.json", doc)
    print(summary(doc))
    print(f"[b2dark train] artefact -> {out}")
    if args.plots:
        from workflows.train.plots import training_plots

        figs = training_plots(table, doc, Path(args.input) / "plots" / f"{Path(out).stem}")
        print(f"[b2dark train] plots -> {figs[0].parent} ({len(figs)} figures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

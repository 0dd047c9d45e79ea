"""Write b2dark fast-simulation files as basf2-style ntuples (there are no basf2 files here).

The layout follows basf2's own output modules (see :mod:`samples.basf2_names`):

- ``ntuple`` (VariablesToNtuple): one event-wise tree ``event`` (one row per event: the counters
  ``__experiment__ __run__ __event__ __production__ __weight__`` and the event variables) and, per particle
  list, a candidate-based tree (one row per candidate, ``__candidate__`` / ``__ncandidates__``), rows in event
  order, candidates in collection order; an event with an empty list has no row in that list's tree.
- ``eventtree`` (VariablesToEventBasedTree): per particle list one tree with one row per event, candidate
  variables as ``name[__ncandidates__]/D`` arrays; the event variables are the ``event_variables`` of the
  first list's tree.

Values are the b2dark columns converted to the basf2 branch types (float32 -> double, int -> double where basf2
registers a double, bools -> 0/1); "no matched cluster" zeros become basf2's NaN. The reader
(:mod:`samples.basf2_reader`) inverts every step exactly, so a search gives the same histograms on both.
MC truth (MCParticle, ``*_mcIndex``) is not written: it has no entry in the name table.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from samples.basf2_names import EVENT_TREE, EVENT_VARIABLES, LISTS, Flavour, Var
from samples.generator import io

_NP: dict[str, type] = {"double": np.float64, "int": np.int32, "bool": np.bool_}
UINT32_MAX = 2**32 - 1
INT32_MAX = 2**31 - 1


class ExportError(ValueError):
    """A native file cannot be written as a basf2 ntuple."""


def _basf2_values(var: Var, values: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.asarray(values).astype(_NP[var.btype])
    if var.none_is_nan:
        out = np.where(np.asarray(values) == 0, np.nan, out)
    return out


def _check_ids(path: Path, cols: dict[str, np.ndarray], flavour: Flavour) -> None:
    ev = cols["event"]
    limit = UINT32_MAX if flavour == "ntuple" else INT32_MAX
    if ev.size and (ev.min() < 0 or ev.max() > limit):
        raise ExportError(f"{path}: event numbers outside [0, {limit}] do not fit basf2's __event__ of a {flavour}")


def export_file(src: str | Path, dst: str | Path, flavour: Flavour) -> dict[str, int]:
    """Write the native file ``src`` (ROOT or Parquet) as a basf2-style ntuple ``dst``; -> rows per tree."""
    src, dst = Path(src), Path(dst)
    cols = io.read_parquet(src) if src.suffix in (".parquet", ".pq") else io.read_root(src)
    _check_ids(src, cols, flavour)
    n = int(cols["event"].size)
    ids = {
        "__experiment__": cols["exp"].astype(np.int32),
        "__run__": cols["run"].astype(np.int32),
        "__event__": cols["event"].astype(np.uint32 if flavour == "ntuple" else np.int32),
        "__production__": np.zeros(n, np.int32),
    }
    event_vars = {v.branch: _basf2_values(v, cols[v.field]) for v in EVENT_VARIABLES if v.field in cols}
    lists = [pl for pl in LISTS if f"n{pl.collection}" in cols]
    rows: dict[str, int] = {}
    dst.parent.mkdir(parents=True, exist_ok=True)
    with uproot.recreate(dst, compression=io.compression_of(io.ROOT_COMPRESSION)) as f:
        if flavour == "ntuple":
            tree: dict[str, np.ndarray] = {**ids, "__weight__": np.ones(n), **event_vars}
            f.mktree(EVENT_TREE, {k: v.dtype for k, v in tree.items()}).extend(tree)
            rows[EVENT_TREE] = n
        for i, pl in enumerate(lists):
            counts = cols[f"n{pl.collection}"].astype(np.int64)
            cand = {
                v.branch: _basf2_values(v, cols[f"{pl.collection}_{v.field}"])
                for v in pl.variables
                if f"{pl.collection}_{v.field}" in cols
            }
            if flavour == "ntuple":
                owner = np.repeat(np.arange(n), counts)
                starts = np.cumsum(counts) - counts
                tree = {k: v[owner] for k, v in ids.items()}  # the counters, once per candidate
                tree["__candidate__"] = (np.arange(owner.size) - starts[owner]).astype(np.int32)
                tree["__ncandidates__"] = counts[owner].astype(np.int32)
                tree["__weight__"] = np.ones(owner.size)
                tree.update(cand)
                f.mktree(pl.tree, {k: v.dtype for k, v in tree.items()}).extend(tree)
                rows[pl.tree] = int(owner.size)
            else:
                # VariablesToEventBasedTree stores every candidate variable as double.
                record = ak.zip({k: ak.unflatten(v.astype(np.float64), counts) for k, v in cand.items()})
                scalars = {**ids, "__weight__": np.ones(n, np.float32), **(event_vars if i == 0 else {})}
                t = f.mktree(
                    pl.tree,
                    {**{k: v.dtype for k, v in scalars.items()}, "cand": record.type.content},
                    counter_name=lambda _: "__ncandidates__",
                    field_name=lambda _, inner: inner,
                )
                t.extend({**scalars, "cand": record})
                rows[pl.tree] = n
    return rows


def export_catalog(catalog: str | Path, out: str | Path, flavour: Flavour) -> Path:
    """Every sample of ``catalog`` (its ROOT files, else its Parquet files) as basf2-style ntuples in ``out``,
    with ``out/catalog.yaml`` declaring them (format ``basf2-ntuple`` / ``basf2-eventtree``)."""
    from samples import catalog as cat
    from samples.basf2_names import FORMATS

    src = cat.load_catalog(catalog)
    out = Path(out)
    new = src.model_copy(deep=True)
    for name, sample in new.samples.items():
        held = [f.format for f in sample.files]
        want = "root" if "root" in held else "parquet"
        files = []
        for f in sample.files:
            if f.format != want:
                continue
            dst = out / f"{Path(f.path).stem}.{flavour}.root"
            export_file(src.resolve(f.path), dst, flavour)
            files.append(cat.FileEntry(path=dst.name, events=f.events, format=FORMATS[flavour]))
        if not files:
            raise ExportError(f"{catalog}: sample {name!r} has no ROOT or Parquet file to export")
        sample.files = files
    return new.save(out / "catalog.yaml")

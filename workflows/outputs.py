"""Save and load the output folder of ``b2dark run``.

Histograms are stored as UHI JSON (``hist.serialization.to_uhi`` + ``uhi.io.json``):
it is the scikit-hep interchange format, independent of the hist/boost-histogram
version that wrote it, human-readable, and float64 values round-trip exactly
(Python writes the shortest repr that parses back to the same double). Pickle
would break across library versions and is unsafe to load from a shared folder.
A ROOT file of the same histograms (one TH1/TH2 per category) is written with
uproot for people who want ROOT.

Layout of DIR::

    hists.json       {"hists": {name: uhi-dict}, "format": "b2dark-hists", "version": 1}
    hists.root       "<hist>__<sample>[__<syst>]" for every categorical bin
    cutflow.json     {sample: {"names", "raw", "weighted"}} of the primary (signal) region
    cutflow_regions.json  {region: {sample: {"names", "raw", "weighted"}}} for every region
    cutflow.txt      every region as aligned text tables
    eventlist.parquet the weighted event list of the primary region (columns of the search + "sample",
                     "weight"); blinded data events are not in it
    run.json         search, lumi, blinded, nevents, per-sample catalog metadata
    provenance.json  see workflows/provenance.py
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import math
import os
import re
import shutil
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hist
import numpy as np

HISTS_FILE = "hists.json"
ROOT_FILE = "hists.root"
CUTFLOW_JSON = "cutflow.json"
CUTFLOW_TXT = "cutflow.txt"
CUTFLOW_REGIONS = "cutflow_regions.json"
EVENTLIST_FILE = "eventlist.parquet"
RUN_FILE = "run.json"
PROVENANCE_FILE = "provenance.json"
FORMAT_NAME = "b2dark-hists"
FORMAT_VERSION = 1


@dataclass
class RunOutput:
    """Everything a run wrote, reloaded (see CONTRACTS.md)."""

    hists: dict[str, hist.Hist]
    cutflows: dict[str, dict[str, list]]
    samples: dict[str, dict[str, Any]]
    nevents: dict[str, int]
    blinded: bool
    search: str
    lumi_fb: float | None
    provenance: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    cutflow_regions: dict[str, dict[str, dict[str, list]]] = field(default_factory=dict)
    partial: bool = False  # the catalog lacked declared samples: not fittable

    def eventlists(self) -> dict[str, dict[str, np.ndarray]]:
        """{sample: {column: array}} of the run's weighted event list (read on demand)."""
        if self.path is None or not (self.path / EVENTLIST_FILE).is_file():
            return {}
        return read_eventlist(self.path / EVENTLIST_FILE)


# --------------------------------------------------------------------------- helpers


def _jsonable(obj: Any) -> Any:
    """Plain-JSON version of numpy scalars/arrays and sets (for metadata)."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj, key=str) if isinstance(obj, (set, frozenset)) else obj
        return [_jsonable(v) for v in items]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return obj


def write_json_atomic(path: Path, data: Any, **kwargs: Any) -> None:
    """Write JSON through a temporary file + rename so a crash never leaves half a file."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, **kwargs)
        f.write("\n")
    os.replace(tmp, path)


def _as_list(x: Any) -> list:
    if hasattr(x, "values") and callable(x.values) and not isinstance(x, Mapping):
        x = x.values()  # a hist with one bin per cut
    if isinstance(x, np.ndarray):
        return x.tolist()
    return [v.item() if isinstance(v, np.generic) else v for v in x]


def normalize_cutflows(cutflow: Mapping[str, Any]) -> dict[str, dict[str, list]]:
    """Cutflows as plain lists: {sample: {"names": [...], "raw": [...], "weighted": [...]}}."""
    out: dict[str, dict[str, list]] = {}
    for sample, cf in cutflow.items():
        names = [str(n) for n in cf["names"]]
        raw = _as_list(cf["raw"])
        # coffea's accumulate concatenates lists: names merged over k chunks repeat k times.
        if (
            raw
            and len(names) > len(raw)
            and len(names) % len(raw) == 0
            and names == names[: len(raw)] * (len(names) // len(raw))
        ):
            names = names[: len(raw)]
        weighted = [float(v) for v in _as_list(cf["weighted"])]
        if not (len(names) == len(raw) == len(weighted)):
            raise ValueError(
                f"cutflow of sample {sample!r}: names/raw/weighted have lengths "
                f"{len(names)}/{len(raw)}/{len(weighted)}; the processor must return one entry per cut"
            )
        out[sample] = {"names": names, "raw": [int(v) for v in raw], "weighted": weighted}
    return out


def cutflow_text(cutflows: Mapping[str, Mapping[str, list]], region: str | None = None) -> str:
    """Aligned text tables, one per sample: cut, raw events, weighted, efficiency vs. first row."""
    blocks = []
    for sample in sorted(cutflows):
        cf = cutflows[sample]
        width = max([len("cut"), *(len(n) for n in cf["names"])])
        head = f"== {sample}" + (f"  [region {region}]" if region else "")
        lines = [head, f"{'cut':<{width}}  {'raw':>12}  {'weighted':>14}  {'eff':>9}"]
        first = cf["weighted"][0] if cf["weighted"] else 0.0
        for name, raw, w in zip(cf["names"], cf["raw"], cf["weighted"], strict=True):
            eff = w / first if first else float("nan")
            lines.append(f"{name:<{width}}  {raw:>12d}  {w:>14.6g}  {eff:>9.4%}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


# --------------------------------------------------------------------------- hists


def hists_to_json(hists: Mapping[str, hist.Hist]) -> dict[str, Any]:
    from hist.serialization import to_uhi

    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "hists": {name: to_uhi(h) for name, h in sorted(hists.items())},
    }


def hists_from_json(data: Mapping[str, Any], source: str = "<memory>") -> dict[str, hist.Hist]:
    from hist.serialization import from_uhi

    if data.get("format") != FORMAT_NAME:
        raise ValueError(f"{source}: not a b2dark histogram file (format={data.get('format')!r})")
    if int(data.get("version", -1)) > FORMAT_VERSION:
        raise ValueError(
            f"{source}: written by a newer b2dark (format version {data['version']} > {FORMAT_VERSION}); "
            "update b2dark to read it"
        )
    with warnings.catch_warnings():
        # The contract's "sample" axis name is a protected fill keyword in hist; harmless on reload.
        warnings.filterwarnings("ignore", message=".*protected keyword.*")
        return {name: from_uhi(d) for name, d in data["hists"].items()}


def _categorical_axes(h: hist.Hist) -> list[int]:
    return [i for i, ax in enumerate(h.axes) if ax.traits.discrete and isinstance(ax, hist.axis.StrCategory)]


def write_root(hists: Mapping[str, hist.Hist], path: Path) -> list[str]:
    """One ROOT histogram per categorical bin (ROOT has no string axes). Returns the names written."""
    import uproot

    written: list[str] = []
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with uproot.recreate(tmp) as f:
        for name, h in sorted(hists.items()):
            cats = _categorical_axes(h)
            if len(h.axes) - len(cats) not in (1, 2, 3):
                continue  # ROOT has TH1/2/3 only; stays in hists.json
            labels = [list(h.axes[i]) for i in cats]
            for combo in itertools.product(*labels):
                sl = {h.axes[i].name: c for i, c in zip(cats, combo, strict=True)}
                key = "__".join([name, *combo]).replace("/", "_")
                f[key] = h[sl] if sl else h
                written.append(key)
    os.replace(tmp, path)
    return written


# --------------------------------------------------------------------------- save / load


def save(
    output: Mapping[str, Any],
    directory: Path | str,
    *,
    search: str,
    lumi_fb: float | None,
    samples: Mapping[str, Mapping[str, Any]],
    provenance: Mapping[str, Any] | None = None,
    write_root_file: bool = True,
    partial: bool = False,
    run_id: str | None = None,
) -> dict[str, Path]:
    """Write a processor output (CONTRACTS.md layout) into ``directory``; returns the files written.
    ``run_id`` goes into hists.json, run.json and provenance.json (:func:`load` checks they agree)."""
    from workflows.interrupt import inject

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    from uhi.io.json import default

    hists = dict(output.get("hists", {}))
    files["hists"] = d / HISTS_FILE
    tag = {"run_id": run_id} if run_id is not None else {}
    write_json_atomic(files["hists"], {**hists_to_json(hists), **tag}, default=default)
    inject("saving-between-files")
    if write_root_file:
        files["root"] = d / ROOT_FILE
        write_root(hists, files["root"])
    cutflows = normalize_cutflows(output.get("cutflow", {}))
    files["cutflow_json"] = d / CUTFLOW_JSON
    write_json_atomic(files["cutflow_json"], cutflows)
    regions = {r: normalize_cutflows(cf) for r, cf in (output.get("cutflow_regions") or {}).items()}
    files["cutflow_regions"] = d / CUTFLOW_REGIONS
    write_json_atomic(files["cutflow_regions"], regions)
    files["cutflow_txt"] = d / CUTFLOW_TXT
    text = cutflow_text(cutflows) + "".join(f"\n{cutflow_text(cf, r)}" for r, cf in sorted(regions.items()))
    _write_text_atomic(files["cutflow_txt"], text)
    files["eventlist"] = d / EVENTLIST_FILE
    write_eventlist(output.get("eventlist") or {}, files["eventlist"])
    run_info = {
        **tag,
        "search": search,
        "lumi_fb": lumi_fb,
        "partial": bool(partial),
        "blinded": bool(output.get("blinded", True)),
        "nevents": {k: int(v) for k, v in output.get("nevents", {}).items()},
        "samples": _jsonable(samples),
    }
    files["run"] = d / RUN_FILE
    write_json_atomic(files["run"], run_info)
    if provenance is not None:
        files["provenance"] = d / PROVENANCE_FILE
        write_json_atomic(files["provenance"], _jsonable({**provenance, **tag}))
    return files


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_eventlist(eventlist: Mapping[str, Mapping[str, Any]], path: Path) -> Path:
    """One Parquet table: the columns of every sample's event list plus "sample"."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols: dict[str, list] = {}
    names: list[np.ndarray] = []
    keys = sorted({k for v in eventlist.values() for k in v})
    for sample in sorted(eventlist):
        arrays = {k: np.asarray(v, dtype=np.float64) for k, v in eventlist[sample].items()}
        n = len(next(iter(arrays.values()))) if arrays else 0
        names.append(np.full(n, sample, dtype=object))
        for k in keys:
            cols.setdefault(k, []).append(arrays.get(k, np.full(n, np.nan)))
    table = {"sample": pa.array(np.concatenate(names) if names else np.array([], dtype=object), pa.string())}
    table.update({k: pa.array(np.concatenate(v)) for k, v in cols.items()})
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    pq.write_table(pa.table(table), tmp)
    os.replace(tmp, path)
    return path


def read_eventlist(path: Path) -> dict[str, dict[str, np.ndarray]]:
    import pyarrow.parquet as pq

    t = pq.read_table(path)
    samples = np.asarray(t.column("sample").to_pylist(), dtype=object)
    cols = {c: t.column(c).to_numpy() for c in t.column_names if c != "sample"}
    return {s: {c: v[samples == s] for c, v in cols.items()} for s in sorted(set(samples))}


LOCK_FILE = ".b2dark.lock"  # held (fcntl) by the `b2dark run` writing DIR
STAGING_DIR = ".staging"  # a run writes here and moves its files into DIR only when it is complete
MANIFEST_FILE = ".b2dark-files.json"  # the files b2dark wrote into DIR (DIR/limits/ has its own)
LIMITS_DIR = "limits"


class OutputFolderError(ValueError):
    """The --output folder cannot be used (a file, or held by another run); the message says what to do."""


@contextlib.contextmanager
def lock_output(directory: Path | str) -> Iterator[Path]:
    """Hold DIR's lock for a whole run: a second `b2dark run` into DIR is refused at once, not interleaved."""
    d = Path(directory)
    if d.exists() and not d.is_dir():
        raise OutputFolderError(f"--output {d} is a file, not a folder; give a folder (it is created if missing)")
    d.mkdir(parents=True, exist_ok=True)
    with open(d / LOCK_FILE, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "?"
            raise OutputFolderError(
                f"--output {d} is being written by another `b2dark run` (pid {holder} holds {d / LOCK_FILE}); "
                "wait for it to finish or choose another --output"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        try:
            yield d
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def staging(directory: Path | str) -> Path:
    """A fresh DIR/.staging/ (a leftover of a killed run is b2dark's own: removed; call with the lock held)."""
    st = Path(directory) / STAGING_DIR
    shutil.rmtree(st, ignore_errors=True)
    st.mkdir(parents=True)
    return st


def written_files(directory: Path | str) -> set[str]:
    """Paths (relative to DIR) b2dark wrote into DIR: the run's manifest plus the limits stage's."""
    d = Path(directory)
    out: set[str] = set()
    for manifest, prefix in ((d / MANIFEST_FILE, ""), (d / LIMITS_DIR / MANIFEST_FILE, f"{LIMITS_DIR}/")):
        if manifest.is_file():
            try:
                listed = json.loads(manifest.read_text())
                listed = listed.get("files", {}) if isinstance(listed, dict) else listed
                out.update(prefix + str(p) for p in listed)
            except (ValueError, TypeError, AttributeError):
                pass  # an unreadable manifest: remove nothing rather than guess
    return out


def _files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


COMMIT_JOURNAL = ".b2dark-commit.json"  # exists only while a complete run's files are moved into DIR
_TMP_NAME = re.compile(r"^\..+\.tmp\d+$")  # write_json_atomic / write_root / write_eventlist temporaries


def commit(stage: Path, directory: Path | str, run_id: str | None = None) -> list[str]:
    """Move a complete run's files from ``stage`` into DIR, then remove the files b2dark wrote there before
    (the old run's, and limits/ made from the old histograms) that the new run did not replace. Files that
    no manifest lists (the user's) are never touched. Returns the new run's files.

    A journal (DIR/.b2dark-commit.json) lists the move before it starts and is removed when the manifest
    (with the run id and every file's size) is written: a process killed in between leaves the journal, which
    :func:`load` refuses and :func:`recover` (the next run into DIR) completes. Call it inside
    ``interrupt.shielded()`` so that Ctrl-C / SIGTERM wait for it (a few renames)."""
    d = Path(directory)
    new = sorted(_files_under(stage))
    old = sorted(written_files(d) - set(new))
    write_json_atomic(d / COMMIT_JOURNAL, {"run_id": run_id, "files": new, "remove": old})
    from workflows.interrupt import inject

    inject("commit")
    _finish_commit(stage, d, run_id, new, old)
    return new


def _finish_commit(stage: Path, d: Path, run_id: str | None, new: list[str], old: list[str]) -> None:
    for rel in new:
        if (stage / rel).exists():  # a recovered commit: the files already moved are in DIR
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / rel, d / rel)
    for rel in old:
        (d / rel).unlink(missing_ok=True)
        parent = (d / rel).parent
        while parent != d and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    (d / LIMITS_DIR / MANIFEST_FILE).unlink(missing_ok=True)
    sizes = {rel: (d / rel).stat().st_size for rel in new}
    write_json_atomic(d / MANIFEST_FILE, {"run_id": run_id, "files": sizes})
    (d / COMMIT_JOURNAL).unlink(missing_ok=True)
    shutil.rmtree(stage, ignore_errors=True)


def recover(directory: Path | str) -> list[str]:
    """With DIR's lock held, before a run starts: finish a commit a killed run left half done (its journal and
    staging folder), and remove stale temporary files of b2dark's atomic writes. Returns what it did."""
    d = Path(directory)
    done: list[str] = []
    journal = d / COMMIT_JOURNAL
    if journal.is_file():
        j = json.loads(journal.read_text())
        stage = d / STAGING_DIR
        missing = [rel for rel in j["files"] if not (d / rel).exists() and not (stage / rel).exists()]
        if missing:  # cannot happen with os.replace; never guess: the folder is refused by load until rerun
            raise OutputFolderError(f"{journal}: the interrupted switch of run {j.get('run_id')} lacks {missing[:5]}; "
                                    f"remove {d} (or choose another --output) and rerun")  # fmt: skip
        _finish_commit(stage, d, j.get("run_id"), j["files"], j.get("remove", []))
        done.append(f"completed the interrupted switch of run {j.get('run_id')} into {d}")
    for folder in (d, d / LIMITS_DIR):
        if folder.is_dir():
            for p in folder.iterdir():
                if p.is_file() and _TMP_NAME.match(p.name):
                    p.unlink(missing_ok=True)
                    done.append(f"removed stale temporary file {p}")
    return done


def record_limits_files(directory: Path | str, before: Mapping[str, int]) -> None:
    """After `b2dark limits`: list the files it (re)wrote in DIR/limits/ (``before``: path -> mtime_ns
    from :func:`snapshot`), so that the next `b2dark run` removes them and nothing else."""
    lim = Path(directory) / LIMITS_DIR
    if not lim.is_dir():
        return
    now = snapshot(lim)
    earlier = {p.removeprefix(f"{LIMITS_DIR}/") for p in written_files(directory) if p.startswith(f"{LIMITS_DIR}/")}
    mine = ({p for p, t in now.items() if before.get(p) != t} | (earlier & set(now))) - {MANIFEST_FILE}
    write_json_atomic(lim / MANIFEST_FILE, sorted(mine))


def snapshot(root: Path) -> dict[str, int]:
    return {p: (root / p).stat().st_mtime_ns for p in _files_under(root)} if root.is_dir() else {}


def check_one_run(d: Path, ids: Mapping[str, str | None]) -> None:
    """Every file of DIR comes from one run: the run ids in the files agree with the manifest's, and every file
    the manifest lists has the size it had when the run switched it in. Raises OutputFolderError naming the file."""
    manifest: Any = {}
    if (d / MANIFEST_FILE).is_file():
        try:
            manifest = json.loads((d / MANIFEST_FILE).read_text())
        except ValueError:
            manifest = {}
    want = manifest.get("run_id") if isinstance(manifest, dict) else None
    present = {name: rid for name, rid in ids.items() if rid is not None}
    if want is None and present:
        want = next(iter(present.values()))
    for name, rid in sorted(ids.items()):
        if want is not None and rid != want and (d / name).is_file():
            raise OutputFolderError(
                f"{d / name} belongs to run {rid}, the folder's other files to run {want}: {d} mixes two runs. "
                f"Rerun `b2dark run ... --output {d}` to rewrite it"
            )
    for rel, size in (manifest.get("files", {}) if isinstance(manifest, dict) else {}).items():
        p = d / rel
        if not p.is_file() or p.stat().st_size != size:
            what = "is missing" if not p.is_file() else f"has {p.stat().st_size} bytes, not {size}"
            raise OutputFolderError(
                f"{p} {what}: it is not the file run {want} wrote into {d}. "
                f"Rerun `b2dark run ... --output {d}` to rewrite the folder"
            )


def load(directory: Path | str) -> RunOutput:
    """Reload an output folder written by :func:`save` (hists as ``hist.Hist``)."""
    from uhi.io.json import object_hook

    d = Path(directory)
    if (d / COMMIT_JOURNAL).is_file():
        raise OutputFolderError(
            f"{d}: a `b2dark run` was killed while it switched its results in ({d / COMMIT_JOURNAL}); its files "
            f"are mixed with the previous run's. Rerun `b2dark run ... --output {d}` (it completes the switch first)"
        )
    for name in (HISTS_FILE, RUN_FILE):
        if not (d / name).is_file():
            raise FileNotFoundError(
                f"{d / name} not found: {d} is not a b2dark run output (run `b2dark run SEARCH --output {d}`)"
            )
    with open(d / HISTS_FILE) as f:
        raw_hists = json.load(f, object_hook=object_hook)
    hists = hists_from_json(raw_hists, source=str(d / HISTS_FILE))
    run_info = json.loads((d / RUN_FILE).read_text())
    cutflows = json.loads((d / CUTFLOW_JSON).read_text()) if (d / CUTFLOW_JSON).is_file() else {}
    prov = json.loads((d / PROVENANCE_FILE).read_text()) if (d / PROVENANCE_FILE).is_file() else {}
    regions = json.loads((d / CUTFLOW_REGIONS).read_text()) if (d / CUTFLOW_REGIONS).is_file() else {}
    check_one_run(d, {HISTS_FILE: raw_hists.get("run_id"), RUN_FILE: run_info.get("run_id"),
                      PROVENANCE_FILE: prov.get("run_id") if prov else None})  # fmt: skip
    return RunOutput(
        hists=hists,
        cutflows=cutflows,
        samples=run_info.get("samples", {}),
        nevents=run_info.get("nevents", {}),
        blinded=bool(run_info.get("blinded", True)),
        search=run_info.get("search", ""),
        lumi_fb=run_info.get("lumi_fb"),
        provenance=prov,
        path=d,
        cutflow_regions=regions,
        partial=bool(run_info.get("partial", False)),
    )

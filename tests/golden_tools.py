"""Golden-output regression tests (the analysis-grand-challenge pattern), shared by every search.

A search's golden folder (``tests/searches/<key>/golden/``) holds a small *fixed* input sample set
(committed ROOT files + their catalog, so the test does not depend on the generator) and
``expected.json``: a fingerprint of every histogram of `b2dark run` on those inputs (axes, and a
SHA-256 of the exact float64 values and variances including flow bins), the full cutflows of every
region, and (where the search has a statistics stage) its limit table.

Histograms and cutflows are compared exactly: a refactor must keep them bit-identical, and a
change that moves them says so in its commit and note. Limits come from iterative fits and are
compared to 1e-6 relative (a different CPU may round the last digits of a minimiser differently).

Regenerate after an intended change:  ``B2DARK_UPDATE_GOLDEN=1 pytest tests/searches/<key>``.
Build new inputs for a search: ``python tests/golden_tools.py build --help``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

UPDATE = os.environ.get("B2DARK_UPDATE_GOLDEN") == "1"
LIMIT_RTOL = 1e-6


def hist_fingerprint(h: Any) -> dict[str, Any]:
    """Axes, the sum of values and a digest of the exact values/variances (flow bins included)."""
    axes = []
    for ax in h.axes:
        if hasattr(ax, "edges") and not ax.traits.discrete:
            axes.append({"name": ax.name, "edges": hashlib.sha256(np.asarray(ax.edges, "<f8").tobytes()).hexdigest()})
        else:
            axes.append({"name": ax.name, "bins": [str(b) for b in ax]})
    digest = hashlib.sha256()
    values = np.ascontiguousarray(h.values(flow=True), dtype="<f8")
    digest.update(values.tobytes())
    variances = h.variances(flow=True)
    if variances is not None:
        digest.update(np.ascontiguousarray(variances, dtype="<f8").tobytes())
    return {"axes": axes, "sum": float(values.sum()), "sha256": digest.hexdigest()}


def run_fingerprint(out_dir: Path) -> dict[str, Any]:
    """What the golden test compares for a run output folder."""
    from workflows import outputs

    run = outputs.load(out_dir)
    regions = (
        json.loads((out_dir / "cutflow_regions.json").read_text())
        if (out_dir / "cutflow_regions.json").is_file()
        else None
    )
    return {
        "hists": {name: hist_fingerprint(h) for name, h in sorted(run.hists.items())},
        "cutflow": run.cutflows,
        "cutflow_regions": regions,
    }


def limit_rows(csv_path: Path) -> list[dict[str, str]]:
    with open(csv_path) as f:
        return list(csv.DictReader(f))


def compare_limits(expected: list[dict[str, str]], got: list[dict[str, str]]) -> list[str]:
    """Differences between two limit tables: numeric columns to LIMIT_RTOL, the others exactly."""
    problems = []
    if len(expected) != len(got):
        return [f"{len(got)} limit rows, expected {len(expected)}"]
    for i, (e, g) in enumerate(zip(expected, got, strict=True)):
        if set(e) != set(g):
            problems.append(f"row {i}: columns {sorted(set(g) ^ set(e))} differ")
            continue
        for k, ev in e.items():
            gv = g[k]
            try:
                a, b = float(ev), float(gv)
            except ValueError:
                if ev != gv:
                    problems.append(f"row {i} {k}: {gv!r} != {ev!r}")
                continue
            if not (np.isnan(a) and np.isnan(b)) and not np.isclose(a, b, rtol=LIMIT_RTOL, atol=0.0):
                problems.append(f"row {i} {k}: {gv} != {ev}")
    return problems


def compare(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """Every difference between two fingerprints, as readable lines (empty = identical)."""
    problems = []
    eh, gh = expected["hists"], got["hists"]
    for name in sorted(set(eh) | set(gh)):
        if name not in gh:
            problems.append(f"hist {name}: missing")
        elif name not in eh:
            problems.append(f"hist {name}: new (not in the golden file)")
        elif eh[name] != gh[name]:
            what = "axes" if eh[name]["axes"] != gh[name]["axes"] else "contents"
            problems.append(f"hist {name}: {what} differ (sum {gh[name]['sum']!r} vs {eh[name]['sum']!r})")
    for key in ("cutflow", "cutflow_regions"):
        if expected.get(key) is not None and expected.get(key) != got.get(key):
            problems.append(f"{key} differs")
    return problems


def check_or_update(path: Path, got: dict[str, Any]) -> None:
    """Assert ``got`` equals the golden file (or rewrite it with B2DARK_UPDATE_GOLDEN=1)."""
    if UPDATE or not path.exists():
        if not UPDATE:
            raise AssertionError(f"{path} does not exist; create it with B2DARK_UPDATE_GOLDEN=1")
        path.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        return
    expected = json.loads(path.read_text())
    problems = compare(expected, got)
    if "limits" in expected:
        problems += compare_limits(expected["limits"], got.get("limits", []))
    assert not problems, f"golden output {path} changed:\n  " + "\n  ".join(problems)


def golden_fingerprint(search: str, golden: Path, out: Path, limits_args: tuple[str, ...] = ()) -> dict[str, Any]:
    """`b2dark run` + `b2dark limits` of ``search`` on the committed inputs in ``golden`` -> the fingerprint
    the golden test compares (hists, cutflows, the limit table)."""
    from workflows import cli

    rc = cli.main(["run", search, "--samples", str(golden / "catalog.yaml"), "--output", str(out),
                   "--executor", "iterative", "--no-plots", "--no-progress"])  # fmt: skip
    assert rc == 0
    rc = cli.main(["limits", search, "--input", str(out), "--processes", "1", "--no-progress", "--no-hepdata",
                   *limits_args])  # fmt: skip
    assert rc == 0
    got = run_fingerprint(out)
    got["limits"] = limit_rows(out / "limits" / f"limits_{search}.csv")
    return got


# ----------------------------------------------------------------------------- building inputs
def build_inputs(catalog_path: Path, samples: list[str], n: int, out: Path, skim: str | None) -> Path:
    """Copy the first ``n`` events (passing the reco skim ``skim`` of samples/pseudodata.py, if given)
    of each sample into small LZMA-compressed files under ``out``, with a catalog for them."""
    from samples import catalog as cat
    from samples.generator import io
    from samples.pseudodata import SKIMS, take_events

    src = cat.load_catalog(catalog_path)
    out.mkdir(parents=True, exist_ok=True)
    entries = {}
    for name in samples:
        e = src.samples[name]
        cols = _read_head(src.resolve(next(f.path for f in e.files if f.format == "root")), 300_000)
        keep = np.flatnonzero(SKIMS[skim](cols)) if skim else np.arange(cols["event"].shape[0])
        cols = take_events(cols, keep[:n])
        if "nMCParticle" in cols:  # processors never read the truth record: keep the branches, empty
            cols["nMCParticle"] = np.zeros_like(cols["nMCParticle"])
            for k in [k for k in cols if k.startswith("MCParticle_")]:
                cols[k] = cols[k][:0]
        k = int(cols["event"].shape[0])
        io.write(out / f"{name}.root", cols, mc=not e.is_data, compression=("LZMA", 9))
        entry = e.model_copy(deep=True)
        entry.files = [cat.FileEntry(path=f"{name}.root", events=k)]
        entry.n_events = k
        entry.n_generated = k if e.is_data else max(k, round(k / max(e.filter_efficiency, 1e-12)))
        entries[name] = entry
        print(f"{name:24s} {k:6d} events -> {out / (name + '.root')}")
    new = cat.Catalog(lumi_fb=src.lumi_fb, samples=entries)
    return new.save(out / "catalog.yaml")


def _read_head(path: str, n: int) -> dict[str, np.ndarray]:
    """The first ``n`` entries of a file in the flat column layout (big pools are not read whole)."""
    import awkward as ak
    import uproot

    with uproot.open(path) as f:
        arrays = f["events"].arrays(entry_stop=n)
    return {k: ak.to_numpy(arrays[k] if arrays[k].ndim == 1 else ak.flatten(arrays[k], axis=1)) for k in arrays.fields}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python tests/golden_tools.py", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="small fixed input files for a search's golden test")
    b.add_argument("--catalog", type=Path, required=True, help="a generated catalog (e.g. data/samples/catalog.yaml)")
    b.add_argument("--samples", nargs="+", required=True)
    b.add_argument("--n", type=int, default=800, help="events per sample")
    b.add_argument("--skim", default=None, help="reco skim of samples/pseudodata.SKIMS applied first")
    b.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    build_inputs(args.catalog, args.samples, args.n, args.out, args.skim)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    raise SystemExit(main())

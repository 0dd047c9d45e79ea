"""The throughput benchmark's machinery (benchmarks/): sample cache, cutflow
comparison, result collection, and -- slow -- the whole benchmark on a tiny
sample including the RDataFrame-vs-b2dark yield equality."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchmarks import run_all
from benchmarks.bench_throughput import compare_cutflows
from benchmarks.sample import ensure_sample

CUTS = ["all", "trigger", "two_tracks"]


def _cf(raw: list[int], weighted: list[float] | None = None) -> dict:
    return {"names": list(CUTS), "raw": raw, "weighted": weighted or [float(x) for x in raw]}


def test_compare_cutflows_equal_and_different() -> None:
    ref = {"mumu": _cf([10, 8, 5]), "ee": _cf([4, 4, 1])}
    assert compare_cutflows(ref, {"mumu": _cf([10, 8, 5]), "ee": _cf([4, 4, 1])}, "rdf") == []
    problems = compare_cutflows(ref, {"mumu": _cf([10, 8, 6]), "ee": _cf([4, 4, 1])}, "rdf")
    assert len(problems) == 2  # raw and weighted of the same step
    assert "mumu" in problems[0] and "two_tracks" in problems[0]
    missing = compare_cutflows(ref, {"mumu": _cf([10, 8, 5])}, "rdf")
    assert missing and "'ee'" in missing[0]
    renamed = {"mumu": {**_cf([10, 8, 5]), "names": ["all", "trigger", "other"]}, "ee": _cf([4, 4, 1])}
    assert "cut names differ" in compare_cutflows(ref, renamed, "rdf")[0]


def test_sample_is_cached_and_rebuilt_on_a_new_request(tmp_path: Path) -> None:
    mix = {"mumu": ("mumu", {}, 0.5), "ee": ("ee", {}, 0.5)}
    s1 = ensure_sample(400, tmp_path, mix=mix, source="synthetic")
    assert s1.n_events == 400 and set(s1.files) == {"mumu", "ee"}
    root = Path(s1.files["mumu"].root["default"])
    mtime = root.stat().st_mtime_ns
    s2 = ensure_sample(400, tmp_path, mix=mix, source="synthetic")
    assert root.stat().st_mtime_ns == mtime  # reused, not rewritten
    assert s2.fileset()["mumu"]["metadata"]["n_events"] == 200
    s3 = ensure_sample(600, tmp_path, mix=mix, source="synthetic")
    assert s3.n_events == 600  # a different request regenerates
    # another compression of the same events: read back, same event count
    s4 = ensure_sample(600, tmp_path, mix=mix, source="synthetic", compressions=("default", "lz4"))
    assert Path(s4.files["ee"].root["lz4"]).exists() and s4.files["ee"].n_events == 300


def test_run_all_discovers_benchmarks_and_rejects_unknown_names() -> None:
    names = run_all.discover()
    assert "bench_throughput" in names and all(n.startswith("bench_") for n in names)
    with pytest.raises(SystemExit, match="unknown benchmark"):
        run_all.discover(["bench_does_not_exist"])


@pytest.mark.slow
def test_throughput_benchmark_on_a_tiny_sample(tmp_path: Path) -> None:
    pytest.importorskip("ROOT")
    from benchmarks import bench_throughput

    out = tmp_path / "res.json"
    rc = bench_throughput.main(
        [
            "--events",
            "3000",
            "--repeat",
            "1",
            "--warmup",
            "0",
            "--sample-dir",
            str(tmp_path / "sample"),
            "--pyloop-events",
            "600",
            "--cases",
            "floor",
            "b2dark",
            "rdf",
            "pyloop",
            "floor_parquet",
            "b2dark_parquet",
            "--output",
            str(out),
        ]
    )
    res = json.loads(out.read_text())
    assert res["failures"] == [], res["failures"]
    assert rc == 0
    names = {t["name"] for t in res["timings"]}
    assert names == {"floor", "b2dark", "rdf", "pyloop", "floor_parquet", "b2dark_parquet"}
    assert all(t["events_per_s"] > 0 and len(t["seconds"]) == 1 for t in res["timings"])
    # the RDataFrame yields are b2dark's, per sample and cut, and something passes the selection
    assert res["rdf_cutflow"].keys() == res["b2dark_cutflow"].keys()
    for sample, cf in res["b2dark_cutflow"].items():
        assert res["rdf_cutflow"][sample]["raw"] == cf["raw"]
        assert cf["raw"][0] == res["sample"]["per_sample"][sample]
    assert sum(cf["raw"][-1] for cf in res["b2dark_cutflow"].values()) > 0
    assert {"b2dark/rdf", "b2dark/floor"} <= res["ratios"].keys()
    assert "Track_px" in res["sample"]["branches"] and "MCParticle_pdg" not in res["sample"]["branches"]


@pytest.mark.slow
def test_rdataframe_check_fails_when_a_cut_differs(tmp_path: Path) -> None:
    pytest.importorskip("ROOT")
    from benchmarks import rdf_zprime_inv
    from benchmarks.bench_throughput import cutflow_raw, run_b2dark

    sample = ensure_sample(3000, tmp_path, source="auto", parquet=False)
    fileset = sample.fileset()
    reference = cutflow_raw(run_b2dark(fileset, chunksize=100_000))
    files = {s: f.root["default"] for s, f in sample.files.items()}
    meta = {s: d["metadata"] for s, d in fileset.items()}
    same = rdf_zprime_inv.run(files, meta)
    assert compare_cutflows(reference, same.cutflow, "rdf") == []
    looser = rdf_zprime_inv.run(files, meta, overrides={"muon_id_min": 0.05})
    problems = compare_cutflows(reference, looser.cutflow, "rdf")
    assert any("muon_id" in p for p in problems), problems


def test_results_dir_is_git_ignored() -> None:
    from benchmarks.common import BENCH_DIR

    gitignore = Path(__file__).resolve().parents[1] / ".gitignore"
    assert BENCH_DIR.parts[0] + "/" in gitignore.read_text().split() or os.environ.get("B2DARK_BENCH_DIR")

"""workflows.mcstats: N_eff, MC-equivalent luminosity and the per-window MC vs data error on a small run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import hist
import numpy as np
import pytest

from processors import registry
from workflows.mcstats import format_mc_stats, mc_stats
from workflows.outputs import RunOutput


def _run(tmp_path: Path) -> RunOutput:
    h = hist.Hist(
        hist.axis.StrCategory(["bkg_a", "bkg_b", "sig"], name="sample"),
        hist.axis.StrCategory(["nominal"], name="syst"),
        hist.axis.Regular(10, 0.0, 10.0, name="m2_recoil"),
        storage=hist.storage.Weight(),
    )
    rng = np.random.default_rng(3)
    xa = rng.uniform(0, 10, 400)
    h.fill("bkg_a", "nominal", xa, weight=np.full(400, 2.0))  # equal weights 2: L_MC = L / 2
    xb = rng.uniform(0, 10, 100)
    wb = rng.exponential(1.0, 100)  # unequal weights: N_eff < 100
    h.fill("bkg_b", "nominal", xb, weight=wb)
    h.fill("sig", "nominal", np.full(10, 5.5))
    (tmp_path / "masstable.json").write_text(json.dumps([{"model": "zprime", "mass": 2.3, "window_m2": [4.0, 7.0]}]))
    samples = {
        "bkg_a": {"process": "a", "is_data": False, "is_signal": False},
        "bkg_b": {"process": "b", "is_data": False, "is_signal": False},
        "sig": {"process": "zprime_inv", "is_signal": True, "mass": 2.3},
    }
    cut = {s: {"names": ["all"], "raw": [n], "weighted": [n]} for s, n in (("bkg_a", 400), ("bkg_b", 100))}
    return RunOutput(
        hists={"m2_recoil": h}, cutflows=cut, samples=samples, nevents={}, blinded=True, search="zprime-inv",
        lumi_fb=80.0, path=tmp_path,
    )  # fmt: skip


def test_neff_and_lumi(tmp_path: Path) -> None:
    run = _run(tmp_path)
    res = mc_stats(run, registry.get("zprime-inv"))
    a, b = res["selected"]["bkg_a"], res["selected"]["bkg_b"]
    assert a["n_eff"] == pytest.approx(400.0)
    assert a["lumi_mc_fb"] == pytest.approx(40.0)  # weight 2 at 80 fb^-1
    wb = run.hists["m2_recoil"][{"sample": "bkg_b", "syst": "nominal"}]
    w, w2 = wb.values().sum(), wb.variances().sum()
    assert b["n_eff"] == pytest.approx(w * w / w2) and b["n_eff"] < 100
    assert "sig" not in res["selected"]
    (win,) = res["windows"]
    # bins with centres 4.5, 5.5, 6.5 lie in [4, 7]
    ha = run.hists["m2_recoil"][{"sample": "bkg_a", "syst": "nominal"}]
    na = ha.values()[4:7].sum()
    nb, nb2 = wb.values()[4:7].sum(), wb.variances()[4:7].sum()
    assert win["by_process"]["a"]["yield"] == pytest.approx(na)
    assert win["total"]["mc_error"] == pytest.approx(math.sqrt(2.0 * na + nb2))
    assert win["total"]["ratio"] == pytest.approx(math.sqrt(2.0 * na + nb2) / math.sqrt(na + nb))
    text = format_mc_stats(res)
    assert "bkg_a" in text and "40" in text


def test_window_counting_search_counts_the_event_list(tmp_path: Path) -> None:
    """A search without a peak scan: the selected region comes from the event list (one row per event), not
    from a histogram that may hold several candidates per event."""
    from workflows.outputs import EVENTLIST_FILE, write_eventlist

    run = _run(tmp_path)
    w = np.array([1.0, 1.0, 3.0, 5.0])
    write_eventlist({"bkg_a": {"weight": w, "run": np.zeros(4), "event": np.arange(4.0)}}, tmp_path / EVENTLIST_FILE)
    res = mc_stats(run, registry.get("dark-higgsstrahlung"))
    a = res["selected"]["bkg_a"]
    assert res["hist"] == "event list" and a["n_mc"] == 4
    assert a["n_eff"] == pytest.approx(w.sum() ** 2 / (w * w).sum())
    assert a["lumi_mc_fb"] == pytest.approx(80.0 * w.sum() / (w * w).sum())
    assert res["selected"]["bkg_b"]["n_mc"] == 100  # not in the event list: from the histogram

"""The dark Higgsstrahlung processor on hand-built events: the count after every cut, the plane coordinates,
the helicity angle, and blinding of pseudo-data (every event that could sit inside a window is hidden)."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from coffea.nanoevents import NanoEventsFactory
from synthetic import columns_from_events, write_columns

from processors.dark_higgsstrahlung.processor import DarkHiggsProcessor
from processors.schema import B2Schema
from searches.dark_higgsstrahlung.dh_synthetic import dimuon_event, metadata

SR_STEPS = ["all", "trigger", "two_ip_tracks_no_extra", "opposite_charge", "muon_id", "pair_pt", "recoil_in_barrel",
            "photon_veto", "helicity", "in_plane"]  # fmt: skip


def _hand_events() -> tuple[list[dict[str, Any]], list[str]]:
    """Events and, for each, the first signal-selection step it fails ("pass" if none)."""
    evs: list[dict[str, Any]] = []
    fails: list[str] = []

    def sig(**kw: Any) -> dict[str, Any]:
        return dimuon_event(**{"m_mumu": 5.0, "m_recoil": 2.0, "recoil_cos": 0.3, "cos_hel": 0.3, **kw})

    def add(ev: dict[str, Any], fail: str) -> None:
        evs.append(ev)
        fails.append(fail)

    add(sig(), "pass")
    add(sig(m_mumu=7.0, m_recoil=0.5, cos_hel=-0.7, phi=2.0), "pass")
    add(sig(m_mumu=2.0, m_recoil=1.0, recoil_cos=-0.2), "pass")
    add({**sig(), "trg_ffo": False, "trg_cdcklm": False}, "trigger")
    add({**sig(), "trg_ffo": False}, "pass")  # the CDC-KLM trigger alone is enough
    ev = sig()
    ev["Track"].append({"px": 0.3, "py": 0.2, "pz": 0.1, "charge": 1, "muonID": 0.0})
    add(ev, "two_ip_tracks_no_extra")
    ev = sig()
    ev["Track"][1]["d0"] = 2.0  # displaced: one track from the IP
    add(ev, "two_ip_tracks_no_extra")
    ev = sig()
    ev["Track"][1]["charge"] = 1
    add(ev, "opposite_charge")
    ev = sig()
    ev["Track"][0]["muonID"] = 0.3
    add(ev, "muon_id")
    add(sig(recoil_cos=0.99999), "pair_pt")  # pT* = q sin(theta*) ~ 15 MeV
    add(sig(recoil_cos=0.97), "recoil_in_barrel")
    ev = sig()
    th, ph = ev["_recoil_lab"]
    ev["Photon"] = [{"E": 0.5, "theta": th + np.radians(8), "phi": ph}]  # 8 deg from the recoil
    add(ev, "photon_veto")
    ev = sig()
    th, ph = ev["_recoil_lab"]
    ev["Photon"] = [{"E": 0.3, "theta": np.pi - th, "phi": ph + np.pi}, {"E": 0.3, "theta": 2.2, "phi": ph + 2.0}]
    add(ev, "photon_veto")  # 0.6 GeV of extra energy
    add(sig(cos_hel=0.95), "helicity")
    add(sig(cos_hel=-0.9), "helicity")
    add(sig(cos_hel=0.75), "pass")
    return evs, fails


def _process(evs: list[dict[str, Any]], path: Path, is_data: bool, unblind: bool = False) -> dict[str, Any]:
    path = write_columns(path, columns_from_events(copy.deepcopy(evs), mc=not is_data))
    md = metadata("data" if is_data else "sig_hand", len(evs), is_data=is_data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        events = NanoEventsFactory.from_root({str(path): "events"}, schemaclass=B2Schema, mode="eager",
                                             metadata=md).events()  # fmt: skip
    proc = DarkHiggsProcessor(unblind=unblind)
    return proc.postprocess(proc.process(events))


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    evs, fails = _hand_events()
    return _process(evs, tmp_path_factory.mktemp("dh") / "mc.root", False), evs, fails


def test_cutflow_is_the_hand_count(hand) -> None:
    out, evs, fails = hand
    cf = out["cutflow"]["sig_hand"]
    assert cf["names"] == SR_STEPS
    order = {name: i for i, name in enumerate(SR_STEPS)} | {"pass": len(SR_STEPS)}
    expected = [sum(order[f] > i for f in fails) for i in range(len(SR_STEPS))]
    assert cf["raw"].tolist() == expected
    np.testing.assert_allclose(cf["weighted"], np.array(expected) * 10.0 * 8.34 / len(evs), rtol=1e-12)
    # the N-1 region keeps the helicity failures
    nm1 = out["cutflow_regions"]["no_helicity"]["sig_hand"]["raw"]
    assert nm1[-1] == expected[-1] + fails.count("helicity")


def test_plane_coordinates_and_helicity(hand) -> None:
    out, evs, fails = hand
    el = out["eventlist"]["sig_hand"]
    passing = [i for i, f in enumerate(fails) if f == "pass"]
    assert el["event"].tolist() == passing
    truth = np.array([evs[i]["_truth"] for i in passing])
    np.testing.assert_allclose(el["m_mumu"], truth[:, 0], atol=2e-3)  # float32 storage of the momenta
    np.testing.assert_allclose(el["m_recoil"], truth[:, 1], atol=2e-2)  # M^2 to ~0.02 GeV^2 at 2 GeV
    want_cos = [0.3, 0.7, 0.3, 0.3, 0.75]
    np.testing.assert_allclose(el["abs_cos_hel"], want_cos, atol=2e-3)
    plane = out["hists"]["plane"][{"sample": "sig_hand"}]
    assert plane.values().sum() == pytest.approx(out["cutflow"]["sig_hand"]["weighted"][-1])
    i, j = plane.axes[0].index(5.0), plane.axes[1].index(2.0)  # on bin edges: look at the neighbours too
    assert plane.values()[i - 1 : i + 1, j - 1 : j + 1].sum() == pytest.approx(3 * plane.values().sum() / 5)
    cos_h = out["hists"]["nm1_cos_helicity"][{"sample": "sig_hand"}].values()
    assert cos_h[19] > 0 and cos_h[18] > 0  # the two helicity failures (0.95, 0.9) are in the N-1 plot


def test_working_point_moves_the_helicity_cut(tmp_path: Path) -> None:
    from processors.dark_higgsstrahlung.search import DarkHiggsWorkingPoint

    evs, fails = _hand_events()
    path = write_columns(tmp_path / "mc.root", columns_from_events(copy.deepcopy(evs)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        events = NanoEventsFactory.from_root({str(path): "events"}, schemaclass=B2Schema, mode="eager",
                                             metadata=metadata("sig_hand", len(evs))).events()  # fmt: skip
    proc = DarkHiggsProcessor(working_point=DarkHiggsWorkingPoint(cos_helicity_max=0.5))
    out = proc.postprocess(proc.process(events))
    assert out["cutflow"]["sig_hand"]["raw"][-1] == fails.count("pass") - 2  # 0.7 and 0.75 fail now


def test_blinded_data_hide_every_candidate(hand, tmp_path: Path) -> None:
    """Pseudo-data: nothing that passes the photon veto inside the plane appears in any output, whatever its
    helicity angle (it could lie inside a window of the signal region or of the N-1 plane)."""
    _, evs, fails = hand
    out = _process(evs, tmp_path / "data.root", True)
    assert out["blinded"] and out["blinded_samples"]["data"]
    assert len(out["eventlist"]["data"].get("event", [])) == 0
    for name, h in out["hists"].items():
        assert h[{"sample": "data"}].values().sum() == 0 if "data" in h.axes["sample"] else True, name
    cf = out["cutflow"]["data"]
    veto = SR_STEPS.index("photon_veto")
    n_before = sum(SR_STEPS.index(f) > veto - 1 if f != "pass" else True for f in fails)
    assert cf["raw"][veto - 1] == n_before  # steps before the veto count everything
    assert cf["raw"][veto:].tolist() == [0] * (len(SR_STEPS) - veto)
    assert out["cutflow_regions"]["no_helicity"]["data"]["raw"][-1] == 0
    # unblinded (explicitly), the same events are all there
    opened = _process(evs, tmp_path / "data2.root", True, unblind=True)
    assert len(opened["eventlist"]["data"]["event"]) == fails.count("pass")
    assert opened["cutflow"]["data"]["raw"][veto] == fails.count("pass") + fails.count("helicity")


def test_helicity_fom_scan_prefers_a_cut_below_the_background_peak() -> None:
    """Signal flat in |cos theta_hel|, background rising steeply towards 1 (mu mu(gamma)): the Punzi scan
    keeps most of the signal and cuts the background's peak; with a flat background it keeps everything."""
    import hist

    from processors.dark_higgsstrahlung.fom import helicity_scan

    reg = hist.axis.Regular
    h = hist.Hist(hist.axis.StrCategory(["sig", "bkg"], name="sample"), reg(4, 0, 4, name="m_mumu"),
                  reg(4, 0, 4, name="m_recoil"), reg(10, 0, 1, name="abs_cos_hel"))  # fmt: skip
    centres = np.linspace(0.05, 0.95, 10)
    h.values()[0, 1, 1, :] = 10.0  # the signal in one cell, flat in |cos|
    h.values()[1, 1, 1, :] = 50.0 * np.exp(10 * (centres - 1))  # peaked background
    scan = helicity_scan(h, ["sig"], ["bkg"])
    assert 0.5 < scan["best"] < 1.0
    assert scan["fom"][-1] < scan["fom"].max()
    h.values()[1, 1, 1, :] = 0.0
    assert helicity_scan(h, ["sig"], ["bkg"])["best"] == 1.0

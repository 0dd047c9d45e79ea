"""The Z' -> mu mu processor on hand-built events: counts per cut, every candidate of both pairings
filled, the reduced mass, the N-1 plots, the control region, blinding and the working point."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import run_runner

from processors.zprime_mumu.processor import ZPrimeMuMuProcessor
from processors.zprime_mumu.search import SEARCH, ZPrimeMuMuWorkingPoint, reduced_mass
from samples.constants import M_MU
from searches.zprime_mumu.mm_synthetic import four_muon_events

M_A, M_B = 3.0, 5.0
N_GOOD = 12


def _variants(rng: np.random.Generator) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Signal-like events and, per cut, events made to fail exactly that cut."""
    good = four_muon_events(rng, N_GOOD, M_A, M_B)
    one_pion = four_muon_events(rng, 3, M_A, M_B)
    for ev in one_pion:  # three muons are enough
        ev["Track"][1]["muonID"] = 0.05
    fails: dict[str, list[dict[str, Any]]] = {
        "trigger": four_muon_events(rng, 2, M_A, M_B),
        "four_ip_tracks": four_muon_events(rng, 2, M_A, M_B),
        "zero_charge": four_muon_events(rng, 2, M_A, M_B),
        "muon_id": four_muon_events(rng, 2, M_A, M_B),
        "m4_window": four_muon_events(rng, 2, M_A, M_B),
        "extra_energy": four_muon_events(rng, 2, M_A, M_B),
    }
    for ev in fails["trigger"]:
        ev.update({"trg_ffo": False, "trg_cdcklm": False})
    for ev in fails["four_ip_tracks"]:
        ev["Track"][2]["d0"] = 1.5  # a displaced track: three from the IP
    for ev in fails["zero_charge"]:
        ev["Track"][0]["charge"] = 1
    for ev in fails["muon_id"]:
        ev["Track"][0]["muonID"] = ev["Track"][3]["muonID"] = 0.05
    for ev in fails["m4_window"]:  # 8 % of every momentum lost: M(4 tracks) ~ 9.7 GeV (the sideband)
        for t in ev["Track"]:
            t.update({k: 0.92 * t[k] for k in ("px", "py", "pz")})
    for ev in fails["extra_energy"]:
        ev["Photon"] = [{"E": 1.2, "theta": 1.2, "phi": 0.3}]
    events = good + one_pion + [ev for evs in fails.values() for ev in evs]
    return events, {k: len(v) for k, v in fails.items()}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from synthetic import columns_from_events, write_columns

    d = tmp_path_factory.mktemp("zprime_mumu")
    events, fails = _variants(np.random.default_rng(7))
    return {
        "mc": write_columns(d / "mc.root", columns_from_events(events)),
        "data": write_columns(d / "data.root", columns_from_events(copy.deepcopy(events), mc=False)),
        "fails": fails,
        "n": len(events),
    }


def _fileset(path: Path, n: int, is_data: bool = False) -> dict[str, Any]:
    name = "data" if is_data else "sig"
    meta = {"sample": name, "process": "data" if is_data else "zprime_mumu", "is_data": is_data,
            "is_signal": not is_data, "xsec_fb": None if is_data else 10.0, "n_events": n, "n_generated": n,
            "filter_efficiency": 1.0, "lumi_fb": 178.0, "mass": None if is_data else M_A}  # fmt: skip
    return {name: {"files": {str(path): "events"}, "metadata": meta}}


def test_counts_per_cut(files: dict[str, Any]) -> None:
    out = run_runner(_fileset(files["mc"], files["n"]), ZPrimeMuMuProcessor())
    cf = out["cutflow"]["sig"]
    assert cf["names"] == ["all", "trigger", "four_ip_tracks", "zero_charge", "muon_id", "m4_window", "p4_cms",
                           "extra_energy"]  # fmt: skip
    fails, n = files["fails"], files["n"]
    expected, left = [], n
    for cut in cf["names"]:
        left -= fails.get(cut, 0)
        expected.append(left)
    assert cf["raw"].tolist() == expected
    assert expected[-1] == N_GOOD + 3
    # the sideband control region holds the events with the lowered four-track mass
    assert out["cutflow_regions"]["m4_sideband"]["sig"]["raw"][-1] == fails["m4_window"]


def test_both_pairings_fill_four_candidates(files: dict[str, Any]) -> None:
    out = run_runner(_fileset(files["mc"], files["n"]), ZPrimeMuMuProcessor())
    h = out["hists"]["var_m_mumu"][{"sample": "sig"}]
    n_sel = N_GOOD + 3
    w = 10.0 * 178.0 / files["n"]  # xsec * lumi / n_events
    assert h.values(flow=True).sum() == pytest.approx(4 * n_sel * w)
    centers = h.axes[0].centers
    for m in (M_A, M_B):  # the true pairs: one candidate each per event, at the generated mass
        near = np.abs(centers - m) < 0.03
        assert h.values()[near].sum() == pytest.approx(n_sel * w, rel=1e-6)
    t = out["hists"]["template"][{"sample": "sig", "syst": "nominal"}]
    peak = t.axes[0].index(reduced_mass(M_A))
    assert t.values()[peak - 2 : peak + 3].sum() == pytest.approx(n_sel * w, rel=1e-6)
    assert reduced_mass(M_A) == pytest.approx(np.sqrt(M_A**2 - 4 * M_MU**2))
    # the recoil mass of the other pair equals the candidate mass (nothing else in the event)
    dm = out["hists"]["var_mass_difference"][{"sample": "sig"}]
    assert dm.values()[np.abs(dm.axes[0].centers) < 0.05].sum() == pytest.approx(4 * n_sel * w, rel=1e-6)


def test_n_minus_one_and_variations(files: dict[str, Any]) -> None:
    out = run_runner(_fileset(files["mc"], files["n"]), ZPrimeMuMuProcessor())
    w = 10.0 * 178.0 / files["n"]
    nm1 = out["hists"]["nm1_n_muons"][{"sample": "sig"}]
    # everything but the muon ID: the 4-muon, 3-muon and 2-muon events
    assert nm1.values()[4] == pytest.approx(N_GOOD * w) and nm1.values()[3] == pytest.approx(3 * w)
    assert nm1.values()[2] == pytest.approx(files["fails"]["muon_id"] * w)
    m4 = out["hists"]["nm1_m4"][{"sample": "sig"}]
    assert m4.values().sum() == pytest.approx((N_GOOD + 3 + files["fails"]["m4_window"]) * w)
    t = out["hists"]["template"][{"sample": "sig"}]
    nominal = t[{"syst": "nominal"}].values().sum()
    assert t[{"syst": "muid_up"}].values().sum() > nominal > t[{"syst": "muid_down"}].values().sum()
    for s in ("pscale_up", "pscale_down"):
        assert t[{"syst": s}].values().sum() == pytest.approx(nominal)


def test_blinding_hides_the_signal_region(files: dict[str, Any]) -> None:
    blind = run_runner(_fileset(files["data"], files["n"], is_data=True), ZPrimeMuMuProcessor())
    cf = blind["cutflow"]["data"]
    before_blinding = ("trigger", "four_ip_tracks", "zero_charge", "muon_id")
    assert cf["raw"][4] == files["n"] - sum(files["fails"][k] for k in before_blinding)
    assert cf["raw"][-1] == 0  # the signal region is hidden from the cutflow steps after blind_from
    assert (
        "data" not in blind["hists"]["template"].axes["sample"]
        or blind["hists"]["template"][{"sample": "data"}].values().sum() == 0
    )
    opened = run_runner(_fileset(files["data"], files["n"], is_data=True), ZPrimeMuMuProcessor(unblind=True))
    assert opened["cutflow"]["data"]["raw"][-1] == N_GOOD + 3
    assert len(opened["eventlist"]["data"]["m4"]) == N_GOOD + 3


def test_working_point_is_a_configuration(files: dict[str, Any]) -> None:
    strict = ZPrimeMuMuProcessor(working_point=ZPrimeMuMuWorkingPoint(min_muons=4))
    out = run_runner(_fileset(files["mc"], files["n"]), strict)
    assert out["cutflow"]["sig"]["raw"][-1] == N_GOOD
    assert SEARCH.working_point is ZPrimeMuMuWorkingPoint
    assert ZPrimeMuMuProcessor.required_branches(is_mc=True) >= {"Track_muonID", "trg_cdcklm", "Photon_E"}

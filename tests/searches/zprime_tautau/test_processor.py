"""The Z' -> tau tau processor on hand-built events: counts per cut, the recoil mass at the generated X mass,
the declared pairing, the control region, blinding of the signal region in pseudo-data and the working point."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import run_runner

from processors.zprime_tautau.processor import ZPrimeTauTauProcessor
from processors.zprime_tautau.search import SEARCH, ZPrimeTauTauWorkingPoint
from searches.zprime_tautau.tt_synthetic import explicit_event, mumu_tautau_events

M_X = 5.0
N_GOOD = 12


def _variants(rng: np.random.Generator) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Signal-like events and, per cut, events made to fail exactly that cut."""
    good = mumu_tautau_events(rng, N_GOOD, M_X)
    fails: dict[str, list[dict[str, Any]]] = {
        k: mumu_tautau_events(rng, 2, M_X) for k in ("trigger", "four_ip_tracks", "zero_charge", "muon_pair",
                                                      "tau_daughters", "extra_energy")
    }  # fmt: skip
    for ev in fails["trigger"]:
        ev.update({"trg_ffo": False, "trg_cdcklm": False})
    for ev in fails["four_ip_tracks"]:
        ev["Track"][2]["d0"] = 1.5  # a displaced track: three from the IP
    for ev in fails["zero_charge"]:
        ev["Track"][2]["charge"] = 1
    for ev in fails["muon_pair"]:
        ev["Track"][0]["muonID"] = 0.05
    for ev in fails["tau_daughters"]:  # neither pion identified as anything
        for t in ev["Track"][2:]:
            t["pionID"] = 0.05
    for ev in fails["extra_energy"]:
        ev["Photon"] = [{"E": 1.5, "theta": 1.2, "phi": 0.3}]
    # CMS momenta: all four tracks visible (no neutrino): M(4 tracks) = sqrt(s)
    fails["m4_max"] = [
        explicit_event([(0, 0, 3.0), (0, 0, -3.0), (2.0, 0, 0), (-2.0, 0, 0)], (True, True, False, False))
    ]
    # the two pions and the soft mu+ collinear, as three prongs of one tau
    fails["one_tau_veto"] = [
        explicit_event([(0, 0, 3.5), (0.3, 0, 0.0), (0.4, 0.05, 0.0), (0.4, -0.05, 0.0)], (True, True, False, False))
    ]
    # E*(4 tracks) = sqrt(s) - 0.3 GeV: no room for neutrinos
    fails["missing"] = [
        explicit_event([(0.5, 0, 4.0), (-0.5, 0, 3.0), (0, 0.9, 1.5), (0, -0.9, 1.1)], (True, True, False, False))
    ]
    events = good + [ev for evs in fails.values() for ev in evs]
    return events, {k: len(v) for k, v in fails.items()}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from synthetic import columns_from_events, write_columns

    d = tmp_path_factory.mktemp("zprime_tautau")
    events, fails = _variants(np.random.default_rng(7))
    return {
        "mc": write_columns(d / "mc.root", columns_from_events(events)),
        "data": write_columns(d / "data.root", columns_from_events(copy.deepcopy(events), mc=False)),
        "fails": fails,
        "n": len(events),
    }


def _fileset(path: Path, n: int, is_data: bool = False) -> dict[str, Any]:
    name = "data" if is_data else "sig"
    meta = {"sample": name, "process": "data" if is_data else "zprime_tautau", "is_data": is_data,
            "is_signal": not is_data, "xsec_fb": None if is_data else 10.0, "n_events": n, "n_generated": n,
            "filter_efficiency": 1.0, "lumi_fb": 62.8, "mass": None if is_data else M_X}  # fmt: skip
    return {name: {"files": {str(path): "events"}, "metadata": meta}}


CUTS = ["all", "trigger", "four_ip_tracks", "zero_charge", "muon_pair", "tau_daughters", "m4_max", "one_tau_veto",
        "missing", "extra_energy"]  # fmt: skip


def test_counts_per_cut(files: dict[str, Any]) -> None:
    out = run_runner(_fileset(files["mc"], files["n"]), ZPrimeTauTauProcessor())
    cf = out["cutflow"]["sig"]
    assert cf["names"] == CUTS
    fails, expected, left = files["fails"], [], files["n"]
    for cut in cf["names"]:
        left -= fails.get(cut, 0)
        expected.append(left)
    assert cf["raw"].tolist() == expected
    assert expected[-1] == N_GOOD


def test_recoil_mass_and_pairing(files: dict[str, Any]) -> None:
    out = run_runner(_fileset(files["mc"], files["n"]), ZPrimeTauTauProcessor())
    m = np.asarray(out["eventlist"]["sig"]["m_recoil"])
    assert len(m) == N_GOOD
    assert m == pytest.approx(M_X, abs=1e-6)  # no resolution in hand-built events
    w = 10.0 * 62.8 / files["n"]
    t = out["hists"]["template"][{"sample": "sig", "syst": "nominal"}]
    peak = t.axes[0].index(M_X)  # 5 GeV sits on a bin edge
    assert t.values()[peak - 1 : peak + 1].sum() == pytest.approx(N_GOOD * w)
    # one qualifying pairing per event (the pions are not muon-ID'd)
    assert out["hists"]["n_pairings"][{"sample": "sig"}].values()[1] == pytest.approx(N_GOOD * w)
    # the momentum scale moves the recoil, not the count; the muon-ID weights bracket the nominal
    tt = out["hists"]["template"][{"sample": "sig"}]
    nominal = tt[{"syst": "nominal"}].values().sum()
    assert tt[{"syst": "muid_up"}].values().sum() > nominal > tt[{"syst": "muid_down"}].values().sum()
    assert tt[{"syst": "pscale_up"}].values().sum() == pytest.approx(nominal)


def test_control_region_two_pions(files: dict[str, Any], tmp_path: Path) -> None:
    from synthetic import columns_from_events, write_columns

    events = mumu_tautau_events(np.random.default_rng(3), 5, M_X)
    for ev in events:  # the recoiling pair pion-ID'd instead of muon-ID'd
        for t in ev["Track"][:2]:
            t.update({"muonID": 0.01, "pionID": 0.9})
    path = write_columns(tmp_path / "cr.root", columns_from_events(events))
    out = run_runner(_fileset(path, len(events)), ZPrimeTauTauProcessor())
    assert out["cutflow"]["sig"]["raw"][-1] == 0
    assert out["cutflow_regions"]["cr_2pi"]["sig"]["raw"][-1] == len(events)


def test_blinding_hides_the_signal_region(files: dict[str, Any]) -> None:
    blind = run_runner(_fileset(files["data"], files["n"], is_data=True), ZPrimeTauTauProcessor())
    cf = blind["cutflow"]["data"]
    before_blinding = ("trigger", "four_ip_tracks", "zero_charge", "muon_pair", "tau_daughters")
    assert cf["raw"][5] == files["n"] - sum(files["fails"][k] for k in before_blinding)
    assert cf["raw"][-1] == 0  # the signal region is hidden from the cutflow steps after blind_from
    assert (
        "data" not in blind["hists"]["template"].axes["sample"]
        or blind["hists"]["template"][{"sample": "data"}].values().sum() == 0
    )
    opened = run_runner(_fileset(files["data"], files["n"], is_data=True), ZPrimeTauTauProcessor(unblind=True))
    assert opened["cutflow"]["data"]["raw"][-1] == N_GOOD
    assert len(opened["eventlist"]["data"]["m_recoil"]) == N_GOOD


def test_working_point_is_a_configuration(files: dict[str, Any]) -> None:
    strict = ZPrimeTauTauProcessor(working_point=ZPrimeTauTauWorkingPoint(min_tau_daughters_id=3))
    out = run_runner(_fileset(files["mc"], files["n"]), strict)
    assert out["cutflow"]["sig"]["raw"][-1] == 0
    assert SEARCH.working_point is ZPrimeTauTauWorkingPoint
    assert ZPrimeTauTauProcessor.required_branches(is_mc=True) >= {"Track_pionID", "trg_cdcklm", "Photon_E"}

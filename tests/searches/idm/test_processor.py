"""The iDM processor on hand-built events: vertex displacement and pointing, one failing event per cut, the
K_S / Lambda / conversion vetoes, m(h') per final state, and blinding of data in the m(h') windows."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import run_runner

from processors.idm import vertices as V
from processors.idm.processor import IDMProcessor
from processors.idm.search import CHANNELS, IDMWorkingPoint
from samples import constants as C
from searches.idm.idm_synthetic import idm_event, metadata

WP = IDMWorkingPoint()
N_GOOD = 6
# one event per cut that fails exactly that cut (the selection is ordered as in the processor)
FAILS: dict[str, dict[str, Any]] = {
    "trigger": {"trigger": False},
    "max_tracks": {"extra_tracks": 1},
    "hprime_vertex": {"h_pos": (0.1, 0.05, 0.3)},  # r = 0.11 cm < r_min: not displaced
    "hprime_pointing": {"h_tilt": 0.1},  # 100 mrad off the displacement
    "chi2_vertex": {"chi_pos": (0.1, 0.0, 0.2)},
    "chi2_not_pointing": {"chi_tilt": 0.0},  # the e e pair points back: no invisible chi1
    "conversion_veto": {"m_ee": 0.005},  # a photon conversion: pair mass ~ 0
    "ks_veto": {"m_h": C.M_KS, "channel": "pipi"},
    "lambda_veto": {"m_h": C.M_LAMBDA, "channel": "pipi", "daughter_masses": (C.M_PROTON, C.M_PI)},
    "missing_energy": {"photon_e": 8.0},  # 8 GeV in the ECL: nothing missing
}


def _events() -> list[dict[str, Any]]:
    good = [idm_event(m_h=0.6 + 0.05 * i) for i in range(N_GOOD)]
    return good + [idm_event(**kw) for kw in FAILS.values()]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from synthetic import columns_from_events, write_columns

    d = tmp_path_factory.mktemp("idm")
    events = _events()
    data = [idm_event(m_h=0.8), idm_event(m_h=0.62), idm_event(m_h=1.2, channel="KK")]  # 0.8, 1.2: blinded
    return {
        "mc": write_columns(d / "mc.root", columns_from_events(events)),
        "data": write_columns(d / "data.root", columns_from_events(copy.deepcopy(data), mc=False)),
        "n": len(events),
        "n_data": len(data),
    }


def _fileset(path: Path, n: int, is_data: bool = False) -> dict[str, Any]:
    name = "data" if is_data else "sig"
    return {name: {"files": {str(path): "events"}, "metadata": metadata(name, n, is_data)}}


# ----------------------------------------------------------------------------- vertex quantities
def test_pointing_and_displacement_functions() -> None:
    # a vertex at (3, 4, 0) cm: r = 5 cm, sigma_r = 0.05 cm x 0.5 -> significance 200
    r = np.array([5.0, 0.1, 40.0])
    np.testing.assert_allclose(V.sigma_r(r), C.VERTEX_RES_TRANSVERSE * np.array([0.5, 0.2, 3.0]))
    cos = V.pointing_cos(np.array([3.0, 3.0, 3.0]), np.array([4.0] * 3), np.zeros(3),
                         np.array([0.6, -0.6, 0.8]), np.array([0.8, -0.8, -0.6]), np.zeros(3))  # fmt: skip
    np.testing.assert_allclose(cos, [1.0, -1.0, 0.0], atol=1e-12)
    # best vertex per event among the allowed ones, -1 for an event without one
    best = V.best_per_event(np.array([0, 0, 0, 2]), np.array([0.1, 0.9, 0.5, 0.3]), np.array([1, 0, 1, 1], bool), 3)
    assert best.tolist() == [2, -1, 3]


def test_pair_masses() -> None:
    p = np.array([[0.0, 0.0, 1.0]])
    m = V.pair_mass(p, -p, C.M_PI, C.M_PI)[0]
    assert m == pytest.approx(2.0 * np.hypot(1.0, C.M_PI))
    # a Lambda at rest: the higher-momentum track is taken as the proton
    pst = 0.1011  # [GeV] p* of Lambda -> p pi
    lam = V.lambda_mass(np.array([[0.0, 0.0, pst]]), np.array([[0.0, 0.0, -pst * 0.999]]))[0]
    assert lam == pytest.approx(C.M_LAMBDA, abs=1e-3)


# ----------------------------------------------------------------------------- the selection
def test_one_failing_event_per_cut(files: dict[str, Any]) -> None:
    out = run_runner(_fileset(files["mc"], files["n"]), IDMProcessor())
    cf = out["cutflow"]["sig"]
    names, raw = cf["names"], list(cf["raw"])
    assert names == ["all", "trigger", "max_tracks", "two_vertices", "hprime_vertex", "hprime_pointing",
                     "chi2_vertex", "chi2_not_pointing", "conversion_veto", "ks_veto", "lambda_veto",
                     "missing_energy"]  # fmt: skip
    lost = {n: raw[i - 1] - raw[i] for i, n in enumerate(names) if i}
    for cut in FAILS:
        assert lost[cut] == 1, (cut, lost)
    assert lost["two_vertices"] == 0
    assert raw[-1] == N_GOOD


def test_hprime_mass_and_channel(files: dict[str, Any], tmp_path: Path) -> None:
    from synthetic import columns_from_events, write_columns

    events = [idm_event(m_h=m, channel=c) for c, m in (("mumu", 0.7), ("pipi", 0.9), ("KK", 1.3))]
    path = write_columns(tmp_path / "ch.root", columns_from_events(events))
    out = run_runner(_fileset(path, 3), IDMProcessor())
    ev = out["eventlist"]["sig"]
    order = np.argsort(ev["event"])
    np.testing.assert_allclose(ev["m_h"][order], [0.7, 0.9, 1.3], rtol=1e-5)
    assert ev["channel"][order].tolist() == [CHANNELS["mumu"], CHANNELS["pipi"], CHANNELS["KK"]]
    assert (ev["cos_h"] > 0.99999).all() and (ev["cos_chi"] < WP.chi2_cos_max).all()


def test_ks_veto_acts_on_the_pion_mass_of_any_final_state(tmp_path: Path) -> None:
    """A K_S -> pi pi whose pions are misidentified as kaons (m(K K) ~ 1.1 GeV) is vetoed too."""
    from synthetic import columns_from_events, write_columns

    ks_as_kk = idm_event(m_h=C.M_KS, channel="pipi", daughter_kinds=("KK", "KK"))
    near = idm_event(m_h=0.46, channel="pipi")  # outside the window: kept
    path = write_columns(tmp_path / "ks.root", columns_from_events([ks_as_kk, near]))
    out = run_runner(_fileset(path, 2), IDMProcessor())
    cf = out["cutflow"]["sig"]
    i = cf["names"].index("ks_veto")
    assert cf["raw"][i - 1] - cf["raw"][i] == 1
    np.testing.assert_allclose(out["eventlist"]["sig"]["m_h"], [0.46], rtol=1e-5)
    # a wider window removes the second one as well
    out = run_runner(_fileset(path, 2), IDMProcessor(working_point=IDMWorkingPoint(ks_window=(0.45, 0.55))))
    assert out["cutflow"]["sig"]["raw"][-1] == 0


# ----------------------------------------------------------------------------- blinding
def test_data_blinded_in_the_mass_windows_only(files: dict[str, Any]) -> None:
    fs = _fileset(files["data"], files["n_data"], is_data=True)
    out = run_runner(fs, IDMProcessor())
    assert out["blinded"]
    np.testing.assert_allclose(out["eventlist"]["data"]["m_h"], [0.62], rtol=1e-5)  # the sideband event stays
    assert out["hists"]["m_h"][{"sample": "data"}].values().sum() == 1
    assert out["cutflow"]["data"]["raw"][-1] == 1
    out = run_runner(fs, IDMProcessor(unblind=True))
    assert sorted(np.round(out["eventlist"]["data"]["m_h"], 3)) == [0.62, 0.8, 1.2]

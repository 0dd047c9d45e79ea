"""The mono-photon processor on hand-built events: the trigger lines per ECL region, the candidate and its
vetoes, the KLM gap veto (back to back in the CMS azimuth), the E*_gamma peak position, blinding."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import run_runner

from processors.monophoton.processor import MonophotonProcessor
from processors.monophoton.search import SEARCH, MonophotonWorkingPoint, photon_energy
from samples import constants as C
from searches.monophoton.mp_synthetic import event, lab_photon, partner_direction_lab

CUTS = ["all", "trigger", "one_photon", "no_tracks", "fiducial", "partner_not_in_gap", "cluster_time",
        "no_other_cluster", "extra_energy", "klm_veto", "e_in_range"]  # fmt: skip


def _fileset(path: Path, n: int, is_data: bool = False) -> dict[str, Any]:
    name = "data" if is_data else "sig"
    meta = {"sample": name, "process": "data" if is_data else "monophoton", "is_data": is_data,
            "is_signal": not is_data, "xsec_fb": None if is_data else 10.0, "n_events": n, "n_generated": n,
            "filter_efficiency": 1.0, "lumi_fb": 20.0, "mass": None if is_data else 5.0}  # fmt: skip
    return {name: {"files": {str(path): "events"}, "metadata": meta}}


def _run(tmp_path: Path, events: list[dict[str, Any]], is_data: bool = False, **kw: Any) -> dict[str, Any]:
    from synthetic import columns_from_events, write_columns

    path = write_columns(
        tmp_path / ("data.root" if is_data else "mc.root"), columns_from_events(events, mc=not is_data)
    )
    return run_runner(_fileset(path, len(events), is_data), MonophotonProcessor(**kw))


def _passed(out: dict[str, Any], sample: str = "sig") -> dict[str, float]:
    cf = out["cutflow"][sample]
    return dict(zip(cf["names"], cf["raw"], strict=True))


# ----------------------------------------------------------------------------- trigger lines per region
TRIGGER_CASES = [
    # (E* [GeV], lab theta [deg], extra cluster (E*, theta) or None, fires)
    (2.5, 25.0, None, True),  # forward endcap: only the E* > 2 GeV line
    (1.5, 25.0, None, False),  # forward endcap below 2 GeV: no line covers it
    (1.5, 60.0, None, True),  # barrel, isolated: E* > 1 GeV line
    (1.5, 60.0, (0.4, 100.0), False),  # barrel, another cluster above 0.3 GeV: not isolated
    (1.5, 60.0, (0.2, 100.0), True),  # a soft other cluster does not count
    (0.7, 70.0, None, True),  # central barrel, isolated: E* > 0.5 GeV line
    (0.7, 110.0, None, False),  # barrel outside the central part, below 1 GeV
    (0.7, 70.0, (0.35, 120.0), False),  # central barrel, not isolated
    (0.45, 70.0, None, False),  # below every threshold
    (2.5, 60.0, (0.4, 100.0), True),  # the 2 GeV line needs no isolation
]


@pytest.mark.parametrize(("e_cms", "theta", "other", "fires"), TRIGGER_CASES)
def test_trigger_lines_per_region(tmp_path: Path, e_cms: float, theta: float, other, fires: bool) -> None:
    photons = [lab_photon(e_cms, theta)]
    if other is not None:
        photons.append(lab_photon(other[0], other[1], phi=-2.0))
    out = _run(tmp_path, [event(*photons)])
    assert _passed(out)["trigger"] == float(fires)


def test_trigger_lines_declared_in_the_working_point() -> None:
    lines = {ln.name: ln for ln in MonophotonWorkingPoint().trigger_lines}
    assert [lines[k].e_cms_min for k in ("e2", "e1_barrel", "e05_central")] == [2.0, 1.0, 0.5]
    assert lines["e1_barrel"].theta_deg == (C.ECL_BARREL_MIN_DEG, C.ECL_BARREL_MAX_DEG)
    assert lines["e1_barrel"].isolated and lines["e05_central"].isolated and not lines["e2"].isolated
    # a tighter central line turns a 0.7 GeV photon at 70 deg off
    tight = MonophotonWorkingPoint(
        trigger_lines=tuple(ln.model_copy(update={"theta_deg": (80.0, 98.0)}) if ln.name == "e05_central" else ln
                            for ln in MonophotonWorkingPoint().trigger_lines)
    )  # fmt: skip
    assert tight.trigger_lines[2].theta_deg == (80.0, 98.0)


def test_trigger_line_change_moves_the_count(tmp_path: Path) -> None:
    ev = [event(lab_photon(0.7, 70.0))]
    wp = MonophotonWorkingPoint(
        trigger_lines=tuple(ln.model_copy(update={"theta_deg": (80.0, 98.0)}) if ln.name == "e05_central" else ln
                            for ln in MonophotonWorkingPoint().trigger_lines)
    )  # fmt: skip
    assert _passed(_run(tmp_path, ev))["trigger"] == 1
    assert _passed(_run(tmp_path, ev, working_point=wp))["trigger"] == 0


# ----------------------------------------------------------------------------- selection cut by cut
def _variants() -> tuple[list[dict[str, Any]], dict[str, int]]:
    good = [event(lab_photon(3.0, 70.0 + i, phi=0.1 * i)) for i in range(6)]
    fails: dict[str, list[dict[str, Any]]] = {
        "trigger": [event(lab_photon(0.45, 70.0))],
        "one_photon": [event(lab_photon(3.0, 70.0), lab_photon(2.5, 40.0, phi=-2.5))],
        "no_tracks": [event(lab_photon(3.0, 70.0), Track=[{"px": 0.3, "py": 0.2, "pz": 0.1, "charge": 1}])],
        "fiducial": [event(lab_photon(3.0, 150.0))],
        "cluster_time": [event({**lab_photon(3.0, 70.0), "time": 12.0})],
        "no_other_cluster": [event(lab_photon(3.0, 70.0), lab_photon(0.25, 100.0, phi=-2.0))],
        "extra_energy": [event(lab_photon(3.0, 70.0), *[lab_photon(0.15, 60 + 20 * k, phi=-1 - k) for k in range(3)])],
    }  # fmt: skip
    return good + [e for v in fails.values() for e in v], {k: len(v) for k, v in fails.items()}


def test_counts_per_cut(tmp_path: Path) -> None:
    events, fails = _variants()
    got = _passed(_run(tmp_path, events))
    assert list(got) == CUTS
    n = len(events)
    expected, left = {}, n
    for cut in CUTS:
        left -= fails.get(cut, 0)
        expected[cut] = left
    # "other cluster" events: the 0.25 GeV cluster is soft for the trigger (E* < 0.3 GeV) and no candidate
    assert got == {k: float(v) for k, v in expected.items()}
    assert got["e_in_range"] == 6


# ----------------------------------------------------------------------------- KLM gap veto
@pytest.mark.parametrize(("gap_theta", "dphi_deg", "vetoed"), [
    (31.8, 0.0, True),  # behind the forward gap, back to back in phi*
    (129.7, 0.0, True),  # behind the backward gap
    (31.8, 10.0, True),  # within the 15 deg tolerance
    (31.8, 25.0, False),  # outside the tolerance
    (80.0, 0.0, False),  # not behind a gap (a K_L in the barrel KLM)
    (31.8, 180.0, False),  # behind the gap but on the photon's side
])  # fmt: skip
def test_klm_gap_veto(tmp_path: Path, gap_theta: float, dphi_deg: float, vetoed: bool) -> None:
    ph = lab_photon(4.0, 100.0, phi=0.5)
    # the KLM cluster's CMS azimuth: boost its direction (lab theta given) at the photon's back-to-back phi
    _, phi_back = partner_direction_lab(ph)
    klm = [{"theta": np.radians(gap_theta), "phi": float(np.angle(np.exp(1j * (phi_back + np.radians(dphi_deg))))),
            "layers": 3, "time": 0.0}]  # fmt: skip
    got = _passed(_run(tmp_path, [event(ph, klm=klm)]))
    assert got["extra_energy"] == 1
    assert got["klm_veto"] == float(not vetoed)


def test_partner_in_gap_removed(tmp_path: Path) -> None:
    """A photon whose back-to-back partner (CMS) points into an ECL gap in the lab fails the fiducial cut
    on its partner; one whose partner points into the barrel passes."""
    from scipy.optimize import brentq

    def partner_theta(t: float) -> float:
        return float(np.degrees(partner_direction_lab(lab_photon(5.0, t, phi=1.2))[0]))

    t_gap = brentq(lambda t: partner_theta(t) - 129.7, 22.5, 40.0)  # partner behind the backward gap
    got = _passed(_run(tmp_path, [event(lab_photon(5.0, t_gap, phi=1.2)), event(lab_photon(5.0, 60.0, phi=1.2))]))
    assert got["fiducial"] == 2 and got["partner_not_in_gap"] == 1


# ----------------------------------------------------------------------------- the observable
@pytest.mark.parametrize("mass", [0.5, 3.0, 6.0, 8.0, 9.5])
def test_peak_position_follows_the_two_body_formula(tmp_path: Path, mass: float) -> None:
    """A photon of E* = (s - M^2)/(2 sqrt s), smeared by the ECL resolution of the constants, lands in the
    template at that energy to within the resolution (mean of 300 photons within 3 standard errors)."""
    from samples.generator.detector import ecl_sigma_over_e

    rng = np.random.default_rng(int(mass * 10))
    e0 = photon_energy(mass)
    assert abs(e0 - (C.SQRT_S_NOMINAL**2 - mass**2) / (2 * C.SQRT_S_NOMINAL)) < 1e-12
    events = []
    for _ in range(300):
        ph = lab_photon(e0, rng.uniform(45.0, 95.0), phi=rng.uniform(-3, 3))
        ph["E"] *= 1.0 + ecl_sigma_over_e(np.array([ph["E"]]))[0] * rng.standard_normal()
        events.append(event(ph))
    out = _run(tmp_path, events)
    h = out["hists"]["template"][{"sample": "sig", "syst": "nominal"}]
    c, v = h.axes[0].centers, h.values()
    mean = float(np.sum(c * v) / np.sum(v))
    sd = float(np.sqrt(np.sum(v * (c - mean) ** 2) / np.sum(v)))
    rel = ecl_sigma_over_e(np.array([e0]))[0]
    assert sd == pytest.approx(rel * e0, rel=0.25)  # the width is the ECL resolution
    assert abs(mean - e0) < 3 * sd / np.sqrt(len(events)) + 0.005  # + half a bin
    # and not the placeholder E = M
    assert abs(mean - mass) > 5 * sd or mass > 9


def test_declared_observable_is_the_peak_scan_axis() -> None:
    plan = SEARCH.stats
    assert plan.axis == "e_cms" and plan.hist == "template"
    for m in (0.0, 1.0, 5.0, 10.0):
        assert plan.observable(m) == pytest.approx((C.SQRT_S_NOMINAL**2 - m * m) / (2 * C.SQRT_S_NOMINAL))


# ----------------------------------------------------------------------------- systematics and blinding
def test_energy_scale_moves_the_template(tmp_path: Path) -> None:
    events = [event(lab_photon(3.0, 60.0 + k, phi=0.1 * k)) for k in range(20)]
    h = _run(tmp_path, events)["hists"]["template"][{"sample": "sig"}]

    def mean(syst: str) -> float:
        hh = h[{"syst": syst}]
        return float(np.sum(hh.axes[0].centers * hh.values()) / np.sum(hh.values()))

    assert mean("escale_up") / mean("nominal") == pytest.approx(1 + C.MONOPHOTON_ESCALE_REL_UNC, abs=2e-3)
    assert mean("escale_down") / mean("nominal") == pytest.approx(1 - C.MONOPHOTON_ESCALE_REL_UNC, abs=2e-3)
    assert h[{"syst": "eres_down"}].values().tolist() == h[{"syst": "nominal"}].values().tolist()
    assert h[{"syst": "eres_up"}].values().tolist() != h[{"syst": "nominal"}].values().tolist()


def test_blinding_hides_the_signal_region(tmp_path: Path) -> None:
    events, _ = _variants()
    blind = _run(tmp_path, copy.deepcopy(events), is_data=True)
    assert blind["blinded"] and blind["blinded_samples"]["data"]
    h = blind["hists"]["template"]
    assert "data" not in list(h.axes["sample"]) or h[{"sample": "data"}].values().sum() == 0
    assert len(blind["eventlist"]["data"].get("e_cms", [])) == 0
    cf = dict(zip(blind["cutflow"]["data"]["names"], blind["cutflow"]["data"]["raw"], strict=True))
    assert cf["trigger"] == len(events) - 1 and cf["e_in_range"] == 0
    open_ = _run(tmp_path, copy.deepcopy(events), is_data=True, unblind=True)
    assert not open_["blinded"] and open_["hists"]["template"][{"sample": "data"}].values().sum() == 6
    assert len(open_["eventlist"]["data"]["e_cms"]) == 6

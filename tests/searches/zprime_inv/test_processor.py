"""The Z' -> invisible search on hand-checkable synthetic events, its control samples,
its histograms, and the signal-resolution fit (processors.resolution)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from coffea.nanoevents import NanoEventsFactory
from scipy import stats
from synthetic import columns_from_events, dimuon_recoil_events, nominal_beam, write_columns

from processors import resolution as R
from processors.schema import B2Schema
from processors.selections import in_ecl_barrel
from processors.zprime_inv.processor import ZPrimeInvisibleProcessor
from searches.zprime_inv.zp_synthetic import zp_metadata

SR_STEPS = ["all", "trigger", "two_ip_tracks_no_extra", "opposite_charge", "muon_id", "recoil_in_barrel",
            "photon_veto", "not_back_to_back", "m2_in_range"]  # fmt: skip
SQRT_S = float(np.sqrt(nominal_beam()[3] ** 2 - np.sum(nominal_beam()[:3] ** 2)))


def _one(rng, m: float, mmumu: float, cos: tuple[float, float] = (0.3, 0.31), **kw: Any) -> dict[str, Any]:
    ev = dimuon_recoil_events(rng, 1, m, mmumu=mmumu, recoil_cos_range=cos, **kw)[0]
    return ev


def _hand_events() -> tuple[list[dict[str, Any]], list[str]]:
    """Events and, for each, the first signal-selection step it fails ("pass" if none)."""
    rng = np.random.default_rng(11)
    sig = lambda: _one(rng, 3.0, 2.0)  # noqa: E731
    evs, fails = [], []

    def add(ev: dict[str, Any], fail: str) -> None:
        evs.append(ev)
        fails.append(fail)

    add(sig(), "pass")
    add({**sig(), "trg_ffo": False}, "trigger")
    ev = sig()
    ev["Track"].append({"px": 0.3, "py": 0.2, "pz": 0.1, "charge": 1, "muonID": 0.0})
    add(ev, "two_ip_tracks_no_extra")
    ev = sig()
    ev["Track"].append({"px": 0.3, "py": 0.2, "pz": 0.1, "charge": 1, "muonID": 0.0, "d0": 3.0})  # displaced
    add(ev, "two_ip_tracks_no_extra")
    ev = sig()
    ev["Track"][1]["charge"] = 1
    add(ev, "opposite_charge")
    ev = sig()
    ev["Track"][0]["muonID"] = 0.3
    add(ev, "muon_id")
    add(_one(rng, 3.0, 2.0, cos=(0.97, 0.975)), "recoil_in_barrel")
    ev = sig()
    th, ph = ev["_recoil_lab"]
    ev["Photon"] = [{"E": 1.0, "theta": th + np.radians(8), "phi": ph}]  # 8 deg from the recoil
    add(ev, "photon_veto")
    ev = sig()
    th, ph = ev["_recoil_lab"]
    ev["Photon"] = [{"E": 0.3, "theta": np.pi - th, "phi": ph + np.pi}, {"E": 0.3, "theta": 2.2, "phi": ph + 2.0}]
    add(ev, "photon_veto")  # 0.6 GeV extra energy
    ev = sig()
    th, ph = ev["_recoil_lab"]
    ev["Photon"] = [{"E": 0.3, "theta": np.pi - th, "phi": ph + np.pi}]
    add(ev, "pass")  # 0.3 GeV extra energy is allowed
    # mu mu + an undetected soft photon: nearly back to back
    add(_one(rng, 0.0, SQRT_S - 0.03), "not_back_to_back")
    # control samples
    ee = _one(rng, 0.0, 8.0, muon_id=0.01)
    for t in ee["Track"]:
        t["electronID"] = 0.95
    add(ee, "muon_id")
    ee2 = _one(rng, 0.0, 8.0, muon_id=0.01)
    for t in ee2["Track"]:
        t["electronID"] = 0.95
    th, ph = ee2["_recoil_lab"]
    ee2["Photon"] = [{"E": 2.0, "theta": th, "phi": ph}]
    add(ee2, "muon_id")
    emu = sig()
    emu["Track"][1].update(muonID=0.02, electronID=0.9)
    add(emu, "muon_id")
    mmg = _one(rng, 0.0, 8.0)
    th, ph = mmg["_recoil_lab"]
    q = (SQRT_S**2 - 64.0) / (2 * SQRT_S)  # the photon takes the recoil (approximately its lab energy)
    rec = nominal_beam()[None, :]
    mmg["Photon"] = [{"E": float(rec[0, 3] - sum(np.sqrt(t["px"] ** 2 + t["py"] ** 2 + t["pz"] ** 2 + 0.10566**2)
                                                 for t in mmg["Track"])), "theta": th, "phi": ph}]  # fmt: skip
    assert q > 1.0
    add(mmg, "photon_veto")
    return evs, fails


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    evs, fails = _hand_events()
    # preconditions of the construction: barrel events really point into the barrel, off the 90-degree gap
    for ev, fail in zip(evs, fails, strict=True):
        inside = bool(in_ecl_barrel(np.array([ev["_recoil_lab"][0]]), exclude_gap90=True)[0])
        assert inside == (fail != "recoil_in_barrel"), (fail, np.degrees(ev["_recoil_lab"][0]))
    path = write_columns(tmp_path_factory.mktemp("hand") / "hand.root", columns_from_events(evs))
    md = zp_metadata("sig_hand", len(evs))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        events = NanoEventsFactory.from_root(
            {str(path): "events"}, schemaclass=B2Schema, mode="eager", metadata=md
        ).events()
    proc = ZPrimeInvisibleProcessor()
    return proc.postprocess(proc.process(events)), evs, fails


def test_signal_cutflow_is_the_hand_count(hand) -> None:
    out, evs, fails = hand
    cf = out["cutflow"]["sig_hand"]
    assert cf["names"] == SR_STEPS
    order = {name: i for i, name in enumerate(SR_STEPS)} | {"pass": len(SR_STEPS)}
    expected = [sum(order[f] > i for f in fails) for i in range(len(SR_STEPS))]
    assert cf["raw"].tolist() == expected
    norm = 20.0 * 0.5 * 79.7 / len(evs)  # xsec_fb * filter_efficiency * lumi_fb / n_events
    np.testing.assert_allclose(cf["weighted"], np.array(expected) * norm, rtol=1e-12)


def test_selected_events_and_template(hand) -> None:
    out, evs, fails = hand
    passing = [i for i, f in enumerate(fails) if f == "pass"]
    el = out["eventlist"]["sig_hand"]
    assert el["event"].tolist() == passing
    np.testing.assert_allclose(el["m2_recoil"], 9.0, atol=2e-3)
    h = out["hists"]["template"][{"sample": "sig_hand", "syst": "nominal"}]
    assert h.values(flow=True).sum() == pytest.approx(out["cutflow"]["sig_hand"]["weighted"][-1])
    m2 = out["hists"]["m2_recoil"][{"sample": "sig_hand", "syst": "nominal"}]
    assert m2.axes[0].index(9.0) == int(np.argmax(m2.values()))

    # muid_up: each muon's ID efficiency up by 2 % below 1 GeV, 1 % above
    def ratio(ev: dict[str, Any]) -> float:
        ps = [np.sqrt(t["px"] ** 2 + t["py"] ** 2 + t["pz"] ** 2) for t in ev["Track"]]
        return float(np.prod([1.02 if p < 1.0 else 1.01 for p in ps]))

    up = out["hists"]["m2_recoil"][{"sample": "sig_hand", "syst": "muid_up"}].values().sum()
    expected = np.mean([ratio(evs[i]) for i in passing])
    assert up / m2.values().sum() == pytest.approx(expected, rel=1e-9)


def test_control_samples(hand) -> None:
    out, _, _ = hand
    regions = out["cutflow_regions"]
    assert regions["ee"]["sig_hand"]["raw"][-1] == 2
    assert regions["emu"]["sig_hand"]["raw"][-1] == 1
    assert regions["mumugamma"]["sig_hand"]["raw"][-1] == 1
    ee = out["hists"]["cr_ee_m2_recoil"][{"sample": "sig_hand"}]
    assert ee.project("veto_passed").values().tolist() == pytest.approx([ee.values().sum() / 2] * 2)
    mmg = out["hists"]["cr_mumugamma_m2_recoil"][{"sample": "sig_hand"}]
    assert mmg.values().sum() > 0 and abs(mmg.axes[0].centers[np.argmax(mmg.values())]) < 0.1


def test_shape_variation_shifts_the_peak(hand) -> None:
    out, _, _ = hand
    h = out["hists"]["template"][{"sample": "sig_hand"}].project("syst", "m2_recoil")
    mean = {
        s: np.average(h.axes["m2_recoil"].centers, weights=h[{"syst": s}].values())
        for s in ("pscale_up", "pscale_down")
    }
    assert mean["pscale_up"] < mean["pscale_down"]  # more dimuon energy -> less recoil mass


def test_crystal_ball_matches_scipy() -> None:
    x = np.linspace(-6, 4, 101)
    np.testing.assert_allclose(
        R.crystal_ball_pdf(x, 0.3, 1.2, 1.5, 3.0), stats.crystalball.pdf(x, 1.5, 3.0, loc=0.3, scale=1.2), rtol=1e-10
    )
    # the double shape is normalised
    grid = np.linspace(-60, 60, 200001)
    assert np.trapezoid(R.double_cb_pdf(grid, 0.0, 0.5, 1.0, 0.6, 1.2, 4.0, 1.5, 5.0), grid) == pytest.approx(
        1, rel=1e-3
    )


def test_double_cb_fit_recovers_a_gaussian_width() -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(9.0, 0.2, 4000)
    fit = R.fit_double_cb(values, m2_nominal=9.0)
    assert fit.sigma_w == pytest.approx(0.2, rel=0.1)
    assert fit.mu == pytest.approx(9.0, abs=0.02)
    with pytest.raises(ValueError, match="filled bins"):
        R.fit_double_cb_binned(np.linspace(0, 1, 11), np.r_[np.zeros(9), 5.0])


def test_resolution_model_interpolates() -> None:
    model = R.ResolutionModel([4.0, 1.0, 2.0], [0.4, 0.1, 0.2])
    assert model.sigma(1.5) == pytest.approx(0.15)
    assert model.sigma(3.0) == pytest.approx(0.3)
    assert model.covers(3.0) and not model.covers(5.0)
    assert model.window(2.0, 10) == pytest.approx((4.0 - 2.0, 4.0 + 2.0))


def test_required_branches() -> None:
    """The bad-file check asks for what the search reads (+ ids, + the MC weight), not the whole format."""
    data, mc = ZPrimeInvisibleProcessor.required_branches(False), ZPrimeInvisibleProcessor.required_branches(True)
    assert {"Track_px", "Photon_E", "KLMCluster_theta", "trg_ffo", "beam_E", "run", "event"} <= data
    assert mc - data == {"weight"} and "Track_mcIndex" not in mc and "Vertex_x" not in mc


def test_runs_on_the_signal_fixture(zp_files: dict[str, Path]) -> None:
    from conftest import run_runner

    from searches.zprime_inv.zp_synthetic import N_SIGNAL

    fs = {"sig": {"files": {str(zp_files["signal"]): "events"}, "metadata": zp_metadata("sig", N_SIGNAL)}}
    out = run_runner(fs, ZPrimeInvisibleProcessor())
    cf = out["cutflow"]["sig"]
    eff = cf["raw"][-1] / cf["raw"][0]
    assert 0.5 < eff <= 1.0  # idealised synthetic signal: only the barrel requirement cuts
    vals = out["eventlist"]["sig"]["m2_recoil"]
    np.testing.assert_allclose(vals, 9.0, atol=2e-3)


@pytest.mark.slow
def test_on_real_generated_files(tmp_path: Path) -> None:
    """The generator's files (ROOT and Parquet) through the Runner: the signal peaks at
    M^2 = M(Z')^2, the efficiency is in the paper's range, Parquet == ROOT."""
    from coffea import processor

    from samples import cli
    from samples.catalog import load_catalog

    args = ["--process", "zprime_inv", "--n", "1500", "--param", "mass=3", "--seed", "3", "--out", str(tmp_path),
            "--jobs", "1", "--no-progress", "--format", "root", "--format", "parquet"]  # fmt: skip
    assert cli.main(args) in (0, None)
    cat = load_catalog(tmp_path / "catalog.yaml")
    outs = {}
    for fmt in ("root", "parquet"):
        run = processor.Runner(executor=processor.IterativeExecutor(), schema=B2Schema, chunksize=600,
                               metadata_cache={}, format=fmt)  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outs[fmt] = run(cat.to_fileset(lumi_fb=79.7, fmt=fmt), processor_instance=ZPrimeInvisibleProcessor(),
                            treename="events")  # fmt: skip
    cf = outs["root"]["cutflow"]["zprime_inv_m3"]
    eff = cf["raw"][-1] / cf["raw"][0]
    assert 0.02 < eff < 0.8, eff
    assert cf["raw"].tolist() == outs["parquet"]["cutflow"]["zprime_inv_m3"]["raw"].tolist()
    m2 = outs["root"]["eventlist"]["zprime_inv_m3"]["m2_recoil"]
    assert abs(np.median(m2) - 9.0) < 0.3
    h = outs["root"]["hists"]["m2_recoil"][{"sample": "zprime_inv_m3", "syst": "nominal"}][
        complex(0, 5) : complex(0, 13)
    ]
    fit = R.fit_double_cb_hist(h)
    assert 0.01 < fit.sigma_w < 1.5 and abs(fit.mu - 9.0) < 0.3


@pytest.mark.filterwarnings("ignore:sample is a protected keyword")
def test_window_yields() -> None:
    import hist

    h = hist.Hist(hist.axis.StrCategory(["a", "b"], name="sample"), hist.axis.Regular(100, 0, 10, name="m2_recoil"))
    h.fill("a", np.full(10, 4.05))  # M = 2: M^2 = 4
    h.fill("b", np.full(5, 8.95))
    model = R.ResolutionModel([1.0, 3.0], [0.1, 0.1])
    y = R.window_yields(h, model, [2.0, 3.0], n_sigma=2)
    assert y == {2.0: {"a": 10.0, "b": 0.0}, 3.0: {"a": 0.0, "b": 5.0}}

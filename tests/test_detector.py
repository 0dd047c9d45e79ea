"""Detector response: acceptance, resolution, losses, PID, vertices, triggers."""

from __future__ import annotations

import numpy as np
import pytest

from samples import constants as C
from samples.generator import detector, pipeline
from samples.generator.beams import sample_beams
from samples.generator.truth import TruthEvents
from tests.generator_toys import register_toys


@pytest.fixture
def toy_processes(monkeypatch: pytest.MonkeyPatch) -> dict:
    return register_toys(monkeypatch)


def single_particles(pdg: int, p: float, theta_deg: np.ndarray, rng: np.random.Generator) -> tuple[TruthEvents, object]:
    """One particle per event at fixed |p| and lab polar angle, produced at the IP."""
    n = theta_deg.size
    th = np.radians(theta_deg)
    ph = rng.uniform(-np.pi, np.pi, n)
    m = {22: 0.0, 11: C.M_E, 13: C.M_MU, 211: C.M_PI, -211: C.M_PI, 321: C.M_K}[pdg]
    truth = TruthEvents(
        counts=np.ones(n, dtype=np.int64),
        pdg=np.full(n, pdg, dtype=np.int32),
        px=p * np.sin(th) * np.cos(ph),
        py=p * np.sin(th) * np.sin(ph),
        pz=p * np.cos(th),
        E=np.full(n, np.hypot(p, m)),
        mother=np.full(n, -1, dtype=np.int32),
        ctau=np.zeros(n),
        final=np.ones(n, dtype=bool),
        vx=np.zeros(n),
        vy=np.zeros(n),
        vz=np.zeros(n),
    )
    return truth, sample_beams(n, rng)


def test_track_acceptance_and_efficiency() -> None:
    rng = np.random.default_rng(1)
    theta = rng.uniform(5, 175, 40_000)
    truth, beams = single_particles(13, 2.0, theta, rng)
    cols = detector.simulate(truth, beams, rng)
    has = cols["nTrack"] > 0
    inside = (theta > C.CDC_THETA_MIN_DEG) & (theta < C.CDC_THETA_MAX_DEG)
    assert not has[~inside].any()
    assert has[inside].mean() == pytest.approx(C.TRACK_EFFICIENCY, abs=0.005)


def test_track_efficiency_falls_with_production_radius() -> None:
    rng = np.random.default_rng(2)
    truth, beams = single_particles(211, 1.0, np.full(20_000, 90.0), rng)
    truth.vx = np.full(truth.pdg.size, 56.5)  # half the CDC outer radius
    cols = detector.simulate(truth, beams, rng)
    assert (cols["nTrack"] > 0).mean() == pytest.approx(0.5 * C.TRACK_EFFICIENCY, abs=0.015)


@pytest.mark.parametrize("p", [0.5, 2.0, 5.0])
def test_momentum_resolution_follows_the_tdr_formula(p: float) -> None:
    rng = np.random.default_rng(3)
    truth, beams = single_particles(13, p, np.full(20_000, 90.0), rng)
    cols = detector.simulate(truth, beams, rng)
    pt = np.hypot(cols["Track_px"], cols["Track_py"])
    beta = p / np.hypot(p, C.M_MU)
    expected = np.hypot(C.TRACK_PT_RES_A * p, C.TRACK_PT_RES_B / beta)
    assert np.std(pt / p - 1) == pytest.approx(expected, rel=0.05)
    assert abs(np.mean(pt / p - 1)) < 3 * expected / np.sqrt(pt.size) + 1e-4


def test_photons_lost_in_gaps_partly_seen_by_klm() -> None:
    rng = np.random.default_rng(4)
    gap = np.concatenate([rng.uniform(31.5, 32.1, 10_000), rng.uniform(128.8, 130.6, 10_000)])
    truth, beams = single_particles(22, 1.0, gap, rng)
    cols = detector.simulate(truth, beams, rng)
    # No physics cluster in the gaps (beam-background clusters have mcIndex -1).
    assert not (cols["Photon_mcIndex"] >= 0).any()
    assert (cols["nKLMCluster"] > 0).mean() == pytest.approx(C.KLM_PHOTON_IN_GAP_EFFICIENCY, abs=0.02)


def test_photon_energy_resolution_and_efficiency_in_barrel() -> None:
    rng = np.random.default_rng(5)
    truth, beams = single_particles(22, 1.0, rng.uniform(40, 120, 30_000), rng)
    cols = detector.simulate(truth, beams, rng)
    phys = cols["Photon_mcIndex"] >= 0
    e = cols["Photon_E"][phys]
    assert phys.sum() / 30_000 == pytest.approx(1 - C.ECL_PHOTON_INEFFICIENCY_BARREL, abs=2e-3)
    assert np.std(e) == pytest.approx(0.020, rel=0.05)  # 2.0 % at 1 GeV (TDR)
    assert np.all(cols["Photon_region"][phys] == C.ECL_REGION_BARREL)


def test_beam_background_clusters() -> None:
    rng = np.random.default_rng(6)
    truth, beams = single_particles(22, 1.0, np.full(50_000, 5.0), rng)  # photon outside the ECL
    cols = detector.simulate(truth, beams, rng)
    n_bkg = cols["nPhoton"]
    # Poisson mean times the fraction of the exponential above threshold, times the non-gap fraction.
    frac = np.exp(-C.ECL_CLUSTER_THRESHOLD / C.BEAM_BKG_CLUSTER_E_SLOPE)
    assert n_bkg.mean() == pytest.approx(C.BEAM_BKG_CLUSTERS_MEAN * frac, rel=0.1)
    assert np.all(cols["Photon_mcIndex"] == -1)
    assert cols["Photon_E"].min() > C.ECL_CLUSTER_THRESHOLD
    assert np.median(cols["Photon_E"]) < 0.1


def test_electron_eoverp_near_one_muon_mip() -> None:
    rng = np.random.default_rng(7)
    for pdg, lo, hi in ((11, 0.9, 1.1), (13, 0.02, 0.15)):
        truth, beams = single_particles(pdg, 2.0, np.full(5000, 80.0), rng)
        cols = detector.simulate(truth, beams, rng)
        med = np.median(cols["Track_EoverP"])
        assert lo < med < hi, (pdg, med)


def test_pid_efficiencies_and_fake_rates() -> None:
    rng = np.random.default_rng(8)
    n = 40_000
    theta = np.full(n, 80.0)
    res = {}
    for pdg in (13, 211, 11, 321):
        truth, beams = single_particles(pdg, 2.0, theta, rng)
        cols = detector.simulate(truth, beams, rng)
        res[pdg] = {k: (cols[f"Track_{k}"] > 0.9).mean() for k in ("muonID", "electronID", "kaonID", "pionID")}
    assert res[13]["muonID"] == pytest.approx(C.MUID_EFF_PLATEAU, abs=0.01)
    assert res[211]["muonID"] == pytest.approx(C.MUID_PION_FAKE, abs=0.005)
    assert res[11]["electronID"] == pytest.approx(C.EID_EFF_PLATEAU, abs=0.01)
    assert res[211]["electronID"] == pytest.approx(C.EID_PION_FAKE, abs=0.002)
    assert res[321]["kaonID"] > 0.75 and res[211]["kaonID"] < 0.15
    # Below the KLM threshold muon ID collapses.
    truth, beams = single_particles(13, 0.4, np.full(5000, 80.0), rng)
    assert (detector.simulate(truth, beams, rng)["Track_muonID"] > 0.9).mean() < 0.05


def test_muon_klm_layers_grow_with_momentum() -> None:
    rng = np.random.default_rng(9)
    layers = []
    for p in (0.8, 1.2, 3.0):
        truth, beams = single_particles(13, p, np.full(3000, 80.0), rng)
        layers.append(detector.simulate(truth, beams, rng)["Track_klmLayers"].mean())
    assert layers[0] < layers[1] < layers[2] <= C.KLM_N_LAYERS


def test_displaced_vertices(toy_processes) -> None:
    s = pipeline.generate("toy_ks", 4000, seed=11)
    cols = s.columns
    assert cols["nVertex"].sum() > 1000
    # Compare each vertex with the true decay point of the daughters' production vertex.
    t_off = np.concatenate([[0], np.cumsum(cols["nTrack"])])
    v_evt = np.repeat(np.arange(s.n_events), cols["nVertex"])
    trk = t_off[v_evt] + cols["Vertex_trk1"]
    m_off = np.concatenate([[0], np.cumsum(cols["nMCParticle"])])
    g = m_off[v_evt] + cols["Track_mcIndex"][trk]
    dx = cols["Vertex_x"] - cols["MCParticle_vx"][g]
    r = np.hypot(cols["MCParticle_vx"][g], cols["MCParticle_vy"][g])
    assert np.all(r > C.VERTEX_MIN_RADIUS)
    assert np.median(np.abs(dx)) < 3 * C.VERTEX_RES_TRANSVERSE
    # trk1 is the positive and trk2 the negative daughter.
    assert np.all(cols["Track_charge"][trk] > 0)
    assert np.all(cols["Track_charge"][t_off[v_evt] + cols["Vertex_trk2"]] < 0)


def test_trigger_bits(toy_processes) -> None:
    s = pipeline.generate("toy_mumu", 5000, seed=12)
    cols = s.columns
    two = cols["nTrack"] == 2
    # Back-to-back muon pairs fire the two-track and the CDC-KLM lines.
    assert cols["trg_ffo"][two].mean() > 0.95
    assert cols["trg_cdcklm"][two].mean() > 0.8
    # Events without tracks never fire track triggers.
    assert not cols["trg_ffo"][cols["nTrack"] == 0].any()
    rng = np.random.default_rng(13)
    truth, beams = single_particles(22, 4.0, np.full(2000, 80.0), rng)
    c = detector.simulate(truth, beams, rng)
    assert c["trg_lml"].mean() > 0.9 and c["trg_hie"].mean() > 0.9 and not c["trg_ffo"].any()

"""Beams, Lorentz helpers, lab transformation, vertices, filters and the generate() pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from samples import constants as C
from samples.generator import lorentz as lz
from samples.generator import pipeline, registry
from samples.generator.beams import nominal_beams, sample_beams
from tests.generator_toys import register_toys


@pytest.fixture
def toy_processes(monkeypatch: pytest.MonkeyPatch) -> dict:
    return register_toys(monkeypatch)


# Parameters to exercise every registered signal generator (when it exists).
SIGNAL_PARAMS = {
    "zprime_inv": {"mass": 1.0},
    "zprime_mumu": {"mass": 1.0},
    "zprime_tautau": {"mass": 5.0},
    "dark_higgsstrahlung": {"mass": 2.0, "mass2": 1.0},
    "idm": {"mass": 3.0, "mass2": 0.5, "mass3": 0.6},
    "idm_mumu": {"mass": 3.0, "mass2": 0.5, "mass3": 0.6, "sin_theta": 1e-3},
    "idm_pipi": {"mass": 3.0, "mass2": 0.5, "mass3": 0.6},
    "idm_kk": {"mass": 3.0, "mass2": 1.2, "mass3": 0.6},
    "monophoton": {"mass": 1.0},
    "scalar_mumu": {"mass": 2.0},
    "scalar_tautau": {"mass": 5.0},
    "alp_tautau": {"mass": 5.0},
}


# ----------------------------------------------------------------------------- beams
def test_nominal_beams_sqrt_s_and_boost() -> None:
    b = nominal_beams(1)
    assert b.sqrt_s[0] == pytest.approx(10.58, abs=0.005)
    assert b.sqrt_s[0] == pytest.approx(C.SQRT_S_NOMINAL, abs=2e-3)
    assert b.betagamma[0] == pytest.approx(C.BOOST_BETAGAMMA_NOMINAL, abs=2e-3)
    # Crossing angle: the boost is tilted towards +x (both beams lean to +x).
    assert b.total[0, 0] > 0.4 and b.total[0, 1] == 0.0


def test_energy_spread_propagates_to_sqrt_s() -> None:
    b = sample_beams(200_000, np.random.default_rng(3))
    s = b.sqrt_s
    # d sqrt(s) = sqrt(s)/2 * sqrt((dE_her/E_her)^2 + (dE_ler/E_ler)^2)
    expected = 0.5 * C.SQRT_S_NOMINAL * np.hypot(C.HER_ENERGY_SPREAD / C.HER_ENERGY, C.LER_ENERGY_SPREAD / C.LER_ENERGY)
    assert s.std() == pytest.approx(expected, rel=0.03)
    assert s.mean() == pytest.approx(C.SQRT_S_NOMINAL, abs=1e-3)


def test_cms_to_lab_rotation_puts_z_on_electron_direction() -> None:
    b = sample_beams(50, np.random.default_rng(1))
    evt = np.arange(50)
    # A massless e- along +z with sqrt(s)/2 in the generator frame must become the lab e- beam.
    half = b.sqrt_s / 2
    e_gen = lz.p4(0 * half, 0 * half, half, half)
    np.testing.assert_allclose(b.to_lab(e_gen, evt), b.electron, atol=2e-6)
    # The whole system at rest in the CMS is the beam four-vector in the lab; to_cms inverts the boost.
    rest = lz.p4(0 * half, 0 * half, 0 * half, b.sqrt_s)
    np.testing.assert_allclose(b.to_lab(rest, evt), b.total, atol=1e-9)
    np.testing.assert_allclose(b.to_cms(b.total, evt)[:, :3], 0.0, atol=1e-9)


# ----------------------------------------------------------------------------- lorentz
def test_two_body_and_boost_roundtrip() -> None:
    rng = np.random.default_rng(2)
    parent = lz.from_mass(rng.normal(0, 3, (1000, 3)), 1.5)
    d1, d2 = lz.decay_isotropic(rng, parent, C.M_PI, C.M_PI)
    np.testing.assert_allclose(d1 + d2, parent, atol=1e-10)
    np.testing.assert_allclose(lz.mass(d1), C.M_PI, atol=1e-9)
    back = lz.boost_to_rest_of(d1, parent)
    np.testing.assert_allclose(
        np.linalg.norm(back[:, :3], axis=1), lz.two_body_momentum(1.5, C.M_PI, C.M_PI), rtol=1e-9
    )
    assert np.isnan(lz.two_body_momentum(0.2, C.M_PI, C.M_PI))


def test_three_body_phase_space_conserves_and_is_flat() -> None:
    rng = np.random.default_rng(4)
    M = 1.777
    parent = lz.from_mass(np.zeros((40_000, 3)), M)
    a, b, c = lz.three_body_phase_space(rng, parent, 0.0, 0.0, C.M_E)
    np.testing.assert_allclose(a + b + c, parent, atol=1e-9)
    # Flat Dalitz: m12^2 for massless 1, 2 and light 3 is ~ triangular -> mean ~ M^2/3.
    m12sq = lz.mass2(a + b)
    assert m12sq.mean() == pytest.approx(M**2 / 3, rel=0.03)


# ----------------------------------------------------------------------------- truth
def test_four_momentum_conservation_toys(toy_processes) -> None:
    rng = np.random.default_rng(5)
    for name, params in (("toy_mumu", {}), ("toy_ks", {}), ("toy_inv", {"mass": 2.0})):
        truth, beams = pipeline.generate_truth(name, 2000, rng, params)
        assert pipeline.four_momentum_residual(truth, beams).max() < 1e-6, name


@pytest.mark.parametrize("process", sorted(registry.PROCESSES))
def test_four_momentum_conservation_registered(process: str) -> None:
    assert registry.get(process).available(), f"no generator registered for {process}"
    truth, beams = pipeline.generate_truth(process, 500, np.random.default_rng(6), SIGNAL_PARAMS.get(process, {}))
    assert pipeline.four_momentum_residual(truth, beams).max() < 1e-6


def test_vertices_follow_lifetime(toy_processes) -> None:
    truth, _ = pipeline.generate_truth("toy_ks", 20_000, np.random.default_rng(7))
    ks = truth.pdg == 310
    pi = np.abs(truth.pdg) == 211
    # Daughter vertex = mother decay point: flight length / (beta gamma c tau) ~ Exp(1).
    off = truth.offsets[truth.event_index()[pi]]
    mom = off + truth.mother[pi]
    d = np.stack([truth.vx[pi] - truth.vx[mom], truth.vy[pi] - truth.vy[mom], truth.vz[pi] - truth.vz[mom]], axis=1)
    p = np.sqrt(truth.px[mom] ** 2 + truth.py[mom] ** 2 + truth.pz[mom] ** 2)
    scaled = np.linalg.norm(d, axis=1) / (p / C.M_KS * 2.68)
    assert scaled.mean() == pytest.approx(1.0, rel=0.03)
    # The flight direction is the mother's momentum.
    cosang = np.sum(d * np.stack([truth.px[mom], truth.py[mom], truth.pz[mom]], axis=1), axis=1) / (
        np.linalg.norm(d, axis=1) * p
    )
    assert np.all(cosang > 1 - 1e-9)
    # Primaries sit at the smeared IP.
    assert np.std(truth.vz[ks]) == pytest.approx(C.IP_SIGMA_Z, rel=0.05)


def test_assign_vertices_handles_daughters_listed_before_mothers(toy_processes) -> None:
    truth, _ = pipeline.generate_truth("toy_ks", 10, np.random.default_rng(8))
    # Reverse the particle order inside each event (mothers now after daughters): same physics.
    k = 6
    perm = (np.arange(10)[:, None] * k + np.arange(k)[::-1][None, :]).ravel()
    new_index = np.empty(k, dtype=np.int32)
    new_index[np.arange(k)[::-1]] = np.arange(k)
    m = truth.mother[perm]
    truth.mother = np.where(m >= 0, new_index[np.maximum(m, 0)], -1).astype(np.int32)
    for name in ("pdg", "px", "py", "pz", "E", "ctau", "final"):
        setattr(truth, name, getattr(truth, name)[perm])
    pipeline.assign_vertices(truth, np.random.default_rng(0))
    assert np.isfinite(truth.vx).all()


# ----------------------------------------------------------------------------- generate
def test_same_seed_bit_identical_and_different_seed_differs(toy_processes) -> None:
    a = pipeline.generate("toy_mumu", 3000, seed=42, chunk_size=1000)
    b = pipeline.generate("toy_mumu", 3000, seed=42, chunk_size=1000)
    c = pipeline.generate("toy_mumu", 3000, seed=43, chunk_size=1000)
    assert a.columns.keys() == b.columns.keys()
    for k in a.columns:
        assert a.columns[k].tobytes() == b.columns[k].tobytes(), k
    assert not np.array_equal(a.columns["Track_px"][:10], c.columns["Track_px"][:10])


def test_generate_columns_match_event_format(toy_processes) -> None:
    s = pipeline.generate("toy_inv", 2000, seed=1, params={"mass": 3.0})
    cols = s.columns
    for name, arr in cols.items():
        assert arr.dtype == np.dtype(pipeline.DTYPES[name]), name
    for coll in ("Track", "Photon", "KLMCluster", "Vertex", "MCParticle"):
        n = int(cols[f"n{coll}"].sum())
        for k in cols:
            if k.startswith(coll + "_"):
                assert cols[k].shape == (n,), k
    np.testing.assert_array_equal(cols["mc_mass"], 3.0)
    assert s.n_events == 2000 and s.filter_efficiency == 1.0
    # beam_* is the nominal four-vector (one value, sqrt(s) nominal); mc_beam_* the true one of each event,
    # spread by the HER/LER energy spreads (sqrt(s) spread ~5 MeV).
    m = np.sqrt(cols["beam_E"] ** 2 - cols["beam_px"] ** 2 - cols["beam_py"] ** 2 - cols["beam_pz"] ** 2)
    assert np.ptp(m) == 0.0 and abs(m[0] - C.SQRT_S_NOMINAL) < 2e-3
    mt = np.sqrt(cols["mc_beam_E"] ** 2 - cols["mc_beam_px"] ** 2 - cols["mc_beam_py"] ** 2 - cols["mc_beam_pz"] ** 2)
    assert abs(mt.mean() - m[0]) < 1e-3 and 4.0e-3 < mt.std() < 6.0e-3


def test_filter_efficiency_and_selection(toy_processes) -> None:
    s = pipeline.generate("toy_inv", 5000, seed=3, params={"mass": 2.0}, filter_name="zprime_inv")
    assert 0.05 < s.filter_efficiency < 0.95
    assert s.n_generated == 5000 and s.n_events == round(s.filter_efficiency * 5000)
    # The kept events are the generated event numbers that passed; unique and increasing.
    assert np.all(np.diff(s.columns["event"]) > 0)
    # Recoil against the two muons (truth) of every kept event points into the broad barrel window.
    cols = s.columns
    mu = np.abs(cols["MCParticle_pdg"]) == 13
    evt = np.repeat(np.arange(s.n_events), cols["nMCParticle"])
    pair = np.stack([np.bincount(evt[mu], weights=cols[f"MCParticle_{c}"][mu]) for c in ("px", "py", "pz", "E")], 1)
    beam = np.stack([cols["mc_beam_px"], cols["mc_beam_py"], cols["mc_beam_pz"], cols["mc_beam_E"]], 1)
    rec = beam - pair
    theta = np.degrees(np.arctan2(np.hypot(rec[:, 0], rec[:, 1]), rec[:, 2]))
    assert theta.min() > 25 and theta.max() < 140
    np.testing.assert_allclose(lz.mass2(rec), 4.0, atol=1e-6)


def test_bad_input_errors_are_readable(toy_processes) -> None:
    with pytest.raises(KeyError, match="unknown process 'nope'"):
        pipeline.generate("nope", 10, seed=1)
    with pytest.raises(ValueError, match=r"mass=-1\.0 must be >= 0"):
        pipeline.generate("toy_inv", 10, seed=1, params={"mass": -1.0})
    with pytest.raises(ValueError, match="missing model parameter"):
        pipeline.generate("toy_inv", 10, seed=1)
    with pytest.raises(ValueError, match="must be positive"):
        pipeline.generate("toy_mumu", 0, seed=1)
    with pytest.raises(KeyError, match="unknown generator filter"):
        pipeline.generate("toy_mumu", 10, seed=1, filter_name="bogus")


def test_background_cross_sections_equal_the_cited_table() -> None:
    for name, nb in C.XSEC_NB.items():
        assert registry.get(name).xsec_fb() == pytest.approx(nb * 1e6)
        assert "arXiv:1808.10567" in registry.get(name).source


def test_signal_with_fsr_and_nominal_beam_is_bit_identical_run_to_run() -> None:
    """The Z' -> invisible signal (FSR off its muons, nominal beam columns, MC-truth beam) twice, same seed:
    every column bit-identical; the true beam differs event by event from the nominal one."""
    a = pipeline.generate("zprime_inv", 3000, seed=77, params={"mass": 1.0, "coupling": 0.01}, filter_name=None)
    b = pipeline.generate("zprime_inv", 3000, seed=77, params={"mass": 1.0, "coupling": 0.01}, filter_name=None)
    assert a.columns.keys() == b.columns.keys()
    for k in a.columns:
        np.testing.assert_array_equal(a.columns[k], b.columns[k], err_msg=k)
    assert np.all(a.columns["beam_E"] == pipeline.NOMINAL_BEAM[3])
    assert np.std(a.columns["mc_beam_E"]) > 1e-3
    # FSR photons are in the truth: some events carry a primary photon.
    assert 0.02 < np.mean(np.bincount(np.repeat(np.arange(3000), a.columns["nMCParticle"]),
                                      weights=a.columns["MCParticle_pdg"] == 22, minlength=3000) > 0) < 0.5  # fmt: skip

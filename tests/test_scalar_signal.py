"""Muonphilic scalar e+e- -> mu+ mu- S, S -> mu+ mu- (samples/generator/scalar.py).

The analytic traces and the Dalitz quadrature are checked against tests/scalar_reference.py (explicit
spinors, helicity sums, explicit beams, multi-channel Monte Carlo over sequential two-body phase space);
the generated events against the matrix element by chi2 tests; and the scalar kinematics against the Z'
ones, which they must not reproduce.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from samples import constants as C
from samples.generator import lorentz as lz
from samples.generator import matrix_elements as me
from samples.generator import registry
from samples.generator import scalar as sc
from samples.generator import signals as S
from samples.generator import xsec as xs
from tests import scalar_reference as ref

SQRT_S = C.SQRT_S_NOMINAL
P_MIN = 1e-3  # chi2 tests: p-value below which a distribution is declared wrong


def _p4(ev) -> np.ndarray:
    return np.stack([ev.px, ev.py, ev.pz, ev.E], axis=1)


def _per_event(ev, mask: np.ndarray) -> np.ndarray:
    return _p4(ev)[mask].reshape(ev.n_events, -1, 4)


def _chi2_p(counts: np.ndarray, prob: np.ndarray, prob_var: np.ndarray | None = None) -> float:
    """p-value of unweighted counts against expected bin probabilities (with their own variance, if any)."""
    n = counts.sum()
    exp = n * prob
    var = exp + (0.0 if prob_var is None else n * n * prob_var)
    chi2 = float(np.sum((counts - exp) ** 2 / var))
    return float(stats.chi2.sf(chi2, counts.size - 1))


def _weighted_prob(x: np.ndarray, w: np.ndarray, bins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hw, _ = np.histogram(x, bins, weights=w)
    hw2, _ = np.histogram(x, bins, weights=w * w)
    tot = w.sum()
    return hw / tot, hw2 / tot**2


# --------------------------------------------------------------------------
# matrix element
# --------------------------------------------------------------------------
@pytest.mark.parametrize("M", [0.3, 2.0, 7.0])
def test_muon_tensor_and_trace_equal_helicity_amplitudes(M):
    """Closed-form H^{mu nu} contracted with the beams along a random axis = explicit spinor amplitudes."""
    rng = np.random.default_rng(7)
    n = 300
    k1, k2, q, _ = ref.phase_space_points(rng, n, M, SQRT_S)
    ct, phi = lz.random_directions(rng, n)
    R = lz.rotation_z_to(lz.unit_vectors(ct, phi))
    k1, k2, q = (lz.rotate(v, R) for v in (k1, k2, q))
    p1, p2 = ref.beams(n, SQRT_S)
    expect = ref.msq_scalar(p1, p2, k1, k2, q)
    h = sc.scalar_muon_tensor(k1, k2, q)
    s = SQRT_S**2
    e4 = (4 * math.pi * C.ALPHA_EM) ** 2
    lh = me.beam_direction_weight(h, s, np.tile([0.0, 0.0, 1.0], (n, 1)))
    np.testing.assert_allclose(e4 / s**2 * lh, expect, rtol=1e-9)
    # the Dalitz-variable trace used for sigma is -g_{mu nu} H^{mu nu}
    s1, s2 = me.mdot(k1 + q, k1 + q), me.mdot(k2 + q, k2 + q)
    np.testing.assert_allclose(sc.scalar_trace_dalitz(s, s1, s2, M), -me.trace_lower(h), rtol=1e-9)
    # current conservation (what makes the orientation average -(4s/3) g.H exact)
    Q = me.to_minkowski(k1 + k2 + q) * me.METRIC
    assert np.max(np.abs(np.einsum("nm,nmv->nv", Q, h))) < 1e-10 * np.max(np.abs(h))


@pytest.mark.parametrize(("x1", "x2"), [(0.7, 0.8), (0.5, 0.9), (0.95, 0.3)])
def test_massless_limit_is_the_scalar_gluon_formula(x1, x2):
    """m_mu, M -> 0: (1/sigma0) dsigma/dx1dx2 = alpha_S/(4 pi) x3^2/((1 - x1)(1 - x2)), alpha_S = g^2/4pi."""
    s = SQRT_S**2
    m, M = 1e-5, 1e-4
    s2 = s * (1 - x1) + m * m
    s1 = s * (1 - x2) + m * m
    d = sc.scalar_dsigma_ds1ds2_fb(np.array([SQRT_S]), np.array([s1]), np.array([s2]), M, 1.0, m)
    sigma0 = 4 * math.pi * C.ALPHA_EM**2 / (3 * s) * C.GEV2_TO_FB
    x3 = 2 - x1 - x2
    expect = sigma0 / (16 * math.pi**2) * x3 * x3 / ((1 - x1) * (1 - x2))
    assert d[0] * s * s == pytest.approx(expect, rel=1e-6)


# --------------------------------------------------------------------------
# cross section
# --------------------------------------------------------------------------
@pytest.mark.parametrize("M", [0.3, 1.0, 3.0, 6.0, 9.0])
def test_scalar_xsec_matches_independent_mc(M):
    """Quadrature of the analytic trace vs helicity amplitudes over Monte Carlo phase space: < 1 %.

    150k points give a 0.1-0.2 % statistical error (asserted < 0.3 %); the agreement must also be within 4 sigma.
    """
    mc, err = ref.xsec_mc_fb(M, SQRT_S, 150_000, np.random.default_rng(int(M * 10) + 1))
    quad = sc.scalar_xsec_fb(M, 1.0)
    assert err / mc < 3e-3
    assert abs(quad / mc - 1) < 0.01
    assert abs(quad - mc) < 4 * err


def test_quadrature_converged_scales_with_g2_and_matches_importance_sampling():
    masses = np.array([0.3, 1.0, 3.0, 9.0])
    a = sc.scalar_xsec_fb(masses, 0.01)
    b = sc.scalar_xsec_fb(masses, 0.01, n_outer=128, n_inner=64)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    assert sc.scalar_xsec_fb(1.0, 0.03) == pytest.approx(9 * sc.scalar_xsec_fb(1.0, 0.01), rel=1e-12)
    assert sc.scalar_xsec_fb(1.0, 0.0) == 0.0
    assert np.all(np.diff(a) < 0) and np.all(a > 0)
    # the generator's weighted Dalitz draws integrate to the same sigma
    rng = np.random.default_rng(5)
    rs = np.full(50_000, SQRT_S)
    s1, s2, g = S.sample_mumuv_dalitz(rng, rs, 2.0)
    w = sc.scalar_dsigma_ds1ds2_fb(rs, s1, s2, 2.0, 1.0) / g
    rel_err = w.std() / w.mean() / math.sqrt(w.size)
    assert abs(w.mean() / sc.scalar_xsec_fb(2.0, 1.0) - 1) < 4 * rel_err


def test_registry_cross_section_and_process():
    proc = registry.get("scalar_mumu")
    assert proc.is_signal and proc.available() and "mass" in proc.required
    val = proc.xsec_fb({"mass": 2.0})  # default coupling 0.01
    assert val == pytest.approx(sc.scalar_xsec_fb(2.0, 0.01), rel=1e-12)
    assert xs.XSEC["scalar_mumu"](mass=2.0, coupling=0.02) == pytest.approx(4 * val, rel=1e-12)
    assert S.SIGNALS["scalar_mumu"] is sc.gen_scalar_mumu


# --------------------------------------------------------------------------
# width, lifetime, branching fractions
# --------------------------------------------------------------------------
@pytest.mark.parametrize("M", [0.22, 0.5, 3.0, 9.0])
def test_width_matches_two_body_spinor_computation(M):
    g = 0.02
    expect = ref.width_mumu_reference(M, g, np.random.default_rng(2))
    assert sc.scalar_width_mumu(M, g) == pytest.approx(expect, rel=1e-10)
    assert sc.scalar_ctau_cm(M, g) == pytest.approx(C.HBARC_GEV_CM / expect, rel=1e-10)
    assert sc.scalar_width_mumu(M, 2 * g) == pytest.approx(4 * expect, rel=1e-10)
    assert sc.scalar_branching_fractions(M)["mumu"] == 1.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: sc.scalar_width_mumu(2 * C.M_MU),
        lambda: sc.scalar_width_mumu(0.1),
        lambda: sc.scalar_xsec_fb(2 * C.M_MU + 1e-4),
        lambda: sc.scalar_xsec_fb(10.5),
        lambda: sc.scalar_xsec_fb(-1.0),
        lambda: sc.scalar_branching_fractions(0.2),
        lambda: sc.scalar_ctau_cm(1.0, -0.1),
    ],
)
def test_unphysical_input_raises(call):
    with pytest.raises(ValueError, match=r"threshold|kinematic limit|positive|coupling"):
        call()


@pytest.mark.parametrize(
    "kw",
    [dict(mass=0.2), dict(mass=2 * C.M_MU), dict(mass=10.4), dict(mass=1.0, coupling=-0.1), dict(mass=1.0, ctau=3.0)],
)
def test_generator_rejects_bad_parameters(kw):
    with pytest.raises(ValueError, match=r"signals\.scalar_mumu"):
        sc.gen_scalar_mumu(10, np.random.default_rng(0), np.full(10, SQRT_S), **kw)


# --------------------------------------------------------------------------
# generated events
# --------------------------------------------------------------------------
M_GEN = 2.0


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(2024)
    n = 20_000
    rs = SQRT_S + 0.005 * rng.standard_normal(n)
    return rs, sc.gen_scalar_mumu(n, rng, rs, mass=M_GEN, coupling=0.02)


def test_event_content_and_bookkeeping(sample):
    _, ev = sample
    n = ev.n_events
    assert np.all(ev.counts == 5)
    np.testing.assert_array_equal(ev.pdg.reshape(n, 5), np.tile([13, -13, sc.PDG_SCALAR, 13, -13], (n, 1)))
    np.testing.assert_array_equal(ev.mother.reshape(n, 5), np.tile([-1, -1, -1, 2, 2], (n, 1)))
    mu = ev.final & (np.abs(ev.pdg) == 13)
    assert np.all(np.bincount(ev.event_index()[mu], minlength=n) == 4)
    charge = np.bincount(ev.event_index()[mu], weights=-np.sign(ev.pdg[mu]), minlength=n)
    np.testing.assert_array_equal(charge, 0.0)
    s_ = ev.pdg == sc.PDG_SCALAR
    assert not np.any(ev.final[s_])
    np.testing.assert_allclose(ev.ctau[s_], sc.scalar_ctau_cm(M_GEN, 0.02), rtol=1e-12)
    np.testing.assert_allclose(ev.event["mc_ctau"], sc.scalar_ctau_cm(M_GEN, 0.02), rtol=1e-12)
    assert np.all(ev.event["mc_mass"] == M_GEN) and np.all(ev.event["mc_coupling"] == 0.02)


def test_four_momentum_conservation_and_masses(sample):
    rs, ev = sample
    tot = np.add.reduceat(_p4(ev) * ev.final[:, None], ev.offsets[:-1], axis=0)
    beam = np.stack([0 * rs, 0 * rs, 0 * rs, rs], axis=1)
    assert np.max(np.abs(tot - beam)) < 1e-9
    dau = _per_event(ev, ev.mother == 2)
    np.testing.assert_allclose(lz.mass(dau.sum(axis=1)), M_GEN, rtol=1e-9)
    np.testing.assert_allclose(lz.mass(_per_event(ev, ev.pdg == sc.PDG_SCALAR)[:, 0]), M_GEN, rtol=1e-9)
    prim = _per_event(ev, (np.abs(ev.pdg) == 13) & (ev.mother < 0))
    np.testing.assert_allclose(lz.mass(beam - prim.sum(axis=1)), M_GEN, rtol=1e-7)  # recoil mass = M
    np.testing.assert_allclose(lz.mass(prim.reshape(-1, 4)), C.M_MU, rtol=1e-6)


def test_scalar_decay_is_isotropic_in_its_rest_frame(sample):
    _, ev = sample
    sv = _per_event(ev, ev.pdg == sc.PDG_SCALAR)[:, 0]
    mu = _per_event(ev, (ev.pdg == 13) & (ev.mother == 2))[:, 0]
    r = lz.boost_to_rest_of(mu, sv)
    unit_r = r[:, :3] / np.linalg.norm(r[:, :3], axis=1)[:, None]
    cos_star = np.sum(unit_r * sv[:, :3], axis=1) / np.linalg.norm(sv[:, :3], axis=1)
    counts, _ = np.histogram(cos_star, np.linspace(-1, 1, 11))
    assert _chi2_p(counts, np.full(10, 0.1)) > P_MIN
    # and relative to the beam axis (no production-decay correlation for spin 0)
    counts, _ = np.histogram(r[:, 2] / np.linalg.norm(r[:, :3], axis=1), np.linspace(-1, 1, 11))
    assert _chi2_p(counts, np.full(10, 0.1)) > P_MIN


def _scalar_reference_draws(rng: np.random.Generator, n: int, M: float):
    """Weighted events from the matrix element: Dalitz draws with w = dsigma/g, random beam axis with the exact
    L.H(n) / <L.H> factor. Returns S energy, |cos| of S to the beam, the weights with and without that factor."""
    rs = np.full(n, SQRT_S)
    s1, s2, g = S.sample_mumuv_dalitz(rng, rs, M)
    w = sc.scalar_dsigma_ds1ds2_fb(rs, s1, s2, M, 1.0) / g
    k1, k2, q = xs.dalitz_momenta(rs, s1, s2, C.M_MU, M)
    h = sc.scalar_muon_tensor(k1, k2, q)
    nb = lz.unit_vectors(*lz.random_directions(rng, n))
    w_beam = w * me.beam_direction_weight(h, rs**2, nb) / me.orientation_averaged_lh(h, rs**2)
    cz = np.abs(np.sum(q[:, :3] * nb, axis=1)) / np.linalg.norm(q[:, :3], axis=1)
    return q[:, 3], cz, w, w_beam


@pytest.fixture(scope="module")
def fixed_energy_samples():
    rng = np.random.default_rng(99)
    n = 8000
    rs = np.full(n, SQRT_S)
    scal = sc.gen_scalar_mumu(n, rng, rs, mass=M_GEN)
    zp = S.gen_zprime_mumu(4000, rng, rs[:4000], mass=M_GEN)
    return scal, zp, _scalar_reference_draws(rng, 200_000, M_GEN)


E_BINS = np.linspace(M_GEN, (SQRT_S**2 + M_GEN**2 - 4 * C.M_MU**2) / (2 * SQRT_S), 13)


def test_generated_kinematics_follow_the_matrix_element(fixed_energy_samples):
    """S energy spectrum and S polar angle to the beam axis vs the weighted matrix-element prediction (chi2)."""
    scal, _, (e_ref, cz_ref, w, w_beam) = fixed_energy_samples
    sv = _per_event(scal, scal.pdg == sc.PDG_SCALAR)[:, 0]
    counts, _ = np.histogram(sv[:, 3], E_BINS)
    assert _chi2_p(counts, *_weighted_prob(e_ref, w, E_BINS)) > P_MIN
    cbins = np.linspace(0, 1, 11)
    counts, _ = np.histogram(np.abs(sv[:, 2]) / np.linalg.norm(sv[:, :3], axis=1), cbins)
    prob, var = _weighted_prob(cz_ref, w_beam, cbins)
    assert _chi2_p(counts, prob, var) > P_MIN
    assert prob[-1] > 1.3 * prob[0]  # the prediction itself is far from flat (S along the beams), so the test has teeth


def test_scalar_kinematics_differ_from_the_zprime(fixed_energy_samples):
    """At the same mass the Z' energy spectrum fails the scalar prediction: the scalar needs its own samples."""
    scal, zp, (e_ref, _, w, _) = fixed_energy_samples
    e_s = _per_event(scal, scal.pdg == sc.PDG_SCALAR)[:, 0, 3]
    e_z = _per_event(zp, zp.pdg == S.PDG_ZPRIME)[:, 0, 3]
    counts, _ = np.histogram(e_z, E_BINS)
    assert _chi2_p(counts, *_weighted_prob(e_ref, w, E_BINS)) < 1e-10
    # no soft singularity for the scalar: a harder spectrum, many standard errors apart
    diff = e_s.mean() - e_z.mean()
    assert diff > 10 * math.hypot(e_s.std() / math.sqrt(e_s.size), e_z.std() / math.sqrt(e_z.size))


def test_seeded_reproducibility():
    rs = np.full(300, SQRT_S)
    a = sc.gen_scalar_mumu(300, np.random.default_rng(1), rs, mass=1.5)
    b = sc.gen_scalar_mumu(300, np.random.default_rng(1), rs, mass=1.5)
    c = sc.gen_scalar_mumu(300, np.random.default_rng(2), rs, mass=1.5)
    for k in ("px", "py", "pz", "E", "pdg", "mother", "ctau"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))
    assert not np.array_equal(a.px, c.px)

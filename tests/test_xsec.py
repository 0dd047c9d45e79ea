"""Cross sections, widths and branching fractions of the dark-sector signals.

The Z' cross section (samples.generator.xsec: Dirac traces of the muon tensor,
orientation-averaged beam tensor, nested Gauss-Legendre quadrature in the
Dalitz variables) is checked against an independent evaluation of the same
matrix element: explicit spinors and physical polarisation vectors (helicity
sum of |amplitude|^2), explicit beams along z, and a plain Monte Carlo over
sequential two-body phase space.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from samples import constants as C
from samples.generator import lorentz as lz
from samples.generator import matrix_elements as me
from samples.generator import signals as S
from samples.generator import xsec as xs

SQRT_S = C.SQRT_S_NOMINAL

# --------------------------------------------------------------------------
# Independent reference: helicity amplitudes with explicit spinors
# --------------------------------------------------------------------------
_SIG = [
    np.array([[0, 1], [1, 0]], complex),
    np.array([[0, -1j], [1j, 0]], complex),
    np.diag([1.0, -1.0]).astype(complex),
]
_G = [np.diag([1, 1, -1, -1]).astype(complex)] + [
    np.block([[np.zeros((2, 2)), s], [-s, np.zeros((2, 2))]]) for s in _SIG
]
_G = np.array(_G)  # gamma^mu, Dirac representation, rebuilt here on purpose
_ETA = np.array([1.0, -1.0, -1.0, -1.0])


def _minkowski(p):  # (px,py,pz,E) -> (E,px,py,pz)
    return np.concatenate([p[..., 3:], p[..., :3]], axis=-1)


def _slash_upper(v_upper):
    """v_mu gamma^mu for complex contravariant (..., 4) vectors in (E, x, y, z) order."""
    return np.einsum("...m,mij->...ij", v_upper * _ETA, _G)


def _sigma_dot(p3):
    return np.einsum("...i,ijk->...jk", p3.astype(complex), np.array(_SIG))


def _u_spinors(p, m):
    """(n, 2, 4) u(p, s) = [sqrt(E+m) xi ; sigma.p xi / sqrt(E+m)]."""
    e = p[:, 3]
    sp = _sigma_dot(p[:, :3])
    xi = np.eye(2, dtype=complex)
    top = np.sqrt(e + m)[:, None, None] * xi[None]
    bot = np.einsum("njk,sk->nsj", sp, xi) / np.sqrt(e + m)[:, None, None]
    return np.concatenate([top, bot], axis=-1)


def _v_spinors(p, m):
    """(n, 2, 4) v(p, s) = [sigma.p eta / sqrt(E+m) ; sqrt(E+m) eta]."""
    e = p[:, 3]
    sp = _sigma_dot(p[:, :3])
    eta = np.eye(2, dtype=complex)
    top = np.einsum("njk,sk->nsj", sp, eta) / np.sqrt(e + m)[:, None, None]
    bot = np.sqrt(e + m)[:, None, None] * eta[None]
    return np.concatenate([top, bot], axis=-1)


def _bar(sp):
    return np.einsum("nsi,ij->nsj", sp.conj(), _G[0])


def _polarisations(q, M):
    """(n, 3, 4) physical polarisation vectors (contravariant, (E, x, y, z)) of a massive vector."""
    n = q.shape[0]
    out = np.empty((n, 3, 4))
    E = q[:, 3]
    for i in range(3):
        e = np.zeros(3)
        e[i] = 1.0
        qe = q[:, i]
        out[:, i, 0] = qe / M
        out[:, i, 1:] = e[None] + (qe / (M * (E + M)))[:, None] * q[:, :3]
    return out


def msq_helicity(p1, p2, k1, k2, q, M, g=1.0, m=C.M_MU, pol=None):
    """sum |M|^2 for e-(p1) e+(p2) -> mu-(k1) mu+(k2) V(q), electrons massless, by explicit amplitudes."""
    e2 = 4 * math.pi * C.ALPHA_EM
    s = me.mdot(p1 + p2, p1 + p2)
    u1 = _u_spinors(p1, 0.0)
    v2b = _bar(_v_spinors(p2, 0.0))
    J = np.einsum("nai,mij,nbj->nabm", v2b, _G, u1).reshape(-1, 4, 4)  # (n, 4 hel, mu) contravariant
    eps = _polarisations(q, M) if pol is None else pol
    ub = _bar(_u_spinors(k1, m))
    v = _v_spinors(k2, m)
    I4 = np.eye(4)
    kq1 = _minkowski(k1 + q).astype(complex)
    kq2 = _minkowski(k2 + q).astype(complex)
    S1 = _slash_upper(kq1) + m * I4
    S2 = -_slash_upper(kq2) + m * I4
    D1 = (me.mdot(k1 + q, k1 + q) - m * m)[:, None, None, None, None]
    D2 = (me.mdot(k2 + q, k2 + q) - m * m)[:, None, None, None, None]
    Js = _slash_upper(J)[:, :, None]  # (n, 4, 1, 4, 4)
    Es = _slash_upper(eps.astype(complex))[:, None]  # (n, 1, 3, 4, 4), real polarisations
    S1b, S2b = S1[:, None, None], S2[:, None, None]
    Gam = Es @ S1b @ Js / D1 + Js @ S2b @ Es / D2  # (n, 4, 3, 4, 4)
    amp = np.einsum("nai,nhpij,nbj->nhpab", ub, Gam, v)
    return e2 * e2 * g * g / (s * s) * np.sum(np.abs(amp) ** 2, axis=(1, 2, 3, 4))


def _random_final_states(rng, n, M, m=C.M_MU, sqrt_s=SQRT_S):
    """Flat three-body phase space (sequential two-body), with the phase-space weight per point."""
    lo, hi = (m + M) ** 2, (sqrt_s - m) ** 2
    m23sq = rng.uniform(lo, hi, n)
    m23 = np.sqrt(m23sq)
    ct, phi = lz.random_directions(rng, n)
    k1, p23 = lz.two_body_decay_rest(np.full(n, sqrt_s), m, m23, ct, phi)
    ct2, phi2 = lz.random_directions(rng, n)
    k2, q = lz.two_body_decay_rest(m23, m, M, ct2, phi2)
    k2, q = lz.boost_from_rest_of(k2, p23), lz.boost_from_rest_of(q, p23)
    pa = lz.two_body_momentum(sqrt_s, m, m23)
    pb = lz.two_body_momentum(m23, m, M)
    w = pa / (4 * math.pi * sqrt_s) * pb / (4 * math.pi * m23) * (hi - lo) / (2 * math.pi)
    return k1, k2, q, w


def _beams(n, sqrt_s=SQRT_S):
    z = np.zeros(n)
    e = np.full(n, sqrt_s / 2)
    return np.stack([z, z, e, e], 1), np.stack([z, z, -e, e], 1)


# --------------------------------------------------------------------------
# tests: matrix element
# --------------------------------------------------------------------------
@pytest.mark.parametrize("M", [0.3, 2.0, 7.0])
def test_trace_tensor_equals_helicity_sum_pointwise(M):
    rng = np.random.default_rng(7)
    n = 200
    k1, k2, q, _ = _random_final_states(rng, n, M)
    # random beam orientation: rotate the final state instead of the beams
    ct, phi = lz.random_directions(rng, n)
    R = lz.rotation_z_to(lz.unit_vectors(ct, phi))
    k1, k2, q = (lz.rotate(v, R) for v in (k1, k2, q))
    p1, p2 = _beams(n)
    ref = msq_helicity(p1, p2, k1, k2, q, M)
    h = me.muon_tensor_v(k1, k2, q, C.M_MU)
    s = SQRT_S**2
    e4 = (4 * math.pi * C.ALPHA_EM) ** 2
    lh = me.beam_direction_weight(h, s, np.tile([0.0, 0.0, 1.0], (n, 1)))
    np.testing.assert_allclose(e4 / s**2 * lh, ref, rtol=1e-9)


def test_vector_current_is_conserved():
    """Polarisation eps -> q/M gives a zero amplitude: the -g polarisation sum is exact."""
    rng = np.random.default_rng(3)
    n, M = 50, 1.5
    k1, k2, q, _ = _random_final_states(rng, n, M)
    p1, p2 = _beams(n)
    longit = (_minkowski(q) / M)[:, None, :]
    assert np.max(msq_helicity(p1, p2, k1, k2, q, M, pol=longit)) < 1e-20 * np.max(msq_helicity(p1, p2, k1, k2, q, M))


@pytest.mark.parametrize("M", [1.0, pytest.param(4.0, marks=pytest.mark.slow)])
def test_zprime_xsec_matches_independent_mc(M):
    """Quadrature (traces, averaged beams) vs flat-phase-space MC with helicity amplitudes: < 2 %."""
    rng = np.random.default_rng(11)
    n = 60_000
    k1, k2, q, w = _random_final_states(rng, n, M)
    p1, p2 = _beams(n)
    s = SQRT_S**2
    vals = msq_helicity(p1, p2, k1, k2, q, M) / 4.0 * w / (2 * s) * C.GEV2_TO_FB
    mc, err = vals.mean(), vals.std() / math.sqrt(n)
    quad = xs.zprime_xsec_fb(M, 1.0)
    assert err / mc < 0.01
    assert abs(quad - mc) < max(4 * err, 0.0) and abs(quad / mc - 1) < 0.02


def test_zprime_xsec_quadrature_converged_and_scales_with_g2():
    a = xs.zprime_xsec_fb(0.5, 0.01)
    b = xs.zprime_xsec_fb(0.5, 0.01, n_outer=128, n_inner=64)
    assert abs(a / b - 1) < 1e-5
    assert xs.zprime_xsec_fb(0.5, 0.03) == pytest.approx(9 * a, rel=1e-12)
    sig = xs.zprime_xsec_fb(np.array([0.5, 1.0, 3.0, 8.0]))
    assert np.all(np.diff(sig) < 0) and np.all(sig > 0)


def test_zprime_xsec_order_of_magnitude():
    """Belle II (PRL 130, 231801; seed 002) quotes O(10 fb) signals at g' = 0.01 at low mass."""
    assert 1.0 < xs.zprime_xsec_fb(1.0, 0.01) < 100.0


def test_zprime_importance_sampling_reproduces_sigma():
    """The generator's weighted phase-space draws integrate to the quadrature result."""
    rng = np.random.default_rng(5)
    rs = np.full(30_000, SQRT_S)
    s1, s2, g = S.sample_mumuv_dalitz(rng, rs, 2.0)
    d, _, _ = xs.mumuv_dsigma_ds1ds2_fb(rs, s1, s2, 2.0, 1.0)
    w = d / g
    assert abs(w.mean() / xs.zprime_xsec_fb(2.0, 1.0) - 1) < 4 * w.std() / w.mean() / math.sqrt(w.size) + 1e-3


# --------------------------------------------------------------------------
# widths and branching fractions
# --------------------------------------------------------------------------
def test_widths_follow_the_formulas():
    M, g = 3.0, 0.02
    for ml, key in ((C.M_MU, "mumu"), (C.M_TAU, "tautau")):
        r = ml * ml / (M * M)
        ref = g * g * M / (12 * math.pi) * (1 + 2 * r) * math.sqrt(1 - 4 * r) if 4 * r < 1 else 0.0
        assert xs.zprime_partial_widths(M, g)[key] == pytest.approx(ref, rel=1e-12)
    assert xs.zprime_partial_widths(M, g)["nunu"] == pytest.approx(2 * g * g * M / (24 * math.pi), rel=1e-12)
    assert xs.zprime_width_ll(1.0, C.M_TAU) == 0.0
    tot = xs.zprime_total_width(M, g)
    assert tot == pytest.approx(sum(xs.zprime_partial_widths(M, g).values()))


def test_branching_fractions():
    masses = np.array([0.3, 1.0, 3.0, 5.0, 9.0])
    bf = xs.zprime_branching_fractions(masses)
    np.testing.assert_allclose(bf["mumu"] + bf["tautau"] + bf["invisible"], 1.0, rtol=1e-12)
    # far above the muon threshold: BF(mumu) = BF(nu nu, both flavours) = 1/2 below the tau threshold
    assert bf["mumu"][1] == pytest.approx(0.5, abs=0.01) and bf["tautau"][1] == 0.0
    # heavy Z': 1/3 each
    assert bf["tautau"][-1] == pytest.approx(1 / 3, abs=0.01)
    full = xs.zprime_branching_fractions(masses, invisible_extra=True)
    np.testing.assert_array_equal(full["invisible"], 1.0)


# --------------------------------------------------------------------------
# dark Higgsstrahlung and mono-photon
# --------------------------------------------------------------------------
def test_darkhiggs_xsec_matches_angular_integral():
    """Closed form (BPR 2009) = (1/2s) int |M|^2 dPhi2 with |M|^2 from the angular weight (re-derived)."""
    mA, mh, eps, aD = 4.0, 1.0, 1e-3, 0.5
    s = SQRT_S**2
    k = lz.two_body_momentum(SQRT_S, mA, mh)
    # 1/4 sum|M|^2 = e^2 eps^2 4 g_D^2 / (s - mA^2)^2 * (s/2)(2 mA^2 + k^2 sin^2)
    pref = 4 * math.pi * C.ALPHA_EM * eps**2 * 4 * 4 * math.pi * aD / (s - mA**2) ** 2 * s / 2

    def dsig(c):
        return pref * (2 * mA**2 + k**2 * (1 - c * c)) / (2 * s) * k / (16 * math.pi**2 * SQRT_S) * 2 * math.pi

    val, _ = integrate.quad(dsig, -1, 1)
    assert xs.darkhiggs_xsec_fb(mA, mh, eps, aD) == pytest.approx(val * C.GEV2_TO_FB, rel=1e-10)
    assert xs.darkhiggs_xsec_fb(mA, mh, 2 * eps, aD) == pytest.approx(4 * val * C.GEV2_TO_FB, rel=1e-10)


def test_monophoton_xsec_matches_numerical_integral():
    mA = 2.0
    th = (math.radians(30), math.radians(140))
    val, _ = integrate.quad(lambda c: xs.monophoton_dsigma_dcos_fb(c, mA, 1e-3), math.cos(th[1]), math.cos(th[0]))
    assert xs.monophoton_xsec_fb(mA, 1e-3, th) == pytest.approx(val, rel=1e-9)
    # massless limit: e+e- -> gamma gamma shape (1 + c^2)/(1 - c^2) times 2 pi alpha^2 eps^2/s
    c = 0.3
    ref = 2 * math.pi * C.ALPHA_EM**2 / SQRT_S**2 * (1 + c * c) / (1 - c * c) * C.GEV2_TO_FB
    assert xs.monophoton_dsigma_dcos_fb(c, 1e-6, 1.0) == pytest.approx(ref, rel=1e-6)


def test_registry_callables():
    bf = xs.zprime_branching_fractions(1.0)
    assert xs.XSEC["zprime_inv"](mass=1.0, coupling=0.01) == pytest.approx(xs.zprime_xsec_fb(1.0) * bf["invisible"])
    assert xs.XSEC["zprime_inv"](mass=1.0, coupling=0.01, invisible_extra=True) == pytest.approx(xs.zprime_xsec_fb(1.0))
    assert xs.XSEC["dark_higgsstrahlung"](mass=4.0, mass2=1.0, coupling=1e-3) > 0
    assert xs.XSEC["idm"](mass=3.0, mass2=0.5, mass3=0.8, coupling=1e-3) > 0
    assert xs.XSEC["monophoton"](mass=2.0, coupling=1e-3) > 0


@pytest.mark.parametrize(
    "call",
    [
        lambda: xs.zprime_xsec_fb(-1.0),
        lambda: xs.zprime_xsec_fb(11.0),
        lambda: xs.zprime_xsec_fb(0.0),
        lambda: xs.darkhiggs_xsec_fb(6.0, 5.0),
        lambda: xs.darkhiggs_xsec_fb(-1.0, 1.0),
        lambda: xs.monophoton_xsec_fb(11.0),
        lambda: xs.monophoton_xsec_fb(1.0, 1.0, (0.0, 1.0)),
        lambda: xs.zprime_branching_fractions(-2.0),
    ],
)
def test_unphysical_input_raises_value_error(call):
    with pytest.raises(ValueError, match=r"GeV|theta_range|mass"):
        call()


def test_zprime_decay_spin_correlation_matches_helicity_amplitudes():
    """Full e+e- -> mu mu (Z' -> tau tau) |M|^2: density matrix x decay tensor vs explicit amplitudes.

    The Z' polarisation vector is replaced by the decay current ubar(f1) gamma^a v(f2) (narrow width).
    """
    rng = np.random.default_rng(21)
    n, M, mf = 300, 5.0, C.M_TAU
    k1, k2, q, _ = _random_final_states(rng, n, M)
    f1, f2 = lz.decay_isotropic(rng, q, mf, mf)
    p1, p2 = _beams(n)
    jf = np.einsum("nai,mij,nbj->nabm", _bar(_u_spinors(f1, mf)), _G, _v_spinors(f2, mf)).reshape(n, 4, 4)
    ref = msq_helicity(p1, p2, k1, k2, q, M, pol=jf)
    dens = me.vector_production_density(k1, k2, q, C.M_MU, np.full(n, SQRT_S))
    a = _minkowski(f1) * _ETA
    b = _minkowski(f2) * _ETA
    c = me.mdot(f1, f2) + mf * mf
    W = 4 * (2 * np.einsum("na,nab,nb->n", a, dens, b) - c * np.einsum("naa,a->n", dens, _ETA))
    e4 = (4 * math.pi * C.ALPHA_EM) ** 2
    np.testing.assert_allclose(e4 / SQRT_S**4 * W, ref, rtol=1e-9)
    # the hit-or-miss weight never exceeds 1 and averages to 1/1.5 over decay angles
    w = me.vector_decay_weight(dens, f1, f2, mf, M)
    assert np.all(w <= 1.0 + 1e-12) and np.all(w >= 0)
    many = np.repeat(np.arange(n), 200)
    g1, g2 = lz.decay_isotropic(rng, q[many], mf, mf)
    wm = me.vector_decay_weight(dens[many], g1, g2, mf, M).reshape(n, 200).mean(axis=1)
    assert abs(np.mean(wm) * 1.5 - 1) < 0.02
    # and -g_ab P^ab is the V-polarisation-summed L.H of the production
    h = me.muon_tensor_v(k1, k2, q, C.M_MU)
    lh = me.beam_direction_weight(h, SQRT_S**2, np.tile([0.0, 0.0, 1.0], (n, 1)))
    np.testing.assert_allclose(-np.einsum("naa,a->n", dens, _ETA), lh, rtol=1e-9)


@pytest.mark.parametrize(("x1", "x2"), [(0.7, 0.8), (0.5, 0.9), (0.95, 0.3)])
def test_massless_limit_is_the_textbook_qqg_formula(x1, x2):
    """m_mu, M -> 0: dsigma/dx1dx2 = sigma0 alpha'/(2 pi) (x1^2 + x2^2)/((1 - x1)(1 - x2)), alpha' = g'^2/4pi

    (the e+e- -> q qbar g result with C_F alpha_s -> alpha'); fixes the absolute normalisation.
    """
    s = SQRT_S**2
    m, M = 1e-5, 1e-4
    s2 = s * (1 - x1) + m * m  # (k2 + q)^2 = (P - k1)^2
    s1 = s * (1 - x2) + m * m
    d, _, _ = xs.mumuv_dsigma_ds1ds2_fb(np.array([SQRT_S]), np.array([s1]), np.array([s2]), M, 1.0, m)
    sigma0 = 4 * math.pi * C.ALPHA_EM**2 / (3 * s) * C.GEV2_TO_FB
    ref = sigma0 / (8 * math.pi**2) * (x1 * x1 + x2 * x2) / ((1 - x1) * (1 - x2))
    assert d[0] * s * s == pytest.approx(ref, rel=1e-6)  # ds1 ds2 = s^2 dx1 dx2

"""Dark-sector signal generators: kinematics, truth bookkeeping, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from samples import constants as C
from samples.generator import lorentz as lz
from samples.generator import signals as S
from samples.generator import xsec as xs
from samples.generator.truth import TruthEvents

SQRT_S = C.SQRT_S_NOMINAL

CASES = {
    "zprime_inv": dict(mass=1.0),
    "zprime_mumu": dict(mass=2.0, coupling=0.02),
    "darkhiggs": dict(mass=4.0, mass2=1.0),
    "idm": dict(mass=3.0, mass2=0.5, mass3=0.8, ctau=5.0, ctau_h=2.0, h_decay="pipi"),
    "monophoton": dict(mass=3.0),
}


def _sqrt_s(rng, n):
    return SQRT_S + 0.005 * rng.standard_normal(n)


def _p4(ev: TruthEvents) -> np.ndarray:
    return np.stack([ev.px, ev.py, ev.pz, ev.E], axis=1)


def _per_event(ev: TruthEvents, mask: np.ndarray) -> np.ndarray:
    """(n_events, k, 4) four-vectors of the particles selected by ``mask`` (same count in every event)."""
    p = _p4(ev)[mask]
    return p.reshape(ev.n_events, -1, 4)


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(2024)
    out = {}
    for name, kw in CASES.items():
        rs = _sqrt_s(rng, 400)
        out[name] = (rs, S.SIGNALS[name](400, rng, rs, **kw))
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_four_momentum_conservation(samples, name):
    rs, ev = samples[name]
    tot = np.add.reduceat(_p4(ev) * ev.final[:, None], ev.offsets[:-1], axis=0)
    ref = np.stack([0 * rs, 0 * rs, 0 * rs, rs], axis=1)
    assert np.max(np.abs(tot - ref)) < 1e-6 * SQRT_S


@pytest.mark.parametrize("name", list(CASES))
def test_truth_bookkeeping(samples, name):
    _, ev = samples[name]
    local = np.arange(ev.pdg.size) - np.repeat(ev.offsets[:-1], ev.counts)
    assert np.all(ev.mother < local)  # mothers before daughters (-1 for primaries)
    for k in ("mc_mass", "mc_mass2", "mc_mass3", "mc_coupling", "mc_ctau", "weight"):
        assert ev.event[k].shape == (ev.n_events,)
    assert ev.event["mc_mass"][0] == CASES[name]["mass"]
    # intermediates are not final; every particle with daughters is an intermediate
    evt = ev.event_index()
    has_dau = np.zeros(ev.pdg.size, bool)
    d = ev.mother >= 0
    has_dau[(ev.offsets[:-1][evt] + ev.mother)[d]] = True
    assert not np.any(has_dau & ev.final)


def test_zprime_recoil_mass_equals_mass(samples):
    rs, ev = samples["zprime_inv"]
    mu = _per_event(ev, (np.abs(ev.pdg) == 13) & (ev.mother < 0))
    # The FSR photon off the muon pair (at most one, primary) is part of the visible system.
    g = ev.pdg == 22
    assert np.all(np.bincount(ev.event_index()[g], minlength=ev.n_events) <= 1) and np.all(ev.mother[g] < 0)
    photon = np.zeros((ev.n_events, 4))
    photon[ev.event_index()[g]] = np.stack([ev.px[g], ev.py[g], ev.pz[g], ev.E[g]], axis=1)
    beam = np.stack([0 * rs, 0 * rs, 0 * rs, rs], axis=1)
    np.testing.assert_allclose(lz.mass(beam - mu.sum(axis=1) - photon), 1.0, atol=1e-6)
    # Without the photon the recoil can only be heavier: (Z' + gamma)^2 >= M^2.
    assert np.all(lz.mass2(beam - mu.sum(axis=1)) > 1.0 - 1e-6)
    z = _per_event(ev, ev.pdg == S.PDG_ZPRIME)[:, 0]
    np.testing.assert_allclose(lz.mass(z), 1.0, atol=1e-9)
    inv = np.isin(np.abs(ev.pdg), (S.PDG_NU_MU, S.PDG_NU_TAU))
    assert inv.sum() == 2 * ev.n_events and np.all(ev.final[inv])


def test_zprime_mumu_has_four_muons(samples):
    _, ev = samples["zprime_mumu"]
    assert np.all(np.bincount(ev.event_index()[ev.final & (np.abs(ev.pdg) == 13)]) == 4)
    assert np.all(ev.event["mc_coupling"] == 0.02)
    ctau = ev.ctau[ev.pdg == S.PDG_ZPRIME]
    np.testing.assert_allclose(ctau, C.HBARC_GEV_CM / xs.zprime_total_width(2.0, 0.02))


def test_zprime_kinematics_follow_the_matrix_element():
    """Unweighted events vs the weighted Dalitz draws of the same ME: muon energy spectrum and recoil angle.

    The weighted sample fixes the (s1, s2) distribution; the recoil polar angle is compared with a
    flat-orientation sample reweighted by the exact beam tensor contraction L.H(n).
    """
    from samples.generator import matrix_elements as me

    rng = np.random.default_rng(99)
    M, n = 0.5, 4000
    ev = S.gen_zprime_inv(n, rng, np.full(n, SQRT_S), mass=M)
    mu = _per_event(ev, (np.abs(ev.pdg) == 13) & (ev.mother < 0))
    z = _per_event(ev, ev.pdg == S.PDG_ZPRIME)[:, 0]
    x_gen = mu[:, :, 3].ravel() / (SQRT_S / 2)
    cz_gen = np.abs(z[:, 2]) / np.linalg.norm(z[:, :3], axis=1)

    rs = np.full(20_000, SQRT_S)
    s1, s2, g = S.sample_mumuv_dalitz(rng, rs, M)
    d, (k1, k2, q), h = xs.mumuv_dsigma_ds1ds2_fb(rs, s1, s2, M, 1.0)
    w = d / g
    ct, phi = lz.random_directions(rng, rs.size)
    nb = lz.unit_vectors(ct, phi)
    lh = me.beam_direction_weight(h, rs**2, nb)
    w_full = w * lh / me.orientation_averaged_lh(h, rs**2)  # E over orientations of the ratio is 1
    x_ref = np.concatenate([k1[:, 3], k2[:, 3]]) / (SQRT_S / 2)
    cz_ref = np.abs(np.sum(q[:, :3] * nb, axis=1)) / np.linalg.norm(q[:, :3], axis=1)

    bins = np.linspace(0, 1, 11)
    for gen, ref, wr in ((x_gen, x_ref, np.concatenate([w, w])), (cz_gen, cz_ref, w_full)):
        hg, _ = np.histogram(gen, bins)
        hr, _ = np.histogram(ref, bins, weights=wr)
        pg = hg / hg.sum()
        pr = hr / hr.sum()
        err = np.sqrt(np.maximum(hg, 1)) / hg.sum()
        assert np.all(np.abs(pg - pr) < 5 * err + 0.01), (pg, pr)


def test_darkhiggs_masses_and_angular_distribution():
    rng = np.random.default_rng(4)
    n, mA, mh = 6000, 4.0, 1.0
    ev = S.gen_dark_higgsstrahlung(n, rng, np.full(n, SQRT_S), mass=mA, mass2=mh)
    mu = _per_event(ev, np.abs(ev.pdg) == 13)
    # A' -> mu mu (gamma_FSR): the muons with their photon make the A'; alone they are lighter.
    g = ev.pdg == 22
    photon = np.zeros((n, 4))
    photon[ev.event_index()[g]] = np.stack([ev.px[g], ev.py[g], ev.pz[g], ev.E[g]], axis=1)
    vis = mu.sum(axis=1) + photon
    np.testing.assert_allclose(lz.mass(vis), mA, rtol=1e-9)
    assert np.all(lz.mass(mu.sum(axis=1)) < mA + 1e-9) and 0.02 < g.sum() / n < 0.5
    beam = np.array([0, 0, 0, SQRT_S])
    np.testing.assert_allclose(lz.mass(beam - vis), mh, rtol=1e-7)
    assert ev.event["mc_mass2"][0] == mh
    # A' polar angle follows k^2 sin^2 + 2 mA^2 (comes out of the spin-correlated |M|^2)
    a = _per_event(ev, ev.pdg == S.PDG_APRIME)[:, 0]
    c = a[:, 2] / np.linalg.norm(a[:, :3], axis=1)
    bins = np.linspace(-1, 1, 9)
    hg, _ = np.histogram(c, bins)
    fine = np.linspace(-1, 1, 8001)
    wf = xs.darkhiggs_angular_weight(fine, mA, mh, SQRT_S)
    expect = np.histogram(fine, bins, weights=wf)[0]
    expect = expect / expect.sum() * n
    assert np.all(np.abs(hg - expect) < 5 * np.sqrt(expect))
    # and the distribution is not flat (it could fail if the correlation were dropped)
    assert hg[3] + hg[4] > 1.2 * (hg[0] + hg[-1])


def test_idm_structure(samples):
    _, ev = samples["idm"]
    m1 = CASES["idm"]["mass3"]
    chi2 = _per_event(ev, ev.pdg == S.PDG_CHI2)[:, 0]
    np.testing.assert_allclose(lz.mass(chi2), 1.4 * m1, rtol=1e-9)  # default delta_m = 0.4 m_chi1
    ee = _per_event(ev, np.abs(ev.pdg) == 11).sum(axis=1)
    assert np.all(lz.mass(ee) < 0.4 * m1 + 1e-9)
    np.testing.assert_allclose(ev.ctau[ev.pdg == S.PDG_CHI2], 5.0)
    np.testing.assert_allclose(ev.ctau[ev.pdg == S.PDG_DARK_HIGGS], 2.0)
    pis = _per_event(ev, np.abs(ev.pdg) == 211)
    np.testing.assert_allclose(lz.mass(pis.sum(axis=1)), CASES["idm"]["mass2"], rtol=1e-9)
    assert ev.event["mc_ctau"][0] == 5.0 and ev.event["mc_mass3"][0] == m1
    # chi2 -> chi1 e e is not flat phase space: m_ee is pushed low by the vector current? just sane range
    assert np.all(lz.mass(ee) > 2 * C.M_E - 1e-12)


def test_monophoton_photon_energy(samples):
    rs, ev = samples["monophoton"]
    gam = _per_event(ev, ev.pdg == 22)[:, 0]
    M = CASES["monophoton"]["mass"]
    np.testing.assert_allclose(gam[:, 3], (rs**2 - M**2) / (2 * rs), rtol=1e-12)
    th = np.arccos(gam[:, 2] / gam[:, 3])
    lo, hi = xs.DEFAULT_MONOPHOTON_THETA
    assert np.all((th >= lo) & (th <= hi))


def test_monophoton_angular_distribution():
    rng = np.random.default_rng(8)
    n, M = 20_000, 6.0
    ev = S.gen_monophoton(n, rng, np.full(n, SQRT_S), mass=M)
    c = _per_event(ev, ev.pdg == 22)[:, 0, 2] / ((SQRT_S**2 - M**2) / (2 * SQRT_S))
    c0, c1 = math.cos(xs.DEFAULT_MONOPHOTON_THETA[1]), math.cos(xs.DEFAULT_MONOPHOTON_THETA[0])
    bins = np.linspace(c0, c1, 11)
    hg, _ = np.histogram(c, bins)
    fine = np.linspace(c0, c1, 20001)
    expect = np.histogram(fine, bins, weights=xs.monophoton_dsigma_dcos_fb(fine, M))[0]
    expect = expect / expect.sum() * n
    assert np.all(np.abs(hg - expect) < 5 * np.sqrt(expect))


def test_seeded_reproducibility():
    a = S.gen_zprime_inv(200, np.random.default_rng(1), np.full(200, SQRT_S), mass=2.0)
    b = S.gen_zprime_inv(200, np.random.default_rng(1), np.full(200, SQRT_S), mass=2.0)
    np.testing.assert_array_equal(a.px, b.px)
    np.testing.assert_array_equal(a.pdg, b.pdg)


def test_zprime_tautau_uses_tau_decays():
    rng = np.random.default_rng(6)
    ev = S.gen_zprime_tautau(300, rng, np.full(300, SQRT_S), mass=5.0)
    taus = ev.pdg[np.abs(ev.pdg) == 15]
    assert taus.size == 600
    assert np.all(ev.ctau[np.abs(ev.pdg) == 15] > 0)
    tot = np.add.reduceat(_p4(ev) * ev.final[:, None], ev.offsets[:-1], axis=0)
    assert np.max(np.abs(tot - [0, 0, 0, SQRT_S])) < 1e-6 * SQRT_S


@pytest.mark.parametrize(
    ("name", "kw"),
    [
        ("zprime_inv", dict(mass=-1.0)),
        ("zprime_inv", dict(mass=10.5)),
        ("zprime_inv", dict(mass=1.0, coupling=-0.1)),
        ("zprime_inv", dict(mass=1.0, bogus=3)),
        ("zprime_tautau", dict(mass=3.0)),
        ("darkhiggs", dict(mass=6.0, mass2=5.0)),
        ("darkhiggs", dict(mass=0.1, mass2=1.0)),
        ("idm", dict(mass=1.0, mass2=0.5, mass3=0.8)),
        ("idm", dict(mass=3.0, mass2=0.5, mass3=0.8, h_decay="ee")),
        ("monophoton", dict(mass=11.0)),
        ("monophoton", dict(mass=0.0)),
    ],
)
def test_bad_parameters_raise_value_error(name, kw):
    with pytest.raises(ValueError, match=r"signals\."):
        S.SIGNALS[name](10, np.random.default_rng(0), np.full(10, SQRT_S), **kw)


def test_aprime_decay_weight_bounds_and_conserved_current_limit():
    """Weight in [0, 1], averages to 1/1.5; for m1 = m2 (conserved current) it is proportional to the
    e+e- -> (A' -> f f) formula (p1.k1)(p2.k2) + (p1.k2)(p2.k1) + m^2 (p1.p2) used for A' -> mu mu."""
    from samples.generator import matrix_elements as me

    rng = np.random.default_rng(12)
    n, mA, mh = 2000, 3.0, 0.5
    rs = np.full(n, SQRT_S)
    ct, phi = lz.random_directions(rng, n)
    pa, _ = lz.two_body_decay_rest(rs, mA, mh, ct, phi)
    for m1, m2 in ((0.8, 1.12), (0.4, 0.4)):
        f1, f2 = lz.decay_isotropic(rng, pa, m1, m2)
        w = S.aprime_decay_weight(pa, f1, f2, m1, m2, rs)
        assert np.all(w >= 0) and np.all(w <= 1 + 1e-12)
    assert (
        abs(1.5 * np.mean(S.aprime_decay_weight(pa, *lz.decay_isotropic(rng, pa, 0.8, 1.12), 0.8, 1.12, rs)) - 1) < 0.03
    )
    m = 0.4
    pa1 = np.repeat(pa[:1], 50, axis=0)
    f1, f2 = lz.decay_isotropic(rng, pa1, m, m)
    b1 = np.tile([0, 0, SQRT_S / 2, SQRT_S / 2], (50, 1))
    b2 = np.tile([0, 0, -SQRT_S / 2, SQRT_S / 2], (50, 1))
    ref = me.mdot(b1, f1) * me.mdot(b2, f2) + me.mdot(b1, f2) * me.mdot(b2, f1) + m * m * me.mdot(b1, b2)
    ratio = S.aprime_decay_weight(pa1, f1, f2, m, m, rs[:50]) / ref
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)


def test_signal_fsr_follows_the_leading_log_radiator():
    """radiate_pair keeps the pair four-momentum, emits with the LL probability of the dipole and leaves
    events without a photon untouched; Z' -> mu mu radiates off both muon pairs."""
    from samples.generator import qed
    from samples.generator.phasespace import radiator_beta

    rng = np.random.default_rng(5)
    n, W = 40000, 6.0
    ct, phi = lz.random_directions(rng, n)
    a, b = lz.two_body_decay_rest(np.full(n, W), C.M_MU, C.M_MU, ct, phi)
    boost = np.zeros((n, 3))
    boost[:, 2] = 0.4
    a, b = lz.boost(a, boost), lz.boost(b, boost)
    a2, b2, g, has = S.radiate_pair(rng, a, b, C.M_MU)
    np.testing.assert_allclose(a2 + b2 + g, a + b, atol=1e-9)
    np.testing.assert_allclose(a2[~has], a[~has], atol=1e-9)
    # P(x > x0), x0 = 2 kmin / W (kmin: soft photons not emitted), from the LL density
    # beta x^(beta - 1) [(1 + 3 beta / 4) - (1 - x / 2) x^(1 - beta)] integrated numerically (u = x^beta).
    beta = float(radiator_beta(np.array([W * W]), C.M_MU)[0])
    u = np.linspace(0.0, 1.0, 200001)[1:]
    x = u ** (1.0 / beta)
    dens = (1.0 + 0.75 * beta) - (1.0 - 0.5 * x) * x ** (1.0 - beta)
    expected = dens[x > 2.0 * qed.KMIN_DEFAULT / W].sum() / dens.sum()
    assert abs(has.mean() - expected) < 4 * np.sqrt(expected / n) + 0.01 * expected, (has.mean(), expected)
    # Photons peak along their emitter (eikonal, log-flat in 1 - cos down to the dead cone): median angle to the
    # nearer lepton ~0.3 rad, against pi/2 for isotropic photons.
    cos_a = (
        np.einsum("ij,ij->i", g[has, :3], a2[has, :3])
        / np.linalg.norm(g[has, :3], axis=1)
        / np.linalg.norm(a2[has, :3], axis=1)
    )
    cos_b = (
        np.einsum("ij,ij->i", g[has, :3], b2[has, :3])
        / np.linalg.norm(g[has, :3], axis=1)
        / np.linalg.norm(b2[has, :3], axis=1)
    )
    assert np.median(np.arccos(np.clip(np.maximum(cos_a, cos_b), -1, 1))) < 0.5
    ev = S.gen_zprime_mumu(4000, np.random.default_rng(6), np.full(4000, SQRT_S), mass=2.0, coupling=0.02)
    g_z = (ev.pdg == 22) & (ev.mother >= 0)
    g_p = (ev.pdg == 22) & (ev.mother < 0)
    assert 0.05 < g_z.sum() / ev.n_events < 0.5 and 0.05 < g_p.sum() / ev.n_events < 0.5

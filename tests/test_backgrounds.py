"""SM background generators (samples/generator/backgrounds.py and the modules behind it)."""

from __future__ import annotations

import numpy as np
import pytest

from samples import constants as C
from samples.generator import lorentz as L
from samples.generator.backgrounds import GENERATORS, XSEC_FB
from samples.generator.neutrinos import gnunu_xsec_fb, sigma0_nunu_fb
from samples.generator.phasespace import breit_wheeler_weight, eikonal_weight
from samples.generator.truth import TruthEvents

EXPECTED = {
    "mumu", "tautau", "ee", "gg", "eemumu", "eeee", "eetautau", "mumumumu", "mumutautau",
    "uu", "dd", "ss", "cc", "gnunu",
    "tautau_mu",  # tautau with tau -> mu nu nu enriched and weighted back (tests/test_tau_bias.py)
    "gg_corner", "ee_wide",  # mono-photon corners, weighted (tests/searches/monophoton/test_generator.py)
    "eemumu_corner",  # e e mu mu toward the lost-electrons barrel-recoil corner, weighted (test_twophoton_corner.py)
}  # fmt: skip


def _sqrt_s(n: int, rng: np.random.Generator) -> np.ndarray:
    return C.SQRT_S_NOMINAL + 0.005 * rng.standard_normal(n)


def _gen(name: str, n: int, seed: int = 1, **kw) -> tuple[TruthEvents, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = _sqrt_s(n, rng)
    return GENERATORS[name](n, rng, s, **kw), s


def _first(ev: TruthEvents, pdg: int) -> np.ndarray:
    """Flat index of the first particle with this pdg in every event (-1 if none)."""
    ei = ev.event_index()
    idx = np.full(ev.n_events, -1)
    w = np.flatnonzero(ev.pdg == pdg)[::-1]
    idx[ei[w]] = w
    return idx


def _cos(ev: TruthEvents, i: np.ndarray) -> np.ndarray:
    return ev.pz[i] / np.sqrt(ev.px[i] ** 2 + ev.py[i] ** 2 + ev.pz[i] ** 2)


def test_table_complete():
    assert set(GENERATORS) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_four_momentum_conservation_and_structure(name):
    n = 3000
    ev, s = _gen(name, n)
    assert ev.n_events == n and ev.counts.min() >= 2
    ei = ev.event_index()
    f = ev.final
    tot = np.stack([np.bincount(ei[f], w[f], minlength=n) for w in (ev.px, ev.py, ev.pz, ev.E)], axis=1)
    target = np.stack([0 * s, 0 * s, 0 * s, s], axis=1)
    assert np.max(np.abs(tot - target)) / s.min() < 1e-6
    # mothers come before their daughters, indices are within the event
    local = np.arange(ei.shape[0]) - ev.offsets[ei]
    assert np.all(ev.mother < local) and np.all(ev.mother >= -1)
    # every non-final particle with daughters: daughters sum to it (decays conserve too)
    has_m = ev.mother >= 0
    parent = ev.offsets[ei[has_m]] + ev.mother[has_m]
    for comp in (ev.px, ev.E):
        s_kids = np.bincount(parent, comp[has_m], minlength=ei.shape[0])
        parents = np.unique(parent)
        assert np.allclose(s_kids[parents], comp[parents], atol=1e-7)
    # intermediates are never final; physical energies
    assert not np.any(ev.final & np.isin(np.abs(ev.pdg), [15, 111, 213, 20213, 310]))
    assert np.all(ev.E >= 0)
    assert set(ev.event) >= {"weight"}


@pytest.mark.parametrize("name", ["mumu", "tautau", "eemumu", "uu", "gnunu"])
def test_reproducible_with_seed(name):
    a, _ = _gen(name, 500, seed=7)
    b, _ = _gen(name, 500, seed=7)
    c, _ = _gen(name, 500, seed=8)
    for k in ("counts", "pdg", "px", "E", "mother", "ctau", "final"):
        assert np.array_equal(getattr(a, k), getattr(b, k)), k
    assert not np.array_equal(a.px[:50], c.px[:50])


def test_mumu_angular_distribution_is_1_plus_cos2():
    n = 150_000
    ev, _ = _gen("mumu", n, seed=3)
    i = _first(ev, 13)
    # CMS angle of the mu-, in events without hard radiation (pair frame ~ CMS)
    gam = ev.pdg == 22
    eg = np.bincount(ev.event_index()[gam], ev.E[gam], minlength=n)
    c = _cos(ev, i)[eg < 0.1]
    h, e = np.histogram(c, 40, (-1.0, 1.0))
    x = 0.5 * (e[1:] + e[:-1])
    w = 1.0 / np.maximum(h, 1)
    A = np.stack([np.ones_like(x), x * x], axis=1)
    cov = np.linalg.inv(A.T @ (A * w[:, None]))
    p = cov @ (A.T @ (w * h))
    a = p[1] / p[0]
    sig = np.sqrt(cov[1, 1]) / p[0]
    assert abs(a - 1.0) < 4 * sig + 0.02, (a, sig)
    chi2 = np.sum(w * (h - A @ p) ** 2)
    assert chi2 < 38 + 4 * np.sqrt(2 * 38)


def test_mumu_radiation_spectra():
    n = 100_000
    ev, s = _gen("mumu", n, seed=4)
    gam = ev.pdg == 22
    isr = gam & (ev.mother == -1)
    # ISR and FSR share slots: the leading photons; ISR photons are collinear with the beams
    mu = _first(ev, 13)
    mup = _first(ev, -13)
    pm = np.stack([ev.px, ev.py, ev.pz], 1)
    ei = ev.event_index()
    cg = ev.pz[isr] / ev.E[isr]
    hard = ev.E[isr] > 0.5

    # photons are near a beam or near a muon: angle to nearest muon / beam
    def ang(u, v):
        return np.arccos(np.clip(np.sum(u * v, 1) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1), -1, 1))

    a_mu = np.minimum(ang(pm[isr], pm[mu[ei[isr]]]), ang(pm[isr], pm[mup[ei[isr]]]))
    a_beam = np.arccos(np.abs(cg))
    near = np.minimum(a_mu, a_beam)
    assert np.median(near) < 0.1  # collinear peaks (beam: ~1e-4 rad, muon: dead cone ~ m/E)
    assert np.mean(a_beam[hard] < 0.1) > 0.5  # hard photons mostly ISR along the beam
    # spectrum: falls like ~1/E (LL radiator), with a radiative-return tail to E ~ sqrt(s)/2
    e = ev.E[isr]
    n1 = np.sum((e > 0.01) & (e < 0.1))
    n2 = np.sum((e > 0.1) & (e < 1.0))
    assert 0.6 < n2 / n1 < 1.4  # equal per decade for a 1/E spectrum
    assert e.max() < 0.5 * s.max() and np.mean(e > 4.0) > 0.05
    # exact recoil: M(mu mu) == sqrt(s') when only ISR is present
    single = np.bincount(ei[gam], minlength=n) == 1
    tot = np.stack([np.bincount(ei, w * (np.abs(ev.pdg) == 13), minlength=n) for w in (ev.px, ev.py, ev.pz, ev.E)], 1)
    m2 = L.mass2(tot)
    k = np.bincount(ei[gam], ev.E[gam], minlength=n)
    assert np.allclose(m2[single], s[single] * (s[single] - 2 * k[single]), rtol=1e-9)


def test_bhabha_forward_peaked_and_in_range():
    n = 40_000
    ev, _ = _gen("ee", n, seed=5, isr=False, fsr=False)
    c = _cos(ev, _first(ev, 11))
    afb = np.mean(c > 0) - np.mean(c < 0)
    assert afb > 0.9  # e- follows the e- beam (+z): t-channel
    assert np.all(np.abs(c) <= np.cos(np.radians(10.0)) + 1e-9)
    # t-channel 1/sin^4(theta/2): steeply rising towards 10 deg
    h, _ = np.histogram(c, [0.0, 0.5, 0.9, 0.98])
    assert h[2] > h[1] > h[0]


def test_gamma_gamma_angles():
    n = 40_000
    ev, _ = _gen("gg", n, seed=6, isr=False)
    c = _cos(ev, _first(ev, 22))
    assert np.all(np.abs(c) <= np.cos(np.radians(10.0)) + 1e-9)
    # (1 + c^2)/(1 - c^2): ratio of counts |c| in [0.9, 0.95] vs [0, 0.05]
    r = np.sum((np.abs(c) > 0.9) & (np.abs(c) < 0.95)) / np.sum(np.abs(c) < 0.05)
    expect = (np.arctanh(0.95) - np.arctanh(0.9)) * 2 - 0.05  # integral of (1+c^2)/(1-c^2) = 2 artanh c - c
    expect /= 2 * np.arctanh(0.05) - 0.05
    assert abs(r / expect - 1) < 0.1


def test_breit_wheeler_weight_is_bounded():
    omb = np.array([1.0, 0.5, 0.1, 1e-3, 1e-9])[:, None]  # 1 - beta
    c = np.linspace(-1, 1, 2001)[None, :]
    w = breit_wheeler_weight(omb, 1 - c, 1 + c)
    assert np.all(w <= 1.0 + 1e-12) and np.all(w >= 0.0)
    assert w[-1].max() > 0.99  # the bound is reached for b -> 1 (the 1/2 is needed)
    e = eikonal_weight(omb, 1 - c, 1 + c)
    assert np.all(e <= 1.0 + 1e-12) and np.all(e >= -1e-12)
    assert np.allclose(e[1:, [0, -1]], 0.0, atol=1e-9)  # dead cone: no emission exactly along the emitter


@pytest.mark.parametrize("name,wmin", [("eemumu", 0.5), ("eeee", 0.5), ("eetautau", 2 * C.M_TAU)])
def test_two_photon_W_and_spectators(name, wmin):
    n = 8000
    ev, _ = _gen(name, n, seed=9)
    off = ev.offsets[:-1]
    a, b = off + 2, off + 3  # the produced pair follows the two spectators
    p = np.stack([ev.px[a] + ev.px[b], ev.py[a] + ev.py[b], ev.pz[a] + ev.pz[b], ev.E[a] + ev.E[b]], 1)
    W = L.mass(p)
    assert W.min() > wmin
    # spectators: e- first (along +z), e+ second, at very small angles (down the beam pipe)
    assert np.all(ev.pdg[off] == 11) and np.all(ev.pdg[off + 1] == -11)
    th_m = np.degrees(np.arccos(_cos(ev, off)))
    th_p = np.degrees(np.arccos(-_cos(ev, off + 1)))
    assert np.median(th_m) < 2.0 and np.median(th_p) < 2.0
    assert np.mean(th_m > C.CDC_THETA_MIN_DEG) < 0.25
    # low pT of the pair
    assert np.median(np.hypot(p[:, 0], p[:, 1])) < 0.5


def test_two_photon_w_falls():
    ev, _ = _gen("eemumu", 10_000, seed=10)
    off = ev.offsets[:-1]
    a, b = off + 2, off + 3
    p = np.stack([ev.px[a] + ev.px[b], ev.py[a] + ev.py[b], ev.pz[a] + ev.pz[b], ev.E[a] + ev.E[b]], 1)
    h, _ = np.histogram(L.mass(p), [0.5, 1.0, 2.0, 4.0])
    assert h[0] > h[1] > h[2] > 0


def test_four_lepton_virtual_photon_mass_falls():
    ev, _ = _gen("mumumumu", 10_000, seed=12)
    g = ev.pdg == 22
    M = L.mass(np.stack([ev.px[g], ev.py[g], ev.pz[g], ev.E[g]], 1))
    assert M.min() >= 2 * C.M_MU - 1e-9
    edges = np.array([0.5, 1.0, 2.0, 4.0, 8.0])
    h, _ = np.histogram(M, edges)
    dens = h / np.diff(edges)
    assert np.all(np.diff(dens) < 0)  # falling density
    assert 0.7 < h[1] / h[2] < 1.4  # ~ dM/M: equal counts per octave
    assert np.sum(np.abs(ev.pdg) == 13) == 4 * 10_000


@pytest.mark.parametrize("name", ["uu", "ss", "cc"])
def test_qqbar_multiplicity_and_pt(name):
    n = 5000
    ev, _ = _gen(name, n, seed=13)
    ei = ev.event_index()
    ch = ev.final & np.isin(np.abs(ev.pdg), [211, 321])
    nch = np.bincount(ei[ch], minlength=n)
    assert 9.0 < nch.mean() < 12.5
    assert np.all(nch % 2 == 0)  # charge conservation
    q = np.sign(ev.pdg) * ch
    assert np.all(np.bincount(ei, q, minlength=n) == 0)
    ks = ev.pdg == 310
    assert ks.any() and np.allclose(ev.ctau[ks], C.KS_CTAU_CM)
    # two jets: the quark is first, antiquark second
    off = ev.offsets[:-1]
    assert np.all(ev.pdg[off] > 0) and np.all(ev.pdg[off] == -ev.pdg[off + 1])


def test_gnunu_cross_section_and_spectrum():
    s = C.SQRT_S_NOMINAL**2
    assert sigma0_nunu_fb(s) == pytest.approx(264.0, rel=0.03)
    x1 = gnunu_xsec_fb(0.5, (-0.95, 0.95))
    x2 = gnunu_xsec_fb(1.0, (-0.95, 0.95))
    assert XSEC_FB["gnunu"] == pytest.approx(x1)
    assert 0 < x2 < x1 < sigma0_nunu_fb(s)
    assert gnunu_xsec_fb(0.5, (-0.5, 0.5)) < x1
    # the generated spectrum follows the same formula
    n = 40_000
    ev, _ = _gen("gnunu", n, seed=14)
    eg = ev.E[ev.pdg == 22]
    frac = np.mean(eg > 1.0)
    assert abs(frac - x2 / x1) < 4 * np.sqrt(frac * (1 - frac) / n)
    with pytest.raises(ValueError, match="cos_range"):
        gnunu_xsec_fb(0.5, (0.5, -0.5))


def test_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="sqrt_s"):
        GENERATORS["mumu"](10, rng, np.full(5, 10.58))
    with pytest.raises(ValueError, match="w_min"):
        GENERATORS["eemumu"](10, rng, np.full(10, 10.58), w_min=-1.0)


def test_two_photon_epa_cross_section_close_to_table_for_muons():
    from samples.generator.twophoton import epa_xsec_nb

    sig = epa_xsec_nb(C.M_MU, 0.5, n=400_000)
    assert abs(sig / C.XSEC_NB["eemumu"] - 1.0) < 0.3, sig


def test_qqbar_pt_wrt_jet_axis():
    n = 4000
    ev, _ = _gen("uu", n, seed=15)
    ei = ev.event_index()
    q = ev.offsets[:-1]
    ax = np.stack([ev.px[q], ev.py[q], ev.pz[q]], 1)
    ax /= np.linalg.norm(ax, axis=1)[:, None]
    prim = (ev.mother == 0) | (ev.mother == 1)  # hadrons attached to the q / qbar
    p = np.stack([ev.px, ev.py, ev.pz], 1)[prim]
    pl = np.sum(p * ax[ei[prim]], axis=1)
    pt = np.sqrt(np.maximum(np.sum(p * p, axis=1) - pl**2, 0.0))
    assert 0.28 < pt.mean() < 0.42  # <p_T> ~ 0.35 GeV w.r.t. the jet axis
    # jets: the two quark directions are roughly back to back
    cosqq = np.sum(ax * (np.stack([ev.px[q + 1], ev.py[q + 1], ev.pz[q + 1]], 1)), axis=1)
    cosqq /= np.linalg.norm(np.stack([ev.px[q + 1], ev.py[q + 1], ev.pz[q + 1]], 1), axis=1)
    assert np.median(cosqq) < -0.9


@pytest.mark.parametrize("name", ["mumu", "tautau"])
def test_off_nominal_sqrt_s_reaches_the_isr_endpoint_safely(name):
    # the ISR table is built at the nominal energy; lower per-event sqrt(s) must not
    # push the pair below threshold (that used to be a possible endless redraw)
    n = 20_000
    s = np.full(n, C.SQRT_S_NOMINAL - 0.2)
    ev = GENERATORS[name](n, np.random.default_rng(3), s)
    ei = ev.event_index()
    e = np.bincount(ei[ev.final], ev.E[ev.final], minlength=n)
    assert np.allclose(e, s, rtol=1e-9)

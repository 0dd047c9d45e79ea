"""Dark-sector signal generators: ``gen(n, rng, sqrt_s, **params) -> TruthEvents``.

All events are in the e+e- CMS with the e- beam along +z; every particle is kept
(intermediates with ``final=False``; dark / neutrino final states ``final=True``
and invisible to the detector). Cross sections live in samples.generator.xsec.

PDG codes used for the dark states (PDG Monte Carlo numbering scheme: 32 = Z',
51-60 = dark-matter states and mediators; 57 is a project choice for chi2):
Z' 32, A' 55, h' 54, chi1 52, chi2 57 (constants below).

Sampling of e+e- -> mu mu Z' (the expensive one): the two Dalitz invariants
s_i = (k_i + q)^2 are drawn with a density ~ 1/(s_i - m^2) (multi-channel, every
draw physical), weighted by the orientation-averaged |M|^2 and unweighted
(efficiency ~ 35 %, no weight above the pilot maximum in 1e5 draws); the beam
direction is then drawn from the exact L_{mu nu} H^{mu nu}(n), and Z' -> f fbar
from the spin-correlated production density matrix.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from samples import constants as C
from samples.generator import lorentz as lz
from samples.generator import matrix_elements as me
from samples.generator import qed
from samples.generator import xsec as xs
from samples.generator.scalar import gen_alp_tautau, gen_scalar_mumu, gen_scalar_tautau
from samples.generator.slots import SlotEvents
from samples.generator.truth import TruthEvents

PDG_ZPRIME = 32
PDG_CHI1 = 52  # spin-1/2 dark matter (stable)
PDG_DARK_HIGGS = 54  # spin-0 mediator h'
PDG_APRIME = 55  # spin-1 mediator A'
PDG_CHI2 = 57  # excited dark state of iDM (unassigned code in the DM range)
PDG_NU_MU, PDG_NU_TAU = 14, 16

_LOG_FRACTION = 0.8  # share of the log-uniform component in the Dalitz importance density


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def _sqrt_s_array(n: int, sqrt_s: np.ndarray | float) -> np.ndarray:
    out = np.broadcast_to(np.asarray(sqrt_s, dtype=np.float64), (n,)).copy()
    if np.any(~np.isfinite(out)) or np.any(out <= 0):
        raise ValueError("signal generator: sqrt_s must be positive and finite for every event")
    return out


def _positive(name: str, value: float, gen: str) -> float:
    if value is None or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{gen}: {name}={value} must be a positive number (GeV or cm)")
    return float(value)


def _event_columns(n: int, mass=0.0, mass2=0.0, mass3=0.0, coupling=0.0, ctau=0.0) -> dict[str, np.ndarray]:
    cols = {"mc_mass": mass, "mc_mass2": mass2, "mc_mass3": mass3, "mc_coupling": coupling, "mc_ctau": ctau}
    out = {k: np.full(n, float(v)) for k, v in cols.items()}
    out["weight"] = np.ones(n)
    return out


def _random_rotation_about_z(rng: np.random.Generator, n: int) -> np.ndarray:
    phi = rng.uniform(0.0, 2.0 * math.pi, n)
    c, s = np.cos(phi), np.sin(phi)
    R = np.zeros((n, 3, 3))
    R[:, 0, 0], R[:, 0, 1], R[:, 1, 0], R[:, 1, 1], R[:, 2, 2] = c, -s, s, c, 1.0
    return R


def _rotate_all(R: np.ndarray, *vs: np.ndarray) -> list[np.ndarray]:
    return [lz.rotate(v, R) for v in vs]


def _hit_or_miss(
    rng: np.random.Generator,
    n: int,
    draw: Callable[[np.ndarray], tuple],
    accept: Callable[..., np.ndarray],
):
    """Vectorised accept-reject over n rows: ``draw(rows)`` gives candidate arrays for the rows still
    pending, ``accept(rows, *cand)`` their acceptance probability in [0, 1]."""
    out: list[np.ndarray] | None = None
    todo = np.arange(n)
    for _ in range(10_000):
        if todo.size == 0:
            return out
        cand = draw(todo)
        ok = rng.uniform(size=todo.size) < accept(todo, *cand)
        if out is None:
            out = [np.empty((n, *c.shape[1:])) for c in cand]
        for o, c in zip(out, cand, strict=True):
            o[todo[ok]] = c[ok]
        todo = todo[~ok]
    raise RuntimeError("signal generator: accept-reject did not converge (efficiency ~ 0); report this")


# --------------------------------------------------------------------------
# e+e- -> mu+ mu- Z' from the matrix element
# --------------------------------------------------------------------------
def _mix_sample(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Draw u in [lo, hi] from f_log * (log-uniform) + (1 - f_log) * (uniform)."""
    use_log = rng.uniform(size=lo.shape) < _LOG_FRACTION
    r = rng.uniform(size=lo.shape)
    return np.where(use_log, lo * (hi / lo) ** r, lo + (hi - lo) * r)


def _mix_density(u: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return _LOG_FRACTION / (u * np.log(hi / lo)) + (1.0 - _LOG_FRACTION) / (hi - lo)


def radiate_pair(
    rng: np.random.Generator, a: np.ndarray, b: np.ndarray, m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Final-state radiation off a charged-lepton pair a, b (n, 4), PHOTOS-like: the pair's four-momentum P
    is kept and shared among a', b' and at most one photon, so the rest of the event is untouched.

    In the rest frame of P (mass W) the photon energy fraction x = 2k/W follows the leading-log radiator of
    the dipole, beta x^(beta - 1) (1 - x + x^2/2) with beta = 2 alpha/pi (ln(W^2/m^2) - 1), its angle to the
    emitter the eikonal factor with the dead cone m/E, and the three-body state is built exactly
    (qed.fsr_pair_rest: the radiator of the mu mu(gamma) background, here with a's direction kept). Photons
    below qed.KMIN_DEFAULT stay in the leptons (soft-photon limit). Returns (a', b', photon, has photon).
    """
    P = a + b
    W = lz.mass(P)
    ar = lz.boost_to_rest_of(a, P)
    pa = np.linalg.norm(ar[:, :3], axis=1)
    direction = (ar[:, 2] / pa, np.arctan2(ar[:, 1], ar[:, 0]))
    f, fbar, g, has = qed.fsr_pair_rest(rng, W, m, _no_cos_sampler, True, qed.KMIN_DEFAULT, direction=direction)
    beta = P[:, :3] / P[:, 3:4]
    return lz.boost(f, beta), lz.boost(fbar, beta), lz.boost(g, beta), has


def _no_cos_sampler(rng: np.random.Generator, n: int) -> np.ndarray:  # pragma: no cover - never called
    raise AssertionError("radiate_pair fixes the direction")


def sample_mumuv_dalitz(rng: np.random.Generator, sqrt_s: np.ndarray, M: float, m: float = C.M_MU):
    """Importance-sampled (s1, s2) = ((k1+q)^2, (k2+q)^2) and the sampling density g(s1, s2).

    Why: |M|^2 ~ 1/((s1 - m^2)(s2 - m^2)) (collinear and soft V emission), so
    u_i = s_i - m^2 is drawn mostly log-uniformly. Two symmetric channels (draw
    s1 first over its full range and s2 inside the Dalitz limits at that s1, or
    the reverse), combined as a multi-channel density, so every draw is
    physical and the weight |M|^2 dPhi / g is bounded.
    """
    n = sqrt_s.shape[0]
    s = sqrt_s**2
    m2 = m * m
    lo = np.full(n, (m + M) ** 2 - m2)
    hi = (sqrt_s - m) ** 2 - m2
    ua = _mix_sample(rng, lo, hi)
    blo, bhi = xs.s2_limits(s, ua + m2, m, M)
    ub = _mix_sample(rng, blo - m2, bhi - m2)
    swap = rng.uniform(size=n) < 0.5
    u1 = np.where(swap, ub, ua)
    u2 = np.where(swap, ua, ub)

    def g_channel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        ylo, yhi = xs.s2_limits(s, x + m2, m, M)
        inside = (y + m2 >= ylo) & (y + m2 <= yhi)
        return np.where(inside, _mix_density(x, lo, hi) * _mix_density(y, ylo - m2, yhi - m2), 0.0)

    g = 0.5 * g_channel(u1, u2) + 0.5 * g_channel(u2, u1)
    return u1 + m2, u2 + m2, g


@lru_cache(maxsize=256)
def _mumuv_wmax(M: float, sqrt_s: float, m: float) -> float:
    """Maximum weight from a fixed-seed pilot run (x 1.3 safety margin)."""
    rng = np.random.default_rng(12345)
    rs = np.full(20_000, sqrt_s)
    s1, s2, g = sample_mumuv_dalitz(rng, rs, M, m)
    dsig, _, _ = xs.mumuv_dsigma_ds1ds2_fb(rs, s1, s2, M, 1.0, m)
    return 1.3 * float(np.max(dsig / g))


def sample_beam_direction(rng: np.random.Generator, h: np.ndarray, s: np.ndarray) -> np.ndarray:
    """e- beam direction n (n_z >= 0) for final states with tensor H, from L_{mu nu} H^{mu nu}(n)."""
    hs = h[:, 1:, 1:]
    lam_min = np.linalg.eigvalsh(hs)[:, 0]
    tr = me.trace_lower(h)
    bound = h[:, 0, 0] - lam_min - tr  # max over n of H00 - n.Hs.n - tr

    n = h.shape[0]
    out = np.empty((n, 3))
    todo = np.arange(n)
    while todo.size:  # hit-or-miss on the hemisphere n_z >= 0 (the weight is even in n)
        ct, phi = lz.random_directions(rng, todo.size)
        nv = lz.unit_vectors(np.abs(ct), phi)
        w = me.beam_direction_weight(h[todo], s[todo], nv) / (2.0 * s[todo] * bound[todo])
        ok = rng.uniform(size=todo.size) < w
        out[todo[ok]] = nv[ok]
        todo = todo[~ok]
    return out


def generate_mumuv(rng: np.random.Generator, sqrt_s: np.ndarray, M: float, m: float = C.M_MU):
    """Unweighted mu-(k1), mu+(k2), V(q) in the CMS (e- along +z) drawn from the e+e- -> mu mu V matrix element.

    Step 1: (s1, s2) by importance sampling + hit-or-miss on w = dsigma/ds1ds2 / g
    (orientation-averaged |M|^2). Step 2: the beam direction relative to the
    final-state plane from the exact L_{mu nu} H^{mu nu}(n). Step 3: a uniform
    azimuth about the beam. The weight ratio per event uses that event's sqrt(s).
    """
    n = sqrt_s.shape[0]
    wmax = _mumuv_wmax(float(M), round(float(np.mean(sqrt_s)), 2), float(m))  # cache per 10 MeV
    k1 = np.empty((n, 4))
    k2 = np.empty((n, 4))
    q = np.empty((n, 4))
    h = np.empty((n, 4, 4))
    todo = np.arange(n)
    while todo.size:
        rs = sqrt_s[todo]
        s1, s2, g = sample_mumuv_dalitz(rng, rs, M, m)
        dsig, (a1, a2, aq), ht = xs.mumuv_dsigma_ds1ds2_fb(rs, s1, s2, M, 1.0, m)
        ok = rng.uniform(size=todo.size) * wmax < dsig / g
        k1[todo[ok]], k2[todo[ok]], q[todo[ok]], h[todo[ok]] = a1[ok], a2[ok], aq[ok], ht[ok]
        todo = todo[~ok]
    s = sqrt_s**2
    nb = sample_beam_direction(rng, h, s)
    # Rotate the final state so that the beam direction nb becomes +z, then a random azimuth.
    R = np.einsum("nij,njk->nik", _random_rotation_about_z(rng, n), np.swapaxes(lz.rotation_z_to(nb), 1, 2))
    return _rotate_all(R, k1, k2, q)


def decay_zprime_correlated(
    rng: np.random.Generator,
    k1: np.ndarray,
    k2: np.ndarray,
    q: np.ndarray,
    sqrt_s: np.ndarray,
    M: float,
    mf: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Z' -> f fbar with the spin correlation of the full e+e- -> mu mu (Z' -> f fbar) matrix element.

    The Z' spin density matrix comes from the production tensor (beam along +z), the decay by
    hit-or-miss on W / (1.5 <W>) <= 1 over isotropic decay directions. Returns (f, fbar).
    """
    dens = me.vector_production_density(k1, k2, q, C.M_MU, sqrt_s)
    return tuple(_hit_or_miss(
        rng, q.shape[0],
        lambda rows: lz.decay_isotropic(rng, q[rows], mf, mf),
        lambda rows, a, b: me.vector_decay_weight(dens[rows], a, b, mf, M),
    ))  # fmt: skip


def _zprime(n: int, rng: np.random.Generator, sqrt_s, mass: float, coupling: float, channel: str, **params):
    what = f"signals.zprime_{channel}"
    rs = _sqrt_s_array(n, sqrt_s)
    M = _positive("mass", mass, what)
    if M >= float(np.min(rs)) - 2.0 * C.M_MU:
        raise ValueError(f"{what}: mass={M} GeV is above the kinematic limit sqrt(s) - 2 m_mu")
    if coupling is None or not np.isfinite(coupling) or coupling < 0:
        raise ValueError(f"{what}: coupling={coupling} must be >= 0")
    invisible_extra = bool(params.pop("invisible_extra", False))
    unknown = {k: v for k, v in params.items() if v is not None and k not in ("ctau", "mass2", "mass3")}
    if unknown:
        raise ValueError(f"{what}: unknown parameter(s) {sorted(unknown)}")
    if channel == "tautau" and M <= 2 * C.M_TAU:
        raise ValueError(f"{what}: mass={M} GeV is below the tau tau threshold {2 * C.M_TAU:.4f} GeV")
    k1, k2, q = generate_mumuv(rng, rs, M)
    # Z' decay correlations use the muons before radiation (the production tensor of the matrix element).
    k1_0, k2_0 = k1, k2
    k1, k2, g_fsr, has_fsr = radiate_pair(rng, k1, k2, C.M_MU)
    ctau_z = 0.0 if coupling == 0 or invisible_extra else float(xs.zprime_ctau_cm(M, coupling))
    ev = SlotEvents(n)
    ev.add(13, k1)
    ev.add(-13, k2)
    ev.add(22, g_fsr, valid=has_fsr)
    iz = ev.add(PDG_ZPRIME, q, final=False, ctau=ctau_z)
    if channel == "inv":
        if invisible_extra:
            pdg = np.full(n, PDG_CHI1)
        else:  # Gamma(nu_mu) = Gamma(nu_tau)
            pdg = np.where(rng.uniform(size=n) < 0.5, PDG_NU_MU, PDG_NU_TAU)
        d1, d2 = lz.decay_isotropic(rng, q, 0.0, 0.0)
        ev.add(pdg, d1, mother=iz)
        ev.add(-pdg, d2, mother=iz)
    elif channel == "mumu":
        d1, d2 = decay_zprime_correlated(rng, k1_0, k2_0, q, rs, M, C.M_MU)
        d1, d2, g_d, has_d = radiate_pair(rng, d1, d2, C.M_MU)
        ev.add(13, d1, mother=iz)
        ev.add(-13, d2, mother=iz)
        ev.add(22, g_d, mother=iz, valid=has_d)
    elif channel == "tautau":
        from samples.generator.tau import TAU_CTAU_CM, decay_taus

        t1, t2 = decay_zprime_correlated(rng, k1_0, k2_0, q, rs, M, C.M_TAU)
        i1 = ev.add(15, t1, mother=iz, final=False, ctau=TAU_CTAU_CM)
        i2 = ev.add(-15, t2, mother=iz, final=False, ctau=TAU_CTAU_CM)
        ev.add_block(decay_taus(rng, t1, -np.ones(n, dtype=np.int64)), parent=i1)
        ev.add_block(decay_taus(rng, t2, np.ones(n, dtype=np.int64)), parent=i2)
    else:  # pragma: no cover - internal
        raise ValueError(channel)
    return ev.build(event=_event_columns(n, mass=M, coupling=coupling, ctau=ctau_z))


def gen_zprime_inv(
    n: int, rng: np.random.Generator, sqrt_s, mass: float, coupling: float = 0.01, **params
) -> TruthEvents:
    """e+e- -> mu+ mu- Z', Z' -> nu nubar (nu_mu / nu_tau) or, with invisible_extra=True, chi chi.

    Z' -> invisible decay isotropic in the Z' frame (irrelevant for the detector).
    """
    return _zprime(n, rng, sqrt_s, mass, coupling, "inv", **params)


def gen_zprime_mumu(
    n: int, rng: np.random.Generator, sqrt_s, mass: float, coupling: float = 0.01, **params
) -> TruthEvents:
    """e+e- -> mu+ mu- Z', Z' -> mu+ mu- (Z' decay angles spin-correlated with the production ME)."""
    return _zprime(n, rng, sqrt_s, mass, coupling, "mumu", **params)


def gen_zprime_tautau(
    n: int, rng: np.random.Generator, sqrt_s, mass: float, coupling: float = 0.01, **params
) -> TruthEvents:
    """e+e- -> mu+ mu- Z', Z' -> tau+ tau- (spin-correlated Z' decay; tau polarisation not propagated), taus decayed
    by samples.generator.tau."""
    return _zprime(n, rng, sqrt_s, mass, coupling, "tautau", **params)


# --------------------------------------------------------------------------
# e+e- -> A' h' (dark Higgsstrahlung, Batell-Pospelov-Ritz) and iDM
# --------------------------------------------------------------------------
def _check_higgsstrahlung(what: str, rs: np.ndarray, mA: float, mh: float) -> tuple[float, float]:
    mA = _positive("mass (A')", mA, what)
    mh = _positive("mass2 (h')", mh, what)
    if mA + mh >= float(np.min(rs)):
        raise ValueError(f"{what}: mass + mass2 = {mA + mh} GeV is not below sqrt(s) = {float(np.min(rs)):.4f} GeV")
    return mA, mh


def _higgsstrahlung_pair(rng: np.random.Generator, rs: np.ndarray, mA: float, mh: float):
    """A' and h' four-momenta with d sigma/d cos ~ k^2 sin^2 + 2 mA^2 (BPR 2009 / SM Zh structure)."""
    n = rs.shape[0]

    def draw(rows: np.ndarray):
        return (rng.uniform(-1.0, 1.0, rows.size),)

    (ct,) = _hit_or_miss(rng, n, draw, lambda _, c: xs.darkhiggs_angular_weight(c, mA, mh, float(np.mean(rs))))
    phi = rng.uniform(0.0, 2.0 * math.pi, n)
    return lz.two_body_decay_rest(rs, mA, mh, ct, phi)


def _aprime_to_mumu_correlated(rng: np.random.Generator, rs: np.ndarray, mA: float, mh: float):
    """e+e- -> h' (A' -> mu mu) with the full spin correlation.

    With a conserved muon current the A' propagator numerator reduces to -g, so
    |M|^2 ~ L_e^{mu nu} L^mu_{mu nu} ~ (p1.k1)(p2.k2) + (p1.k2)(p2.k1) + m^2 (p1.p2),
    sampled by hit-or-miss over isotropic A' production and decay angles. The A'
    angular distribution k^2 sin^2 + 2 mA^2 comes out of it (tested).
    """
    n = rs.shape[0]
    s = rs**2
    m = C.M_MU
    p1 = np.stack([np.zeros(n), np.zeros(n), rs / 2, rs / 2], axis=1)  # e- along +z
    p2 = np.stack([np.zeros(n), np.zeros(n), -rs / 2, rs / 2], axis=1)
    kk = lz.two_body_momentum(rs, mA, mh)
    ea = np.sqrt(kk**2 + mA * mA)
    bound = s / 4.0 * (ea + kk) ** 2 + m * m * s / 2.0

    out_a = np.empty((n, 4))
    out_h = np.empty((n, 4))
    out_1 = np.empty((n, 4))
    out_2 = np.empty((n, 4))
    todo = np.arange(n)
    while todo.size:
        k = todo.size
        ct, phi = lz.random_directions(rng, k)
        pa, ph = lz.two_body_decay_rest(rs[todo], mA, mh, ct, phi)
        ct2, phi2 = lz.random_directions(rng, k)
        d1, d2 = lz.two_body_decay_rest(mA, m, m, ct2, phi2)
        k1, k2 = lz.boost_from_rest_of(d1, pa), lz.boost_from_rest_of(d2, pa)
        w = me.mdot(p1[todo], k1) * me.mdot(p2[todo], k2) + me.mdot(p1[todo], k2) * me.mdot(p2[todo], k1)
        w = (w + m * m * me.mdot(p1[todo], p2[todo])) / bound[todo]
        ok = rng.uniform(size=k) < w
        sel = todo[ok]
        out_a[sel], out_h[sel], out_1[sel], out_2[sel] = pa[ok], ph[ok], k1[ok], k2[ok]
        todo = todo[~ok]
    return out_a, out_h, out_1, out_2


def gen_dark_higgsstrahlung(
    n: int,
    rng: np.random.Generator,
    sqrt_s,
    mass: float,
    mass2: float,
    coupling: float = 1.0,
    ctau: float | None = None,
    alpha_D: float = 1.0,
    **params,
) -> TruthEvents:
    """e+e- -> A' h', A' -> mu+ mu- (spin-correlated), h' invisible (long-lived, no daughters).

    mass = m_A', mass2 = m_h', coupling = eps (the sample's eps; sigma ~ eps^2 alpha_D).
    """
    what = "signals.dark_higgsstrahlung"
    rs = _sqrt_s_array(n, sqrt_s)
    mA, mh = _check_higgsstrahlung(what, rs, mass, mass2)
    if mA <= 2 * C.M_MU:
        raise ValueError(f"{what}: mass={mA} GeV is below the mu mu threshold")
    unknown = {k: v for k, v in params.items() if v is not None and k != "mass3"}
    if unknown:
        raise ValueError(f"{what}: unknown parameter(s) {sorted(unknown)}")
    pa, ph, k1, k2 = _aprime_to_mumu_correlated(rng, rs, mA, mh)
    k1, k2, g_fsr, has_fsr = radiate_pair(rng, k1, k2, C.M_MU)
    ev = SlotEvents(n)
    ia = ev.add(PDG_APRIME, pa, final=False)
    ev.add(PDG_DARK_HIGGS, ph, final=True, ctau=float(ctau or 0.0))
    ev.add(13, k1, mother=ia)
    ev.add(-13, k2, mother=ia)
    ev.add(22, g_fsr, mother=ia, valid=has_fsr)
    return ev.build(event=_event_columns(n, mass=mA, mass2=mh, coupling=coupling, ctau=float(ctau or 0.0)))


def aprime_decay_weight(
    pa: np.ndarray, f1: np.ndarray, f2: np.ndarray, m1: float, m2: float, sqrt_s: np.ndarray
) -> np.ndarray:
    """W / (1.5 <W>) in [0, 1] for e+e- -> A' h', A' -> f1(m1) fbar2(m2) through a vector current.

    rho^{ab} = Pi^a_mu L^{mu nu} Pi^b_nu (Pi = -g + k k / mA^2: the on-shell A' polarisation sum, needed
    because the chi1-chi2 current is not conserved for m1 != m2); decay tensor
    T_ab = 4 [f1_a f2_b + f2_a f1_b - g_ab (f1.f2 + m1 m2)]. <W> over decay angles is
    alpha (-g_ab rho^{ab}) with alpha = (Pi^{ab} T_ab) / 3 (invariant), and W <= 1.5 <W>.
    """
    n = pa.shape[0]
    e = sqrt_s / 2.0
    z = np.zeros(n)
    b1 = np.stack([e, z, z, e], axis=1)  # e- along +z, contravariant (E, x, y, z)
    b2 = np.stack([e, z, z, -e], axis=1)
    g_up = np.diag(me.METRIC)
    lep = 4.0 * (b1[:, :, None] * b2[:, None, :] + b2[:, :, None] * b1[:, None, :] - g_up * (2 * e * e)[:, None, None])
    k = me.to_minkowski(pa)
    ma2 = me.mdot(pa, pa)
    proj = np.eye(4)[None] - k[:, :, None] * (k * me.METRIC)[:, None, :] / ma2[:, None, None]  # Pi^a_mu
    rho = np.einsum("nam,nmv,nbv->nab", proj, lep, proj)
    a = me.to_minkowski(f1) * me.METRIC
    b = me.to_minkowski(f2) * me.METRIC
    c = me.mdot(f1, f2) + m1 * m2
    tr_rho = np.einsum("naa,a->n", rho, me.METRIC)
    w = 4.0 * (2.0 * np.einsum("na,nab,nb->n", a, rho, b) - c * tr_rho)
    kt = k * me.METRIC
    pit = (
        -4.0 * (2.0 * me.mdot(f1, f2) - 4.0 * c)
        + 4.0
        * (
            2.0 * np.einsum("na,na->n", kt, me.to_minkowski(f1)) * np.einsum("na,na->n", kt, me.to_minkowski(f2))
            - ma2 * c
        )
        / ma2
    )
    return w / (1.5 * pit / 3.0 * (-tr_rho))


def _aprime_decay_correlated(
    rng: np.random.Generator, pa: np.ndarray, m1: float, m2: float, sqrt_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    return tuple(_hit_or_miss(
        rng, pa.shape[0],
        lambda rows: lz.decay_isotropic(rng, pa[rows], m1, m2),
        lambda rows, a, b: aprime_decay_weight(pa[rows], a, b, m1, m2, sqrt_s[rows]),
    ))  # fmt: skip


H_DECAYS = {"mumu": (13, C.M_MU), "pipi": (211, C.M_PI), "KK": (321, C.M_K)}


def _chi2_decay_weight(m1: float, m2: float, mA: float) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """chi2(P) -> chi1(a) e-(b) e+(c) via an off-shell A': |M|^2 from the two spin-summed currents.

    Tr[(a + m1) g^mu (P + m2) g^nu] Tr[(b + me) g_mu (c - me) g_nu] / (q^2 - mA^2)^2, in Dalitz
    variables m12^2 = (a+b)^2, m23^2 = (b+c)^2 = q^2; normalised by its maximum on the Dalitz plot.
    """
    me_ = C.M_E

    def raw(m12sq: np.ndarray, m23sq: np.ndarray, M: np.ndarray) -> np.ndarray:
        m13sq = M * M + m1 * m1 + 2 * me_ * me_ - m12sq - m23sq
        ab = (m12sq - m1 * m1 - me_ * me_) / 2
        bc = (m23sq - 2 * me_ * me_) / 2
        ac = (m13sq - m1 * m1 - me_ * me_) / 2
        aP = m1 * m1 + ab + ac
        bP = ab + me_ * me_ + bc
        cP = ac + bc + me_ * me_
        A = aP - m1 * m2
        Cc = bc + me_ * me_
        val = 2 * ab * cP + 2 * ac * bP - 2 * A * bc - 2 * Cc * aP + 4 * A * Cc
        return val / (m23sq - mA * mA) ** 2

    # maximum on a grid over the Dalitz rectangle (points outside give harmless values)
    g12 = np.linspace((m1 + me_) ** 2, (m2 - me_) ** 2, 200)
    g23 = np.linspace(4 * me_ * me_, (m2 - m1) ** 2, 200)
    x, y = np.meshgrid(g12, g23)
    wmax = 1.2 * float(np.max(np.abs(raw(x, y, np.full_like(x, m2)))))
    return lambda a, b, M: np.clip(raw(a, b, M) / wmax, 0.0, 1.0)


def gen_idm(
    n: int,
    rng: np.random.Generator,
    sqrt_s,
    mass: float,
    mass2: float,
    mass3: float,
    coupling: float = 1.0,
    ctau: float = 10.0,
    delta_m: float | None = None,
    ctau_h: float = 10.0,
    h_decay: str = "mumu",
    alpha_D: float = 1.0,
    sin_theta: float | None = None,
    **params,
) -> TruthEvents:
    """Inelastic DM with a dark Higgs: e+e- -> h' A', A' -> chi1 chi2, chi2 -> chi1 e+ e-, h' -> mu mu / pi pi / K K.

    mass = m_A', mass2 = m_h', mass3 = m_chi1; chi2 mass = m_chi1 + delta_m (default
    delta_m = 0.4 m_chi1, the usual benchmark), stored as the chi2 (pdg 57) particle mass.
    ctau = c tau of chi2 (mc_ctau), ctau_h = c tau of h' [cm], or, with ``sin_theta`` (the h'-Higgs
    mixing), c tau of h' from the model widths (samples/generator/idm_model.py). A' -> chi1 chi2 decay angles
    spin-correlated with the production (:func:`aprime_decay_weight`); h' (scalar) decays
    isotropically (exact).
    """
    what = "signals.idm"
    rs = _sqrt_s_array(n, sqrt_s)
    mA, mh = _check_higgsstrahlung(what, rs, mass, mass2)
    m1 = _positive("mass3 (chi1)", mass3, what)
    dm = 0.4 * m1 if delta_m is None else _positive("delta_m", delta_m, what)
    m2 = m1 + dm
    if m1 + m2 >= mA:
        raise ValueError(f"{what}: A' -> chi1 chi2 needs mass > 2 mass3 + delta_m ({m1 + m2:.4f} GeV)")
    if dm <= 2 * C.M_E:
        raise ValueError(f"{what}: delta_m={dm} GeV is below the e+e- threshold")
    if h_decay not in H_DECAYS:
        raise ValueError(f"{what}: h_decay={h_decay!r}; choose one of {sorted(H_DECAYS)}")
    pdg_h, m_h_dau = H_DECAYS[h_decay]
    if mh <= 2 * m_h_dau:
        raise ValueError(f"{what}: mass2={mh} GeV is below the {h_decay} threshold")
    ctau = _positive("ctau", ctau, what)
    if sin_theta is not None:
        from samples.generator.idm_model import h_ctau_cm

        ctau_h = h_ctau_cm(mh, _positive("sin_theta", sin_theta, what))
    ctau_h = _positive("ctau_h", ctau_h, what)
    unknown = {k: v for k, v in params.items() if v is not None}
    if unknown:
        raise ValueError(f"{what}: unknown parameter(s) {sorted(unknown)}")
    pa, ph = _higgsstrahlung_pair(rng, rs, mA, mh)
    c1, c2 = _aprime_decay_correlated(rng, pa, m1, m2, rs)
    x1, em, ep = lz.three_body_phase_space(rng, c2, m1, C.M_E, C.M_E, weight_fn=_chi2_decay_weight(m1, m2, mA))
    t1, t2 = lz.decay_isotropic(rng, ph, m_h_dau, m_h_dau)
    ev = SlotEvents(n)
    ia = ev.add(PDG_APRIME, pa, final=False)
    ih = ev.add(PDG_DARK_HIGGS, ph, final=False, ctau=ctau_h)
    ev.add(PDG_CHI1, c1, mother=ia)
    i2 = ev.add(PDG_CHI2, c2, mother=ia, final=False, ctau=ctau)
    ev.add(PDG_CHI1, x1, mother=i2)
    ev.add(11, em, mother=i2)
    ev.add(-11, ep, mother=i2)
    ev.add(-pdg_h if pdg_h == 13 else pdg_h, t1, mother=ih)  # mu+ / pi+ / K+
    ev.add(pdg_h if pdg_h == 13 else -pdg_h, t2, mother=ih)
    return ev.build(event=_event_columns(n, mass=mA, mass2=mh, mass3=m1, coupling=coupling, ctau=ctau))


# --------------------------------------------------------------------------
# e+e- -> gamma A', A' -> invisible
# --------------------------------------------------------------------------
def gen_monophoton(
    n: int,
    rng: np.random.Generator,
    sqrt_s,
    mass: float,
    coupling: float = 1.0e-3,
    theta_range: tuple[float, float] = xs.DEFAULT_MONOPHOTON_THETA,
    m_chi: float = 0.0,
    **params,
) -> TruthEvents:
    """e+e- -> gamma A' (A' -> chi chibar, invisible), photon polar angle in ``theta_range`` [rad, CMS].

    d sigma/d cos ~ [(1 + c^2) + 4 s M^2/(s - M^2)^2] / (1 - c^2) (xsec.monophoton_dsigma_dcos_fb):
    c drawn from 1/(1 - c^2) (c = tanh of a uniform variable) and accepted with
    [(1 + c^2) + a]/(2 + a). E*_gamma = (s - M^2)/(2 sqrt s) exactly (no ISR).
    """
    what = "signals.monophoton"
    rs = _sqrt_s_array(n, sqrt_s)
    M = _positive("mass", mass, what)
    if M >= float(np.min(rs)):
        raise ValueError(f"{what}: mass={M} GeV is not below sqrt(s)")
    t0, t1 = theta_range
    if not (0.0 < t0 < t1 < math.pi):
        raise ValueError(f"{what}: theta_range={theta_range} must satisfy 0 < min < max < pi (radians)")
    if m_chi < 0 or 2 * m_chi >= M:
        raise ValueError(f"{what}: m_chi={m_chi} must be >= 0 and below mass/2")
    unknown = {k: v for k, v in params.items() if v is not None and k not in ("ctau", "mass2", "mass3")}
    if unknown:
        raise ValueError(f"{what}: unknown parameter(s) {sorted(unknown)}")
    s = rs**2
    a = 4.0 * s * M * M / (s - M * M) ** 2
    lo, hi = math.atanh(math.cos(t1)), math.atanh(math.cos(t0))
    a_max = float(np.max(a))

    def draw(rows: np.ndarray):
        return (np.tanh(rng.uniform(lo, hi, rows.size)),)

    (c,) = _hit_or_miss(rng, n, draw, lambda _, c: ((1.0 + c * c) + a_max) / (2.0 + a_max))
    # (a varies by < 1e-3 across the beam-energy spread: one bound per sample is enough)
    phi = rng.uniform(0.0, 2.0 * math.pi, n)
    eg = (s - M * M) / (2.0 * rs)
    gam = np.concatenate([lz.unit_vectors(c, phi) * eg[:, None], eg[:, None]], axis=1)
    ap = np.concatenate([-gam[:, :3], (rs - eg)[:, None]], axis=1)
    d1, d2 = lz.decay_isotropic(rng, ap, m_chi, m_chi)
    ev = SlotEvents(n)
    ev.add(22, gam)
    ia = ev.add(PDG_APRIME, ap, final=False)
    ev.add(PDG_CHI1, d1, mother=ia)
    ev.add(-PDG_CHI1, d2, mother=ia)
    return ev.build(event=_event_columns(n, mass=M, coupling=coupling))


# --------------------------------------------------------------------------
# tables for the registry
# --------------------------------------------------------------------------
SIGNALS: dict[str, Callable[..., TruthEvents]] = {
    "zprime_inv": gen_zprime_inv,
    "zprime_mumu": gen_zprime_mumu,
    "zprime_tautau": gen_zprime_tautau,
    "darkhiggs": gen_dark_higgsstrahlung,
    "dark_higgsstrahlung": gen_dark_higgsstrahlung,
    "idm": gen_idm,
    # one process per h' final state (the search declares one signal model each)
    "idm_mumu": functools.partial(gen_idm, h_decay="mumu"),
    "idm_pipi": functools.partial(gen_idm, h_decay="pipi"),
    "idm_kk": functools.partial(gen_idm, h_decay="KK"),
    "monophoton": gen_monophoton,
    "scalar_mumu": gen_scalar_mumu,  # muonphilic scalar, samples/generator/scalar.py
    "scalar_tautau": gen_scalar_tautau,  # leptophilic scalar (xi m_l / v), samples/generator/scalar.py
    "alp_tautau": gen_alp_tautau,  # ALP, equal lepton couplings, samples/generator/scalar.py
}
GENERATORS = SIGNALS  # the registry looks for GENERATORS[name]
XSEC_FB: dict[str, Callable[..., float]] = xs.XSEC  # sigma x BF [fb] from the sample's model parameters

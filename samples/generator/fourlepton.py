"""e+e- -> mu+mu- mu+mu- and mu+mu- tau+tau-: a virtual-photon (conversion-like) pair radiated off a lepton.

Model (collinear-emission picture, leading log):
* e+e- -> a abar with 1 + cos^2; one of the two (50/50) radiates a gamma* of mass M;
* M from dM/M (the photon propagator times the pair-production phase space, a 1/M fall) times
  the gamma* -> b bbar threshold factor b(3 - b^2)/2, between 2 m_b and sqrt(s) - 2 m_a;
* the radiating system X = a + gamma* has m*^2 - m_a^2 distributed as d(m*^2)/(m*^2 - m_a^2)
  (the lepton propagator: collinear, soft-ish emission), X -> a gamma* isotropic in the X frame,
  gamma* -> b bbar with 1 + cos^2 about its flight direction.
For mu mu tau tau both assignments occur: tau tau + gamma*(-> mu mu) and mu mu + gamma*(-> tau tau),
weighted by their dM/M log ranges. Exact four-momentum conservation; no ISR.
"""

from __future__ import annotations

import numpy as np

from samples import constants as C
from samples.generator import lorentz as L
from samples.generator.phasespace import rotate_to, sample_1pcos2
from samples.generator.slots import SlotEvents
from samples.generator.tau import TAU_CTAU_CM, decay_taus
from samples.generator.truth import TruthEvents


def _log_uniform(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return lo * (hi / lo) ** rng.random(lo.shape[0])


def _virtual_mass(rng: np.random.Generator, lo: float, hi: np.ndarray, m_b: float) -> np.ndarray:
    n = hi.shape[0]
    out = np.empty(n)
    todo = np.arange(n)
    while todo.size:
        M = _log_uniform(rng, np.full(todo.size, lo), hi[todo])
        b2 = np.clip(1.0 - 4.0 * m_b**2 / M**2, 0.0, 1.0)
        ok = rng.random(todo.size) < np.sqrt(b2) * (3.0 - b2) / 2.0
        out[todo[ok]] = M[ok]
        todo = todo[~ok]
    return out


def _decay_along(rng: np.random.Generator, parent: np.ndarray, m1: float, m2: float, cos_t: np.ndarray) -> tuple:
    """Two-body decay with daughter 1 at polar angle acos(cos_t) to the parent's flight direction."""
    n = parent.shape[0]
    M = L.mass(parent)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    d1, d2 = L.two_body_decay_rest(M, m1, m2, cos_t, phi)
    p = np.linalg.norm(parent[:, :3], axis=1)
    u = parent[:, :3] / np.where(p > 0, p, 1.0)[:, None]
    ct = u[:, 2]
    st = np.hypot(u[:, 0], u[:, 1])
    ph = np.arctan2(u[:, 1], u[:, 0])
    d1, d2 = rotate_to(d1, ct, st, ph), rotate_to(d2, ct, st, ph)
    return L.boost_from_rest_of(d1, parent), L.boost_from_rest_of(d2, parent)


def four_lepton(
    rng: np.random.Generator, sqrt_s: np.ndarray, m_a: float, m_b: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """a (particle), abar, gamma*, b, bbar (n, 4) in the CMS."""
    n = sqrt_s.shape[0]
    M = _virtual_mass(rng, 2.0 * m_b, sqrt_s - 2.0 * m_a, m_b)
    # X = a + gamma*: m*^2 - m_a^2 log-uniform between threshold and the kinematic limit
    lo = (m_a + M) ** 2 - m_a**2
    hi = (sqrt_s - m_a) ** 2 - m_a**2
    mstar = np.sqrt(m_a**2 + _log_uniform(rng, lo, np.maximum(hi, lo * (1 + 1e-12))))
    mstar = np.minimum(mstar, sqrt_s - m_a)
    cf = sample_1pcos2(rng, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    emit_a = rng.random(n) < 0.5
    cX = np.where(emit_a, cf, -cf)
    X, other = L.two_body_decay_rest(sqrt_s, mstar, m_a, cX, phi)
    X[:, 3] = np.sqrt(np.sum(X[:, :3] ** 2, axis=1) + mstar**2)
    ct, ph = L.random_directions(rng, n)
    a_x, g_x = L.two_body_decay_rest(mstar, m_a, M, ct, ph)
    a_em, gstar = L.boost_from_rest_of(a_x, X), L.boost_from_rest_of(g_x, X)
    b, bbar = _decay_along(rng, gstar, m_b, m_b, sample_1pcos2(rng, n))
    e = emit_a[:, None]
    return np.where(e, a_em, other), np.where(e, other, a_em), gstar, b, bbar


def _events(
    rng: np.random.Generator, sqrt_s: np.ndarray, pdg_a: int, m_a: float, pdg_b: int, m_b: float
) -> TruthEvents:
    n = sqrt_s.shape[0]
    a, abar, gstar, b, bbar = four_lepton(rng, sqrt_s, m_a, m_b)
    ev = SlotEvents(n)
    slots = []
    for pdg, p4 in ((pdg_a, a), (-pdg_a, abar)):
        tau = abs(pdg) == 15
        slots.append(ev.add(pdg, p4, -1, final=not tau, ctau=TAU_CTAU_CM if tau else 0.0))
    ig = ev.add(22, gstar, final=False)
    for pdg, p4 in ((pdg_b, b), (-pdg_b, bbar)):
        tau = abs(pdg) == 15
        slots.append(ev.add(pdg, p4, ig, final=not tau, ctau=TAU_CTAU_CM if tau else 0.0))
    for i, (pdg, p4) in zip(slots, ((pdg_a, a), (-pdg_a, abar), (pdg_b, b), (-pdg_b, bbar)), strict=True):
        if abs(pdg) == 15:
            ev.add_block(decay_taus(rng, p4, -np.sign(pdg)), parent=i)
    return ev.build({"weight": np.ones(n)})


def gen_mumumumu(n: int, rng: np.random.Generator, sqrt_s: np.ndarray) -> TruthEvents:
    """e+e- -> mu+mu- gamma*(-> mu+mu-)."""
    sqrt_s = np.asarray(sqrt_s, dtype=np.float64)
    return _events(rng, sqrt_s, 13, C.M_MU, 13, C.M_MU)


def gen_mumutautau(n: int, rng: np.random.Generator, sqrt_s: np.ndarray) -> TruthEvents:
    """e+e- -> tau tau gamma*(-> mu mu) or mu mu gamma*(-> tau tau), by their dM/M log ranges."""
    sqrt_s = np.asarray(sqrt_s, dtype=np.float64)
    r_mu = np.log((C.SQRT_S_NOMINAL - 2 * C.M_TAU) / (2 * C.M_MU))
    r_tau = np.log((C.SQRT_S_NOMINAL - 2 * C.M_MU) / (2 * C.M_TAU))
    tt = rng.random(n) < r_mu / (r_mu + r_tau)
    parts = [
        _events(rng, sqrt_s[tt], 15, C.M_TAU, 13, C.M_MU),
        _events(rng, sqrt_s[~tt], 13, C.M_MU, 15, C.M_TAU),
    ]
    return _merge(parts, [np.flatnonzero(tt), np.flatnonzero(~tt)], n)


def _merge(parts: list[TruthEvents], where: list[np.ndarray], n: int) -> TruthEvents:
    """Interleave sub-samples back into event order ``where`` (event indices of each part)."""
    order = np.argsort(np.concatenate(where), kind="stable")
    counts = np.concatenate([p.counts for p in parts])
    ev_of_particle = np.repeat(np.arange(counts.shape[0]), counts)
    # particle permutation: stable sort of particles by their event's new position
    perm = np.argsort(np.argsort(order)[ev_of_particle], kind="stable")

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts])[perm]

    return TruthEvents(
        counts=counts[order],
        pdg=cat("pdg"),
        px=cat("px"),
        py=cat("py"),
        pz=cat("pz"),
        E=cat("E"),
        mother=cat("mother"),
        ctau=cat("ctau"),
        final=cat("final"),
        event={k: np.concatenate([p.event[k] for p in parts])[order] for k in parts[0].event},
    )

"""e+e- -> q qbar (q = u, d, s, c) as multi-hadron final states: a two-jet longitudinal phase-space model.

Not a parton shower: enough to populate multi-track backgrounds with the right
gross features at 10.58 GeV.
* two back-to-back jets along a thrust axis distributed as 1 + cos^2 (spin-1/2 quarks);
* primary hadrons pi+-, pi0, K+-, K_S, K_L with Poisson multiplicities (charged ones in
  +- pairs: exact charge conservation); per-flavour means tuned to <n_charged> ~ 10-11
  including K_S -> pi+ pi- (Belle/BaBar continuum multiplicities);
* each hadron in a random hemisphere, |rapidity| along the axis uniform in [0, Y_MAX],
  p_T w.r.t. the axis from p_T exp(-p_T/T), <p_T> = 2T = 0.35 GeV, uniform azimuth;
* exact energy-momentum conservation per event: subtract the mean three-momentum,
  then scale all three-momenta by a common factor (Newton iterations) so that the
  energies add up to sqrt(s);
* decays: pi0 -> gamma gamma, K_S -> pi+ pi- / pi0 pi0 (displaced: ctau on the K_S), K_L stable.
The q and qbar are listed first (final=False) with the summed four-momentum of their hemisphere.
"""

from __future__ import annotations

import numpy as np

from samples import constants as C
from samples.generator import lorentz as L
from samples.generator.phasespace import rotate_to, sample_1pcos2
from samples.generator.truth import TruthEvents

Y_MAX = 1.9  # chosen so that the energy rescaling factor is ~1 (keeps <p_T> ~ 0.35 GeV)
PT_SLOPE = 0.175  # [GeV]; <p_T> = 2 T = 0.35 GeV
BR_KS_PIPI = 0.6920  # PDG 2024, K_S -> pi+ pi-; the rest pi0 pi0
M_K0 = C.M_KS

# Poisson means per event: (pi+pi- pairs, pi0, K+K- pairs, K0 (-> K_S or K_L 50/50)).
FLAVOURS: dict[str, tuple[int, tuple[float, float, float, float]]] = {
    "uu": (2, (4.5, 3.6, 0.40, 0.9)),
    "dd": (1, (4.5, 3.6, 0.40, 0.9)),
    "ss": (3, (3.9, 3.2, 0.90, 1.5)),
    "cc": (4, (4.2, 3.6, 0.80, 1.4)),
}


class _Flat:
    """Variable-multiplicity particle table built generation by generation (mothers first)."""

    def __init__(self) -> None:
        self.cols: dict[str, list[np.ndarray]] = {k: [] for k in ("ev", "pdg", "p4", "mother", "final", "ctau")}
        self.size = 0

    def add(self, ev, pdg, p4, mother, final, ctau) -> np.ndarray:
        k = ev.shape[0]
        for name, v, dt in (
            ("ev", ev, np.int64),
            ("pdg", pdg, np.int32),
            ("mother", mother, np.int64),
            ("final", final, bool),
            ("ctau", ctau, np.float64),
        ):
            self.cols[name].append(np.broadcast_to(np.asarray(v, dtype=dt), (k,)))
        self.cols["p4"].append(p4)
        idx = np.arange(self.size, self.size + k)
        self.size += k
        return idx

    def build(self, n: int) -> TruthEvents:
        c = {k: np.concatenate(v) for k, v in self.cols.items()}
        order = np.argsort(c["ev"], kind="stable")  # per event: generations in insertion order
        pos = np.empty_like(order)
        pos[order] = np.arange(order.shape[0])
        counts = np.bincount(c["ev"], minlength=n)
        off = np.concatenate([[0], np.cumsum(counts)[:-1]])
        local = pos - off[c["ev"]]
        m = c["mother"]
        mother = np.where(m >= 0, local[np.maximum(m, 0)], -1).astype(np.int32)
        p4 = c["p4"][order]
        return TruthEvents(
            counts=counts.astype(np.int64),
            pdg=c["pdg"][order],
            px=np.ascontiguousarray(p4[:, 0]),
            py=np.ascontiguousarray(p4[:, 1]),
            pz=np.ascontiguousarray(p4[:, 2]),
            E=np.ascontiguousarray(p4[:, 3]),
            mother=mother[order],
            ctau=c["ctau"][order],
            final=c["final"][order],
            event={"weight": np.ones(n)},
        )


def _multiplicities(rng: np.random.Generator, n: int, means, sqrt_s: np.ndarray) -> np.ndarray:
    """(n, 6) counts of pi+, pi-, pi0, K+, K-, K0 with sum of masses < 0.8 sqrt(s), >= 2 particles."""
    out = np.empty((n, 6), np.int64)
    masses = np.array([C.M_PI, C.M_PI, C.M_PI0, C.M_K, C.M_K, M_K0])
    todo = np.arange(n)
    while todo.size:
        k = todo.size
        npp = rng.poisson(means[0], k)
        nk = rng.poisson(means[2], k)
        cnt = np.stack([npp, npp, rng.poisson(means[1], k), nk, nk, rng.poisson(means[3], k)], axis=1)
        ok = (cnt.sum(axis=1) >= 2) & (cnt @ masses < 0.8 * sqrt_s[todo])
        out[todo[ok]] = cnt[ok]
        todo = todo[~ok]
    return out


def _conserve(ev: np.ndarray, mass: np.ndarray, p3: np.ndarray, sqrt_s: np.ndarray, n: int) -> np.ndarray:
    """Shift to zero total momentum and scale |p| so that sum E = sqrt(s); returns (N, 4)."""
    cnt = np.bincount(ev, minlength=n).astype(np.float64)
    for j in range(3):
        p3[:, j] -= (np.bincount(ev, p3[:, j], minlength=n) / np.maximum(cnt, 1))[ev]
    p2 = np.sum(p3 * p3, axis=1)
    m2 = mass * mass
    lam = np.ones(n)
    for _ in range(30):
        e = np.sqrt(m2 + lam[ev] ** 2 * p2)
        f = np.bincount(ev, e, minlength=n) - sqrt_s
        df = np.bincount(ev, lam[ev] * p2 / e, minlength=n)
        step = f / np.maximum(df, 1e-300)
        lam = np.maximum(lam - step, 0.5 * lam)  # damped: stays positive
        if np.max(np.abs(step)) < 1e-13:
            break
    p3 = p3 * lam[ev][:, None]
    return L.from_mass(p3, mass)


def gen_qqbar(n: int, rng: np.random.Generator, sqrt_s: np.ndarray, flavour: str) -> TruthEvents:
    if flavour not in FLAVOURS:
        raise ValueError(f"gen_qqbar: unknown flavour {flavour!r}; known: {sorted(FLAVOURS)}")
    sqrt_s = np.asarray(sqrt_s, dtype=np.float64)
    q_pdg, means = FLAVOURS[flavour]
    cnt = _multiplicities(rng, n, means, sqrt_s)
    pdgs = np.array([211, -211, 111, 321, -321, 0])
    masses = np.array([C.M_PI, C.M_PI, C.M_PI0, C.M_K, C.M_K, M_K0])
    ev = np.repeat(np.tile(np.arange(n), 6), cnt.T.ravel())
    species = np.repeat(np.repeat(np.arange(6), n), cnt.T.ravel())
    o = np.argsort(ev, kind="stable")
    ev, species = ev[o], species[o]
    N = ev.shape[0]
    pdg = pdgs[species]
    k0 = species == 5
    pdg[k0] = np.where(rng.random(int(k0.sum())) < 0.5, 310, 130)
    mass = masses[species]
    # hemispheres: first particle +, second -, the rest random
    tot = np.bincount(ev, minlength=n)
    rank = np.arange(N) - np.concatenate([[0], np.cumsum(tot)[:-1]])[ev]
    hemi = np.where(rank == 0, 1.0, np.where(rank == 1, -1.0, np.where(rng.random(N) < 0.5, 1.0, -1.0)))
    pt = rng.gamma(2.0, PT_SLOPE, N)
    phi = rng.uniform(0.0, 2.0 * np.pi, N)
    y = rng.uniform(0.0, Y_MAX, N) * hemi
    mt = np.sqrt(mass * mass + pt * pt)
    p3 = np.stack([pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(y)], axis=1)
    p4 = _conserve(ev, mass, p3, sqrt_s, n)
    # orient the event axis: 1 + cos^2
    ct = sample_1pcos2(rng, n)
    st = np.sqrt(1.0 - ct * ct)
    ph = rng.uniform(0.0, 2.0 * np.pi, n)
    p4 = rotate_to(p4, ct[ev], st[ev], ph[ev])

    fl = _Flat()
    jets = []
    for h, sgn in ((1.0, 1), (-1.0, -1)):
        sel = hemi == h
        jet = np.stack([np.bincount(ev[sel], p4[sel, j], minlength=n) for j in range(4)], axis=1)
        jets.append(fl.add(np.arange(n), sgn * q_pdg, jet, -1, False, 0.0))
    mother = np.where(hemi > 0, jets[0][ev], jets[1][ev])
    ctau = np.where(pdg == 310, C.KS_CTAU_CM, 0.0)
    final = (pdg != 111) & (pdg != 310)
    hid = fl.add(ev, pdg, p4, mother, final, ctau)
    _decay_generation(rng, fl, ev, pdg, p4, hid)
    return fl.build(n)


def _decay_generation(rng, fl: _Flat, ev, pdg, p4, gidx) -> None:
    """pi0 -> gamma gamma and K_S -> pi pi for the given particles (recursing once for K_S -> pi0 pi0)."""
    pi0 = np.flatnonzero(pdg == 111)
    if pi0.size:
        g1, g2 = L.decay_isotropic(rng, p4[pi0], 0.0, 0.0)
        for g in (g1, g2):
            fl.add(ev[pi0], 22, g, gidx[pi0], True, 0.0)
    ks = np.flatnonzero(pdg == 310)
    if ks.size:
        charged = rng.random(ks.size) < BR_KS_PIPI
        m = np.where(charged, C.M_PI, C.M_PI0)
        d1, d2 = L.decay_isotropic(rng, p4[ks], m, m)
        pd1 = np.where(charged, 211, 111)
        pd2 = np.where(charged, -211, 111)
        i1 = fl.add(ev[ks], pd1, d1, gidx[ks], pd1 != 111, 0.0)
        i2 = fl.add(ev[ks], pd2, d2, gidx[ks], pd2 != 111, 0.0)
        sub_ev = np.concatenate([ev[ks], ev[ks]])
        sub_pdg = np.concatenate([pd1, pd2])
        sub_p4 = np.concatenate([d1, d2])
        sub_idx = np.concatenate([i1, i2])
        keep = sub_pdg == 111
        _decay_generation(rng, fl, sub_ev[keep], sub_pdg[keep], sub_p4[keep], sub_idx[keep])


def gen_uu(n: int, rng: np.random.Generator, sqrt_s: np.ndarray) -> TruthEvents:
    """e+e- -> u ubar."""
    return gen_qqbar(n, rng, sqrt_s, "uu")


def gen_dd(n: int, rng: np.random.Generator, sqrt_s: np.ndarray) -> TruthEvents:
    """e+e- -> d dbar."""
    return gen_qqbar(n, rng, sqrt_s, "dd")


def gen_ss(n: int, rng: np.random.Generator, sqrt_s: np.ndarray) -> TruthEvents:
    """e+e- -> s sbar."""
    return gen_qqbar(n, rng, sqrt_s, "ss")


def gen_cc(n: int, rng: np.random.Generator, sqrt_s: np.ndarray) -> TruthEvents:
    """e+e- -> c cbar."""
    return gen_qqbar(n, rng, sqrt_s, "cc")

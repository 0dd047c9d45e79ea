"""Tiny generators for the pipeline/detector tests only (never registered in the product).

They are physics-light but exactly energy-momentum conserving, so the pipeline's
lab transformation, vertexing and detector can be tested before (and
independently of) the real physics generators.
"""

from __future__ import annotations

import numpy as np
import pytest

from samples import constants as C
from samples.generator import lorentz as lz
from samples.generator import registry
from samples.generator.truth import TruthEvents


def _pack(n: int, parts: list[tuple[int, np.ndarray, int, bool, float]], event: dict | None = None) -> TruthEvents:
    """Fixed multiplicity: parts = [(pdg, p4 (n, 4), mother slot, final, ctau)]."""
    k = len(parts)
    p4 = np.stack([p[1] for p in parts], axis=1).reshape(-1, 4)
    return TruthEvents(
        counts=np.full(n, k, dtype=np.int64),
        pdg=np.tile(np.array([p[0] for p in parts], dtype=np.int32), n),
        px=p4[:, 0].copy(),
        py=p4[:, 1].copy(),
        pz=p4[:, 2].copy(),
        E=p4[:, 3].copy(),
        mother=np.tile(np.array([p[2] for p in parts], dtype=np.int32), n),
        ctau=np.tile(np.array([p[4] for p in parts]), n),
        final=np.tile(np.array([p[3] for p in parts]), n),
        event=event or {"weight": np.ones(n)},
    )


def toy_mumu(n: int, rng: np.random.Generator, sqrt_s: np.ndarray, lepton: int = 13, **_: object) -> TruthEvents:
    """e+e- -> l+l- gamma: photon along the beam axis (ISR-like, 1/x spectrum), lepton pair 1 + cos^2."""
    x = np.exp(rng.uniform(np.log(1e-4), np.log(0.5), n))
    k = 0.5 * sqrt_s * x  # photon energy when the recoil has mass sqrt(s (1 - x))
    sign = np.where(rng.uniform(size=n) < 0.5, 1.0, -1.0)
    gamma = lz.p4(0.0 * k, 0.0 * k, sign * k, k)
    system = lz.p4(0.0 * k, 0.0 * k, -sign * k, sqrt_s - k)
    # 1 + cos^2 by accept-reject on a uniform cos.
    ct = rng.uniform(-1, 1, 4 * n)
    ct = ct[rng.uniform(0, 2, ct.size) < 1 + ct**2][:n]
    phi = rng.uniform(0, 2 * np.pi, n)
    m = C.M_MU if lepton == 13 else C.M_E
    mu_minus, mu_plus = lz.two_body_decay_rest(lz.mass(system), m, m, ct, phi)
    mu_minus, mu_plus = lz.boost_from_rest_of(mu_minus, system), lz.boost_from_rest_of(mu_plus, system)
    return _pack(n, [(lepton, mu_minus, -1, True, 0.0), (-lepton, mu_plus, -1, True, 0.0), (22, gamma, -1, True, 0.0)])


def toy_ks(n: int, rng: np.random.Generator, sqrt_s: np.ndarray, **_: object) -> TruthEvents:
    """e+e- -> K_S K_S (not physical, a vertexing test): K_S -> pi+ pi- with c tau = 2.68 cm."""
    ct, phi = lz.random_directions(rng, n)
    k1, k2 = lz.two_body_decay_rest(sqrt_s, C.M_KS, C.M_KS, ct, phi)
    parts: list = [(310, k1, -1, False, 2.68), (310, k2, -1, False, 2.68)]
    for slot, kk in ((0, k1), (1, k2)):
        a, b = lz.decay_isotropic(rng, kk, C.M_PI, C.M_PI)
        parts += [(211, a, slot, True, 0.0), (-211, b, slot, True, 0.0)]
    return _pack(n, parts)


def toy_invisible(n: int, rng: np.random.Generator, sqrt_s: np.ndarray, mass: float = 1.0, **_: object) -> TruthEvents:
    """e+e- -> mu mu X, X invisible, flat three-body phase space (signal stand-in)."""
    parent = lz.p4(0 * sqrt_s, 0 * sqrt_s, 0 * sqrt_s, sqrt_s)
    m1, m2, x = lz.three_body_phase_space(rng, parent, C.M_MU, C.M_MU, mass)
    ev = {"weight": np.ones(n), "mc_mass": np.full(n, mass)}
    return _pack(n, [(13, m1, -1, True, 0.0), (-13, m2, -1, True, 0.0), (9900023, x, -1, True, 0.0)], ev)


TOYS = {
    "toy_mumu": registry.Process("toy_mumu", ("tests.generator_toys",), "test toy", doc="toy mu mu gamma"),
    "toy_ks": registry.Process("toy_ks", ("tests.generator_toys",), "test toy", doc="toy K_S pairs"),
    "toy_inv": registry.Process(
        "toy_inv",
        ("tests.generator_toys",),
        "test toy",
        is_signal=True,
        required=("mass",),
        doc="toy mu mu X",
        xsec_module="tests.generator_toys",
    ),
}
GENERATORS = {"toy_mumu": toy_mumu, "toy_ks": toy_ks, "toy_inv": toy_invisible}
XSEC_FB = {"toy_mumu": 1.148e6, "toy_ks": 1.0e3}
XSEC = {"toy_inv": lambda mass, **_: 10.0 / (1.0 + mass)}  # fb, arbitrary but mass dependent


def register_toys(monkeypatch: pytest.MonkeyPatch) -> dict[str, registry.Process]:
    """Register the toys for the duration of one test (call from a fixture)."""
    for name, proc in TOYS.items():
        monkeypatch.setitem(registry.PROCESSES, name, proc)
    return TOYS

"""Hand-built four-muon events for the Z' -> mu mu processor tests (no dependency on the generator)."""

from __future__ import annotations

from typing import Any

import numpy as np

from samples import constants as C


def _decay(rng: np.random.Generator, parent: np.ndarray, m: float) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic two-body decay of (n, 4) parents into two muons (in the parents' frame)."""
    from synthetic import boost

    n = len(parent)
    mass = np.sqrt(np.maximum(parent[:, 3] ** 2 - np.sum(parent[:, :3] ** 2, axis=1), 0.0))
    k = np.sqrt(np.maximum(mass**2 / 4 - m**2, 0.0))
    c = rng.uniform(-1, 1, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    s = np.sqrt(1 - c**2)
    d = np.column_stack([s * np.cos(phi), s * np.sin(phi), c]) * k[:, None]
    e = np.sqrt(k**2 + m**2)
    beta = parent[:, :3] / parent[:, 3:4]
    return boost(np.column_stack([d, e]), beta), boost(np.column_stack([-d, e]), beta)


def four_muon_events(
    rng: np.random.Generator, n: int, m_a: float, m_b: float, muon_id: float = 0.99
) -> list[dict[str, Any]]:
    """e+e- -> (mu mu)_A (mu mu)_B at the nominal beams: two dimuon systems of masses m_a and m_b back to
    back in the CMS (M(4 tracks) = sqrt(s), p* = 0), pair A central (|cos theta*| < 0.5)."""
    from synthetic import cms_to_lab, nominal_beam

    beam = nominal_beam()
    rs = np.sqrt(beam[3] ** 2 - np.sum(beam[:3] ** 2))
    q = np.sqrt((rs**2 - (m_a + m_b) ** 2) * (rs**2 - (m_a - m_b) ** 2)) / (2 * rs)
    c = rng.uniform(-0.5, 0.5, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    s = np.sqrt(1 - c**2)
    u = np.column_stack([s * np.cos(phi), s * np.sin(phi), c])
    a = np.column_stack([q * u, np.full(n, np.sqrt(q**2 + m_a**2))])
    b = np.column_stack([-q * u, np.full(n, np.sqrt(q**2 + m_b**2))])
    (a1, a2), (b1, b2) = _decay(rng, a, C.M_MU), _decay(rng, b, C.M_MU)
    mus = [cms_to_lab(x, beam) for x in (a1, a2, b1, b2)]
    charges = (-1, 1, -1, 1)
    return [
        {
            "Track": [
                {"px": mu[i, 0], "py": mu[i, 1], "pz": mu[i, 2], "charge": q_, "muonID": muon_id}
                for mu, q_ in zip(mus, charges, strict=True)
            ],
            "mc_mass": m_a,
        }
        for i in range(n)
    ]

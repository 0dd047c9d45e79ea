"""Cross-section limits -> coupling limits with the generator's own sigma(M, coupling).

Every model's signal rate is sigma(M, c_ref) * (c / c_ref)^power * BF(M): the generator computes tree-level
cross sections that are exact power laws in the coupling (g'^2, eps^2, eps^2 alpha_D), and the Z'
branching fractions from the widths do not depend on g'. So

    c_UL = c_ref * (sigma_UL / (sigma(M, c_ref) * BF(M)))^(1 / power).

`recast(model, masses, sigma_ul)` applies one entry of `MODELS`; the test maps c_UL back through sigma.
The generator is imported lazily so workflows.stats imports without it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def _xsec():
    from samples.generator import xsec

    return xsec


@dataclass(frozen=True)
class RecastModel:
    label: str  # coupling name for tables/plots
    power: float  # sigma proportional to coupling**power
    c_ref: float
    xsec_fb: Callable[..., np.ndarray]  # (masses, coupling, **kw) -> fb
    bf: Callable[[np.ndarray], np.ndarray]  # branching fraction into the searched final state
    description: str


def _one(m: np.ndarray) -> np.ndarray:
    return np.ones_like(np.asarray(m, float))


def _zprime_xsec(m, g, **kw):
    return np.asarray(_xsec().zprime_xsec_fb(m, g=g, **kw), float)


def _zprime_bf_inv(m):
    return np.asarray(_xsec().zprime_branching_fractions(m)["invisible"], float)


def _zprime_bf(channel: str) -> Callable[[np.ndarray], np.ndarray]:
    return lambda m: np.asarray(_xsec().zprime_branching_fractions(m)[channel], float)


def _monophoton_xsec(m, eps, **kw):
    return np.asarray(_xsec().monophoton_xsec_fb(m, eps=eps, **kw), float)


def _darkhiggs_xsec(m, eps2_alpha_d, mh=None, **kw):
    """m: mA; the dark Higgs mass comes as keyword `mh` (same shape as m)."""
    if mh is None:
        raise ValueError("dark Higgsstrahlung recast needs the h' masses: pass mh=...")
    return np.asarray(_xsec().darkhiggs_xsec_fb(m, mh, eps=np.sqrt(eps2_alpha_d), alpha_D=1.0, **kw), float)


MODELS: dict[str, RecastModel] = {
    "lmu_ltau": RecastModel("g'", 2.0, 0.01, _zprime_xsec, _zprime_bf_inv,
                            "L_mu - L_tau Z' -> invisible, BF(Z' -> nu nu) from the partial widths"),
    "lmu_ltau_fully_invisible": RecastModel("g'", 2.0, 0.01, _zprime_xsec, _one,
                                            "L_mu - L_tau Z' with BF(Z' -> invisible) = 1 (dark-matter decays)"),
    "lmu_ltau_mumu": RecastModel("g'", 2.0, 0.01, _zprime_xsec, _zprime_bf("mumu"),
                                 "L_mu - L_tau Z' -> mu mu"),
    "lmu_ltau_tautau": RecastModel("g'", 2.0, 0.01, _zprime_xsec, _zprime_bf("tautau"),
                                   "L_mu - L_tau Z' -> tau tau"),
    "dark_photon": RecastModel("epsilon", 2.0, 1e-3, _monophoton_xsec, _one,
                               "dark photon A' -> invisible in e+e- -> gamma A' (mono-photon)"),
    "dark_higgsstrahlung": RecastModel("epsilon^2 alpha_D", 1.0, 1e-8, _darkhiggs_xsec, _one,
                                       "e+e- -> A' h', A' -> mu mu, h' invisible (BF(A'->mu mu) folded in sigma_UL)"),
}

#: which recast model(s) each search reports
SEARCH_MODELS: dict[str, tuple[str, ...]] = {
    "zprime-inv": ("lmu_ltau", "lmu_ltau_fully_invisible"),
    "zprime-mumu": ("lmu_ltau_mumu",),
    "zprime-tautau": ("lmu_ltau_tautau",),
    "monophoton": ("dark_photon",),
    "dark-higgsstrahlung": ("dark_higgsstrahlung",),
    "idm": (),
}


def signal_xsec_fb(model: str, masses, coupling: float, **kw) -> np.ndarray:
    """sigma x BF [fb] of the searched final state at the given coupling."""
    m = MODELS[model]
    masses = np.asarray(masses, float)
    return m.xsec_fb(masses, coupling, **kw) * m.bf(masses)


def recast(model: str, masses, sigma_ul_fb, **kw) -> np.ndarray:
    """Coupling upper limit for each mass from a limit on sigma x BF [fb]."""
    if model not in MODELS:
        raise KeyError(f"unknown recast model {model!r}; known: {sorted(MODELS)}")
    m = MODELS[model]
    ref = signal_xsec_fb(model, masses, m.c_ref, **kw)
    sigma_ul = np.asarray(sigma_ul_fb, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ref > 0, m.c_ref * (sigma_ul / ref) ** (1.0 / m.power), np.nan)

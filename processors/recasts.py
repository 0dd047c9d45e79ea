"""Recast functions shared by the L_mu - L_tau Z' searches (``processors.spec.Recast``): the generator's
cross section sigma(e+e- -> mu mu Z') and the Z' branching fractions from its partial widths; and those of the
spin-0 tau tau models (leptophilic scalar, ALP) of the Z' -> tau tau search (samples/generator/scalar.py). The imports
are deferred so that a declaration (search.py) stays light."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def zprime_xsec(params: Mapping[str, np.ndarray], g: float) -> np.ndarray:
    from samples.generator import xsec

    return np.asarray(xsec.zprime_xsec_fb(params["mass"], g=g), float)


def _bf(params: Mapping[str, np.ndarray], channel: str) -> np.ndarray:
    from samples.generator import xsec

    return np.asarray(xsec.zprime_branching_fractions(params["mass"])[channel], float)


def zprime_bf_invisible(params: Mapping[str, np.ndarray]) -> np.ndarray:
    return _bf(params, "invisible")


def zprime_bf_mumu(params: Mapping[str, np.ndarray]) -> np.ndarray:
    return _bf(params, "mumu")


def zprime_bf_tautau(params: Mapping[str, np.ndarray]) -> np.ndarray:
    return _bf(params, "tautau")


def bf_one(params: Mapping[str, np.ndarray]) -> np.ndarray:
    """A final state with branching fraction 1 (a fully invisible Z', a scalar coupled to muons only)."""
    return np.ones_like(np.asarray(params["mass"], float))


def leptophilic_xsec(params: Mapping[str, np.ndarray], xi: float) -> np.ndarray:
    """sigma(e+e- -> mu mu S) of the leptophilic scalar (couplings xi m_l / v)."""
    from samples.generator import scalar

    return np.asarray(scalar.leptophilic_xsec_fb(params["mass"], xi), float)


def leptophilic_bf_tautau(params: Mapping[str, np.ndarray]) -> np.ndarray:
    from samples.generator import scalar

    return np.asarray(scalar.leptophilic_branching_fractions(params["mass"])["tautau"], float)


def alp_xsec(params: Mapping[str, np.ndarray], g: float) -> np.ndarray:
    """sigma(e+e- -> mu mu a) of the ALP (i g_a a lbar gamma5 l, lepton-universal g_a)."""
    from samples.generator import scalar

    return np.asarray(scalar.alp_xsec_fb(params["mass"], g), float)


def alp_bf_tautau(params: Mapping[str, np.ndarray]) -> np.ndarray:
    from samples.generator import scalar

    return np.asarray(scalar.alp_branching_fractions(params["mass"])["tautau"], float)

"""Recast functions shared by the L_mu - L_tau Z' searches (``processors.spec.Recast``): the generator's
cross section sigma(e+e- -> mu mu Z') and the Z' branching fractions from its partial widths. The imports
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

"""The network inputs of Z' -> invisible (processors.dilepton.pair_features) on hand-built momenta."""

from __future__ import annotations

import numpy as np
import pytest

from processors import kinematics as K
from processors.dilepton import PAIR_FEATURES, pair_features


def _p4(p: list[list[float]]) -> K.P4:
    a = np.asarray(p, float)
    return K.P4.from_pxpypzm(a[:, 0], a[:, 1], a[:, 2], 0.10566)


def test_pair_features_on_hand_built_pairs() -> None:
    # event 0: back to back along z (thrust axis along them); event 1: perpendicular 3 and 4 GeV in x-y;
    # event 2: the same with the tracks swapped (the harder one is found either way)
    f = pair_features(_p4([[0, 0, 5], [3, 0, 0], [0, 4, 0]]), _p4([[0, 0, -5], [0, 4, 0], [3, 0, 0]]))
    assert set(f) == set(PAIR_FEATURES)
    np.testing.assert_allclose(f["pt_thrust_hard"], [0.0, 2.4, 2.4], atol=1e-12)
    np.testing.assert_allclose(f["pt_thrust_soft"], [0.0, 2.4, 2.4], atol=1e-12)
    np.testing.assert_allclose(f["pl_hard_wrt_soft"], [-5.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(f["pt_hard_wrt_soft"], [0.0, 4.0, 4.0], atol=1e-12)
    np.testing.assert_allclose(f["pt_pair_cms"], [0.0, 5.0, 5.0], atol=1e-12)


def test_thrust_axis_follows_the_longer_of_sum_and_difference() -> None:
    # two nearly collinear tracks (a boosted pair): the axis is along their sum, pT w.r.t. it is small
    f = pair_features(_p4([[1.0, 0.1, 0.0]]), _p4([[2.0, -0.1, 0.0]]))
    axis = np.array([3.0, 0.0, 0.0]) / 3.0
    assert f["pt_thrust_hard"][0] == pytest.approx(np.linalg.norm(np.cross([2.0, -0.1, 0.0], axis)))
    assert f["pt_thrust_soft"][0] == pytest.approx(0.1)

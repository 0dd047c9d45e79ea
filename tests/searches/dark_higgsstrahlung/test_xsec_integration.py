"""sigma(e+e- -> A' h') of samples.generator.xsec.darkhiggs_xsec_fb (the Batell-Pospelov-Ritz closed form) against
an independent numerical integration of the tree-level matrix element: e+e- -> A'* -> A' h' with the electron
coupling eps e, the A' A' h' vertex 2 g_D m_A' (g_D^2 = 4 pi alpha_D), the lepton tensor of massless beams
contracted with the massive A' polarisation sum, 2-body phase space integrated over cos(theta) numerically."""

from __future__ import annotations

import numpy as np
import pytest

from samples import constants as C
from samples.generator import xsec


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[..., 0] * b[..., 0] - np.sum(a[..., 1:] * b[..., 1:], axis=-1)


def numerical_xsec_fb(mA: float, mh: float, sqrt_s: float, n: int = 2001) -> float:
    s = sqrt_s**2
    e = sqrt_s / 2.0
    p1, p2 = np.array([e, 0, 0, e]), np.array([e, 0, 0, -e])
    k = np.sqrt((s - (mA + mh) ** 2) * (s - (mA - mh) ** 2)) / (2.0 * sqrt_s)  # |p| of A' and h'
    cos = np.linspace(-1.0, 1.0, n)
    sin = np.sqrt(1.0 - cos**2)
    kA = np.stack([np.full(n, np.sqrt(k * k + mA * mA)), k * sin, np.zeros(n), k * cos], axis=-1)
    # sum over spins: L^{mu nu} (-g_{mu nu} + k_mu k_nu / mA^2), L^{mu nu} = 4 (p1 p2 + p2 p1 - g p1.p2)
    lg = 4.0 * (2.0 * _dot(p1, p2) - 4.0 * _dot(p1, p2))  # L^{mu nu} g_{mu nu}
    lkk = 4.0 * (2.0 * _dot(p1, kA) * _dot(p2, kA) - _dot(p1, p2) * _dot(kA, kA))
    spin_sum = -lg + lkk / (mA * mA)
    e2, gd2 = 4.0 * np.pi * C.ALPHA_EM, 4.0 * np.pi * 1.0  # eps = alpha_D = 1 (the function's normalisation)
    m2 = 0.25 * e2 * 4.0 * gd2 * mA * mA / (s - mA * mA) ** 2 * spin_sum
    dsig = 2.0 * np.pi * m2 * k / (64.0 * np.pi**2 * s * e)  # d sigma / d cos, |p_in| = sqrt(s)/2
    return float(np.trapezoid(dsig, cos) * C.GEV2_TO_FB)


@pytest.mark.parametrize(("mA", "mh"), [(4.0, 1.0), (7.0, 2.5), (9.5, 0.5), (2.0, 1.5)])
def test_bpr_cross_section_equals_the_integrated_matrix_element(mA: float, mh: float) -> None:
    s = C.SQRT_S_NOMINAL
    assert xsec.darkhiggs_xsec_fb(mA, mh, sqrt_s=s) == pytest.approx(numerical_xsec_fb(mA, mh, s), rel=1e-5)


def test_the_integrand_has_the_generators_angular_shape() -> None:
    """d sigma / d cos(theta) of the matrix element is the generator's darkhiggs_angular_weight up to a constant."""
    mA, mh, s = 6.0, 2.0, C.SQRT_S_NOMINAL
    cos = np.linspace(-0.95, 0.95, 7)
    w = xsec.darkhiggs_angular_weight(cos, mA, mh, s)
    e = s / 2.0
    p1, p2 = np.array([e, 0, 0, e]), np.array([e, 0, 0, -e])
    k = np.sqrt((s**2 - (mA + mh) ** 2) * (s**2 - (mA - mh) ** 2)) / (2.0 * s)
    kA = np.stack([np.full(cos.size, np.hypot(k, mA)), k * np.sqrt(1 - cos**2), np.zeros(cos.size), k * cos], axis=-1)
    spin = -4.0 * (-2.0 * _dot(p1, p2)) + 4.0 * (2.0 * _dot(p1, kA) * _dot(p2, kA) - _dot(p1, p2) * mA**2) / mA**2
    np.testing.assert_allclose(spin / spin[3], w / w[3], rtol=1e-10)

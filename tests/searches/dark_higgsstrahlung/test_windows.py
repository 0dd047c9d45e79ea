"""The window-counting machinery of the dark Higgsstrahlung search on known inputs: the ellipse fit of a 2D
Gaussian, the exact Bayesian limits at low counts (with the signal-efficiency prior), the interpolation closure at
held-out points, the coverage of the plane by the dense windows, and an injected signal between generated
points found in the right window with the right significance."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from processors.spec import DataSample, Luminosity, SearchSpec, SignalModel, WindowCounting
from workflows import outputs
from workflows.stats import counting
from workflows.stats.plans import window_counting as W
from workflows.stats.plans.common import StatsOptions

LUMI = 10.0
MODEL = SignalModel("toy2d", "toy2d", "T", params=("mass", "mass2"))


def _shape(m: float, h: float) -> tuple[float, float, float]:
    """A smooth field of ellipses (sigma_x, sigma_y, rho) over the plane, like the real ones: narrow in x,
    wider in y at low second mass, tilted more near the kinematic edge."""
    return 0.004 + 0.002 * m, 0.05 + 0.3 / (1 + 2 * h), -0.2 - 0.5 * h / m


def _gauss(rng: np.random.Generator, n: int, m: float, h: float, tail: float = 0.0) -> tuple[np.ndarray, ...]:
    sx, sy, rho = _shape(m, h)
    cov = W.cov_from(sx, sy, rho)
    xy = rng.multivariate_normal([m, h], cov, n)
    n_tail = int(tail * n)  # a one-sided radiative tail in y, which the clipping must ignore
    xy[:n_tail, 1] += rng.exponential(5 * sy, n_tail)
    return xy[:, 0], xy[:, 1]


GRID = [(m, h) for m in (3.0, 4.5, 6.0, 7.5) for h in (0.5, 1.5, 2.5) if h < m - 0.5]
HELD_OUT = [(3.75, 1.0), (5.25, 2.0), (6.75, 1.0)]


def test_ellipse_fit_recovers_a_rotated_gaussian() -> None:
    rng = np.random.default_rng(1)
    x, y = _gauss(rng, 20000, 5.0, 1.0, tail=0.05)
    centre, cov = W.fit_ellipse(x, y, np.ones_like(x), (5.01, 1.1))
    sx, sy, rho = _shape(5.0, 1.0)
    want = W.axes_of(W.cov_from(sx, sy, rho)[()])
    got = W.axes_of(cov)
    assert centre == pytest.approx((5.0, 1.0), abs=0.03 * sy)  # 3 sigma/sqrt(N) + what the 3 sigma clip leaves
    assert got["sigma_major"] == pytest.approx(want["sigma_major"], rel=0.05)
    assert got["sigma_minor"] == pytest.approx(want["sigma_minor"], rel=0.05)
    assert got["angle_deg"] == pytest.approx(want["angle_deg"], abs=1.0)


def test_bayesian_limits_exact_at_low_counts() -> None:
    # n = 0: the posterior is e^-s whatever b (no uncertainty): 2.303 events at 90 %
    lim = counting.bayesian_limits(np.zeros(4), np.array([0.0, 0.5, 3.0, 20.0]), 0.0, cl=0.90)
    np.testing.assert_allclose(lim.observed, -np.log(0.1), rtol=1e-6)
    # n = 2, b = 1, 10 % on b and 20 % on the signal efficiency: against a direct double integral
    n, b, rb, rs = 2.0, 1.0, 0.1, 0.2
    pb = stats.gamma(1 / rb**2, scale=b * rb**2)
    pk = stats.gamma(1 / rs**2, scale=rs**2)

    bb, kk = np.meshgrid(np.linspace(1e-4, 3.0, 150), np.linspace(0.2, 2.2, 150))  # both priors are narrow
    prior = pb.pdf(bb) * pk.pdf(kk)
    ss = np.linspace(0.0, 40.0, 1001)
    like = np.array([(stats.poisson.pmf(n, kk * s + bb) * prior).sum() for s in ss])
    post = np.cumsum(like) / like.sum()
    ul = counting.bayesian_limits(np.array([n]), np.array([b]), rb, cl=0.9, signal_rel_unc=rs).observed[0]
    assert np.interp(ul, ss.ravel(), post) == pytest.approx(0.90, abs=2e-3)
    # an uncertain efficiency weakens the limit
    assert ul > counting.bayesian_limits(np.array([n]), np.array([b]), rb, cl=0.9).observed[0]


def _fitted_model(rng: np.random.Generator) -> tuple[W.EllipseModel, np.ndarray]:
    pts, centres, covs = [], [], []
    for m, h in GRID:
        x, y = _gauss(rng, 5000, m, h, tail=0.03)
        c, cov = W.fit_ellipse(x, y, np.ones_like(x), (m, h))
        pts.append((m, h))
        centres.append(c)
        covs.append(cov)
    pts_a = np.array(pts)
    model = W.EllipseModel.fit(pts_a, np.array(centres), pts_a, np.array(covs), np.full(len(pts), 0.4))
    return model, pts_a


def test_interpolation_closure_at_held_out_points() -> None:
    rng = np.random.default_rng(2)
    model, _ = _fitted_model(rng)
    for m, h in HELD_OUT:
        x, y = _gauss(rng, 5000, m, h, tail=0.03)
        c_fit, cov_fit = W.fit_ellipse(x, y, np.ones_like(x), (m, h))
        c, cov, eff = model(np.array([[m, h]]), np.array([[m, h]]))
        fit, interp = W.axes_of(cov_fit), W.axes_of(cov[0])
        assert interp["sigma_major"] == pytest.approx(fit["sigma_major"], rel=0.08), (m, h)
        assert interp["sigma_minor"] == pytest.approx(fit["sigma_minor"], rel=0.08), (m, h)
        assert interp["angle_deg"] == pytest.approx(fit["angle_deg"], abs=3.0), (m, h)
        assert c[0] == pytest.approx(c_fit, abs=0.1 * np.sqrt(np.diag(cov_fit)).max())
        assert eff[0] == pytest.approx(0.4, rel=1e-6)


def test_dense_windows_cover_the_plane() -> None:
    rng = np.random.default_rng(3)
    model, pts = _fitted_model(rng)
    grid = W.dense_grid(pts, model, lambda p: (p["mass"], p["mass2"]), 2.0)
    centres, covs, _ = model(grid, grid)
    from scipy.spatial import Delaunay

    probe = rng.uniform(pts.min(axis=0), pts.max(axis=0), (20000, 2))
    probe = probe[Delaunay(pts).find_simplex(probe) >= 0]
    dmin, _ = W.min_distance(probe[:, 0], probe[:, 1], centres, covs)
    assert len(grid) > 100 and len(probe) > 5000
    assert dmin.max() <= 2.0, f"a point {dmin.max():.2f} sigma from every window"


def _spec(step: float | None) -> SearchSpec:
    plan = WindowCounting(x="x", y="y", observable=lambda p: (p["mass"], p["mass2"]), xsec_label="s",
                          window_n_sigma=2.0, scan_step_sigma=step)  # fmt: skip
    return SearchSpec(name="toy-dh", title="toy", reference="none", processor="x:y", lumi=Luminosity(LUMI, "toy"),
                      signals=(MODEL,), backgrounds=("bkg",), data=(DataSample("data"),), recipe="none",
                      stats=plan)  # fmt: skip


def test_injected_signal_between_generated_points_is_found(tmp_path) -> None:
    rng = np.random.default_rng(4)
    lists, samples = {}, {}
    for i, (m, h) in enumerate(GRID):
        x, y = _gauss(rng, 4000, m, h)
        lists[f"sig{i}"] = {"x": x, "y": y, "weight": np.full(4000, 0.1)}  # 400 events at 100 fb: eff 0.4
        samples[f"sig{i}"] = {"is_signal": True, "process": "toy2d", "mass": m, "mass2": h, "xsec_fb": 100.0}
    nb = 40000  # flat background, 10 events per unit area at weight 0.1
    bx, by = rng.uniform(2.5, 8.0, nb), rng.uniform(0.0, 3.0, nb)
    lists["bkg"] = {"x": bx, "y": by, "weight": np.full(nb, 0.1)}
    n_data = rng.poisson(nb * 0.1)
    dx, dy = rng.uniform(2.5, 8.0, n_data), rng.uniform(0.0, 3.0, n_data)
    m0, h0 = 5.25, 1.25  # between the generated points
    sx, sy = _gauss(rng, 30, m0, h0)
    lists["data"] = {"x": np.r_[dx, sx], "y": np.r_[dy, sy], "weight": np.ones(n_data + 30)}
    samples.update({"bkg": {"is_signal": False, "process": "bkg"}, "data": {"is_data": True, "process": "data"}})
    outputs.write_eventlist(lists, tmp_path / outputs.EVENTLIST_FILE)
    run = outputs.RunOutput(hists={}, cutflows={}, samples=samples, nevents={}, blinded=False, search="toy-dh",
                            lumi_fb=LUMI, path=tmp_path)  # fmt: skip
    res = W.run(run, _spec(2.0), StatsOptions(cl=0.9, progress=False))
    best = max(res.rows, key=lambda r: r.z_local)
    assert best.interpolated
    # the right window: the injected point well inside it (within 1.5 of its 2 widths; the best window follows
    # the 30 events' fluctuation)
    c, cov = np.array(best.extra["centre"]), W.cov_from(*_shape(m0, h0))
    assert W.in_window(np.array([m0]), np.array([h0]), tuple(c), cov, 1.5)[0]
    # the right significance: the local Z of its count, and about what ~26 signal events (30 x 86.5 %) on
    # its background give
    n, b = best.extra["n_obs"], best.extra["background"]
    p_direct = counting.counting_p0(np.array([n]), np.array([b]), best.extra["background_rel_unc"])[0]
    assert best.z_local == pytest.approx(float(stats.norm.isf(p_direct)), rel=1e-6)
    assert best.z_local < float(stats.norm.isf(stats.poisson.sf(n - 1, b)))  # the MC-statistics prior widens b
    z_expected = float(stats.norm.isf(stats.poisson.sf(b + 0.865 * 30 - 1, b)))
    assert abs(best.z_local - z_expected) < 2.0 and best.z_local > 4.0
    assert res.significance["z_local"] == pytest.approx(best.z_local)
    assert res.significance["z_global_neff"] < best.z_local

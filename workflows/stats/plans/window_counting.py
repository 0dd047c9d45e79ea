"""Window counting in a 2D plane: one rotated elliptical window per signal hypothesis, exact counts of
the weighted event lists, Bayesian (flat prior, the dark-Higgsstrahlung paper's 90 % credibility) or
CLs upper limits with exact low-count statistics (workflows.stats.counting).

The ellipse of each generated hypothesis is measured on its signal events (:func:`fit_ellipse`): the
robust mean and covariance, iteratively clipped at 3 sigma so that radiative tails do not inflate them,
starting from where the declared ``observable`` puts the hypothesis; its principal axes and rotation are
recorded in the row. The window is ``d^T C^-1 d <= window_n_sigma^2``.

With ``scan_step_sigma`` the plan also places hypotheses between the generated ones (:func:`dense_grid`,
rows of constant second parameter stepped by that many marginal signal widths, inside the convex hull of
the generated points): their ellipse (log widths, correlation, centre offset) and the signal efficiency of
their window are interpolated across the plane (:class:`EllipseModel`, thin-plate splines through the
generated points).

The background is the MC in the window; its relative uncertainty (the gamma prior's width) combines the MC
statistics with the declared normalisation systematics of the backgrounds; the signal's declared systematics
are a gamma prior on the signal efficiency (Bayesian limits; CLs ignores them and says so). The observed
count is the data sample's; with no data, or data blinded, it is the background's median count and the rows
say ``data_is_asimov``. The largest local excess is reported with a global significance from the effective
number of independent windows (windows / their mean overlap).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from processors.spec import NormSys, SearchSpec, WindowCounting
from workflows.stats import counting
from workflows.stats.plans.common import Hypothesis, LimitRow, StatsOptions, StatsResult, add_couplings
from workflows.stats.plans.counting_common import sigma_limit_fb, split_eventlists


def _clipped(x: np.ndarray, y: np.ndarray, w: np.ndarray, centre: tuple[float, float], clip: float,
             iterations: int, move: bool) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    pts = np.stack([np.asarray(x, float), np.asarray(y, float)])
    w = np.asarray(w, float)
    c = np.asarray(centre, float)
    keep = np.ones(pts.shape[1], bool)
    cov = np.eye(2)
    for _ in range(iterations):
        if w[keep].sum() <= 0 or keep.sum() < 3:
            raise ValueError("fewer than 3 signal events to measure the window ellipse")
        if move:
            c = np.average(pts[:, keep], axis=1, weights=w[keep])
        d = pts - c[:, None]
        cov = np.cov(d[:, keep], aweights=w[keep], bias=True)
        cov += np.eye(2) * 1e-12 * max(np.trace(cov), 1e-12)  # a degenerate plane must stay invertible
        r2 = np.einsum("in,ij,jn->n", d, np.linalg.inv(cov), d)
        new = r2 <= clip**2
        if np.array_equal(new, keep):
            break
        keep = new
    return c, cov


def signal_ellipse(x: np.ndarray, y: np.ndarray, w: np.ndarray, centre: tuple[float, float],
                   clip: float = 3.0, iterations: int = 10) -> np.ndarray:  # fmt: skip
    """Weighted covariance (2x2) of (x, y) around a fixed ``centre``, clipped iteratively at ``clip`` sigma."""
    d = np.stack([np.asarray(x, float) - centre[0], np.asarray(y, float) - centre[1]])
    w = np.asarray(w, float)
    keep = np.ones(d.shape[1], bool)
    cov = np.eye(2)
    for _ in range(iterations):
        if w[keep].sum() <= 0 or keep.sum() < 3:
            raise ValueError("fewer than 3 signal events to measure the window ellipse")
        sw = w[keep].sum()
        cov = (d[:, keep] * w[keep]) @ d[:, keep].T / sw  # second moments around the fixed centre
        cov += np.eye(2) * 1e-12 * max(np.trace(cov), 1e-12)
        r2 = np.einsum("in,ij,jn->n", d, np.linalg.inv(cov), d)
        new = r2 <= clip**2
        if np.array_equal(new, keep):
            break
        keep = new
    return cov


def fit_ellipse(x: np.ndarray, y: np.ndarray, w: np.ndarray, start: tuple[float, float], clip: float = 3.0,
                iterations: int = 20) -> tuple[tuple[float, float], np.ndarray]:  # fmt: skip
    """Robust centre and covariance of a weighted 2D peak: mean and covariance of the events within ``clip``
    sigma, iterated from ``start`` (the first pass around ``start`` with the covariance about it)."""
    cov0 = signal_ellipse(x, y, w, start, clip, iterations)
    d = np.stack([np.asarray(x, float) - start[0], np.asarray(y, float) - start[1]])
    near = np.einsum("in,ij,jn->n", d, np.linalg.inv(cov0), d) <= clip**2
    c0 = tuple(np.average(np.stack([x, y])[:, near], axis=1, weights=np.asarray(w, float)[near]))
    c, cov = _clipped(x, y, w, c0, clip, iterations, move=True)
    return (float(c[0]), float(c[1])), cov


def in_window(x: np.ndarray, y: np.ndarray, centre: tuple[float, float], cov: np.ndarray, n_sigma: float) -> np.ndarray:
    d = np.stack([np.asarray(x, float) - centre[0], np.asarray(y, float) - centre[1]])
    return np.einsum("in,ij,jn->n", d, np.linalg.inv(cov), d) <= n_sigma**2


def axes_of(cov: np.ndarray) -> dict[str, float]:
    """Principal widths and the major axis' angle to the x axis [deg, in (-90, 90]]."""
    vals, vecs = np.linalg.eigh(cov)
    angle = float(np.degrees(np.arctan2(vecs[1, 1], vecs[0, 1])))
    angle = angle - 180.0 if angle > 90.0 else angle + 180.0 if angle <= -90.0 else angle
    return {"sigma_major": float(np.sqrt(vals[1])), "sigma_minor": float(np.sqrt(vals[0])), "angle_deg": angle}


_axes = axes_of  # the name the row building used before


def cov_from(sx: np.ndarray, sy: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """(n, 2, 2) covariances from marginal widths and correlations."""
    sx, sy, rho = np.broadcast_arrays(np.asarray(sx, float), np.asarray(sy, float), np.asarray(rho, float))
    out = np.empty((*sx.shape, 2, 2))
    out[..., 0, 0], out[..., 1, 1] = sx * sx, sy * sy
    out[..., 0, 1] = out[..., 1, 0] = rho * sx * sy
    return out


# ----------------------------------------------------------------------------- interpolation
@dataclass
class EllipseModel:
    """The signal ellipse and window efficiency across the plane, from the generated points: thin-plate
    splines (in log parameters) through log sigma_x, log sigma_y, atanh(rho), the centre offsets and
    logit(efficiency)."""

    points: np.ndarray  # (n, 2) generated parameters
    targets: np.ndarray  # (n, 6)
    _rbf: object = None

    def __post_init__(self) -> None:
        from scipy.interpolate import RBFInterpolator

        if len(self.points) >= 3:
            self._rbf = RBFInterpolator(self._features(self.points), self.targets, kernel="thin_plate_spline",
                                        degree=1)  # fmt: skip

    def _features(self, pts: np.ndarray) -> np.ndarray:
        """Log coordinates for positive parameters (masses): resolutions go as powers of them (the recoil
        width as 1/M_recoil, from the constant resolution on M^2), which is linear in logs."""
        return np.log(pts) if np.all(self.points > 0) else pts

    @classmethod
    def fit(cls, points: np.ndarray, centres: np.ndarray, nominal: np.ndarray, covs: np.ndarray,
            eff: np.ndarray) -> EllipseModel:  # fmt: skip
        sx, sy = np.sqrt(covs[:, 0, 0]), np.sqrt(covs[:, 1, 1])
        rho = np.clip(covs[:, 0, 1] / (sx * sy), -0.999, 0.999)
        e = np.clip(eff, 1e-6, 1 - 1e-6)
        t = np.column_stack([np.log(sx), np.log(sy), np.arctanh(rho), centres - nominal, np.log(e / (1 - e))])
        return cls(np.asarray(points, float), t)

    def __call__(self, points: np.ndarray, nominal: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(centres (m, 2), covariances (m, 2, 2), efficiencies (m,)) at ``points`` (m, 2)."""
        pts = np.atleast_2d(np.asarray(points, float))
        if self._rbf is not None:
            t = self._rbf(self._features(pts))  # type: ignore[operator]
        else:  # too few points for a surface: the nearest generated point's shape
            near = np.argmin(((pts[:, None, :] - self.points[None]) ** 2).sum(-1), axis=1)
            t = self.targets[near]
        cov = cov_from(np.exp(t[:, 0]), np.exp(t[:, 1]), np.tanh(t[:, 2]))
        return np.asarray(nominal, float) + t[:, 3:5], cov, 1.0 / (1.0 + np.exp(-t[:, 5]))


def dense_grid(points: np.ndarray, model: EllipseModel, observable, step: float) -> np.ndarray:
    """Hypotheses (m, 2) inside the convex hull of the generated ``points``: rows of constant second parameter
    ``step`` times the smallest marginal y width of the row apart; along a row ``step`` local conditional x
    widths (sigma_x sqrt(1 - rho^2), the width of the window along the row) apart. A point between two rows
    and two windows is then within step / sqrt(2) widths of one of them (for slowly varying shapes)."""
    from scipy.spatial import Delaunay

    hull = Delaunay(points)
    lo, hi = points.min(axis=0), points.max(axis=0)
    xs_probe = np.linspace(lo[0], hi[0], 200)
    out, y, last = [], lo[1], False
    while True:
        probe = np.column_stack([xs_probe, np.full_like(xs_probe, y)])
        inside = hull.find_simplex(probe) >= 0
        if inside.any():
            i_lo, i_hi = np.flatnonzero(inside)[[0, -1]]
            x_lo = _edge(hull, xs_probe[max(i_lo - 1, 0)], xs_probe[i_lo], y)
            x_hi = _edge(hull, xs_probe[min(i_hi + 1, len(xs_probe) - 1)], xs_probe[i_hi], y)
            _, cov, _ = model(probe[inside], _nominal(observable, probe[inside]))
            x = x_lo
            while x < x_hi:
                out.append((x, y))
                dx = step * _width(model, observable, x, y)
                x += min(dx, step * _width(model, observable, x + dx, y))  # the narrower of the two ends
            out.append((x_hi, y))  # the row's end, so that the hull's edge is covered too
            dy = step * float(np.sqrt(cov[:, 1, 1].min()))
            _, cov2, _ = model(probe[inside] + [0.0, dy], _nominal(observable, probe[inside] + [0.0, dy]))
            dy = min(dy, step * float(np.sqrt(cov2[:, 1, 1].min())))  # narrower windows in the next row
        else:
            dy = 0.5 * (hi[1] - lo[1]) / len(xs_probe)
        if last:
            break
        y += dy
        if y >= hi[1]:  # the last row on the hull's top
            y, last = hi[1] - 1e-9 * max(1.0, abs(hi[1])), True
    grid = np.array(out, float).reshape(-1, 2)
    return grid[hull.find_simplex(grid) >= 0]


def _width(model: EllipseModel, observable, x: float, y: float) -> float:
    """The conditional x width (along a row) at (x, y)."""
    p = np.array([[x, y]])
    _, c, _ = model(p, _nominal(observable, p))
    return float(np.sqrt(c[0, 0, 0] - c[0, 0, 1] ** 2 / c[0, 1, 1]))


def _edge(hull, x_out: float, x_in: float, y: float, iterations: int = 40) -> float:
    """Where the row y crosses the hull between an outside and an inside x (bisection)."""
    for _ in range(iterations):
        mid = 0.5 * (x_out + x_in)
        if hull.find_simplex(np.array([[mid, y]]))[0] >= 0:
            x_in = mid
        else:
            x_out = mid
    return float(x_in)


def _nominal(observable, pts: np.ndarray, names: tuple[str, str] = ("mass", "mass2")) -> np.ndarray:
    return np.array([observable(dict(zip(names, p, strict=True))) for p in pts], float).reshape(-1, 2)


def min_distance(px: np.ndarray, py: np.ndarray, centres: np.ndarray, covs: np.ndarray,
                 chunk: int = 2000) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per point: the smallest Mahalanobis distance to any window and the number of windows within 2 sigma."""
    inv = np.linalg.inv(covs)
    dmin = np.full(len(px), np.inf)
    n2 = np.zeros(len(px), int)
    for i in range(0, len(px), chunk):
        dx = px[i : i + chunk, None] - centres[None, :, 0]
        dy = py[i : i + chunk, None] - centres[None, :, 1]
        r2 = inv[:, 0, 0] * dx * dx + 2 * inv[:, 0, 1] * dx * dy + inv[:, 1, 1] * dy * dy
        dmin[i : i + chunk] = np.sqrt(r2.min(axis=1))
        n2[i : i + chunk] = (r2 <= 4.0).sum(axis=1)
    return dmin, n2


# ----------------------------------------------------------------------------- counting
def window_sums(x: np.ndarray, y: np.ndarray, w: np.ndarray, centres: np.ndarray, covs: np.ndarray,
                n_sigma: float) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Sum of weights and of squared weights of the events inside each window (events sorted by x once,
    each window looks at the slice its x extent allows)."""
    order = np.argsort(x)
    xs, ys, ws = np.asarray(x, float)[order], np.asarray(y, float)[order], np.asarray(w, float)[order]
    inv = np.linalg.inv(covs)
    half = n_sigma * np.sqrt(covs[:, 0, 0])
    lo = np.searchsorted(xs, centres[:, 0] - half, "left")
    hi = np.searchsorted(xs, centres[:, 0] + half, "right")
    s1, s2 = np.zeros(len(centres)), np.zeros(len(centres))
    for j in range(len(centres)):
        dx, dy = xs[lo[j] : hi[j]] - centres[j, 0], ys[lo[j] : hi[j]] - centres[j, 1]
        inside = inv[j, 0, 0] * dx * dx + 2 * inv[j, 0, 1] * dx * dy + inv[j, 1, 1] * dy * dy <= n_sigma**2
        wi = ws[lo[j] : hi[j]][inside]
        s1[j], s2[j] = wi.sum(), (wi * wi).sum()
    return s1, s2


def _norm_uncertainties(spec: SearchSpec) -> tuple[float, float]:
    """Relative normalisation uncertainties (background, signal) in quadrature from the declared NormSys."""
    bkg2 = sig2 = 0.0
    for s in spec.systematics:
        if not isinstance(s, NormSys):
            continue
        rel = 0.5 * (abs(s.hi - 1.0) + abs(1.0 - s.lo))
        if s.samples is None or "signal" in s.samples:
            sig2 += rel * rel
        if s.samples is None or any(b in s.samples for b in spec.backgrounds):
            bkg2 += rel * rel
    return float(np.sqrt(bkg2)), float(np.sqrt(sig2))


EMPTY_NEIGHBOURHOOD = 5.0  # windows this many times larger give the MC weight of an empty window


def _empty_windows(bkg: dict, plan: WindowCounting, win: Windows, b: np.ndarray,
                   rel: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:  # fmt: skip
    """A window without MC events has a background below about one MC event, not zero: Jeffreys' posterior of
    zero counted events, mean 0.5 w and relative width sqrt(2), with w the effective weight (sum w^2 / sum w)
    of the MC events in a window EMPTY_NEIGHBOURHOOD times larger (none there either: b = 0)."""
    empty = b <= 0
    if not empty.any():
        return b, rel, 0
    big1, big2 = window_sums(bkg[plan.x], bkg[plan.y], bkg["weight"], win.centres[empty], win.covs[empty],
                             EMPTY_NEIGHBOURHOOD * plan.window_n_sigma)  # fmt: skip
    w = np.where(big1 > 0, big2 / np.where(big1 > 0, big1, 1.0), 0.0)
    b, rel = b.copy(), rel.copy()
    b[empty], rel[empty] = 0.5 * w, np.where(w > 0, np.sqrt(2.0), 0.0)
    return b, rel, int(empty.sum())


@dataclass
class Windows:
    hyps: list[Hypothesis]
    centres: np.ndarray  # (n, 2)
    covs: np.ndarray  # (n, 2, 2)
    eff: np.ndarray  # signal efficiency of the window (selection x window), per hypothesis
    samples: list[str | None]  # the generated sample of the hypothesis (None: interpolated)
    xsec: np.ndarray  # the generated sample's xsec (NaN: interpolated)


def build_windows(run_output, spec: SearchSpec, ev, plan: WindowCounting,
                  step: float | None) -> tuple[Windows, EllipseModel | None]:  # fmt: skip
    """The windows of the generated points (measured) and, with ``step``, of the dense grid (interpolated)."""
    lumi = float(run_output.lumi_fb or spec.lumi.fb)
    hyps, centres, covs, effs, samples, xsecs = [], [], [], [], [], []
    for sample, (hyp, cols, xsec) in sorted(ev.signals.items(), key=lambda kv: kv[1][0]):
        start = tuple(float(c) for c in plan.observable(dict(hyp.params)))
        centre, cov = fit_ellipse(cols[plan.x], cols[plan.y], cols["weight"], start)  # type: ignore[arg-type]
        inside = in_window(cols[plan.x], cols[plan.y], centre, cov, plan.window_n_sigma)
        hyps.append(hyp)
        centres.append(centre)
        covs.append(cov)
        effs.append(float(cols["weight"][inside].sum()) / (xsec * lumi))
        samples.append(sample)
        xsecs.append(xsec)
    win = Windows(hyps, np.array(centres), np.array(covs), np.array(effs), samples, np.array(xsecs))
    names = hyps[0].names
    if step is None or not step or len(names) != 2 or len({h.model for h in hyps}) != 1:
        return win, None
    pts = np.array([[h[names[0]], h[names[1]]] for h in hyps])
    nominal = _nominal(plan.observable, pts, names)
    model = EllipseModel.fit(pts, win.centres, nominal, win.covs, win.eff)
    grid = dense_grid(pts, model, lambda p: plan.observable(dict(zip(names, (p["mass"], p["mass2"]), strict=True))),
                      step)  # fmt: skip
    known = {tuple(np.round(p, 9)) for p in pts}
    grid = np.array([g for g in grid if tuple(np.round(g, 9)) not in known]).reshape(-1, 2)
    if len(grid):
        c, cv, e = model(grid, _nominal(plan.observable, grid, names))
        win.hyps += [Hypothesis(hyps[0].model, ((names[0], float(a)), (names[1], float(b)))) for a, b in grid]
        win.centres, win.covs, win.eff = np.vstack([win.centres, c]), np.vstack([win.covs, cv]), np.r_[win.eff, e]
        win.samples += [None] * len(grid)
        win.xsec = np.r_[win.xsec, np.full(len(grid), np.nan)]
    return win, model


def run(run_output, spec: SearchSpec, opts: StatsOptions) -> StatsResult:
    plan = spec.stats
    assert isinstance(plan, WindowCounting)
    ev = split_eventlists(run_output, spec, (plan.x, plan.y))
    if not ev.signals:
        raise ValueError(f"{spec.name}: no signal sample with selected events in the event list")
    if opts.masses is not None:
        raise ValueError(f"{spec.name}: --masses applies to peak scans; a window-counting plan uses the "
                         "generated hypotheses and its declared scan_step_sigma")  # fmt: skip
    step = plan.scan_step_sigma if opts.scan_step_sigma is None else opts.scan_step_sigma
    win, _ = build_windows(run_output, spec, ev, plan, step)
    lumi = float(run_output.lumi_fb or spec.lumi.fb)
    s1, s2 = window_sums(ev.background[plan.x], ev.background[plan.y], ev.background["weight"], win.centres,
                         win.covs, plan.window_n_sigma)  # fmt: skip
    b = np.maximum(s1, 0.0)
    bkg_sys, sig_sys = _norm_uncertainties(spec)
    mc_rel = np.where(s1 > 0, np.sqrt(s2) / np.where(s1 > 0, s1, 1.0), 0.0)
    b, mc_rel, n_empty = _empty_windows(ev.background, plan, win, b, mc_rel)
    rel = np.sqrt(mc_rel**2 + bkg_sys**2)
    has_data = any(bool(m.get("is_data")) for m in run_output.samples.values())
    blinded = has_data and bool(run_output.blinded)  # blinded data: every signal-region event is hidden
    asimov = ev.data is None or blinded
    if asimov or ev.data is None:
        n_arr = counting.expected_counts(b, rel)[2]
    else:
        n_arr, _ = window_sums(ev.data[plan.x], ev.data[plan.y], np.ones(len(ev.data[plan.x])), win.centres,
                               win.covs, plan.window_n_sigma)  # fmt: skip
    method = opts.method if opts.method in ("bayesian", "cls") else plan.method
    if method == "bayesian":
        lim = counting.bayesian_limits(n_arr, b, rel, cl=opts.cl, signal_rel_unc=sig_sys)
    else:
        lim = counting.counting_limits(n_arr, b, rel, cl=opts.cl)
    p0 = counting.counting_p0(n_arr, b, rel)
    z = counting_z(np.minimum(p0, 0.5))  # one-sided: no excess is Z = 0
    rows: list[LimitRow] = []
    for j, hyp in enumerate(win.hyps):
        s_evt = float(win.eff[j] * lumi)  # selected signal events in the window per fb
        obs, exp = sigma_limit_fb(lim.observed[j], s_evt, 1.0), sigma_limit_fb(lim.expected[:, j], s_evt, 1.0)
        rows.append(LimitRow(hypothesis=hyp, cl=opts.cl, observed=float(obs), expected=[float(e) for e in exp],
                             method=f"{method} counting", z_local=float(z[j]), data_is_asimov=asimov,
                             interpolated=win.samples[j] is None,
                             extra={"sample": win.samples[j] or "", "n_obs": float(n_arr[j]),
                                    "background": float(b[j]), "background_mc": float(s1[j]),
                                    "background_rel_unc": float(rel[j]), "signal_events_per_fb": s_evt,
                                    "signal_events": s_evt * float(win.xsec[j]),  # at the sample's xsec (NaN: none)
                                    "efficiency": float(win.eff[j]), "centre": [float(c) for c in win.centres[j]],
                                    **axes_of(win.covs[j])}))  # fmt: skip
    add_couplings(rows, {m.name: m for m in spec.signals})
    n_gen = sum(s is not None for s in win.samples)
    gen_eff = win.eff[:n_gen] if n_gen else win.eff
    notes = [f"{len(rows)} elliptical windows ({plan.window_n_sigma:g} sigma; {n_gen} generated, {len(rows) - n_gen} "
             f"interpolated), {method} limits at {opts.cl:.0%}",
             f"efficiency of a window for its own signal (generated points): {gen_eff.min():.3f}-{gen_eff.max():.3f}, "
             f"median {np.median(gen_eff):.3f}",
             f"uncertainties: background {bkg_sys:.1%} (declared) (+) MC statistics per window ({n_empty} windows "
             f"without MC events: half an MC event weight, +-141 %); signal {sig_sys:.1%}"
             + (" (not used by CLs)" if method == "cls" else "")]  # fmt: skip
    if blinded:
        notes.append("data blinded: 'observed' is the background-only median count")
    elif ev.data is None:
        notes.append("no data sample in the run: 'observed' is the background-only median count")
    significance = _global_significance(z, p0, win, plan.window_n_sigma)
    notes.append(
        f"largest local excess Z = {significance['z_local']:.2f} at {significance['at']}; global "
        f"Z = {significance['z_global_neff']:.2f} ({significance['n_effective']:.0f} effective windows)"
    )
    return StatsResult(rows=rows, notes=notes, significance=significance)


def _global_significance(z: np.ndarray, p0: np.ndarray, win: Windows, n_sigma: float) -> dict:
    """Largest local Z and its global significance with N_eff = windows / mean overlap (the mean number of
    window centres inside a window): p_global = 1 - (1 - p_local)^N_eff."""
    j = int(np.nanargmax(z)) if np.isfinite(z).any() else 0
    n_cover, _ = window_sums(win.centres[:, 0], win.centres[:, 1], np.ones(len(z)), win.centres, win.covs, n_sigma)
    n_eff = max(1.0, len(z) / max(float(np.mean(n_cover)), 1.0))
    p_glob = float(-np.expm1(n_eff * np.log1p(-min(float(p0[j]), 0.5))))
    hyp = win.hyps[j]
    return {"z_local": float(z[j]), "at": hyp.label, "mass_max": hyp.params[0][1], "hypothesis": dict(hyp.params),
            "n_windows": len(z), "n_effective": n_eff, "p_global": p_glob,
            "z_global_neff": float(counting_z(min(p_glob, 0.5))),
            "z_global_gv": float("nan"),  # Gross-Vitells is a 1D-scan method: not used for the plane
            "method": "trials factor N_eff = windows / mean window overlap"}  # fmt: skip


def counting_z(p0):
    from workflows.stats.significance import z_from_p

    z = z_from_p(np.clip(p0, 1e-300, 1.0))
    return float(z) if np.ndim(z) == 0 else np.asarray(z, float)


__all__ = ["EllipseModel", "axes_of", "dense_grid", "fit_ellipse", "in_window", "min_distance", "run",
           "signal_ellipse", "window_sums"]  # fmt: skip

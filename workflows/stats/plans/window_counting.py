"""Window counting in a 2D plane: one rotated elliptical window per signal hypothesis, exact counts of
the weighted event lists, Bayesian (flat prior, the dark-Higgsstrahlung paper's 90 % credibility) or
CLs upper limits with exact low-count statistics (workflows.stats.counting).

The ellipse of each generated hypothesis is measured on its signal events: the centre is where the
declared ``observable`` puts the hypothesis, the shape the robust covariance of the signal around it
(iteratively clipped at 3 sigma so that radiative tails do not inflate it); its principal axes and
rotation are recorded in the row. The window is ``d^T C^-1 d <= window_n_sigma^2``. The background is
the MC in the window (with its MC-statistical uncertainty as the gamma prior's width); the observed
count is the chosen data sample's, or the background's median count when there is no data.
"""

from __future__ import annotations

import numpy as np

from processors.spec import SearchSpec, WindowCounting
from workflows.stats import counting
from workflows.stats.plans.common import LimitRow, StatsOptions, StatsResult, add_couplings
from workflows.stats.plans.counting_common import sigma_limit_fb, split_eventlists


def signal_ellipse(x: np.ndarray, y: np.ndarray, w: np.ndarray, centre: tuple[float, float],
                   clip: float = 3.0, iterations: int = 10) -> np.ndarray:  # fmt: skip
    """Weighted covariance (2x2) of (x, y) around ``centre``, clipped iteratively at ``clip`` sigma."""
    d = np.stack([np.asarray(x, float) - centre[0], np.asarray(y, float) - centre[1]])
    w = np.asarray(w, float)
    keep = np.ones(d.shape[1], bool)
    cov = np.eye(2)
    for _ in range(iterations):
        if w[keep].sum() <= 0 or keep.sum() < 3:
            raise ValueError("fewer than 3 signal events to measure the window ellipse")
        cov = np.cov(d[:, keep], aweights=w[keep], bias=True)
        cov += np.eye(2) * 1e-12 * max(np.trace(cov), 1e-12)  # a degenerate plane must stay invertible
        r2 = np.einsum("in,ij,jn->n", d, np.linalg.inv(cov), d)
        new = r2 <= clip**2
        if np.array_equal(new, keep):
            break
        keep = new
    return cov


def in_window(x: np.ndarray, y: np.ndarray, centre: tuple[float, float], cov: np.ndarray, n_sigma: float) -> np.ndarray:
    d = np.stack([np.asarray(x, float) - centre[0], np.asarray(y, float) - centre[1]])
    return np.einsum("in,ij,jn->n", d, np.linalg.inv(cov), d) <= n_sigma**2


def _axes(cov: np.ndarray) -> dict[str, float]:
    vals, vecs = np.linalg.eigh(cov)
    return {"sigma_major": float(np.sqrt(vals[1])), "sigma_minor": float(np.sqrt(vals[0])),
            "angle_deg": float(np.degrees(np.arctan2(vecs[1, 1], vecs[0, 1])))}  # fmt: skip


def run(run_output, spec: SearchSpec, opts: StatsOptions) -> StatsResult:
    plan = spec.stats
    assert isinstance(plan, WindowCounting)
    ev = split_eventlists(run_output, spec, (plan.x, plan.y))
    if not ev.signals:
        raise ValueError(f"{spec.name}: no signal sample with selected events in the event list")
    if opts.masses is not None:
        raise ValueError(f"{spec.name}: --masses applies to peak scans; a window-counting plan uses the "
                         "generated hypotheses")  # fmt: skip
    rows: list[LimitRow] = []
    n_obs, b, rel, meta = [], [], [], []
    for sample, (hyp, cols, xsec) in sorted(ev.signals.items(), key=lambda kv: kv[1][0]):
        centre = tuple(float(c) for c in plan.observable(dict(hyp.params)))
        cov = signal_ellipse(cols[plan.x], cols[plan.y], cols["weight"], centre)  # type: ignore[arg-type]
        inside_s = in_window(cols[plan.x], cols[plan.y], centre, cov, plan.window_n_sigma)  # type: ignore[arg-type]
        inside_b = in_window(ev.background[plan.x], ev.background[plan.y], centre, cov, plan.window_n_sigma)  # type: ignore[arg-type]
        wb = ev.background["weight"][inside_b]
        bsum = float(wb.sum())
        b.append(max(bsum, 0.0))
        rel.append(float(np.sqrt((wb**2).sum()) / bsum) if bsum > 0 else 0.0)
        if ev.data is not None:
            n_obs.append(float(in_window(ev.data[plan.x], ev.data[plan.y], centre, cov, plan.window_n_sigma).sum()))  # type: ignore[arg-type]
        meta.append((sample, hyp, float(cols["weight"][inside_s].sum()), xsec, centre, cov, bsum))
    method = opts.method if opts.method in ("bayesian", "cls") else plan.method
    b_arr, rel_arr = np.array(b), np.array(rel)
    asimov = ev.data is None
    n_arr = counting.expected_counts(b_arr, rel_arr)[2] if asimov else np.array(n_obs)
    solve = counting.bayesian_limits if method == "bayesian" else counting.counting_limits
    lim = solve(n_arr, b_arr, rel_arr, cl=opts.cl)
    p0 = counting.counting_p0(n_arr, b_arr, rel_arr)
    for j, (sample, hyp, s_evt, xsec, centre, cov, bsum) in enumerate(meta):
        obs = sigma_limit_fb(lim.observed[j], s_evt, xsec)
        exp = sigma_limit_fb(lim.expected[:, j], s_evt, xsec)
        z = float(counting_z(p0[j]))
        rows.append(LimitRow(hypothesis=hyp, cl=opts.cl, observed=float(obs), expected=[float(e) for e in exp],
                             method=f"{method} counting", z_local=z, data_is_asimov=asimov,
                             extra={"sample": sample, "n_obs": float(n_arr[j]), "background": bsum,
                                    "background_rel_unc": float(rel_arr[j]), "signal_events": s_evt,
                                    "efficiency": s_evt / (xsec * run_output.lumi_fb) if run_output.lumi_fb else None,
                                    "centre": list(centre), **_axes(cov)}))  # fmt: skip
    add_couplings(rows, {m.name: m for m in spec.signals})
    notes = [f"{len(rows)} elliptical windows ({plan.window_n_sigma:g} sigma), {method} limits at {opts.cl:.0%}"]
    if asimov:
        notes.append("no data sample in the run: 'observed' is the background-only median count")
    return StatsResult(rows=rows, notes=notes)


def counting_z(p0: float) -> float:
    from workflows.stats.significance import z_from_p

    return float(z_from_p(np.clip(p0, 1e-300, 1.0)))

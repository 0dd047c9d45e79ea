"""Sideband counting with near-zero background (the iDM strategy): one window per hypothesis on the
event-list column ``x``, the background in it predicted from the data in the sidebands of ``x``, exact
CLs limits (workflows.stats.counting).

Per hypothesis: the centre is the declared ``observable``, the width the central-68 % half-width of the
signal on ``x``; the window is ``|x - centre| < window_n_sigma * width``, the sidebands
``n1 * width < |x - centre| < n2 * width``. The transfer factor (window / sidebands) is taken from the
MC background where it has events in the sidebands, else the ratio of the widths (a flat background).
The prediction from the data sideband count N is ``transfer * Gamma(N + 1)`` (finite for N = 0). The
same estimate run on the MC in place of data is compared with the MC truth in the window and recorded
(``closure``), which is how a user sees whether the sideband method holds where MC is known.

With a ``category`` column (e.g. the h' final state), each signal model's windows count only the
background and data events of its category (``model_categories``); a declared ``closure_rel_unc`` is
added in quadrature to the sideband count's statistical uncertainty (the gamma prior's width).
"""

from __future__ import annotations

import numpy as np

from processors.spec import SearchSpec, SidebandCounting
from workflows.stats import counting
from workflows.stats.plans.common import Hypothesis, LimitRow, StatsOptions, StatsResult, add_couplings
from workflows.stats.plans.counting_common import sigma_limit_fb, split_eventlists
from workflows.stats.plans.window_counting import counting_z


def central_halfwidth(x: np.ndarray, w: np.ndarray, centre: float) -> float:
    """Half-width around ``centre`` holding 68.3 % of the weighted signal."""
    d = np.abs(np.asarray(x, float) - centre)
    order = np.argsort(d)
    cw = np.cumsum(np.asarray(w, float)[order])
    if cw.size < 3 or cw[-1] <= 0:
        raise ValueError("fewer than 3 signal events to measure the window width")
    return float(d[order][np.searchsorted(cw, 0.683 * cw[-1])])


def regions(x: np.ndarray, centre: float, width: float, plan: SidebandCounting) -> tuple[np.ndarray, np.ndarray]:
    d = np.abs(np.asarray(x, float) - centre)
    n1, n2 = plan.sideband_n_sigma
    return d < plan.window_n_sigma * width, (d > n1 * width) & (d < n2 * width)


def _in_category(cols: dict[str, np.ndarray], column: str | None, value: float | None) -> dict[str, np.ndarray]:
    """The events of one category (all of them without a category column or value)."""
    if column is None or value is None:
        return cols
    keep = np.asarray(cols[column], float) == value
    return {k: np.asarray(v)[keep] for k, v in cols.items()}


def _combined(plan: SidebandCounting, opts: StatsOptions, meta: list, n: np.ndarray, b: np.ndarray, rel: np.ndarray,
              asimov: bool) -> list[LimitRow]:  # fmt: skip
    """One row per hypothesis (same parameters) shared by >= 2 category models: n, b summed (b's absolute
    uncertainties in quadrature), the signal sensitivity sum_c w_c s_c / sigma_c [events per fb]."""
    assert plan.combine_as is not None
    weight = plan.combine_weight or (lambda model, params: 1.0)
    groups: dict[tuple, list[int]] = {}
    for j, (_, hyp, *_rest) in enumerate(meta):
        groups.setdefault(hyp.params, []).append(j)
    keys = [k for k, js in groups.items() if len(js) >= 2]
    if not keys:
        return []
    sens = np.array([sum(weight(meta[j][1].model, dict(k)) * meta[j][2] / meta[j][3] for j in groups[k]) for k in keys])
    bc = np.array([b[groups[k]].sum() for k in keys])
    relc = np.array([np.hypot.reduce(b[groups[k]] * rel[groups[k]]) for k in keys]) / bc
    nc = counting.expected_counts(bc, relc)[2] if asimov else np.array([n[groups[k]].sum() for k in keys])
    lim = counting.counting_limits(nc, bc, relc, cl=opts.cl)
    p0 = counting.counting_p0(nc, bc, relc)
    return [LimitRow(hypothesis=Hypothesis(plan.combine_as, k), cl=opts.cl, observed=float(lim.observed[i] / sens[i]),
                     expected=[float(e) for e in lim.expected[:, i] / sens[i]], method="CLs counting (combined)",
                     z_local=counting_z(p0[i]), data_is_asimov=asimov,
                     extra={"n_obs": float(nc[i]), "background": float(bc[i]), "background_rel_unc": float(relc[i]),
                            "signal_events_per_fb": float(sens[i]),
                            "combined": [meta[j][1].model for j in groups[k]]})
            for i, k in enumerate(keys)]  # fmt: skip


def run(run_output, spec: SearchSpec, opts: StatsOptions) -> StatsResult:
    plan = spec.stats
    assert isinstance(plan, SidebandCounting)
    n1, n2 = plan.sideband_n_sigma
    if not plan.window_n_sigma <= n1 < n2:
        raise ValueError(f"{spec.name}: sidebands {plan.sideband_n_sigma} must lie outside the window "
                         f"(+-{plan.window_n_sigma} sigma)")  # fmt: skip
    ev = split_eventlists(run_output, spec, (plan.x,) + ((plan.category,) if plan.category else ()))
    if not ev.signals:
        raise ValueError(f"{spec.name}: no signal sample with selected events in the event list")
    meta, n_obs, n_side, transfer, closure = [], [], [], [], []
    skipped: list[str] = []
    for sample, (hyp, cols, xsec) in sorted(ev.signals.items(), key=lambda kv: kv[1][0]):
        cat = plan.model_categories.get(hyp.model) if plan.category else None
        cols, bkg = _in_category(cols, plan.category, cat), _in_category(ev.background, plan.category, cat)
        bx, bw = bkg[plan.x], bkg["weight"]
        centre = float(plan.observable(dict(hyp.params)))
        if np.asarray(cols[plan.x]).size < 3:  # too few selected events to measure the window: no limit
            skipped.append(f"{sample}: {np.asarray(cols[plan.x]).size} selected signal events (< 3), no window")
            continue
        width = central_halfwidth(cols[plan.x], cols["weight"], centre)
        win_s, _ = regions(cols[plan.x], centre, width, plan)
        win_b, side_b = regions(bx, centre, width, plan)
        mc_win, mc_side = float(bw[win_b].sum()), float(bw[side_b].sum())
        flat = plan.window_n_sigma / (n2 - n1)
        tf = mc_win / mc_side if mc_side > 0 and mc_win > 0 else flat
        transfer.append(tf)
        if ev.data is not None:
            win_d, side_d = regions(_in_category(ev.data, plan.category, cat)[plan.x], centre, width, plan)
            n_obs.append(float(win_d.sum()))
            n_side.append(float(side_d.sum()))
        else:
            n_side.append(float(np.round(mc_side)))
        closure.append(
            {"mc_in_window": mc_win, "mc_sideband_prediction": tf * (mc_side + 1.0) if mc_side > 0 else None}
        )
        meta.append((sample, hyp, float(cols["weight"][win_s].sum()), xsec, centre, width))
    b, rel = counting.sideband_background(np.array(n_side), np.array(transfer))
    rel = np.hypot(rel, plan.closure_rel_unc)
    asimov = ev.data is None
    n_arr = counting.expected_counts(b, rel)[2] if asimov else np.array(n_obs)
    lim = counting.counting_limits(n_arr, b, rel, cl=opts.cl)
    p0 = counting.counting_p0(n_arr, b, rel)
    rows: list[LimitRow] = []
    for j, (sample, hyp, s_evt, xsec, centre, width) in enumerate(meta):
        rows.append(LimitRow(
            hypothesis=hyp, cl=opts.cl, observed=float(sigma_limit_fb(lim.observed[j], s_evt, xsec)),
            expected=[float(e) for e in sigma_limit_fb(lim.expected[:, j], s_evt, xsec)], method="CLs counting",
            z_local=counting_z(p0[j]), data_is_asimov=asimov,
            window=[centre - plan.window_n_sigma * width, centre + plan.window_n_sigma * width],
            extra={"sample": sample, "n_obs": float(n_arr[j]), "n_sideband": n_side[j], "transfer": transfer[j],
                   "background": float(b[j]), "background_rel_unc": float(rel[j]), "signal_events": s_evt,
                   "width": width, **closure[j]},
        ))  # fmt: skip
    if plan.combine_as:
        rows += _combined(plan, opts, meta, n_arr, b, rel, asimov)
    add_couplings(rows, {m.name: m for m in spec.signals})
    notes = [f"{len(rows)} windows (+-{plan.window_n_sigma:g} sigma), sidebands {n1:g}-{n2:g} sigma, "
             f"CLs at {opts.cl:.0%}"]  # fmt: skip
    notes.extend(skipped)
    if asimov:
        notes.append("no data sample in the run: sidebands from the MC, 'observed' is the median count")
    return StatsResult(rows=rows, notes=notes)

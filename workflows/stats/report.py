"""Outputs of the statistics stage: limit tables (CSV, JSON, HEPData YAML), Brazil plots (1D, per model and
per slice of the other parameters), 2D exclusion maps, pulls and post-fit plots.

A limit row (workflows.stats.plans.common.LimitRow) carries its hypothesis (model + every parameter),
"observed" and "expected" (-2, -1, median, +1, +2 sigma) in fb of sigma x B, and the recast couplings.
"""

from __future__ import annotations

import contextlib
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from workflows.stats.fastfit import FastModel
from workflows.stats.plans.common import LimitRow

BAND_KEYS = ("exp_m2", "exp_m1", "exp_median", "exp_p1", "exp_p2")


def flat_rows(rows: Sequence[LimitRow]) -> list[dict]:
    """One flat dict per hypothesis for CSV: the model (if the search has several), every parameter,
    the cross-section limits and each coupling's."""
    several = len({r.hypothesis.model for r in rows}) > 1
    out = []
    for r in rows:
        f: dict = {"model": r.hypothesis.model} if several else {}
        f.update(dict(r.hypothesis.params))
        f.update(
            {
                "xsec_obs_fb": r.observed,
                "method": r.method,
                "cl": r.cl,
                "z_local": r.z_local,
                "interpolated": r.interpolated,
                "n_bins": r.n_bins,
                "reason": r.reason,
            }
        )
        f.update({f"xsec_{k}_fb": v for k, v in zip(BAND_KEYS, r.expected, strict=True)})
        for model, c in r.couplings.items():
            f[f"{model}_obs"] = c.observed
            f.update({f"{model}_{k}": v for k, v in zip(BAND_KEYS, c.expected, strict=True)})
        out.append(f)
    return out


def write_tables(rows: Sequence[LimitRow], outdir: Path, search: str, extra: dict | None = None) -> dict[str, Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    flat = flat_rows(rows)
    fields: list[str] = []
    for row in flat:  # every column of every row (models may declare different recasts)
        fields += [k for k in row if k not in fields]
    csv_path = outdir / f"limits_{search}.csv"
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(flat)
    json_path = outdir / f"limits_{search}.json"
    json_path.write_text(json.dumps({"search": search, "rows": [r.as_dict() for r in rows], **(extra or {})},
                                    indent=1, default=float))  # fmt: skip
    return {"csv": csv_path, "json": json_path}


def _hepdata_lib():
    """Import hepdata-lib without ROOT: it imports ROOT whenever installed (seconds, and ROOT's signal
    handlers), which we never need."""
    if "hepdata_lib" in sys.modules or "ROOT" in sys.modules:
        import hepdata_lib

        return hepdata_lib
    sys.modules["ROOT"] = None  # makes `import ROOT` raise ImportError, which hepdata-lib tolerates
    try:
        import hepdata_lib
    finally:
        del sys.modules["ROOT"]
    return hepdata_lib


def write_hepdata(rows: Sequence[LimitRow], outdir: Path, search: str, cl: float, method: str = "CLs") -> Path:
    """HEPData submission (hepdata-lib): per signal model, one table of sigma limits (+ one per coupling),
    with every hypothesis parameter as an independent variable."""
    hl = _hepdata_lib()
    Submission, Table, Uncertainty, Variable = hl.Submission, hl.Table, hl.Uncertainty, hl.Variable

    sub = Submission()
    by_model: dict[str, list[LimitRow]] = {}
    for r in rows:
        by_model.setdefault(r.hypothesis.model, []).append(r)
    several = len(by_model) > 1

    def table(name: str, what: str, rs: list[LimitRow], obs, exp) -> Any:
        t = Table(name)
        t.description = f"{round(cl * 100)}% CL upper limits on {what} ({search}, {method})."
        for p in rs[0].hypothesis.names:
            x = Variable(p, is_independent=True, is_binned=False, units="GeV" if p.startswith("mass") else "")
            x.values = [r.hypothesis[p] for r in rs]
            t.add_variable(x)
        for label, vals in (("Observed", obs), ("Expected", [e[2] for e in exp])):
            v = Variable(f"{label} upper limit on {what}", is_independent=False, is_binned=False)
            v.values = list(map(float, vals))
            if label == "Expected":
                for lo, hi, nm in ((1, 3, "1 sigma"), (0, 4, "2 sigma")):
                    u = Uncertainty(nm, is_symmetric=False)
                    u.values = [(float(e[lo] - e[2]), float(e[hi] - e[2])) for e in exp]
                    v.add_uncertainty(u)
            t.add_variable(v)
        return t

    for model, rs in by_model.items():
        pre = f"{model}: " if several else ""
        sub.add_table(
            table(
                f"{pre}Cross-section limits", "sigma x BF [fb]", rs, [r.observed for r in rs], [r.expected for r in rs]
            )
        )
        for rc in rs[0].couplings:
            c = [r.couplings[rc] for r in rs]
            sub.add_table(
                table(f"{pre}Coupling limits {rc}", c[0].label, rs, [x.observed for x in c], [x.expected for x in c])
            )
    path = (outdir / "hepdata").resolve()
    # hepdata-lib writes submission.tar.gz into the working directory: run it inside outdir
    with contextlib.chdir(outdir):
        sub.create_files(str(path), validate=False, remove_old=True)
    return path


def _style(ax, lumi_fb: float | None):
    import mplhep

    mplhep.label.exp_label(
        exp="Belle II",
        llabel="Simulation",
        com=None,
        lumi=lumi_fb,
        ax=ax,
        rlabel="fast simulation" + (f", $\\int L\\,dt = {lumi_fb:g}$ fb$^{{-1}}$" if lumi_fb else ""),
    )


def brazil_plot(
    rows: Sequence[LimitRow],
    path: Path,
    ylabel: str,
    lumi_fb: float | None = None,
    key: str | None = None,
    cl: float = 0.9,
    xparam: str = "mass",
    xlabel: str = "Mass [GeV]",
    published: Sequence[tuple[float, float]] = (),
    published_label: str = "",
    method: str = "",
) -> Path:
    """Observed line, green (+-1 sigma) and yellow (+-2 sigma) expected bands vs ``xparam``, log y;
    ``published``: (x, limit) points of the published result drawn for comparison."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = np.array([r.hypothesis[xparam] for r in rows])
    src = [(r.observed, r.expected) if key is None else (r.couplings[key].observed, r.couplings[key].expected)
           for r in rows]  # fmt: skip
    obs = np.array([s[0] for s in src])
    exp = np.array([s[1] for s in src])
    order = np.argsort(m)
    m, obs, exp = m[order], obs[order], exp[order]
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.fill_between(m, exp[:, 0], exp[:, 4], color="#FFDF7F", label=r"Expected $\pm 2\sigma$", lw=0)
    ax.fill_between(m, exp[:, 1], exp[:, 3], color="#00C000", alpha=0.8, label=r"Expected $\pm 1\sigma$", lw=0)
    ax.plot(m, exp[:, 2], "k--", label="Expected (median)")
    ax.plot(m, obs, "k-", marker=".", label="Observed")
    if published:
        ax.plot(
            [p[0] for p in published],
            [p[1] for p in published],
            "D",
            color="tab:red",
            ms=7,
            label=published_label or "published",
        )
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{round(cl * 100)}% {'credibility' if method.startswith('bayes') else 'CL'} upper limit on {ylabel}")
    ax.legend(loc="lower right", frameon=False)
    _style(ax, lumi_fb)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def _hessian(m: FastModel, theta: np.ndarray, aux: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Hessian of the gamma-profiled NLL in (mu, alphas): central differences of the analytic gradient."""
    n = theta.size
    H = np.zeros((n, n))
    for i in range(n):
        d = np.zeros(n)
        d[i] = h
        H[i] = (m.profile(theta + d, m.data, aux)[1] - m.profile(theta - d, m.data, aux)[1]) / (2 * h)
    return 0.5 * (H + H.T)


def pulls_and_postfit(ws: dict, outdir: Path, tag: str, lumi_fb: float | None = None) -> dict:
    """Free fit to data: nuisance-parameter pulls (plot + JSON) and a post-fit yield plot per bin."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = FastModel.from_workspace(ws)
    aux = m.nominal_aux()
    mu_max = 1e3 * max(1.0, m.data.sum()) / max(m.nominal[m.poi_mask].sum(), 1e-12)
    p, _ = m.fit(m.data, aux, (-mu_max, mu_max))
    theta = p[: 1 + m.n_alpha]
    try:
        cov = np.linalg.inv(_hessian(m, theta, aux))
        err = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        err = np.full(theta.size, np.nan)
    names = m.alpha_names
    pulls = {"mu": (float(theta[0]), float(err[0]))}
    pulls.update({n: (float(theta[1 + i]), float(err[1 + i])) for i, n in enumerate(names)})
    gam = p[1 + m.n_alpha :]
    gpull = (gam - 1.0) / m.stat_sigma
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / f"pulls_{tag}.json").write_text(
        json.dumps(
            {"parameters": pulls, "staterror_pulls": gpull.tolist(), "staterror_bins": m.stat_bins.tolist()}, indent=1
        )
    )

    fig, ax = plt.subplots(figsize=(6, 0.5 * len(names) + 2.0))
    y = np.arange(len(names))
    ax.axvspan(-2, 2, color="#FFDF7F")
    ax.axvspan(-1, 1, color="#00C000", alpha=0.6)
    ax.errorbar([pulls[n][0] for n in names], y, xerr=[pulls[n][1] for n in names], fmt="ko")
    ax.set_yticks(y, names)
    ax.set_xlim(-3, 3)
    ax.set_xlabel(r"$(\hat\theta - \theta_0)/\Delta\theta$")
    ax.set_title(
        rf"$\hat\mu$ = {theta[0]:.3g} $\pm$ {err[0]:.2g}; max |staterror pull| = "
        f"{np.max(np.abs(gpull)) if gpull.size else 0:.2f}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(outdir / f"pulls_{tag}.png")
    plt.close(fig)

    pre_b = m.nominal[~m.poi_mask].sum(0)
    post = m.expected(p)
    p_b = p.copy()
    p_b[0] = 0.0
    post_b = m.expected(p_b)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    x = np.arange(post.size)
    ax.step(x, pre_b, where="mid", color="gray", ls=":", label="background, pre-fit")
    ax.step(x, post_b, where="mid", color="tab:blue", label="background, post-fit")
    ax.step(x, post, where="mid", color="tab:red", label=rf"post-fit total ($\hat\mu$ = {theta[0]:.3g})")
    ax.errorbar(x, m.data, yerr=np.sqrt(m.data), fmt="ko", ms=3, label="data")
    ax.set_xlabel("bin (window, flattened)")
    ax.set_ylabel("events / bin")
    ax.set_yscale("log")
    ax.legend(frameon=False, fontsize=8)
    _style(ax, lumi_fb)
    fig.tight_layout()
    fig.savefig(outdir / f"postfit_{tag}.png")
    plt.close(fig)
    return pulls


def brazil_plots(rows: Sequence[LimitRow], outdir: Path, spec, lumi_fb: float | None, cl: float) -> dict[str, Path]:
    """Brazil plots of every signal model (cross section and each recast); for models with several
    parameters, one per slice of the others (x = the first parameter), plus a 2D exclusion map."""
    files: dict[str, Path] = {}
    models = {m.name: m for m in spec.signals}
    by_model: dict[str, list[LimitRow]] = {}
    for r in rows:
        by_model.setdefault(r.hypothesis.model, []).append(r)
    several = len(by_model) > 1
    pub = spec.published.limits if spec.published else ()
    method = rows[0].method if rows else ""
    for name, rs in by_model.items():
        model = models[name]
        base = f"brazil_{spec.name}" + (f"_{name}" if several else "")
        x = model.params[0]
        xlabel = model.param_labels.get(x, f"{x} [GeV]")
        others = model.params[1:]
        slices: dict[tuple, list[LimitRow]] = {}
        for r in rs:
            slices.setdefault(tuple(r.hypothesis[p] for p in others), []).append(r)
        for key, srs in _some_slices(slices):
            tag = "".join(f"_{p}{v:.4g}" for p, v in zip(others, key, strict=True))
            title = ", ".join(f"{p} = {v:g}" for p, v in zip(others, key, strict=True))
            ylab = spec.stats.xsec_label + (f" ({title})" if title else "")

            lab = _published_label(spec)
            slice_of = (name, spec.signals[0].name, x, others, key)
            files[base + tag] = brazil_plot(
                srs,
                outdir / f"{base}{tag}.png",
                ylab,
                lumi_fb,
                cl=cl,
                xparam=x,
                xlabel=xlabel,
                published=_published_points(pub, None, *slice_of),
                published_label=lab,
                method=method,
            )
            for rc in model.recasts:
                files[f"{base}_{rc.name}{tag}"] = brazil_plot(
                    srs,
                    outdir / f"{base}_{rc.name}{tag}.png",
                    rc.label + (f" ({title})" if title else ""),
                    lumi_fb,
                    key=rc.name,
                    cl=cl,
                    xparam=x,
                    xlabel=xlabel,
                    published=_published_points(pub, rc.name, *slice_of),
                    published_label=lab,
                    method=method,
                )
        if len(model.params) >= 2:
            files[f"{base}_map"] = exclusion_map(rs, outdir / f"{base}_map.png", model.params[0], model.params[1],
                                                 spec.stats.xsec_label, model.param_labels, lumi_fb, cl)  # fmt: skip
            for rc in model.recasts:
                files[f"{base}_{rc.name}_map"] = exclusion_map(
                    rs, outdir / f"{base}_{rc.name}_map.png", model.params[0], model.params[1], rc.label,
                    model.param_labels, lumi_fb, cl, key=rc.name)  # fmt: skip
    return files


MAX_SLICES = 6  # 1D slices drawn per model: a dense 2D scan has a slice per row of its grid


def _some_slices(slices: dict[tuple, list]) -> list[tuple[tuple, list]]:
    """Every slice, or MAX_SLICES of them evenly spread over the sorted keys (all are in the tables and maps)."""
    items = sorted(slices.items())
    if len(items) <= MAX_SLICES:
        return items
    return [items[i] for i in np.unique(np.linspace(0, len(items) - 1, MAX_SLICES).round().astype(int))]


def _published_label(spec) -> str:
    ref = spec.published.reference if spec.published else ""
    parts = [p.strip() for p in ref.split(",")]
    return f"{parts[0]} ({parts[1]})" if len(parts) > 1 else "published"  # "BaBar, PRL 119, ..." -> BaBar (PRL 119)


def _published_points(pub, recast: str | None, model: str, default_model: str, x: str, others: tuple,
                      key: tuple) -> list[tuple[float, float]]:  # fmt: skip
    """The published (x, limit) points of one model, recast and slice (the other parameters = ``key``)."""
    return [(p.params[x], p.value) for p in pub
            if p.recast == recast and (p.model or default_model) == model and x in p.params
            and all(abs(p.params.get(o, v) - v) < 1e-6 for o, v in zip(others, key, strict=True))]  # fmt: skip


def exclusion_map(
    rows: Sequence[LimitRow],
    path: Path,
    xparam: str,
    yparam: str,
    zlabel: str,
    labels: dict | None = None,
    lumi_fb: float | None = None,
    cl: float = 0.9,
    key: str | None = None,
) -> Path:
    """The observed and expected-median limits over a 2D parameter plane (scatter coloured by the limit,
    log scale), one panel each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    labels = labels or {}
    xs = np.array([r.hypothesis[xparam] for r in rows])
    ys = np.array([r.hypothesis[yparam] for r in rows])
    obs = np.array([r.observed if key is None else r.couplings[key].observed for r in rows])
    med = np.array([r.expected[2] if key is None else r.couplings[key].expected[2] for r in rows])
    ok = np.isfinite(obs) & (obs > 0) & np.isfinite(med) & (med > 0)
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharey=True)
    if ok.any():
        norm = LogNorm(vmin=float(min(obs[ok].min(), med[ok].min())), vmax=float(max(obs[ok].max(), med[ok].max())))
        for ax, z, title in ((axes[0], obs, "observed"), (axes[1], med, "expected (median)")):
            sc = ax.scatter(xs[ok], ys[ok], c=z[ok], norm=norm, s=14, cmap="viridis")
            ax.set_title(title, fontsize=12)
            ax.set_xlabel(labels.get(xparam, xparam))
        fig.colorbar(sc, ax=axes, label=f"{round(cl * 100)}% upper limit on {zlabel}")
    axes[0].set_ylabel(labels.get(yparam, yparam))
    _style(axes[0], lumi_fb)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path

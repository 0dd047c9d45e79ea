"""Outputs of the statistics stage: limit tables (CSV, JSON, HEPData YAML), the Brazil plot, pulls, post-fit.

A limit row (from workflows.stats.scan) has "mass", "observed", "expected" (-2, -1, median, +1, +2 sigma)
in fb of sigma x BF; `add_couplings` adds the same for each recast model.
"""

from __future__ import annotations

import contextlib
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from workflows.stats import recast
from workflows.stats.fastfit import FastModel

BAND_KEYS = ("exp_m2", "exp_m1", "exp_median", "exp_p1", "exp_p2")


def add_couplings(rows: list[dict], models: Sequence[str], **kw) -> list[dict]:
    """Recast observed/expected cross-section limits into couplings for each model."""
    masses = np.array([r["mass"] for r in rows], float)
    for model in models:
        obs = recast.recast(model, masses, [r["observed"] for r in rows], **kw)
        exp = np.array([recast.recast(model, masses, [r["expected"][i] for r in rows], **kw) for i in range(5)])
        for j, r in enumerate(rows):
            r.setdefault("couplings", {})[model] = {"label": recast.MODELS[model].label,
                                                    "observed": float(obs[j]), "expected": exp[:, j].tolist()}
    return rows


def flat_rows(rows: list[dict]) -> list[dict]:
    """One flat dict per mass for CSV."""
    out = []
    for r in rows:
        f = {"mass": r["mass"], "xsec_obs_fb": r["observed"], "method": r["method"], "cl": r["cl"],
             "z_local": r.get("z_local"), "interpolated": r.get("interpolated", False),
             "n_bins": r.get("n_bins"), "reason": r.get("reason", "")}
        f.update({f"xsec_{k}_fb": v for k, v in zip(BAND_KEYS, r["expected"], strict=True)})
        for model, c in r.get("couplings", {}).items():
            f[f"{model}_obs"] = c["observed"]
            f.update({f"{model}_{k}": v for k, v in zip(BAND_KEYS, c["expected"], strict=True)})
        out.append(f)
    return out


def write_tables(rows: list[dict], outdir: Path, search: str, extra: dict | None = None) -> dict[str, Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    flat = flat_rows(rows)
    csv_path = outdir / f"limits_{search}.csv"
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(flat[0]))
        w.writeheader()
        w.writerows(flat)
    json_path = outdir / f"limits_{search}.json"
    json_path.write_text(json.dumps({"search": search, "rows": rows, **(extra or {})}, indent=1, default=float))
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


def write_hepdata(rows: list[dict], outdir: Path, search: str, cl: float) -> Path:
    """HEPData submission (hepdata-lib): one table of sigma limits (+ one per coupling model)."""
    hl = _hepdata_lib()
    Submission, Table, Uncertainty, Variable = hl.Submission, hl.Table, hl.Uncertainty, hl.Variable

    sub = Submission()
    masses = [r["mass"] for r in rows]

    def table(name: str, what: str, obs, exp) -> Table:
        t = Table(name)
        t.description = f"{round(cl * 100)}% CL upper limits on {what} vs mass ({search}), CLs."
        x = Variable("Mass", is_independent=True, is_binned=False, units="GeV")
        x.values = masses
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

    sub.add_table(table("Cross-section limits", "sigma x BF [fb]", [r["observed"] for r in rows],
                        [r["expected"] for r in rows]))
    for model in rows[0].get("couplings", {}):
        c = [r["couplings"][model] for r in rows]
        sub.add_table(table(f"Coupling limits {model}", c[0]["label"], [x["observed"] for x in c],
                            [x["expected"] for x in c]))
    path = (outdir / "hepdata").resolve()
    # hepdata-lib writes submission.tar.gz into the working directory: run it inside outdir
    with contextlib.chdir(outdir):
        sub.create_files(str(path), validate=False, remove_old=True)
    return path


def _style(ax, lumi_fb: float | None):
    import mplhep

    mplhep.label.exp_label(exp="Belle II", llabel="Simulation", com=None, lumi=lumi_fb, ax=ax,
                           rlabel="fast simulation" + (f", $\\int L\\,dt = {lumi_fb:g}$ fb$^{{-1}}$" if lumi_fb else ""))


def brazil_plot(rows: list[dict], path: Path, ylabel: str, lumi_fb: float | None = None,
                key: str | None = None, cl: float = 0.9) -> Path:
    """Observed line, green (+-1 sigma) and yellow (+-2 sigma) expected bands vs mass, log y."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = np.array([r["mass"] for r in rows])
    src = [r if key is None else r["couplings"][key] for r in rows]
    obs = np.array([s["observed"] for s in src])
    exp = np.array([s["expected"] for s in src])
    order = np.argsort(m)
    m, obs, exp = m[order], obs[order], exp[order]
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.fill_between(m, exp[:, 0], exp[:, 4], color="#FFDF7F", label=r"Expected $\pm 2\sigma$", lw=0)
    ax.fill_between(m, exp[:, 1], exp[:, 3], color="#00C000", alpha=0.8,
                    label=r"Expected $\pm 1\sigma$", lw=0)
    ax.plot(m, exp[:, 2], "k--", label="Expected (median)")
    ax.plot(m, obs, "k-", marker=".", label="Observed")
    ax.set_yscale("log")
    ax.set_xlabel("Mass [GeV]")
    ax.set_ylabel(f"{round(cl * 100)}% CL upper limit on {ylabel}")
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
    (outdir / f"pulls_{tag}.json").write_text(json.dumps(
        {"parameters": pulls, "staterror_pulls": gpull.tolist(), "staterror_bins": m.stat_bins.tolist()}, indent=1))

    fig, ax = plt.subplots(figsize=(6, 0.5 * len(names) + 2.0))
    y = np.arange(len(names))
    ax.axvspan(-2, 2, color="#FFDF7F")
    ax.axvspan(-1, 1, color="#00C000", alpha=0.6)
    ax.errorbar([pulls[n][0] for n in names], y, xerr=[pulls[n][1] for n in names], fmt="ko")
    ax.set_yticks(y, names)
    ax.set_xlim(-3, 3)
    ax.set_xlabel(r"$(\hat\theta - \theta_0)/\Delta\theta$")
    ax.set_title(rf"$\hat\mu$ = {theta[0]:.3g} $\pm$ {err[0]:.2g}; max |staterror pull| = "
                 f"{np.max(np.abs(gpull)) if gpull.size else 0:.2f}", fontsize=9)
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

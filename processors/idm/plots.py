"""The iDM search's own plots (the declaration's ``plots`` hook, called by workflows/plots.py with its
helpers as ``tools``): vertex displacement and pointing (signal vs background), m(h') per final state with
the windows and sidebands of the scan masses, and the selection efficiency vs the h' lifetime.
The 2D exclusion maps in (m_h', sin theta) come from `b2dark limits` (workflows/stats/report.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from processors.idm.search import CHANNELS, SEARCH, IDMWorkingPoint
from processors.spec import SidebandCounting

SHAPES = {"disp_r_h": "h' vertex", "disp_r_chi": "chi2 vertex", "nm1_angle_h": "h' vertex (N-1)",
          "nm1_angle_chi": "chi2 vertex (N-1)"}  # fmt: skip


def _signals(run: Any) -> list[str]:
    return sorted(s for s, m in run.samples.items() if m.get("is_signal"))


def _backgrounds(run: Any) -> list[str]:
    return [s for s in run.samples if s in SEARCH.backgrounds]


def _label(run: Any, s: str) -> str:
    m = run.samples[s]
    return f"{m['process'].removeprefix('idm_')} m={m.get('mass2'):g} sin={m.get('sin_theta'):.0e}"


def efficiency_table(run: Any) -> list[dict[str, float | str]]:
    """Selected / generated per signal sample, with its h' c tau (samples/generator/idm_model.py)."""
    from samples.generator.idm_model import h_ctau_cm

    rows = []
    for s in _signals(run):
        m, cf = run.samples[s], run.cutflows.get(s)
        if cf is None:
            continue
        raw = cf["raw"]
        rows.append({"sample": s, "model": m["process"], "mass2": float(m["mass2"]), "sin_theta": m["sin_theta"],
                     "ctau_h": h_ctau_cm(float(m["mass2"]), float(m["sin_theta"])),
                     "efficiency": float(raw[-1]) / float(raw[0])})  # fmt: skip
    return rows


def make(run: Any, outdir: Path, tools: Any) -> list[Path]:
    plt, mplhep = tools._mpl()
    made: list[Path] = []
    sig, bkg = _signals(run), _backgrounds(run)
    # displacement and pointing: shapes, signal vs the sum of backgrounds (unit area)
    for name, what in SHAPES.items():
        h = run.hists.get(name)
        if h is None:
            continue
        fig, ax = plt.subplots(figsize=(8, 6))
        names = [str(x) for x in h.axes["sample"]]
        b = sum((h[{"sample": s}].values() for s in bkg if s in names), np.zeros(h.axes[1].size))
        if b.sum() > 0:
            ax.stairs(b / b.sum(), h.axes[1].edges, label="q qbar (K_S pairs)", color="grey", fill=True, alpha=0.5)
        for s in [x for x in sig if x in names][:: max(1, len(sig) // 5)]:
            v = h[{"sample": s}].values()
            if v.sum() > 0:
                ax.stairs(v / v.sum(), h.axes[1].edges, label=_label(run, s))
        ax.set_xlabel(h.axes[1].label)
        ax.set_ylabel("unit area")
        ax.set_title(what, fontsize=13)
        ax.legend(fontsize=10)
        tools._label(ax, mplhep, run.lumi_fb)
        made += tools._save(fig, outdir / f"idm_{name}")
    made += _mass_plots(run, outdir, tools, plt, mplhep)
    made += _efficiency_plot(run, outdir, tools, plt, mplhep)
    return made


def _mass_plots(run: Any, outdir: Path, tools: Any, plt: Any, mplhep: Any) -> list[Path]:
    wp = IDMWorkingPoint(**((run.provenance or {}).get("options", {}).get("working_point") or {}))
    ev = run.eventlists()
    plan = SEARCH.stats
    assert isinstance(plan, SidebandCounting)
    n1, n2 = plan.sideband_n_sigma
    edges = np.linspace(0.2, 2.0, 361)
    made: list[Path] = []
    for chan, code in CHANNELS.items():
        fig, ax = plt.subplots(figsize=(8, 6))
        for s, cols in ev.items():
            keep = np.asarray(cols["channel"]) == code
            if not keep.any():
                continue
            meta = run.samples.get(s, {})
            if meta.get("is_data") or s in SEARCH.backgrounds:
                kind = "data (blinded)" if meta.get("is_data") else s
                ax.hist(cols["m_h"][keep], edges, weights=cols["weight"][keep], histtype="step", label=kind)
            elif meta.get("process") == f"idm_{chan.lower()}" and meta.get("sin_theta") == 1e-3:
                ax.hist(cols["m_h"][keep], edges, weights=cols["weight"][keep], histtype="step", ls="--",
                        label=_label(run, s))  # fmt: skip
        for m in wp.blind_masses:
            w = wp.m_res_a + wp.m_res_b * m
            ax.axvspan(m - plan.window_n_sigma * w, m + plan.window_n_sigma * w, color="red", alpha=0.2)
            for sgn in (-1, 1):
                lo, hi = sorted((m + sgn * n1 * w, m + sgn * n2 * w))
                ax.axvspan(lo, hi, color="blue", alpha=0.1)
        ax.set_yscale("log")
        ax.set_xlabel(f"m({chan}) [GeV]")
        ax.set_ylabel("events / 5 MeV")
        ax.set_title(f"h' -> {chan}: windows (red) and sidebands (blue)", fontsize=13)
        ax.legend(fontsize=9)
        tools._label(ax, mplhep, run.lumi_fb)
        made += tools._save(fig, outdir / f"idm_m_h_{chan}")
    return made


def _efficiency_plot(run: Any, outdir: Path, tools: Any, plt: Any, mplhep: Any) -> list[Path]:
    rows = efficiency_table(run)
    if not rows:
        return []
    fig, ax = plt.subplots(figsize=(8, 6))
    for key in sorted({(r["model"], r["mass2"]) for r in rows}):
        sel = sorted((r for r in rows if (r["model"], r["mass2"]) == key), key=lambda r: r["ctau_h"])
        ax.plot([r["ctau_h"] for r in sel], [r["efficiency"] for r in sel], "o-", label=f"{key[0]} m={key[1]:g}")
    ax.set_xscale("log")
    ax.set_xlabel(r"$c\tau(h')$ [cm]")
    ax.set_ylabel("selection efficiency")
    ax.legend(fontsize=10)
    tools._label(ax, mplhep, run.lumi_fb)
    return tools._save(fig, outdir / "idm_efficiency_vs_ctau")

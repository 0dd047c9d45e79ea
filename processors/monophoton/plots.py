"""Mono-photon plots beyond the generic ones (SearchSpec.plots): the photon (theta, phi) map of the
background before the fiducial cuts and vetoes (the ECL-gap structure), the KLM veto efficiency, and the
MC-equivalent luminosity of every background in the selected region (printed and written to a file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def mc_equivalent_lumi(run: Any, hist: str = "template") -> dict[str, dict[str, float]]:
    """Per background: selected yield, MC events, N_eff = (sum w)^2 / sum w^2 and the luminosity an
    unweighted sample of the same statistical power would have: L_MC = L * N_eff / yield."""
    h = run.hists[hist]
    if "syst" in h.axes.name:
        h = h[{"syst": "nominal"}]
    out = {}
    for s in h.axes["sample"]:
        meta = run.samples.get(s, {})
        if meta.get("is_signal") or meta.get("is_data"):
            continue
        w, w2 = float(h[{"sample": s}].values().sum()), float(h[{"sample": s}].variances().sum())
        n_raw = float((run.cutflows.get(s) or {}).get("raw", [0])[-1])
        n_eff = w * w / w2 if w2 > 0 else 0.0
        out[s] = {"yield": w, "mc_events": n_raw, "n_eff": n_eff,
                  "lumi_mc_fb": (run.lumi_fb or 0.0) * n_eff / w if w > 0 else float("inf")}  # fmt: skip
    return out


def _map(run: Any, outdir: Path, tools: Any) -> list[Path]:
    plt, _ = tools._mpl()
    h = run.hists["map_theta_phi"]
    bkg = [s for s in h.axes["sample"] if not run.samples.get(s, {}).get("is_signal")
           and not run.samples.get(s, {}).get("is_data")]  # fmt: skip
    if not bkg:
        return []
    m = h[{"sample": bkg}][{"sample": sum}]
    fig, ax = plt.subplots(figsize=(8, 5))
    mesh = ax.pcolormesh(m.axes[0].edges, m.axes[1].edges, np.where(m.values() > 0, m.values(), np.nan).T,
                         norm="log", cmap="viridis")  # fmt: skip
    fig.colorbar(mesh, ax=ax, label=f"background events / bin ({run.lumi_fb:g} fb$^{{-1}}$)")
    for t in (31.4, 32.2, 128.7, 130.7):
        ax.axvline(t, color="w", lw=0.6, ls="--")
    ax.set_xlabel(m.axes[0].label)
    ax.set_ylabel(m.axes[1].label)
    ax.set_title("single-photon background before the fiducial cuts and vetoes (ECL gaps dashed)", fontsize=11)
    return tools._save(fig, outdir / "photon_theta_phi_background")


def _veto(run: Any, outdir: Path, tools: Any) -> list[Path]:
    plt, _ = tools._mpl()
    made: list[Path] = []
    for name, xl in (("klm_veto_e", r"$E^*_\gamma$ [GeV]"), ("klm_veto_theta", r"photon $\theta$ (lab) [deg]")):
        h = run.hists[name]
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for s in h.axes["sample"]:
            meta = run.samples.get(s, {})
            if meta.get("is_data") or (meta.get("is_signal") and s not in _signal_pick(h, run)):
                continue
            a = h[{"sample": s}]
            tot = a.values().sum(axis=1)
            kept = a[{"veto_passed": 1}].values() if 1 in a.axes["veto_passed"] else np.zeros_like(tot)
            with np.errstate(invalid="ignore", divide="ignore"):
                eff = np.where(tot > 0, kept / tot, np.nan)
            ax.step(a.axes[0].centers, eff, where="mid", label=s)
        ax.set_xlabel(xl)
        ax.set_ylabel("fraction passing the KLM gap veto")
        ax.set_ylim(0, 1.05)
        ax.legend(fontsize=7)
        made += tools._save(fig, outdir / f"{name}_efficiency")
    return made


def _signal_pick(h: Any, run: Any) -> list[str]:
    sig = sorted((s for s in h.axes["sample"] if run.samples.get(s, {}).get("is_signal")),
                 key=lambda s: run.samples[s].get("mass") or 0.0)  # fmt: skip
    return sig[:: max(1, len(sig) // 3)][:3]


def plots(run: Any, outdir: Path, tools: Any) -> list[Path]:
    lumi = mc_equivalent_lumi(run)
    lines = [f"MC-equivalent luminosity in the selected region (data lumi {run.lumi_fb:g} fb^-1):"]
    lines += [f"  {s:10s} yield {v['yield']:10.4g}  MC events {v['mc_events']:9.0f}  N_eff {v['n_eff']:10.4g}  "
              f"L_MC {v['lumi_mc_fb']:9.4g} fb^-1" for s, v in sorted(lumi.items())]  # fmt: skip
    print("\n".join(lines))
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "mc_equivalent_lumi.txt").write_text("\n".join(lines) + "\n")
    return [*_map(run, outdir, tools), *_veto(run, outdir, tools), outdir / "mc_equivalent_lumi.txt"]

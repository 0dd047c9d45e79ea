"""The search's own figures (the declaration's ``plots`` hook, called by workflows.plots with itself as
``tools``): the (M_mumu, M_recoil) plane with the summed backgrounds and a few signals drawn as their 2-sigma
windows, and the helicity-angle figure-of-merit scan. The limit maps and 1D slices come from `b2dark limits`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from processors.dark_higgsstrahlung.fom import scan_of_run

N_ELLIPSES = 5


def _ellipse(x: np.ndarray, y: np.ndarray, w: np.ndarray, clip: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Centre and covariance of the signal core (3-sigma clipped moments; the statistics stage fits the same)."""
    keep = np.ones(len(x), bool)
    for _ in range(10):
        c = np.average(np.stack([x, y])[:, keep], axis=1, weights=w[keep])
        cov = np.cov(np.stack([x, y])[:, keep], aweights=w[keep], bias=True)
        d = np.stack([x - c[0], y - c[1]])
        keep = np.einsum("in,ij,jn->n", d, np.linalg.inv(cov), d) <= clip**2
    return c, cov


def _outline(c: np.ndarray, cov: np.ndarray, n_sigma: float) -> tuple[np.ndarray, np.ndarray]:
    t = np.linspace(0, 2 * np.pi, 200)
    vals, vecs = np.linalg.eigh(cov)
    pts = vecs @ (n_sigma * np.sqrt(vals)[:, None] * np.stack([np.cos(t), np.sin(t)]))
    return c[0] + pts[0], c[1] + pts[1]


def plane_plot(run: Any, outdir: Path, tools: Any, spec: Any) -> list[Path]:
    plt, mplhep = tools._mpl()
    from matplotlib.colors import LogNorm

    h = run.hists["plane"]
    present = set(h.axes["sample"])
    bkg = sum(h[{"sample": b}].values() for b in spec.backgrounds if b in present)
    fig, ax = plt.subplots(figsize=(10, 8))
    xe, ye = h.axes["m_mumu"].edges, h.axes["m_recoil"].edges
    if np.ndim(bkg) and np.any(bkg > 0):
        pcm = ax.pcolormesh(xe, ye, np.where(bkg > 0, bkg, np.nan).T, norm=LogNorm(), cmap="Greys")
        fig.colorbar(pcm, ax=ax, label=f"background events / ({xe[1] - xe[0]:.2g} GeV)$^2$")
    lists = run.eventlists()
    sig = sorted((s for s, m in run.samples.items() if m.get("is_signal") and s in lists and len(lists[s]["m_mumu"])),
                 key=lambda s: (run.samples[s]["mass"], run.samples[s]["mass2"]))  # fmt: skip
    for s in [sig[i] for i in np.unique(np.linspace(0, len(sig) - 1, min(N_ELLIPSES, len(sig))).astype(int))]:
        cols = lists[s]
        c, cov = _ellipse(cols["m_mumu"], cols["m_recoil"], cols["weight"])
        ax.plot(*_outline(c, cov, spec.stats.window_n_sigma), lw=1.5,
                label=f"$M_{{A'}}$={run.samples[s]['mass']:g}, $M_{{h'}}$={run.samples[s]['mass2']:g} GeV")  # fmt: skip
        ax.scatter(cols["m_mumu"][:300], cols["m_recoil"][:300], s=1, alpha=0.3)
    ax.set_xlabel(r"$M_{\mu\mu}$ [GeV]")
    ax.set_ylabel(r"$M_\mathrm{recoil}$ [GeV]")
    ax.legend(fontsize=10, title=f"signal windows ({spec.stats.window_n_sigma:g} $\\sigma$)", title_fontsize=10)
    tools._label(ax, mplhep, run.lumi_fb)
    return tools._save(fig, outdir / "plane_windows")


def fom_plot(run: Any, outdir: Path, tools: Any, spec: Any) -> list[Path]:
    plt, mplhep = tools._mpl()
    scan = scan_of_run(run, spec)
    fig, ax = plt.subplots(figsize=(9, 6))
    for f in scan["per_signal"].values():
        ax.plot(scan["cuts"], f, color="0.8", lw=0.8)
    ax.plot(scan["cuts"], scan["fom"], "o-", color="C0", label="mean over the signal points")
    ax.axvline(spec.working_point().cos_helicity_max, color="C3", ls="--", label="working point")
    ax.set_xlabel(r"cut: $|\cos\theta_\mathrm{hel}| <$")
    ax.set_ylabel(r"Punzi FOM $\varepsilon_S / (3/2 + \sqrt{B})$ (normalised)")
    ax.legend(fontsize=11)
    tools._label(ax, mplhep, run.lumi_fb)
    return tools._save(fig, outdir / "helicity_fom_scan")


def make_plots(run: Any, outdir: Path, tools: Any) -> list[Path]:
    from processors.registry import get

    spec = get("dark-higgsstrahlung")
    return [*plane_plot(run, Path(outdir), tools, spec), *fom_plot(run, Path(outdir), tools, spec)]

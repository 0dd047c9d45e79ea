"""Figures of a trained artefact, on the validation fold: the network output for the signal and each
background, and the Punzi FOM (summed over the range's masses) against the working point.

``b2dark train`` writes them next to the artefact (``<artefact stem>_plots/``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from processors import mva
from workflows.train import dataset, fom
from workflows.train.dataset import Table


def training_plots(table: Table, doc: Mapping[str, Any], outdir: Path) -> list[Path]:
    """One figure per network: output distributions (left), FOM vs cut on the logit (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    art = mva.from_document(doc)
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    val = table.fold == mva.FOLD_VALIDATION
    names = np.asarray(table.samples)
    for i, net in enumerate(art.networks):
        last = i == len(art.networks) - 1
        hyps = dataset.hypotheses(table, net.mass_range, last, float(doc.get("window_n_sigma", 2.0)))
        rd = dataset.range_data(table, hyps, mva.FOLD_VALIDATION)
        logit = net.logit(dict(zip(net.features, rd.X.T, strict=True)))
        fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
        edges = np.linspace(np.percentile(logit, 0.5), np.percentile(logit, 99.5), 50)
        in_range = {h.sample for h in hyps}
        rows = val & np.isin(names[table.sample], list(in_range))
        sig_logit = net.logit(dict(zip(net.features, table.X[rows].T, strict=True)))
        ax.hist(sig_logit, edges, weights=table.weight[rows], density=True, histtype="step", lw=2, color="k",
                label=f"signal {net.mass_range[0]:g}-{net.mass_range[1]:g} GeV")  # fmt: skip
        for s in sorted({names[k] for k in np.unique(table.sample[val & ~table.is_signal])}):
            rows = val & (names[table.sample] == s)
            lg = net.logit(dict(zip(net.features, table.X[rows].T, strict=True)))
            if lg.size and table.weight[rows].sum() > 0:
                ax.hist(lg, edges, weights=table.weight[rows], density=True, histtype="step", label=s)
        if net.working_point_logit is not None:
            ax.axvline(net.working_point_logit, color="r", ls="--", label="working point")
        ax.set(xlabel="network output (logit)", ylabel="normalised", yscale="log",
               title=f"{doc.get('loss', '?')} network, validation fold")  # fmt: skip
        ax.legend(fontsize=7)
        scan = fom.cut_scan(logit, rd, float(doc.get("a", fom.DEFAULT_A)))
        finite = np.isfinite(scan.cuts)
        bx.plot(scan.cuts[finite], scan.fom[finite].sum(axis=1), color="k", label="Punzi FOM (sum over masses)")
        bx.axhline(scan.fom[0].sum(), color="grey", ls=":", label="no network cut")
        if net.working_point_logit is not None:
            bx.axvline(net.working_point_logit, color="r", ls="--", label="working point")
        bx.set(xlabel="cut on the network output (logit)", ylabel=r"$\sum_m \epsilon / (a/2 + \sqrt{B})$")
        bx.legend(fontsize=7)
        fig.tight_layout()
        path = outdir / f"network_{net.mass_range[0]:g}-{net.mass_range[1]:g}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written

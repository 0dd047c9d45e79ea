"""Why resampled pseudo-data do not bias a fit with the template made from the same weighted pool: for any
pool, the resampled counts in every bin are Poisson with mean equal to the pool's weighted template
(E[data | pool] = template), however often each pool event is reused."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from samples.generator import io, pipeline
from samples.pseudodata import Component, resample_component


def test_resampled_counts_are_poisson_around_the_pool_template(tmp_path: Path) -> None:
    s = pipeline.generate("eemumu_corner", 40_000, seed=4, filter_name="zprime_inv")
    pool = s.columns
    w = pool["weight"].astype(np.float64)
    path = io.write(tmp_path / "pool.root", pool)
    n_pool = w.size
    # a luminosity that reuses every pool event ~3 times on average, the heaviest far more
    xsec, lumi = 3.0 * n_pool**2 / w.sum(), 1.0  # mean count = xsec * lumi * (weighted pool fraction)
    comp = Component("eemumu_corner", xsec_fb=xsec, filter_efficiency=1.0, pool_files=[str(path)])
    pt = np.hypot(pool["Track_px"], pool["Track_py"]).astype(np.float64)
    first = np.concatenate([[0], np.cumsum(pool["nTrack"])[:-1]])
    has = pool["nTrack"] > 0
    x = np.where(has, pt[np.minimum(first, pt.size - 1)], -1.0)  # leading-slot track pT, -1 for none
    bins = np.array([-2.0, 0.0, 0.3, 0.6, 1.0, 1.5, 2.5, 6.0])
    template = np.histogram(x, bins, weights=w)[0] * xsec * lumi / n_pool
    k = 80
    counts = np.empty((k, bins.size - 1))
    rng = np.random.default_rng(11)
    for i in range(k):  # pseudo-experiments (a loop over data sets, not over events)
        cols, _ = resample_component(comp, lumi, rng, skim=None)
        pt_d = np.hypot(cols["Track_px"], cols["Track_py"]).astype(np.float64)
        f_d = np.concatenate([[0], np.cumsum(cols["nTrack"])[:-1]])
        x_d = np.where(cols["nTrack"] > 0, pt_d[np.minimum(f_d, pt_d.size - 1)], -1.0)
        counts[i] = np.histogram(x_d, bins)[0]
    mean, var = counts.mean(axis=0), counts.var(axis=0, ddof=1)
    ok = template > 5
    chi2 = float(np.sum((mean - template)[ok] ** 2 / (template[ok] / k)))
    ndf = int(ok.sum())
    assert chi2 < ndf + 4 * np.sqrt(2 * ndf), (chi2, ndf)  # E[data | pool] = template
    # Poisson spread around the template (not the pool's MC spread): var / mean ~ 1
    assert np.all(np.abs(var[ok] / mean[ok] - 1.0) < 5 * np.sqrt(2.0 / (k - 1)))
    # the heaviest pool events are reused most: the reuse is real, and the template absorbs it
    assert w.max() / w.mean() > 3

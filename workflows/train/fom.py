"""The Punzi figure of merit with hard cuts (numpy): evaluation, working points, the comparison of networks.

FOM_j(c) = eff_j(c) / (a/2 + sqrt(B_j(c))), eff_j = signal weight of hypothesis j with score >= c over all
its signal weight, B_j = background weight with score >= c inside hypothesis j's window (Punzi,
arXiv:physics/0308063; a = the number of sigmas of the intended discovery / exclusion; a = 3 in
EPJC 82, 121). The differentiable version used as the training loss is in ``workflows/train/punzi.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workflows.train.dataset import RangeData

DEFAULT_A = 3.0  # EPJC 82, 121 (2022) uses a = 3 (Punzi's choice for a 3 sigma discovery / 90 % CL exclusion)


def punzi(eff: np.ndarray, b: np.ndarray, a: float = DEFAULT_A) -> np.ndarray:
    return np.asarray(eff) / (a / 2.0 + np.sqrt(np.maximum(b, 0.0)))


def soft_fom(score: np.ndarray, data: RangeData, a: float = DEFAULT_A) -> np.ndarray:
    """Per-hypothesis FOM with the score as a per-event weight (the training objective, in numpy)."""
    eff, b = soft_counts(score, data)
    return punzi(eff, b, a)


def soft_counts(score: np.ndarray, data: RangeData) -> tuple[np.ndarray, np.ndarray]:
    n_h = len(data.hypotheses)
    sig = data.hyp >= 0
    w_tot = np.bincount(data.hyp[sig], weights=data.weight[sig], minlength=n_h)
    w_sel = np.bincount(data.hyp[sig], weights=(data.weight * score)[sig], minlength=n_h)
    b = (data.weight * score) @ data.window
    return w_sel / w_tot, b


@dataclass(frozen=True)
class CutScan:
    cuts: np.ndarray  # (n_cut,)
    eff: np.ndarray  # (n_cut, n_hyp)
    background: np.ndarray  # (n_cut, n_hyp)
    fom: np.ndarray  # (n_cut, n_hyp)

    @property
    def best(self) -> int:
        """Index of the cut with the largest FOM summed over the hypotheses (one working point per network)."""
        return int(np.argmax(self.fom.sum(axis=1)))


def _weight_above(score: np.ndarray, weight: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    order = np.argsort(score, kind="stable")
    s, cw = score[order], np.concatenate([[0.0], np.cumsum(weight[order])])
    return cw[-1] - cw[np.searchsorted(s, cuts, side="left")]


def cut_scan(
    score: np.ndarray, data: RangeData, a: float = DEFAULT_A, n_cuts: int = 400, mc_floor: bool = True
) -> CutScan:
    """FOM per hypothesis for cuts score >= c at the signal-score quantiles; the first cut keeps everything.

    ``score`` may be any monotonic function of the network output (the logit, the sigmoid).

    ``mc_floor``: the FOM counts the background as what the MC can vouch for, max(B + sqrt(sum w^2), w_max)
    with w_max the largest weight of a background event in the hypothesis window before any cut: a weighted
    MC sample cannot show a background below one of its events, so a cut into a region the MC leaves empty
    (B = 0 with a background of weight-11 events around it) gains nothing. Without it the working point
    chases MC-empty corners (measured on Z' -> invisible: cuts at score 0.9999 with B = 0 in half the windows,
    i.e. limits set by MC statistics, not by the background). ``background`` stays the plain B.
    """
    score = np.asarray(score, np.float64)
    sig = data.hyp >= 0
    cuts = np.unique(np.concatenate([[-np.inf], np.quantile(score[sig], np.linspace(0.0, 1.0, n_cuts + 1))]))
    n_h = len(data.hypotheses)
    eff = np.empty((cuts.size, n_h))
    bkg = np.empty((cuts.size, n_h))
    vouched = np.empty((cuts.size, n_h))
    for j in range(n_h):
        sj = data.hyp == j
        eff[:, j] = _weight_above(score[sj], data.weight[sj], cuts) / data.weight[sj].sum()
        bj = data.window[:, j] & ~sig
        bkg[:, j] = _weight_above(score[bj], data.weight[bj], cuts)
        w2 = _weight_above(score[bj], data.weight[bj] ** 2, cuts)
        w_max = float(data.weight[bj].max()) if bj.any() else 0.0
        vouched[:, j] = np.maximum(bkg[:, j] + np.sqrt(np.maximum(w2, 0.0)), w_max) if mc_floor else bkg[:, j]
    return CutScan(cuts=cuts, eff=eff, background=bkg, fom=punzi(eff, vouched, a))

"""Exact (Poisson) CLs upper limits for single-bin counting experiments, vectorised over windows.

Background uncertainty is folded in with a *gamma prior* on the background mean (the hybrid
Bayesian-frequentist / Cousins-Highland treatment): every probability below is the Poisson
probability averaged over b ~ Gamma(shape=1/r^2, scale=b*r^2) (mean b, relative width r).
A gamma prior is the posterior of a sideband count under a flat prior, so the same code covers
cut-and-count with data sidebands (`sideband_background`). The average over b uses Gauss-generalised-Laguerre
quadrature of the gamma prior, so all windows are evaluated with one array expression.

CLs = P(n' <= n | s + b) / P(n' <= n | b).  For n = 0 this is exp(-s) whatever b (and whatever the
prior on b), so the limit is -ln(alpha): 2.303 events at 90 % CL, 2.996 at 95 %.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

#: order of the expected band everywhere in workflows.stats: -2, -1, median, +1, +2 sigma
BAND_SIGMAS = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])


@dataclass
class CountingLimits:
    """Per-window limits on the number of signal events."""

    observed: np.ndarray  # (n_windows,)
    expected: np.ndarray  # (5, n_windows): -2, -1, median, +1, +2 sigma
    cl: float


def _b_nodes(b: np.ndarray, rel_unc: np.ndarray, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature of the gamma prior: background nodes and weights, each (n_windows, n_nodes).

    Gauss-generalised-Laguerre rules integrate x^(k-1) e^-x f(x) exactly for polynomial f of degree
    2 n_nodes - 1; one rule per distinct shape k = 1/r^2 (usually a single one). For k > 400 (r < 5 %)
    the gamma is Gaussian to good approximation and Gauss-Hermite nodes are used."""
    b = np.asarray(b, dtype=float)
    r = np.broadcast_to(np.asarray(rel_unc, dtype=float), b.shape)
    nodes = np.repeat(b[:, None], n_nodes, axis=1)
    weights = np.full(nodes.shape, 1.0 / n_nodes)
    for ri in np.unique(r[(r > 0) & (b > 0)]):
        sel = (r == ri) & (b > 0)
        k = 1.0 / ri**2
        if k <= 400.0:
            x, w = special.roots_genlaguerre(n_nodes, k - 1.0)
            x = x / k  # Gamma(k, 1) / k has mean 1 and relative width ri
        else:
            t, w = special.roots_hermite(n_nodes)
            x = np.clip(1.0 + ri * np.sqrt(2.0) * t, 0.0, None)
        nodes[sel] = b[sel, None] * x[None, :]
        weights[sel] = (w / w.sum())[None, :]
    return nodes, weights


def _cdf(n: np.ndarray, mu_nodes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """P(n' <= n | mu) averaged over the prior nodes (last axis)."""
    return (special.pdtr(n[..., None], mu_nodes) * weights).sum(axis=-1)


def cls_counting(
    s: np.ndarray, n: np.ndarray, b: np.ndarray, rel_unc: np.ndarray | float = 0.0, n_nodes: int = 20
) -> np.ndarray:
    """CLs of signal s for observed n and background b (+- rel_unc, gamma prior); vectorised."""
    s, n, b = np.broadcast_arrays(np.asarray(s, float), np.asarray(n, float), np.asarray(b, float))
    r = np.broadcast_to(np.asarray(rel_unc, float), s.shape)
    nodes, w = _b_nodes(b.ravel(), r.ravel(), n_nodes)
    num = _cdf(n.ravel(), s.ravel()[:, None] + nodes, w)
    den = _cdf(n.ravel(), nodes, w)
    return (num / den).reshape(s.shape)


def _solve_signal(n: np.ndarray, nodes: np.ndarray, w: np.ndarray, alpha: float, rtol: float = 1e-7) -> np.ndarray:
    """Signal s with CLs(s) = alpha for each window.

    Vectorised Illinois (bracketing regula falsi) on f(s) = ln CLs(s) - ln alpha, which is exactly linear
    for n = 0 and nearly so otherwise: ~6-10 iterations instead of ~25 bisections."""
    den = _cdf(n, nodes, w)
    log_alpha = np.log(alpha)

    def f(s: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(_cdf(n, s[:, None] + nodes, w) / den, 1e-300)) - log_alpha

    # CLs limits never exceed the b = 0 (classical Poisson) limit; start there and widen if needed.
    hi = 0.5 * stats.chi2.ppf(1.0 - alpha, 2.0 * (n + 1.0)) * 1.05 + 1e-3
    f_hi = f(hi)
    for _ in range(60):
        bad = f_hi > 0
        if not bad.any():
            break
        hi = np.where(bad, 2.0 * hi, hi)
        f_hi = np.where(bad, f(hi), f_hi)
    lo = np.zeros_like(hi)
    f_lo = np.full_like(hi, -log_alpha)  # CLs(0) = 1
    side = np.zeros(hi.shape, int)
    x = hi
    for _ in range(100):
        x = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        fx = f(x)
        pos = fx > 0
        lo, f_lo = np.where(pos, x, lo), np.where(pos, fx, f_lo)
        hi, f_hi = np.where(pos, hi, x), np.where(pos, f_hi, fx)
        # Illinois: halve the stale end's value when the same side moves twice
        f_hi = np.where(pos & (side == 1), 0.5 * f_hi, f_hi)
        f_lo = np.where(~pos & (side == -1), 0.5 * f_lo, f_lo)
        side = np.where(pos, 1, -1)
        if np.all((hi - lo) <= rtol * np.maximum(hi, 1e-12)) or np.all(np.abs(fx) < rtol):
            break
    return x


def expected_counts(b: np.ndarray, rel_unc: np.ndarray | float = 0.0) -> np.ndarray:
    """Quantiles of the background-only count distribution at the band sigmas, shape (5, n).

    Poisson for a known background, negative binomial (Poisson-gamma) with an uncertain one.
    Because the limit rises monotonically with n, the limit at the n-quantile is the quantile of
    the limit distribution."""
    b = np.atleast_1d(np.asarray(b, float))
    r = np.broadcast_to(np.asarray(rel_unc, float), b.shape)
    p = stats.norm.cdf(BAND_SIGMAS)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        k = 1.0 / r**2
        nb = stats.nbinom.ppf(p, k, k / (k + b))
    return np.where(r > 0, nb, stats.poisson.ppf(p, b))


def counting_limits(
    n_obs: np.ndarray, b: np.ndarray, rel_unc: np.ndarray | float = 0.0, cl: float = 0.90, n_nodes: int = 20
) -> CountingLimits:
    """Observed and expected CLs upper limits on the signal yield for many single-bin windows."""
    n_obs = np.atleast_1d(np.asarray(n_obs, float))
    b = np.atleast_1d(np.asarray(b, float))
    r = np.broadcast_to(np.asarray(rel_unc, float), b.shape)
    if np.any(b < 0) or np.any(n_obs < 0):
        raise ValueError("counting_limits: background and observed counts must be >= 0")
    alpha = 1.0 - cl
    nodes, w = _b_nodes(b, r, n_nodes)
    n_exp = expected_counts(b, r)  # (5, n)
    # solve observed + 5 expected counts in one batch; identical (n, window) pairs are frequent
    all_n = np.concatenate([n_obs[None, :], n_exp]).ravel()
    limits = _solve_signal(all_n, np.tile(nodes, (6, 1)), np.tile(w, (6, 1)), alpha).reshape(6, -1)
    return CountingLimits(observed=limits[0], expected=limits[1:], cl=cl)


def counting_p0(n_obs: np.ndarray, b: np.ndarray, rel_unc: np.ndarray | float = 0.0, n_nodes: int = 20) -> np.ndarray:
    """Local p-value of the background-only hypothesis: P(n' >= n_obs | b), prior-averaged."""
    n_obs = np.atleast_1d(np.asarray(n_obs, float))
    b = np.atleast_1d(np.asarray(b, float))
    nodes, w = _b_nodes(b, np.broadcast_to(np.asarray(rel_unc, float), b.shape), n_nodes)
    return np.where(n_obs > 0, 1.0 - _cdf(n_obs - 1.0, nodes, w), 1.0)


def sideband_background(n_sideband: np.ndarray, transfer: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Background prediction (mean, relative uncertainty) from a data sideband count.

    b = transfer * N with N ~ Gamma(n_sideband + 1, 1): the posterior of the sideband mean under a
    flat prior, which stays finite and positive for an empty sideband."""
    shape = np.asarray(n_sideband, float) + 1.0
    return np.asarray(transfer, float) * shape, 1.0 / np.sqrt(shape)


def _signal_nodes(rel_unc: float, n_nodes: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature of the signal-efficiency prior k ~ Gamma(mean 1, relative width rel_unc): nodes, weights."""
    if rel_unc <= 0:
        return np.ones(1), np.ones(1)
    shape = 1.0 / rel_unc**2
    x, w = special.roots_genlaguerre(n_nodes, shape - 1.0)
    return x / shape, w / w.sum()


_ONE = np.ones(1)


def _bayes_credibility(s: np.ndarray, n: np.ndarray, nodes: np.ndarray, w: np.ndarray,
                       k_nodes: np.ndarray = _ONE, k_w: np.ndarray = _ONE) -> np.ndarray:  # fmt: skip
    """Posterior probability of [0, s] for a flat prior on s >= 0 (b averaged over its prior nodes, the signal
    scaled by k averaged over its prior nodes).

    int_0^S Pois(n | k s + b) ds = [P(n + 1, b + k S) - P(n + 1, b)] / k with P the regularised lower gamma."""
    a = (n + 1.0)[:, None, None]
    bb = nodes[:, :, None]
    k = k_nodes[None, None, :]
    wt = w[:, :, None] * (k_w / k_nodes)[None, None, :]
    lo = special.gammainc(a, bb)
    num = ((special.gammainc(a, bb + k * s[:, None, None]) - lo) * wt).sum(axis=(1, 2))
    den = ((1.0 - lo) * wt).sum(axis=(1, 2))
    return num / np.maximum(den, 1e-300)


def bayesian_limits(
    n_obs: np.ndarray, b: np.ndarray, rel_unc: np.ndarray | float = 0.0, cl: float = 0.90, n_nodes: int = 20,
    signal_rel_unc: float = 0.0,
) -> CountingLimits:  # fmt: skip
    """Bayesian upper limits on the signal yield (flat prior on s >= 0, gamma prior on b) at
    credibility ``cl``, for many windows at once; the expected band from the background-only
    count quantiles (the limit is monotone in n). For b = 0, n = 0 it is -ln(1 - cl).
    ``signal_rel_unc``: a gamma prior (mean 1) on the signal efficiency, integrated out like b's."""
    n_obs = np.atleast_1d(np.asarray(n_obs, float))
    b = np.atleast_1d(np.asarray(b, float))
    r = np.broadcast_to(np.asarray(rel_unc, float), b.shape)
    if np.any(b < 0) or np.any(n_obs < 0):
        raise ValueError("bayesian_limits: background and observed counts must be >= 0")
    if not 0.0 <= signal_rel_unc < 1.0:
        raise ValueError(f"bayesian_limits: signal_rel_unc={signal_rel_unc} must be in [0, 1)")
    nodes, w = _b_nodes(b, r, n_nodes)
    k_nodes, k_w = _signal_nodes(signal_rel_unc)
    all_n = np.concatenate([n_obs[None, :], expected_counts(b, r)]).ravel()
    # windows with the same (n, b, r) have the same limit (many empty windows): solve each once
    key = np.column_stack([all_n, np.tile(b, 6), np.tile(r, 6)])
    uniq, first, back = np.unique(key, axis=0, return_index=True, return_inverse=True)
    un, idx = uniq[:, 0], first % len(b)
    nodes, w = nodes[idx], w[idx]
    # bisection in s: the credibility is monotone in s; 0.5 chi2 quantile (b = 0) bounds it, divided by the
    # smallest efficiency node for an uncertain signal
    hi = (0.5 * stats.chi2.ppf(cl, 2.0 * (un + 1.0)) + 1e-3) / k_nodes.min()
    lo = np.zeros_like(hi)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        below = _bayes_credibility(mid, un, nodes, w, k_nodes, k_w) < cl
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        if np.all(hi - lo <= 1e-7 * np.maximum(hi, 1e-12)):
            break
    lo, hi = lo[np.ravel(back)], hi[np.ravel(back)]
    limits = (0.5 * (lo + hi)).reshape(6, -1)
    return CountingLimits(observed=limits[0], expected=limits[1:], cl=cl)

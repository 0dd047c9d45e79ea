"""Signal resolution in M^2_recoil: a double Crystal Ball fit per generated mass,
the width sigma_W of the Z' -> invisible paper, and interpolation between masses.

Pure functions of arrays / 1D histograms (no coffea): used by workflows (plots,
tables) and by the statistics stage (fit windows of +-10 sigma_W).

Signal pdf (seed 002): f CB1 + (1 - f) CB2 with a common peak position; CB1
has its power-law tail on the low side, CB2 on the high side (final-state
radiation and resolution tails populate both sides of M^2_recoil), and
sigma_W = sqrt(f sigma1^2 + (1 - f) sigma2^2). The Crystal Ball shape is
written in closed form (tested against scipy.stats.crystalball); the fit is a binned least-squares fit
(scipy.optimize.curve_fit) with Poisson (or sum-of-weights^2) errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special


@dataclass(frozen=True)
class DCBFit:
    mu: float
    sigma1: float
    sigma2: float
    frac: float
    alpha1: float
    n1: float
    alpha2: float
    n2: float
    norm: float  # fitted number of (weighted) events
    chi2_ndf: float

    @property
    def sigma_w(self) -> float:
        """sqrt(f sigma1^2 + (1 - f) sigma2^2) (seed 002)."""
        return float(np.sqrt(self.frac * self.sigma1**2 + (1.0 - self.frac) * self.sigma2**2))


def crystal_ball_pdf(x, mu, sigma, alpha, n):
    """Normalised Crystal Ball with its power-law tail below mu - alpha sigma (closed form;
    same function as scipy.stats.crystalball, which is ~100x slower in a fit loop)."""
    t = (np.asarray(x, dtype=float) - mu) / sigma
    a = abs(alpha)
    norm = n / a / (n - 1.0) * np.exp(-0.5 * a * a) + np.sqrt(np.pi / 2.0) * (1.0 + special.erf(a / np.sqrt(2.0)))
    core = np.exp(-0.5 * t * t)
    b = n / a - a
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        tail = (n / a) ** n * np.exp(-0.5 * a * a) * np.power(np.maximum(b - t, 1e-300), -n)
    return np.where(t > -a, core, tail) / (sigma * norm)


def double_cb_pdf(x, mu, sigma1, sigma2, frac, alpha1, n1, alpha2, n2):
    """Normalised f CB1(low tail) + (1 - f) CB2(high tail) at x."""
    x = np.asarray(x, dtype=float)
    low = crystal_ball_pdf(x, mu, sigma1, alpha1, n1)
    high = crystal_ball_pdf(-x, -mu, sigma2, alpha2, n2)
    return frac * low + (1.0 - frac) * high


def fit_double_cb_binned(edges: np.ndarray, counts: np.ndarray, variances: np.ndarray | None = None) -> DCBFit:
    """Fit the double Crystal Ball to a binned distribution (counts per bin)."""
    edges = np.asarray(edges, dtype=float)
    counts = np.asarray(counts, dtype=float)
    centres = 0.5 * (edges[1:] + edges[:-1])
    widths = np.diff(edges)
    total = counts.sum()
    if total <= 0 or np.count_nonzero(counts) < 8:
        raise ValueError(
            f"double Crystal Ball fit needs >= 8 filled bins (got {np.count_nonzero(counts)}, sum {total}); "
            "generate more signal events or use coarser bins"
        )
    var = counts.copy() if variances is None else np.asarray(variances, dtype=float)
    # Empty bins get the error of one average-weight event (else they pin the fit).
    w_mean2 = float(var.sum() / total) ** 2 if var.sum() > 0 else 1.0
    err = np.sqrt(np.maximum(var, w_mean2))
    mean = np.average(centres, weights=counts)
    rms = np.sqrt(np.average((centres - mean) ** 2, weights=counts))
    peak = centres[np.argmax(counts)]

    def model(x, norm, mu, s1, s2, f, a1, n1, a2, n2):
        return norm * widths * double_cb_pdf(x, mu, s1, s2, f, a1, n1, a2, n2)

    s0 = max(rms / 2, widths.min())
    p0 = [total, peak, s0, 2 * s0, 0.6, 1.5, 3.0, 1.5, 3.0]
    lo = [0.0, edges[0], widths.min() / 10, widths.min() / 10, 0.0, 0.2, 1.01, 0.2, 1.01]
    hi = [10 * total, edges[-1], 10 * rms + widths.max(), 10 * rms + widths.max(), 1.0, 10.0, 50.0, 10.0, 50.0]
    popt, _ = optimize.curve_fit(model, centres, counts, p0=p0, sigma=err, bounds=(lo, hi), maxfev=5000, x_scale="jac")
    resid = (counts - model(centres, *popt)) / err
    ndf = max(len(counts) - len(popt), 1)
    norm, mu, s1, s2, f, a1, n1, a2, n2 = (float(v) for v in popt)
    return DCBFit(mu, s1, s2, f, a1, n1, a2, n2, norm, float(np.sum(resid**2) / ndf))


def fit_double_cb(
    values: np.ndarray,
    weights: np.ndarray | None = None,
    m2_nominal: float | None = None,
    n_bins: int = 80,
    half_width: float | None = None,
) -> DCBFit:
    """Fit the M^2_recoil peak of unbinned (weighted) signal values.

    The range is ``m2_nominal`` +- ``half_width`` (default: 6 robust widths
    around the median, from the 16-84 % quantiles).
    """
    values = np.asarray(values, dtype=float)
    weights = np.ones_like(values) if weights is None else np.asarray(weights, dtype=float)
    centre = float(np.median(values)) if m2_nominal is None else float(m2_nominal)
    if half_width is None:
        q16, q84 = np.quantile(values, [0.16, 0.84])
        half_width = 6.0 * max((q84 - q16) / 2, 1e-4)
    edges = np.linspace(centre - half_width, centre + half_width, n_bins + 1)
    counts, _ = np.histogram(values, bins=edges, weights=weights)
    variances, _ = np.histogram(values, bins=edges, weights=weights**2)
    return fit_double_cb_binned(edges, counts, variances)


def fit_double_cb_hist(h) -> DCBFit:
    """Fit a 1D ``hist.Hist`` (e.g. the M^2_recoil histogram of one signal sample)."""
    if h.ndim != 1:
        raise ValueError(f"fit_double_cb_hist wants a 1D histogram, got axes {[a.name for a in h.axes]}")
    variances = h.variances()
    return fit_double_cb_binned(h.axes[0].edges, h.values(), variances)


# peak_width: the largest accepted ratio between the fitted sigma_W and the central 68 % half-width (1 for a
# Gaussian; 0.72-1.35 for the converged fits of the Z' -> invisible, mu mu, tau tau and mono-photon signals,
# 2.7-14 for the three tau tau fits that put the radiative tail into a core, 2026-12-04).
MAX_DCB_OVER_ROBUST = 2.0


def peak_width(h1, peak: float, half_range: float) -> tuple[float, str]:
    """The signal width on a peak axis, as the run summary and the statistics stage both use it:
    sigma_W of the double Crystal Ball fitted in [peak - half_range, peak + half_range] when the fit
    converges to a width inside that range, else half the central 68 % interval of the entries in it
    (narrow peaks that fill too few bins for the fit). Returns (width, "double CB" | "68% interval").
    Restricting to the range keeps wrong-pairing candidates and radiative tails out of the width."""
    import warnings

    centers, vals = h1.axes[0].centers, h1.values()
    near = np.abs(centers - peak) <= half_range
    c, v = centers[near], np.clip(vals[near], 0.0, None)
    if v.sum() <= 0:
        return float("nan"), "no entries"
    cdf = np.cumsum(v) / v.sum()
    q16, q84 = np.interp([0.16, 0.84], cdf, c)
    robust = max(float(q84 - q16) / 2, float(np.min(h1.axes[0].widths[near])) / 2)
    try:
        lo = h1.axes[0].index(peak - half_range)
        hi = h1.axes[0].index(peak + half_range)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_double_cb_hist(h1[max(lo, 0) : hi + 1])
        # A fit whose sigma_W is far from the central 68 % width has put a broad component (a tail, the
        # wrong pairings) into one of its cores: its +-n sigma window would then be several times too wide.
        plausible = MAX_DCB_OVER_ROBUST**-1 * robust < fit.sigma_w < MAX_DCB_OVER_ROBUST * robust
        if np.isfinite(fit.sigma_w) and 0 < fit.sigma_w < half_range and plausible:
            return float(fit.sigma_w), "double CB"
    except Exception:  # the fit needs >= 8 filled bins; fall back below
        pass
    return robust, "68% interval"


@dataclass(frozen=True)
class ResolutionModel:
    """sigma_W(M) from fits at generated masses; linear interpolation in M between them
    (constant beyond the ends, which the caller should avoid: see ``covers``)."""

    masses: Sequence[float]
    sigmas: Sequence[float]

    def __post_init__(self) -> None:
        m = np.asarray(self.masses, dtype=float)
        if len(m) == 0 or len(m) != len(self.sigmas):
            raise ValueError("ResolutionModel needs equal, non-empty lists of masses and sigmas")
        order = np.argsort(m)
        object.__setattr__(self, "masses", tuple(m[order]))
        object.__setattr__(self, "sigmas", tuple(np.asarray(self.sigmas, dtype=float)[order]))

    def sigma(self, mass: float | np.ndarray) -> float | np.ndarray:
        return np.interp(mass, self.masses, self.sigmas)

    def covers(self, mass: float) -> bool:
        return self.masses[0] <= mass <= self.masses[-1]

    def window(self, mass: float, n_sigma: float = 10.0) -> tuple[float, float]:
        """M^2_recoil window [GeV^2] of +- n_sigma sigma_W around M^2."""
        s = float(self.sigma(mass))
        return mass**2 - n_sigma * s, mass**2 + n_sigma * s


def window_yields(
    h, model: ResolutionModel, masses: Sequence[float], n_sigma: float = 10.0
) -> dict[float, dict[str, float]]:
    """Yield per sample in the M^2_recoil window of each mass hypothesis.

    ``h``: a hist with axes "sample" and an M^2_recoil axis (any others, e.g. "syst" or
    theta, are summed over; pass ``h[{"syst": "nominal"}]`` for nominal yields). The
    window is +-n_sigma sigma_W(M); bins are counted if their centre lies inside.
    Used to print the background composition per mass window.
    """
    m2_axis = next((ax for ax in h.axes if ax.name.startswith("m2")), None)
    if m2_axis is None or "sample" not in h.axes.name:
        raise ValueError(f"window_yields needs axes 'sample' and 'm2...', got {list(h.axes.name)}")
    proj = h.project("sample", m2_axis.name)
    centres = m2_axis.centers
    out: dict[float, dict[str, float]] = {}
    for mass in masses:
        lo, hi = model.window(mass, n_sigma)
        inside = (centres >= lo) & (centres <= hi)
        out[float(mass)] = {s: float(proj[{"sample": s}].values()[inside].sum()) for s in proj.axes["sample"]}
    return out

"""Background-model bias test of a peak scan: the MC template (with its MC-statistical gammas) against a
smooth function fitted to the data, on background-only pseudo-experiments.

Per hypothesis window (the scan's own workspace: bins, signal shape, background template):

- truth of each pseudo-experiment: the background template moved bin by bin within its MC-statistical
  uncertainty (the real background differs from a finite MC sample by that much), then Poisson-fluctuated;
- fit 1, "template": the search's workspace (fastfit likelihood, staterror gammas profiled);
- fit 2, "smooth": mu * signal + exp(Legendre polynomial of ``order`` in the window), every coefficient free;
  it meets the template's shape (MC noise included: where the MC sample is no larger than the data, part of a
  smooth function's spurious signal is MC noise it cannot follow, which real data would not have);
- per fit and toy the signal strength (POI = sigma x BF in fb) with its 68 % profile-likelihood interval, the
  POI free in sign; pull = mu_hat / (the error on the side of 0).

Criterion (the spurious-signal rule of the LHC resonance searches): a background model is unbiased if the mean
fitted signal is below 20 % of the median statistical error (within two standard errors of the toys). The
smooth function is chosen only where it is unbiased *and* more precise; otherwise the template.
``python -m workflows.stats.bias SEARCH --input RUN`` prints the table for a few masses and writes
``limits/bias_<search>.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from numpy.polynomial import legendre
from scipy import optimize

from workflows.stats import fastfit

SPURIOUS_MAX = 0.2  # |mean mu_hat| / median sigma: the declared bias criterion


@dataclass
class ModelBias:
    mean_mu: float  # mean fitted signal [fb] on background-only toys
    median_sigma: float  # median 68 % half-width [fb]
    mean_pull: float
    pull_width: float
    ntoys: int

    @property
    def spurious(self) -> float:
        """|mean fitted signal| / median error."""
        return abs(self.mean_mu) / self.median_sigma if self.median_sigma > 0 else float("inf")

    @property
    def spurious_err(self) -> float:
        """The toys' own precision on `spurious` (standard error of the mean)."""
        return self.pull_width / np.sqrt(max(self.ntoys, 1))

    @property
    def unbiased(self) -> bool:
        """Passes the criterion within two standard errors of the toys."""
        return self.spurious - 2.0 * self.spurious_err < SPURIOUS_MAX


@dataclass
class BiasRow:
    mass: float
    background: float  # expected background events in the window
    n_bins: int
    ntoys: int
    template: ModelBias
    smooth: ModelBias
    choice: str


def _interval(nll: Callable[[float], float], mu_hat: float, nll_min: float, lo: float, hi: float, step: float):
    """68 % profile-likelihood interval of a 1-parameter profile ``nll`` (2 Delta NLL = 1) within [lo, hi]."""

    def f(mu: float) -> float:
        return 2.0 * (nll(mu) - nll_min) - 1.0

    ends = []
    for direction, bound in ((-1.0, lo), (1.0, hi)):
        x = mu_hat + direction * step
        while f(x) < 0 and (x - bound) * direction < 0:
            x = mu_hat + 2.0 * (x - mu_hat)
            x = min(x, bound) if direction > 0 else max(x, bound)
        ends.append(optimize.brentq(f, *sorted((mu_hat, x)), xtol=1e-4 * step) if f(x) >= 0 else x)
    return ends[0], ends[1]


def _pull(mu_hat: float, lo: float, hi: float) -> tuple[float, float]:
    """(pull towards the true 0, symmetric half-width)."""
    side = mu_hat - lo if mu_hat > 0 else hi - mu_hat
    return mu_hat / max(side, 1e-300), 0.5 * (hi - lo)


class SmoothModel:
    """mu * s + exp(sum_k c_k P_k(x)), x the bin centres mapped onto [-1, 1]; binned Poisson likelihood."""

    def __init__(self, s: np.ndarray, order: int, mu_scale: float = 1.0):
        # the POI is fitted in units of mu_scale (about one statistical error) so that L-BFGS-B sees
        # gradients of similar size in every direction
        self.scale = mu_scale
        self.s = np.asarray(s, float) * mu_scale
        self.x = np.linspace(-1.0, 1.0, self.s.size) if self.s.size > 1 else np.zeros(1)
        self.basis = legendre.legvander(self.x, order)  # (B, order+1)
        self.order = order

    def _nll(self, p: np.ndarray, n: np.ndarray) -> tuple[float, np.ndarray]:
        mu, c = p[0], p[1:]
        bkg = np.exp(np.clip(self.basis @ c, -700, 700))
        nu = np.maximum(mu * self.s + bkg, 1e-300)
        w = 1.0 - n / nu
        # Poisson deviance (the saturated term subtracted): O(bins) at the minimum, so that the optimiser's
        # relative tolerance is a tight absolute one
        sat = np.where(n > 0, n * np.log(np.where(n > 0, n, 1.0)) - n, 0.0)
        return float(np.sum(nu - n * np.log(nu) + sat)), np.concatenate([[w @ self.s], self.basis.T @ (w * bkg)])

    def fit(self, n: np.ndarray, mu_bounds: tuple[float, float], fixed_mu: float | None = None) -> tuple[float, float]:
        # start from the weighted least-squares fit of log n: with 1e4-1e5 events per bin a start at the mean
        # leaves L-BFGS-B far from the minimum and its fixed-mu fits inconsistent with the free one
        wls = np.sqrt(np.maximum(n, 1.0))
        c0 = np.linalg.lstsq(self.basis * wls[:, None], np.log(np.maximum(n, 0.5)) * wls, rcond=None)[0]
        opts = {"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10}
        if fixed_mu is None:
            x0 = np.concatenate([[0.0], c0])
            bnds = [(mu_bounds[0] / self.scale, mu_bounds[1] / self.scale)] + [(None, None)] * (self.order + 1)
            res = optimize.minimize(self._nll, x0, args=(n,), jac=True, method="L-BFGS-B", bounds=bnds, options=opts)
            return float(res.x[0]) * self.scale, float(res.fun)

        def f(c):
            v, g = self._nll(np.concatenate([[fixed_mu / self.scale], c]), n)
            return v, g[1:]

        res = optimize.minimize(f, c0, jac=True, method="L-BFGS-B", options=opts)
        return fixed_mu, float(res.fun)


def _summary(mu: np.ndarray, sig: np.ndarray, pull: np.ndarray) -> ModelBias:
    return ModelBias(float(np.mean(mu)), float(np.median(sig)), float(np.mean(pull)), float(np.std(pull)), mu.size)


def bias_test(ws: dict, mass: float, ntoys: int = 200, seed: int = 1, order: int = 2) -> BiasRow:
    """Both background models on ``ntoys`` background-only pseudo-experiments of one hypothesis's window."""
    m = fastfit.FastModel.from_workspace(ws)
    s = m.nominal[m.poi_mask].sum(axis=0)
    b = m.nominal[~m.poi_mask].sum(axis=0)
    rel = np.zeros_like(b)
    rel[m.stat_bins] = m.stat_sigma
    core = s > 1e-3 * s.max()
    mu_lo = -0.9 * float(np.min(b[core] / s[core]))  # keeps every bin's expectation positive
    mu_hi = 10.0 * (5.0 + 5.0 * np.sqrt(b.sum())) / s.sum()
    step = np.sqrt(max(b.sum(), 1.0)) / s.sum()
    smooth = SmoothModel(s, order, step)
    rng = np.random.default_rng(seed)
    out: dict[str, list] = {"template": [], "smooth": []}
    aux = m.nominal_aux()
    for _ in range(ntoys):
        truth = np.clip(b * (1.0 + rel * rng.standard_normal(b.size)), 0.0, None)
        n = rng.poisson(truth).astype(float)
        p_hat, nll_min = m.fit(n, aux, (mu_lo, mu_hi))

        def nll_template(mu: float, n: np.ndarray = n, p0: np.ndarray = p_hat) -> float:
            return m.fit(n, aux, (mu_lo, mu_hi), fixed_mu=mu, x0=p0)[1]

        def nll_smooth(mu: float, n: np.ndarray = n) -> float:
            return smooth.fit(n, (mu_lo, mu_hi), fixed_mu=mu)[1]

        lo, hi = _interval(nll_template, float(p_hat[0]), nll_min, mu_lo, mu_hi, step)
        out["template"].append((p_hat[0], *_pull(p_hat[0], lo, hi)))
        mu_s, nll_s = smooth.fit(n, (mu_lo, mu_hi))
        lo, hi = _interval(nll_smooth, mu_s, nll_s, mu_lo, mu_hi, step)
        out["smooth"].append((mu_s, *_pull(mu_s, lo, hi)))
    res = {}
    for k, v in out.items():
        a = np.asarray(v, float)
        res[k] = _summary(a[:, 0], a[:, 2], a[:, 1])
    ok = res["smooth"].unbiased and res["smooth"].median_sigma < res["template"].median_sigma
    return BiasRow(mass, float(b.sum()), int(b.size), ntoys, res["template"], res["smooth"],
                   "smooth" if ok else "template")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    from processors.registry import get
    from processors.spec import PeakScan
    from workflows import outputs
    from workflows.stats.plans import peak_scan

    ap = argparse.ArgumentParser(prog="python -m workflows.stats.bias", description=__doc__.splitlines()[0])
    ap.add_argument("search")
    ap.add_argument("--input", type=Path, required=True, help="a `b2dark run` output folder")
    ap.add_argument("--masses", type=float, nargs="+", default=None, help="hypotheses (default: generated masses)")
    ap.add_argument("--model", default=None, help="signal model (default: the first declared)")
    ap.add_argument("--ntoys", type=int, default=200)
    ap.add_argument("--order", type=int, default=2, help="Legendre order of the smooth function's exponent")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    spec = get(args.search)
    plan = spec.stats
    if not isinstance(plan, PeakScan):
        print(f"bias: {spec.name} has no peak scan ({type(plan).__name__})", file=sys.stderr)
        return 2
    run = outputs.load(args.input)
    model = args.model or spec.signals[0].name
    from workflows.stats.plans.common import signal_samples

    sigs = signal_samples(spec, run.samples, run.hists[plan.hist].axes["sample"])
    names = [s for s, (m, _) in sigs.items() if m.name == model]
    points = peak_scan.template_points(run.hists[plan.hist], run.samples, args.masses, plan.n_sigma, plan.axis,
                                       plan.observable, rebin=plan.rebin, min_neff=plan.min_neff,
                                       max_bins=plan.max_bins, systematics=spec.systematics, signal_names=names,
                                       model=model, width_half_range=plan.width_half_range)  # fmt: skip
    rows = []
    print(f"{'M [GeV]':>8} {'B':>8} {'bins':>4} | {'template <mu>/sigma':>19} {'pull':>11} | "
          f"{'smooth <mu>/sigma':>17} {'pull':>11} {'sigma ratio':>11} | choice")  # fmt: skip
    for p in points:
        r = bias_test(p.workspace, p.mass, args.ntoys, args.seed, args.order)
        rows.append(r)
        t, s = r.template, r.smooth
        print(
            f"{r.mass:8.4g} {r.background:8.1f} {r.n_bins:4d} | {t.mean_mu / t.median_sigma:+19.3f} "
            f"{t.mean_pull:+5.2f}+-{t.pull_width:4.2f} | {s.mean_mu / s.median_sigma:+17.3f} "
            f"{s.mean_pull:+5.2f}+-{s.pull_width:4.2f} {s.median_sigma / t.median_sigma:11.3f} | {r.choice}"
        )
    dest = args.input / "limits" / f"bias_{spec.name}.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    doc = {"model": model, "order": args.order, "criterion": f"|<mu>| < {SPURIOUS_MAX} median sigma",
           "rows": [asdict(r) for r in rows]}  # fmt: skip
    dest.write_text(json.dumps(doc, indent=1))
    print(f"-> {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

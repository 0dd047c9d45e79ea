"""A vectorised HistFactory likelihood with analytic gradients, for fast asymptotic CLs limits.

pyhf on the numpy backend fits with finite-difference gradients: a ~100-bin template with one staterror
gamma per bin takes minutes per limit. This module evaluates the *same* model (read from the pyhf
workspace spec, so pyhf remains the reference) in a handful of numpy array operations and hands
scipy's L-BFGS-B the exact gradient. It supports the modifiers the workspaces of
`workflows.stats.model` contain, with the interpolation codes pyhf 0.7's Model uses by default:

- normfactor on the POI (only), normsys (code 4: exponential beyond |alpha| = 1, a 6th-order polynomial
inside), histosys (code 4p: linear beyond |alpha| = 1, polynomial inside), staterror (gamma per bin, Gaussian
constraint of width sqrt(sum sigma^2) / sum nominal; zero-width gammas are fixed at 1 as in pyhf).

Test statistic and CLs follow pyhf's AsymptoticCalculator (qtilde, Asimov data generated at mu = 0 with
the nuisance parameters profiled on the observed data, auxiliary data included). A test cross-checks
the limits against pyhf on a small model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

BAND = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])  # sigma of the expected limit band, low to high
SUPPORTED = {"normfactor", "normsys", "histosys", "staterror"}


# pyhf's code-4 matrix (alpha0 = 1): polynomial coefficients from the values, slopes and curvatures
# of the exponential extrapolation at alpha = +-1
_CODE4_AINV = np.array(
    [
        [15 / 16, -15 / 16, -7 / 16, -7 / 16, 1 / 16, -1 / 16],
        [3 / 2, 3 / 2, -9 / 16, 9 / 16, 1 / 16, 1 / 16],
        [-5 / 8, 5 / 8, 5 / 8, 5 / 8, -1 / 8, 1 / 8],
        [-3 / 2, -3 / 2, 7 / 8, -7 / 8, -1 / 8, -1 / 8],
        [3 / 16, -3 / 16, -3 / 16, -3 / 16, 1 / 16, -1 / 16],
        [1 / 2, 1 / 2, -5 / 16, 5 / 16, 1 / 16, 1 / 16],
    ]
)


_MAX_DNLL_DNU = 1e100  # cap of |d NLL / d nu| per bin (FastModel.profile)


def _code4_coefficients(lnhi: np.ndarray, lnlo: np.ndarray) -> np.ndarray:
    hi, lo = np.exp(lnhi), np.exp(lnlo)
    b = np.stack([hi - 1, lo - 1, lnhi * hi, -lnlo * lo, lnhi**2 * hi, lnlo**2 * lo], axis=-1)
    return b @ _CODE4_AINV.T  # (K, S, 6)


def _code4(a: np.ndarray, lnhi: np.ndarray, lnlo: np.ndarray, coef: np.ndarray):
    """normsys factors (K, S) and d ln(factor) / d alpha, pyhf interpolation code 4."""
    powers = a[..., None] ** np.arange(1, 7)  # (K, 1, 6)
    poly = 1.0 + (coef * powers).sum(axis=-1)
    dpoly = (coef * np.arange(1, 7) * a[..., None] ** np.arange(0, 6)).sum(axis=-1)
    expo = np.exp(np.where(a >= 0, lnhi * a, -lnlo * a))
    inside = np.abs(a) < 1.0
    f = np.where(inside, poly, expo)
    dlnf = np.where(inside, dpoly / poly, np.where(a >= 0, lnhi, -lnlo))
    return f, dlnf


def _code4p(a: np.ndarray, up: np.ndarray, dn: np.ndarray):
    """histosys additive deltas (K, S, B) and their alpha derivatives, pyhf interpolation code 4p."""
    s, asym = 0.5 * (up + dn), 0.0625 * (up - dn)
    a2 = a * a
    inner = a * (s + a * asym * (15.0 + a2 * (-10.0 + 3.0 * a2)))
    dinner = s + asym * (30.0 * a - 40.0 * a2 * a + 18.0 * a2 * a2 * a)
    delta = np.where(a > 1.0, up * a, np.where(a < -1.0, dn * a, inner))
    slope = np.where(a > 1.0, up, np.where(a < -1.0, dn, dinner))
    return delta, slope


@dataclass
class FastModel:
    nominal: np.ndarray  # (S, B)
    poi_mask: np.ndarray  # (S,) bool
    ns_lnhi: np.ndarray  # (Kn, S) log(hi), 0 where the sample has no such normsys
    ns_lnlo: np.ndarray  # (Kn, S)
    ns_index: np.ndarray  # (Kn,) alpha index per normsys
    hs_up: np.ndarray  # (Kh, S, B) up - nominal
    hs_dn: np.ndarray  # (Kh, S, B) nominal - down
    hs_index: np.ndarray  # (Kh,)
    ns_coef: np.ndarray  # (Kn, S, 6) code-4 polynomial coefficients for |alpha| < 1
    stat_mask: np.ndarray  # (S,) bool
    stat_sigma: np.ndarray  # (G,) relative widths of the free gammas
    stat_bins: np.ndarray  # (G,) bin index of each free gamma
    n_alpha: int
    alpha_names: list[str]
    data: np.ndarray  # (B,) observed main data

    @property
    def n_pars(self) -> int:
        return 1 + self.n_alpha + len(self.stat_bins)

    @classmethod
    def from_workspace(cls, ws: dict) -> FastModel:
        """Build from a pyhf workspace (dict or pyhf.Workspace); channels are concatenated."""
        poi = ws["measurements"][0]["config"]["poi"]
        chans = sorted(ws["channels"], key=lambda c: c["name"])  # pyhf orders channels by name
        obs = {o["name"]: o["data"] for o in ws["observations"]}
        sample_names = sorted({s["name"] for c in chans for s in c["samples"]})
        nb = [len(obs[c["name"]]) for c in chans]
        offs = np.concatenate([[0], np.cumsum(nb)])
        n_s, n_b = len(sample_names), int(offs[-1])
        nominal = np.zeros((n_s, n_b))
        poi_mask = np.zeros(n_s, bool)
        stat_mask = np.zeros(n_s, bool)
        stat_err2 = np.zeros(n_b)
        stat_nom = np.zeros(n_b)
        has_stat = np.zeros(n_b, bool)
        alpha_names: list[str] = []
        normsys: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        histosys: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for ic, c in enumerate(chans):
            sl = slice(offs[ic], offs[ic + 1])
            for smp in c["samples"]:
                i = sample_names.index(smp["name"])
                nom = np.asarray(smp["data"], float)
                nominal[i, sl] = nom
                for m in smp["modifiers"]:
                    t, name = m["type"], m["name"]
                    if t not in SUPPORTED or (t == "normfactor" and name != poi):
                        raise NotImplementedError(f"fastfit: modifier {name!r} of type {t!r} not supported")
                    if t == "normfactor":
                        poi_mask[i] = True
                    elif t == "normsys":
                        if name not in alpha_names:
                            alpha_names.append(name)
                        lh, ll = normsys.setdefault(name, (np.zeros(n_s), np.zeros(n_s)))
                        lh[i], ll[i] = np.log(m["data"]["hi"]), np.log(m["data"]["lo"])
                    elif t == "histosys":
                        if name not in alpha_names:
                            alpha_names.append(name)
                        up, dn = histosys.setdefault(name, (np.zeros((n_s, n_b)), np.zeros((n_s, n_b))))
                        up[i, sl] = np.asarray(m["data"]["hi_data"]) - nom
                        dn[i, sl] = nom - np.asarray(m["data"]["lo_data"])
                    else:
                        stat_mask[i] = True
                        stat_err2[sl] += np.asarray(m["data"], float) ** 2
                        stat_nom[sl] += nom
                        has_stat[sl] = True
        rel = np.divide(np.sqrt(stat_err2), stat_nom, out=np.zeros(n_b), where=stat_nom > 0)
        free = has_stat & (rel > 0)
        nsn = list(normsys)
        hsn = list(histosys)
        return cls(
            nominal=nominal,
            poi_mask=poi_mask,
            ns_lnhi=np.array([normsys[k][0] for k in nsn]).reshape(len(nsn), n_s),
            ns_lnlo=np.array([normsys[k][1] for k in nsn]).reshape(len(nsn), n_s),
            ns_index=np.array([alpha_names.index(k) for k in nsn], int),
            ns_coef=_code4_coefficients(
                np.array([normsys[k][0] for k in nsn]).reshape(len(nsn), n_s),
                np.array([normsys[k][1] for k in nsn]).reshape(len(nsn), n_s),
            ),
            hs_up=np.array([histosys[k][0] for k in hsn]).reshape(len(hsn), n_s, n_b),
            hs_dn=np.array([histosys[k][1] for k in hsn]).reshape(len(hsn), n_s, n_b),
            hs_index=np.array([alpha_names.index(k) for k in hsn], int),
            stat_mask=stat_mask,
            stat_sigma=rel[free],
            stat_bins=np.flatnonzero(free),
            n_alpha=len(alpha_names),
            alpha_names=alpha_names,
            data=np.concatenate([np.asarray(obs[c["name"]], float) for c in chans]),
        )

    # --- model evaluation -------------------------------------------------------------------
    # Parameters are theta = (mu, alphas); the staterror gammas are profiled analytically per bin
    # (Barlow-Beeston lite with a Gaussian constraint has a closed-form conditional minimum: the
    # positive root of a quadratic), so the numerical minimisation runs over a handful of
    # parameters. The envelope theorem makes the gradient at the profiled gammas exact.

    def _terms(self, theta: np.ndarray):
        """Per-sample yields without the gamma factor, (S, B), and pieces for the gradient."""
        mu, alpha = theta[0], theta[1 : 1 + self.n_alpha]
        f_k, dlnf = _code4(alpha[self.ns_index][:, None], self.ns_lnhi, self.ns_lnlo, self.ns_coef)
        f = np.prod(f_k, axis=0)  # (S,)
        if self.hs_index.size:
            delta, slope = _code4p(alpha[self.hs_index][:, None, None], self.hs_up, self.hs_dn)
            base = self.nominal + delta.sum(axis=0)
        else:
            slope, base = None, self.nominal
        fac = (f * np.where(self.poi_mask, mu, 1.0))[:, None]  # (S, 1)
        return base * fac, base * f[:, None], fac, dlnf, slope

    def _gammas(self, A: np.ndarray, C: np.ndarray, n: np.ndarray, g_aux: np.ndarray) -> np.ndarray:
        """Conditional minimum of the NLL in each free gamma (closed form)."""
        A, C, n = A[self.stat_bins], C[self.stat_bins], n[self.stat_bins]
        tau = 1.0 / self.stat_sigma**2
        qa = tau * A
        qb = A * A + tau * C - tau * g_aux * A
        qc = A * C - tau * g_aux * C - n * A
        disc = np.sqrt(np.maximum(qb * qb - 4.0 * qa * qc, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            root = np.where(qb >= 0, -2.0 * qc / (qb + disc), (disc - qb) / (2.0 * qa))
        return np.where(A > 0, np.clip(root, 1e-10, None), g_aux)

    def profile(self, theta: np.ndarray, data: np.ndarray, aux: np.ndarray, grad: bool = True):
        """NLL minimised over the gammas at fixed theta: (value, d/d theta, gammas, nu)."""
        terms, no_mu, fac, dlnf, slope = self._terms(theta)
        A = terms[self.stat_mask].sum(axis=0)
        C = terms[~self.stat_mask].sum(axis=0)
        a_aux, g_aux = aux[: self.n_alpha], aux[self.n_alpha :]
        gam = self._gammas(A, C, data, g_aux)
        g = np.ones(A.size)
        g[self.stat_bins] = gam
        nu = np.maximum(g * A + C, 1e-300)
        alpha = theta[1 : 1 + self.n_alpha]
        # Poisson deviance form (minus the saturated constant n - n log n): O(bins) at the minimum instead
        # of ~ -n log n, so the optimiser's relative tolerance is a tight absolute one on q
        with np.errstate(divide="ignore", invalid="ignore"):
            sat = np.where(data > 0, data * np.log(np.where(data > 0, data, 1.0)) - data, 0.0)
        val = float(np.sum(nu - data * np.log(nu) + sat))
        val += 0.5 * float(np.sum((alpha - a_aux) ** 2))
        val += 0.5 * float(np.sum(((gam - g_aux) / self.stat_sigma) ** 2))
        if not grad:
            return val, None, gam, nu
        # d NLL / d nu = 1 - n / nu is unbounded where the optimiser's trial point empties a filled bin (nu is
        # floored at 1e-300): capped at -1e100, so the gradient stays finite and points the right way instead
        # of overflowing to inf / nan (the line search then backtracks as from any steep wall).
        wc = np.maximum(1.0 - data / nu, -_MAX_DNLL_DNU)
        w = wc * g  # d NLL / d(A-part) per bin, C-part gets wc
        wt = np.where(self.stat_mask[:, None], w[None, :], wc[None, :])  # (S, B)
        gr = np.zeros(1 + self.n_alpha)
        gr[0] = float((no_mu[self.poi_mask] * wt[self.poi_mask]).sum())
        for k, ia in enumerate(self.ns_index):
            gr[1 + ia] += float((terms * wt * dlnf[k][:, None]).sum())
        for k, ia in enumerate(self.hs_index):
            gr[1 + ia] += float((slope[k] * fac * wt).sum())
        gr[1:] += alpha - a_aux
        return val, gr, gam, nu

    def expected(self, p: np.ndarray) -> np.ndarray:
        """Expected main-bin yields for full parameters p = (mu, alphas, free gammas)."""
        terms = self._terms(p[: 1 + self.n_alpha])[0]
        g = np.ones(terms.shape[1])
        g[self.stat_bins] = p[1 + self.n_alpha :]
        return (terms * np.where(self.stat_mask[:, None], g[None, :], 1.0)).sum(axis=0)

    def nominal_aux(self) -> np.ndarray:
        return np.concatenate([np.zeros(self.n_alpha), np.ones(self.stat_bins.size)])

    def fit(self, data, aux, mu_bounds, fixed_mu: float | None = None, x0=None):
        """Minimise the NLL; returns (full parameters incl. gammas, nll). fixed_mu pins the POI."""
        theta0 = np.zeros(1 + self.n_alpha)
        theta0[0] = 1.0
        if x0 is not None:
            theta0[:] = np.asarray(x0, float)[: 1 + self.n_alpha]
        if fixed_mu is not None:
            theta0[0] = fixed_mu
        theta0[0] = np.clip(theta0[0], *mu_bounds)
        free = slice(1, None) if fixed_mu is not None else slice(0, None)
        bnds = ([mu_bounds] if fixed_mu is None else []) + [(-5.0, 5.0)] * self.n_alpha

        def f(x):
            th = theta0.copy()
            th[free] = x
            v, gr, _, _ = self.profile(th, data, aux)
            return v, gr[free]

        theta = theta0.copy()
        if len(bnds):
            x = theta0[free]
            # one restart if L-BFGS-B stops abnormally (line search in a flat valley): a fit left short
            # of its minimum shows up as observed != expected median on Asimov data
            for _ in range(2):
                res = optimize.minimize(
                    f,
                    x,
                    jac=True,
                    method="L-BFGS-B",
                    bounds=bnds,
                    options={"maxiter": 1000, "ftol": 1e-15, "gtol": 1e-10},
                )
                x = res.x
                if res.success:
                    break
            theta[free] = x
        val, _, gam, _ = self.profile(theta, data, aux, grad=False)
        return np.concatenate([theta, gam]), val


@dataclass
class AsymptoticLimit:
    observed: float
    expected: np.ndarray  # -2, -1, median, +1, +2 sigma
    n_evals: int


class AsymptoticCLs:
    """qtilde asymptotic CLs for one FastModel, caching fits so limit scans reuse them."""

    def __init__(self, model: FastModel, mu_max: float):
        self.m = model
        self.mu_bounds = (0.0, mu_max)
        aux0 = model.nominal_aux()
        self.aux0 = aux0
        self.free_data, self.nll_free_data = model.fit(model.data, aux0, self.mu_bounds)
        p0, nll_p0_data = model.fit(model.data, aux0, self.mu_bounds, fixed_mu=0.0)
        # the free minimum is at most the mu = 0 one: a free fit started at mu = 1 can stop there, next to a
        # wall where a shape variation empties a filled bin (seen for tau tau at 8 GeV: q = 0 up to mu = 1.3)
        if nll_p0_data < self.nll_free_data:
            self.free_data, self.nll_free_data = p0, nll_p0_data
        self.asimov = model.expected(p0)
        self.aux_asimov = p0[1:]
        self.free_asimov, self.nll_free_asimov = model.fit(self.asimov, self.aux_asimov, self.mu_bounds, x0=p0)
        # Asimov data are the expectation at p0, so p0 is their MLE: use it unless the fit found lower
        nll_p0 = model.profile(p0[: 1 + model.n_alpha], self.asimov, self.aux_asimov, grad=False)[0]
        if nll_p0 <= self.nll_free_asimov:
            self.free_asimov, self.nll_free_asimov = p0, nll_p0
        self._q: dict[float, float] = {}
        self._qa: dict[float, float] = {}

    def sqrt_qa(self, mu: float) -> float:
        """sqrt qtilde_mu on the Asimov (mu = 0) data: all the expected band needs."""
        if mu not in self._qa:
            m = self.m
            # start from the free fit, not the previous mu's fit: a start far out (alphas near their
            # bounds at a large mu) can leave L-BFGS-B stuck above the minimum (a spurious jump in q)
            _, nll = m.fit(self.asimov, self.aux_asimov, self.mu_bounds, fixed_mu=mu, x0=self.free_asimov)
            q = 0.0 if self.free_asimov[0] > mu else max(2.0 * (nll - self.nll_free_asimov), 0.0)
            self._qa[mu] = float(np.sqrt(q))
        return self._qa[mu]

    def sqrt_q(self, mu: float) -> float:
        """sqrt qtilde_mu on the observed data."""
        if mu not in self._q:
            m = self.m
            _, nll = m.fit(m.data, self.aux0, self.mu_bounds, fixed_mu=mu, x0=self.free_data)
            q = 0.0 if self.free_data[0] > mu else max(2.0 * (nll - self.nll_free_data), 0.0)
            self._q[mu] = float(np.sqrt(q))
        return self._q[mu]

    def cls_observed(self, mu: float) -> float:
        sq, sqa = self.sqrt_q(mu), self.sqrt_qa(mu)
        if sqa <= 0:
            return 1.0
        t = sq - sqa if sq <= sqa else (sq**2 - sqa**2) / (2 * sqa)
        return float(stats.norm.sf(t + sqa) / stats.norm.sf(t))

    def cls_expected(self, mu: float) -> np.ndarray:
        """Expected CLs at -2..+2 sigma of the limit band (pyhf's n_sigma = 2..-2)."""
        n = -BAND
        return stats.norm.sf(n + self.sqrt_qa(mu)) / stats.norm.sf(n)

    def upper_limit(self, level: float = 0.10, rtol: float = 1e-4) -> AsymptoticLimit:
        """mu where CLs = level, observed and the five expected-band values."""
        # scale from the Asimov curvature: sqrt(qA) ~ mu / sigma_A
        mu1 = max(self.mu_bounds[1] * 1e-3, 1e-6)
        for _ in range(60):
            sqa = self.sqrt_qa(mu1)
            if sqa > 0.5:
                break
            mu1 *= 3.0
        sigma_a = mu1 / max(sqa, 1e-12)

        def ratio_root(g, target: float, guess: float) -> float:
            # g(mu) = sqrt(qA(mu)) is nearly proportional to mu: iterate mu <- mu * target / g(mu)
            # (2-4 fits), then bracket + brentq if that has not converged
            mu = guess
            for _ in range(6):
                v = g(mu)
                if v <= 0:
                    break
                new = mu * target / v
                if abs(new - mu) <= rtol * mu:
                    return float(new)
                mu = new
            return solve(lambda x: target - g(x), mu)

        def solve(f, guess: float) -> float:
            # f decreases with mu (sqrt qA and 1 - CLs grow): bracket the root by widening around the
            # guess, then brentq; no open-ended secant steps on a flat curve (the old RuntimeWarnings)
            lo, hi = 0.95 * guess, 1.05 * guess
            while f(lo) < 0:
                lo *= 0.5
                if lo < 1e-9 * guess:
                    raise RuntimeError("CLs below the level already at mu ~ 0: the model cannot bound mu")
            while f(hi) > 0:
                hi *= 2.0
                if hi > self.mu_bounds[1]:
                    raise RuntimeError(f"CLs limit above the POI bound {self.mu_bounds[1]}: raise mu_max")
            return float(optimize.brentq(f, lo, hi, rtol=rtol, xtol=1e-12 * guess))

        exp = []
        for ni in -BAND:
            # expected CLs = level  <=>  sqrt(qA(mu)) = target, found by root finding on qA
            target = -stats.norm.ppf(level * stats.norm.sf(ni)) - ni
            exp.append(ratio_root(self.sqrt_qa, target, sigma_a * max(target, 0.1)))
            sigma_a = exp[-1] / max(target, 1e-12)
        obs = solve(lambda mu: self.cls_observed(mu) - level, exp[2])
        return AsymptoticLimit(observed=obs, expected=np.array(exp), n_evals=len(self._q) + len(self._qa))


def fast_upper_limit(ws: dict, level: float = 0.10, mu_max: float | None = None) -> AsymptoticLimit:
    """Asymptotic CLs upper limit on the POI of a workspace with the fast likelihood."""
    model = FastModel.from_workspace(ws)
    if mu_max is None:
        s = model.nominal[model.poi_mask].sum()
        b = model.nominal[~model.poi_mask].sum()
        mu_max = max(100.0, 50.0 * (3.0 + 3.0 * np.sqrt(b)) / max(s, 1e-12))
    return AsymptoticCLs(model, mu_max).upper_limit(level)


@dataclass
class SignalFit:
    """The fitted signal strength of one workspace (the POI: a cross section in fb for the peak scans)."""

    z: float  # local significance sqrt(q0), 0 for a deficit
    mu_hat: float  # best fit, bounded below at 0 like the limits' POI
    lo: float = float("nan")  # profile-likelihood interval at `interval_cl` (lo = 0 when 0 lies inside)
    hi: float = float("nan")
    interval_cl: float = float("nan")


def signal_fit(ws: dict, mu_max: float = 1e6, interval_cl: float | None = None) -> SignalFit:
    """Best-fit POI and sqrt(q0) with the fast likelihood; with ``interval_cl`` also the two-sided
    profile-likelihood interval (2 Delta NLL = chi2 quantile, nuisances profiled at every mu)."""
    m = FastModel.from_workspace(ws)
    aux = m.nominal_aux()
    bounds = (0.0, mu_max)
    p_free, nll_free = m.fit(m.data, aux, bounds)
    p0, nll0 = m.fit(m.data, aux, bounds, fixed_mu=0.0)
    if nll0 < nll_free:  # the free fit stopped short (see AsymptoticCLs): mu = 0 is the better minimum
        p_free, nll_free = p0, nll0
    mu_hat = float(p_free[0])
    out = SignalFit(float(np.sqrt(max(2.0 * (nll0 - nll_free), 0.0))), mu_hat)
    if interval_cl is None:
        return out
    target = float(stats.chi2.ppf(interval_cl, 1))

    def excess(mu: float) -> float:
        return 2.0 * (m.fit(m.data, aux, bounds, fixed_mu=mu, x0=p_free)[1] - nll_free) - target

    # the POI scale: a step of the size of the fitted value or of one background fluctuation
    s = max(float(m.nominal[m.poi_mask].sum()), 1e-12)
    step = max(mu_hat, np.sqrt(max(float(m.nominal[~m.poi_mask].sum()), 1.0)) / s)
    hi = mu_hat + step
    while excess(hi) < 0 and hi < mu_max:
        hi = min(2.0 * hi + step, mu_max)
    out.hi = float(optimize.brentq(excess, mu_hat, hi, xtol=1e-6 * step)) if excess(hi) >= 0 else float("nan")
    out.lo = 0.0 if excess(0.0) <= 0 else float(optimize.brentq(excess, 0.0, mu_hat, xtol=1e-6 * step))
    out.interval_cl = interval_cl
    return out


def discovery_z(ws: dict, mu_max: float = 1e6) -> float:
    """Local significance sqrt(q0) of an excess (0 for a deficit), asymptotic, fast likelihood."""
    return signal_fit(ws, mu_max).z

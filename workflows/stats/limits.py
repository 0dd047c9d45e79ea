"""CLs upper limits on the signal strength of a workspace: method choice and pyhf 0.7.6 workarounds.

Methods (recorded with every result):
- "exact": single-bin counting, exact Poisson CLs with the background uncertainty folded in through a
  gamma prior (workflows.stats.counting); used by "auto" for every single-bin model.
- "asymptotic": qtilde asymptotic CLs; the fast profiled likelihood (workflows.stats.fastfit) when the
  model only has the modifiers it supports, else pyhf's toms748_scan.
- "toys": pyhf toy-based CLs (slow: minutes per limit even for a few bins; small models only, on request).
  "auto" keeps a multi-bin model whose background under the signal is small (< `low_count_threshold`
  events) asymptotic but labels it "asymptotic-lowcount": asymptotics under-cover there.

pyhf 0.7.6 pitfalls handled here: upper_limit(scan=None) ignores `level` (we call toms748_scan with
`level`), the default POI bounds [0, 10] (we set them from the yields), and the toy-based expected band
calling np.percentile(interpolation=...) removed in numpy 2.4 (`numpy_percentile_fix`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyhf
from scipy import stats

from workflows.stats import counting, fastfit

METHODS = ("auto", "asymptotic", "toys", "exact")


@dataclass
class LimitResult:
    observed: float  # on mu
    expected: np.ndarray  # (5,): -2, -1, median, +1, +2 sigma, on mu
    method: str
    cl: float
    signal_yield: float  # nominal signal events at mu = 1 (limit in events = mu * this)
    reason: str = ""  # why a fallback was used or why the limit is NaN ("" when all went well)


def consistency_problem(obs: float, exp: np.ndarray, asimov: bool, rtol: float = 1e-3) -> str:
    """ "" if a limit is usable, else what is wrong with it: non-finite, an unordered or degenerate
    band, or (Asimov data) observed != expected median beyond rtol."""
    exp = np.asarray(exp, float)
    if not (np.isfinite(obs) and np.all(np.isfinite(exp))):
        return "non-finite limit"
    if obs <= 0 or np.any(exp <= 0):
        return "non-positive limit"
    if np.any(np.diff(exp) <= 1e-6 * exp[2]):
        return f"expected band not strictly ordered: {np.array2string(exp, precision=4)}"
    if asimov and abs(obs / exp[2] - 1.0) > rtol:
        return f"Asimov data but observed {obs:.5g} != expected median {exp[2]:.5g}"
    return ""


def is_asimov(sig: np.ndarray, bkg: np.ndarray, data: np.ndarray) -> bool:
    """True for blinded workspaces, whose observed counts are the nominal background-only expectation."""
    return bool(np.allclose(data, bkg, rtol=1e-9, atol=1e-12))


@contextlib.contextmanager
def numpy_percentile_fix() -> Iterator[None]:
    """Let pyhf's numpy backend compute percentiles on numpy >= 2.4 (`interpolation` -> `method`)."""
    from pyhf.tensor.numpy_backend import numpy_backend as cls

    original = cls.percentile

    def percentile(self, tensor_in, q, axis=None, interpolation="linear"):
        return np.percentile(tensor_in, q, axis=axis, method=interpolation)

    cls.percentile = percentile
    try:
        yield
    finally:
        cls.percentile = original


def _yields(ws: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signal (POI-scaled) and background nominal yields and data, concatenated over channels."""
    m = fastfit.FastModel.from_workspace(ws) if _fast_ok(ws) else None
    if m is not None:
        return m.nominal[m.poi_mask].sum(0), m.nominal[~m.poi_mask].sum(0), m.data
    model = pyhf.Workspace(ws).model()
    poi = model.config.poi_name
    sig = np.zeros(model.config.nmaindata)
    bkg = np.zeros(model.config.nmaindata)
    offs = 0
    for c in sorted(ws["channels"], key=lambda c: c["name"]):
        n = len(c["samples"][0]["data"])
        for s in c["samples"]:
            is_sig = any(mod["type"] == "normfactor" and mod["name"] == poi for mod in s["modifiers"])
            (sig if is_sig else bkg)[offs : offs + n] += s["data"]
        offs += n
    return sig, bkg, np.asarray(pyhf.Workspace(ws).data(model, include_auxdata=False))


def _fast_ok(ws: dict) -> bool:
    try:
        fastfit.FastModel.from_workspace(ws)
    except NotImplementedError:
        return False
    return True


def default_mu_max(sig: np.ndarray, bkg: np.ndarray, data: np.ndarray) -> float:
    """A POI upper bound safely above any CLs limit: 10x a generous Poisson limit on the yield."""
    s = max(float(sig.sum()), 1e-12)
    n = max(float(data.sum()), float(bkg.sum()))
    return 10.0 * (5.0 + n + 5.0 * np.sqrt(n)) / s


def background_rel_uncertainty(ws: dict) -> float:
    """Relative uncertainty on the total background of a single-bin model (normsys and staterror
    in quadrature; histosys through |up - down| / 2), for the exact counting prior."""
    var = 0.0
    btot = 0.0
    poi = ws["measurements"][0]["config"]["poi"]
    for c in ws["channels"]:
        for s in c["samples"]:
            if any(m["type"] == "normfactor" and m["name"] == poi for m in s["modifiers"]):
                continue
            b = float(np.sum(s["data"]))
            btot += b
            for m in s["modifiers"]:
                if m["type"] == "normsys":
                    var += (b * (m["data"]["hi"] - m["data"]["lo"]) / 2) ** 2
                elif m["type"] == "histosys":
                    var += (np.sum(m["data"]["hi_data"]) - np.sum(m["data"]["lo_data"])) ** 2 / 4
                elif m["type"] in ("staterror", "shapesys"):
                    var += float(np.sum(np.square(m["data"])))
    return float(np.sqrt(var) / btot) if btot > 0 else 0.0


def pyhf_upper_limit(
    ws: dict, cl: float = 0.90, calctype: str = "asymptotics", mu_max: float | None = None, ntoys: int = 2000
) -> tuple[float, np.ndarray]:
    """Plain pyhf limit (toms748_scan with `level`, explicit POI bounds); also the reference in tests."""
    workspace = pyhf.Workspace(ws)
    model = workspace.model()
    data = workspace.data(model)
    if mu_max is None:
        mu_max = default_mu_max(*_yields(ws))
    bounds = model.config.suggested_bounds()
    bounds[model.config.poi_index] = (0.0, mu_max)
    kwargs = {"par_bounds": bounds, "test_stat": "qtilde", "calctype": calctype}
    if calctype == "toybased":
        kwargs["ntoys"] = ntoys
        kwargs["track_progress"] = False
    with numpy_percentile_fix():
        obs, exp = pyhf.infer.intervals.upper_limits.toms748_scan(data, model, 0.0, mu_max, level=1.0 - cl, **kwargs)
    return float(obs), np.asarray(exp, float)


def upper_limit(
    ws: dict | pyhf.Workspace,
    cl: float = 0.90,
    method: str = "auto",
    low_count_threshold: float = 5.0,
    ntoys: int = 2000,
) -> LimitResult:
    """Observed and expected CLs upper limits on mu for one workspace, with the method used."""
    if method not in METHODS:
        raise ValueError(f"method {method!r} not in {METHODS}")
    ws = dict(ws)
    sig, bkg, data = _yields(ws)
    s_tot = float(sig.sum())
    low_counts = False
    if method == "auto":
        if sig.size == 1:
            method = "exact"
        else:
            core = sig >= 0.01 * sig.max()
            low_counts = bool(bkg[core].sum() < low_count_threshold)
            # pyhf toys cost minutes per limit even on a 3-bin model (measured: 2000 toys x ~10 scan
            # points at ~3 toys/s on this machine), so "auto" stays asymptotic and says so in the method
            # label; ask for --method toys explicitly on small models
            method = "asymptotic"
    if method == "exact":
        if sig.size != 1:
            raise ValueError(f"method 'exact' needs a single-bin model, this one has {sig.size} bins")
        res = counting.counting_limits(data, bkg, background_rel_uncertainty(ws), cl=cl)
        return LimitResult(float(res.observed[0]) / s_tot, res.expected[:, 0] / s_tot, "exact", cl, s_tot)
    mu_max = default_mu_max(sig, bkg, data)
    if method == "asymptotic" and _fast_ok(ws):
        # the fast fit must not fail silently: on an error or a self-inconsistent result (see
        # consistency_problem) fall back to plain pyhf with explicit POI bounds and say why
        label = "asymptotic-lowcount" if low_counts else "asymptotic"
        try:
            r = fastfit.AsymptoticCLs(fastfit.FastModel.from_workspace(ws), mu_max).upper_limit(1.0 - cl)
            problem = consistency_problem(r.observed, r.expected, is_asimov(sig, bkg, data))
            if not problem:
                return LimitResult(r.observed, r.expected, label, cl, s_tot)
            hint = r.expected[4] if np.all(np.isfinite(r.expected)) and r.expected[4] > 0 else None
        except (RuntimeError, ValueError, FloatingPointError) as err:
            problem, hint = f"fast fit failed: {err}", None
        return _pyhf_fallback(
            ws,
            cl,
            mu_max if hint is None else min(mu_max, 5.0 * hint),
            s_tot,
            f"fast asymptotic: {problem}",
            is_asimov(sig, bkg, data),
        )
    calctype = "toybased" if method == "toys" else "asymptotics"
    if method == "toys" and _fast_ok(ws):
        # keep the toy scan near the limit: pyhf's toms748 evaluates both bracket ends, and toys at a
        # huge mu make its fits fail
        r = fastfit.AsymptoticCLs(fastfit.FastModel.from_workspace(ws), mu_max).upper_limit(1.0 - cl)
        mu_max = 3.0 * float(r.expected[4])
    try:
        obs, exp = pyhf_upper_limit(ws, cl, calctype, mu_max, ntoys)
    except pyhf.exceptions.FailedMinimization as err:
        raise RuntimeError(f"pyhf {calctype} limit failed to minimise ({err}); try --method asymptotic") from err
    return LimitResult(obs, exp, method if method == "toys" else "asymptotic-pyhf", cl, s_tot)


def _pyhf_fallback(ws: dict, cl: float, mu_max: float, s_tot: float, why: str, asimov: bool) -> LimitResult:
    """Plain pyhf asymptotic limit after the fast fit was unusable; NaN (with both reasons) if pyhf
    fails too or its result is not self-consistent either."""
    try:
        obs, exp = pyhf_upper_limit(ws, cl, "asymptotics", mu_max)
    except (pyhf.exceptions.FailedMinimization, RuntimeError, ValueError) as err:
        return LimitResult(np.nan, np.full(5, np.nan), "failed", cl, s_tot, f"{why}; pyhf: {err}")
    problem = consistency_problem(obs, exp, asimov)
    if problem:
        return LimitResult(np.nan, np.full(5, np.nan), "failed", cl, s_tot, f"{why}; pyhf: {problem}")
    return LimitResult(obs, exp, "asymptotic-pyhf-fallback", cl, s_tot, why)


def signal_fit(ws: dict | pyhf.Workspace, interval_cl: float | None = None) -> fastfit.SignalFit:
    """Local Z, best-fit signal strength and (with ``interval_cl``) its profile-likelihood interval.
    Single-bin models: the exact Poisson Z, mu_hat = (n - b) / s clipped at 0, no interval."""
    ws = dict(ws)
    sig, bkg, data = _yields(ws)
    if sig.size == 1:
        return fastfit.SignalFit(local_significance(ws), max(float(data.sum() - bkg.sum()), 0.0) / float(sig.sum()))
    if not _fast_ok(ws):
        raise NotImplementedError("signal_fit: multi-bin models need the fastfit modifiers")
    return fastfit.signal_fit(ws, default_mu_max(sig, bkg, data), interval_cl)


def local_significance(ws: dict | pyhf.Workspace) -> float:
    """Local Z of the excess in one workspace: exact Poisson for one bin, asymptotic q0 otherwise."""
    ws = dict(ws)
    sig, bkg, data = _yields(ws)
    if sig.size == 1:
        p = counting.counting_p0(data, bkg, background_rel_uncertainty(ws))[0]
        return float(max(stats.norm.isf(p), 0.0))
    if not _fast_ok(ws):
        raise NotImplementedError("local_significance: multi-bin models need the fastfit modifiers")
    return fastfit.discovery_z(ws, default_mu_max(sig, bkg, data))

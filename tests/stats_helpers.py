"""Small hist models shared by the tests of workflows.stats."""

import hist
import numpy as np

SYST = ["nominal", "shapeUp", "shapeDown"]


def one_bin_hist(value: float, variance: float | None = None) -> hist.Hist:
    h = hist.Hist(hist.axis.Regular(1, 0, 1, name="x"), storage=hist.storage.Weight())
    h.view()["value"][:] = value
    h.view()["variance"][:] = value if variance is None else variance
    return h


def template(values, rel_var: float, tilt: float = 0.1, name: str = "m") -> hist.Hist:
    """1D hist with a syst axis; the shape variation tilts the distribution by +-tilt."""
    values = np.asarray(values, float)
    n = values.size
    h = hist.Hist(
        hist.axis.Regular(n, 0, n, name=name), hist.axis.StrCategory(SYST, name="syst"), storage=hist.storage.Weight()
    )
    slope = np.linspace(-1, 1, n)
    for j, sgn in enumerate([0.0, 1.0, -0.8]):
        v = values * (1 + sgn * tilt * slope)
        h.view()[:, j]["value"] = v
        h.view()[:, j]["variance"] = v * rel_var
    return h


def data_hist(values, name: str = "m") -> hist.Hist:
    values = np.asarray(values, float)
    h = hist.Hist(hist.axis.Regular(values.size, 0, values.size, name=name))
    h.view()[:] = values
    return h


def sparse_zprime_template(masses=(1.0, 3.0, 6.0), seed: int = 11, n_sig_mc: int = 3000, unblind_data: bool = False):
    """A Z' -> invisible-like processor template as sparse as the default run's: 1000 M^2_recoil bins x 6
    theta bins, backgrounds from a few thousand MC events with large weights (mumu ~30, tautau ~50,
    eemumu ~500 per event), signal peaks of resolution-like width; data blinded (empty) unless asked.
    Returns (hist, samples) as `b2dark run` would give them to the stats stage."""
    rng = np.random.default_rng(seed)
    theta_edges = np.radians([0, 45, 70, 90, 110, 135, 180])
    syst = ["nominal", "muid_up", "muid_down", "pscale_up", "pscale_down"]
    sig_names = [f"zp_{m:g}" for m in masses]
    bkgs = {"mumu": (6000, 30.0, 2.5), "tautau": (1500, 50.0, 12.0), "eemumu": (150, 500.0, 25.0)}
    names = sig_names + list(bkgs) + ["data"]
    h = hist.Hist(
        hist.axis.StrCategory(names, name="sample"),
        hist.axis.StrCategory(syst, name="syst"),
        hist.axis.Regular(1000, -0.5, 81, name="m2_recoil"),
        hist.axis.Variable(theta_edges, name="theta_recoil"),
        storage=hist.storage.Weight(),
    )

    def fill(name, m2, theta, w):
        for s, (scale, shift) in zip(syst, [(1, 0), (1.01, 0), (0.99, 0), (1, 0.03), (1, -0.03)], strict=True):
            h.fill(name, s, m2 + shift, theta, weight=w * scale)

    samples: dict[str, dict] = {}
    for name, (n, w, slope) in bkgs.items():
        m2 = rng.exponential(slope, n) - 0.3
        theta = np.arccos(rng.uniform(-0.9, 0.9, n))
        fill(name, m2, theta, np.full(n, w))
        samples[name] = {"is_signal": False, "is_data": False}
    lumi = 79.7
    for name, m in zip(sig_names, masses, strict=True):
        xsec = 5.0 / (0.2 + m)  # fb, falling with mass like the generator's
        sigma_m2 = 0.05 + 0.03 * m * m
        m2 = rng.normal(m * m, sigma_m2, n_sig_mc)
        theta = np.arccos(rng.uniform(-0.8, 0.8, n_sig_mc))
        fill(name, m2, theta, np.full(n_sig_mc, 0.4 * xsec * lumi / n_sig_mc))
        samples[name] = {"is_signal": True, "is_data": False, "mass": m, "xsec_fb": xsec}
    if unblind_data:
        nom = h[{"sample": list(bkgs), "syst": "nominal"}][{"sample": sum}].values()
        h.view()[names.index("data"), 0]["value"] = rng.poisson(nom)
        h.view()[names.index("data"), 0]["variance"] = h.view()[names.index("data"), 0]["value"]
    samples["data"] = {"is_signal": False, "is_data": True}
    return h, samples

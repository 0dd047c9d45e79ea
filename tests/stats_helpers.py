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
    h = hist.Hist(hist.axis.Regular(n, 0, n, name=name), hist.axis.StrCategory(SYST, name="syst"),
                  storage=hist.storage.Weight())
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

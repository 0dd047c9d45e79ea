"""The background-model bias test (workflows.stats.bias) on small synthetic windows: a background that is
exactly the smooth function's family leaves both models unbiased; one with structure the function cannot
follow biases the smooth fit (the test can fail) but not the template."""

import numpy as np
from stats_helpers import data_hist

from workflows.stats import bias
from workflows.stats.model import NormSys, StatError, build_workspace


def _window(bkg: np.ndarray, mc_rel: float = 0.02) -> dict:
    import hist

    x = np.linspace(-1, 1, bkg.size)
    sig = np.exp(-0.5 * (x / 0.15) ** 2)
    h = {}
    for name, v in (("signal", sig / sig.sum()), ("bkg", bkg)):
        hh = hist.Hist(hist.axis.Regular(v.size, 0, v.size, name="m"), storage=hist.storage.Weight())
        hh.view()["value"] = v
        hh.view()["variance"] = (mc_rel * v) ** 2
        h[name] = hh
    systs = [NormSys("eff", 0.95, 1.05, ("signal",)), StatError(0.0, include_signal=False)]
    ws, _ = build_workspace(h["signal"], {"bkg": h["bkg"]}, data_hist(bkg), None, systs)
    return dict(ws)


def test_smooth_background_leaves_both_models_unbiased():
    x = np.linspace(-1, 1, 30)
    row = bias.bias_test(_window(200.0 * np.exp(-0.8 * x + 0.3 * x**2)), 1.0, ntoys=150, seed=3)
    for m in (row.template, row.smooth):
        assert m.unbiased
        assert 0.75 < m.pull_width < 1.25
    assert row.smooth.median_sigma > row.template.median_sigma  # three free shape parameters cost precision
    assert row.choice == "template"


def test_structure_the_function_cannot_follow_biases_only_the_smooth_fit():
    x = np.linspace(-1, 1, 30)
    bkg = 200.0 * np.exp(-0.8 * x) * (1.0 + 0.25 * np.exp(-0.5 * ((x - 0.12) / 0.08) ** 2))  # a reflection
    row = bias.bias_test(_window(bkg), 1.0, ntoys=150, seed=4)
    assert row.template.unbiased
    assert not row.smooth.unbiased and row.smooth.spurious > 1.0 and row.smooth.mean_mu > 0
    assert row.choice == "template"

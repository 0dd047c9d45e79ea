"""Cross-check of workflows.stats limits against ROOT HistFactory + RooStats (slow; needs `pip install root`).

The pyhf workspace is rebuilt as a HistFactory measurement (normsys -> OverallSys, histosys -> HistoSys,
staterror -> ActivateStatError with Gaussian constraints and no pruning threshold, as in pyhf) and
RooStats' AsymptoticCalculator + HypoTestInverter computes the one-sided CLs limit.
"""

import numpy as np
import pytest
from stats_helpers import data_hist, template

from workflows.stats import limits
from workflows.stats.model import HistoSys, NormSys, StatError, build_workspace, lumi_normsys

pytestmark = pytest.mark.slow
ROOT = pytest.importorskip("ROOT")

SYSTS = [lumi_normsys(), NormSys("eff", 0.95, 1.05, ("signal",)), HistoSys("shape"), StatError(0.0)]


def _th1(name, values, errors=None):
    h = ROOT.TH1D(name, name, len(values), 0, len(values))
    for i, v in enumerate(values):
        h.SetBinContent(i + 1, v)
        if errors is not None:
            h.SetBinError(i + 1, errors[i])
    h.SetDirectory(0)
    ROOT.SetOwnership(h, False)  # HistFactory keeps pointers to these: Python must not delete them
    return h


def root_limit(ws: dict, cl: float, mu_max: float, outdir) -> tuple[float, float]:
    HF = ROOT.RooStats.HistFactory
    meas = HF.Measurement("meas", "meas")
    meas.SetOutputFilePrefix(str(outdir / "hf"))  # HistFactory writes ROOT files of the model
    meas.SetPOI("mu")
    meas.SetLumi(1.0)
    meas.AddConstantParam("Lumi")
    keep = []
    ch_spec = ws["channels"][0]
    chan = HF.Channel("sr")
    data = _th1("data", ws["observations"][0]["data"])
    keep.append(data)
    chan.SetData(data)
    chan.SetStatErrorConfig(0.0, "Gaussian")
    for smp in ch_spec["samples"]:
        nom = np.asarray(smp["data"], float)
        stat = next((m["data"] for m in smp["modifiers"] if m["type"] == "staterror"), None)
        h = _th1(f"h_{smp['name']}", nom, stat)
        keep.append(h)
        s = HF.Sample(smp["name"])
        s.SetHisto(h)
        s.SetNormalizeByTheory(False)
        for m in smp["modifiers"]:
            if m["type"] == "normfactor":
                s.AddNormFactor("mu", 1.0, 0.0, mu_max)
            elif m["type"] == "normsys":
                s.AddOverallSys(m["name"], m["data"]["lo"], m["data"]["hi"])
            elif m["type"] == "histosys":
                lo = _th1(f"{smp['name']}_{m['name']}_lo", m["data"]["lo_data"])
                hi = _th1(f"{smp['name']}_{m['name']}_hi", m["data"]["hi_data"])
                keep += [lo, hi]
                hs = HF.HistoSys()
                hs.SetName(m["name"])
                hs.SetHistoLow(lo)
                hs.SetHistoHigh(hi)
                s.AddHistoSys(hs)
            elif m["type"] == "staterror":
                s.ActivateStatError()
        chan.AddSample(s)
    meas.AddChannel(chan)
    w = HF.MakeModelAndMeasurementFast(meas)
    mc = w.obj("ModelConfig")
    data_set = w.data("obsData")
    sb = mc.Clone()
    sb.SetSnapshot(ROOT.RooArgSet(mc.GetParametersOfInterest().first()))
    bonly = mc.Clone("bonly")
    poi = bonly.GetParametersOfInterest().first()
    old = poi.getVal()
    poi.setVal(0.0)
    bonly.SetSnapshot(ROOT.RooArgSet(poi))
    poi.setVal(old)
    calc = ROOT.RooStats.AsymptoticCalculator(data_set, bonly, sb)
    calc.SetOneSided(True)
    calc.SetPrintLevel(-1)
    inv = ROOT.RooStats.HypoTestInverter(calc)
    inv.SetConfidenceLevel(cl)
    inv.UseCLs(True)
    inv.SetVerbose(0)
    inv.SetFixedScan(200, 0.01 * mu_max, 0.5 * mu_max)
    res = inv.GetInterval()
    return float(res.UpperLimit()), float(res.GetExpectedUpperLimit(0))


@pytest.fixture(autouse=True)
def quiet_root():
    ROOT.RooMsgService.instance().setGlobalKillBelow(ROOT.RooFit.WARNING)
    ROOT.gErrorIgnoreLevel = ROOT.kWarning


def models():
    a = build_workspace(
        template([0.0, 2.0, 5.0, 1.0], 0.05),
        {"bkg": template([12.0, 9.0, 7.0, 5.0], 0.3)},
        data_hist([14, 8, 9, 4]),
        None,
        SYSTS,
    )[0]
    x = np.arange(20) + 0.5
    sig = 8.0 * np.exp(-0.5 * ((x - 9.0) / 2.0) ** 2)
    bkg = 60.0 * np.exp(-x / 10.0)
    b = build_workspace(
        template(sig, 0.05, 0.05),
        {"bkg": template(bkg, 0.4, 0.15)},
        data_hist(np.random.default_rng(9).poisson(bkg)),
        None,
        SYSTS,
    )[0]
    return {"4-bin template": a, "20-bin shape": b}


@pytest.mark.parametrize("name", ["4-bin template", "20-bin shape"])
def test_limits_agree_with_roostats(name, tmp_path):
    ws = dict(models()[name])
    ours = limits.upper_limit(ws, cl=0.90, method="asymptotic")
    assert ours.method == "asymptotic"
    mu_max = 6.0 * ours.expected[4]
    obs, exp = root_limit(ws, 0.90, mu_max, tmp_path)
    print(f"{name}: ours obs {ours.observed:.4f} exp {ours.expected[2]:.4f}; RooStats obs {obs:.4f} exp {exp:.4f}")
    assert ours.observed == pytest.approx(obs, rel=0.05)
    assert ours.expected[2] == pytest.approx(exp, rel=0.05)

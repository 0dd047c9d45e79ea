"""`b2dark limits zprime-inv` end to end on a small synthetic run output."""

import json

import hist
import numpy as np
import pytest

from workflows import outputs
from workflows.stats import cli
from workflows.stats.plans import peak_scan as scan

MASSES = (2.0, 4.0)


def fake_run(tmp_path, n_m2=60):
    rng = np.random.default_rng(7)
    names = ["zp_2", "zp_4", "mumu", "data"]
    h = hist.Hist(
        hist.axis.StrCategory(names, name="sample"),
        hist.axis.Regular(n_m2, -0.5, 29.5, name="m2_recoil"),
        hist.axis.Variable([0.6, 1.0, 1.6, 2.5], name="theta_recoil"),
        hist.axis.StrCategory(["nominal", "pscale_up", "pscale_down", "muid_up", "muid_down"], name="syst"),
        storage=hist.storage.Weight(),
    )
    c = h.axes["m2_recoil"].centers
    bkg = 40.0 * np.exp(-c / 12.0)[:, None] * np.array([0.3, 0.5, 0.2])[None, :]
    # the declared shape systematics of zprime-inv: pscale (a shift) and muid (a weight)
    for j, (shift, scale) in enumerate([(0.0, 1.0), (0.1, 1.0), (-0.1, 1.0), (0.0, 1.02), (0.0, 0.98)]):
        for i, m in enumerate(MASSES):
            s = (
                50.0
                * scale
                * np.exp(-0.5 * ((c - m * m - shift) / 0.6) ** 2)[:, None]
                * np.array([0.3, 0.4, 0.3])[None, :]
            )
            h.view()[i, :, :, j]["value"] = s
            h.view()[i, :, :, j]["variance"] = s * 0.02
        h.view()[2, :, :, j]["value"] = bkg * (1 + shift * 0.1) * scale
        h.view()[2, :, :, j]["variance"] = bkg * 0.05
    h.view()[3, :, :, 0]["value"] = rng.poisson(bkg)
    h.view()[3, :, :, 0]["variance"] = h.view()[3, :, :, 0]["value"]
    samples = {
        "zp_2": {"is_signal": True, "mass": 2.0, "xsec_fb": 100.0, "process": "zprime_inv"},
        "zp_4": {"is_signal": True, "mass": 4.0, "xsec_fb": 50.0, "process": "zprime_inv"},
        "mumu": {"is_signal": False, "is_data": False},
        "data": {"is_signal": False, "is_data": True},
    }
    outputs.save(
        {"hists": {"template": h}, "cutflow": {}, "nevents": {}, "blinded": False},
        tmp_path,
        search="zprime-inv",
        lumi_fb=79.7,
        samples=samples,
        write_root_file=False,
    )
    return h, samples


def test_points_have_windows_and_interpolated_signal(tmp_path):
    h, samples = fake_run(tmp_path)
    pts = scan.template_points(h, samples, [2.0, 3.0, 4.0])
    assert [p.interpolated for p in pts] == [False, True, False]
    for p in pts:
        lo, hi = p.window
        assert lo < p.mass**2 < hi
        assert p.report.n_bins_kept > 3
    # interpolated signal yield per fb lies between the neighbours'
    yields = [sum(s["data"][0] for s in [pts[k].workspace["channels"][0]["samples"][0]]) for k in range(3)]
    assert np.isfinite(yields).all()


def test_cli_writes_tables_plots_workspaces(tmp_path):
    fake_run(tmp_path)
    assert (
        cli.main(["zprime-inv", "--input", str(tmp_path), "--masses", "2", "3", "--processes", "1", "--no-progress"])
        == 0
    )
    out = tmp_path / "limits"
    table = json.loads((out / "limits_zprime-inv.json").read_text())
    rows = table["rows"]
    assert [r["mass"] for r in rows] == [2.0, 3.0]
    for r in rows:
        assert np.all(np.diff(r["expected"]) > 0)
        assert r["method"] in ("asymptotic", "asymptotic-lowcount")
        g = r["couplings"]["lmu_ltau"]
        assert 0 < g["observed"] < 1
        assert r["couplings"]["lmu_ltau_fully_invisible"]["observed"] < g["observed"]
    assert "z_global_gv" in table["significance"]
    header = (out / "limits_zprime-inv.csv").read_text().splitlines()[0]
    assert "xsec_exp_median_fb" in header and "lmu_ltau_obs" in header
    assert len(list((out / "workspaces").glob("*.json"))) == 2
    for f in (
        "brazil_zprime-inv.png",
        "brazil_zprime-inv_lmu_ltau.png",
        "postfit_zprime-inv_m3.png",
        "pulls_zprime-inv_m3.png",
    ):
        assert (out / f).stat().st_size > 1000
    assert list((out / "hepdata").glob("*.yaml")) and (out / "submission.tar.gz").is_file()


def test_cli_names_missing_hist_and_wrong_search(tmp_path, capsys):
    h, samples = fake_run(tmp_path)
    with pytest.raises(SystemExit):
        cli.main(["nonsense", "--input", str(tmp_path)])
    assert cli.main(["toy", "--input", str(tmp_path), "--no-progress"]) == 2
    assert "is a run of 'zprime-inv', not 'toy'" in capsys.readouterr().err
    outputs.save(
        {"hists": {"other": h}, "cutflow": {}, "nevents": {}, "blinded": False},
        tmp_path,
        search="zprime-inv",
        lumi_fb=79.7,
        samples=samples,
        write_root_file=False,
    )
    assert cli.main(["zprime-inv", "--input", str(tmp_path), "--no-progress"]) == 2
    assert "has no hist 'template'" in capsys.readouterr().err


def test_two_hypotheses_never_share_a_template(tmp_path):
    """Signals with the same first mass and different second masses keep their own yields (1995 and 500):
    hypotheses are keyed by every declared parameter, and a duplicate hypothesis is an error."""
    from processors.spec import DataSample, Luminosity, PeakScan, SearchSpec, SignalModel
    from workflows.stats.plans.common import signal_samples

    spec = SearchSpec(
        name="two-params",
        title="",
        reference="",
        processor="x:y",
        lumi=Luminosity(1.0, ""),
        signals=(SignalModel("dh", "dark_higgsstrahlung", "A'", params=("mass", "mass2")),),
        backgrounds=(),
        data=(DataSample("d"),),
        recipe="x",
        stats=PeakScan(hist="h", axis="m", observable=float, xsec_label=""),
    )
    samples = {
        "a": {"is_signal": True, "process": "dark_higgsstrahlung", "mass": 5.0, "mass2": 1.0, "yield": 1995},
        "b": {"is_signal": True, "process": "dark_higgsstrahlung", "mass": 5.0, "mass2": 3.0, "yield": 500},
    }
    found = signal_samples(spec, samples, samples)
    assert {h.params: samples[s]["yield"] for s, (_, h) in found.items()} == {
        (("mass", 5.0), ("mass2", 1.0)): 1995,
        (("mass", 5.0), ("mass2", 3.0)): 500,
    }
    samples["c"] = dict(samples["a"])
    with pytest.raises(ValueError, match="same hypothesis"):
        signal_samples(spec, samples, samples)

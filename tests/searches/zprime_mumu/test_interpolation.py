"""The peak scan between generated masses, on the Z' -> mu mu search with the real generator and processor:

- closure of the interpolation: a hypothesis at a held-out mass (3.5 GeV), interpolated from the 3 and 4 GeV
  samples, against the 3.5 GeV sample itself (signal width, signal in the window, expected limit);
- the resolution-tied scan: steps of the declared number of widths, the generated masses included;
- signal injection: pseudo-data with the held-out 3.5 GeV Z' at 3x the expected limit, scanned with the
  3 and 4 GeV samples only: the excess is found at the right mass with the expected local significance
  and the fitted cross section covers the injected one."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import run_runner

from processors.registry import get
from processors.zprime_mumu.processor import ZPrimeMuMuProcessor
from processors.zprime_mumu.search import reduced_mass
from workflows.stats.plans import peak_scan as P

MASSES = (3.0, 3.5, 4.0)


@pytest.fixture(scope="module")
def scan_inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, dict], Any]:
    from samples import catalog as cat
    from samples.cli import main as generate

    d = tmp_path_factory.mktemp("mumu_interp")
    for i, m in enumerate(MASSES):
        rc = generate(["--process", "zprime_mumu", "--n", "20000", "--param", f"mass={m}", "--param", "coupling=0.01",
                       "--seed", str(500 + i), "--filter", "min_tracks", "--out", str(d), "--jobs", "1",
                       "--no-progress"])  # fmt: skip
        assert rc in (0, None)
    rc = generate(["--process", "mumumumu", "--n", "60000", "--seed", "77", "--filter", "min_tracks", "--out", str(d),
                   "--jobs", "1", "--no-progress"])  # fmt: skip
    assert rc in (0, None)
    catalog = cat.load_catalog(d / "catalog.yaml")
    fileset = catalog.to_fileset(178.0)
    out = run_runner(fileset, ZPrimeMuMuProcessor(lumi_fb=178.0))
    samples = {name: dict(e["metadata"]) for name, e in fileset.items()}
    return out["hists"]["template"], samples, d


def _points(template: Any, samples: dict, names: list[str], masses: list[float]) -> list[P.MassPoint]:
    spec = get("zprime-mumu")
    plan = spec.stats
    return P.template_points(template, samples, masses, plan.n_sigma, plan.axis, plan.observable,
                             systematics=spec.systematics, signal_names=names, model="zprime",
                             width_half_range=plan.width_half_range)  # fmt: skip


def _signal_in_window(p: P.MassPoint) -> float:
    return float(sum(p.workspace["channels"][0]["samples"][0]["data"]))


@pytest.mark.slow
def test_interpolation_closes_at_a_held_out_mass(scan_inputs: tuple[Any, dict]) -> None:
    template, samples, _ = scan_inputs
    sig = {s: m for s, m in samples.items() if m.get("is_signal")}
    by_mass = {float(m["mass"]): s for s, m in sig.items()}
    (truth,) = _points(template, samples, [by_mass[3.5]], [3.5])
    (interp,) = _points(template, samples, [by_mass[3.0], by_mass[4.0]], [3.5])
    assert interp.interpolated and not truth.interpolated
    w_t, w_i = truth.extra["resolution_m2"], interp.extra["resolution_m2"]
    s_t, s_i = _signal_in_window(truth), _signal_in_window(interp)
    (l_t, l_i) = [r["expected"][2] for r in P.run_limits([truth, interp], processes=1, progress=False)]
    print(f"\n[closure 3.5 GeV] width {w_t * 1e3:.2f} vs {w_i * 1e3:.2f} MeV, signal/fb in window {s_t:.4g} vs "
          f"{s_i:.4g}, expected limit {l_t:.4g} vs {l_i:.4g} fb (generated vs interpolated)")  # fmt: skip
    assert w_i == pytest.approx(w_t, rel=0.25)
    assert s_i == pytest.approx(s_t, rel=0.08)
    assert l_i == pytest.approx(l_t, rel=0.15)


@pytest.mark.slow
def test_resolution_tied_scan_steps(scan_inputs: tuple[Any, dict]) -> None:
    template, samples, _ = scan_inputs
    sig = [s for s, m in samples.items() if m.get("is_signal") and m["mass"] in (3.0, 4.0)]
    gen = _points(template, samples, sig, [3.0, 4.0])
    widths = np.array([p.extra["resolution_m2"] for p in gen])
    masses = P.scan_masses(np.array([3.0, 4.0]), widths, reduced_mass, 3.0)
    assert masses[0] == 3.0 and masses[-1] == 4.0
    steps = np.diff(masses)
    sigma_m = np.interp(masses[:-1], [3.0, 4.0], widths)  # dm_R/dM ~ 1 at these masses
    assert np.all(steps <= 3.0 * sigma_m * 1.02)  # never coarser than declared
    assert np.all(steps[:-1] >= 3.0 * sigma_m[:-1] * 0.98)  # and not finer, but for the last step
    assert len(masses) == pytest.approx(1.0 / (3.0 * widths.mean()), rel=0.2)


@pytest.mark.slow
def test_injected_signal_between_generated_masses_is_found(scan_inputs: tuple[Any, dict, Any]) -> None:
    import yaml

    from samples import catalog as cat
    from samples.cli import main as generate
    from workflows.stats import limits

    template, samples, d = scan_inputs
    by_mass = {float(m["mass"]): s for s, m in samples.items() if m.get("is_signal")}
    scan_names = [by_mass[3.0], by_mass[4.0]]
    (at35,) = _points(template, samples, scan_names, [3.5])
    expected = P.run_limits([at35], processes=1, progress=False)[0]["expected"][2]
    injected = 3.0 * expected  # fb: sigma x B of the held-out 3.5 GeV Z'
    held_out = samples[by_mass[3.5]]
    recipe = {
        "lumi_fb": 178.0,
        "samples": [],
        "pseudodata": [{"name": "data_injected", "lumi_fb": 178.0, "seed": 35, "mode": "resample",
                        "backgrounds": ["mumumumu"],
                        "inject": {"process": "zprime_mumu", "params": {"mass": 3.5, "coupling": 0.01},
                                   "xsec_fb": injected, "filter": "min_tracks",
                                   "filter_efficiency": held_out["filter_efficiency"]}}],
    }  # fmt: skip
    (d / "inject.yaml").write_text(yaml.safe_dump(recipe))
    assert generate(["--recipe", str(d / "inject.yaml"), "--out", str(d), "--jobs", "1", "--no-progress"]) in (0, None)
    fileset = cat.load_catalog(d / "catalog.yaml").to_fileset(178.0)
    fileset = {k: v for k, v in fileset.items() if k in (*scan_names, "mumumumu", "data_injected")}
    out = run_runner(fileset, ZPrimeMuMuProcessor(lumi_fb=178.0, unblind=True))
    unblinded = out["hists"]["template"]
    meta = {name: dict(e["metadata"]) for name, e in fileset.items()}

    spec = get("zprime-mumu")
    width_35 = at35.extra["resolution_m2"]  # m_R width at 3.5 GeV (dm_R/dM ~ 1 here)
    masses = [m for m in np.arange(3.3, 3.7, width_35) if m not in (3.0, 4.0)]  # one hypothesis per resolution
    points = P.template_points(unblinded, meta, masses, spec.stats.n_sigma, spec.stats.axis, spec.stats.observable,
                               systematics=spec.systematics, signal_names=scan_names, model="zprime",
                               width_half_range=spec.stats.width_half_range)  # fmt: skip
    fits = [limits.signal_fit(p.workspace) for p in points]
    i = int(np.argmax([f.z for f in fits]))
    best = points[i]
    fit68 = limits.signal_fit(best.workspace, interval_cl=0.6827)
    fit95 = limits.signal_fit(best.workspace, interval_cl=0.9545)
    # the expected local Z of the injected signal: Asimov data = background + injected signal at 3.5 GeV
    asimov = dict(at35.workspace)
    chan = asimov["channels"][0]
    nominal = np.sum([np.asarray(s["data"]) * (injected if i_s == 0 else 1.0) for i_s, s in enumerate(chan["samples"])],
                     axis=0)  # fmt: skip
    asimov["observations"] = [{"name": chan["name"], "data": nominal.tolist()}]
    z_expected = limits.signal_fit(asimov).z
    n_inj = out["cutflow"]["data_injected"]["raw"][-1] if "data_injected" in out["cutflow"] else None
    print(f"\n[injection 3.5 GeV] injected {injected:.3g} fb (3 x expected limit {expected:.3g} fb); max local Z "
          f"{fits[i].z:.2f} at {best.mass:.4f} GeV (expected Z {z_expected:.2f}; {len(points)} hypotheses, step "
          f"{width_35 * 1e3:.1f} MeV); fitted {fit68.mu_hat:.3g} fb, 68 % [{fit68.lo:.3g}, {fit68.hi:.3g}], "
          f"95 % [{fit95.lo:.3g}, {fit95.hi:.3g}]; selected data events {n_inj}")  # fmt: skip
    assert abs(best.mass - 3.5) <= 1.5 * width_35
    assert z_expected > 3.0  # 3x the expected 90 % CL limit is a clear signal
    assert fits[i].z == pytest.approx(z_expected, abs=1.5)
    assert fit95.lo <= injected <= fit95.hi
    assert 0.0 < fit68.lo < fit68.mu_hat < fit68.hi


@pytest.mark.slow
def test_background_model_bias_chooses_the_template(scan_inputs: tuple[Any, dict, Any]) -> None:
    """The bias test of workflows.stats.bias on the real mu mu mu mu template, at the intermediate 3.5 GeV
    hypothesis: the declared background model (the MC template) passes the spurious-signal criterion, a smooth
    function does not (measured 2026-12-04 also at 3 and 4 GeV: template -0.18 / -0.30, smooth +2.1 / +2.3)."""
    from workflows.stats import bias

    template, samples, _ = scan_inputs
    names = [s for s, m in samples.items() if m.get("is_signal") and m["mass"] in (3.0, 4.0)]
    for p in _points(template, samples, names, [3.5]):
        r = bias.bias_test(p.workspace, p.mass, ntoys=100, seed=7)
        print(f"\n[bias {p.mass:g} GeV] B = {r.background:.0f} in {r.n_bins} bins: template <mu>/sigma "
              f"{r.template.mean_mu / r.template.median_sigma:+.3f} (pull width {r.template.pull_width:.2f}), smooth "
              f"{r.smooth.mean_mu / r.smooth.median_sigma:+.3f} (pull width {r.smooth.pull_width:.2f}, sigma x "
              f"{r.smooth.median_sigma / r.template.median_sigma:.2f}) -> {r.choice}")  # fmt: skip
        assert r.template.unbiased
        assert 0.7 < r.template.pull_width < 1.3
        assert r.choice == "template"

"""Closure of the peak scan's interpolation between generated masses, on the Z' -> mu mu search with the
real generator and processor: a hypothesis at a held-out mass (3.5 GeV), interpolated from the 3 and 4 GeV
samples, against the 3.5 GeV sample itself (signal width, signal in the window, expected limit). And the
resolution-tied scan: steps of the declared number of widths, the generated masses included."""

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
def scan_inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, dict]]:
    from samples import catalog as cat
    from samples.cli import main as generate

    d = tmp_path_factory.mktemp("mumu_interp")
    for i, m in enumerate(MASSES):
        rc = generate(["--process", "zprime_mumu", "--n", "6000", "--param", f"mass={m}", "--param", "coupling=0.01",
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
    return out["hists"]["template"], samples


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
    template, samples = scan_inputs
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
    template, samples = scan_inputs
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

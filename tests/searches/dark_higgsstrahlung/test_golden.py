"""Golden output of the dark Higgsstrahlung search: `b2dark run` + `b2dark limits` on the committed small input
set (golden/*.root, golden/catalog.yaml: four signal points, the three backgrounds and pseudo-data, 1500 events
each) reproduce golden/expected.json exactly (histograms, cutflows) and to 1e-6 (the limit table of the
generated points). The same run output is then checked for blinding: no pseudo-data event in any window."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from golden_tools import check_or_update, golden_fingerprint

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def golden_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("dh_golden") / "out"
    return out, golden_fingerprint("dark-higgsstrahlung", GOLDEN, out, ("--step", "0"))


def test_golden_outputs(golden_run) -> None:
    check_or_update(GOLDEN / "expected.json", golden_run[1])


def test_no_pseudo_data_event_in_any_window_while_blinded(golden_run) -> None:
    from workflows import outputs
    from workflows.stats.plans.window_counting import in_window

    out, _ = golden_run
    run = outputs.load(out)
    assert run.blinded
    data = [s for s, m in run.samples.items() if m.get("is_data")]
    assert data == ["data_dark_higgsstrahlung"]
    assert run.nevents["data_dark_higgsstrahlung"] == 1500  # the data were processed ...
    lists = run.eventlists()
    rows = json.loads((out / "limits" / "limits_dark-higgsstrahlung.json").read_text())["rows"]
    assert rows and all(r["data_is_asimov"] for r in rows)  # ... and the limits never saw them
    # every output: the event list, every histogram, the cutflow after the photon veto
    cols = lists.get("data_dark_higgsstrahlung", {})
    for r in rows:
        cov = np.diag([r["sigma_major"] ** 2, r["sigma_major"] ** 2])  # a circle holding the ellipse
        x, y = cols.get("m_mumu", np.zeros(0)), cols.get("m_recoil", np.zeros(0))
        assert not in_window(x, y, tuple(r["centre"]), cov, 2.0).any()
    for name, h in run.hists.items():
        if "data_dark_higgsstrahlung" in h.axes["sample"]:
            assert h[{"sample": "data_dark_higgsstrahlung"}].values(flow=True).sum() == 0, name
    cf = run.cutflows["data_dark_higgsstrahlung"]
    assert cf["raw"][cf["names"].index("photon_veto") :] == [0] * (len(cf["names"]) - cf["names"].index("photon_veto"))
    assert cf["raw"][cf["names"].index("recoil_in_barrel")] > 0


def test_dense_windows_of_the_search_cover_its_plane(golden_run) -> None:
    """With the search's own signal shapes (the golden signal points) and its declared step, every point of
    the plane between the generated hypotheses is within 2 widths of a window."""
    from scipy.spatial import Delaunay

    from processors.registry import get
    from workflows import outputs
    from workflows.stats.plans import window_counting as W
    from workflows.stats.plans.counting_common import split_eventlists

    spec = get("dark-higgsstrahlung")
    run = outputs.load(golden_run[0])
    ev = split_eventlists(run, spec, (spec.stats.x, spec.stats.y))
    win, model = W.build_windows(run, spec, ev, spec.stats, spec.stats.scan_step_sigma)
    assert model is not None and len(win.hyps) > 100
    pts = np.array([[h["mass"], h["mass2"]] for h, s in zip(win.hyps, win.samples, strict=True) if s])
    rng = np.random.default_rng(5)
    probe = rng.uniform(pts.min(axis=0), pts.max(axis=0), (20000, 2))
    probe = probe[Delaunay(pts).find_simplex(probe) >= 0]
    centres, _, _ = model(probe, probe)  # a signal at the probe point sits at its interpolated centre
    dmin, _ = W.min_distance(centres[:, 0], centres[:, 1], win.centres, win.covs)
    assert dmin.max() <= spec.stats.window_n_sigma, f"{dmin.max():.2f} sigma from every window"


def test_cls_option_is_labelled(golden_run, tmp_path: Path) -> None:
    """Frequentist CLs on request: every row says which method made it."""
    import shutil

    from workflows import cli

    out = tmp_path / "cls"
    shutil.copytree(golden_run[0], out)
    assert cli.main(["limits", "dark-higgsstrahlung", "--input", str(out), "--processes", "1", "--no-progress",
                     "--no-hepdata", "--step", "0", "--method", "cls"]) == 0  # fmt: skip
    rows = json.loads((out / "limits" / "limits_dark-higgsstrahlung.json").read_text())["rows"]
    bayes = json.loads((golden_run[0] / "limits" / "limits_dark-higgsstrahlung.json").read_text())["rows"]
    assert {r["method"] for r in rows} == {"cls counting"} and {r["method"] for r in bayes} == {"bayesian counting"}
    assert all(r["observed"] > 0 for r in rows)

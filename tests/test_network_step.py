"""The background-suppression network as a declared selection step of any search (processors/base.py:
``network_features``, the working point's ``network``, ``network_step``, the application-fold weights), on
small random files and a hand-written artefact whose cut is known: f >= 1.0 in the mass range [0, 1) and
f >= 0.5 in [1, 10]."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hist
import numpy as np
import pytest
import uproot
from conftest import run_runner
from workflow_helpers import write_events

from processors import mva
from processors.base import Fill, HistSpec, Region, SearchProcessor, SearchResult
from processors.kinematics import as_columns
from processors.spec import WorkingPoint

CUTS = {(0.0, 1.0): 1.0, (1.0, 10.0): 0.5}


class NetWP(WorkingPoint):
    network: str | None = None


class NetToy(SearchProcessor):
    """Feature f = beam_E, the event's 'mass' = beam_px (both ~ N(1, 0.5) in write_events' files)."""

    search_name = "nettoy"
    network_features = ("f",)

    @classmethod
    def default_working_point(cls) -> NetWP:
        return NetWP()

    def histograms(self) -> dict[str, HistSpec]:
        return {"f": HistSpec((hist.axis.Regular(40, -1, 3, name="f"),))}

    def analyze(self, events: Any, variation: Any) -> SearchResult:
        f, mass = as_columns(events.beam_E), as_columns(events.beam_px)
        everything = np.ones(len(f), bool)
        sr = Region([("all", everything), ("network", self.network_step({"f": f}, mass))])
        return SearchResult(regions={"sr": sr}, fills=[Fill("f", "sr", {"f": f})], signal_region=~everything)


def artefact(path: Path, features: tuple[str, ...] = ("f",)) -> Path:
    """logit = f (identity normalisation, one linear unit): the working point on the logit is the cut on f."""
    k = len(features)  # the first feature is f, any others get weight 0
    nets = [{"mass_range": list(rng), "masses": [], "mean": [0.0] * k, "scale": [1.0] * k,
             "layers": [{"weight": [[1.0]] + [[0.0]] * (k - 1), "bias": [0.0], "activation": "linear"}],
             "working_point": float(1 / (1 + np.exp(-cut))), "working_point_logit": cut}
            for rng, cut in CUTS.items()]  # fmt: skip
    doc = {"format": mva.FORMAT_NAME, "version": mva.FORMAT_VERSION, "search": "nettoy", "features": list(features),
           "networks": nets}  # fmt: skip
    doc["digest"] = mva.content_digest(doc)
    import json

    path.write_text(json.dumps(doc))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("netstep")
    mc, data = write_events(d / "mc.root", 3000, seed=1), write_events(d / "data.root", 2000, seed=2, mc=False)
    cols = {k: uproot.open(p)["events"].arrays(["run", "event", "beam_E", "beam_px"], library="np")
            for k, p in (("mc", mc), ("data", data))}  # fmt: skip
    return {"mc": mc, "data": data, "cols": cols, "artefact": artefact(d / "net.json"), "dir": d}


def _fileset(files: dict[str, Any]) -> dict[str, Any]:
    mc = {"sample": "mc", "is_data": False, "xsec_fb": 2.0, "n_events": 3000, "filter_efficiency": 1.0, "lumi_fb": 1.5}
    data = {"sample": "data", "is_data": True}
    return {"mc": {"files": {str(files["mc"]): "events"}, "metadata": mc},
            "data": {"files": {str(files["data"]): "events"}, "metadata": data}}  # fmt: skip


def _expected_pass(c: dict[str, np.ndarray]) -> np.ndarray:
    f, m = c["beam_E"], c["beam_px"]
    return ((m >= 0) & (m < 1) & (f >= 1.0)) | ((m >= 1) & (m <= 10) & (f >= 0.5))


def test_cut_based_when_no_network_is_named(files: dict[str, Any]) -> None:
    out = run_runner(_fileset(files), NetToy(unblind=True))
    cf = out["cutflow"]["mc"]
    assert cf["names"] == ["all", "network"] and cf["raw"][1] == cf["raw"][0] == 3000


def test_network_step_cuts_per_mass_range_and_mc_fills_only_the_application_fold(files: dict[str, Any]) -> None:
    out = run_runner(_fileset(files), NetToy(unblind=True, working_point=NetWP(network=str(files["artefact"]))))
    c = files["cols"]["mc"]
    app = mva.split_fold(c["run"], c["event"]) == mva.FOLD_APPLICATION
    passed = _expected_pass(c)
    w = 2.0 * 1.5 / 3000  # xsec * lumi / n_events (weight column 1)
    cf = out["cutflow"]["mc"]
    assert cf["raw"][0] == app.sum() and cf["raw"][1] == (app & passed).sum()
    assert cf["weighted"][1] == pytest.approx(3 * w * (app & passed).sum(), rel=1e-12)
    # the application fold, weighted x3, is an unbiased estimate of the whole sample (a third of it, +-)
    assert cf["weighted"][1] == pytest.approx(w * passed.sum(), rel=0.1)
    h = out["hists"]["f"][{"sample": "mc"}]
    assert h.values(flow=True).sum() == pytest.approx(cf["weighted"][1], rel=1e-12)
    d = files["cols"]["data"]
    assert out["cutflow"]["data"]["raw"][1] == _expected_pass(d).sum()  # data: no fold restriction


def test_missing_or_stale_artefact_says_how_to_retrain(files: dict[str, Any]) -> None:
    with pytest.raises(mva.ArtefactError, match="b2dark train"):
        NetToy(working_point=NetWP(network=str(files["dir"] / "absent.json")))
    stale = artefact(files["dir"] / "stale.json", features=("f", "g"))
    with pytest.raises(mva.ArtefactError, match=r"missing \['g'\].*b2dark train"):
        NetToy(working_point=NetWP(network=str(stale)))


def test_a_network_trained_on_other_samples_is_stale(files: dict[str, Any]) -> None:
    import json

    doc = json.loads(files["artefact"].read_text())
    doc["training_samples"] = {"mc": {"catalog_digest": "abc", "is_signal": False}}
    doc["digest"] = mva.content_digest(doc)
    path = files["dir"] / "with_samples.json"
    path.write_text(json.dumps(doc))
    art = mva.load(path)
    mva.check_samples(art, {"mc": "abc", "new_mass_point": "zzz"})  # same samples (and unknown ones): fine
    with pytest.raises(mva.ArtefactError, match=r"mc: trained on abc, now xyz.*b2dark train"):
        mva.check_samples(art, {"mc": "xyz"})

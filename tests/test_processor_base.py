"""The processor base (processors/base.py) on a toy search processor, independent of any physics:
weights from the metadata, weight and shape variations, cutflows that add across chunks, blinding,
weighted event lists, the working point and the declared branches. (The same base through the
Z' -> invisible processor: tests/searches/zprime_inv/test_base_on_zprime.py.)"""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path
from typing import Any, ClassVar

import awkward as ak
import hist
import numpy as np
import pytest
from coffea.nanoevents import NanoEventsFactory
from coffea.processor import accumulate
from workflow_helpers import write_events

from processors.base import Fill, HistSpec, Region, SearchProcessor, SearchResult, Variation
from processors.schema import B2Schema
from processors.spec import WorkingPoint

N = 500
XSEC, LUMI = 200.0, 10.0


class ToyWorkingPoint(WorkingPoint):
    min_tracks: int = 1


class ToyProcessor(SearchProcessor):
    search_name = "toy-base"
    branches: ClassVar[tuple[str, ...]] = ("nTrack", "Track_px", "Track_py", "Track_pz", "Track_charge")
    shape_variations = (Variation("scaleUp", momentum_scale=1.1),)
    weight_variation_names = ("effUp",)
    shape_invariant_cuts = ("has_tracks",)

    @classmethod
    def default_working_point(cls) -> ToyWorkingPoint:
        return ToyWorkingPoint()

    def histograms(self) -> dict[str, HistSpec]:
        return {
            "ntrk": HistSpec((hist.axis.Integer(0, 6, name="n"),), syst=True),
            "ptsum": HistSpec((hist.axis.Regular(40, 0.0, 8.0, name="pt"),), syst=True),
            "control": HistSpec((hist.axis.Integer(0, 6, name="n"),)),
        }

    def analyze(self, events: Any, variation: Variation) -> SearchResult:
        trk = variation.tracks(events.Track)
        n = ak.to_numpy(ak.num(trk))
        pt = ak.to_numpy(ak.sum(np.hypot(trk.px, trk.py), axis=1))
        regions = {
            "sr": Region([("has_tracks", n >= self.wp.min_tracks), ("two", n >= 2)], blind_from="two"),
            "cr": Region([("none", n == 0)]),
        }
        return SearchResult(
            regions=regions,
            fills=[Fill("ntrk", "sr", {"n": n}), Fill("ptsum", "sr", {"pt": pt}), Fill("control", "cr", {"n": n})],
            signal_region=n >= 3,  # the full selection is n >= 2; data with n >= 3 are hidden
            weight_variations={"effUp": np.full(len(n), 1.1)},
            eventlist={"run": ak.to_numpy(events.run), "event": ak.to_numpy(events.event), "n": n, "pt": pt},
        )


def _events(path: Path, meta: dict[str, Any], start: int = 0, stop: int | None = None) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return NanoEventsFactory.from_root({str(path): "events"}, schemaclass=B2Schema, metadata=meta, mode="eager",
                                           entry_start=start, entry_stop=stop).events()  # fmt: skip


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("base")
    return {"mc": write_events(d / "mc.root", N, seed=3), "data": write_events(d / "data.root", N, seed=4, mc=False)}


MC_META = {"sample": "mc", "dataset": "mc", "xsec_fb": XSEC, "n_events": N, "filter_efficiency": 0.5, "is_data": False}
DATA_META = {"sample": "data", "dataset": "data", "is_data": True}


def _run(proc: SearchProcessor, path: Path, meta: dict[str, Any], splits: tuple[int, ...] = ()) -> dict[str, Any]:
    edges = [0, *splits, N]
    outs = [proc.process(_events(path, meta, a, b)) for a, b in itertools.pairwise(edges)]
    return proc.postprocess(accumulate(outs))


def test_weights_and_weight_variations(files: dict[str, Path]) -> None:
    out = _run(ToyProcessor(lumi_fb=LUMI), files["mc"], MC_META)
    ev = _events(files["mc"], MC_META)
    w = XSEC * 0.5 * LUMI / N * ak.to_numpy(ev.weight).astype(float)
    n = ak.to_numpy(ak.num(ev.Track))
    h = out["hists"]["ntrk"][{"sample": "mc"}]
    # fills take the events passing every cut of their region
    assert h[{"syst": "nominal"}].values().sum() == pytest.approx(w[n >= 2].sum(), rel=1e-9)
    assert h[{"syst": "effUp"}].values().sum() == pytest.approx(1.1 * w[n >= 2].sum(), rel=1e-9)
    cf = out["cutflow"]["mc"]
    assert cf["names"] == ["has_tracks", "two"]
    assert cf["raw"].tolist() == [(n >= 1).sum(), (n >= 2).sum()]
    np.testing.assert_allclose(cf["weighted"], [w[n >= 1].sum(), w[n >= 2].sum()], rtol=1e-9)
    assert out["cutflow_regions"]["cr"]["mc"]["raw"].tolist() == [(n == 0).sum()]


def test_shape_variation_recomputes_the_observables(files: dict[str, Path]) -> None:
    out = _run(ToyProcessor(lumi_fb=LUMI), files["mc"], MC_META)
    h = out["hists"]["ptsum"][{"sample": "mc"}]
    nom, up = h[{"syst": "nominal"}], h[{"syst": "scaleUp"}]
    assert up.values(flow=True).sum() == pytest.approx(nom.values(flow=True).sum(), rel=1e-9)  # same events
    mean = lambda x: (x.values() * x.axes[0].centers).sum() / x.values().sum()  # noqa: E731
    assert mean(up) == pytest.approx(1.1 * mean(nom), rel=0.03)  # scaled momenta, not reweighted events
    assert "scaleUp" not in out["hists"]["control"].axes.name  # a non-syst hist gets no variation


def test_chunks_add_up_to_the_whole(files: dict[str, Path]) -> None:
    whole = _run(ToyProcessor(lumi_fb=LUMI), files["mc"], MC_META)
    split = _run(ToyProcessor(lumi_fb=LUMI), files["mc"], MC_META, splits=(97, 260, 261))
    for name, h in whole["hists"].items():
        np.testing.assert_allclose(split["hists"][name].values(flow=True), h.values(flow=True), rtol=1e-12)
    for region, per_sample in whole["cutflow_regions"].items():
        assert split["cutflow_regions"][region]["mc"]["raw"].tolist() == per_sample["mc"]["raw"].tolist()
    assert split["nevents"] == whole["nevents"] == {"mc": N}
    for col, v in whole["eventlist"]["mc"].items():  # sorted by (run, event) whatever the chunking
        np.testing.assert_array_equal(split["eventlist"]["mc"][col], v)


def test_event_list_carries_the_weights(files: dict[str, Path]) -> None:
    out = _run(ToyProcessor(lumi_fb=LUMI), files["mc"], MC_META)
    evl = out["eventlist"]["mc"]
    ev = _events(files["mc"], MC_META)
    n = ak.to_numpy(ak.num(ev.Track))
    assert len(evl["weight"]) == (n >= 2).sum()  # the primary region's selected events
    assert evl["weight"].sum() == pytest.approx(out["cutflow"]["mc"]["weighted"][-1], rel=1e-9)
    assert np.all(np.diff(evl["run"] * 1e7 + evl["event"]) > 0)


def test_blinding_hides_the_signal_region_of_data(files: dict[str, Path]) -> None:
    ev = _events(files["data"], DATA_META)
    n = ak.to_numpy(ak.num(ev.Track))
    blind = _run(ToyProcessor(), files["data"], DATA_META, splits=(250,))
    h = blind["hists"]["ntrk"][{"sample": "data", "syst": "nominal"}]
    assert h.values()[2] == (n == 2).sum() > 0 and h.values()[3:].sum() == 0
    # steps before blind_from count every event, from it on only the visible ones
    assert blind["cutflow"]["data"]["raw"].tolist() == [(n >= 1).sum(), (n == 2).sum()]
    assert set(blind["eventlist"]["data"]["n"]) == {2.0}
    assert blind["blinded"] and blind["blinded_samples"] == {"data": True}
    open_ = _run(ToyProcessor(unblind=True), files["data"], DATA_META)
    assert open_["cutflow"]["data"]["raw"].tolist() == [(n >= 1).sum(), (n >= 2).sum()]
    assert not open_["blinded"]
    np.testing.assert_array_equal(open_["eventlist"]["data"]["weight"], 1.0)


def test_working_point_changes_the_selection(files: dict[str, Path]) -> None:
    ev = _events(files["mc"], MC_META)
    n = ak.to_numpy(ak.num(ev.Track))
    out = _run(ToyProcessor(lumi_fb=LUMI, working_point=ToyWorkingPoint(min_tracks=3)), files["mc"], MC_META)
    assert out["cutflow"]["mc"]["raw"][0] == (n >= 3).sum() < (n >= 1).sum()
    with pytest.raises(ValueError, match="extra"):
        ToyWorkingPoint(max_tracks=2)  # unknown keys are refused


def test_required_branches_are_the_declared_ones() -> None:
    assert ToyProcessor.required_branches(is_mc=True) == {*ToyProcessor.branches, "run", "event", "weight"}
    assert "weight" not in ToyProcessor.required_branches(is_mc=False)


@pytest.mark.parametrize(("value", "ok"), [(None, True), (1.0, True), (0.0, False), (-0.1, False), (1.5, False)])
def test_filter_efficiency_must_be_a_fraction(files: dict[str, Path], value: float | None, ok: bool) -> None:
    meta = {**MC_META, "filter_efficiency": value}
    if ok:
        _run(ToyProcessor(lumi_fb=LUMI), files["mc"], meta)
    else:
        with pytest.raises(ValueError, match="filter_efficiency"):
            _run(ToyProcessor(lumi_fb=LUMI), files["mc"], meta)

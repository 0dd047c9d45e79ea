"""The NanoEvents schema: records, behaviours, and identical numbers in every mode
(ROOT eager / virtual / dask; Parquet eager / virtual)."""

from __future__ import annotations

import warnings
from pathlib import Path

import awkward as ak
import dask
import numpy as np
import pytest
from coffea.nanoevents import NanoEventsFactory
from synthetic import columns_from_events, write_columns

from processors.schema import B2Schema, events_from_flat
from samples.constants import M_E, M_K, M_MU, M_PI

EVENTS = [
    {
        "Track": [{"px": 1.0, "py": 0.1, "pz": 0.5, "charge": 1}, {"px": -1.2, "py": 0.2, "pz": 0.1, "charge": -1}],
        "Photon": [{"E": 2.0, "theta": 1.0, "phi": 0.5}],
        "KLMCluster": [{"theta": 0.6, "phi": 1.0}],
        "Vertex": [],
    },
    {
        "Track": [{"px": 0.3, "py": -0.4, "pz": 1.5, "charge": -1}, {"px": 0.5, "py": 0.5, "pz": -0.5, "charge": 1}],
        "Photon": [{"E": 0.5, "theta": 2.0, "phi": -1.0}],
        "KLMCluster": [],
        "Vertex": [{"x": 1.0, "y": 2.0, "z": 3.0}],
        "trg_ffo": False,
    },
]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("schema")
    cols = columns_from_events(EVENTS)
    return {"root": write_columns(d / "ev.root", cols), "parquet": write_columns(d / "ev.parquet", cols)}


def _quantities(ev) -> list:
    mu = ev.Track.as_muon
    pair = mu[:, 0] + mu[:, 1]
    return [
        (ev.Track[:, :1] + ev.Photon[:, :1]).mass,  # track + photon
        (ev.Beam - (mu[:, 0] + mu[:, 1])).mass2,  # beam - (mu1 + mu2)
        pair.boostCM_of(ev.Beam).t,  # E* of the pair
        ev.Photon.mass,
        ev.Photon.p,
        ev.Track.as_electron.mass,
        ev.Track.as_kaon.mass,
        ev.Track.as_pion.mass,
        ev.Track.mass,
        ev.KLMCluster.direction.z,
        ev.Vertex.rho,
        ak.sum(ev.Track.as_muon, axis=1).charge,
        ev.trg_ffo,
    ]


def _load(kind: str, mode: str, path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "root":
            return NanoEventsFactory.from_root({str(path): "events"}, schemaclass=B2Schema, mode=mode).events()
        return NanoEventsFactory.from_parquet(str(path), schemaclass=B2Schema, mode=mode).events()


def _compute(values: list) -> list:
    if hasattr(values[0], "dask"):
        values = list(dask.compute(*values, scheduler="sync"))
    return [ak.to_list(v) for v in values]


def test_identical_numbers_in_every_mode(files: dict[str, Path]) -> None:
    reference = _compute(_quantities(_load("root", "eager", files["root"])))
    for kind, modes in (("root", ("eager", "virtual", "dask")), ("parquet", ("eager", "virtual"))):
        for mode in modes:
            got = _compute(_quantities(_load(kind, mode, files[kind])))
            assert got == reference, (kind, mode)


def test_behaviour_values(files: dict[str, Path]) -> None:
    ev = _load("root", "eager", files["root"])
    trk, pho = EVENTS[0]["Track"][0], EVENTS[0]["Photon"][0]
    # track (pion mass) + photon, by hand
    e_trk = np.sqrt(trk["px"] ** 2 + trk["py"] ** 2 + trk["pz"] ** 2 + M_PI**2)
    g = pho["E"] * np.array([np.sin(pho["theta"]) * np.cos(pho["phi"]), np.sin(pho["theta"]) * np.sin(pho["phi"]),
                             np.cos(pho["theta"])])  # fmt: skip
    tot = np.array([trk["px"] + g[0], trk["py"] + g[1], trk["pz"] + g[2], e_trk + pho["E"]])
    m_expected = np.sqrt(tot[3] ** 2 - np.sum(tot[:3] ** 2))
    assert (ev.Track[:, :1] + ev.Photon[:, :1]).mass[0, 0] == pytest.approx(m_expected, rel=1e-6)
    assert np.max(np.abs(ak.flatten(ev.Photon.mass))) < 1e-3
    assert ak.to_list(ak.flatten(ev.Photon.p)) == pytest.approx([2.0, 0.5], rel=1e-6)
    for prop, m in (("as_muon", M_MU), ("as_electron", M_E), ("as_kaon", M_K)):
        assert ak.all(abs(getattr(ev.Track, prop).mass - m) < 1e-6)
    assert ak.to_list(ak.flatten(ev.Track.mass)) == pytest.approx([M_PI] * 4, rel=1e-6)
    assert ak.to_list(ak.num(ev.Vertex)) == [0, 1] and ev.Vertex.rho[1, 0] == pytest.approx(np.sqrt(5.0))
    assert ak.to_list(ak.sum(ev.Track.as_muon, axis=1).charge) == [0, 0]
    assert ak.to_list(ev.trg_ffo) == [True, False]


def test_events_from_flat_matches_schema(files: dict[str, Path]) -> None:
    flat = ak.from_parquet(files["parquet"])
    built = events_from_flat(flat, {"sample": "x"})
    assert built.metadata["sample"] == "x"
    assert _compute(_quantities(built)) == _compute(_quantities(_load("root", "eager", files["root"])))


def test_counter_missing_is_a_clear_error() -> None:
    form = {"class": "RecordArray", "fields": ["Track_px"], "contents": [{"class": "ListOffsetArray", "offsets": "i64",
            "content": {"class": "NumpyArray", "primitive": "float32", "form_key": "c"}, "form_key": "o"}],
            "parameters": {}, "form_key": None}  # fmt: skip
    with pytest.raises(ValueError, match="nTrack"):
        B2Schema(form)

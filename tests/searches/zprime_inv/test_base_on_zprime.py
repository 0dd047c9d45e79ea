"""The processor base through the Z' -> invisible search (tests/test_processor_base.py tests it on a
toy): weights from the fileset metadata, cutflows that add across chunks, identical results for every executor
and chunk size, per-file accounting, and blinding."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import run_runner

from processors.base import SearchProcessor
from processors.zprime_inv.processor import M2_RANGE, ZPrimeInvisibleProcessor
from searches.zprime_inv.zp_synthetic import N_BKG, N_INJECTED, N_SIGNAL, SIGNAL_MASS, zp_metadata


def _assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert set(a["hists"]) == set(b["hists"])
    for name, h in a["hists"].items():
        g = b["hists"][name]
        assert sorted(h.axes["sample"]) == sorted(g.axes["sample"]), name
        for s in h.axes["sample"]:
            x, y = h[{"sample": s}], g[{"sample": s}]
            np.testing.assert_allclose(y.values(flow=True), x.values(flow=True), rtol=1e-9, atol=0, err_msg=name)
            np.testing.assert_allclose(y.variances(flow=True), x.variances(flow=True), rtol=1e-9, atol=0, err_msg=name)
    for region, per_sample in a["cutflow_regions"].items():
        for s, cf in per_sample.items():
            other = b["cutflow_regions"][region][s]
            assert cf["names"] == other["names"]
            assert cf["raw"].tolist() == other["raw"].tolist(), (region, s)
            np.testing.assert_allclose(cf["weighted"], other["weighted"], rtol=1e-9)
    assert a["nevents"] == b["nevents"]


@pytest.fixture(scope="module")
def reference(zp_fileset) -> dict[str, Any]:
    return run_runner(zp_fileset, ZPrimeInvisibleProcessor(), chunksize=100_000)


def test_weights_from_metadata(reference) -> None:
    cf = reference["cutflow"]
    # signal generator weights are 1, 1.5, 2 repeating; norm = xsec * eff * lumi / n_events
    w = np.array([1.0 + (i % 3) * 0.5 for i in range(N_SIGNAL)])
    assert cf["sig_m3"]["weighted"][0] == pytest.approx(20.0 * 0.5 * 79.7 / N_SIGNAL * w.sum(), rel=1e-12)
    assert cf["bkg_mumu"]["weighted"][0] == pytest.approx(20.0 * 0.5 * 79.7, rel=1e-12)
    assert cf["data"]["weighted"].tolist() == cf["data"]["raw"].tolist()  # data weight 1
    assert reference["nevents"] == {"sig_m3": N_SIGNAL, "bkg_mumu": N_BKG, "data": N_INJECTED + N_BKG}
    assert all(len(f) == 1 and sum(f.values()) == reference["nevents"][s] for s, f in reference["files"].items())


def test_missing_metadata_is_a_clear_error(zp_fileset) -> None:
    fs = {"sig_m3": dict(zp_fileset["sig_m3"], metadata=zp_metadata("sig_m3", N_SIGNAL, xsec_fb=None))}
    with pytest.raises(Exception, match="xsec_fb"):
        run_runner(fs, ZPrimeInvisibleProcessor())


def test_chunk_size_gives_identical_results(zp_fileset, reference) -> None:
    small = run_runner(zp_fileset, ZPrimeInvisibleProcessor(), chunksize=70)
    assert sum(len(f) for f in small["files"].values()) == 3  # per-file accounting keys on files, not chunks
    _assert_same(reference, small)


@pytest.mark.slow
def test_futures_executor_gives_identical_results(zp_fileset, reference) -> None:
    futures = run_runner(zp_fileset, ZPrimeInvisibleProcessor(), executor="futures", chunksize=64)
    _assert_same(reference, futures)


def _data_sr_entries(out: dict[str, Any]) -> dict[str, float]:
    """Data entries, per histogram, in anything that can hold a signal-region event."""
    found = {}
    for name, h in out["hists"].items():
        if "data" not in h.axes["sample"] or name.startswith(("cr_", "nm1_")):
            continue
        found[name] = float(h[{"sample": "data"}].values(flow=True).sum())
    return found


def test_blinded_by_default(reference) -> None:
    assert reference["blinded"] is True and reference["blinded_samples"]["data"] is True
    assert reference["blinded_samples"]["sig_m3"] is False
    assert all(v == 0 for v in _data_sr_entries(reference).values()), _data_sr_entries(reference)
    assert len(reference["eventlist"]["data"]["event"]) == 0
    cf = reference["cutflow"]["data"]
    i_veto = cf["names"].index("photon_veto")
    assert cf["raw"][i_veto:].tolist() == [0] * (len(cf["raw"]) - i_veto)
    assert cf["raw"][i_veto - 1] >= N_INJECTED  # looser steps still count the hidden events
    # N-1 histograms hold data, but never a signal-region event (those pass every cut)
    e = reference["hists"]["nm1_extra_energy"][{"sample": "data"}]
    assert e.values().sum() > 0 and e[: complex(0, 0.5)].values().sum() == 0  # only events failing the veto
    # MC is never blinded
    assert reference["hists"]["template"][{"sample": "sig_m3", "syst": "nominal"}].values().sum() > 0


def test_unblind_shows_the_injected_signal(zp_fileset, reference) -> None:
    out = run_runner(zp_fileset, ZPrimeInvisibleProcessor(unblind=True), chunksize=80)
    assert out["blinded"] is False and out["blinded_samples"]["data"] is False
    found = _data_sr_entries(out)
    el = out["eventlist"]["data"]
    injected = el["event"] < N_INJECTED  # the injected events are first in the file
    # most injected events pass (some recoil into the 90-degree gap or past the barrel)
    assert 0.8 * N_INJECTED <= injected.sum() <= N_INJECTED
    assert found["template"] == found["m2_recoil"] == len(el["event"]) >= injected.sum()
    m2 = el["m2_recoil"][injected]
    np.testing.assert_allclose(m2, SIGNAL_MASS**2, atol=2e-3)
    assert np.all((el["m2_recoil"] >= M2_RANGE[0]) & (el["m2_recoil"] < M2_RANGE[1]))
    # everything that is not data is unchanged by unblinding
    for name, h in out["hists"].items():
        for s in ("sig_m3", "bkg_mumu"):
            if s in h.axes["sample"]:
                np.testing.assert_allclose(
                    h[{"sample": s}].values(flow=True),
                    reference["hists"][name][{"sample": s}].values(flow=True),
                    rtol=1e-9,
                )


def test_postprocess_is_idempotent(reference) -> None:
    again = ZPrimeInvisibleProcessor().postprocess(reference)
    assert again is reference and "__cutflow__" not in again["hists"]


class _UnoptimisedZPrime(ZPrimeInvisibleProcessor):
    """The straightforward path: every shape variation runs the full analyze() on all events,
    and the photon veto is the jagged-ufunc version."""

    shape_invariant_cuts = ()

    def analyze_shape(self, events, variation, selection, nominal):
        return SearchProcessor.analyze_shape(self, events, variation, selection, nominal)

    def _veto(self, events, rows=None, photons=None):
        veto = ZPrimeInvisibleProcessor._veto(self, events, rows, photons)
        veto.fast = False
        return veto


def test_optimised_path_equals_unoptimised(zp_fileset) -> None:
    """Shape variations on preselected events only + the numba veto give bit-identical
    histograms (incl. the pscale syst bins), cutflows and event lists."""
    fast = run_runner(zp_fileset, ZPrimeInvisibleProcessor(), chunksize=120)
    slow = run_runner(zp_fileset, _UnoptimisedZPrime(), chunksize=120)
    _assert_same(slow, fast)
    for name, h in slow["hists"].items():
        np.testing.assert_array_equal(fast["hists"][name].values(flow=True), h.values(flow=True), err_msg=name)
    sr = fast["hists"]["m2_recoil"][{"sample": "sig_m3"}]
    assert sr[{"syst": "pscale_up"}].sum().value > 0  # the variation bins are filled
    for s, cols in slow["eventlist"].items():
        for c, v in cols.items():
            np.testing.assert_array_equal(np.asarray(fast["eventlist"][s][c]), np.asarray(v))


def test_binned_cutflow_fill_equals_per_event_fill() -> None:
    """The eager cutflow (one fill of per-bin np.bincount sums) gives the bins of filling every
    event, bit for bit (bincount adds in event order, as the histogram does)."""
    from processors.base import _fill, _fill_cutflow_binned

    rng = np.random.default_rng(2)
    proc = ZPrimeInvisibleProcessor()
    npass = {"sr": rng.integers(0, 9, 5000), "ee": rng.integers(0, 4, 5000)}
    weight = rng.exponential(0.37, 5000)
    one = weight * 0.0 + 1.0
    binned, per_event = proc._book({})["__cutflow__"], proc._book({})["__cutflow__"]
    _fill_cutflow_binned(binned, "s", npass, one, weight)
    for rname, n in npass.items():
        _fill(per_event, weight=one, sample="s", region=rname, npass=n, kind="raw")
        _fill(per_event, weight=weight, sample="s", region=rname, npass=n, kind="weighted")
    for region in ("sr", "ee"):
        for kind in ("raw", "weighted"):
            sel = {"sample": "s", "region": region, "kind": kind}
            np.testing.assert_array_equal(binned[sel].values(), per_event[sel].values())
    assert binned[{"sample": "s", "region": "sr", "kind": "raw"}].values().sum() == 5000

"""The numba kernels of the fast simulation keep the numpy parametrisation and the lab transformation."""

from __future__ import annotations

import numpy as np
import pytest

from samples import constants as C
from samples.generator import detector, pipeline, registry
from samples.generator import detector_kernels as K
from samples.generator.beams import sample_beams
from samples.generator.filters import charge_of


def test_kernel_parameters_are_the_constants() -> None:
    # The kernels get their parameters as an argument (not frozen numba globals): they must be
    # exactly the values in samples/constants.py.
    for name in K._PARAM_NAMES:
        assert getattr(K.PARAMS, name) == float(getattr(C, name)), name
    assert np.allclose([K.PARAMS.ECL_A2, K.PARAMS.ECL_B2, K.PARAMS.ECL_C2], detector._ECL_ABC2)


def test_scalar_ecl_helpers_match_numpy_reference() -> None:
    edges = [
        C.ECL_FWD_MIN_DEG,
        C.ECL_FWD_MAX_DEG,
        C.ECL_FWD_GAP_MAX_DEG,
        C.ECL_BARREL_MAX_DEG,
        C.ECL_BWD_GAP_MAX_DEG,
        C.ECL_BWD_MAX_DEG,
    ]
    tdeg = np.concatenate([np.linspace(0.0, 180.0, 3601), edges, np.nextafter(edges, 0), np.nextafter(edges, 181)])
    ref = detector.ecl_region(np.radians(tdeg))
    # The kernel compares degrees computed as theta * (180/pi); feed it the same degrees.
    got = np.array([K.ecl_region_deg(float(t), K.PARAMS) for t in np.degrees(np.radians(tdeg))])
    np.testing.assert_array_equal(got, ref)
    e = np.geomspace(1e-4, 20.0, 400)
    np.testing.assert_allclose(
        [K.ecl_sigma_over_e(float(x), K.PARAMS) for x in e], detector.ecl_sigma_over_e(e), rtol=1e-12
    )
    np.testing.assert_allclose(
        [K.ecl_theta_res(float(x), K.ECL_THETA_LOG_E, K.ECL_THETA_LOG_RES) for x in e],
        detector.ecl_theta_res(e),
        rtol=1e-12,
    )


def test_scalar_charge_matches_filters() -> None:
    pdg = np.array([11, -11, 13, -13, 15, -15, 211, -211, 321, -321, 2212, -2212, 22, 111, 130, 12, 0])
    np.testing.assert_array_equal([K.charge_of(int(p)) for p in pdg], charge_of(pdg))


def test_lab_kernel_equals_the_general_transformation() -> None:
    rng = np.random.default_rng(3)
    beams = sample_beams(2000, rng)
    cms = registry.get("tautau").generator()(2000, rng, beams.sqrt_s)
    fast = pipeline.lab_with_vertices(cms, beams, np.random.default_rng(1))
    slow = pipeline.truth_to_lab(cms, beams)
    for c in ("px", "py", "pz", "E"):
        np.testing.assert_allclose(getattr(fast, c), getattr(slow, c), rtol=1e-12, atol=1e-12)
    # Vertices: primaries share the event's IP; tau daughters sit at their tau's decay point,
    # displaced along the tau momentum.
    evt = fast.event_index()
    prim = fast.mother < 0
    first = fast.offsets[:-1]
    np.testing.assert_array_equal(fast.vz[prim], fast.vz[first][evt[prim]])
    dau = np.flatnonzero(np.abs(fast.pdg) == 16)  # nu_tau: direct daughter of a tau
    mom = fast.offsets[evt[dau]] + fast.mother[dau]
    d = np.stack([fast.vx[dau] - fast.vx[mom], fast.vy[dau] - fast.vy[mom], fast.vz[dau] - fast.vz[mom]], 1)
    p = np.stack([fast.px[mom], fast.py[mom], fast.pz[mom]], 1)
    cos = np.sum(d * p, 1) / (np.linalg.norm(d, axis=1) * np.linalg.norm(p, axis=1))
    assert np.all(cos > 1 - 1e-9)
    flight = np.linalg.norm(d, axis=1) / (np.linalg.norm(p, axis=1) / C.M_TAU * C.TAU_CTAU_CM)
    assert flight.mean() == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize("process", ["mumu", "tautau"])
def test_same_seed_bit_identical_with_numba_kernels(process: str) -> None:
    a = pipeline.generate(process, 3000, seed=5, filter_name=None, chunk_size=1000)
    b = pipeline.generate(process, 3000, seed=5, filter_name=None, chunk_size=1000)
    assert a.columns.keys() == b.columns.keys()
    for k in a.columns:
        assert a.columns[k].dtype == pipeline.DTYPES[k], k
        assert a.columns[k].tobytes() == b.columns[k].tobytes(), k


def test_kernel_visibility_matches_detector_list() -> None:
    for a in (11, 13, 15, 22, 111, 130, 211, 310, 321, 2112, 2212, 12, 14, 16, 52):
        assert K._visible(a) == (a in detector.VISIBLE), a


def test_column_order_follows_the_event_format() -> None:
    cols = pipeline.generate("mumu", 500, seed=2, filter_name=None).columns
    for coll in ("Track", "Photon", "KLMCluster", "Vertex"):
        got = [k.split("_", 1)[1] for k in cols if k.startswith(f"{coll}_")]
        assert got == [c.name for c in pipeline.EF.COLLECTIONS[coll]], coll


def test_lab_kernel_falls_back_when_daughters_precede_mothers() -> None:
    rng = np.random.default_rng(4)
    beams = sample_beams(300, rng)
    cms = registry.get("tautau").generator()(300, rng, beams.sqrt_s)
    # Reverse the particles inside every event: mothers now come after their daughters.
    evt = cms.event_index()
    local = np.arange(cms.pdg.size) - cms.offsets[evt]
    last = cms.counts[evt] - 1
    perm = cms.offsets[evt] + last - local
    for name in ("pdg", "px", "py", "pz", "E", "ctau", "final"):
        setattr(cms, name, getattr(cms, name)[perm])
    m = cms.mother[perm]
    cms.mother = np.where(m >= 0, last - m, -1).astype(np.int32)
    lab = pipeline.lab_with_vertices(cms, beams, np.random.default_rng(0))
    assert np.isfinite(lab.vx).all() and np.isfinite(lab.vz).all()
    np.testing.assert_allclose(lab.E, pipeline.truth_to_lab(cms, beams).E, rtol=1e-12)
    mom = cms.offsets[evt] + np.maximum(cms.mother, 0)
    tau_daughter = (cms.mother >= 0) & (np.abs(cms.pdg[mom]) == 15)
    assert np.all(lab.vz[tau_daughter] != lab.vz[mom[tau_daughter]])  # displaced from the tau's origin

"""processors.kinematics against an independent numpy calculation (4x4 boost matrices,
explicit dot products), and against the awkward/vector behaviours of the schema."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from synthetic import dimuon_recoil_columns, nominal_beam, write_columns

from processors import kinematics as K
from samples.constants import HER_ANGLE, M_MU

RNG = np.random.default_rng(7)
N = 500


def _lambda(beam: np.ndarray) -> np.ndarray:
    """(n, 4, 4) boost matrices (t, x, y, z ordering) into the rest frame of ``beam`` (n, 4: px py pz E)."""
    beta = -beam[:, :3] / beam[:, 3:4]
    b2 = np.sum(beta**2, axis=1)
    g = 1 / np.sqrt(1 - b2)
    lam = np.zeros((len(beam), 4, 4))
    lam[:, 0, 0] = g
    lam[:, 0, 1:] = lam[:, 1:, 0] = g[:, None] * beta
    lam[:, 1:, 1:] = np.eye(3)[None] + ((g - 1) / b2)[:, None, None] * beta[:, :, None] * beta[:, None, :]
    return lam


def _boost_np(p: np.ndarray, beam: np.ndarray) -> np.ndarray:
    """p (n, 4: px py pz E) into the beam rest frame, via matrices."""
    txyz = np.column_stack([p[:, 3], p[:, :3]])
    out = np.einsum("nij,nj->ni", _lambda(beam), txyz)
    return np.column_stack([out[:, 1:], out[:, 0]])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _random_p4(n: int, mass: float) -> np.ndarray:
    p = RNG.normal(0, 2.0, (n, 3))
    return np.column_stack([p, np.sqrt(np.sum(p**2, axis=1) + mass**2)])


@pytest.fixture(scope="module")
def sample():
    beam = np.tile(nominal_beam(), (N, 1)) * RNG.uniform(0.999, 1.001, (N, 1))
    beam[:, 3] = np.sqrt(np.sum(beam[:, :3] ** 2, axis=1) + RNG.uniform(10.55, 10.6, N) ** 2)
    return beam, _random_p4(N, M_MU), _random_p4(N, M_MU)


def _p4(a: np.ndarray) -> K.P4:
    return K.P4(a[:, 0], a[:, 1], a[:, 2], a[:, 3])


def test_boost_to_cms_matches_matrix(sample) -> None:
    beam, a, _ = sample
    got = K.to_cms(_p4(a), _p4(beam))
    ref = _boost_np(a, beam)
    np.testing.assert_allclose(np.column_stack([got.x, got.y, got.z, got.t]), ref, rtol=1e-10, atol=1e-10)
    b = K.to_cms(_p4(beam), _p4(beam))  # the beam itself is at rest in the CMS
    np.testing.assert_allclose(np.column_stack([b.x, b.y, b.z]), 0, atol=1e-10)
    np.testing.assert_allclose(b.t, np.sqrt(beam[:, 3] ** 2 - np.sum(beam[:, :3] ** 2, axis=1)), rtol=1e-12)


def test_recoil_mass2_formula_and_definition(sample) -> None:
    beam, a, b = sample
    pair = a + b
    s = beam[:, 3] ** 2 - np.sum(beam[:, :3] ** 2, axis=1)
    m2_pair = pair[:, 3] ** 2 - np.sum(pair[:, :3] ** 2, axis=1)
    e_star = _boost_np(pair, beam)[:, 3]
    paper = s + m2_pair - 2 * np.sqrt(s) * e_star
    rec = beam - pair
    definition = rec[:, 3] ** 2 - np.sum(rec[:, :3] ** 2, axis=1)
    got = K.recoil_mass2(_p4(beam), _p4(a) + _p4(b))
    np.testing.assert_allclose(got, paper, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got, definition, rtol=1e-9, atol=1e-8)


def test_cms_polar_angles(sample) -> None:
    beam, a, b = sample
    her = np.tile([np.sin(HER_ANGLE), 0.0, np.cos(HER_ANGLE), 1.0], (N, 1)) * 7.004
    axis = _unit(_boost_np(her, beam)[:, :3])
    a_cms = _boost_np(a, beam)[:, :3]
    np.testing.assert_allclose(K.cos_theta_cms(_p4(a), _p4(beam)), np.sum(_unit(a_cms) * axis, axis=1), atol=1e-12)
    pair = a + b
    rec_dir = -_unit(_boost_np(pair, beam)[:, :3])
    ref = np.arccos(np.clip(np.sum(rec_dir * axis, axis=1), -1, 1))
    np.testing.assert_allclose(K.recoil_theta_cms(_p4(beam), _p4(a) + _p4(b)), ref, atol=1e-10)
    # the e- beam axis in the CMS is close to (not exactly) z: the crossing angle is in x
    _ex, ey, ez = K.electron_beam_axis_cms(_p4(beam))
    assert np.all(ez > 0.99) and np.allclose(ey, 0, atol=1e-12)


def test_opening_and_helicity_angles(sample) -> None:
    beam, a, b = sample
    a_cms, b_cms = _boost_np(a, beam), _boost_np(b, beam)
    ref_open = np.arccos(np.clip(np.sum(_unit(a_cms[:, :3]) * _unit(b_cms[:, :3]), axis=1), -1, 1))
    np.testing.assert_allclose(K.opening_angle_cms(_p4(a), _p4(b), _p4(beam)), ref_open, atol=1e-10)
    parent = a_cms + b_cms
    d_rest = _boost_np(a_cms, parent)[:, :3]
    ref_hel = np.sum(_unit(d_rest) * _unit(parent[:, :3]), axis=1)
    np.testing.assert_allclose(K.helicity_cos(_p4(a), _p4(a) + _p4(b), _p4(beam)), ref_hel, atol=1e-9)
    # two-body: the two daughters are back to back in the parent frame
    np.testing.assert_allclose(K.helicity_cos(_p4(b), _p4(a) + _p4(b), _p4(beam)), -ref_hel, atol=1e-9)


def test_cones_and_extra_energy() -> None:
    theta = ak.Array([[0.5, 1.0, 2.0], [], [1.2]])
    phi = ak.Array([[0.0, 0.1, 0.0], [], [3.0]])
    e = ak.Array([[0.2, 0.3, 0.4], [], [1.0]])
    axis_theta, axis_phi = np.array([1.0, 1.0, 1.2]), np.array([0.0, 0.0, -3.1])
    got = K.within_cone(theta, phi, axis_theta, axis_phi, np.radians(15))
    ref = []
    for th_ev, ph_ev, at, ap in zip(ak.to_list(theta), ak.to_list(phi), axis_theta, axis_phi, strict=True):
        u = np.array([np.sin(at) * np.cos(ap), np.sin(at) * np.sin(ap), np.cos(at)])
        ref.append([bool(np.degrees(np.arccos(np.clip(np.dot(u, [np.sin(t) * np.cos(p), np.sin(t) * np.sin(p),
                    np.cos(t)]), -1, 1))) < 15) for t, p in zip(th_ev, ph_ev, strict=True)])  # fmt: skip
    assert ak.to_list(got) == ref == [[False, True, False], [], [True]]  # phi 3.0 and -3.1 wrap: ~10 deg apart
    photons = ak.zip({"E": e, "theta": theta, "phi": phi})
    np.testing.assert_allclose(K.extra_energy(photons), [0.9, 0.0, 1.0])
    np.testing.assert_allclose(K.extra_energy(photons, e > 0.25), [0.7, 0.0, 1.0])


def test_agrees_with_schema_behaviours(tmp_path) -> None:
    """Component kinematics on a file == the awkward/vector behaviours of the schema."""
    from coffea.nanoevents import NanoEventsFactory

    from processors.schema import B2Schema

    path = write_columns(tmp_path / "s.root", dimuon_recoil_columns(np.random.default_rng(3), 50, 2.5))
    ev = NanoEventsFactory.from_root({str(path): "events"}, schemaclass=B2Schema, mode="eager").events()
    mu = ev.Track.as_muon
    pair_b = mu[:, 0] + mu[:, 1]
    m2_behaviour = ak.to_numpy((ev.Beam - pair_b).mass2)
    beam = K.beam_p4(ev)
    pair = K.nth(ev.Track, 0, M_MU) + K.nth(ev.Track, 1, M_MU)
    np.testing.assert_allclose(K.recoil_mass2(beam, pair), m2_behaviour, rtol=0, atol=2e-4)
    np.testing.assert_allclose(K.recoil_mass2(beam, pair), 2.5**2, atol=2e-4)  # float32 storage of the momenta
    e_star_b = ak.to_numpy(pair_b.boostCM_of(ev.Beam).t)
    np.testing.assert_allclose(K.to_cms(pair, beam).t, e_star_b, rtol=1e-6)


def test_nth_pads_missing_objects() -> None:
    tracks = ak.Array([[{"px": 1.0, "py": 0.0, "pz": 0.0, "mass": 0.1}], []])
    p = K.nth(tracks, 0)
    np.testing.assert_allclose(p.t, [np.sqrt(1.01), 0.0])
    q = K.nth(tracks, 1, M_MU)
    np.testing.assert_allclose(q.x, [0.0, 0.0])
    assert np.isnan(K.angle(p, q)).all()  # zero vectors: angles are NaN, comparisons False


def test_eager_fast_paths_equal_awkward() -> None:
    """The numpy/numba fast paths (nth, nth_field, momentum scale, leading_by, n_from_ip) give
    exactly the numbers of the jagged awkward expressions they replace."""
    from processors import kinematics as K
    from processors import selections as S

    rng = np.random.default_rng(3)
    counts = rng.poisson(1.5, 3000)
    k = int(counts.sum())
    flat = {f: rng.normal(0, 1, k).astype(np.float32) for f in ("px", "py", "pz", "d0", "z0", "E")}
    flat["E"][rng.random(k) < 0.2] = np.float32(0.5)  # ties: the first maximum wins
    flat["charge"] = rng.choice([-1, 1], k).astype(np.int32)
    objs = ak.unflatten(ak.zip(flat), counts)
    for i in (0, 1, 2):
        padded = ak.pad_none(objs, i + 1, axis=1)[:, i]
        ref = K.P4.from_pxpypzm(*(K.as_columns(padded[c]) for c in ("px", "py", "pz")), 0.105)
        got = K.nth(objs, i, 0.105)
        for c in "xyzt":
            np.testing.assert_array_equal(getattr(got, c), getattr(ref, c))
        scaled = ak.zip({c: objs[c] * 1.001 if c in ("px", "py", "pz") else objs[c] for c in ak.fields(objs)})
        ref_s = K.P4.from_pxpypzm(
            *(K.as_columns(ak.pad_none(scaled, i + 1)[:, i][c]) for c in ("px", "py", "pz")), 0.105
        )
        got_s = K.nth(objs, i, 0.105, momentum_scale=1.001)
        for c in "xyzt":
            np.testing.assert_array_equal(getattr(got_s, c), getattr(ref_s, c))
        np.testing.assert_array_equal(K.nth_field(objs, i, "charge", 0), K.as_columns(padded["charge"], 0))
    best = ak.argmax(objs.E, axis=1, keepdims=True)
    ref_l = [K.as_columns(ak.firsts(objs[n][best]), 0.0) for n in ("E", "px")]
    for got_l, r in zip(K.leading_by(objs, "E", ("E", "px"), 0.0), ref_l, strict=True):
        np.testing.assert_array_equal(got_l, r)
    np.testing.assert_array_equal(S.n_from_ip(objs, 0.5, 0.5), ak.to_numpy(ak.sum(S.from_ip(objs, 0.5, 0.5), axis=1)))


def test_prepared_frame_and_subsets_are_number_for_number(sample) -> None:
    """CMSFrame (boost prepared once), precomputed recoil inputs, and Jagged picks / leading
    objects for a subset of the events give exactly the numbers of the one-shot functions."""
    beam, a, b = (_p4(x) for x in sample)
    frame = K.CMSFrame.of(beam)
    for got, ref in (
        (frame.to_cms(a), K.to_cms(a, beam)),
        (
            frame.take(np.arange(5, 50)).to_cms(_p4(sample[1][5:50])),
            K.to_cms(_p4(sample[1][5:50]), _p4(sample[0][5:50])),
        ),
    ):
        for c in "xyzt":
            np.testing.assert_array_equal(getattr(got, c), getattr(ref, c))
    pair = a + b
    pair_cms = frame.to_cms(pair)
    np.testing.assert_array_equal(K.recoil_mass2(beam, pair, pair_cms), K.recoil_mass2(beam, pair))
    axis = K.electron_beam_axis_cms(beam, frame)
    np.testing.assert_array_equal(K.recoil_theta_cms(beam, pair, pair_cms, axis), K.recoil_theta_cms(beam, pair))
    np.testing.assert_array_equal(K.opening_angle_cms(a, b, beam, frame), K.opening_angle_cms(a, b, beam))

    rng = np.random.default_rng(4)
    counts = rng.poisson(1.2, 2000)
    flat = {f: rng.normal(0, 1, int(counts.sum())).astype(np.float32) for f in ("E", "px")}
    objs = ak.unflatten(ak.zip(flat), counts)
    view = K.Jagged(objs)
    rows = np.flatnonzero(rng.random(len(counts)) < 0.4)
    for i in (0, 1):
        ref = K.as_columns(ak.pad_none(objs, i + 1)[:, i]["px"], -9.0)
        np.testing.assert_array_equal(view.nth("px", i, -9.0).astype(np.float64), ref)
        np.testing.assert_array_equal(view.nth("px", i, -9.0, rows).astype(np.float64), ref[rows])
    for got, ref in zip(
        view.leading_by("E", ("E", "px"), 0.0, rows), K.leading_by(objs, "E", ("E", "px"), 0.0), strict=True
    ):
        np.testing.assert_array_equal(got, ref[rows])
    assert view.nth("px", 0, rows=rows).dtype == np.float32  # raw dtype kept (momentum scale in float32)

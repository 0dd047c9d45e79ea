"""processors.selections: PID, IP, acceptance regions (basf2 boundaries), photon veto, trigger."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from processors import selections as S
from samples import constants as C

DEG = np.pi / 180


def test_pid_and_ip() -> None:
    trk = ak.Array(
        [
            [
                {"muonID": 0.9, "electronID": 0.1, "pionID": 0.0, "kaonID": 0.0, "d0": 0.1, "z0": -1.9},
                {"muonID": 0.2, "electronID": 0.7, "pionID": 0.0, "kaonID": 0.0, "d0": -0.6, "z0": 0.0},
            ]
        ]
    )
    assert ak.to_list(S.pid(trk, "muon", 0.5)) == [[True, False]]
    assert ak.to_list(S.pid(trk, "electron", 0.5)) == [[False, True]]
    assert ak.to_list(S.from_ip(trk)) == [[True, False]]
    assert ak.to_list(S.from_ip(trk, d0_max=1.0, z0_max=1.0)) == [[False, True]]
    with pytest.raises(ValueError, match="unknown particle kind"):
        S.pid(trk, "proton", 0.5)


@pytest.mark.parametrize(
    ("deg", "fwd", "barrel", "bwd", "gap"),
    [(20.0, True, False, False, False), (31.8, False, False, False, True), (32.5, False, True, False, False),
     (90.5, False, True, False, True), (128.0, False, True, False, False), (129.5, False, False, False, True),
     (140.0, False, False, True, False), (160.0, False, False, False, True)],
)  # fmt: skip
def test_ecl_regions(deg: float, fwd: bool, barrel: bool, bwd: bool, gap: bool) -> None:
    th = np.array([deg * DEG])
    assert S.in_ecl_forward(th)[0] == fwd
    assert S.in_ecl_barrel(th)[0] == barrel
    assert S.in_ecl_backward(th)[0] == bwd
    assert S.in_ecl_gap(th)[0] == gap
    # the 90-degree gap is only excluded on request
    assert S.in_ecl_barrel(th, exclude_gap90=True)[0] == (barrel and abs(deg - 90) > C.ECL_BARREL_GAP90_HALF_WIDTH_DEG)


def test_klm_regions() -> None:
    th = np.radians([10.0, 30.0, 60.0, 149.0, 160.0])
    assert S.in_klm(th).tolist() == [False, True, True, True, False]
    assert S.in_klm_barrel(th).tolist() == [False, False, True, False, False]
    assert S.in_cdc(th).tolist() == [False, True, True, True, False]


def _photons(rows):
    return ak.Array([[{"E": e, "theta": t * DEG, "phi": p * DEG} for e, t, p in ev] for ev in rows])


def test_photon_veto() -> None:
    rec_theta, rec_phi = np.radians([60.0] * 5), np.zeros(5)
    photons = _photons([
        [],                      # nothing: passes
        [(0.3, 70.0, 0.0)],      # 10 deg from the recoil: vetoed
        [(0.05, 70.0, 0.0)],     # in the cone but below the photon threshold: passes
        [(0.3, 120.0, 0.0), (0.3, 120.0, 90.0)],  # far away but 0.6 GeV extra energy: vetoed
        [],                      # KLM cluster in the ECL gap within the cone: vetoed
    ])  # fmt: skip
    klm = ak.Array([[], [], [{"theta": 60 * DEG, "phi": 0.0}], [], [{"theta": 31.8 * DEG, "phi": 0.0}]])
    # the KLM cluster of event 2 is inside the barrel ECL: the ECL covers it, no KLM veto
    # event 4: 31.8 deg is in the forward gap but 28 deg away from the recoil -> move the recoil
    rec_theta[4] = 40 * DEG
    got = S.photon_veto(photons, klm, rec_theta, rec_phi, cone_deg=15, photon_min_energy=0.1, extra_energy_max=0.5)
    assert got.tolist() == [True, False, True, False, False]
    no_klm = S.photon_veto(photons, klm, rec_theta, rec_phi, use_klm_in_ecl_gaps=False)
    assert no_klm.tolist() == [True, False, True, False, True]


def test_trigger() -> None:
    ev = ak.Array({"trg_ffo": [True, False, False], "trg_stt": [False, False, True]})
    assert S.trigger(ev, ["trg_ffo"]).tolist() == [True, False, False]
    assert S.trigger(ev, ["trg_ffo", "trg_stt"]).tolist() == [True, False, True]
    with pytest.raises(ValueError, match="unknown trigger"):
        S.trigger(ev, ["trg_foo"])
    with pytest.raises(KeyError, match="trg_hie"):
        S.trigger(ev, ["trg_hie"])


def _random_objects(rng: np.random.Generator, n: int, mean: float) -> ak.Array:
    counts = rng.poisson(mean, n)
    k = int(counts.sum())
    e = rng.exponential(0.3, k).astype(np.float32)
    e[rng.random(k) < 0.1] = np.float32(0.1)  # exactly at the float32 threshold
    e[rng.random(k) < 0.05] = np.nextafter(np.float32(0.1), np.float32(1))
    flat = {"E": e, "theta": rng.uniform(0, np.pi, k).astype(np.float32),
            "phi": rng.uniform(-np.pi, np.pi, k).astype(np.float32)}  # fmt: skip
    return ak.unflatten(ak.zip(flat), counts)


@pytest.mark.parametrize(("cone", "emin"), [(15.0, 0.1), (0.0, 0.0), (40.0, 0.05), (180.0, 0.1)])
def test_fast_photon_veto_equals_awkward(cone: float, emin: float) -> None:
    """The per-chunk numba veto takes the same decision as the jagged ufunc version, also for
    axes pointing exactly at (or exactly one cone angle from) a photon or KLM cluster, photons
    at the float32 energy threshold, NaN axes and events without objects."""
    rng = np.random.default_rng(7)
    n = 4000
    photons, klm = _random_objects(rng, n, 2.0), _random_objects(rng, n, 1.0)
    theta, phi = rng.uniform(0, np.pi, n), rng.uniform(-np.pi, np.pi, n)
    first = ak.firsts(photons)
    has = ~ak.to_numpy(ak.is_none(first))
    at = has & (np.arange(n) % 3 == 0)
    theta[at] = ak.to_numpy(first.theta[at]).astype(np.float64)
    phi[at] = ak.to_numpy(first.phi[at]).astype(np.float64)
    edge = has & (np.arange(n) % 3 == 1)
    theta[edge] = ak.to_numpy(first.theta[edge]).astype(np.float64) + cone * DEG
    phi[edge] = ak.to_numpy(first.phi[edge]).astype(np.float64)
    theta[::11] = np.nan
    kw = {"cone_deg": cone, "photon_min_energy": emin, "extra_energy_max": 0.5}
    ref = S.photon_veto_awkward(photons, klm, theta, phi, **kw)
    veto = S.PhotonVeto(photons, klm, **kw)
    assert veto.fast
    np.testing.assert_array_equal(veto(theta, phi), ref)
    np.testing.assert_array_equal(S.photon_veto(photons, klm, theta, phi, **kw), ref)
    assert 0 < ref.sum() < n  # both outcomes occur
    no_klm = S.photon_veto_awkward(photons, klm, theta, phi, use_klm_in_ecl_gaps=False, **kw)
    np.testing.assert_array_equal(S.PhotonVeto(photons, klm, use_klm_in_ecl_gaps=False, **kw)(theta, phi), no_klm)


def test_photon_veto_prepared_for_some_events() -> None:
    """PhotonVeto(rows=...) (objects of other events left out) and a kinematics.Jagged view of
    the photons give, for those events, the decisions of the full preparation; its extra
    energy is K.extra_energy's, number for number; the jagged fallback honours rows too."""
    from processors import kinematics as K

    rng = np.random.default_rng(5)
    n = 3000
    photons, klm = _random_objects(rng, n, 2.0), _random_objects(rng, n, 1.0)
    theta, phi = rng.uniform(0, np.pi, n), rng.uniform(-np.pi, np.pi, n)
    kw = {"cone_deg": 30.0, "photon_min_energy": 0.1, "extra_energy_max": 0.5}
    full = S.PhotonVeto(photons, klm, **kw)(theta, phi)
    rows = np.flatnonzero(rng.random(n) < 0.3)
    some = S.PhotonVeto(K.Jagged(photons), klm, rows=rows, **kw)
    assert some.fast and some.gamma.ux.size < S.PhotonVeto(photons, klm, **kw).gamma.ux.size
    np.testing.assert_array_equal(some(theta[rows], phi[rows], rows), full[rows])
    np.testing.assert_array_equal(some.extra_energy, K.extra_energy(photons))
    some.fast = False  # the jagged-ufunc path on the same events
    np.testing.assert_array_equal(some(theta[rows], phi[rows], rows), full[rows])
    assert 0 < full[rows].sum() < len(rows)

"""The e e mu mu corner generator (eemumu_corner, samples/generator/twophoton.py): the same process as
eemumu sampled toward the lost-electrons barrel-recoil corner; its weighted distributions equal the unbiased
generator's, its weights average to 1, its cross section is eemumu's, and its seeded output is reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from samples.generator import filters, lorentz, pipeline, registry

N = 150_000


def _vars(process: str, seed: int) -> dict[str, np.ndarray]:
    truth, beams = pipeline.generate_truth(process, N, np.random.default_rng(seed))
    off = truth.offsets[:-1]
    v = np.stack([truth.px, truth.py, truth.pz, truth.E], axis=-1)
    pair = v[off + 2] + v[off + 3]  # mu-, mu+ follow the two spectators
    rec = beams.total - pair
    cms = lorentz.boost(pair, -beams.beta)
    return {
        "w": truth.event["weight"],
        "sel": filters.two_track_recoil(truth, beams, recoil_pt_cms_min=0.1),
        "m2_recoil": lorentz.mass2(rec),
        "cos_recoil": rec[:, 2] / np.linalg.norm(rec[:, :3], axis=1),
        "y_pair": 0.5 * np.log((cms[:, 3] + cms[:, 2]) / (cms[:, 3] - cms[:, 2])),
        "W": lorentz.mass(pair),
    }


@pytest.fixture(scope="module")
def samples() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    return _vars("eemumu", 21), _vars("eemumu_corner", 22)


def _chi2(a: np.ndarray, wa: np.ndarray, b: np.ndarray, wb: np.ndarray, bins: np.ndarray) -> tuple[float, int]:
    """chi2 of two weighted histograms per generated event (same N), with both samples' errors."""
    ha, va = np.histogram(a, bins, weights=wa)[0], np.histogram(a, bins, weights=wa**2)[0]
    hb, vb = np.histogram(b, bins, weights=wb)[0], np.histogram(b, bins, weights=wb**2)[0]
    ok = (va + vb) > 0
    return float(np.sum((ha - hb)[ok] ** 2 / (va + vb)[ok])), int(ok.sum())


def test_same_process_mean_weight_one() -> None:
    assert registry.get("eemumu_corner").xsec_fb() == registry.get("eemumu").xsec_fb()
    truth, _ = pipeline.generate_truth("eemumu_corner", 20_000, np.random.default_rng(3))
    w = truth.event["weight"]
    assert np.all(np.isfinite(w)) and np.all(w > 0)
    assert w.mean() == pytest.approx(1.0, abs=1e-12)  # normalised per generator call
    assert w.std() > 0.5  # and really weighted


@pytest.mark.parametrize(
    ("var", "bins"),
    [("W", np.geomspace(0.5, 10.6, 13)), ("y_pair", np.linspace(-3.0, 3.0, 13))],
)
def test_full_phase_space_matches_unbiased(samples, var: str, bins: np.ndarray) -> None:
    """Over all generated events: the weighted W and pair rapidity spectra equal the unbiased ones."""
    u, c = samples
    chi2, ndf = _chi2(u[var], u["w"], c[var], c["w"], bins)
    assert chi2 < ndf + 4.0 * np.sqrt(2.0 * ndf), (var, chi2, ndf)


@pytest.mark.parametrize(
    ("var", "bins"),
    [
        ("m2_recoil", np.array([-1.0, 20.0, 40.0, 55.0, 70.0, 80.0, 90.0, 100.0])),
        ("cos_recoil", np.linspace(-0.77, 0.91, 8)),
    ],
)
def test_selected_region_matches_unbiased(samples, var: str, bins: np.ndarray) -> None:
    """In the Z' -> invisible filter region: the weighted recoil mass and angle equal the unbiased ones, the
    weighted fraction passing (the cross section there) agrees, and the corner sample has many more events."""
    u, c = samples
    su, sc = u["sel"], c["sel"]
    chi2, ndf = _chi2(u[var][su], u["w"][su], c[var][sc], c["w"][sc], bins)
    assert chi2 < ndf + 4.0 * np.sqrt(2.0 * ndf), (var, chi2, ndf)
    fu, fc = u["w"][su].sum() / N, c["w"][sc].sum() / N
    err = np.hypot(np.sqrt((u["w"][su] ** 2).sum()), np.sqrt((c["w"][sc] ** 2).sum())) / N
    assert abs(fu - fc) < 4.0 * err
    assert sc.sum() > 5 * su.sum()
    # effective statistics per generated event where e e mu mu dominates (recoil masses 5.5-8.4 GeV)
    cu = su & (u["m2_recoil"] > 30) & (u["m2_recoil"] < 70)
    cc = sc & (c["m2_recoil"] > 30) & (c["m2_recoil"] < 70)
    neff = c["w"][cc].sum() ** 2 / (c["w"][cc] ** 2).sum()
    assert neff > 3 * cu.sum(), (neff, cu.sum())


def test_seeded_output_bit_identical() -> None:
    a = pipeline.generate("eemumu_corner", 30_000, seed=9, filter_name="zprime_inv")
    b = pipeline.generate("eemumu_corner", 30_000, seed=9, filter_name="zprime_inv")
    assert a.columns.keys() == b.columns.keys()
    for k in a.columns:
        assert np.array_equal(a.columns[k], b.columns[k]), k
    assert a.columns["weight"].size > 1000

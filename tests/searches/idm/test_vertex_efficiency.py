"""The fast simulation's displaced-vertex efficiency vs the true transverse decay radius (generated h' -> pi pi
with c tau = 8 cm), against the model it is built from (samples/constants.py): per track
TRACK_EFFICIENCY x (1 - r / CDC_OUTER_RADIUS), per vertex VERTEX_EFFICIENCY x both tracks. Measured figures are
printed (run with -s); docs: the README's iDM entry compares them with Belle II's."""

from __future__ import annotations

import itertools

import numpy as np

from samples import constants as C
from samples.generator import idm_model as M
from samples.generator import pipeline

EDGES = np.array([0.2, 1.0, 5.0, 10.0, 20.0, 40.0, 60.0, 80.0])


def test_vertex_efficiency_vs_radius() -> None:
    s = pipeline.generate("idm_pipi", 8000, 21, {**M.benchmark(), "mass2": 0.8, "ctau_h": 8.0}, filter_name=None)
    c = s.columns
    n_mc, n_trk, n_vtx = c["nMCParticle"], c["nTrack"], c["nVertex"]
    mc_off = np.concatenate([[0], np.cumsum(n_mc)])
    trk_off = np.concatenate([[0], np.cumsum(n_trk)])
    ev = np.arange(n_mc.size)
    pdg, mother = c["MCParticle_pdg"], c["MCParticle_mother"]
    # the h' daughters: pi+ and pi- whose mother is the pdg-54 particle; their production point = the decay
    is_dau = (np.abs(pdg) == 211) & (mother >= 0)
    is_dau[is_dau] = pdg[mc_off[:-1][np.repeat(ev, n_mc)][is_dau] + mother[is_dau]] == 54
    evt_of = np.repeat(ev, n_mc)
    first = np.full(n_mc.size, -1)
    first[evt_of[is_dau][::-1]] = np.flatnonzero(is_dau)[::-1]  # first daughter per event
    has = first >= 0
    r = np.hypot(c["MCParticle_vx"][first[has]], c["MCParticle_vy"][first[has]])
    # both daughters inside the CDC polar acceptance with pT above threshold (what the vertex model assumes)
    px, py, pz = (c[f"MCParticle_p{k}"] for k in "xyz")
    theta = np.degrees(np.arctan2(np.hypot(px, py), pz))
    ok_p = is_dau & (theta > C.CDC_THETA_MIN_DEG) & (theta < C.CDC_THETA_MAX_DEG) & (np.hypot(px, py) > 0.1)
    n_ok = np.bincount(evt_of[ok_p], minlength=n_mc.size)[has] == 2
    # a Vertex whose first track comes from an h' daughter
    vtx_evt = np.repeat(ev, n_vtx)
    g = trk_off[:-1][vtx_evt] + c["Vertex_trk1"]
    mc_i = mc_off[:-1][vtx_evt] + c["Track_mcIndex"][g]
    found = np.zeros(n_mc.size, bool)
    found[vtx_evt[is_dau[mc_i]]] = True
    eff, model = [], []
    for lo, hi in itertools.pairwise(EDGES):
        sel = n_ok & (r > lo) & (r < hi)
        eff.append(found[has][sel].mean())
        rm = r[sel]
        model.append(np.mean(C.VERTEX_EFFICIENCY * (C.TRACK_EFFICIENCY * (1 - rm / C.CDC_OUTER_RADIUS)) ** 2))
        assert sel.sum() > 100
        k = sel.sum()
        assert abs(eff[-1] - model[-1]) < 4 * np.sqrt(model[-1] * (1 - model[-1]) / k) + 0.01, (lo, hi, eff, model)
    print("r bins [cm]", EDGES.tolist())
    print("vertex efficiency", np.round(eff, 3).tolist())
    print("model", np.round(model, 3).tolist())
    assert eff[0] > 0.8 and eff[-1] < 0.3  # ~0.86 near the beam pipe, falling with the radius

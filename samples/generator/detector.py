"""Belle II detector response: truth (lab) -> reconstructed collections.

Input: a :class:`TruthEvents` already in the lab with production vertices, and
its :class:`Beams`. Output: a dict in the event-format layout (see
samples/eventformat.py): event columns, counters ``nX`` and *flat* contents
``X_field`` (one entry per object, events in order). The per-particle response
is one numba pass over the events (samples/generator/detector_kernels.py); the
numpy functions below are the vectorised reference of its parametrisation
(tests check that both agree).

Modelled (parameters in samples/constants.py): CDC/ECL/KLM polar acceptances
with the ECL gaps; track pT threshold and efficiency falling with production
radius; pT/angle/impact-parameter smearing; ECL deposits (electrons shower,
muons are MIPs, hadrons either), energy/angle/time smearing and threshold;
photons lost (inefficiency, gaps, outside) and, in the gaps, partly seen by the
KLM; K_L in the KLM; random beam-background clusters; muon KLM layers; PID
scores with momentum/angle-dependent efficiencies and fake rates; displaced
two-track vertices; trigger bits.
"""

from __future__ import annotations

import numpy as np

from samples import constants as C
from samples import eventformat as EF
from samples.generator import detector_kernels as K
from samples.generator.beams import Beams
from samples.generator.truth import TruthEvents

DEG = np.pi / 180.0
CHARGED_STABLE = (11, 13, 211, 321, 2212)
# Final-state particles the detector can see; everything else final (neutrinos, dark states) escapes.
VISIBLE = (11, 13, 211, 321, 2212, 22, 130, 2112)

# ECL energy resolution sigma/E = a/E (+) b/E^(1/4) (+) c, solved once from the
# three TDR points in constants (exact through them; squares must be >= 0).
_E = np.asarray(C.ECL_RES_POINTS_E)
_ECL_ABC2 = K.ECL_ABC2


def ecl_sigma_over_e(e: np.ndarray) -> np.ndarray:
    e = np.maximum(e, 1e-3)
    return np.sqrt(_ECL_ABC2[0] / e**2 + _ECL_ABC2[1] / np.sqrt(e) + _ECL_ABC2[2])


def ecl_theta_res(e: np.ndarray) -> np.ndarray:
    """Polar-angle resolution [rad], log-log interpolation of the TDR points."""
    le = np.log(np.clip(e, 0.02, 10.0))
    return 1e-3 * np.exp(np.interp(le, np.log(_E), np.log(C.ECL_THETA_RES_POINTS_MRAD)))


def ecl_region(theta: np.ndarray) -> np.ndarray:
    """basf2 clusterReg codes from the lab polar angle [rad]."""
    t = theta / DEG
    return np.select(
        [
            (t >= C.ECL_FWD_MIN_DEG) & (t < C.ECL_FWD_MAX_DEG),
            (t >= C.ECL_FWD_MAX_DEG) & (t < C.ECL_FWD_GAP_MAX_DEG),
            (t >= C.ECL_BARREL_MIN_DEG) & (t <= C.ECL_BARREL_MAX_DEG),
            (t > C.ECL_BARREL_MAX_DEG) & (t < C.ECL_BWD_GAP_MAX_DEG),
            (t >= C.ECL_BWD_MIN_DEG) & (t <= C.ECL_BWD_MAX_DEG),
        ],
        [C.ECL_REGION_FWD, C.ECL_REGION_FWD_GAP, C.ECL_REGION_BARREL, C.ECL_REGION_BWD_GAP, C.ECL_REGION_BWD],
        default=C.ECL_REGION_OUTSIDE,
    ).astype(np.int32)


def simulate(truth: TruthEvents, beams: Beams, rng: np.random.Generator, mc: bool = True) -> dict[str, np.ndarray]:
    """Run the detector response. ``truth`` must be in the lab with vertices (vx, vy, vz) set.

    Tracks, ECL clusters, KLM clusters, PID and triggers come from one numba pass
    (detector_kernels.simulate_events); displaced two-track vertices, rare, from numpy.
    """
    n = truth.n_events
    offsets = truth.offsets
    cap = truth.pdg.size  # at most one track / cluster / KLM cluster per particle
    n_bkg = rng.poisson(C.BEAM_BKG_CLUSTERS_MEAN, n)
    cap_ph = cap + int(n_bkg.sum())
    trk_p = np.empty((3, cap))
    trk_f = np.empty((len(K.TRACK_F32), cap), np.float32)
    trk_i = np.empty((len(K.TRACK_I32), cap), np.int32)
    trk_g = np.empty((2, cap), np.int64)
    pho_f = np.empty((len(K.PHOTON_F32), cap_ph), np.float32)
    pho_i = np.empty((len(K.PHOTON_I32), cap_ph), np.int32)
    klm_f = np.empty((len(K.KLM_F32), cap), np.float32)
    klm_i = np.empty((1, cap), np.int32)
    counts = np.empty((3, n), np.int32)
    trig = np.empty((len(K.TRIGGERS), n), bool)
    nt, nph, nk = K.simulate_events(
        rng,
        K.PARAMS,
        K.ECL_THETA_LOG_E,
        K.ECL_THETA_LOG_RES,
        offsets,
        _as(truth.pdg, np.int32),
        _as(truth.final, np.bool_),
        _as(truth.px, np.float64),
        _as(truth.py, np.float64),
        _as(truth.pz, np.float64),
        _as(truth.E, np.float64),
        _as(truth.vx, np.float64),
        _as(truth.vy, np.float64),
        _as(truth.vz, np.float64),
        n_bkg,
        np.ascontiguousarray(beams.beta),
        trk_p,
        trk_f,
        trk_i,
        trk_g,
        pho_f,
        pho_i,
        klm_f,
        klm_i,
        counts,
        trig,
    )
    trk_cols = {k: trk_f[r, :nt] for r, k in enumerate(K.TRACK_F32)}
    trk_cols.update({k: trk_i[r, :nt] for r, k in enumerate(K.TRACK_I32)})
    trk_cols.update({k: trk_p[r, :nt].astype(np.float32) for r, k in enumerate(("px", "py", "pz"))})
    ph_cols = {k: pho_f[r, :nph] for r, k in enumerate(K.PHOTON_F32)}
    ph_cols.update({k: pho_i[r, :nph] for r, k in enumerate(K.PHOTON_I32)})
    klm_cols = {k: klm_f[r, :nk] for r, k in enumerate(K.KLM_F32)}
    klm_cols["layers"] = klm_i[0, :nk]
    vtx_cols, v_evt = _vertices(truth, rng, trk_g[1, :nt], trk_g[0, :nt], trk_i[0, :nt], trk_p[:, :nt], counts[0])
    n_vtx = np.bincount(v_evt, minlength=n).astype(np.int32)

    out: dict[str, np.ndarray] = {k: trig[r] for r, k in enumerate(K.TRIGGERS)}
    for name, cols, cnt in (
        ("Track", trk_cols, counts[0]),
        ("Photon", ph_cols, counts[1]),
        ("KLMCluster", klm_cols, counts[2]),
        ("Vertex", vtx_cols, n_vtx),
    ):
        out[f"n{name}"] = cnt
        # Event-format column order (the files list branches in this order).
        out.update({f"{name}_{c.name}": cols[c.name] for c in EF.COLLECTIONS[name] if c.name in cols})
    if mc:
        out["nMCParticle"] = truth.counts.astype(np.int32)
        out.update(
            {
                "MCParticle_pdg": truth.pdg,
                "MCParticle_px": truth.px,
                "MCParticle_py": truth.py,
                "MCParticle_pz": truth.pz,
                "MCParticle_E": truth.E,
                "MCParticle_vx": truth.vx,
                "MCParticle_vy": truth.vy,
                "MCParticle_vz": truth.vz,
                "MCParticle_mother": truth.mother,
            }
        )
    return out


def _as(a: np.ndarray, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=dtype)


def _vertices(
    truth: TruthEvents,
    rng: np.random.Generator,
    it: np.ndarray,
    t_evt: np.ndarray,
    t_q: np.ndarray,
    t_p: np.ndarray,
    t_counts: np.ndarray,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Two-track vertices: a positive and a negative reconstructed track from the same
    displaced decay (true transverse radius > VERTEX_MIN_RADIUS), fitted with resolution.

    ``it``: truth index of every track, ``t_p``: (3, tracks) smeared momenta (float64)."""
    n = t_counts.size
    cand = np.flatnonzero((truth.mother[it] >= 0) & (np.hypot(truth.vx[it], truth.vy[it]) > C.VERTEX_MIN_RADIUS))
    offsets = truth.offsets
    gm = offsets[t_evt[cand]] + truth.mother[it[cand]]  # truth index of the mother
    q = t_q[cand]
    # First positive and first negative daughter track of every mother (tracks are in order).
    m_pos, first_pos = np.unique(gm[q > 0], return_index=True)
    m_neg, first_neg = np.unique(gm[q < 0], return_index=True)
    mothers, ip, ineg = np.intersect1d(m_pos, m_neg, assume_unique=True, return_indices=True)
    i1 = cand[q > 0][first_pos[ip]]
    i2 = cand[q < 0][first_neg[ineg]]
    keep = rng.uniform(size=mothers.size) < C.VERTEX_EFFICIENCY
    i1, i2 = i1[keep], i2[keep]
    v_evt = t_evt[i1]
    # Daughters' production point = the mother's decay point; resolution grows with radius.
    g1 = it[i1]
    rr = np.hypot(truth.vx[g1], truth.vy[g1])
    scale = np.clip(rr / C.VERTEX_RES_R_REF, *C.VERTEX_RES_SCALE_RANGE)
    sig_t = C.VERTEX_RES_TRANSVERSE * scale
    sig_l = C.VERTEX_RES_LONGITUDINAL * scale
    # Index within the event = global track index minus the event's first track.
    t_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(t_counts, out=t_off[1:])
    order = np.argsort(v_evt, kind="stable")
    cols = {
        "x": truth.vx[g1] + sig_t * rng.standard_normal(g1.size),
        "y": truth.vy[g1] + sig_t * rng.standard_normal(g1.size),
        "z": truth.vz[g1] + sig_l * rng.standard_normal(g1.size),
        "chi2prob": rng.uniform(size=g1.size),
        "trk1": (i1 - t_off[v_evt]).astype(np.int32),
        "trk2": (i2 - t_off[v_evt]).astype(np.int32),
        "px": t_p[0, i1] + t_p[0, i2],
        "py": t_p[1, i1] + t_p[1, i2],
        "pz": t_p[2, i1] + t_p[2, i2],
    }
    return {k: v[order] for k, v in cols.items()}, v_evt[order]

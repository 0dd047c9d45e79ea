"""Belle II detector response, columnar: truth (lab) -> reconstructed collections.

Input: a :class:`TruthEvents` already in the lab with production vertices, and
its :class:`Beams`. Output: a dict in the event-format layout (see
samples/eventformat.py): event columns, counters ``nX`` and *flat* contents
``X_field`` (one entry per object, events in order). Everything works on whole
particle columns; the only per-event operations are bincounts and sorts.

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
from samples.generator.beams import Beams
from samples.generator.filters import charge_of
from samples.generator.truth import TruthEvents

DEG = np.pi / 180.0
CHARGED_STABLE = (11, 13, 211, 321, 2212)
# Final-state particles the detector can see; everything else final (neutrinos, dark states) escapes.
VISIBLE = (11, 13, 211, 321, 2212, 22, 130, 2112)

# ECL energy resolution sigma/E = a/E (+) b/E^(1/4) (+) c, solved once from the
# three TDR points in constants (exact through them; squares must be >= 0).
_E = np.asarray(C.ECL_RES_POINTS_E)
_S2 = (np.asarray(C.ECL_RES_POINTS_SIGMA_OVER_E)) ** 2
_ECL_ABC2 = np.linalg.solve(np.stack([_E**-2, _E**-0.5, np.ones(3)], axis=1), _S2)
_ECL_ABC2 = np.maximum(_ECL_ABC2, 0.0)


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


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _counts(evt: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(evt, minlength=n).astype(np.int32)


def _wrap(phi: np.ndarray) -> np.ndarray:
    return (phi + np.pi) % (2 * np.pi) - np.pi


def _pid_score(rng: np.random.Generator, identified: np.ndarray) -> np.ndarray:
    """Scores: identified -> uniform in [0.9, 1]; others -> 0.5 u^2 (peaked at 0).

    The efficiencies and fake rates in constants are then those of any cut
    between 0.5 and 0.9 (the usual Belle II working points).
    """
    u = rng.uniform(size=identified.shape)
    return np.where(identified, 0.9 + 0.1 * u, 0.5 * u * u).astype(np.float32)


def simulate(
    truth: TruthEvents, beams: Beams, rng: np.random.Generator, mc: bool = True
) -> dict[str, np.ndarray]:
    """Run the detector response. ``truth`` must be in the lab with vertices (vx, vy, vz) set."""
    n = truth.n_events
    offsets = truth.offsets
    # Only stable visible particles reach the detector: work on that subset (index iv into truth).
    iv = np.flatnonzero(truth.final & np.isin(np.abs(truth.pdg), VISIBLE))
    evt = truth.event_index()[iv]
    local = (iv - offsets[evt]).astype(np.int32)  # MCParticle index within the event
    apdg = np.abs(truth.pdg[iv])
    px, py, pz, E = truth.px[iv], truth.py[iv], truth.pz[iv], truth.E[iv]
    pt = np.hypot(px, py)
    p = np.hypot(pt, pz)
    theta = np.arctan2(pt, pz)
    phi = np.arctan2(py, px)
    q = charge_of(truth.pdg[iv])
    charged = q != 0
    beta = p / E
    tdeg = theta / DEG
    m = iv.size

    # ---------------------------------------------------------------- tracks
    r_prod = np.hypot(truth.vx[iv], truth.vy[iv])
    eff = C.TRACK_EFFICIENCY * np.clip(1.0 - r_prod / C.CDC_OUTER_RADIUS, 0.0, 1.0)
    has_track = (
        charged
        & (tdeg > C.CDC_THETA_MIN_DEG)
        & (tdeg < C.CDC_THETA_MAX_DEG)
        & (pt > C.TRACK_PT_MIN)
        & (rng.random(m) < eff)
    )
    it = np.flatnonzero(has_track)
    nt = it.size
    t_evt = evt[it]
    t_p, t_pt, t_beta = p[it], pt[it], beta[it]
    rel = np.hypot(C.TRACK_PT_RES_A * t_pt, C.TRACK_PT_RES_B / t_beta)
    pt_s = t_pt * (1.0 + rel * rng.standard_normal(nt))
    ang = np.hypot(C.TRACK_ANGLE_RES, C.TRACK_ANGLE_RES_MS / (t_p * t_beta))
    th_s = theta[it] + ang * rng.standard_normal(nt)
    ph_s = phi[it] + ang * rng.standard_normal(nt)
    # Impact parameters of the straight-line extrapolation from the production point
    # (curvature neglected: fine for the d0 of displaced tracks at the cm scale).
    g_it = iv[it]
    vx, vy, vz = truth.vx[g_it], truth.vy[g_it], truth.vz[g_it]
    tpx, tpy, tpz = px[it], py[it], pz[it]
    d0 = (vx * tpy - vy * tpx) / t_pt
    z0 = vz - (vx * tpx + vy * tpy) / t_pt * tpz / t_pt
    ms = C.TRACK_IP_RES_MS / (t_p * t_beta)
    d0 = d0 + np.hypot(C.TRACK_D0_RES, ms) * rng.standard_normal(nt)
    z0 = z0 + np.hypot(C.TRACK_Z0_RES, ms) * rng.standard_normal(nt)
    trk_px = pt_s * np.cos(ph_s)
    trk_py = pt_s * np.sin(ph_s)
    trk_pz = pt_s / np.tan(th_s)

    # ----------------------------------------------------------- ECL deposits
    region = ecl_region(theta)
    in_ecl = (region == C.ECL_REGION_FWD) | (region == C.ECL_REGION_BARREL) | (region == C.ECL_REGION_BWD)
    # Low-pT charged particles curl up before the barrel ECL.
    reaches = ~charged | np.where(region == C.ECL_REGION_BARREL, pt > C.PT_MIN_ECL_BARREL, p > 0.1)
    ic = np.flatnonzero(in_ecl & reaches)
    a, e_true, reg_c = apdg[ic], E[ic], region[ic]
    u = rng.random(ic.size)
    mip = np.minimum(C.ECL_MIP_ENERGY * (1.0 + 0.1 * rng.gumbel(size=ic.size)), e_true)
    shower = rng.uniform(0.2, 0.9, ic.size) * e_true
    ineff = np.where(
        reg_c == C.ECL_REGION_BARREL, C.ECL_PHOTON_INEFFICIENCY_BARREL, C.ECL_PHOTON_INEFFICIENCY_ENDCAP
    )
    is_had = (a == 211) | (a == 321) | (a == 2212)
    dep = np.select(
        [a == 22, a == 11, a == 13, is_had, (a == 130) | (a == 2112)],
        [
            np.where(u >= ineff, e_true, 0.0),
            e_true,
            mip,
            np.where(u < C.HADRON_MIP_FRACTION, mip, shower),
            np.where(u < 0.6, shower, 0.0),
        ],
        default=0.0,
    )
    e_s = dep * (1.0 + ecl_sigma_over_e(dep) * rng.standard_normal(ic.size))
    keep = e_s > C.ECL_CLUSTER_THRESHOLD
    ic, e_s = ic[keep], e_s[keep]
    nc = ic.size
    res_th = ecl_theta_res(e_s)
    cth = theta[ic] + res_th * rng.standard_normal(nc)
    cph = phi[ic] + res_th / np.maximum(np.sin(theta[ic]), 0.2) * rng.standard_normal(nc)
    ctime = C.ECL_TIME_RES_NS * np.sqrt(0.1 / np.maximum(e_s, 0.02)) * rng.standard_normal(nc)
    chits = np.maximum(1.0, 2.0 + 14.0 * np.sqrt(e_s) * (1.0 + 0.15 * rng.standard_normal(nc)))
    # Clusters of tracked particles are matched to the track; the rest are "photons".
    cluster_of = np.full(m, -1, dtype=np.int64)
    cluster_of[ic] = np.arange(nc)
    ct = cluster_of[it]
    trk_clusterE = np.where(ct >= 0, e_s[np.maximum(ct, 0)] if nc else 0.0, 0.0)
    neutral = ~has_track[ic]

    # ------------------------------------------------------------ beam background
    n_bkg = rng.poisson(C.BEAM_BKG_CLUSTERS_MEAN, n)
    b_evt = np.repeat(np.arange(n), n_bkg)
    b_e = rng.exponential(C.BEAM_BKG_CLUSTER_E_SLOPE, b_evt.size)
    cos_lo, cos_hi = np.cos(C.ECL_BWD_MAX_DEG * DEG), np.cos(C.ECL_FWD_MIN_DEG * DEG)
    b_th = np.arccos(rng.uniform(cos_lo, cos_hi, b_evt.size))
    b_reg = ecl_region(b_th)
    b_keep = (b_e > C.ECL_CLUSTER_THRESHOLD) & (
        (b_reg == C.ECL_REGION_FWD) | (b_reg == C.ECL_REGION_BARREL) | (b_reg == C.ECL_REGION_BWD)
    )
    b_evt, b_e, b_th, b_reg = b_evt[b_keep], b_e[b_keep], b_th[b_keep], b_reg[b_keep]
    nb = b_evt.size
    b_ph = rng.uniform(-np.pi, np.pi, nb)
    b_time = rng.uniform(-100.0, 100.0, nb)  # out-of-time: flat over the readout window
    b_hits = 1.0 + rng.poisson(2.0, nb)

    ipn = ic[neutral]
    ph_evt = np.concatenate([evt[ipn], b_evt])
    order = np.argsort(ph_evt, kind="stable")
    ph_cols = {
        "E": np.concatenate([e_s[neutral], b_e]),
        "theta": np.concatenate([cth[neutral], b_th]),
        "phi": _wrap(np.concatenate([cph[neutral], b_ph])),
        "time": np.concatenate([ctime[neutral], b_time]),
        "region": np.concatenate([region[ipn], b_reg]),
        "nHits": np.concatenate([chits[neutral], b_hits]),
        "mcIndex": np.concatenate([local[ipn], np.full(nb, -1, np.int32)]),
    }
    ph_cols = {k: v[order] for k, v in ph_cols.items()}
    ph_evt = ph_evt[order]

    # -------------------------------------------------------------------- KLM
    tklm = (tdeg > C.KLM_THETA_MIN_DEG) & (tdeg < C.KLM_THETA_MAX_DEG)
    klm_barrel = (tdeg > C.KLM_BARREL_MIN_DEG) & (tdeg < C.KLM_BARREL_MAX_DEG)
    in_gap = (region == C.ECL_REGION_FWD_GAP) | (region == C.ECL_REGION_BWD_GAP)
    cand = np.flatnonzero(tklm & (((apdg == 22) & in_gap) | (apdg == 130)))
    is_gap_photon = apdg[cand] == 22
    seen = rng.random(cand.size) < np.where(
        is_gap_photon, C.KLM_PHOTON_IN_GAP_EFFICIENCY, C.KLM_KL_EFFICIENCY
    )
    ik, is_gap_photon = cand[seen], is_gap_photon[seen]
    nk = ik.size
    klm_layers = np.where(is_gap_photon, 1 + rng.geometric(0.6, nk), 1 + rng.geometric(0.25, nk))
    klm_cols = {
        "theta": theta[ik] + 0.02 * rng.standard_normal(nk),
        "phi": _wrap(phi[ik] + 0.02 * rng.standard_normal(nk)),
        "layers": np.minimum(klm_layers, C.KLM_N_LAYERS),
        "time": 2.0 * rng.standard_normal(nk),
    }
    k_evt = evt[ik]

    # Track KLM layers: muons penetrate with a range ~ momentum; hadrons rarely punch through.
    a_t = apdg[it]
    t_klm, t_klm_barrel = tklm[it], klm_barrel[it]
    reach_klm = t_klm & np.where(t_klm_barrel, t_pt > C.PT_MIN_KLM_BARREL, t_p > C.KLM_MUON_P_MIN)
    frac = np.clip((t_p - C.KLM_MUON_P_MIN) / (C.KLM_MUON_P_FULL - C.KLM_MUON_P_MIN), 0.0, 1.0)
    mu_layers = np.ceil(frac * C.KLM_N_LAYERS * rng.uniform(0.85, 1.0, nt))
    had_layers = np.where(rng.random(nt) < C.KLM_HADRON_PUNCH_THROUGH, rng.geometric(0.5, nt), 0)
    t_is_had = (a_t == 211) | (a_t == 321) | (a_t == 2212)
    layers = np.where(reach_klm & (a_t == 13), mu_layers, np.where(reach_klm & t_is_had, had_layers, 0))
    trk_layers = np.minimum(layers, C.KLM_N_LAYERS).astype(np.int32)

    # -------------------------------------------------------------------- PID
    th_t = tdeg[it]
    turn_on = _sigmoid((t_p - C.MUID_P_THRESHOLD) / C.MUID_P_WIDTH)
    mu_eff = C.MUID_EFF_PLATEAU * turn_on * np.where(t_klm_barrel, 1.0, C.MUID_ENDCAP_FACTOR) * t_klm
    p_mu = np.where(a_t == 13, mu_eff, np.where(a_t == 11, 0.001, C.MUID_PION_FAKE * turn_on))
    e_eff = np.where(t_p > C.EID_P_THRESHOLD, C.EID_EFF_PLATEAU, C.EID_EFF_LOW_P) * np.where(
        in_ecl[it], 1.0, 0.5
    )
    p_e = np.where(a_t == 11, e_eff, np.where(a_t == 13, 0.002, C.EID_PION_FAKE))
    k_eff = C.KID_EFF_PLATEAU * np.clip(1.0 - 0.1 * np.maximum(t_p - 2.5, 0.0), 0.5, 1.0)
    k_fake = np.minimum(C.KID_PION_FAKE * (0.5 + 0.25 * t_p), 0.15)
    p_k = np.where(a_t == 321, k_eff, np.where(a_t == 211, k_fake, 0.01))
    p_pi = np.where(a_t == 211, C.PIONID_EFF, C.PIONID_FAKE * np.where(a_t == 321, 2.0, 1.0))
    # Forward/backward edges of the CDC have worse dE/dx: a 5 % relative loss.
    edge = np.where((th_t < 25.0) | (th_t > 140.0), 0.95, 1.0)
    muonID = _pid_score(rng, rng.random(nt) < p_mu)
    electronID = _pid_score(rng, rng.random(nt) < p_e * edge)
    kaonID = _pid_score(rng, rng.random(nt) < p_k * edge)
    pionID = _pid_score(rng, rng.random(nt) < p_pi * edge)

    t_p_s = np.hypot(pt_s, trk_pz)
    trk_cols = {
        "px": trk_px,
        "py": trk_py,
        "pz": trk_pz,
        "charge": q[it],
        "d0": d0,
        "z0": z0,
        "muonID": muonID,
        "electronID": electronID,
        "pionID": pionID,
        "kaonID": kaonID,
        "EoverP": trk_clusterE / t_p_s,
        "clusterE": trk_clusterE,
        "klmLayers": trk_layers,
        "mcIndex": local[it],
    }

    # ------------------------------------------------------ displaced vertices
    vtx_cols, v_evt = _vertices(truth, rng, g_it, t_evt, q[it], trk_cols, offsets, n)

    # ------------------------------------------------------------------ trigger
    trig = _trigger(
        n,
        beams,
        t_evt,
        trk_cols,
        trk_layers,
        clus_evt=np.concatenate([evt[ic], b_evt]),
        clus_e=np.concatenate([e_s, b_e]),
        clus_th=np.concatenate([cth, b_th]),
        clus_ph=np.concatenate([cph, b_ph]),
    )

    out: dict[str, np.ndarray] = dict(trig)
    for name, cols, cevt in (
        ("Track", trk_cols, t_evt),
        ("Photon", ph_cols, ph_evt),
        ("KLMCluster", klm_cols, k_evt),
        ("Vertex", vtx_cols, v_evt),
    ):
        out[f"n{name}"] = _counts(cevt, n)
        out.update({f"{name}_{k}": v for k, v in cols.items()})
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


def _vertices(
    truth: TruthEvents,
    rng: np.random.Generator,
    it: np.ndarray,
    t_evt: np.ndarray,
    t_q: np.ndarray,
    trk: dict[str, np.ndarray],
    offsets: np.ndarray,
    n: int,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Two-track vertices: a positive and a negative reconstructed track from the same
    displaced decay (true transverse radius > VERTEX_MIN_RADIUS), fitted with resolution."""
    mother = truth.mother[it]
    gm = np.where(mother >= 0, offsets[t_evt] + mother, -1)
    r = np.hypot(truth.vx[it], truth.vy[it])
    cand = (gm >= 0) & (r > C.VERTEX_MIN_RADIUS)
    npart = truth.pdg.size
    big = np.iinfo(np.int64).max
    first_pos = np.full(npart, big)
    first_neg = np.full(npart, big)
    tidx = np.arange(it.size)
    pos = cand & (t_q > 0)
    neg = cand & (t_q < 0)
    np.minimum.at(first_pos, gm[pos], tidx[pos])
    np.minimum.at(first_neg, gm[neg], tidx[neg])
    mothers = np.flatnonzero((first_pos < big) & (first_neg < big))
    i1, i2 = first_pos[mothers], first_neg[mothers]
    keep = rng.uniform(size=mothers.size) < C.VERTEX_EFFICIENCY
    mothers, i1, i2 = mothers[keep], i1[keep], i2[keep]
    v_evt = t_evt[i1]
    # Daughters' production point = the mother's decay point; resolution grows with radius.
    g1 = it[i1]
    rr = np.hypot(truth.vx[g1], truth.vy[g1])
    scale = np.clip(rr / 10.0, 0.2, 3.0)
    sig_t = C.VERTEX_RES_TRANSVERSE * scale
    sig_l = C.VERTEX_RES_LONGITUDINAL * scale
    # Per-event track numbering: tracks are grouped by event in order, so the index
    # within the event is the global track index minus the event's first track.
    t_counts = np.bincount(t_evt, minlength=n)
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
        "px": trk["px"][i1] + trk["px"][i2],
        "py": trk["py"][i1] + trk["py"][i2],
        "pz": trk["pz"][i1] + trk["pz"][i2],
    }
    return {k: v[order] for k, v in cols.items()}, v_evt[order]


def _pairs(evt: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """All (i < j) index pairs of objects in the same event; ``evt`` sorted."""
    counts = np.bincount(evt, minlength=n)
    start = np.zeros(n, dtype=np.int64)
    np.cumsum(counts[:-1], out=start[1:])
    local = np.arange(evt.size) - start[evt]
    n_after = counts[evt] - local - 1  # partners j > i in the same event
    i = np.repeat(np.arange(evt.size), n_after)
    first = np.cumsum(n_after) - n_after
    j = i + 1 + (np.arange(i.size) - np.repeat(first, n_after))
    return i, j


def _cms_energy(
    beams: Beams, evt: np.ndarray, e: np.ndarray, px: np.ndarray, py: np.ndarray, pz: np.ndarray
) -> np.ndarray:
    """E* = gamma (E - beta . p) with the per-event CMS velocity (the y component is 0)."""
    beta = beams.beta
    gamma = 1.0 / np.sqrt(1.0 - np.sum(beta * beta, axis=1))
    return gamma[evt] * (e - beta[evt, 0] * px - beta[evt, 1] * py - beta[evt, 2] * pz)


def _trigger(
    n: int,
    beams: Beams,
    t_evt: np.ndarray,
    trk: dict[str, np.ndarray],
    trk_layers: np.ndarray,
    clus_evt: np.ndarray,
    clus_e: np.ndarray,
    clus_th: np.ndarray,
    clus_ph: np.ndarray,
) -> dict[str, np.ndarray]:
    """Emulated L1 bits (definitions in samples/eventformat.py)."""
    tpx, tpy, tpz = trk["px"], trk["py"], trk["pz"]
    tpt = np.hypot(tpx, tpy)
    tp = np.hypot(tpt, tpz)
    tth = np.degrees(np.arctan2(tpt, tpz))
    # ffo: two tracks with pT > 0.3 GeV at > 90 deg opening angle (all pairs, numpy).
    sel = np.flatnonzero(tpt > 0.3)
    unit = np.stack([tpx[sel], tpy[sel], tpz[sel]], axis=-1) / tp[sel, None]
    i, j = _pairs(t_evt[sel], n)
    ffo = np.bincount(t_evt[sel][i], weights=np.sum(unit[i] * unit[j], axis=1) < 0.0, minlength=n) > 0
    # stt: one track with p* > 0.7 GeV in 35-127 deg (lab polar angle).
    pstar = np.sqrt(
        np.maximum(_cms_energy(beams, t_evt, np.hypot(tp, C.M_PI), tpx, tpy, tpz) ** 2 - C.M_PI**2, 0)
    )
    stt = np.bincount(t_evt, weights=(pstar > 0.7) & (tth > 35) & (tth < 127), minlength=n) > 0
    cdcklm = np.bincount(t_evt, weights=trk_layers >= 1, minlength=n) > 0
    cdeg = np.degrees(clus_th)
    hie = np.bincount(clus_evt, weights=np.where((cdeg > 22) & (cdeg < 126), clus_e, 0.0), minlength=n) > 1.0
    # lml: cluster energies in the CMS (massless along the cluster direction).
    st = clus_e * np.sin(clus_th)
    estar = _cms_energy(
        beams, clus_evt, clus_e, st * np.cos(clus_ph), st * np.sin(clus_ph), clus_e * np.cos(clus_th)
    )
    n_hi = np.bincount(clus_evt, weights=(estar > 1.0) & (cdeg > 32) & (cdeg < 130), minlength=n)
    n_03 = np.bincount(clus_evt, weights=estar > 0.3, minlength=n)
    lml = (n_hi == 1) & (n_03 == 1)
    return {"trg_ffo": ffo, "trg_stt": stt, "trg_cdcklm": cdcklm, "trg_hie": hie, "trg_lml": lml}

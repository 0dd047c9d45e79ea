"""numba kernels of the detector response (samples/generator/detector.py drives them).

Why numba: the numpy version made ~60 full-length temporaries per particle
column (acceptance masks, per-species ``np.where``/``np.select`` branches,
gathers, an argsort to merge beam-background clusters into the photon list,
pair building for the trigger) and drew random numbers for every particle
whatever its species. One pass over the events, particle by particle, draws
only the numbers a particle needs and writes each output object once, in the
event-format order (photons: physics clusters in particle order, then the
event's beam-background clusters).

The parametrisation is exactly that of the numpy version (same formulas, same
constants). The detector parameters reach the kernels as an argument
(:data:`PARAMS`, built from samples/constants.py at import), never as numba
globals: a cached kernel freezes globals, so a changed constant would otherwise
be ignored until the cache is cleared.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numba
import numpy as np

from samples import constants as C

_PARAM_NAMES = (
    "TRACK_EFFICIENCY CDC_OUTER_RADIUS CDC_THETA_MIN_DEG CDC_THETA_MAX_DEG TRACK_PT_MIN "
    "TRACK_PT_RES_A TRACK_PT_RES_B TRACK_ANGLE_RES TRACK_ANGLE_RES_MS TRACK_IP_RES_MS "
    "TRACK_D0_RES TRACK_Z0_RES "
    "ECL_FWD_MIN_DEG ECL_FWD_MAX_DEG ECL_FWD_GAP_MAX_DEG ECL_BARREL_MIN_DEG ECL_BARREL_MAX_DEG "
    "ECL_BWD_GAP_MAX_DEG ECL_BWD_MIN_DEG ECL_BWD_MAX_DEG PT_MIN_ECL_BARREL ECL_MIP_ENERGY "
    "HADRON_MIP_FRACTION ECL_PHOTON_INEFFICIENCY_BARREL ECL_PHOTON_INEFFICIENCY_ENDCAP "
    "ECL_CLUSTER_THRESHOLD ECL_TIME_RES_NS "
    "BEAM_BKG_CLUSTER_E_SLOPE "
    "KLM_THETA_MIN_DEG KLM_THETA_MAX_DEG KLM_BARREL_MIN_DEG KLM_BARREL_MAX_DEG "
    "KLM_PHOTON_IN_GAP_EFFICIENCY KLM_KL_EFFICIENCY KLM_N_LAYERS PT_MIN_KLM_BARREL KLM_MUON_P_MIN "
    "KLM_MUON_P_FULL KLM_HADRON_PUNCH_THROUGH "
    "MUID_EFF_PLATEAU MUID_P_THRESHOLD MUID_P_WIDTH MUID_ENDCAP_FACTOR MUID_PION_FAKE "
    "EID_P_THRESHOLD EID_EFF_PLATEAU EID_EFF_LOW_P EID_PION_FAKE KID_EFF_PLATEAU KID_PION_FAKE "
    "PIONID_EFF PIONID_FAKE M_PI"
).split()
DetectorParams = namedtuple("DetectorParams", [*_PARAM_NAMES, "ECL_A2", "ECL_B2", "ECL_C2"])


def _ecl_resolution_coefficients() -> np.ndarray:
    """sigma/E = a/E (+) b/E^(1/4) (+) c solved through the three TDR points (squares >= 0)."""
    e = np.asarray(C.ECL_RES_POINTS_E)
    s2 = np.asarray(C.ECL_RES_POINTS_SIGMA_OVER_E) ** 2
    abc2 = np.linalg.solve(np.stack([e**-2, e**-0.5, np.ones(3)], axis=1), s2)
    return np.maximum(abc2, 0.0)


ECL_ABC2 = _ecl_resolution_coefficients()
PARAMS = DetectorParams(*[float(getattr(C, k)) for k in _PARAM_NAMES], *(float(x) for x in ECL_ABC2))
# log-log interpolation table of the ECL polar-angle resolution (TDR points).
ECL_THETA_LOG_E = np.log(np.asarray(C.ECL_RES_POINTS_E, dtype=np.float64))
ECL_THETA_LOG_RES = np.log(np.asarray(C.ECL_THETA_RES_POINTS_MRAD, dtype=np.float64))

REGION_OUTSIDE = C.ECL_REGION_OUTSIDE
REGION_FWD = C.ECL_REGION_FWD
REGION_BARREL = C.ECL_REGION_BARREL
REGION_BWD = C.ECL_REGION_BWD
REGION_FWD_GAP = C.ECL_REGION_FWD_GAP
REGION_BWD_GAP = C.ECL_REGION_BWD_GAP

# Rows of the kernel's output blocks (one contiguous row per event-format column).
TRACK_F32 = ("d0", "z0", "muonID", "electronID", "pionID", "kaonID", "EoverP", "clusterE")
TRACK_I32 = ("charge", "klmLayers", "mcIndex")
PHOTON_F32 = ("E", "theta", "phi", "time", "nHits")
PHOTON_I32 = ("region", "mcIndex")
KLM_F32 = ("theta", "phi", "time")
TRIGGERS = ("trg_ffo", "trg_stt", "trg_cdcklm", "trg_hie", "trg_lml")

_RAD2DEG = 180.0 / math.pi


@numba.njit(cache=True, inline="always")
def ecl_region_deg(t: float, P) -> int:  # pragma: no cover - numba
    """basf2 clusterReg from the lab polar angle [deg] (same boundaries as detector.ecl_region)."""
    if t >= P.ECL_FWD_MIN_DEG and t < P.ECL_FWD_MAX_DEG:
        return REGION_FWD
    if t >= P.ECL_FWD_MAX_DEG and t < P.ECL_FWD_GAP_MAX_DEG:
        return REGION_FWD_GAP
    if t >= P.ECL_BARREL_MIN_DEG and t <= P.ECL_BARREL_MAX_DEG:
        return REGION_BARREL
    if t > P.ECL_BARREL_MAX_DEG and t < P.ECL_BWD_GAP_MAX_DEG:
        return REGION_BWD_GAP
    if t >= P.ECL_BWD_MIN_DEG and t <= P.ECL_BWD_MAX_DEG:
        return REGION_BWD
    return REGION_OUTSIDE


@numba.njit(cache=True, inline="always")
def ecl_sigma_over_e(e: float, P) -> float:  # pragma: no cover - numba
    e = max(e, 1e-3)
    return math.sqrt(P.ECL_A2 / (e * e) + P.ECL_B2 / math.sqrt(e) + P.ECL_C2)


@numba.njit(cache=True, inline="always")
def ecl_theta_res(e: float, log_e: np.ndarray, log_res: np.ndarray) -> float:  # pragma: no cover
    """1e-3 * exp(interp(log E)) on the TDR points, constant beyond the end points (as np.interp)."""
    le = math.log(min(max(e, 0.02), 10.0))
    k = log_e.size
    if le <= log_e[0]:
        y = log_res[0]
    elif le >= log_e[k - 1]:
        y = log_res[k - 1]
    else:
        j = 1
        while le > log_e[j]:
            j += 1
        f = (le - log_e[j - 1]) / (log_e[j] - log_e[j - 1])
        y = log_res[j - 1] + f * (log_res[j] - log_res[j - 1])
    return 1e-3 * math.exp(y)


@numba.njit(cache=True, inline="always")
def charge_of(pdg: int) -> int:  # pragma: no cover - numba
    a = abs(pdg)
    s = 1 if pdg > 0 else (-1 if pdg < 0 else 0)
    if a == 11 or a == 13 or a == 15:
        return -s
    if a == 211 or a == 321 or a == 2212:
        return s
    return 0


@numba.njit(cache=True, inline="always")
def _visible(apdg: int) -> bool:  # pragma: no cover - numba
    return (
        apdg == 11
        or apdg == 13
        or apdg == 211
        or apdg == 321
        or apdg == 2212
        or apdg == 22
        or apdg == 130
        or apdg == 2112
    )


@numba.njit(cache=True, inline="always")
def _hypot(x: float, y: float) -> float:  # pragma: no cover - numba
    """sqrt(x^2 + y^2): libm's hypot guards against overflow, which GeV-scale inputs never need."""
    return math.sqrt(x * x + y * y)


@numba.njit(cache=True, inline="always")
def _wrap(phi: float) -> float:  # pragma: no cover - numba
    """Azimuth into [-pi, pi) (Python-modulo semantics, as the numpy version)."""
    x = phi + math.pi
    return x - 2.0 * math.pi * math.floor(x / (2.0 * math.pi)) - math.pi


@numba.njit(cache=True, inline="always")
def _pid_score(rng, prob: float) -> float:  # pragma: no cover - numba
    """Identified with probability ``prob`` -> uniform in [0.9, 1]; others -> 0.5 v^2 (peaked at 0).

    One uniform serves both: below ``prob`` it decides "identified" and u / prob is again
    uniform; above, (u - prob) / (1 - prob) is. Same distribution as two draws, half the cost.
    """
    u = rng.random()
    if u < prob:
        return 0.9 + 0.1 * (u / prob)
    v = (u - prob) / (1.0 - prob)
    return 0.5 * v * v


@numba.njit(cache=True, inline="always")
def _gumbel(rng) -> float:  # pragma: no cover - numba
    """Standard Gumbel, -log(-log U), U in (0, 1) (numpy's construction)."""
    u = 1.0 - rng.random()
    while u >= 1.0:
        u = 1.0 - rng.random()
    return -math.log(-math.log(u))


@numba.njit(cache=True, inline="always")
def _cms_energy(e: float, px: float, py: float, pz: float, b: tuple, gamma: float) -> float:
    return gamma * (e - b[0] * px - b[1] * py - b[2] * pz)  # pragma: no cover - numba


@numba.njit(cache=True, inline="always")
def _trigger_counts(e: float, th: float, ph: float, b: tuple, gamma: float) -> tuple:  # pragma: no cover
    """One ECL cluster's share of the trigger sums: (energy in 22-126 deg, hie cluster?, > 0.3 GeV in CMS?).
    Every cluster counts, track-matched or beam background."""
    cdeg = th * _RAD2DEG
    hie = e if (cdeg > 22.0 and cdeg < 126.0) else 0.0
    st = e * math.sin(th)
    es = _cms_energy(e, st * math.cos(ph), st * math.sin(ph), e * math.cos(th), b, gamma)
    return hie, 1 if (es > 1.0 and cdeg > 32.0 and cdeg < 130.0) else 0, 1 if es > 0.3 else 0


@numba.njit(cache=True)
def simulate_events(
    rng,
    P,
    log_e,
    log_res,
    offsets,
    pdg,
    final,
    px,
    py,
    pz,
    E,
    vx,
    vy,
    vz,
    n_bkg,
    beta,
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
):  # pragma: no cover - numba
    """Detector response of every event; fills the output blocks, returns (tracks, photons, KLM clusters).

    Outputs (rows; columns = objects in event order): trk_p (3: px, py, pz float64), trk_f
    (TRACK_F32), trk_i (TRACK_I32), trk_g (2: event, truth index int64), pho_f (PHOTON_F32),
    pho_i (PHOTON_I32), klm_f (KLM_F32), klm_i (1: layers), counts (3, n: tracks, photons,
    KLM clusters per event), trig (TRIGGERS, n).
    """
    n = offsets.size - 1
    nt = 0
    nph = 0
    nk = 0
    cos_lo = math.cos(P.ECL_BWD_MAX_DEG / _RAD2DEG)
    cos_hi = math.cos(P.ECL_FWD_MIN_DEG / _RAD2DEG)
    n_layers = int(P.KLM_N_LAYERS)
    for ev in range(n):
        t0, ph0, k0 = nt, nph, nk
        bx, by, bz = beta[ev, 0], beta[ev, 1], beta[ev, 2]
        gamma = 1.0 / math.sqrt(1.0 - (bx * bx + by * by + bz * bz))
        stt = False
        cdcklm = False
        hie_sum = 0.0
        n_hi = 0
        n_03 = 0
        for i in range(offsets[ev], offsets[ev + 1]):
            apdg = abs(pdg[i])
            if not final[i] or not _visible(apdg):
                continue
            local = i - offsets[ev]
            ppx, ppy, ppz, ee = px[i], py[i], pz[i], E[i]
            pt = _hypot(ppx, ppy)
            p = _hypot(pt, ppz)
            theta = math.atan2(pt, ppz)
            phi = math.atan2(ppy, ppx)
            q = charge_of(pdg[i])
            pbeta = p / ee
            tdeg = theta * _RAD2DEG

            # ------------------------------------------------------------ track
            has_track = False
            if q != 0 and tdeg > P.CDC_THETA_MIN_DEG and tdeg < P.CDC_THETA_MAX_DEG and pt > P.TRACK_PT_MIN:
                r_prod = _hypot(vx[i], vy[i])
                eff = P.TRACK_EFFICIENCY * min(max(1.0 - r_prod / P.CDC_OUTER_RADIUS, 0.0), 1.0)
                has_track = rng.random() < eff
            if has_track:
                rel = _hypot(P.TRACK_PT_RES_A * pt, P.TRACK_PT_RES_B / pbeta)
                pt_s = pt * (1.0 + rel * rng.standard_normal())
                ang = _hypot(P.TRACK_ANGLE_RES, P.TRACK_ANGLE_RES_MS / (p * pbeta))
                th_s = theta + ang * rng.standard_normal()
                ph_s = phi + ang * rng.standard_normal()
                # Straight-line impact parameters from the production point (curvature neglected).
                d0 = (vx[i] * ppy - vy[i] * ppx) / pt
                z0 = vz[i] - (vx[i] * ppx + vy[i] * ppy) / pt * ppz / pt
                ms = P.TRACK_IP_RES_MS / (p * pbeta)
                d0 += _hypot(P.TRACK_D0_RES, ms) * rng.standard_normal()
                z0 += _hypot(P.TRACK_Z0_RES, ms) * rng.standard_normal()
                trk_p[0, nt] = pt_s * math.cos(ph_s)
                trk_p[1, nt] = pt_s * math.sin(ph_s)
                trk_p[2, nt] = pt_s / math.tan(th_s)
                clus_e = 0.0
                trk_f[0, nt] = d0
                trk_f[1, nt] = z0
                trk_i[0, nt] = q
                trk_i[2, nt] = local
                trk_g[0, nt] = ev
                trk_g[1, nt] = i
                trk_f[6, nt] = 0.0  # EoverP / clusterE until a cluster is matched below
                trk_f[7, nt] = 0.0

            # ------------------------------------------------------------- ECL
            region = ecl_region_deg(tdeg, P)
            in_ecl = region == REGION_FWD or region == REGION_BARREL or region == REGION_BWD
            if region == REGION_BARREL:
                reaches = q == 0 or pt > P.PT_MIN_ECL_BARREL
            else:
                reaches = q == 0 or p > 0.1
            if in_ecl and reaches:
                is_had = apdg == 211 or apdg == 321 or apdg == 2212
                dep = 0.0
                if apdg == 22:
                    ineff = (
                        P.ECL_PHOTON_INEFFICIENCY_BARREL
                        if region == REGION_BARREL
                        else P.ECL_PHOTON_INEFFICIENCY_ENDCAP
                    )
                    dep = ee if rng.random() >= ineff else 0.0
                elif apdg == 11:
                    dep = ee
                elif apdg == 13 or (is_had and rng.random() < P.HADRON_MIP_FRACTION):
                    dep = min(P.ECL_MIP_ENERGY * (1.0 + 0.1 * _gumbel(rng)), ee)
                elif is_had:
                    dep = rng.uniform(0.2, 0.9) * ee
                elif apdg == 130 or apdg == 2112:
                    dep = rng.uniform(0.2, 0.9) * ee if rng.random() < 0.6 else 0.0
                e_s = 0.0
                if dep > 0.0:
                    e_s = dep * (1.0 + ecl_sigma_over_e(dep, P) * rng.standard_normal())
                if e_s > P.ECL_CLUSTER_THRESHOLD:
                    res_th = ecl_theta_res(e_s, log_e, log_res)
                    cth = theta + res_th * rng.standard_normal()
                    cph = phi + res_th / max(math.sin(theta), 0.2) * rng.standard_normal()
                    ctime = P.ECL_TIME_RES_NS * math.sqrt(0.1 / max(e_s, 0.02)) * rng.standard_normal()
                    chits = max(1.0, 2.0 + 14.0 * math.sqrt(e_s) * (1.0 + 0.15 * rng.standard_normal()))
                    if has_track:  # matched to the track; otherwise a "photon"
                        trk_f[7, nt] = e_s
                        clus_e = e_s
                    else:
                        pho_f[0, nph] = e_s
                        pho_f[1, nph] = cth
                        pho_f[2, nph] = _wrap(cph)
                        pho_f[3, nph] = ctime
                        pho_f[4, nph] = chits
                        pho_i[0, nph] = region
                        pho_i[1, nph] = local
                        nph += 1
                    # Trigger sums use every cluster, track-matched or not.
                    d_hie, d_hi, d_03 = _trigger_counts(e_s, cth, cph, (bx, by, bz), gamma)
                    hie_sum += d_hie
                    n_hi += d_hi
                    n_03 += d_03

            # ------------------------------------------------------------- KLM
            tklm = tdeg > P.KLM_THETA_MIN_DEG and tdeg < P.KLM_THETA_MAX_DEG
            klm_barrel = tdeg > P.KLM_BARREL_MIN_DEG and tdeg < P.KLM_BARREL_MAX_DEG
            gap_photon = apdg == 22 and (region == REGION_FWD_GAP or region == REGION_BWD_GAP)
            if tklm and (gap_photon or apdg == 130):
                eff_k = P.KLM_PHOTON_IN_GAP_EFFICIENCY if gap_photon else P.KLM_KL_EFFICIENCY
                if rng.random() < eff_k:
                    lay = 1 + rng.geometric(0.6 if gap_photon else 0.25)
                    klm_i[0, nk] = min(lay, n_layers)
                    klm_f[0, nk] = theta + 0.02 * rng.standard_normal()
                    klm_f[1, nk] = _wrap(phi + 0.02 * rng.standard_normal())
                    klm_f[2, nk] = 2.0 * rng.standard_normal()
                    nk += 1

            if not has_track:
                continue
            # ----------------------------------------- track KLM layers and PID
            if klm_barrel:
                reach_klm = tklm and pt > P.PT_MIN_KLM_BARREL
            else:
                reach_klm = tklm and p > P.KLM_MUON_P_MIN
            layers = 0
            if reach_klm and apdg == 13:
                frac = min(max((p - P.KLM_MUON_P_MIN) / (P.KLM_MUON_P_FULL - P.KLM_MUON_P_MIN), 0.0), 1.0)
                layers = math.ceil(frac * n_layers * rng.uniform(0.85, 1.0))
            elif reach_klm and (apdg == 211 or apdg == 321 or apdg == 2212):
                if rng.random() < P.KLM_HADRON_PUNCH_THROUGH:
                    layers = rng.geometric(0.5)
            layers = min(layers, n_layers)
            trk_i[1, nt] = layers

            turn_on = 0.5 * (1.0 + math.tanh(0.5 * (p - P.MUID_P_THRESHOLD) / P.MUID_P_WIDTH))
            if apdg == 13:
                p_mu = P.MUID_EFF_PLATEAU * turn_on * (1.0 if klm_barrel else P.MUID_ENDCAP_FACTOR)
                p_mu = p_mu if tklm else 0.0
            elif apdg == 11:
                p_mu = 0.001
            else:
                p_mu = P.MUID_PION_FAKE * turn_on
            if apdg == 11:
                p_e = (P.EID_EFF_PLATEAU if p > P.EID_P_THRESHOLD else P.EID_EFF_LOW_P) * (1.0 if in_ecl else 0.5)
            elif apdg == 13:
                p_e = 0.002
            else:
                p_e = P.EID_PION_FAKE
            if apdg == 321:
                p_k = P.KID_EFF_PLATEAU * min(max(1.0 - 0.1 * max(p - 2.5, 0.0), 0.5), 1.0)
            elif apdg == 211:
                p_k = min(P.KID_PION_FAKE * (0.5 + 0.25 * p), 0.15)
            else:
                p_k = 0.01
            if apdg == 211:
                p_pi = P.PIONID_EFF
            else:
                p_pi = P.PIONID_FAKE * (2.0 if apdg == 321 else 1.0)
            # Forward/backward edges of the CDC have worse dE/dx: a 5 % relative loss.
            edge = 0.95 if (tdeg < 25.0 or tdeg > 140.0) else 1.0
            trk_f[2, nt] = _pid_score(rng, p_mu)
            trk_f[3, nt] = _pid_score(rng, p_e * edge)
            trk_f[5, nt] = _pid_score(rng, p_k * edge)
            trk_f[4, nt] = _pid_score(rng, p_pi * edge)
            tpx, tpy, tpz = trk_p[0, nt], trk_p[1, nt], trk_p[2, nt]
            tp = _hypot(pt_s, tpz)
            trk_f[6, nt] = clus_e / tp
            # stt: one track with p* > 0.7 GeV in 35-127 deg (lab polar angle); cdcklm: KLM hits.
            # The smeared polar angle is th_s itself unless smearing pushed it out of (0, pi).
            if pt_s > 0.0 and 0.0 < th_s < math.pi:
                tth = th_s * _RAD2DEG
            else:
                tth = math.atan2(abs(pt_s), tpz) * _RAD2DEG
            es = _cms_energy(_hypot(tp, P.M_PI), tpx, tpy, tpz, (bx, by, bz), gamma)
            if math.sqrt(max(es * es - P.M_PI * P.M_PI, 0.0)) > 0.7 and tth > 35.0 and tth < 127.0:
                stt = True
            if layers >= 1:
                cdcklm = True
            nt += 1

        # ------------------------------------------------- beam-background clusters
        for _ in range(n_bkg[ev]):
            b_e = rng.exponential(P.BEAM_BKG_CLUSTER_E_SLOPE)
            b_th = math.acos(rng.uniform(cos_lo, cos_hi))
            reg = ecl_region_deg(b_th * _RAD2DEG, P)
            if not (b_e > P.ECL_CLUSTER_THRESHOLD and (reg == REGION_FWD or reg == REGION_BARREL or reg == REGION_BWD)):
                continue
            b_ph = rng.uniform(-math.pi, math.pi)
            pho_f[0, nph] = b_e
            pho_f[1, nph] = b_th
            pho_f[2, nph] = _wrap(b_ph)
            pho_f[3, nph] = rng.uniform(-100.0, 100.0)  # out of time: flat over the readout window
            pho_f[4, nph] = 1.0 + rng.poisson(2.0)
            pho_i[0, nph] = reg
            pho_i[1, nph] = -1
            nph += 1
            d_hie, d_hi, d_03 = _trigger_counts(b_e, b_th, b_ph, (bx, by, bz), gamma)
            hie_sum += d_hie
            n_hi += d_hi
            n_03 += d_03

        # ------------------------------------------------------------- trigger
        # ffo: two tracks with pT > 0.3 GeV at > 90 deg opening angle.
        ffo = False
        for a in range(t0, nt):
            if ffo:
                break
            ax, ay, az = trk_p[0, a], trk_p[1, a], trk_p[2, a]
            if _hypot(ax, ay) <= 0.3:
                continue
            for c in range(a + 1, nt):
                cx, cy, cz = trk_p[0, c], trk_p[1, c], trk_p[2, c]
                if _hypot(cx, cy) > 0.3 and ax * cx + ay * cy + az * cz < 0.0:
                    ffo = True
                    break
        trig[0, ev] = ffo
        trig[1, ev] = stt
        trig[2, ev] = cdcklm
        trig[3, ev] = hie_sum > 1.0
        trig[4, ev] = n_hi == 1 and n_03 == 1
        counts[0, ev] = nt - t0
        counts[1, ev] = nph - ph0
        counts[2, ev] = nk - k0
    return nt, nph, nk

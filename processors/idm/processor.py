"""e+e- -> h' A', A' -> chi1 chi2, chi2 -> chi1 e+ e-, h' -> mu mu / pi pi / K K (arXiv:2505.09705).
Thresholds: the working point of search.py.

Signal selection (region "sr", in cutflow order): the ECL-based trigger; at most four tracks; two vertices
in the Vertex collection; an h' vertex (two tracks that are not both electrons; mu mu if both are muon-ID'd,
K K if both kaon-ID'd, pi pi otherwise) and a chi2 vertex (both tracks electron-ID'd), each displaced
(r_min < r < r_max, r / sigma_r > significance_min); the h' vertex points back to the IP, the chi2 vertex does
not; the conversion veto on the e e pair mass; the K_S and Lambda vetoes (pi pi and p pi hypothesis masses of the
h' vertex, whatever its final state: misidentified K_S -> pi pi are the main background); missing energy
in the CMS. One h' candidate per event (the best-pointing displaced non-electron vertex) and one chi2
candidate (the most significant displaced e e vertex).

m(h') with the final state's mass hypothesis is the sideband plan's observable; the event list carries it
and the final state ("channel": 0 mu mu, 1 pi pi, 2 K K).

Blinding: selected data events with m(h') within +-blind_n_sigma resolutions of a scan mass (the working
point's blind_masses) are hidden unless unblind=True; the sidebands stay visible (the plan needs them).
"""

from __future__ import annotations

from typing import Any

import hist
import numpy as np

from processors import kinematics as K
from processors import selections as S
from processors.base import Fill, HistSpec, Region, SearchProcessor, SearchResult, Variation
from processors.idm import vertices as V
from processors.idm.search import CHANNELS, IDMWorkingPoint
from samples import constants as C

CHANNEL_MASS = {CHANNELS["mumu"]: C.M_MU, CHANNELS["pipi"]: C.M_PI, CHANNELS["KK"]: C.M_K}


def classify(v: V.Vertices, wp: IDMWorkingPoint) -> tuple[np.ndarray, np.ndarray]:
    """(is_ee, h' channel code or -1) per vertex."""

    def both(f: str, cut: float) -> np.ndarray:
        return (v.pid1[f] > cut) & (v.pid2[f] > cut)

    is_ee = both("electronID", wp.electron_id_min)
    is_mumu, is_kk = both("muonID", wp.muon_id_min), both("kaonID", wp.kaon_id_min)
    chan = np.where(is_mumu, CHANNELS["mumu"], np.where(is_kk, CHANNELS["KK"], CHANNELS["pipi"]))
    return is_ee, np.where(is_ee, -1, chan)


def h_mass(v: V.Vertices, chan: np.ndarray) -> np.ndarray:
    """m(h') of every vertex with its channel's mass hypothesis (NaN for e e vertices)."""
    m = np.full(chan.size, np.nan)
    for code, mass in CHANNEL_MASS.items():
        sel = chan == code
        m[sel] = V.pair_mass(v.p1[sel], v.p2[sel], mass, mass)
    return m


def in_blind_window(m: np.ndarray, wp: IDMWorkingPoint) -> np.ndarray:
    out = np.zeros(np.shape(m), dtype=bool)
    for mk in wp.blind_masses:
        out |= np.abs(m - mk) < wp.blind_n_sigma * (wp.m_res_a + wp.m_res_b * mk)
    return out


def _per_event(best: np.ndarray, a: np.ndarray, fill: float = np.nan) -> np.ndarray:
    return np.where(best >= 0, a[np.maximum(best, 0)] if a.size else fill, fill)


class IDMProcessor(SearchProcessor):
    """The iDM + dark Higgs search; constructor ``(lumi_fb=None, unblind=False, working_point=None)``."""

    search_name = "idm"
    branches = (
        "nTrack", "Track_px", "Track_py", "Track_pz", "Track_charge", "Track_electronID", "Track_muonID",
        "Track_pionID", "Track_kaonID", "nVertex", "Vertex_x", "Vertex_y", "Vertex_z", "Vertex_trk1", "Vertex_trk2",
        "nPhoton", "Photon_E", "Photon_theta", "Photon_phi", "beam_E", "beam_px", "beam_py", "beam_pz",
        "trg_hie", "trg_lml",
    )  # fmt: skip
    wp: IDMWorkingPoint

    @classmethod
    def default_working_point(cls) -> IDMWorkingPoint:
        return IDMWorkingPoint()

    def histograms(self) -> dict[str, HistSpec]:
        reg, cat = hist.axis.Regular, hist.axis.IntCategory(list(CHANNELS.values()), name="channel")
        return {
            "m_h": HistSpec((cat, reg(400, 0.0, 2.0, name="m", label=r"$m(h')$ [GeV]"))),
            "vr_m_h": HistSpec((cat, reg(2000, 0.0, 2.0, name="m", label=r"$m(h')$ [GeV] (validation region)"))),
            # displacement of the candidates (after the vertex preselection) and N-1 of the other cuts
            "disp_r_h": HistSpec((reg(60, -1.0, 2.0, name="log_r", label=r"$\log_{10}(r_{h'}/\mathrm{cm})$"),)),
            "disp_r_chi": HistSpec((reg(60, -1.0, 2.0, name="log_r", label=r"$\log_{10}(r_{\chi_2}/\mathrm{cm})$"),)),
            "nm1_angle_h": HistSpec((reg(60, -5.0, 0.5, name="log_a", label=r"$\log_{10}$(h' pointing angle/rad)"),)),
            "nm1_angle_chi": HistSpec(
                (reg(60, -5.0, 0.5, name="log_a", label=r"$\log_{10}(\chi_2$ pointing angle/rad)"),)
            ),
            "nm1_emiss": HistSpec((reg(55, 0.0, 11.0, name="e", label=r"$E^*_\mathrm{miss}$ [GeV]"),)),
            "nm1_m_ee": HistSpec((reg(50, 0.0, 0.5, name="m", label=r"$M(e^+e^-)$ [GeV]"),)),
            "nm1_m_pipi": HistSpec((reg(100, 0.3, 0.8, name="m", label=r"$M(\pi^+\pi^-)$ [GeV] (h' vertex)"),)),
        }

    def analyze(self, events: Any, variation: Variation) -> SearchResult:
        wp = self.wp
        n = len(events)
        trk = K.Jagged(events.Track)
        v = V.from_events(events, variation.momentum_scale)
        is_ee, chan = classify(v, wp)
        r, sig, cosp = v.r, v.significance, v.cos_pointing
        displaced = (r > wp.r_min) & (r < wp.r_max) & (sig > wp.significance_min)

        # h' candidate: best-pointing displaced non-electron vertex; chi2: most significant displaced e e vertex
        ih = V.best_per_event(v.evt, cosp, displaced & (chan >= 0), n)
        ic = V.best_per_event(v.evt, sig, displaced & is_ee, n)
        m_all = h_mass(v, chan)
        ch = _per_event(ih, chan.astype(float), -1.0)
        m_h = _per_event(ih, m_all)
        m_pipi = _per_event(ih, V.pair_mass(v.p1, v.p2, C.M_PI, C.M_PI))
        m_ppi = _per_event(ih, V.lambda_mass(v.p1, v.p2))
        m_ee = _per_event(ic, V.pair_mass(v.p1, v.p2, C.M_E, C.M_E))
        cos_h, cos_c = _per_event(ih, cosp), _per_event(ic, cosp)
        r_h, r_c = _per_event(ih, r), _per_event(ic, r)

        # missing four-momentum in the CMS: every track (h' daughters with their hypothesis, others as pions)
        # and every photon
        beam = K.beam_p4(events)
        frame = K.CMSFrame.of(beam)
        vis = K.P4(*(np.zeros(n) for _ in range(4)))
        for i in range(wp.max_tracks):
            has = trk.counts > i
            px, py, pz = (trk.nth(c, i, 0.0).astype(float) * variation.momentum_scale for c in ("px", "py", "pz"))
            mass = np.where(has, C.M_PI, 0.0)
            vis = vis + K.P4.from_pxpypzm(px, py, pz, mass)
        ph = K.Jagged(events.Photon)
        e_ph = ph.flat("E").astype(float)
        th, phi = ph.flat("theta").astype(float), ph.flat("phi").astype(float)
        ph_evt = np.repeat(np.arange(n), ph.counts)
        comps = [e_ph * np.sin(th) * np.cos(phi), e_ph * np.sin(th) * np.sin(phi), e_ph * np.cos(th), e_ph]
        vis = vis + K.P4(*(np.bincount(ph_evt, weights=c, minlength=n) for c in comps))
        emiss = frame.to_cms(beam - vis).t

        trigger = S.trigger(events, wp.trigger)
        few = trk.counts <= wp.max_tracks
        two = K.as_columns(events.nVertex, 0, np.int64) >= 2
        has_h, has_c = ih >= 0, ic >= 0
        point_h = has_h & (cos_h > wp.hprime_cos_min)
        nopoint_c = has_c & (cos_c < wp.chi2_cos_max)
        conv = has_c & (m_ee > wp.conversion_m_ee_max)
        # K_S and Lambda vetoes on the pion / proton-pion hypothesis mass of every h' candidate: K_S -> pi pi with
        # both pions misidentified as muons or kaons lands at m(mu mu) ~ 0.45 and m(K K) ~ 1.05-1.4 GeV
        is_pipi = ch == CHANNELS["pipi"]
        ks = ~(has_h & (m_pipi > wp.ks_window[0]) & (m_pipi < wp.ks_window[1]))
        lam = ~(has_h & (m_ppi > wp.lambda_window[0]) & (m_ppi < wp.lambda_window[1]))
        miss = emiss > wp.missing_energy_min

        cuts = [("all", np.ones(n, bool)), ("trigger", trigger), ("max_tracks", few), ("two_vertices", two),
                ("hprime_vertex", has_h), ("hprime_pointing", point_h), ("chi2_vertex", has_c),
                ("chi2_not_pointing", nopoint_c), ("conversion_veto", conv), ("ks_veto", ks), ("lambda_veto", lam),
                ("missing_energy", miss)]  # fmt: skip
        selected = np.logical_and.reduce([c for _, c in cuts])
        blind = selected & in_blind_window(m_h, wp)
        # validation region for the sideband closure on MC: the h' side of the selection and any second
        # displaced vertex (the q qbar K_S pairs that fill it have no e e vertex and little missing energy)
        second = np.bincount(v.evt[displaced], minlength=n) >= 2
        vr = [*cuts[:6], ("second_vertex", second), ("ks_veto", ks), ("lambda_veto", lam)]
        regions = {"sr": Region(cuts, blind_from="hprime_vertex"), "vertices": Region(cuts[:4]), "vr": Region(vr)}

        def others(skip: str) -> np.ndarray:
            return np.logical_and.reduce([c for name, c in cuts if name != skip])

        ang_h = np.log10(np.maximum(np.arccos(np.clip(cos_h, -1, 1)), 1e-5))
        ang_c = np.log10(np.maximum(np.arccos(np.clip(cos_c, -1, 1)), 1e-5))
        base_h, base_c = others("hprime_pointing"), others("chi2_not_pointing")
        fills = [
            Fill("m_h", "sr", {"channel": ch.astype(int), "m": m_h}),
            Fill("vr_m_h", "vr", {"channel": ch.astype(int), "m": m_h}),
            Fill("disp_r_h", "vertices", {"log_r": np.log10(np.maximum(r_h, 1e-3))}, mask=has_h),
            Fill("disp_r_chi", "vertices", {"log_r": np.log10(np.maximum(r_c, 1e-3))}, mask=has_c),
            Fill("nm1_angle_h", "vertices", {"log_a": ang_h}, mask=base_h & has_h),
            Fill("nm1_angle_chi", "vertices", {"log_a": ang_c}, mask=base_c & has_c),
            Fill("nm1_emiss", "vertices", {"e": emiss}, mask=others("missing_energy")),
            Fill("nm1_m_ee", "vertices", {"m": m_ee}, mask=others("conversion_veto") & has_c),
            Fill("nm1_m_pipi", "vertices", {"m": m_pipi}, mask=others("ks_veto") & is_pipi),
        ]
        eventlist: dict[str, Any] = {
            "run": K.as_columns(events.run), "event": K.as_columns(events.event), "m_h": m_h, "channel": ch,
            "r_h": r_h, "r_chi": r_c, "cos_h": cos_h, "cos_chi": cos_c, "m_ee": m_ee, "emiss": emiss,
        }  # fmt: skip
        return SearchResult(regions=regions, fills=fills, signal_region=blind, eventlist=eventlist,
                            eventlist_region="sr")  # fmt: skip

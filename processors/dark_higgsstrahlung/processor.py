"""e+e- -> A' h', A' -> mu+ mu-, h' invisible, after Belle II PRL 130, 071804 (2023); thresholds: the working
point of search.py. The final state is Z' -> invisible's: its building blocks (processors/dilepton.py for the
two tracks + recoil, processors/selections.py for the photon veto, processors/rows.py for row subsets) are
reused, not copied.

Signal selection (region "sr", in cutflow order): CDC two-track or CDC-KLM trigger; exactly two tracks, both
from the IP; opposite charges; both muon-ID'd; pT(mu mu) in the CMS > 0.1 GeV; recoil momentum (lab) in the barrel ECL
(not in the 90 deg gap); photon veto (no photon > 0.1 GeV within 15 deg of the recoil, extra ECL energy
<= 0.5 GeV, no KLM cluster in an ECL gap within the cone); |cos theta_hel| < cos_helicity_max; the event
inside the plane (0 <= M_mumu < plane_max, -1 <= M_recoil < plane_max).
M_recoil = sign(M^2) sqrt(|M^2|) with M^2 = s + M_mumu^2 - 2 sqrt(s) E*_mumu (negative M^2 from resolution
keeps its sign, so mu mu(gamma) stays near 0 instead of piling up at 0).

Region "no_helicity": the same without the helicity cut (the figure-of-merit scan's N-1 histogram).

Blinding: in data, every event passing the photon veto inside the plane is hidden, whatever its helicity
angle: no data event that could fall inside a window (of the signal region or of the N-1 plane) appears in
any histogram, cutflow step from the photon veto on, or event list, unless unblind=True.
"""

from __future__ import annotations

import hist
import numpy as np

from processors import dilepton as D
from processors import kinematics as K
from processors import selections as S
from processors.base import Fill, HistSpec, Region, SearchProcessor, SearchResult, Variation
from processors.dark_higgsstrahlung.search import DarkHiggsWorkingPoint
from processors.rows import ToChunk, on_events

M_RECOIL_MIN = -1.0  # [GeV] lower edge of the plane's recoil axis
PLANE_BIN = 0.1  # [GeV] bins of the 2D plane histogram (plots; the counting uses the event list)
FOM_BIN = 0.25  # [GeV] plane bins of the N-1 helicity histogram
COS_BINS = 10


def signed_mass(m2: np.ndarray) -> np.ndarray:
    return np.sign(m2) * np.sqrt(np.abs(m2))


class DarkHiggsProcessor(SearchProcessor):
    """The dark Higgsstrahlung search; constructor ``(lumi_fb=None, unblind=False, working_point=None)``."""

    search_name = "dark-higgsstrahlung"
    branches = (
        "nTrack", "Track_px", "Track_py", "Track_pz", "Track_charge", "Track_d0", "Track_z0", "Track_muonID",
        "Track_electronID", "nPhoton", "Photon_E", "Photon_theta", "Photon_phi", "nKLMCluster", "KLMCluster_theta",
        "KLMCluster_phi", "beam_E", "beam_px", "beam_py", "beam_pz", "trg_ffo", "trg_cdcklm",
    )  # fmt: skip
    wp: DarkHiggsWorkingPoint

    @classmethod
    def default_working_point(cls) -> DarkHiggsWorkingPoint:
        return DarkHiggsWorkingPoint()

    def histograms(self) -> dict[str, HistSpec]:
        top = self.wp.plane_max
        reg = hist.axis.Regular

        def mm(width: float) -> hist.axis.Regular:
            return reg(round(top / width), 0.0, top, name="m_mumu", label=r"$M_{\mu\mu}$ [GeV]")

        def mr(width: float) -> hist.axis.Regular:
            return reg(round((top - M_RECOIL_MIN) / width), M_RECOIL_MIN, top, name="m_recoil",
                       label=r"$M_\mathrm{recoil}$ [GeV]")  # fmt: skip

        cos = reg(COS_BINS, 0.0, 1.0, name="abs_cos_hel", label=r"$|\cos\theta_\mathrm{hel}|$")
        return {
            "plane": HistSpec((mm(PLANE_BIN), mr(PLANE_BIN))),
            "nm1_helicity_plane": HistSpec((mm(FOM_BIN), mr(FOM_BIN), cos)),
            "var_m_mumu": HistSpec((mm(PLANE_BIN),)),
            "var_m_recoil": HistSpec((mr(PLANE_BIN),)),
            "var_pair_pt": HistSpec((reg(60, 0, 6, name="pt", label=r"$p_T^*(\mu\mu)$ [GeV]"),)),
            "var_recoil_theta_lab": HistSpec((reg(36, 0, 180, name="theta", label=r"recoil $\theta$ (lab) [deg]"),)),
            "nm1_cos_helicity": HistSpec((reg(20, 0.0, 1.0, name="abs_cos_hel", label=cos.label),)),
        }

    def analyze(self, events, variation: Variation) -> SearchResult:
        wp = self.wp
        trk = K.Jagged(events.Track)
        trigger = S.trigger(events, wp.trigger)
        ntrk, n_ip = trk.counts, S.n_from_ip(trk)
        two_tracks = (n_ip == 2) & (ntrk == 2)
        opposite = trk.nth("charge", 0, 0) * trk.nth("charge", 1, 0) < 0
        rows = np.flatnonzero(trigger & two_tracks & opposite)
        ids = D.track_ids(trk, rows, ("muonID",))
        muid = (ids["muonID", 0] > wp.muon_id_min) & (ids["muonID", 1] > wp.muon_id_min)
        mu_rows = rows[muid]
        veto_of = S.PhotonVeto(
            K.Jagged(events.Photon), events.KLMCluster, rows=mu_rows, cone_deg=wp.photon_veto_cone_deg,
            photon_min_energy=wp.photon_veto_min_e, extra_energy_max=wp.extra_energy_max,
        )  # fmt: skip
        mu = D.two_track_inputs(K.beam_p4(events), trk, mu_rows, variation.momentum_scale, veto_of, {})
        pk = D.pair_kinematics(mu.beam, mu.frame, mu.t1, mu.t2)
        m_mumu, m_recoil = pk.pair.mass, signed_mass(pk.m2_recoil)
        pair_pt = pk.pair_cms.pt
        pt_ok = pair_pt > wp.pair_pt_cms_min
        barrel = S.in_ecl_barrel(pk.recoil_theta, exclude_gap90=wp.recoil_exclude_gap90)
        veto = mu.veto(pk.recoil_theta, pk.recoil_phi, pt_ok & barrel)  # only where the cuts before it pass
        in_plane = (m_mumu >= 0) & (m_mumu < wp.plane_max) & (m_recoil >= M_RECOIL_MIN) & (m_recoil < wp.plane_max)
        cand = pt_ok & barrel & veto & in_plane
        # |cos| of the helicity angle (either muon: the two differ only in sign), for the candidates only
        abs_cos = np.abs(on_events(cand, lambda take: K.helicity_cos(take(mu.t1), take(pk.pair), take(mu.beam))))
        hel_ok = abs_cos < wp.cos_helicity_max  # NaN (non-candidates) -> False

        n = len(ntrk)
        cut, on_mu = ToChunk(rows, n), ToChunk(mu_rows, n)
        base = [("all", ntrk >= 0), ("trigger", trigger), ("two_ip_tracks_no_extra", two_tracks),
                ("opposite_charge", opposite), ("muon_id", cut.mask(muid)), ("pair_pt", on_mu.mask(pt_ok)),
                ("recoil_in_barrel", on_mu.mask(barrel)), ("photon_veto", on_mu.mask(veto))]  # fmt: skip
        plane_cut = ("in_plane", on_mu.mask(in_plane))
        sr = Region([*base, ("helicity", on_mu.mask(hel_ok)), plane_cut], blind_from="photon_veto")
        nm1 = Region([*base, plane_cut], blind_from="photon_veto")
        val = on_mu.values
        mm_full, mr_full, cos_full = val(m_mumu), val(m_recoil), val(abs_cos)
        fills = [
            Fill("plane", "sr", {"m_mumu": mm_full, "m_recoil": mr_full}),
            Fill("var_m_mumu", "sr", {"m_mumu": mm_full}),
            Fill("var_m_recoil", "sr", {"m_recoil": mr_full}),
            Fill("var_pair_pt", "sr", {"pt": val(pair_pt)}),
            Fill("var_recoil_theta_lab", "sr", {"theta": val(np.degrees(pk.recoil_theta))}),
            Fill("nm1_cos_helicity", "no_helicity", {"abs_cos_hel": cos_full}),
            Fill(
                "nm1_helicity_plane", "no_helicity", {"m_mumu": mm_full, "m_recoil": mr_full, "abs_cos_hel": cos_full}
            ),
        ]
        return SearchResult(
            regions={"sr": sr, "no_helicity": nm1},
            fills=fills,
            signal_region=trigger & two_tracks & opposite & on_mu.mask(cand),
            eventlist={
                "run": K.as_columns(events.run),
                "event": K.as_columns(events.event),
                "m_mumu": mm_full,
                "m_recoil": mr_full,
                "abs_cos_hel": cos_full,
            },
            eventlist_region="sr",
        )

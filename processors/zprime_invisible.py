"""e+e- -> mu+ mu- Z', Z' -> invisible (L_mu - L_tau), after Belle II PRL 130, 231801
(2023) as presented in seed 002.

Signal selection (region "sr", in cutflow order):
  CDC two-track trigger (trg_ffo); exactly two tracks from the IP and no other
  track; opposite charges; both muon-ID'd (muonID > 0.5); recoil momentum (lab)
  in the barrel ECL, not in the 90 deg gap; photon veto (no photon > 0.1 GeV
  within 15 deg of the recoil, extra ECL energy <= 0.5 GeV, KLM clusters in ECL
  gaps within the cone veto too); the muons not back to back (3D opening angle
  < 179.5 deg in the CMS); M^2_recoil inside the template range.
  M^2_recoil = s + M_mumu^2 - 2 sqrt(s) E*_mumu, theta_recoil in the CMS.

Blinding: the paper kept the whole signal region blind, so the signal region
here is every event passing the full selection inside the template range
[-0.5, 81] GeV^2; in data those events are hidden from all histograms and the
event list, and the cutflow steps from the photon veto on count only the
others, unless unblind=True.

Control samples (paper's data-validation slide):
  "mumugamma": the same two muons plus a photon with E > 1 GeV and
      10.18 < E*(mu mu gamma) < 10.98 GeV (kinematics constrained to the Y(4S)):
      recoil resolution (M^2_recoil against mu mu peaks at M^2 = 0).
  "emu": one muon (muonID > 0.5) and one electron (electronID > 0.5), otherwise the
      signal selection: trigger efficiency and background checks.
  "ee": two electrons, M^2_recoil < 1 GeV^2, recoil in the barrel: the photon-veto
      inefficiency = fraction of these (radiative Bhabha) events passing the veto.

Systematic variations: "muid_up/down" (per-muon ID efficiency uncertainty, 2 %
below 1 GeV and 1 % above -- an assumption in the spirit of the Belle II
lepton-ID tables) as weights; "pscale_up/down" (track momentum scale +-1e-3,
assumption) as a shape variation.
"""

from __future__ import annotations

import awkward as ak
import hist
import numpy as np

from processors import kinematics as K
from processors import selections as S
from processors.base import Fill, HistSpec, Region, SearchProcessor, SearchResult, Variation
from samples.constants import M_E, M_MU

# Selection thresholds (seed 002 / PRL 130 231801 unless noted).
MUON_ID_MIN = 0.5
ELECTRON_ID_MIN = 0.5  # control samples: "muID > 0.5 and eID > 0.5"
PHOTON_VETO_CONE_DEG = 15.0
PHOTON_VETO_MIN_E = 0.1  # [GeV] photons counted in the cone (assumption: above beam background)
EXTRA_ENERGY_MAX = 0.5  # [GeV]
OPENING_ANGLE_MAX_DEG = 179.5
M2_RANGE = (-0.5, 81.0)  # [GeV^2] template range (the paper's three M^2 ranges span it)
M2_BINS = 1000  # 0.0815 GeV^2 bins: ~ 50 bins in a +-10 sigma window at low mass
THETA_CMS_EDGES = np.radians([0.0, 45.0, 70.0, 90.0, 110.0, 135.0, 180.0])  # full range: a slow massive recoil in the barrel can point anywhere in the CMS
MUMUGAMMA_PHOTON_E_MIN = 1.0  # [GeV]
MUMUGAMMA_ECMS_RANGE = (10.18, 10.98)  # [GeV]
EE_M2_MAX = 1.0  # [GeV^2]
MUID_REL_UNC_LOW_P = 0.02
MUID_REL_UNC_HIGH_P = 0.01
MUID_UNC_P_SPLIT = 1.0  # [GeV]
MOMENTUM_SCALE_UNC = 1e-3


def _m2_axis(name: str = "m2_recoil") -> hist.axis.Regular:
    return hist.axis.Regular(M2_BINS, *M2_RANGE, name=name, label=r"$M^2_\mathrm{recoil}$ [GeV$^2$]")


class ZPrimeInvisibleProcessor(SearchProcessor):
    """The Z' -> invisible search; constructor ``(lumi_fb=None, unblind=False)``."""

    search_name = "zprime-inv"
    shape_variations = (
        Variation("pscale_up", 1.0 + MOMENTUM_SCALE_UNC),
        Variation("pscale_down", 1.0 - MOMENTUM_SCALE_UNC),
    )
    weight_variation_names = ("muid_up", "muid_down")
    # the momentum scale changes neither the track count, the charges nor the muon ID
    shape_invariant_cuts = ("trigger", "two_ip_tracks_no_extra", "opposite_charge", "muon_id")

    def histograms(self) -> dict[str, HistSpec]:
        theta = hist.axis.Variable(THETA_CMS_EDGES, name="theta_recoil", label=r"$\theta^\mathrm{CMS}_\mathrm{recoil}$ [rad]")
        reg = hist.axis.Regular
        return {
            "template": HistSpec((_m2_axis(), theta), syst=True),
            "m2_recoil": HistSpec((_m2_axis(),), syst=True),
            "var_mu_p": HistSpec((reg(60, 0, 6, name="p", label="muon $p$ [GeV]"),)),
            "var_mu_cos_theta": HistSpec((reg(40, -1, 1, name="cos_theta", label=r"muon $\cos\theta$"),)),
            "var_opening_angle_cms": HistSpec((reg(90, 0, 180, name="angle", label="opening angle (CMS) [deg]"),)),
            "var_pair_pt": HistSpec((reg(60, 0, 6, name="pt", label=r"$p_T(\mu\mu)$ [GeV]"),)),
            "var_m_mumu": HistSpec((reg(106, 0, 10.6, name="m", label=r"$M(\mu\mu)$ [GeV]"),)),
            "var_recoil_theta_lab": HistSpec((reg(36, 0, 180, name="theta", label=r"recoil $\theta$ (lab) [deg]"),)),
            # N-1 plots: everything but the cut on the plotted variable.
            "nm1_extra_energy": HistSpec((reg(60, 0, 3, name="e", label="extra ECL energy [GeV]"),)),
            "nm1_opening_angle_cms": HistSpec((reg(100, 170, 180, name="angle", label="opening angle (CMS) [deg]"),)),
            "cr_mumugamma_m2_recoil": HistSpec((reg(100, -2, 2, name="m2_recoil", label=r"$M^2_\mathrm{recoil}(\mu\mu)$ [GeV$^2$]"),)),
            "cr_emu_m2_recoil": HistSpec((_m2_axis(),)),
            "cr_ee_m2_recoil": HistSpec(
                (reg(30, -0.5, 1.0, name="m2_recoil", label=r"$M^2_\mathrm{recoil}$ [GeV$^2$]"),
                 hist.axis.IntCategory([0, 1], name="veto_passed", label="photon veto passed"))
            ),
        }

    @staticmethod
    def _dimuon(beam: K.P4, t1: K.P4, t2: K.P4, veto) -> dict:
        """The signal selection's per-event quantities (two tracks as muons); ``veto(theta, phi)``."""
        pair = t1 + t2
        rec = K.recoil(beam, pair)
        rec_theta, rec_phi = rec.theta, rec.phi
        opening = np.degrees(K.opening_angle_cms(t1, t2, beam))
        m2 = K.recoil_mass2(beam, pair)
        return {
            "beam": beam, "t1": t1, "t2": t2, "pair": pair, "m2": m2,
            "theta_cms": K.recoil_theta_cms(beam, pair), "rec_theta": rec_theta, "opening": opening,
            "barrel": S.in_ecl_barrel(rec_theta, exclude_gap90=True), "veto": veto(rec_theta, rec_phi),
            "not_b2b": opening < OPENING_ANGLE_MAX_DEG, "in_range": (m2 >= M2_RANGE[0]) & (m2 < M2_RANGE[1]),
        }  # fmt: skip

    @staticmethod
    def _veto(events) -> S.PhotonVeto:
        return S.PhotonVeto(
            events.Photon, events.KLMCluster,
            cone_deg=PHOTON_VETO_CONE_DEG, photon_min_energy=PHOTON_VETO_MIN_E, extra_energy_max=EXTRA_ENERGY_MAX,
        )  # fmt: skip

    @staticmethod
    def _sr_region(base_cuts: list, d: dict) -> Region:
        return Region(
            [*base_cuts, ("recoil_in_barrel", d["barrel"]), ("photon_veto", d["veto"]),
             ("not_back_to_back", d["not_b2b"]), ("m2_in_range", d["in_range"])],
            blind_from="photon_veto",
        )  # fmt: skip

    @staticmethod
    def _template_fills(d: dict) -> list[Fill]:
        return [
            Fill("template", "sr", {"m2_recoil": d["m2"], "theta_recoil": d["theta_cms"]}),
            Fill("m2_recoil", "sr", {"m2_recoil": d["m2"]}),
        ]

    def analyze_shape(self, events, variation: Variation, selection, nominal: SearchResult) -> SearchResult:
        """Only the signal-region templates (the syst hists), for the selected events: from
        the track momenta and photon-veto inputs the nominal pass kept (eager chunks)."""
        c = nominal.cache
        if not c:  # dask mode: the generic path
            return super().analyze_shape(events, variation, selection, nominal)
        rows = np.arange(len(c["beam"].t)) if selection is None else np.flatnonzero(selection)
        s = variation.momentum_scale
        beam = K.P4(*(getattr(c["beam"], k)[rows] for k in "xyzt"))
        # the same numbers as scaling every track (float32 content * Python float) and picking
        t1, t2 = (K.P4.from_pxpypzm(*((c[f"{i}{k}"][rows] * s).astype(np.float64) for k in ("px", "py", "pz")), M_MU)
                  for i in (0, 1))  # fmt: skip
        d = self._dimuon(beam, t1, t2, lambda th, ph: c["veto"](th, ph, rows))
        sr = self._sr_region([("preselected", np.ones(len(rows), dtype=bool))], d)
        return SearchResult(regions={"sr": sr}, fills=self._template_fills(d), signal_region=None)

    def analyze(self, events, variation: Variation) -> SearchResult:
        veto_of = self._veto(events)
        beam, tracks = K.beam_p4(events), events.Track
        cache = {}
        if K.is_eager(tracks):  # keep the raw track momenta for the shape variations
            cache = {f"{i}{k}": K.nth_column(tracks, i, k) for i in (0, 1) for k in ("px", "py", "pz")}
            cache.update(beam=beam, veto=veto_of)
        if cache and variation.momentum_scale == 1.0:  # the numbers K.nth gives, from the kept picks
            t1, t2 = (K.P4.from_pxpypzm(*(cache[f"{i}{k}"].astype(np.float64) for k in ("px", "py", "pz")), M_MU)
                      for i in (0, 1))  # fmt: skip
        else:
            t1, t2 = variation.nth_track(tracks, 0, M_MU), variation.nth_track(tracks, 1, M_MU)
        d = self._dimuon(beam, t1, t2, veto_of)
        pair, m2 = d["pair"], d["m2"]
        theta_cms, rec_theta, opening = d["theta_cms"], d["rec_theta"], d["opening"]
        barrel, veto, not_b2b, in_range = d["barrel"], d["veto"], d["not_b2b"], d["in_range"]
        ntrk = K.as_columns(ak.num(tracks, axis=1), 0, np.int64)
        n_ip = S.n_from_ip(tracks)
        q1, q2 = K.nth_field(tracks, 0, "charge", 0), K.nth_field(tracks, 1, "charge", 0)
        muid1, muid2 = K.nth_field(tracks, 0, "muonID", 0), K.nth_field(tracks, 1, "muonID", 0)
        eid1, eid2 = K.nth_field(tracks, 0, "electronID", 0), K.nth_field(tracks, 1, "electronID", 0)

        muid = (muid1 > MUON_ID_MIN) & (muid2 > MUON_ID_MIN)
        is_e1, is_e2 = (eid1 > ELECTRON_ID_MIN) & (muid1 <= MUON_ID_MIN), (eid2 > ELECTRON_ID_MIN) & (muid2 <= MUON_ID_MIN)
        is_mu1, is_mu2 = (muid1 > MUON_ID_MIN) & (eid1 <= ELECTRON_ID_MIN), (muid2 > MUON_ID_MIN) & (eid2 <= ELECTRON_ID_MIN)
        emu = (is_e1 & is_mu2) | (is_mu1 & is_e2)
        ee = is_e1 & is_e2

        trigger = S.trigger(events, ["trg_ffo"])
        two_tracks = (n_ip == 2) & (ntrk == 2)
        opposite = (q1 * q2) < 0
        everything = ntrk >= 0

        sr = self._sr_region(
            [("all", everything), ("trigger", trigger), ("two_ip_tracks_no_extra", two_tracks),
             ("opposite_charge", opposite), ("muon_id", muid)], d,
        )  # fmt: skip
        presel = Region(sr.cuts[:6])

        # mu mu gamma control sample: the hardest photon above 1 GeV, E*(mu mu gamma) ~ sqrt(s).
        g_e, g_theta, g_phi = K.leading_by(events.Photon, "E", ("E", "theta", "phi"), 0.0)
        gamma = K.P4.from_angles(g_e, g_theta, g_phi)
        e_cms_mmg = K.to_cms(pair + gamma, beam).t
        mmg_window = (e_cms_mmg > MUMUGAMMA_ECMS_RANGE[0]) & (e_cms_mmg < MUMUGAMMA_ECMS_RANGE[1])
        cr_mmg = Region([*sr.cuts[:5], ("hard_photon", g_e > MUMUGAMMA_PHOTON_E_MIN), ("ecms_window", mmg_window)])

        # e mu and e e control samples: each track gets the mass its ID says.
        m_1 = M_MU + (M_E - M_MU) * (eid1 > ELECTRON_ID_MIN)
        m_2 = M_MU + (M_E - M_MU) * (eid2 > ELECTRON_ID_MIN)
        e1 = K.P4.from_pxpypzm(t1.x, t1.y, t1.z, m_1)
        e2 = K.P4.from_pxpypzm(t2.x, t2.y, t2.z, m_2)
        pair_e = e1 + e2
        m2_e = K.recoil_mass2(beam, pair_e)
        rec_e = K.recoil(beam, pair_e)
        barrel_e = S.in_ecl_barrel(rec_e.theta, exclude_gap90=True)
        veto_e = veto_of(rec_e.theta, rec_e.phi)
        not_b2b_e = np.degrees(K.opening_angle_cms(e1, e2, beam)) < OPENING_ANGLE_MAX_DEG
        base_e = sr.cuts[:4]
        cr_emu = Region([*base_e, ("e_mu_id", emu), ("recoil_in_barrel", barrel_e), ("photon_veto", veto_e), ("not_back_to_back", not_b2b_e)])  # fmt: skip
        cr_ee = Region([*base_e, ("e_e_id", ee), ("recoil_in_barrel", barrel_e), ("m2_below_1", m2_e < EE_M2_MAX)])

        # Per-muon ID uncertainty -> event weight ratio (both muons).
        d1 = MUID_REL_UNC_HIGH_P + (MUID_REL_UNC_LOW_P - MUID_REL_UNC_HIGH_P) * (t1.p < MUID_UNC_P_SPLIT)
        d2 = MUID_REL_UNC_HIGH_P + (MUID_REL_UNC_LOW_P - MUID_REL_UNC_HIGH_P) * (t2.p < MUID_UNC_P_SPLIT)

        fills = [
            *self._template_fills(d),
            Fill("var_mu_p", "sr", {"p": t1.p}),
            Fill("var_mu_p", "sr", {"p": t2.p}),
            Fill("var_mu_cos_theta", "sr", {"cos_theta": t1.cos_theta}),
            Fill("var_mu_cos_theta", "sr", {"cos_theta": t2.cos_theta}),
            Fill("var_opening_angle_cms", "sr", {"angle": opening}),
            Fill("var_pair_pt", "sr", {"pt": pair.pt}),
            Fill("var_m_mumu", "sr", {"m": pair.mass}),
            Fill("var_recoil_theta_lab", "sr", {"theta": np.degrees(rec_theta)}),
            Fill("nm1_extra_energy", "presel", {"e": K.extra_energy(events.Photon)}, mask=not_b2b & in_range),
            Fill("nm1_opening_angle_cms", "presel", {"angle": opening}, mask=veto & in_range),
            Fill("cr_mumugamma_m2_recoil", "mumugamma", {"m2_recoil": m2}),
            Fill("cr_emu_m2_recoil", "emu", {"m2_recoil": m2_e}),
            Fill("cr_ee_m2_recoil", "ee", {"m2_recoil": m2_e, "veto_passed": veto_e * 1}),
        ]
        signal_region = trigger & two_tracks & opposite & muid & barrel & veto & not_b2b & in_range
        return SearchResult(
            regions={"sr": sr, "presel": presel, "mumugamma": cr_mmg, "emu": cr_emu, "ee": cr_ee},
            fills=fills,
            signal_region=signal_region,
            weight_variations={"muid_up": (1 + d1) * (1 + d2), "muid_down": (1 - d1) * (1 - d2)},
            eventlist={"run": K.as_columns(events.run), "event": K.as_columns(events.event),
                       "m2_recoil": m2, "theta_recoil": theta_cms},
            eventlist_region="sr",
            cache=cache if variation.name == "nominal" else {},
        )

"""e+e- -> mu+ mu- Z', Z' -> invisible (L_mu - L_tau), after Belle II PRL 130, 231801
(2023) as presented in seed 002. Thresholds: the working point of search.py.

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

from collections.abc import Callable
from typing import Any

import hist
import numpy as np

from processors import dilepton as D
from processors import kinematics as K
from processors import selections as S
from processors.base import Fill, HistSpec, Region, SearchProcessor, SearchResult, Variation
from processors.rows import ToChunk, on_events
from processors.selections import (  # systematic variations shared by the muon searches (assumptions)
    MOMENTUM_SCALE_UNC,
    MUID_REL_UNC_HIGH_P,
    MUID_REL_UNC_LOW_P,
    MUID_UNC_P_SPLIT,
)
from processors.zprime_inv.search import ZPrimeInvWorkingPoint
from samples.constants import M_E, M_MU

# Histogram binning (not thresholds: the template every mass hypothesis is cut from).
M2_RANGE = (-0.5, 81.0)  # [GeV^2] template range (the paper's three M^2 ranges span it)
M2_BINS = 1000  # 0.0815 GeV^2 bins: ~ 50 bins in a +-10 sigma window at low mass
THETA_CMS_EDGES = np.radians(
    [0.0, 45.0, 70.0, 90.0, 110.0, 135.0, 180.0]
)  # full range: a slow massive recoil in the barrel can point anywhere in the CMS


def _m2_axis(name: str = "m2_recoil") -> hist.axis.Regular:
    return hist.axis.Regular(M2_BINS, *M2_RANGE, name=name, label=r"$M^2_\mathrm{recoil}$ [GeV$^2$]")


class ZPrimeInvisibleProcessor(SearchProcessor):
    """The Z' -> invisible search; constructor ``(lumi_fb=None, unblind=False, working_point=None)``."""

    search_name = "zprime-inv"
    network_features = D.PAIR_FEATURES
    branches = (
        "nTrack", "Track_px", "Track_py", "Track_pz", "Track_charge", "Track_d0", "Track_z0", "Track_muonID",
        "Track_electronID", "nPhoton", "Photon_E", "Photon_theta", "Photon_phi", "nKLMCluster", "KLMCluster_theta",
        "KLMCluster_phi", "beam_E", "beam_px", "beam_py", "beam_pz", "trg_ffo",
    )  # fmt: skip
    shape_variations = (
        Variation("pscale_up", 1.0 + MOMENTUM_SCALE_UNC),
        Variation("pscale_down", 1.0 - MOMENTUM_SCALE_UNC),
    )
    weight_variation_names = ("muid_up", "muid_down")
    # the momentum scale changes neither the track count, the charges nor the muon ID
    shape_invariant_cuts = ("trigger", "two_ip_tracks_no_extra", "opposite_charge", "muon_id")
    wp: ZPrimeInvWorkingPoint

    @classmethod
    def default_working_point(cls) -> ZPrimeInvWorkingPoint:
        return ZPrimeInvWorkingPoint()

    def histograms(self) -> dict[str, HistSpec]:
        theta = hist.axis.Variable(
            THETA_CMS_EDGES, name="theta_recoil", label=r"$\theta^\mathrm{CMS}_\mathrm{recoil}$ [rad]"
        )
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
            "cr_mumugamma_m2_recoil": HistSpec(
                (reg(100, -2, 2, name="m2_recoil", label=r"$M^2_\mathrm{recoil}(\mu\mu)$ [GeV$^2$]"),)
            ),
            "cr_emu_m2_recoil": HistSpec((_m2_axis(),)),
            "cr_ee_m2_recoil": HistSpec(
                (
                    reg(30, -0.5, 1.0, name="m2_recoil", label=r"$M^2_\mathrm{recoil}$ [GeV$^2$]"),
                    hist.axis.IntCategory([0, 1], name="veto_passed", label="photon veto passed"),
                )
            ),
        }

    def _dimuon(self, beam: K.P4, frame: K.CMSFrame, t1: K.P4, t2: K.P4, veto) -> dict:
        """The signal selection's per-event quantities (two tracks as muons); ``frame`` =
        ``K.CMSFrame.of(beam)``, ``veto(theta, phi, where)``. The photon veto follows the
        barrel cut in every region that uses it, so it is evaluated only where the recoil is in
        the barrel (False elsewhere); theta*_recoil is a template / event-list value, computed
        only for signal-region events (NaN elsewhere)."""
        pk = D.pair_kinematics(beam, frame, t1, t2)
        pair, pair_cms, m2, opening = pk.pair, pk.pair_cms, pk.m2_recoil, pk.opening_deg
        barrel = S.in_ecl_barrel(pk.recoil_theta, exclude_gap90=True)
        veto_ok = veto(pk.recoil_theta, pk.recoil_phi, barrel)
        not_b2b, in_range = opening < self.wp.opening_angle_max_deg, (m2 >= M2_RANGE[0]) & (m2 < M2_RANGE[1])
        sr = barrel & veto_ok & not_b2b & in_range
        theta_cms = on_events(sr, lambda take: K.recoil_theta_cms(
            take(beam), take(pair), take(pair_cms), K.electron_beam_axis_cms(take(beam), take(frame))))  # fmt: skip
        # the network inputs (event list, and the network step when the working point names one)
        idx = np.flatnonzero(sr)
        fsr = frame.take(idx)
        feats = {}
        for k, v in D.pair_features(fsr.to_cms(t1.take(idx)), fsr.to_cms(t2.take(idx))).items():
            feats[k] = np.full(len(sr), np.nan)
            feats[k][idx] = v
        network = self.network_step(feats, np.sqrt(np.clip(m2, 0.0, None))) if self.network is not None else None
        return {
            "beam": beam, "t1": t1, "t2": t2, "pair": pair, "m2": m2, "theta_cms": theta_cms,
            "rec_theta": pk.recoil_theta, "opening": opening, "barrel": barrel, "veto": veto_ok, "not_b2b": not_b2b,
            "in_range": in_range, "sr": sr, "features": feats, "network": network,
        }  # fmt: skip

    def _veto(self, events, rows: np.ndarray | None = None, photons: K.Jagged | None = None) -> S.PhotonVeto:
        return S.PhotonVeto(
            events.Photon if photons is None else photons, events.KLMCluster, rows=rows,
            cone_deg=self.wp.photon_veto_cone_deg, photon_min_energy=self.wp.photon_veto_min_e,
            extra_energy_max=self.wp.extra_energy_max,
        )  # fmt: skip

    def _sr_region(self, base_cuts: list, d: dict) -> Region:
        # the network step (issue 15) only when the working point names an artefact: cut-based outputs
        # keep their cutflow
        net = [] if d["network"] is None else [("network", d["network"])]
        return Region(
            [*base_cuts, ("recoil_in_barrel", d["barrel"]), ("photon_veto", d["veto"]),
             ("not_back_to_back", d["not_b2b"]), ("m2_in_range", d["in_range"]), *net],
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
        the track momenta, beam frames and photon-veto inputs the nominal pass kept."""
        c = nominal.cache
        if not c or selection is None:  # no preselection: the generic path
            return super().analyze_shape(events, variation, selection, nominal)
        selection = np.asarray(selection, dtype=bool)
        sub = np.flatnonzero(selection[c["rows"]])  # positions among the nominal pass's rows
        if len(sub) != np.count_nonzero(selection):  # not a subset of them: the generic path
            return super().analyze_shape(events, variation, selection, nominal)
        rows = c["rows"][sub]
        beam = c["beam"].take(sub)
        t1, t2 = D.tracks_as(c["raw"], variation.momentum_scale, M_MU, sub)
        d = self._dimuon(beam, c["frame"].take(sub), t1, t2, D.veto_on(c["veto"], rows))
        sr = self._sr_region([("preselected", np.ones(len(rows), dtype=bool))], d)
        return SearchResult(regions={"sr": sr}, fills=self._template_fills(d), signal_region=None)

    def analyze(self, events, variation: Variation) -> SearchResult:
        wp = self.wp
        trk = K.Jagged(events.Track)
        trigger = S.trigger(events, wp.trigger)
        ntrk, n_ip = trk.counts, S.n_from_ip(trk)
        charge_product = trk.nth("charge", 0, 0) * trk.nth("charge", 1, 0)
        two_tracks = (n_ip == 2) & (ntrk == 2)
        opposite = charge_product < 0
        everything = ntrk >= 0
        base_cuts = [("all", everything), ("trigger", trigger), ("two_ip_tracks_no_extra", two_tracks),
                     ("opposite_charge", opposite)]  # fmt: skip

        # Every region starts with base_cuts, then splits by particle ID: "sr", "presel" and
        # "mumugamma" need two muons, "emu" / "ee" an electron. The kinematics of each hypothesis
        # are computed only for the events passing base_cuts and its ID (processors/rows.py).
        rows = np.flatnonzero(trigger & two_tracks & opposite)
        ids = D.track_ids(trk, rows)
        muid, emu, ee = D.lepton_pair_ids(ids, wp.muon_id_min, wp.electron_id_min)
        mu_rows, e_rows = rows[muid], rows[emu | ee]
        photons, beam_all = K.Jagged(events.Photon), K.beam_p4(events)
        veto_of = self._veto(events, rows[muid | emu | ee], photons)
        scale = variation.momentum_scale
        mu_in = D.two_track_inputs(
            beam_all, trk, mu_rows, scale, veto_of, {k: v[muid] for k, v in ids.items()}, photons
        )
        e_in = D.two_track_inputs(beam_all, trk, e_rows, scale, veto_of, {k: v[emu | ee] for k, v in ids.items()})
        n = len(ntrk)
        cut, on_mu, on_e = ToChunk(rows, n), ToChunk(mu_rows, n), ToChunk(e_rows, n)
        emu_e, ee_e = emu[emu | ee], ee[emu | ee]

        # two muons
        beam, frame, t1, t2 = mu_in.beam, mu_in.frame, mu_in.t1, mu_in.t2
        d = self._dimuon(beam, frame, t1, t2, mu_in.veto)
        pair, m2, opening = d["pair"], d["m2"], d["opening"]
        # mu mu gamma control sample: the hardest photon above 1 GeV, E*(mu mu gamma) ~ sqrt(s).
        g_e, g_theta, g_phi = mu_in.photon
        hard_photon = g_e > wp.mumugamma_photon_e_min
        e_cms_mmg = on_events(hard_photon, lambda take: take(frame).to_cms(
            take(pair) + K.P4.from_angles(take(g_e), take(g_theta), take(g_phi))).t)  # fmt: skip
        mmg_window = (e_cms_mmg > wp.mumugamma_ecms_range[0]) & (e_cms_mmg < wp.mumugamma_ecms_range[1])

        # Values only the signal-region fills use: computed for its events.
        def on_sr(fn: Callable) -> Any:
            return on_events(d["sr"], fn)

        p1, p2 = on_sr(lambda take: take(t1).p), on_sr(lambda take: take(t2).p)
        # Per-muon ID uncertainty -> event weight ratio (both muons).
        d1 = MUID_REL_UNC_HIGH_P + (MUID_REL_UNC_LOW_P - MUID_REL_UNC_HIGH_P) * (p1 < MUID_UNC_P_SPLIT)
        d2 = MUID_REL_UNC_HIGH_P + (MUID_REL_UNC_LOW_P - MUID_REL_UNC_HIGH_P) * (p2 < MUID_UNC_P_SPLIT)

        # e mu and e e control samples: each track gets the mass its ID says.
        e1, e2 = (
            K.P4.from_pxpypzm(t.x, t.y, t.z, M_MU + (M_E - M_MU) * (e_in.ids["electronID", i] > wp.electron_id_min))
            for i, t in ((0, e_in.t1), (1, e_in.t2))
        )
        pair_e = e1 + e2
        m2_e = K.recoil_mass2(e_in.beam, pair_e, e_in.frame.to_cms(pair_e))
        rec_e = K.recoil(e_in.beam, pair_e)
        rec_e_theta = rec_e.theta
        barrel_e = S.in_ecl_barrel(rec_e_theta, exclude_gap90=True)
        # used by "emu" after e_mu_id + barrel and as a fill value of "ee" (e_e_id, barrel, m2 < 1)
        veto_e = e_in.veto(rec_e_theta, rec_e.phi, barrel_e & (emu_e | (ee_e & (m2_e < wp.ee_m2_max))))
        not_b2b_e = np.degrees(K.opening_angle_cms(e1, e2, e_in.beam, e_in.frame)) < wp.opening_angle_max_deg

        # regions and fills, per event of the chunk
        full = {k: on_mu.mask(d[k]) for k in ("barrel", "veto", "not_b2b", "in_range")}
        full["network"] = None if d["network"] is None else on_mu.mask(d["network"])
        sr = self._sr_region([*base_cuts, ("muon_id", cut.mask(muid))], full)
        presel = Region(sr.cuts[:6])
        cr_mmg = Region([*sr.cuts[:5], ("hard_photon", on_mu.mask(hard_photon)),
                         ("ecms_window", on_mu.mask(mmg_window))])  # fmt: skip
        barrel_e_full = on_e.mask(barrel_e)
        cr_emu = Region([*base_cuts, ("e_mu_id", cut.mask(emu)), ("recoil_in_barrel", barrel_e_full),
                         ("photon_veto", on_e.mask(veto_e)), ("not_back_to_back", on_e.mask(not_b2b_e))])  # fmt: skip
        cr_ee = Region([*base_cuts, ("e_e_id", cut.mask(ee)), ("recoil_in_barrel", barrel_e_full),
                        ("m2_below_1", on_e.mask(m2_e < wp.ee_m2_max))])  # fmt: skip
        val = on_mu.values
        m2_full, theta_cms_full, opening_full = val(m2), val(d["theta_cms"]), val(opening)
        m2_e_full = on_e.values(m2_e)
        fills = [
            *self._template_fills({"m2": m2_full, "theta_cms": theta_cms_full}),
            Fill("var_mu_p", "sr", {"p": val(p1)}),
            Fill("var_mu_p", "sr", {"p": val(p2)}),
            Fill("var_mu_cos_theta", "sr", {"cos_theta": val(on_sr(lambda take: take(t1).cos_theta))}),
            Fill("var_mu_cos_theta", "sr", {"cos_theta": val(on_sr(lambda take: take(t2).cos_theta))}),
            Fill("var_opening_angle_cms", "sr", {"angle": opening_full}),
            Fill("var_pair_pt", "sr", {"pt": val(on_sr(lambda take: take(pair).pt))}),
            Fill("var_m_mumu", "sr", {"m": val(on_sr(lambda take: take(pair).mass))}),
            Fill("var_recoil_theta_lab", "sr", {"theta": val(np.degrees(d["rec_theta"]))}),
            Fill("nm1_extra_energy", "presel", {"e": val(mu_in.extra_energy)}, mask=full["not_b2b"] & full["in_range"]),
            Fill("nm1_opening_angle_cms", "presel", {"angle": opening_full}, mask=full["veto"] & full["in_range"]),
            Fill("cr_mumugamma_m2_recoil", "mumugamma", {"m2_recoil": m2_full}),
            Fill("cr_emu_m2_recoil", "emu", {"m2_recoil": m2_e_full}),
            Fill("cr_ee_m2_recoil", "ee", {"m2_recoil": m2_e_full, "veto_passed": on_e.values(veto_e * 1, 0)}),
        ]
        signal_region = on_mu.mask(d["sr"])
        signal_region = trigger & two_tracks & opposite & cut.mask(muid) & signal_region
        cache = {}
        if variation.name == "nominal":
            cache = {"rows": mu_rows, "raw": mu_in.raw, "beam": beam, "frame": frame, "veto": veto_of}
        return SearchResult(
            regions={"sr": sr, "presel": presel, "mumugamma": cr_mmg, "emu": cr_emu, "ee": cr_ee},
            fills=fills,
            signal_region=signal_region,
            weight_variations={"muid_up": val((1 + d1) * (1 + d2), 1.0), "muid_down": val((1 - d1) * (1 - d2), 1.0)},
            eventlist={
                "run": K.as_columns(events.run),
                "event": K.as_columns(events.event),
                "m2_recoil": m2_full,
                "theta_recoil": theta_cms_full,
                **{k: val(v) for k, v in d["features"].items()},
            },
            eventlist_region="sr",
            cache=cache,
        )

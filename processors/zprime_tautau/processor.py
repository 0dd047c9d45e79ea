"""e+e- -> mu+ mu- Z', Z' -> tau+ tau- (L_mu - L_tau), after Belle II PRL 131, 121802 (2023) as presented in
issue 11 and seeds 000, 001, 002, 004. Thresholds: the working point of search.py.

Signal selection (region "sr", in cutflow order):
  CDC multi-track or CDC-KLM single-muon trigger (the emulated bits); exactly four tracks, all from the
  IP; total charge zero (two of each sign); an opposite-charge pair of muon-ID'd tracks ("muon_pair");
  the other two tracks one-prong tau daughters, at least ``min_tau_daughters_id`` of them identified as
  e, mu or pi ("tau_daughters"); M(4 tracks) < 9.5 GeV (mu mu + pi pi mass hypotheses); neither muon of
  the pair with the two other tracks lighter than ``three_prong_mass_min`` (~ m_tau: not three prongs of
  one tau, "one_tau_veto"; b2dark's stand-in for the paper's networks against tau tau); missing energy
  and momentum in the CMS from the neutrinos ("missing"); summed unmatched ECL energy below the pi0
  allowance ("extra_energy").

Pairing (declared): of the opposite-charge pairings whose muon pair is ID'd and whose other two tracks
pass the tau-daughter ID, the one with the largest summed CMS momentum of the muon pair is taken (the
muons radiated in e+e- -> mu mu Z' are harder than the tau daughters, which share the tau energy with
neutrinos); the number of qualifying pairings is histogrammed ("n_pairings"). Measured on the recipe's
signal (fraction of selected events with M_recoil within 5 widths of M): 0.96 at 3.6 GeV, 0.92 at 5, 0.85
at 6, 0.76 at 7, 0.61 at 8, 0.40 at 9 GeV (the recoiling muons soften as M grows); taking the pair of
smallest M(mu mu) instead gives 0.06-0.21 below 8 GeV and 0.59 at 9 GeV, so it is not used.

Observable: M_recoil(mu mu) = sqrt((p_beam - p_mu1 - p_mu2)^2) with the per-event beam four-vector.

Blinding: the whole signal region is hidden in data, and the cutflow steps from the four-track mass cut
on count only the others, unless unblind=True.

Control region "cr_2pi" (the paper's): an opposite-charge pair of pion-ID'd, not muon-ID'd tracks in
place of the muon pair, the rest of the selection unchanged: the background shape in M_recoil(pi pi).

Systematic variations: "muid_up/down" (per muon of the pair) as weights; "pscale_up/down" as a shape.
"""

from __future__ import annotations

from typing import Any

import hist
import numpy as np

from processors import kinematics as K
from processors import selections as S
from processors.base import Fill, HistSpec, Region, SearchProcessor, SearchResult, Variation
from processors.rows import ToChunk
from processors.zprime_tautau.search import ZPrimeTauTauWorkingPoint
from samples.constants import M_MU, M_PI

# Template binning: 2 MeV bins (the stats stage rebins each window to the resolution)
M_RECOIL_RANGE = (3.0, 10.6)  # [GeV]
N_BINS = 3800

# opposite-charge pairs of the charge-sorted tracks (columns 0, 1: negative; 2, 3: positive) and the
# complementary pair
PAIRS = (((0, 2), (1, 3)), ((0, 3), (1, 2)), ((1, 2), (0, 3)), ((1, 3), (0, 2)))


def _recoil_axis(name: str = "m_recoil", label: str = r"$M_\mathrm{recoil}(\mu\mu)$ [GeV]") -> hist.axis.Regular:
    return hist.axis.Regular(N_BINS, *M_RECOIL_RANGE, name=name, label=label)


def _col(p: K.P4, i: int) -> K.P4:
    return K.P4(p.x[:, i], p.y[:, i], p.z[:, i], p.t[:, i])


def _pick(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return np.take_along_axis(a, idx[:, None], axis=1)[:, 0]


class ZPrimeTauTauProcessor(SearchProcessor):
    """The Z' -> tau tau search; constructor ``(lumi_fb=None, unblind=False, working_point=None)``."""

    search_name = "zprime-tautau"
    branches = (
        "nTrack", "Track_px", "Track_py", "Track_pz", "Track_charge", "Track_d0", "Track_z0", "Track_muonID",
        "Track_electronID", "Track_pionID", "nPhoton", "Photon_E", "beam_E", "beam_px", "beam_py", "beam_pz",
        "trg_ffo", "trg_cdcklm",
    )  # fmt: skip
    shape_variations = (
        Variation("pscale_up", 1.0 + S.MOMENTUM_SCALE_UNC),
        Variation("pscale_down", 1.0 - S.MOMENTUM_SCALE_UNC),
    )
    weight_variation_names = ("muid_up", "muid_down")
    shape_invariant_cuts = ("trigger", "four_ip_tracks", "zero_charge", "muon_pair", "tau_daughters")
    wp: ZPrimeTauTauWorkingPoint

    @classmethod
    def default_working_point(cls) -> ZPrimeTauTauWorkingPoint:
        return ZPrimeTauTauWorkingPoint()

    def histograms(self) -> dict[str, HistSpec]:
        reg = hist.axis.Regular
        return {
            "template": HistSpec((_recoil_axis(),), syst=True),
            "var_m_recoil": HistSpec((reg(152, 3.0, 10.6, name="m", label=r"$M_\mathrm{recoil}(\mu\mu)$ [GeV]"),)),
            "var_m_tautau_visible": HistSpec((reg(100, 0.0, 10.0, name="m", label=r"$M$(tau daughters) [GeV]"),)),
            "n_pairings": HistSpec((reg(5, -0.5, 4.5, name="n", label="qualifying pairings"),)),
            "nm1_m4": HistSpec((reg(120, 0.0, 12.0, name="m4", label="$M$(4 tracks) [GeV]"),)),
            "nm1_m3_min": HistSpec((reg(80, 0.0, 8.0, name="m", label=r"min $M(\mu + 2$ tracks) [GeV]"),)),
            "nm1_e_miss": HistSpec((reg(100, 0.0, 10.0, name="e", label=r"$E^*_\mathrm{miss}$ [GeV]"),)),
            "nm1_extra_energy": HistSpec((reg(60, 0.0, 3.0, name="e", label="extra ECL energy [GeV]"),)),
            "cr_2pi_m_recoil": HistSpec((reg(152, 3.0, 10.6, name="m", label=r"$M_\mathrm{recoil}(\pi\pi)$ [GeV]"),)),
        }

    def analyze(self, events: Any, variation: Variation) -> SearchResult:
        wp = self.wp
        trk = K.Jagged(events.Track)
        n = len(trk.counts)
        trigger = S.trigger(events, wp.trigger)
        four, zero = S.four_ip_tracks_zero_charge(trk)

        rows = np.flatnonzero(trigger & four & zero)
        on = ToChunk(rows, n)
        charge = np.stack([trk.nth("charge", i, 0, rows) for i in range(4)], axis=1)
        order = np.argsort(charge, axis=1, kind="stable")

        def cols(name: str, fill: float = 0.0) -> np.ndarray:
            a = np.stack([trk.nth(name, i, fill, rows) for i in range(4)], axis=1).astype(np.float64)
            return np.take_along_axis(a, order, axis=1)

        px, py, pz = (cols(k) * variation.momentum_scale for k in ("px", "py", "pz"))
        is_mu = cols("muonID") > wp.muon_id_min
        is_e = cols("electronID") > wp.electron_id_min
        is_pi = cols("pionID") > wp.pion_id_min
        ided = is_mu | is_e | is_pi
        mu4 = K.P4.from_pxpypzm(px, py, pz, M_MU)
        pi4 = K.P4.from_pxpypzm(px, py, pz, M_PI)
        beam = K.beam_p4(events).take(rows)
        frame = K.CMSFrame.of(beam)
        p_cms = np.stack([frame.to_cms(_col(mu4, i)).p for i in range(4)], axis=1)

        def pair_ok(a: int, b: int, c: int, d: int, lead: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            first = lead[:, a] & lead[:, b]
            taus = (ided[:, c].astype(int) + ided[:, d].astype(int)) >= wp.min_tau_daughters_id
            return first, first & taus

        mu_pair = np.stack([pair_ok(a, b, c, d, is_mu)[0] for (a, b), (c, d) in PAIRS], axis=1)
        good = np.stack([pair_ok(a, b, c, d, is_mu)[1] for (a, b), (c, d) in PAIRS], axis=1)
        pi_lead = is_pi & ~is_mu
        good_2pi = np.stack([pair_ok(a, b, c, d, pi_lead)[1] for (a, b), (c, d) in PAIRS], axis=1)
        psum = np.stack([p_cms[:, a] + p_cms[:, b] for (a, b), _ in PAIRS], axis=1)

        def choose(ok: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """The declared pairing: the largest summed CMS momentum of the leading pair among ``ok``;
            returns (index into PAIRS, M_recoil of the pair, M of the other two tracks as pions)."""
            best = np.argmax(np.where(ok, psum, -1.0), axis=1)
            m_rec = np.zeros(len(best))
            m_other = np.zeros(len(best))
            for k, ((a, b), (c, d)) in enumerate(PAIRS):
                sel = best == k
                if not sel.any():
                    continue
                pair = (_col(mu4, a) + _col(mu4, b)).take(sel)
                m_rec[sel] = np.sqrt(np.clip(K.recoil_mass2(beam.take(sel), pair), 0.0, None))
                m_other[sel] = (_col(pi4, c) + _col(pi4, d)).take(sel).mass
            return best, m_rec, m_other

        best, m_recoil, m_other = choose(good)
        best_cr, m_recoil_cr, _ = choose(good_2pi)

        def total_with(best_k: np.ndarray) -> K.P4:
            """The four tracks, the leading pair as muons and the other two as pions."""
            parts = []
            for i in range(4):
                is_lead = np.zeros(len(best_k), dtype=bool)
                for k, ((a, b), _) in enumerate(PAIRS):
                    is_lead |= (best_k == k) & ((a == i) | (b == i))
                e = np.where(is_lead, _col(mu4, i).t, _col(pi4, i).t)
                parts.append(K.P4(px[:, i], py[:, i], pz[:, i], e))
            return parts[0] + parts[1] + parts[2] + parts[3]

        def kinematics(best_k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            total = total_with(best_k)
            cms = frame.to_cms(total)
            return total.mass, K.sqrt_s(beam) - cms.t, cms.p

        def min_three_prong_mass(best_k: np.ndarray) -> np.ndarray:
            """min over the two leading-pair tracks of M(that track + the other two tracks), as pions."""
            out = np.zeros(len(best_k))
            for k, ((a, b), (c, d)) in enumerate(PAIRS):
                sel = best_k == k
                rest = _col(pi4, c) + _col(pi4, d)
                m3 = np.minimum((rest + _col(pi4, a)).mass, (rest + _col(pi4, b)).mass)
                out = np.where(sel, m3, out)
            return out

        m4, e_miss, p_miss = kinematics(best)
        m4_cr, e_miss_cr, p_miss_cr = kinematics(best_cr)
        m3 = min_three_prong_mass(best)
        extra = np.asarray(K.extra_energy(events.Photon))[rows]

        pair_any = mu_pair.any(axis=1)
        tau_ok = good.any(axis=1)
        m4_ok = m4 < wp.m4_max
        veto_ok = m3 > wp.three_prong_mass_min
        miss_ok = (e_miss > wp.e_miss_cms_min) & (p_miss > wp.p_miss_cms_min)
        extra_ok = extra <= wp.extra_energy_max
        cr_ok = (
            ~tau_ok
            & good_2pi.any(axis=1)
            & (m4_cr < wp.m4_max)
            & (min_three_prong_mass(best_cr) > wp.three_prong_mass_min)
            & (e_miss_cr > wp.e_miss_cms_min)
            & (p_miss_cr > wp.p_miss_cms_min)
        )

        base = [("all", np.ones(n, dtype=bool)), ("trigger", trigger), ("four_ip_tracks", four), ("zero_charge", zero)]
        sr = Region(
            [*base, ("muon_pair", on.mask(pair_any)), ("tau_daughters", on.mask(tau_ok)), ("m4_max", on.mask(m4_ok)),
             ("one_tau_veto", on.mask(veto_ok)), ("missing", on.mask(miss_ok)), ("extra_energy", on.mask(extra_ok))],
            blind_from="m4_max",
        )  # fmt: skip
        regions = {
            "sr": sr,
            "taus": Region(sr.cuts[:6]),
            "cr_2pi": Region([*base, ("two_pions", on.mask(cr_ok)), ("extra_energy", on.mask(extra_ok))]),
        }

        val = on.values
        full = {k: on.mask(v) for k, v in (("m4", m4_ok), ("veto", veto_ok), ("miss", miss_ok), ("extra", extra_ok))}
        # per muon of the chosen pair, the ID efficiency uncertainty -> event weight ratios
        p_lab = mu4.p
        d = np.zeros(len(best))
        up, down = np.ones(len(best)), np.ones(len(best))
        for k, ((a, b), _) in enumerate(PAIRS):
            sel = best == k
            for i in (a, b):
                d = np.where(sel, S.muon_id_rel_unc(p_lab[:, i]), 0.0)
                up, down = up * (1.0 + d), down * (1.0 - d)
        fills = [
            Fill("template", "sr", {"m_recoil": val(m_recoil)}),
            Fill("var_m_recoil", "sr", {"m": val(m_recoil)}),
            Fill("var_m_tautau_visible", "sr", {"m": val(m_other)}),
            Fill("n_pairings", "sr", {"n": val(good.sum(axis=1) * 1.0)}),
            Fill("nm1_m4", "taus", {"m4": val(m4)}, mask=full["veto"] & full["miss"] & full["extra"]),
            Fill("nm1_m3_min", "taus", {"m": val(m3)}, mask=full["m4"] & full["miss"] & full["extra"]),
            Fill("nm1_e_miss", "taus", {"e": val(e_miss)}, mask=full["m4"] & full["veto"] & full["extra"]),
            Fill("nm1_extra_energy", "taus", {"e": val(extra)}, mask=full["m4"] & full["veto"] & full["miss"]),
            Fill("cr_2pi_m_recoil", "cr_2pi", {"m": val(m_recoil_cr)}),
        ]
        signal_region = on.mask(tau_ok & m4_ok & veto_ok & miss_ok & extra_ok)
        eventlist: dict[str, Any] = {"run": K.as_columns(events.run), "event": K.as_columns(events.event),
                                     "m_recoil": val(m_recoil), "m4": val(m4), "e_miss": val(e_miss)}  # fmt: skip
        return SearchResult(
            regions=regions,
            fills=fills,
            signal_region=signal_region,
            weight_variations={"muid_up": val(up, 1.0), "muid_down": val(down, 1.0)},
            eventlist=eventlist,
            eventlist_region="sr",
        )

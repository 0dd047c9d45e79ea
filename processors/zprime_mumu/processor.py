"""e+e- -> mu+ mu- Z', Z' -> mu+ mu- (L_mu - L_tau), after Belle II PRD 109, 112015 (2024) as presented
in seeds 001, 002 and 004. Thresholds: the working point of search.py.

Signal selection (region "sr", in cutflow order):
  CDC multi-track or CDC-KLM trigger; exactly four tracks, all from the IP; total charge zero (two of
  each sign); at least three of them muon-ID'd; the four-track system consistent with the full
  collision energy: M(4 tracks) in a window around sqrt(s) and |p*(4 tracks)| small (CMS); summed
  unmatched ECL energy below a threshold.

Candidates: the two opposite-charge pairings of the four muons give four dimuon candidates per event
(each pair of a pairing, the other pair of that pairing being its recoil pair); every candidate fills
the template, as in the paper. Scan variable: the reduced mass m_R = sqrt(M(mu mu)^2 - 4 m_mu^2), 0 at
the dimuon threshold (BaBar and Belle scan it; the peaks are as narrow and the low-mass edge is not
squeezed against 2 m_mu).

Blinding: the whole signal region (every event passing the full selection) is hidden in data, and the
cutflow steps from the four-track mass window on count only the others, unless unblind=True.

Control region "m4_sideband": the same four muons with M(4 tracks) in a sideband below the window
(no |p*| cut: those events lost energy to ISR / FSR photons), to check the mu mu mu mu normalisation.

N-1 histograms of every kinematic and ID cut ("nm1_*"), signal vs background in the plots.

Systematic variations: "muid_up/down" (per identified muon, processors.selections.muon_id_rel_unc) as
weights; "pscale_up/down" (track momentum scale) as a shape variation.
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import hist
import numpy as np

from processors import kinematics as K
from processors import selections as S
from processors.base import Fill, HistSpec, Region, SearchProcessor, SearchResult, Variation
from processors.rows import ToChunk
from processors.zprime_mumu.search import ZPrimeMuMuWorkingPoint
from samples.constants import M_MU

# Template binning: bins widening with the mass like the resolution (0.4 MeV + 0.1 % of m_R), so that
# every hypothesis' +-5 sigma window has a few bins per sigma before the stats stage rebins it.
M_R_MAX = 10.4  # [GeV]
_BIN_A, _BIN_B = 0.0004, 0.001
M_R_EDGES = (_BIN_A / _BIN_B) * ((1.0 + _BIN_B) ** np.arange(0, 3400) - 1.0)
M_R_EDGES = M_R_EDGES[M_R_EDGES <= M_R_MAX]

# The four candidates: (pair, its recoil pair) as column indices of the charge-sorted tracks
# (columns 0, 1: negative; 2, 3: positive). Pairing 1 = (0, 2) + (1, 3), pairing 2 = (0, 3) + (1, 2).
CANDIDATES = (((0, 2), (1, 3)), ((1, 3), (0, 2)), ((0, 3), (1, 2)), ((1, 2), (0, 3)))


def _m_r_axis(name: str = "m_reduced") -> hist.axis.Variable:
    return hist.axis.Variable(M_R_EDGES, name=name, label=r"$m_R(\mu\mu) = \sqrt{M^2 - 4m_\mu^2}$ [GeV]")


def four_tracks_sorted(trk: K.Jagged, rows: np.ndarray, scale: float) -> tuple[K.P4, np.ndarray, np.ndarray]:
    """The four tracks of ``rows`` as (n, 4) muon four-vectors sorted by charge (negative first), with
    their muonID and charge in the same order."""
    comps = {k: np.stack([trk.nth(k, i, 0.0, rows) for i in range(4)], axis=1) for k in ("px", "py", "pz")}
    pid = np.stack([trk.nth("muonID", i, 0.0, rows) for i in range(4)], axis=1).astype(np.float64)
    charge = np.stack([trk.nth("charge", i, 0, rows) for i in range(4)], axis=1)
    order = np.argsort(charge, axis=1, kind="stable")

    def take(a: np.ndarray) -> np.ndarray:
        return np.take_along_axis(a, order, axis=1)

    px, py, pz = (take(comps[k]).astype(np.float64) * scale for k in ("px", "py", "pz"))
    return K.P4.from_pxpypzm(px, py, pz, M_MU), take(pid), take(charge)


def _col(p: K.P4, i: int) -> K.P4:
    return K.P4(p.x[:, i], p.y[:, i], p.z[:, i], p.t[:, i])


def dimuon_candidates(mu: K.P4) -> tuple[np.ndarray, np.ndarray]:
    """(M, m_R) of the four opposite-charge candidates per event, each (n, 4)."""
    m = np.stack([(_col(mu, a) + _col(mu, b)).mass for (a, b), _ in CANDIDATES], axis=1)
    m_r = np.sqrt(np.clip(m * m - 4.0 * M_MU * M_MU, 0.0, None))
    return m, m_r


class ZPrimeMuMuProcessor(SearchProcessor):
    """The Z' -> mu mu search; constructor ``(lumi_fb=None, unblind=False, working_point=None)``."""

    search_name = "zprime-mumu"
    branches = (
        "nTrack", "Track_px", "Track_py", "Track_pz", "Track_charge", "Track_d0", "Track_z0", "Track_muonID",
        "nPhoton", "Photon_E", "beam_E", "beam_px", "beam_py", "beam_pz", "trg_ffo", "trg_cdcklm",
    )  # fmt: skip
    shape_variations = (
        Variation("pscale_up", 1.0 + S.MOMENTUM_SCALE_UNC),
        Variation("pscale_down", 1.0 - S.MOMENTUM_SCALE_UNC),
    )
    weight_variation_names = ("muid_up", "muid_down")
    # the momentum scale changes neither the track count, the charges nor the muon ID
    shape_invariant_cuts = ("trigger", "four_ip_tracks", "zero_charge", "muon_id")
    wp: ZPrimeMuMuWorkingPoint

    @classmethod
    def default_working_point(cls) -> ZPrimeMuMuWorkingPoint:
        return ZPrimeMuMuWorkingPoint()

    def histograms(self) -> dict[str, HistSpec]:
        reg = hist.axis.Regular
        return {
            "template": HistSpec((_m_r_axis(),), syst=True),
            "var_m_mumu": HistSpec((reg(1050, 0.0, 10.5, name="m", label=r"$M(\mu\mu)$ [GeV]"),)),
            "var_mu_p": HistSpec((reg(60, 0, 6, name="p", label="muon $p$ [GeV]"),)),
            "var_mass_difference": HistSpec(
                (reg(100, -0.5, 0.5, name="dm", label=r"$M_\mathrm{recoil}$(other pair) $- M(\mu\mu)$ [GeV]"),)
            ),
            # N-1: everything but the cut on the plotted variable
            "nm1_n_muons": HistSpec((reg(5, -0.5, 4.5, name="n", label="muon-ID'd tracks"),)),
            "nm1_m4": HistSpec((reg(100, 8.0, 11.5, name="m4", label="$M$(4 tracks) [GeV]"),)),
            "nm1_p4_cms": HistSpec((reg(60, 0.0, 3.0, name="p4", label=r"$|p^*|$(4 tracks) [GeV]"),)),
            "nm1_extra_energy": HistSpec((reg(60, 0.0, 3.0, name="e", label="extra ECL energy [GeV]"),)),
            "cr_m4_sideband_m_reduced": HistSpec((_m_r_axis(),)),
        }

    def analyze(self, events: Any, variation: Variation) -> SearchResult:
        wp = self.wp
        trk = K.Jagged(events.Track)
        n = len(trk.counts)
        trigger = S.trigger(events, wp.trigger)
        four, zero = S.four_ip_tracks_zero_charge(trk)

        # kinematics for the events with four IP tracks of zero total charge (trigger passed)
        rows = np.flatnonzero(trigger & four & zero)
        on = ToChunk(rows, n)
        mu, pid, _ = four_tracks_sorted(trk, rows, variation.momentum_scale)
        is_mu = pid > wp.muon_id_min
        n_mu = is_mu.sum(axis=1)
        beam = K.beam_p4(events).take(rows)
        frame = K.CMSFrame.of(beam)
        total = _col(mu, 0) + _col(mu, 1) + _col(mu, 2) + _col(mu, 3)
        m4, p4_cms = total.mass, frame.to_cms(total).p
        extra = K.extra_energy(events.Photon)[rows]
        m, m_r = dimuon_candidates(mu)
        # the other pair's recoil mass equals the candidate's mass when nothing else was produced
        recoil_other = np.stack(
            [np.sqrt(np.clip(K.recoil_mass2(beam, _col(mu, a) + _col(mu, b)), 0.0, None)) for _, (a, b) in CANDIDATES],
            axis=1,
        )

        muon_ok = n_mu >= wp.min_muons
        in_m4 = (m4 > wp.m4_window[0]) & (m4 < wp.m4_window[1])
        p4_ok = p4_cms < wp.p4_cms_max
        extra_ok = extra <= wp.extra_energy_max
        sideband = (m4 > wp.m4_sideband[0]) & (m4 < wp.m4_sideband[1])

        base = [("all", np.ones(n, dtype=bool)), ("trigger", trigger), ("four_ip_tracks", four), ("zero_charge", zero)]
        sr = Region(
            [*base, ("muon_id", on.mask(muon_ok)), ("m4_window", on.mask(in_m4)), ("p4_cms", on.mask(p4_ok)),
             ("extra_energy", on.mask(extra_ok))],
            blind_from="m4_window",
        )  # fmt: skip
        regions = {
            "sr": sr,
            "presel": Region(sr.cuts[:4]),
            "muons": Region(sr.cuts[:5]),
            "m4_sideband": Region([*sr.cuts[:5], ("m4_sideband", on.mask(sideband)), sr.cuts[7]]),
        }

        def per_event(a: np.ndarray, fill: float = np.nan) -> ak.Array:
            """(n_rows, k) candidate values -> an (n, k) array of the chunk (fill elsewhere)."""
            out = np.full((n, a.shape[1]), fill)
            out[rows] = a
            return ak.Array(out)

        val = on.values
        m_r_ev, m_ev = per_event(m_r), per_event(m)
        p_ev = per_event(mu.p)
        # per identified muon, the ID efficiency uncertainty -> event weight ratios
        d = np.where(is_mu, S.muon_id_rel_unc(mu.p), 0.0)
        full = {k: on.mask(v) for k, v in (("m4", in_m4), ("p4", p4_ok), ("extra", extra_ok))}
        fills = [
            Fill("template", "sr", {"m_reduced": m_r_ev}),
            Fill("var_m_mumu", "sr", {"m": m_ev}),
            Fill("var_mu_p", "sr", {"p": p_ev}),
            Fill("var_mass_difference", "sr", {"dm": per_event(recoil_other - m)}),
            Fill("nm1_n_muons", "presel", {"n": val(n_mu * 1.0)}, mask=full["m4"] & full["p4"] & full["extra"]),
            Fill("nm1_m4", "muons", {"m4": val(m4)}, mask=full["p4"] & full["extra"]),
            Fill("nm1_p4_cms", "muons", {"p4": val(p4_cms)}, mask=full["m4"] & full["extra"]),
            Fill("nm1_extra_energy", "muons", {"e": val(extra)}, mask=full["m4"] & full["p4"]),
            Fill("cr_m4_sideband_m_reduced", "m4_sideband", {"m_reduced": m_r_ev}),
        ]
        signal_region = on.mask(muon_ok & in_m4 & p4_ok & extra_ok)
        eventlist: dict[str, Any] = {"run": K.as_columns(events.run), "event": K.as_columns(events.event),
                                     "m4": val(m4)}  # fmt: skip
        eventlist.update({f"m_reduced_{k}": val(m_r[:, k]) for k in range(4)})
        return SearchResult(
            regions=regions,
            fills=fills,
            signal_region=signal_region,
            weight_variations={
                "muid_up": val(np.prod(1.0 + d, axis=1), 1.0),
                "muid_down": val(np.prod(1.0 - d, axis=1), 1.0),
            },
            eventlist=eventlist,
            eventlist_region="sr",
        )

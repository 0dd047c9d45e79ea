"""e+e- -> gamma A', A' -> invisible: exactly one photon and nothing else (seeds 001/002; BaBar PRL 119,
131804). Thresholds: the working point of search.py.

Signal selection (region "sr", in cutflow order):
  trigger: one of the single-photon lines of the working point, emulated per ECL region from the
      clusters' CMS energies (only unmatched clusters count: the selection requires no track anyway);
  one_photon: exactly one cluster above the threshold of a line of its region (the candidate);
  no_tracks; fiducial: candidate polar angle (lab) in the declared range; cluster_time: |t| below the
  cut (cosmics, out-of-time beam background); no_other_cluster: no other cluster above the declared
  energy; extra_energy: the summed energy of the other clusters below the cut; klm_veto: no KLM cluster
  behind an ECL gap (lab polar angle) back to back with the photon in the CMS azimuth; e_in_range:
  E*_gamma inside the template range.
Observable: E*_gamma, the candidate's energy in the CMS of its event's beams.

Blinding: every event passing the full selection is the signal region (the whole E* spectrum, as a
bump hunt over all masses); in data it is hidden from all histograms and the event list, and the cutflow
steps from one_photon on count only the others, unless unblind=True.

Systematic variations (shape): "escale_up/down" (photon energy scale, constants); "eres_up" (resolution
worse by the declared fraction: an extra Gaussian smearing per event, seeded by (run, event) so that it is
reproducible and chunk-independent) with "eres_down" = nominal (a one-sided variation).
"""

from __future__ import annotations

from typing import Any

import hist
import numpy as np
from scipy.special import ndtri

from processors import kinematics as K
from processors.base import Fill, HistSpec, Region, SearchProcessor, SearchResult, Variation
from processors.monophoton.search import MonophotonWorkingPoint
from samples import constants as C
from samples.generator.detector import ecl_sigma_over_e

E_BINS = 1040  # 5 MeV bins over the template range: ~5 bins per sigma at the lowest energies
ERES_UP, ERES_DOWN = "eres_up", "eres_down"


def _event_normal(run: np.ndarray, event: np.ndarray) -> np.ndarray:
    """A standard normal number per event from (run, event) alone (a 64-bit mix, then the inverse CDF)."""
    x = event.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    x ^= run.astype(np.uint64) * np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(31)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(29)
    u = ((x >> np.uint64(11)).astype(np.float64) + 0.5) / float(2**53)
    return ndtri(u)


def _per_event_sum(offsets: np.ndarray, values: np.ndarray) -> np.ndarray:
    c = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    return c[offsets[1:]] - c[offsets[:-1]]


def _in_gap(theta_deg: np.ndarray, margin: float) -> np.ndarray:
    """Lab polar angles behind an ECL gap (forward 31.4-32.2, backward 128.7-130.7 deg) +- margin."""
    fwd = (theta_deg > C.ECL_FWD_MAX_DEG - margin) & (theta_deg < C.ECL_FWD_GAP_MAX_DEG + margin)
    bwd = (theta_deg > C.ECL_BARREL_MAX_DEG - margin) & (theta_deg < C.ECL_BWD_GAP_MAX_DEG + margin)
    return fwd | bwd


def _e_axis(name: str = "e_cms") -> hist.axis.Regular:
    lo, hi = MonophotonWorkingPoint().e_cms_range
    return hist.axis.Regular(E_BINS, lo, hi, name=name, label=r"$E^*_\gamma$ [GeV]")


class MonophotonProcessor(SearchProcessor):
    """The mono-photon search; constructor ``(lumi_fb=None, unblind=False, working_point=None)``."""

    search_name = "monophoton"
    branches = (
        "nTrack",
        "nPhoton",
        "Photon_E",
        "Photon_theta",
        "Photon_phi",
        "Photon_time",
        "nKLMCluster",
        "KLMCluster_theta",
        "KLMCluster_phi",
        "beam_E",
        "beam_px",
        "beam_py",
        "beam_pz",
        "run",
        "event",
    )
    shape_variations = (
        Variation("escale_up", photon_energy_scale=1.0 + C.MONOPHOTON_ESCALE_REL_UNC),
        Variation("escale_down", photon_energy_scale=1.0 - C.MONOPHOTON_ESCALE_REL_UNC),
        Variation(ERES_UP),
        Variation(ERES_DOWN),
    )
    shape_invariant_cuts = ("no_tracks",)  # the photon energy changes no track
    wp: MonophotonWorkingPoint

    @classmethod
    def default_working_point(cls) -> MonophotonWorkingPoint:
        return MonophotonWorkingPoint()

    def histograms(self) -> dict[str, HistSpec]:
        reg = hist.axis.Regular
        veto = hist.axis.IntCategory([0, 1], name="veto_passed", label="KLM veto passed")
        return {
            "template": HistSpec((_e_axis(),), syst=True),
            "map_theta_phi": HistSpec(
                (
                    reg(90, 0, 180, name="theta", label=r"photon $\theta$ (lab) [deg]"),
                    reg(36, -180, 180, name="phi", label=r"photon $\phi$ (lab) [deg]"),
                )
            ),
            "klm_veto_e": HistSpec((reg(52, 0.4, 5.6, name="e_cms", label=r"$E^*_\gamma$ [GeV]"), veto)),
            "klm_veto_theta": HistSpec((reg(62, 22, 146, name="theta", label=r"photon $\theta$ (lab) [deg]"), veto)),
            "var_theta_lab": HistSpec((reg(62, 22, 146, name="theta", label=r"photon $\theta$ (lab) [deg]"),)),
            "nm1_extra_energy": HistSpec((reg(50, 0, 1, name="e", label="extra ECL energy [GeV]"),)),
            "nm1_time": HistSpec((reg(80, -20, 20, name="t", label="photon cluster time [ns]"),)),
        }

    def _photons(self, events, variation: Variation) -> dict[str, Any]:
        """Flat per-cluster quantities: lab energy (with the variation), angles, time, CMS energy/azimuth."""
        ph = K.Jagged(events.Photon)
        n = len(ph.counts)
        evt = np.repeat(np.arange(n), ph.counts)
        e = ph.flat("E").astype(np.float64) * variation.photon_energy_scale
        if variation.name == ERES_UP:
            k = np.sqrt((1.0 + C.MONOPHOTON_ERES_REL_UNC) ** 2 - 1.0)  # extra smearing, in quadrature
            z = _event_normal(K.as_columns(events.run, 0, np.int64)[evt], K.as_columns(events.event, 0, np.int64)[evt])
            e = e * (1.0 + k * ecl_sigma_over_e(e) * z)
        theta = ph.flat("theta").astype(np.float64)
        phi = ph.flat("phi").astype(np.float64)
        frame = K.CMSFrame.of(K.beam_p4(events))
        cms = frame.take(evt).to_cms(K.P4.from_angles(e, theta, phi))
        return {
            "ph": ph,
            "evt": evt,
            "n": n,
            "e": e,
            "theta_deg": np.degrees(theta),
            "phi": phi,
            "time": ph.flat("time").astype(np.float64),
            "e_cms": cms.t,
            "phi_cms": cms.phi,
            "frame": frame,
        }

    def _klm_opposite(self, events, frame: K.CMSFrame, phi_cms_photon: np.ndarray) -> np.ndarray:
        """Per event: a KLM cluster behind an ECL gap, back to back with the photon in the CMS azimuth."""
        klm = K.Jagged(events.KLMCluster)
        kevt = np.repeat(np.arange(len(klm.counts)), klm.counts)
        th = klm.flat("theta").astype(np.float64)
        # a KLM cluster has a direction only: boost it as a massless unit four-vector
        kc = frame.take(kevt).to_cms(K.P4.from_angles(np.ones_like(th), th, klm.flat("phi").astype(np.float64)))
        dphi = np.abs(np.angle(np.exp(1j * (kc.phi - phi_cms_photon[kevt]))))
        hit = _in_gap(np.degrees(th), self.wp.klm_gap_margin_deg) & (
            np.degrees(np.pi - dphi) < self.wp.klm_dphi_tol_deg
        )
        return np.bincount(kevt[hit], minlength=len(klm.counts)) > 0

    @staticmethod
    def _partner_theta_deg(p: dict[str, Any], ci: np.ndarray, has: np.ndarray) -> np.ndarray:
        """Lab polar angle of the direction back to back with the candidate in the CMS (NaN without one)."""
        f = p["frame"]
        e, th, ph = (
            np.where(has, p[k][ci], v) if p[k].size else np.full(len(ci), v)
            for k, v in (("e", 1.0), ("theta_deg", 90.0), ("phi", 0.0))
        )
        c = f.to_cms(K.P4.from_angles(e, np.radians(th), ph))
        back = K.P4(-c.x, -c.y, -c.z, c.t)
        lab = K.boost(back, -f.bx, -f.by, -f.bz)
        return np.where(has, np.degrees(lab.theta), np.nan)

    def trigger_lines(self, p: dict[str, Any]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Per line, whether it fires (per event); and per cluster, whether it passes a line's threshold."""
        wp = self.wp
        n_other = np.bincount(p["evt"][p["e_cms"] > wp.trigger_other_e_cms], minlength=p["n"])
        fired, above = {}, np.zeros(p["e"].size, dtype=bool)
        for line in wp.trigger_lines:
            lo, hi = line.theta_deg
            cl = (p["e_cms"] > line.e_cms_min) & (p["theta_deg"] >= lo) & (p["theta_deg"] <= hi)
            above |= cl
            ok = np.bincount(p["evt"][cl], minlength=p["n"]) > 0
            fired[line.name] = ok & (n_other <= 1) if line.isolated else ok
        return fired, above

    def analyze(self, events, variation: Variation) -> SearchResult:
        wp = self.wp
        p = self._photons(events, variation)
        n, evt, off = p["n"], p["evt"], p["ph"].offsets
        fired, above = self.trigger_lines(p)
        trigger = np.logical_or.reduce(list(fired.values()))
        n_cand = np.bincount(evt[above], minlength=n)
        one = n_cand == 1
        # the candidate: the cluster above a line threshold (the highest-E* one where there are several)
        score = np.where(above, p["e_cms"], -1.0)
        idx = np.full(n, -1, dtype=np.int64)
        if score.size:
            order = np.lexsort((-score, evt))
            first = off[:-1][p["ph"].counts > 0]
            idx[p["ph"].counts > 0] = order[first]
        has = idx >= 0
        ci = np.where(has, idx, 0)

        def cand(a: np.ndarray, fill: float = np.nan) -> np.ndarray:
            return np.where(has, a[ci], fill) if a.size else np.full(n, fill)

        e_cms, theta, time = cand(p["e_cms"]), cand(p["theta_deg"]), cand(p["time"])
        phi_lab, phi_cms = cand(p["phi"]), cand(p["phi_cms"], 0.0)
        no_tracks = K.as_columns(events.nTrack, 0, np.int64) == 0
        fiducial = (theta > wp.theta_fiducial_deg[0]) & (theta < wp.theta_fiducial_deg[1])
        partner_ok = ~_in_gap(self._partner_theta_deg(p, ci, has), wp.partner_gap_margin_deg)
        in_time = np.abs(time) < wp.photon_time_max_ns
        other = np.ones(p["e"].size, dtype=bool)
        other[idx[has]] = False
        n_big = np.bincount(evt[other & (p["e"] > wp.other_cluster_e_max)], minlength=n)
        extra = _per_event_sum(off, np.where(other, p["e"], 0.0))
        klm_ok = ~self._klm_opposite(events, p["frame"], phi_cms)
        in_range = (e_cms >= wp.e_cms_range[0]) & (e_cms < wp.e_cms_range[1])
        cuts = [
            ("all", np.ones(n, dtype=bool)),
            ("trigger", trigger),
            ("one_photon", one & has),
            ("no_tracks", no_tracks),
            ("fiducial", fiducial),
            ("partner_not_in_gap", partner_ok),
            ("cluster_time", in_time),
            ("no_other_cluster", n_big == 0),
            ("extra_energy", extra < wp.extra_energy_max),
            ("klm_veto", klm_ok),
            ("e_in_range", in_range),
        ]
        sr = Region(cuts, blind_from="one_photon")
        d = dict(cuts)
        base = [cuts[i] for i in (0, 1, 2, 3)]
        presel = Region(
            [*base, ("cluster_time", in_time), ("no_other_cluster", n_big == 0), ("extra_energy", d["extra_energy"])]
        )
        before_klm = Region([*presel.cuts, ("fiducial", fiducial), ("e_in_range", in_range)])
        nm1 = Region(
            [
                *base,
                ("fiducial", fiducial),
                ("partner_not_in_gap", partner_ok),
                ("klm_veto", klm_ok),
                ("e_in_range", in_range),
            ]
        )
        fills = [
            Fill("template", "sr", {"e_cms": e_cms}),
            Fill("map_theta_phi", "presel", {"theta": theta, "phi": np.degrees(phi_lab)}),
            Fill("klm_veto_e", "before_klm", {"e_cms": e_cms, "veto_passed": klm_ok * 1}),
            Fill("klm_veto_theta", "before_klm", {"theta": theta, "veto_passed": klm_ok * 1}),
            Fill("var_theta_lab", "sr", {"theta": theta}),
            Fill("nm1_extra_energy", "nm1", {"e": extra}, mask=in_time & (n_big == 0)),
            Fill("nm1_time", "nm1", {"t": time}, mask=(n_big == 0) & d["extra_energy"]),
        ]
        signal_region = np.logical_and.reduce([m for _, m in cuts])
        return SearchResult(
            regions={"sr": sr, "presel": presel, "before_klm": before_klm, "nm1": nm1},
            fills=fills,
            signal_region=signal_region,
            eventlist={
                "run": K.as_columns(events.run),
                "event": K.as_columns(events.event),
                "e_cms": e_cms,
                "theta": theta,
            },
            eventlist_region="sr",
        )

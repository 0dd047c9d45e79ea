"""The Z' -> invisible signal selection as a plain per-event Python loop: how many
analysis scripts still work (read the branches, loop over events, ``math``).

It does less than the other cases -- the signal-region cutflow and the nominal
template / M^2_recoil histograms, no control samples or variations -- so its
throughput is an upper bound for a loop doing the full job. It runs on the
first events of every sample (a subsample); the benchmark scales the time.
The yields must equal b2dark's on the same events (checked by the benchmark).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.sample import BenchSample

BRANCHES = (
    "beam_E", "beam_px", "beam_py", "beam_pz", "weight", "trg_ffo",
    "Track_px", "Track_py", "Track_pz", "Track_charge", "Track_d0", "Track_z0", "Track_muonID",
    "Photon_E", "Photon_theta", "Photon_phi", "KLMCluster_theta", "KLMCluster_phi",
)  # fmt: skip
CUTS = ("all", "trigger", "two_ip_tracks_no_extra", "opposite_charge", "muon_id", "recoil_in_barrel",
        "photon_veto", "not_back_to_back", "m2_in_range")  # fmt: skip


def _f32(x: float) -> float:
    """A threshold as NumPy 2 compares it against a float32 branch."""
    return float(np.float32(x))


def _settings() -> dict[str, Any]:
    from processors import kinematics as K
    from processors import selections as S
    from processors.zprime_inv import processor as Z
    from processors.zprime_inv.search import ZPrimeInvWorkingPoint
    from samples import constants as C
    from samples.constants import M_MU

    WP = ZPrimeInvWorkingPoint()

    d = S.DEG
    return {
        "d0": _f32(C.TRACK_IP_D0_MAX), "z0": _f32(C.TRACK_IP_Z0_MAX), "muid": _f32(WP.muon_id_min),
        "m_mu": M_MU, "bar_lo": C.ECL_BARREL_MIN_DEG * d, "bar_hi": C.ECL_BARREL_MAX_DEG * d,
        "gap90": C.ECL_BARREL_GAP90_HALF_WIDTH_DEG * d, "cone_cos": math.cos(WP.photon_veto_cone_deg * d),
        "g_min": _f32(WP.photon_veto_min_e), "extra_max": _f32(WP.extra_energy_max),
        "open_max": WP.opening_angle_max_deg, "m2_lo": Z.M2_RANGE[0], "m2_hi": Z.M2_RANGE[1], "m2_bins": Z.M2_BINS,
        "theta_edges": [float(x) for x in Z.THETA_CMS_EDGES], "her": [float(x) for x in K._HER],
        "fwd": (_f32(C.ECL_FWD_MIN_DEG * d), _f32(C.ECL_FWD_MAX_DEG * d)),
        "bar_f": (_f32(C.ECL_BARREL_MIN_DEG * d), _f32(C.ECL_BARREL_MAX_DEG * d)),
        "bwd": (_f32(C.ECL_BWD_MIN_DEG * d), _f32(C.ECL_BWD_MAX_DEG * d)),
        "gap90_f": _f32(C.ECL_BARREL_GAP90_HALF_WIDTH_DEG * d), "half_pi_f": _f32(math.pi / 2),
    }  # fmt: skip


def boost_cm(v: tuple, p: tuple) -> tuple:
    """Four-vector v (x, y, z, t) in the rest frame of p (as processors.kinematics.boost)."""
    bx, by, bz = -p[0] / p[3], -p[1] / p[3], -p[2] / p[3]
    b2 = bx * bx + by * by + bz * bz
    gamma = 1.0 / math.sqrt(1.0 - b2)
    bp = bx * v[0] + by * v[1] + bz * v[2]
    k = (gamma - 1.0) * bp / b2 + gamma * v[3]
    return (v[0] + k * bx, v[1] + k * by, v[2] + k * bz, gamma * (v[3] + bp))


def cos_angle(a: tuple, b: tuple) -> float:
    dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
    norm = math.sqrt((a[0] ** 2 + a[1] ** 2 + a[2] ** 2) * (b[0] ** 2 + b[1] ** 2 + b[2] ** 2))
    return min(max(dot / norm, -1.0), 1.0)


def unit(theta: float, phi: float) -> tuple:
    st = math.sin(theta)
    return (st * math.cos(phi), st * math.sin(phi), math.cos(theta))


def in_gap(theta: float, s: dict) -> bool:
    inside = (
        s["fwd"][0] <= theta < s["fwd"][1]
        or s["bar_f"][0] <= theta <= s["bar_f"][1]
        or s["bwd"][0] < theta <= s["bwd"][1]
    )
    return not inside or abs(theta - s["half_pi_f"]) <= s["gap90_f"]


def loop(events: list[dict], norm: float, s: dict) -> tuple[list[int], list[float], np.ndarray, np.ndarray]:
    """One sample: (raw cutflow, weighted cutflow, template hist, m2 hist)."""
    raw = [0] * len(CUTS)
    wgt = [0.0] * len(CUTS)
    edges = s["theta_edges"]
    template = np.zeros((s["m2_bins"], len(edges) - 1))
    m2_hist = np.zeros(s["m2_bins"])
    for ev in events:
        w = norm * ev["weight"]
        beam = (ev["beam_px"], ev["beam_py"], ev["beam_pz"], ev["beam_E"])
        px, py, pz = ev["Track_px"], ev["Track_py"], ev["Track_pz"]
        n = len(px)
        passed = [True]
        passed.append(ev["trg_ffo"])
        n_ip = sum(
            1 for d0, z0 in zip(ev["Track_d0"], ev["Track_z0"], strict=True) if abs(d0) < s["d0"] and abs(z0) < s["z0"]
        )
        passed.append(n_ip == 2 and n == 2)
        if n >= 2:
            q = ev["Track_charge"]
            passed.append(q[0] * q[1] < 0)
            passed.append(ev["Track_muonID"][0] > s["muid"] and ev["Track_muonID"][1] > s["muid"])
            mu = []
            for i in (0, 1):
                e = math.sqrt(px[i] ** 2 + py[i] ** 2 + pz[i] ** 2 + s["m_mu"] ** 2)
                mu.append((px[i], py[i], pz[i], e))
            pair = tuple(a + b for a, b in zip(mu[0], mu[1], strict=True))
            ssq = beam[3] ** 2 - (beam[0] ** 2 + beam[1] ** 2 + beam[2] ** 2)
            pc = boost_cm(pair, beam)
            m2 = ssq + (pair[3] ** 2 - (pair[0] ** 2 + pair[1] ** 2 + pair[2] ** 2)) - 2.0 * math.sqrt(ssq) * pc[3]
            rec = tuple(b - p for b, p in zip(beam, pair, strict=True))
            rth = math.atan2(math.hypot(rec[0], rec[1]), rec[2])
            rph = math.atan2(rec[1], rec[0])
            passed.append(s["bar_lo"] <= rth <= s["bar_hi"] and abs(rth - math.pi / 2) > s["gap90"])
            axis = unit(rth, rph)
            veto = sum(ev["Photon_E"]) <= s["extra_max"]
            for e, th, ph in zip(ev["Photon_E"], ev["Photon_theta"], ev["Photon_phi"], strict=True):
                if e > s["g_min"] and cos_angle(unit(th, ph), axis) > s["cone_cos"]:
                    veto = False
            for th, ph in zip(ev["KLMCluster_theta"], ev["KLMCluster_phi"], strict=True):
                if cos_angle(unit(th, ph), axis) > s["cone_cos"] and in_gap(th, s):
                    veto = False
            passed.append(veto)
            a, b = boost_cm(mu[0], beam), boost_cm(mu[1], beam)
            opening = math.degrees(math.acos(cos_angle(a, b)))
            passed.append(opening < s["open_max"])
            passed.append(s["m2_lo"] <= m2 < s["m2_hi"])
        for i, ok in enumerate(passed):
            if not ok:
                break
            raw[i] += 1
            wgt[i] += w
        else:
            if len(passed) == len(CUTS):
                h = boost_cm(tuple(s["her"]), beam)
                hn = math.sqrt(h[0] ** 2 + h[1] ** 2 + h[2] ** 2)
                theta_cms = math.acos(cos_angle((-pc[0], -pc[1], -pc[2]), (h[0] / hn, h[1] / hn, h[2] / hn)))
                ib = int((m2 - s["m2_lo"]) / (s["m2_hi"] - s["m2_lo"]) * s["m2_bins"])
                m2_hist[ib] += w
                for j in range(len(edges) - 1):
                    if edges[j] <= theta_cms < edges[j + 1]:
                        template[ib, j] += w
    return raw, wgt, template, m2_hist


@dataclass
class Subsample:
    """The first ``entries[sample]`` events of each sample's ROOT file."""

    files: dict[str, str]
    entries: dict[str, int]
    metadata: dict[str, dict[str, Any]]

    @classmethod
    def build(cls, sample: BenchSample, compression: str, n_total: int) -> Subsample:
        frac = n_total / max(sample.n_events, 1)
        entries = {k: max(1, min(f.n_events, round(f.n_events * frac))) for k, f in sample.files.items()}
        fs = sample.fileset("root", compression)
        files = {k: next(iter(v["files"])) for k, v in fs.items()}
        return cls(files, entries, {k: v["metadata"] for k, v in fs.items()})

    @property
    def n_events(self) -> int:
        return sum(self.entries.values())

    def run(self) -> dict[str, dict[str, Any]]:
        """Read + loop; returns the signal-region cutflow per sample (b2dark's layout)."""
        import uproot

        from benchmarks.rdf_zprime_inv import event_norm

        s = _settings()
        out = {}
        for sample, path in self.files.items():
            with uproot.open(path) as f:
                arrays = f["events"].arrays(list(BRANCHES), entry_stop=self.entries[sample])
            events = arrays.tolist()
            raw, wgt, _, _ = loop(events, event_norm(self.metadata[sample]), s)
            out[sample] = {"names": list(CUTS), "raw": raw, "weighted": wgt}
        return out

    def reference(self, _full_output: Any = None) -> dict[str, dict[str, Any]]:
        """b2dark's signal-region cutflow on exactly these events (NanoEvents, virtual mode)."""
        from coffea.nanoevents import NanoEventsFactory

        from benchmarks.bench_throughput import cutflow_raw, make_processor
        from processors.schema import B2Schema

        proc = make_processor()
        res = {}
        for sample, path in self.files.items():
            md = dict(self.metadata[sample], dataset=sample, filename=path)
            events = NanoEventsFactory.from_root(
                {path: "events"}, schemaclass=B2Schema, metadata=md, entry_stop=self.entries[sample], mode="virtual"
            ).events()
            res.update(cutflow_raw(proc.postprocess(proc.process(events))))
        return res

"""Driver of the RDataFrame yardstick (benchmarks/rdf_zprime_inv.C).

``setup()`` compiles the C++ once with ACLiC (-O2; cached in data/bench/rdf_build,
rebuilt only when the .C file changes) and switches implicit multi-threading
off. ``run(files, metadata)`` books one RDataFrame per sample, runs all of them
with ``ROOT.RDF.RunGraphs`` and returns the cutflows (same layout as b2dark's)
and the histograms as numpy arrays. ``compare_hists`` checks them against
b2dark's output. Thresholds and binning are read from the Python processor
module, so the two stay in sync by construction; the C++ mirrors the logic.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import BENCH_DIR

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "rdf_zprime_inv.C"
REGIONS = ("sr", "mumugamma", "emu", "ee")

_ready = False


class RDataFrameUnavailable(RuntimeError):
    pass


def setup(build_dir: Path | None = None) -> Any:
    """Import ROOT, turn implicit MT off, compile and load the C++ (cached)."""
    global _ready
    try:
        import ROOT
    except ImportError as err:
        raise RDataFrameUnavailable(
            "ROOT is not installed: `pip install -e '.[bench]'` (the PyPI package `root`) or run `make bench`"
        ) from err
    if _ready:
        return ROOT
    ROOT.gROOT.SetBatch(True)
    if ROOT.IsImplicitMTEnabled():
        ROOT.DisableImplicitMT()
    build = (build_dir or BENCH_DIR / "rdf_build").resolve()
    build.mkdir(parents=True, exist_ok=True)
    ROOT.gSystem.SetBuildDir(str(build), True)
    if ROOT.gSystem.CompileMacro(str(SOURCE), "kO") != 1:
        raise RuntimeError(f"ACLiC could not compile {SOURCE}; see the compiler messages above (needs g++)")
    _ready = True
    return ROOT


def make_config() -> Any:
    """ZinvConfig filled from the processor's constants (same float32 casts as NumPy 2)."""
    import ROOT

    from processors import selections as S
    from processors.zprime_inv import processor as Z
    from processors.zprime_inv.search import ZPrimeInvWorkingPoint
    from samples.constants import M_E, M_MU

    WP = ZPrimeInvWorkingPoint()
    from samples import constants as C

    deg = S.DEG
    c = ROOT.ZinvConfig()
    f32 = np.float32
    c.d0_max, c.z0_max = float(f32(C.TRACK_IP_D0_MAX)), float(f32(C.TRACK_IP_Z0_MAX))
    c.muon_id_min, c.electron_id_min = float(f32(WP.muon_id_min)), float(f32(WP.electron_id_min))
    c.m_mu, c.m_e = M_MU, M_E
    c.barrel_min, c.barrel_max = C.ECL_BARREL_MIN_DEG * deg, C.ECL_BARREL_MAX_DEG * deg
    c.gap90_half = C.ECL_BARREL_GAP90_HALF_WIDTH_DEG * deg
    c.fwd_min_f, c.fwd_max_f = float(f32(C.ECL_FWD_MIN_DEG * deg)), float(f32(C.ECL_FWD_MAX_DEG * deg))
    c.barrel_min_f, c.barrel_max_f = float(f32(C.ECL_BARREL_MIN_DEG * deg)), float(f32(C.ECL_BARREL_MAX_DEG * deg))
    c.bwd_min_f, c.bwd_max_f = float(f32(C.ECL_BWD_MIN_DEG * deg)), float(f32(C.ECL_BWD_MAX_DEG * deg))
    c.gap90_half_f = float(f32(C.ECL_BARREL_GAP90_HALF_WIDTH_DEG * deg))
    c.half_pi_f = float(f32(np.pi / 2))
    c.cone_cos = float(np.cos(WP.photon_veto_cone_deg * deg))
    c.photon_min_e, c.extra_energy_max = float(f32(WP.photon_veto_min_e)), float(f32(WP.extra_energy_max))
    c.opening_max_deg = WP.opening_angle_max_deg
    c.m2_lo, c.m2_hi = Z.M2_RANGE
    c.mmg_photon_e_min = float(f32(WP.mumugamma_photon_e_min))
    c.mmg_ecms_lo, c.mmg_ecms_hi = WP.mumugamma_ecms_range
    c.ee_m2_max = WP.ee_m2_max
    c.muid_unc_low, c.muid_unc_high, c.muid_p_split = Z.MUID_REL_UNC_LOW_P, Z.MUID_REL_UNC_HIGH_P, Z.MUID_UNC_P_SPLIT
    c.pscale_up, c.pscale_down = float(f32(1.0 + Z.MOMENTUM_SCALE_UNC)), float(f32(1.0 - Z.MOMENTUM_SCALE_UNC))
    from processors.kinematics import _HER

    for i, v in enumerate(_HER):
        c.her[i] = float(v)
    c.m2_bins = Z.M2_BINS
    c.theta_edges = ROOT.std.vector["double"]([float(x) for x in Z.THETA_CMS_EDGES])
    return c


def event_norm(md: dict[str, Any]) -> float:
    """Same arithmetic as processors.base.SearchProcessor.event_weight (before the event weight)."""
    norm = float(md["xsec_fb"]) * float(md.get("filter_efficiency", 1.0) or 1.0) * float(md["lumi_fb"])
    norm /= float(md["n_events"])
    return norm


@dataclass
class RdfResult:
    cutflow: dict[str, dict[str, Any]]  # sample -> {names, raw, weighted} of region "sr"
    regions: dict[str, dict[str, dict[str, Any]]]  # region -> sample -> {names, raw, weighted}
    hists: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # "name[/syst]" -> sample -> values


def _values(h: Any) -> np.ndarray:
    """TH1D/TH2D contents without flow bins, as hist's ``.values()`` orders them."""
    nx = h.GetNbinsX()
    arr = np.frombuffer(h.GetArray(), dtype=np.float64, count=h.GetSize()).copy()
    if h.GetDimension() == 1:
        return arr[1 : nx + 1]
    ny = h.GetNbinsY()
    return arr.reshape(ny + 2, nx + 2)[1 : ny + 1, 1 : nx + 1].T


def run(
    files: dict[str, str], metadata: dict[str, dict[str, Any]], overrides: dict[str, Any] | None = None
) -> RdfResult:
    """Run the selection on every sample (``overrides``: ZinvConfig fields to change, for tests)."""
    ROOT = setup()
    cfg = make_config()
    for key, value in (overrides or {}).items():
        if not hasattr(cfg, key):
            raise AttributeError(f"ZinvConfig has no field {key!r} (see benchmarks/rdf_zprime_inv.C)")
        setattr(cfg, key, value)
    frames, booked = [], {}
    for sample, path in files.items():
        df = ROOT.RDataFrame("events", str(path))
        frames.append(df)
        booked[sample] = ROOT.book_zinv(ROOT.RDF.AsRNode(df), cfg, event_norm(metadata[sample]), f"{sample}_")
    handles = ROOT.std.vector["ROOT::RDF::RResultHandle"]()
    for b in booked.values():
        for h in b.handles():
            handles.push_back(h)
    ROOT.RDF.RunGraphs(handles)

    regions: dict[str, dict[str, dict[str, Any]]] = {r: {} for r in REGIONS}
    hists: dict[str, dict[str, np.ndarray]] = {}
    for sample, b in booked.items():
        for full, cnt, sm in zip(b.cut_names, b.counts, b.sums, strict=True):
            region, name = str(full).split("/", 1)
            entry = regions[region].setdefault(sample, {"names": [], "raw": [], "weighted": []})
            entry["names"].append(name)
            entry["raw"].append(int(cnt.GetValue()))
            entry["weighted"].append(float(sm.GetValue()))
        for name, h in zip(b.hist_names, b.h1, strict=True):
            hists.setdefault(str(name), {})[sample] = _values(h.GetValue())
        for name, h in zip(b.hist2_names, b.h2, strict=True):
            hists.setdefault(str(name), {})[sample] = _values(h.GetValue())
    return RdfResult(cutflow=regions["sr"], regions=regions, hists=hists)


def compare_hists(b2dark_out: dict[str, Any], rdf: RdfResult, *, rtol: float = 1e-6) -> list[str]:
    """Histogram and control-region differences between b2dark and RDataFrame (empty: equal).

    Bin contents must agree to ``rtol`` of the histogram's total. The control
    regions' cutflows (b2dark's ``cutflow_regions``) must be equal too.
    """
    problems: list[str] = []
    if os.environ.get("B2DARK_BENCH_SKIP_HIST_CHECK") == "1":
        return problems
    regions = b2dark_out.get("cutflow_regions", {})
    for region in REGIONS[1:]:
        for sample, entry in rdf.regions[region].items():
            ref = regions.get(region, {}).get(sample)
            if ref is None:
                problems.append(f"rdf: region {region!r} missing in b2dark's cutflow_regions for {sample}")
                continue
            if list(ref["names"]) != entry["names"] or [int(x) for x in ref["raw"]] != entry["raw"]:
                problems.append(
                    f"rdf: {sample}: region {region} cutflow differs: b2dark {list(ref['names'])} "
                    f"{[int(x) for x in ref['raw']]} vs rdf {entry['names']} {entry['raw']}"
                )
    for key, per_sample in rdf.hists.items():
        name, _, syst = key.partition("/")
        h = b2dark_out["hists"].get(name)
        if h is None:
            problems.append(f"rdf: histogram {name!r} not in b2dark's output")
            continue
        for sample, values in per_sample.items():
            sel: dict[str, Any] = {"sample": sample}
            if syst:
                sel["syst"] = syst
            if sample not in list(h.axes["sample"]):
                ref = np.zeros_like(values)  # hist grows the sample axis only for samples it filled
            else:
                try:
                    ref = np.asarray(h[sel].values())
                except (KeyError, IndexError, ValueError) as err:
                    problems.append(f"rdf: {name}[{sel}] not in b2dark's output ({err})")
                    continue
            if ref.shape != values.shape:
                problems.append(f"rdf: {key} {sample}: shape {values.shape} vs b2dark {ref.shape}")
                continue
            scale = max(float(np.abs(ref).sum()), 1e-300)
            bad = ~np.isclose(values, ref, rtol=rtol, atol=rtol * scale)
            if bad.any():
                worst = float(np.max(np.abs(values - ref)))
                problems.append(
                    f"rdf: {key} {sample}: {int(bad.sum())} bins differ (max |diff| {worst:.4g}, "
                    f"totals b2dark {ref.sum():.6g} rdf {values.sum():.6g})"
                )
    return problems

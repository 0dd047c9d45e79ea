"""The b2dark event format: one definition, used by the writer, the reader
checks, the documentation (FORMAT.md) and the processors' schema.

One TTree ``events`` (or one Parquet file) with one entry per event.
NanoAOD-like naming: a collection ``X`` is a counter ``nX`` plus branches
``X_field`` of length ``nX``. Units: GeV, cm, ns, rad; lab frame unless a
name ends in ``_cms``.
"""

from __future__ import annotations

from dataclasses import dataclass

TREE_NAME = "events"


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # numpy dtype name
    unit: str
    doc: str
    mc_only: bool = False


def _c(name: str, dtype: str, unit: str, doc: str, mc_only: bool = False) -> Column:
    return Column(name, dtype, unit, doc, mc_only)


# Event-level columns.
EVENT_COLUMNS: tuple[Column, ...] = (
    _c("exp", "int32", "", "experiment number (MC: 0; pseudo-data: 1000)"),
    _c("run", "int32", "", "run number"),
    _c("event", "int64", "", "event number, unique within (exp, run)"),
    # The nominal (run-averaged) e+e- four-momentum, as a real file gets it from the conditions database
    # (basf2 BeamParameters): every recoil and CMS quantity uses it, so the beam-energy spread enters them.
    _c("beam_E", "float64", "GeV", "nominal e+e- initial-state energy in the lab (run average, no spread)"),
    _c("beam_px", "float64", "GeV", "nominal e+e- initial-state momentum x (crossing-angle boost)"),
    _c("beam_py", "float64", "GeV", "nominal e+e- initial-state momentum y"),
    _c("beam_pz", "float64", "GeV", "nominal e+e- initial-state momentum z"),
    _c("weight", "float32", "", "generator event weight (1 unless importance-sampled; mean 1)"),
    # Trigger bits emulated from reconstructed objects (names follow the
    # Belle II GDL low-multiplicity lines quoted in seed 002).
    _c("trg_ffo", "bool", "", "CDC two-track trigger: >= 2 tracks with pT > 0.3 GeV, opening > 90 deg"),
    _c("trg_stt", "bool", "", "CDC single-track trigger: 1 track with p* > 0.7 GeV in 35-127 deg"),
    _c("trg_cdcklm", "bool", "", "CDC track matched to a KLM cluster (single-muon trigger)"),
    _c("trg_hie", "bool", "", "ECL high energy: sum of cluster E in 22-126 deg > 1 GeV"),
    _c(
        "trg_lml",
        "bool",
        "",
        "ECL low-multiplicity single-photon line: one cluster E* > 1 GeV in 32-130 deg, no other > 0.3 GeV",
    ),
)

TRACK_COLUMNS: tuple[Column, ...] = (
    _c("px", "float32", "GeV", "momentum x at the point of closest approach"),
    _c("py", "float32", "GeV", "momentum y"),
    _c("pz", "float32", "GeV", "momentum z"),
    _c("charge", "int32", "e", "charge (+1/-1)"),
    _c("d0", "float32", "cm", "signed transverse impact parameter"),
    _c("z0", "float32", "cm", "longitudinal impact parameter"),
    _c("muonID", "float32", "", "muon likelihood ratio in [0, 1]"),
    _c("electronID", "float32", "", "electron likelihood ratio in [0, 1]"),
    _c("pionID", "float32", "", "pion likelihood ratio in [0, 1]"),
    _c("kaonID", "float32", "", "kaon likelihood ratio in [0, 1]"),
    _c("EoverP", "float32", "", "matched ECL cluster energy / momentum (0 if no cluster)"),
    _c("clusterE", "float32", "GeV", "matched ECL cluster energy (0 if none)"),
    _c("klmLayers", "int32", "", "number of KLM layers with hits on the extrapolated track"),
    _c("mcIndex", "int32", "", "index of the matched MCParticle, -1 if none", mc_only=True),
)

PHOTON_COLUMNS: tuple[Column, ...] = (
    _c("E", "float32", "GeV", "cluster energy"),
    _c("theta", "float32", "rad", "cluster polar angle (lab)"),
    _c("phi", "float32", "rad", "cluster azimuth (lab)"),
    _c("time", "float32", "ns", "cluster time relative to the event t0"),
    _c("region", "int32", "", "basf2 clusterReg: 1 fwd, 2 barrel, 3 bwd, 11/13 gaps, 0 outside"),
    _c("nHits", "float32", "", "weighted number of crystals in the cluster (quality)"),
    _c("mcIndex", "int32", "", "index of the matched MCParticle, -1 for beam background", mc_only=True),
)

KLM_COLUMNS: tuple[Column, ...] = (
    _c("theta", "float32", "rad", "cluster polar angle (lab)"),
    _c("phi", "float32", "rad", "cluster azimuth (lab)"),
    _c("layers", "int32", "", "number of layers with hits"),
    _c("time", "float32", "ns", "cluster time"),
)

VERTEX_COLUMNS: tuple[Column, ...] = (
    _c("x", "float32", "cm", "fitted two-track vertex x"),
    _c("y", "float32", "cm", "fitted two-track vertex y"),
    _c("z", "float32", "cm", "fitted two-track vertex z"),
    _c("chi2prob", "float32", "", "vertex fit p-value"),
    _c("trk1", "int32", "", "index of the first (positive) daughter in Track"),
    _c("trk2", "int32", "", "index of the second (negative) daughter in Track"),
    _c("px", "float32", "GeV", "summed daughter momentum x"),
    _c("py", "float32", "GeV", "summed daughter momentum y"),
    _c("pz", "float32", "GeV", "summed daughter momentum z"),
)

MCPARTICLE_COLUMNS: tuple[Column, ...] = (
    _c("pdg", "int32", "", "PDG code", mc_only=True),
    _c("px", "float64", "GeV", "true momentum x (lab)", mc_only=True),
    _c("py", "float64", "GeV", "true momentum y (lab)", mc_only=True),
    _c("pz", "float64", "GeV", "true momentum z (lab)", mc_only=True),
    _c("E", "float64", "GeV", "true energy (lab)", mc_only=True),
    _c("vx", "float32", "cm", "production vertex x", mc_only=True),
    _c("vy", "float32", "cm", "production vertex y", mc_only=True),
    _c("vz", "float32", "cm", "production vertex z", mc_only=True),
    _c("mother", "int32", "", "index of the mother in MCParticle, -1 for primaries", mc_only=True),
)

COLLECTIONS: dict[str, tuple[Column, ...]] = {
    "Track": TRACK_COLUMNS,
    "Photon": PHOTON_COLUMNS,
    "KLMCluster": KLM_COLUMNS,
    "Vertex": VERTEX_COLUMNS,
    "MCParticle": MCPARTICLE_COLUMNS,
}

# Event-level truth columns of signal samples (model parameters per event);
# a sample writes the ones that apply to it. All MC only, float64.
MC_EVENT_COLUMNS: tuple[Column, ...] = (
    _c("mc_mass", "float64", "GeV", "generated mass of the primary mediator (Z', A' or muonphilic scalar S)", True),
    _c("mc_mass2", "float64", "GeV", "second generated mass (h' in dark Higgsstrahlung and iDM)", True),
    _c(
        "mc_mass3",
        "float64",
        "GeV",
        "third generated mass (chi1 in iDM; chi2 = chi1 + delta_m, on the pdg-57 MCParticle)",
        True,
    ),
    _c("mc_coupling", "float64", "", "coupling (g', g_S or epsilon) used to weight the sample", True),
    _c("mc_ctau", "float64", "cm", "proper decay length of the long-lived state", True),
    # The true e+e- four-momentum of this event (beam-energy spread included): truth studies only.
    _c("mc_beam_E", "float64", "GeV", "true e+e- energy of this event in the lab (energy spread included)", True),
    _c("mc_beam_px", "float64", "GeV", "true e+e- momentum x of this event", True),
    _c("mc_beam_py", "float64", "GeV", "true e+e- momentum y of this event", True),
    _c("mc_beam_pz", "float64", "GeV", "true e+e- momentum z of this event", True),
)


def branch_names(collection: str, column: Column) -> str:
    return f"{collection}_{column.name}"


def all_branches(mc: bool) -> list[str]:
    """Every branch a file of this kind carries (counters included)."""
    names = [c.name for c in EVENT_COLUMNS]
    for coll, cols in COLLECTIONS.items():
        kept = [c for c in cols if mc or not c.mc_only]
        if not kept:
            continue
        names.append(f"n{coll}")
        names.extend(branch_names(coll, c) for c in kept)
    return names

"""The one table from basf2 ntuple variables and particle lists to the b2dark event format.

basf2 writes analysis ntuples with two modules of its ``analysis/`` package (checked against their source,
``analysis/modules/VariablesToNtuple`` and ``analysis/modules/VariablesToEventBasedTree``):

- ``VariablesToNtuple`` (``variablesToNtuple``): *candidate based*, one row per candidate of a particle list,
  counters ``__experiment__`` (int32), ``__run__`` (int32), ``__event__`` (uint32), ``__production__`` (int32),
  ``__candidate__`` (int32), ``__ncandidates__`` (int32), ``__weight__`` (double, the inverse sampling rate)
  and one branch per variable (``/D`` double, ``/I`` int, ``/O`` bool, by the variable's registered type). An
  event whose list is empty has no row; with an empty particle list the module runs *event-wise* (one row per
  event, no candidate counters, event variables only).
- ``VariablesToEventBasedTree`` (``variablesToEventBasedTree``): *event based*, one row per event with the
  counters ``__event__ __run__ __experiment__ __production__ __ncandidates__`` (int32) and ``__weight__``
  (float), ``event_variables`` as ``/D`` scalars and candidate variables as ``name[__ncandidates__]/D`` arrays.

Branch names are the variable names escaped by basf2's ``makeROOTCompatible``
(``framework/utilities/src/MakeROOTCompatible.cc``): :func:`make_root_compatible`.

How each b2dark column is recovered is declared once in :data:`EVENT_VARIABLES` and :data:`LISTS` (also
printed as the table in docs/CONTRACTS.md, "basf2 ntuples as input"). Event-level columns come from the
event-wise tree (candidate-based files) or the ``event_variables`` of an event-based tree; what basf2 stores
once per event never has to be recovered from candidate rows. MC truth (``MCParticle``, ``*_mcIndex``) has no
entry: basf2 ntuples carry truth as per-candidate match variables, which no search reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# makeROOTCompatible's substitutions (basf2 keeps them in a std::map, whose first "-" entry wins).
_SUBSTITUTIONS: dict[str, str] = {
    " ": "__sp", ",": "__cm", ":": "__cl", "=": "__eq", "<": "__st", ">": "__gt", ".": "__pt", "+": "__pl",
    "-": "__mi", "(": "__bo", ")": "__bc", "{": "__co", "}": "__cc", "[": "__so", "]": "__sc", "`": "__to",
    "´": "__tc", "^": "__ha", "°": "__ci", "$": "__do", "§": "__pa", "%": "__pr", "!": "__em", "?": "__qm",
    ";": "__sm", "#": "__hs", "*": "__mu", "/": "__sl", "\\": "__bl", "'": "__sq", '"': "__dq", "~": "__ti",
    "|": "__pi", "&": "__am", "@": "__at",
}  # fmt: skip


def make_root_compatible(name: str) -> str:
    """basf2's ``makeROOTCompatible``: ``useCMSFrame(p)`` -> ``useCMSFrame__bop__bc``; other characters
    outside ``[A-Za-z0-9_]`` are dropped."""
    out = "".join(_SUBSTITUTIONS.get(ch, ch) for ch in name)
    return "".join(ch for ch in out if ch.isascii() and (ch.isalnum() or ch == "_"))


Basf2Type = Literal["double", "int", "bool"]
Flavour = Literal["ntuple", "eventtree"]
FLAVOURS: tuple[Flavour, ...] = ("ntuple", "eventtree")
#: catalog / fileset format names of the two flavours
FORMATS: dict[Flavour, str] = {"ntuple": "basf2-ntuple", "eventtree": "basf2-eventtree"}

#: the event-wise tree of a candidate-based file (variablesToNtuple('', event variables, treename=...))
EVENT_TREE = "event"


@dataclass(frozen=True)
class Var:
    """One b2dark field from one basf2 variable."""

    field: str  # b2dark field (collection field, or event column)
    variable: str  # basf2 variable as written in a steering file
    btype: Basf2Type  # its registered type (branch type in candidate-based files)
    doc: str
    none_is_nan: bool = False  # basf2 gives NaN where b2dark stores 0 ("no matched cluster")

    @property
    def branch(self) -> str:
        return make_root_compatible(self.variable)


@dataclass(frozen=True)
class ParticleList:
    collection: str  # b2dark collection
    name: str  # basf2 particle list
    fill: str  # how a steering file makes it
    variables: tuple[Var, ...]

    @property
    def tree(self) -> str:
        """Tree name: the escaped list name (``pi+:all`` -> ``pi__pl__clall``); the list name itself is accepted."""
        return make_root_compatible(self.name)


EVENT_VARIABLES: tuple[Var, ...] = (
    Var("beam_E", "beamE", "double", "total beam energy (lab)"),
    Var("beam_px", "beamPx", "double", "total beam momentum x (lab)"),
    Var("beam_py", "beamPy", "double", "total beam momentum y (lab)"),
    Var("beam_pz", "beamPz", "double", "total beam momentum z (lab)"),
    Var("weight", "eventExtraInfo(weight)", "double", "generator weight (x __weight__; absent: __weight__ alone)"),
    Var("trg_ffo", "L1FTDL(ffo)", "double", "FTDL bit ffo (CDC two-track)"),
    Var("trg_stt", "L1FTDL(stt)", "double", "FTDL bit stt (CDC single track)"),
    Var("trg_cdcklm", "L1FTDL(cdcklm1)", "double", "FTDL bit cdcklm1 (CDC track - KLM)"),
    Var("trg_hie", "L1FTDL(hie)", "double", "FTDL bit hie (ECL high energy)"),
    Var("trg_lml", "L1FTDL(lml1)", "double", "FTDL bit lml1 (ECL single photon)"),
    Var("mc_mass", "eventExtraInfo(mc_mass)", "double", "signal truth written by the generator step"),
    Var("mc_mass2", "eventExtraInfo(mc_mass2)", "double", "signal truth"),
    Var("mc_mass3", "eventExtraInfo(mc_mass3)", "double", "signal truth"),
    Var("mc_coupling", "eventExtraInfo(mc_coupling)", "double", "signal truth"),
    Var("mc_ctau", "eventExtraInfo(mc_ctau)", "double", "signal truth"),
)

LISTS: tuple[ParticleList, ...] = (
    ParticleList(
        "Track",
        "pi+:all",
        "fillParticleList('pi+:all', '')  (every track, mdst order, pion hypothesis)",
        (
            Var("px", "px", "double", "momentum x"),
            Var("py", "py", "double", "momentum y"),
            Var("pz", "pz", "double", "momentum z"),
            Var("charge", "charge", "double", "charge"),
            Var("d0", "d0", "double", "signed transverse impact parameter"),
            Var("z0", "z0", "double", "longitudinal impact parameter"),
            Var("muonID", "muonID", "double", "muon likelihood ratio"),
            Var("electronID", "electronID", "double", "electron likelihood ratio"),
            Var("pionID", "pionID", "double", "pion likelihood ratio"),
            Var("kaonID", "kaonID", "double", "kaon likelihood ratio"),
            Var("EoverP", "clusterEoP", "double", "matched ECL cluster E / p (NaN without cluster)", True),
            Var("clusterE", "clusterE", "double", "matched ECL cluster energy (NaN without cluster)", True),
            Var("klmLayers", "klmClusterLayers", "int", "layers of the matched KLM cluster"),
        ),
    ),
    ParticleList(
        "Photon",
        "gamma:all",
        "fillParticleList('gamma:all', '')  (ECL clusters not matched to a track)",
        (
            Var("E", "clusterE", "double", "cluster energy"),
            Var("theta", "clusterTheta", "double", "cluster polar angle"),
            Var("phi", "clusterPhi", "double", "cluster azimuth"),
            Var("time", "clusterTiming", "double", "cluster time"),
            Var("region", "clusterReg", "int", "detector region"),
            Var("nHits", "clusterNHits", "double", "weighted number of crystals"),
        ),
    ),
    ParticleList(
        "KLMCluster",
        "K_L0:all",
        "fillParticleList('K_L0:all', '')  (KLM clusters not matched to a track)",
        (
            Var("theta", "klmClusterTheta", "double", "cluster polar angle"),
            Var("phi", "klmClusterPhi", "double", "cluster azimuth"),
            Var("layers", "klmClusterLayers", "int", "layers with hits"),
            Var("time", "klmClusterTiming", "double", "cluster time"),
        ),
    ),
    ParticleList(
        "Vertex",
        "vpho:dv",
        "reconstructDecay('vpho:dv -> pi+:all pi-:all', ...) + treeFit('vpho:dv', 0)",
        (
            Var("x", "x", "double", "fitted vertex x"),
            Var("y", "y", "double", "fitted vertex y"),
            Var("z", "z", "double", "fitted vertex z"),
            Var("chi2prob", "chiProb", "double", "vertex fit p-value"),
            Var("trk1", "daughter(0, mdstIndex)", "double", "Track index of the positive daughter"),
            Var("trk2", "daughter(1, mdstIndex)", "double", "Track index of the negative daughter"),
            Var("px", "px", "double", "summed daughter momentum x"),
            Var("py", "py", "double", "summed daughter momentum y"),
            Var("pz", "pz", "double", "summed daughter momentum z"),
        ),
    ),
)

BY_COLLECTION: dict[str, ParticleList] = {pl.collection: pl for pl in LISTS}
#: event identifiers -> basf2 counters
ID_COUNTERS: dict[str, str] = {"exp": "__experiment__", "run": "__run__", "event": "__event__"}


def source_of(column: str) -> tuple[ParticleList | None, Var | str] | None:
    """Where a b2dark column comes from: (list, variable) for a collection field, (None, variable or counter)
    for an event column (a counter ``nX`` maps to the list's ``__ncandidates__``); None when unmapped."""
    if column in ID_COUNTERS:
        return None, ID_COUNTERS[column]
    for v in EVENT_VARIABLES:
        if v.field == column:
            return None, v
    for pl in LISTS:
        if column == f"n{pl.collection}":
            return pl, "__ncandidates__"
        for v in pl.variables:
            if column == f"{pl.collection}_{v.field}":
                return pl, v
    return None


def markdown_table() -> str:
    """The table for docs/CONTRACTS.md."""
    rows = ["| b2dark column | basf2 particle list | basf2 variable | branch | note |", "|---|---|---|---|---|"]
    for k, c in ID_COUNTERS.items():
        rows.append(f"| `{k}` | (every tree) | - | `{c}` | |")
    for v in EVENT_VARIABLES:
        rows.append(f"| `{v.field}` | (event) | `{v.variable}` | `{v.branch}` | {v.doc} |")
    for pl in LISTS:
        rows.append(f"| `n{pl.collection}` | `{pl.name}` | - | `__ncandidates__` | {pl.fill} |")
        for v in pl.variables:
            rows.append(f"| `{pl.collection}_{v.field}` | `{pl.name}` | `{v.variable}` | `{v.branch}` | {v.doc} |")
    return "\n".join(rows)

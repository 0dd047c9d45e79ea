"""coffea NanoEvents schema for the b2dark event format (samples/eventformat.py).

``events.Track``, ``events.Photon``, ``events.KLMCluster``, ``events.Vertex``,
``events.MCParticle`` are jagged records with the behaviours of
:mod:`processors.behaviors`; ``events.Beam`` is the per-event e+e- four-vector
(lab). Event-level branches (``run``, ``trg_ffo``, ``mc_mass``, ...) stay
top-level fields.

Works with ``NanoEventsFactory.from_root`` in eager, virtual and dask modes and
with ``from_parquet`` in eager and virtual modes (hence under
``processor.Runner(format="root" | "parquet")``). coffea 2026.9 raises
NotImplementedError for Parquet in dask mode; b2dark runs through the Runner only.
:func:`events_from_flat` builds the same records from flat columns already in memory.

Two columns are synthesised in the form (no extra I/O):
``Track.mass`` (pion hypothesis, the basf2 default for tracks) and
``Photon.pt = E sin(theta)`` (chained from coffea's own transforms
``qoverp_to_p`` -> ``1/E`` and ``qoverp_theta_to_pt`` -> ``sin(theta)/(1/E)``, so
the schema needs no transform of its own on the workers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import awkward as ak
import numpy as np
from coffea.nanoevents.schemas.base import BaseSchema, listarray_form
from coffea.nanoevents.transforms import counts2offsets_form, full_like_from_offsets_form
from coffea.nanoevents.util import concat, quote

from processors import behaviors
from samples.constants import M_PI
from samples.eventformat import COLLECTIONS

# Record names of the collections (also the behaviour classes).
MIXINS: dict[str, str] = {
    "Track": "Track",
    "Photon": "Photon",
    "KLMCluster": "KLMCluster",
    "Vertex": "Vertex",
    "MCParticle": "MCParticle",
}
BEAM_BRANCHES: dict[str, str] = {"px": "beam_px", "py": "beam_py", "pz": "beam_pz", "E": "beam_E"}


def _jagged_record_form(contents: dict[str, dict], name: str, offsets: dict) -> dict:
    """A list-of-records form whose offsets come from the counter ``n<name>``.

    Unlike coffea's ``zip_forms`` this does not insist that every branch's
    own offsets have the same integer width (Parquet lists are often int32,
    synthesised columns int64): the branch offsets are dropped anyway, and
    taking them from the counter means touching one field never reads another.
    """
    for field, form in contents.items():
        if not form["class"].startswith("ListOffsetArray"):
            raise ValueError(
                f"branch {name}_{field} is not a jagged array (form class {form['class']}); "
                f"the event format wants every {name}_* branch to have n{name} entries per event"
            )
    record = {
        "class": "RecordArray",
        "fields": list(contents),
        "contents": [form["content"] for form in contents.values()],
        "form_key": quote("!invalid," + name),
        "parameters": {"__record__": MIXINS[name], "collection_name": name},
    }
    return listarray_form(record, offsets)


def _photon_pt_form(e_form: dict, theta_form: dict) -> dict:
    content = dict(e_form["content"])
    content["parameters"] = {}
    content["form_key"] = concat(
        e_form["form_key"], "!qoverp_to_p", theta_form["form_key"], "!qoverp_theta_to_pt", "!content"
    )
    return {"class": "ListOffsetArray", "offsets": "i64", "content": content, "form_key": e_form["form_key"]}


class B2Schema(BaseSchema):
    """NanoEvents schema of the b2dark event format (ROOT TTree ``events`` or Parquet)."""

    __dask_capable__ = True

    def __init__(self, base_form: dict[str, Any], version: str = "latest") -> None:
        super().__init__(base_form)
        self._form["fields"], self._form["contents"] = self._build(self._form["fields"], self._form["contents"])

    @staticmethod
    def _build(fields: list[str], contents: list[dict]) -> tuple[list[str], list[dict]]:
        branches = dict(zip(fields, contents, strict=True))
        output: dict[str, dict] = {}
        used: set[str] = set()
        for name in COLLECTIONS:
            counter = f"n{name}"
            members = {k[len(name) + 1 :]: v for k, v in branches.items() if k.startswith(name + "_")}
            if counter not in branches:
                if members:
                    raise ValueError(
                        f"branches {name}_* found but no counter {counter}: the file does not follow "
                        "samples/eventformat.py (regenerate it with `b2dark generate`)"
                    )
                continue
            offsets = counts2offsets_form(branches[counter])
            if name == "Track":
                members["mass"] = full_like_from_offsets_form(offsets, M_PI)
            if name == "Photon" and {"E", "theta"} <= members.keys():
                members["pt"] = _photon_pt_form(members["E"], members["theta"])
            output[name] = _jagged_record_form(members, name, offsets)
            used.add(counter)
            used.update(f"{name}_{f}" for f in members)
        if all(b in branches for b in BEAM_BRANCHES.values()):
            output["Beam"] = {
                "class": "RecordArray",
                "fields": list(BEAM_BRANCHES),
                "contents": [branches[b] for b in BEAM_BRANCHES.values()],
                "form_key": quote("!invalid,Beam"),
                "parameters": {"__record__": "LorentzVector"},
            }
        # Everything else (event-level columns, counters) stays top level.
        rest = {k: v for k, v in branches.items() if k not in used or k.startswith("n")}
        output = {**rest, **output}
        return list(output), list(output.values())

    @classmethod
    def behavior(cls) -> dict:
        return behaviors.behavior


# --------------------------------------------------------------------------
# Building the same events from flat arrays (Parquet in dask mode, tests)
# --------------------------------------------------------------------------
def events_from_flat(flat: ak.Array, metadata: Mapping[str, Any] | None = None) -> ak.Array:
    """Structured events (same records as :class:`B2Schema`) from an array of
    the file's flat branches (``nTrack``, ``Track_px``, ``beam_E``, ...)."""
    fields = set(ak.fields(flat))
    out: dict[str, ak.Array] = {}
    used: set[str] = set()
    for name in COLLECTIONS:
        counter = f"n{name}"
        if counter not in fields:
            continue
        members = {f[len(name) + 1 :]: flat[f] for f in fields if f.startswith(name + "_")}
        if name == "Track":
            members["mass"] = ak.values_astype(ak.ones_like(members["px"]) * np.float32(M_PI), np.float32)
        if name == "Photon" and {"E", "theta"} <= members.keys():
            members["pt"] = np.sin(members["theta"]) / np.abs(1.0 / members["E"])
        # Keep the field order of the schema (file order, synthesised last).
        order = [f[len(name) + 1 :] for f in ak.fields(flat) if f.startswith(name + "_")]
        order += [f for f in members if f not in order]
        rec = ak.zip({f: members[f] for f in order}, with_name=MIXINS[name], depth_limit=None)
        out[name] = rec
        used.add(counter)
        used.update(f"{name}_{f}" for f in members)
    if all(b in fields for b in BEAM_BRANCHES.values()):
        out["Beam"] = ak.zip({k: flat[b] for k, b in BEAM_BRANCHES.items()}, with_name="LorentzVector")
    rest = {f: flat[f] for f in ak.fields(flat) if f not in used or f.startswith("n")}
    events = ak.zip({**rest, **out}, depth_limit=1, with_name="NanoEvents")
    events = ak.with_parameter(events, "metadata", dict(metadata or {}))
    return ak.Array(events, behavior=behaviors.behavior)

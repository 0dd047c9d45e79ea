"""Small, controllable files in the b2dark event format, for tests that must
not depend on the generator.

``columns_from_events`` turns a list of hand-written events into the
event-format column layout (event columns, ``nX`` counters, flat ``X_field``
contents); ``dimuon_recoil_columns`` makes many events with two muons recoiling
against an invisible state of known mass; ``write_columns`` writes either to a
ROOT TTree ``events`` (uproot) or to Parquet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot

from samples import constants as C
from samples.eventformat import COLLECTIONS, EVENT_COLUMNS, MC_EVENT_COLUMNS, TREE_NAME


def nominal_beam() -> np.ndarray:
    """(px, py, pz, E) of the e+e- system in the lab, nominal energies, massless beams."""
    e_minus = C.HER_ENERGY * np.array([np.sin(C.HER_ANGLE), 0.0, np.cos(C.HER_ANGLE), 1.0])
    e_plus = C.LER_ENERGY * np.array([np.sin(C.LER_ANGLE), 0.0, np.cos(C.LER_ANGLE), 1.0])
    return e_minus + e_plus


def boost(p4: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Boost (n, 4) four-vectors (px, py, pz, E) by velocity beta (3,) or (n, 3)."""
    beta = np.broadcast_to(beta, p4[:, :3].shape)
    b2 = np.sum(beta**2, axis=1)
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = np.sum(beta * p4[:, :3], axis=1)
    gamma2 = np.where(b2 > 0, (gamma - 1.0) / np.where(b2 > 0, b2, 1.0), 0.0)
    p3 = p4[:, :3] + (gamma2 * bp + gamma * p4[:, 3])[:, None] * beta
    return np.column_stack([p3, gamma * (p4[:, 3] + bp)])


def cms_to_lab(p4_cms: np.ndarray, beam: np.ndarray | None = None) -> np.ndarray:
    beam = nominal_beam() if beam is None else beam
    return boost(p4_cms, beam[:3] / beam[3])


def _ecl_region(theta: np.ndarray) -> np.ndarray:
    deg = np.degrees(theta)
    edges = [C.ECL_FWD_MIN_DEG, C.ECL_FWD_MAX_DEG, C.ECL_BARREL_MIN_DEG, C.ECL_BARREL_MAX_DEG,
             C.ECL_BWD_MIN_DEG, C.ECL_BWD_MAX_DEG]  # fmt: skip
    codes = np.array([C.ECL_REGION_OUTSIDE, C.ECL_REGION_FWD, C.ECL_REGION_FWD_GAP, C.ECL_REGION_BARREL,
                      C.ECL_REGION_BWD_GAP, C.ECL_REGION_BWD, C.ECL_REGION_OUTSIDE])  # fmt: skip
    return codes[np.searchsorted(edges, deg, side="right")].astype(np.int32)


TRACK_DEFAULTS: dict[str, Any] = {
    "charge": 1, "d0": 0.0, "z0": 0.0, "muonID": 0.99, "electronID": 0.01, "pionID": 0.01,
    "kaonID": 0.01, "EoverP": 0.05, "clusterE": 0.2, "klmLayers": 12, "mcIndex": -1,
}  # fmt: skip
PHOTON_DEFAULTS: dict[str, Any] = {"time": 0.0, "nHits": 5.0, "mcIndex": -1}
KLM_DEFAULTS: dict[str, Any] = {"layers": 5, "time": 0.0}
VERTEX_DEFAULTS: dict[str, Any] = {"chi2prob": 0.5, "trk1": 0, "trk2": 1, "px": 0.0, "py": 0.0, "pz": 0.0}
MCP_DEFAULTS: dict[str, Any] = {"vx": 0.0, "vy": 0.0, "vz": 0.0, "mother": -1}
_DEFAULTS = {"Track": TRACK_DEFAULTS, "Photon": PHOTON_DEFAULTS, "KLMCluster": KLM_DEFAULTS,
             "Vertex": VERTEX_DEFAULTS, "MCParticle": MCP_DEFAULTS}  # fmt: skip


def columns_from_events(events: Sequence[Mapping[str, Any]], mc: bool = True) -> dict[str, np.ndarray]:
    """Event-format columns from hand-written events.

    Each event is a dict with optional keys ``Track``/``Photon``/``KLMCluster``/
    ``Vertex``/``MCParticle`` (lists of dicts of fields; photons need E, theta,
    phi -- region is derived from theta if absent), and event-level columns
    (``trg_ffo``..., ``weight``, ``mc_mass``, ``beam`` = (px, py, pz, E)).
    """
    n = len(events)
    beam = np.array([ev.get("beam", nominal_beam()) for ev in events], dtype=np.float64).reshape(n, 4)
    cols: dict[str, np.ndarray] = {
        "exp": np.zeros(n, np.int32), "run": np.ones(n, np.int32), "event": np.arange(n, dtype=np.int64),
        **{f"beam_{c}": np.ascontiguousarray(beam[:, i]) for i, c in enumerate(("px", "py", "pz", "E"))},
    }  # fmt: skip
    for col in EVENT_COLUMNS:
        if col.name not in cols:
            default = 1.0 if col.name == "weight" else (col.name.startswith("trg_"))
            cols[col.name] = np.array([ev.get(col.name, default) for ev in events], dtype=col.dtype)
    if mc:
        for col in MC_EVENT_COLUMNS:
            if any(col.name in ev for ev in events):
                cols[col.name] = np.array([ev.get(col.name, np.nan) for ev in events], dtype=col.dtype)
    for coll, spec in COLLECTIONS.items():
        kept = [c for c in spec if mc or not c.mc_only]
        if not kept:
            continue
        objs = [obj for ev in events for obj in ev.get(coll, [])]
        cols[f"n{coll}"] = np.array([len(ev.get(coll, [])) for ev in events], dtype=np.int32)
        if coll == "Photon":
            for obj in objs:
                obj.setdefault("region", int(_ecl_region(np.array([obj["theta"]]))[0]))
        for c in kept:
            default = _DEFAULTS[coll].get(c.name)
            values = [obj.get(c.name, default) for obj in objs]
            if any(v is None for v in values):
                raise KeyError(f"synthetic {coll} object lacks field {c.name!r} (no default)")
            cols[f"{coll}_{c.name}"] = np.array(values, dtype=c.dtype)
    return cols


def dimuon_recoil_events(
    rng: np.random.Generator,
    n: int,
    m_recoil: float,
    *,
    mmumu: float | None = None,
    recoil_cos_range: tuple[float, float] = (-0.5, 0.5),
    muon_id: float = 0.99,
) -> list[dict[str, Any]]:
    """``n`` events e+e- -> mu+ mu- X with M(X) = m_recoil exactly (before float32
    storage); the dimuon mass ``mmumu`` (default flat in (0.5, sqrt(s) - m_recoil - 0.5)),
    X directions with cos(theta*) in ``recoil_cos_range``; muons in the lab.
    Each event carries ``_recoil_lab`` = (theta, phi) of the recoil in the lab (for tests)."""
    beam = nominal_beam()
    sqrt_s = np.sqrt(beam[3] ** 2 - beam[0] ** 2 - beam[1] ** 2 - beam[2] ** 2)
    mm = rng.uniform(0.5, sqrt_s - m_recoil - 0.5, n) if mmumu is None else np.full(n, float(mmumu))
    q = np.sqrt((sqrt_s**2 - (mm + m_recoil) ** 2) * (sqrt_s**2 - (mm - m_recoil) ** 2)) / (2 * sqrt_s)
    cth = rng.uniform(*recoil_cos_range, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    sth = np.sqrt(1 - cth**2)
    dirx = np.column_stack([sth * np.cos(phi), sth * np.sin(phi), cth])
    pair = np.column_stack([-q[:, None] * dirx, sqrt_s - np.sqrt(q**2 + m_recoil**2)])
    # Decay the pair isotropically in its rest frame.
    k = np.sqrt(mm**2 / 4 - C.M_MU**2)
    c2 = rng.uniform(-1, 1, n)
    p2 = rng.uniform(-np.pi, np.pi, n)
    s2 = np.sqrt(1 - c2**2)
    d = np.column_stack([s2 * np.cos(p2), s2 * np.sin(p2), c2]) * k[:, None]
    e_mu = np.sqrt(k**2 + C.M_MU**2)
    beta_pair = pair[:, :3] / pair[:, 3:4]
    mu1 = cms_to_lab(boost(np.column_stack([d, e_mu]), beta_pair), beam)
    mu2 = cms_to_lab(boost(np.column_stack([-d, e_mu]), beta_pair), beam)
    rec = beam[None, :] - mu1 - mu2
    rec_theta = np.arctan2(np.hypot(rec[:, 0], rec[:, 1]), rec[:, 2])
    rec_phi = np.arctan2(rec[:, 1], rec[:, 0])
    return [
        {
            "Track": [
                {"px": mu1[i, 0], "py": mu1[i, 1], "pz": mu1[i, 2], "charge": 1, "muonID": muon_id},
                {"px": mu2[i, 0], "py": mu2[i, 1], "pz": mu2[i, 2], "charge": -1, "muonID": muon_id},
            ],
            "mc_mass": m_recoil,
            "_recoil_lab": (float(rec_theta[i]), float(rec_phi[i])),
        }
        for i in range(n)
    ]


def dimuon_recoil_columns(rng: np.random.Generator, n: int, m_recoil: float, **kwargs: Any) -> dict[str, np.ndarray]:
    """Columns of :func:`dimuon_recoil_events`."""
    return columns_from_events(dimuon_recoil_events(rng, n, m_recoil, **kwargs))


def concat_columns(parts: Iterable[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    parts = list(parts)
    keys = set(parts[0])
    for p in parts[1:]:
        keys &= set(p)
    out = {k: np.concatenate([p[k] for p in parts]) for k in keys}
    out["event"] = np.arange(len(out["run"]), dtype=np.int64)
    return out


def _as_tree(cols: Mapping[str, np.ndarray]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for coll in COLLECTIONS:
        if f"n{coll}" not in cols:
            continue
        counts = cols[f"n{coll}"]
        fields = {k[len(coll) + 1 :]: ak.unflatten(v, counts) for k, v in cols.items() if k.startswith(coll + "_")}
        tree[coll] = ak.zip(fields)
    for k, v in cols.items():
        if not any(k == f"n{c}" or k.startswith(c + "_") for c in COLLECTIONS):
            tree[k] = v
    return tree


def write_columns(path: str | Path, cols: Mapping[str, np.ndarray], fmt: str | None = None) -> Path:
    """Write event-format columns to ``path`` (.root -> TTree ``events``, .parquet)."""
    path = Path(path)
    fmt = fmt or path.suffix.lstrip(".")
    if fmt == "root":
        tree = _as_tree(cols)
        with uproot.recreate(path) as f:
            f.mktree(TREE_NAME, {k: v.type if isinstance(v, ak.Array) else v.dtype for k, v in tree.items()})
            f[TREE_NAME].extend(tree)
    elif fmt == "parquet":
        flat = {}
        for k, v in cols.items():
            coll = next((c for c in COLLECTIONS if k.startswith(c + "_")), None)
            flat[k] = ak.unflatten(v, cols[f"n{coll}"]) if coll else v
        ak.to_parquet(ak.zip(flat, depth_limit=1), path)
    else:
        raise ValueError(f"unknown format {fmt!r} for {path}: use .root or .parquet")
    return path

"""generate(process, n, seed, params): beams -> generator -> lab -> vertices -> filter -> detector.

The result is a :class:`GeneratedSample`: the event-format columns (event
columns, counters ``nX`` and flat ``X_field`` contents, dtypes from
samples/eventformat.py) and the bookkeeping the catalog needs (events
generated, events kept, filter efficiency, cross section).

Reproducibility: chunk k uses the k-th child of ``SeedSequence(seed)``; the
same (process, n, seed, params, chunk_size) gives bit-identical columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

from samples import constants as C
from samples import eventformat as EF
from samples.generator import detector, registry
from samples.generator.beams import Beams, nominal_beams, sample_beams
from samples.generator.filters import get_filter
from samples.generator.truth import TruthEvents

DEFAULT_CHUNK = 100_000
# The run-averaged e+e- four-momentum (nominal HER/LER energies and angles, basf2 BeamParameters): what the
# conditions database gives an analysis, written into every file's beam_* columns.
NOMINAL_BEAM: np.ndarray = nominal_beams(1).total[0]
MC_PARAM_KEYS = {
    "mass": "mc_mass",
    "mass2": "mc_mass2",
    "mass3": "mc_mass3",
    "coupling": "mc_coupling",
    "ctau": "mc_ctau",
}


@dataclass
class GeneratedSample:
    process: str
    params: dict[str, Any]
    seed: int
    n_generated: int
    columns: dict[str, np.ndarray]
    filter_name: str | None = None
    filter_options: dict[str, Any] = field(default_factory=dict)

    @property
    def n_events(self) -> int:
        return int(self.columns["event"].shape[0])

    @property
    def filter_efficiency(self) -> float:
        return self.n_events / self.n_generated if self.n_generated else 0.0


# --------------------------------------------------------------------- truth
def truth_to_lab(truth: TruthEvents, beams: Beams) -> TruthEvents:
    """Rotate + boost every particle from the generator CMS to the lab (new object)."""
    evt = truth.event_index()
    v = beams.to_lab(np.stack([truth.px, truth.py, truth.pz, truth.E], axis=-1), evt)
    return TruthEvents(
        counts=truth.counts,
        pdg=truth.pdg,
        px=v[:, 0],
        py=v[:, 1],
        pz=v[:, 2],
        E=v[:, 3],
        mother=truth.mother,
        ctau=truth.ctau,
        final=truth.final,
        event=truth.event,
    )


@numba.njit(cache=True)
def _propagate_in_order(vtx: np.ndarray, gm: np.ndarray, step: np.ndarray) -> None:  # pragma: no cover
    """One pass when every mother precedes its daughters: vtx[i] = vtx[mother] + step[mother]."""
    for i in range(gm.size):
        g = gm[i]
        if g >= 0:
            for k in range(3):
                vtx[i, k] = vtx[g, k] + step[g, k]


def assign_vertices(truth: TruthEvents, rng: np.random.Generator) -> None:
    """Production vertices (lab, cm): primaries at the smeared IP; daughters at their mother's
    decay point, flight length ~ Exp(beta*gamma*ctau) along the mother's momentum.

    Mothers must be placed before daughters: when the table lists every mother first
    (the generators' convention) one sequential pass does it (numba: the recursion
    cannot be vectorised); otherwise a vectorised loop over generation depth."""
    n = truth.n_events
    evt = truth.event_index()
    m = truth.mother.astype(np.int64)
    primary = m < 0
    gm = np.where(primary, -1, truth.offsets[evt] + m)
    # Flight steps only for particles with a lifetime (taus, K_S, long-lived dark states).
    step = np.zeros((gm.size, 3))
    lived = np.flatnonzero(truth.ctau > 0)
    if lived.size:
        p3 = np.stack([truth.px[lived], truth.py[lived], truth.pz[lived]], axis=-1)
        mass = np.sqrt(np.maximum(truth.E[lived] ** 2 - np.sum(p3 * p3, axis=1), 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            # Flight = c tau * (p / m) * Exp(1), along p: step = p3 * c tau / m * Exp(1).
            scale = np.where(mass > 0, truth.ctau[lived] / mass, 0.0) * rng.exponential(size=lived.size)
        step[lived] = p3 * scale[:, None]
    ip = np.stack(
        [rng.normal(0, C.IP_SIGMA_X, n), rng.normal(0, C.IP_SIGMA_Y, n), rng.normal(0, C.IP_SIGMA_Z, n)],
        axis=-1,
    )
    vtx = np.full((gm.size, 3), np.nan)
    vtx[primary] = ip[evt[primary]]
    if np.all(gm < np.arange(gm.size)):
        _propagate_in_order(vtx, gm, step)
    else:
        todo = np.flatnonzero(~primary)
        for _ in range(64):
            if todo.size == 0:
                break
            ready = ~np.isnan(vtx[gm[todo], 0])
            t = todo[ready]
            vtx[t] = vtx[gm[t]] + step[gm[t]]
            todo = todo[~ready]
        else:
            raise ValueError("MCParticle mother indices form a cycle or are deeper than 64 generations")
    truth.vx, truth.vy, truth.vz = vtx[:, 0], vtx[:, 1], vtx[:, 2]


def select_events(truth: TruthEvents, mask: np.ndarray) -> TruthEvents:
    """Keep the events in ``mask`` (bool per event)."""
    pmask = np.repeat(mask, truth.counts)
    sub = {
        k: v[pmask] if v is not None else None
        for k, v in dict(
            pdg=truth.pdg,
            px=truth.px,
            py=truth.py,
            pz=truth.pz,
            E=truth.E,
            mother=truth.mother,
            ctau=truth.ctau,
            final=truth.final,
            vx=truth.vx,
            vy=truth.vy,
            vz=truth.vz,
        ).items()
    }
    return TruthEvents(counts=truth.counts[mask], event={k: v[mask] for k, v in truth.event.items()}, **sub)


def check_truth(truth: TruthEvents, process: str, n: int) -> None:
    """Fail early, with the process name, on a malformed generator output."""
    if truth.n_events != n:
        raise ValueError(f"generator {process!r} returned {truth.n_events} events, asked for {n}")
    size = int(truth.counts.sum())
    for name in ("pdg", "px", "py", "pz", "E", "mother", "ctau", "final"):
        arr = getattr(truth, name)
        if arr.shape != (size,):
            raise ValueError(f"generator {process!r}: TruthEvents.{name} has shape {arr.shape}, expected ({size},)")
    if size and (truth.mother >= np.repeat(truth.counts, truth.counts)).any():
        raise ValueError(f"generator {process!r}: a mother index points outside its event")


@numba.njit(cache=True)
def _lab_and_vertices(
    rng, offsets, px, py, pz, E, mother, ctau, electron, total, ip_sigma, out_p, out_v
) -> bool:  # pragma: no cover - numba
    """CMS -> lab (rotation of +z onto the CMS e- direction, then the boost) and production
    vertices, event by event. Returns False, before drawing anything, unless every mother
    precedes its daughters (the caller then takes the general path).

    Same transformation as Beams.to_lab and the same vertex model as assign_vertices:
    primaries at the smeared IP, daughters at the mother's decay point, flight
    Exp(1) * c tau * p / m along the mother's lab momentum."""
    n = offsets.size - 1
    for ev in range(n):
        for i in range(offsets[ev], offsets[ev + 1]):
            if mother[i] >= i - offsets[ev]:
                return False
    decay = np.empty((3, px.size))  # decay point of every particle (its daughters' vertex)
    for ev in range(n):
        te = total[ev, 3]
        bx, by, bz = total[ev, 0] / te, total[ev, 1] / te, total[ev, 2] / te
        b2 = bx * bx + by * by + bz * bz
        g = 1.0 / np.sqrt(1.0 - b2)
        k = g * g / (g + 1.0)
        # e- beam in the CMS (boost by -beta), normalised: the generator's +z goes there.
        ex, ey, ez = electron[ev, 0], electron[ev, 1], electron[ev, 2]
        bp = -(bx * ex + by * ey + bz * ez)
        coef = k * bp + g * electron[ev, 3]
        ex, ey, ez = ex - coef * bx, ey - coef * by, ez - coef * bz
        norm = np.sqrt(ex * ex + ey * ey + ez * ez)
        nx, ny, nz = ex / norm, ey / norm, ez / norm
        kz = 1.0 / (1.0 + nz)
        r00, r01, r02 = 1.0 - nx * nx * kz, -nx * ny * kz, nx
        r10, r11, r12 = -nx * ny * kz, 1.0 - ny * ny * kz, ny
        r20, r21, r22 = -nx, -ny, nz
        ipx = rng.normal(0.0, ip_sigma[0])
        ipy = rng.normal(0.0, ip_sigma[1])
        ipz = rng.normal(0.0, ip_sigma[2])
        o = offsets[ev]
        for i in range(o, offsets[ev + 1]):
            x = r00 * px[i] + r01 * py[i] + r02 * pz[i]
            y = r10 * px[i] + r11 * py[i] + r12 * pz[i]
            z = r20 * px[i] + r21 * py[i] + r22 * pz[i]
            e = E[i]
            bpi = bx * x + by * y + bz * z
            c = k * bpi + g * e
            x, y, z, e = x + c * bx, y + c * by, z + c * bz, g * (e + bpi)
            out_p[0, i], out_p[1, i], out_p[2, i], out_p[3, i] = x, y, z, e
            m = mother[i]
            if m < 0:
                vx, vy, vz = ipx, ipy, ipz
            else:
                vx, vy, vz = decay[0, o + m], decay[1, o + m], decay[2, o + m]
            out_v[0, i], out_v[1, i], out_v[2, i] = vx, vy, vz
            if ctau[i] > 0.0:
                mass = np.sqrt(max(e * e - (x * x + y * y + z * z), 0.0))
                scale = ctau[i] / mass * rng.exponential() if mass > 0.0 else 0.0
                vx, vy, vz = vx + x * scale, vy + y * scale, vz + z * scale
            decay[0, i], decay[1, i], decay[2, i] = vx, vy, vz
    return True


def lab_with_vertices(truth: TruthEvents, beams: Beams, rng: np.random.Generator) -> TruthEvents:
    """truth_to_lab + assign_vertices in one numba pass (the generators' mother-first order);
    any other order goes through the two general functions."""
    p = np.empty((4, truth.pdg.size))
    v = np.empty((3, truth.pdg.size))
    mothers_first = _lab_and_vertices(
        rng,
        truth.offsets,
        np.ascontiguousarray(truth.px, dtype=np.float64),
        np.ascontiguousarray(truth.py, dtype=np.float64),
        np.ascontiguousarray(truth.pz, dtype=np.float64),
        np.ascontiguousarray(truth.E, dtype=np.float64),
        np.ascontiguousarray(truth.mother),
        np.ascontiguousarray(truth.ctau, dtype=np.float64),
        np.ascontiguousarray(beams.electron),
        np.ascontiguousarray(beams.total),
        np.array([C.IP_SIGMA_X, C.IP_SIGMA_Y, C.IP_SIGMA_Z]),
        p,
        v,
    )
    if not mothers_first:
        lab = truth_to_lab(truth, beams)
        assign_vertices(lab, rng)
        return lab
    return TruthEvents(
        counts=truth.counts,
        pdg=truth.pdg,
        px=p[0],
        py=p[1],
        pz=p[2],
        E=p[3],
        mother=truth.mother,
        ctau=truth.ctau,
        final=truth.final,
        event=truth.event,
        vx=v[0],
        vy=v[1],
        vz=v[2],
    )


def generate_truth(
    process: str, n: int, rng: np.random.Generator, params: dict[str, Any] | None = None
) -> tuple[TruthEvents, Beams]:
    """Beams + generator + lab transformation + vertices, no filter, no detector."""
    proc = registry.get(process)
    params = proc.check_params(dict(params or {}))
    beams = sample_beams(n, rng)
    gen_kwargs = {k: v for k, v in params.items() if v is not None}
    truth = proc.generator()(n, rng, beams.sqrt_s, **gen_kwargs)
    check_truth(truth, process, n)
    return lab_with_vertices(truth, beams, rng), beams


# --------------------------------------------------------------------- columns
def _dtype_table() -> dict[str, str]:
    table = {c.name: c.dtype for c in EF.EVENT_COLUMNS + EF.MC_EVENT_COLUMNS}
    for coll, cols in EF.COLLECTIONS.items():
        table[f"n{coll}"] = "int32"
        table.update({f"{coll}_{c.name}": c.dtype for c in cols})
    return table


DTYPES = _dtype_table()


def cast_columns(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for k, v in cols.items():
        if k not in DTYPES:
            raise KeyError(f"column {k!r} is not in samples/eventformat.py; add it there first")
        out[k] = np.ascontiguousarray(v, dtype=DTYPES[k])
    return out


def concat_columns(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not parts:
        raise ValueError("no chunks to concatenate")
    if len(parts) == 1:
        return dict(parts[0])
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


# --------------------------------------------------------------------- main
def generate(
    process: str,
    n: int,
    seed: int,
    params: dict[str, Any] | None = None,
    filter_name: str | None = "default",
    filter_options: dict[str, Any] | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    mc: bool = True,
    progress: Callable[[int], None] | None = None,
) -> GeneratedSample:
    """Generate ``n`` events of ``process`` (before the filter) with the detector response."""
    if n <= 0:
        raise ValueError(f"number of events must be positive, got {n}")
    proc = registry.get(process)
    params = proc.check_params(dict(params or {}))
    if filter_name == "default":
        filter_name = proc.default_filter
    filt = get_filter(filter_name)
    fopts = dict(filter_options or {})
    n_chunks = -(-n // chunk_size)
    children = np.random.SeedSequence(seed).spawn(n_chunks)
    parts = []
    offset = 0
    for k, child in enumerate(children):
        m = min(chunk_size, n - k * chunk_size)
        rng = np.random.default_rng(child)
        truth, beams = generate_truth(process, m, rng, params)
        mask = filt(truth, beams, **fopts) if filt is not None else np.ones(m, dtype=bool)
        idx = np.flatnonzero(mask)
        if idx.size < m:  # without a filter (or when it keeps everything) nothing to copy
            truth = select_events(truth, mask)
            beams = beams.take(idx)
        cols = detector.simulate(truth, beams, rng, mc=mc)
        # A file carries the nominal beam (what an analysis knows); the true one only as MC truth.
        nominal = NOMINAL_BEAM
        cols.update(
            exp=np.zeros(idx.size),
            run=np.full(idx.size, seed % 2**31),
            event=offset + idx,
            beam_E=np.full(idx.size, nominal[3]),
            beam_px=np.full(idx.size, nominal[0]),
            beam_py=np.full(idx.size, nominal[1]),
            beam_pz=np.full(idx.size, nominal[2]),
            weight=truth.event.get("weight", np.ones(idx.size)),
        )
        if mc:
            total = beams.total
            cols.update(mc_beam_E=total[:, 3], mc_beam_px=total[:, 0], mc_beam_py=total[:, 1], mc_beam_pz=total[:, 2])
            for key, col in MC_PARAM_KEYS.items():
                if col in truth.event:
                    cols[col] = truth.event[col]
                elif params.get(key) is not None and proc.is_signal:
                    cols[col] = np.full(idx.size, float(params[key]))
        parts.append(cast_columns(cols))
        offset += m
        if progress is not None:
            progress(m)
    return GeneratedSample(
        process=process,
        params=params,
        seed=seed,
        n_generated=n,
        columns=concat_columns(parts),
        filter_name=filter_name,
        filter_options=fopts,
    )


def four_momentum_residual(truth: TruthEvents, beams: Beams) -> np.ndarray:
    """Per event: max |sum(final particles) - beam four-vector| (for tests)."""
    evt = truth.event_index()
    f = truth.final
    sums = np.stack(
        [np.bincount(evt[f], weights=getattr(truth, c)[f], minlength=truth.n_events) for c in ("px", "py", "pz", "E")],
        axis=-1,
    )
    return np.max(np.abs(sums - beams.total), axis=1)


__all__ = ["GeneratedSample", "four_momentum_residual", "generate", "generate_truth"]

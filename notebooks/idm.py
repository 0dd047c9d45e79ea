# ---
# jupyter:
#   jupytext:
#     formats: py:percent,ipynb
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Inelastic dark matter with a dark Higgs, interactively
#
# e+e- -> h' A', A' -> chi1 chi2, chi2 -> chi1 e+ e-, h' -> mu mu / pi pi / K K: two displaced vertices,
# the h' one pointing back to the IP, the chi2 one not, and missing energy (Belle II, arXiv:2505.09705;
# model arXiv:2012.08595). The notebook runs the search (`b2dark run idm`, `b2dark limits idm`) on a sample
# catalog and shows the cutflow, the vertex distributions, m(h') per final state with the sideband windows,
# the efficiency vs the h' lifetime and the limits beside the published ones. Executed by
# `tests/test_notebooks.py`; everything about the search comes from `processors/idm/search.py`.
#
# Inputs: `data/samples/catalog.yaml` (`b2dark samples idm`) if it holds the search's samples, otherwise
# (or with `B2DARK_NB_SMALL=1`) a small set generated into a temporary folder (about a minute).

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from processors import registry
from processors.idm.plots import efficiency_table
from samples import cli as generate_cli
from samples.generator import idm_model
from workflows import cli, outputs
from workflows.fileset import SampleSelectionError, load_fileset, select_samples

spec = registry.get("idm")
LUMI = spec.lumi.fb
print(f"{spec.title}\n  after {spec.reference}\n  MC normalised to {LUMI} fb^-1")
print("benchmark plane:", idm_model.benchmark())

# %% [markdown]
# ## 1. Samples
# The small fallback: mu mu and pi pi signals at m_h' = 0.8 GeV for three sin(theta), s s-bar and c c-bar
# through the displaced-pair filter, and background-only pseudo-data resampled from them.

# %%
catalog_path = Path(os.environ.get("B2DARK_CATALOG", "data/samples/catalog.yaml"))
partial = False
try:
    if os.environ.get("B2DARK_NB_SMALL") == "1" or not catalog_path.exists():
        raise SampleSelectionError("small sample set requested")
    select_samples(spec, load_fileset(catalog_path, LUMI), catalog_path)
except SampleSelectionError as err:
    print(f"not using {catalog_path}: {err}")
    workdir = Path(tempfile.mkdtemp(prefix="b2dark-nb-idm-"))
    bench = idm_model.benchmark()
    fixed = ", ".join(f"{k}: {v}" for k, v in bench.items())
    lines = [f"lumi_fb: {LUMI}", "samples:"]
    for i, (chan, s) in enumerate((c, s) for c in ("mumu", "pipi") for s in (3e-3, 1e-3, 1e-4)):
        lines.append(f"  - {{name: idm_{chan}_s{s:g}, process: idm_{chan}, n: 1500, seed: {900 + i}, filter: none, "
                     f"params: {{{fixed}, mass2: 0.8, sin_theta: {s}}}}}")  # fmt: skip
    lines += ["  - {name: ss_dv, process: ss, n: 100000, seed: 91, filter: displaced_pairs}",
              "  - {name: cc_dv, process: cc, n: 100000, seed: 92, filter: displaced_pairs}",
              "pseudodata:",
              f"  - {{name: data_idm, lumi_fb: {LUMI}, seed: 93, mode: resample, skim: two_vertices, "
              "backgrounds: [ss_dv, cc_dv]}"]  # fmt: skip
    (workdir / "recipe.yaml").write_text("\n".join(lines) + "\n")
    rc = generate_cli.main(["--recipe", str(workdir / "recipe.yaml"), "--out", str(workdir / "samples"),
                            "--no-progress"])  # fmt: skip
    assert rc == 0, "sample generation failed"
    catalog_path, partial = workdir / "samples" / "catalog.yaml", True

# %% [markdown]
# ## 2. Run the search and its limits
# Data stay blinded: selected data events with m(h') within the scan masses' windows are hidden; the
# sidebands the background estimate needs stay visible.

# %%
out_dir = Path(tempfile.mkdtemp(prefix="b2dark-nb-idm-out-")) / "idm"
args = ["run", "idm", "--samples", str(catalog_path), "--output", str(out_dir), "--executor", "iterative",
        "--no-progress"] + (["--partial"] if partial else [])  # fmt: skip
assert cli.main(args) == 0
run = outputs.load(out_dir)
print("blinded:", run.blinded)
cf = run.cutflows
names = next(iter(cf.values()))["names"]
print(f"{'sample':24s}" + "".join(f"{c[:10]:>11s}" for c in names))
for s in sorted(cf):
    print(f"{s:24s}" + "".join(f"{x:11.4g}" for x in cf[s]["weighted"]))

# %% [markdown]
# ## 3. Vertex displacement, pointing and m(h') with sidebands
# The search's plots (processors/idm/plots.py), written by `b2dark run` into the output folder.

# %%
from IPython.display import Image, display  # noqa: E402

for name in ("idm_disp_r_h", "idm_disp_r_chi", "idm_nm1_angle_h", "idm_m_h_pipi", "idm_efficiency_vs_ctau"):
    p = out_dir / "plots" / f"{name}.png"
    if p.exists():
        display(Image(filename=str(p), width=480))

# %% [markdown]
# ## 4. Efficiency vs the h' lifetime
# Selected / generated. At c tau -> 0 the h' decays within the 0.2 cm where no displaced vertex is formed;
# at c tau -> infinity it leaves the tracker: the efficiency vanishes at both ends.

# %%
eff = efficiency_table(run)
for r in sorted(eff, key=lambda r: (r["model"], r["ctau_h"])):
    print(f"{r['model']:9s} m={r['mass2']:.2f} sin={r['sin_theta']:.0e} c tau={r['ctau_h']:9.3g} cm  "
          f"eff={r['efficiency']:.4f}")  # fmt: skip
fig, ax = plt.subplots()
for model in sorted({r["model"] for r in eff}):
    sel = sorted((r for r in eff if r["model"] == model), key=lambda r: r["ctau_h"])
    ax.plot([r["ctau_h"] for r in sel], [r["efficiency"] for r in sel], "o-", label=model)
ax.set_xscale("log")
ax.set_xlabel(r"$c\tau(h')$ [cm]")
ax.set_ylabel("efficiency")
ax.legend()

# %% [markdown]
# ## 5. Limits: sideband counting, exact CLs at 95 % CL
# With no data in the window or the sidebands, n = 0 gives 2.996 signal events whatever the background.

# %%
from workflows.stats.plans import implementation  # noqa: E402
from workflows.stats.plans.common import StatsOptions  # noqa: E402

# the plan `b2dark limits idm` runs (called directly: the small set is partial, which `b2dark limits` refuses)
result = implementation(spec)(run, spec, StatsOptions(cl=spec.cl, progress=False))
for r in result.rows:
    e = r.extra
    s = e.get("signal_events", e.get("signal_events_per_fb", float("nan")))  # combined rows: events per fb
    print(f"{r.hypothesis.label}: n_obs={e['n_obs']:.0f} b={e['background']:.3f} s={s:.1f}  "
          f"sigma x B x B < {r.observed:.3g} fb (expected {r.expected[2]:.3g}); "
          f"eps < {r.couplings['eps'].observed:.2g}")  # fmt: skip
print("\n".join(result.notes))
print("published:", [(p.value, p.what) for p in spec.published.limits], spec.published.note)
best = min(r.observed for r in result.rows if np.isfinite(r.observed))
print(f"our best sigma x B x B limit on this set: {best:.3g} fb")

# %% [markdown]
# ## 6. The figures `b2dark run` and `b2dark limits` make: stacks with the data / MC ratio, Brazil bands
# The selected backgrounds are tiny (q qbar K_S pairs, pairs of photon conversions would be others), so most
# stacked bins are empty; what counts is that the pseudo-data sidebands agree with the MC where MC exists. The
# Brazil bands are per h' final state and slice of the plane; near zero background they are flat at the n = 0
# limit (2.996 events at 95 % CL) divided by the luminosity and the efficiency.

# %%
from workflows import notebook as nb  # noqa: E402
from workflows.stats.report import brazil_plots  # noqa: E402

stacks = sorted((out_dir / "plots").glob("stack_*.png"))
nb.show(stacks[:2])
bands = [
    p for p in brazil_plots(result.rows, out_dir / "limits", spec, run.lumi_fb, spec.cl).values() if p.suffix == ".png"
]
nb.show(bands[:3])
assert stacks and bands

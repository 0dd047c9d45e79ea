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
# # Z' -> tau tau, interactively
#
# e+e- -> mu+ mu- Z', Z' -> tau+ tau-: an identified muon pair recoiling against two one-prong tau
# daughters and neutrinos; the scan variable is M_recoil(mu mu) from the per-event beam four-vector. The
# notebook runs the search's processor, shows the cutflow, the recoil-mass spectrum and the N-1
# distributions, measures the signal width and computes an expected limit at one mass with the search's
# statistics plan. Everything comes from the declaration, `processors/zprime_tautau/search.py`.
#
# Inputs: the catalog `b2dark samples zprime-tautau` writes (`data/samples/catalog.yaml`) if it holds the
# search's samples; otherwise (or with `B2DARK_NB_SMALL=1`, as the tests run it) the small committed
# golden inputs of `tests/searches/zprime_tautau/golden/` (400 events per sample after the four-track skim).

# %%
import os
from pathlib import Path

import hist
import matplotlib.pyplot as plt
import mplhep
import numpy as np
from coffea import processor

from processors import registry
from processors.resolution import peak_width
from processors.schema import B2Schema
from workflows.fileset import SampleSelectionError, load_fileset, select_samples

mplhep.style.use("ROOT")
spec = registry.get("zprime-tautau")
LUMI = spec.lumi.fb
WP = spec.working_point()
LABEL = r"$M_\mathrm{recoil}(\mu\mu)$ [GeV]"
print(f"{spec.title}\n  after {spec.reference}\n  MC normalised to {LUMI} fb^-1 ({spec.lumi.source})")

# %% [markdown]
# ## 1. Samples

# %%
catalog_path = Path(os.environ.get("B2DARK_CATALOG", "data/samples/catalog.yaml"))
selection = None
if os.environ.get("B2DARK_NB_SMALL") != "1" and catalog_path.exists():
    try:
        selection = select_samples(spec, load_fileset(catalog_path, LUMI), catalog_path)
    except SampleSelectionError as err:
        print(f"not using {catalog_path}: {err}")
if selection is None:
    catalog_path = Path("tests/searches/zprime_tautau/golden/catalog.yaml")
    selection = select_samples(spec, load_fileset(catalog_path, LUMI), catalog_path)
fileset = selection.fileset
meta = {s: e["metadata"] for s, e in fileset.items()}
print(f"{len(fileset)} samples from {catalog_path}")
for name, md in sorted(meta.items()):
    kind = "data" if md["is_data"] else "sig" if md["is_signal"] else "bkg"
    print(f"  {name:22s} {kind:4s} {md['n_events']:>9d} events")

# %% [markdown]
# ## 2. Run the processor (data blinded: the data cutflow stops counting at the four-track mass cut)

# %%
Processor = registry.import_object(spec.processor)
runner = processor.Runner(executor=processor.IterativeExecutor(status=False), schema=B2Schema, chunksize=100_000)
out = runner(fileset, processor_instance=Processor(lumi_fb=LUMI), treename="events")
print("blinded:", out["blinded"])

# %%
bkg = [s for s in selection.backgrounds if s in out["cutflow"]]
# the Z' samples (the scalar and ALP models have their own samples and efficiencies: `b2dark run` tabulates them)
sig = sorted(
    (s for s in selection.signals if meta[s]["process"] == spec.signals[0].process), key=lambda s: meta[s]["mass"]
)
rows = bkg + sig + ([selection.data] if selection.data else [])
cuts = out["cutflow"][rows[0]]["names"]
print(f"{'sample':20s}" + "".join(f"{c[:13]:>14s}" for c in [*cuts, "efficiency"]))
for r in rows:
    cf = out["cutflow"][r]
    print(f"{r:20s}" + "".join(f"{v:14.4g}" for v in cf["weighted"]) + f"{cf['raw'][-1] / meta[r]['n_events']:14.3f}")

# %% [markdown]
# ## 3. The recoil mass: backgrounds stacked, the signals overlaid (g' = 0.01)

# %%
template = out["hists"][spec.stats.hist][{"syst": "nominal"}]
present = set(template.axes["sample"])
shown = template[{spec.stats.axis: hist.rebin(50)}]
stack = [b for b in bkg if b in present]
fig, ax = plt.subplots()
if stack:
    mplhep.histplot([shown[{"sample": b}] for b in stack], label=stack, stack=True, histtype="fill", ax=ax)
for s in sig:
    if s in present:
        mplhep.histplot(shown[{"sample": s}], label=s, lw=2, ax=ax)
ax.set_xlabel(LABEL)
ax.set_ylabel("events / 0.1 GeV")
ax.set_yscale("log")
ax.legend(fontsize="x-small")

# %% [markdown]
# ## 4. N-1 distributions (signal vs background, unit area; dotted: the working point)

# %%
nm1 = {"nm1_m4": [WP.m4_max], "nm1_m3_min": [WP.three_prong_mass_min], "nm1_e_miss": [WP.e_miss_cms_min],
       "nm1_extra_energy": [WP.extra_energy_max]}  # fmt: skip
fig, axes = plt.subplots(1, len(nm1), figsize=(7 * len(nm1), 6))
for ax, (name, thresholds) in zip(axes, nm1.items(), strict=True):
    h = out["hists"][name]
    have = [b for b in bkg if b in h.axes["sample"] and h[{"sample": b}].values().sum() > 0]
    if have:
        total = sum((h[{"sample": b}] for b in have[1:]), h[{"sample": have[0]}])
        mplhep.histplot(total, label="background", density=True, histtype="fill", alpha=0.5, ax=ax)
    for s in sig:
        if s in h.axes["sample"] and h[{"sample": s}].values().sum() > 0:
            mplhep.histplot(h[{"sample": s}], label=s, density=True, ax=ax)
    for c in thresholds:
        ax.axvline(c, ls=":", lw=2, color="k")
    ax.legend(fontsize="x-small")
fig.tight_layout()

# %% [markdown]
# ## 5. Signal width (processors.resolution.peak_width, as the run's per-mass table)

# %%
widths = {}
print(f"{'sample':20s} {'M [GeV]':>8s} {'width [MeV]':>12s}  method")
for s in sig:
    m = meta[s]["mass"]
    w, how = peak_width(template[{"sample": s}], spec.stats.observable(m), spec.stats.half_range(m))
    widths[s] = w
    print(f"{s:20s} {m:8.3f} {1e3 * w:12.2f}  {how}")
assert all(np.isfinite(w) and w > 0 for w in widths.values())

# %% [markdown]
# ## 6. An expected limit at one mass (peak scan plan, Asimov background; data blinded)

# %%
from workflows.stats.plans import implementation, peak_scan  # noqa: E402
from workflows.stats.plans.common import add_couplings  # noqa: E402

assert implementation(spec) is peak_scan.run
plan, model = spec.stats, spec.signals[0]
mass = meta[sig[0]]["mass"]
points = peak_scan.template_points(
    out["hists"][plan.hist], meta, masses=[mass], n_sigma=plan.n_sigma, m2_axis=plan.axis,
    to_axis=plan.observable, rebin=plan.rebin, min_neff=plan.min_neff, max_bins=plan.max_bins,
    systematics=spec.systematics, signal_names=sig, model=model.name, width_half_range=plan.width_half_range,
)  # fmt: skip
raw = peak_scan.run_limits(points, cl=spec.cl, processes=1, progress=False)
row = peak_scan.to_limit_row(points[0], raw[0])
add_couplings([row], {model.name: model})
exp = row.expected
print(f"{model.label} at M = {mass:g} GeV, {spec.cl:.0%} CL, {LUMI:g} fb^-1: sigma x B < {exp[2]:.3g} fb "
      f"[{exp[1]:.3g}, {exp[3]:.3g}] (expected median [-1, +1 sigma]; method {row.method})")  # fmt: skip
print(f"published ({spec.published.reference}): {spec.published.limits[0].note}")
print(f"note: {spec.published.note}")
if catalog_path.parent.name == "golden":
    print("golden inputs (400 skimmed events per sample): a look at the machinery, not a result")
assert exp[0] <= exp[2] <= exp[4]

# %% [markdown]
# ## 7. The figures of the run: stack with the data / MC ratio, cutflow, Brazil band
# A Z' (or a leptophilic scalar) radiated off a muon pair and decaying to tau tau leaves two muons plus two
# one-prong tau decays and missing energy; its mass is the mass recoiling against the muon pair. The pseudo-data
# over the MC (tau tau and four-lepton backgrounds) should be flat outside the blinded (hatched) region; the
# Brazil band is the expected limit at every generated mass with its +-1 / +-2 sigma spread.

# %%
import tempfile  # noqa: E402

from workflows import notebook as nb  # noqa: E402

figdir = Path(tempfile.mkdtemp(prefix="b2dark-nb-"))
run = nb.run_output(out, fileset, spec.name, LUMI)
nb.stack_with_ratio(run, "var_m_recoil", figdir, spec)
nb.cutflow(run, figdir, spec)
generated = sorted({meta[s]["mass"] for s in sig if meta[s]["process"] == model.process})
masses = sorted({generated[0], generated[len(generated) // 2], generated[-1]})  # ends + middle: a short test
rows = nb.peak_scan_limits(out["hists"][plan.hist], meta, spec, model, masses, sig)
nb.brazil(rows, figdir, plan.xsec_label, LUMI, spec.cl)
assert len(rows) == len(masses) and all(r.expected[1] <= r.expected[2] <= r.expected[3] for r in rows)

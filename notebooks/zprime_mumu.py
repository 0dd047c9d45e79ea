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
# # Z' -> mu mu, interactively
#
# e+e- -> mu+ mu- Z', Z' -> mu+ mu-: four muons with the full collision energy and a narrow dimuon
# peak over the SM e+e- -> mu mu mu mu background. The notebook runs the search's processor over a
# sample catalog, shows the cutflow and the distributions an analyst checks, measures the signal width
# and computes a limit at one mass with the search's statistics plan, all from Python. It is paired with
# `notebooks/zprime_mumu.ipynb` by jupytext (`jupytext --sync notebooks/zprime_mumu.py`) and executed
# by the test suite (`tests/test_notebooks.py`).
#
# Everything about the search (processor, samples, luminosity, statistics plan, published result)
# comes from its declaration, `processors/zprime_mumu/search.py`.
#
# Inputs: by default the catalog `make samples` writes (`data/samples/catalog.yaml`), if it holds the
# search's samples. Otherwise (or with `B2DARK_NB_SMALL=1`) a small sample set is generated into a
# temporary folder first, so the notebook always runs.

# %%
import os
import tempfile
from pathlib import Path

import hist
import matplotlib.pyplot as plt
import mplhep
import numpy as np
from coffea import processor

from processors import registry
from processors.resolution import peak_width
from processors.schema import B2Schema
from samples import cli as generate_cli
from workflows.fileset import SampleSelectionError, load_fileset, select_samples

mplhep.style.use("ROOT")
spec = registry.get("zprime-mumu")
LUMI = spec.lumi.fb
WP = spec.working_point()
M_R_LABEL = r"$m_R(\mu\mu)$ [GeV]"
print(f"{spec.title}\n  after {spec.reference}\n  MC normalised to {LUMI} fb^-1 ({spec.lumi.source})")


def belle2_label(ax):
    mplhep.label.exp_label(exp="Belle II", llabel="Simulation (fast sim.)", rlabel=f"{LUMI:g} fb$^{{-1}}$", ax=ax)


def log_legend(ax):
    """Log y axis with room above the histograms for a two-column legend."""
    ax.set_yscale("log")
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi * (hi / lo) ** 0.6)
    ax.legend(fontsize="x-small", ncols=2, loc="upper right")


# %% [markdown]
# ## 1. Samples
# The search takes exactly the samples its declaration names (`workflows.fileset.select_samples`).
# The fallback recipe is a small version of `samples/recipes/zprime_mumu.yaml`: two Z' masses, one
# muonphilic-scalar mass, mu mu mu mu and a little mu mu tau tau, all through the generator's four-track
# filter (about a minute on a laptop). It has no pseudo-data and not every background, so it is selected
# as a *partial* set: fine for a look, not for a result.

# %%
catalog_path = Path(os.environ.get("B2DARK_CATALOG", "data/samples/catalog.yaml"))
selection = None
if os.environ.get("B2DARK_NB_SMALL") != "1" and catalog_path.exists():
    try:
        selection = select_samples(spec, load_fileset(catalog_path, LUMI), catalog_path)
    except SampleSelectionError as err:
        print(f"not using {catalog_path}: {err}")
if selection is None:
    workdir = Path(tempfile.mkdtemp(prefix="b2dark-nb-"))
    recipe = workdir / "recipe.yaml"
    recipe.write_text(
        f"""
lumi_fb: {LUMI}
samples:
  - {{name: zprime_mumu, process: zprime_mumu, masses: [1.0, 6.0], params: {{coupling: 0.01}}, n: 4000,
     seed: 3000, filter: min_tracks}}
  - {{name: scalar_mumu, process: scalar_mumu, masses: [2.0], params: {{coupling: 0.01}}, n: 4000, seed: 3500,
     filter: min_tracks}}
  - {{name: mumumumu, process: mumumumu, n: 100000, seed: 31, filter: min_tracks}}
  - {{name: mumutautau, process: mumutautau, n: 8000, seed: 32, filter: min_tracks}}
"""
    )
    rc = generate_cli.main(["--recipe", str(recipe), "--out", str(workdir / "samples"), "--no-progress"])
    assert rc == 0, "sample generation failed"
    catalog_path = workdir / "samples" / "catalog.yaml"
    selection = select_samples(spec, load_fileset(catalog_path, LUMI), catalog_path, partial=True)
fileset = selection.fileset
meta = {s: e["metadata"] for s, e in fileset.items()}
print(f"{len(fileset)} samples from {catalog_path}; missing: {selection.missing or 'none'}")
for name, md in sorted(meta.items()):
    kind = "data" if md["is_data"] else "sig" if md["is_signal"] else "bkg"
    print(f"  {name:22s} {kind:4s} {md['n_events']:>9d} events")

# %% [markdown]
# ## 2. Run the processor
# `processor.Runner` with the futures executor (two local processes); the processor class is the one
# the declaration names. The same processor runs unchanged on a dask cluster
# (`b2dark run zprime-mumu --executor dask@slurm`). Data stay blinded: the whole signal region is
# hidden, and the data cutflow stops counting at the four-track mass window.

# %%
Processor = registry.import_object(spec.processor)
runner = processor.Runner(
    executor=processor.FuturesExecutor(workers=2, status=False),
    schema=B2Schema,
    chunksize=100_000,
)
out = runner(fileset, processor_instance=Processor(lumi_fb=LUMI), treename="events")
print("blinded:", out["blinded"])

# %% [markdown]
# The cutflow of the signal region, one row per sample: weighted events at the declared luminosity after
# each cut (the signals at g' = g_S = 0.01), and the fraction of the sample's events passing them all.
# The data row stops at the four-track mass window (blinded).

# %%
order = [m.process for m in spec.signals]
bkg = [s for s in selection.backgrounds if s in out["cutflow"]]
sig = sorted(selection.signals, key=lambda s: (order.index(meta[s]["process"]), meta[s]["mass"]))
rows = bkg + sig + ([selection.data] if selection.data else [])
cuts = out["cutflow"][rows[0]]["names"]
print(f"{'sample':20s}" + "".join(f"{c:>15s}" for c in [*cuts, "efficiency"]))
for r in rows:
    cf = out["cutflow"][r]
    print(f"{r:20s}" + "".join(f"{v:15.4g}" for v in cf["weighted"]) + f"{cf['raw'][-1] / meta[r]['n_events']:15.3f}")

# %% [markdown]
# The plots overlay the lowest, a middle and the highest mass of each signal model (all of them with the
# small sample set).

# %%
by_model = {m.name: [s for s in sig if meta[s]["process"] == m.process] for m in spec.signals}
overlay = [
    s for names in by_model.values() if names for s in dict.fromkeys([names[0], names[len(names) // 2], names[-1]])
]
zsig = [s for s in overlay if s in by_model[spec.signals[0].name]]
# signals as lines, one colour each, solid for the Z' and dashed for the scalar
LINE = {s: {"color": plt.cm.Dark2(i % 8), "ls": "-" if s in zsig else "--", "lw": 2} for i, s in enumerate(overlay)}
print("overlaid:", ", ".join(overlay))

# %% [markdown]
# ## 3. What the analyst looks at
# ### The reduced dimuon mass
# The scan variable m_R = sqrt(M(mu mu)^2 - 4 m_mu^2), four candidates per event: backgrounds stacked,
# the signals overlaid, in events per GeV (the template's bins widen with the mass like the resolution).
# Each signal is a narrow peak at its mass on top of its own broad combinatorial spread.

# %%
template = out["hists"][spec.stats.hist][{"syst": "nominal"}]
present = set(template.axes["sample"])
stack = [b for b in bkg if b in present]
shown = template[{spec.stats.axis: hist.rebin(10)}]
fig, ax = plt.subplots()
mplhep.histplot([shown[{"sample": b}] for b in stack], label=stack, stack=True, histtype="fill", binwnorm=1, ax=ax)
for s in overlay:
    if s in present:
        mplhep.histplot(shown[{"sample": s}], label=s, binwnorm=1, ax=ax, **LINE[s])
ax.set_xlabel(M_R_LABEL)
ax.set_ylabel("candidates / GeV")
log_legend(ax)
belle2_label(ax)

# %% [markdown]
# ### Four candidates per event
# The two opposite-charge pairings give four dimuon candidates per event, and all four enter the
# template. Per signal event, the candidate nearest the expected m_R stands in for the correct pairing
# (there is no MC truth in the event list): it makes the peak, the other three the combinatorial spread
# beneath the whole spectrum.

# %%
fig, axes = plt.subplots(1, len(zsig), figsize=(8 * len(zsig), 7), squeeze=False)
bins = np.linspace(0, 10.5, 106)
for ax, s in zip(axes[0], zsig, strict=True):
    evl = out["eventlist"][s]
    m_r = np.stack([evl[f"m_reduced_{k}"] for k in range(4)], axis=1)
    near = np.argmin(np.abs(m_r - spec.stats.observable(meta[s]["mass"])), axis=1)
    is_near = np.arange(4)[None, :] == near[:, None]
    w = np.repeat(evl["weight"][:, None], 4, axis=1)
    ax.hist(m_r[~is_near], bins, weights=w[~is_near], histtype="step", lw=2, label="other three (combinatorial)")
    ax.hist(m_r[is_near], bins, weights=w[is_near], histtype="step", lw=2, label="nearest the peak")
    ax.set_yscale("log")
    ax.set_xlabel(M_R_LABEL)
    ax.set_ylabel("candidates / 0.1 GeV")
    ax.set_title(f"{s}: {len(near)} selected events", fontsize="medium")
    ax.legend(fontsize="small")
fig.tight_layout()

# %% [markdown]
# ### N-1 distributions
# Each selection variable with every *other* cut applied, signal vs total background, normalised to
# unit area; the dotted lines are the working point's thresholds (`ZPrimeMuMuWorkingPoint`).

# %%
nm1 = {
    "nm1_n_muons": [WP.min_muons - 0.5],
    "nm1_p4_cms": [WP.p4_cms_max],
    "nm1_extra_energy": [WP.extra_energy_max],
}
fig, axes = plt.subplots(1, len(nm1), figsize=(8 * len(nm1), 7))
for ax, (name, thresholds) in zip(axes, nm1.items(), strict=True):
    h = out["hists"][name]
    have = [b for b in bkg if b in h.axes["sample"]]
    if have:
        total = sum((h[{"sample": b}] for b in have[1:]), h[{"sample": have[0]}])
        mplhep.histplot(total, label="background", density=True, histtype="fill", alpha=0.5, ax=ax)
    for s in overlay:
        if s in h.axes["sample"]:
            mplhep.histplot(h[{"sample": s}], label=s, density=True, ax=ax, **LINE[s])
    for c in thresholds:
        ax.axvline(c, ls=":", lw=2, color="k")
    ax.set_ylabel("normalised")
    log_legend(ax)
fig.tight_layout()

# %% [markdown]
# ### The four-track mass
# M(4 tracks) after all other cuts (the N-1 distribution of the mass window), stacked backgrounds and the
# signals at the declared luminosity. The signal window around sqrt(s) = 10.58 GeV is shaded, and the
# control region of the mu mu mu mu normalisation below it (`m4_sideband`, where the |p*| cut is not applied).

# %%
h = out["hists"]["nm1_m4"]
fig, ax = plt.subplots()
have = [b for b in bkg if b in h.axes["sample"]]
mplhep.histplot([h[{"sample": b}] for b in have], label=have, stack=True, histtype="fill", ax=ax)
for s in overlay:
    if s in h.axes["sample"]:
        mplhep.histplot(h[{"sample": s}], label=s, ax=ax, **LINE[s])
ax.axvspan(*WP.m4_window, color="green", alpha=0.1, label="signal window")
ax.axvspan(*WP.m4_sideband, color="gray", alpha=0.1, label="sideband (CR)")
ax.set_ylabel("events / bin")
log_legend(ax)
belle2_label(ax)

# %% [markdown]
# ## 4. Signal width
# The width the run summary and the statistics stage both use (`processors.resolution.peak_width`):
# sigma_W of a double Crystal Ball fitted within +-(15 MeV + 1 % of M) of the expected m_R
# (`reduced_mass` and `_width_half_range` of search.py, declared as the plan's `observable` and
# `width_half_range`), which keeps the three wrong candidates out. Narrow peaks that fill too few bins fall
# back to the central 68 % half-width.

# %%
widths = {}
print(f"{'sample':18s} {'M [GeV]':>8s} {'m_R [GeV]':>10s} {'width [MeV]':>12s} {'width/m_R':>10s}  method")
for s in sig:
    m = meta[s]["mass"]
    peak = spec.stats.observable(m)
    w, how = peak_width(template[{"sample": s}], peak, spec.stats.half_range(m))
    widths[s] = w
    print(f"{s:18s} {m:8.3f} {peak:10.4f} {1e3 * w:12.2f} {w / peak:10.2%}  {how}")
assert all(np.isfinite(w) and w > 0 for w in widths.values())

# %% [markdown]
# The peak of each Z' sample around its expected m_R, with the measured +-1 width shaded; the statistics
# plan fits a +-n_sigma window of these widths.

# %%
fig, axes = plt.subplots(1, len(zsig), figsize=(8 * len(zsig), 6), squeeze=False)
for ax, s in zip(axes[0], zsig, strict=True):
    peak, half = spec.stats.observable(meta[s]["mass"]), spec.stats.half_range(meta[s]["mass"])
    lo, hi = template.axes[spec.stats.axis].index(peak - half), template.axes[spec.stats.axis].index(peak + half)
    mplhep.histplot(template[{"sample": s}][lo : hi + 1], ax=ax, label=s)
    ax.axvspan(peak - widths[s], peak + widths[s], color="orange", alpha=0.3, label=r"$\pm$ width")
    ax.axvline(peak, ls="--", color="k", label="expected $m_R$")
    ax.set_xlabel(M_R_LABEL)
    ax.set_ylabel("candidates / bin")
    ax.set_ylim(top=1.5 * ax.get_ylim()[1])  # room for the legend
    ax.legend(fontsize="small", loc="upper left")
fig.tight_layout()

# %% [markdown]
# ## 5. A limit at one mass
# The statistics plan the declaration chooses (`workflows.stats.plans.implementation(spec)`, a peak scan)
# builds one pyhf workspace per mass: the template in a +-n_sigma window around the expected m_R, the
# signal normalised to 1 fb of sigma x B (so the POI is the cross section), the declared systematics. Here
# at the generated Z' mass nearest a published limit point, with the limit recast into g' and printed
# beside the published value. Data are blinded, so the limit is the expected one (Asimov background).

# %%
from workflows.stats.plans import implementation, peak_scan  # noqa: E402
from workflows.stats.plans.common import add_couplings  # noqa: E402

assert implementation(spec) is peak_scan.run  # what `b2dark limits zprime-mumu` would run
plan, model = spec.stats, spec.signals[0]
zall = [s for s in sig if meta[s]["process"] == model.process]
published = [p for p in spec.published.limits if p.model in (None, model.name)]
pub = min(published, key=lambda p: min(abs(meta[s]["mass"] - p.params["mass"]) for s in zall))
mass = min((meta[s]["mass"] for s in zall), key=lambda m: abs(m - pub.params["mass"]))
points = peak_scan.template_points(
    out["hists"][plan.hist], meta, masses=[mass], n_sigma=plan.n_sigma, m2_axis=plan.axis,
    to_axis=plan.observable, rebin=plan.rebin, min_neff=plan.min_neff, max_bins=plan.max_bins,
    systematics=spec.systematics, signal_names=zall, model=model.name, width_half_range=plan.width_half_range,
)  # fmt: skip
raw = peak_scan.run_limits(points, cl=spec.cl, processes=1, progress=False)
row = peak_scan.to_limit_row(points[0], raw[0])
add_couplings([row], {model.name: model})
print(f"{row.n_bins} bins in the m_R window {row.window[0]:.4f}-{row.window[1]:.4f} GeV; method: {row.method}")

# %%
exp = row.expected
coupling = row.couplings[pub.recast]
print(f"{model.label} at M = {mass:g} GeV, {spec.cl:.0%} CL, {LUMI:g} fb^-1 (expected, median [-1, +1 sigma]):")
print(f"  sigma x B < {exp[2]:.3g} fb [{exp[1]:.3g}, {exp[3]:.3g}]")
print(f"  {coupling.label} < {coupling.expected[2]:.3g} [{coupling.expected[1]:.3g}, {coupling.expected[3]:.3g}]")
print(f"published ({spec.published.reference}), M = {pub.params['mass']:g} GeV:")
print(f"  {pub.what} < {pub.value:g}  ({pub.note})")
print(f"  note: {spec.published.note}")
if selection.partial:
    print(f"partial sample set (missing {', '.join(selection.missing)}): a look at the machinery, not a result")
assert exp[0] <= exp[2] <= exp[4]

# %% [markdown]
# ## 6. The figures of the run: stack with the data / MC ratio, cutflow, Brazil band
# The four-muon events are dominated by e+e- -> mu mu mu mu (the two-photon and radiative diagrams); a Z' is a
# narrow peak in one of the two opposite-charge pairings, so the pseudo-data / MC ratio should be flat where
# the data are not blinded (hatched). The Brazil band is the expected limit at every generated Z' mass with
# its +-1 / +-2 sigma spread under background-only pseudo-experiments.

# %%
import tempfile  # noqa: E402

from workflows import notebook as nb  # noqa: E402

figdir = Path(tempfile.mkdtemp(prefix="b2dark-nb-"))
run = nb.run_output(out, fileset, spec.name, LUMI)
nb.stack_with_ratio(run, "var_m_mumu", figdir, spec)
nb.cutflow(run, figdir, spec)
generated = sorted({meta[s]["mass"] for s in zall})
masses = sorted({generated[0], generated[len(generated) // 2], generated[-1]})  # ends + middle: a short test
rows = nb.peak_scan_limits(out["hists"][plan.hist], meta, spec, model, masses, zall)
nb.brazil(rows, figdir, plan.xsec_label, LUMI, spec.cl)
assert len(rows) == len(masses) and all(r.expected[1] <= r.expected[2] <= r.expected[3] for r in rows)

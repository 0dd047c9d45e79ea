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
# # Z' -> invisible, interactively
#
# The notebook an analyst opens on an analysis facility: run the Z' -> invisible processor
# over a sample catalog, look at the histograms, fit the signal resolution and compute a limit,
# all from Python. It is paired with `notebooks/zprime_invisible.ipynb` by jupytext
# (`jupytext --sync notebooks/zprime_invisible.py`) and executed by the test suite
# (`tests/test_notebooks.py`).
#
# Inputs: by default the catalog `make samples` writes (`data/samples/catalog.yaml`). If it
# does not exist (or `B2DARK_NB_SMALL=1`), a small sample set is generated into a temporary
# folder first, so the notebook always runs.

# %%
import os
import tempfile
from pathlib import Path

import hist
import matplotlib.pyplot as plt
import mplhep
import numpy as np
from coffea import processor

from processors.resolution import fit_double_cb_hist
from processors.schema import B2Schema
from processors.zprime_inv.processor import ZPrimeInvisibleProcessor
from samples import cli as generate_cli
from samples.catalog import load_catalog
from samples.constants import LUMI_FB

mplhep.style.use("ROOT")
LUMI = LUMI_FB["zprime-inv"]

# %% [markdown]
# ## 1. Samples
# A tiny recipe for the fallback: two signal masses, the dominant backgrounds, and
# pseudo-data at a small luminosity. The numbers are small on purpose (a minute on a laptop).

# %%
catalog_path = Path(os.environ.get("B2DARK_CATALOG", "data/samples/catalog.yaml"))
small = os.environ.get("B2DARK_NB_SMALL") == "1" or not catalog_path.exists()
if small:
    workdir = Path(tempfile.mkdtemp(prefix="b2dark-nb-"))
    recipe = workdir / "recipe.yaml"
    recipe.write_text(
        """
lumi_fb: 79.7
samples:
  - {name: zprime_inv, process: zprime_inv, masses: [1.0, 4.0], params: {coupling: 0.01}, n: 4000, seed: 7,
     filter: zprime_inv}
  - {name: mumu, process: mumu, n: 100000, seed: 11, filter: zprime_inv}
  - {name: tautau, process: tautau, n: 50000, seed: 12, filter: zprime_inv}
pseudodata:
  - {name: data_zprime_inv, lumi_fb: 0.5, seed: 5, backgrounds: [mumu, tautau]}
"""
    )
    rc = generate_cli.main(["--recipe", str(recipe), "--out", str(workdir / "samples"), "--no-progress"])
    assert rc == 0, "sample generation failed"
    catalog_path = workdir / "samples" / "catalog.yaml"
catalog = load_catalog(catalog_path)
fileset = catalog.to_fileset(LUMI)
print(f"{len(fileset)} samples from {catalog_path}")
for name, entry in sorted(fileset.items()):
    md = entry["metadata"]
    print(f"  {name:28s} {'data' if md['is_data'] else 'MC':4s} {md['n_events']:>9d} events")

# %% [markdown]
# ## 2. Run the processor
# `processor.Runner` with the futures executor (two local processes). The same processor runs
# unchanged on a dask cluster (`b2dark run zprime-inv --executor dask@slurm`). Data stay blinded.

# %%
runner = processor.Runner(
    executor=processor.FuturesExecutor(workers=2, status=False),
    schema=B2Schema,
    chunksize=100_000,
)
out = runner(fileset, processor_instance=ZPrimeInvisibleProcessor(lumi_fb=LUMI), treename="events")
print("blinded:", out["blinded"])

# %% [markdown]
# ## 3. Look at the recoil mass, the cutflow and the template plane
# Only the two muons are seen, so the Z' mass is the mass recoiling against them: M_recoil^2 = (p_beams -
# p_mu1 - p_mu2)^2. Backgrounds are mu mu(gamma) with a lost photon (at M_recoil^2 ~ 0), tau tau with two
# muonic decays (broad, above a few GeV^2) and e e mu mu with both electrons down the beam pipe. Below:
# the stack with the pseudo-data / MC ratio (the signal region of the data is blinded, hatched), the
# cutflow, and the 2D fit template (M_recoil^2 x polar angle of the recoil) for the backgrounds and a signal.

# %%
from workflows import notebook as nb  # noqa: E402

figdir = Path(tempfile.mkdtemp(prefix="b2dark-nb-figs-"))
run = nb.run_output(out, fileset, "zprime-inv", LUMI)
nb.stack_with_ratio(run, "m2_recoil", figdir)
nb.cutflow_table(run, sorted(run.cutflows))
nb.cutflow(run, figdir)
bkg_samples = [s for s in run.samples if not run.samples[s]["is_signal"] and not run.samples[s]["is_data"]]
sig_samples = sorted((s for s in run.samples if run.samples[s]["is_signal"]), key=lambda s: run.samples[s]["mass"])
nb.plane(run, "template", sig_samples[0], bkg_samples, figdir)

# %% [markdown]
# The same stack drawn by hand: backgrounds stacked, two signal masses overlaid (g' = 0.01), nominal variation.

# %%
h = out["hists"]["m2_recoil"][{"syst": "nominal"}]
samples = list(h.axes["sample"])
bkg = [s for s in samples if not fileset[s]["metadata"]["is_signal"] and not fileset[s]["metadata"]["is_data"]]
sig = [s for s in samples if fileset[s]["metadata"]["is_signal"]]
rebinned = h[{"m2_recoil": hist.rebin(20)}]
fig, ax = plt.subplots()
mplhep.histplot([rebinned[{"sample": s}] for s in bkg], label=bkg, stack=True, histtype="fill", ax=ax)
for s in sig[:2]:
    mplhep.histplot(rebinned[{"sample": s}], label=s, ax=ax, lw=2)
ax.set_yscale("log")
ax.set_ylabel("events / bin")
ax.legend()
mplhep.label.exp_label(exp="Belle II", llabel="Simulation (fast sim.)", lumi=LUMI, ax=ax)

# %% [markdown]
# ## 4. Signal resolution
# A double Crystal Ball fit to each signal peak in M^2_recoil (as in the paper);
# sigma_W = sqrt(f sigma_1^2 + (1 - f) sigma_2^2).

# %%
masses, widths = [], []
for s in sig:
    fit = fit_double_cb_hist(h[{"sample": s}])
    masses.append(fileset[s]["metadata"]["mass"])
    widths.append(fit.sigma_w)
    print(f"M(Z') = {masses[-1]:.2f} GeV: peak {fit.mu:7.3f} GeV^2, sigma_W = {fit.sigma_w:.3f} GeV^2")
assert all(np.isfinite(widths)) and all(w > 0 for w in widths)

# %% [markdown]
# ## 5. A limit at one mass
# Build the pyhf workspace for the 2D template in a +-10 sigma window and compute the
# expected 90 % CL upper limit on the signal strength (and so on sigma x BF).

# %%
from workflows.stats.limits import upper_limit  # noqa: E402
from workflows.stats.model import build_workspace, lumi_normsys  # noqa: E402

s0, m0, w0 = sig[0], masses[0], widths[0]
window = {"m2_recoil": (m0**2 - 10 * w0, m0**2 + 10 * w0)}
template = out["hists"]["template"]
ws, build = build_workspace(
    template[{"sample": s0}],
    {b: template[{"sample": b}] for b in bkg},
    data=None,  # blinded: the observed counts are the Asimov background-only expectation
    window=window,
    systematics=[lumi_normsys()],
)
print(f"{build.n_bins_window} bins in the window; notes: {build.notes}")
res = upper_limit(ws, cl=0.90)
xsec = fileset[s0]["metadata"]["xsec_fb"]
print(
    f"M = {m0} GeV: expected 90% CL limit mu < {res.expected[2]:.3g} -> sigma x BF < {res.expected[2] * xsec:.3g} fb"
    f" (method: {res.method})"
)
assert res.expected[0] <= res.expected[2] <= res.expected[4]

# %% [markdown]
# ## 6. Brazil band: the expected limit at every generated mass
# The search's own statistics plan (`workflows.stats.plans.peak_scan`, what `b2dark limits` runs) at each
# signal mass: the median expected 90 % CL limit and its +-1 / +-2 sigma spread under background-only
# pseudo-data, on sigma x BF and on the coupling g' (sigma ~ g'^2).

# %%
from processors import registry  # noqa: E402

spec = registry.get("zprime-inv")
plan, model = spec.stats, spec.signals[0]
meta = {s: e["metadata"] for s, e in fileset.items()}
rows = nb.peak_scan_limits(out["hists"][plan.hist], meta, spec, model, masses, sig)
nb.brazil(rows, figdir, plan.xsec_label, LUMI, spec.cl)
nb.brazil(rows, figdir, "$g'$", LUMI, spec.cl, key=next(iter(rows[0].couplings)))
assert len(rows) == len(masses) and all(r.expected[1] <= r.expected[2] <= r.expected[3] for r in rows)

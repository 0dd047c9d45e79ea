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
# # Mono-photon: e+e- -> gamma A', A' -> invisible
#
# One photon and nothing else; the dark photon shows up as a bump in the CMS photon energy
# E*_gamma = (s - M^2)/(2 sqrt s). The notebook runs the search (`b2dark run` / `b2dark limits` from
# Python), shows the E*_gamma spectrum with its backgrounds, the photon (theta, phi) map of the background
# with the ECL-gap structure, the KLM veto efficiency, the MC-equivalent luminosity of each background and
# the expected eps limit vs M_A', at 20 fb^-1 and scaled to 53 fb^-1 (BaBar's dataset) and 365 fb^-1.
#
# Inputs: the run output of `make monophoton` (`data/outputs/monophoton`) if it exists; otherwise (or with
# `B2DARK_NB_SMALL=1`, as in the tests) the small committed input set of the golden test.

# %%
import copy
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from processors import registry
from processors.monophoton.plots import mc_equivalent_lumi
from samples import constants as C
from workflows import cli, outputs
from workflows.stats.plans import peak_scan
from workflows.stats.plans.common import StatsOptions

spec = registry.get("monophoton")
small = os.environ.get("B2DARK_NB_SMALL") == "1"
full = Path("data/outputs/monophoton")
if not small and (full / "limits" / "limits_monophoton.csv").is_file():
    out = full
else:
    out = Path(tempfile.mkdtemp()) / "monophoton"
    golden = Path("tests/searches/monophoton/golden")
    assert cli.main(["run", "monophoton", "--samples", str(golden / "catalog.yaml"), "--output", str(out),
                     "--executor", "iterative", "--no-progress"]) == 0  # fmt: skip
    assert cli.main(["limits", "monophoton", "--input", str(out), "--processes", "1", "--no-progress",
                     "--no-hepdata", "--step", "0"]) == 0  # fmt: skip
run = outputs.load(out)
print(spec.title, "|", run.lumi_fb, "fb^-1 |", out)

# %% [markdown]
# ## Cutflow of the signal selection (one signal mass and the backgrounds)

# %%
for s, cf in sorted(run.cutflows.items()):
    if run.samples[s].get("is_signal") and run.samples[s].get("mass") not in (3.0, 9.0):
        continue
    print(f"{s:16s}", "  ".join(f"{n}={w:.3g}" for n, w in zip(cf["names"], cf["weighted"], strict=True)))

# %% [markdown]
# ## E*_gamma with the backgrounds (stacked) and three signals at eps = 1e-3

# %%
h = run.hists["template"][{"syst": "nominal"}]
bkg = [s for s in h.axes["sample"] if not run.samples[s].get("is_signal") and not run.samples[s].get("is_data")]
sig = sorted((s for s in h.axes["sample"] if run.samples[s].get("is_signal")), key=lambda s: run.samples[s]["mass"])
fig, ax = plt.subplots(figsize=(8, 5))
edges = h.axes["e_cms"].edges[::20]
bottom = np.zeros(len(edges) - 1)
for s in bkg:
    v = np.add.reduceat(h[{"sample": s}].values(), np.arange(0, h.axes["e_cms"].size, 20))
    ax.bar(edges[:-1], v, width=np.diff(edges), bottom=bottom, align="edge", label=s, alpha=0.8)
    bottom += v
for s in sig[:: max(1, len(sig) // 3)][:3]:
    v = np.add.reduceat(h[{"sample": s}].values(), np.arange(0, h.axes["e_cms"].size, 20))
    ax.step(edges[:-1], v, where="post", label=f"A' {run.samples[s]['mass']:g} GeV")
ax.set_yscale("log")
ax.set_xlabel(r"$E^*_\gamma$ [GeV]")
ax.set_ylabel(f"events / 0.1 GeV ({run.lumi_fb:g} fb$^{{-1}}$)")
ax.legend(fontsize=8)

# %% [markdown]
# ## Where the fake single photons sit: the background photon (theta, phi) map before the fiducial cuts
# The bands are the photons whose partner was lost in the ECL gaps (31.4-32.2 and 128.7-130.7 deg): a
# partner in the backward gap puts the seen photon near 30 deg, one in the forward gap near 127 deg.

# %%
m = run.hists["map_theta_phi"][{"sample": bkg}][{"sample": sum}]
fig, ax = plt.subplots(figsize=(8, 4.5))
vals = m.values()
ax.pcolormesh(m.axes[0].edges, m.axes[1].edges, np.where(vals > 0, vals, np.nan).T, norm="log")
ax.set_xlabel(m.axes[0].label)
ax.set_ylabel(m.axes[1].label)
theta_profile = vals.sum(axis=1)
print("theta bins with the most background:", m.axes[0].centers[np.argsort(theta_profile)[-4:]])

# %% [markdown]
# ## KLM veto efficiency (fraction of events kept) vs the photon polar angle

# %%
kv = run.hists["klm_veto_theta"]
fig, ax = plt.subplots(figsize=(7, 4))
for s in [*bkg, *sig[:1]]:
    a = kv[{"sample": s}].values()
    with np.errstate(invalid="ignore", divide="ignore"):
        ax.step(kv.axes["theta"].centers, a[:, 1] / a.sum(axis=1), where="mid", label=s)
ax.set_xlabel(kv.axes["theta"].label)
ax.set_ylabel("kept by the KLM veto")
ax.legend(fontsize=8)

# %% [markdown]
# ## MC statistics: the MC-equivalent luminosity of every background in the selected region

# %%
for s, v in sorted(mc_equivalent_lumi(run).items()):
    print(f"{s:10s} yield {v['yield']:10.4g}  N_eff {v['n_eff']:9.4g}  L_MC {v['lumi_mc_fb']:9.4g} fb^-1")


# %% [markdown]
# ## Expected eps limits: at the run's luminosity, and with the MC scaled to 53 and 365 fb^-1
# The templates are scaled (yields x k). "MC as generated": MC variances x k^2 (the relative MC-statistics
# error stays that of the samples); "MC at the data luminosity": variances x k (as if each MC sample grew
# with the data). The data are blinded: these are expected (Asimov) limits of the declared plan, all its
# systematics included.


# %%
def expected_eps(lumi: float, mc_var_power: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    k = lumi / run.lumi_fb
    scaled = copy.copy(run)
    t = run.hists["template"] * k
    t.view()["variance"] = run.hists["template"].view()["variance"] * k**mc_var_power
    scaled.hists = {**run.hists, "template": t}
    opts = StatsOptions(cl=spec.cl, method="auto", masses=None, processes=1, progress=False, scan_step_sigma=0)
    rows = peak_scan.run(scaled, spec, opts).rows
    return (np.array([r.hypothesis["mass"] for r in rows]),
            np.array([r.couplings["dark_photon"].expected[2] for r in rows]))  # fmt: skip


cases = [(run.lumi_fb, 2.0), (C.BABAR_MONOPHOTON_LUMI_FB, 2.0), (365.0, 2.0), (C.BABAR_MONOPHOTON_LUMI_FB, 1.0),
         (365.0, 1.0)]  # fmt: skip
table = {case: expected_eps(*case) for case in cases}
fig, ax = plt.subplots(figsize=(7, 4.5))
for (lumi, pw), (mm, eps) in table.items():
    what = "MC as generated" if pw == 2.0 else "MC at the data luminosity"
    ax.plot(mm, eps, "o-" if pw == 2.0 else "s--", label=f"b2dark expected, {lumi:g} fb$^{{-1}}$, {what}")
    print(f"{lumi:6g} fb^-1 ({what}):", "  ".join(f"M={a:g}: {b:.2g}" for a, b in zip(mm, eps, strict=True)))
lo, hi = C.BABAR_MONOPHOTON_EPS_RANGE
ax.plot([0.5, 8.0], [lo, hi], "k*", ms=12, label="BaBar 53 fb$^{-1}$ (published range end points)")
ax.set_yscale("log")
ax.set_xlabel(r"$M_{A'}$ [GeV]")
ax.set_ylabel(r"90 % CL upper limit on $\varepsilon$")
ax.legend(fontsize=8)

# %% [markdown]
# ## The figures `b2dark run` and `b2dark limits` made: E*_gamma stack with the data / MC ratio, Brazil bands
# The single-photon background is e+e- -> gamma gamma(gamma) and e e gamma with everything but one photon lost
# (gaps, beam pipe, inefficiency); an invisible A' is a peak at E* = (s - M^2) / 2 sqrt(s). The Brazil band is
# the expected 90 % CL limit per mass with its +-1 / +-2 sigma spread, on sigma x B and on epsilon.

# %%
from workflows import notebook as nb  # noqa: E402

if (out / "plots").is_dir():
    nb.show(sorted((out / "plots").glob("stack_*.png"))[:2])
else:
    nb.stack_with_ratio(run, "var_theta_lab", Path(tempfile.mkdtemp()), spec)
bands = sorted((out / "limits").glob("brazil_*.png"))
nb.show(bands[:2])
assert bands, "b2dark limits wrote no Brazil band"

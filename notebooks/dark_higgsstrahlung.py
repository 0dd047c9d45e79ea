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
# # Dark Higgsstrahlung, interactively
#
# e+e- -> A' h', A' -> mu+ mu-, h' invisible (Belle II, PRL 130, 071804): two muons and missing momentum, a
# peak in the plane (M_mumu, M_recoil) at (M_A', M_h'). The notebook runs the search (`b2dark run`), shows
# the background composition, the plane with signal windows and the helicity figure-of-merit scan, counts in
# the elliptical windows (`b2dark limits`: Bayesian 90 % credibility) and compares with the published limits.
# Executed by `tests/test_notebooks.py`; everything about the search comes from
# `processors/dark_higgsstrahlung/search.py`.
#
# Inputs: `data/samples/catalog.yaml` if it holds the search's samples (`b2dark samples dark-higgsstrahlung`);
# otherwise, or with `B2DARK_NB_SMALL=1`, the small committed golden set (four signal points).

# %%
import json
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from processors import registry
from processors.dark_higgsstrahlung import plots as dh_plots
from processors.dark_higgsstrahlung.fom import scan_of_run
from samples.catalog import load_catalog
from workflows import cli, outputs
from workflows import plots as tools

spec = registry.get("dark-higgsstrahlung")
catalog = Path(os.environ.get("B2DARK_CATALOG", "data/samples/catalog.yaml"))
needed = {*spec.backgrounds, spec.default_data}
if os.environ.get("B2DARK_NB_SMALL") == "1" or not catalog.exists() or not needed <= set(load_catalog(catalog).samples):
    catalog = Path("tests/searches/dark_higgsstrahlung/golden/catalog.yaml")
out = Path(tempfile.mkdtemp()) / "run"
print(spec.title, "|", spec.reference, "| catalog", catalog)

# %% [markdown]
# ## 1. Run the search and look at the backgrounds

# %%
assert cli.main(["run", spec.name, "--samples", str(catalog), "--output", str(out), "--executor", "iterative",
                 "--no-plots", "--no-progress"]) == 0  # fmt: skip
run = outputs.load(out)
final = {s: cf["weighted"][-1] for s, cf in run.cutflows.items()}
bkg = {s: final.get(s, 0.0) for s in spec.backgrounds}
total = sum(bkg.values())
published = spec.extras["published_background_fractions"]
for s, v in bkg.items():
    print(f"{s:12s} {v:10.1f} events  {v / total:6.1%}   (published {published[s]:.0%})")
print("blinded:", run.blinded, "| pseudo-data events selected:", final.get(spec.default_data, 0.0))

# %% [markdown]
# ## 2. The plane, the signal windows, the helicity cut

# %%
(out / "plots").mkdir(exist_ok=True)
figs = dh_plots.make_plots(run, out / "plots", tools)
scan = scan_of_run(run, spec)
print("helicity cut by the FOM scan:", scan["best"], "| declared:", spec.working_point().cos_helicity_max)
for f in figs:
    if f.suffix == ".png":
        plt.figure(figsize=(8, 6))
        plt.imshow(plt.imread(f))
        plt.axis("off")

# %% [markdown]
# ## 3. Counting in the elliptical windows (dense grid between the generated points)

# %%
assert cli.main(["limits", spec.name, "--input", str(out), "--processes", "1", "--no-progress", "--no-hepdata"]) == 0
res = json.loads((out / "limits" / f"limits_{spec.name}.json").read_text())
rows = res["rows"]
gen = [r for r in rows if not r["interpolated"]]
print(f"{len(rows)} windows ({len(gen)} at generated points); efficiency of a window for its own signal: "
      f"{min(r['efficiency'] for r in gen):.3f}-{max(r['efficiency'] for r in gen):.3f}")  # fmt: skip
sel = [r for r in rows if 4.0 <= r["mass"] <= 9.7]
if sel:
    med = np.array([r["expected"][2] for r in sel])
    eps = np.array([r["couplings"]["eps2_alphaD"]["expected"][2] for r in sel])
    print(f"4 < M_A' < 9.7 GeV, expected median: sigma x B {med.min():.2f}-{med.max():.2f} fb (published 1.7-5.0), "
          f"eps^2 alpha_D {eps.min():.2g}-{eps.max():.2g} (published 1.7e-8 - 2e-6)")  # fmt: skip
print("largest local excess:", {k: res["significance"][k] for k in ("z_local", "at", "z_global_neff")})

# %%
maps = sorted((out / "limits").glob("brazil_*_map.png"))
for f in maps:
    plt.figure(figsize=(10, 4))
    plt.imshow(plt.imread(f))
    plt.axis("off")

# %% [markdown]
# ## 4. Interpolation closure at the held-out points
# The ellipse model is refitted without the recipe's three held-out points and compared there with their own
# fitted ellipse (with the small golden set, one of its four points is held out instead).

# %%
from workflows.stats.plans import window_counting as W  # noqa: E402
from workflows.stats.plans.counting_common import split_eventlists  # noqa: E402

ev = split_eventlists(run, spec, (spec.stats.x, spec.stats.y))
win, _ = W.build_windows(run, spec, ev, spec.stats, None)
pts = np.array([[h["mass"], h["mass2"]] for h in win.hyps])
held = [i for i, s in enumerate(win.samples) if s in ("dh_mA4p75_mh1", "dh_mA6p25_mh2p5", "dh_mA7p75_mh1")]
held = held or [int(np.argmin(np.abs(pts - pts.mean(axis=0)).sum(axis=1)))]
if len(pts) - len(held) >= 3:
    keep = [i for i in range(len(pts)) if i not in held]
    model = W.EllipseModel.fit(pts[keep], win.centres[keep], pts[keep], win.covs[keep], win.eff[keep])
    c, cov, eff = model(pts[held], pts[held])
    for k, i in enumerate(held):
        a, b = W.axes_of(win.covs[i]), W.axes_of(cov[k])
        print(f"{win.hyps[i].label}: sigma_major {a['sigma_major']:.4f} -> {b['sigma_major']:.4f}, sigma_minor "
              f"{a['sigma_minor']:.4f} -> {b['sigma_minor']:.4f} GeV, angle {a['angle_deg']:.1f} -> "
              f"{b['angle_deg']:.1f} deg, efficiency {win.eff[i]:.3f} -> {eff[k]:.3f}")  # fmt: skip

# %% [markdown]
# ## 5. Stacks with the data / MC ratio, the cutflow, the Brazil bands along slices of the plane
# The two muons recoil against an invisible h': after the selection the background is mostly e e mu mu with
# both electrons lost down the beam pipe, then tau tau and mu mu(gamma) with a lost photon. The pseudo-data over
# the MC is shown where the data are not blinded (hatched); the Brazil bands are the 90 % credibility limits
# along M_A' at fixed M_h' (and the reverse) with the expected +-1 / +-2 sigma spread.

# %%
from workflows import notebook as nb  # noqa: E402

nb.stack_with_ratio(run, "var_m_mumu", out / "plots", spec)
nb.stack_with_ratio(run, "var_m_recoil", out / "plots", spec)
nb.cutflow(run, out / "plots", spec)
bands = sorted(p for p in (out / "limits").glob("brazil_*.png") if not p.name.endswith("_map.png"))
nb.show(bands[:2])
assert bands, "b2dark limits wrote no Brazil band"

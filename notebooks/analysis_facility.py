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
# # A search on an analysis facility's dask cluster
#
# The notebook an analyst opens in a facility's JupyterHub: connect to the facility's **dask-gateway** (or to
# a dask scheduler that is already running), ask it for workers, run the Z' -> invisible search on them with
# a progress bar, then plot and fit in the notebook. Where it connects:
#
# - `B2DARK_GATEWAY_ADDRESS` set: that gateway; authentication from `B2DARK_GATEWAY_AUTH` (`basic` with the
#   password in `B2DARK_GATEWAY_PASSWORD`, `jupyterhub`, `kerberos`; default: the facility's dask config),
#   cluster options (the worker image, memory, ...) as JSON in `B2DARK_GATEWAY_CLUSTER_OPTIONS`.
#   `workflows/scripts/start_gateway.sh` starts one on this machine (`source DIR/gateway.env`).
# - `DASK_SCHEDULER_ADDRESS` set (`tcp://host:8786`): that scheduler and its workers.
# - neither: a `LocalCluster` of two workers on this machine.
#
# The physics: e+e- -> mu+ mu- Z' with the L_mu - L_tau boson Z' decaying to neutrinos (or dark matter). Only
# the two muons are seen; the Z' mass is the mass recoiling against them, M_recoil^2 = (p_beams - p_mu1 -
# p_mu2)^2, so a signal is a narrow peak in M_recoil^2 over the smooth mu mu(gamma), tau tau and four-lepton
# backgrounds whose extra particles escaped (Belle II, PRL 124, 141801).
#
# Inputs: the catalog in `B2DARK_CATALOG` if set, else the small committed golden sample set of the search
# (1000 events per sample), so the notebook runs anywhere in well under a minute of processing.

# %%
import json
import os
import tempfile
import time
from pathlib import Path

from coffea import processor
from distributed import Client, LocalCluster

from processors import registry
from processors.schema import B2Schema
from workflows import notebook as nb
from workflows.fileset import load_fileset, select_samples
from workflows.gateway import close as close_gateway
from workflows.gateway import connect
from workflows.gateway import shutdown as shutdown_cluster
from workflows.runoptions import GatewayOptions

spec = registry.get("zprime-inv")
LUMI = spec.lumi.fb
catalog_path = Path(os.environ.get("B2DARK_CATALOG", "tests/searches/zprime_inv/golden/catalog.yaml"))
selection = select_samples(spec, load_fileset(catalog_path, LUMI), catalog_path)
fileset = selection.fileset
plots_dir = Path(tempfile.mkdtemp(prefix="b2dark-af-"))
print(f"{spec.title}: {len(fileset)} samples from {catalog_path}, MC at {LUMI} fb^-1")

# %% [markdown]
# ## 1. Connect and get workers
# On a gateway, `new_cluster` starts a scheduler for us and `scale` asks for workers; the facility's
# backend (Kubernetes pods, batch jobs, local processes) starts them from its worker image.

# %%
gateway = cluster = None
if os.environ.get("B2DARK_GATEWAY_ADDRESS"):
    options = GatewayOptions(
        address=os.environ["B2DARK_GATEWAY_ADDRESS"],
        auth=os.environ.get("B2DARK_GATEWAY_AUTH") or ("basic" if os.environ.get("B2DARK_GATEWAY_PASSWORD") else None),
        cluster_options=json.loads(os.environ.get("B2DARK_GATEWAY_CLUSTER_OPTIONS", "{}")),
    )
    gateway = connect(options)  # fails here, naming the address, if it is wrong or refuses the credentials
    print("gateway", gateway.address, "| cluster options offered:", dict(gateway.cluster_options()))
    cluster = gateway.new_cluster(**options.cluster_options)
    cluster.scale(2)
    client = cluster.get_client()
    where = f"dask-gateway cluster {cluster.name}"
elif os.environ.get("DASK_SCHEDULER_ADDRESS"):
    client = Client(os.environ["DASK_SCHEDULER_ADDRESS"], timeout=60)
    where = f"existing scheduler {client.scheduler.address}"
else:
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = Client(cluster)
    where = "LocalCluster"
t0 = time.monotonic()
client.wait_for_workers(1 if cluster is None else 2, timeout=300)  # an existing scheduler: whatever it has
print(f"{where}: workers up after {time.monotonic() - t0:.1f} s; dashboard {client.dashboard_link}")

# %% [markdown]
# ## 2. Run the search on the cluster
# One dask task per chunk of 400 events; `status=True` shows the progress bars (processing, then merging the
# chunk outputs on the workers). The processor is pickled to the workers, so they must import the same
# b2dark: installed in the worker image, or shipped with `client.upload_file` (see the README).

# %%
Processor = registry.import_object(spec.processor)
runner = processor.Runner(
    executor=processor.DaskExecutor(client=client, status=True, retries=2),
    schema=B2Schema,
    chunksize=400,
    metadata_cache={},
)
t0 = time.monotonic()
out = runner(fileset, processor_instance=Processor(lumi_fb=LUMI), treename="events")
workers = client.scheduler_info()["workers"]
print(f"processed {sum(out['nevents'].values())} events on {len(workers)} workers in {time.monotonic() - t0:.1f} s")
run = nb.run_output(out, fileset, spec.name, LUMI)
assert sum(run.nevents.values()) == sum(fileset[s]["metadata"]["n_events"] for s in fileset)

# %% [markdown]
# ## 3. Plots: the cutflow, the recoil mass, the template plane
# The pseudo-data are blinded in the signal region (hatched). The 2D template (M_recoil^2 x cos theta of the
# recoil) is what the fit uses: a Z' peaks in M_recoil^2 and is spread in angle like the muon pair's recoil.

# %%
nb.cutflow_table(run, [*selection.backgrounds, *selection.signals[:1]])
nb.cutflow(run, plots_dir, spec)
nb.stack_with_ratio(run, "m2_recoil", plots_dir, spec)
nb.plane(run, spec.stats.hist, selection.signals[len(selection.signals) // 2], selection.backgrounds, plots_dir)

# %% [markdown]
# ## 4. Fit: expected 90 % CL limits at each generated mass (Brazil band)
# The search's statistics plan: a binned template fit in a window of +-10 signal widths, asymptotic CLs with
# the exact low-count fallback, blinded data replaced by the Asimov background. The coupling g' follows from
# sigma proportional to g'^2.

# %%
plan, model = spec.stats, spec.signals[0]
meta = {s: e["metadata"] for s, e in fileset.items()}
masses = sorted(meta[s]["mass"] for s in selection.signals)
rows = nb.peak_scan_limits(out["hists"][plan.hist], meta, spec, model, masses, selection.signals)
for r in rows:
    e = r.expected
    print(f"M = {r.hypothesis['mass']:4g} GeV: sigma x B < {e[2]:.3g} fb [{e[1]:.3g}, {e[3]:.3g}]")
nb.brazil(rows, plots_dir, plan.xsec_label, LUMI, spec.cl)
nb.brazil(rows, plots_dir, "$g'$", LUMI, spec.cl, key=next(iter(rows[0].couplings)))
assert all(r.expected[0] <= r.expected[2] <= r.expected[4] for r in rows)

# %% [markdown]
# ## 5. Give the workers back
# A gateway cluster keeps its workers (and the facility's quota) until it is shut down or idles out.

# %%
client.close()
if gateway is not None:
    shutdown_cluster(cluster)
    close_gateway(gateway)
elif cluster is not None:
    cluster.close()
print("cluster closed")

"""End to end with the real pieces: `b2dark generate` -> `b2dark run zprime-inv` (real processor) -> outputs.

Small samples; the same run with the iterative executor and with dask@local at another chunk size
gives identical counts and weighted sums equal to 1e-9 relative; outputs reload; plots are made.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from workflows import cli, outputs

pytestmark = pytest.mark.slow

MASSES = (1.0, 6.0)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from samples.cli import main as generate

    d = tmp_path_factory.mktemp("samples")
    for m in MASSES:
        assert generate(
            [
                "--process",
                "zprime_inv",
                "--n",
                "800",
                "--param",
                f"mass={m}",
                "--seed",
                str(int(m * 10)),
                "--out",
                str(d),
                "--jobs",
                "1",
                "--no-progress",
            ]
        ) in (0, None)
    return d / "catalog.yaml"


def _run(catalog: Path, out: Path, *extra: str) -> outputs.RunOutput:
    # signal samples only: a partial run (the catalog lacks the backgrounds and the pseudo-data)
    rc = cli.main(
        ["run", "zprime-inv", "--samples", str(catalog), "--output", str(out), "--no-progress", "--partial", *extra]
    )
    assert rc == 0
    return outputs.load(out)


def test_run_outputs_and_plots(catalog: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = _run(catalog, tmp_path / "out", "--executor", "iterative", "--chunksize", "400")
    text = capsys.readouterr().out
    assert "events: catalog 1600 = processed 1600 + skipped 0" in text
    assert "template" in r.hists and "m2_recoil" in r.hists
    assert set(r.hists["template"].axes["sample"]) == {f"zprime_inv_m{m:g}" for m in MASSES}
    assert r.nevents == {f"zprime_inv_m{m:g}": 800 for m in MASSES}
    assert r.samples["zprime_inv_m1"]["mass"] == 1.0 and r.samples["zprime_inv_m1"]["is_signal"]
    for s, cf in r.cutflows.items():
        assert cf["raw"][0] == 800 and all(a >= b for a, b in zip(cf["raw"], cf["raw"][1:], strict=False)), s
    # Selected signal yield is the cutflow's last row and what the template holds.
    h = r.hists["template"][{"sample": "zprime_inv_m1", "syst": "nominal"}]
    assert np.isclose(h.values(flow=True).sum(), r.cutflows["zprime_inv_m1"]["weighted"][-1], rtol=1e-9)
    prov = json.loads((tmp_path / "out" / "provenance.json").read_text())
    assert prov["accounting"]["total"] == {"catalog": 1600, "processed": 1600, "skipped": 0, "not_requested": 0}
    assert {Path(i["path"]).name for i in prov["inputs"]} == {"zprime_inv_m1.root", "zprime_inv_m6.root"}
    plots = {p.name for p in (tmp_path / "out" / "plots").iterdir()}
    assert {"cutflow.png", "cutflow.pdf", "signal_efficiency.png", "resolution.png"} <= plots


def test_dask_local_matches_iterative(catalog: Path, tmp_path: Path) -> None:
    a = _run(catalog, tmp_path / "it", "--executor", "iterative", "--chunksize", "800", "--no-plots")
    b = _run(
        catalog, tmp_path / "dask", "--executor", "dask@local", "--workers", "1", "--chunksize", "300", "--no-plots"
    )
    assert set(a.hists) == set(b.hists)
    for name, h in a.hists.items():
        g = b.hists[name]
        assert list(g.axes["sample"]) or not list(h.axes["sample"])
        for s in h.axes["sample"]:
            x, y = h[{"sample": s}], g[{"sample": s}]
            np.testing.assert_allclose(y.values(flow=True), x.values(flow=True), rtol=1e-9, atol=0, err_msg=name)
    for s in a.cutflows:
        assert a.cutflows[s]["raw"] == b.cutflows[s]["raw"]
        np.testing.assert_allclose(a.cutflows[s]["weighted"], b.cutflows[s]["weighted"], rtol=1e-9)
    assert b.provenance["executor"]["n_chunks"] > a.provenance["executor"]["n_chunks"]

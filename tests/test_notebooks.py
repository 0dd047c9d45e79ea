"""Execute the analysis notebooks (jupytext percent scripts) end to end, as an analyst would."""

from __future__ import annotations

import os
from pathlib import Path

import jupytext
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request) -> None:

    nb = jupytext.read(path)
    # Small, self-generated samples so the test does not depend on `make samples`.
    monkeypatch.setenv("B2DARK_NB_SMALL", "1")
    # the kernel's inline backend, as in Jupyter: figures become outputs (CI exports MPLBACKEND=Agg)
    monkeypatch.delenv("MPLBACKEND", raising=False)
    if path.stem == "analysis_facility":  # against a real dask-gateway (the one tests/test_gateway.py uses)
        gateway = request.getfixturevalue("local_gateway")
        monkeypatch.setenv("B2DARK_GATEWAY_ADDRESS", gateway["address"])
        monkeypatch.setenv("B2DARK_GATEWAY_PASSWORD", gateway["password"])
        monkeypatch.setenv("B2DARK_GATEWAY_CLUSTER_OPTIONS", '{"worker_memory": 1.0}')
    repo = Path(__file__).resolve().parents[1]
    client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(repo)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    if path.stem == "analysis_facility":
        text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
        assert "dask-gateway cluster" in text and "on 2 workers" in text, text[-2000:]
    # every notebook shows figures (stacks with ratio, planes, Brazil bands), not only numbers
    images = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert len(images) >= 3, f"{path.name}: {len(images)} figures shown"
    assert os.environ.get("B2DARK_NB_SMALL") == "1"

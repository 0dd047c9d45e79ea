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
def test_notebook_executes(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:

    nb = jupytext.read(path)
    # Small, self-generated samples so the test does not depend on `make samples`.
    monkeypatch.setenv("B2DARK_NB_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    repo = Path(__file__).resolve().parents[1]
    client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(repo)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    assert os.environ.get("B2DARK_NB_SMALL") == "1"

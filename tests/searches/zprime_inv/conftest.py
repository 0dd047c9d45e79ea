"""Fixtures of the Z' -> invisible tests: small synthetic files written by tests/synthetic.py (no
dependency on the generator) and the coffea filesets that point at them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from searches.zprime_inv.zp_synthetic import N_BKG, N_INJECTED, N_SIGNAL, SIGNAL_MASS, bkg_events, zp_metadata


@pytest.fixture(scope="session")
def zp_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Synthetic ROOT/Parquet files: signal (M = 3 GeV), background, pseudo-data with an
    injected signal (its first N_INJECTED events are the signal)."""
    from synthetic import columns_from_events, dimuon_recoil_events, write_columns

    d = tmp_path_factory.mktemp("zp_synthetic")
    rng = np.random.default_rng(20260101)
    sig = dimuon_recoil_events(rng, N_SIGNAL, SIGNAL_MASS, mmumu=2.0, recoil_cos_range=(-0.4, 0.4))
    for i, ev in enumerate(sig):
        ev["weight"] = 1.0 + (i % 3) * 0.5  # non-trivial generator weights
    bkg = bkg_events(rng, N_BKG)
    injected = dimuon_recoil_events(rng, N_INJECTED, SIGNAL_MASS, mmumu=2.0, recoil_cos_range=(-0.4, 0.4))
    data = [{k: v for k, v in ev.items() if k != "mc_mass"} for ev in injected + bkg_events(rng, N_BKG)]
    out = {
        "signal": write_columns(d / "signal.root", columns_from_events(sig)),
        "signal_parquet": write_columns(d / "signal.parquet", columns_from_events(sig)),
        "bkg": write_columns(d / "bkg.root", columns_from_events(bkg)),
        "data": write_columns(d / "data.root", columns_from_events(data, mc=False)),
    }
    return out


@pytest.fixture(scope="session")
def zp_fileset(zp_files: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """coffea fileset (Runner layout) over the synthetic files."""
    return {
        "sig_m3": {"files": {str(zp_files["signal"]): "events"}, "metadata": zp_metadata("sig_m3", N_SIGNAL)},
        "bkg_mumu": {"files": {str(zp_files["bkg"]): "events"}, "metadata": zp_metadata("bkg_mumu", N_BKG)},
        "data": {
            "files": {str(zp_files["data"]): "events"},
            "metadata": zp_metadata("data", N_INJECTED + N_BKG, is_data=True, injected_signal="sig_m3"),
        },
    }

"""The toy search of the workflow tests: a declaration only (light imports, as every search.py), run by
the stand-in processor of workflow_helpers.py. conftest.py names this module in B2DARK_SEARCH_MODULES."""

from __future__ import annotations

from processors.spec import DataSample, Luminosity, PeakScan, SearchSpec, SignalModel

TOY = "toy"


def _identity(m: float) -> float:
    return m


SEARCH = SearchSpec(
    name=TOY,
    title="toy search of the workflow tests",
    reference="tests/toy_search.py",
    processor="workflow_helpers:StandInProcessor",
    lumi=Luminosity(79.7, "test"),
    signals=(SignalModel("sig", "zprime_inv", "sig"),),
    backgrounds=("bkg_mumu",),
    data=(DataSample("data"),),
    recipe="zprime_inv",
    stats=PeakScan(hist="template", axis="x", observable=_identity, xsec_label="sigma [fb]"),
)

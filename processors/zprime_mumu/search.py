"""Declaration of the Z' -> mu mu search (e+e- -> mu+ mu- Z', Z' -> mu+ mu-, L_mu - L_tau).

After Belle II, PRD 109, 112015 (2024), arXiv:2403.02841, 178 fb^-1, as presented in seeds 001, 002 and
004: four tracks whose mass is ~ sqrt(s), no extra energy, a narrow M(mu mu) peak over the SM
e+e- -> mu mu mu mu background; a peak scan in the reduced dimuon mass, 90 % CL limits on sigma x B and
on g'. Cut-based: the paper's background-suppression network (the MVA issue) is not applied yet.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from processors.recasts import bf_one, zprime_bf_mumu, zprime_xsec
from processors.spec import (
    DataSample,
    HistoSys,
    Luminosity,
    NormSys,
    PeakScan,
    Published,
    PublishedPoint,
    Recast,
    SearchSpec,
    SignalModel,
    StatError,
    WorkingPoint,
    lumi_normsys,
)
from samples.constants import LUMI_REL_UNCERTAINTY, M_MU


class ZPrimeMuMuWorkingPoint(WorkingPoint):
    """Selection thresholds (PRD 109, 112015 and seed 004 unless noted as an assumption)."""

    trigger: tuple[str, ...] = ("trg_ffo", "trg_cdcklm")  # CDC multi-track or CDC-KLM (seed 004)
    muon_id_min: float = 0.5  # assumption: the loose muonID working point of the Z' -> invisible search
    min_muons: int = 3  # "at least three identified as muons"
    # four-track system vs the collision energy, in the CMS (measured on signal: see the N-1 plots)
    m4_window: tuple[float, float] = (10.0, 11.0)  # [GeV] M(4 tracks); sqrt(s) = 10.58 GeV
    p4_cms_max: float = 0.5  # [GeV] |p*(4 tracks)|
    extra_energy_max: float = 0.5  # [GeV] summed unmatched ECL energy (as Z' -> invisible)
    m4_sideband: tuple[float, float] = (9.0, 10.0)  # [GeV] control region: the four-track mass sideband


def reduced_mass(mass: float) -> float:
    """m_R = sqrt(M^2 - 4 m_mu^2): the scan variable (BaBar's and Belle's; 0 at the dimuon threshold)."""
    return float(np.sqrt(max(mass * mass - 4.0 * M_MU * M_MU, 0.0)))


def _width_half_range(mass: float) -> float:
    return 0.015 + 0.01 * mass


def _scalar_xsec(params: Mapping[str, np.ndarray], g: float) -> np.ndarray:
    from samples.generator import scalar

    return np.asarray(scalar.scalar_xsec_fb(params["mass"], g=g), float)


SEARCH = SearchSpec(
    name="zprime-mumu",
    title="e+e- -> mu mu Z', Z' -> mu mu (L_mu - L_tau)",
    reference="Belle II, PRD 109, 112015 (2024), arXiv:2403.02841",
    processor="processors.zprime_mumu.processor:ZPrimeMuMuProcessor",
    lumi=Luminosity(178.0, "PRD 109, 112015 (2024): 2019-2021 data at the Y(4S)"),
    signals=(
        SignalModel(
            name="zprime",
            process="zprime_mumu",
            label="Z'",
            params=("mass",),
            param_labels={"mass": r"$M_{Z'}$ [GeV]"},
            recasts=(
                Recast(
                    "lmu_ltau",
                    "g'",
                    2.0,
                    0.01,
                    zprime_xsec,
                    zprime_bf_mumu,
                    "L_mu - L_tau Z' -> mu mu, BF from the partial widths (mu mu, tau tau, nu nu)",
                ),
            ),
        ),
        # the muonphilic scalar: its own samples (harder S spectrum than the Z', different efficiency)
        SignalModel(
            name="scalar",
            process="scalar_mumu",
            label="S",
            params=("mass",),
            param_labels={"mass": r"$M_S$ [GeV]"},
            recasts=(
                Recast(
                    "muonphilic_scalar",
                    "g_S",
                    2.0,
                    0.01,
                    _scalar_xsec,
                    bf_one,
                    "muonphilic scalar, L = g_S S mubar mu, BF(S -> mu mu) = 1 (samples/generator/scalar.py)",
                ),
            ),
        ),
    ),
    backgrounds=("mumumumu", "mumutautau", "eemumu_4trk", "tautau_4trk"),
    data=(DataSample("data_zprime_mumu", "background-only pseudo-data at 178 fb^-1, resampled from the MC"),),
    recipe="zprime_mumu",
    stats=PeakScan(
        hist="template",
        axis="m_reduced",
        observable=reduced_mass,
        n_sigma=5.0,
        # the width is fitted within +-(15 MeV + 1 % of M) of the peak: the m_R resolution is 3 MeV at
        # 0.25 GeV and 30 MeV at 9 GeV, and the three other candidates of each event lie outside
        width_half_range=_width_half_range,
        # a hypothesis every 3 signal widths between the generated masses (~330 per model): the paper steps
        # by about one resolution; 3 keeps the scan within the make target's budget, and the +-5 sigma
        # windows overlap, so a signal anywhere lies within 1.5 widths of a hypothesis
        scan_step_sigma=3.0,
        xsec_label=r"$\sigma(e^+e^-\to\mu^+\mu^- Z')\times\mathcal{B}(Z'\to\mu^+\mu^-)$ [fb]",
    ),
    working_point=ZPrimeMuMuWorkingPoint,
    systematics=(
        lumi_normsys(LUMI_REL_UNCERTAINTY),
        NormSys("signal_eff", 1 - 0.05, 1 + 0.05, ("signal",)),
        StatError(prune_below=0.02, include_signal=False),
        HistoSys("muid"),
        HistoSys("pscale"),
    ),
    published=Published(
        reference="Belle II, PRD 109, 112015 (2024), 178 fb^-1 (ranges quoted in the issue)",
        lumi_fb=178.0,
        limits=(
            PublishedPoint(
                {"mass": 0.212},
                8e-4,
                "g' (90% CL, vanilla L_mu - L_tau)",
                "0.0008-0.039 below 6 GeV (range end points; masses approximate)",
                recast="lmu_ltau",
            ),
            PublishedPoint(
                {"mass": 6.0},
                0.039,
                "g' (90% CL, vanilla L_mu - L_tau)",
                "0.0008-0.039 below 6 GeV (range end points; masses approximate)",
                recast="lmu_ltau",
            ),
        ),
        note="sigma x B upper limits 0.046-0.97 fb over 0.212-9 GeV; muonphilic scalar 0.055-1.3 fb, coupling "
        "0.0018-0.040. The paper uses a neural network against mu mu mu mu; b2dark is cut-based so far.",
    ),
    cl=0.90,
)

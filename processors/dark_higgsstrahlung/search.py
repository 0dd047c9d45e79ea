"""Declaration of the dark Higgsstrahlung search (e+e- -> A' h', A' -> mu+ mu-, h' invisible).

After Belle II, PRL 130, 071804 (2023), arXiv:2207.00509, 8.34 fb^-1, as presented in seeds 000-002: two
muons from the IP and nothing else, pT(mu mu) > 0.1 GeV, the recoil in the barrel ECL, no photon near it, a
cut on the dimuon helicity angle; counting in rotated elliptical windows of the (M_mumu, M_recoil) plane,
one per hypothesis (M_A', M_h'), M_h' < M_A' (h' long-lived, invisible); 90 % Bayesian credibility limits
on sigma(e+e- -> A' h') x B(A' -> mu mu) and on eps^2 alpha_D (Batell, Pospelov, Ritz, PRD 79, 115008).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from processors.spec import (
    DataSample,
    Luminosity,
    NormSys,
    Published,
    PublishedPoint,
    Recast,
    SearchSpec,
    SignalModel,
    WindowCounting,
    WorkingPoint,
    lumi_normsys,
)
from samples import constants as C


class DarkHiggsWorkingPoint(WorkingPoint):
    """Selection thresholds (PRL 130, 071804 / seeds 000-002 unless noted as an assumption)."""

    # CDC two-track trigger (seed 001) or the CDC-KLM muon trigger (assumption, as Z' -> mu mu, seed 004): the
    # two-track trigger needs a 90 deg opening angle, which the collinear muons of a light, fast A' never have
    trigger: tuple[str, ...] = ("trg_ffo", "trg_cdcklm")
    muon_id_min: float = 0.5  # assumption: the Z' -> invisible working point (same final state, seed 002)
    pair_pt_cms_min: float = 0.1  # [GeV] "p_T(mu mu) > 0.1 GeV/c" (taken in the CMS)
    recoil_exclude_gap90: bool = True  # as Z' -> invisible: the 90 deg ECL gap cannot veto photons
    photon_veto_cone_deg: float = 15.0  # "no nearby photon": the Z' -> invisible cone (seed 002)
    photon_veto_min_e: float = 0.1  # [GeV]
    extra_energy_max: float = 0.5  # [GeV] "no extra energy" (seed 001), Z' -> invisible's value
    # |cos theta_hel| of the mu- in the dimuon rest frame w.r.t. the dimuon CMS direction: chosen by the
    # figure-of-merit scan of processors/dark_higgsstrahlung/fom.py (mu mu(gamma) peaks at |cos| -> 1)
    cos_helicity_max: float = 0.8
    plane_max: float = 10.6  # [GeV] both plane axes: M_mumu, M_recoil in [0, plane_max)


def _centre(params: Mapping[str, float]) -> tuple[float, float]:
    """Where a hypothesis sits in the plane: (M_mumu, M_recoil) = (M_A', M_h')."""
    return float(params["mass"]), float(params["mass2"])


def _xsec(params: Mapping[str, np.ndarray], c: float) -> np.ndarray:
    """sigma(e+e- -> A' h') [fb] at eps^2 alpha_D = c (only the product is physical)."""
    from samples.generator import xsec

    return np.asarray(xsec.darkhiggs_xsec_fb(params["mass"], params["mass2"], eps=float(np.sqrt(c))), float)


def _bf_mumu(params: Mapping[str, np.ndarray]) -> np.ndarray:
    """B(A' -> mu mu) of a dark photon with SM decays (hadrons through R; samples.generator.xsec)."""
    from samples.generator import xsec

    return np.asarray(xsec.aprime_branching_fractions(params["mass"])["mumu"], float)


BACKGROUNDS = ("dh_mumu", "dh_tautau", "dh_eemumu")

SEARCH = SearchSpec(
    name="dark-higgsstrahlung",
    title="e+e- -> A' h', A' -> mu mu, h' invisible",
    reference="Belle II, PRL 130, 071804 (2023), arXiv:2207.00509",
    processor="processors.dark_higgsstrahlung.processor:DarkHiggsProcessor",
    lumi=Luminosity(C.LUMI_FB["dark-higgsstrahlung"], "PRL 130, 071804 (2023): 2019 data"),
    signals=(
        SignalModel(
            name="darkhiggs",
            process="dark_higgsstrahlung",
            label="A'h'",
            params=("mass", "mass2"),
            param_labels={"mass": r"$M_{A'}$ [GeV]", "mass2": r"$M_{h'}$ [GeV]"},
            recasts=(
                Recast(
                    "eps2_alphaD",
                    r"$\epsilon^2\alpha_D$",
                    1.0,
                    1.0,
                    _xsec,
                    _bf_mumu,
                    "dark photon + dark Higgs (BPR 2009), B(A' -> mu mu) from the SM-like dark-photon widths with R",
                ),
            ),
        ),
    ),
    backgrounds=BACKGROUNDS,
    data=(
        DataSample("data_dark_higgsstrahlung", "background-only pseudo-data at 8.34 fb^-1, resampled"),
        DataSample(
            "data_dark_higgsstrahlung_injected",
            "the same + 4 fb of A'h' at (7.75, 2.25) GeV, between the "
            "generated points: the injected-signal check (`b2dark run --data ... --unblind`)",
        ),
    ),
    recipe="dark_higgsstrahlung",
    stats=WindowCounting(
        x="m_mumu",
        y="m_recoil",
        observable=_centre,
        xsec_label=r"$\sigma(e^+e^-\to A'h')\times\mathcal{B}(A'\to\mu^+\mu^-)$ [fb]",
        window_n_sigma=2.0,
        method="bayesian",
        scan_step_sigma=2.0,
    ),
    working_point=DarkHiggsWorkingPoint,
    systematics=(
        lumi_normsys(C.LUMI_REL_UNCERTAINTY),
        NormSys("bkg_shape", 1 - C.DARKHIGGS_BKG_SHAPE_UNC, 1 + C.DARKHIGGS_BKG_SHAPE_UNC, BACKGROUNDS),
        NormSys("helicity", 1 - C.DARKHIGGS_HELICITY_UNC, 1 + C.DARKHIGGS_HELICITY_UNC, ("signal",)),
        NormSys("resolution", 1 - C.DARKHIGGS_RESOLUTION_UNC, 1 + C.DARKHIGGS_RESOLUTION_UNC, ("signal",)),
        NormSys("window_eff", 1 - C.DARKHIGGS_WINDOW_EFF_UNC, 1 + C.DARKHIGGS_WINDOW_EFF_UNC, ("signal",)),
        NormSys("selection", 1 - C.DARKHIGGS_SELECTION_UNC, 1 + C.DARKHIGGS_SELECTION_UNC, ("signal",)),
    ),
    published=Published(
        reference="Belle II, PRL 130, 071804 (2023), 8.34 fb^-1 (ranges quoted in seed 000 and issue 12)",
        lumi_fb=8.34,
        limits=(
            PublishedPoint({"mass": 4.0}, 1.7, "sigma x B [fb] (90% Bayesian)", "1.7-5.0 fb for 4 < M_A' < 9.7 GeV"),
            PublishedPoint({"mass": 9.7}, 5.0, "sigma x B [fb] (90% Bayesian)", "1.7-5.0 fb for 4 < M_A' < 9.7 GeV"),
            PublishedPoint(
                {"mass": 4.0}, 1.7e-8, "eps^2 alpha_D (90% Bayesian)", "1.7e-8 - 2e-6", recast="eps2_alphaD"
            ),
            PublishedPoint({"mass": 9.7}, 2e-6, "eps^2 alpha_D (90% Bayesian)", "1.7e-8 - 2e-6", recast="eps2_alphaD"),
        ),
        note="background composition mu mu(gamma) 79 %, tau tau(gamma) 18 %, e e mu mu 3 %; ~9000 windows",
    ),
    cl=0.90,
    plots="processors.dark_higgsstrahlung.plots:make_plots",
    extras={"published_background_fractions": {"dh_mumu": 0.79, "dh_tautau": 0.18, "dh_eemumu": 0.03}},
)

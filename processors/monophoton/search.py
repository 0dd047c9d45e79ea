"""Declaration of the mono-photon search (e+e- -> gamma A', A' -> invisible; dark photon, kinetic mixing eps).

After the Belle II single-photon projections in seeds 001/002 (20 fb^-1, "Belle II physics reach") and
BaBar, PRL 119, 131804 (2017): exactly one photon and nothing else, a bump in the CMS photon energy
E*_gamma = (s - M^2)/(2 sqrt s); single-photon trigger lines per ECL region; KLM veto behind the ECL gaps;
90 % CL limits on sigma(e+e- -> gamma A') and on eps.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from pydantic import BaseModel, ConfigDict

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
from samples import constants as C

SQRT_S = C.SQRT_S_NOMINAL


class TriggerLine(BaseModel):
    """One L1 single-photon line: a cluster with E* > ``e_cms_min`` in ``theta_deg`` (lab); ``isolated``:
    and no other cluster with E* > the working point's ``trigger_other_e_cms``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    e_cms_min: float
    theta_deg: tuple[float, float]
    isolated: bool


class MonophotonWorkingPoint(WorkingPoint):
    """Selection thresholds (seeds 001/002 for the trigger lines; the rest assumptions, said so)."""

    # Seed 001, "Invisible dark photon: single photon trigger": E_CM > 2 GeV; > 1 GeV in the barrel + no
    # other clusters; > 0.5 GeV in the central barrel + no other clusters. Region bounds: the ECL
    # acceptance, the barrel (constants), and 44-98 deg for the "central barrel" (assumption).
    trigger_lines: tuple[TriggerLine, ...] = (
        TriggerLine(name="e2", e_cms_min=2.0, theta_deg=(C.ECL_FWD_MIN_DEG, C.ECL_BWD_MAX_DEG), isolated=False),
        TriggerLine(
            name="e1_barrel", e_cms_min=1.0, theta_deg=(C.ECL_BARREL_MIN_DEG, C.ECL_BARREL_MAX_DEG), isolated=True
        ),
        TriggerLine(name="e05_central", e_cms_min=0.5, theta_deg=(44.0, 98.0), isolated=True),
    )
    trigger_other_e_cms: float = 0.3  # [GeV] "no other cluster" (as the simulated trg_lml bit)
    # fiducial photon polar angle (lab): 5 deg inside the CDC (17-150 deg), so that a lepton there leaves
    # a track, and the partner of a back-to-back gamma gamma pair lands where the ECL or KLM sees it
    theta_fiducial_deg: tuple[float, float] = (22.0, 145.0)
    # the back-to-back partner (CMS) of the photon, boosted to the lab, must not point into an ECL gap +- this
    # margin: there a lost gamma gamma partner is seen only by the KLM (50 % in the simulation)
    partner_gap_margin_deg: float = 2.0
    other_cluster_e_max: float = 0.2  # [GeV] no other ECL cluster above this (lab); beam background below
    extra_energy_max: float = 0.4  # [GeV] summed energy of all other clusters (lab)
    photon_time_max_ns: float = 5.0  # |cluster time|: against cosmics / out-of-time beam background
    # KLM veto: no KLM cluster behind an ECL gap (lab polar angle within the gaps +- margin) back to back
    # with the photon in the CMS azimuth within the tolerance
    klm_gap_margin_deg: float = 3.0
    klm_dphi_tol_deg: float = 15.0
    e_cms_range: tuple[float, float] = (0.4, 5.6)  # [GeV] template range


def photon_energy(mass: float) -> float:
    """E*_gamma = (s - M^2) / (2 sqrt s): where a signal of mass M peaks on the E*_gamma axis."""
    return float((SQRT_S * SQRT_S - mass * mass) / (2.0 * SQRT_S))


def _width_half_range(mass: float) -> float:
    # the E* resolution is 1.7-2.5 % (0.013 GeV at 0.56 GeV, 0.09 GeV at 5.3 GeV): fit within ~5 sigma
    return 0.03 + 0.08 * photon_energy(mass)


def _xsec(params: Mapping[str, np.ndarray], eps: float) -> np.ndarray:
    from samples.generator import xsec

    return np.asarray(xsec.monophoton_xsec_fb(np.asarray(params["mass"], float), eps), float)


def _bf_one(params: Mapping[str, np.ndarray]) -> np.ndarray:
    return np.ones_like(np.asarray(params["mass"], float))


GG = ("gg_lost", "gg_ineff")
EE = ("ee_lost",)

SEARCH = SearchSpec(
    name="monophoton",
    title="e+e- -> gamma A', A' -> invisible (dark photon)",
    reference="Belle II single-photon projection (seeds 001/002, 20 fb^-1); BaBar, PRL 119, 131804 (2017)",
    processor="processors.monophoton.processor:MonophotonProcessor",
    lumi=Luminosity(C.LUMI_FB["monophoton"], "Belle II 2020 single-photon projection dataset (seed 002)"),
    signals=(
        SignalModel(
            name="aprime",
            process="monophoton",
            label="A'",
            params=("mass",),
            param_labels={"mass": r"$M_{A'}$ [GeV]"},
            recasts=(
                Recast(
                    "dark_photon",
                    "eps",
                    2.0,
                    1.0e-3,
                    _xsec,
                    _bf_one,
                    "kinetically mixed dark photon, BF(A' -> invisible) = 1; sigma(e+e- -> gamma A') for "
                    "20 < theta*_gamma < 160 deg (samples.generator.xsec.monophoton_xsec_fb)",
                ),
            ),
        ),
    ),
    backgrounds=(*GG, *EE, "gnunu"),
    data=(DataSample("data_monophoton", "background-only pseudo-data at 20 fb^-1, resampled + single-photon skim"),),
    recipe="monophoton",
    stats=PeakScan(
        hist="template",
        axis="e_cms",
        observable=photon_energy,
        n_sigma=5.0,
        width_half_range=_width_half_range,
        # a hypothesis per generated mass: the generic scan (peak_scan.scan_masses) steps from the lowest
        # mass, where the E* width is ~9 GeV in M, and would stop after one step
        scan_step_sigma=None,
        xsec_label=r"$\sigma(e^+e^-\to\gamma A')$, $20^\circ<\theta^*_\gamma<160^\circ$ [fb]",
    ),
    working_point=MonophotonWorkingPoint,
    systematics=(
        lumi_normsys(C.LUMI_REL_UNCERTAINTY),
        NormSys("signal_eff", 1 - 0.05, 1 + 0.05, ("signal",)),
        NormSys("veto_ineff_gg", 1 - C.MONOPHOTON_VETO_INEFF_UNC_GG, 1 + C.MONOPHOTON_VETO_INEFF_UNC_GG, GG),
        NormSys("veto_ineff_ee", 1 - C.MONOPHOTON_VETO_INEFF_UNC_EE, 1 + C.MONOPHOTON_VETO_INEFF_UNC_EE, EE),
        StatError(prune_below=0.02, include_signal=False),
        HistoSys("escale"),
        HistoSys("eres"),
    ),
    published=Published(
        reference="BaBar, PRL 119, 131804 (2017), 53 fb^-1 (abstract's range end points; masses approximate)",
        lumi_fb=C.BABAR_MONOPHOTON_LUMI_FB,
        limits=(
            PublishedPoint(
                {"mass": 0.5},
                C.BABAR_MONOPHOTON_EPS_RANGE[0],
                "eps (90% CL)",
                "~4e-4 at low mass",
                recast="dark_photon",
            ),
            PublishedPoint(
                {"mass": 8.0}, C.BABAR_MONOPHOTON_EPS_RANGE[1], "eps (90% CL)", "~1.6e-3 at 8 GeV", recast="dark_photon"
            ),
        ),
        note="BaBar's limits are observed at 53 fb^-1, ours expected at the run's luminosity (20 fb^-1); "
        "notebooks/monophoton.py scales the templates to 53 and 365 fb^-1.",
    ),
    cl=0.90,
    plots="processors.monophoton.plots:plots",
)

"""Declaration of the Z' -> invisible search (e+e- -> mu+ mu- Z', Z' -> invisible, L_mu - L_tau).

After Belle II, PRL 130, 231801 (2023), 79.7 fb^-1, as presented in seed 002: two muons from the IP
and nothing else, the recoil in the barrel ECL, a photon veto; a 2D template fit in M^2_recoil x
theta*_recoil per mass, window +-10 sigma; 90 % CL CLs limits on sigma x B and on g'.
"""

from __future__ import annotations

from processors.recasts import bf_one, zprime_bf_invisible, zprime_xsec
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
from samples.constants import LUMI_REL_UNCERTAINTY


class ZPrimeInvWorkingPoint(WorkingPoint):
    """Selection thresholds (seed 002 / PRL 130, 231801 unless noted)."""

    trigger: tuple[str, ...] = ("trg_ffo",)  # CDC two-track trigger
    muon_id_min: float = 0.5
    electron_id_min: float = 0.5  # control samples: "muID > 0.5 and eID > 0.5"
    photon_veto_cone_deg: float = 15.0
    photon_veto_min_e: float = 0.1  # [GeV] photons counted in the cone (assumption: above beam background)
    extra_energy_max: float = 0.5  # [GeV]
    opening_angle_max_deg: float = 179.5  # "not back to back" (CMS)
    mumugamma_photon_e_min: float = 1.0  # [GeV] mu mu gamma control sample
    mumugamma_ecms_range: tuple[float, float] = (10.18, 10.98)  # [GeV] E*(mu mu gamma) window
    ee_m2_max: float = 1.0  # [GeV^2] e e control sample (photon-veto inefficiency)
    # background-suppression network (issue 15): an artefact of `b2dark train zprime-inv` (features
    # processors.dilepton.PAIR_FEATURES); None = the cut-based selection
    network: str | None = None


def _m2(mass: float) -> float:
    return mass * mass


SEARCH = SearchSpec(
    name="zprime-inv",
    title="e+e- -> mu mu Z', Z' -> invisible (L_mu - L_tau)",
    reference="Belle II, PRL 130, 231801 (2023)",
    processor="processors.zprime_inv.processor:ZPrimeInvisibleProcessor",
    lumi=Luminosity(79.7, "PRL 130, 231801 (2023): 2019-2020 data"),
    signals=(
        SignalModel(
            name="zprime",
            process="zprime_inv",
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
                    zprime_bf_invisible,
                    "L_mu - L_tau Z' -> invisible, BF(Z' -> nu nu) from the partial widths",
                ),
                Recast(
                    "lmu_ltau_fully_invisible",
                    "g'",
                    2.0,
                    0.01,
                    zprime_xsec,
                    bf_one,
                    "L_mu - L_tau Z' with BF(Z' -> invisible) = 1 (dark-matter decays)",
                ),
            ),
        ),
    ),
    backgrounds=("mumu", "tautau", "eemumu", "ee", "eetautau"),
    data=(DataSample("data_zprime_inv", "background-only pseudo-data at 79.7 fb^-1, resampled + two-lepton skim"),),
    recipe="zprime_inv",
    stats=PeakScan(
        hist="template",
        axis="m2_recoil",
        observable=_m2,
        n_sigma=10.0,
        summary_hist="m2_recoil",
        xsec_label=r"$\sigma(e^+e^-\to\mu^+\mu^- Z')\times\mathcal{B}(Z'\to\mathrm{inv.})$ [fb]",
    ),
    working_point=ZPrimeInvWorkingPoint,
    systematics=(
        lumi_normsys(LUMI_REL_UNCERTAINTY),
        NormSys("signal_eff", 1 - 0.05, 1 + 0.05, ("signal",)),
        # background MC only: a gamma shared with the signal would scale with the arbitrary signal
        # normalisation (1 fb) and break the linearity of the limit in sigma; the signal's MC
        # statistics (thousands of events per mass) sit well inside signal_eff
        StatError(prune_below=0.02, include_signal=False),
        HistoSys("muid"),
        HistoSys("pscale"),
    ),
    published=Published(
        reference="Belle II, PRL 130, 231801 (2023), 79.7 fb^-1 (figures read off the paper and seed 002)",
        lumi_fb=79.7,
        limits=(
            PublishedPoint(
                {"mass": 0.5}, 3e-3, "g' (90% CL, vanilla L_mu - L_tau)", "~3e-3 below 1 GeV", recast="lmu_ltau"
            ),
            PublishedPoint({"mass": 8.0}, 1.0, "g' (90% CL, vanilla L_mu - L_tau)", "~1 at 8 GeV", recast="lmu_ltau"),
        ),
        resolution=(  # sigma_W(M^2_recoil) [GeV^2] of Belle II's full simulation (issue 16's reading)
            PublishedPoint({"mass": 0.1}, 0.23, "sigma_W(M2) [GeV2]"),
            PublishedPoint({"mass": 1.0}, 0.29, "sigma_W(M2) [GeV2]"),
            PublishedPoint({"mass": 2.5}, 0.31, "sigma_W(M2) [GeV2]"),
            PublishedPoint({"mass": 5.0}, 0.24, "sigma_W(M2) [GeV2]"),
            PublishedPoint({"mass": 8.0}, 0.10, "sigma_W(M2) [GeV2]"),
            PublishedPoint({"mass": 9.0}, 0.05, "sigma_W(M2) [GeV2]"),
        ),
        note="Belle II trains a Punzi-optimised network (5-7 % efficiency); b2dark is cut-based.",
    ),
    cl=0.90,
)

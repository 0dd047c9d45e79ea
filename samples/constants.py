"""Belle II constants used by the fast simulation *and* the processors.

This is the one place where a number about the machine, the detector or a
standard-model cross section is written down. Every value carries its source.
Processors import from here (data flows samples -> processors); nothing here
imports processors or workflows.

Units: GeV, cm, ns, rad (angles given in degrees in the sources are converted
once, below, and kept in degrees too for readability in selections).
"""

from __future__ import annotations

import math

from particle import Particle

# --------------------------------------------------------------------------
# Particle masses [GeV] -- from the PDG tables shipped with `particle`
# (scikit-hep/particle, PDG 2024 edition), never typed by hand.
# --------------------------------------------------------------------------
M_E: float = Particle.from_pdgid(11).mass / 1000.0
M_MU: float = Particle.from_pdgid(13).mass / 1000.0
M_TAU: float = Particle.from_pdgid(15).mass / 1000.0
M_PI: float = Particle.from_pdgid(211).mass / 1000.0
M_PI0: float = Particle.from_pdgid(111).mass / 1000.0
M_K: float = Particle.from_pdgid(321).mass / 1000.0
M_KS: float = Particle.from_pdgid(310).mass / 1000.0
M_RHO: float = Particle.from_pdgid(113).mass / 1000.0
GAMMA_RHO: float = Particle.from_pdgid(113).width / 1000.0
TAU_LIFETIME_NS: float = Particle.from_pdgid(15).lifetime  # [ns]

# Fine-structure constant at q^2 = 0 (PDG 2024, "Physical constants").
ALPHA_EM: float = 1.0 / 137.035999084
# hbar*c [GeV cm] (PDG 2024) -- converts widths to proper decay lengths.
HBARC_GEV_CM: float = 1.973269804e-14
# Conversion 1 GeV^-2 = 0.3893793721 mb (PDG 2024); in fb:
GEV2_TO_FB: float = 0.3893793721e12
SPEED_OF_LIGHT_CM_PER_NS: float = 29.9792458

# --------------------------------------------------------------------------
# SuperKEKB beams at the Y(4S) -- basf2 generators/scripts/beamparameters.py,
# preset "Y4S": HER (e-) 7.004 GeV at +41.5 mrad to the solenoid (z) axis,
# LER (e+) 4.002 GeV at pi - 41.5 mrad; full crossing angle 83 mrad.
# --------------------------------------------------------------------------
HER_ENERGY: float = 7.004  # e- [GeV]
LER_ENERGY: float = 4.002  # e+ [GeV]
HER_ANGLE: float = 0.0415  # [rad] angle of the e- beam to +z, in the x-z plane
LER_ANGLE: float = math.pi - 0.0415  # [rad] angle of the e+ beam to +z
HER_ENERGY_SPREAD: float = 5.13e-3  # [GeV] (beamparameters.py, Y4S)
LER_ENERGY_SPREAD: float = 2.375e-3  # [GeV]
SQRT_S_NOMINAL: float = 10.5796  # [GeV] (Y(4S) preset, DESIGN.md)
BOOST_BETAGAMMA_NOMINAL: float = 0.287  # |p|/sqrt(s) of the e+e- system

# Luminous region (SuperKEKB nano-beam TDR, arXiv:1011.0352 ch. 3): sigma_x ~
# 10 um, sigma_y ~ 0.2 um, sigma_z ~ 0.35 mm. Used to smear the primary vertex.
IP_SIGMA_X: float = 10e-4  # [cm]
IP_SIGMA_Y: float = 0.2e-4  # [cm]
IP_SIGMA_Z: float = 0.035  # [cm]

# --------------------------------------------------------------------------
# Acceptance -- basf2 analysis/variables/src/AcceptanceVariables.cc
# (polar angles in the lab frame, degrees).
# --------------------------------------------------------------------------
CDC_THETA_MIN_DEG: float = 17.0
CDC_THETA_MAX_DEG: float = 150.0
ECL_FWD_MIN_DEG: float = 12.4
ECL_FWD_MAX_DEG: float = 31.4
ECL_FWD_GAP_MAX_DEG: float = 32.2  # gap 31.4 - 32.2
ECL_BARREL_MIN_DEG: float = 32.2
ECL_BARREL_MAX_DEG: float = 128.7
ECL_BWD_GAP_MAX_DEG: float = 130.7  # gap 128.7 - 130.7
ECL_BWD_MIN_DEG: float = 130.7
ECL_BWD_MAX_DEG: float = 155.1
KLM_THETA_MIN_DEG: float = 18.0
KLM_THETA_MAX_DEG: float = 155.0
KLM_BARREL_MIN_DEG: float = 47.0
KLM_BARREL_MAX_DEG: float = 122.0
# Transverse momentum needed to reach the barrel ECL / barrel KLM
# (AcceptanceVariables.cc: inECLBarrel / inKLMBarrel p_T requirements).
PT_MIN_ECL_BARREL: float = 0.28  # [GeV]
PT_MIN_KLM_BARREL: float = 0.6  # [GeV]

# ECL region codes, basf2 ECLCluster "clusterReg": 1 forward, 2 barrel,
# 3 backward, 11 gap forward/barrel, 13 gap barrel/backward, 0 outside.
ECL_REGION_OUTSIDE = 0
ECL_REGION_FWD = 1
ECL_REGION_BARREL = 2
ECL_REGION_BWD = 3
ECL_REGION_FWD_GAP = 11
ECL_REGION_BWD_GAP = 13

# --------------------------------------------------------------------------
# Resolutions
# --------------------------------------------------------------------------
# Tracking: sigma(pT)/pT = 0.0011 pT (+) 0.0025/beta (Belle II TDR,
# arXiv:1011.0352, ch. 1 "CDC" performance).
TRACK_PT_RES_A: float = 0.0011  # [1/GeV] coefficient of pT
TRACK_PT_RES_B: float = 0.0025  # multiple scattering term / beta
TRACK_ANGLE_RES: float = 1.0e-3  # [rad] polar/azimuth resolution (TDR, high p)
TRACK_D0_RES: float = 15e-4  # [cm] impact parameter resolution (TDR, ~15 um)
TRACK_Z0_RES: float = 20e-4  # [cm]
TRACK_PT_MIN: float = 0.05  # [GeV] CDC reconstruction threshold (TDR)
TRACK_EFFICIENCY: float = 0.98  # per track in CDC acceptance (TDR, prompt)
# Displaced tracks: efficiency falls with the production radius; linear
# fall-off to zero at the CDC outer radius (Belle II long-lived searches,
# e.g. PRD 108 L111104: efficiency ~ halves at ~ 40 cm).
CDC_OUTER_RADIUS: float = 113.0  # [cm]
VERTEX_RES_TRANSVERSE: float = 0.05  # [cm] two-track vertex at ~ 10 cm radius
VERTEX_RES_LONGITUDINAL: float = 0.1  # [cm]

# ECL energy resolution (TDR, barrel): 3.3 % at 0.1 GeV, 2.0 % at 1 GeV,
# 1.75 % at 5 GeV. Parametrised as a/E (+) b/E^(1/4) (+) c (Belle II ECL
# parametrisation), coefficients fitted once to the three points above.
ECL_RES_POINTS_E = (0.1, 1.0, 5.0)
ECL_RES_POINTS_SIGMA_OVER_E = (0.033, 0.020, 0.0175)
ECL_THETA_RES_POINTS_MRAD = (7.8, 3.9, 2.3)  # at 0.1 / 1 / 5 GeV (TDR)
ECL_CLUSTER_THRESHOLD: float = 0.02  # [GeV] cluster reconstruction threshold
ECL_TIME_RES_NS: float = 1.0  # [ns] at ~ 100 MeV (TDR)
# Photon reconstruction inefficiency in the ECL acceptance (lost photons that
# fake missing energy); Z'->invisible photon-veto study (seed 002, PRL 130
# 231801): inefficiency of order 1e-3 in the barrel, larger at the edges.
ECL_PHOTON_INEFFICIENCY_BARREL: float = 1.0e-3
ECL_PHOTON_INEFFICIENCY_ENDCAP: float = 3.0e-3
# KLM sees photons that escape through the ECL gaps with this probability
# (showers start in the gap material; seed 002 "KLM used where ECL has gaps").
KLM_PHOTON_IN_GAP_EFFICIENCY: float = 0.5

# Random beam-background ECL clusters (mostly < 0.1 GeV, exponential); the
# mean multiplicity and slope set the extra-energy distribution.
BEAM_BKG_CLUSTERS_MEAN: float = 1.5
BEAM_BKG_CLUSTER_E_SLOPE: float = 0.04  # [GeV] exponential slope

# --------------------------------------------------------------------------
# Particle identification (Belle II muon/lepton ID performance, e.g.
# arXiv:2008.04665 and the seeds): muon ID ~ 90 % above 0.7 GeV, pion fake
# rate a few percent; electron ID ~ 95 % above 0.5 GeV, fake rate < 1 %.
# --------------------------------------------------------------------------
MUID_EFF_PLATEAU: float = 0.90
MUID_P_THRESHOLD: float = 0.7  # [GeV] KLM reach
MUID_PION_FAKE: float = 0.03
EID_EFF_PLATEAU: float = 0.95
EID_PION_FAKE: float = 0.005
KID_EFF_PLATEAU: float = 0.85
KID_PION_FAKE: float = 0.05

# --------------------------------------------------------------------------
# Standard-model cross sections at the Y(4S) [nb] -- Belle II Physics Book
# (arXiv:1808.10567, Table 3) and seed 002's table. Generator-level
# conditions in the keys' comments.
# --------------------------------------------------------------------------
XSEC_NB: dict[str, float] = {
    "mumu": 1.148,  # e+e- -> mu+mu-(gamma)
    "tautau": 0.919,  # e+e- -> tau+tau-(gamma)
    "ee": 300.0,  # e+e- -> e+e-(gamma), 10 < theta* < 170 deg
    "gg": 4.99,  # e+e- -> gamma gamma(gamma)
    "eemumu": 18.9,  # e+e- -> e+e-mu+mu-, W > 0.5 GeV
    "eeee": 39.7,  # e+e- -> e+e-e+e-, W > 0.5 GeV
    # e+e- -> e+e-tau+tau-: seed 002's MC-production table (0.037e9 events for 2.0 ab^-1 =
    # 0.0185 nb) and its own EPA model (0.019 nb) agree; the 0.182 nb in seed 002's cross-section
    # table (and DESIGN.md) is a factor 10 off both and is taken as a typo.
    "eetautau": 0.0185,
    "mumutautau": 0.143e-3,  # e+e- -> mu+mu-tau+tau-
    "mumumumu": 0.342e-3,  # e+e- -> mu+mu-mu+mu-
    "uu": 1.61,
    "dd": 0.40,
    "ss": 0.38,
    "cc": 1.30,
}
XSEC_SOURCE = "Belle II Physics Book, arXiv:1808.10567, Table 3 (and seed 002)"

# --------------------------------------------------------------------------
# Published datasets [fb^-1] (seed talks).
# --------------------------------------------------------------------------
LUMI_FB: dict[str, float] = {
    "zprime-inv": 79.7,  # PRL 130, 231801 (2023)
    "zprime-mumu": 178.0,  # PRD 109, 112015 (2024)
    "zprime-tautau": 62.8,  # PRL 131, 121802 (2023)
    "dark-higgsstrahlung": 8.34,  # PRL 130, 071804 (2023)
    "idm": 365.0,  # iDM + dark Higgs, preliminary (seed 002)
    "monophoton": 20.0,  # Belle II 2020 projection dataset
}
LUMI_REL_UNCERTAINTY: float = 0.01  # Chin. Phys. C 44, 021001 (2020)

DEG = math.pi / 180.0

# --------------------------------------------------------------------------
# Fast-simulation response details (samples/generator/detector.py). Values are
# round numbers read off the cited performance papers; they shape the
# simulation, they are not calibrations.
# --------------------------------------------------------------------------
# Angular resolution of tracks: TRACK_ANGLE_RES (+) this / (p beta) [rad GeV]
# (multiple scattering, Belle II TDR arXiv:1011.0352 fig. 10.x, ~ 2 mrad at 1 GeV).
TRACK_ANGLE_RES_MS: float = 2.0e-3
# d0/z0 multiple-scattering terms [cm GeV] (TDR: ~ 20 um at 1 GeV/c p beta sin^1.5).
TRACK_IP_RES_MS: float = 20e-4
# Muon range: muons reach the KLM above ~ 0.6 GeV and cross all 14 endcap /
# 15 barrel layers above ~ 1.5 GeV (Belle II KLM, NIM A 1056 (2023) 168596).
KLM_N_LAYERS: int = 14
KLM_MUON_P_MIN: float = 0.6  # [GeV]
KLM_MUON_P_FULL: float = 1.5  # [GeV]
# Probability that a pion/kaon shower punches into the KLM (few layers).
KLM_HADRON_PUNCH_THROUGH: float = 0.1
KLM_KL_EFFICIENCY: float = 0.8  # K_L -> KLM cluster (Belle II KLM K_L study, ~ 80 % plateau)
# Minimum-ionising energy deposit of muons in the ECL (~ 0.19 GeV for 30 cm CsI)
ECL_MIP_ENERGY: float = 0.19  # [GeV]
HADRON_MIP_FRACTION: float = 0.5  # hadrons that do not shower in the ECL
# PID turn-on momenta and widths (muon: KLM reach; electron: ECL E/p becomes clean).
MUID_P_WIDTH: float = 0.05  # [GeV]
EID_P_THRESHOLD: float = 0.4  # [GeV]
EID_EFF_LOW_P: float = 0.6  # electron ID efficiency below the threshold (dE/dx + E/p)
PIONID_EFF: float = 0.90
PIONID_FAKE: float = 0.05
MUID_ENDCAP_FACTOR: float = 0.95  # relative muon ID efficiency outside the KLM barrel
# Displaced two-track vertices are formed above this true transverse radius
# (Belle II displaced-vertex searches start at ~ 0.2 cm; PRD 108 L111104).
VERTEX_MIN_RADIUS: float = 0.2  # [cm]
VERTEX_EFFICIENCY: float = 0.9

# --------------------------------------------------------------------------
# Analysis-level definitions shared by the processors (helper C).
# --------------------------------------------------------------------------
# Tracks "from the IP": the Belle II standard prompt-track requirement
# |dr| < 0.5 cm, |dz| < 2 cm (used by the Z'->invisible and dark-Higgsstrahlung
# analyses, PRL 130 231801 and PRL 130 071804).
TRACK_IP_D0_MAX: float = 0.5  # [cm]
TRACK_IP_Z0_MAX: float = 2.0  # [cm]
# The barrel ECL has a small mechanical gap between its forward and backward
# halves at theta ~ 90 deg (seed 002: "recoil momentum within the ECL barrel
# excluding gap at 90 deg"). Its width here is an assumption (+-1 deg).
ECL_BARREL_GAP90_HALF_WIDTH_DEG: float = 1.0

# --------------------------------------------------------------------------
# tau lepton decays (helper A2, samples/generator/tau.py). Branching fractions
# PDG 2024 (R.L. Workman et al., Review of Particle Physics, tau- listings);
# `particle` carries masses/widths but no branching fractions.
# --------------------------------------------------------------------------
TAU_CTAU_CM: float = TAU_LIFETIME_NS * SPEED_OF_LIGHT_CM_PER_NS  # ~ 87 um
TAU_BR_PDG: dict[str, float] = {
    "e": 0.1782,  # tau- -> e- nubar_e nu_tau
    "mu": 0.1739,  # tau- -> mu- nubar_mu nu_tau
    "pi": 0.1082,  # tau- -> pi- nu_tau
    "rho": 0.2549,  # tau- -> pi- pi0 nu_tau (rho dominated)
    "3prong": 0.0902,  # tau- -> pi- pi- pi+ nu_tau (ex. K0)
    "pi2pi0": 0.0926,  # tau- -> pi- 2pi0 nu_tau (ex. K0)
}
M_A1: float = Particle.from_pdgid(20213).mass / 1000.0  # a1(1260), `particle`
GAMMA_A1: float = Particle.from_pdgid(20213).width / 1000.0
KS_CTAU_CM: float = Particle.from_pdgid(310).lifetime * SPEED_OF_LIGHT_CM_PER_NS  # ~ 2.68 cm
# Fermi constant and weak mixing angle (PDG 2024, "Physical constants";
# sin^2 theta_W MS-bar at M_Z) -- used for e+e- -> nu nubar (gamma).
G_FERMI: float = 1.1663788e-5  # [GeV^-2]
SIN2_THETA_W: float = 0.23129
M_Z: float = 91.1880  # [GeV]
# Higgs vacuum expectation value v = (sqrt(2) G_F)^(-1/2) = 246.22 GeV (PDG 2024, "Electroweak model", eq. 10.6):
# the scale of the leptophilic scalar's couplings xi m_l / v (samples/generator/scalar.py).
V_HIGGS: float = (2.0**0.5 * G_FERMI) ** -0.5  # [GeV]

# --------------------------------------------------------------------------
# idm: inelastic dark matter + dark Higgs (processors/idm, samples/generator/idm_model.py)
# --------------------------------------------------------------------------
# Benchmark plane (Duerr, Ferber, Garcia-Cely, Hearty, Schmidt-Hoberg, arXiv:2012.08595,
# JHEP 04 (2021) 146, the plane used by Belle II arXiv:2505.09705): m_A' = 3 m_chi1,
# Delta = m_chi2 - m_chi1 = 0.4 m_chi1, alpha_D = 0.1; eps = 1e-3 is our reference
# (sigma ~ eps^2: the eps recast scales from it). m_chi1 = 1 GeV is our choice of slice.
IDM_MA_OVER_MCHI1: float = 3.0
IDM_DELTA_OVER_MCHI1: float = 0.4
IDM_ALPHA_D: float = 0.1
IDM_EPS_REF: float = 1.0e-3
IDM_M_CHI1: float = 1.0  # [GeV]
M_PROTON: float = Particle.from_pdgid(2212).mass / 1000.0
M_LAMBDA: float = Particle.from_pdgid(3122).mass / 1000.0
# Vertex resolution model the fast simulation uses (samples/generator/detector.py:
# sigma grows linearly with radius, clipped): the processor's displacement significance.
VERTEX_RES_R_REF: float = 10.0  # [cm]
VERTEX_RES_SCALE_RANGE: tuple[float, float] = (0.2, 3.0)


# --------------------------------------------------------------------------
# Mono-photon search (processors/monophoton; issue 14). Systematic magnitudes and the published anchor.
# --------------------------------------------------------------------------
# Photon energy scale uncertainty: an assumption, of the order of the Belle II ECL calibration with
# e+e- -> gamma gamma and radiative Bhabha events (no published per-mille figure is used here).
MONOPHOTON_ESCALE_REL_UNC: float = 0.005
# Photon energy resolution uncertainty: the resolution is worsened by this fraction (one-sided shape
# variation); assumption, of the size of the data/MC resolution differences in Belle II's ECL studies.
MONOPHOTON_ERES_REL_UNC: float = 0.10
# Uncertainty of the KLM / photon-veto inefficiency on the backgrounds that fake one photon through a lost
# photon: 34 % (seed 002, the Z' -> invisible photon-veto study: "additional systematic ... of 34 % for
# M^2_recoil < 1 GeV^2"), applied to gamma gamma(gamma); 5 % (the same study above 1 GeV^2) to e e gamma.
MONOPHOTON_VETO_INEFF_UNC_GG: float = 0.34
MONOPHOTON_VETO_INEFF_UNC_EE: float = 0.05
# BaBar, PRL 119, 131804 (2017), 53 fb^-1: 90 % CL upper limits on eps from ~4e-4 to ~1.6e-3 for
# M_A' <= 8 GeV (range end points as quoted in the abstract; no digitised curve is available offline).
BABAR_MONOPHOTON_LUMI_FB: float = 53.0
BABAR_MONOPHOTON_EPS_RANGE: tuple[float, float] = (4.0e-4, 1.6e-3)
# Dark Higgsstrahlung (processors/dark_higgsstrahlung; Belle II PRL 130, 071804 (2023),
# arXiv:2207.00509).
# --------------------------------------------------------------------------
# R = sigma(e+e- -> hadrons) / sigma(e+e- -> mu+mu-) in the continuum, (sqrt(s) [GeV], R) knots read off
# the PDG compilation (Review of Particle Physics 2024, "Plots of cross sections and related quantities",
# figure of R in e+e- annihilation) to ~10 %; linear in between, constant outside. The narrow J/psi,
# psi(2S) and Upsilon(1S-3S) are omitted: they change B(A' -> mu mu) only within a few MeV of their
# masses. Used for the dark-photon branching fractions B(A' -> mu mu) = Gamma_mumu / (Gamma_ee + Gamma_mumu
# + Gamma_tautau + R Gamma_mumu) (the treatment of Batell, Pospelov, Ritz, PRD 79, 115008 (2009), sec. II).
DARK_PHOTON_R_KNOTS: tuple[tuple[float, float], ...] = (
    (1.10, 1.1), (1.30, 1.5), (1.50, 2.0), (1.70, 2.3), (2.00, 2.2), (3.00, 2.2), (3.70, 2.4), (3.90, 3.0),
    (4.05, 3.9), (4.25, 3.3), (4.40, 3.5), (4.70, 3.6), (6.00, 3.6), (10.60, 3.55),
)  # fmt: skip
# Systematic uncertainties of the counting (PRL 130, 071804, as listed in issue 12): background shape 9.3 %, helicity
# cut 1 %, mass resolution 2.4 %, window (signal) efficiency 2-5 % (the upper end taken), B(A' -> mu mu)
# 4 % (a recast input: not on sigma x B), selection 2-9 % (the upper end taken).
DARKHIGGS_BKG_SHAPE_UNC: float = 0.093
DARKHIGGS_HELICITY_UNC: float = 0.01
DARKHIGGS_RESOLUTION_UNC: float = 0.024
DARKHIGGS_WINDOW_EFF_UNC: float = 0.05
DARKHIGGS_SELECTION_UNC: float = 0.09

# --------------------------------------------------------------------------
# Belle II's published signal resolutions, the references of `python -m workflows.resolution SEARCH`
# (ours beside them in the README). points: {mass [GeV]: width}; between the quoted masses the tool
# interpolates linearly (and says so), outside it prints no reference.
# --------------------------------------------------------------------------
BELLE2_RESOLUTION: dict[str, dict] = {
    "zprime-inv": {
        "what": "sigma_W(M^2_recoil), double Crystal Ball",
        "unit": "GeV^2",
        "short": "full simulation, PRL 130, 231801",
        # Belle II full simulation of the Z' -> invisible signal: PRL 130, 231801 (2023) and its seed-002
        # presentation, as quoted in issue 16 ("about 0.23 GeV^2 at 0.1 GeV, 0.29-0.31 at 1-2.5 GeV, 0.24 at
        # 5 GeV, 0.10 at 8 GeV, 0.05 at 9 GeV").
        "source": "PRL 130, 231801 (2023), signal full simulation (seed 002; issue 16)",
        "points": {0.1: 0.23, 1.0: 0.29, 2.5: 0.31, 5.0: 0.24, 8.0: 0.10, 9.0: 0.05},
    },
    "zprime-tautau": {
        "what": "sigma(M_recoil(mu mu))",
        "unit": "GeV",
        "short": "PRL 131, 121802: ~10 MeV",
        # "the recoil-mass resolution is about 10 MeV" (PRL 131, 121802 (2023), arXiv:2306.12294; issue 16),
        # one number for the whole range.
        "source": "PRL 131, 121802 (2023), arXiv:2306.12294: ~10 MeV",
        "points": {3.6: 0.010, 9.0: 0.010},
    },
}

"""Process name -> generator, cross section, citation and default generator-level filter.

Generators live in other modules (backgrounds.py, tau.py, signals.py) and are
imported lazily, on first use, so the pipeline works before all of them exist
and ``import samples.generator.registry`` stays cheap.

Resolution convention (see docs/CONTRACTS.md): a module provides the
generator either as ``GENERATORS[name]`` (a dict) or as a function
``gen_<name>``; a signal cross section comes from ``samples.generator.xsec``
as ``XSEC[name]`` or ``xsec_<name>``, called with the sample's model
parameters and returning femtobarn.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from samples import constants as C

NB_TO_FB = 1.0e6

# Model parameters a signal sample may carry, and the catalog/metadata key each maps to.
MODEL_KEYS = ("mass", "mass2", "mass3", "coupling", "ctau")


class UnknownProcessError(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


@dataclass(frozen=True)
class Process:
    name: str
    modules: tuple[str, ...]  # where the generator may live, tried in order
    source: str  # citation of the cross section / model
    is_signal: bool = False
    default_filter: str | None = None
    required: tuple[str, ...] = ()  # model parameters that must be given
    defaults: dict[str, Any] = field(default_factory=dict)
    doc: str = ""
    xsec_module: str = "samples.generator.xsec"  # where a signal's cross-section function lives

    # ------------------------------------------------------------------
    def generator(self) -> Callable[..., Any]:
        tried = []
        for modname in self.modules:
            try:
                mod = importlib.import_module(modname)
            except ModuleNotFoundError as err:
                if err.name != modname:  # a real import error inside the module: surface it
                    raise
                tried.append(f"{modname} (module missing)")
                continue
            table = getattr(mod, "GENERATORS", {})
            if self.name in table:
                return table[self.name]
            fn = getattr(mod, f"gen_{self.name}", None)
            if fn is not None:
                return fn
            tried.append(f"{modname} (no GENERATORS[{self.name!r}] / gen_{self.name})")
        raise NotImplementedError(
            f"process {self.name!r}: no generator found; tried {', '.join(tried)}. "
            "The physics generator for it has not landed yet."
        )

    def available(self) -> bool:
        """True when the generator can be imported (an import error inside its module counts as missing)."""
        try:
            self.generator()
        except (NotImplementedError, ImportError):
            return False
        return True

    def xsec_fb(self, params: dict[str, Any] | None = None) -> float:
        """Cross section [fb] before any generator-level filter."""
        params = {**self.defaults, **(params or {})}
        if not self.is_signal:
            if self.name in C.XSEC_NB:
                return C.XSEC_NB[self.name] * NB_TO_FB
            for modname in self.modules:
                try:
                    mod = importlib.import_module(modname)
                except ModuleNotFoundError:
                    continue
                table = getattr(mod, "XSEC_FB", {})
                if self.name in table:
                    return float(table[self.name])
            raise KeyError(f"process {self.name!r}: no cross section in constants.XSEC_NB or a module XSEC_FB")
        mod = importlib.import_module(self.xsec_module)
        fn = getattr(mod, "XSEC", {}).get(self.name) or getattr(mod, f"xsec_{self.name}", None)
        if fn is None:
            raise NotImplementedError(
                f"process {self.name!r}: {self.xsec_module} has no XSEC[{self.name!r}] / xsec_{self.name}"
            )
        return float(fn(**params))

    def check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Fill defaults, reject missing/negative model parameters with a readable message."""
        out = {**self.defaults, **params}
        missing = [k for k in self.required if k not in out]
        if missing:
            raise ValueError(
                f"process {self.name!r}: missing model parameter(s) {missing}; pass e.g. --param {missing[0]}=1.0"
            )
        for k in ("mass", "mass2", "mass3", "coupling", "ctau"):
            if k in out and out[k] is not None and float(out[k]) < 0:
                raise ValueError(f"process {self.name!r}: parameter {k}={out[k]} must be >= 0")
        for k in ("mass", "mass2", "mass3"):
            if k in out and out[k] is not None and float(out[k]) >= C.SQRT_S_NOMINAL:
                raise ValueError(f"process {self.name!r}: {k}={out[k]} GeV is above sqrt(s) = {C.SQRT_S_NOMINAL} GeV")
        return out


_BKG = ("samples.generator.backgrounds", "samples.generator.tau")
_SIG = ("samples.generator.signals",)
_PHYSBOOK = C.XSEC_SOURCE

PROCESSES: dict[str, Process] = {}


def register(p: Process) -> Process:
    PROCESSES[p.name] = p
    return p


for _name, _doc in {
    "mumu": "e+e- -> mu+mu-(gamma)",
    "tautau": "e+e- -> tau+tau-(gamma)",
    "tautau_mu": "e+e- -> tau+tau-(gamma), tau -> mu nu nu enriched, weighted events",
    "ee": "e+e- -> e+e-(gamma) Bhabha, 10 < theta* < 170 deg",
    "gg": "e+e- -> gamma gamma(gamma)",
    "gg_corner": "e+e- -> gamma gamma(gamma), pair angles enriched where one photon is lost, weighted events",
    "ee_wide": "e+e- -> e+e-(gamma) Bhabha, wide-angle ISR enriched, four-lepton antenna weights",
    "eemumu": "e+e- -> e+e-mu+mu- (two-photon), W > 0.5 GeV",
    "eemumu_corner": "e+e- -> e+e-mu+mu- (two-photon), W > 0.5 GeV, lost-electrons barrel-recoil corner "
    "enriched, weighted events",
    "eeee": "e+e- -> e+e-e+e- (two-photon), W > 0.5 GeV",
    "eetautau": "e+e- -> e+e-tau+tau- (two-photon)",
    "mumutautau": "e+e- -> mu+mu-tau+tau-",
    "mumumumu": "e+e- -> mu+mu-mu+mu-",
    "uu": "e+e- -> u ubar (multi-pion final states)",
    "dd": "e+e- -> d dbar",
    "ss": "e+e- -> s sbar",
    "cc": "e+e- -> c cbar",
    "gnunu": "e+e- -> gamma nu nubar (irreducible mono-photon background)",
}.items():
    register(Process(_name, _BKG, _PHYSBOOK, doc=_doc))

_ZP = "L_mu - L_tau Z' radiated off final-state muons; widths from DESIGN.md (Gamma(Z'->ll), Gamma(Z'->nunu))"
for _name, _doc in {
    "zprime_inv": "e+e- -> mu+mu- Z', Z' -> invisible",
    "zprime_mumu": "e+e- -> mu+mu- Z', Z' -> mu+mu-",
    "zprime_tautau": "e+e- -> mu+mu- Z', Z' -> tau+tau-",
}.items():
    register(Process(_name, _SIG, _ZP, is_signal=True, required=("mass",), defaults={"coupling": 0.01}, doc=_doc))
register(
    Process(
        "dark_higgsstrahlung",
        _SIG,
        "Batell, Pospelov, Ritz, PRD 79, 115008 (2009)",
        is_signal=True,
        required=("mass", "mass2"),
        defaults={"coupling": 1.0},
        doc="e+e- -> A' h', A' -> mu+mu-, h' invisible (mass = A', mass2 = h')",
    )
)
register(
    Process(
        "idm",
        _SIG,
        "inelastic dark matter with a dark Higgs (Duerr et al., JHEP 02 (2020) 039)",
        is_signal=True,
        required=("mass", "mass2", "mass3"),
        doc="e+e- -> h' A', A' -> chi1 chi2, chi2 -> chi1 e+e-, h' -> mu mu / pi pi / K K",
    )
)
for _name, _fs in {"idm_mumu": "mu+ mu-", "idm_pipi": "pi+ pi-", "idm_kk": "K+ K-"}.items():
    register(
        Process(
            _name,
            _SIG,
            "inelastic dark matter with a dark Higgs (Duerr et al., arXiv:2012.08595); widths: idm_model.py",
            is_signal=True,
            required=("mass", "mass2", "mass3"),
            doc=f"e+e- -> h' A', A' -> chi1 chi2, chi2 -> chi1 e+e-, h' -> {_fs} (sin_theta -> c tau of h')",
        )
    )
register(
    Process(
        "monophoton",
        _SIG,
        "e+e- -> gamma A', A' -> invisible (Fayet; Essig et al., JHEP 11 (2013) 167)",
        is_signal=True,
        required=("mass",),
        defaults={"coupling": 1.0e-3},
        doc="e+e- -> gamma A', A' -> invisible; E*_gamma = (s - M^2)/(2 sqrt s)",
    )
)
register(
    Process(
        "scalar_mumu",
        _SIG,
        "muonphilic scalar, L = g_S S mubar mu; tree-level ME derived in samples/generator/scalar.py; "
        "Belle II, PRD 109, 112015 (2024) [arXiv:2403.02841]",
        is_signal=True,
        required=("mass",),
        defaults={"coupling": 0.01},
        doc="e+e- -> mu+mu- S, S -> mu+mu- (muonphilic dark scalar; c tau from Gamma(S -> mu mu))",
    )
)
register(
    Process(
        "scalar_tautau",
        _SIG,
        "leptophilic scalar, couplings xi m_l / v (Batell et al., PRD 95, 075003 (2017)); tree-level ME derived in "
        "samples/generator/scalar.py; Belle II, PRL 131, 121802 (2023)",
        is_signal=True,
        required=("mass",),
        defaults={"coupling": 10.0},
        doc="e+e- -> mu+mu- S, S -> tau+tau- (leptophilic scalar, coupling = xi; BF from lepton + gamma gamma widths)",
    )
)
register(
    Process(
        "alp_tautau",
        _SIG,
        "axion-like particle, i g_a a lbar gamma5 l, equal for e, mu, tau, no photon coupling; tree-level ME derived "
        "in samples/generator/scalar.py; Belle II, PRL 131, 121802 (2023)",
        is_signal=True,
        required=("mass",),
        defaults={"coupling": 0.01},
        doc="e+e- -> mu+mu- a, a -> tau+tau- (ALP, coupling = g_a; BF from the lepton widths)",
    )
)


def get(name: str) -> Process:
    try:
        return PROCESSES[name]
    except KeyError:
        raise UnknownProcessError(
            f"unknown process {name!r}; known processes: {', '.join(sorted(PROCESSES))}"
        ) from None

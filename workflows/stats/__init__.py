"""Statistics stage: workspaces, CLs limits, coupling limits, significance, tables and plots.

Modules (import what you need; nothing heavy is imported here):

- model:        hist objects -> pyhf workspace (window, normsys / histosys / staterror, empty-bin handling)
- limits:       `upper_limit(ws, cl, method)` with method auto | exact | asymptotic | toys, pyhf workarounds
- counting:     exact Poisson CLs for many single-bin windows (gamma prior on the background), vectorised
- fastfit:      HistFactory likelihood with analytic gradients and profiled staterror gammas (fast asymptotics)
- recast:       sigma x BF limits -> couplings (g', epsilon, epsilon^2 alpha_D) with the generator's sigma
- significance: local / global significance of the largest excess in a scan
- scan, report, cli: mass scans in a process pool, CSV/JSON/HEPData/plots, `b2dark limits`

Example (notebook)::

    from workflows.stats import limits, model
    ws, rep = model.build_workspace(sig_hist, {"mumu": bkg_hist}, data_hist, {"m2_recoil": (0.5, 3.5)},
                                    [model.lumi_normsys(), model.HistoSys("pscale"), model.StatError()])
    res = limits.upper_limit(ws, cl=0.90)   # res.observed, res.expected (-2..+2 sigma), res.method
"""

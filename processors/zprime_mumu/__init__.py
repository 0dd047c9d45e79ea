"""e+e- -> mu+ mu- Z', Z' -> mu+ mu- (L_mu - L_tau): declaration in search.py, physics in processor.py."""

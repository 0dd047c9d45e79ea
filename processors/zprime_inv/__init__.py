"""e+e- -> mu+ mu- Z', Z' -> invisible (L_mu - L_tau): Belle II PRL 130, 231801 (2023).

search.py holds the declaration (luminosity, samples, working point, statistics plan, recasts,
published numbers); processor.py the selection and histograms.
"""

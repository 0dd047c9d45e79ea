"""e+e- -> A' h', A' -> mu+ mu-, h' invisible (dark Higgsstrahlung): Belle II PRL 130, 071804 (2023).

search.py holds the declaration (luminosity, samples, working point, window-counting plan, recast,
published numbers); processor.py the selection and histograms; fom.py the helicity-cut scan; plots.py the
search's own figures.
"""

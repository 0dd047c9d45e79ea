"""iDM + dark Higgs, two displaced vertices (arXiv:2505.09705): declaration in search.py, physics in processor.py."""

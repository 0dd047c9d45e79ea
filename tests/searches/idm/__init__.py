"""iDM + dark Higgs search tests."""

"""The mono-photon search: e+e- -> gamma A', A' -> invisible (search.py: declaration, processor.py: physics)."""

"""Z' -> tau tau search (e+e- -> mu mu Z', Z' -> tau tau)."""

"""Sample recipes, one per search (``<recipe>.yaml``, named by the search's declaration).

A recipe lists the signal scans, background pools and pseudo-data a search needs (keys: see
samples/cli.py). Pools with the same name in several recipes must be defined identically: they are
generated once into the shared catalog and reused (`b2dark generate` refuses a conflicting definition).
"""

from __future__ import annotations

from pathlib import Path

RECIPES_DIR = Path(__file__).resolve().parent


def recipe_path(name: str) -> Path:
    path = RECIPES_DIR / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))
        raise FileNotFoundError(f"no sample recipe {name!r} ({path}); known recipes: {known}")
    return path

"""Resume: every finished chunk's output is saved atomically into DIR/.partial/<hash>/.

The hash covers everything that changes a chunk's result (search, processor and its
options, sample metadata, chunk size, the processors' source code, b2dark version),
so ``--resume`` never mixes outputs of different configurations. Chunk files are
named by dataset, file UUID and entry range -- exactly what coffea's chunking makes
again for the same inputs and chunk size. The saving/loading runs on the worker
(coffea's ``CheckpointerABC`` hook), so it works with every executor as long as the
workers see the output folder (local disk or a shared file system).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import lz4.frame
from coffea.processor import CheckpointerABC

from workflows import interrupt

PARTIAL_DIR = ".partial"


def config_hash(config: dict[str, Any]) -> str:
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def source_digest(package_dirs: list[Path]) -> str:
    """Hash of the .py sources of the given packages: editing a processor invalidates old partials."""
    h = hashlib.sha256()
    for d in package_dirs:
        for p in sorted(Path(d).rglob("*.py")):
            h.update(str(p.relative_to(d)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


class ChunkCheckpointer(CheckpointerABC):
    """Atomic per-chunk pickles (internal, same-version files: the hash includes the code)."""

    def __init__(self, directory: Path | str):
        self.directory = str(directory)
        self.saved = 0  # chunks this instance saved (names the test hook's stage after-chunk-K)

    def filepath(self, metadata: dict[str, Any]) -> str:
        name = f"{metadata['fileuuid'] or 'nouuid'}_{metadata['entrystart']}_{metadata['entrystop']}.pkl"
        return os.path.join(self.directory, str(metadata["dataset"]).replace("/", "_"), name)

    def load(self, metadata: Any, processor_instance: Any) -> Any:
        interrupt.check()  # a safe point (a no-op on workers): stop before the next chunk
        path = self.filepath(metadata)
        try:
            with lz4.frame.open(path, "rb") as f:
                return pickle.load(f)
        except FileNotFoundError:
            return None
        except Exception:
            return None  # unreadable partial (should not happen: writes are atomic) -> recompute

    def save(self, output: Any, metadata: Any, processor_instance: Any) -> None:
        path = self.filepath(metadata)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.tmp{os.getpid()}"
        # lz4: chunk outputs are mostly empty histogram bins (one sample per chunk), they shrink ~10-100x.
        with lz4.frame.open(tmp, "wb") as f:
            pickle.dump(output, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        self.saved += 1
        interrupt.inject(f"after-chunk-{self.saved}")
        interrupt.check()  # a safe point: this chunk is on disk


def prepare(output_dir: Path, run_hash: str, resume: bool) -> tuple[Path, int]:
    """Create the partial folder for this run. Returns it and how many chunk files it already holds.

    Without ``resume`` any earlier partial outputs are removed, so nothing is reused silently.
    With ``resume``, partials of other configurations are left alone but not used.
    """
    root = Path(output_dir) / PARTIAL_DIR
    if not resume and root.exists():
        shutil.rmtree(root)
    d = root / run_hash
    d.mkdir(parents=True, exist_ok=True)
    return d, count(d)


def count(directory: Path) -> int:
    return sum(1 for _ in Path(directory).rglob("*.pkl"))


def other_configs(output_dir: Path, run_hash: str) -> list[str]:
    root = Path(output_dir) / PARTIAL_DIR
    return sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != run_hash) if root.exists() else []


def cleanup(output_dir: Path) -> None:
    shutil.rmtree(Path(output_dir) / PARTIAL_DIR, ignore_errors=True)

"""Where the project keeps its files: shipped data, caches and runs."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]  # muser_core/base/paths.py -> the repository
DATA_DIR = REPO_ROOT / "data"            # shipped with the repo (lexicon, demo corpus: muser_core.data.demo)
LEXICON_DIR = DATA_DIR / "lexicon"


def cache_dir() -> Path:
    """Feature and embedding caches; ``MUSER_CACHE_DIR`` overrides the default."""
    return Path(os.environ.get("MUSER_CACHE_DIR", REPO_ROOT / ".cache" / "muser"))


def runs_dir() -> Path:
    """Training runs; ``MUSER_RUNS_DIR`` overrides the default ``runs/``."""
    return Path(os.environ.get("MUSER_RUNS_DIR", REPO_ROOT / "runs"))

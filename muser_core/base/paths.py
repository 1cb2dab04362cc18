"""Where the project keeps its files: shipped data, the app's files, caches, runs and studies.

Two layouts hold the same files. In a source checkout, the data sit in
``data/``, the shipped demo runs in ``runs/`` and the app (``app.py``, ``pages/``,
``ui/``, ``analysis/``) at the top. An installed package carries them inside:
``muser_core/_data``, ``muser_core/_runs`` and the app's folder ``muser_app/``
(a folder of files, not importable packages named ``analysis`` or ``ui``, so
nothing generic lands in site-packages; ``muser app`` serves it, Streamlit puts
that folder on ``sys.path``).

What is written goes where the environment says, else into the checkout, else
to per-user folders (XDG base directories): ``MUSER_RUNS_DIR`` (checkout:
``runs/``; installed: ``~/.local/share/muser/runs``), ``MUSER_CACHE_DIR``
(``.cache/muser``; ``~/.cache/muser``) and ``MUSER_STUDIES_DIR``
(``data/studies``; ``~/.local/share/muser/studies``).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # muser_core/
_TOP = PACKAGE_DIR.parent
# The source checkout this code runs from, or None when it runs from an installed package.
CHECKOUT: Path | None = _TOP if (_TOP / "app.py").is_file() and (_TOP / "data").is_dir() else None
DATA_DIR = CHECKOUT / "data" if CHECKOUT else PACKAGE_DIR / "_data"       # lexicon, demo corpus, EmoBank, model
SHIPPED_RUNS = CHECKOUT / "runs" if CHECKOUT else PACKAGE_DIR / "_runs"   # the demo-* runs (read-only)
APP_DIR = CHECKOUT or _TOP / "muser_app"                                   # app.py, pages/, ui/, analysis/
LEXICON_DIR = DATA_DIR / "lexicon"


def _user_dir(variable: str, fallback: str) -> Path:
    return Path(os.environ.get(variable) or Path.home() / fallback) / "muser"


def cache_dir() -> Path:
    """Feature and embedding caches: ``MUSER_CACHE_DIR``, else ``.cache/muser`` in a checkout, else
    ``$XDG_CACHE_HOME/muser`` (``~/.cache/muser``)."""
    if os.environ.get("MUSER_CACHE_DIR"):
        return Path(os.environ["MUSER_CACHE_DIR"])
    return CHECKOUT / ".cache" / "muser" if CHECKOUT else _user_dir("XDG_CACHE_HOME", ".cache")


def runs_dir() -> Path:
    """Training runs: ``MUSER_RUNS_DIR``, else ``runs/`` in a checkout, else ``$XDG_DATA_HOME/muser/runs``
    (``~/.local/share/muser/runs``)."""
    if os.environ.get("MUSER_RUNS_DIR"):
        return Path(os.environ["MUSER_RUNS_DIR"])
    return CHECKOUT / "runs" if CHECKOUT else _user_dir("XDG_DATA_HOME", ".local/share") / "runs"


def studies_default() -> Path:
    """Studies recorded in the app when ``MUSER_STUDIES_DIR`` is unset: ``data/studies`` in a checkout (never
    committed), else ``$XDG_DATA_HOME/muser/studies``."""
    return CHECKOUT / "data" / "studies" if CHECKOUT else _user_dir("XDG_DATA_HOME", ".local/share") / "studies"

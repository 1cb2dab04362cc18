"""Every data source the app reads, by kind: the one place the CLI, the data pickers and the Train page look.

A run's ``--corpus``/``--external`` take ``demo`` or a canonical CSV;
:func:`corpus_file` turns any other source (a MuSE or OMG-Emotion root, a
manifest, a recorded study) into such a CSV, copied once into
``<runs>/.corpora/`` so that ``config.json`` repeats the run.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from muser_core.base.errors import InputError
from muser_core.base.paths import runs_dir
from muser_core.data.corpus import load_manifest, load_muse, load_omg
from muser_core.study.store import load_study, study_fingerprint

CORPORA = ".corpora"  # canonical CSVs made from MuSE/manifest/OMG sources, inside the runs folder
CORPUS_FORMAT = "2"   # raise when a loader's output changes (2: OMG-Emotion split as in the paper, 4.1)


def corpus_file(kind: str, path: str, split: str = "speaker") -> str:
    """A source as ``--corpus``/``--external`` take it: ``demo`` or a canonical CSV.

    ``kind``: ``demo``, ``muse`` (a MuSE root), ``manifest`` (any CSV the
    corpus loader reads), ``omg`` (an OMG-Emotion root) or ``study`` (a study
    folder, :mod:`muser_core.study`). A copy is written once to
    ``<runs>/.corpora/`` and named by the source path (a study's also by its
    content, since it grows), so runs repeat from their config.json.
    """
    if kind == "demo":
        return "demo"
    if not path:
        raise InputError(f"give the path of the {kind} data")
    source = Path(path).expanduser()
    if not source.exists():
        raise InputError(f"{source}: not found")
    loader = {"muse": lambda: load_muse(source, split=split), "omg": lambda: load_omg(source),
              "manifest": lambda: load_manifest(source, split=split),
              "study": lambda: load_study(source, split=split)}[kind]
    content = f"|{study_fingerprint(source)}" if kind == "study" else ""
    # The loaders' version is part of the name: a copy made by an older loader (e.g. OMG's official splits
    # before the paper's 300-video hold-out became the default) must not be reused.
    digest = hashlib.sha1(f"{kind}|{source.resolve()}|{split}|{CORPUS_FORMAT}{content}".encode()).hexdigest()[:10]
    target = runs_dir() / CORPORA / f"{kind}-{source.stem or 'data'}-{digest}.csv"
    if not target.is_file():
        loader().save(target)
    return str(target)




def corpus_copies(kind: str, name: str) -> list[Path]:
    """The canonical copies :func:`corpus_file` made of sources of ``kind`` whose folder or file is ``name``."""
    pattern = re.compile(rf"{re.escape(kind)}-{re.escape(name)}-[0-9a-f]{{10}}\.csv")
    folder = runs_dir() / CORPORA
    return sorted(p for p in folder.glob(f"{kind}-*.csv") if pattern.fullmatch(p.name)) if folder.is_dir() else []


def runs_reading(tables: list[Path]) -> list[str]:
    """Names of the run folders under the runs folder whose config.json trains on one of ``tables``."""
    wanted = {str(t) for t in tables}
    runs = []
    if wanted and runs_dir().is_dir():
        for config in runs_dir().glob("**/config.json"):
            try:
                corpus = json.loads(config.read_text()).get("data", {}).get("corpus", "")
            except (OSError, ValueError, AttributeError):
                continue
            if corpus in wanted:
                runs.append(config.parent.name)
    return sorted(runs)

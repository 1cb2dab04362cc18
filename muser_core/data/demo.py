"""The embedded SYNTHETIC demo corpus (data/demo/), so the app shows everything on first launch.

Built by ``scripts/make_demo_corpus.py`` from scripted monologues spoken by
espeak-ng; see ``data/demo/README.md`` for what was planted and how strongly.
It is shaped like MuSE (28 speakers, a stressed and a not-stressed session
each, five questions per session, 2,326 sentences, self-reports on 1..9) and
comes with an OMG-Emotion-shaped external set (arousal and valence on 0..1,
no stress labels). Both tables carry the 88 eGeMAPS features already
extracted, and load through the same canonical table as MuSE with
``synthetic=True``: pages must say so.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from muser_core.base.errors import InputError
from muser_core.base.paths import DATA_DIR
from muser_core.data.corpus import Corpus, canonical

DEMO_DIR = DATA_DIR / "demo"                  # the shipped synthetic data set
CORPUS_FILE = DEMO_DIR / "corpus.csv.gz"      # MuSE-shaped sentences, labels, eGeMAPS
EXTERNAL_FILE = DEMO_DIR / "external.csv.gz"  # OMG-Emotion-shaped clips, labels, eGeMAPS
META_FILE = DEMO_DIR / "meta.json"            # seed, prompts, planted effects, voices
DEMO_CLIPS_DIR = DEMO_DIR / "clips"           # a few dozen sample WAV clips (16 kHz mono)
DEMO_SPLITS = {"speaker": "split_speaker", "paper": "split_paper"}
SYNTHETIC_NOTE = ("SYNTHETIC demo data: scripted text spoken by espeak-ng, not real speech "
                  "and not MuSE or OMG-Emotion")

# Columns read as text, so speaker "07" stays "07".
_STR_COLUMNS = {"utterance_id": str, "speaker": str, "text": str, "audio_clip": str,
                "question": str, "session": str, "gender": str}


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"{path}: demo table missing (rebuild it with "
                         "'.venv/bin/python scripts/make_demo_corpus.py')")
    return pd.read_csv(path, dtype=_STR_COLUMNS, keep_default_na=False, na_values=[""])


def demo_meta() -> dict:
    """How the demo corpus was generated: seed, prompts, planted effects, voices."""
    return json.loads(META_FILE.read_text()) if META_FILE.is_file() else {}


def load_demo(split: str = "speaker") -> Corpus:
    """The MuSE-shaped synthetic corpus; ``split`` is ``speaker`` (independent) or ``paper`` (1,853/200/273).

    ``audio_path`` is the shipped clip's absolute path for the few sentences
    that have one, else "" (the others have their eGeMAPS features only).
    """
    if split not in DEMO_SPLITS:
        raise InputError(f"unknown split '{split}' (choose {' or '.join(DEMO_SPLITS)})")
    table = _read(CORPUS_FILE)
    table["split"] = table[DEMO_SPLITS[split]]
    clip = table.pop("audio_clip").fillna("")
    table["audio_path"] = [str(DEMO_DIR / c) if c else "" for c in clip]
    table["dataset"] = "demo"
    meta = demo_meta()
    notes = [SYNTHETIC_NOTE,
             f"split: {'speaker-independent' if split == 'speaker' else 'paper sizes 1853/200/273'}",
             "activation and valence are the monologue's self-report (1..9)",
             f"generated with seed {meta.get('seed', '?')} by scripts/make_demo_corpus.py"]
    return Corpus(canonical(table), "demo", {"activation": (1.0, 9.0), "valence": (1.0, 9.0)},
                  notes, synthetic=True)


def load_demo_external() -> Corpus:
    """The OMG-Emotion-shaped synthetic external set: arousal as ``activation`` and valence on 0..1, no stress."""
    table = _read(EXTERNAL_FILE)
    table["audio_path"] = ""
    table["dataset"] = "demo-external"
    notes = [SYNTHETIC_NOTE, "activation is arousal (0..1); valence on 0..1", "speaker is the video id"]
    return Corpus(canonical(table), "demo-external", {"activation": (0.0, 1.0), "valence": (0.0, 1.0)},
                  notes, synthetic=True)


def demo_clips() -> list[Path]:
    """The shipped sample WAV clips (both sessions of several speakers), sorted by name."""
    return sorted(DEMO_CLIPS_DIR.glob("*.wav"))

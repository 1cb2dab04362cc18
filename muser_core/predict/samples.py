"""Shipped clips with known text: real human readings (data/speech/) and the synthetic demo clips.

The real clips are a LibriVox reading (public domain) with its reference
transcript, copied from the ``pocketsphinx`` 5.1.1 source distribution; see
``data/speech/README.md``. They let tests and benchmarks measure a
recogniser's word error rate on real voices. The demo clips are espeak-ng
voices from the synthetic demo corpus, with the sentence's text and labels.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from muser_core.audio.decode import TARGET_SR, load_audio
from muser_core.base.paths import DATA_DIR
from muser_core.base.tasks import INTERNAL_TASKS
from muser_core.data.demo import demo_clips, load_demo

SPEECH_DIR = DATA_DIR / "speech"
LIBRIVOX_DIR = SPEECH_DIR / "librivox"
LIBRIVOX_SOURCE = ("LibriVox reading of Austen, Sense and Sensibility ch. 1 (public domain); "
                   "from the pocketsphinx 5.1.1 source distribution")


@dataclass(frozen=True)
class SampleClip:
    """A clip with the text spoken in it and, where known, its labels."""

    path: Path
    text: str                    # the reference text (what was said)
    speaker: str
    title: str                   # a readable name for a picker
    source: str                  # where the clip comes from, in words
    real: bool                   # a human voice (True) or espeak-ng (False)
    stress: float | None = None  # 1 stressed, 0 not, None: no label
    activation: float | None = None
    valence: float | None = None


def real_clips() -> list[SampleClip]:
    """The LibriVox sentences with their reference text, in reading order."""
    table = LIBRIVOX_DIR / "references.csv"
    if not table.is_file():
        return []
    with open(table, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [SampleClip(LIBRIVOX_DIR / r["file"], r["text"], r["speaker"],
                       f"Real voice {i}: “{_short(r['text'])}”", LIBRIVOX_SOURCE, True)
            for i, r in enumerate(rows, start=1)]


def long_reading(gap_s: float = 0.0) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """The real sentences joined into one monologue; also each sentence's (start_s, end_s, text).

    Joined as CMU's own ``make_single_track.py`` joins them for their tests;
    ``gap_s`` of silence can be put between sentences.
    """
    pieces, spans, position = [], [], 0.0
    gap = np.zeros(int(gap_s * TARGET_SR), np.float32)
    for i, clip in enumerate(real_clips()):
        if i and gap.size:
            pieces.append(gap)
            position += gap_s
        signal = load_audio(clip.path)
        pieces.append(signal)
        spans.append((position, position + len(signal) / TARGET_SR, clip.text))
        position += len(signal) / TARGET_SR
    return np.concatenate(pieces), spans


_DEMO_NAME = re.compile(r"(?P<speaker>\d+)_(?P<session>NS|S)_Q(?P<question>\d+)_(?P<sentence>\d+)$")


def demo_sample_clips() -> list[SampleClip]:
    """The synthetic demo corpus' WAV clips with their sentence text and true labels."""
    clips = demo_clips()
    if not clips:
        return []
    table = load_demo().table
    by_path = {Path(row["audio_path"]).name: row for row in table.to_dict("records") if row["audio_path"]}
    samples = []
    for path in clips:
        row = by_path.get(path.name, {})
        match = _DEMO_NAME.match(path.stem)
        session = ("stressed" if match and match["session"] == "S" else "not-stressed") if match else "?"
        title = (f"Synthetic, speaker {match['speaker']}, {session} session, question {int(match['question'])}, "
                 f"sentence {int(match['sentence'])}"
                 if match else path.stem)
        samples.append(SampleClip(
            path, str(row.get("text", "")), str(row.get("speaker", "")), title,
            "synthetic demo corpus (espeak-ng)", False,
            *(None if row.get(k) is None or np.isnan(row.get(k)) else float(row[k])
              for k in INTERNAL_TASKS)))
    return samples


def sample_clips() -> list[SampleClip]:
    """Every shipped sample: real voices first, then the synthetic demo clips."""
    return real_clips() + demo_sample_clips()


def _short(text: str, words: int = 6) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")

"""A voice clip made ready for scoring: decoded, trimmed, checked, its speech detected and its eGeMAPS extracted.

Steps (each timed): decode -> 16 kHz mono -> trim silence -> length and level
checks -> voice activity -> eGeMAPS (paper 3.3); the transcript is recognised
meanwhile on the other core. A user's relaxed *baseline* is the mean of a few
such clips.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from muser_core.audio.decode import (
    TARGET_SR,
    AudioSource,
    clipping_share,
    duration_s,
    load_audio,
    trim_silence,
)
from muser_core.audio.transcribe import Recogniser
from muser_core.audio.vad import SpeechActivity, speech_activity
from muser_core.base.errors import InputError
from muser_core.features.acoustic import EGEMAPS_FEATURES, egemaps_from_signal

MIN_SECONDS = 0.5      # shorter clips carry too few voiced frames for stable functionals
MAX_SECONDS = 60.0     # longer clips are cut: a MuSE sentence is a few seconds
CLIPPING_WARN = 0.001  # share of full-scale samples above which we warn


@dataclass
class PreparedClip:
    """A decoded, trimmed and checked clip with its eGeMAPS features."""

    signal: np.ndarray
    features: pd.Series                      # raw eGeMAPS, 88 values
    warnings: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    speech: SpeechActivity | None = None     # what the voice activity detector heard
    # The transcript, being recognised on the other core while eGeMAPS was extracted (prepare_clip).
    pending_transcript: Future | None = field(default=None, repr=False, compare=False)


class Timer:
    """Adds the time spent inside ``with`` to ``timings[step]`` (milliseconds)."""

    def __init__(self, timings: dict[str, float], step: str):
        self.timings, self.step = timings, step

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        self.timings[self.step] = self.timings.get(self.step, 0.0) + 1000 * (time.perf_counter() - self.start)


_TRANSCRIBER: ThreadPoolExecutor | None = None


def _transcriber() -> ThreadPoolExecutor:
    """One background thread for recognition (CTranslate2 and openSMILE both run outside the GIL)."""
    global _TRANSCRIBER
    if _TRANSCRIBER is None:
        _TRANSCRIBER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="muser-transcribe")
    return _TRANSCRIBER


def prepare_clip(source: AudioSource | np.ndarray, name: str | None = None, *,
                 recogniser: Recogniser | None = None) -> PreparedClip:
    """Decode (or take a 16 kHz signal), trim silence, check length and level, detect speech, extract eGeMAPS.

    With a ``recogniser`` the transcription starts as soon as the clip is
    trimmed and runs on the other core while the speech detector and openSMILE
    work; :meth:`Predictor.predict` then waits for it. On 2 cores, with Whisper
    on one thread, a 5 s clip's steps take 216 ms overlapped against 246 ms
    one after another (bench/live_overlap.py).
    """
    timings: dict[str, float] = {}
    warnings: list[str] = []
    label = name or ("recording" if isinstance(source, (bytes, np.ndarray)) else str(source))
    with Timer(timings, "decode"):
        signal = (np.asarray(source, dtype=np.float32) if isinstance(source, np.ndarray)
                  else load_audio(source, name))
        if signal.size == 0 or float(np.abs(signal).max()) < 1e-4:
            raise InputError(f"{label}: is silent (peak below -80 dBFS)")
    with Timer(timings, "trim"):
        signal = trim_silence(signal)
    seconds = duration_s(signal)
    if seconds < MIN_SECONDS:
        raise InputError(f"{label}: only {seconds:.2f} s of sound after trimming silence "
                         f"(at least {MIN_SECONDS} s needed)")
    if seconds > MAX_SECONDS:
        signal = signal[: int(MAX_SECONDS * TARGET_SR)]
        warnings.append(f"the clip was {seconds:.0f} s long; only its first {MAX_SECONDS:.0f} s were used")
    clipped = clipping_share(signal)
    if clipped > CLIPPING_WARN:
        warnings.append(f"{clipped:.1%} of samples are clipped (recording too loud): "
                        "loudness features are distorted")
    pending = _transcriber().submit(recogniser.transcribe, signal) if recogniser is not None else None
    with Timer(timings, "vad"):
        speech = speech_activity(signal)
    with Timer(timings, "features"):
        features = pd.Series(egemaps_from_signal(signal), index=EGEMAPS_FEATURES)
    if features.isna().all():
        raise InputError(f"{label}: openSMILE found no usable frames (is it speech?)")
    return PreparedClip(signal, features, warnings, timings, speech, pending)


@dataclass(frozen=True)
class Baseline:
    """A user's relaxed reference: the mean eGeMAPS (and transcripts) of their baseline clips."""

    mean: pd.Series
    count: int
    transcripts: tuple[str, ...] = ()


def make_baseline(clips: list[PreparedClip], transcripts: list[str] | None = None,
                  names: list[str] | None = None) -> Baseline | None:
    """The baseline of one or more relaxed clips (None when there are none).

    A baseline clip that is not speech would shift every later z-score, so it
    is refused, naming the clip.
    """
    if not clips:
        return None
    for i, clip in enumerate(clips):
        if clip.speech is not None and not clip.speech.is_speech:
            name = names[i] if names else f"baseline clip {i + 1}"
            raise InputError(f"{name}: not speech ({clip.speech.verdict()}); "
                             "a relaxed baseline must be your own calm speech")
    mean = pd.concat([c.features for c in clips], axis=1).mean(axis=1)
    return Baseline(mean, len(clips), tuple(transcripts or ()))

"""Live prediction: one voice clip in, stress probability with activation and valence out.

The pipeline follows the paper's inputs (section 4.3): eGeMAPS functionals
normalised per speaker (3.3) and an automatic transcript (3.1) for the text
encoder. Steps: decode -> 16 kHz mono -> trim silence -> checks -> eGeMAPS ->
normalisation -> transcript -> model. Each step is timed.

Normalisation: the paper z-scores features per speaker. A user who records
one or more relaxed *baseline* clips is normalised against their own mean
(scaled by the training corpus' typical within-speaker spread, since a few
clips cannot estimate a spread); without a baseline, the training corpus'
pooled statistics are used and the result says it is less reliable.

Command line::

    python -m muser_core.predict --audio FILE [--transcript TEXT] [--baseline FILE ...] [--checkpoint DIR]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from muser_core.acoustic_features import EGEMAPS_FEATURES, egemaps_from_signal
from muser_core.audio import (
    TARGET_SR,
    AudioSource,
    clipping_share,
    duration_s,
    load_audio,
    trim_silence,
)
from muser_core.errors import InputError
from muser_core.paths import DATA_DIR
from muser_core.transcribe import Recogniser, get_recogniser

DEFAULT_CHECKPOINT = DATA_DIR / "models" / "demo-muser"  # trained on the SYNTHETIC demo corpus
MIN_SECONDS = 0.5      # shorter clips carry too few voiced frames for stable functionals
MAX_SECONDS = 60.0     # longer clips are cut: a MuSE sentence is a few seconds
CLIPPING_WARN = 0.001  # share of full-scale samples above which we warn
CALIBRATED = "<calibrated user>"  # the speaker id baseline statistics are stored under


@dataclass
class PreparedClip:
    """A decoded, trimmed and checked clip with its eGeMAPS features."""

    signal: np.ndarray
    features: pd.Series                      # raw eGeMAPS, 88 values
    warnings: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class LiveResult:
    """What the page and the command line report for one clip."""

    stress_probability: float
    stressed: bool
    activation: float | None
    valence: float | None
    transcript: str
    calibrated: bool
    timings_ms: dict[str, float]
    warnings: list[str]
    features: pd.Series                      # raw eGeMAPS of the clip
    zscores: pd.Series                       # the same, normalised as the model saw them

    def to_json(self) -> dict:
        """The command line's JSON object."""
        return {"stress_probability": round(self.stress_probability, 4), "stressed": self.stressed,
                "activation": None if self.activation is None else round(self.activation, 3),
                "valence": None if self.valence is None else round(self.valence, 3),
                "transcript": self.transcript, "calibrated": self.calibrated,
                "warnings": self.warnings,
                "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()}}


class _Timer:
    def __init__(self, timings: dict[str, float], step: str):
        self.timings, self.step = timings, step

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        self.timings[self.step] = self.timings.get(self.step, 0.0) + 1000 * (time.perf_counter() - self.start)


def prepare_clip(source: AudioSource | np.ndarray, name: str | None = None) -> PreparedClip:
    """Decode (or take a 16 kHz signal), trim silence, check length and level, extract eGeMAPS."""
    timings: dict[str, float] = {}
    warnings: list[str] = []
    label = name or ("recording" if isinstance(source, (bytes, np.ndarray)) else str(source))
    with _Timer(timings, "decode"):
        signal = (np.asarray(source, dtype=np.float32) if isinstance(source, np.ndarray)
                  else load_audio(source, name))
        if signal.size == 0 or float(np.abs(signal).max()) < 1e-4:
            raise InputError(f"{label}: is silent (peak below -80 dBFS)")
    with _Timer(timings, "trim"):
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
    with _Timer(timings, "features"):
        features = pd.Series(egemaps_from_signal(signal), index=EGEMAPS_FEATURES)
    if features.isna().all():
        raise InputError(f"{label}: openSMILE found no usable frames (is it speech?)")
    return PreparedClip(signal, features, warnings, timings)


@dataclass(frozen=True)
class Baseline:
    """A user's relaxed reference: the mean eGeMAPS (and transcripts) of their baseline clips."""

    mean: pd.Series
    count: int
    transcripts: tuple[str, ...] = ()


def make_baseline(clips: list[PreparedClip], transcripts: list[str] | None = None) -> Baseline | None:
    """The baseline of one or more relaxed clips (None when there are none)."""
    if not clips:
        return None
    mean = pd.concat([c.features for c in clips], axis=1).mean(axis=1)
    return Baseline(mean, len(clips), tuple(transcripts or ()))


class LivePredictor:
    """A trained run's model plus a recogniser, ready to score clips one at a time.

    Load once (a few seconds: the text encoder), then :meth:`predict` takes
    well under the 1.5 s budget for a 5 s clip on 2 cores. It holds no
    per-user state (the baseline is passed in), so one instance can serve
    every session of the app.
    """

    def __init__(self, checkpoint: str | Path | None = None, recogniser: Recogniser | None = None):
        from muser_core.model import load_trained_model

        self.checkpoint = Path(checkpoint or DEFAULT_CHECKPOINT)
        if not (self.checkpoint / "config.json").is_file():
            raise InputError(f"{self.checkpoint}: not a run folder (no config.json)")
        self.model, self.config, self.stats = load_trained_model(self.checkpoint)
        self.uses_text = self.config.model.uses_text
        self.uses_audio = self.config.model.uses_audio
        self.recogniser = recogniser or get_recogniser()

    @property
    def label_scales(self) -> dict[str, tuple[float, float]]:
        """Each emotion head's output scale, as the run recorded it."""
        return {task: tuple(t.get("scale") or (np.nan, np.nan))
                for task, t in self.stats.get("targets", {}).items()}

    def warm_up(self) -> None:
        """Load the recogniser and run the model once, so the first clip is as fast as the rest."""
        if hasattr(self.recogniser, "warm_up"):
            self.recogniser.warm_up()
        self._model_outputs("warm up", pd.Series(0.0, index=EGEMAPS_FEATURES), None)

    # ------------------------------------------------------------------ calibration

    def _acoustic_stats(self, baseline: Baseline | None) -> dict:
        """The run's statistics, plus the calibrated user when a baseline is given."""
        stats = self.stats.get("acoustic")
        if stats is None or baseline is None:
            return stats
        stats = copy.deepcopy(stats)
        spreads = np.array([s["std"] for s in stats["speakers"].values()], dtype=np.float64)
        # A few baseline clips give a mean but no usable spread: take the typical
        # within-speaker spread of the training corpus (median over its speakers).
        stats["speakers"][CALIBRATED] = {
            "mean": baseline.mean[stats["features"]].tolist(),
            "std": np.median(spreads, axis=0).tolist()}
        return stats

    # ------------------------------------------------------------------ prediction

    def _model_outputs(self, transcript: str, features: pd.Series, baseline: Baseline | None,
                       acoustic_stats: dict | None = None) -> pd.Series:
        from muser_core.model import predict

        acoustic = acoustic_stats if acoustic_stats is not None else self._acoustic_stats(baseline)
        stats = dict(self.stats, acoustic=acoustic)
        speaker = CALIBRATED if baseline is not None else "<new speaker>"
        table = features.to_frame().T if self.uses_audio else None
        out = predict(self.model, stats, texts=[transcript] if self.uses_text else None,
                      features=table, speakers=[speaker])
        return out.iloc[0]

    def zscores(self, features: pd.Series, baseline: Baseline | None = None,
                acoustic_stats: dict | None = None) -> pd.Series:
        """The clip's features normalised as the model sees them (baseline or pooled statistics)."""
        stats = acoustic_stats if acoustic_stats is not None else self._acoustic_stats(baseline)
        if stats is None:
            return pd.Series(dtype=float)
        from muser_core.normalise import SpeakerZScore

        speaker = CALIBRATED if baseline is not None else "<new speaker>"
        return SpeakerZScore.from_dict(stats).transform(features.to_frame().T, [speaker]).iloc[0]

    def predict(self, clip: PreparedClip, transcript: str | None = None,
                baseline: Baseline | None = None) -> LiveResult:
        """Score a prepared clip; the transcript is recognised unless given (e.g. corrected).

        With a ``baseline`` (relaxed clips of the same speaker) the features are
        normalised against it, as the paper normalises per speaker (3.3).
        """
        timings = dict(clip.timings_ms)
        warnings = list(clip.warnings)
        if transcript is None:
            with _Timer(timings, "transcript"):
                transcript = self.recogniser.transcribe(clip.signal)
        transcript = transcript.strip()
        if self.uses_text and not transcript:
            warnings.append("no words were recognised: the text side of the model saw an empty sentence")
        calibrated = baseline is not None
        if self.uses_audio and not calibrated:
            warnings.append("no baseline recorded: features were normalised with the training corpus' "
                            "pooled statistics, so the result is less reliable")
        acoustic_stats = self._acoustic_stats(baseline)  # once: the model and the z-scores share it
        with _Timer(timings, "model"):
            out = self._model_outputs(transcript, clip.features, baseline, acoustic_stats)
        timings["total"] = sum(v for k, v in timings.items() if k != "total")
        probability = float(out["stress_probability"])
        return LiveResult(
            stress_probability=probability, stressed=probability >= 0.5,
            activation=float(out["activation"]) if "activation" in out else None,
            valence=float(out["valence"]) if "valence" in out else None,
            transcript=transcript, calibrated=calibrated, timings_ms=timings, warnings=warnings,
            features=clip.features, zscores=self.zscores(clip.features, baseline, acoustic_stats))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m muser_core.predict",
                                     description="Predict stress, activation and valence for one voice clip.")
    parser.add_argument("--audio", required=True, help="WAV, FLAC, OGG (or mp4/WebM) clip")
    parser.add_argument("--transcript", help="use this transcript instead of speech recognition")
    parser.add_argument("--baseline", nargs="*", default=[], help="relaxed clips of the same speaker")
    parser.add_argument("--checkpoint", help=f"a run folder (default: {DEFAULT_CHECKPOINT})")
    args = parser.parse_args(argv)
    try:
        # Check the audio before the (slower) model load, so bad input fails at once.
        clip = prepare_clip(args.audio)
        baseline_clips = [prepare_clip(path) for path in args.baseline]
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # one JSON object on stdout, nothing else on stderr
        predictor = LivePredictor(args.checkpoint)
        predictor.warm_up()  # so the timings mean what the page's mean: with the model loaded
        result = predictor.predict(clip, args.transcript, make_baseline(baseline_clips))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result.to_json(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

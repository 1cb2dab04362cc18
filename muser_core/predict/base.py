"""The one contract every kind of model meets for live prediction, and the one scoring pipeline.

A :class:`Predictor` turns a :class:`~muser_core.predict.clip.PreparedClip`
into a :class:`LiveResult`. It knows its limits: a clip in which the voice
activity detector hears too little speech (noise, music, clicks) gets no
stress call, only a "not speech" verdict; a clip with no recognised words
reports its text side as absent; an emotion outside the model's label scale
is clipped to it with a warning; a model trained on the synthetic demo corpus
says so. Kinds: :class:`~muser_core.predict.run_model.LivePredictor` (a MUSER
run folder) and :class:`~muser_core.predict.personal.PersonalPredictor` (one
person's small model, trained on a study). The pages ask the contract, never
the kind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from muser_core.audio.decode import AudioSource
from muser_core.audio.transcribe import Recogniser
from muser_core.audio.vad import warm_up as warm_up_vad
from muser_core.features.acoustic import EGEMAPS_FEATURES
from muser_core.predict.clip import Baseline, PreparedClip, Timer, prepare_clip


@dataclass
class LiveResult:
    """What the page and the command line report for one clip.

    ``stress_probability``, ``stressed``, ``activation`` and ``valence`` are
    None when no call was made (``not_speech`` says why) or the model has no
    such head.
    """

    stress_probability: float | None
    stressed: bool | None
    activation: float | None
    valence: float | None
    transcript: str
    calibrated: bool
    timings_ms: dict[str, float]
    warnings: list[str]
    features: pd.Series                      # raw eGeMAPS of the clip
    zscores: pd.Series                       # the same, normalised as the model saw them
    recogniser: dict = field(default_factory=dict)   # what transcribed (name, model, hash)
    not_speech: str | None = None            # one line when the clip was not taken for speech
    text_absent: bool = False                # no words: the text side had nothing to read
    synthetic_model: bool = False            # the model was trained on the synthetic demo corpus
    probability_scaling: str | None = None   # how the stress probability was calibrated (temperature), if at all

    @property
    def scored(self) -> bool:
        return self.not_speech is None

    def to_json(self) -> dict:
        """The command line's JSON object."""
        def rounded(value, digits):
            return None if value is None else round(value, digits)

        return {"speech": self.scored, "not_speech": self.not_speech,
                "stress_probability": rounded(self.stress_probability, 4), "stressed": self.stressed,
                "activation": rounded(self.activation, 3), "valence": rounded(self.valence, 3),
                "transcript": self.transcript,
                "text": "absent (no words recognised)" if self.text_absent else "present",
                "calibrated": self.calibrated, "probability_scaling": self.probability_scaling,
                "synthetic_model": self.synthetic_model,
                "recogniser": self.recogniser, "warnings": self.warnings,
                "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()}}


class Predictor(ABC):
    """What the Live page and the command line need from a model of any kind, and the one scoring pipeline.

    A kind sets ``recogniser``, ``uses_text``, ``uses_audio``, ``synthetic``
    and implements :meth:`zscores` and :meth:`model_outputs`; :meth:`predict` is shared, so "not speech", "no
    words" and clipped emotions are handled the same way for every kind. The
    rest (card, headline, indicators, notices) are what a page shows about the
    model; each kind answers for itself, so no page asks which kind it has.
    """

    takes_baseline: ClassVar[bool] = True   # whether a relaxed baseline changes the normalisation
    card_first: ClassVar[bool] = False      # whether the model card is the first thing to read
    recogniser: Recogniser
    uses_text = True
    uses_audio = True
    synthetic = False
    probability_scaling: str | None = None  # e.g. "temperature scaling, T = 1.42 (fitted on validation)"

    @property
    def label_scales(self) -> dict[str, tuple[float, float]]:
        """Each emotion output's scale (none: the model gives no activation or valence)."""
        return {}

    @property
    def training_corpus(self) -> tuple[str, str] | None:
        """(corpus, split) the model learnt from, whose stress indicators a clip is compared with; None when
        the model carries its own (:meth:`own_indicators`)."""
        return None

    @property
    def notices(self) -> list[str]:
        """Warnings about the model itself (not about one clip), one line each."""
        return []

    def card(self) -> str | None:
        """The model card (markdown), when the model has one."""
        return None

    def headline(self) -> str | None:
        """What the model is and how well it was measured, in a sentence or two of markdown (None: nothing)."""
        return None

    def own_indicators(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series] | None:
        """The model's own acoustic and text stress indicators and reference word profile, when it has them."""
        return None

    def reference(self, calibrated: bool) -> str:
        """What the voice z-scores are measured against, in a few words."""
        return "your baseline" if calibrated else "the corpus"

    def warm_up(self) -> None:
        """Load the recogniser and run the model once, so the first clip is as fast as the rest."""
        warm_up_vad()
        if hasattr(self.recogniser, "warm_up"):
            self.recogniser.warm_up()
        self.model_outputs("warm up", self.zscores(pd.Series(0.0, index=EGEMAPS_FEATURES), None))

    def is_calibrated(self, baseline: Baseline | None) -> bool:
        """Whether the voice is normalised against the speaker's own statistics."""
        return baseline is not None

    @abstractmethod
    def zscores(self, features: pd.Series, baseline: Baseline | None) -> pd.Series:
        """The clip's eGeMAPS normalised as the model sees them (the baseline's statistics when it is given)."""

    @abstractmethod
    def model_outputs(self, transcript: str, zscores: pd.Series) -> pd.Series:
        """``stress_probability`` and any emotion heads' values for one clip, from its :meth:`zscores`."""

    def _emotion(self, out: pd.Series, task: str, warnings: list[str]) -> float | None:
        """An emotion head's value, clipped to the run's label scale (with a warning) when outside it.

        A model whose emotion was learnt from an external set (``ext_valence``, e.g. from EmoBank) answers
        with that head when it has no internal one.
        """
        head = task if task in out else f"ext_{task}"
        if head not in out:
            return None
        value = float(out[head])
        lo, hi = self.label_scales.get(task, (np.nan, np.nan))
        if np.isfinite(lo) and np.isfinite(hi) and not lo <= value <= hi:
            clipped = float(np.clip(value, lo, hi))
            warnings.append(f"{task} came out at {value:.2f}, outside the model's label scale {lo:g}..{hi:g}: "
                            f"shown as {clipped:g}; this clip lies outside what the model saw in training")
            value = clipped
        return value

    def prepare(self, source: AudioSource | np.ndarray, name: str | None = None,
                transcribe: bool = True) -> PreparedClip:
        """:func:`prepare_clip` with this predictor's recogniser already at work (``transcribe=False``: a
        corrected transcript will be given instead)."""
        return prepare_clip(source, name, recogniser=self.recogniser if transcribe else None)

    def predict(self, clip: PreparedClip, transcript: str | None = None,
                baseline: Baseline | None = None) -> LiveResult:
        """Score a prepared clip; the transcript is recognised unless given (e.g. corrected).

        With a ``baseline`` (relaxed clips of the same speaker) the features are
        normalised against it, as the paper normalises per speaker (3.3). A clip
        the voice activity detector does not take for speech gets no stress call.
        """
        timings = dict(clip.timings_ms)
        warnings = list(clip.warnings)
        calibrated = self.is_calibrated(baseline)
        zscores = self.zscores(clip.features, baseline)  # once: the model reads what the page shows
        recogniser = self.recogniser.describe()
        common = dict(probability_scaling=self.probability_scaling, calibrated=calibrated, features=clip.features, zscores=zscores, recogniser=recogniser,
                      synthetic_model=self.synthetic)
        if clip.speech is not None and not clip.speech.is_speech:
            # Noise, music or clicks: the model would still print a number. Make no call.
            timings["total"] = sum(v for k, v in timings.items() if k != "total")
            return LiveResult(None, None, None, None, (transcript or "").strip(), timings_ms=timings,
                              warnings=warnings, text_absent=True, **common,
                              not_speech=f"not speech: {clip.speech.verdict()}; no stress call was made")
        if transcript is None:
            with Timer(timings, "transcript"):  # with a pending transcript: only the wait after the features
                transcript = (clip.pending_transcript.result() if clip.pending_transcript is not None
                              else self.recogniser.transcribe(clip.signal))
        transcript = transcript.strip()
        text_absent = not transcript
        if self.uses_text and text_absent:
            if not self.uses_audio:
                timings["total"] = sum(v for k, v in timings.items() if k != "total")
                return LiveResult(None, None, None, None, "", timings_ms=timings, warnings=warnings,
                                  text_absent=True, **common,
                                  not_speech="no words were recognised and this model reads text only: "
                                             "no stress call was made")
            warnings.append("no words were recognised: the text side is absent (the model read an empty "
                            "sentence), so the result rests on the voice alone")
        if self.uses_audio and not calibrated:
            warnings.append("not calibrated: features were normalised with the training corpus' pooled "
                            "statistics (no relaxed baseline), so the result is less reliable")
        with Timer(timings, "model"):
            out = self.model_outputs(transcript, zscores)
        timings["total"] = sum(v for k, v in timings.items() if k != "total")
        probability = float(out["stress_probability"])
        return LiveResult(
            stress_probability=probability, stressed=probability >= 0.5,
            activation=self._emotion(out, "activation", warnings),
            valence=self._emotion(out, "valence", warnings),
            transcript=transcript, timings_ms=timings, warnings=warnings, text_absent=text_absent, **common)

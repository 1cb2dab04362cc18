"""Live prediction: one voice clip in, stress probability with activation and valence out.

The pipeline follows the paper's inputs (section 4.3): eGeMAPS functionals
normalised per speaker (3.3) and an automatic transcript (3.1) for the text
encoder. Steps: decode -> 16 kHz mono -> trim silence -> checks -> eGeMAPS ->
voice activity -> normalisation -> transcript -> model. Each step is timed.

A prediction knows its limits: a clip in which the voice activity detector
hears too little speech (noise, music, clicks) gets no stress call, only a
"not speech" verdict; a clip with no recognised words reports its text side
as absent; an emotion outside the model's label scale is clipped to it with a
warning; a model trained on the synthetic demo corpus says so.

Normalisation: the paper z-scores features per speaker. A user who records
one or more relaxed *baseline* clips is normalised against their own mean
(scaled by the training corpus' typical within-speaker spread, since a few
clips cannot estimate a spread); without a baseline, the training corpus'
pooled statistics are used and the result says it is less reliable.

Command line::

    python -m muser_core.predict --audio FILE [--transcript TEXT] [--baseline FILE ...] [--checkpoint DIR]
        [--recogniser whisper|pocketsphinx] [--asr-model CTRANSLATE2_WHISPER_FOLDER]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

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
from muser_core.audio.transcribe import DEFAULT_RECOGNISER, RECOGNISERS, Recogniser, get_recogniser
from muser_core.audio.vad import SpeechActivity, speech_activity
from muser_core.audio.vad import warm_up as warm_up_vad
from muser_core.base.errors import InputError
from muser_core.base.paths import DATA_DIR, runs_dir
from muser_core.features.acoustic import EGEMAPS_FEATURES, egemaps_from_signal

DEFAULT_CHECKPOINT = DATA_DIR / "models" / "demo-muser"  # trained on the SYNTHETIC demo corpus
MIN_SECONDS = 0.5      # shorter clips carry too few voiced frames for stable functionals
MAX_SECONDS = 60.0     # longer clips are cut: a MuSE sentence is a few seconds
CLIPPING_WARN = 0.001  # share of full-scale samples above which we warn
CALIBRATED = "<calibrated user>"  # the speaker id baseline statistics are stored under
# A run folder's files (written by the trainer); read here with json only, so
# this module does not depend on the training package's layout.
RUN_CONFIG, RUN_DATA, RUN_CHECKPOINT, RUN_NORMALISER = ("config.json", "data.json",
                                                         "checkpoint.safetensors", "normaliser.json")


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


@dataclass
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
                "calibrated": self.calibrated, "synthetic_model": self.synthetic_model,
                "recogniser": self.recogniser, "warnings": self.warnings,
                "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()}}


class _Timer:
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
    work; :meth:`Predictor.predict` then waits for it. On 2 cores this takes
    about a tenth off a 5 s clip's latency (bench/predict_latency.py).
    """
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
    pending = _transcriber().submit(recogniser.transcribe, signal) if recogniser is not None else None
    with _Timer(timings, "vad"):
        speech = speech_activity(signal)
    with _Timer(timings, "features"):
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


# --------------------------------------------------------------------------- run folders

def _read_json(path: Path, label: str) -> object:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: missing ({label})") from None
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        raise InputError(f"{path}: not readable JSON ({str(exc).splitlines()[0]})") from None


def check_run_folder(run_dir: str | Path) -> dict:
    """Check that a run folder holds a usable checkpoint before anything heavy loads; its config.

    Usable: ``config.json``, ``checkpoint.safetensors`` (a readable header) and
    a ``normaliser.json`` with what the model needs (acoustic statistics for a
    model that hears audio, the emotion heads' target scales). Each defect
    raises one :class:`InputError` naming the file.
    """
    run_dir = Path(run_dir)
    if not (run_dir / RUN_CONFIG).is_file():
        raise InputError(f"{run_dir}: not a run folder (no {RUN_CONFIG})")
    config = _read_json(run_dir / RUN_CONFIG, "the run's settings")
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict) \
            or not isinstance(config.get("data"), dict):
        raise InputError(f"{run_dir / RUN_CONFIG}: not a run configuration (no 'model' or 'data' section)")
    checkpoint = run_dir / RUN_CHECKPOINT
    if not checkpoint.is_file():
        raise InputError(f"{run_dir}: no checkpoint yet ({RUN_CHECKPOINT} missing; "
                         "the run has not finished an epoch or did not keep its weights)")
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(checkpoint), framework="pt") as handle:
            if not list(handle.keys()):
                raise InputError(f"{checkpoint}: holds no weights")
    except (OSError, SafetensorError) as exc:
        raise InputError(f"{checkpoint}: not a readable safetensors checkpoint ({exc})") from None
    stats = _read_json(run_dir / RUN_NORMALISER, "the run's normalisation statistics")
    if not isinstance(stats, dict) or not stats:
        raise InputError(f"{run_dir / RUN_NORMALISER}: holds no normalisation statistics; "
                         "this checkpoint cannot score new audio (retrain the run)")
    modality = config["model"].get("modality", "both")
    acoustic = stats.get("acoustic")
    if modality in ("audio", "both") and not (isinstance(acoustic, dict)
                                              and {"features", "speakers", "global"} <= set(acoustic)):
        raise InputError(f"{run_dir / RUN_NORMALISER}: no acoustic statistics ('acoustic' with features, "
                         "speakers and global), which a model that hears audio needs")
    return config


def trained_on_synthetic(run_dir: str | Path) -> bool:
    """Whether a run learnt from the synthetic demo data (its config or data record says so)."""
    run_dir = Path(run_dir)
    try:
        config = json.loads((run_dir / RUN_CONFIG).read_text())
    except (OSError, json.JSONDecodeError):
        config = {}
    data = config.get("data", {}) if isinstance(config, dict) else {}
    if data.get("corpus") == "demo" or data.get("external") in ("demo", "demo-external"):
        return True
    try:
        record = json.loads((run_dir / RUN_DATA).read_text())
    except (OSError, json.JSONDecodeError):
        record = {}
    if isinstance(record, dict) and record.get("synthetic") is True:
        return True
    corpus = str(data.get("corpus", ""))
    if corpus and corpus != "demo":
        # A canonical table written by muser_core.corpus says so in its sidecar
        # (``<table>.meta.json``; older copies ``<stem>.json``).
        from muser_core.data.corpus import sidecar_path

        for meta_path in (sidecar_path(corpus), Path(corpus).with_suffix(".json")):
            try:
                meta = json.loads(meta_path.read_text())
            except (OSError, json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(meta, dict) and meta.get("synthetic") is True:
                return True
    return False


def usable_checkpoints(root: str | Path | None = None) -> dict[str, Path]:
    """Run folders under ``root`` (default: the runs folder) whose checkpoint can score a clip.

    The runs come from the app's one run listing
    (:func:`muser_core.train.process.list_runs`, sweeps included); label ->
    folder, sorted by label. Folders failing :func:`check_run_folder` are left out.
    """
    from muser_core.train.process import list_runs

    root = Path(root) if root is not None else runs_dir()
    table = list_runs([(root, False)])
    found: dict[str, Path] = {}
    for name, path, has_checkpoint in zip(table["name"], table["path"], table["checkpoint"], strict=True):
        try:
            if has_checkpoint:
                check_run_folder(Path(path))
                found[name] = Path(path)
        except InputError:
            continue
    return dict(sorted(found.items()))


class Predictor:
    """What the Live page and the command line need from a model of any kind, and the one scoring pipeline.

    Two kinds exist: :class:`LivePredictor` (a MUSER run folder) and
    :class:`muser_core.personal_model.PersonalPredictor` (one person's small
    model, trained on a study). A kind sets ``recogniser``, ``uses_text``,
    ``uses_audio``, ``synthetic``, and implements :meth:`_acoustic_stats`,
    :meth:`zscores` and :meth:`_model_outputs`; :meth:`predict` is shared, so
    "not speech", "no words" and clipped emotions are handled the same way.
    """

    kind = ""
    takes_baseline = True      # whether a relaxed baseline changes the normalisation
    recogniser: Recogniser
    uses_text = True
    uses_audio = True
    synthetic = False

    @property
    def label_scales(self) -> dict[str, tuple[float, float]]:
        """Each emotion output's scale (none: the model gives no activation or valence)."""
        return {}

    def card(self) -> str | None:
        """The model card (markdown), when the model has one."""
        return None

    def reference(self, calibrated: bool) -> str:
        """What the voice z-scores are measured against, in a few words."""
        return "your baseline" if calibrated else "the corpus"

    def warm_up(self) -> None:
        """Load the recogniser and run the model once, so the first clip is as fast as the rest."""
        warm_up_vad()
        if hasattr(self.recogniser, "warm_up"):
            self.recogniser.warm_up()
        self._model_outputs("warm up", pd.Series(0.0, index=EGEMAPS_FEATURES), None)

    def _calibrated(self, baseline: Baseline | None) -> bool:
        return baseline is not None

    def _acoustic_stats(self, baseline: Baseline | None):
        raise NotImplementedError

    def zscores(self, features: pd.Series, baseline: Baseline | None = None,
                acoustic_stats=None) -> pd.Series:
        raise NotImplementedError

    def _model_outputs(self, transcript: str, features: pd.Series, baseline: Baseline | None,
                       acoustic_stats=None) -> pd.Series:
        raise NotImplementedError

    def _emotion(self, out: pd.Series, task: str, warnings: list[str]) -> float | None:
        """An emotion head's value, clipped to the run's label scale (with a warning) when outside it."""
        if task not in out:
            return None
        value = float(out[task])
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
        calibrated = self._calibrated(baseline)
        acoustic_stats = self._acoustic_stats(baseline)  # once: the model and the z-scores share it
        zscores = self.zscores(clip.features, baseline, acoustic_stats)
        recogniser = self.recogniser.describe()
        common = dict(calibrated=calibrated, features=clip.features, zscores=zscores, recogniser=recogniser,
                      synthetic_model=self.synthetic)
        if clip.speech is not None and not clip.speech.is_speech:
            # Noise, music or clicks: the model would still print a number. Make no call.
            timings["total"] = sum(v for k, v in timings.items() if k != "total")
            return LiveResult(None, None, None, None, (transcript or "").strip(), timings_ms=timings,
                              warnings=warnings, text_absent=True, **common,
                              not_speech=f"not speech: {clip.speech.verdict()}; no stress call was made")
        if transcript is None:
            with _Timer(timings, "transcript"):  # with a pending transcript: only the wait after the features
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
        with _Timer(timings, "model"):
            out = self._model_outputs(transcript, clip.features, baseline, acoustic_stats)
        timings["total"] = sum(v for k, v in timings.items() if k != "total")
        probability = float(out["stress_probability"])
        return LiveResult(
            stress_probability=probability, stressed=probability >= 0.5,
            activation=self._emotion(out, "activation", warnings),
            valence=self._emotion(out, "valence", warnings),
            transcript=transcript, timings_ms=timings, warnings=warnings, text_absent=text_absent, **common)


class LivePredictor(Predictor):
    """A trained run's model plus a recogniser, ready to score clips one at a time.

    Load once (a few seconds: the text encoder and the recogniser), then
    :meth:`predict` takes well under a second for a 5 s clip on 2 cores. It
    holds no per-user state (the baseline is passed in), so one instance can
    serve every session of the app.
    """

    kind = "run"

    def __init__(self, checkpoint: str | Path | None = None, recogniser: Recogniser | None = None):
        from muser_core.model import load_trained_model

        self.checkpoint = Path(checkpoint or DEFAULT_CHECKPOINT)
        check_run_folder(self.checkpoint)  # one clear line for a broken folder, before the slow load
        self.model, self.config, self.stats = load_trained_model(self.checkpoint)
        self.uses_text = self.config.model.uses_text
        self.uses_audio = self.config.model.uses_audio
        self.synthetic = trained_on_synthetic(self.checkpoint)
        self.recogniser = recogniser or get_recogniser()

    @property
    def label_scales(self) -> dict[str, tuple[float, float]]:
        """Each emotion head's output scale, as the run recorded it."""
        return {task: tuple(t.get("scale") or (np.nan, np.nan))
                for task, t in self.stats.get("targets", {}).items()}

    def card(self) -> str | None:
        card = self.checkpoint / "MODEL_CARD.md"
        return card.read_text() if card.is_file() else None

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
        from muser_core.features.normalise import SpeakerZScore

        speaker = CALIBRATED if baseline is not None else "<new speaker>"
        return SpeakerZScore.from_dict(stats).transform(features.to_frame().T, [speaker]).iloc[0]


def _is_personal(model: str | Path | None) -> bool:
    from muser_core.study.personal_model import MODEL_FILE

    return model is not None and (Path(model) / MODEL_FILE).is_file()


def check_model_folder(model: str | Path | None) -> None:
    """One line for an unusable model folder of either kind, before anything slow loads."""
    if _is_personal(model):
        from muser_core.study.personal_model import read_personal_model

        read_personal_model(model)
    else:
        check_run_folder(model or DEFAULT_CHECKPOINT)


def load_predictor(model: str | Path | None = None, recogniser: Recogniser | None = None) -> Predictor:
    """The predictor for a model folder of either kind: a personal model's, or a MUSER run's (the default)."""
    if _is_personal(model):
        from muser_core.study.personal_model import PersonalPredictor

        return PersonalPredictor(model, recogniser)
    return LivePredictor(model, recogniser)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m muser_core.predict",
                                     description="Predict stress, activation and valence for one voice clip.")
    parser.add_argument("--audio", required=True, help="WAV, FLAC, OGG (or mp4/WebM) clip")
    parser.add_argument("--transcript", help="use this transcript instead of speech recognition")
    parser.add_argument("--baseline", nargs="*", default=[], help="relaxed clips of the same speaker")
    parser.add_argument("--checkpoint", help=f"a run folder or a personal model's folder (default: {DEFAULT_CHECKPOINT})")
    parser.add_argument("--recogniser", choices=list(RECOGNISERS), default=DEFAULT_RECOGNISER,
                        help=f"speech recogniser (default: {DEFAULT_RECOGNISER})")
    parser.add_argument("--asr-model", help="a local CTranslate2 Whisper folder (with --recogniser whisper)")
    args = parser.parse_args(argv)
    try:
        # Check the audio and the run folder before the (slower) model load, so bad input fails at once.
        warm_up_vad()  # so the clip's "vad" timing is the steady one, as on the page
        clip = prepare_clip(args.audio)
        baseline_clips = [prepare_clip(path) for path in args.baseline]
        baseline = make_baseline(baseline_clips, names=list(args.baseline))
        check_model_folder(args.checkpoint)
        recogniser = get_recogniser(args.recogniser, args.asr_model)
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # one JSON object on stdout, nothing else on stderr
        predictor = load_predictor(args.checkpoint, recogniser)
        predictor.warm_up()  # so the timings mean what the page's mean: with the model loaded
        result = predictor.predict(clip, args.transcript, baseline)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result.to_json(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

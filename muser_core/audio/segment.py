"""Cut a long monologue into one clip per sentence, with a manifest the corpus loader reads as it is.

The paper's pre-processing (section 4.2): "each utterance ... is automatically
segmented into sentences, transcribed, and tokenized"; MuSE's monologues were
cut this way and each sentence kept the monologue's labels (3.1). Here the
recogniser's word timestamps give the cuts: a sentence ends at a word ending
in ``.``, ``?`` or ``!`` (Whisper punctuates); for a recogniser that writes no
punctuation (PocketSphinx), at a pause of at least ``pause_s``. Each clip gets
``pad_s`` of padding where the neighbours leave room; a sentence shorter than
``min_s`` is merged into its neighbour, so no clip is under 0.5 s.

Command line::

    muser segment --audio LONG.wav --speaker ID --out DIR
        [--stress 1] [--activation 6] [--valence 3] [--split train]
        [--recogniser whisper|pocketsphinx] [--asr-model FOLDER] [--pad 0.15]

writes ``DIR/clips/<speaker>_<n>.wav`` (16 kHz mono), ``DIR/manifest.csv``
(``utterance_id, speaker, text, audio_path, start_s, end_s``, the labels given,
``recogniser``, ``asr_model``) for ``muser corpus --manifest``,
and ``DIR/segment.json`` (the source, the recogniser and the settings).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from muser_core.audio.decode import TARGET_SR, AudioSource, load_audio
from muser_core.audio.transcribe import (
    DEFAULT_RECOGNISER,
    RECOGNISERS,
    Recogniser,
    Word,
    get_recogniser,
)
from muser_core.audio.vad import MIN_SPEECH_S, SpeechActivity, speech_activity
from muser_core.base.errors import InputError
from muser_core.base.files import atomic_write, file_sha256, write_json
from muser_core.base.tasks import INTERNAL_TASKS, SPLITS, stress_value

PAD_S = 0.15        # keeps the first and last phones whole: word timestamps are a few frames off
MIN_CLIP_S = 0.5    # as the live pipeline: shorter clips carry too few voiced frames for eGeMAPS
PAUSE_S = 0.8       # without punctuation, a pause this long ends a sentence
MAX_SENTENCE_S = 30.0  # a run-on "sentence" longer than this is cut at its longest pause
# Whisper writes fluent sentences over noise and music. A word counts only where the voice activity detector
# (the live pipeline's check) heard speech, and a sentence whose words outrun what can be spoken in the speech
# under it was invented: fast conversational English is about 4 words per second, so 6 leaves room.
SPEECH_MARGIN_S = 0.25  # a word's middle may lie this far outside a speech stretch (word times are a few frames off)
MAX_WORDS_PER_SPEECH_S = 6.0
MANIFEST_COLUMNS = ["utterance_id", "speaker", "text", "audio_path", "start_s", "end_s"]
LABELS = (*INTERNAL_TASKS, "split")
_SENTENCE_END = re.compile(r"[.?!][\"')\]]*$")
# A full stop after these ends no sentence ("Mr. John Dashwood").
_ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "st.", "prof.", "sr.", "jr.", "vs.", "etc.", "e.g.", "i.e."}


def _ends_sentence(text: str) -> bool:
    return bool(_SENTENCE_END.search(text)) and text.lower() not in _ABBREVIATIONS


@dataclass(frozen=True)
class Sentence:
    """One sentence: its words and the clip's bounds in the recording (padding included)."""

    words: tuple[Word, ...]
    start_s: float
    end_s: float

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def _groups(words: list[Word], punctuated: bool, pause_s: float) -> list[list[Word]]:
    groups: list[list[Word]] = [[]]
    for i, word in enumerate(words):
        groups[-1].append(word)
        last = i == len(words) - 1
        pause = not last and words[i + 1].start_s - word.end_s >= pause_s
        if not last and (_ends_sentence(word.text) if punctuated else pause):
            groups.append([])
    out: list[list[Word]] = []
    for group in groups:  # cut run-on sentences at their longest pause
        stack = [group]
        while stack:
            g = stack.pop(0)
            if g[-1].end_s - g[0].start_s <= MAX_SENTENCE_S or len(g) < 2:
                out.append(g)
                continue
            gaps = [g[j + 1].start_s - g[j].end_s for j in range(len(g) - 1)]
            cut = int(np.argmax(gaps)) + 1
            stack[:0] = [g[:cut], g[cut:]]
    return out


def _bounds(groups: list[list[Word]], duration_s: float, pad_s: float) -> list[Sentence]:
    """Pad each group's span, but at most to the middle of the gap to a neighbour, and not past the recording."""
    sentences = []
    for k, group in enumerate(groups):
        floor = (groups[k - 1][-1].end_s + group[0].start_s) / 2 if k else 0.0
        ceiling = (group[-1].end_s + groups[k + 1][0].start_s) / 2 if k + 1 < len(groups) else duration_s
        start = max(floor, group[0].start_s - pad_s, 0.0)
        end = min(ceiling, group[-1].end_s + pad_s, duration_s)
        sentences.append(Sentence(tuple(group), round(start, 3), round(end, 3)))
    return sentences


def split_sentences(words: list[Word] | tuple[Word, ...], duration_s: float, pad_s: float = PAD_S,
                    min_s: float = MIN_CLIP_S, pause_s: float = PAUSE_S) -> list[Sentence]:
    """Group timed words into sentences and give each a padded clip span of at least ``min_s``."""
    words = [w for w in words if w.text.strip()]
    if not words:
        return []
    punctuated = any(_ends_sentence(w.text) for w in words)
    groups = _groups(words, punctuated, pause_s)
    while True:
        sentences = _bounds(groups, duration_s, pad_s)
        short = next((k for k, s in enumerate(sentences) if s.duration_s < min_s), None)
        if short is None:
            return sentences
        if len(groups) == 1:
            return []  # the whole recording holds less than one clip's worth of speech
        # Merge a too-short sentence into the neighbour it is closer to in time.
        if short == 0:
            other = 1
        elif short == len(groups) - 1:
            other = short - 1
        else:
            before = groups[short][0].start_s - groups[short - 1][-1].end_s
            after = groups[short + 1][0].start_s - groups[short][-1].end_s
            other = short - 1 if before <= after else short + 1
        first, second = sorted((short, other))
        groups[first:second + 1] = [groups[first] + groups[second]]


def _speech_in(spans: tuple[tuple[float, float], ...], start_s: float, end_s: float) -> float:
    """Seconds of VAD-heard speech between ``start_s`` and ``end_s``."""
    return sum(max(0.0, min(end, end_s) - max(start, start_s)) for start, end in spans)


def heard_sentences(sentences: list[Sentence], speech: SpeechActivity) -> list[Sentence]:
    """The sentences whose words were spoken: enough speech under them, at a rate a person can speak."""
    kept = []
    for sentence in sentences:
        heard = _speech_in(speech.spans, sentence.start_s, sentence.end_s)
        if heard >= MIN_SPEECH_S and len(sentence.words) <= MAX_WORDS_PER_SPEECH_S * heard:
            kept.append(sentence)
    return kept


def segment_signal(signal: np.ndarray, recogniser: Recogniser, pad_s: float = PAD_S,
                   min_s: float = MIN_CLIP_S, pause_s: float = PAUSE_S) -> list[Sentence]:
    """Recognise a 16 kHz recording with word timings and split it into sentences of heard speech.

    Words outside the voice activity detector's speech stretches are dropped
    (noise, music), and so is a sentence with too little speech under it or
    more words than that speech can hold (:func:`heard_sentences`).
    """
    speech = speech_activity(signal)
    transcript = recogniser.recognise(signal)
    words = [w for w in transcript.words
             if _speech_in(speech.spans, (w.start_s + w.end_s) / 2 - SPEECH_MARGIN_S,
                           (w.start_s + w.end_s) / 2 + SPEECH_MARGIN_S) > 0]
    return heard_sentences(split_sentences(words, len(signal) / TARGET_SR, pad_s, min_s, pause_s), speech)


def _safe_id(speaker: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", speaker.strip()).strip("-")
    if not cleaned:
        raise InputError(f"speaker id {speaker!r}: needs at least one letter or digit")
    return cleaned


def write_segments(signal: np.ndarray, sentences: list[Sentence], out_dir: str | Path, speaker: str,
                   labels: dict[str, str] | None = None, recogniser: dict | None = None,
                   record: dict | None = None) -> Path:
    """Write one WAV per sentence and ``manifest.csv`` (paths relative to ``out_dir``); returns the manifest."""
    ident = _safe_id(speaker)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir}: is a file, not a folder")
    clips_dir = out_dir / "clips"
    if (out_dir / "manifest.csv").exists():
        raise InputError(f"--out {out_dir}: already holds a manifest.csv (choose an empty folder)")
    try:
        clips_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {out_dir}: cannot create the folder ({exc.strerror})") from None
    labels = {k: v for k, v in (labels or {}).items() if v not in (None, "")}
    recogniser = recogniser or {}
    rows = []
    for n, sentence in enumerate(sentences, start=1):
        uid = f"{ident}_{n:03d}"
        audio = f"clips/{uid}.wav"
        piece = signal[int(round(sentence.start_s * TARGET_SR)): int(round(sentence.end_s * TARGET_SR))]
        soundfile.write(out_dir / audio, piece, TARGET_SR, subtype="PCM_16")
        rows.append({"utterance_id": uid, "speaker": speaker, "text": sentence.text, "audio_path": audio,
                     "start_s": f"{sentence.start_s:.3f}", "end_s": f"{sentence.end_s:.3f}", **labels,
                     "recogniser": recogniser.get("recogniser", ""), "asr_model": recogniser.get("model", "")})
    columns = MANIFEST_COLUMNS + [k for k in LABELS if k in labels] + ["recogniser", "asr_model"]
    manifest = out_dir / "manifest.csv"
    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)

    atomic_write(manifest, write)   # whole or not at all: a full disk keeps the previous manifest
    record = {**(record or {}), "speaker": speaker, "sentences": len(rows), "labels": labels,
              "recogniser": recogniser, "duration_s": round(len(signal) / TARGET_SR, 3)}
    write_json(out_dir / "segment.json", record)
    return manifest


def segment_file(audio: AudioSource, out_dir: str | Path, speaker: str, recogniser: Recogniser,
                 labels: dict[str, str] | None = None, name: str | None = None,
                 pad_s: float = PAD_S, sentences: list[Sentence] | None = None) -> tuple[Path, list[Sentence]]:
    """Decode a recording, split it into sentences and write the clips and manifest.

    ``sentences``: this recording's :func:`segment_signal` result with this recogniser and ``pad_s``, made
    earlier (the page keeps it per file, so a new speaker id does not transcribe again).
    """
    signal = load_audio(audio, name)
    if sentences is None:
        sentences = segment_signal(signal, recogniser, pad_s)
    label = name or str(audio)
    if not sentences:
        raise InputError(f"{label}: no speech with recognised words (or under {MIN_CLIP_S} s of it), so there is no "
                         "sentence to cut")
    in_memory = isinstance(audio, bytes)
    record = {"source": label if in_memory else str(Path(audio).resolve()),
              # A file is hashed block by block: a long recording's bytes are never held beside its signal.
              "source_sha256": hashlib.sha256(audio).hexdigest() if in_memory else file_sha256(audio),
              "pad_s": pad_s, "min_clip_s": MIN_CLIP_S, "pause_s": PAUSE_S}
    manifest = write_segments(signal, sentences, out_dir, speaker, labels, recogniser.describe(), record)
    return manifest, sentences


def _check_labels(labels: dict) -> None:
    """Refuse a --stress or --split the corpus loader would refuse later, in one line naming the flag."""
    if labels.get("stress") is not None:
        try:
            stress_value(labels["stress"])
        except ValueError:
            raise InputError(f"--stress {labels['stress']!r}: give 1/0 or stressed/not stressed") from None
    if labels.get("split") is not None and labels["split"] not in SPLITS:
        raise InputError(f"--split {labels['split']!r}: give {', '.join(SPLITS)}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``muser segment``'s flags."""
    parser.add_argument("--audio", required=True, help="the long recording (WAV, FLAC, OGG, mp4, WebM...)")
    parser.add_argument("--speaker", required=True, help="the speaker's id, written on every row")
    parser.add_argument("--out", required=True, help="an empty folder for clips/, manifest.csv, segment.json")
    parser.add_argument("--stress", help="label for every sentence: 1/0 or stressed/not stressed")
    parser.add_argument("--activation", type=float, help="label for every sentence (the data set's scale)")
    parser.add_argument("--valence", type=float, help="label for every sentence (the data set's scale)")
    parser.add_argument("--split", help="train, validation or test for every sentence")
    parser.add_argument("--recogniser", choices=list(RECOGNISERS), default=DEFAULT_RECOGNISER)
    parser.add_argument("--asr-model", help="a local CTranslate2 Whisper folder (with --recogniser whisper)")
    parser.add_argument("--pad", type=float, default=PAD_S, help=f"seconds of padding (default {PAD_S})")


def run(args: argparse.Namespace) -> int:
    labels = {"stress": args.stress, "activation": None if args.activation is None else f"{args.activation:g}",
              "valence": None if args.valence is None else f"{args.valence:g}", "split": args.split}
    if not 0 <= args.pad <= 2:
        raise InputError(f"--pad {args.pad}: between 0 and 2 seconds")
    _safe_id(args.speaker)
    _check_labels(labels)   # before the (slow) recogniser: a typo must not cost a transcription
    recogniser = get_recogniser(args.recogniser, args.asr_model)
    manifest, sentences = segment_file(args.audio, args.out, args.speaker, recogniser, labels, pad_s=args.pad)
    print(f"{len(sentences)} sentences -> {manifest}")
    for s in sentences:
        print(f"  {s.start_s:7.2f}-{s.end_s:7.2f} s  {s.text}")
    return 0

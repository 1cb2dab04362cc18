"""Sentence segmentation of a long recording (paper 4.2): by hand on timed words, then on a real reading."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile
from conftest import write_wav

from muser_core.audio.segment import (
    MAX_WORDS_PER_SPEECH_S,
    MIN_CLIP_S,
    Sentence,
    heard_sentences,
    segment_file,
    segment_signal,
    split_sentences,
    write_segments,
)
from muser_core.audio.transcribe import Word, get_recogniser, word_error_rate
from muser_core.audio.vad import SpeechActivity
from muser_core.base.errors import InputError
from muser_core.cli import run_command
from muser_core.data.manifest import load_manifest
from muser_core.predict.samples import long_reading

segment_main = run_command("segment")


def words(*spec):
    return [Word(text, start, end) for text, start, end in spec]


def test_sentences_end_at_full_stops_not_at_titles():
    timed = words(("And", 0.2, 0.4), ("Mr.", 0.4, 0.6), ("Smith", 0.6, 1.0), ("left.", 1.0, 1.5),
                  ("He", 2.5, 2.7), ("was", 2.7, 2.9), ("glad!", 2.9, 3.6))
    sentences = split_sentences(timed, duration_s=4.0, pad_s=0.15)
    assert [s.text for s in sentences] == ["And Mr. Smith left.", "He was glad!"]
    # padding 0.15 s each side where there is room (independent arithmetic)
    assert (sentences[0].start_s, sentences[0].end_s) == (0.05, 1.65)
    assert (sentences[1].start_s, sentences[1].end_s) == (2.35, 3.75)


def test_padding_stops_halfway_to_the_neighbour_and_at_the_edges():
    timed = words(("One.", 0.0, 0.8), ("Two.", 0.9, 1.7))
    first, second = split_sentences(timed, duration_s=1.75, pad_s=0.15)
    assert first.start_s == 0.0 and first.end_s == pytest.approx(0.85)    # middle of the 0.1 s gap
    assert second.start_s == pytest.approx(0.85) and second.end_s == 1.75  # the recording ends there


def test_short_sentences_merge_into_the_nearer_neighbour():
    timed = words(("Well.", 0.0, 0.2), ("I", 0.3, 0.5), ("went", 0.5, 0.9), ("home.", 0.9, 1.4),
                  ("Then", 3.0, 3.3), ("slept.", 3.3, 3.9))
    sentences = split_sentences(timed, duration_s=4.0, pad_s=0.0)
    assert [s.text for s in sentences] == ["Well. I went home.", "Then slept."]
    assert all(s.duration_s >= MIN_CLIP_S for s in sentences)


def test_without_punctuation_pauses_end_sentences():
    timed = words(("i", 0.0, 0.3), ("went", 0.3, 0.8), ("home", 2.0, 2.5), ("then", 2.6, 3.0))
    assert [s.text for s in split_sentences(timed, 3.5, pause_s=0.8)] == ["i went", "home then"]
    assert split_sentences([], 3.0) == []
    assert split_sentences(words(("Hi.", 0.1, 0.3)), 0.4, pad_s=0.0) == []   # no clip under 0.5 s, ever


@pytest.fixture(scope="module")
def reading():
    """Five real sentences read by one LibriVox volunteer, joined into one 24.7 s monologue."""
    return long_reading()


def test_a_real_reading_is_cut_at_its_sentence_ends(tmp_path, reading):
    signal, spans = reading
    path = tmp_path / "reading.wav"
    soundfile.write(path, signal, 16000)
    out = tmp_path / "cut"
    proc = subprocess.run([sys.executable, "-m", "muser_core", "segment", "--audio", str(path), "--speaker", "ss01",
                           "--out", str(out), "--stress", "0", "--activation", "3"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    corpus = load_manifest(out / "manifest.csv")                  # the corpus loader reads it as it is
    table = corpus.table
    assert not corpus.skipped and len(table) >= 4, table["text"].tolist()
    assert set(table["stress"]) == {0.0} and set(table["activation"]) == {3.0}
    assert set(table["recogniser"]) == {"whisper"} and set(table["asr_model"]) == {"tiny.en"}
    starts, ends = table["start_s"].astype(float).to_numpy(), table["end_s"].astype(float).to_numpy()
    assert (ends - starts >= MIN_CLIP_S).all() and (starts[1:] >= ends[:-1] - 1e-6).all()
    # Every cut lies near a true sentence end of the reading (the reader's own sentence joins).
    joins = np.array([end for _, end, _ in spans[:-1]])
    for cut in (starts[1:] + ends[:-1]) / 2:
        assert np.abs(joins - cut).min() < 0.4, (cut, joins)
    # Each clip holds what its start and end say, and together they hold the reading's words.
    for row in table.itertuples():
        info = soundfile.info(row.audio_path)
        assert info.samplerate == 16000 and info.channels == 1
        assert info.duration == pytest.approx(float(row.end_s) - float(row.start_s), abs=0.002)
    assert word_error_rate([" ".join(t for *_, t in spans)], [" ".join(table["text"])]) <= 0.10


def test_pauses_cut_for_a_recogniser_without_punctuation(reading):
    signal, spans = long_reading(gap_s=1.0)
    transcript = get_recogniser("pocketsphinx").recognise(signal)
    sentences = split_sentences(transcript.words, len(signal) / 16000)
    assert len(sentences) == len(spans), [s.text for s in sentences]


def test_bad_output_folder_and_speaker(tmp_path, reading):
    signal, _ = reading
    sentences = split_sentences(words(("Hello there.", 0.0, 1.0)), 1.2)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file, not a folder"):
        write_segments(signal, sentences, tmp_path / "file", "s1")
    write_segments(signal, sentences, tmp_path / "cut", "s1")
    with pytest.raises(InputError, match="already holds a manifest.csv"):
        write_segments(signal, sentences, tmp_path / "cut", "s1")
    with pytest.raises(InputError, match="speaker id '///'"):   # said the same on the page and the command line
        write_segments(signal, sentences, tmp_path / "cut2", "///")
    proc = subprocess.run([sys.executable, "-m", "muser_core", "segment", "--audio", str(tmp_path / "missing.wav"),
                           "--speaker", "s1", "--out", str(tmp_path / "cut3")], capture_output=True, text=True)
    assert proc.returncode == 2 and "file not found" in proc.stderr and "Traceback" not in proc.stderr


def test_white_noise_yields_no_sentence_and_noise_around_speech_is_dropped(tmp_path, reading):
    """5 s of white noise gives no clip, not a 1.57 s clip of ~70 invented words. Segmenting applies the live
    pipeline's speech check: words only where the VAD heard speech, at a rate one can speak."""
    noise = (np.random.default_rng(0).standard_normal(5 * 16000) * 0.3).astype(np.float32)
    whisper = get_recogniser("whisper")
    assert segment_signal(noise, whisper) == []
    path = tmp_path / "noise.wav"
    soundfile.write(path, noise, 16000)
    with pytest.raises(InputError, match=r"noise.wav: no speech with recognised words"):
        segment_file(path, tmp_path / "out", "P01", whisper)
    assert not (tmp_path / "out" / "manifest.csv").exists()
    # The real reading with noise after it: the sentences are the reading's, none lies in the noise.
    signal, spans = reading
    both = np.concatenate([signal, noise * 0.5])
    sentences = segment_signal(both, whisper)
    assert sentences and max(s.end_s for s in sentences) <= len(signal) / 16000 + 0.5
    assert all(len(s.words) <= MAX_WORDS_PER_SPEECH_S * (s.end_s - s.start_s) for s in sentences)


def test_a_sentence_with_more_words_than_its_speech_can_hold_is_dropped():

    spoken = Sentence(tuple(words(("I", 0.0, 0.3), ("am", 0.3, 0.6), ("fine.", 0.6, 1.2))), 0.0, 1.2)
    invented = Sentence(tuple(Word(f"w{i}", 2.0 + i * 0.01, 2.01 + i * 0.01) for i in range(60)), 2.0, 2.6)
    speech = SpeechActivity(1.7, 5.0, ((0.0, 1.2), (2.0, 2.5)))
    # 3 words in 1.2 s of speech are kept; 60 words in 0.5 s (120 per second) were not spoken.
    assert heard_sentences([spoken, invented], speech) == [spoken]


@pytest.mark.parametrize("flag,value,message", [("--stress", "maybe", "--stress 'maybe': give 1/0"),
                                                ("--split", "exam", "--split 'exam': give train, validation, test")])
def test_label_flags_are_checked_before_recognition(tmp_path, capsys, flag, value, message):
    """A bad --stress/--split is refused at once, not left for the corpus loader to refuse the manifest later."""
    # A recogniser that cannot load: had the flags been checked after it, its error would show instead.
    status = segment_main(["--audio", str(tmp_path / "a.wav"), "--speaker", "s1", "--out", str(tmp_path / "out"),
                           "--recogniser", "whisper", "--asr-model", str(tmp_path / "no-model"), flag, value])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith(f"error: {message}") and err.count("\n") == 1, err


def test_cutting_a_long_recording_holds_its_signal_once_not_its_file_bytes(tmp_path):
    """Peak memory of ``segment_file`` on a minute of 44.1 kHz stereo WAV (10 MB of file for a 3.7 MB signal),
    given its sentences: near the 16 kHz signal's own size; the file is hashed block by block, never read whole."""
    import hashlib
    import tracemalloc

    path = write_wav(tmp_path / "minute.wav", seconds=60.0, sr=44_100, channels=2)
    sentences = split_sentences(words(*((f"Sentence {k}.", 10.0 * k, 10.0 * k + 8.0) for k in range(6))), 60.0)
    recogniser = get_recogniser("pocketsphinx")
    tracemalloc.start()
    try:
        manifest, _ = segment_file(path, tmp_path / "cut", "s1", recogniser, sentences=sentences)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    signal_bytes = 60 * 16_000 * 4
    assert len(load_manifest(manifest).table) == 6
    record = json.loads((tmp_path / "cut" / "segment.json").read_text())
    assert record["source_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert peak < 1.25 * signal_bytes + 2 * 2**20, f"peak {peak / 2**20:.1f} MB for a {signal_bytes / 2**20:.1f} MB signal"

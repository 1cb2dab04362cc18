"""Decoding to 16 kHz mono from the formats users bring, and the bad-input messages."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from conftest import voiced_signal, write_mp4, write_wav

from muser_core.audio import decode
from muser_core.audio.decode import TARGET_SR, clipping_share, load_audio, trim_silence
from muser_core.base.errors import InputError


@pytest.mark.parametrize("sr", [8_000, 16_000, 22_050, 44_100, 48_000])
@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "FLOAT"])
def test_wav_rates_and_depths_become_16k_mono(tmp_path, sr, subtype):
    path = write_wav(tmp_path / "a.wav", seconds=1.0, sr=sr, channels=2, subtype=subtype)
    signal = load_audio(path)
    assert signal.dtype == np.float32 and signal.ndim == 1
    assert len(signal) == pytest.approx(TARGET_SR, abs=2)
    # Same content whatever the format: compare with the 16 kHz original.
    reference = voiced_signal(1.0, TARGET_SR)
    tolerance = 0.05 if subtype == "PCM_U8" or sr == 8_000 else 0.02
    assert np.sqrt(np.mean((signal[:15000] - reference[:15000]) ** 2)) < tolerance


@pytest.mark.parametrize("fmt,subtype", [("FLAC", "PCM_16"), ("OGG", "VORBIS")])
def test_flac_and_ogg(tmp_path, fmt, subtype):
    path = tmp_path / f"a.{fmt.lower()}"
    soundfile.write(path, voiced_signal(1.0, 44_100), 44_100, format=fmt, subtype=subtype)
    assert len(load_audio(path)) == pytest.approx(TARGET_SR, abs=600)


def test_mp4_through_ffmpeg(tmp_path):
    signal = load_audio(write_mp4(tmp_path / "clip.mp4", seconds=1.0))
    assert len(signal) == pytest.approx(TARGET_SR, abs=2000)  # AAC adds priming samples
    assert np.abs(signal).max() > 0.05


def test_bytes_input_matches_file(tmp_path):
    path = write_wav(tmp_path / "a.wav")
    np.testing.assert_array_equal(load_audio(path.read_bytes()), load_audio(path))


@pytest.mark.parametrize("content,message", [
    (b"", "empty"),
    (b"this is not audio at all" * 50, "not a readable audio file"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01", "not a readable audio file"),
])
def test_bad_files_give_one_clear_line(tmp_path, content, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        load_audio(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_silence_and_missing(tmp_path):
    path = tmp_path / "silent.wav"
    soundfile.write(path, np.zeros(16000, np.float32), 16000)
    with pytest.raises(InputError, match="silent"):
        load_audio(path)
    with pytest.raises(InputError, match="not found"):
        load_audio(tmp_path / "nope.wav")


def test_trim_silence_cuts_quiet_edges():
    speech = voiced_signal(1.0)
    padded = np.concatenate([np.zeros(8000, np.float32), speech, np.zeros(16000, np.float32)])
    trimmed = trim_silence(padded)
    assert len(trimmed) == pytest.approx(len(speech), abs=800)


def test_clipping_share():
    assert clipping_share(np.array([0.0, 1.0, -1.0, 0.5], np.float32)) == 0.5


def test_a_float_recording_over_full_scale_is_refused_and_a_small_over_is_clipped(tmp_path):
    """Peaks of 3x full scale are refused: passed on, openSMILE would wrap or clip them and HNR would change."""
    loud = tmp_path / "loud.wav"
    soundfile.write(loud, 3.0 * voiced_signal(1.0) / np.abs(voiced_signal(1.0)).max(), TARGET_SR, subtype="FLOAT")
    with pytest.raises(InputError, match=r"reach 3\.00 times full scale") as info:
        load_audio(loud)
    assert str(loud) in str(info.value)
    barely = tmp_path / "barely.wav"
    soundfile.write(barely, 1.005 * voiced_signal(1.0) / np.abs(voiced_signal(1.0)).max(), TARGET_SR,
                    subtype="FLOAT")
    assert np.abs(load_audio(barely)).max() == pytest.approx(1.0)


def test_a_rate_below_speech_and_a_device_are_one_line(tmp_path):
    """A 1 Hz WAV is refused rather than upsampled silently; /dev/zero is "not a regular file", not "file not
    found"."""
    path = tmp_path / "1hz.wav"
    soundfile.write(path, voiced_signal(1.0, 16_000)[:400], 1)
    with pytest.raises(InputError, match="sampled at 1 Hz; speech needs at least 8000 Hz"):
        load_audio(path)
    with pytest.raises(InputError, match="/dev/zero: not a regular file"):
        load_audio("/dev/zero")
    with pytest.raises(InputError, match="is a folder"):
        load_audio(tmp_path)


def _one_shot(path) -> np.ndarray:
    """The whole file read at once, mixed to mono, clipped and resampled in one call (an independent path)."""
    import soxr

    signal, rate = soundfile.read(path, dtype="float32", always_2d=True)
    return soxr.resample(np.clip(signal.mean(axis=1), -1.0, 1.0), rate, TARGET_SR)


def test_decoding_block_by_block_gives_the_one_shot_samples(tmp_path):
    path = write_wav(tmp_path / "long.wav", seconds=7.3, sr=44_100, channels=2, subtype="PCM_16")
    assert soundfile.info(path).frames > 4 * decode.BLOCK_FRAMES       # several blocks
    np.testing.assert_array_equal(load_audio(path), _one_shot(path))


@pytest.mark.parametrize("kind", ["wav", "mp4"])
def test_a_long_recording_is_held_once_at_16k(tmp_path, kind):
    """Peak memory of decoding a minute of 44.1 kHz audio (stereo WAV, or AAC through FFmpeg) stays near the
    16 kHz result's own size: never the recording at its own rate, in stereo, or a second whole copy."""
    import tracemalloc

    path = (write_wav(tmp_path / "minute.wav", seconds=60.0, sr=44_100, channels=2, subtype="PCM_16")
            if kind == "wav" else write_mp4(tmp_path / "minute.mp4", seconds=60.0))
    tracemalloc.start()
    try:
        signal = load_audio(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(signal) == pytest.approx(60 * TARGET_SR, abs=2048)
    assert peak < 1.25 * signal.nbytes + 2 * 2**20, f"peak {peak / 2**20:.1f} MB for a {signal.nbytes / 2**20:.1f} MB result"

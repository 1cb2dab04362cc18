"""Decode any audio the app meets into 16 kHz mono float32, and check it is usable.

WAV/FLAC/OGG (8 kHz and up, 8/16/24-bit or float, mono or stereo) are decoded by
libsndfile (``soundfile``); anything else (mp4 clips of OMG-Emotion, browser
recordings in WebM) by FFmpeg through PyAV. Resampling uses libsoxr.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import soundfile
import soxr

from muser_core.base.errors import InputError

TARGET_SR = 16_000          # openSMILE's eGeMAPS and the recogniser both work at 16 kHz
SILENCE_PEAK = 1e-4         # a peak below this (-80 dBFS) is taken as digital silence
MIN_RATE = 8_000            # telephone speech; below it the voice's formants are not in the signal
OVER_FULL_SCALE = 1.01      # float samples up to 1 % over full scale are clipped; beyond, the file is refused

AudioSource = str | Path | bytes


def _name(source: AudioSource, name: str | None) -> str:
    return name or (str(source) if not isinstance(source, bytes) else "uploaded audio")


def _decode_soundfile(source: AudioSource) -> tuple[np.ndarray, int]:
    data = io.BytesIO(source) if isinstance(source, bytes) else source
    signal, rate = soundfile.read(data, dtype="float32", always_2d=True)
    return signal.mean(axis=1), rate


def _decode_ffmpeg(source: AudioSource) -> tuple[np.ndarray, int]:
    import av  # imported lazily: only mp4/webm and other containers need FFmpeg

    data = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    with av.open(data) as container:
        if not container.streams.audio:
            raise InputError("no audio stream")
        stream = container.streams.audio[0]
        # Ask FFmpeg for float mono at the target rate so no second resampling is needed.
        resampler = av.AudioResampler(format="flt", layout="mono", rate=TARGET_SR)
        chunks = [frame.to_ndarray().reshape(-1)
                  for packet_frame in container.decode(stream)
                  for frame in resampler.resample(packet_frame)]
        chunks += [frame.to_ndarray().reshape(-1) for frame in resampler.resample(None)]
    return (np.concatenate(chunks) if chunks else np.zeros(0, np.float32)), TARGET_SR


def load_audio(source: AudioSource, name: str | None = None) -> np.ndarray:
    """Decode a file path or raw bytes to a 16 kHz mono float32 signal.

    Raises :class:`InputError` naming the file when it is missing, not a
    regular file, not audio, has a broken header, is empty, is sampled below
    8 kHz, is a float recording more than 1 % over full scale (up to that it
    is clipped to -1..1), or is digital silence.
    """
    label = _name(source, name)
    if not isinstance(source, bytes):
        path = Path(source)
        if path.is_dir():
            raise InputError(f"{label}: is a folder, not an audio file")
        if path.exists() and not path.is_file():
            raise InputError(f"{label}: not a regular file (a device or pipe), so not an audio file")
        if not path.is_file():
            raise InputError(f"{label}: file not found")
        if path.stat().st_size == 0:
            raise InputError(f"{label}: file is empty")
    elif not source:
        raise InputError(f"{label}: file is empty")
    try:
        signal, rate = _decode_soundfile(source)
    except (soundfile.LibsndfileError, RuntimeError, TypeError):
        try:
            signal, rate = _decode_ffmpeg(source)
        except InputError as exc:
            raise InputError(f"{label}: {exc}") from None
        except Exception:  # PyAV raises many error types for non-audio bytes
            raise InputError(f"{label}: not a readable audio file (unknown format or broken header)") from None
    if signal.size == 0:
        raise InputError(f"{label}: contains no audio samples")
    if not np.isfinite(signal).all():
        raise InputError(f"{label}: contains invalid (NaN or infinite) samples")
    if rate < MIN_RATE:
        raise InputError(f"{label}: sampled at {rate} Hz; speech needs at least {MIN_RATE} Hz")
    peak = float(np.abs(signal).max())
    if peak > OVER_FULL_SCALE:
        # A float recording over 0 dBFS: openSMILE and the recogniser read -1..1, and clipping it would
        # change loudness and voice quality without a word; the user scales it (or lets us not guess).
        raise InputError(f"{label}: its samples reach {peak:.2f} times full scale (a float recording over "
                         "0 dBFS); scale it down to peaks at or below 1.0 (e.g. sox --norm=-1) and try again")
    signal = np.clip(signal, -1.0, 1.0)
    if rate != TARGET_SR:
        signal = soxr.resample(signal, rate, TARGET_SR).astype(np.float32)
    if float(np.abs(signal).max()) < SILENCE_PEAK:
        raise InputError(f"{label}: is silent (peak below -80 dBFS)")
    return np.ascontiguousarray(signal, dtype=np.float32)


def trim_silence(signal: np.ndarray, threshold_db: float = -40.0,
                 frame_ms: float = 20.0, sample_rate: int = TARGET_SR) -> np.ndarray:
    """Cut leading and trailing frames quieter than ``threshold_db`` below the loudest frame."""
    frame = max(1, int(sample_rate * frame_ms / 1000))
    n = len(signal) // frame
    if n == 0:
        return signal
    rms = np.sqrt(np.mean(signal[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(rms / rms.max()) > threshold_db)
    if loud.size == 0:
        return signal
    return signal[loud[0] * frame: (loud[-1] + 1) * frame]


def duration_s(signal: np.ndarray, sample_rate: int = TARGET_SR) -> float:
    """Length of a signal in seconds."""
    return len(signal) / sample_rate


def clipping_share(signal: np.ndarray, level: float = 0.999) -> float:
    """Share of samples at full scale: a few per mille already means audible clipping."""
    return float(np.mean(np.abs(signal) >= level)) if signal.size else 0.0

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


BLOCK_FRAMES = 65_536       # frames decoded at a time: a long recording is held once, at 16 kHz mono


class _Mono16k:
    """Decoded blocks, checked and clipped, resampled block by block into one 16 kHz mono float32 array.

    A two-hour 44.1 kHz stereo recording is 2.5 GB as float32 at its own rate; this way only the 16 kHz
    result (460 MB) and one block are ever held. soxr's stream gives the same samples as its one-shot
    ``soxr.resample``.
    """

    def __init__(self, label: str, rate: int, expected_frames: int | None):
        if rate < MIN_RATE:
            raise InputError(f"{label}: sampled at {rate} Hz; speech needs at least {MIN_RATE} Hz")
        self.label = label
        self.resampler = soxr.ResampleStream(rate, TARGET_SR, 1, dtype="float32") if rate != TARGET_SR else None
        expected = int(expected_frames * TARGET_SR / rate) + 64 if expected_frames else 30 * TARGET_SR
        self.out = np.empty(expected, np.float32)
        self.size = 0
        self.frames = 0
        self.peak = 0.0      # of the 16 kHz result, kept as it grows (np.abs of the whole would be a second copy)

    def add(self, block: np.ndarray) -> None:
        """One block of mono float32 samples at the source's rate."""
        if block.size and not np.isfinite(block).all():
            raise InputError(f"{self.label}: contains invalid (NaN or infinite) samples")
        peak = float(np.abs(block).max()) if block.size else 0.0
        if peak > OVER_FULL_SCALE:
            # A float recording over 0 dBFS: openSMILE and the recogniser read -1..1, and clipping it would
            # change loudness and voice quality without a word; the user scales it (or lets us not guess).
            raise InputError(f"{self.label}: its samples reach {peak:.2f} times full scale (a float recording "
                             "over 0 dBFS); scale it down to peaks at or below 1.0 (e.g. sox --norm=-1) and "
                             "try again")
        self.frames += block.size
        np.clip(block, -1.0, 1.0, out=block)
        self._append(self.resampler.resample_chunk(block) if self.resampler else block)

    def _append(self, samples: np.ndarray) -> None:
        end = self.size + samples.size
        if end > self.out.size:   # longer than the container said: grow by half
            grown = np.empty(max(end, self.out.size * 3 // 2), np.float32)
            grown[: self.size] = self.out[: self.size]
            self.out = grown
        self.out[self.size: end] = samples
        self.size = end
        if samples.size:
            self.peak = max(self.peak, float(np.abs(samples).max()))

    def result(self) -> np.ndarray:
        if self.frames == 0:
            raise InputError(f"{self.label}: contains no audio samples")
        if self.resampler:
            self._append(self.resampler.resample_chunk(np.zeros(0, np.float32), last=True))
        signal = self.out[: self.size]
        if self.peak < SILENCE_PEAK:
            raise InputError(f"{self.label}: is silent (peak below -80 dBFS)")
        return signal if self.size > 0.9 * self.out.size else signal.copy()   # no large unused tail kept


def _decode_soundfile(source: AudioSource, label: str) -> np.ndarray:
    data = io.BytesIO(source) if isinstance(source, bytes) else source
    with soundfile.SoundFile(data) as audio:
        mono = _Mono16k(label, audio.samplerate, audio.frames)
        for block in audio.blocks(BLOCK_FRAMES, dtype="float32", always_2d=True):
            mono.add(block[:, 0].copy() if block.shape[1] == 1 else block.mean(axis=1, dtype=np.float32))
    return mono.result()


def _decode_ffmpeg(source: AudioSource, label: str) -> np.ndarray:
    import av  # imported lazily: only mp4/webm and other containers need FFmpeg

    data = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    with av.open(data) as container:
        if not container.streams.audio:
            raise InputError(f"{label}: no audio stream")
        stream = container.streams.audio[0]
        seconds = (float(stream.duration * stream.time_base) if stream.duration and stream.time_base
                   else container.duration / 1e6 if container.duration else None)
        # Ask FFmpeg for float mono at the target rate so no second resampling is needed.
        mono = _Mono16k(label, TARGET_SR, int(seconds * TARGET_SR) if seconds else None)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=TARGET_SR)
        for decoded in container.decode(stream):
            for frame in resampler.resample(decoded):
                mono.add(frame.to_ndarray().reshape(-1))
        for frame in resampler.resample(None):
            mono.add(frame.to_ndarray().reshape(-1))
    return mono.result()


def load_audio(source: AudioSource, name: str | None = None) -> np.ndarray:
    """Decode a file path or raw bytes to a 16 kHz mono float32 signal.

    Raises :class:`InputError` naming the file when it is missing, not a
    regular file, not audio, has a broken header, is empty, is sampled below
    8 kHz, is a float recording more than 1 % over full scale (up to that it
    is clipped to -1..1), or is digital silence. Decoding goes block by
    block, so a long recording is held once, as its 16 kHz result.
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
        return _decode_soundfile(source, label)
    except (soundfile.LibsndfileError, RuntimeError, TypeError):
        try:
            return _decode_ffmpeg(source, label)
        except InputError:
            raise
        except Exception:  # PyAV raises many error types for non-audio bytes
            raise InputError(f"{label}: not a readable audio file (unknown format or broken header)") from None


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

"""Is there speech in a clip? Voice activity from the Silero VAD model inside faster-whisper.

Noise, music or clicks give an eGeMAPS vector and (from Whisper) sometimes a
made-up sentence all the same, and the model would score them as if someone
spoke. The live pipeline asks this first and makes no stress call on a clip
where the voice activity detector hears too little speech. Silero VAD v6
ships as an ONNX file inside the ``faster-whisper`` package (run by
``onnxruntime``, no network).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from muser_core.audio.decode import TARGET_SR

MIN_SPEECH_S = 0.5     # as the shortest clip we score: less speech than this is not a sentence
MIN_SPEECH_SHARE = 0.2  # below this share of the (trimmed) clip, the rest is something else
PIECE_S = 300.0         # a longer recording is analysed in pieces cut in pauses (bounded memory)


@dataclass(frozen=True)
class SpeechActivity:
    """How much of a clip the voice activity detector took for speech."""

    speech_s: float
    duration_s: float
    spans: tuple[tuple[float, float], ...]   # (start_s, end_s) of each speech stretch

    @property
    def share(self) -> float:
        return self.speech_s / self.duration_s if self.duration_s else 0.0

    @property
    def is_speech(self) -> bool:
        return self.speech_s >= MIN_SPEECH_S and self.share >= MIN_SPEECH_SHARE

    def verdict(self) -> str:
        """One line for the user: what was heard."""
        return (f"voice activity detection (Silero VAD) heard {self.speech_s:.1f} s of speech in "
                f"{self.duration_s:.1f} s ({self.share:.0%})")


def speech_activity(signal: np.ndarray, sample_rate: int = TARGET_SR) -> SpeechActivity:
    """Silero VAD's speech stretches in a 16 kHz signal (deterministic: no sampling, one ONNX pass)."""
    if sample_rate != TARGET_SR:
        raise ValueError(f"the VAD expects {TARGET_SR} Hz audio, got {sample_rate}")
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    # A pause of 0.3 s ends a stretch; 30 ms of padding keeps word edges without
    # counting much silence as speech.
    options = VadOptions(min_silence_duration_ms=300, speech_pad_ms=30)
    signal = np.asarray(signal, dtype=np.float32)
    spans: list[tuple[float, float]] = []
    # faster-whisper pads its input and copies it into overlapping windows (2.1x the signal), so a long
    # recording goes in pieces cut in pauses; a clip up to PIECE_S is one piece, as before.
    for start, end in quiet_pieces(signal, PIECE_S):
        stamps = get_speech_timestamps(signal[start:end], options)
        spans += [((start + s["start"]) / sample_rate, (start + s["end"]) / sample_rate) for s in stamps]
    return SpeechActivity(round(sum(e - s for s, e in spans), 3), len(signal) / sample_rate, tuple(spans))


def quiet_pieces(signal: np.ndarray, max_s: float, search_s: float = 30.0,
                 sample_rate: int = TARGET_SR) -> list[tuple[int, int]]:
    """(start, end) sample ranges covering ``signal`` in pieces of at most ``max_s`` seconds.

    Each cut is at the quietest 20 ms frame of the last ``search_s`` seconds
    (at most half the limit) before the limit, so a long recording is cut in
    a pause, not in a word.
    """
    limit, frame = int(max_s * sample_rate), sample_rate // 50
    search = min(int(search_s * sample_rate), limit // 2)   # a piece is at least half the limit
    pieces, start = [], 0
    while len(signal) - start > limit:
        window = signal[start + limit - search: start + limit]
        n = len(window) // frame
        energy = np.square(window[: n * frame].reshape(n, frame), dtype=np.float32).sum(axis=1)
        quietest = n - 1 - int(np.argmin(energy[::-1]))   # the last of equally quiet frames: longer pieces
        cut = start + limit - search + quietest * frame + frame // 2
        pieces.append((start, cut))
        start = cut
    return [*pieces, (start, len(signal))]


def warm_up() -> None:
    """Load the VAD model now (about 0.3 s), so the first clip's timings are the steady ones."""
    from faster_whisper.vad import get_vad_model

    get_vad_model()

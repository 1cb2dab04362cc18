"""The server's own microphone through PortAudio (``sounddevice``), for local use.

Every function copes with a machine that has no PortAudio library or no input
device: it raises :class:`MicrophoneUnavailable` with one line saying which,
so a page can say so and keep its other inputs working.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from muser_core.audio.decode import TARGET_SR


class MicrophoneUnavailable(RuntimeError):
    """No PortAudio, no input device, or the device refused to record."""


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    channels: int
    default_rate: float


def _sounddevice():
    try:
        import sounddevice
    except (OSError, ImportError):  # no libportaudio (OSError) or no sounddevice package
        raise MicrophoneUnavailable(
            "PortAudio is not installed on the server (apt-get install libportaudio2)") from None
    return sounddevice


def input_devices() -> list[InputDevice]:
    """Input devices PortAudio can see (empty list: none)."""
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
    except Exception as exc:  # PortAudio errors are of its own type
        raise MicrophoneUnavailable(f"PortAudio could not list devices ({exc})") from None
    return [InputDevice(i, d["name"], d["max_input_channels"], d["default_samplerate"])
            for i, d in enumerate(devices) if d["max_input_channels"] > 0]


def record(seconds: float, device: int | None = None) -> np.ndarray:
    """Record ``seconds`` of mono audio at 16 kHz from an input device (blocking)."""
    sd = _sounddevice()
    if not input_devices():
        raise MicrophoneUnavailable("no input device (microphone) on the server")
    try:
        audio = sd.rec(int(seconds * TARGET_SR), samplerate=TARGET_SR, channels=1,
                       dtype="float32", device=device)
        sd.wait()
    except Exception as exc:
        raise MicrophoneUnavailable(f"recording failed ({exc})") from None
    return audio[:, 0]

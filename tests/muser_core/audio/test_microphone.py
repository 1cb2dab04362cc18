"""The server microphone must fail in one line, never a traceback, on machines without one."""

from __future__ import annotations

import sys

import pytest

from muser_core.audio import microphone


def test_no_input_device_is_reported_in_one_line():
    try:
        devices = microphone.input_devices()
    except microphone.MicrophoneUnavailable as exc:  # no PortAudio at all: also one line
        assert "\n" not in str(exc)
        return
    if devices:
        pytest.skip("this machine has a microphone")
    with pytest.raises(microphone.MicrophoneUnavailable, match="no input device"):
        microphone.record(0.5)


def test_missing_portaudio_is_reported(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import now fails as without the library
    with pytest.raises(microphone.MicrophoneUnavailable, match="PortAudio is not installed"):
        microphone.input_devices()

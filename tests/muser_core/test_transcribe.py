"""The offline recogniser on real (synthesised) speech."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import speak

from muser_core.audio import load_audio
from muser_core.errors import InputError
from muser_core.transcribe import RECOGNISERS, PocketSphinxRecogniser, get_recogniser

DIGITS = "one two three four five six seven"


@pytest.mark.parametrize("preset", ["fast", "accurate"])
def test_recognises_most_spoken_digits(tmp_path, preset):
    signal = load_audio(speak(tmp_path / "digits.wav", DIGITS, voice="en+m3"))
    words = PocketSphinxRecogniser(preset).transcribe(signal).split()
    hits = sum(w in words for w in DIGITS.split())
    assert hits >= 4, words


def test_silence_like_input_gives_empty_or_short_text():
    noise = (np.random.default_rng(0).standard_normal(16000) * 1e-3).astype(np.float32)
    assert len(get_recogniser().transcribe(noise).split()) <= 2


def test_registry_and_unknown_name():
    assert "pocketsphinx" in RECOGNISERS
    with pytest.raises(InputError, match="unknown recogniser 'whisper'"):
        get_recogniser("whisper")

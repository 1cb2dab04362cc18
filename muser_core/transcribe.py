"""Offline speech recognition behind one small interface.

The paper transcribes MuSE automatically (section 3.1) before the text encoder
sees it; for a live clip we do the same with CMU PocketSphinx, whose English
acoustic model, dictionary and language model ship inside the ``pocketsphinx``
package (no network). A better local recogniser plugs in by adding a class
with ``transcribe(signal, sample_rate) -> str`` to :data:`RECOGNISERS`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

from muser_core.audio import TARGET_SR


class Recogniser(Protocol):
    """Anything that turns a 16 kHz mono float signal into a lower-case transcript."""

    name: str

    def transcribe(self, signal: np.ndarray, sample_rate: int = TARGET_SR) -> str: ...


# Search settings: PocketSphinx's defaults run at about 0.4x real time on a
# 2-core CPU; narrower beams and no second (flat-lexicon) pass make it several
# times faster with a modest loss of accuracy, which keeps a 5 s clip within
# the live page's latency budget.
PRESETS = {
    "accurate": {},
    "fast": {"fwdflat": False, "maxhmmpf": 3000, "maxwpf": 5},
}


@lru_cache(maxsize=4)
def _decoder(preset: str):
    from pocketsphinx import Decoder  # imported lazily: loading the model takes ~0.4 s

    return Decoder(samprate=TARGET_SR, loglevel="FATAL", **PRESETS[preset])


_DECODER_LOCK = threading.Lock()  # one decoder is shared; Streamlit serves sessions in threads


@dataclass(frozen=True)
class PocketSphinxRecogniser:
    """CMU PocketSphinx with its bundled US-English models (offline)."""

    preset: str = "fast"  # "fast" or "accurate" (see PRESETS)
    name: str = "pocketsphinx"

    def transcribe(self, signal: np.ndarray, sample_rate: int = TARGET_SR) -> str:
        if sample_rate != TARGET_SR:
            raise ValueError(f"PocketSphinx expects {TARGET_SR} Hz audio, got {sample_rate}")
        pcm = (np.clip(signal, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        with _DECODER_LOCK:
            decoder = _decoder(self.preset)
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            hyp = decoder.hyp()
        return hyp.hypstr.strip() if hyp is not None else ""

    def warm_up(self) -> None:
        """Load the model now rather than on the first clip."""
        _decoder(self.preset)


RECOGNISERS: dict[str, type] = {"pocketsphinx": PocketSphinxRecogniser}


def get_recogniser(name: str = "pocketsphinx", **options) -> Recogniser:
    """Build a registered recogniser by name."""
    if name not in RECOGNISERS:
        from muser_core.errors import InputError

        raise InputError(f"unknown recogniser '{name}' (available: {', '.join(RECOGNISERS)})")
    return RECOGNISERS[name](**options)

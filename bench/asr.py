"""Benchmark the registered speech recognisers on the same real human clips: word error rate and speed.

The clips are five sentences of a LibriVox reading (public domain, shipped in
data/speech/librivox with their reference text). Every recogniser in
muser_core.transcribe.RECOGNISERS transcribes the same clips in one run;
Whisper is also run through faster-whisper's own 30 s-window decoding (the
path segmentation uses) to show what the short encoder window costs in
accuracy. Real-time factor = processing seconds / audio seconds (lower is
faster). Target: default recogniser WER <= 0.10 on clean read speech.

    .venv/bin/python bench/asr.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from muser_core.audio.decode import load_audio  # noqa: E402
from muser_core.audio.transcribe import (  # noqa: E402
    DEFAULT_RECOGNISER,
    RECOGNISERS,
    get_recogniser,
    word_error_rate,
)
from muser_core.predict.samples import real_clips  # noqa: E402

TARGET_WER = 0.10


def measure(transcribe, signals, repeats):
    """Transcripts of every clip, and the median over repeats of the total processing time."""
    times, hypotheses = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        hypotheses = [transcribe(s) for s in signals]
        times.append(time.perf_counter() - start)
    return hypotheses, float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    clips = real_clips()
    signals = [load_audio(c.path) for c in clips]
    references = [c.text for c in clips]
    audio_s = sum(len(s) for s in signals) / 16000
    print(f"{len(clips)} real clips, {audio_s:.1f} s of read speech, {sum(len(r.split()) for r in references)} "
          f"reference words; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    rows = []
    for name in RECOGNISERS:
        recogniser = get_recogniser(name)
        recogniser.warm_up()
        hypotheses, seconds = measure(recogniser.transcribe, signals, args.repeats)
        rows.append((name, word_error_rate(references, hypotheses), seconds / audio_s, hypotheses))
        if name == "whisper":
            hypotheses, seconds = measure(lambda s, r=recogniser: r.recognise(s).text, signals, args.repeats)
            rows.append(("whisper, 30 s window", word_error_rate(references, hypotheses), seconds / audio_s,
                         hypotheses))
    default_rtf = next(r[2] for r in rows if r[0] == DEFAULT_RECOGNISER)
    print(f"{'recogniser':<22} {'WER':>6} {'RTF':>7} {'time vs default':>16}")
    for name, wer, rtf, _ in rows:
        print(f"{name:<22} {wer:6.3f} {rtf:7.3f} {rtf / default_rtf:15.2f}x")
    for name, _, _, hypotheses in rows:
        print(f"\n{name}:")
        for ref, hyp in zip(references, hypotheses, strict=True):
            print(f"  ref: {ref}\n  hyp: {hyp}")
    wer = next(r[1] for r in rows if r[0] == DEFAULT_RECOGNISER)
    print(f"\ndefault ({DEFAULT_RECOGNISER}) WER {wer:.3f} = {wer / TARGET_WER:.2f} x the {TARGET_WER} target "
          f"({'met' if wer <= TARGET_WER else 'NOT met'})")


if __name__ == "__main__":
    main()

"""Benchmark live prediction: WAV bytes of a 5 s real clip -> result, with the model warm.

Target: median at most 0.6 s on 2 cores with the default recogniser
(Whisper tiny.en), speech recognition included. The clip is the first 5 s of a
real LibriVox sentence (data/speech/librivox). Every registered recogniser is
timed in the same run, interleaved clip by clip so machine load hits them
alike; prints the median of each step and the ratio of the median total to
the target.

    .venv/bin/python bench/predict_latency.py [--runs 15]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import soundfile  # noqa: E402

from muser_core.audio.decode import load_audio  # noqa: E402
from muser_core.audio.transcribe import DEFAULT_RECOGNISER, RECOGNISERS, get_recogniser  # noqa: E402
from muser_core.predict.run_model import LivePredictor  # noqa: E402
from muser_core.predict.samples import real_clips  # noqa: E402

TARGET_S = 0.6


def five_second_wav() -> bytes:
    """The first 5.0 s of a real read sentence, as 16-bit WAV bytes."""
    signal = load_audio(real_clips()[0].path)[: 5 * 16000]
    buffer = io.BytesIO()
    soundfile.write(buffer, signal, 16000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    data = five_second_wav()
    predictors = {}
    for name in RECOGNISERS:
        start = time.perf_counter()
        predictors[name] = LivePredictor(recogniser=get_recogniser(name))
        predictors[name].warm_up()
        print(f"{name}: model + recogniser load {time.perf_counter() - start:.1f} s (once per app process)")
    steps = {name: [] for name in predictors}
    totals = {name: [] for name in predictors}
    results = {}
    load_before = os.getloadavg()[0]
    for _ in range(args.runs):
        for name, predictor in predictors.items():
            t0 = time.perf_counter()
            results[name] = predictor.predict(predictor.prepare(data, "bench.wav"))
            totals[name].append(time.perf_counter() - t0)
            steps[name].append(results[name].timings_ms)
    print(f"5.0 s real clip, {args.runs} runs each; load average {load_before:.2f} -> "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    default = float(np.median(totals[DEFAULT_RECOGNISER]))
    for name in predictors:
        median = float(np.median(totals[name]))
        parts = ", ".join(f"{step} {np.median([s[step] for s in steps[name]]):.0f}"
                          for step in steps[name][0] if step != "total")
        print(f"{name:>13}: median {median * 1000:5.0f} ms ({parts} ms), {median / default:.2f}x the default; "
              f"transcript {results[name].transcript!r}")
    print(f"default ({DEFAULT_RECOGNISER}) median wall time WAV bytes -> result: {default * 1000:.0f} ms "
          f"= {default / TARGET_S:.2f} x the {TARGET_S} s target ({'met' if default <= TARGET_S else 'NOT met'})")


if __name__ == "__main__":
    main()

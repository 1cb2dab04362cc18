"""Benchmark live prediction: WAV bytes of a 5 s clip -> result, with the model loaded.

Target (live-prediction issue): median at most 1.5 s on 2 cores, speech
recognition included. Prints the median of each step over repeated runs and
the ratio of the median total to the target.

    .venv/bin/python bench/predict_latency.py [--runs 15]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import soundfile  # noqa: E402

from muser_core.audio import load_audio  # noqa: E402
from muser_core.predict import LivePredictor, prepare_clip  # noqa: E402

TEXT = ("I have been so worried about the exam, um, I barely slept last night "
        "and my head hurts a lot.")
TARGET_S = 1.5


def five_second_wav() -> bytes:
    """A 5.0 s spoken clip (espeak-ng) as 16-bit WAV bytes."""
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is needed for this benchmark: apt-get install espeak-ng")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.wav"
        subprocess.run(["espeak-ng", "-v", "en+m3", "-s", "150", "-w", str(path), TEXT], check=True)
        signal = load_audio(path)
    signal = np.resize(signal, 5 * 16000) if len(signal) < 5 * 16000 else signal[: 5 * 16000]
    buffer = io.BytesIO()
    soundfile.write(buffer, signal, 16000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    data = five_second_wav()
    start = time.perf_counter()
    predictor = LivePredictor()
    predictor.warm_up()
    print(f"model + recogniser load: {time.perf_counter() - start:.1f} s (once per app process)")
    steps, totals = [], []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        result = predictor.predict(prepare_clip(data, "bench.wav"))
        totals.append(time.perf_counter() - t0)
        steps.append(result.timings_ms)
    print(f"5.0 s clip, {args.runs} runs, transcript: {result.transcript!r}")
    for step in steps[0]:
        print(f"  {step:>10}: median {np.median([s[step] for s in steps]):7.1f} ms")
    median = float(np.median(totals))
    print(f"median wall time WAV bytes -> result: {median * 1000:.0f} ms "
          f"= {median / TARGET_S:.2f} x the {TARGET_S} s target ({'met' if median <= TARGET_S else 'NOT met'})")


if __name__ == "__main__":
    main()

"""Does overlapping speech recognition with the voice detector and openSMILE pay on this machine?

Live prediction (muser_core.predict.clip.prepare_clip) starts the transcript
on a background thread, then runs the voice activity detector (Silero, in
onnxruntime) and openSMILE while it is recognised. On 2 cores the parts
compete for the cores, so this measures, side by side and interleaved clip by
clip (machine load hits every arrangement alike), for clips of 2.5, 5 and
10 s of real read speech (LibriVox):

- each step alone (the bare floor of each);
- the steps one after another (recognition, then VAD and openSMILE);
- the overlap as the app runs it, with Whisper on 2 threads and on 1 thread
  (Whisper's thread count is fixed when the model loads);
- the same for PocketSphinx, the light fallback.

Prints medians in ms, and each arrangement's ratio to the overlapped floor,
max(recognition alone, VAD + openSMILE alone): what perfect overlap would
reach. The app's Whisper thread count (WhisperRecogniser.threads) is
printed with the figures.

    python bench/live_overlap.py [--runs 9] [--lengths 2.5,5,10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from muser_core.audio.decode import TARGET_SR  # noqa: E402
from muser_core.audio.transcribe import PocketSphinxRecogniser, WhisperRecogniser  # noqa: E402
from muser_core.audio.vad import speech_activity  # noqa: E402
from muser_core.audio.vad import warm_up as warm_up_vad  # noqa: E402
from muser_core.features.acoustic import egemaps_from_signal  # noqa: E402
from muser_core.predict.clip import prepare_clip  # noqa: E402
from muser_core.predict.samples import long_reading  # noqa: E402


def vad_and_features(signal) -> None:
    speech_activity(signal)
    egemaps_from_signal(signal)


def arrangements(recognisers: dict) -> dict:
    """name -> action(signal); each does the same work (recognition + VAD + eGeMAPS) or one bare step."""
    actions = {"VAD + openSMILE alone": vad_and_features}
    for name, recogniser in recognisers.items():
        actions[f"{name} alone"] = recogniser.transcribe
        actions[f"{name}, then VAD + openSMILE"] = (
            lambda s, r=recogniser: (r.transcribe(s), vad_and_features(s)))
        actions[f"{name} overlapped (app)"] = (
            lambda s, r=recogniser: prepare_clip(s, recogniser=r).pending_transcript.result())
    return actions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--lengths", default="2.5,5,10", help="clip lengths in seconds")
    args = parser.parse_args()
    reading, _ = long_reading()
    lengths = [float(x) for x in args.lengths.split(",")]
    recognisers = {"Whisper 2 threads": WhisperRecogniser(threads=2),
                   "Whisper 1 thread": WhisperRecogniser(threads=1),
                   "PocketSphinx": PocketSphinxRecogniser()}
    warm_up_vad()
    for recogniser in recognisers.values():
        recogniser.warm_up()
    actions = arrangements(recognisers)
    clips = {length: reading[: int(length * TARGET_SR)] for length in lengths}
    times = {(length, name): [] for length in lengths for name in actions}
    load_before = os.getloadavg()[0]
    for _ in range(args.runs):
        for length, signal in clips.items():
            for name, action in actions.items():
                started = time.perf_counter()
                action(signal)
                times[length, name].append(1000 * (time.perf_counter() - started))
    print(f"the app's Whisper runs on {WhisperRecogniser().threads} thread(s); "
          f"{args.runs} runs of each, interleaved; load average {load_before:.2f} -> "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    median = {key: statistics.median(values) for key, values in times.items()}
    for length in lengths:
        bare = median[length, "VAD + openSMILE alone"]
        print(f"\n{length:g} s clip: VAD + openSMILE alone {bare:.0f} ms")
        for name in recognisers:
            floor = max(median[length, f"{name} alone"], bare)
            line = [f"  {name:<17} alone {median[length, f'{name} alone']:5.0f} ms; overlapped floor {floor:5.0f}"]
            for arrangement in ("then VAD + openSMILE", "overlapped (app)"):
                key = (length, f"{name}, {arrangement}" if arrangement.startswith("then") else
                       f"{name} {arrangement}")
                line.append(f"{arrangement} {median[key]:5.0f} ({median[key] / floor:.2f}x floor)")
            print("; ".join(line))
    print("\ngrowth from the shortest to the longest clip (median ms ratio):")
    for name in actions:
        print(f"  {name:<40} {median[lengths[-1], name] / median[lengths[0], name]:.2f}x "
              f"for {lengths[-1] / lengths[0]:.0f}x the audio")


if __name__ == "__main__":
    main()

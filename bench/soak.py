"""Soak benchmark: what long use does to the live predictor, the caches and big dictionaries (figures, not tests).

1. Memory over time: one warm :class:`LivePredictor` (the shipped demo model, Whisper tiny.en) scores
   ``--predictions`` clips in turn: real LibriVox sentences of five readers, every tenth through speech
   recognition, the others with a typed transcript that changes each time (as a corrected transcript
   does). Resident memory (RSS) is printed after 50, 200 and the last prediction; the target is growth
   of at most 5 % after the first 50.
2. Damaged caches: the sentence-vector cache of 2,000 texts overwritten with garbage, then read; the time
   to detect, remove and rebuild it, side by side with a cold build and a warm read.
3. A big dictionary: 100,000 random entries (a third wildcards, a seventh phrases) read, then 5,000 texts
   of 30 words scored; the seconds of each.
4. A long recording: ``--long-minutes`` of real speech (the LibriVox sentences in turn, with pauses) as a
   44.1 kHz stereo WAV, decoded to 16 kHz mono by ``load_audio`` and, side by side, read whole and resampled
   in one call; then cut into sentences by ``muser segment`` (Whisper tiny.en). Each in a fresh process:
   its peak resident memory above what it held before, against the 16 kHz result's own size.

    .venv/bin/python bench/soak.py [--predictions 500] [--long-minutes 120] [--only long]
"""

from __future__ import annotations

import argparse
import os
import random
import string
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402

from muser_core.base.errors import Notice  # noqa: E402
from muser_core.features.lexicon import Lexicon  # noqa: E402
from muser_core.features.text import extract_features  # noqa: E402
from muser_core.predict.clip import prepare_clip  # noqa: E402
from muser_core.predict.run_model import LivePredictor  # noqa: E402
from muser_core.predict.samples import real_clips  # noqa: E402

WORDS = "exam rent deadline calm tired worried sleep holiday garden friend money anxious happy".split()


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1024**2


def memory_over_predictions(count: int) -> None:
    predictor = LivePredictor()
    clips = [prepare_clip(c.path) for c in real_clips()]
    rng = random.Random(0)
    marks, started = {}, time.perf_counter()
    for i in range(1, count + 1):
        clip = clips[i % len(clips)]
        transcript = None if i % 10 == 0 else " ".join(rng.choices(WORDS, k=12))
        predictor.predict(clip, transcript)
        if i in (50, 200, count):
            marks[i] = rss_mb()
    seconds = time.perf_counter() - started
    first = marks[50]
    print(f"1. {count} live predictions in {seconds:.0f} s ({1000 * seconds / count:.0f} ms each, every tenth "
          "with speech recognition)")
    for i, mb in marks.items():
        print(f"   after {i:>4}: RSS {mb:7.1f} MB ({(mb / first - 1) * 100:+.1f} % against 50; target <= +5 %)")


def damaged_cache() -> None:
    from muser_core.features.text_encoder import cached_embeddings

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MUSER_CACHE_DIR"] = tmp
        texts = [f"text {i}: " + " ".join(random.Random(i).choices(WORDS, k=10)) for i in range(2000)]
        started = time.perf_counter()
        cached_embeddings(texts)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        cached_embeddings(texts)
        warm = time.perf_counter() - started
        [file] = Path(tmp, "text_embeddings").glob("*.sqlite")
        file.write_bytes(b"garbage" * 10_000)
        started = time.perf_counter()
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            cached_embeddings(texts)
        rebuilt = time.perf_counter() - started
        named = sum(issubclass(w.category, Notice) and str(file) in str(w.message) for w in seen)
    print(f"2. sentence-vector cache of 2,000 texts: cold {cold:.1f} s, warm {warm:.2f} s, garbage file detected "
          f"and rebuilt {rebuilt:.1f} s ({rebuilt / cold:.2f}x cold); warnings naming it: {named}")


def big_dictionary() -> None:
    rng = random.Random(0)
    lines = ["%"] + [f"{i}\tcat{i}" for i in range(1, 101)] + ["%"]
    for i in range(100_000):
        word = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(1, 40)))
        if i % 7 == 0:
            word += " " + "".join(rng.choices(string.ascii_lowercase, k=5))
        elif i % 3 == 0:
            word += "*"
        lines.append(f"{word}\t{rng.randint(1, 100)} {rng.randint(1, 100)}")
    with tempfile.TemporaryDirectory() as tmp:
        dic = Path(tmp, "big.dic")
        dic.write_text("\n".join(lines))
        started = time.perf_counter()
        lexicon = Lexicon.read_dic(dic)
        read = time.perf_counter() - started
    texts = [" ".join("".join(rng.choices(string.ascii_lowercase, k=rng.randint(1, 60))) for _ in range(30))
             for _ in range(5000)]
    started = time.perf_counter()
    extract_features(texts, lexicon)
    scored = time.perf_counter() - started
    print(f"3. a dictionary of 100,000 entries: read in {read:.1f} s; 5,000 texts of 30 words scored in "
          f"{scored:.1f} s ({150_000 / scored:,.0f} words/s)")


LONG_STEPS = {
    "decode": "from muser_core.audio.decode import load_audio\nbefore = rss()\nsignal = load_audio(path)",
    "one-shot": ("import soundfile, soxr, numpy as np\nbefore = rss()\n"
                 "x, rate = soundfile.read(path, dtype='float32', always_2d=True)\n"
                 "signal = soxr.resample(np.clip(x.mean(axis=1), -1, 1), rate, 16000)"),
    "segment": ("from muser_core.audio.segment import segment_file\n"
                "from muser_core.audio.transcribe import get_recogniser\n"
                "recogniser = get_recogniser('whisper'); recogniser.warm_up(); before = rss()\n"
                "manifest, sentences = segment_file(path, out, 'long', recogniser)\n"
                "signal = np.zeros(int(soundfile.info(path).duration * 16000), np.float32)"),
}


def _long_step(step: str, path: Path, out: Path) -> tuple[float, float, float]:
    """Run one step in a fresh process: (seconds, peak RSS above the start in MB, 16 kHz result in MB)."""
    import json
    import subprocess

    # The peak is sampled every 2 ms by a thread (ru_maxrss would count what the imports held briefly).
    code = ("import json, sys, threading, time, numpy as np, soundfile, psutil\n"
            "rss = lambda: psutil.Process().memory_info().rss\npeak = [0]\n"
            "def watch():\n    while True:\n        peak[0] = max(peak[0], rss()); time.sleep(0.002)\n"
            f"path, out = {str(path)!r}, {str(out)!r}\nstarted = time.perf_counter()\n"
            + LONG_STEPS[step].replace("before = rss()", "before = rss(); threading.Thread(target=watch, "
                                       "daemon=True).start()") +
            "\nseconds = time.perf_counter() - started; time.sleep(0.01)\n"
            "print(json.dumps([seconds, (peak[0] - before) / 2**20, signal.nbytes / 2**20]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parent.parent, check=True)
    return tuple(json.loads(result.stdout.strip().splitlines()[-1]))


def long_recording(minutes: float) -> None:
    import numpy as np
    import soundfile
    import soxr

    pieces = [soundfile.read(c.path, dtype="float32")[0] for c in real_clips()]
    pause = np.zeros(16_000 // 2, np.float32)
    unit = soxr.resample(np.concatenate([x for p in pieces for x in (p, pause)]), 16_000, 44_100)
    frames = int(minutes * 60 * 44_100)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "long.wav")
        with soundfile.SoundFile(path, "w", 44_100, 2, "PCM_16") as wav:
            for start in range(0, frames, unit.size):
                piece = unit[: min(unit.size, frames - start)]
                wav.write(np.stack([piece, 0.8 * piece], axis=1))
        size = path.stat().st_size / 2**20
        print(f"4. a {minutes:g}-minute recording (44.1 kHz stereo WAV, {size:,.0f} MB):")
        for step in ("decode", "one-shot", "segment"):
            seconds, peak, result = _long_step(step, path, Path(tmp, "segments"))
            what = {"decode": "load_audio, block by block", "one-shot": "read whole, resampled in one call",
                    "segment": "muser segment (decode, Whisper, clips)"}[step]
            print(f"   {what:<40} {seconds:6.1f} s, peak memory +{peak:7.1f} MB = {peak / result:.2f}x "
                  f"the 16 kHz signal ({result:.0f} MB)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--predictions", type=int, default=500)
    parser.add_argument("--long-minutes", type=float, default=120.0, help="length of the long recording")
    parser.add_argument("--only", choices=["predictions", "cache", "dictionary", "long"],
                        help="run one part only")
    args = parser.parse_args()
    if args.predictions < 200:
        parser.error("--predictions: at least 200 (memory is reported at 50, 200 and the last)")
    parts = {"predictions": lambda: memory_over_predictions(args.predictions), "cache": damaged_cache,
             "dictionary": big_dictionary, "long": lambda: long_recording(args.long_minutes)}
    for name, part in parts.items():
        if args.only in (None, name):
            part()
    return 0


if __name__ == "__main__":
    sys.exit(main())

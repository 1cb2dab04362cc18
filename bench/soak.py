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

    .venv/bin/python bench/soak.py [--predictions 500]
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--predictions", type=int, default=500)
    args = parser.parse_args()
    if args.predictions < 200:
        parser.error("--predictions: at least 200 (memory is reported at 50, 200 and the last)")
    memory_over_predictions(args.predictions)
    damaged_cache()
    big_dictionary()
    return 0


if __name__ == "__main__":
    sys.exit(main())

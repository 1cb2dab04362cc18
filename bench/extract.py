"""Benchmark eGeMAPS extraction: files/s and real-time factor for 1 and 2 workers, and a cache hit.

Targets: 2 workers at least 1.7x one worker; a cache hit at
least 50x faster than extraction. All figures are measured side by side in
this one run on the same files (spoken sentences made with espeak-ng).

    .venv/bin/python bench/extract.py [--files 48]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import soundfile  # noqa: E402

from muser_core.features.acoustic import FeatureCache, extract_egemaps  # noqa: E402

SENTENCES = [
    "I have been studying for the final exam all week and I barely slept.",
    "Honestly the weekend was lovely, we walked by the lake and had a picnic.",
    "Um, I am not sure, er, whether I can finish the project before the deadline.",
    "My favourite memory is the trip with my family to the mountains last summer.",
]


def make_files(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is needed for this benchmark: apt-get install espeak-ng")
    paths = []
    for i in range(n):
        path = folder / f"s{i:03d}.wav"
        voice = ["en+m3", "en+f2", "en-us+m1", "en+f4"][i % 4]
        text = SENTENCES[i % len(SENTENCES)] + " " + SENTENCES[(i * 3 + 1) % len(SENTENCES)]
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(150 + i % 30), "-w", str(path), text],
                       check=True)
        paths.append(path)
    return paths


def timed(paths, workers, cache_root, use_cache=True) -> float:
    start = time.perf_counter()
    table, skipped = extract_egemaps(paths, workers=workers, use_cache=use_cache,
                                     cache=FeatureCache(cache_root))
    assert len(table) == len(paths) and not skipped
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=48)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = make_files(tmp / "audio", args.files)
        audio_s = sum(soundfile.info(p).duration for p in paths)
        timed(paths[:2], 1, tmp / "warm", use_cache=False)  # import/first-call costs out of the way
        one = timed(paths, 1, tmp / "c1")
        two = timed(paths, 2, tmp / "c2")
        hit = timed(paths, 1, tmp / "c2")  # everything now in this cache
    print(f"{len(paths)} files, {audio_s:.0f} s of speech")
    for label, secs in (("1 worker", one), ("2 workers", two), ("cache hit", hit)):
        print(f"{label:>10}: {len(paths) / secs:8.1f} files/s   real-time factor {secs / audio_s:.4f}")
    print(f"2 workers vs 1: {one / two:.2f}x (target >= 1.7x)")
    print(f"cache hit vs 1-worker extraction: {one / hit:.0f}x (target >= 50x)")


if __name__ == "__main__":
    main()

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

5. A big corpus: ``--rows`` (1,000,000) text rows with labels as a manifest CSV, read by the corpus loader,
   scored with the open dictionary (the text indicators' features) and fitted by the indicator analysis
   (no bootstrap, then ``--bootstrap`` resamples): the seconds and the peak memory above the start of each.

6. Many users at once, through the served app (``muser app``) in Debian's chromium: the Overview page's
   render time alone, then while 10 browser sessions score their own clip on the Live page (each then
   corrects its transcript) and 3 sessions launch their own run on the Train page; every session is checked
   to show its own transcript and run and none of the others'. Then one session chooses ten run folders in
   turn as its model: the server's resident memory after each (the model cache keeps two).

    .venv/bin/python bench/soak.py [--predictions 500] [--long-minutes 120] [--rows 1000000] [--only long]
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


def peak_during(work):
    """(result, seconds, peak RSS above the start in MB) of ``work()``, the RSS sampled every 5 ms."""
    import threading

    start, peak, done = rss_mb(), [0.0], threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb())
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.perf_counter()
    try:
        result = work()
    finally:
        seconds = time.perf_counter() - started
        done.set()
        watcher.join()
    return result, seconds, max(peak[0], rss_mb()) - start


def big_corpus(rows: int, bootstrap: int) -> None:
    import numpy as np
    import pandas as pd

    from muser_core import sources
    from muser_core.features.text import SCORING_TABLES
    from muser_core.indicators import IndicatorAnalysis, fit_memory, split_columns

    rng = np.random.default_rng(0)
    vocabulary = np.array(WORDS + "i am so about my the a to of we today work boss family".split())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "big.csv")
        pd.DataFrame({"utterance_id": [f"u{i}" for i in range(rows)], "speaker": [f"s{i % 2000}" for i in range(rows)],
                      "text": [" ".join(rng.choice(vocabulary, 28)) for _ in range(rows)],
                      "stress": rng.integers(0, 2, rows), "activation": rng.uniform(1, 5, rows).round(2),
                      "valence": rng.uniform(1, 5, rows).round(2)}).to_csv(path, index=False)
        print(f"5. a corpus of {rows:,} text rows ({path.stat().st_size / 2**20:,.0f} MB CSV), RSS {rss_mb():,.0f} MB:")
        corpus, seconds, peak = peak_during(lambda: sources.load("manifest", str(path)))
        print(f"   read by the corpus loader     {seconds:6.1f} s, peak +{peak:6,.0f} MB")
    table = corpus.table
    features, seconds, peak = peak_during(lambda: extract_features(table["text"].tolist(), score="count"))
    size = features.memory_usage(index=False).sum() / 2**20
    estimate = SCORING_TABLES * rows * (features.shape[1] + 1) * 8 / 2**20
    print(f"   scored (open dictionary)      {seconds:6.1f} s, peak +{peak:6,.0f} MB ({peak / size:.2f}x the "
          f"{size:,.0f} MB table; the memory check's estimate {estimate:,.0f} MB)")
    data = split_columns(pd.concat([table[["speaker", "stress", "activation", "valence"]],
                                    features.drop(columns=["WC"])], axis=1),
                         speaker_col="speaker", feature_cols=[c for c in features.columns if c != "WC"], source="big")
    estimate = fit_memory(*data.features.shape) / 2**20
    for n in (0, bootstrap):
        _, seconds, peak = peak_during(lambda n=n: IndicatorAnalysis(bootstrap=n, seed=0).fit(
            data.features, data.labels, data.speakers))
        print(f"   indicators, {n:>3} resamples     {seconds:6.1f} s, peak +{peak:6,.0f} MB (the memory check's "
              f"estimate {estimate:,.0f} MB)")


def _serve(runs: Path, log: Path):
    """``muser app`` on a free localhost port with its own runs folder: (process, URL) once it answers."""
    import socket
    import subprocess
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "MUSER_RUNS_DIR": str(runs), "MUSER_STUDIES_DIR": str(runs / "studies")}
    proc = subprocess.Popen([sys.executable, "-m", "muser_core", "app", "--port", str(port)], env=env,
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
                            cwd=Path(__file__).resolve().parent.parent)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            return proc, url
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the app did not start: {log.read_text()[-2000:]}")


def _wait_text(page, text: str, timeout_s: float = 300) -> None:
    page.get_by_text(text).first.wait_for(timeout=timeout_s * 1000)


def _render_overview(browser, url: str) -> float:
    """Seconds from opening the Overview page in a new session to its loaded data summary."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url)
    _wait_text(page, "Loaded:")
    seconds = time.perf_counter() - started
    context.close()
    return seconds


def many_sessions(live: int = 10, train: int = 3) -> None:  # noqa: C901
    import shutil
    import statistics
    import subprocess

    import soundfile
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        runs = tmp / "runs"
        subprocess.run([sys.executable, "-m", "muser_core", "train", "--corpus", "demo", "--max-epochs", "2",
                        "--out", str(runs / "model-01"), "--no-progress"], check=True, capture_output=True,
                       env={**os.environ, "MUSER_RUNS_DIR": str(runs)})
        for k in range(2, 11):   # ten run folders, each its own model to the app
            shutil.copytree(runs / "model-01", runs / f"model-{k:02d}")
        clips = []
        for i, clip in enumerate(c for _ in range(2) for c in real_clips()):
            signal, rate = soundfile.read(clip.path, dtype="float32")
            clips.append(tmp / f"clip-{i}.wav")
            soundfile.write(clips[-1], signal * (0.9 - 0.02 * i), rate)   # a different clip in each session
        server, url = _serve(runs, tmp / "server.log")
        memory = lambda: psutil.Process(server.pid).memory_info().rss / 2**20  # noqa: E731
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
                _render_overview(browser, url)     # the first visit imports the app's modules
                alone = [_render_overview(browser, url) for _ in range(3)]
                start_mb = memory()
                pages = []
                for i in range(live + train):
                    page = browser.new_context(viewport={"width": 1400, "height": 1400}).new_page()
                    page.set_default_timeout(300_000)
                    page.goto(f"{url}/{'Live_prediction' if i < live else 'Train'}")
                    pages.append(page)
                started = time.perf_counter()
                for i, page in enumerate(pages):
                    if i < live:
                        page.get_by_role("tab", name="Upload a file").click()
                        page.locator('input[type="file"]').first.set_input_files(str(clips[i]))
                    else:
                        _wait_text(page, "Run name (optional)")
                        for label, value in (("Max epochs", "3"), ("Run name (optional)", f"soak-train-{i}")):
                            box = page.get_by_role("textbox", name=label) if "name" in label else \
                                page.get_by_role("spinbutton", name=label)
                            box.fill(value)
                            box.press("Enter")
                        page.get_by_role("button", name="Launch", exact=True).click()
                loaded = [_render_overview(browser, url) for _ in range(3)]
                for page in pages[:live]:
                    _wait_text(page, "Prediction")
                scored = time.perf_counter() - started
                for i, page in enumerate(pages[:live]):
                    box = page.get_by_role("textbox", name="Transcript (correct it and re-run)")
                    box.fill(f"session {i} says zebra{i} about the exam")
                    page.get_by_role("button", name="Re-run with this transcript").click()
                for i, page in enumerate(pages[:live]):
                    _wait_text(page, f"zebra{i} about")
                for i, page in enumerate(pages[live:], start=live):
                    _wait_text(page, f"soak-train-{i} — finished", 600)
                # A Live session's transcript is in its text box (the tables are drawn on a canvas); a Train
                # session's run is in its status line.
                own = foreign = 0
                for i, page in enumerate(pages[:live]):
                    box = page.get_by_role("textbox", name="Transcript (correct it and re-run)").input_value()
                    own += f"zebra{i} " in box
                    foreign += sum(f"zebra{j} " in box or page.get_by_text(f"zebra{j} about").count() > 0
                                   for j in range(live) if j != i)
                for i, page in enumerate(pages[live:], start=live):
                    own += page.get_by_text(f"soak-train-{i} — finished").count() > 0
                    foreign += sum(page.get_by_text(f"soak-train-{j} —").count() > 0
                                   for j in range(live, live + train) if j != i)
                after_mb = memory()
                print(f"6. {live} Live and {train} Train sessions at once on the served app:")
                print(f"   Overview render alone {statistics.median(alone):.2f} s, under load "
                      f"{statistics.median(loaded):.2f} s ({statistics.median(loaded) / statistics.median(alone):.2f}x; "
                      "target <= 3x)")
                print(f"   {live} clips scored in {scored:.1f} s; sessions showing their own transcript or run: "
                      f"{own} of {live + train}; showing another session's: {foreign}")
                print(f"   server RSS {start_mb:,.0f} MB before the sessions, {after_mb:,.0f} MB after")
                page, marks = pages[0], {}
                for k in range(1, 11):
                    page.get_by_role("combobox", name="Model").first.click()
                    page.get_by_role("option", name=f"run: model-{k:02d}").first.click()
                    _wait_text(page, f"model-{k:02d}")
                    _wait_text(page, "Prediction")
                    marks[k] = memory()
                print("   ten run folders chosen in turn as the Live model: server RSS "
                      + ", ".join(f"{marks[k]:,.0f} MB after {k}" for k in (1, 2, 5, 10))
                      + f" ({(marks[10] / marks[2] - 1) * 100:+.1f} % from 2 to 10)")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--predictions", type=int, default=500)
    parser.add_argument("--long-minutes", type=float, default=120.0, help="length of the long recording")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the big corpus")
    parser.add_argument("--bootstrap", type=int, default=10, help="resamples of the big corpus' indicators")
    parser.add_argument("--only", choices=["predictions", "cache", "dictionary", "long", "corpus", "sessions"],
                        help="run one part only")
    args = parser.parse_args()
    if args.predictions < 200:
        parser.error("--predictions: at least 200 (memory is reported at 50, 200 and the last)")
    parts = {"predictions": lambda: memory_over_predictions(args.predictions), "cache": damaged_cache,
             "dictionary": big_dictionary, "long": lambda: long_recording(args.long_minutes),
             "corpus": lambda: big_corpus(args.rows, args.bootstrap), "sessions": many_sessions}
    for name, part in parts.items():
        if args.only in (None, name):
            part()
    return 0


if __name__ == "__main__":
    sys.exit(main())

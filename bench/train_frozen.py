"""Benchmark: a complete speed-based run in frozen text mode (target: at least 100 epochs in <= 30 s on 2 cores).

Uses the demo corpus when ``muser_core.demo`` is present, otherwise a synthetic
corpus of the same size (2,300 sentences, 88 features). Text embeddings are
computed first (not timed: they are cached on disk after the first run); the
timed part is the whole ``train_run`` call from loading the data to the test
metrics, with patience 100 so the run lasts at least 100 epochs.

    python bench/train_frozen.py [--threads N] [--patience 100]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from muser_core.base.errors import InputError  # noqa: E402
from muser_core.config import DataConfig, RunConfig, StrategyConfig, TrainConfig  # noqa: E402
from muser_core.train import load_corpus, prepare_data, train_run  # noqa: E402
from muser_core.train import run_folder as rf  # noqa: E402


def synthetic_csv(folder: Path, n: int = 2300, seed: int = 0) -> str:
    """A canonical corpus CSV with weak stress/emotion signal in text and features."""
    from muser_core.data.corpus import Corpus, canonical
    from muser_core.features.acoustic import EGEMAPS_FEATURES

    rng = np.random.default_rng(seed)
    words = ["deadline", "exam", "worried", "garden", "holiday", "calm", "i", "think", "the", "was",
             "really", "about", "my", "today", "family", "work", "money", "friends", "music", "late"]
    speakers = rng.integers(0, 50, n)
    stress = rng.integers(0, 2, n)
    feats = rng.normal(0, 1, (n, len(EGEMAPS_FEATURES))) + 0.4 * stress[:, None] * (np.arange(88) < 12)
    table = pd.DataFrame(feats, columns=EGEMAPS_FEATURES)
    table["utterance_id"] = [f"u{i}" for i in range(n)]
    table["speaker"] = [f"s{s}" for s in speakers]
    table["split"] = np.where(speakers < 40, "train", np.where(speakers < 45, "validation", "test"))
    table["text"] = [" ".join(rng.choice(words, rng.integers(5, 25))) for _ in range(n)]
    table["stress"] = stress.astype(float)
    table["activation"] = np.clip(5 + stress + rng.normal(0, 1.5, n), 1, 9)
    table["valence"] = np.clip(5 - stress + rng.normal(0, 1.5, n), 1, 9)
    path = folder / "synthetic.csv"
    Corpus(canonical(table), "synthetic", {"activation": (1, 9), "valence": (1, 9)}).save(path)
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--patience", type=int, default=100)
    parser.add_argument("--history", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            load_corpus("demo")
            corpus = "demo"
        except InputError as exc:
            print(f"demo corpus unavailable ({exc}); using a synthetic corpus of the same size")
            corpus = synthetic_csv(Path(tmp))
        cfg = RunConfig(data=DataConfig(corpus=corpus, tasks=["stress", "activation", "valence"]),
                        strategy=StrategyConfig(name="speed", history=args.history),
                        train=TrainConfig(patience=args.patience, threads=args.threads))
        started = time.perf_counter()
        data = prepare_data(cfg.resolved(), progress=True)  # fills the embedding cache (not timed)
        print(f"corpus: {corpus}; {data.summary()['items']} items; "
              f"embeddings ready in {time.perf_counter() - started:.1f} s (cached after the first run)")
        out = Path(tmp) / "run"
        started, cpu_started = time.perf_counter(), time.process_time()
        test = train_run(cfg, out)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        records = rf.read_metrics(out)
        loop = sum(r["seconds"] for r in records)
        epochs = records[-1]["epoch"]
        print(f"speed-based run (history {args.history}, patience {args.patience}): {epochs} epochs "
              f"(best {records[-1]['best_epoch']}) in {seconds:.1f} s total, {loop:.1f} s in the epoch loop, "
              f"{1000 * loop / (epochs + 1):.0f} ms/epoch; test stress accuracy {test['stress']['accuracy']:.3f}")
        # On a shared machine wall time includes waiting for a core; CPU time (one thread) does not.
        print(f"CPU time {cpu:.1f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        verdict = "PASS" if seconds <= 30 and epochs >= 100 else "FAIL"
        print(f"{verdict}: target >= 100 epochs in <= 30 s (wall)")


if __name__ == "__main__":
    main()

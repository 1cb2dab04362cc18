"""The per-clip cost of normalising a live clip's eGeMAPS as the training corpus grows in speakers.

:class:`muser_core.predict.run_model.LivePredictor` builds the run's statistics
once, when the model is loaded; the alternative rebuilds them from their JSON
for every clip (and, with a relaxed baseline, deep-copies them first). Side by
side in one run, at 28, 1,500 and 10,000 training speakers: the
rebuild-per-clip path ("before"), the built-once path ("now"), and the bare arithmetic
(subtract, divide) as the floor. Prints medians, the ratio to the bare step
and the growth from the smallest to the largest corpus.

    python bench/normaliser.py [--speakers 28,1500,10000] [--clips 30]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from muser_core.features.acoustic import EGEMAPS_FEATURES  # noqa: E402
from muser_core.features.normalise import SpeakerZScore  # noqa: E402
from muser_core.predict.clip import Baseline  # noqa: E402
from muser_core.predict.run_model import NEW_SPEAKER  # noqa: E402


def statistics_of(speakers: int, rng: np.random.Generator) -> dict:
    """A normaliser.json's acoustic block for this many training speakers, 10 utterances each."""
    features = pd.DataFrame(rng.normal(size=(speakers * 10, len(EGEMAPS_FEATURES))), columns=EGEMAPS_FEATURES)
    return SpeakerZScore().fit(features, np.repeat([f"demo:{s}" for s in range(speakers)], 10)).to_dict()


def before(stats: dict, clip: pd.Series, baseline: Baseline) -> pd.Series:
    """Rebuilding per clip, with a baseline: deep copy, add the user, rebuild, transform."""
    stats = copy.deepcopy(stats)
    spreads = np.array([s["std"] for s in stats["speakers"].values()], dtype=np.float64)
    stats["speakers"]["<calibrated user>"] = {"mean": baseline.mean[stats["features"]].tolist(),
                                              "std": np.median(spreads, axis=0).tolist()}
    return SpeakerZScore.from_dict(stats).transform(clip.to_frame().T, ["<calibrated user>"]).iloc[0]


def timed(action, clips: int) -> float:
    times = []
    for _ in range(clips):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def measure(stats: dict, clip: pd.Series, baseline: Baseline, clips: int) -> dict[str, float]:
    """Median milliseconds per clip of each path; the built-once results checked against the rebuilt ones first."""
    scaler = SpeakerZScore.from_dict(stats)            # what LivePredictor builds once
    spread = scaler.stds_.median(axis=0)
    pooled_old = SpeakerZScore.from_dict(stats).transform(clip.to_frame().T, [NEW_SPEAKER]).iloc[0]
    pooled_now = (clip - scaler.global_mean_) / scaler.global_std_
    assert np.allclose(pooled_old.to_numpy(), pooled_now.to_numpy(), rtol=0, atol=1e-12)
    assert np.allclose(before(stats, clip, baseline).to_numpy(), ((clip - baseline.mean) / spread).to_numpy(),
                       rtol=0, atol=1e-12)
    clip_np, mean_np, spread_np = clip.to_numpy(), baseline.mean.to_numpy(), spread.to_numpy()
    return {"before (baseline)": timed(lambda: before(stats, clip, baseline), clips),
            "now (baseline)": timed(lambda: (clip - baseline.mean) / spread, clips),
            "before (pooled)": timed(lambda: SpeakerZScore.from_dict(stats).transform(
                clip.to_frame().T, [NEW_SPEAKER]), clips),
            "now (pooled)": timed(lambda: (clip - scaler.global_mean_) / scaler.global_std_, clips),
            "bare": timed(lambda: (clip_np - mean_np) / spread_np, clips)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speakers", default="28,1500,10000")
    parser.add_argument("--clips", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for speakers in [int(s) for s in args.speakers.split(",")]:
        stats = statistics_of(speakers, rng)
        clip = pd.Series(rng.normal(size=len(EGEMAPS_FEATURES)), index=EGEMAPS_FEATURES)
        baseline = Baseline(mean=pd.Series(rng.normal(size=len(EGEMAPS_FEATURES)), index=EGEMAPS_FEATURES),
                            count=3)
        ms = measure(stats, clip, baseline, args.clips)
        rows.append((speakers, ms))
        bare = ms["bare"]
        print(f"{speakers:>6,} speakers: " + ", ".join(f"{k} {v:7.2f} ms ({v / bare:,.0f}x bare)"
                                                     for k, v in ms.items() if k != "bare")
              + f"; bare {bare * 1000:.1f} us")
    (small, first), (large, last) = rows[0], rows[-1]
    print(f"growth from {small:,} to {large:,} speakers: " + ", ".join(
        f"{k} {last[k] / first[k]:.1f}x" for k in first if k != "bare"))


if __name__ == "__main__":
    main()

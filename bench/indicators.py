"""Time the full indicator analysis of a MuSE-sized table (target: at most 10 s on 2 cores).

2,300 rows x 88 eGeMAPS-named features with correlated columns (as real
eGeMAPS functionals are), 28 speakers, per-speaker z-scores, three tasks and
200 bootstrap resamples. Prints the seconds and the ratio to the target.

    python bench/indicators.py [--rows 2300] [--bootstrap 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from muser_core.features.acoustic import EGEMAPS_FEATURES  # noqa: E402
from muser_core.indicators import IndicatorAnalysis  # noqa: E402

TARGET_S = 10.0


def muse_sized_table(rows: int = 2300, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Features, labels and speakers shaped like MuSE (28 speakers, 88 correlated features)."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((rows, 12))
    X = latent @ rng.standard_normal((12, 88)) + 0.5 * rng.standard_normal((rows, 88))
    speakers = pd.Series(np.arange(rows) % 28).astype(str)
    labels = pd.DataFrame({
        "stress": (X[:, 0] + X[:, 5] + rng.standard_normal(rows) > 0).astype(float),
        "activation": 5 + X[:, 10] - X[:, 3] + rng.standard_normal(rows),
        "valence": 5 + X[:, 20] + rng.standard_normal(rows),
    })
    return pd.DataFrame(X, columns=EGEMAPS_FEATURES), labels, speakers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2300)
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="report the fastest of this many runs")
    args = parser.parse_args()
    features, labels, speakers = muse_sized_table(args.rows)
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        IndicatorAnalysis(bootstrap=args.bootstrap, normalise="speaker").fit(features, labels, speakers)
        times.append(time.perf_counter() - start)
    best = min(times)
    print(f"indicator analysis, {args.rows} x {features.shape[1]}, 3 tasks, {args.bootstrap} bootstraps: "
          f"{best:.2f} s (best of {args.repeat}; all: {', '.join(f'{t:.2f}' for t in times)}); "
          f"{best / TARGET_S:.2f} x the {TARGET_S:g} s target")
    return 0 if best <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())

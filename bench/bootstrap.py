"""The indicator bootstrap at three table sizes: copying each resample against integer row weights.

For each size, one task at a time (stress: logistic regression; valence:
least squares), the same resamples from the same seeded stream are fitted
three ways, side by side in one run: the naive way (the drawn rows copied),
the analysis's own (:class:`muser_core.indicators.IndicatorAnalysis`: weights,
one worker) and the same on both cores; the bare step is the full-data fit repeated as
often as there are resamples (the least a bootstrap can cost). Prints seconds,
ratios to the bare step and the growth from the smallest to the largest table.

    python bench/bootstrap.py [--rows 2300,23000,100000] [--bootstrap 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from indicators import muse_sized_table  # noqa: E402  (bench/indicators.py: the same table shape)

from muser_core.indicators import TASKS, IndicatorAnalysis, _fit_ols_weighted  # noqa: E402


def old_bootstrap(analysis: IndicatorAnalysis, task: str, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The naive procedure, for comparison: every resample copies its rows, then fits them."""
    rng = np.random.default_rng([analysis.seed, TASKS.index(task)])
    out = []
    start = analysis._fit_logistic(X, y)[0] if task == "stress" else None
    for _ in range(analysis.bootstrap):
        if task == "stress":
            idx = np.concatenate([rng.choice(np.flatnonzero(y == c), size=int((y == c).sum())) for c in (0, 1)])
            out.append(analysis._fit_logistic(X[idx], y[idx], start=start)[0][:-1])
        else:
            idx = rng.integers(0, len(y), size=len(y))
            design = np.column_stack([X[idx], np.ones(len(idx))])   # the second copy
            out.append(np.linalg.solve(design.T @ design, design.T @ y[idx])[:-1])
    return np.array(out)


def seconds(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure(X: np.ndarray, y: np.ndarray, task: str, bootstrap: int) -> tuple[float, dict[str, float]]:
    """Seconds of the bare step (the full-data fit, once per resample) and of each bootstrap, same resamples."""
    analyses = {w: IndicatorAnalysis(bootstrap=bootstrap, workers=w) for w in (1, 2)}
    for analysis in analyses.values():
        analysis.notes_ = []
    start = analyses[1]._fit_logistic(X, y)[0] if task == "stress" else None
    design = np.column_stack([X, np.ones(len(y))])

    def stream() -> np.random.Generator:
        return np.random.default_rng([0, TASKS.index(task)])

    def full_fit():   # what one resample costs without resampling: the same solver on the whole table
        if task == "stress":
            return analyses[1]._fit_logistic(X, y, start=start)
        return _fit_ols_weighted(design, y, np.ones(len(y)))

    with threadpool_limits(limits=1):
        bare = bootstrap * seconds(full_fit)
        times = {"old (copies)": seconds(lambda: old_bootstrap(analyses[1], task, X, y)),
                 "now, 1 worker": seconds(lambda: analyses[1]._bootstrap(task, X, y, stream(), start)),
                 "now, 2 workers": seconds(lambda: analyses[2]._bootstrap(task, X, y, stream(), start))}
        np.testing.assert_allclose(analyses[1]._bootstrap(task, X, y, stream(), start),
                                   old_bootstrap(analyses[1], task, X, y), rtol=1e-6, atol=1e-8)
    return bare, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="2300,23000,100000")
    parser.add_argument("--bootstrap", type=int, default=10)
    args = parser.parse_args()
    growth = {}
    for rows in [int(r) for r in args.rows.split(",")]:
        features, labels, _ = muse_sized_table(rows)
        X = features.to_numpy()
        X = (X - X.mean(axis=0)) / X.std(axis=0)
        for task in ("stress", "valence"):
            bare, times = measure(X, labels[task].to_numpy(float), task, args.bootstrap)
            growth.setdefault(task, []).append((rows, times))
            print(f"{rows:>7,} rows, {task:8}: bare {bare:6.2f} s; " + ", ".join(
                f"{k} {v:6.2f} s ({v / bare:4.2f}x bare)" for k, v in times.items())
                + f"; 2 workers vs old {times['old (copies)'] / times['now, 2 workers']:.2f}x")
    for task, rows in growth.items():
        (small, first), (large, last) = rows[0], rows[-1]
        print(f"{task}: growth from {small:,} to {large:,} rows ({large / small:.0f}x): " + ", ".join(
            f"{k} {last[k] / first[k]:.1f}x" for k in first))


if __name__ == "__main__":
    main()

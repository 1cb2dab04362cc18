"""Metrics against scikit-learn and hand computations."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from muser_core.train.metrics import classification_metrics, regression_metrics


def test_classification_matches_sklearn():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    m = classification_metrics(y, p)
    precision, recall, f1, _ = precision_recall_fscore_support(y, p, pos_label=1, average="binary")
    assert m == pytest.approx({"accuracy": accuracy_score(y, p), "precision": precision,
                               "recall": recall, "f1": f1})


def test_classification_by_hand_and_zero_division():
    # tp = 1, fp = 1, fn = 1, tn = 1
    m = classification_metrics([1, 0, 1, 0], [1, 1, 0, 0])
    assert m == pytest.approx({"accuracy": 0.5, "precision": 0.5, "recall": 0.5, "f1": 0.5})
    assert classification_metrics([0, 0], [0, 0])["f1"] == 0.0  # no stressed item predicted or present


def test_regression_by_hand():
    m = regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    assert m["rmse"] == pytest.approx(np.sqrt(4 / 3))
    # CCC = 2 cov / (var_t + var_p + (mean_t - mean_p)^2), population moments.
    t, p = np.array([1.0, 2, 3]), np.array([1.0, 2, 5])
    cov = np.mean((t - t.mean()) * (p - p.mean()))
    assert m["ccc"] == pytest.approx(2 * cov / (t.var() + p.var() + (t.mean() - p.mean()) ** 2))
    assert regression_metrics([1, 2, 3], [1, 2, 3])["ccc"] == pytest.approx(1.0)

"""Evaluation metrics (MUSER paper 5.1): stress accuracy and the stressed class's precision, recall, F1;
RMSE (and CCC) for the emotion regressions."""

from __future__ import annotations

import numpy as np

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1")
REGRESSION_METRICS = ("rmse", "ccc")


def classification_metrics(y_true, y_pred) -> dict[str, float]:
    """Accuracy, and precision/recall/F1 of the positive ("stressed", 1) class; 0 where undefined."""
    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    if y_true.size == 0:
        return dict.fromkeys(CLASSIFICATION_METRICS, float("nan"))
    tp = int(np.sum((y_pred == 1) & (y_true == 1)))
    fp = int(np.sum((y_pred == 1) & (y_true == 0)))
    fn = int(np.sum((y_pred == 0) & (y_true == 1)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": float(np.mean(y_true == y_pred)), "precision": precision,
            "recall": recall, "f1": f1}


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """Root mean squared error and Lin's concordance correlation coefficient."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.size == 0:
        return dict.fromkeys(REGRESSION_METRICS, float("nan"))
    rmse = float(np.sqrt(np.mean((y_true - y_pred) ** 2)))
    mt, mp = y_true.mean(), y_pred.mean()
    covariance = np.mean((y_true - mt) * (y_pred - mp))
    denominator = y_true.var() + y_pred.var() + (mt - mp) ** 2
    ccc = float(2 * covariance / denominator) if denominator > 0 else 0.0
    return {"rmse": rmse, "ccc": ccc}

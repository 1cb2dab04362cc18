"""Calibrated stress probabilities: temperature scaling, expected calibration error, Brier score.

A network's softmax is often over-confident: a fine-tuned encoder puts many
clips at P > 0.99 that are wrong far more often than 1 %. Temperature scaling
(Guo, Pleiss, Sun and Weinberger 2017, "On calibration of modern neural
networks", ICML) divides the stress head's logits by one number T > 0 fitted
on the validation split by minimising its negative log-likelihood; the
predicted class (argmax) never changes, so accuracy, precision, recall and F1
stay what they were, only the probabilities move. The run fits T after
training and stores it beside the checkpoint (``calibration.json``); its test
metrics report the ECE and Brier score before and after.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from muser_core.base.errors import InputError

ECE_BINS = 15  # equal-width confidence bins, as Guo et al. (2017)
LOG_T_BOUNDS = (-4.0, 4.0)  # T between 0.018 and 55: any fit beyond is a degenerate split, not a calibration


def probabilities(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """P(class 1) of two-class logits (n x 2) divided by ``temperature``."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    return 1.0 / (1.0 + np.exp(z[:, 0] - z[:, 1]))


def _nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    z = np.asarray(logits, dtype=np.float64) / temperature
    log_norm = np.logaddexp(z[:, 0], z[:, 1])
    return float(np.mean(log_norm - z[np.arange(len(labels)), labels]))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T > 0 minimising the negative log-likelihood of softmax(logits / T) on these labelled items."""
    labels = np.asarray(labels).astype(int)
    if len(labels) == 0 or len(np.unique(labels)) < 2:
        raise InputError("temperature scaling needs a validation split with stressed and not-stressed items "
                         f"(it has {', '.join(map(str, np.unique(labels))) or 'none'})")
    best = minimize_scalar(lambda log_t: _nll(logits, labels, float(np.exp(log_t))), bounds=LOG_T_BOUNDS,
                           method="bounded", options={"xatol": 1e-6})
    return float(np.exp(best.x))


def reliability(probability: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> dict[str, list]:
    """Per equal-width bin of confidence (the predicted class's probability, 0.5..1): items, mean confidence
    and accuracy; empty bins left out. What a reliability diagram draws."""
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(labels).astype(int)
    predicted = (p >= 0.5).astype(int)
    confidence = np.where(predicted == 1, p, 1.0 - p)
    edges = np.linspace(0.5, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    out: dict[str, list] = {"lower": [], "upper": [], "items": [], "confidence": [], "accuracy": []}
    for b in range(bins):
        mask = which == b
        if mask.any():
            out["lower"].append(float(edges[b]))
            out["upper"].append(float(edges[b + 1]))
            out["items"].append(int(mask.sum()))
            out["confidence"].append(float(confidence[mask].mean()))
            out["accuracy"].append(float((predicted[mask] == y[mask]).mean()))
    return out


def expected_calibration_error(probability: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE: the items-weighted mean |accuracy - confidence| over equal-width confidence bins."""
    table = reliability(probability, labels, bins)
    n = sum(table["items"])
    if not n:
        return float("nan")
    return float(sum(k * abs(a - c) for k, a, c in zip(table["items"], table["accuracy"], table["confidence"],
                                                       strict=True)) / n)


def brier_score(probability: np.ndarray, labels: np.ndarray) -> float:
    """Mean squared difference between P(stressed) and the 0/1 label."""
    p = np.asarray(probability, dtype=np.float64)
    return float(np.mean((p - np.asarray(labels, dtype=np.float64)) ** 2)) if len(p) else float("nan")


def calibration_report(logits: np.ndarray, labels: np.ndarray, temperature: float) -> dict:
    """ECE and Brier score of the probabilities before (T = 1) and after temperature scaling, and the
    reliability bins after: what test.json records for the stress head."""
    before, after = probabilities(logits), probabilities(logits, temperature)
    return {"ece": expected_calibration_error(after, labels), "brier": brier_score(after, labels),
            "ece_uncalibrated": expected_calibration_error(before, labels),
            "brier_uncalibrated": brier_score(before, labels), "temperature": temperature,
            "reliability": reliability(after, labels)}

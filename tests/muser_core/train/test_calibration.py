"""Temperature scaling (Guo et al. 2017) and the calibration figures, against computations written out here."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import synthetic_corpus

from muser_core.base.errors import InputError
from muser_core.config import DataConfig, ModelConfig, RunConfig, StrategyConfig, TrainConfig
from muser_core.predict.run_model import load_trained_model, model_outputs
from muser_core.train import run_folder as rf
from muser_core.train import train_run
from muser_core.train.calibration import (
    brier_score,
    expected_calibration_error,
    fit_temperature,
    probabilities,
    reliability,
)


def test_fit_temperature_recovers_the_temperature_that_made_the_logits_overconfident():
    rng = np.random.default_rng(0)
    margin = rng.normal(0, 2, 20_000)                    # the calibrated logit difference
    labels = (rng.random(20_000) < 1 / (1 + np.exp(-margin))).astype(int)
    logits = np.column_stack([np.zeros_like(margin), 3.0 * margin])   # three times over-confident
    assert fit_temperature(logits, labels) == pytest.approx(3.0, rel=0.05)
    # Scaling never changes the predicted class.
    assert ((probabilities(logits, 3.0) >= 0.5) == (probabilities(logits) >= 0.5)).all()


def test_ece_and_brier_by_hand():
    p = np.array([0.95, 0.9, 0.2, 0.6, 0.55])            # P(stressed)
    y = np.array([1, 0, 0, 1, 0])
    # Confidence of the predicted class: 0.95 (right), 0.9 (wrong), 0.8 (right), 0.6 (right), 0.55 (wrong).
    # 15 bins over 0.5..1 (width 1/30): 0.55 -> bin 1, 0.6 -> bin 3, 0.8 -> bin 9, 0.9 -> bin 12, 0.95 -> bin 13.
    expected = (abs(1 - 0.95) + abs(0 - 0.9) + abs(1 - 0.8) + abs(1 - 0.6) + abs(0 - 0.55)) / 5
    assert expected_calibration_error(p, y) == pytest.approx(expected)
    assert brier_score(p, y) == pytest.approx(np.mean((p - y) ** 2))
    table = reliability(p, y)
    assert table["items"] == [1, 1, 1, 1, 1] and table["accuracy"] == [0.0, 1.0, 1.0, 0.0, 1.0]


def test_a_validation_split_with_one_class_is_refused_in_one_line():
    with pytest.raises(InputError, match="needs a validation split with stressed and not-stressed items"):
        fit_temperature(np.zeros((4, 2)), np.ones(4))


@pytest.mark.slow
def test_a_run_stores_its_temperature_reports_ece_and_brier_and_predicts_calibrated(tmp_path):
    corpus = tmp_path / "c.csv"
    synthetic_corpus().save(corpus)
    cfg = RunConfig(data=DataConfig(corpus=str(corpus), tasks=["stress", "activation"]),
                    model=ModelConfig(modality="text"), strategy=StrategyConfig(name="uniform"),
                    train=TrainConfig(max_epochs=6, patience=6))
    test = train_run(cfg, tmp_path / "run")
    stored = rf.read_json(tmp_path / "run" / rf.CALIBRATION)["stress"]
    assert stored["fitted_on"] == "validation" and stored["temperature"] > 0
    stress = test["stress"]
    assert {"accuracy", "f1", "ece", "brier", "ece_uncalibrated", "brier_uncalibrated"} <= set(stress)
    assert 0 <= stress["ece"] <= 1 and 0 <= stress["brier"] <= 1
    record = rf.read_json(tmp_path / "run" / rf.TEST)
    assert record["metrics"]["stress"] == pytest.approx(stress)
    bins = record["calibration"]["stress"]["reliability"]
    assert sum(bins["items"]) == record["items"]["stress"]
    # The predictor divides the stress logits by T: logit(p) = logit(p_raw) / T.
    model, _, stats = load_trained_model(tmp_path / "run")
    texts = ["I am worried about the exam", "a calm walk in the park", "deadline tomorrow and I panic"]
    calibrated = model_outputs(model, stats, texts)["stress_probability"].to_numpy()
    raw = model_outputs(model, {**stats, "calibration": {}}, texts)["stress_probability"].to_numpy()
    logit = lambda q: np.log(q / (1 - q))  # noqa: E731
    np.testing.assert_allclose(logit(calibrated), logit(raw) / stored["temperature"], atol=1e-4)

"""Sampling strategies against probabilities computed by hand (MUSER paper eq. 1; Liu et al. 2019)."""

from __future__ import annotations

import math

import pytest

from muser_core.base.errors import InputError
from muser_core.config import StrategyConfig
from muser_core.strategies import (
    STRATEGIES,
    DynamicWeightAverage,
    PretrainPhases,
    SingleTask,
    SpeedBasedSampler,
    TrainingState,
    UniformSampler,
    make_strategy,
)

TASKS = ("stress", "activation", "valence")


def val(acc: float, rmse_a: float, rmse_v: float) -> dict:
    return {"stress": {"accuracy": acc}, "activation": {"rmse": rmse_a}, "valence": {"rmse": rmse_v}}


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_every_registered_strategy_gives_a_distribution_over_the_tasks(name):
    strategy = make_strategy(StrategyConfig(name=name, history=1))
    history = [val(0.5 + 0.01 * e, 2 - 0.1 * e, 2 - 0.05 * e) for e in range(4)]
    losses = [{"stress": 1 - 0.1 * e, "activation": 1.0, "valence": 0.9} for e in range(3)]
    for done in range(4):
        state = TrainingState(done, TASKS, history[:done + 1], losses[:done])
        p = strategy.probabilities(state)
        assert set(p) == set(TASKS)
        assert math.isclose(sum(p.values()), 1.0) and min(p.values()) >= 0


def test_state_is_immutable():
    state = TrainingState(1, TASKS, [val(0.5, 1, 1), val(0.6, 1, 1)], [{"stress": 1.0}])
    with pytest.raises(TypeError):
        state.val_history[0]["stress"]["accuracy"] = 1.0
    with pytest.raises(TypeError):
        state.loss_history[0]["stress"] = 0.0


def test_single_and_uniform():
    state = TrainingState(0, TASKS)
    assert SingleTask().probabilities(state) == {"stress": 1.0, "activation": 0.0, "valence": 0.0}
    assert UniformSampler().probabilities(state) == {t: 1 / 3 for t in TASKS}
    assert SingleTask().default_tasks() == ("stress",)


def test_pretrain_phases_switch_on_the_right_epochs():
    s = PretrainPhases("valence:3,activation:2,stress")
    expected = ["valence"] * 3 + ["activation"] * 2 + ["stress"] * 4
    for epoch, task in enumerate(expected, start=1):
        p = s.probabilities(TrainingState(epoch - 1, TASKS))  # the probabilities for `epoch`
        assert p == {t: float(t == task) for t in TASKS}, epoch
    assert s.first_stop_epoch == 6  # early stopping starts with the stress phase
    assert s.default_tasks() == ("stress", "valence", "activation")


@pytest.mark.parametrize("phases, message", [
    ("activation:100,stress:5", "the last phase runs to the end"),
    ("activation,stress", "needs a length"),
    ("activation:0,stress", "needs a length"),
    ("stress:10,activation", "must be 'stress'"),
])
def test_pretrain_rejects_bad_phases(phases, message):
    with pytest.raises(InputError, match=message):
        PretrainPhases(phases)


def test_pretrain_check_names_missing_task():
    with pytest.raises(InputError, match="'valence'"):
        PretrainPhases("valence:2,stress").check(("stress", "activation"))


def test_dwa_by_hand():
    s = DynamicWeightAverage(temperature=2.0)
    # Uniform until two epochs of losses exist (epochs 1 and 2).
    assert s.probabilities(TrainingState(0, ("stress", "activation"))) == {"stress": 0.5, "activation": 0.5}
    assert s.probabilities(TrainingState(1, ("stress", "activation"), loss_history=[{"stress": 1.0}])) \
        == {"stress": 0.5, "activation": 0.5}
    # Epoch 3: w_stress = 0.5 / 1.0 = 0.5, w_activation = 2.0 / 2.0 = 1.0; softmax(w / 2).
    losses = [{"stress": 1.0, "activation": 2.0}, {"stress": 0.5, "activation": 2.0}]
    p = s.probabilities(TrainingState(2, ("stress", "activation"), loss_history=losses))
    e_s, e_a = math.exp(0.25), math.exp(0.5)
    assert p["stress"] == pytest.approx(e_s / (e_s + e_a))
    assert p["activation"] == pytest.approx(e_a / (e_s + e_a))


def test_dwa_task_without_batches_keeps_its_last_loss():
    losses = [{"stress": 1.0, "activation": 2.0}, {"stress": 0.8, "activation": 1.0}, {"stress": 0.4}]
    p = DynamicWeightAverage(2.0).probabilities(TrainingState(3, ("stress", "activation"), loss_history=losses))
    # stress: 0.4 / 0.8 = 0.5; activation: no batch in epoch 3, so L(3) = L(2) = 1.0 and ratio 1.0.
    e_s, e_a = math.exp(0.5 / 2), math.exp(1.0 / 2)
    assert p["stress"] == pytest.approx(e_s / (e_s + e_a))


def test_speed_warm_up_then_equation_1_by_hand():
    s = SpeedBasedSampler(history=2, rho=0.1)
    history = [val(0.50, 2.0, 1.0), val(0.60, 1.8, 1.0), val(0.70, 1.5, 1.2)]
    # Epochs 1..n (n = 2) are uniform: only evaluations 0 and 1 exist for epoch 2.
    for done in (0, 1):
        assert s.probabilities(TrainingState(done, TASKS, history[:done + 1])) == {t: 1 / 3 for t in TASKS}
    # Epoch 3 uses evaluations 0, 1 (history, including the epoch-0 one) and 2 (current).
    p = s.probabilities(TrainingState(2, TASKS, history))
    r_s = 0.70 / ((0.50 + 0.60) / 2)
    r_a = ((2.0 + 1.8) / 2) / 1.5
    r_v = ((1.0 + 1.0) / 2) / 1.2
    z = [math.exp(r / 0.1) for r in (r_s, r_a, r_v)]
    assert p["stress"] == pytest.approx(z[0] / sum(z))
    assert p["activation"] == pytest.approx(z[1] / sum(z))
    assert p["valence"] == pytest.approx(z[2] / sum(z))


def test_speed_history_1_uses_only_the_previous_epoch():
    s = SpeedBasedSampler(history=1, rho=0.5)
    history = [val(0.4, 2.0, 2.0), val(0.8, 1.0, 4.0)]
    p = s.probabilities(TrainingState(1, TASKS, history))
    z = [math.exp(2.0 / 0.5), math.exp(2.0 / 0.5), math.exp(0.5 / 0.5)]
    assert [p[t] for t in TASKS] == pytest.approx([x / sum(z) for x in z])


def test_speed_guards_division_by_zero():
    s = SpeedBasedSampler(history=1)
    history = [val(0.0, 1.0, 0.0), val(0.0, 0.0, 0.0)]
    p = s.probabilities(TrainingState(1, TASKS, history))
    assert all(math.isfinite(v) for v in p.values()) and sum(p.values()) == pytest.approx(1.0)


def test_make_strategy_passes_only_declared_settings():
    assert make_strategy(StrategyConfig(name="speed", history=10, rho=0.2)) \
        == SpeedBasedSampler(history=10, rho=0.2)
    assert make_strategy(StrategyConfig(name="dwa")) == DynamicWeightAverage(temperature=2.0)
    assert make_strategy(StrategyConfig(name="speed")) == SpeedBasedSampler(history=5, rho=0.1)
    assert make_strategy(StrategyConfig(name="pretrain")) == PretrainPhases("activation:100,stress")
    with pytest.raises(InputError, match="unknown strategy 'nope'"):
        make_strategy(StrategyConfig(name="nope"))
    with pytest.raises(InputError):
        make_strategy(StrategyConfig(name="speed", history=0))


@pytest.mark.parametrize("bad", [
    lambda: SpeedBasedSampler(rho=float("nan")),
    lambda: SpeedBasedSampler(rho=0.0),
    lambda: DynamicWeightAverage(temperature=float("nan")),
    lambda: DynamicWeightAverage(temperature=-1.0),
])
def test_nan_and_non_positive_temperatures_are_refused(bad):
    with pytest.raises(InputError, match="must be positive"):
        bad()

"""Dynamic weight average: tasks whose training loss falls slowly are drawn more often."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from muser_core.base.errors import InputError
from muser_core.base.settings import setting
from muser_core.strategies.base import EPS, Strategy, TrainingState, softmax, uniform


def _last_known(history: Sequence[Mapping[str, float]], task: str) -> float | None:
    """A task's most recent mean loss in ``history`` (an epoch without its batches keeps the last)."""
    for entry in reversed(history):
        if task in entry:
            return entry[task]
    return None


@dataclass(frozen=True)
class DynamicWeightAverage(Strategy):
    """Liu et al. 2019's dynamic weight average, used as sampling probabilities (MUSER paper, Table 8).

    w_k = L_k(t-1) / L_k(t-2) from mean training losses; p = softmax(w / T).
    Uniform until two epochs of losses exist; a task that got no batch in an
    epoch keeps its last loss; a task never trained yet counts as ratio 1.
    """

    title = "dynamic weight average"

    temperature: float = setting(2.0, "temperature T of the loss-ratio softmax (Liu et al. 2019: 2)", above=0.0)

    def __post_init__(self):
        if not self.temperature > 0:  # also refuses NaN
            raise InputError(f"dwa temperature must be positive (got {self.temperature})")

    def probabilities(self, state: TrainingState) -> dict[str, float]:
        losses = state.loss_history
        if len(losses) < 2:
            return uniform(state.tasks)
        ratios = {}
        for task in state.tasks:
            last, before = _last_known(losses, task), _last_known(losses[:-1], task)
            ratios[task] = 1.0 if last is None or before is None else last / max(before, EPS)
        return softmax(ratios, self.temperature)

"""Stress alone: the single-task baseline."""

from __future__ import annotations

from dataclasses import dataclass

from muser_core.base.tasks import MAIN_TASK
from muser_core.strategies.base import Strategy, TrainingState


@dataclass(frozen=True)
class SingleTask(Strategy):
    """Stress only, from scratch: the single-task baseline (MUSER paper, Table 7 'from scratch')."""

    title = "single task"
    mixes_tasks = False

    def probabilities(self, state: TrainingState) -> dict[str, float]:
        return {t: float(t == state.main_task) for t in state.tasks}

    def default_tasks(self) -> tuple[str, ...]:
        return (MAIN_TASK,)

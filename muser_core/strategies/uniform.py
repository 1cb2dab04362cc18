"""Uniform sampling: every task equally likely in every epoch."""

from __future__ import annotations

import math
from dataclasses import dataclass

from muser_core.strategies.base import Strategy, TrainingState, uniform


@dataclass(frozen=True)
class UniformSampler(Strategy):
    """Each batch's task drawn with equal chance (MUSER paper 4.4.2, 'Uniform Sampling')."""

    title = "uniform sampling"

    def probabilities(self, state: TrainingState) -> dict[str, float]:
        return uniform(state.tasks)

    def uniform_epochs(self) -> float:
        return math.inf

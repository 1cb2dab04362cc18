"""Speed-based sampling, the MUSER paper's strategy: tasks that are learning faster are drawn more often."""

from __future__ import annotations

from dataclasses import dataclass

from muser_core.base.errors import InputError
from muser_core.base.settings import setting
from muser_core.strategies.base import EPS, Strategy, TrainingState, softmax, uniform


@dataclass(frozen=True)
class SpeedTerm:
    """One task's part of eq. 1 after epoch t."""

    metric: str        # "accuracy" (stress) or "rmse" (an emotion task)
    current: float     # the metric at epoch t
    past_mean: float   # its mean over epochs t-n..t-1
    ratio: float       # r: > 1 when the task is improving


@dataclass(frozen=True)
class SpeedBasedSampler(Strategy):
    """Speed-based dynamic sampling (MUSER paper 4.4.2, eq. 1).

    After epoch t >= n: regression r = mean(RMSE[t-n..t-1]) / RMSE[t]; the main
    task r = accuracy[t] / mean(accuracy[t-n..t-1]); epoch t+1 samples with
    softmax(r / rho). Epochs 1..n are uniform (the warm-up, paper 5.1); the
    history of the first dynamic step, epoch n+1, includes evaluation 0 (before
    any training), as Figure 2 draws it.
    """

    title = "speed-based sampling"

    history: int = setting(5, "history length n of eq. 1 (paper: 1, 5 or 10)", min=1, label="History n")
    rho: float = setting(0.1, "temperature rho of eq. 1 (paper 0.1)", above=0.0)

    def __post_init__(self):
        if not self.history >= 1:
            raise InputError(f"speed history must be at least 1 (got {self.history})")
        if not self.rho > 0:  # also refuses NaN
            raise InputError(f"speed rho must be positive (got {self.rho})")

    def terms(self, state: TrainingState) -> dict[str, SpeedTerm]:
        """Per task, the metric, its value at t, its mean over t-n..t-1 and the ratio r ({} in warm-up).

        Public so the Sampling dynamics page shows exactly the numbers eq. 1 used.
        """
        t = state.epochs_done  # the last evaluation
        n = self.history
        if t < n:
            return {}
        terms = {}
        for task in state.tasks:
            metric = "accuracy" if task == state.main_task else "rmse"
            now = state.val_history[t][task][metric]
            past = sum(state.val_history[e][task][metric] for e in range(t - n, t)) / n
            # Accuracy should rise and RMSE fall: both ratios are > 1 when the task is improving.
            ratio = now / max(past, EPS) if task == state.main_task else past / max(now, EPS)
            terms[task] = SpeedTerm(metric, now, past, ratio)
        return terms

    def probabilities(self, state: TrainingState) -> dict[str, float]:
        terms = self.terms(state)
        if not terms:
            return uniform(state.tasks)
        return softmax({task: term.ratio for task, term in terms.items()}, self.rho)

    def uniform_epochs(self) -> float:
        return self.history  # the warm-up

    def summary(self) -> str:
        return f"n={self.history}"

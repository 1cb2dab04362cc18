"""Task-sampling strategies: once per epoch, the probability of drawing each task for a batch.

Each strategy is a small frozen dataclass holding its own settings, with one
pure method, :meth:`Strategy.probabilities`, from an immutable
:class:`TrainingState` to ``{task: probability}``. The trainer alone draws
tasks, from a seeded generator it owns. :data:`STRATEGIES` is the one registry
the command line, the Train page and the tests read.

The epoch convention, used everywhere in the app (trainer, metrics.jsonl,
status.json, pages): epoch ``e >= 1`` is the e-th pass of training batches;
evaluation ``e`` is the validation run after it, and evaluation 0 is the one
before any training. ``epochs_done`` counts finished epochs, which is also
the number of the last evaluation. A :class:`TrainingState` is the state after
``epochs_done`` epochs: ``val_history[e]`` is evaluation ``e`` (``e = 0 ..
epochs_done``) and ``loss_history[e - 1]`` the mean training loss of each task
that got at least one batch in epoch ``e`` (``e = 1 .. epochs_done``); the
strategy answers with the probabilities for epoch ``epochs_done + 1``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from types import MappingProxyType

from muser_core.base.errors import InputError
from muser_core.base.tasks import INTERNAL_TASKS, MAIN_TASK
from muser_core.config import StrategyConfig

_EPS = 1e-12  # guards the ratios of eq. 1 and DWA against division by zero


def _freeze(history: Sequence[Mapping]) -> tuple:
    """Read-only copies, so a strategy cannot change what the trainer recorded."""
    return tuple(MappingProxyType({k: (MappingProxyType(dict(v)) if isinstance(v, Mapping) else v)
                                   for k, v in entry.items()}) for entry in history)


@dataclass(frozen=True)
class TrainingState:
    """What a strategy may look at after ``epochs_done`` epochs (see the epoch convention above)."""

    epochs_done: int
    tasks: tuple[str, ...]
    val_history: tuple[Mapping[str, Mapping[str, float]], ...] = ()  # [e][task][metric], e = 0..epochs_done
    loss_history: tuple[Mapping[str, float], ...] = ()  # [e-1][task] mean train loss, e = 1..epochs_done
    main_task: str = MAIN_TASK

    def __post_init__(self):
        object.__setattr__(self, "tasks", tuple(self.tasks))
        object.__setattr__(self, "val_history", _freeze(self.val_history))
        object.__setattr__(self, "loss_history", _freeze(self.loss_history))


def softmax(scores: Mapping[str, float], temperature: float = 1.0) -> dict[str, float]:
    """softmax(score / temperature) over a dict, shifted by the max for stability."""
    top = max(scores.values())
    exp = {k: math.exp((v - top) / temperature) for k, v in scores.items()}
    total = sum(exp.values())
    return {k: v / total for k, v in exp.items()}


def uniform(tasks: Sequence[str]) -> dict[str, float]:
    return {t: 1.0 / len(tasks) for t in tasks}


class Strategy(ABC):
    """One way of mixing tasks across epochs."""

    @abstractmethod
    def probabilities(self, state: TrainingState) -> dict[str, float]:
        """Probability of each task in ``state.tasks`` for epoch ``state.epochs_done + 1``; they sum to 1."""

    def default_tasks(self) -> tuple[str, ...]:
        """Tasks used when the run does not list any."""
        return INTERNAL_TASKS

    def check(self, tasks: Sequence[str]) -> None:  # noqa: B027 (optional hook, no-op by default)
        """Raise InputError when the strategy cannot work with these tasks."""

    @property
    def first_stop_epoch(self) -> int:
        """First epoch whose validation stress metric may count as best (pre-training phases don't)."""
        return 1


@dataclass(frozen=True)
class SingleTask(Strategy):
    """Stress only, from scratch: the single-task baseline (MUSER paper, Table 7 'from scratch')."""

    def probabilities(self, state: TrainingState) -> dict[str, float]:
        return {t: float(t == state.main_task) for t in state.tasks}

    def default_tasks(self) -> tuple[str, ...]:
        return (MAIN_TASK,)


@dataclass(frozen=True)
class PretrainPhases(Strategy):
    """Pre-train on auxiliary tasks, then switch to stress (MUSER paper 5.3.1, Table 7).

    ``phases`` reads ``task:epochs,...,task``: e.g. ``valence:100,activation:100,stress``.
    Every phase but the last has a length; the last runs until early stopping,
    which only starts counting when the last phase begins.
    """

    phases: str = "activation:100,stress"

    def __post_init__(self):
        _ = self.schedule  # parse now: a bad string fails when the object is built

    @property
    def schedule(self) -> tuple[tuple[str, int | None], ...]:
        parts = [p.strip() for p in self.phases.split(",") if p.strip()]
        if not parts:
            raise InputError("pretrain needs --phases, e.g. activation:100,stress")
        out = []
        for i, part in enumerate(parts):
            task, _, length = part.partition(":")
            last = i == len(parts) - 1
            if last and length:
                raise InputError(f"phases '{self.phases}': the last phase runs to the end; give it no length")
            if not last:
                if not length.strip().isdigit() or int(length) < 1:
                    raise InputError(f"phases '{self.phases}': '{part}' needs a length in epochs, e.g. {task}:100")
            out.append((task.strip(), int(length) if not last else None))
        if out[-1][0] != MAIN_TASK:
            raise InputError(f"phases '{self.phases}': the last phase must be '{MAIN_TASK}'")
        return tuple(out)

    def probabilities(self, state: TrainingState) -> dict[str, float]:
        start, epoch = 1, state.epochs_done + 1
        for task, length in self.schedule:
            if length is None or epoch < start + length:
                return {t: float(t == task) for t in state.tasks}
            start += length
        raise AssertionError("unreachable: the last phase has no length")

    def default_tasks(self) -> tuple[str, ...]:
        seen = dict.fromkeys(task for task, _ in self.schedule)
        return (MAIN_TASK, *[t for t in seen if t != MAIN_TASK])

    def check(self, tasks: Sequence[str]) -> None:
        for task, _ in self.schedule:
            if task not in tasks:
                raise InputError(f"phases name task '{task}', which is not in the task list ({','.join(tasks)})")

    @property
    def first_stop_epoch(self) -> int:
        return 1 + sum(length for _, length in self.schedule[:-1])


@dataclass(frozen=True)
class UniformSampler(Strategy):
    """Each batch's task drawn with equal chance (MUSER paper 4.4.2, 'Uniform Sampling')."""

    def probabilities(self, state: TrainingState) -> dict[str, float]:
        return uniform(state.tasks)


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

    temperature: float = 2.0

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
            ratios[task] = 1.0 if last is None or before is None else last / max(before, _EPS)
        return softmax(ratios, self.temperature)


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

    history: int = 5    # n
    rho: float = 0.1    # the temperature of eq. 1

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
            ratio = now / max(past, _EPS) if task == state.main_task else past / max(now, _EPS)
            terms[task] = SpeedTerm(metric, now, past, ratio)
        return terms

    def probabilities(self, state: TrainingState) -> dict[str, float]:
        terms = self.terms(state)
        if not terms:
            return uniform(state.tasks)
        return softmax({task: term.ratio for task, term in terms.items()}, self.rho)


STRATEGIES: dict[str, type[Strategy]] = {
    "single": SingleTask,
    "pretrain": PretrainPhases,
    "uniform": UniformSampler,
    "dwa": DynamicWeightAverage,
    "speed": SpeedBasedSampler,
}


def make_strategy(cfg: StrategyConfig) -> Strategy:
    """Build the registered strategy, passing only the settings it declares."""
    if cfg.name not in STRATEGIES:
        raise InputError(f"unknown strategy '{cfg.name}' (choose {', '.join(STRATEGIES)})")
    cls = STRATEGIES[cfg.name]
    wanted = {f.name for f in fields(cls)}
    kwargs = {k: v for k, v in vars(cfg).items() if k in wanted}
    return cls(**kwargs)

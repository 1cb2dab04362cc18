"""What every sampling strategy shares: the training state it reads, its one method, and two helpers.

A strategy is a small frozen dataclass whose fields are its own settings
(declared with :func:`~muser_core.base.settings.setting`, so the command line
and the Train page find them), with one pure method,
:meth:`Strategy.probabilities`, from an immutable :class:`TrainingState` to
``{task: probability}``. The trainer alone draws tasks, from a seeded
generator it owns.

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
from dataclasses import Field, dataclass, fields
from types import MappingProxyType
from typing import Any, ClassVar, Protocol, runtime_checkable

from muser_core.base.tasks import INTERNAL_TASKS, MAIN_TASK

EPS = 1e-12  # guards the ratios of eq. 1 and DWA against division by zero


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
    """Equal probability for every task."""
    return {t: 1.0 / len(tasks) for t in tasks}


class Strategy(ABC):
    """One way of mixing tasks across epochs; subclasses are frozen dataclasses whose fields are settings."""

    title: ClassVar[str]               # a short name for people, e.g. "speed-based sampling"
    mixes_tasks: ClassVar[bool] = True  # draws from every listed task (an external set's tasks join by default)

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

    def uniform_epochs(self) -> float:
        """How many epochs, from the first, draw tasks uniformly (``math.inf``: all of them)."""
        return 0

    def summary(self) -> str:
        """The settings that tell two runs of this strategy apart, for a run's label ('' when none do)."""
        return ""

    @classmethod
    def own_settings(cls) -> tuple[Field, ...]:
        """The strategy's settings: its dataclass fields, each declared with ``setting()``."""
        return fields(cls)

    @classmethod
    def declares(cls, setting_name: str) -> bool:
        """Whether the strategy has this setting (e.g. a sweep chooses ``history`` only for one that has it)."""
        return any(f.name == setting_name for f in fields(cls))


@runtime_checkable
class ShowsRatios(Protocol):
    """A strategy that samples with softmax(r / rho) over per-task ratios r it can show (the speed sampler, eq. 1).

    The Sampling dynamics page recomputes the probabilities from these terms.
    """

    rho: float

    def terms(self, state: TrainingState) -> Mapping[str, Any]:
        """Per task, the term whose ``ratio`` enters the softmax ({} while there is none)."""

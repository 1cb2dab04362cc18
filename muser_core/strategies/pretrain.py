"""Pre-training phases: auxiliary tasks first, one at a time, then stress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from muser_core.base.errors import InputError
from muser_core.base.settings import setting
from muser_core.base.tasks import MAIN_TASK
from muser_core.strategies.base import Strategy, TrainingState


@dataclass(frozen=True)
class PretrainPhases(Strategy):
    """Pre-train on auxiliary tasks, then switch to stress (MUSER paper 5.3.1, Table 7).

    ``phases`` reads ``task:epochs,...,task``: e.g. ``valence:100,activation:100,stress``.
    Every phase but the last has a length; the last runs until early stopping,
    which only starts counting when the last phase begins.
    """

    title = "pre-training phases"
    mixes_tasks = False

    phases: str = setting("activation:100,stress", "task:epochs,...,stress (paper Table 7)")

    def __post_init__(self):
        _ = self.schedule  # parse now: a bad string fails when the object is built

    @property
    def schedule(self) -> tuple[tuple[str, int | None], ...]:
        """The phases as (task, epochs), the last one with ``None`` (it runs to the end)."""
        parts = [p.strip() for p in self.phases.split(",") if p.strip()]
        if not parts:
            raise InputError("pretrain needs its phases (task:epochs, ...), e.g. activation:100,stress")
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

    def summary(self) -> str:
        return self.phases

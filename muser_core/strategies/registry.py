"""The one list of sampling strategies: the command line, the Train page, the views and the tests read it.

Adding a strategy is one new file in this package and one line here.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from muser_core.base.errors import InputError
from muser_core.strategies.base import Strategy
from muser_core.strategies.dwa import DynamicWeightAverage
from muser_core.strategies.pretrain import PretrainPhases
from muser_core.strategies.single import SingleTask
from muser_core.strategies.speed import SpeedBasedSampler
from muser_core.strategies.uniform import UniformSampler

STRATEGIES: dict[str, type[Strategy]] = {
    "single": SingleTask,
    "pretrain": PretrainPhases,
    "uniform": UniformSampler,
    "dwa": DynamicWeightAverage,
    "speed": SpeedBasedSampler,
}
DEFAULT_STRATEGY = "speed"  # the paper's own strategy


def make_strategy(cfg: Any) -> Strategy:
    """Build the strategy ``cfg.name`` names, passing only the settings it declares (read from ``cfg``)."""
    if cfg.name not in STRATEGIES:
        raise InputError(f"unknown strategy '{cfg.name}' (choose {', '.join(STRATEGIES)})")
    cls = STRATEGIES[cfg.name]
    return cls(**{f.name: getattr(cfg, f.name) for f in fields(cls) if hasattr(cfg, f.name)})

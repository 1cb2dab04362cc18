"""Task-sampling strategies: once per epoch, the probability of drawing each task for a batch.

The folder is the taxonomy: :mod:`.base` holds the training state and the
:class:`Strategy` contract (and the epoch convention); then one file per way
of mixing tasks, fixed schedules first: :mod:`.single` (stress only),
:mod:`.pretrain` (auxiliary phases, then stress), :mod:`.uniform`, and the
dynamic ones, :mod:`.dwa` (by training-loss ratios, Liu et al. 2019) and
:mod:`.speed` (by validation-metric ratios, MUSER paper eq. 1).
:mod:`.registry` lists them by name. (The helper ``uniform()`` lives in
:mod:`.base`; here the name is the module :mod:`.uniform`.)
"""

from muser_core.strategies.base import ShowsRatios, Strategy, TrainingState, softmax
from muser_core.strategies.dwa import DynamicWeightAverage
from muser_core.strategies.pretrain import PretrainPhases
from muser_core.strategies.registry import DEFAULT_STRATEGY, STRATEGIES, make_strategy
from muser_core.strategies.single import SingleTask
from muser_core.strategies.speed import SpeedBasedSampler, SpeedTerm
from muser_core.strategies.uniform import UniformSampler

__all__ = [
    "DEFAULT_STRATEGY", "STRATEGIES", "DynamicWeightAverage", "PretrainPhases", "ShowsRatios", "SingleTask",
    "SpeedBasedSampler", "SpeedTerm", "Strategy", "TrainingState", "UniformSampler", "make_strategy", "softmax",
]

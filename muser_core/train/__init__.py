"""Training MUSER (paper 4.4 and 5.1): one package, one file per job.

Read in this order:

- :mod:`~muser_core.train.data`: corpora in, per-task splits and input tensors out (checks first);
- :mod:`~muser_core.train.loop`: the trainer, top to bottom, and its callback hooks;
- :mod:`~muser_core.train.callbacks`: the run-folder writer and the progress bar;
- :mod:`~muser_core.train.checkpoints`: best weights (safetensors) and the exact resume state;
- :mod:`~muser_core.train.run_folder`: the files of a run folder and its OS lock;
- :mod:`~muser_core.train.run`: one run from lock to test metrics (:func:`train_run`);
- :mod:`~muser_core.train.process`: launch, stop, liveness and listing of runs and sweeps;
- :mod:`~muser_core.train.cli`: ``muser train``, flags generated from the settings.

The settings themselves are :mod:`muser_core.config`; the sampling strategies
:mod:`muser_core.strategies`.
"""

from muser_core.train.data import PreparedData, load_corpus, prepare_data
from muser_core.train.loop import Callback, Trainer
from muser_core.train.run import build, train_run

__all__ = ["Callback", "PreparedData", "Trainer", "build", "load_corpus", "prepare_data", "train_run"]

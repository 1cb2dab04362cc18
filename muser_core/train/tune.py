"""``--tune-head``: the weight decay and the heads' dropout chosen on the validation split before a run trains.

Over a frozen encoder (cached sentence vectors, or eGeMAPS alone) the small
layers on top over-fit: on Dreaddit a logistic regression with a strong L2
penalty over the same frozen MiniLM vectors beat the default head. Model
selection on held-out data (the paper chooses the sampler's history n this
way, 5.1) picks the regularisation instead of a fixed default: each pair of
:data:`WEIGHT_DECAYS` x :data:`HEAD_DROPOUTS` trains a whole candidate run on
the training split, with the run's own seed, data and settings, and the pair
whose best validation score (the score ``--select`` keeps a checkpoint by) is
highest wins; ties go to the weaker regularisation, listed first. The run then
trains from scratch with the chosen pair, so it is exactly the run one would
get by giving those two values, and ``tune.json`` lists every candidate.

The candidates share the prepared data (computed once) and the run's strategy;
only the small layers are trained, so a fine-tuned Transformer is refused (its
weights would carry from one candidate to the next).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import replace

import torch

from muser_core.config import TUNE_HEAD_DROPOUTS, TUNE_WEIGHT_DECAYS, RunConfig
from muser_core.model import MultiTaskModel
from muser_core.strategies import Strategy
from muser_core.train.data import PreparedData
from muser_core.train.loop import Trainer

WEIGHT_DECAYS, HEAD_DROPOUTS = TUNE_WEIGHT_DECAYS, TUNE_HEAD_DROPOUTS   # written once, in muser_core.config


def tune_head(cfg: RunConfig, data: PreparedData, strategy: Strategy, device: torch.device,
              attach: Callable[[Trainer], None] = lambda trainer: None) -> tuple[RunConfig, dict]:
    """The config with the chosen weight decay and dropout, and ``tune.json``'s record of every candidate.

    ``attach`` hands each candidate's trainer to the run's stop handler, so a stop ends the search too
    (the record then says ``stopped``).
    """
    candidates, chosen = [], None
    for weight_decay, dropout in itertools.product(WEIGHT_DECAYS, HEAD_DROPOUTS):
        candidate = replace(cfg, model=replace(cfg.model, head_dropout=dropout),
                            train=replace(cfg.train, weight_decay=weight_decay))
        torch.manual_seed(candidate.train.seed)   # as build() seeds the run itself
        model = MultiTaskModel(candidate.model, candidate.data.tasks, data.text_encoder).to(device)
        trainer = Trainer(model, data, strategy, candidate, device=device)
        attach(trainer)
        started = time.perf_counter()
        trainer.fit()
        if trainer.stopped:
            return cfg, {"stopped": True, "candidates": candidates}
        entry = {"weight_decay": weight_decay, "head_dropout": dropout, "validation_score": trainer.best_score,
                 "best_epoch": trainer.best_epoch, "epochs": trainer.epochs_done,
                 "seconds": round(time.perf_counter() - started, 3)}
        candidates.append(entry)
        if chosen is None or entry["validation_score"] > chosen["validation_score"]:
            chosen = entry
    score = f"validation {'mean task score' if cfg.train.select == 'mean' else 'stress ' + cfg.train.stop_metric}"
    record = {"method": "each pair trained on the training split, chosen on validation", "score": score,
              "weight_decays": list(WEIGHT_DECAYS), "head_dropouts": list(HEAD_DROPOUTS),
              "candidates": candidates, "chosen": {k: chosen[k] for k in ("weight_decay", "head_dropout")}}
    return replace(cfg, model=replace(cfg.model, head_dropout=chosen["head_dropout"]),
                   train=replace(cfg.train, weight_decay=chosen["weight_decay"])), record

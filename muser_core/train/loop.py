"""The multi-task training loop of MUSER (paper 4.4 and 5.1), top to bottom.

1. Evaluate on the validation split before any training (evaluation 0).
2. For each epoch e = 1, 2, ...: ask the strategy for the task probabilities
   (from the validation and loss history so far), then draw batches of 32:
   for each, pick a task with those probabilities, take the next 32 of that
   task's shuffled training items and make one AdamW step through that task's
   head only (hard sharing, paper 4.4.1), until the number of drawn items
   reaches the size of the main task's training split (paper 5.1).
3. Evaluate (evaluation e), keep the weights when the validation stress
   metric is the best so far, and stop when it has not improved for
   ``patience`` epochs or after ``max_epochs``. ``train.select`` may pick
   the checkpoint by the tasks' mean score instead, or keep each task's own
   best epoch (``per-task``: a head is then scored with the weights of the
   epoch its own validation score peaked, so the emotion heads are not held
   to the stress epoch).
4. Restore the best weights (the caller then scores the test split).

Epochs are counted as :mod:`muser_core.strategies` states once for the whole
app: ``epochs_done`` finished epochs, evaluation 0 before any training.

A stop request (SIGTERM, the Train page's Stop button) is honoured after the
current batch. When a Transformer is fine-tuned, a batch takes seconds on a
CPU (4.4 s for 32 long texts), so there the batch in progress is abandoned
instead, at the next layer of its forward or backward pass: no weight has
changed before the AdamW step, and the draw (task, items, random states) is
rewound, so a resumed run trains that batch again. The trainer's
:meth:`Trainer.state_dict` then holds the *current* weights and the epoch in
progress, so a resumed run continues exactly where it stopped and its
metrics.jsonl equals an uninterrupted one's.

Each line of ``metrics.jsonl`` (:meth:`Trainer._finish_epoch`): ``epoch``,
``probabilities`` {task: p}, ``batches`` {task: count}, ``samples`` (items
drawn), ``train_loss`` {task: mean loss on the training scale}, ``val``
{task: {metric: value}} (RMSE on the data set's own label scale),
``best_epoch``, and the timings ``seconds`` (training the epoch),
``eval_seconds`` and ``elapsed`` (since the run began).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from muser_core.base.errors import InputError
from muser_core.base.files import json_safe
from muser_core.base.tasks import MAIN_TASK, is_classification
from muser_core.config import RunConfig
from muser_core.model import MultiTaskModel, check_shapes, resume_weights, trainable_state
from muser_core.strategies import Strategy, TrainingState
from muser_core.train.data import PreparedData
from muser_core.train.metrics import classification_metrics, regression_metrics

TIMING_KEYS = ("seconds", "eval_seconds", "elapsed")  # the fields of a record that differ between runs


def task_score(task: str, metrics: dict[str, float], stop_metric: str) -> float:
    """A task's validation score, higher is better: stress's stop metric, an emotion's CCC (it rewards both
    correlation and the right scale, and is bounded like accuracy)."""
    return float(metrics[stop_metric] if is_classification(task) else metrics["ccc"])


class Callback:
    """Hooks the trainer calls; override what you need (run folder, progress bar, a test's stop)."""

    def on_fit_start(self, trainer: Trainer) -> None: ...
    def on_batch_end(self, trainer: Trainer, task: str, idx: torch.Tensor, loss: torch.Tensor) -> None: ...
    def on_evaluate(self, trainer: Trainer, epoch: int) -> None: ...
    def on_epoch_end(self, trainer: Trainer, record: dict) -> None: ...
    def on_fit_end(self, trainer: Trainer) -> None: ...


class BatchAbandoned(Exception):
    """Raised inside a training step when a stop request arrives; the trainer drops the batch and rewinds."""


class TaskStream:
    """A task's training items in shuffled order, reshuffled when fewer than a batch remain.

    With ``buckets`` (``--length-buckets``) and the items' token ``lengths``,
    each reshuffled order is then cut into runs of ``buckets`` batches, each
    run sorted by length and its batches drawn in a seeded order
    (:func:`bucketed`): batches of similar length, so less padding. The whole
    order is part of the resume state, so a resumed run draws the same batches.
    """

    def __init__(self, items: torch.Tensor, lengths: torch.Tensor | None = None, buckets: int = 0):
        self.items, self.order, self.pos = items, items[:0], 0
        self.lengths, self.buckets = lengths, buckets

    def take(self, k: int, rng: np.random.Generator) -> torch.Tensor:
        if self.pos + k > len(self.order):
            perm = torch.from_numpy(rng.permutation(len(self.items))).to(self.items.device)
            order = self.items[perm]
            if self.buckets and self.lengths is not None:
                order = bucketed(order, self.lengths, k, self.buckets, rng)
            self.order, self.pos = order, 0
        batch = self.order[self.pos:self.pos + k]
        self.pos += k
        return batch


def bucketed(order: torch.Tensor, lengths: torch.Tensor, k: int, buckets: int,
             rng: np.random.Generator) -> torch.Tensor:
    """``order`` with each run of ``buckets`` batches of ``k`` sorted by length, its batches in a seeded order.

    Only the whole batches are sorted; the last ``len(order) % k`` items (never
    reached before the next reshuffle) stay where the shuffle put them, so
    which items are left out stays random rather than the longest.
    """
    usable = len(order) // k * k
    parts = []
    for start in range(0, usable, k * buckets):
        block = order[start:min(start + k * buckets, usable)]
        block = block[torch.argsort(lengths[block], stable=True)].view(-1, k)
        perm = torch.from_numpy(rng.permutation(len(block))).to(block.device)
        parts.append(block[perm].reshape(-1))
    return torch.cat([*parts, order[usable:]])


@dataclass
class EpochInProgress:
    """The epoch being trained: its probabilities, what has been drawn and the losses so far."""

    epoch: int
    probabilities: dict[str, float]
    drawn: int = 0
    losses: dict[str, list[torch.Tensor]] = field(default_factory=dict)
    seconds: float = 0.0  # training time of this epoch so far (kept across a stop and resume)


class Trainer:
    """Runs the epochs; knows the model only through ``encode``/``head`` and the data through ``batch``."""

    def __init__(self, model: MultiTaskModel, data: PreparedData, strategy: Strategy, cfg: RunConfig,
                 callbacks: Sequence[Callback] = (), device: torch.device | str = "cpu"):
        self.model, self.data, self.strategy, self.cfg = model, data, strategy, cfg
        self.callbacks = list(callbacks)
        self.device = torch.device(device)
        t = cfg.train
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=t.lr, weight_decay=t.weight_decay,
                                           fused=True)
        self.rng = np.random.default_rng(t.seed)  # the only source of task draws and batch order
        lengths = data.features.get("lengths")  # token counts: fine-tune mode only
        self.streams = {name: TaskStream(task.splits["train"], lengths, t.length_buckets)
                        for name, task in data.tasks.items()}
        self.tasks = tuple(data.tasks)
        # Mixed precision: forward passes in bf16 where the config says so (build() resolves "auto").
        self.bf16 = t.precision == "bf16"
        self.epoch_size = len(data.tasks[MAIN_TASK].splits["train"])  # items drawn per epoch (paper 5.1)
        self.records: list[dict] = []   # metrics.jsonl: one per evaluation, from 0
        self.current: EpochInProgress | None = None
        self.best_epoch: int | None = None
        self.best_score = -float("inf")
        self.best_state: dict[str, torch.Tensor] = {}
        # --select per-task: each other task's best epoch and score, and its weights then.
        self.task_best: dict[str, dict] = {}
        self.task_states: dict[str, dict[str, torch.Tensor]] = {}
        self.stop_requested = False
        self.stopped = False            # fit() ended on a stop request, not by early stopping
        self.in_step = False            # a stop request may abandon the batch only inside step()
        # Fine-tuning a Transformer: a batch takes seconds, too long for a stop to wait.
        self.abandons_batches = cfg.model.text_mode == "finetune" and cfg.model.modality != "audio"
        self.elapsed = 0.0
        self.samples_trained = 0        # in this process, for the measured throughput
        self.train_seconds = 0.0
        self.warmed: set[str] = set()   # tasks whose first batch (left out of the throughput) is done

    @property
    def epochs_done(self) -> int:
        """Finished epochs = the last evaluation (-1 before evaluation 0)."""
        return len(self.records) - 1

    @property
    def samples_per_second(self) -> float | None:
        """Training throughput measured in this process, each task's first batch left out (None before then)."""
        return self.samples_trained / self.train_seconds if self.train_seconds > 0 else None

    def training_state(self) -> TrainingState:
        return TrainingState(epochs_done=self.epochs_done, tasks=self.tasks,
                             val_history=[r["val"] for r in self.records],
                             loss_history=[r["train_loss"] for r in self.records[1:]])

    def _emit(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(self, *args)

    # ------------------------------------------------------------------ the loop

    def fit(self) -> None:
        """Evaluate, train epoch by epoch until early stopping or a stop request; restore the best weights."""
        self._emit("on_fit_start")
        hooks = self.stop_hooks() if self.abandons_batches else []
        try:
            if not self.records:
                self._finish_epoch(EpochInProgress(0, {}))
            while not self.stop_requested and not self.done():
                if self.current is None:
                    self.current = EpochInProgress(self.epochs_done + 1,
                                                   self.strategy.probabilities(self.training_state()))
                self.train_epoch(self.current)
                if self.stop_requested:
                    break  # mid-epoch: self.current holds where to go on
                self._finish_epoch(self.current)
        finally:
            for hook in hooks:
                hook.remove()
        self.stopped = self.stop_requested and not self.done()
        if not self.stopped and self.best_epoch is not None:
            if not self.best_state:  # a resume without its checkpoint: never score the last weights as the best
                raise InputError(f"the best weights of epoch {self.best_epoch} are missing (resumed without the "
                                 "run's checkpoint); start a new run from its config.json")
            self.model.load_state_dict(self.best_state, strict=False)
            lost = sorted(set(self.task_best) - set(self.task_states))
            if lost:
                raise InputError(f"the weights of {lost[0]}'s best epoch {self.task_best[lost[0]]['epoch']} are "
                                 f"missing (resumed without its checkpoint); start a new run from its config.json")
        self._emit("on_fit_end")

    def done(self) -> bool:
        """Early stopping (paper 5.1): ``max_epochs`` reached, or ``patience`` epochs without a new best."""
        t = self.cfg.train
        last_best = max([self.best_epoch] + [b["epoch"] for b in self.task_best.values()]) \
            if self.best_epoch is not None else None
        return self.epochs_done >= t.max_epochs or (last_best is not None and self.epochs_done - last_best >= t.patience)

    def train_epoch(self, epoch: EpochInProgress) -> None:
        """Draw batches until the epoch's items reach the main task's training size, or a stop request."""
        tasks = [t for t in self.tasks if epoch.probabilities.get(t, 0.0) > 0]
        p = np.array([epoch.probabilities[t] for t in tasks], dtype=np.float64)
        p /= p.sum()
        while epoch.drawn < self.epoch_size and not self.stop_requested:
            if not self.train_batch(epoch, lambda: tasks[int(self.rng.choice(len(tasks), p=p))]
                                    if len(tasks) > 1 else tasks[0]):
                break

    def train_batch(self, epoch: EpochInProgress, draw_task: Callable[[], str]) -> bool:
        """Pick a task (``draw_task``), draw one batch of it, train it in training mode (dropout on) and
        count it in ``epoch``.

        False when a stop request abandoned it: its draw, the task's pick included, is rewound. Each
        task's first batch in this process pays one-off costs (allocations,
        kernel choices), so it is left out of the measured speed; the Train
        page's timing (:func:`~muser_core.train.run.time_batches`) leaves it out too.
        """
        started = time.perf_counter()
        self.model.train()
        before = self._draw_point() if self.abandons_batches else None
        task = draw_task()
        idx = self.streams[task].take(self.cfg.train.batch_size, self.rng)
        try:
            loss = self.step(task, idx)
        except BatchAbandoned:
            self._rewind(before)  # a resumed run draws and trains this batch again
            return False
        epoch.losses.setdefault(task, []).append(loss)
        epoch.drawn += len(idx)
        seconds = time.perf_counter() - started
        epoch.seconds += seconds
        if task in self.warmed:
            self.train_seconds += seconds
            self.samples_trained += len(idx)
        self.warmed.add(task)
        self._emit("on_batch_end", task, idx, loss)
        return True

    def step(self, task: str, idx: torch.Tensor) -> torch.Tensor:
        """One AdamW step on one batch of one task (paper 4.4.1: only that task's head plugged in)."""
        self.optimizer.zero_grad(set_to_none=True)
        self.in_step = True
        try:
            with self.autocast():
                out = self.model.head(task, self.model.encode(self.data.batch(idx)))
                target = self.data.tasks[task].target[idx]
                loss = F.cross_entropy(out, target) if is_classification(task) else F.mse_loss(out, target)
            loss.backward()
        finally:
            self.in_step = False
        # From here on the weights change: a stop request now waits for the end of this step.
        torch.nn.utils.clip_grad_norm_(self.params, self.cfg.train.clip_norm, foreach=True)
        self.optimizer.step()
        return loss.detach()

    # ------------------------------------------------------------------ abandoning a batch on a stop

    def _check_stop(self, *_) -> None:
        """A hook before each module's forward and on each weight's gradient: abandon the batch on a stop."""
        if self.in_step and self.stop_requested:
            raise BatchAbandoned

    def stop_hooks(self) -> list:
        """Checks for a stop request between layers, forward and backward; the caller removes the handles
        (fit() does when it ends)."""
        return ([m.register_forward_pre_hook(self._check_stop) for m in self.model.modules()]
                + [p.register_hook(self._check_stop) for p in self.params])

    def _draw_point(self) -> tuple:
        """What drawing and training a batch changes besides the weights: the random states and the streams."""
        cuda = torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None
        return (self.rng.bit_generator.state, torch.get_rng_state(), cuda,
                {t: (s.order, s.pos) for t, s in self.streams.items()})

    def _rewind(self, point: tuple) -> None:
        numpy_state, torch_state, cuda_state, streams = point
        self.rng.bit_generator.state = numpy_state
        torch.set_rng_state(torch_state)
        if cuda_state is not None:
            torch.cuda.set_rng_state(cuda_state, self.device)
        for task, (order, pos) in streams.items():
            self.streams[task].order, self.streams[task].pos = order, pos
        self.optimizer.zero_grad(set_to_none=True)  # the abandoned batch's partial gradients

    def autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def _finish_epoch(self, epoch: EpochInProgress) -> None:
        """Evaluate after ``epoch``, track the best weights, append the record."""
        self._emit("on_evaluate", epoch.epoch)
        started = time.perf_counter()
        val = self.evaluate("validation")
        select, stop_metric = self.cfg.train.select, self.cfg.train.stop_metric
        scores = {task: task_score(task, metrics, stop_metric) for task, metrics in val.items()}
        score = float(np.mean(list(scores.values()))) if select == "mean" else scores[MAIN_TASK]
        eligible = epoch.epoch >= max(1, self.strategy.first_stop_epoch)
        if eligible and score > self.best_score:
            self.best_epoch, self.best_score = epoch.epoch, score
            self.best_state = self._weights_now()
        for task in (t for t in scores if t != MAIN_TASK) if select == "per-task" and eligible else ():
            if scores[task] > self.task_best.get(task, {}).get("score", -float("inf")):
                self.task_best[task] = {"epoch": epoch.epoch, "score": scores[task]}
                self.task_states[task] = self._weights_now()
        eval_seconds = time.perf_counter() - started
        self.elapsed += epoch.seconds + eval_seconds
        record = {"epoch": epoch.epoch, "probabilities": epoch.probabilities,
                  "batches": {t: len(v) for t, v in epoch.losses.items()}, "samples": epoch.drawn,
                  "train_loss": {t: float(torch.stack(v).float().mean()) for t, v in epoch.losses.items()},
                  "val": val, "best_epoch": self.best_epoch, "seconds": round(epoch.seconds, 4),
                  "eval_seconds": round(eval_seconds, 4), "elapsed": round(self.elapsed, 3)}
        if select == "per-task":
            record["best_epochs"] = self.best_epochs()
        self.records.append(record)
        # Finished: no longer "in progress" when the callbacks save the state (a resume must not redo it).
        self.current = None
        self._emit("on_epoch_end", record)

    def _weights_now(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in trainable_state(self.model, self.cfg.model.text_mode).items()}

    def best_epochs(self) -> dict[str, int | None]:
        """The epoch each task's weights come from: its own best under ``per-task``, else the best epoch."""
        return {task: self.task_best.get(task, {}).get("epoch", self.best_epoch) for task in self.tasks}

    # ------------------------------------------------------------------ evaluation

    def evaluate_selected(self, split: str) -> dict[str, dict[str, float]]:
        """:meth:`evaluate` after :meth:`fit`, each task scored with the weights it keeps (``per-task``: its
        own best epoch's); the model holds the main task's best weights again afterwards."""
        metrics = self.evaluate(split)
        if not self.task_states:
            return metrics
        for task, state in self.task_states.items():
            self.model.load_state_dict(state, strict=False)
            metrics[task] = self.evaluate(split)[task]
        self.model.load_state_dict(self.best_state, strict=False)
        return metrics

    def predictions(self, split: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """(labels, predictions) per task on its own scale; the encoder runs once over the split's items."""
        return self._outputs(split, logits=False)

    def logits(self, split: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """(labels, two-class logits) per classification task (the stress head): what calibration fits."""
        return self._outputs(split, logits=True)

    @torch.no_grad()
    def _outputs(self, split: str, logits: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        self.model.eval()
        splits = {t: d.splits[split] for t, d in self.data.tasks.items() if len(d.splits[split])}
        union = torch.unique(torch.cat(list(splits.values())))
        with self.autocast():
            fused = torch.cat([self.model.encode(self.data.batch(union[i:i + 512]))
                               for i in range(0, len(union), 512)]).float()
        where = torch.full((int(union.max()) + 1,), -1, dtype=torch.long, device=union.device)
        where[union] = torch.arange(len(union), device=union.device)
        out = {}
        for task, idx in splits.items():
            if logits and not is_classification(task):
                continue
            d = self.data.tasks[task]
            pred = self.model.head(task, fused[where[idx]])
            if logits:
                pred = pred.float().cpu().numpy()
            elif is_classification(task):
                pred = pred.argmax(-1).cpu().numpy()
            else:
                pred = pred.float().cpu().numpy() * d.std + d.mean
            out[task] = (d.raw[idx.cpu().numpy()], pred)
        self.model.train()
        return out

    def evaluate(self, split: str) -> dict[str, dict[str, float]]:
        """Metrics per task: stress accuracy/precision/recall/F1, emotion RMSE/CCC on the label scale."""
        return {task: (classification_metrics if is_classification(task) else regression_metrics)(y, p)
                for task, (y, p) in self.predictions(split).items()}

    # ------------------------------------------------------------------ resume

    def state_dict(self) -> dict:
        """Everything needed to continue exactly from here (tensors and plain types only)."""
        current = None
        if self.current is not None:
            c = self.current
            current = {"epoch": c.epoch, "probabilities": c.probabilities, "drawn": c.drawn,
                       "seconds": c.seconds, "tasks": list(c.losses)}
        meta = {"records": self.records, "best_epoch": self.best_epoch, "best_score": self.best_score,
                "task_best": self.task_best,
                "elapsed": self.elapsed, "rng": self.rng.bit_generator.state, "current": current}
        # The best weights are not repeated here: they are the run's checkpoint file (load_best_state), and
        # frozen weights (--finetune-layers) come back from the model folder (resume_weights).
        return {"model": resume_weights(self.model, self.cfg.model.text_mode),
                "optimizer": self.optimizer.state_dict(),
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else torch.zeros(0),
                "streams": {t: {"order": s.order.cpu(), "pos": s.pos} for t, s in self.streams.items()},
                "current_losses": ({t: torch.stack(v).cpu() for t, v in self.current.losses.items()}
                                   if self.current else {}),
                "meta": json.dumps(json_safe(meta))}

    def load_state_dict(self, state: dict, source: str = "resume state",
                        best_state: dict[str, torch.Tensor] | None = None,
                        task_states: dict[str, dict[str, torch.Tensor]] | None = None) -> None:
        """Continue from :meth:`state_dict`; ``best_state``: the best epoch's weights (the run's checkpoint),
        ``task_states``: each task's own under ``per-task`` (its checkpoint-TASK file).

        A resume state written before the best weights left it still holds them, and they are used.
        """
        check_shapes(state["model"], self.model, source, self.cfg.model.text_mode, allow_missing=True)
        missing = sorted(set(resume_weights(self.model, self.cfg.model.text_mode)) - set(state["model"]))
        if missing:
            raise InputError(f"{source}: weight '{missing[0]}' is missing (a resume state of another model shape)")
        self.model.load_state_dict(state["model"], strict=False)
        self.optimizer.load_state_dict(state["optimizer"])
        self.best_state = best_state or state.get("best_state") or {}
        torch.set_rng_state(state["torch_rng"].cpu())
        if self.device.type == "cuda" and len(state.get("cuda_rng", ())):
            torch.cuda.set_rng_state(state["cuda_rng"].cpu(), self.device)
        for task, s in state["streams"].items():
            self.streams[task].order = s["order"].to(self.streams[task].items.device)
            self.streams[task].pos = s["pos"]
        meta = json.loads(state["meta"])
        self.records, self.best_epoch = meta["records"], meta["best_epoch"]
        self.best_score = meta["best_score"] if meta["best_score"] is not None else -float("inf")
        self.task_best = meta.get("task_best") or {}
        self.task_states = dict(task_states or {})
        self.elapsed = meta["elapsed"]
        self.rng.bit_generator.state = meta["rng"]
        current = meta.get("current")
        self.current = None
        if current is not None:
            losses = {t: list(state["current_losses"][t].to(self.device).unbind()) for t in current["tasks"]}
            self.current = EpochInProgress(current["epoch"], current["probabilities"], current["drawn"],
                                           losses, current["seconds"])

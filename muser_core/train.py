"""Multi-task training of MUSER (paper 4.4 and 5.1): data, trainer with callbacks, run folder, CLI.

One epoch draws batches of 32 until the number of drawn samples reaches the
size of the main task's training split. For each batch the trainer picks a
task with the epoch's probabilities (from the strategy), takes the next 32 of
that task's shuffled training items and makes one AdamW step through that
task's head. Validation runs before training (epoch 0) and after every epoch;
early stopping watches the validation stress metric and the best weights are
restored for the test split.

Command line::

    python -m muser_core.train --corpus demo --modality both --tasks stress,activation,valence \\
        --strategy speed --history 5 --text-mode frozen --seed 0 --out runs/NAME
    python -m muser_core.train --out runs/NAME --resume

Each line of ``metrics.jsonl``: ``epoch``, ``probabilities`` {task: p},
``batches`` {task: count}, ``train_loss`` {task: mean loss on the training
scale}, ``val`` {task: {metric: value}} (RMSE on the data set's own label
scale), ``best_epoch``, ``seconds`` (this epoch) and ``elapsed`` (since start).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from muser_core import runs
from muser_core.config import ALL_TASKS, EXTERNAL_TASKS, MAIN_TASK, MODALITIES, RunConfig
from muser_core.corpus import SPLITS, Corpus
from muser_core.errors import InputError
from muser_core.metrics import classification_metrics, regression_metrics
from muser_core.model import (
    MultiTaskModel,
    check_shapes,
    is_classification,
    load_weights,
    trainable_state,
)
from muser_core.strategies import STRATEGIES, Strategy, TrainingState, make_strategy

# --------------------------------------------------------------------------- data


@dataclass
class TaskData:
    """One task's items per split and its targets (indices point into PreparedData.features)."""

    name: str
    splits: dict[str, torch.Tensor]   # split -> item indices (long)
    target: torch.Tensor              # (N,) training target: stress long 0/1, emotions z-scored float
    raw: np.ndarray                   # (N,) label on the data set's own scale (NaN where missing)
    mean: float = 0.0                 # emotion targets: z-score statistics of the training split
    std: float = 1.0
    scale: tuple[float, float] | None = None  # the data set's label scale, when known
    source: str = ""                  # corpus name


@dataclass
class PreparedData:
    """Every item's inputs as tensors in memory, and each task's splits."""

    features: dict[str, torch.Tensor]  # text_embedding (N, H) | input_ids, attention_mask (N, L) + lengths (N,); acoustic (N, 88)
    tasks: dict[str, TaskData]
    text_dim: int = 0
    normaliser: dict | None = None     # SpeakerZScore.to_dict() of the acoustic features
    notes: list[str] = field(default_factory=list)
    text_encoder: torch.nn.Module | None = None  # fine-tune mode: the Transformer to train
    pad_id: int = 0                    # the tokenizer's padding id

    def batch(self, idx: torch.Tensor, pad_to: int | None = None) -> dict[str, torch.Tensor]:
        """Inputs of items ``idx``; token tensors cut to the batch's longest sentence (dynamic padding)."""
        out = {}
        if "text_embedding" in self.features:
            out["text_embedding"] = self.features["text_embedding"][idx]
        if "input_ids" in self.features:
            length = pad_to or int(self.features["lengths"][idx].max())
            ids, mask = self.features["input_ids"][idx, :length], self.features["attention_mask"][idx, :length]
            if length > ids.shape[1]:  # pad_to beyond the longest sentence (the benchmark's pad-to-128)
                ids = F.pad(ids, (0, length - ids.shape[1]), value=self.pad_id)
                mask = F.pad(mask, (0, length - mask.shape[1]), value=0)
            out["input_ids"], out["attention_mask"] = ids, mask
        if "acoustic" in self.features:
            out["acoustic"] = self.features["acoustic"][idx]
        return out

    def to(self, device: torch.device) -> PreparedData:
        self.features = {k: v.to(device) for k, v in self.features.items()}
        for task in self.tasks.values():
            task.splits = {s: i.to(device) for s, i in task.splits.items()}
            task.target = task.target.to(device)
        return self

    def summary(self) -> dict:
        """Items per task and split, target scaling and notes (data.json)."""
        return {"tasks": {t: {"items": {s: len(i) for s, i in d.splits.items()}, "source": d.source,
                              "label_scale": d.scale, "train_mean": d.mean, "train_std": d.std}
                          for t, d in self.tasks.items()},
                "items": len(next(iter(self.features.values()))) if self.features else 0,
                "notes": self.notes}


def load_corpus(spec: str, split: str = "speaker", external: bool = False) -> Corpus:
    """``demo`` (the embedded corpus, or its external emotion set) or a canonical CSV."""
    if spec == "demo":
        try:
            from muser_core.demo import load_demo, load_demo_external
        except ImportError:
            raise InputError("the demo corpus is not available in this checkout (muser_core.demo)") from None
        return load_demo_external() if external else load_demo(split=split)
    return Corpus.load(spec)


def _acoustic_table(table: pd.DataFrame, workers: int) -> pd.DataFrame:
    """The 88 eGeMAPS functionals of each row: from the table's columns, else extracted from audio."""
    from muser_core.acoustic_features import EGEMAPS_FEATURES

    if all(c in table.columns for c in EGEMAPS_FEATURES):
        return table[EGEMAPS_FEATURES].apply(pd.to_numeric, errors="coerce")
    from muser_core.acoustic_features import extract_egemaps

    paths = [p for p in table["audio_path"] if p]
    feats, _ = extract_egemaps(sorted(set(paths)), workers=workers) if paths else (pd.DataFrame(), [])
    return feats.reindex(table["audio_path"].astype(str)).set_axis(table.index)[EGEMAPS_FEATURES] \
        if len(feats) else pd.DataFrame(np.nan, index=table.index, columns=EGEMAPS_FEATURES)


def prepare_data(cfg: RunConfig, progress: bool = False, device: str = "cpu") -> PreparedData:
    """Load the corpora, check every task's labels and splits, build the input tensors.

    Items without a task's label are left out of that task only; items without
    acoustic features (when the model uses audio) are left out of every task.
    """
    d, m = cfg.data, cfg.model
    main = load_corpus(d.corpus, d.split)
    sources = {"main": main}
    if d.external:
        sources["external"] = load_corpus(d.external, external=True)
    parts = []
    for key, corpus in sources.items():
        table = corpus.table.copy()
        table["_source"] = key
        parts.append(table)
    table = pd.concat(parts, ignore_index=True)
    notes: list[str] = []
    usable = pd.Series(True, index=table.index)
    acoustic = None
    if m.uses_audio:
        tables = [_acoustic_table(p, d.audio_workers) for p in parts]
        for corpus, values in zip(sources.values(), tables, strict=True):
            if values.isna().all(axis=None):
                raise InputError(f"corpus '{corpus.name}': no eGeMAPS feature columns and no readable audio "
                                 "files (use --modality text, or add the features)")
        acoustic = pd.concat(tables, ignore_index=True)
        missing = acoustic.isna().all(axis=1)
        if missing.any():
            notes.append(f"{int(missing.sum())} items without acoustic features left out of every task")
        usable &= ~missing

    tasks: dict[str, TaskData] = {}
    rows_per_task = {}
    for task in cfg.data.tasks:
        source = "external" if task in EXTERNAL_TASKS else "main"
        column = task.removeprefix("ext_")
        corpus = sources[source]
        rows = (table["_source"] == source) & usable
        labelled = rows & table[column].notna()
        if not labelled.any():
            raise InputError(f"task '{task}' has no labels in corpus '{corpus.name}'")
        unlabelled = int((rows & table[column].isna()).sum())
        if unlabelled:
            notes.append(f"{task}: {unlabelled} items without a label left out of this task")
        for split in SPLITS:
            n = int((labelled & (table["split"] == split)).sum())
            if n == 0 and (split != "test" or task == MAIN_TASK):
                raise InputError(f"task '{task}': the {split} split of corpus '{corpus.name}' "
                                 "has no labelled items")
        if task == MAIN_TASK and not set(table.loc[labelled, column].unique()) <= {0.0, 1.0}:
            raise InputError(f"task '{task}': labels must be 0 or 1")
        rows_per_task[task] = labelled
    used = pd.concat(rows_per_task.values(), axis=1).any(axis=1)
    table = table[used].reset_index(drop=True)

    for task in cfg.data.tasks:
        source = "external" if task in EXTERNAL_TASKS else "main"
        column = task.removeprefix("ext_")
        raw = table[column].to_numpy(np.float64).copy()
        raw[(table["_source"] != source).to_numpy()] = np.nan
        has = ~np.isnan(raw)
        splits = {s: torch.from_numpy(np.flatnonzero(has & (table["split"] == s).to_numpy())) for s in SPLITS}
        if is_classification(task):
            target = torch.from_numpy(np.where(has, raw, -1).astype(np.int64))
            mean, std = 0.0, 1.0
        else:
            train_values = raw[splits["train"].numpy()]
            mean, std = float(train_values.mean()), float(train_values.std())
            std = std if std > 1e-12 else 1.0
            # Emotion targets are z-scored on the training split so every task's MSE has the same
            # footing; metrics are reported back on the data set's own scale.
            target = torch.from_numpy(np.nan_to_num((raw - mean) / std).astype(np.float32))
        scale = sources[source].label_scales.get(column)
        tasks[task] = TaskData(task, splits, target, raw, mean, std,
                               tuple(scale) if scale else None, sources[source].name)

    features: dict[str, torch.Tensor] = {}
    normaliser, text_dim, encoder = None, 0, None
    if m.uses_audio:
        from muser_core.normalise import SpeakerZScore

        values = acoustic[used].reset_index(drop=True)
        # Paper 4.2: speaker-level z-normalisation; speaker ids are per data set.
        speakers = (table["dataset"].astype(str) + ":" + table["speaker"].astype(str)).to_numpy()
        scaler = SpeakerZScore().fit(values, speakers)
        normaliser = scaler.to_dict()
        normed = np.nan_to_num(scaler.transform(values, speakers).to_numpy(np.float32))
        if normed.shape[1] != m.n_acoustic:
            raise InputError(f"expected {m.n_acoustic} acoustic features, the corpus has {normed.shape[1]}")
        features["acoustic"] = torch.from_numpy(normed)
    if m.uses_text:
        texts = table["text"].fillna("").astype(str).tolist()
        if m.text_mode == "frozen":
            from muser_core.text_encoder import cached_embeddings

            vectors = cached_embeddings(texts, m.text_model, m.max_length, cfg.train.embed_batch_size,
                                        device=device, progress=progress)
            features["text_embedding"] = torch.from_numpy(vectors)
            text_dim = vectors.shape[1]
        else:
            from muser_core.text_encoder import TextEncoder

            encoder = TextEncoder(m.text_model, m.max_length)
            tokens = encoder.tokenize(texts)  # padded once to the longest; batches are cut per batch
            features["input_ids"] = tokens["input_ids"]
            features["attention_mask"] = tokens["attention_mask"]
            features["lengths"] = tokens["attention_mask"].sum(1)
            text_dim = encoder.hidden_size
    pad_id = int(encoder.tokenizer.pad_token_id or 0) if encoder is not None else 0
    return PreparedData(features, tasks, text_dim, normaliser, notes, encoder, pad_id)


# --------------------------------------------------------------------------- trainer


class Callback:
    """Hooks the trainer calls; override what you need (logging, run folder, progress bar)."""

    def on_fit_start(self, trainer: Trainer) -> None: ...
    def on_batch_end(self, trainer: Trainer, task: str, idx: torch.Tensor, loss: torch.Tensor) -> None: ...
    def on_epoch_end(self, trainer: Trainer, record: dict) -> None: ...
    def on_fit_end(self, trainer: Trainer) -> None: ...


class _Stream:
    """A task's training items in shuffled order, reshuffled when fewer than a batch remain."""

    def __init__(self, items: torch.Tensor):
        self.items, self.order, self.pos = items, items[:0], 0

    def take(self, k: int, rng: np.random.Generator) -> torch.Tensor:
        if self.pos + k > len(self.order):
            perm = torch.from_numpy(rng.permutation(len(self.items))).to(self.items.device)
            self.order, self.pos = self.items[perm], 0
        batch = self.order[self.pos:self.pos + k]
        self.pos += k
        return batch


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
        self.streams = {name: _Stream(task.splits["train"]) for name, task in data.tasks.items()}
        self.tasks = tuple(data.tasks)
        self.records: list[dict] = []  # metrics.jsonl, one per evaluated epoch from 0
        self.best_epoch: int | None = None
        self.best_score = -float("inf")
        self.best_state: dict[str, torch.Tensor] = {}
        self.stop_requested = False
        self.elapsed = 0.0

    @property
    def epoch(self) -> int:
        """The last evaluated epoch (-1 before the epoch-0 evaluation)."""
        return len(self.records) - 1

    def training_state(self) -> TrainingState:
        """What the strategy sees before epoch ``self.epoch + 1``."""
        return TrainingState(epoch=self.epoch + 1, tasks=self.tasks,
                             val_history=[r["val"] for r in self.records],
                             loss_history=[r["train_loss"] for r in self.records[1:]])

    def _emit(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(self, *args)

    # ------------------------------------------------------------------ one step, one epoch

    def step(self, task: str, idx: torch.Tensor) -> torch.Tensor:
        """One AdamW step on one batch of one task (paper 4.4.1: only that task's head plugged in)."""
        out = self.model.head(task, self.model.encode(self.data.batch(idx)))
        target = self.data.tasks[task].target[idx]
        loss = F.cross_entropy(out, target) if is_classification(task) else F.mse_loss(out, target)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, self.cfg.train.clip_norm, foreach=True)
        self.optimizer.step()
        return loss.detach()

    def train_epoch(self, probabilities: dict[str, float]) -> tuple[dict[str, int], dict[str, float]]:
        """Draw batches until the main task's training size is reached (paper 5.1); counts and mean losses."""
        tasks = [t for t in self.tasks if probabilities.get(t, 0.0) > 0]
        p = np.array([probabilities[t] for t in tasks], dtype=np.float64)
        p /= p.sum()
        size, goal = self.cfg.train.batch_size, len(self.data.tasks[MAIN_TASK].splits["train"])
        losses: dict[str, list[torch.Tensor]] = {t: [] for t in tasks}
        self.model.train()
        drawn = 0
        while drawn < goal:
            task = tasks[int(self.rng.choice(len(tasks), p=p))] if len(tasks) > 1 else tasks[0]
            idx = self.streams[task].take(size, self.rng)
            loss = self.step(task, idx)
            losses[task].append(loss)
            drawn += len(idx)
            self._emit("on_batch_end", task, idx, loss)
        batches = {t: len(v) for t, v in losses.items() if v}
        means = {t: float(torch.stack(v).float().mean()) for t, v in losses.items() if v}
        return batches, means

    # ------------------------------------------------------------------ evaluation

    @torch.no_grad()
    def predictions(self, split: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """(labels, predictions) per task on its own scale; the encoder runs once over the split's items."""
        self.model.eval()
        splits = {t: d.splits[split] for t, d in self.data.tasks.items() if len(d.splits[split])}
        union = torch.unique(torch.cat(list(splits.values())))
        fused = torch.cat([self.model.encode(self.data.batch(union[i:i + 512]))
                           for i in range(0, len(union), 512)])
        where = torch.full((int(union.max()) + 1,), -1, dtype=torch.long, device=union.device)
        where[union] = torch.arange(len(union), device=union.device)
        out = {}
        for task, idx in splits.items():
            d = self.data.tasks[task]
            pred = self.model.head(task, fused[where[idx]])
            if is_classification(task):
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

    # ------------------------------------------------------------------ the loop

    def should_stop(self) -> bool:
        t = self.cfg.train
        return (self.stop_requested or self.epoch >= t.max_epochs
                or (self.best_epoch is not None and self.epoch - self.best_epoch >= t.patience))

    def _finish_epoch(self, probabilities, batches, losses, started: float) -> None:
        val = self.evaluate("validation")
        epoch = self.epoch + 1
        score = val[MAIN_TASK][self.cfg.train.stop_metric]
        if epoch >= max(1, self.strategy.first_stop_epoch) and score > self.best_score:
            self.best_epoch, self.best_score = epoch, score
            self.best_state = {k: v.detach().clone()
                               for k, v in trainable_state(self.model, self.cfg.model.text_mode).items()}
        seconds = time.perf_counter() - started
        self.elapsed += seconds
        record = {"epoch": epoch, "probabilities": probabilities, "batches": batches,
                  "train_loss": losses, "val": val, "best_epoch": self.best_epoch,
                  "seconds": round(seconds, 4), "elapsed": round(self.elapsed, 3)}
        self.records.append(record)
        self._emit("on_epoch_end", record)

    def fit(self) -> None:
        """Evaluate (epoch 0), then train epoch by epoch until early stopping; restore the best weights."""
        self._emit("on_fit_start")
        if not self.records:
            self._finish_epoch({}, {}, {}, time.perf_counter())
        while not self.should_stop():
            started = time.perf_counter()
            probabilities = self.strategy.probabilities(self.training_state())
            batches, losses = self.train_epoch(probabilities)
            self._finish_epoch(probabilities, batches, losses, started)
        if self.best_state:
            self.model.load_state_dict(self.best_state, strict=False)
        self._emit("on_fit_end")

    # ------------------------------------------------------------------ resume

    def state_dict(self) -> dict:
        """Everything needed to continue exactly where this epoch ended (tensors and plain types only)."""
        meta = {"records": self.records, "best_epoch": self.best_epoch, "best_score": self.best_score,
                "elapsed": self.elapsed, "rng": self.rng.bit_generator.state}
        return {"model": trainable_state(self.model, self.cfg.model.text_mode),
                "optimizer": self.optimizer.state_dict(), "best_state": self.best_state,
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else torch.zeros(0),
                "streams": {t: {"order": s.order.cpu(), "pos": s.pos} for t, s in self.streams.items()},
                "meta": json.dumps(runs._clean(meta))}

    def load_state_dict(self, state: dict, source: str = "resume state") -> None:
        check_shapes(state["model"], self.model, source, self.cfg.model.text_mode)
        self.model.load_state_dict(state["model"], strict=False)
        self.optimizer.load_state_dict(state["optimizer"])
        self.best_state = state["best_state"]
        torch.set_rng_state(state["torch_rng"].cpu())
        if self.device.type == "cuda" and len(state.get("cuda_rng", ())):
            torch.cuda.set_rng_state(state["cuda_rng"].cpu(), self.device)
        for task, s in state["streams"].items():
            self.streams[task].order = s["order"].to(self.streams[task].items.device)
            self.streams[task].pos = s["pos"]
        meta = json.loads(state["meta"])
        self.records, self.best_epoch = meta["records"], meta["best_epoch"]
        self.best_score = meta["best_score"] if meta["best_score"] is not None else -float("inf")
        self.elapsed = meta["elapsed"]
        self.rng.bit_generator.state = meta["rng"]


# --------------------------------------------------------------------------- callbacks


class RunWriter(Callback):
    """Keeps the run folder up to date: metrics.jsonl, status, best checkpoint, resume state."""

    def __init__(self, run_dir: Path, save_every_s: float = 10.0):
        self.run_dir, self.save_every_s = Path(run_dir), save_every_s
        self._saved_at, self._best_written = 0.0, None

    def on_fit_start(self, trainer: Trainer) -> None:
        runs.rewrite_metrics(self.run_dir, trainer.records)  # on resume: drop epochs after the saved state
        self._best_written = trainer.best_epoch
        runs.write_status(self.run_dir, "running", epoch=trainer.epoch, best_epoch=trainer.best_epoch,
                          started=time.time())
        self._saved_at = time.perf_counter()

    def on_epoch_end(self, trainer: Trainer, record: dict) -> None:
        runs.append_metrics(self.run_dir, record)
        if trainer.best_epoch != self._best_written and trainer.best_state:
            save_checkpoint(self.run_dir, trainer.best_state)
            self._best_written = trainer.best_epoch
        if time.perf_counter() - self._saved_at >= self.save_every_s or trainer.stop_requested:
            self.save_resume(trainer)
        runs.write_status(self.run_dir, "running", epoch=record["epoch"], best_epoch=trainer.best_epoch)

    def on_fit_end(self, trainer: Trainer) -> None:
        self.save_resume(trainer)

    def save_resume(self, trainer: Trainer) -> None:
        import io

        buffer = io.BytesIO()
        torch.save(trainer.state_dict(), buffer)
        runs.atomic_write_bytes(self.run_dir / runs.RESUME, buffer.getvalue())
        self._saved_at = time.perf_counter()


class ProgressBar(Callback):
    """tqdm over epochs: current probabilities and validation stress accuracy."""

    def on_fit_start(self, trainer: Trainer) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=trainer.cfg.train.max_epochs, initial=max(trainer.epoch, 0),
                        unit="epoch", dynamic_ncols=True)

    def on_epoch_end(self, trainer: Trainer, record: dict) -> None:
        probs = " ".join(f"{t[:3]}={p:.2f}" for t, p in record["probabilities"].items())
        self.bar.set_postfix_str(f"p: {probs or '-'} | val acc {record['val'][MAIN_TASK]['accuracy']:.3f} "
                                 f"(best ep {record['best_epoch']})", refresh=False)
        if record["epoch"] > 0:
            self.bar.update(1)

    def on_fit_end(self, trainer: Trainer) -> None:
        self.bar.close()


def save_checkpoint(run_dir: Path, state: dict[str, torch.Tensor]) -> None:
    """Best trainable weights as safetensors (no pickled code), written atomically."""
    from safetensors.torch import save

    tensors = {k: v.detach().contiguous().cpu() for k, v in state.items()}
    runs.atomic_write_bytes(Path(run_dir) / runs.CHECKPOINT, save(tensors))


# --------------------------------------------------------------------------- one run


def pick_device(spec: str) -> torch.device:
    """``auto``: the GPU when one is present, else the CPU."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise InputError(f"unknown device '{spec}' (auto, cpu, cuda, cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device '{spec}' requested but no GPU is available")
    return device


def set_threads(threads: int, text_mode: str = "frozen", uses_text: bool = True) -> None:
    """``threads`` = 0: one thread for the small layers, up to two when fine-tuning the Transformer.

    Batches of 32 through 256-wide layers take about a millisecond; a second
    thread adds more synchronisation than it saves and, on a shared 2-core
    machine, measured 10-30x slower steps under load.
    """
    if not threads:
        finetune = uses_text and text_mode == "finetune"
        threads = max(1, min(2, os.cpu_count() or 1)) if finetune else 1
    torch.set_num_threads(threads)


class _StopOnSignal:
    """SIGTERM/SIGINT ask the trainer to stop after the current epoch (a second SIGINT interrupts)."""

    def __init__(self, trainer: Trainer):
        self.trainer, self.previous = trainer, {}

    def __enter__(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self.previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (e.g. a page's worker thread): no handler
                pass
        return self

    def _handle(self, signum, frame):
        if self.trainer.stop_requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.trainer.stop_requested = True

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def build(cfg: RunConfig, progress: bool = False) -> tuple[RunConfig, PreparedData, MultiTaskModel, torch.device]:
    """Resolve the config, prepare data and the seeded model: every input check happens here."""
    cfg = cfg.resolved()
    set_threads(cfg.train.threads, cfg.model.text_mode, cfg.model.uses_text)
    device = pick_device(cfg.train.device)
    data = prepare_data(cfg, progress=progress, device=str(device))
    cfg = replace(cfg, model=replace(cfg.model, text_dim=data.text_dim))
    torch.manual_seed(cfg.train.seed)
    model = MultiTaskModel(cfg.model, cfg.data.tasks, data.text_encoder)
    return cfg, data.to(device), model.to(device), device


def train_run(cfg: RunConfig | None, out: str | Path, resume: bool = False, init_from: str | None = None,
              progress: bool = False, callbacks: Sequence[Callback] = ()) -> dict:
    """Train one run into folder ``out`` and return its test metrics ({} when stopped early).

    With ``resume`` the config is read from ``out`` and training continues from
    the last saved state. ``init_from`` (a run folder or a .safetensors file)
    initialises the weights it has, checking their shapes.
    """
    out = Path(out)
    if resume:
        status = runs.read_status(out)
        cfg = runs.read_config(out)
        if status.get("state") == "finished":
            return (runs.read_json(out / runs.TEST) or {}).get("metrics", {})
    elif (out / runs.CONFIG).exists():
        raise InputError(f"{out}: a run already exists there (use --resume, or another --out)")
    cfg, data, model, device = build(cfg, progress)
    strategy = make_strategy(cfg.strategy)
    if init_from:
        path = Path(init_from)
        path = path / runs.CHECKPOINT if path.is_dir() else path
        if not path.is_file():
            raise InputError(f"{init_from}: no checkpoint there")
        load_weights(model, path, cfg.model.text_mode, allow_missing=True)
    writer = RunWriter(out, cfg.train.save_every_s)
    trainer = Trainer(model, data, strategy, cfg, [writer, *([ProgressBar()] if progress else []), *callbacks],
                      device)
    resume_file = out / runs.RESUME
    if resume and resume_file.is_file():
        try:
            state = torch.load(resume_file, map_location=device, weights_only=True)
        except Exception as exc:  # a damaged file: say so in one line rather than a traceback
            raise InputError(f"{resume_file}: unreadable resume state ({type(exc).__name__})") from None
        trainer.load_state_dict(state, str(resume_file))

    out.mkdir(parents=True, exist_ok=True)
    runs.write_json(out / runs.CONFIG, cfg.to_dict())
    runs.write_json(out / runs.ENV, runs.environment(str(device)))
    runs.write_json(out / runs.DATA, data.summary())
    runs.write_json(out / runs.NORMALISER, {
        "acoustic": data.normaliser,
        "targets": {t: {"mean": d.mean, "std": d.std, "scale": d.scale}
                    for t, d in data.tasks.items() if not is_classification(t)}})
    try:
        with _StopOnSignal(trainer):
            trainer.fit()
        if trainer.stop_requested:
            runs.write_status(out, "stopped", epoch=trainer.epoch, best_epoch=trainer.best_epoch)
            return {}
        test = trainer.evaluate("test")
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
        state = "stopped" if isinstance(exc, KeyboardInterrupt) else "failed"
        runs.write_status(out, state, epoch=trainer.epoch, best_epoch=trainer.best_epoch, error=message)
        raise
    runs.write_json(out / runs.TEST, {
        "best_epoch": trainer.best_epoch, "metrics": test,
        "note": "stress: accuracy and the stressed class's precision/recall/F1; emotions: RMSE and CCC "
                "on the data set's own label scale (label_scales)",
        "label_scales": {t: d.scale for t, d in data.tasks.items() if not is_classification(t)},
        "items": {t: len(d.splits["test"]) for t, d in data.tasks.items()}})
    runs.write_status(out, "finished", epoch=trainer.epoch, best_epoch=trainer.best_epoch)
    return test


def launch(cfg: RunConfig | None, out: str | Path, resume: bool = False) -> subprocess.Popen:
    """Start a run in its own process (for the Train page); its output goes to ``<out>/train.log``.

    The config is checked here first (choices, tasks, strategy settings), so
    most mistakes come back as an InputError at once; data problems (labels,
    splits) end the process with ``error: ...`` as the last line of the log.
    """
    out = Path(out)
    args = [sys.executable, "-m", "muser_core.train", "--out", str(out), "--no-progress"]
    if resume:
        runs.read_config(out)  # a one-line error now rather than in the log
        args.append("--resume")
    else:
        if (out / runs.CONFIG).exists():
            raise InputError(f"{out}: a run already exists there (resume it, or pick another name)")
        args += ["--config", cfg.resolved().to_json()]
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "train.log", "ab") as log:
        return subprocess.Popen(args, cwd=Path(__file__).resolve().parent.parent, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "HF_HUB_OFFLINE": "1"})


# --------------------------------------------------------------------------- command line

# One table of flags: (flag, config section, field, type, help). The CLI, the sweep variants and
# the Train page's "show command" all go through it.
FLAGS = [
    ("--corpus", "data", "corpus", str, "demo or a canonical corpus CSV (Corpus.save)"),
    ("--external", "data", "external", str, "external emotion corpus for ext_* tasks: demo or a CSV"),
    ("--split", "data", "split", str, "demo corpus split: speaker or paper"),
    ("--tasks", "data", "tasks", lambda s: [t.strip() for t in s.split(",") if t.strip()],
     f"comma-separated, from {','.join(ALL_TASKS)} (default: what the strategy needs)"),
    ("--audio-workers", "data", "audio_workers", int, "eGeMAPS extraction processes"),
    ("--modality", "model", "modality", str, f"one of: {', '.join(MODALITIES)}"),
    ("--text-mode", "model", "text_mode", str, "frozen (cached embeddings) or finetune (paper)"),
    ("--text-model", "model", "text_model", str, "local Hugging Face model folder (default: MiniLM)"),
    ("--max-length", "model", "max_length", int, "tokens per sentence"),
    ("--strategy", "strategy", "name", str, f"one of: {', '.join(STRATEGIES)}"),
    ("--phases", "strategy", "phases", str, "pretrain phases, e.g. activation:100,stress"),
    ("--history", "strategy", "history", int, "speed: history length n"),
    ("--temperature", "strategy", "temperature", float, "speed: rho (0.1); dwa: T (2)"),
    ("--seed", "train", "seed", int, "random seed"),
    ("--batch-size", "train", "batch_size", int, "items per batch"),
    ("--lr", "train", "lr", float, "learning rate (default: the paper's for the modality)"),
    ("--weight-decay", "train", "weight_decay", float, "AdamW weight decay"),
    ("--max-epochs", "train", "max_epochs", int, "upper bound on epochs"),
    ("--patience", "train", "patience", int, "early-stopping patience in epochs"),
    ("--stop-metric", "train", "stop_metric", str, "validation stress metric: accuracy or f1"),
    ("--device", "train", "device", str, "auto, cpu or cuda"),
    ("--threads", "train", "threads", int, "torch CPU threads (0: 1 for small layers, 2 to fine-tune)"),
    ("--save-every", "train", "save_every_s", float, "seconds between resume-state saves"),
]


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """The RunConfig flags; unset flags keep the config's value."""
    for flag, _, _, kind, help_text in FLAGS:
        parser.add_argument(flag, type=kind, default=argparse.SUPPRESS, help=help_text)
    parser.add_argument("--config", default=argparse.SUPPRESS,
                        help="start from a config.json (or JSON text); other flags override it")


def config_from_args(args: argparse.Namespace, base: RunConfig | None = None) -> RunConfig:
    """Apply the flags that were given on top of ``base`` (or ``--config``, or the defaults)."""
    values = vars(args)
    cfg = RunConfig.from_json(values["config"]) if "config" in values else (base or RunConfig())
    for flag, section, name, _, _ in FLAGS:
        key = flag[2:].replace("-", "_")
        if key in values:
            cfg = replace(cfg, **{section: replace(getattr(cfg, section), **{name: values[key]})})
    return cfg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m muser_core.train", description=__doc__.split("\n")[0])
    add_config_flags(parser)
    parser.add_argument("--out", help="run folder, e.g. runs/NAME")
    parser.add_argument("--name", help="run name inside the runs folder (instead of --out)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--init-from", help="initialise weights from a run folder or .safetensors")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        if not args.out and not args.name:
            raise InputError("give --out runs/NAME (or --name NAME)")
        out = Path(args.out) if args.out else runs.run_path(args.name)
        cfg = None if args.resume else config_from_args(args)
        test = train_run(cfg, out, resume=args.resume, init_from=args.init_from,
                         progress=not args.no_progress)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not test:
        print(f"stopped; continue with: python -m muser_core.train --out {out} --resume")
        return 0
    stress = test[MAIN_TASK]
    print(f"test stress: accuracy {stress['accuracy']:.3f}, precision {stress['precision']:.3f}, "
          f"recall {stress['recall']:.3f}, F1 {stress['f1']:.3f}  ({out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

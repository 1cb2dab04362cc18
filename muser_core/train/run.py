"""One training run into one run folder: lock, check, build, train, test, write.

:func:`train_run` is what the command line, the sweep and the page's
background process all call. It takes the folder's lock before writing
anything and holds it to the end, so a second trainer, resume or launch on
the same folder is refused in one line.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import torch

from muser_core.base.errors import InputError
from muser_core.base.tasks import MAIN_TASK, is_classification
from muser_core.config import RunConfig
from muser_core.model import MultiTaskModel, load_weights
from muser_core.sources import CORPORA, named_source
from muser_core.strategies import Strategy
from muser_core.train import run_folder as rf
from muser_core.train.calibration import ECE_BINS, calibration_report, fit_temperature
from muser_core.train.callbacks import ProgressBar, RunWriter
from muser_core.train.checkpoints import load_best_state, load_resume_state
from muser_core.train.data import PreparedData, prepare_data
from muser_core.train.loop import Callback, EpochInProgress, Trainer
from muser_core.train.tune import tune_head


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


def set_threads(threads: int, text_mode: str = "frozen", uses_text: bool = True) -> int:
    """Set torch's CPU threads and return the number; 0 = one for small layers, up to two to fine-tune.

    Batches of 32 through 256-wide layers take about a millisecond; a second
    thread adds more synchronisation than it saves and, on a shared 2-core
    machine, measured 10-30x slower steps under load.
    """
    if not threads:
        finetune = uses_text and text_mode == "finetune"
        threads = max(1, min(2, os.cpu_count() or 1)) if finetune else 1
    torch.set_num_threads(threads)
    return threads


class BuiltRun(NamedTuple):
    """What a run trains with: its effective config, data, seeded model, device and strategy."""

    cfg: RunConfig
    data: PreparedData
    model: MultiTaskModel
    device: torch.device
    strategy: Strategy


def build(cfg: RunConfig, progress: bool = False) -> BuiltRun:
    """Check the config, prepare the data and the seeded model; the returned config holds every effective value."""
    return _build_resolved(*cfg.resolved_with_strategy(), progress)


def _build_resolved(cfg: RunConfig, strategy: Strategy, progress: bool) -> BuiltRun:
    threads = set_threads(cfg.train.threads, cfg.model.text_mode, cfg.model.uses_text)
    device = pick_device(cfg.train.device)
    precision = cfg.train.precision
    if precision == "auto":  # bf16 autocast where the GPU has fast bf16 (Ampere and later), else fp32
        precision = "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    data = prepare_data(cfg, progress=progress, device=str(device))
    cfg = replace(cfg, model=replace(cfg.model, text_dim=data.text_dim, text_only_tasks=list(data.text_only_tasks),
                                     max_length=data.max_length,
                                     n_lexicon=len(data.lexicon["columns"]) if data.lexicon else 0),
                  train=replace(cfg.train, device=str(device), threads=threads, precision=precision))
    torch.manual_seed(cfg.train.seed)
    model = MultiTaskModel(cfg.model, cfg.data.tasks, data.text_encoder)
    return BuiltRun(cfg, data.to(device), model.to(device), device, strategy)


class StopOnSignal:
    """SIGTERM/SIGINT ask the run to stop after the current batch (a second SIGINT interrupts at once).

    Installed before the data is prepared, so a stop during preparation is
    clean too; the trainer is attached once it exists.
    """

    def __init__(self):
        self.requested, self.trainer, self.previous = False, None, {}

    def attach(self, trainer: Trainer) -> None:
        self.trainer = trainer
        trainer.stop_requested = trainer.stop_requested or self.requested

    def __enter__(self) -> StopOnSignal:
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self.previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (a page's worker thread): no handler
                pass
        return self

    def _handle(self, signum, frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True
        if self.trainer is not None:
            self.trainer.stop_requested = True

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def train_run(cfg: RunConfig | None, out: str | Path, *, resume: bool = False, init_from: str | None = None,
              progress: bool = False, callbacks: Sequence[Callback] = ()) -> dict:
    """Train one run into folder ``out``; returns its test metrics ({} when it was stopped).

    With ``resume`` the config is read from ``out`` and training continues
    exactly from the saved state. ``init_from`` (a run folder or a
    .safetensors file) initialises the weights it has, checking their shapes.
    """
    out, strategy = Path(out), None   # resumed: both read from the folder under its lock
    if resume:
        if not (out / rf.CONFIG).is_file():
            raise InputError(f"{out}: not a run folder (no {rf.CONFIG}), nothing to resume")
    else:
        if cfg is None:
            raise InputError("give the run's settings (or resume an existing run)")
        cfg, strategy = cfg.resolved_with_strategy()  # every setting checked before anything is created
        rf.check_new_run_folder(out)
    with rf.RunLock(out), StopOnSignal() as guard:
        if not resume:
            rf.check_new_run_folder(out)  # again, under the lock: another launcher may have been first
        try:
            return _train_locked(cfg, strategy, out, resume, init_from, progress, callbacks, guard)
        except OSError as exc:   # a full or read-only disk: the run failed, and says why in one line
            message = f"{exc.filename or out}: cannot write ({exc.strerror or type(exc).__name__})"
            rf.write_failure(out, message)
            raise InputError(message) from None
        except BaseException as exc:
            stopped = isinstance(exc, KeyboardInterrupt)
            message = f"{type(exc).__name__}: {exc}" if not isinstance(exc, InputError) else str(exc)
            if stopped:
                rf.write_status(out, "stopped", error=message.splitlines()[0])
            else:
                rf.write_failure(out, message.splitlines()[0])
            raise


def _train_locked(cfg, strategy, out: Path, resume: bool, init_from, progress: bool, callbacks, guard) -> dict:
    if resume:
        cfg = rf.read_config(out)
        if (rf.read_json(out / rf.STATUS) or {}).get("state") == "finished":
            return (rf.read_json(out / rf.TEST) or {}).get("metrics", {})
        check_data_there(cfg, out)
        cfg, strategy = cfg.resolved_with_strategy()
    cfg, data, model, device, strategy = _build_resolved(cfg, strategy, progress)
    if cfg.train.tune_head and not (out / rf.TUNE).is_file():   # a new run, or one stopped while choosing
        if init_from:
            raise InputError("--tune-head chooses on candidates trained from random weights: drop --init-from")
        resume = False
        rf.write_json(out / rf.CONFIG, cfg.to_dict())   # what was asked: a stop during the search resumes it
        cfg, tuning = tune_head(cfg, data, strategy, device, guard.attach)
        if tuning.get("stopped"):
            rf.write_status(out, "stopped", error="stopped while choosing the head's regularisation "
                                                  "(--tune-head); resume starts the search again")
            return {}
        rf.write_json(out / rf.CONFIG, cfg.to_dict())
        rf.write_json(out / rf.TUNE, tuning)
        torch.manual_seed(cfg.train.seed)
        model = MultiTaskModel(cfg.model, cfg.data.tasks, data.text_encoder).to(device)
    if init_from:
        path = Path(init_from)
        path = path / rf.CHECKPOINT if path.is_dir() else path
        if not path.is_file():
            raise InputError(f"{init_from}: no checkpoint there")
        load_weights(model, path, cfg.model.text_mode, allow_missing=True)
    writer = RunWriter(out, cfg.train.save_every_s)
    trainer = Trainer(model, data, strategy, cfg,
                      [writer, *([ProgressBar()] if progress else []), *callbacks], device)
    if resume:
        state = load_resume_state(out, device)
        if state is not None:  # None: killed before its first save, so it starts again from the beginning
            try:
                trainer.load_state_dict(state, str(out / rf.RESUME))
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                raise InputError(f"{out / rf.RESUME}: unreadable resume state ({type(exc).__name__}: {exc}); "
                                 "start a new run from its config.json") from None
            if not trainer.best_state and trainer.best_epoch is not None:
                trainer.best_state = load_best_state(out, trainer.best_epoch, device)
            for task, best in trainer.task_best.items():   # --select per-task: each task's own best weights
                task_state = load_best_state(out, best["epoch"], device, task)
                if task_state:
                    trainer.task_states[task] = task_state
        env = rf.read_json(out / rf.ENV) or {}
        rf.write_json(out / rf.ENV, {**env, "resumes": [*env.get("resumes", []), rf.environment(str(device))]})
    else:
        rf.write_json(out / rf.CONFIG, cfg.to_dict())
        rf.write_json(out / rf.ENV, rf.environment(str(device)))
        rf.write_json(out / rf.DATA, data.summary())
        rf.write_json(out / rf.NORMALISER, {
            "acoustic": data.normaliser, **({"lexicon": data.lexicon} if data.lexicon else {}),
            "targets": {t: {"mean": d.mean, "std": d.std, "scale": d.scale}
                        for t, d in data.tasks.items() if not is_classification(t)}})
    guard.attach(trainer)
    trainer.fit()
    if trainer.stopped:
        writer.write_status(trainer, None, state="stopped")
        return {}
    test = trainer.evaluate_selected("test")
    calibration = _calibrate(trainer, out, test)
    rf.write_json(out / rf.TEST, {
        "best_epoch": trainer.best_epoch, "metrics": test, "select": cfg.train.select,
        "best_epochs": trainer.best_epochs(),
        "note": "stress: accuracy and the stressed class's precision/recall/F1; emotions: RMSE and CCC "
                "on the data set's own label scale (label_scales)",
        "label_scales": {t: d.scale for t, d in data.tasks.items() if not is_classification(t)},
        "items": {t: len(d.splits["test"]) for t, d in data.tasks.items()}, **calibration})
    writer.write_status(trainer, None, state="finished", finished=time.time())
    return test


def check_data_there(cfg: RunConfig, out: Path) -> None:
    """A run folder copied from elsewhere resumes only where its data are: else one line saying what to do."""
    for key in ("corpus", "external"):
        spec = getattr(cfg.data, key)
        try:
            named = named_source(spec) if spec else None
        except InputError as exc:
            raise InputError(f"{out / rf.CONFIG}: data.{key}: {exc}") from None
        location = spec if named is None else named[1]
        if location and not Path(location).expanduser().exists():
            where = ("copy its runs folder with the .corpora/ folder in it, and set MUSER_RUNS_DIR to that copy"
                     if Path(location).parent.name == CORPORA else "put the data there")
            raise InputError(f"{out / rf.CONFIG}: the run's data.{key} {location} is not on this machine: {where}, "
                             f"or start a new run on your copy: muser train --config {out / rf.CONFIG} --{key} PATH")


def _calibrate(trainer: Trainer, out: Path, test: dict) -> dict:
    """Temperature scaling of the stress head on the validation split (Guo et al. 2017), stored beside the
    checkpoint (calibration.json); the stress test metrics gain the ECE and Brier score after it and before
    it (``*_uncalibrated``). Returns test.json's ``calibration`` entry: the temperature and the test split's
    reliability bins."""
    validation, on_test = trainer.logits("validation").get(MAIN_TASK), trainer.logits("test").get(MAIN_TASK)
    if validation is None or on_test is None:
        return {}
    temperature = fit_temperature(validation[1], validation[0])
    rf.write_json(out / rf.CALIBRATION, {MAIN_TASK: {
        "temperature": temperature, "method": "temperature scaling (Guo et al. 2017)",
        "fitted_on": "validation", "items": int(len(validation[0]))}})
    report = calibration_report(on_test[1], on_test[0], temperature)
    test[MAIN_TASK].update({k: report[k] for k in ("ece", "brier", "ece_uncalibrated", "brier_uncalibrated")})
    return {"calibration": {MAIN_TASK: {"temperature": temperature, "ece_bins": ECE_BINS,
                                        "reliability": report["reliability"]}}}


# Timed batches of the Train page's estimate: two of each of three tasks. Three batches of the demo
# corpus drawn at random ranged -7 % to +8 % in padded length around its epoch's mean.
TIMED_BATCHES = 6


def time_batches(cfg: RunConfig, batches: int = TIMED_BATCHES) -> dict:
    """Measure training throughput on this machine as a run measures its own: a first batch of each task
    (one-off costs, left out), then ``batches`` timed batches taken from the run's tasks in turn (their
    texts differ in length, so a stress-only timing over- or under-states a mixed epoch), each trained
    the way an epoch trains it (:meth:`Trainer.train_batch`: training mode, dropout on).

    For the Train page's estimate before a run; the run itself then measures
    its own samples/s as it goes (status.json). Both count training steps only, not evaluation.
    """
    cfg, data, model, device, strategy = build(cfg)
    trainer = Trainer(model, data, strategy, cfg, device=device)
    tasks = [t for t in cfg.data.tasks if t in trainer.streams] or [MAIN_TASK]
    epoch = EpochInProgress(1, {})
    for i in range(len(tasks) + batches):  # the tasks in turn
        task = tasks[i % len(tasks)]
        trainer.train_batch(epoch, lambda task=task: task)
    return {"samples_per_s": trainer.samples_per_second, "batches": batches, "seconds": trainer.train_seconds,
            "epoch_items": trainer.epoch_size, "device": str(device), "threads": cfg.train.threads,
            "measured": time.time()}

"""Callbacks that plug into the loop: the run folder writer and the terminal progress bar."""

from __future__ import annotations

import time
from pathlib import Path

from muser_core.base.tasks import MAIN_TASK
from muser_core.train import run_folder as rf
from muser_core.train.checkpoints import remove_resume_state, save_checkpoint, save_resume_state
from muser_core.train.loop import Callback, Trainer

STATUS_EVERY_S = 1.0  # how often status.json reports progress within an epoch


class RunWriter(Callback):
    """Keeps the run folder up to date: metrics.jsonl, status with progress, best checkpoint, resume state.

    The resume state is written at most every ``save_every_s`` seconds (also
    within an epoch, so a kill loses at most that much) and at a stop; a
    finished run's is removed. status.json says the phase, the progress within
    the epoch, the measured samples/s and the resume state's size.
    """

    def __init__(self, run_dir: str | Path, save_every_s: float):
        self.run_dir, self.save_every_s = Path(run_dir), save_every_s
        self._saved_at = self._status_at = 0.0
        self._resume: dict = {}

    def on_fit_start(self, trainer: Trainer) -> None:
        rf.rewrite_metrics(self.run_dir, trainer.records)  # on resume: drop epochs after the saved state
        if trainer.best_state:  # the checkpoint must be the best of the state we go on from
            save_checkpoint(self.run_dir, trainer.best_state, trainer.best_epoch)
        for task, state in trainer.task_states.items():
            save_checkpoint(self.run_dir, state, trainer.task_best[task]["epoch"], task)
        old = rf.read_json(self.run_dir / rf.STATUS) or {}
        self.write_status(trainer, "evaluating" if not trainer.records else "training",
                          started=old.get("started") or time.time())
        self._saved_at = time.perf_counter()

    def on_batch_end(self, trainer: Trainer, task, idx, loss) -> None:
        now = time.perf_counter()
        if now - self._saved_at >= self.save_every_s:
            self.save_resume(trainer)
        if now - self._status_at >= STATUS_EVERY_S:
            self.write_status(trainer, "training")

    def on_evaluate(self, trainer: Trainer, epoch: int) -> None:
        self.write_status(trainer, "evaluating")

    def on_epoch_end(self, trainer: Trainer, record: dict) -> None:
        rf.append_metrics(self.run_dir, record)
        if trainer.best_epoch == record["epoch"]:
            save_checkpoint(self.run_dir, trainer.best_state, trainer.best_epoch)
        for task, best in trainer.task_best.items():
            if best["epoch"] == record["epoch"]:
                save_checkpoint(self.run_dir, trainer.task_states[task], best["epoch"], task)
        if time.perf_counter() - self._saved_at >= self.save_every_s:
            self.save_resume(trainer)
        self.write_status(trainer, "training")

    def on_fit_end(self, trainer: Trainer) -> None:
        if trainer.stopped:
            self.save_resume(trainer)
        else:
            remove_resume_state(self.run_dir)
            self._resume = {"resume_bytes": None}

    def save_resume(self, trainer: Trainer) -> None:
        size = save_resume_state(self.run_dir, trainer.state_dict())
        self._saved_at = time.perf_counter()
        self._resume = {"resume_bytes": size, "resume_saved": time.time()}

    def write_status(self, trainer: Trainer, phase: str | None, state: str = "running", **extra) -> None:
        current = trainer.current
        progress = ({"epoch": current.epoch, "drawn": current.drawn, "goal": trainer.epoch_size}
                    if current is not None and current.epoch > trainer.epochs_done else None)
        rf.write_status(self.run_dir, state, phase=phase, epochs_done=trainer.epochs_done,
                                best_epoch=trainer.best_epoch, epoch_in_progress=progress,
                                samples_per_s=trainer.samples_per_second, **self._resume, **extra)
        self._status_at = time.perf_counter()


class ProgressBar(Callback):
    """tqdm over epochs: current probabilities and validation stress accuracy."""

    def on_fit_start(self, trainer: Trainer) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=trainer.cfg.train.max_epochs, initial=max(trainer.epochs_done, 0),
                        unit="epoch", dynamic_ncols=True)

    def on_epoch_end(self, trainer: Trainer, record: dict) -> None:
        probs = " ".join(f"{t[:3]}={p:.2f}" for t, p in record["probabilities"].items())
        self.bar.set_postfix_str(f"p: {probs or '-'} | val acc {record['val'][MAIN_TASK]['accuracy']:.3f} "
                                 f"(best ep {record['best_epoch']})", refresh=False)
        if record["epoch"] > 0:
            self.bar.update(1)

    def on_fit_end(self, trainer: Trainer) -> None:
        self.bar.close()

"""Checkpoints and the resume state of a run folder.

- ``checkpoint.safetensors``: the best epoch's trainable weights, safetensors
  only (loading it runs no pickled code), written whenever validation improves.
- ``checkpoint-TASK.safetensors`` (``--select per-task``): each other task's
  own best epoch's weights, written whenever that task's validation score improves.
- ``resume.pt``: everything the trainer needs to continue exactly where it
  was (the weights it trains, optimiser, random generators, batch order, the
  epoch in progress); the best weights are not repeated there, a resumed run
  reads them back from ``checkpoint.safetensors`` (:func:`load_best_state`). One file, replaced atomically, at most every
  ``train.save_every_s`` seconds and at a stop; removed when the run finishes.
  It is read with ``torch.load(weights_only=True)``: tensors and plain types, no code.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from muser_core.base.errors import InputError
from muser_core.base.files import atomic_write_bytes
from muser_core.train.run_folder import CHECKPOINT, RESUME, task_checkpoint, temporary_path

# What every resume state holds (Trainer.state_dict): a file without them is not one.
RESUME_KEYS = frozenset({"model", "optimizer", "streams", "meta"})


def checkpoint_name(task: str | None = None) -> str:
    """The main checkpoint, or with ``task`` that task's own (``--select per-task``)."""
    return CHECKPOINT if task is None else task_checkpoint(task)


def save_checkpoint(run_dir: str | Path, state: dict[str, torch.Tensor], epoch: int, task: str | None = None) -> None:
    """Best trainable weights as safetensors, written atomically; the epoch goes in its metadata."""
    from safetensors.torch import save

    tensors = {k: v.detach().contiguous().cpu() for k, v in state.items()}
    atomic_write_bytes(Path(run_dir) / checkpoint_name(task), save(tensors, metadata={"epoch": str(epoch)}))


def save_resume_state(run_dir: str | Path, state: dict) -> int:
    """Write the trainer's state to ``resume.pt`` (temporary file, then rename); returns its size in bytes."""
    path = Path(run_dir) / RESUME
    tmp = temporary_path(path)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path.stat().st_size


def load_resume_state(run_dir: str | Path, device: torch.device | str = "cpu") -> dict | None:
    """The saved training state, None when there is none; one-line InputError when it is damaged."""
    path = Path(run_dir) / RESUME
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # any damage (truncated, foreign file) is the same story for the user
        raise InputError(f"{path}: unreadable resume state ({type(exc).__name__}); "
                         "start a new run from its config.json") from None
    if not isinstance(state, dict) or not RESUME_KEYS <= set(state):
        # A valid torch file of another shape ({} or a list): the same story as a damaged one.
        what = f"no {', '.join(sorted(RESUME_KEYS - set(state)))}" if isinstance(state, dict) \
            else f"a {type(state).__name__}, not a training state"
        raise InputError(f"{path}: unreadable resume state ({what}); start a new run from its config.json")
    return state


def remove_resume_state(run_dir: str | Path) -> None:
    """A finished run cannot continue: its resume state is only disk space."""
    (Path(run_dir) / RESUME).unlink(missing_ok=True)


def load_best_state(run_dir: str | Path, epoch: int, device: torch.device | str = "cpu",
                    task: str | None = None) -> dict[str, torch.Tensor]:
    """The best weights a resume state refers to, read from the checkpoint; {} when the checkpoint is newer.

    A kill between writing a new best checkpoint and the next resume state
    leaves a checkpoint of a later epoch than the state knows: the resumed run
    then repeats that epoch exactly and writes the same checkpoint again, so
    nothing is taken from it meanwhile (and it is not overwritten by an older label).
    """
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    path = Path(run_dir) / checkpoint_name(task)
    try:
        with safe_open(str(path), framework="pt") as handle:
            saved = (handle.metadata() or {}).get("epoch")
        if saved != str(epoch):
            return {}
        return load_file(str(path), device=str(device))
    except (OSError, SafetensorError) as exc:
        raise InputError(f"{path}: unreadable checkpoint of the best epoch {epoch} ({exc}); "
                         "start a new run from its config.json") from None

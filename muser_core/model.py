"""MUSER: text and acoustic encoders, concatenation fusion, one head per task (paper 4.3, Figure 1).

All weights are shared across tasks except the heads (hard sharing, paper
4.4.1). This module holds the network and its weight files only; training is
:mod:`muser_core.train`, and rebuilding a run's model for new utterances is
:func:`muser_core.predict.run_model.load_trained_model`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import torch
from torch import nn

from muser_core.base.errors import InputError
from muser_core.base.tasks import is_classification
from muser_core.features.layer_cache import top_layers


class Architecture(Protocol):
    """The sizes the network is built from; :class:`muser_core.config.ModelConfig` has them all.

    The model reads these values only, so it sits below the run's settings and
    a notebook may build one from any object that has them.
    """

    uses_text: bool          # a text branch (modality text or both)
    uses_audio: bool         # an acoustic branch (modality audio or both)
    text_dim: int            # the Transformer's hidden size
    n_acoustic: int          # eGeMAPS functionals in (88)
    hidden_size: int         # text projection and acoustic MLP width (256, paper 4.3)
    acoustic_layers: int     # hidden layers of the acoustic MLP (4, paper 4.3.2)
    head_dropout: float      # dropout before each emotion output unit (paper 4.3.3)
    finetune_layers: int     # fine-tune only the top k Transformer layers (0: all, or frozen)
    text_only_tasks: Sequence[str]  # tasks whose head reads the text half only
    lexicon_branch: bool     # a word-category branch beside the text vector
    n_lexicon: int           # its inputs (WC and the dictionary's categories)


class MultiTaskModel(nn.Module):
    """Encoders -> fused vector (256 per modality) -> the head of each task.

    A batch is a dict of tensors: ``acoustic`` (B, 88) normalised eGeMAPS, and
    for text either ``text_embedding`` (B, H) (frozen mode, precomputed) or
    ``input_ids``/``attention_mask`` (B, L) (run through ``text_encoder``); with
    the lexicon branch also ``lexicon`` (B, n_lexicon), z-scored category scores.
    The fused vector is the text part, then the lexicon part, then the acoustic part.
    """

    def __init__(self, cfg: Architecture, tasks: Sequence[str], text_encoder: nn.Module | None = None):
        super().__init__()
        self.cfg = cfg
        self.tasks = tuple(tasks)
        size = cfg.hidden_size
        self.text_encoder = text_encoder  # the Transformer; None when trained on frozen embeddings
        if cfg.uses_text:
            if cfg.text_dim < 1:
                raise ValueError("text_dim must be set when the model uses text")
            self.text_proj = nn.Linear(cfg.text_dim, size)  # paper 4.3.1: mean hidden state -> 256
        if cfg.uses_audio:
            layers, width = [], cfg.n_acoustic
            for _ in range(cfg.acoustic_layers):  # paper 4.3.2: four hidden layers of 256, ReLU
                layers += [nn.Linear(width, size), nn.ReLU()]
                width = size
            self.acoustic = nn.Sequential(*layers)
        lexicon = bool(cfg.lexicon_branch and cfg.uses_text)
        # The lexicon branch: a small MLP like the acoustic branch, two hidden layers of the same width, ReLU.
        self.lexicon = nn.Sequential(nn.Linear(cfg.n_lexicon, size), nn.ReLU(), nn.Linear(size, size), nn.ReLU()) \
            if lexicon else None
        self.text_width = size * (1 + lexicon) if cfg.uses_text else 0
        fused = self.text_width + size * cfg.uses_audio  # paper 4.3.3: concatenation
        # A task whose data have no audio (an external text set such as EmoBank) reads the text half only, so its
        # head never weighs a voice it was not trained on (the text parts come first in the fused vector).
        self.text_only = {t for t in cfg.text_only_tasks if t in self.tasks} if cfg.uses_text and cfg.uses_audio \
            else set()
        width = {task: self.text_width if task in self.text_only else fused for task in self.tasks}
        self.heads = nn.ModuleDict({
            task: nn.Linear(width[task], 2) if is_classification(task)          # stress logits
            else nn.Sequential(nn.Dropout(cfg.head_dropout), nn.Linear(width[task], 1))  # one unit, MSE
            for task in self.tasks})

    def encode(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The shared representation (B, 256 per part: text, lexicon, acoustic)."""
        parts = []
        if self.cfg.uses_text:
            if "text_embedding" in batch:
                text = batch["text_embedding"]                                   # (B, H)
            elif "hidden_states" in batch:  # --finetune-layers k: the top k layers over cached lower states
                text = top_layers(self.text_encoder, batch["hidden_states"], batch["attention_mask"],
                                  self.cfg.finetune_layers)                      # (B, H)
            else:
                text = self.text_encoder(batch["input_ids"], batch["attention_mask"])  # (B, H)
            parts.append(self.text_proj(text))                                   # (B, 256)
            if self.lexicon is not None:
                parts.append(self.lexicon(batch["lexicon"]))                     # (B, 256)
        if self.cfg.uses_audio:
            parts.append(self.acoustic(batch["acoustic"]))                       # (B, 256)
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)        # (B, 256 x parts)

    def head(self, task: str, fused: torch.Tensor) -> torch.Tensor:
        """Stress: logits (B, 2); an emotion task: predictions (B,) on the training scale."""
        out = self.heads[task](fused[:, :self.text_width] if task in self.text_only else fused)
        return out if is_classification(task) else out.squeeze(-1)

    def forward(self, batch: dict[str, torch.Tensor], tasks: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        fused = self.encode(batch)
        return {task: self.head(task, fused) for task in (tasks or self.tasks)}


class PerTaskModel(nn.Module):
    """Trained copies of one network, each task answered by its own copy (``--select per-task``): a head is
    read with the weights of the epoch its validation score peaked. A frozen Transformer is shared."""

    def __init__(self, models: dict[str, MultiTaskModel]):
        super().__init__()
        self.models = nn.ModuleDict(models)
        first = next(iter(models.values()))
        self.cfg, self.tasks, self.text_encoder = first.cfg, first.tasks, first.text_encoder

    def forward(self, batch: dict[str, torch.Tensor], tasks: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        return {task: self.models[task](batch, [task])[task] for task in (tasks or self.tasks)}


# --------------------------------------------------------------------------- checkpoints

def trainable_state(model: MultiTaskModel, text_mode: str) -> dict[str, torch.Tensor]:
    """The weights a run saves: everything but a frozen Transformer."""
    return {k: v for k, v in model.state_dict().items()
            if not (text_mode == "frozen" and k.startswith("text_encoder."))}


def resume_weights(model: MultiTaskModel, text_mode: str) -> dict[str, torch.Tensor]:
    """The weights a resume state needs: the trainable ones less frozen parameters (rebuilt from the model folder).

    With ``--finetune-layers`` the embeddings and lower layers never change,
    so they are left out of the resume state (they stay in the checkpoint,
    which must read raw text).
    """
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    return {k: v for k, v in trainable_state(model, text_mode).items() if k not in frozen}


def check_shapes(state: dict[str, torch.Tensor], model: MultiTaskModel, source: str,
                 text_mode: str = "finetune", allow_missing: bool = False) -> None:
    """One-line InputError when ``state`` does not fit ``model`` (missing, extra or reshaped weights)."""
    expected = {k: tuple(v.shape) for k, v in trainable_state(model, text_mode).items()}
    for key, tensor in state.items():
        if key not in expected:
            raise InputError(f"{source}: weight '{key}' does not belong to this model "
                             "(a checkpoint from another model shape or task list)")
        if tuple(tensor.shape) != expected[key]:
            raise InputError(f"{source}: weight '{key}' has shape {tuple(tensor.shape)}, "
                             f"this model needs {expected[key]} (a checkpoint from another model shape)")
    missing = sorted(set(expected) - set(state))
    if missing and not allow_missing:
        raise InputError(f"{source}: weight '{missing[0]}' is missing (a checkpoint from another model shape)")


def load_weights(model: MultiTaskModel, path: str | Path, text_mode: str, allow_missing: bool = False) -> None:
    """Load a safetensors checkpoint into ``model`` after checking every shape.

    ``allow_missing`` lets a checkpoint without some weights (e.g. a new task's head) initialise the rest.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(path))
    except (OSError, SafetensorError) as exc:
        raise InputError(f"{path}: not a readable safetensors checkpoint ({exc})") from None
    check_shapes(state, model, str(path), text_mode, allow_missing)
    model.load_state_dict(state, strict=False)

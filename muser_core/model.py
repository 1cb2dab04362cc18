"""MUSER: text and acoustic encoders, concatenation fusion, one head per task (paper 4.3, Figure 1).

All weights are shared across tasks except the heads (hard sharing, paper
4.4.1). :func:`load_trained_model` rebuilds a run's model from its folder for
prediction on new utterances (:func:`predict`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from muser_core.base.errors import InputError
from muser_core.base.tasks import is_classification
from muser_core.config import ModelConfig, RunConfig


class MultiTaskModel(nn.Module):
    """Encoders -> fused vector (256 per modality) -> the head of each task.

    A batch is a dict of tensors: ``acoustic`` (B, 88) normalised eGeMAPS, and
    for text either ``text_embedding`` (B, H) (frozen mode, precomputed) or
    ``input_ids``/``attention_mask`` (B, L) (run through ``text_encoder``).
    """

    def __init__(self, cfg: ModelConfig, tasks: Sequence[str], text_encoder: nn.Module | None = None):
        super().__init__()
        self.cfg = cfg
        self.tasks = tuple(tasks)
        size = cfg.hidden_size
        self.text_encoder = text_encoder  # the Transformer; None when trained on frozen embeddings
        if cfg.uses_text:
            if cfg.text_dim < 1:
                raise ValueError("ModelConfig.text_dim must be set when the model uses text")
            self.text_proj = nn.Linear(cfg.text_dim, size)  # paper 4.3.1: mean hidden state -> 256
        if cfg.uses_audio:
            layers, width = [], cfg.n_acoustic
            for _ in range(cfg.acoustic_layers):  # paper 4.3.2: four hidden layers of 256, ReLU
                layers += [nn.Linear(width, size), nn.ReLU()]
                width = size
            self.acoustic = nn.Sequential(*layers)
        fused = size * (cfg.uses_text + cfg.uses_audio)  # paper 4.3.3: concatenation
        self.heads = nn.ModuleDict({
            task: nn.Linear(fused, 2) if is_classification(task)          # stress logits
            else nn.Sequential(nn.Dropout(cfg.head_dropout), nn.Linear(fused, 1))  # one unit, MSE
            for task in self.tasks})

    def encode(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The shared representation (B, 256 or 512)."""
        parts = []
        if self.cfg.uses_text:
            if "text_embedding" in batch:
                text = batch["text_embedding"]                                   # (B, H)
            else:
                text = self.text_encoder(batch["input_ids"], batch["attention_mask"])  # (B, H)
            parts.append(self.text_proj(text))                                   # (B, 256)
        if self.cfg.uses_audio:
            parts.append(self.acoustic(batch["acoustic"]))                       # (B, 256)
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)        # (B, 512)

    def head(self, task: str, fused: torch.Tensor) -> torch.Tensor:
        """Stress: logits (B, 2); an emotion task: predictions (B,) on the training scale."""
        out = self.heads[task](fused)
        return out if is_classification(task) else out.squeeze(-1)

    def forward(self, batch: dict[str, torch.Tensor], tasks: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        fused = self.encode(batch)
        return {task: self.head(task, fused) for task in (tasks or self.tasks)}


# --------------------------------------------------------------------------- checkpoints

def trainable_state(model: MultiTaskModel, text_mode: str) -> dict[str, torch.Tensor]:
    """The weights a run saves: everything but a frozen Transformer."""
    return {k: v for k, v in model.state_dict().items()
            if not (text_mode == "frozen" and k.startswith("text_encoder."))}


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


def load_trained_model(run_dir: str | Path, device: str = "cpu") -> tuple[MultiTaskModel, RunConfig, dict]:
    """A run's best model in eval mode, its config and its normalisation statistics.

    The statistics are the run's ``normaliser.json``: ``acoustic`` (a
    :class:`~muser_core.normalise.SpeakerZScore` dict, or None for a text-only
    run) and ``targets`` (mean/std each emotion head was trained on). When the
    model uses text, the Transformer is attached (loaded from the config's
    model folder when frozen), so :func:`predict` can take raw sentences.
    """
    from muser_core.features.text_encoder import TextEncoder
    from muser_core.train import run_folder as runs

    run_dir = Path(run_dir)
    cfg = runs.read_config(run_dir)
    ckpt = run_dir / runs.CHECKPOINT
    if not ckpt.is_file():
        raise InputError(f"{run_dir}: no checkpoint yet (the run has not finished an epoch)")
    stats = runs.read_json(run_dir / runs.NORMALISER) or {}
    encoder = TextEncoder(cfg.model.text_model, cfg.model.max_length) if cfg.model.uses_text else None
    if encoder is not None and encoder.hidden_size != cfg.model.text_dim:
        raise InputError(f"{cfg.model.text_model or 'default MiniLM'}: hidden size {encoder.hidden_size}, "
                         f"the run was trained with {cfg.model.text_dim}")
    model = MultiTaskModel(cfg.model, cfg.data.tasks, encoder)
    load_weights(model, ckpt, cfg.model.text_mode)
    return model.to(device).eval(), cfg, stats


@torch.no_grad()
def predict(model: MultiTaskModel, stats: dict, texts: Sequence[str] | None = None,
            features: pd.DataFrame | np.ndarray | None = None,
            speakers: Sequence[str] | None = None) -> pd.DataFrame:
    """Predictions for new utterances: ``stress_probability`` and each emotion on its label scale.

    ``features`` are raw (not normalised) eGeMAPS functionals, one row per
    utterance, columns in ``EGEMAPS_FEATURES`` order; they are normalised with
    the run's statistics. Training speakers are keyed ``"<dataset>:<speaker>"``
    (e.g. ``"demo:07"``); any other name, or none, gets the pooled statistics.
    """
    model.eval()
    device = next(model.parameters()).device
    batch: dict[str, torch.Tensor] = {}
    n = len(texts) if texts is not None else len(features)
    if model.cfg.uses_text:
        if texts is None:
            raise InputError("this model uses text: give the transcripts")
        tokens = model.text_encoder.tokenize(texts)
        batch.update({k: v.to(device) for k, v in tokens.items()})
    if model.cfg.uses_audio:
        if features is None:
            raise InputError("this model uses audio: give the 88 eGeMAPS features")
        from muser_core.features.normalise import SpeakerZScore

        scaler = SpeakerZScore.from_dict(stats["acoustic"])
        table = features if isinstance(features, pd.DataFrame) else pd.DataFrame(
            np.asarray(features, dtype=np.float64).reshape(n, -1), columns=scaler.means_.columns)
        spk = list(speakers) if speakers is not None else ["<new speaker>"] * n
        values = np.nan_to_num(scaler.transform(table, spk).to_numpy(np.float32))
        batch["acoustic"] = torch.from_numpy(values).to(device)
    out = model(batch)
    result = {}
    for task, value in out.items():
        if is_classification(task):
            result[f"{task}_probability"] = torch.softmax(value, -1)[:, 1].cpu().numpy()
        else:
            target = stats.get("targets", {}).get(task, {"mean": 0.0, "std": 1.0})
            result[task] = value.cpu().numpy() * target["std"] + target["mean"]
    return pd.DataFrame(result)

"""Fine-tuning the top k Transformer layers over cached hidden states of the layers below.

Full fine-tuning runs and back-propagates every layer of the Transformer for
every batch. With ``--finetune-layers k`` the embeddings and the lower
``L - k`` layers stay frozen: their output (the hidden states entering layer
``L - k``) is computed once per text, cached on disk, and each training step
runs only the top ``k`` layers, the pooling and the heads. The checkpoint
still holds the whole Transformer (lower layers unchanged), so a trained
model reads raw text like any fine-tuned one.

The cache (``cache_dir()/hidden_states``) has one ``.npy`` file per text and
model identity, named by the text's hash (content-keyed, like the embedding
cache), float32, shape (tokens, hidden). It is bounded: after a run adds
files, the least recently used ones of other runs are removed until the
folder is under :data:`HIDDEN_CACHE_LIMIT_BYTES` (``MUSER_HIDDEN_CACHE_MB``
overrides; the current run's files are never removed, so one run larger
than the limit keeps its own and says so).

Hidden states are computed on one CPU thread with texts batched only with
texts of exactly the same token length (no padding), for the same reason as
the frozen embeddings: a cached value must not depend on its neighbours or
the process that computed it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from muser_core.base.errors import InputError, Notice
from muser_core.base.files import atomic_write
from muser_core.base.paths import cache_dir
from muser_core.features.text_encoder import (
    TextEncoder,
    TextModel,
    mean_pool,
    one_thread,
    same_length_batches,
    text_key,
)

HIDDEN_CACHE_LIMIT_BYTES = 4 * 1024**3  # 4 GiB: about 25,000 texts of 110 tokens from MiniLM (384 wide, float32)
SPLIT_TOLERANCE = 1e-4                  # |top layers over cached states - the whole Transformer|, sentence vectors
LENGTH_QUANTILE = 99                    # max_length 0: cut no more than 1% of the texts
LENGTH_MULTIPLE = 8


def hidden_cache_dir() -> Path:
    return cache_dir() / "hidden_states"


def hidden_cache_limit() -> int:
    """The cache's size bound in bytes (``MUSER_HIDDEN_CACHE_MB`` overrides the default 4 GiB)."""
    mb = os.environ.get("MUSER_HIDDEN_CACHE_MB", "")
    try:
        return int(float(mb) * 1024**2) if mb else HIDDEN_CACHE_LIMIT_BYTES
    except ValueError:
        raise InputError(f"MUSER_HIDDEN_CACHE_MB={mb!r}: give a number of megabytes") from None


def layer_count(encoder: TextEncoder) -> int:
    """Transformer layers of a BERT-style encoder; one InputError line for a model this mode cannot split."""
    layers = getattr(getattr(encoder.transformer, "encoder", None), "layer", None)
    if not isinstance(layers, nn.ModuleList) or not hasattr(encoder.transformer, "embeddings"):
        raise InputError(f"{encoder.path}: --finetune-layers needs a BERT-style model (embeddings, then "
                         "encoder.layer); fine-tune all layers with --finetune-layers 0")
    return len(layers)


def check_layers(encoder: TextEncoder, k: int) -> int:
    """The number of frozen lower layers for training the top ``k``; one line when ``k`` does not fit the model."""
    total = layer_count(encoder)
    check_layer_choice(k, total)
    return total - k


def check_layer_choice(k: int, total: int) -> None:
    """One line when the top ``k`` of ``total`` layers cannot be trained over cached lower ones."""
    if not 0 < k < total:
        raise InputError(f"--finetune-layers {k}: this model has {total} layers, so give 1 to {total - 1} "
                         "(0 trains them all, as the paper does)")


def freeze_lower(encoder: TextEncoder, k: int) -> None:
    """Only the top ``k`` layers keep gradients (the embeddings and lower layers are read from the cache)."""
    lower = check_layers(encoder, k)
    for p in encoder.transformer.parameters():
        p.requires_grad_(False)
    for layer in encoder.transformer.encoder.layer[lower:]:
        for p in layer.parameters():
            p.requires_grad_(True)


def _attention_mask(transformer: nn.Module, hidden: torch.Tensor, mask: torch.Tensor):
    """The mask the model's own layers expect, built by transformers' public function as the model's forward does."""
    try:
        # Imported where used, as text_encoder.TextEncoder imports transformers: importing it costs
        # seconds, and commands that load no text model never pay it. Once a model is
        # loaded the module is already in sys.modules, so this is a lookup on each step.
        from transformers.masking_utils import create_bidirectional_mask  # transformers 5
    except ImportError:
        return transformer.get_extended_attention_mask(mask, mask.shape)  # transformers 4
    # Keywords only: the model's private _create_attention_masks changed its arguments in 5.25.
    return create_bidirectional_mask(config=transformer.config, inputs_embeds=hidden, attention_mask=mask)


def top_layers(encoder: TextEncoder, hidden: torch.Tensor, mask: torch.Tensor, k: int) -> torch.Tensor:
    """Sentence vectors (B, H): the top ``k`` layers over hidden states (B, L, H) entering them, mean-pooled."""
    transformer = encoder.transformer
    extended = _attention_mask(transformer, hidden, mask)
    for layer in transformer.encoder.layer[len(transformer.encoder.layer) - k:]:
        out = layer(hidden, extended)
        hidden = out[0] if isinstance(out, tuple) else out
    return mean_pool(hidden, mask)


@torch.no_grad()
def lower_states(encoder: TextEncoder, texts: Sequence[str], k: int, batch_size: int = 64) -> list[np.ndarray]:
    """Each text's hidden states entering the top ``k`` layers, (tokens, H) float32, in eval mode, unpadded."""
    lower = check_layers(encoder, k)
    was_training = encoder.training
    encoder.eval()
    device = next(encoder.transformer.parameters()).device
    tokens = encoder.tokenizer(list(texts), truncation=True, max_length=encoder.max_length,
                               return_token_type_ids=False)["input_ids"]
    out: list[np.ndarray] = [np.zeros(0)] * len(texts)
    for idx in same_length_batches(tokens, batch_size):
        ids = torch.tensor([tokens[i] for i in idx], device=device)
        result = encoder.transformer(input_ids=ids, attention_mask=torch.ones_like(ids),
                                     output_hidden_states=True)
        states = result.hidden_states[lower].float().cpu().numpy()  # [0] is the embeddings' output
        for j, i in enumerate(idx):
            out[i] = states[j]
    encoder.train(was_training)
    return out


class HiddenStateCache:
    """One ``.npy`` per text in a folder per model identity and split point; bounded in total size."""

    def __init__(self, key: str, root: Path | None = None):
        self.root = root or hidden_cache_dir()
        self.folder = self.root / key
        self.damaged: list[Path] = []   # files found damaged (and removed) by load

    def path(self, text_hash: str) -> Path:
        return self.folder / text_hash[:2] / f"{text_hash}.npy"

    def load(self, text_hash: str, hidden: int | None = None) -> np.ndarray | None:
        """The cached states, None when missing or damaged; a hit marks the file as recently used.

        A damaged file (truncated, not an array, or not ``(tokens, hidden)`` float32) is removed, to be
        computed again, and counted in :attr:`damaged` (the caller names it in one warning).
        """
        path = self.path(text_hash)
        try:
            states = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            states = None
        if states is None or states.ndim != 2 or states.dtype != np.float32 \
                or (hidden is not None and states.shape[1] != hidden):
            self.damaged.append(path)
            path.unlink(missing_ok=True)
            return None
        os.utime(path)
        return states

    def save(self, text_hash: str, states: np.ndarray) -> None:
        path = self.path(text_hash)
        path.parent.mkdir(parents=True, exist_ok=True)

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:  # a handle: np.save would add ".npy" to a name
                np.save(handle, states, allow_pickle=False)

        atomic_write(path, write)

    def bound(self, keep: set[Path], limit: int) -> dict:
        """Remove the least recently used files outside ``keep`` until the cache is under ``limit`` bytes."""
        files = [(p.stat().st_mtime, p.stat().st_size, p) for p in self.root.rglob("*.npy")] \
            if self.root.is_dir() else []
        total = sum(size for _, size, _ in files)
        removed = 0
        for _, size, path in sorted(files):
            if total <= limit:
                break
            if path in keep:
                continue
            path.unlink(missing_ok=True)
            total, removed = total - size, removed + 1
        return {"bytes": total, "removed": removed, "limit": limit}


def cache_key(model: str | Path | TextModel, max_length: int, lower: int, device: str) -> str:
    """Model identity (:meth:`TextModel.cache_key`), the layer the states enter and the device type."""
    return f"{TextModel.open(model).cache_key(max_length)}-below{lower}-{torch.device(device).type}"


def cached_lower_states(encoder: TextEncoder, texts: Sequence[str], k: int, batch_size: int = 64,
                        device: str = "cpu", root: Path | None = None) -> tuple[list[np.ndarray], str]:
    """Hidden states entering the top ``k`` layers for each text, computing only the uncached; and a note line."""
    lower = check_layers(encoder, k)
    cache = HiddenStateCache(cache_key(encoder.model, encoder.max_length, lower, device), root)
    hashes = [text_key(t) for t in texts]
    found = {h: cache.load(h, encoder.hidden_size) for h in dict.fromkeys(hashes)}
    missing = [h for h, s in found.items() if s is None]
    if cache.damaged:
        warnings.warn(f"{cache.damaged[0]}: a damaged hidden-state cache file"
                      + (f" (and {len(cache.damaged) - 1} more)" if len(cache.damaged) > 1 else "")
                      + "; removed and computed again", Notice, stacklevel=2)
    if missing:
        first = {h: t for h, t in zip(hashes, texts, strict=True)}
        with one_thread():
            states = lower_states(encoder, [first[h] for h in missing], k, batch_size)
        for h, s in zip(missing, states, strict=True):
            found[h] = s
            cache.save(h, s)
    usage = cache.bound({cache.path(h) for h in found}, hidden_cache_limit())
    note = (f"text: top {k} of {lower + k} layers fine-tuned over cached hidden states of the {lower} below "
            f"({len(found) - len(missing):,} of {len(found):,} texts from the cache); hidden-state cache "
            f"{usage['bytes'] / 1024**2:,.0f} MB of its {usage['limit'] / 1024**2:,.0f} MB bound"
            + (f", {usage['removed']} least recently used files removed" if usage["removed"] else "")
            + (" (this run alone is over the bound: its files are kept)" if usage["bytes"] > usage["limit"] else ""))
    return [found[h] for h in hashes], note


def check_split(encoder: TextEncoder, texts: Sequence[str], states: Sequence[np.ndarray], k: int) -> None:
    """The top layers over cached states must give the whole model's vectors (a few texts); else one line.

    Guards against a model whose layers do not run on their own as assumed:
    a wrong split would train silently on wrong inputs.
    """
    was_training = encoder.training
    encoder.eval()
    device = next(encoder.transformer.parameters()).device
    with torch.no_grad():
        for text, state in list(zip(texts, states, strict=True))[:4]:
            tokens = encoder.tokenize([text])
            whole = encoder(tokens["input_ids"].to(device), tokens["attention_mask"].to(device))
            hidden = torch.from_numpy(state).unsqueeze(0).to(device)
            split = top_layers(encoder, hidden, torch.ones(hidden.shape[:2], dtype=torch.long, device=device), k)
            gap = float((whole - split).abs().max())
            if not gap <= SPLIT_TOLERANCE:
                encoder.train(was_training)
                raise InputError(f"{encoder.path}: its top {k} layers over cached hidden states differ from the "
                                 f"whole model by {gap:.2g} (> {SPLIT_TOLERANCE}); this model cannot be split, "
                                 "fine-tune all layers with --finetune-layers 0")
    encoder.train(was_training)


def forget_hidden_states(texts: Sequence[str], root: Path | None = None) -> int:
    """Remove these texts' hidden states from every model's cache (a participant deleted); how many files."""
    root = root or hidden_cache_dir()
    removed = 0
    for h in {text_key(t) for t in texts}:
        for path in root.glob(f"*/{h[:2]}/{h}.npy") if root.is_dir() else []:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def length_from_data(lengths: np.ndarray, limit: int) -> int:
    """``max_length`` 0: the 99th percentile of the texts' token lengths, up to a multiple of 8, within ``limit``."""
    if not len(lengths):
        return min(128, limit)
    wanted = int(np.ceil(np.percentile(lengths, LENGTH_QUANTILE)))
    return max(1, min(limit, -(-wanted // LENGTH_MULTIPLE) * LENGTH_MULTIPLE))


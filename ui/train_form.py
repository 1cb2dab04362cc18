"""The Train page's launch form: it builds the same RunConfig the command line builds.

Every widget takes its default and help text from the setting in
:mod:`muser_core.config`, so the page and ``muser train`` agree.
A mistake (seeds, run name, strategy settings) is shown beside its field and
keeps the rest of the page; the Launch button waits until the form is valid.
"""

from __future__ import annotations

import time
from dataclasses import Field, dataclass, field, replace

import numpy as np
import streamlit as st

from analysis import run_views as rv
from muser_core.base.errors import InputError
from muser_core.base.settings import kind_of
from muser_core.base.tasks import EXTERNAL_TASKS, INTERNAL_TASKS, MAIN_TASK
from muser_core.config import (
    CHECKPOINT_SELECTIONS,
    MODALITIES,
    PAPER_DEVIATIONS,
    PAPER_SETTINGS,
    SPLIT_METHODS,
    TEXT_MODES,
    TUNE_CANDIDATES,
    RunConfig,
    StrategyConfig,
    paper_preset,
    setting_help,
)
from muser_core.features.text_encoder import token_lengths, truncation_note
from muser_core.sources import DEMO, SOURCES, available, corpus_file
from muser_core.strategies import STRATEGIES, make_strategy
from muser_core.train import process
from muser_core.train.cli import command_line, parse_seeds
from muser_core.train.data import check_data
from muser_core.train.run import TIMED_BATCHES, time_batches
from muser_core.train.run_folder import run_path
from ui.common import cached_source, source_ui
from ui.runs import error_line_ui

DEFAULT = RunConfig()


@dataclass
class LaunchForm:
    """What the form holds: a checked config (corpus still a source), seeds, a name, and the mistakes."""

    config: RunConfig | None
    corpus: tuple[str, str]            # (kind, path): a source name (muser_core.sources) and its location
    external: tuple[str, str]          # (kind, path): the same, or ("", "") for no external set
    seeds: list[int]
    name: str
    errors: dict[str, str] = field(default_factory=dict)  # field -> one line

    @property
    def valid(self) -> bool:
        return self.config is not None and not self.errors


def _first_line(name: str) -> str:
    strategy = STRATEGIES[name]
    return f"{name} ({strategy.title}): {(strategy.__doc__ or '').strip().splitlines()[0]}"


def corpus_choice_ui(key: str) -> tuple[str, str]:
    """(kind, path) of the training corpus: any source of :mod:`muser_core.sources` with stress labels."""
    choice = source_ui("Corpus", f"{key}-corpus", key, available(training=True))
    if choice.source.note:
        st.caption(choice.source.note)
    return choice.source.name, choice.path


def external_choice_ui(key: str) -> tuple[str, str]:
    """(kind, path) of the external emotion set: none, or a source that may be one; ("", "") for none."""
    choice = source_ui("External auxiliary set", f"{key}-external", f"{key}-external", available(external=True),
                       none="No external set", external=True,
                       help="Emotion labels from another data set, as the tasks ext_activation and "
                            "ext_valence (paper 5.3.3, Table 9)")
    return (choice.source.name, choice.path) if choice.source is not None else ("", "")


def _setting_widget(column, f: Field, default, key: str):
    """A widget for one strategy setting: a whole number, a number or a text, with its help and bounds."""
    meta = f.metadata
    label = meta.get("label") or f.name.replace("_", " ").capitalize()
    kind = kind_of(f.type)
    if kind == "int":
        return int(column.number_input(label, meta.get("min"), meta.get("max"), int(default), key=key,
                                       help=meta.get("help")))
    if kind == "float":
        # An exclusive lower bound becomes the widget's smallest value at its three decimals.
        low = meta.get("min") if meta.get("min") is not None else (
            meta["above"] + 0.001 if meta.get("above") is not None else None)
        return float(column.number_input(label, low, meta.get("max"), float(default), format="%.3f", key=key,
                                         help=meta.get("help")))
    return column.text_input(label, default, key=key, help=meta.get("help"))


def _strategy_ui(key: str) -> StrategyConfig:
    s = DEFAULT.strategy
    strategy = st.selectbox("Strategy", list(STRATEGIES), index=list(STRATEGIES).index(s.name),
                            key=f"{key}-strategy", help="\n\n".join(_first_line(n) for n in STRATEGIES))
    st.caption(_first_line(strategy))
    values = {}
    # One widget per setting the chosen strategy declares, read from its dataclass (muser_core.strategies).
    for column, f in zip(st.columns(3), STRATEGIES[strategy].own_settings(), strict=False):
        values[f.name] = _setting_widget(column, f, getattr(s, f.name), f"{key}-{f.name.replace('_', '-')}")
    return StrategyConfig(name=strategy, **values)


# The Paper settings switch sets these widgets (the other paper values are not widgets; they equal the defaults
# or come with the preset itself).
PAPER_WIDGETS = {"text-mode": ("model", "text_mode"), "split": ("data", "split"),
                 "max-epochs": ("train", "max_epochs"), "finetune-layers": ("model", "finetune_layers")}


def _apply_paper(key: str) -> None:
    """On: remember the widgets' values and set the paper's. Off: put back what was there before."""
    saved = f"{key}-before-paper"
    if st.session_state.get(f"{key}-paper"):
        default = RunConfig()
        st.session_state[saved] = {
            widget: st.session_state.get(f"{key}-{widget}", getattr(getattr(default, section), name))
            for widget, (section, name) in PAPER_WIDGETS.items()}
        for widget, setting in PAPER_WIDGETS.items():
            st.session_state[f"{key}-{widget}"] = PAPER_SETTINGS[setting]
    else:
        for widget, value in st.session_state.pop(saved, {}).items():
            st.session_state[f"{key}-{widget}"] = value


def paper_switch_ui(key: str) -> bool:
    """The 'Paper settings' switch, and while it is on, what still differs from the paper."""
    paper = st.toggle("Paper settings (section 5.1)", key=f"{key}-paper", on_change=_apply_paper, args=(key,),
                      help="Fine-tuned encoder, max length 128, batch 32, clipping 1.0, the paper's learning "
                           "rates, the paper's split, rho 0.1: muser train --paper")
    if paper:
        st.caption("Still different from the paper with these settings:")
        st.table([{"what": w, "the paper": p, "here": o} for w, p, o in PAPER_DEVIATIONS])
    return paper


def train_form_ui(key: str = "train") -> LaunchForm:
    """The launch form; mistakes are shown beside their field and collected in ``errors``."""
    paper = paper_switch_ui(key)
    corpus = corpus_choice_ui(key)
    external = external_choice_ui(key)
    # The widgets the Paper switch sets take their first value from Session State only: a widget given a
    # default as well as a Session State value makes Streamlit warn (and the default would be ignored).
    for widget, (section, name) in PAPER_WIDGETS.items():
        st.session_state.setdefault(f"{key}-{widget}", getattr(getattr(DEFAULT, section), name))
    c1, c2, c3 = st.columns(3)
    modality = c1.selectbox("Modality", MODALITIES, index=MODALITIES.index(DEFAULT.model.modality),
                            key=f"{key}-modality", help=setting_help("model", "modality"))
    text_mode = c2.radio("Text encoder", TEXT_MODES, key=f"{key}-text-mode", horizontal=True, help=setting_help("model", "text_mode"))
    split = c3.selectbox("Split", SPLIT_METHODS, key=f"{key}-split",
                         help=setting_help("data", "split"))
    finetune_layers = 0
    if text_mode == "finetune":  # the top k layers over cached lower ones, several times faster on a CPU
        finetune_layers = int(c2.number_input("Fine-tune the top layers (0: all)", 0, 64,
                                              key=f"{key}-finetune-layers",
                                              help=setting_help("model", "finetune_layers")))
    lexicon_branch = modality != "audio" and st.checkbox(
        "Lexicon branch (word-category scores beside the text vector)", key=f"{key}-lexicon-branch",
        help=setting_help("model", "lexicon_branch"))
    tune_head = (text_mode == "frozen" or modality == "audio") and st.checkbox(
        f"Choose weight decay and dropout on validation ({TUNE_CANDIDATES} candidate runs first)", key=f"{key}-tune-head",
        help=setting_help("train", "tune_head"))
    strategy = _strategy_ui(key)
    errors: dict[str, str] = {}
    # The corpus must have audio for a model that hears; a text-only external set (EmoBank) joins a "both"
    # model with heads that read the text side only, but cannot teach an audio-only one.
    if modality != "text" and not SOURCES[corpus[0]].audio:
        errors["modality"] = f"{SOURCES[corpus[0]].title} has no audio: choose Modality = text"
    elif modality == "audio" and external[0] and not SOURCES[external[0]].audio:
        errors["modality"] = f"{SOURCES[external[0]].title} has no audio: choose Modality = text or both"
    if "modality" in errors:
        error_line_ui(errors["modality"])
    elif external[0] and not SOURCES[external[0]].audio and modality == "both":
        st.caption(f"{SOURCES[external[0]].title} has no audio: its tasks learn from the text side only.")
    try:
        default_tasks = make_strategy(strategy).default_tasks()
    except InputError as exc:
        errors["strategy"] = str(exc)
        error_line_ui(str(exc))
        default_tasks = (MAIN_TASK,)
    # Only the tasks the chosen data have labels for (EmoBank has no stress, Dreaddit no emotion).
    available = [t for t in INTERNAL_TASKS if t in SOURCES[corpus[0]].tasks] + (
        list(EXTERNAL_TASKS) if external[0] else [])
    if external[0] and STRATEGIES[strategy.name].mixes_tasks:
        default_tasks = (MAIN_TASK, *EXTERNAL_TASKS)
    tasks = st.multiselect("Tasks", available, default=[t for t in default_tasks if t in available],
                           key=f"{key}-tasks-{strategy.name}-{external[0] or 'none'}",
                           help="stress is the main task; the others are auxiliary")
    if not tasks:   # an empty choice must not train every task silently
        errors["tasks"] = f"choose at least one task ({MAIN_TASK} is the main task)"
        error_line_ui(errors["tasks"])
    base = paper_preset() if paper else RunConfig()
    if not errors:   # the data's splits, checked as the run checks them (a run failed on them after launch)
        data = replace(base.data, tasks=list(tasks), split=split)
        _field_check(errors, "data", lambda: _check_splits(corpus, external, data))
    t1, t2, t3, t4 = st.columns(4)
    with t1:
        seeds_text = st.text_input("Seeds", "0", key=f"{key}-seeds", help="one run per seed: 0 or 0,1,2 or 0-4")
        seeds = _field_check(errors, "seeds", lambda: parse_seeds(seeds_text)) or []
    train = DEFAULT.train
    max_epochs = int(t2.number_input("Max epochs", 1, 100_000, key=f"{key}-max-epochs",
                                     help=setting_help("train", "max_epochs")))
    patience = int(t3.number_input("Patience", 1, 100_000, train.patience, key=f"{key}-patience",
                                   help=setting_help("train", "patience")))
    select = t3.selectbox("Checkpoint by", CHECKPOINT_SELECTIONS, key=f"{key}-select",
                          index=CHECKPOINT_SELECTIONS.index(train.select), help=setting_help("train", "select"))
    with t4:
        name = st.text_input("Run name (optional)", key=f"{key}-name",
                             help="a folder name inside the runs folder: letters, digits, - and _").strip()
        if name:
            _field_check(errors, "name", lambda: run_path(name))
    config = replace(
        base, strategy=strategy,
        data=replace(base.data, corpus=DEMO, external=DEMO if external[0] else "", tasks=list(tasks), split=split),
        model=replace(base.model, modality=modality, text_mode=text_mode, finetune_layers=finetune_layers,
                      lexicon_branch=bool(lexicon_branch)),
        train=replace(base.train, max_epochs=max_epochs, patience=patience, select=select,
                            tune_head=bool(tune_head)))
    if "strategy" not in errors:
        config = _field_check(errors, "settings", lambda: config.resolved() and config)
    return LaunchForm(config, corpus, external, seeds, name, errors)


def _check_splits(corpus: tuple[str, str], external: tuple[str, str], data) -> None:
    """The run's labels and splits as prepare_data checks them: the copies the run would train on (a study's
    is named by its content, so a grown study is checked again), each check made once."""
    if not all(SOURCES[kind].built_in or path for kind, path in (corpus, external) if kind):
        return   # not located yet: its picker says what to give
    spec = corpus_file(*corpus)
    external_spec = corpus_file(*external, external=True) if external[0] else ""
    problem = _split_problem(spec, external_spec, tuple(data.tasks), data.split, data.split_seed)
    if problem:
        if " split" in problem:   # a split's labels: another split (or, for a study, more sessions) helps
            more = ", or record more sessions" if SOURCES[corpus[0]].listing is not None else ""
            problem = f"{problem}: choose another split or other tasks{more}"
        raise InputError(problem)


@st.cache_data(show_spinner="Checking the data's splits…", max_entries=16)
def _split_problem(corpus: str, external: str, tasks: tuple[str, ...], split: str, split_seed: int) -> str:
    """The first problem of these tasks' labels and splits in one line, or '' (cached: loading a table is slow)."""
    cfg = RunConfig()
    cfg = replace(cfg, data=replace(cfg.data, corpus=corpus, external=external, tasks=list(tasks), split=split,
                                    split_seed=split_seed))
    try:
        check_data(cfg)
    except InputError as exc:
        return str(exc)
    return ""


def _field_check(errors: dict[str, str], name: str, check):
    """Run ``check``; on InputError show its line here, beside the field, and remember it."""
    try:
        return check()
    except InputError as exc:
        errors[name] = str(exc)
        error_line_ui(str(exc))
        return None


def estimate_ui(form: LaunchForm, key: str) -> None:
    """Time per epoch measured on this machine: from an earlier run like this one, or a few timed batches now."""
    if form.config is None:
        return
    cfg = form.config
    if cfg.train.tune_head:
        st.caption(f"Choosing weight decay and dropout trains {TUNE_CANDIDATES} candidate runs before this one, "
                   f"each up to {cfg.train.max_epochs} epochs: the launch takes up to {TUNE_CANDIDATES + 1} times "
                   "one run's time.")
    measured = rv.measured_speed(cfg)
    timed = st.session_state.get(f"{key}-timed", {}).get(_speed_key(cfg))
    items = _train_items(form.corpus[0])
    if timed:
        st.info(f"Measured now on this machine ({timed['batches']} timed batches, {timed['threads']} threads): "
                + rv.epoch_estimate(timed["epoch_items"], timed["samples_per_s"]) + ". Timed with the CPU to "
                "itself: a run shares its cores with this page while you watch it, and with other runs, so its "
                "own figure can be lower.", icon=":material/speed:")
    elif measured and items:
        whose = (f"Measured by the shipped demo run `{measured['run']}` when it was made"
                 + (f" ({time.strftime('%Y-%m-%d', time.localtime(measured['measured']))})"
                    if isinstance(measured.get("measured"), (int, float)) else "")
                 + ", not by a run of yours" if measured["shipped"] else
                 f"Measured on this machine by your run `{measured['run']}`")
        st.info(whose + ": " + rv.epoch_estimate(items, measured["samples_per_s"])
                + ". Runs show their own speed as they go.", icon=":material/speed:")
    elif cfg.model.text_mode == "finetune":
        st.warning("Fine-tuning the Transformer on a CPU is slow (minutes per epoch). Time a few batches "
                   "on this machine before launching, or launch and watch the run measure itself.",
                   icon=":material/hourglass_top:")
    if cfg.model.text_mode == "finetune" and SOURCES[form.corpus[0]].built_in and not timed:
        if st.button("Time a few batches on this machine", key=f"{key}-time",
                     help=f"Loads the model and trains {TIMED_BATCHES} batches, after a first one of each task "
                          "(left out, as a run leaves it out of its own speed); about half a minute on 2 cores"):
            with st.spinner(f"Timing {TIMED_BATCHES} training batches…"):
                try:
                    result = time_batches(cfg)
                except InputError as exc:
                    error_line_ui(str(exc))
                    return
            st.session_state.setdefault(f"{key}-timed", {})[_speed_key(cfg)] = result
            st.rerun()


@st.cache_data(show_spinner="Counting the texts' tokens…", max_entries=16)
def _token_lengths(kind: str, path: str, text_model: str) -> np.ndarray | None:
    """Token lengths of a source's texts (None when it cannot be read yet: the launch says why)."""
    try:
        texts = cached_source(kind, path, "speaker").table["text"]
    except InputError:
        return None
    return token_lengths([t for t in texts if t], text_model)


def truncation_ui(form: LaunchForm) -> None:
    """Before launch: how many of the data's texts the max length cuts, and their token lengths."""
    cfg = form.config
    if cfg is None or not cfg.model.uses_text:
        return
    for kind, path in (form.corpus, form.external):
        if not kind or not (SOURCES[kind].built_in or path):
            continue
        lengths = _token_lengths(kind, path, cfg.model.text_model)
        if lengths is None or not len(lengths):
            continue
        note = f"{SOURCES[kind].title} " + truncation_note(lengths, cfg.model.max_length)
        if (lengths > cfg.model.max_length).any():
            st.warning(note, icon=":material/content_cut:")
        else:
            st.caption(note)


def _speed_key(cfg: RunConfig) -> str:
    return f"{cfg.model.modality}|{cfg.model.text_mode}|{cfg.model.text_model}|{cfg.model.finetune_layers}"


def _train_items(corpus_kind: str) -> int | None:
    """Items per epoch (the stress training split) of a built-in corpus; unknown for other sources until loaded."""
    if not SOURCES[corpus_kind].built_in:
        return None
    try:
        table = cached_source(corpus_kind, "", "speaker").table
    except InputError:
        return None
    return int(((table["split"] == "train") & table["stress"].notna()).sum())


def _with_sources(form: LaunchForm, corpus: str, external: str, seed: int) -> RunConfig:
    cfg = form.config
    return replace(cfg, data=replace(cfg.data, corpus=corpus, external=external),
                   train=replace(cfg.train, seed=seed))


def command_preview_ui(form: LaunchForm) -> None:
    """The equivalent command lines, so a run started here can be repeated in a terminal."""
    if not form.valid:
        st.caption("Fix the fields marked in red to see the command.")
        return
    lines, sources = [], {}
    for role, (kind, path) in (("corpus", form.corpus), ("external", form.external)):
        # A source by name; one on disk with its location (the run copies it into a table itself).
        sources[role] = kind if not kind or SOURCES[kind].built_in else f"{kind}:{path or 'PATH'}"
    for seed in form.seeds:
        name = (form.name or "NAME") + (f"-seed{seed}" if len(form.seeds) > 1 else "")
        lines.append(command_line(_with_sources(form, sources["corpus"], sources["external"], seed), f"runs/{name}"))
    st.code("\n".join(lines), language="bash")


def launch_ui(form: LaunchForm) -> list[str]:
    """Start one run per seed in the background; returns the new run folders (a problem: one red line)."""
    try:
        corpus = corpus_file(*form.corpus)
        external = corpus_file(*form.external, external=True) if form.external[0] else ""
        base = form.name or f"{form.config.strategy.name}-{form.config.model.modality}-{time.strftime('%Y%m%d-%H%M%S')}"
        started = []
        for seed in form.seeds:
            folder = run_path(base if len(form.seeds) == 1 else f"{base}-seed{seed}")
            started.append(str(process.launch_run(_with_sources(form, corpus, external, seed), folder)))
        return started
    except InputError as exc:
        error_line_ui(str(exc))
        return []

"""The Train page's launch form: it builds the same RunConfig the command line builds.

Every widget takes its default and help text from the setting in
:mod:`muser_core.config`, so the page and ``python -m muser_core.train`` agree.
A mistake (seeds, run name, strategy settings) is shown beside its field and
keeps the rest of the page; the Launch button waits until the form is valid.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace

import streamlit as st

from analysis import run_views as rv
from muser_core.base.errors import InputError
from muser_core.base.tasks import EXTERNAL_TASKS, INTERNAL_TASKS
from muser_core.config import (
    MODALITIES,
    PAPER_DEVIATIONS,
    PAPER_SETTINGS,
    SPLIT_METHODS,
    TEXT_MODES,
    RunConfig,
    StrategyConfig,
    paper_preset,
    setting_help,
)
from muser_core.sources import corpus_file
from muser_core.strategies import STRATEGIES, make_strategy
from muser_core.train import process
from muser_core.train.cli import command_line, parse_seeds
from muser_core.train.run_folder import run_path
from ui.runs import error_line_ui

DEFAULT = RunConfig()


@dataclass
class LaunchForm:
    """What the form holds: a checked config (corpus still a source), seeds, a name, and the mistakes."""

    config: RunConfig | None
    corpus: tuple[str, str]            # (kind, path): demo, muse, manifest
    external: tuple[str, str]          # (kind, path): "", demo, omg
    seeds: list[int]
    name: str
    errors: dict[str, str] = field(default_factory=dict)  # field -> one line

    @property
    def valid(self) -> bool:
        return self.config is not None and not self.errors


def _first_line(name: str) -> str:
    return f"{name}: {(STRATEGIES[name].__doc__ or '').strip().splitlines()[0]}"


def corpus_choice_ui(key: str) -> tuple[str, str]:
    """(kind, path) of the training corpus: demo, a MuSE copy, a study recorded in the app or a manifest/canonical CSV."""
    kinds = {"Demo corpus (synthetic)": "demo", "MuSE copy on this machine": "muse",
             "Study recorded in this app": "study", "Manifest or canonical CSV on this machine": "manifest"}
    kind = kinds[st.radio("Corpus", list(kinds), key=f"{key}-corpus", horizontal=True)]
    path = ""
    if kind == "muse":
        path = st.text_input("MuSE root folder", os.environ.get("MUSER_MUSE_ROOT", ""), key=f"{key}-muse")
    elif kind == "manifest":
        path = st.text_input("CSV path", key=f"{key}-manifest",
                             help="A manifest (text and/or audio_path, labels; audio paths relative to the "
                                  "CSV) or a table from `python -m muser_core.corpus`. A path, not an upload, "
                                  "because a manifest's audio files must be readable beside it.")
    elif kind == "study":
        from muser_core.study.store import list_studies, studies_dir

        study = st.selectbox("Study", list_studies(), key=f"{key}-study",
                             help="Studies recorded on the Record a corpus page (processed sentences only)")
        path = str(studies_dir() / study) if study else ""
        st.caption("Keep Split = table to use the study's own split: speaker-independent with 3 or more "
                   "participants, by whole sessions with fewer (every split then needs a session of each "
                   "condition: 3 of each in all).")
    return kind, path


def external_choice_ui(key: str) -> tuple[str, str]:
    """(kind, path) of the external emotion set: none, the demo external set or OMG-Emotion."""
    kinds = {"None": "", "Demo external set (synthetic, OMG-shaped)": "demo",
             "OMG-Emotion copy on this machine": "omg"}
    kind = kinds[st.radio("External auxiliary set", list(kinds), key=f"{key}-external", horizontal=True,
                          help="Emotion labels from another data set, as the tasks ext_activation and "
                               "ext_valence (paper 5.3.3, Table 9)")]
    path = ""
    if kind == "omg":
        path = st.text_input("OMG-Emotion root folder", os.environ.get("MUSER_OMG_ROOT", ""), key=f"{key}-omg")
    return kind, path


def _strategy_ui(key: str) -> StrategyConfig:
    s = DEFAULT.strategy
    strategy = st.selectbox("Strategy", list(STRATEGIES), index=list(STRATEGIES).index(s.name),
                            key=f"{key}-strategy", help="\n\n".join(_first_line(n) for n in STRATEGIES))
    st.caption(_first_line(strategy))
    history, rho, temperature, phases = s.history, s.rho, s.temperature, s.phases
    o1, o2, _ = st.columns(3)
    if strategy == "speed":
        history = int(o1.number_input("History n", 1, 100, s.history, key=f"{key}-history",
                                      help=setting_help("strategy", "history")))
        rho = float(o2.number_input("Rho", 0.001, 100.0, s.rho, format="%.3f", key=f"{key}-rho",
                                    help=setting_help("strategy", "rho")))
    elif strategy == "dwa":
        temperature = float(o2.number_input("Temperature", 0.001, 100.0, s.temperature, format="%.3f",
                                            key=f"{key}-temperature", help=setting_help("strategy", "temperature")))
    elif strategy == "pretrain":
        phases = o1.text_input("Phases", s.phases, key=f"{key}-phases", help=setting_help("strategy", "phases"))
    return StrategyConfig(name=strategy, phases=phases, history=history, rho=rho, temperature=temperature)


# The Paper settings switch sets these widgets (the other paper values are not widgets; they equal the defaults
# or come with the preset itself).
PAPER_WIDGETS = {"text-mode": ("model", "text_mode"), "split": ("data", "split"),
                 "max-epochs": ("train", "max_epochs")}


def _apply_paper(key: str) -> None:
    if st.session_state.get(f"{key}-paper"):
        for widget, setting in PAPER_WIDGETS.items():
            st.session_state[f"{key}-{widget}"] = PAPER_SETTINGS[setting]


def paper_switch_ui(key: str) -> bool:
    """The 'Paper settings' switch, and while it is on, what still differs from the paper."""
    paper = st.toggle("Paper settings (section 5.1)", key=f"{key}-paper", on_change=_apply_paper, args=(key,),
                      help="Fine-tuned encoder, max length 128, batch 32, clipping 1.0, the paper's learning "
                           "rates, the paper's split, rho 0.1: python -m muser_core.train --paper")
    if paper:
        st.caption("Still different from the paper with these settings:")
        st.table([{"what": w, "the paper": p, "here": o} for w, p, o in PAPER_DEVIATIONS])
    return paper


def train_form_ui(key: str = "train") -> LaunchForm:
    """The launch form; mistakes are shown beside their field and collected in ``errors``."""
    paper = paper_switch_ui(key)
    corpus = corpus_choice_ui(key)
    external = external_choice_ui(key)
    c1, c2, c3 = st.columns(3)
    modality = c1.selectbox("Modality", MODALITIES, index=MODALITIES.index(DEFAULT.model.modality),
                            key=f"{key}-modality", help=setting_help("model", "modality"))
    text_mode = c2.radio("Text encoder", TEXT_MODES, index=TEXT_MODES.index(DEFAULT.model.text_mode),
                         key=f"{key}-text-mode", horizontal=True, help=setting_help("model", "text_mode"))
    split = c3.selectbox("Split", SPLIT_METHODS, index=SPLIT_METHODS.index(DEFAULT.data.split), key=f"{key}-split",
                         help=setting_help("data", "split"))
    strategy = _strategy_ui(key)
    errors: dict[str, str] = {}
    try:
        default_tasks = make_strategy(strategy).default_tasks()
    except InputError as exc:
        errors["strategy"] = str(exc)
        error_line_ui(str(exc))
        default_tasks = ("stress",)
    available = list(INTERNAL_TASKS) + (list(EXTERNAL_TASKS) if external[0] else [])
    if external[0] and strategy.name in ("uniform", "dwa", "speed"):
        default_tasks = ("stress", *EXTERNAL_TASKS)
    tasks = st.multiselect("Tasks", available, default=[t for t in default_tasks if t in available],
                           key=f"{key}-tasks-{strategy.name}-{external[0] or 'none'}",
                           help="stress is the main task; the others are auxiliary")
    t1, t2, t3, t4 = st.columns(4)
    with t1:
        seeds_text = st.text_input("Seeds", "0", key=f"{key}-seeds", help="one run per seed: 0 or 0,1,2 or 0-4")
        seeds = _field_check(errors, "seeds", lambda: parse_seeds(seeds_text)) or []
    train = DEFAULT.train
    max_epochs = int(t2.number_input("Max epochs", 1, 100_000, train.max_epochs, key=f"{key}-max-epochs",
                                     help=setting_help("train", "max_epochs")))
    patience = int(t3.number_input("Patience", 1, 100_000, train.patience, key=f"{key}-patience",
                                   help=setting_help("train", "patience")))
    with t4:
        name = st.text_input("Run name (optional)", key=f"{key}-name",
                             help="a folder name inside the runs folder: letters, digits, - and _").strip()
        if name:
            _field_check(errors, "name", lambda: run_path(name))
    base = paper_preset() if paper else RunConfig()
    config = replace(
        base, strategy=strategy,
        data=replace(base.data, corpus="demo", external="demo" if external[0] else "", tasks=list(tasks), split=split),
        model=replace(base.model, modality=modality, text_mode=text_mode),
        train=replace(base.train, max_epochs=max_epochs, patience=patience))
    if "strategy" not in errors:
        config = _field_check(errors, "settings", lambda: config.resolved() and config)
    return LaunchForm(config, corpus, external, seeds, name, errors)


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
    measured = rv.measured_speed(cfg)
    timed = st.session_state.get(f"{key}-timed", {}).get(_speed_key(cfg))
    items = _train_items(form.corpus[0])
    if timed:
        st.info(f"Measured now on this machine ({timed['batches']} timed batches, {timed['threads']} threads): "
                + rv.epoch_estimate(timed["epoch_items"], timed["samples_per_s"]) + ".",
                icon=":material/speed:")
    elif measured and items:
        st.info(f"Measured on this machine by run `{measured['run']}`: "
                + rv.epoch_estimate(items, measured["samples_per_s"]) + ". Runs show their own speed as they go.",
                icon=":material/speed:")
    elif cfg.model.text_mode == "finetune":
        st.warning("Fine-tuning the Transformer on a CPU is slow (minutes per epoch). Time a few batches "
                   "on this machine before launching, or launch and watch the run measure itself.",
                   icon=":material/hourglass_top:")
    if cfg.model.text_mode == "finetune" and form.corpus[0] == "demo" and not timed:
        if st.button("Time a few batches on this machine", key=f"{key}-time",
                     help="Loads the model and trains 3 batches (plus one warm-up); about half a minute on 2 cores"):
            from muser_core.train.run import time_batches

            with st.spinner("Timing 3 training batches…"):
                try:
                    result = time_batches(cfg)
                except InputError as exc:
                    error_line_ui(str(exc))
                    return
            st.session_state.setdefault(f"{key}-timed", {})[_speed_key(cfg)] = result
            st.rerun()


def _speed_key(cfg: RunConfig) -> str:
    return f"{cfg.model.modality}|{cfg.model.text_mode}|{cfg.model.text_model}"


def _train_items(corpus_kind: str) -> int | None:
    """Items per epoch (the stress training split) of the demo corpus; unknown for other sources until loaded."""
    if corpus_kind != "demo":
        return None
    from ui.common import cached_demo

    try:
        table = cached_demo("speaker").table
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
    for role, flag, (kind, path) in (("corpus", "--muse", form.corpus), ("external", "--omg", form.external)):
        if kind in ("", "demo"):
            sources[role] = kind
            continue
        flag = {"manifest": "--manifest", "study": "--study"}.get(kind, flag)
        lines.append(f"python -m muser_core.corpus {flag} {path or 'PATH'} --out {role}.csv")
        sources[role] = f"{role}.csv"
    for seed in form.seeds:
        name = (form.name or "NAME") + (f"-seed{seed}" if len(form.seeds) > 1 else "")
        lines.append(command_line(_with_sources(form, sources["corpus"], sources["external"], seed), f"runs/{name}"))
    st.code("\n".join(lines), language="bash")


def launch_ui(form: LaunchForm) -> list[str]:
    """Start one run per seed in the background; returns the new run folders (a problem: one red line)."""
    try:
        corpus = corpus_file(*form.corpus)
        external = corpus_file(*form.external) if form.external[0] else ""
        base = form.name or f"{form.config.strategy.name}-{form.config.model.modality}-{time.strftime('%Y%m%d-%H%M%S')}"
        started = []
        for seed in form.seeds:
            folder = run_path(base if len(form.seeds) == 1 else f"{base}-seed{seed}")
            started.append(str(process.launch_run(_with_sources(form, corpus, external, seed), folder)))
        return started
    except InputError as exc:
        error_line_ui(str(exc))
        return []

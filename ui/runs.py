"""Streamlit parts the Train, Sampling dynamics and Results pages share: pickers, live views, forms.

Training never runs here: :mod:`analysis.training_views` starts the engine in
its own process and these helpers only read the run folders it writes. Live
views are ``st.fragment``s with ``run_every`` while something runs; when the
run ends the fragment asks for one full rerun, which draws it without a timer,
so a finished page stops polling.
"""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path

import pandas as pd
import streamlit as st

from analysis import paper_results
from analysis import training_views as tv
from muser_core import runs
from muser_core.config import EXTERNAL_TASKS, INTERNAL_TASKS, MODALITIES, TEXT_MODES, StrategyConfig
from muser_core.errors import InputError
from muser_core.strategies import STRATEGIES, make_strategy
from ui.common import show_input_errors

POLL_S = 1.5                # how often a live view rereads the run folder
FOLDER = "Another run folder…"
SYNTHETIC = ("Trained on the **synthetic demo corpus**: the curves show what the sampler does, "
             "not how well stress can be detected in real speech.")


# --------------------------------------------------------------------------- picking runs


def _labels(table: pd.DataFrame) -> dict[str, str]:
    """path -> what a picker shows. Options are paths, so a pick survives a run changing state."""
    return dict(zip(table["path"], table["label"], strict=True))


def run_picker_ui(key: str, default_path: str | None = None) -> str | None:
    """One run: a selectbox over the runs folder and the shipped demos, or a folder path typed in.

    A caller that wants to switch the picker (after a launch) sets
    ``st.session_state[key]`` to the run's path before calling this.
    """
    labels = _labels(tv.list_all_runs())
    options = [*labels, FOLDER]
    if st.session_state.get(key) not in options:
        st.session_state.pop(key, None)  # a run that is gone, or a picker never drawn
    # A pick in session state wins; passing a default as well would draw Streamlit's warning.
    index = options.index(default_path) if default_path in options and key not in st.session_state else 0
    choice = st.selectbox("Run", options, index=index, key=key, format_func=lambda p: labels.get(p, p),
                          help="Your runs (newest first), then the shipped demo runs")
    if choice == FOLDER:
        path = st.text_input("Run folder", key=f"{key}-path",
                             help="Any run folder, e.g. one made with `python -m muser_core.train` "
                                  "or copied from another machine")
        return path or None
    return choice


def runs_multi_picker_ui(key: str, default_paths: list[str]) -> list[str]:
    """Several runs to compare, and optionally one more folder by path."""
    labels = _labels(tv.list_all_runs())
    default = [p for p in default_paths if p in labels]
    if key in st.session_state:  # keep only picks that still exist; no default beside session state
        st.session_state[key] = [p for p in st.session_state[key] if p in labels]
        default = None
    chosen = st.multiselect("Runs", list(labels), default=default, key=key,
                            format_func=lambda p: labels.get(p, p),
                            help="Compare strategies side by side on the same axes")
    extra = st.text_input("Add a run folder by path (optional)", key=f"{key}-path")
    return list(chosen) + ([extra] if extra else [])


def read_run_ui(path: str) -> tv.RunView | None:
    """The run, or one red line saying why the folder can't be read."""
    try:
        return tv.read_run(path)
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
        return None


def problems_ui(view: tv.RunView) -> None:
    """Half-written files, other versions, a crash: said plainly above the curves."""
    if view.state in ("failed", "killed"):
        last = view.last_epoch
        best = view.status.get("best_epoch")
        what = view.error or "the process ended without writing why (killed?)"
        st.error(f"**{view.name} {view.state}:** {what}. Last good epoch: "
                 f"{last if last is not None else 'none'}"
                 + (f"; best checkpoint from epoch {best} is kept." if best is not None else "."), icon=":material/error:")
    for problem in view.problems:
        st.warning(problem, icon=":material/warning:")
    if view.status.get("host") and view.active and view.status.get("host") != _host():
        st.info(f"This run is going on another machine ({view.status['host']}); its folder is read as it is.")


def _host() -> str:
    import socket

    return socket.gethostname()


# --------------------------------------------------------------------------- one run, live


def run_charts_ui(view: tv.RunView, key: str) -> None:
    """Validation curves and task probabilities of one run."""
    if not view.records:
        st.info("No epoch recorded yet: the run is loading its data and the text encoder.")
        return
    left, right = st.columns(2)
    with left:
        st.markdown("**Validation** (epoch 0 is before training)")
        st.plotly_chart(tv.validation_figure(tv.validation_frame(view.records), tv.curve_panels(view.tasks),
                                             height=280), key=f"{key}-val", width="stretch")
    with right:
        st.markdown("**Task probabilities** (the sampler's choice for each epoch)")
        probs = tv.probabilities_frame(view.records)
        if len(probs):
            st.plotly_chart(tv.probability_figure(probs, height=280), key=f"{key}-prob", width="stretch")
        else:
            st.caption("No epoch trained yet.")


def run_summary_ui(view: tv.RunView, key: str) -> None:
    """State, progress bar, curves, test metrics: everything about one run at this moment."""
    st.markdown(f"#### `{view.name}` — {view.state}"
                + ("  ·  shipped demo run (read-only)" if view.shipped else ""))
    problems_ui(view)
    if view.config is not None and view.config.data.corpus == "demo":
        st.caption(SYNTHETIC)
    prog = tv.progress(view)
    cols = st.columns(4)
    cols[0].metric("Epoch", prog.epoch)
    best = view.status.get("best_epoch")
    cols[1].metric("Best epoch", "-" if best is None else best)
    last_val = (view.records[-1].get("val") or {}).get("stress", {}) if view.records else {}
    acc = last_val.get("accuracy")
    cols[2].metric("Val. stress accuracy", "-" if acc is None else f"{acc:.3f}")
    cols[3].metric("Strategy", view.strategy_label())
    st.progress(min(1.0, prog.fraction), text=prog.text())
    run_charts_ui(view, key)
    if view.test:
        st.markdown(f"**Test metrics** of the best checkpoint (epoch {view.test.get('best_epoch')})")
        st.dataframe(tv.metrics_summary(view), hide_index=True, width="stretch")


def watch_run_ui(path: str, key: str) -> None:
    """A run's live view: polls its folder every POLL_S s while it runs, with a stop button."""
    view = read_run_ui(path)
    if view is None:
        return

    @st.fragment(run_every=POLL_S if view.active else None)
    def live() -> None:
        now = read_run_ui(path)
        if now is None:
            return
        run_summary_ui(now, key)
        if now.active and not now.shipped:
            if st.button("Stop this run", key=f"{key}-stop", type="secondary",
                         help="Ends after the current epoch; the best checkpoint is kept"):
                if tv.stop_run(now.path):
                    st.toast(f"Asked {now.name} to stop after this epoch.")
                else:
                    st.warning("This run is not running on this machine; nothing to stop.")
        elif view.active:
            st.rerun()  # it just ended: one full rerun draws it without the timer
        elif now.state in ("stopped", "failed", "killed") and not now.shipped and now.config is not None:
            if st.button("Resume this run", key=f"{key}-resume",
                         help="Continues from the last saved state (python -m muser_core.train --resume)"):
                with show_input_errors():
                    tv.resume_training(now.path)
                st.rerun()

    live()
    details_ui(view)


def details_ui(view: tv.RunView) -> None:
    """Config, environment, data and the log, folded away."""
    with st.expander("Settings, environment and log"):
        if view.config is not None:
            st.code(tv.command_line(view.config, str(view.path)), language="bash")
            st.json(view.config.to_dict(), expanded=False)
        if view.data:
            st.markdown("**Data**")
            st.json(view.data, expanded=False)
        if view.env:
            st.markdown("**Environment**")
            st.json(view.env, expanded=False)
        if view.log:
            st.markdown("**Last lines of the log**")
            st.code("\n".join(view.log))
        st.caption(f"Folder: `{view.path}`")


def active_runs_ui() -> None:
    """A small table of the runs going now (several can run at once); refreshes while any runs."""
    def going() -> pd.DataFrame:
        table = tv.list_all_runs()
        return table[table["state"].isin(tv.ACTIVE)] if len(table) else table

    any_active = len(going()) > 0

    @st.fragment(run_every=POLL_S * 2 if any_active else None)
    def live() -> None:
        active = going()
        if len(active):
            st.dataframe(active[["name", "state", "epoch", "best_epoch", "strategy", "seed"]],
                         hide_index=True, width="stretch")
        else:
            st.caption("No run is going now.")

    live()


# --------------------------------------------------------------------------- launching


def _strategy_defaults(name: str) -> dict:
    return {f.name: f.default for f in fields(STRATEGIES[name])}


def _first_line(name: str) -> str:
    return f"{name}: {(STRATEGIES[name].__doc__ or '').strip().splitlines()[0]}"


def corpus_choice_ui(key: str) -> tuple[str, str]:
    """(kind, path) of the training corpus: demo, a MuSE copy or a manifest/canonical CSV."""
    kinds = {"Demo corpus (synthetic)": "demo", "MuSE copy on this machine": "muse",
             "Manifest or canonical CSV on this machine": "manifest"}
    kind = kinds[st.radio("Corpus", list(kinds), key=f"{key}-corpus", horizontal=True)]
    path = ""
    if kind == "muse":
        path = st.text_input("MuSE root folder", os.environ.get("MUSER_MUSE_ROOT", ""), key=f"{key}-muse")
    elif kind == "manifest":
        path = st.text_input("CSV path", key=f"{key}-manifest",
                             help="A manifest (text and/or audio_path, labels; audio paths relative to the "
                                  "CSV) or a table from `python -m muser_core.corpus`. A path, not an upload, "
                                  "because a manifest's audio files must be readable beside it.")
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


def train_options_ui(key: str = "train") -> dict:
    """The launch form; returns plain values (TrainChoices fields plus sources, seeds and name)."""
    corpus_kind, corpus_path = corpus_choice_ui(key)
    external_kind, external_path = external_choice_ui(key)
    c1, c2, c3 = st.columns(3)
    modality = c1.selectbox("Modality", MODALITIES, index=MODALITIES.index("both"), key=f"{key}-modality")
    strategy = c2.selectbox("Strategy", list(STRATEGIES), index=list(STRATEGIES).index("speed"),
                            key=f"{key}-strategy", format_func=lambda n: n,
                            help="\n\n".join(_first_line(n) for n in STRATEGIES))
    text_mode = c3.radio("Text encoder", TEXT_MODES, key=f"{key}-text-mode", horizontal=True,
                         help="frozen: sentence embeddings computed once and cached (fast on CPU); "
                              "finetune: the Transformer is trained too (the paper's setting)")
    st.caption(_first_line(strategy))
    defaults = _strategy_defaults(strategy)
    history, temperature, phases = 5, None, ""
    o1, o2, o3 = st.columns(3)
    if strategy == "speed":
        history = int(o1.number_input("History n", 1, 100, int(defaults["history"]), key=f"{key}-history",
                                      help="Epochs of validation history in eq. 1 (paper: 1, 5 or 10)"))
    if "temperature" in defaults:
        temperature = float(o2.number_input("Temperature", 0.001, 100.0, float(defaults["temperature"]),
                                            format="%.3f", key=f"{key}-temperature-{strategy}",
                                            help="speed: rho of eq. 1 (paper 0.1); dwa: T (2)"))
    if strategy == "pretrain":
        phases = o1.text_input("Phases", defaults["phases"], key=f"{key}-phases",
                               help="task:epochs,...,stress, e.g. valence:100,activation:100,stress")
    try:
        default_tasks = make_strategy(StrategyConfig(name=strategy, phases=phases)).default_tasks()
    except InputError:
        default_tasks = ("stress",)
    available = list(INTERNAL_TASKS) + (list(EXTERNAL_TASKS) if external_kind else [])
    if external_kind and strategy in ("uniform", "dwa", "speed"):
        default_tasks = ("stress", *EXTERNAL_TASKS)
    tasks = st.multiselect("Tasks", available, default=[t for t in default_tasks if t in available],
                           key=f"{key}-tasks-{strategy}-{external_kind or 'none'}",
                           help="stress is the main task; the others are auxiliary")
    t1, t2, t3, t4 = st.columns(4)
    seeds = t1.text_input("Seeds", "0", key=f"{key}-seeds", help="one run per seed: 0 or 0,1,2 or 0-4")
    max_epochs = int(t2.number_input("Max epochs", 1, 5000, 1000, key=f"{key}-max-epochs"))
    patience = int(t3.number_input("Patience", 1, 1000, 30, key=f"{key}-patience",
                                   help="epochs without a better validation stress accuracy before stopping"))
    name = t4.text_input("Run name (optional)", key=f"{key}-name",
                         help="a folder name inside the runs folder; letters, digits, - and _")
    if text_mode == "finetune":
        st.warning("Fine-tuning on CPU is slow: " + tv.finetune_estimate(_train_items(corpus_kind)), icon=":material/hourglass_top:")
    return {"corpus_kind": corpus_kind, "corpus_path": corpus_path, "external_kind": external_kind,
            "external_path": external_path, "modality": modality, "strategy": strategy, "tasks": tuple(tasks),
            "history": history, "temperature": temperature, "phases": phases, "text_mode": text_mode,
            "seeds": seeds, "max_epochs": max_epochs, "patience": patience, "name": name.strip()}


def _train_items(corpus_kind: str) -> int:
    """Training sentences of the chosen corpus (demo: counted; otherwise the paper's 1,853 for MuSE)."""
    if corpus_kind == "demo":
        from ui.common import cached_demo

        try:
            table = cached_demo("speaker").table
            return int(((table["split"] == "train") & table["stress"].notna()).sum())
        except InputError:
            pass
    return 1853


def choices_from(options: dict, seed: int) -> tv.TrainChoices:
    """TrainChoices from the form's values (the corpus sources are converted at launch)."""
    keep = {f.name for f in fields(tv.TrainChoices)} - {"corpus", "external", "seed"}
    return tv.TrainChoices(seed=seed, **{k: v for k, v in options.items() if k in keep})


def command_preview_ui(options: dict) -> None:
    """The equivalent command lines, so a run started here can be repeated in a terminal."""
    lines, sources = [], {}
    for role, flag, kind, path in (("corpus", "--muse", options["corpus_kind"], options["corpus_path"]),
                                   ("external", "--omg", options["external_kind"], options["external_path"])):
        if kind in ("", "demo"):
            sources[role] = kind
            continue
        csv = f"{role}.csv"
        flag = "--manifest" if kind == "manifest" else flag
        lines.append(f"python -m muser_core.corpus {flag} {path or 'PATH'} --out {csv}")
        sources[role] = csv
    with show_input_errors():
        seeds = tv.parse_seeds(options["seeds"])
        for seed in seeds:
            choices = tv.TrainChoices(**{**choices_from(options, seed).__dict__, **sources})
            name = (options["name"] or "NAME") + (f"-seed{seed}" if len(seeds) > 1 else "")
            lines.append(tv.command_line(tv.build_config(choices), f"runs/{name}"))
    st.code("\n".join(lines), language="bash")


def launch_ui(options: dict) -> list[str]:
    """Start one run per seed; returns the new run folders (errors shown as one line)."""
    with show_input_errors():
        seeds = tv.parse_seeds(options["seeds"])
        corpus = tv.corpus_file(options["corpus_kind"], options["corpus_path"])
        external = tv.corpus_file(options["external_kind"], options["external_path"]) \
            if options["external_kind"] else ""
        base = options["name"] or tv.default_run_name(choices_from(options, seeds[0]))
        started = []
        for seed in seeds:
            choices = tv.TrainChoices(**{**choices_from(options, seed).__dict__,
                                         "corpus": corpus, "external": external})
            name = base if len(seeds) == 1 else f"{base}-seed{seed}"
            started.append(str(tv.launch_training(tv.build_config(choices), name)))
        return started
    return []


# --------------------------------------------------------------------------- sampling dynamics


def dynamics_ui(paths: list[str], stacked: bool, key: str = "dyn") -> None:
    """Figure 2 made live for the chosen runs; polls while any of them runs."""
    views = [v for v in (read_run_ui(p) for p in paths) if v is not None]
    if not views:
        return

    @st.fragment(run_every=POLL_S if any(v.active for v in views) else None)
    def live() -> None:
        now = [v for v in (read_run_ui(p) for p in paths) if v is not None]
        _dynamics(now, stacked, key)
        if any(v.active for v in views) and not any(v.active for v in now):
            st.rerun()

    live()


def _dynamics(views: list[tv.RunView], stacked: bool, key: str) -> None:
    status = pd.DataFrame([{"run": v.name, "state": v.state, "strategy": v.strategy_label(),
                            "tasks": ",".join(v.tasks), "epochs": v.last_epoch,
                            "best epoch": v.status.get("best_epoch"),
                            "test stress accuracy": ((v.test or {}).get("metrics") or {}).get("stress", {})
                            .get("accuracy")} for v in views])
    st.dataframe(status, hide_index=True, width="stretch")
    for v in views:
        for problem in v.problems:
            st.warning(f"{v.name}: {problem}", icon=":material/warning:")
        if v.state in ("failed", "killed"):
            st.error(f"{v.name} {v.state}: {v.error or 'no error recorded'} (last epoch {v.last_epoch})",
                     icon=":material/error:")
    if any(v.config is not None and v.config.data.corpus == "demo" for v in views):
        st.caption(SYNTHETIC)
    probs = tv.combine(views, lambda v: tv.probabilities_frame(v.records))
    if probs.empty:
        st.info("None of these runs has trained an epoch yet.")
        return
    st.subheader("Task probabilities per epoch")
    st.plotly_chart(tv.probability_figure(probs, stacked=stacked), key=f"{key}-prob", width="stretch")
    st.subheader("Batches per task")
    st.plotly_chart(tv.batches_figure(tv.combine(views, lambda v: tv.batches_frame(v.records, v.tasks))),
                    key=f"{key}-batches", width="stretch")
    st.subheader("Validation curves")
    tasks = list(dict.fromkeys(t for v in views for t in v.tasks))
    st.plotly_chart(tv.validation_figure(tv.combine(views, lambda v: tv.validation_frame(v.records)),
                                         tv.curve_panels(tasks)), key=f"{key}-val", width="stretch")
    speed_ratios_ui(views, key)


def speed_ratios_ui(views: list[tv.RunView], key: str) -> None:
    """Eq. 1 step by step for the speed runs: the ratios r, and one epoch's computation in a table."""
    ratios = tv.combine([v for v in views if v.config and v.config.strategy.name == "speed"], tv.speed_ratios)
    st.subheader("Why the speed sampler moved (equation 1)")
    if ratios.empty:
        st.caption("No speed-strategy run with more epochs than its history is selected.")
        return
    st.markdown("After epoch *t*: stress **r = accuracy[t] / mean(accuracy[t−n..t−1])**, an emotion task "
                "**r = mean(RMSE[t−n..t−1]) / RMSE[t]**; epoch *t+1* samples with **p = softmax(r / ρ)**. "
                "r > 1 means the task is learning faster than over its recent history.")
    st.plotly_chart(tv.ratio_figure(ratios), key=f"{key}-ratios", width="stretch")
    runs_ = list(dict.fromkeys(ratios["run"]))
    c1, c2 = st.columns([1, 2])
    run = c1.selectbox("Run", runs_, key=f"{key}-ratio-run") if len(runs_) > 1 else runs_[0]
    mine = ratios[ratios["run"] == run]
    epochs = sorted(mine["epoch"].unique())
    epoch = c2.select_slider("Epoch whose probabilities to explain", epochs, value=epochs[-1],
                             key=f"{key}-ratio-epoch-{run}") if len(epochs) > 1 else epochs[0]
    step = mine[mine["epoch"] == epoch].drop(columns=["run", "epoch"])
    st.dataframe(step, hide_index=True, width="stretch")
    gap = float((mine["probability"] - mine["recorded"]).abs().max())
    st.caption(f"`probability` is eq. 1 recomputed here from the validation history; `recorded` is what "
               f"the run used (largest difference over the run: {gap:.1e}).")


# --------------------------------------------------------------------------- results


def sweep_picker_ui(key: str, default_path: str | None = None) -> str | None:
    table = tv.list_sweeps()
    if table.empty:
        st.info("No sweep yet: launch one below.")
        return None
    labels = _labels(table)
    if st.session_state.get(key) not in labels:
        st.session_state.pop(key, None)
    options = list(labels)
    index = options.index(default_path) if default_path in options and key not in st.session_state else 0
    return st.selectbox("Sweep", options, index=index, key=key, format_func=lambda p: labels.get(p, p))


def results_ui(folder: str, key: str = "res") -> None:
    """The sweep's table in the paper's layout beside the paper's own numbers; polls while it runs."""
    running = tv.sweep_state(folder)["state"] == "running"

    @st.fragment(run_every=POLL_S * 2 if running else None)
    def live() -> None:
        state = tv.sweep_state(folder)
        _results(folder, state, key)
        if running and state["state"] != "running":
            st.rerun()

    live()


def _results(folder: str, state: dict, key: str) -> None:
    total = state["total"]
    text = f"{state['done']} of {total if total else '?'} runs done, {state['running']} running · {state['state']}"
    st.progress(min(1.0, state["done"] / total) if total else (1.0 if state["state"] == "finished" else 0.0),
                text=text)
    if state["state"] == "running" and st.button("Stop the sweep", key=f"{key}-stop",
                                                  help="Each run stops after its epoch; launch again to continue"):
        tv.stop_sweep(folder)
    if state["error"]:
        st.error(f"The sweep failed: {state['error']}", icon=":material/error:")
    per_run = tv.sweep_runs(folder)
    if per_run.empty:
        st.info("No run of this sweep has started yet.")
        return
    labels = list(dict.fromkeys(per_run["label"]))
    table_id = tv.sweep_table_id(folder, per_run)
    from muser_core.sweep import PAPER_REFERENCES

    default_ref = PAPER_REFERENCES.get(table_id or "", labels[0])
    reference = st.selectbox("Reference for the p-values", labels,
                             index=labels.index(default_ref) if default_ref in labels else 0,
                             key=f"{key}-ref-{Path(folder).name}")
    summary = tv.summary_table(per_run, reference)
    # Stacked, not side by side: seven columns of 'mean ± sd' need the full width.
    st.markdown(f"**This app: `{Path(folder).name}`**" + (f" (the rows of the paper's Table {table_id})"
                                                         if table_id else ""))
    st.dataframe(tv.results_display(summary, reference), hide_index=True, width="stretch")
    seeds = sorted(per_run.loc[per_run["state"] == "finished", "seed"].unique())
    st.caption(f"Test-split stress detection, mean ± sample sd over seeds {', '.join(map(str, seeds)) or '-'}; "
               "precision, recall and F-score of the stressed class; ★ best mean per column; "
               f"p: paired t-test against **{reference}** over the same seeds.")
    cfg = runs.read_json(Path(per_run["run"].iloc[0]) / runs.CONFIG) or {}
    if cfg.get("data", {}).get("corpus") == "demo":
        st.caption(SYNTHETIC)
    if table_id:
        st.markdown(f"**The paper's numbers** — {paper_results.TITLES[table_id]}")
        st.dataframe(tv.paper_display(table_id), hide_index=True, width="stretch")
        st.caption(f"{paper_results.SOURCE}. Single values as printed in the paper; ★ best per column.")
    else:
        st.caption("These variants are not one of the paper's tables, so no paper numbers are shown.")
    with st.expander("Every run of the sweep"):
        st.dataframe(per_run, hide_index=True, width="stretch")


def sweep_form_ui(key: str = "sweep") -> dict:
    """The sweep launcher's choices as plain values."""
    c1, c2, c3 = st.columns(3)
    table = c1.selectbox("Paper table", paper_results.TABLE_IDS, index=paper_results.TABLE_IDS.index("8"),
                         format_func=lambda t: paper_results.TITLES[t], key=f"{key}-table")
    seeds = c2.text_input("Seeds", "0,1,2", key=f"{key}-seeds")
    workers = int(c3.number_input("Parallel runs", 1, max(1, os.cpu_count() or 1), 1, key=f"{key}-workers",
                                  help="training processes at once; each uses one core in frozen mode"))
    d1, d2, d3 = st.columns(3)
    max_epochs = int(d1.number_input("Max epochs", 1, 5000, 1000, key=f"{key}-max-epochs"))
    patience = int(d2.number_input("Patience", 1, 1000, 30, key=f"{key}-patience"))
    name = d3.text_input("Sweep name", f"table{table}-demo", key=f"{key}-name-{table}")
    st.caption("Every run uses the synthetic demo corpus in frozen text mode (the fast CPU setting); "
               "the same sweep on MuSE is `python -m muser_core.sweep --table N --corpus PATH`.")
    return {"table": table, "seeds": seeds, "workers": workers, "max_epochs": max_epochs,
            "patience": patience, "name": name.strip()}


def launch_sweep_ui(options: dict) -> str | None:
    with show_input_errors():
        seeds = tv.parse_seeds(options["seeds"])
        flags = ["--corpus", "demo", "--text-mode", "frozen", "--max-epochs", str(options["max_epochs"]),
                 "--patience", str(options["patience"])]
        return str(tv.launch_sweep(options["name"], options["table"], seeds, flags, options["workers"]))
    return None

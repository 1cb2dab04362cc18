"""Streamlit views of training runs (Train and Sampling dynamics pages): pickers, a run live, several runs.

Training never runs here: :mod:`muser_core.train.process` starts it in its own
process and these helpers read the run folders it writes. Live views are
``st.fragment``s with ``run_every`` while something runs; when the run ends
the fragment asks for one full rerun, which draws it without a timer, so a
finished page stops polling.
"""

from __future__ import annotations

import socket

import pandas as pd
import streamlit as st

from analysis import run_views as rv
from analysis import training_figures as figs
from muser_core.base.errors import InputError
from muser_core.train import process
from muser_core.train.cli import command_line

POLL_S = 1.5                # how often a live view rereads the run folder
MAX_SHOWN = 12              # runs drawn side by side before the page asks (four rows of three panels)
FOLDER = "Another run folder…"
SYNTHETIC = ("Stress was learnt from the **synthetic demo corpus**: the curves show what the sampler does, "
             "not how well stress can be detected in real speech.")


def error_line_ui(message: str) -> None:
    """One red line that does not stop the page (the rest of the page stays usable)."""
    st.error(message, icon=":material/error:")


# --------------------------------------------------------------------------- picking runs


def picker_labels(table: pd.DataFrame) -> dict[str, str]:
    """path -> what a picker shows. Options are paths, so a pick survives a run changing state."""
    return dict(zip(table["path"], table["label"], strict=True)) if len(table) else {}


def run_picker_ui(key: str, default_path: str | None = None) -> str | None:
    """One run: a selectbox over the runs folder and the shipped demos, or a folder path typed in.

    A caller that wants to switch the picker (after a launch) sets
    ``st.session_state[key]`` to the run's path before calling this.
    """
    labels = picker_labels(rv.run_table())
    options = [*labels, FOLDER]
    if st.session_state.get(key) not in options:
        st.session_state.pop(key, None)  # a run that is gone, or a picker never drawn
    # A pick in session state wins; passing a default as well would draw Streamlit's warning.
    index = options.index(default_path) if default_path in options and key not in st.session_state else 0
    choice = st.selectbox("Run", options, index=index, key=key, format_func=lambda p: labels.get(p, p),
                          help="Your runs (newest first), then the shipped demo runs")
    if choice == FOLDER:
        path = st.text_input("Run folder", key=f"{key}-path",
                             help="Any run folder, e.g. one made with `muser train` "
                                  "or copied from another machine")
        return path or None
    return choice


def runs_multi_picker_ui(key: str, default_paths: list[str]) -> list[str]:
    """Several runs to compare, and optionally one more folder by path."""
    labels = picker_labels(rv.run_table())
    default = [p for p in default_paths if p in labels]
    if key in st.session_state:  # keep only picks that still exist; no default beside session state
        st.session_state[key] = [p for p in st.session_state[key] if p in labels]
        default = None
    chosen = st.multiselect("Runs", list(labels), default=default, key=key,
                            format_func=lambda p: labels.get(p, p),
                            help="Compare strategies side by side on the same axes")
    extra = st.text_input("Add a run folder by path (optional)", key=f"{key}-path")
    return list(chosen) + ([extra] if extra else [])


def read_run_quietly(path: str) -> tuple[rv.RunView | None, str | None]:
    """The run, or None and the one line that says why the folder can't be read."""
    try:
        return rv.read_run(path), None
    except InputError as exc:
        return None, str(exc)


def problems_ui(view: rv.RunView) -> None:
    """Half-written files, other versions, a crash: said plainly above the curves."""
    if view.state in ("failed", "killed"):
        last, best = view.last_epoch, view.best_epoch
        what = view.error or "the process ended without writing why (killed?)"
        st.error(f"**{view.name} {view.state}:** {what}. Last good epoch: "
                 f"{last if last is not None else 'none'}"
                 + (f"; best checkpoint from epoch {best} is kept." if best is not None else "."),
                 icon=":material/error:")
    for problem in view.problems:
        st.warning(problem, icon=":material/warning:")
    if view.status.get("host") and view.active and view.status.get("host") != socket.gethostname():
        st.info(f"This run is going on another machine ({view.status['host']}); its folder is read as it is.")


# --------------------------------------------------------------------------- one run, live


def run_charts_ui(view: rv.RunView, key: str) -> None:
    """Validation curves and task probabilities of one run."""
    if not view.records:
        if view.active:
            st.info("No evaluation recorded yet: the run is loading its data and the text encoder, "
                    "or evaluating before training.")
        else:   # a failed run is not loading anything (its error is said above)
            st.info(f"No evaluation recorded: the run {view.state} before its first evaluation.")
        return
    left, right = st.columns(2)
    with left:
        st.markdown("**Validation** (epoch 0 is before training)")
        st.plotly_chart(figs.validation_figure(rv.validation_frame(view.records), rv.curve_panels(view.tasks)),
                        key=f"{key}-val", width="stretch")
    with right:
        st.markdown("**Task probabilities** (the sampler's choice for each epoch)")
        probs = rv.probabilities_frame(view.records)
        if len(probs):
            st.plotly_chart(figs.probability_figure(probs), key=f"{key}-prob", width="stretch")
        else:
            st.caption("No epoch trained yet.")


def run_summary_ui(view: rv.RunView, key: str) -> None:
    """State, progress, curves, test metrics: everything about one run at this moment."""
    st.markdown(f"#### `{view.name}` — {view.state}"
                + ("  ·  shipped demo run (read-only)" if view.shipped else ""))
    problems_ui(view)
    if rv.data_line(view):
        st.caption(rv.data_line(view))
    if view.synthetic:
        st.caption(SYNTHETIC)
    prog = rv.progress(view)
    cols = st.columns(4)
    cols[0].metric("Epoch", prog.epochs_done, help="finished epochs; 0 is the evaluation before training")
    best = view.best_epoch
    cols[1].metric("Best epoch", "-" if best is None else best)
    best_val = ((view.best_record or {}).get("val") or {}).get("stress", {})
    acc = rv.as_float(best_val.get("accuracy")) if isinstance(best_val, dict) else float("nan")
    cols[2].metric("Val. stress accuracy (best epoch)", "-" if acc != acc else f"{acc:.3f}",
                   help="validation stress accuracy of the best epoch, the one the checkpoint holds")
    cols[3].metric("Strategy", view.strategy_label())
    st.progress(min(1.0, prog.fraction), text=prog.text())
    run_charts_ui(view, key)
    if view.test:
        per_task = view.test.get("select") == "per-task"
        st.markdown(f"**Test metrics** of the best checkpoint (epoch {view.test.get('best_epoch')}"
                    + ("; each task from its own best epoch, in its epoch column)" if per_task else ")"))
        for table in rv.metrics_summary(view):
            st.dataframe(table, hide_index=True, width="stretch")


STOPPING = ("Stopping: the run ends after its current batch (a fine-tuning batch is dropped at once, to be "
            "trained again on resume) and saves its state (resume continues it "
            "exactly).")


def stop_ui(view: rv.RunView, key: str) -> None:
    """The Stop button of a running run; after a click, 'stopping' at once (the next poll shows the rest)."""
    if view.state == "stopping":
        st.info(STOPPING, icon=":material/hourglass_top:")
        return
    if st.button("Stop this run", key=f"{key}-stop", type="secondary",
                 help="Ends after the current batch (fine-tuning: drops it at once, a resume trains it again); "
                      "the best checkpoint and the resume state are kept"):
        if process.stop(view.path):
            st.info(STOPPING, icon=":material/hourglass_top:")
        else:
            st.warning("Nothing of this run is running on this machine; nothing to stop.")


def watch_run_ui(path: str, key: str) -> None:
    """A run's live view: polls its folder every POLL_S s while it runs, with Stop and Resume."""
    view, error = read_run_quietly(path)
    if view is None:
        error_line_ui(error)
        return

    @st.fragment(run_every=POLL_S if view.active else None)
    def live() -> None:
        now, error = read_run_quietly(path)
        if now is None:
            error_line_ui(error)
            return
        if view.active and not now.active:
            # It just ended: one full rerun draws it, without the timer. Before drawing anything, so the
            # charts are drawn once and the ended state only ever shows on the settled page.
            st.rerun()
        run_summary_ui(now, key)
        if now.active and not now.shipped:
            stop_ui(now, key)
        elif now.state in ("stopped", "failed", "killed") and not now.shipped and now.config is not None:
            if st.button("Resume this run", key=f"{key}-resume",
                         help="Continues exactly from the last saved state (muser train --resume)"):
                try:
                    process.launch_run(None, now.path, resume=True)
                    st.rerun()
                except InputError as exc:
                    error_line_ui(str(exc))

    live()
    details_ui(view)


def details_ui(view: rv.RunView) -> None:
    """Config, environment, data and the log, folded away."""
    with st.expander("Settings, environment and log"):
        if view.config is not None:
            st.code(command_line(view.config, str(view.path)), language="bash")
            st.json(view.config.to_dict(), expanded=False)
        resume = view.status.get("resume_bytes")
        if isinstance(resume, int):
            st.caption(f"Resume state: {resume / 1e6:,.1f} MB (written at most every "
                       f"{view.config.train.save_every_s:g} s and at a stop)" if view.config else
                       f"Resume state: {resume / 1e6:,.1f} MB")
        if view.data:
            st.markdown("**Data**")
            st.json(view.data, expanded=False)
        if view.env:
            st.markdown("**Environment** (a run repeats exactly on the same software stack and device)")
            st.json(view.env, expanded=False)
        if view.log:
            st.markdown("**Last lines of the log**")
            st.code("\n".join(view.log))
        st.caption(f"Folder: `{view.path}`")


def active_runs_ui() -> None:
    """A small table of the runs going now (several can run at once); refreshes while any runs."""
    any_active = len(rv.runs_going_now(rv.run_table())) > 0

    @st.fragment(run_every=POLL_S * 2 if any_active else None)
    def live() -> None:
        active = rv.runs_going_now(rv.run_table())
        if len(active):
            st.dataframe(active, hide_index=True, width="stretch")
        else:
            st.caption("No run is going now.")

    live()


# --------------------------------------------------------------------------- sampling dynamics


def dynamics_ui(paths: list[str], stacked: bool, key: str = "dyn") -> None:
    """Figure 2 made live for the chosen runs; polls while any of them runs.

    Beyond :data:`MAX_SHOWN` runs ("Select all" on a big runs folder) the first
    ones are drawn unless all are asked for: 40 panels a chart were unreadable
    and took half a minute to draw.
    """
    if len(paths) > MAX_SHOWN and not st.toggle(f"Draw all {len(paths)} runs (slow; the panels get small)",
                                                key=f"{key}-all"):
        st.info(f"{len(paths)} runs chosen: the charts show the first {MAX_SHOWN}. Narrow the choice, or draw "
                "them all with the switch above.")
        paths = paths[:MAX_SHOWN]
    first = [read_run_quietly(p)[0] for p in paths]
    if not any(first):
        for path in paths:
            error_line_ui(read_run_quietly(path)[1] or path)
        return

    @st.fragment(run_every=POLL_S if any(v.active for v in first if v) else None)
    def live() -> None:
        read = [read_run_quietly(p) for p in paths]
        for _, error in read:
            if error:
                error_line_ui(error)
        now = [v for v, _ in read if v is not None]
        _dynamics(now, stacked, key)
        if any(v.active for v in first if v) and not any(v.active for v in now):
            st.rerun()

    live()


def _dynamics(views: list[rv.RunView], stacked: bool, key: str) -> None:
    labels = rv.run_labels(views)  # distinct names: two sweeps may hold runs with the same folder name
    status = pd.DataFrame([{"run": label, "state": v.state, "strategy": v.strategy_label(),
                            "tasks": ",".join(v.tasks), "epochs": v.last_epoch, "best epoch": v.best_epoch,
                            "test stress accuracy": rv.as_float((((v.test or {}).get("metrics") or {})
                                                                 .get("stress") or {}).get("accuracy"))}
                           for v, label in zip(views, labels, strict=True)])
    st.dataframe(status, hide_index=True, width="stretch")
    for v, label in zip(views, labels, strict=True):
        for problem in v.problems:
            st.warning(f"{label}: {problem}", icon=":material/warning:")
        if v.state in ("failed", "killed"):
            st.error(f"{label} {v.state}: {v.error or 'no error recorded'} (last epoch {v.last_epoch})",
                     icon=":material/error:")
    for line in dict.fromkeys(rv.data_line(v) for v in views):
        if line:
            st.caption(line)
    if any(v.synthetic for v in views):
        st.caption(SYNTHETIC)
    probs = rv.combine(views, lambda v: rv.probabilities_frame(v.records), labels)
    if probs.empty:
        st.info("None of these runs has trained an epoch yet.")
        return
    st.subheader("Task probabilities per epoch")
    st.plotly_chart(figs.probability_figure(probs, stacked=stacked), key=f"{key}-prob", width="stretch")
    st.subheader("Batches per task")
    st.plotly_chart(figs.batches_figure(rv.combine(views, lambda v: rv.batches_frame(v.records, v.tasks), labels)),
                    key=f"{key}-batches", width="stretch")
    st.subheader("Validation curves")
    tasks = list(dict.fromkeys(t for v in views for t in v.tasks))
    st.plotly_chart(figs.validation_figure(rv.combine(views, lambda v: rv.validation_frame(v.records), labels),
                                           rv.curve_panels(tasks)), key=f"{key}-val", width="stretch")
    speed_ratios_ui(views, labels, key)


def speed_ratios_ui(views: list[rv.RunView], labels: list[str], key: str) -> None:
    """Eq. 1 step by step for the speed runs: the ratios r, and one epoch's computation in a table."""
    speed = [(v, label) for v, label in zip(views, labels, strict=True) if v.shows_ratios]
    ratios = rv.combine([v for v, _ in speed], rv.speed_ratios, [label for _, label in speed])
    st.subheader("Why the speed sampler moved (equation 1)")
    if ratios.empty:
        st.caption("No speed-strategy run with more epochs than its history is selected.")
        return
    st.markdown("After epoch *t*: stress **r = accuracy[t] / mean(accuracy[t−n..t−1])**, an emotion task "
                "**r = mean(RMSE[t−n..t−1]) / RMSE[t]**; epoch *t+1* samples with **p = softmax(r / ρ)**. "
                "r > 1 means the task is learning faster than over its recent history. The first dynamic "
                "step (epoch n+1) counts the evaluation before training (epoch 0) in its history.")
    st.plotly_chart(figs.ratio_figure(ratios), key=f"{key}-ratios", width="stretch")
    runs_ = list(dict.fromkeys(ratios["run"]))
    c1, c2 = st.columns([1, 2])
    run = c1.selectbox("Run", runs_, key=f"{key}-ratio-run") if len(runs_) > 1 else runs_[0]
    mine = ratios[ratios["run"] == run]
    epochs = sorted(mine["epoch"].unique())
    epoch = c2.select_slider("Epoch whose probabilities to explain", epochs, value=epochs[-1],
                             key=f"{key}-ratio-epoch-{run}") if len(epochs) > 1 else epochs[0]
    step = mine[mine["epoch"] == epoch].drop(columns=["run", "epoch"])
    st.markdown(f"Equation 1 for run **{run}**, the probabilities of epoch {epoch}:")   # which run it explains
    st.dataframe(step, hide_index=True, width="stretch")
    gap = float((mine["probability"] - mine["recorded"]).abs().max())
    st.caption(f"`probability` is eq. 1 recomputed here from the validation history; `recorded` is what "
               f"the run used (largest difference over the run: {gap:.1e}).")

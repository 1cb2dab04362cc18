"""Streamlit parts of the Results page: sweep picker, the sweep's table beside the paper's, the sweep launcher.

Sweeps run in their own process (:mod:`muser_core.train.process`); this module
reads their folders through :mod:`analysis.sweep_views`.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from analysis import paper_results, sweep_figures
from analysis import sweep_views as sv
from analysis.display import latex_table
from muser_core.base.errors import InputError
from muser_core.base.files import spreadsheet_csv
from muser_core.sources import DEMO
from muser_core.sweep.executors import EXECUTORS
from muser_core.sweep.grid import PAPER_REFERENCES, select_history, selection_text
from muser_core.train import process
from muser_core.train import run_folder as rf
from muser_core.train.cli import parse_seeds
from ui.runs import POLL_S, error_line_ui, picker_labels


def sweep_picker_ui(key: str, default_path: str | None = None) -> str | None:
    table = sv.list_sweeps()
    if table.empty:
        st.info("No sweep yet: launch one below.")
        return None
    labels = picker_labels(table)
    if st.session_state.get(key) not in labels:
        st.session_state.pop(key, None)
    options = list(labels)
    index = options.index(default_path) if default_path in options and key not in st.session_state else 0
    return st.selectbox("Sweep", options, index=index, key=key, format_func=lambda p: labels.get(p, p))


def results_ui(folder: str, key: str = "res") -> None:
    """The sweep's table in the paper's layout beside the paper's own numbers; polls while it runs."""
    running = sv.sweep_state(folder)["state"] in process.ACTIVE

    @st.fragment(run_every=POLL_S * 2 if running else None)
    def live() -> None:
        state = sv.sweep_state(folder)
        _results(folder, state, key)
        if running and state["state"] not in process.ACTIVE:
            st.rerun()

    live()


SYNTHETIC_SWEEP = ("Stress was learnt from the **synthetic demo corpus**: these numbers compare the strategies on made-up "
                   "speech, not how well stress can be detected in real speech.")


# The row labels are long ("Uniform sampling with activation & valence"): a first column wide enough for them
# that still leaves the seven number columns on screen at 1400 px.
LABEL_COLUMN = {"Strategy": st.column_config.TextColumn("Strategy", width=275)}


def _results(folder: str, state: dict, key: str) -> None:
    total = state["total"]
    st.progress(min(1.0, state["done"] / total) if total else (1.0 if state["state"] == "finished" else 0.0),
                text=sv.progress_line(state))
    if state["state"] == "stopping":
        st.info("Stopping: each running run ends after its current batch and keeps its resume state; "
                "launch the same sweep again to continue.", icon=":material/hourglass_top:")
    elif state["state"] == "running" and st.button("Stop the sweep", key=f"{key}-stop",
                                                    help="Each run stops after its batch; launch again to continue"):
        if process.stop(folder):
            st.rerun()
        else:
            st.warning("Nothing of this sweep is running on this machine; nothing to stop.")
    if state["error"]:
        st.error(f"The sweep failed: {state['error']}", icon=":material/error:")
    all_runs = sv.sweep_runs(folder)
    if all_runs.empty:
        st.info("No run of this sweep has started yet.")
        return
    per_run, choices = select_history(all_runs)  # --select-history: each speed row keeps its chosen n
    labels = list(dict.fromkeys(per_run["label"]))
    table_id = sv.sweep_table_id(folder, per_run)
    default_ref = PAPER_REFERENCES.get(table_id or "", labels[0])
    reference = st.selectbox("Reference for the p-values", labels,
                             index=labels.index(default_ref) if default_ref in labels else 0,
                             key=f"{key}-ref-{Path(folder).name}")
    summary = sv.summary_table(per_run, reference)
    name = Path(folder).name
    # Stacked, not side by side: seven columns of 'mean ± sd' need the full width.
    st.markdown(f"**This app: `{name}`**" + (f" (the rows of the paper's Table {table_id})" if table_id else ""))
    ours = sv.results_display(summary, reference)
    st.dataframe(ours, hide_index=True, width="stretch", column_config=LABEL_COLUMN)
    seeds = sorted(per_run.loc[per_run["state"] == "finished", "seed"].unique())
    caption = (f"Test-split stress detection, mean ± sample sd over seeds {', '.join(map(str, seeds)) or '-'}; "
               "precision, recall and F-score of the stressed class; ★ best mean per column; "
               f"p: paired t-test against **{reference}** over the same seeds.")
    st.caption(caption)
    if reason := sv.missing_p_reason(summary, reference):
        st.caption(reason)
    for line in selection_text(choices).splitlines():
        st.info(line + " (paper 5.1); the row shows that n's runs.", icon=":material/tune:")
    for line in sv.identical_rows(per_run):
        st.info(line, icon=":material/content_copy:")
    _downloads(f"{key}-ours", name, summary.assign(reference=reference), ours, caption.replace("**", ""))
    cfg = rf.read_json(Path(per_run["run"].iloc[0]) / rf.CONFIG) or {}
    for line in sv.data_lines(per_run):
        st.caption(line)
    if (cfg.get("data") or {}).get("corpus") == DEMO:
        st.caption(SYNTHETIC_SWEEP)
    if table_id:
        st.markdown(f"**The paper's numbers** — {paper_results.TITLES[table_id]}")
        paper = sv.paper_display(table_id)
        st.dataframe(paper, hide_index=True, width="stretch", column_config=LABEL_COLUMN)
        st.caption(f"{paper_results.SOURCE}. Single values as printed in the paper; ★ best per column.")
        _downloads(f"{key}-paper", f"muser-paper-table{table_id}", paper_results.paper_table(table_id), paper,
                   f"{paper_results.TITLES[table_id]}. {paper_results.SOURCE}.")
    else:
        st.caption("These variants are not one of the paper's tables, so no paper numbers are shown.")
    st.markdown("**Every seed**")
    metric = st.radio("Metric", list(sv.DISPLAY_METRICS), horizontal=True, key=f"{key}-strip-metric",
                      format_func=sv.DISPLAY_METRICS.get)
    st.plotly_chart(sweep_figures.seed_strip_figure(per_run, metric), key=f"{key}-strip")
    st.caption("One dot per run: its test result on the stress task, coloured by seed; the bar is the row's mean. "
               "Dots of several rows at the same place on one seed are runs that trained alike.")
    reliability = sv.reliability_rows(per_run[per_run["state"] == "finished"])
    if len(reliability):
        st.markdown("**Calibration** (stress probabilities on the test split)")
        st.plotly_chart(sweep_figures.reliability_figure(reliability), key=f"{key}-reliability")
        st.caption("Each run's stress probabilities are temperature-scaled on its validation split after "
                   "training (Guo et al. 2017); points on the diagonal are as sure as they are right. The runs' "
                   "ECE and Brier score, before and after, are in their test metrics.")
    with st.expander("Every run of the sweep"):   # each run by its folder's name: whole paths ran off the table
        st.dataframe(all_runs.assign(run=all_runs["run"].map(lambda path: Path(path).name)), hide_index=True,
                     width="stretch")


def _downloads(key: str, stem: str, numbers, display, caption: str) -> None:
    """The table as CSV (its numbers) and as LaTeX (its layout, best values in bold)."""
    c1, c2, _ = st.columns([1, 1, 4])
    c1.download_button("CSV", spreadsheet_csv(numbers), f"{stem}.csv", "text/csv", key=f"{key}-csv",
                       icon=":material/download:")
    c2.download_button("LaTeX", latex_table(display, caption), f"{stem}.tex", "application/x-tex",
                       key=f"{key}-tex", icon=":material/download:")


def sweep_form_ui(key: str = "sweep") -> dict:
    """The sweep launcher's choices as plain values."""
    # A row of its own: the tables' titles are long ("Table 8: multi-task learning (MuSE's own ...)").
    table = st.selectbox("Paper table", paper_results.TABLE_IDS, index=paper_results.TABLE_IDS.index("8"),
                         format_func=lambda t: paper_results.TITLES[t], key=f"{key}-table")
    c2, c3 = st.columns(2)
    seeds = c2.text_input("Seeds", "0,1,2", key=f"{key}-seeds")
    workers = int(c3.number_input("Parallel runs", 1, max(1, os.cpu_count() or 1), 1, key=f"{key}-workers",
                                  help="runs at once on this machine; each uses one core in frozen mode"))
    e1, e2 = st.columns([1, 2])
    # The name only (a long option was cut off); what it is, below.
    executor = e1.selectbox("Executor", list(EXECUTORS), key=f"{key}-executor")
    e1.caption(EXECUTORS[executor].summary)
    address = ""
    if EXECUTORS[executor].declares("address"):
        address = e2.text_input("Ray cluster address", "", key=f"{key}-ray-address", placeholder="HEAD:6379",
                                help="empty: a Ray instance on this machine, bound to 127.0.0.1, no dashboard; "
                                     "a cluster needs the runs folder on a shared filesystem (docs/sweeps.md)")
    d1, d2, d3 = st.columns(3)
    max_epochs = int(d1.number_input("Max epochs", 1, 5000, 1000, key=f"{key}-max-epochs"))
    patience = int(d2.number_input("Patience", 1, 1000, 30, key=f"{key}-patience"))
    name = d3.text_input("Sweep name", f"table{table}-demo", key=f"{key}-name-{table}").strip()
    overwrite = st.checkbox("Train afresh the runs of this sweep name that used other settings",
                            key=f"{key}-overwrite",
                            help="without it, a sweep into a folder whose runs were trained with other settings "
                                 "is refused, naming the settings that differ (--overwrite)")
    error = _name_check(name, table, seeds)
    if error and _launched_here(name):   # the sweep just launched from this form: not a mistake to mark red
        st.caption(f"'{name}' is the sweep launched here (shown below); give another name to launch another.")
    elif error:
        error_line_ui(error)
    st.caption("Every run uses the synthetic demo corpus in frozen text mode (the fast CPU setting); "
               "the same sweep on MuSE is `muser sweep --table N --corpus PATH`.")
    return {"table": table, "seeds": seeds, "workers": workers, "max_epochs": max_epochs,
            "patience": patience, "name": name, "executor": executor, "ray_address": address,
            "overwrite": overwrite, "error": error}


def _launched_here(name: str) -> bool:
    try:
        return str(rf.run_path(name)) == st.session_state.get("sweep-last")
    except InputError:
        return False


def _name_check(name: str, table: str, seeds_text: str) -> str | None:
    """A sweep under an existing name is never re-run silently (as Train refuses duplicates): a finished sweep or
    another run there is refused; a stopped one of the same table and seeds is continued, and the form says so."""
    try:
        folder = rf.run_path(name)
    except InputError as exc:
        return str(exc)
    if not folder.exists() or (folder.is_dir() and not any(folder.iterdir())):
        return None
    if not sv.is_sweep(folder):
        return f"'{name}' is taken by a run or other files in the runs folder: choose another sweep name"
    state = sv.sweep_state(folder)
    launch = process.read_launch(folder)
    if state["state"] == "finished":
        return f"a sweep named '{name}' already exists (finished): choose another name, or open it below"
    if state["state"] in process.ACTIVE:
        return f"the sweep '{name}' is {state['state']}: wait for it or stop it below"
    try:
        same = str(launch.get("table")) == str(table) and launch.get("seeds") == parse_seeds(seeds_text)
    except InputError:
        same = False
    if not same:
        return (f"a sweep named '{name}' exists (table {launch.get('table', '?')}, seeds "
                f"{', '.join(map(str, launch.get('seeds') or [])) or '?'}): choose another name, or the same "
                "table and seeds to continue it")
    st.caption(f"A sweep named '{name}' {state['state']} after {state['done']} of {state['total'] or '?'} runs: "
               "Launch continues it (finished runs are kept).")
    return None


def launch_sweep_ui(options: dict) -> str | None:
    """Start the sweep in its own process; returns its folder (a problem: one red line)."""
    try:
        seeds = parse_seeds(options["seeds"])
        flags = ["--corpus", DEMO, "--text-mode", "frozen", "--max-epochs", str(options["max_epochs"]),
                 "--patience", str(options["patience"])]
        args = sv.sweep_arguments(options["table"], seeds, flags, options["workers"],
                                  executor=options["executor"], ray_address=options["ray_address"],
                                  overwrite=options.get("overwrite", False))
        folder = rf.run_path(options["name"])
        total = len(sv.sweep_variants(options["table"])) * len(seeds)
        return str(process.launch_sweep(folder, args, total=total, table=options["table"], seeds=seeds,
                                        executor=options["executor"]))
    except InputError as exc:
        error_line_ui(str(exc))
        return None

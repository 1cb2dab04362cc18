"""Train: launch multi-task runs in the background, watch them live, open any run folder.

Training runs in its own process (``muser train``), never in
this script; the page reads the run folder the engine writes, so it survives
switching pages and reloading the browser, and several runs can go at once.
"""

from __future__ import annotations

import streamlit as st

from analysis.run_views import run_table
from ui.runs import active_runs_ui, run_picker_ui, watch_run_ui
from ui.train_form import command_preview_ui, estimate_ui, launch_ui, train_form_ui, truncation_ui

st.set_page_config(page_title="Train", layout="wide")
st.title("Train")
st.markdown("Multi-task training of MUSER (paper 4.4): stress detection with activation and valence as "
            "auxiliary tasks, mixed epoch by epoch by a **sampling strategy**. Runs go on in the "
            "background; leave the page or reload the browser and come back to them.")

with st.expander("Launch a run", expanded=not st.session_state.get("train-last")):
    form = train_form_ui("train")
    estimate_ui(form, "train")
    truncation_ui(form)
    with st.popover("Show the command line"):
        command_preview_ui(form)
    if st.button("Launch", type="primary", key="train-launch", disabled=not form.valid,
                 help=None if form.valid else "Fix the fields marked in red first"):
        started = launch_ui(form)
        if started:
            st.session_state["train-last"] = started[-1]
            st.session_state["train-watch"] = started[-1]  # watch the new run
            st.toast(f"Started {len(started)} run(s).")

st.subheader("Runs going now")
active_runs_ui()

st.subheader("Watch or open a run")
runs = run_table()
# After a reload there is no session state: the newest own run, else the shipped speed-strategy demo.
own, demo = (runs[~runs["shipped"]], runs[runs["name"] == "demo-speed"]) if len(runs) else (runs, runs)
default = st.session_state.get("train-last") or next(iter([*own["path"], *demo["path"]]), None)
path = run_picker_ui("train-watch", default)
if path:
    watch_run_ui(path, "train-live")
else:
    st.info("No run yet: launch one above, or give a run folder.")

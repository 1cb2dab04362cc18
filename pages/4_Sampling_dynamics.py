"""Sampling dynamics: the paper's Figure 2 made live, for one or several runs side by side.

Task probabilities per epoch, batches per task, validation curves, and for
the speed strategy the per-task ratios r of equation 1 that moved the sampler.
"""

from __future__ import annotations

import streamlit as st

from analysis.run_views import run_table
from ui.runs import dynamics_ui, runs_multi_picker_ui

st.set_page_config(page_title="Sampling dynamics", layout="wide")
st.title("Sampling dynamics")
st.markdown("How each strategy mixes the tasks over the epochs (MUSER paper, Figure 2 and eq. 1). "
            "Pick several runs to compare strategies on the same axes; running runs update live.")

runs = run_table()
# The run launched in this session, else the newest own run, else the shipped demos of three strategies.
own = runs[~runs["shipped"]] if len(runs) else runs
defaults = ([st.session_state["train-last"]] if st.session_state.get("train-last") else []) or \
    list(own["path"].head(1)) or list(runs.loc[runs["name"].isin(["demo-speed", "demo-uniform", "demo-dwa"]), "path"])
paths = runs_multi_picker_ui("dyn-runs", defaults)
stacked = st.radio("Probabilities as", ["lines", "stacked area"], horizontal=True, key="dyn-style") == "stacked area"
if paths:
    dynamics_ui(paths, stacked, "dyn")
else:
    st.info("Pick one or more runs.")

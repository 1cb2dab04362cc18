"""Results: sweeps over strategies and seeds in the layout of the paper's Tables 6-9.

Mean ± sd over seeds, paired t-test p-values against a chosen reference, the
best value per column marked, and the paper's own MuSE numbers beside them
(labelled as the paper's). Sweeps run in the background (``muser_core.sweep``).
"""

from __future__ import annotations

import streamlit as st

from ui.results import launch_sweep_ui, results_ui, sweep_form_ui, sweep_picker_ui

st.set_page_config(page_title="Results", layout="wide")
st.title("Results")
st.markdown("Strategies compared the way the paper does: each row trained with several seeds, "
            "test-split stress detection as mean ± standard deviation, and a paired t-test against a "
            "reference row. The paper's own figures on MuSE stand beside them for orientation only.")

with st.expander("Launch a sweep"):
    options = sweep_form_ui("sweep")
    if st.button("Launch sweep", type="primary", key="sweep-launch", disabled=bool(options["error"]),
                 help="Fix the field marked in red first" if options["error"] else None):
        started = launch_sweep_ui(options)
        if started:
            st.session_state["sweep-last"] = started
            st.session_state["res-sweep"] = started
            st.toast(f"Started sweep {options['name']}.")

folder = sweep_picker_ui("res-sweep", st.session_state.get("sweep-last"))
if folder:
    results_ui(folder, "res")

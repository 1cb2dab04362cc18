"""Overview: what the app is for, and what data is loaded (the app's first page).

The data picker is the one every page shares (:func:`ui.common.corpus_source_ui`);
the loaded table is summarised by :func:`ui.common.corpus_overview_ui`.
"""

from __future__ import annotations

import streamlit as st

from ui.common import corpus_banner, corpus_overview_ui, corpus_source_ui, missing_data_notice_ui

st.set_page_config(page_title="MUSER stress lab", layout="wide")
st.title("MUSER stress lab")
st.markdown(
    "Stress detection from speech, with emotion recognition (activation, valence) as an "
    "auxiliary task, after *MUSER* (Yao et al.). Explore which **words** and **voice "
    "features** mark stress and emotion, run the paper's **multi-task training** and watch "
    "its speed-based task sampling adapt, and **record your voice** to get a prediction."
)
missing_data_notice_ui()

corpus = corpus_source_ui("overview")
if corpus is not None:
    corpus_banner(corpus)
    corpus_overview_ui(corpus)

st.markdown(
    "**Pages** (sidebar): *Text indicators* and *Acoustic indicators* reproduce the paper's "
    "section 3 tables; *Train*, *Sampling dynamics* and *Results* run and compare the "
    "multi-task strategies of sections 4-5; *Live prediction* scores a voice clip; *Segment* cuts a "
    "long recording into one clip per sentence; *Record a corpus* records a study the way MuSE was made."
)
st.caption("openSMILE features are used under audEERING's research licence (non-commercial). "
           "LIWC dictionaries are never shipped; the app reads your own `.dic` file.")

"""Acoustic indicators: which eGeMAPS features mark stress, activation and valence (MUSER paper 3.3).

Reproduces Tables 3 and 4 of the paper (and Tables 1-2's layout) on the loaded
data, with bootstrap stability beside every rank. The analysis lives in
:mod:`muser_core.indicators`, the page parts in :mod:`ui.indicators`; this
page adds the eGeMAPS group table and the paper's Table 3.
"""

from __future__ import annotations

import streamlit as st

from analysis import paper_reference
from ui.common import show_input_errors
from ui.indicators import (
    ACOUSTIC,
    TEXT,
    acoustic_annotator,
    acoustic_group_tables,
    corpus_input,
    feature_source_ui,
    fit,
    kept_score,
    options_ui,
    results_ui,
    table4,
)

st.set_page_config(page_title="Acoustic indicators", layout="wide")
st.title("Acoustic indicators")
st.markdown("Which voice features mark **stress**, **activation** and **valence**, and how much the "
            "three overlap (MUSER paper, section 3.3, Tables 3 and 4). The features are the 88 eGeMAPS "
            "functionals of openSMILE, z-normalised per speaker; stress is fitted with L2 logistic "
            "regression, activation and valence with least squares, and features are ranked by the "
            "absolute coefficient. **Stability** is the share of bootstrap resamples in which a "
            "feature stays in the top k.")

with show_input_errors():
    corpus, data = feature_source_ui(ACOUSTIC)
    if corpus is not None:
        data = corpus_input(ACOUSTIC, corpus)
if data is None:
    st.stop()
options = options_ui(ACOUSTIC, data.speakers is not None)
with show_input_errors():
    analysis = fit(data, options.bootstrap, options.seed, options.normalise)
    # The text side is scored as the text page scores it in this session (its caption says how).
    counts = table4(ACOUSTIC, analysis, options, corpus, score=kept_score(TEXT.key))

results_ui(ACOUSTIC, analysis, options, acoustic_annotator(), counts, paper={
    "table3": ("**Paper Table 3**", paper_reference.table3()),
    "table1": (f"In the paper all three eGeMAPS sets share {paper_reference.SHARED_COUNTS['eGeMAPS']} features "
               "(it does not list them).", None),
}, first=acoustic_group_tables(analysis, options.k))

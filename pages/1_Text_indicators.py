"""Text indicators: which word categories mark stress, activation and valence (MUSER paper 3.2).

Reproduces Tables 1, 2 and 4 of the paper on the loaded data, with bootstrap
stability beside every rank. The analysis lives in :mod:`muser_core.indicators`,
the shared page parts in :mod:`ui.indicators`; this page picks the dictionary
and sets the paper's text tables beside the results.
"""

from __future__ import annotations

import streamlit as st

from analysis import paper_reference
from ui.common import show_input_errors
from ui.indicators import (
    PAPER_SCORE,
    TEXT,
    corpus_input,
    feature_source_ui,
    fit,
    lexicon_ui,
    options_ui,
    results_ui,
    score_ui,
    table4,
    text_annotator,
)

st.set_page_config(page_title="Text indicators", layout="wide")
st.title("Text indicators")
st.markdown("Which word categories mark **stress**, **activation** and **valence**, and how much the "
            "three overlap (MUSER paper, section 3.2, Tables 1, 2 and 4). Each feature is a category's "
            "score in a sentence, z-normalised; stress is fitted with L2 logistic regression, activation "
            "and valence with least squares, and features are ranked by the absolute coefficient. "
            "**Stability** is the share of bootstrap resamples in which a feature stays in the top k.")
st.markdown("Transcripts are scored by default with the **word count** per category, the paper's "
            "feature (3.2): its Tables 1, 2 and 4, shown beside ours, were made with counts. LIWC's "
            "**percent of words** is the other choice (sidebar, *Category score*). A feature CSV is "
            "ranked as it is.")

dic, dic_name, score = None, "", PAPER_SCORE
with show_input_errors():
    corpus, data = feature_source_ui(TEXT)
    if corpus is not None:
        score = score_ui(TEXT.key)
        dic, dic_name = lexicon_ui(TEXT.key)
        data = corpus_input(TEXT, corpus, dic, dic_name, score)
if data is None:
    st.stop()
options = options_ui(TEXT, data.speakers is not None)
with show_input_errors():
    analysis = fit(data, options.bootstrap, options.seed, options.normalise)
    counts = table4(TEXT, analysis, options, corpus, dic, dic_name, score)

# Example words come from the dictionary that scored the corpus (the shipped one for a CSV).
results_ui(TEXT, analysis, options, text_annotator(dic, dic_name), counts, paper={
    "table1": ("**Paper Table 1** (all three tasks)", paper_reference.table1()),
    "table2": ("**Paper Table 2** (one task only; the paper does not say which)", paper_reference.table2())})

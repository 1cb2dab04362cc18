"""Text indicators: which word categories mark stress, activation and valence (MUSER paper 3.2).

Reproduces Tables 1, 2 and 4 of the paper on the loaded data, with bootstrap
stability beside every rank. The analysis lives in :mod:`analysis.indicators`;
this page only picks data and options and draws.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import paper_reference
from analysis.indicator_figures import coefficient_figure, upset_figure
from analysis.indicators import (
    IndicatorAnalysis,
    IndicatorInput,
    identifier_columns,
    jaccard,
    lexicon_annotation,
    read_feature_csv,
    shared_table,
    split_columns,
    unique_counts,
    unique_table,
)
from muser_core.errors import InputError
from ui.common import check_upload, corpus_banner, corpus_source_ui, show_input_errors

MODALITY = "text"
CORPUS, UPLOAD, PATH = ("Corpus: category scores of its transcripts", "Upload a feature CSV (e.g. LIWC-22 export)",
                        "Feature CSV on this machine")
NONE = "(none)"
MAX_K = 40  # the slider's top; the analysis is fitted once and read at any k up to this

st.set_page_config(page_title="Text indicators", page_icon="📝", layout="wide")
st.title("Text indicators")
st.markdown("Which word categories mark **stress**, **activation** and **valence**, and how much the "
            "three overlap (MUSER paper, section 3.2, Tables 1, 2 and 4). Each feature is the share of "
            "a sentence's words in a category, z-normalised; stress is fitted with L2 logistic "
            "regression, activation and valence with least squares, and features are ranked by the "
            "absolute coefficient. **Stability** is the share of bootstrap resamples in which a "
            "feature stays in the top k.")


@st.cache_resource(show_spinner=False)
def cached_annotator():
    """Example words per category from the project's lexicon (None until it is installed)."""
    try:
        return lexicon_annotation()
    except (ImportError, InputError, OSError):
        return None


@st.cache_data(show_spinner="Scoring the transcripts with the lexicon…", max_entries=4)
def cached_text_features(texts: pd.Series) -> pd.DataFrame:
    """Per-category word percentages; WC is left out: the paper ranks word categories only (3.2)."""
    from muser_core.text_features import extract_features

    return extract_features(texts.tolist()).drop(columns=["WC"]).set_axis(texts.index)


@st.cache_data(show_spinner="Fitting three models and the bootstrap resamples…", max_entries=8)
def cached_analysis(features: pd.DataFrame, labels: pd.DataFrame, speakers: pd.Series | None,
                    skipped: tuple, bootstrap: int, seed: int, normalise: str) -> IndicatorAnalysis:
    # top_k does not enter the key: every k up to the number of features is read from one fit.
    return IndicatorAnalysis(top_k=MAX_K, bootstrap=bootstrap, seed=seed, normalise=normalise).fit(
        features, labels, speakers, skipped=dict(skipped))


@st.cache_data(show_spinner="Reading the feature table…", max_entries=4)
def cached_csv(data: bytes, name: str) -> pd.DataFrame:
    return read_feature_csv(data, name=name)


def feature_source_ui() -> IndicatorInput | None:
    """Sidebar: features from a corpus's transcripts, an uploaded CSV or a CSV path."""
    source = st.sidebar.radio("Features from", [CORPUS, UPLOAD, PATH], key="text-ind-features-from")
    if source == CORPUS:
        corpus = corpus_source_ui("text-ind")
        if corpus is None:
            return None
        corpus_banner(corpus)
        try:
            features = cached_text_features(corpus.table["text"])
        except ImportError:
            st.info("Category scores need the project lexicon (`muser_core.text_features`), which is "
                    "not in this copy yet. Upload a feature CSV instead, e.g. a LIWC-22 export.")
            return None
        table = pd.concat([corpus.table[["speaker", "stress", "activation", "valence"]],
                          features], axis=1)
        return split_columns(table, speaker_col="speaker", feature_cols=list(features.columns),
                             source=corpus.name)
    if source == UPLOAD:
        upload = st.sidebar.file_uploader("Feature CSV", type=["csv", "txt"], key="text-ind-upload")
        if upload is None:
            st.info("Upload a CSV with one row per sentence: feature columns (e.g. LIWC categories) "
                    "and label columns for stress (two values), activation and valence.")
            return None
        table, name = cached_csv(check_upload(upload), upload.name), upload.name
    else:
        path = st.sidebar.text_input("CSV path", key="text-ind-path")
        if not path:
            st.info("Give the path of a feature CSV on the machine running the app.")
            return None
        table, name = read_feature_csv(path), path
    return columns_ui(table, name)


def columns_ui(table: pd.DataFrame, name: str) -> IndicatorInput:
    """Pick the label, speaker and non-feature columns of an uploaded table."""
    columns = [NONE] + list(table.columns)

    def pick(label: str, *names: str) -> str | None:
        lowered = {str(c).lower(): c for c in table.columns}
        default = next((lowered[n] for n in names if n in lowered), NONE)
        chosen = st.selectbox(label, columns, index=columns.index(default), key=f"text-ind-{label}")
        return None if chosen == NONE else chosen

    with st.sidebar, st.expander("Columns", expanded=True):
        stress = pick("Stress column", "stress", "stressed", "label")
        activation = pick("Activation column", "activation", "arousal")
        valence = pick("Valence column", "valence")
        speaker = pick("Speaker column", "speaker", "speaker_id", "participant")
        # Identifier columns (file names, text) are never features: leave them out up front.
        obviously_not = identifier_columns(table)
        ignore = st.multiselect("Not features", list(table.columns),
                                        default=[c for c in obviously_not if c not in (stress, activation, valence,
                                                                                       speaker)],
                                        key="text-ind-ignore")
    return split_columns(table, stress, activation, valence, speaker, ignore=ignore, source=name)


def options_ui(has_speakers: bool) -> tuple[int, int, int, str]:
    """Sidebar: top k, bootstrap count, seed and normalisation."""
    st.sidebar.subheader("Analysis")
    k = st.sidebar.slider("Top k per task", 5, MAX_K, 20, key="text-ind-k", help="paper: 20")
    bootstrap = st.sidebar.number_input("Bootstrap resamples", 0, 2000, 200, step=50, key="text-ind-boot",
                                        help="0 turns stability off")
    seed = st.sidebar.number_input("Seed", 0, 2**31 - 1, 0, key="text-ind-seed")
    choices = ["global", "speaker"] if has_speakers else ["global"]
    normalise = st.sidebar.radio("z-normalisation", choices, key="text-ind-norm",
                                 help="paper 3.2: over all sentences for text features")
    return k, int(bootstrap), int(seed), normalise


def download(table: pd.DataFrame, name: str, key: str) -> None:
    st.download_button(f"Download {name}", table.to_csv(index=False).encode(), file_name=name,
                       mime="text/csv", key=key)


def task_ui(analysis: IndicatorAnalysis, task: str, k: int, annotate) -> None:
    """Signed coefficient bars and the top-k table with stability, for one task."""
    st.plotly_chart(coefficient_figure(analysis, task, k, annotate), key=f"text-ind-fig-{task}")
    top = analysis.top(task, k)
    if annotate:
        top = top.assign(examples=[annotate(f).get("examples", "") for f in top["feature"]])
    st.dataframe(top, hide_index=True, column_order=["rank", *top.columns.drop("rank")], column_config={
        "stability": st.column_config.ProgressColumn("stability", min_value=0.0, max_value=1.0, format="%.2f",
                                                     help="share of bootstrap resamples with it in the top k"),
        "coefficient": st.column_config.NumberColumn(format="%+.3f")})
    download(top, f"top_{task}.csv", f"text-ind-dl-{task}")


data = None
with show_input_errors():
    data = feature_source_ui()
if data is None:
    st.stop()
k, bootstrap, seed, normalise = options_ui(data.speakers is not None)
with show_input_errors():
    analysis = cached_analysis(data.features, data.labels, data.speakers, tuple(data.skipped.items()),
                               bootstrap, seed, normalise)
annotate = cached_annotator()

cols = st.columns(4)
cols[0].metric("Features ranked", len(analysis.features_))
cols[1].metric("Tasks", len(analysis.tasks_))
cols[2].metric("Labelled rows", ", ".join(f"{analysis.n_rows_[t]:,}" for t in analysis.tasks_))
cols[3].metric("Bootstrap resamples", analysis.bootstrap)
for task, why in analysis.skipped_.items():
    st.caption(f"{task} not analysed: {why}.")
for note in analysis.notes_:
    st.caption(f"Note: {note}.")
if len(analysis.dropped_):
    with st.expander(f"{len(analysis.dropped_)} constant features dropped"):
        st.dataframe(analysis.dropped_, hide_index=True)

per_task, shared_unique, overlap, everything = st.tabs(
    ["Top k per task", "Shared and unique (Tables 1, 2, 4)", "Overlap", "All features"])
with per_task:
    for tab, task in zip(st.tabs(analysis.tasks_), analysis.tasks_, strict=True):
        with tab:
            task_ui(analysis, task, k, annotate)

tops = analysis.top_sets(k)
with shared_unique:
    ours, paper = st.columns(2)
    with ours:
        st.subheader(f"Table 1: in the top {k} of all tasks")
        table1 = shared_table(analysis, k, annotate)
        st.dataframe(table1, hide_index=True)
        download(table1, "table1_shared.csv", "text-ind-dl-t1")
        st.subheader(f"Table 2: in the top {k} of one task only")
        table2 = unique_table(analysis, k, annotate)
        st.dataframe(table2, hide_index=True)
        download(table2, "table2_unique.csv", "text-ind-dl-t2")
        st.subheader("Table 4: unique indicators per task")
        table4 = unique_counts({"text categories": tops}).reset_index()
        st.dataframe(table4, hide_index=True)
        download(table4, "table4_unique_counts.csv", "text-ind-dl-t4")
    with paper:
        st.caption(paper_reference.SOURCE)
        st.markdown("**Paper Table 1** (all three tasks)")
        st.dataframe(paper_reference.table1(), hide_index=True)
        st.markdown("**Paper Table 2** (one task only; the paper does not say which)")
        st.dataframe(paper_reference.table2(), hide_index=True)
        st.markdown("**Paper Table 4**")
        st.dataframe(paper_reference.table4().reset_index(), hide_index=True)

with overlap:
    if len(tops) > 1:
        st.plotly_chart(upset_figure(tops), key="text-ind-upset")
        jac = jaccard(tops)
        st.dataframe(jac, hide_index=True, column_config={"jaccard": st.column_config.NumberColumn(format="%.2f")})
        download(jac, "jaccard.csv", "text-ind-dl-jac")
        download(analysis.overlap(k), "overlap.csv", "text-ind-dl-overlap")
    else:
        st.info("Overlap needs at least two tasks.")

with everything:
    full = pd.concat([analysis.ranking(t, k).set_index("feature").drop(columns="in_top_k").add_prefix(f"{t}_")
                      for t in analysis.tasks_], axis=1).reset_index()
    st.dataframe(full, hide_index=True)
    download(full, "all_features.csv", "text-ind-dl-all")

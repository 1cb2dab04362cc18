"""Acoustic indicators: which eGeMAPS features mark stress, activation and valence (MUSER paper 3.3).

Reproduces Tables 3 and 4 of the paper (and Tables 1-2's layout) on the loaded data, with bootstrap
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
    acoustic_group_table,
    egemaps_annotation,
    identifier_columns,
    jaccard,
    read_feature_csv,
    shared_table,
    split_columns,
    unique_counts,
    unique_table,
)
from muser_core.acoustic_features import EGEMAPS_FEATURES, extract_egemaps
from muser_core.errors import InputError
from ui.common import check_upload, corpus_banner, corpus_source_ui, show_input_errors

CORPUS, UPLOAD, PATH = ("Corpus: eGeMAPS of its audio", "Upload a feature CSV (e.g. openSMILE output)",
                        "Feature CSV on this machine")
NONE = "(none)"
MAX_K = 40  # the slider's top; the analysis is fitted once and read at any k up to this

st.set_page_config(page_title="Acoustic indicators", page_icon="🔊", layout="wide")
st.title("Acoustic indicators")
st.markdown("Which voice features mark **stress**, **activation** and **valence**, and how much the "
            "three overlap (MUSER paper, section 3.3, Tables 3 and 4). The features are the 88 eGeMAPS "
            "functionals of openSMILE, z-normalised per speaker; stress is fitted with L2 logistic "
            "regression, activation and valence with least squares, and features are ranked by the "
            "absolute coefficient. **Stability** is the share of bootstrap resamples in which a "
            "feature stays in the top k.")


@st.cache_data(show_spinner="Extracting eGeMAPS features from the audio (cached on disk)…", max_entries=4)
def cached_egemaps(paths: tuple[str, ...]) -> tuple[pd.DataFrame, int]:
    """eGeMAPS of each audio file, and how many files could not be read."""
    table, skipped = extract_egemaps(list(paths), workers=2)
    return table, len(skipped)


def corpus_features(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """The corpus rows with their 88 eGeMAPS columns: stored ones, else extracted from the audio."""
    if set(EGEMAPS_FEATURES) <= set(table.columns):
        return table
    with_audio = table[table["audio_path"] != ""]
    if with_audio.empty:
        raise InputError(f"{name}: no sentence has an audio file, so there are no acoustic features")
    features, n_skipped = cached_egemaps(tuple(with_audio["audio_path"]))
    if n_skipped:
        st.caption(f"{n_skipped} audio files could not be read and are left out.")
    rows = with_audio[with_audio["audio_path"].isin(features.index)]
    return pd.concat([rows.reset_index(drop=True),
                      features.loc[rows["audio_path"]].reset_index(drop=True)], axis=1)


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
    source = st.sidebar.radio("Features from", [CORPUS, UPLOAD, PATH], key="ac-ind-features-from")
    if source == CORPUS:
        corpus = corpus_source_ui("ac-ind")
        if corpus is None:
            return None
        corpus_banner(corpus)
        table = corpus_features(corpus.table, corpus.name)
        return split_columns(table, speaker_col="speaker", feature_cols=EGEMAPS_FEATURES, source=corpus.name)
    if source == UPLOAD:
        upload = st.sidebar.file_uploader("Feature CSV", type=["csv", "txt"], key="ac-ind-upload")
        if upload is None:
            st.info("Upload a CSV with one row per sentence: feature columns (e.g. the 88 eGeMAPS functionals) "
                    "and label columns for stress (two values), activation and valence.")
            return None
        table, name = cached_csv(check_upload(upload), upload.name), upload.name
    else:
        path = st.sidebar.text_input("CSV path", key="ac-ind-path")
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
        chosen = st.selectbox(label, columns, index=columns.index(default), key=f"ac-ind-{label}")
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
                                        key="ac-ind-ignore")
    return split_columns(table, stress, activation, valence, speaker, ignore=ignore, source=name)


def options_ui(has_speakers: bool) -> tuple[int, int, int, str]:
    """Sidebar: top k, bootstrap count, seed and normalisation."""
    st.sidebar.subheader("Analysis")
    k = st.sidebar.slider("Top k per task", 5, MAX_K, 20, key="ac-ind-k", help="paper: 20")
    bootstrap = st.sidebar.number_input("Bootstrap resamples", 0, 2000, 200, step=50, key="ac-ind-boot",
                                        help="0 turns stability off")
    seed = st.sidebar.number_input("Seed", 0, 2**31 - 1, 0, key="ac-ind-seed")
    choices = ["speaker", "global"] if has_speakers else ["global"]
    normalise = st.sidebar.radio("z-normalisation", choices, key="ac-ind-norm",
                                 help="paper 3.3: per speaker, so a naturally high voice is not read as stress")
    return k, int(bootstrap), int(seed), normalise


def download(table: pd.DataFrame, name: str, key: str) -> None:
    st.download_button(f"Download {name}", table.to_csv(index=False).encode(), file_name=name,
                       mime="text/csv", key=key)


def task_ui(analysis: IndicatorAnalysis, task: str, k: int, annotate) -> None:
    """Signed coefficient bars and the top-k table with stability, for one task."""
    st.plotly_chart(coefficient_figure(analysis, task, k, annotate), key=f"ac-ind-fig-{task}")
    top = analysis.top(task, k)
    top = top.assign(**{col: [annotate(f)[col] for f in top["feature"]] for col in ("group", "description")})
    st.dataframe(top, hide_index=True, column_order=["rank", *top.columns.drop("rank")], column_config={
        "stability": st.column_config.ProgressColumn("stability", min_value=0.0, max_value=1.0, format="%.2f",
                                                     help="share of bootstrap resamples with it in the top k"),
        "coefficient": st.column_config.NumberColumn(format="%+.3f")})
    download(top, f"top_{task}.csv", f"ac-ind-dl-{task}")


data = None
with show_input_errors():
    data = feature_source_ui()
if data is None:
    st.stop()
k, bootstrap, seed, normalise = options_ui(data.speakers is not None)
with show_input_errors():
    analysis = cached_analysis(data.features, data.labels, data.speakers, tuple(data.skipped.items()),
                               bootstrap, seed, normalise)
annotate = egemaps_annotation

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
    ["Top k per task", "Shared and unique (Tables 3, 4)", "Overlap", "All features"])
with per_task:
    for tab, task in zip(st.tabs(analysis.tasks_), analysis.tasks_, strict=True):
        with tab:
            task_ui(analysis, task, k, annotate)

tops = analysis.top_sets(k)
with shared_unique:
    ours, paper = st.columns(2)
    with ours:
        st.subheader(f"Table 3: by eGeMAPS group, top {k}")
        table3 = acoustic_group_table(analysis, k)
        st.dataframe(table3, hide_index=True)
        download(table3, "table3_groups.csv", "ac-ind-dl-t3")
        st.subheader(f"In the top {k} of all tasks")
        table1 = shared_table(analysis, k, annotate)
        st.dataframe(table1, hide_index=True)
        download(table1, "table1_shared.csv", "ac-ind-dl-t1")
        st.subheader(f"In the top {k} of one task only")
        table2 = unique_table(analysis, k, annotate)
        st.dataframe(table2, hide_index=True)
        download(table2, "table2_unique.csv", "ac-ind-dl-t2")
        st.subheader("Table 4: unique indicators per task")
        table4 = unique_counts({"eGeMAPS": tops}).reset_index()
        st.dataframe(table4, hide_index=True)
        download(table4, "table4_unique_counts.csv", "ac-ind-dl-t4")
    with paper:
        st.caption(paper_reference.SOURCE)
        st.markdown("**Paper Table 3**")
        st.dataframe(paper_reference.table3(), hide_index=True)
        st.markdown(f"All three sets share {paper_reference.SHARED_COUNTS['eGeMAPS']} features in the paper.")
        st.markdown("**Paper Table 4**")
        st.dataframe(paper_reference.table4().reset_index(), hide_index=True)

with overlap:
    if len(tops) > 1:
        st.plotly_chart(upset_figure(tops), key="ac-ind-upset")
        jac = jaccard(tops)
        st.dataframe(jac, hide_index=True, column_config={"jaccard": st.column_config.NumberColumn(format="%.2f")})
        download(jac, "jaccard.csv", "ac-ind-dl-jac")
        download(analysis.overlap(k), "overlap.csv", "ac-ind-dl-overlap")
    else:
        st.info("Overlap needs at least two tasks.")

with everything:
    full = pd.concat([analysis.ranking(t, k).set_index("feature").drop(columns="in_top_k").add_prefix(f"{t}_")
                      for t in analysis.tasks_], axis=1).reset_index()
    st.dataframe(full, hide_index=True)
    download(full, "all_features.csv", "ac-ind-dl-all")

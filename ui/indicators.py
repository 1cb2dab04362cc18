"""What the Text and Acoustic indicator pages share: sidebar pickers, cached fits and the result tabs.

The two pages differ only in their :class:`Modality` (which features, which
z-normalisation the paper uses) and in the paper tables they set beside the
results; everything else is here. Helpers named ``*_ui`` draw and return plain
values. Table 4 counts unique indicators per task *and* modality, so when the
loaded corpus has both transcripts and eGeMAPS, both pages fit the other
modality too, through the same cached function (a page visited second reads it
from the cache).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import streamlit as st

from analysis import paper_reference
from analysis.indicator_figures import coefficient_figure, upset_figure
from analysis.indicators import (
    TASKS,
    Annotator,
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
from muser_core.acoustic_features import EGEMAPS_FEATURES, extract_egemaps
from muser_core.corpus import Corpus
from muser_core.errors import InputError
from ui.common import check_upload, corpus_banner, corpus_source_ui

MAX_K = 40        # the slider's top; the analysis is fitted once and read at any k up to this
NONE = "(none)"
PATH_SOURCE = "Feature CSV on this machine"
OPEN_LEXICON = "Open MUSER dictionary (shipped)"
DIC_UPLOAD, DIC_PATH = "Upload a .dic (e.g. LIWC2015)", ".dic file on this machine"


@dataclass(frozen=True)
class Modality:
    """One kind of feature the indicator analysis ranks; one page each."""

    name: str            # "text" or "acoustic"
    key: str             # prefix of the page's widget keys
    feature_set: str     # its row in Table 4
    from_corpus: str     # the source choice that computes features from the loaded corpus
    csv_example: str     # what a feature CSV of this kind usually is
    normalise: str       # the paper's z-normalisation for it
    normalise_help: str
    tables: str          # the paper tables its "Shared and unique" tab reproduces


TEXT = Modality("text", "text-ind", "text categories", "Corpus: category scores of its transcripts",
                "LIWC-22 export", "global", "paper 3.2: over all sentences for text features",
                "Tables 1, 2, 4")
ACOUSTIC = Modality("acoustic", "ac-ind", "eGeMAPS", "Corpus: eGeMAPS of its audio",
                    "openSMILE eGeMAPS output", "speaker",
                    "paper 3.3: per speaker, so a naturally high voice is not read as stress",
                    "Tables 3, 4")
MODALITIES = (TEXT, ACOUSTIC)  # Table 4's row order


class Options(NamedTuple):
    """The sidebar's analysis settings."""

    k: int
    bootstrap: int
    seed: int
    normalise: str


# --------------------------------------------------------------------------- cached work


@st.cache_data(show_spinner="Fitting three models and the bootstrap resamples…", max_entries=8)
def cached_analysis(features: pd.DataFrame, labels: pd.DataFrame, speakers: pd.Series | None,
                    skipped: tuple, bootstrap: int, seed: int, normalise: str) -> IndicatorAnalysis:
    # top_k does not enter the key: every k up to MAX_K is read from one fit.
    return IndicatorAnalysis(top_k=MAX_K, bootstrap=bootstrap, seed=seed, normalise=normalise).fit(
        features, labels, speakers, skipped=dict(skipped))


def fit(data: IndicatorInput, bootstrap: int, seed: int, normalise: str) -> IndicatorAnalysis:
    """The (cached) analysis of one feature table."""
    return cached_analysis(data.features, data.labels, data.speakers, tuple(data.skipped.items()),
                           bootstrap, seed, normalise)


@st.cache_data(show_spinner="Reading the feature table…", max_entries=4)
def cached_csv(data: bytes, name: str) -> pd.DataFrame:
    return read_feature_csv(data, name=name)


@st.cache_resource(show_spinner="Reading the dictionary…", max_entries=4)
def cached_lexicon(dic: bytes | None, name: str):
    """The shipped open dictionary (``dic`` None) or a user's .dic file given as bytes."""
    from muser_core.lexicon import Lexicon, default_lexicon

    if dic is None:
        return default_lexicon()
    with tempfile.TemporaryDirectory(prefix="muser-dic-") as folder:
        path = Path(folder) / (Path(name).name or "upload.dic")
        path.write_bytes(dic)
        try:
            return Lexicon.read_dic(path)
        except InputError as exc:  # name the user's file, not the temporary copy
            raise InputError(str(exc).replace(str(path), name)) from None


@st.cache_data(show_spinner="Scoring the transcripts with the dictionary…", max_entries=4)
def cached_text_features(texts: pd.Series, dic: bytes | None, name: str) -> pd.DataFrame:
    """Per-category word percentages; WC is left out: the paper ranks word categories only (3.2)."""
    from muser_core.text_features import extract_features

    features = extract_features(texts.tolist(), cached_lexicon(dic, name))
    return features.drop(columns=["WC"]).set_axis(texts.index)


@st.cache_data(show_spinner="Extracting eGeMAPS features from the audio (cached on disk)…", max_entries=4)
def cached_egemaps(paths: tuple[str, ...]) -> tuple[pd.DataFrame, int]:
    """eGeMAPS of each audio file, and how many files could not be read."""
    table, skipped = extract_egemaps(list(paths), workers=2)
    return table, len(skipped)


def text_annotator(dic: bytes | None = None, name: str = OPEN_LEXICON) -> Annotator | None:
    """Example words per category from the dictionary in use (None if it cannot be read)."""
    try:
        return lexicon_annotation(cached_lexicon(dic, name))
    except (ImportError, InputError, OSError):
        return None


# --------------------------------------------------------------------------- features of a corpus


def has_features(modality: Modality, corpus: Corpus, stored_only: bool = False) -> bool:
    """Whether the corpus carries this modality: transcripts, or eGeMAPS (stored, or audio to extract)."""
    table = corpus.table
    if modality is TEXT:
        return bool((table["text"].fillna("").str.strip() != "").any())
    return set(EGEMAPS_FEATURES) <= set(table.columns) or (
        not stored_only and bool((table["audio_path"] != "").any()))


def corpus_input(modality: Modality, corpus: Corpus, dic: bytes | None = None,
                 dic_name: str = OPEN_LEXICON) -> IndicatorInput:
    """The corpus's features of one modality with its labels and speakers, ready to fit."""
    table = corpus.table
    if modality is TEXT:
        table = table[table["text"].fillna("").str.strip() != ""]
        if table.empty:
            raise InputError(f"{corpus.name}: no sentence has a transcript, so there are no text features")
        features = cached_text_features(table["text"], dic, dic_name)
        table = pd.concat([table[["speaker", *TASKS]], features], axis=1)
        return split_columns(table, speaker_col="speaker", feature_cols=list(features.columns),
                             source=corpus.name)
    if not set(EGEMAPS_FEATURES) <= set(table.columns):
        table = _extracted_egemaps(table, corpus.name)
    return split_columns(table, speaker_col="speaker", feature_cols=EGEMAPS_FEATURES, source=corpus.name)


def _extracted_egemaps(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows with audio, with their 88 eGeMAPS columns extracted (disk-cached)."""
    with_audio = table[table["audio_path"] != ""]
    if with_audio.empty:
        raise InputError(f"{name}: no sentence has an audio file, so there are no acoustic features")
    features, n_skipped = cached_egemaps(tuple(with_audio["audio_path"]))
    if n_skipped:
        st.caption(f"{n_skipped} audio files could not be read and are left out.")
    rows = with_audio[with_audio["audio_path"].isin(features.index)]
    return pd.concat([rows.reset_index(drop=True),
                      features.loc[rows["audio_path"]].reset_index(drop=True)], axis=1)


# --------------------------------------------------------------------------- sidebar


def feature_source_ui(modality: Modality) -> tuple[Corpus | None, IndicatorInput | None]:
    """Sidebar: a loaded corpus, an uploaded feature CSV or a CSV path.

    Returns ``(corpus, None)`` for a corpus (the page computes its features),
    ``(None, input)`` for a CSV, and ``(None, None)`` while something is still
    to be chosen. Raises :class:`InputError` for a bad file.
    """
    key = modality.key
    upload_label = f"Upload a feature CSV (e.g. {modality.csv_example})"
    source = st.sidebar.radio("Features from", [modality.from_corpus, upload_label, PATH_SOURCE],
                              key=f"{key}-features-from")
    if source == modality.from_corpus:
        corpus = corpus_source_ui(key)
        if corpus is not None:
            corpus_banner(corpus)
        return corpus, None
    if source == upload_label:
        upload = st.sidebar.file_uploader("Feature CSV", type=["csv", "txt"], key=f"{key}-upload")
        if upload is None:
            st.info(f"Upload a CSV with one row per sentence: feature columns (e.g. a {modality.csv_example}) "
                    "and label columns for stress (two values), activation and valence.")
            return None, None
        table, name = cached_csv(check_upload(upload), upload.name), upload.name
    else:
        path = st.sidebar.text_input("CSV path", key=f"{key}-path")
        if not path:
            st.info("Give the path of a feature CSV on the machine running the app.")
            return None, None
        table, name = read_feature_csv(path), path
    return None, columns_ui(modality, table, name)


def columns_ui(modality: Modality, table: pd.DataFrame, name: str) -> IndicatorInput:
    """Pick the label, speaker and non-feature columns of a feature table."""
    columns = [NONE] + list(table.columns)
    lowered = {str(c).lower(): c for c in table.columns}

    def pick(label: str, *names: str) -> str | None:
        default = next((lowered[n] for n in names if n in lowered), NONE)
        chosen = st.selectbox(label, columns, index=columns.index(default), key=f"{modality.key}-{label}")
        return None if chosen == NONE else chosen

    with st.sidebar, st.expander("Columns", expanded=True):
        stress = pick("Stress column", "stress", "stressed", "label")
        activation = pick("Activation column", "activation", "arousal")
        valence = pick("Valence column", "valence")
        speaker = pick("Speaker column", "speaker", "speaker_id", "participant")
        # Identifier columns (file names, text) are never features: leave them out up front.
        chosen = (stress, activation, valence, speaker)
        ignore = st.multiselect("Not features", list(table.columns),
                                default=[c for c in identifier_columns(table) if c not in chosen],
                                key=f"{modality.key}-ignore")
    return split_columns(table, stress, activation, valence, speaker, ignore=ignore, source=name)


def lexicon_ui(key: str) -> tuple[bytes | None, str]:
    """Sidebar: the dictionary that scores transcripts: the shipped one, or a .dic upload or path.

    Returns ``(None, name)`` for the shipped dictionary, else the file's bytes and name.
    """
    with st.sidebar, st.expander("Dictionary"):
        choice = st.radio("Word categories from", [OPEN_LEXICON, DIC_UPLOAD, DIC_PATH], key=f"{key}-dic",
                          help="a LIWC-format .dic: '%', numbered categories, '%', then word and numbers")
        if choice == DIC_UPLOAD:
            upload = st.file_uploader(".dic file", type=["dic", "txt"], key=f"{key}-dic-upload")
            if upload is not None:
                return check_upload(upload), upload.name
        elif choice == DIC_PATH:
            path = st.text_input(".dic path", key=f"{key}-dic-path")
            if path:
                try:
                    return Path(path).read_bytes(), path
                except OSError as exc:
                    raise InputError(f"{path}: cannot read the dictionary ({exc.strerror})") from None
        if choice != OPEN_LEXICON:
            st.caption("Until a file is given, the shipped open dictionary is used.")
    return None, OPEN_LEXICON


def options_ui(modality: Modality, has_speakers: bool) -> Options:
    """Sidebar: top k, bootstrap count, seed and z-normalisation (the paper's choice first)."""
    key = modality.key
    st.sidebar.subheader("Analysis")
    k = st.sidebar.slider("Top k per task", 5, MAX_K, 20, key=f"{key}-k", help="paper: 20")
    bootstrap = st.sidebar.number_input("Bootstrap resamples", 0, 2000, 200, step=50, key=f"{key}-boot",
                                        help="0 turns stability off")
    seed = st.sidebar.number_input("Seed", 0, 2**31 - 1, 0, key=f"{key}-seed")
    choices = [modality.normalise] + [n for n in ("global", "speaker") if n != modality.normalise]
    normalise = st.sidebar.radio("z-normalisation", choices if has_speakers else ["global"],
                                 key=f"{key}-norm", help=modality.normalise_help)
    return Options(k, int(bootstrap), int(seed), normalise)


# --------------------------------------------------------------------------- results


def download(table: pd.DataFrame, name: str, key: str) -> None:
    st.download_button(f"Download {name}", table.to_csv(index=False).encode(), file_name=name,
                       mime="text/csv", key=key)


def table_ui(table: pd.DataFrame, title: str, file_name: str, key: str, **config) -> None:
    """A subheader, the table and its CSV download."""
    st.subheader(title)
    st.dataframe(table, hide_index=True, **config)
    download(table, file_name, key)


def summary_ui(analysis: IndicatorAnalysis) -> None:
    """What was fitted: counts, skipped tasks, notes, constant features dropped."""
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


def task_ui(modality: Modality, analysis: IndicatorAnalysis, task: str, k: int,
            annotate: Annotator | None) -> None:
    """Signed coefficient bars and the top-k table with stability and details, for one task."""
    st.plotly_chart(coefficient_figure(analysis, task, k, annotate), key=f"{modality.key}-fig-{task}")
    top = analysis.top(task, k)
    if annotate:
        top = top.join(pd.DataFrame([dict(annotate(f)) for f in top["feature"]], index=top.index))
    st.dataframe(top, hide_index=True, column_order=["rank", *top.columns.drop("rank")], column_config={
        "stability": st.column_config.ProgressColumn("stability", min_value=0.0, max_value=1.0, format="%.2f",
                                                     help="share of bootstrap resamples with it in the top k"),
        "coefficient": st.column_config.NumberColumn(format="%+.3f")})
    download(top, f"top_{task}.csv", f"{modality.key}-dl-{task}")


def table4(modality: Modality, analysis: IndicatorAnalysis, options: Options, corpus: Corpus | None,
           dic: bytes | None = None, dic_name: str = OPEN_LEXICON) -> tuple[pd.DataFrame, list[str]]:
    """Paper Table 4 on the loaded data, and a line per remark.

    From a corpus that also carries the other modality, that modality is fitted
    too (its paper z-normalisation, the page's seed and resamples) with
    :func:`cached_analysis`, so its own page finds the fit in the cache.
    """
    tops, remarks = {modality.feature_set: analysis.top_sets(options.k)}, []
    for other in MODALITIES:
        if other is modality or corpus is None:
            continue
        if not has_features(other, corpus, stored_only=True):
            remarks.append(f"{other.feature_set}: not in {corpus.name}"
                           + (" as stored features (extract them on the Acoustic indicators page)"
                              if other is ACOUSTIC and has_features(other, corpus) else ""))
            continue
        try:
            other_analysis = fit(corpus_input(other, corpus, dic, dic_name), options.bootstrap, options.seed,
                                 other.normalise)
        except InputError as exc:
            remarks.append(f"{other.feature_set} left out: {exc}")
            continue
        tops[other.feature_set] = other_analysis.top_sets(options.k)
        remarks.append(f"{other.feature_set}: fitted on {corpus.name} with {other.normalise} z-normalisation")
    order = [m.feature_set for m in MODALITIES if m.feature_set in tops]
    return unique_counts({name: tops[name] for name in order}).reset_index(), remarks


def results_ui(modality: Modality, analysis: IndicatorAnalysis, options: Options,
               annotate: Annotator | None, counts: tuple[pd.DataFrame, list[str]]):
    """The summary and the four result tabs; returns two containers for the page's own tables.

    The first sits at the top of our results in the "Shared and unique" tab, the
    second in the paper's column beside them, between its source line and Table 4.
    """
    k, key = options.k, modality.key
    summary_ui(analysis)
    per_task, shared_unique, overlap, everything = st.tabs(
        ["Top k per task", f"Shared and unique ({modality.tables})", "Overlap", "All features"])
    with per_task:
        for tab, task in zip(st.tabs(analysis.tasks_), analysis.tasks_, strict=True):
            with tab:
                task_ui(modality, analysis, task, k, annotate)

    with shared_unique:
        ours, paper = st.columns(2)
        with ours:
            own = st.container()
            table_ui(shared_table(analysis, k, annotate), f"In the top {k} of all tasks (as paper Table 1)",
                     "table1_shared.csv", f"{key}-dl-t1")
            table_ui(unique_table(analysis, k, annotate), f"In the top {k} of one task only (as paper Table 2)",
                     "table2_unique.csv", f"{key}-dl-t2")
            table, remarks = counts
            table_ui(table, "Unique indicators per task and feature set (as paper Table 4)",
                     "table4_unique_counts.csv", f"{key}-dl-t4")
            for remark in remarks:
                st.caption(remark)
        with paper:
            st.caption(paper_reference.SOURCE)
            beside = st.container()
            st.markdown("**Paper Table 4**")
            st.dataframe(paper_reference.table4().reset_index(), hide_index=True)

    tops = analysis.top_sets(k)
    with overlap:
        if len(tops) > 1:
            st.plotly_chart(upset_figure(tops), key=f"{key}-upset")
            jac = jaccard(tops)
            st.dataframe(jac, hide_index=True,
                         column_config={"jaccard": st.column_config.NumberColumn(format="%.2f")})
            download(jac, "jaccard.csv", f"{key}-dl-jac")
            download(analysis.overlap(k), "overlap.csv", f"{key}-dl-overlap")
        else:
            st.info("Overlap needs at least two tasks.")

    with everything:
        full = pd.concat([analysis.ranking(t, k).set_index("feature").drop(columns="in_top_k")
                          .add_prefix(f"{t}_") for t in analysis.tasks_], axis=1).reset_index()
        st.dataframe(full, hide_index=True)
        download(full, "all_features.csv", f"{key}-dl-all")
    return own, beside

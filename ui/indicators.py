"""What the Text and Acoustic indicator pages share: sidebar pickers, cached fits and the result tabs.

The two pages differ only in their :class:`Modality` (which features, which
z-normalisation the paper uses) and in the paper tables they set beside the
results; everything else is here. Helpers named ``*_ui`` draw and return plain
values. Table 4 counts unique indicators per task *and* modality, so when the
loaded corpus has both transcripts and eGeMAPS, both pages also rank the other
modality, through the same cached function.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import streamlit as st

from analysis import paper_reference
from analysis.display import latex_table, readable
from analysis.indicator_figures import coefficient_figure, upset_figure
from muser_core.base.errors import InputError
from muser_core.base.files import spreadsheet_csv
from muser_core.data.corpus import Corpus
from muser_core.features.acoustic import EGEMAPS_FEATURES, extract_egemaps
from muser_core.features.lexicon import Lexicon, default_lexicon
from muser_core.features.text import extract_features
from muser_core.indicators import (
    TASKS,
    Annotator,
    IndicatorAnalysis,
    IndicatorInput,
    acoustic_group_table,
    default_non_features,
    egemaps_annotation,
    jaccard,
    lexicon_annotation,
    read_feature_csv,
    shared_table,
    split_columns,
    unique_counts,
    unique_table,
)
from ui.common import (
    BESIDE_ANOTHER_PX,
    check_upload,
    corpus_banner,
    corpus_source_ui,
    fitted_text_column,
    natural_width_px,
    session_index,
    session_keep,
    session_kept,
)

MAX_K = 40        # the slider's top; the analysis is fitted once and read at any k up to this
NONE = "(none)"
PATH_SOURCE = "Feature CSV on this machine"
OPEN_LEXICON = "Open MUSER dictionary (shipped)"
DIC_UPLOAD, DIC_PATH = "Upload a .dic (e.g. LIWC2015)", ".dic file on this machine"
# How transcripts are scored: the paper's word counts (3.2) first, the default for the
# paper comparison; LIWC's percentages stay available.
PAPER_SCORE = "count"
SCORE_LABELS = {"count": "Word count (paper 3.2)", "percent": "Percent of words (LIWC)"}


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


FITS_KEPT = 8  # analyses kept in memory, across sessions (each a few MB of bootstrap coefficients)
SCORED_KEPT = 2  # corpora's scored transcripts kept (a million texts make a 520 MB table)


@st.cache_resource
def _fits() -> OrderedDict:
    """The server's fitted analyses by their inputs' digest, newest last. A plain store rather than
    st.cache_data: the bootstrap reports its progress to the page while it runs, which a cached function may
    not do (Streamlit replays a cached function's elements)."""
    return OrderedDict()


@st.cache_resource
def _inputs() -> OrderedDict:
    """The server's text-indicator inputs of corpora (scored texts, labels, speakers) by digest, newest last: a
    plain store for the same reason as :func:`_fits`, and so that a big table is shared, not copied out of a
    cache on every rerun."""
    return OrderedDict()


def _keep(store: OrderedDict, key: str, value, limit: int):
    """Put ``value`` in ``store`` as its newest entry, dropping the oldest beyond ``limit``."""
    store[key] = value
    while len(store) > limit:
        store.popitem(last=False)
    return value


def _kept(store: OrderedDict, key: str):
    """The entry under ``key``, marked newest, or None."""
    if key in store:
        store.move_to_end(key)
        return store[key]
    return None


def _digest(data: IndicatorInput, *settings) -> str:
    """A key for a fit: the digest its maker gave the input (a corpus's texts and labels), else its tables'."""
    digest = hashlib.sha1(repr((list(data.features.columns), list(data.labels.columns), sorted(data.skipped.items()),
                                data.digest, settings)).encode())
    if not data.digest:
        for part in (data.features, data.labels, data.speakers):
            if part is not None:
                digest.update(_hashed(part))
    return digest.hexdigest()


def _hashed(part: pd.DataFrame | pd.Series) -> bytes:
    return pd.util.hash_pandas_object(part, index=True).to_numpy().tobytes()


def fit(data: IndicatorInput, bootstrap: int, seed: int, normalise: str) -> IndicatorAnalysis:
    """The analysis of one feature table, fitted once per inputs and settings (top k does not enter: every k
    up to MAX_K is read from one fit).

    A new fit shows its work: the coefficients first (one fit per task, a fraction of a second), then a
    progress bar counting the bootstrap resamples that give each feature's stability.
    """
    fits, key = _fits(), _digest(data, bootstrap, seed, normalise)
    if (kept := _kept(fits, key)) is not None:
        return kept
    tasks = len(data.labels.columns)
    make = lambda n: IndicatorAnalysis(top_k=MAX_K, bootstrap=n, seed=seed, normalise=normalise)  # noqa: E731
    with st.spinner(f"Fitting {tasks} model{'s' * (tasks != 1)}, one per task…"):
        quick = make(0).fit(data.features, data.labels, data.speakers, skipped=data.skipped)
    analysis = quick
    if bootstrap:
        draft = st.empty()
        with draft.container():
            bar = st.progress(0.0, text=f"Bootstrap for stability: 0 of {bootstrap * len(quick.tasks_):,} resamples")
            st.caption(f"Meanwhile, the top {min(10, len(quick.features_))} coefficients per task "
                       "(stability follows):")
            for tab, task in zip(st.tabs(list(quick.tasks_)), quick.tasks_, strict=True):
                top = quick.top(task, 10)[["feature", "coefficient"]]
                tab.dataframe(top, hide_index=True, column_config={
                    "feature": fitted_text_column(top["feature"], "feature"),
                    "coefficient": st.column_config.NumberColumn(task, format="%+.3f")})
        step = max(1, bootstrap // 50)

        def progress(done: int, total: int) -> None:
            if done % step == 0 or done == total:
                bar.progress(done / total, text=f"Bootstrap for stability: {done:,} of {total:,} resamples")

        analysis = make(bootstrap).fit(data.features, data.labels, data.speakers, skipped=data.skipped,
                                       progress=progress)
        draft.empty()
    return _keep(fits, key, analysis, FITS_KEPT)


@st.cache_data(show_spinner="Reading the feature table…", max_entries=4)
def cached_csv(data: bytes, name: str) -> pd.DataFrame:
    return read_feature_csv(data, name=name)


@st.cache_resource(show_spinner="Reading the dictionary…", max_entries=4)
def cached_lexicon(dic: bytes | None, name: str):
    """The shipped open dictionary (``dic`` None) or a user's .dic file given as bytes."""
    if dic is None:
        return default_lexicon()
    with tempfile.TemporaryDirectory(prefix="muser-dic-") as folder:
        path = Path(folder) / (Path(name).name or "upload.dic")
        path.write_bytes(dic)
        try:
            return Lexicon.read_dic(path)
        except InputError as exc:  # name the user's file, not the temporary copy
            raise InputError(str(exc).replace(str(path), name)) from None


def text_features(texts: pd.Series, dic: bytes | None, name: str, score: str) -> pd.DataFrame:
    """Per-category word counts or percentages; WC is left out: the paper ranks word categories only (3.2).

    A progress bar counts the texts (a million take about half a minute); :func:`corpus_input` keeps the
    result (the last :data:`SCORED_KEPT`).
    """
    bar = st.progress(0.0, text="Scoring the transcripts with the dictionary…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Scoring the transcripts with the dictionary: {done:,} of {total:,}")

    features = extract_features(texts.tolist(), cached_lexicon(dic, name), score=score, progress=progress)
    bar.empty()
    return features.drop(columns=["WC"]).set_axis(texts.index)


@st.cache_data(show_spinner="Extracting eGeMAPS features from the audio (cached on disk)…", max_entries=4)
def cached_egemaps(paths: tuple[str, ...]) -> tuple[pd.DataFrame, int]:
    """eGeMAPS of each audio file, and how many files could not be read."""
    table, skipped = extract_egemaps(list(paths), workers=2)
    return table, len(skipped)


def acoustic_annotator() -> Annotator:
    """What the acoustic page writes beside each eGeMAPS feature: its group and a plain-words description."""
    return egemaps_annotation


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
                 dic_name: str = OPEN_LEXICON, score: str = PAPER_SCORE) -> IndicatorInput:
    """The corpus's features of one modality with its labels and speakers, ready to fit.

    Transcripts are scored per category as word counts (``score="count"``, paper
    3.2) or LIWC's percentages (``"percent"``).
    """
    table = corpus.table
    if modality is TEXT:
        table = table[table["text"].fillna("").str.strip() != ""]
        if table.empty:
            raise InputError(f"{corpus.name}: no sentence has a transcript, so there are no text features")
        # Made once per texts, labels, dictionary and score: a rerun (another top k) hashes the texts and
        # labels once, and neither joins the tables again nor hashes the features.
        key = hashlib.sha1(repr((corpus.name, dic_name, score, hashlib.sha1(dic or b"").hexdigest())).encode())
        key.update(_hashed(table[["text", "speaker", *TASKS]]))
        inputs, key = _inputs(), key.hexdigest()
        if (kept := _kept(inputs, key)) is not None:
            return kept
        features = text_features(table["text"], dic, dic_name, score)
        table = pd.concat([table[["speaker", *TASKS]], features], axis=1)
        data = split_columns(table, speaker_col="speaker", feature_cols=list(features.columns),
                             source=corpus.name)
        return _keep(inputs, key, replace(data, digest=key), SCORED_KEPT)
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
        corpus = corpus_source_ui(key, show_split=False)
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
        # Identifier columns (file names, text) and LIWC's summary columns (WC, Segment, Tone...)
        # are not word categories: left out up front, the user may put them back.
        chosen = (stress, activation, valence, speaker)
        ignore = st.multiselect("Not features", list(table.columns),
                                default=[c for c in default_non_features(table) if c not in chosen],
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


def kept_score(key: str) -> str:
    """The category score chosen on the text page in this session (Table 4 on the other page uses it too)."""
    return session_kept(f"{key}-score", PAPER_SCORE)


def score_ui(key: str) -> str:
    """Sidebar: how a category scores a transcript: ``count`` (paper 3.2, the default) or ``percent``; the
    choice holds for the browser session, so it survives navigation between pages."""
    options = list(SCORE_LABELS)
    return session_keep(f"{key}-score", st.sidebar.radio(
        "Category score", options, index=session_index(options, f"{key}-score", True), format_func=SCORE_LABELS.get,
        key=f"{key}-score",
        help="Word count: how many of the sentence's words are in the category, the paper's feature "
             "(3.2), with which its Tables 1, 2 and 4 were made. Percent: 100 x that count / the "
             "sentence's words, LIWC's own score. Either is z-normalised before the fit."))


def options_ui(modality: Modality, has_speakers: bool) -> Options:
    """Sidebar: top k, bootstrap count, seed and z-normalisation (the paper's choice first)."""
    key = modality.key
    st.sidebar.subheader("Analysis")
    # Kept for the browser session, as the data choice is, so navigating between pages keeps them.
    k = session_keep(f"{key}-k", st.sidebar.slider("Top k per task", 5, MAX_K, session_kept(f"{key}-k", 20), key=f"{key}-k",
                                            help="paper: 20"))
    bootstrap = session_keep(f"{key}-boot", st.sidebar.number_input(
        "Bootstrap resamples", 0, 2000, session_kept(f"{key}-boot", 200), step=50, key=f"{key}-boot",
        help="0 turns stability off"))
    seed = session_keep(f"{key}-seed", st.sidebar.number_input("Seed", 0, 2**31 - 1, session_kept(f"{key}-seed", 0),
                                                        key=f"{key}-seed"))
    choices = [modality.normalise] + [n for n in ("global", "speaker") if n != modality.normalise]
    normalise = st.sidebar.radio("z-normalisation", choices if has_speakers else ["global"],
                                 key=f"{key}-norm", help=modality.normalise_help)
    return Options(k, int(bootstrap), int(seed), normalise)


# --------------------------------------------------------------------------- results

STABILITY_HELP = "share of bootstrap resamples with it in the top k"


class OurTable(NamedTuple):
    """A result table in the paper's layout, as the "Shared and unique" tab shows it."""

    id: str           # the paper table it mirrors ("table1" ...): its counterpart is shown beside it
    title: str
    table: pd.DataFrame
    file_name: str    # of its CSV download


PaperTable = tuple[str, pd.DataFrame | None]  # a Markdown title, and the table (None: a remark only)


def download(table: pd.DataFrame, name: str, key: str) -> None:
    """The table as CSV (its numbers) and as LaTeX (3 decimals; plain pdflatex with booktabs), side by side."""
    csv, tex = st.columns([1, 1])
    csv.download_button(f"Download {name}", spreadsheet_csv(table).encode(), file_name=name,
                        mime="text/csv", key=key)
    shown, _ = readable(table)
    tex.download_button("LaTeX", latex_table(shown, name.removesuffix(".csv").replace("_", " ")),
                        file_name=name.removesuffix(".csv") + ".tex", mime="application/x-tex", key=f"{key}-tex")


def number_formats(table: pd.DataFrame) -> dict:
    """Column configs: signed coefficients to 3 decimals, stabilities to 2, per-task columns labelled short."""
    config = {}
    for column in table.columns:
        task, _, what = str(column).rpartition("_")
        label = f"{task} {'stab.' if what == 'stability' else what[:5]}" if task in TASKS else None
        if what == "coefficient":
            config[column] = st.column_config.NumberColumn(label, format="%+.3f")
        elif what == "stability":
            config[column] = st.column_config.NumberColumn(label, format="%.2f", help=STABILITY_HELP)
        elif what == "rank" and label:
            config[column] = st.column_config.NumberColumn(label)
    return config


def annotated(table: pd.DataFrame, annotate: Annotator | None) -> pd.DataFrame:
    """The table with the annotator's details (example words, eGeMAPS group...) per feature."""
    if annotate is None or table.empty:
        return table
    details = pd.DataFrame([dict(annotate(f)) for f in table["feature"]], index=table.index)
    return table.join(details)


def comparison_ui(ours: OurTable, paper: PaperTable | None, key: str) -> None:
    """Our table, with the paper's counterpart beside it (or its remark below it)."""
    title, table = paper if paper is not None else ("", None)
    order = list(ours.table.columns)
    if table is None or max(natural_width_px(ours.table), natural_width_px(table)) > BESIDE_ANOTHER_PX:
        left = right = st.container()   # too wide to share the page: the paper's table below ours, not cut
    else:
        left, right = st.columns([1, 1] if table.shape[1] >= 4 else [3, 2], gap="medium")
        # Per-task rank and stability columns last: feature and its details sit beside the paper's.
        per_task = [c for c in order if str(c).partition("_")[0] in TASKS]
        order = [c for c in order if c not in per_task] + per_task
    with left:
        st.markdown(f"**{ours.title}**")
        st.dataframe(ours.table, hide_index=True, column_config=number_formats(ours.table),
                     column_order=order)
        download(ours.table, ours.file_name, f"{key}-dl-{ours.file_name}")
    with right:
        if table is None:
            st.caption(title)
        else:
            st.markdown(title)
            st.dataframe(table, hide_index=True)


def summary_ui(analysis: IndicatorAnalysis) -> None:
    """What was fitted: counts, skipped tasks, notes, features dropped (constant or overflowed)."""
    cols = st.columns(4)
    cols[0].metric("Features ranked", len(analysis.features_))
    cols[1].metric("Tasks", len(analysis.tasks_))
    rows = [analysis.n_rows_[t] for t in analysis.tasks_]
    cols[2].metric("Labelled rows", f"{rows[0]:,}" if len(set(rows)) == 1 else ", ".join(f"{n:,}" for n in rows),
                   help="per task: " + ", ".join(f"{t} {analysis.n_rows_[t]:,}" for t in analysis.tasks_))
    cols[3].metric("Bootstrap resamples", analysis.bootstrap)
    if not analysis.bootstrap:
        st.caption("Stability is blank: Bootstrap resamples is 0 in the sidebar (raise it to see how often each "
                   "feature stays in the top k).")
    for task, why in analysis.skipped_.items():
        st.caption(f"{task} not analysed: {why}.")
    for note in analysis.notes_:
        st.caption(f"Note: {note}.")
    if len(analysis.dropped_):
        constant = analysis.dropped_["reason"].str.startswith("constant").all()
        n = len(analysis.dropped_)
        with st.expander(f"{n} {'constant ' if constant else ''}feature{'s' * (n != 1)} dropped"):
            st.dataframe(analysis.dropped_, hide_index=True)


def task_ui(modality: Modality, analysis: IndicatorAnalysis, task: str, k: int,
            annotate: Annotator | None) -> None:
    """Signed coefficient bars and the top-k table with stability and details, for one task."""
    st.plotly_chart(coefficient_figure(analysis, task, k, annotate), key=f"{modality.key}-fig-{task}")
    top = annotated(analysis.top(task, k), annotate)
    # Every row (no inner scrolling), the full width, the description last and widest (it was cut).
    order = ["rank", *[c for c in top.columns if c not in ("rank", "description")]] + \
        (["description"] if "description" in top.columns else [])
    st.dataframe(top, hide_index=True, height=35 * (len(top) + 1) + 3, width="stretch",
                 column_order=order, column_config={
        **number_formats(top),
        "description": st.column_config.TextColumn("description", width="large",
                                                   help="what the feature measures (hover a cell to read it all)"),
        "stability": st.column_config.ProgressColumn("stability", min_value=0.0, max_value=1.0, format="%.2f",
                                                     help=STABILITY_HELP)})
    download(top, f"top_{task}.csv", f"{modality.key}-dl-{task}")


def table4(modality: Modality, analysis: IndicatorAnalysis, options: Options, corpus: Corpus | None,
           dic: bytes | None = None, dic_name: str = OPEN_LEXICON,
           score: str = PAPER_SCORE) -> tuple[pd.DataFrame, list[str]]:
    """Paper Table 4 on the loaded data, and a line per remark.

    From a corpus that also carries the other modality, that modality is fitted
    too, with :func:`fit` (its paper z-normalisation, the page's
    seed; transcripts scored with ``score``, the paper's word counts unless the
    text page chose otherwise). Table 4 reads only the full-data ranks, so that
    fit skips the bootstrap: the page costs a fraction of a second more, not a
    second bootstrap.
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
            other_analysis = fit(corpus_input(other, corpus, dic, dic_name, score), 0, options.seed,
                                 other.normalise)
        except InputError as exc:
            remarks.append(f"{other.feature_set} left out: {exc}")
            continue
        tops[other.feature_set] = other_analysis.top_sets(options.k)
        scored = f", scored as {SCORE_LABELS[score].lower()}" if other is TEXT else ""
        remarks.append(f"{other.feature_set}: ranked on {corpus.name}{scored} with {other.normalise} "
                       "z-normalisation, as on its own page")
    order = [m.feature_set for m in MODALITIES if m.feature_set in tops]
    return unique_counts({name: tops[name] for name in order}).reset_index(), remarks


def acoustic_group_tables(analysis: IndicatorAnalysis, k: int) -> list[OurTable]:
    """The acoustic page's own table: the top k by eGeMAPS group, as paper Table 3."""
    return [OurTable("table3", f"By eGeMAPS group, top {k} (as paper Table 3)", acoustic_group_table(analysis, k),
                     "table3_groups.csv")]


def results_ui(modality: Modality, analysis: IndicatorAnalysis, options: Options,
               annotate: Annotator | None, counts: tuple[pd.DataFrame, list[str]],
               paper: Mapping[str, PaperTable] | None = None, first: Sequence[OurTable] = ()) -> None:
    """The summary and the four result tabs.

    The "Shared and unique" tab shows ``first`` (a page's own tables), then
    Tables 1, 2 and 4 in the paper's layout, each with ``paper[id]`` beside it
    (paper Table 4 is always there).
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
        st.caption(f"Ours are on the loaded data; the paper's counterpart sits beside each, or below it when "
                   f"ours is wide. The paper's tables: {paper_reference.SOURCE}.")
        table, remarks = counts
        paper = {**(paper or {}), "table4": ("**Paper Table 4**", paper_reference.table4().reset_index())}
        for ours in [*first,
                     OurTable("table1", f"In the top {k} of all tasks (as paper Table 1)",
                              shared_table(analysis, k, annotate), "table1_shared.csv"),
                     OurTable("table2", f"In the top {k} of one task only (as paper Table 2)",
                              unique_table(analysis, k, annotate), "table2_unique.csv"),
                     OurTable("table4", "Unique indicators per task and feature set (as paper Table 4)",
                              table, "table4_unique_counts.csv")]:
            comparison_ui(ours, paper.get(ours.id), key)
        for remark in remarks:
            st.caption(remark)

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
        full = annotated(full, annotate)
        st.dataframe(full, hide_index=True, height=600, column_config={
            **number_formats(full), "feature": fitted_text_column(full["feature"], "feature")})
        download(full, "all_features.csv", f"{key}-dl-all")

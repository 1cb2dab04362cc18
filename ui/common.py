"""Small Streamlit helpers every page uses: the data picker, error display, labels.

The data picker lists the sources of :mod:`muser_core.sources`: the pages'
sidebar picker (:func:`corpus_source_ui`) and the Train page's corpus and
external-set choices build their widgets with the same :func:`source_ui`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from analysis.display import readable
from muser_core.base.errors import InputError
from muser_core.base.paths import DATA_DIR
from muser_core.base.tasks import EMOTION_TASKS, INTERNAL_TASKS, MAIN_TASK
from muser_core.data.corpus import CANONICAL_COLUMNS, SPLITS, Corpus
from muser_core.data.manifest import NoUsableRows
from muser_core.data.splits import SPLIT_METHODS
from muser_core.features.acoustic import EGEMAPS_FEATURES
from muser_core.sources import MANIFEST, MUSE, SOURCES, Source, available, load
from muser_core.study import STUDY_SOURCE

MAX_UPLOAD_MB = 50  # same cap as server.maxUploadSize in .streamlit/config.toml
# Served by the app itself: a ":material/...:" page icon makes the browser fetch it from
# fonts.gstatic.com. Pages leave page_icon out and inherit it (scripts/make_favicon.py).
FAVICON = str(Path(__file__).with_name("favicon.png"))
# Session-state keys of the data choice that every page shares. Streamlit drops a
# widget's state when a page without it runs, so the choice is kept under keys of its own.
KEPT = "muser-data"
# Folders (besides the shipped data) that uploaded manifests may point into, os.pathsep-separated.
AUDIO_TYPES = ["wav", "flac", "ogg", "mp3", "m4a", "webm"]  # what the pages' audio uploaders take
DATA_DIRS_VAR = "MUSER_DATA_DIRS"


@contextmanager
def show_input_errors() -> Iterator[None]:
    """Show an InputError as one red line and stop the page, instead of a traceback.

    When nothing in a manifest was usable, the skipped rows and their reasons are listed below it.
    """
    try:
        yield
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
        if isinstance(exc, NoUsableRows) and exc.skipped:
            st.dataframe(pd.DataFrame([vars(s) for s in exc.skipped]), hide_index=True)
        st.stop()


# Tables (st.dataframe) draw on a canvas and cut a cell's text at its column's border; their automatic
# widths fit the first rows only. These size text that must show whole, from an upper bound on a
# character's width in the tables' 14 px font (the browser walk checks none is cut).
CHAR_PX, CELL_PADDING_PX = 7.5, 18
LINE_PX, ROW_PADDING_PX = 21, 14
LARGE_COLUMN_PX = 400   # st.column_config's "large"
TEXT_COLUMN_PX = 300    # the corpus preview's sentences, wrapped: its nine columns fit a laptop's page
BESIDE_ANOTHER_PX = 520  # a table sharing a laptop's page with another (1400 px window, sidebar open) gets this


def fitted_text_column(values: Iterable, label: str) -> st.column_config.TextColumn:
    """A text column as wide as its longest value or its label."""
    longest = max([len(str(v)) for v in values] + [len(label)])
    return st.column_config.TextColumn(label, width=int(CHAR_PX * longest + CELL_PADDING_PX))


def natural_width_px(table: pd.DataFrame) -> int:
    """About how wide st.dataframe draws ``table`` with automatic widths (each column as its longest text;
    numbers as printed by pandas, so a generous guess for formatted ones)."""
    return int(sum(CHAR_PX * max([len(str(c))] + [len(str(v)) for v in table[c]]) + CELL_PADDING_PX
                   for c in table.columns))


def wrapped_row_height(values: Iterable, width_px: int = LARGE_COLUMN_PX) -> int:
    """Rows tall enough to show the longest of ``values`` wrapped in a column ``width_px`` wide
    (a line holds 85 % of its width in characters: words do not break)."""
    per_line = 0.85 * (width_px - CELL_PADDING_PX) / CHAR_PX
    lines = max([math.ceil(len(str(v)) / per_line) for v in values] + [1])
    return LINE_PX * lines + ROW_PADDING_PX


def table_ui(frame: pd.DataFrame, decimals: dict[str, int] | None = None, **kwargs) -> None:
    """``st.dataframe`` of ``frame`` as a reader expects it (:func:`analysis.display.readable`): missing cells
    blank, not "None"; one number of decimals a column, right-aligned. ``column_config`` entries win."""
    shown, numeric = readable(frame, decimals)
    config = {c: st.column_config.TextColumn(alignment="right") for c in numeric}
    config.update(kwargs.pop("column_config", None) or {})
    st.dataframe(shown, column_config=config, **kwargs)


def data_roots() -> list[Path]:
    """Folders an uploaded manifest's audio may come from: shipped data, configured copies, MUSER_DATA_DIRS."""
    named = [os.environ.get(s.env, "") for s in SOURCES.values() if s.env]
    named += os.environ.get(DATA_DIRS_VAR, "").split(os.pathsep)
    return [DATA_DIR, *(Path(p) for p in named if p.strip())]


def check_upload(upload) -> bytes:
    """The upload's bytes, or an InputError naming the file when it is over the cap."""
    if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
        raise InputError(f"{upload.name}: {upload.size / 1e6:.1f} MB is over the {MAX_UPLOAD_MB} MB upload cap")
    return upload.getvalue()


# --------------------------------------------------------------------------- the data picker

def source_label(source: Source, *, upload: bool = False, external: bool = False) -> str:
    """How a picker lists a source: its title; a path's says 'on this machine', an upload's 'Upload a ...'."""
    title = (source.external_title or source.title) if external else source.title
    if source.built_in or source.listing is not None:
        return title
    if upload and source.upload is not None:
        return f"Upload a {title[0].lower()}{title[1:]}"
    return f"{title} on this machine"


# What the tests and pages pick by name.
MUSE_LABEL = source_label(SOURCES[MUSE])
UPLOAD_LABEL = source_label(SOURCES[MANIFEST], upload=True)
STUDY_LABEL = source_label(STUDY_SOURCE)


@dataclass(frozen=True)
class SourceChoice:
    """A data picker's answer: the source and where it is (a path, or an upload's bytes and name)."""

    source: Source | None = None             # None: no source (an optional set left out)
    path: str = ""                           # a folder or file; "" for a built-in source or while not given
    upload: tuple[bytes, str] | None = None  # an uploaded file's bytes and name
    options: tuple[tuple[str, str], ...] = ()  # the source's own options (name, value); hashable for the cache

    @property
    def ready(self) -> bool:
        """A source is chosen and located: there is something to load."""
        return self.source is not None and (self.source.built_in or bool(self.path) or self.upload is not None)


def session_kept(name: str, default):
    """A choice kept for the browser session under ``name`` (the widget's own state goes on navigation)."""
    return st.session_state.get(f"{KEPT}-{name}", default)


def session_keep(name: str, value):
    """Keep ``value`` as the session's choice ``name``; returns it."""
    st.session_state[f"{KEPT}-{name}"] = value
    return value


def session_index(options: list[str], name: str, keep: bool) -> int:
    """The index of the kept choice ``name`` among ``options`` (0 when not kept, or gone)."""
    kept = session_kept(name, options[0]) if keep else options[0]
    return options.index(kept) if kept in options else 0


def _forget_removed_upload(widget_key: str, name: str) -> None:
    if st.session_state.get(widget_key) is None:  # the user removed the file
        st.session_state.pop(f"{KEPT}-{name}", None)


def source_ui(label: str, key: str, prefix: str, choices: Sequence[Source], *, sidebar: bool = False,
              upload: bool = False, options: bool = False, keep: bool = False, none: str | None = None,
              external: bool = False, help: str | None = None) -> SourceChoice:
    """A radio of ``choices`` (key ``key``) and the widgets locating the chosen one (keys ``<prefix>-<name>``).

    A built-in source needs nothing, a listed one (a study) a select box, a
    folder or file a path (default: the source's environment variable), or,
    with ``upload``, a file upload where the source reads one. ``options``
    adds a select box per source option; ``keep`` keeps the choice for the
    session, so every page with the picker opens on it; ``none`` labels a
    "no source" choice, listed first; ``external`` uses the external set's titles.
    """
    area = st.sidebar if sidebar else st
    labels: dict[str, Source | None] = {none: None} if none else {}
    labels |= {source_label(s, upload=upload, external=external): s for s in choices}
    names = list(labels)
    chosen = area.radio(label, names, index=session_index(names, "source", keep), key=key, horizontal=not sidebar,
                        help=help)
    source = labels[session_keep("source", chosen) if keep else chosen]
    if source is None:
        return SourceChoice()
    widget, path, uploaded = f"{prefix}-{source.name}", "", None
    if source.listing is not None:
        folders = {p.name: p for p in source.listing()}
        if folders:
            listed = list(folders)
            picked = area.selectbox(source.path_label, listed, index=session_index(listed, source.name, keep),
                                    key=widget, help=source.help)
            path = str(folders[session_keep(source.name, picked) if keep else picked])
    elif upload and source.upload is not None:
        uploaded = _upload_ui(area, source, widget, keep)
    elif not source.built_in:
        default = os.environ.get(source.env, "") if source.env else ""
        path = area.text_input(source.path_label, session_kept(source.name, default) if keep else default, key=widget,
                               help=source.help).strip()
        if keep:
            session_keep(source.name, path)
    values = []
    for o in source.options if options else ():
        name = f"{source.name}-{o.name}"
        if o.free:
            value = area.text_input(o.label, session_kept(name, o.default) if keep else o.default,
                                    key=f"{widget}-{o.name}", help=o.help).strip()
        else:
            value = area.selectbox(o.label, o.choices, index=session_index(list(o.choices), name, keep),
                                   key=f"{widget}-{o.name}", help=o.help)
        values.append((o.name, session_keep(name, value) if keep else value))
    return SourceChoice(source, path, uploaded, tuple(values))


def _upload_ui(area, source: Source, widget: str, keep: bool) -> tuple[bytes, str] | None:
    """An upload's bytes and name; with ``keep``, an upload given earlier in the session until it is removed."""
    name = f"{source.name}-upload"
    upload = area.file_uploader("CSV", type=["csv"], key=widget, on_change=_forget_removed_upload,
                                args=(widget, name))
    if upload is not None:
        given = (check_upload(upload), upload.name)
        return session_keep(name, given) if keep else given
    given = session_kept(name, None) if keep else None
    if given is not None:
        area.caption(f"Using `{given[1]}`, uploaded earlier in this session.")
    return given


@st.cache_data(show_spinner="Reading the data…", max_entries=8)
def cached_source(name: str, path: str, split: str, options: tuple[tuple[str, str], ...] = (),
                  fingerprint: str = "") -> Corpus:
    """A source loaded through the registry; ``fingerprint`` renews the entry as a growing source (a study) grows."""
    return load(name, path, split=split, **dict(options))


@st.cache_data(show_spinner="Reading the upload…", max_entries=4)
def cached_upload(name: str, data: bytes, filename: str, split: str, roots: tuple[str, ...]) -> Corpus:
    """An uploaded copy of source ``name``: audio only from ``roots``, messages naming the file as uploaded."""
    return SOURCES[name].upload(data, filename, split, audio_roots=roots)


def load_choice_ui(choice: SourceChoice, split: str, *, upload: bool = False) -> Corpus | None:
    """The chosen source loaded (cached), or None with a line saying what to give first."""
    s = choice.source
    if s is None:
        return None
    if not choice.ready:
        if s.listing is not None:
            st.info(f"No {s.title[0].lower()}{s.title[1:]} yet: {s.hint}.")
        elif upload and s.upload is not None:
            envs = ", ".join(src.env for src in SOURCES.values() if src.env)
            st.info(f"Upload {s.hint}. Audio paths must be absolute and inside the shipped `data/` folder, "
                    f"{envs} or {DATA_DIRS_VAR}.")
        else:
            st.info(f"Give {s.hint}" + (f" (or set {s.env} before `make run`)." if s.env else "."))
        return None
    if choice.upload is not None:
        return cached_upload(s.name, *choice.upload, split, tuple(map(str, data_roots())))
    fingerprint = s.fingerprint(Path(choice.path)) if s.fingerprint is not None else ""
    return cached_source(s.name, choice.path, split, choice.options, fingerprint)


def corpus_source_ui(key: str = "corpus", show_split: bool = True) -> Corpus | None:
    """Sidebar picker over every available source (built in, a copy on this machine, a study, an upload).

    Returns the loaded corpus, or None when the user still has to choose
    something (an upload not yet given). Errors are shown, never raised. The
    choice (and an upload) is kept for the session, so every page opens on it.
    """
    with show_input_errors():
        choice = source_ui("Data", f"{key}-source", key, available(), sidebar=True, upload=True, options=True,
                           keep=True)
        # Pages that use every row (the indicator analysis) hide the split choice.
        splits = list(SPLIT_METHODS)
        split = session_keep("split", st.sidebar.selectbox(
            "Split", splits, index=session_index(splits, "split", True), key=f"{key}-split",
            help="speaker: no speaker in two splits; paper: 1,853 / 200 / 273 sentences")) if show_split \
            else SPLIT_METHODS[0]
        return load_choice_ui(choice, split, upload=True)


def missing_data_notice_ui() -> None:
    """A note when this copy has none of the embedded data sets (the demo corpus, EmoBank)."""
    if not any(s.built_in for s in available()):
        st.info("No data is loaded yet: the embedded demo corpus is not in this copy. "
                "Choose a copy on this machine or upload a CSV in the sidebar.")


def corpus_banner(corpus: Corpus) -> None:
    """Say what is loaded; synthetic data are always labelled as such."""
    if corpus.synthetic:
        st.warning(f"**Synthetic data.** `{corpus.name}` was generated with espeak-ng and scripted "
                   "text to show what the app does; its figures say nothing about real stress.",
                   icon=":material/science:")
    # The banner already says "synthetic": the loader's own note saying so would repeat it.
    notes = [n for n in corpus.notes if not (corpus.synthetic and n.lower().startswith("synthetic"))]
    if notes:
        st.caption(" · ".join(notes))
    if corpus.skipped:
        st.caption(f"{len(corpus.skipped)} items were skipped while loading (see the overview page).")


def corpus_overview_ui(corpus: Corpus) -> None:
    """What a loaded corpus holds: counts, rows per split, label scales, its first rows and skipped items."""
    table = corpus.table
    st.subheader(f"Loaded: {corpus.name}")
    cols = st.columns(4)
    cols[0].metric("Utterances", f"{len(table):,}")
    cols[1].metric("Speakers", table["speaker"].nunique())
    stress = table["stress"].dropna()
    cols[2].metric("Stressed share", f"{stress.mean():.0%}" if len(stress) else "no stress labels",
                   help="share of stress-labelled utterances labelled stressed")
    cols[3].metric("With audio", f"{(table['audio_path'] != '').mean():.0%}",
                   help="utterances with an audio file (the acoustic side needs one; text-only sets have none)")
    heard = int((table["audio_path"] != "").sum())
    if heard < len(table):   # "With audio 2 %" was unexplained: say what the rest of the rows can and cannot do
        stored = all(c in table.columns for c in EGEMAPS_FEATURES) and bool(table[EGEMAPS_FEATURES].notna().all(axis=None))
        st.caption(f"With audio: {heard:,} of {len(table):,} utterances have an audio file to play or to extract "
                   "voice features from; " + ("every row carries stored eGeMAPS features, so the acoustic side "
                                              "uses them all." if stored else
                                              "the acoustic side can use only those (text-only rows have none)."))
    absent = [t for t in INTERNAL_TASKS if t not in corpus.tasks]
    st.markdown(f"**Tasks with labels:** {', '.join(corpus.tasks) or 'none'}"
                + (f" (no {' or '.join(absent)} labels: pages and runs offer only the others)" if absent else ""))
    # Only the tasks the table has: a count of 0 stressed would read as a label where there is none.
    aggregations = {"utterances": ("utterance_id", "size"), "speakers": ("speaker", "nunique")}
    if MAIN_TASK in corpus.tasks:
        aggregations["stressed"] = (MAIN_TASK, lambda s: int((s == 1).sum()))
    aggregations |= {f"{t}_mean": (t, "mean") for t in EMOTION_TASKS if t in corpus.tasks}
    per_split = table.groupby("split").agg(**aggregations).reindex(list(SPLITS))
    table_ui(per_split, {f"{t}_mean": 2 for t in EMOTION_TASKS}, width="stretch")   # a split may be absent
    scales = ", ".join(f"{k} {lo:g}..{hi:g}" for k, (lo, hi) in corpus.label_scales.items())
    if scales:
        st.caption(f"Label scales (the data set's own): {scales}.")
    with st.expander("First rows of the canonical table"):
        first = table.head(20)
        shown = [c for c in CANONICAL_COLUMNS if c in first]
        st.dataframe(first[shown], width="stretch", hide_index=True,
                     row_height=wrapped_row_height(first["text"].dropna(), TEXT_COLUMN_PX),
                     column_config={"text": st.column_config.TextColumn("text", width=TEXT_COLUMN_PX)})
        if extra := [c for c in first if c not in shown]:   # a table as wide as the page, its sentences whole
            st.caption(f"Also in the table, not shown here: {', '.join(extra)}.")
    if corpus.skipped:
        with st.expander(f"{len(corpus.skipped)} skipped items"):
            st.dataframe(pd.DataFrame([vars(s) for s in corpus.skipped]), width="stretch")

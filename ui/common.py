"""Small Streamlit helpers every page uses: data-source picker, error display, labels."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import streamlit as st

from muser_core.base.errors import InputError
from muser_core.base.paths import DATA_DIR
from muser_core.data.corpus import Corpus, NoUsableRows, load_manifest, load_muse, load_omg

MAX_UPLOAD_MB = 50  # same cap as server.maxUploadSize in .streamlit/config.toml
DEMO_LABEL = "Demo corpus (synthetic)"
MUSE_LABEL = "MuSE copy on this machine"
UPLOAD_LABEL = "Upload a CSV (manifest or canonical table)"
STUDY_LABEL = "Study recorded in this app"
# Served by the app itself: a ":material/...:" page icon makes the browser fetch it from
# fonts.gstatic.com. Pages leave page_icon out and inherit it (scripts/make_favicon.py).
FAVICON = str(Path(__file__).with_name("favicon.png"))
# Session-state keys of the data choice that every page shares. Streamlit drops a
# widget's state when a page without it runs, so the choice is kept under keys of its own.
KEPT = "muser-data"
# Folders (besides the shipped data) that uploaded manifests may point into, os.pathsep-separated.
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


def data_roots() -> list[Path]:
    """Folders an uploaded manifest's audio may come from: shipped data, configured copies, MUSER_DATA_DIRS."""
    named = [os.environ.get("MUSER_MUSE_ROOT", ""), os.environ.get("MUSER_OMG_ROOT", ""),
             *os.environ.get(DATA_DIRS_VAR, "").split(os.pathsep)]
    return [DATA_DIR, *(Path(p) for p in named if p.strip())]


def check_upload(upload) -> bytes:
    """The upload's bytes, or an InputError naming the file when it is over the cap."""
    if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
        raise InputError(f"{upload.name}: {upload.size / 1e6:.1f} MB is over the {MAX_UPLOAD_MB} MB upload cap")
    return upload.getvalue()


@st.cache_data(show_spinner="Loading the demo corpus…")
def cached_demo(split: str = "speaker") -> Corpus:
    from muser_core.data.demo import load_demo

    return load_demo(split=split)


@st.cache_data(show_spinner="Reading the MuSE copy…")
def cached_muse(root: str, emotion_label: str, split: str) -> Corpus:
    return load_muse(root, emotion_label=emotion_label, split=split)


@st.cache_data(show_spinner="Reading the OMG-Emotion copy…")
def cached_omg(root: str) -> Corpus:
    return load_omg(root)


@st.cache_data(show_spinner="Reading the study…", max_entries=4)
def cached_study(root: str, split: str, fingerprint: str) -> Corpus:
    """A study's sentences; ``fingerprint`` (muser_core.study.study_fingerprint) renews the entry as it grows."""
    from muser_core.study.store import load_study

    return load_study(root, split=split)


@st.cache_data(show_spinner="Reading the upload…", max_entries=4)
def cached_manifest(data: bytes, name: str, split: str, roots: tuple[str, ...]) -> Corpus:
    """An uploaded manifest: audio only from ``roots``, messages naming the file as uploaded."""
    name = Path(name).name or "upload.csv"  # the name only: an upload can't choose where it lands
    with tempfile.TemporaryDirectory(prefix="muser-upload-") as folder:  # removed once read
        path = Path(folder) / name
        path.write_bytes(data)
        return load_manifest(path, split, name=name, audio_roots=roots, relative_audio=False)


def demo_available() -> bool:
    """True once the embedded demo corpus is in the repo."""
    try:
        from muser_core.data import demo  # noqa: F401
    except ImportError:
        return False
    return True


def _kept(name: str, default):
    return st.session_state.get(f"{KEPT}-{name}", default)


def _keep(name: str, value):
    st.session_state[f"{KEPT}-{name}"] = value
    return value


def _index(options: list[str], name: str) -> int:
    kept = _kept(name, options[0])
    return options.index(kept) if kept in options else 0


def _forget_removed_upload(widget_key: str) -> None:
    if st.session_state.get(widget_key) is None:  # the user removed the file
        st.session_state.pop(f"{KEPT}-upload", None)


def corpus_source_ui(key: str = "corpus", show_split: bool = True) -> Corpus | None:
    """Sidebar picker: the demo corpus, a configured MuSE copy, a study recorded in the app, or an uploaded CSV.

    Returns the loaded corpus, or None when the user still has to choose
    something (an upload not yet given). Errors are shown, never raised. The
    choice (and an upload) is kept for the session, so every page opens on it.
    """
    choices = ([DEMO_LABEL] if demo_available() else []) + [MUSE_LABEL, STUDY_LABEL, UPLOAD_LABEL]
    source = _keep("source", st.sidebar.radio("Data", choices, index=_index(choices, "source"),
                                              key=f"{key}-source"))
    # Pages that use every row (the indicator analysis) hide the split choice.
    splits = ["speaker", "paper"]
    split = _keep("split", st.sidebar.selectbox(
        "Split", splits, index=_index(splits, "split"), key=f"{key}-split",
        help="speaker: no speaker in two splits; paper: 1,853 / 200 / 273 sentences")) if show_split else "speaker"
    with show_input_errors():
        if source == DEMO_LABEL:
            return cached_demo(split)
        if source == MUSE_LABEL:
            root = _keep("muse-root", st.sidebar.text_input(
                "MuSE root folder", _kept("muse-root", os.environ.get("MUSER_MUSE_ROOT", "")),
                key=f"{key}-muse-root"))
            labels = ["self", "crowd", "crowd_context"]
            label = _keep("muse-label", st.sidebar.selectbox("Emotion labels", labels,
                                                             index=_index(labels, "muse-label"),
                                                             key=f"{key}-muse-label"))
            if not root:
                st.info("Give the folder of your MuSE copy (or set MUSER_MUSE_ROOT before `make run`).")
                return None
            return cached_muse(root, label, split)
        if source == STUDY_LABEL:
            return _study_source_ui(key, split)
        upload = st.sidebar.file_uploader("CSV", type=["csv"], key=f"{key}-upload",
                                          on_change=_forget_removed_upload, args=(f"{key}-upload",))
        if upload is not None:
            _keep("upload", (check_upload(upload), upload.name))
        kept = _kept("upload", None)
        if kept is None:
            st.info("Upload a CSV with a `text` and/or `audio_path` column and any of "
                    "`stress`, `activation`, `valence`. Audio paths must be absolute and inside the "
                    f"shipped `data/` folder, MUSER_MUSE_ROOT, MUSER_OMG_ROOT or {DATA_DIRS_VAR}.")
            return None
        if upload is None:
            st.sidebar.caption(f"Using `{kept[1]}`, uploaded earlier in this session.")
        return cached_manifest(*kept, split, tuple(map(str, data_roots())))


def _study_source_ui(key: str, split: str) -> Corpus | None:
    """A study from the studies folder (fewer than 3 participants: split by session, as its notes say)."""
    from muser_core.study.store import list_studies, studies_dir, study_fingerprint

    studies = list_studies()
    if not studies:
        st.info("No study yet: record one on the **Record a corpus** page.")
        return None
    study = _keep("study", st.sidebar.selectbox("Study", studies, index=_index(studies, "study"),
                                                key=f"{key}-study"))
    root = studies_dir() / study
    return cached_study(str(root), split, study_fingerprint(root))


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

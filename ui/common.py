"""Small Streamlit helpers every page uses: data-source picker, error display, labels."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

from muser_core.corpus import Corpus, load_manifest, load_muse, load_omg
from muser_core.errors import InputError

MAX_UPLOAD_MB = 50  # same cap as server.maxUploadSize in .streamlit/config.toml
DEMO_LABEL = "Demo corpus (synthetic)"
MUSE_LABEL = "MuSE copy on this machine"
UPLOAD_LABEL = "Upload a CSV (manifest or canonical table)"


@contextmanager
def show_input_errors() -> Iterator[None]:
    """Show an InputError as one red line and stop the page, instead of a traceback."""
    try:
        yield
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()


def check_upload(upload) -> bytes:
    """The upload's bytes, or an InputError naming the file when it is over the cap."""
    if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
        raise InputError(f"{upload.name}: {upload.size / 1e6:.1f} MB is over the {MAX_UPLOAD_MB} MB upload cap")
    return upload.getvalue()


@st.cache_data(show_spinner="Loading the demo corpus…")
def cached_demo(split: str = "speaker") -> Corpus:
    from muser_core.demo import load_demo

    return load_demo(split=split)


@st.cache_data(show_spinner="Reading the MuSE copy…")
def cached_muse(root: str, emotion_label: str, split: str) -> Corpus:
    return load_muse(root, emotion_label=emotion_label, split=split)


@st.cache_data(show_spinner="Reading the OMG-Emotion copy…")
def cached_omg(root: str) -> Corpus:
    return load_omg(root)


@st.cache_data(show_spinner="Reading the upload…")
def cached_manifest(data: bytes, name: str) -> Corpus:
    folder = Path(tempfile.mkdtemp(prefix="muser-upload-"))
    path = folder / Path(name).name  # the name only: an upload can't choose where it lands
    path.write_bytes(data)
    return load_manifest(path)


def demo_available() -> bool:
    """True once the embedded demo corpus is in the repo."""
    try:
        from muser_core import demo  # noqa: F401
    except ImportError:
        return False
    return True


def corpus_source_ui(key: str = "corpus", show_split: bool = True) -> Corpus | None:
    """Sidebar picker: the demo corpus, a configured MuSE copy, or an uploaded CSV.

    Returns the loaded corpus, or None when the user still has to choose
    something (an upload not yet given). Errors are shown, never raised.
    """
    choices = ([DEMO_LABEL] if demo_available() else []) + [MUSE_LABEL, UPLOAD_LABEL]
    source = st.sidebar.radio("Data", choices, key=f"{key}-source")
    # Pages that use every row (the indicator analysis) hide the split choice.
    split = st.sidebar.selectbox("Split", ["speaker", "paper"], key=f"{key}-split",
                                 help="speaker: no speaker in two splits; paper: 1,853 / 200 / 273 sentences"
                                 ) if show_split else "speaker"
    with show_input_errors():
        if source == DEMO_LABEL:
            return cached_demo(split)
        if source == MUSE_LABEL:
            root = st.sidebar.text_input("MuSE root folder", os.environ.get("MUSER_MUSE_ROOT", ""),
                                         key=f"{key}-muse-root")
            label = st.sidebar.selectbox("Emotion labels", ["self", "crowd", "crowd_context"],
                                         key=f"{key}-muse-label")
            if not root:
                st.info("Give the folder of your MuSE copy (or set MUSER_MUSE_ROOT before `make run`).")
                return None
            return cached_muse(root, label, split)
        upload = st.sidebar.file_uploader("CSV", type=["csv"], key=f"{key}-upload")
        if upload is None:
            st.info("Upload a CSV with a `text` and/or `audio_path` column and any of "
                    "`stress`, `activation`, `valence`.")
            return None
        return cached_manifest(check_upload(upload), upload.name)


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

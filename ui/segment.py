"""Streamlit helpers of the Segment page: cut an uploaded recording into sentence clips."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import streamlit as st

from muser_core.audio.decode import load_audio
from muser_core.audio.segment import MIN_CLIP_S, PAD_S, Sentence, segment_file, segment_signal
from muser_core.audio.transcribe import RECOGNISERS, get_recogniser
from muser_core.base.words import plural
from ui.common import AUDIO_TYPES


@st.cache_data(show_spinner="Transcribing and cutting into sentences…", max_entries=4)
def cached_sentences(data: bytes, name: str, recogniser: str) -> list[Sentence]:
    """The recording's sentences, transcribed once per file and recogniser, so a new speaker id or label
    does not re-transcribe the whole file (20 s)."""
    return segment_signal(load_audio(data, name), get_recogniser(recogniser))


@st.cache_data(show_spinner="Writing the clips…", max_entries=4)
def cached_segments(data: bytes, name: str, speaker: str, recogniser: str,
                    labels: tuple[tuple[str, str], ...]) -> tuple[pd.DataFrame, bytes]:
    """The sentence table (with each clip's bytes) and a zip of clips + manifest, for one upload."""
    sentences = cached_sentences(data, name, recogniser)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "segments"
        manifest, _ = segment_file(data, out, speaker, get_recogniser(recogniser), dict(labels), name=name,
                                   sentences=sentences)
        table = pd.read_csv(manifest, dtype=str, keep_default_na=False)
        table["audio"] = [(out / p).read_bytes() for p in table["audio_path"]]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(out.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(out.parent).as_posix())
    return table, buffer.getvalue()


def segment_inputs_ui():
    """The recording and what to say about it: (upload or None, speaker, recogniser, stress label)."""
    st.caption("The paper's pre-processing (4.2): each monologue is cut into sentences and transcribed; every "
               "sentence keeps the monologue's labels. The recogniser's word timestamps give the cuts "
               f"({PAD_S} s padding where there is room, no clip under {MIN_CLIP_S} s). The same as "
               "`muser segment --audio LONG.wav --speaker ID --out DIR`.")

    upload = st.file_uploader("Long recording (a monologue)", type=AUDIO_TYPES, key="segment-upload")
    cols = st.columns(3)
    speaker = cols[0].text_input("Speaker id", "speaker1", key="segment-speaker")
    recogniser = cols[1].selectbox("Speech recogniser", list(RECOGNISERS), key="segment-recogniser")
    stress = cols[2].selectbox("Stress label for every sentence", ["(none)", "stressed", "not stressed"],
                               key="segment-stress")
    return upload, speaker, recogniser, stress


def segment_summary_ui(table: pd.DataFrame, name: str) -> None:
    st.success(f"{plural(len(table), 'sentence')} from {name}.")


def sentences_ui(table: pd.DataFrame) -> None:
    """The sentence table, then a player per clip."""
    shown = table.drop(columns=["audio"]).assign(
        seconds=lambda t: (t["end_s"].astype(float) - t["start_s"].astype(float)).round(2))
    st.dataframe(shown[["utterance_id", "start_s", "end_s", "seconds", "text"]], hide_index=True, width="stretch")
    for row in table.itertuples():
        cols = st.columns([1, 3])
        cols[0].audio(row.audio, format="audio/wav")
        cols[1].markdown(f"**{row.utterance_id}** ({float(row.start_s):.2f}-{float(row.end_s):.2f} s): {row.text}")

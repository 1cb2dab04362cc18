"""Segment a long recording into sentences (paper 4.2), one clip each, with a manifest for the corpus loader."""

from __future__ import annotations

import streamlit as st

from muser_core.audio.segment import MIN_CLIP_S, PAD_S
from muser_core.audio.transcribe import RECOGNISERS
from muser_core.base.words import plural
from ui.common import check_upload, show_input_errors
from ui.live import AUDIO_TYPES
from ui.segment import cached_segments, sentences_ui

st.set_page_config(page_title="Segment a recording · MUSER stress lab", layout="wide")
st.title("Segment a recording into sentences")
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
if upload is None:
    st.info("Upload a recording to cut it into sentences.")
    st.stop()

labels = () if stress == "(none)" else (("stress", stress),)
with show_input_errors():
    table, archive = cached_segments(check_upload(upload), upload.name, speaker, recogniser, labels)
st.success(f"{plural(len(table), 'sentence')} from {upload.name}.")
st.download_button("Download clips and manifest.csv (zip)", archive, file_name=f"{speaker}-sentences.zip",
                   mime="application/zip", key="segment-download")
sentences_ui(table)

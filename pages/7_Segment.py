"""Segment a long recording into sentences (paper 4.2), one clip each, with a manifest for the corpus loader."""

from __future__ import annotations

import streamlit as st

from ui.common import check_upload, show_input_errors
from ui.segment import cached_segments, segment_inputs_ui, segment_summary_ui, sentences_ui

st.set_page_config(page_title="Segment a recording · MUSER stress lab", layout="wide")
st.title("Segment a recording into sentences")
upload, speaker, recogniser, stress = segment_inputs_ui()
if upload is None:
    st.info("Upload a recording to cut it into sentences.")
    st.stop()

labels = () if stress == "(none)" else (("stress", stress),)
with show_input_errors():
    table, archive = cached_segments(check_upload(upload), upload.name, speaker, recogniser, labels)
segment_summary_ui(table, upload.name)
st.download_button("Download clips and manifest.csv (zip)", archive, file_name=f"{speaker}-sentences.zip",
                   mime="application/zip", key="segment-download")
sentences_ui(table)

"""Streamlit helpers of the Live prediction page: model picker, clip inputs, calibration, gauge."""

from __future__ import annotations

import time

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis.live_explain import stress_indicators, text_profile
from muser_core import microphone
from muser_core.errors import InputError
from muser_core.predict import DEFAULT_CHECKPOINT, LivePredictor, make_baseline, prepare_clip
from ui.common import check_upload

AUDIO_TYPES = ["wav", "flac", "ogg", "mp3", "m4a", "webm"]


@st.cache_resource(show_spinner="Loading the model and the speech recogniser…")
def load_predictor(checkpoint: str) -> LivePredictor:
    predictor = LivePredictor(checkpoint)
    predictor.warm_up()
    return predictor


@st.cache_data(show_spinner="Finding the corpus' stress indicators…")
def cached_indicators(corpus_spec: str, split: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """The training corpus' acoustic and text stress indicators, and its word-category profile."""
    from muser_core.train import load_corpus

    corpus = load_corpus(corpus_spec, split)
    profile = text_profile(corpus.table["text"].tolist())
    return stress_indicators(corpus, "acoustic"), stress_indicators(corpus, "text"), profile


@st.cache_data(show_spinner=False)
def cached_profile(transcripts: tuple[str, ...]) -> pd.Series:
    """Word-category profile of the baseline transcripts (recomputed only when they change)."""
    return text_profile(transcripts)


def checkpoint_ui() -> str:
    """Sidebar: which trained run to use (the shipped demo checkpoint by default)."""
    from muser_core.train.process import list_runs

    options = {f"demo checkpoint (synthetic data) — {DEFAULT_CHECKPOINT.name}": str(DEFAULT_CHECKPOINT)}
    try:
        listed = list_runs()
        for row in listed.itertuples():
            if getattr(row, "state", "") == "finished":
                options[f"run: {row.name}"] = str(row.path)
    except (InputError, OSError, AttributeError):
        pass  # no runs folder yet: the demo checkpoint is always there
    label = st.sidebar.selectbox("Model", list(options), key="live-model")
    return options[label]


def clip_source_ui() -> tuple[bytes | None, str]:
    """The clip to score, from the browser microphone, an upload, the server microphone or a sample."""
    browser_tab, upload_tab, server_tab, sample_tab = st.tabs(
        ["Browser microphone", "Upload a file", "Server microphone", "Sample clips"])
    with browser_tab:
        recorded = st.audio_input("Record a clip", key="live-browser")
        if recorded is not None:
            return check_upload(recorded), "browser recording"
    with upload_tab:
        upload = st.file_uploader("Audio file", type=AUDIO_TYPES, key="live-upload")
        if upload is not None:
            return check_upload(upload), upload.name
    with server_tab:
        data = server_microphone_ui()
        if data is not None:
            return data, "server recording"
    with sample_tab:
        from muser_core.demo import demo_clips

        clips = {p.name: p for p in demo_clips()}
        st.caption("Clips from the synthetic demo corpus (espeak-ng voices).")
        name = st.selectbox("Sample", ["(none)", *clips], key="live-sample")
        if name != "(none)":
            return clips[name].read_bytes(), name
    return None, ""


def server_microphone_ui() -> bytes | None:
    """Record with the server's own microphone (local use); one line when there is none."""
    try:
        devices = microphone.input_devices()
    except microphone.MicrophoneUnavailable as exc:
        st.info(f"Server microphone unavailable: {exc}. The other inputs still work.")
        return None
    if not devices:
        st.info("Server microphone unavailable: no input device on the server. The other inputs still work.")
        return None
    device = st.selectbox("Input device", devices, format_func=lambda d: d.name, key="live-device")
    seconds = st.slider("Seconds", 2, 15, 5, key="live-seconds")
    if st.button("Record", key="live-record"):
        countdown = st.empty()
        for left in (3, 2, 1):
            countdown.write(f"Recording starts in {left}…")
            time.sleep(1)
        countdown.write(f"Recording {seconds} s… speak now")
        try:
            signal = microphone.record(seconds, device.index)
        except microphone.MicrophoneUnavailable as exc:
            st.error(str(exc))
            return None
        countdown.empty()
        import io

        import soundfile

        buffer = io.BytesIO()
        soundfile.write(buffer, signal, 16_000, format="WAV")
        st.session_state["live-server-clip"] = buffer.getvalue()
    return st.session_state.get("live-server-clip")


def baseline_ui(predictor: LivePredictor):
    """Calibration: relaxed clips of the same speaker; returns the Baseline or None."""
    store = st.session_state.setdefault("live-baseline", [])
    with st.expander(f"Calibration: relaxed baseline ({len(store)} clip(s) recorded)"):
        st.write("The paper normalises voice features per speaker. Record one or more clips of you "
                 "speaking calmly; later clips are compared with them.")
        clip = st.audio_input("Record a relaxed baseline clip", key="live-baseline-input")
        cols = st.columns(2)
        if clip is not None and cols[0].button("Add as baseline", key="live-baseline-add"):
            prepared = prepare_clip(check_upload(clip), "baseline recording")
            transcript = predictor.recogniser.transcribe(prepared.signal) if predictor.uses_text else ""
            store.append((prepared, transcript))
            st.rerun()
        if store and cols[1].button("Clear baseline", key="live-baseline-clear"):
            store.clear()
            st.rerun()
    return make_baseline([c for c, _ in store], [t for _, t in store])


def gauge(probability: float) -> go.Figure:
    figure = go.Figure(go.Indicator(
        mode="gauge+number", value=100 * probability, number={"suffix": "%"},
        title={"text": "Probability of stress"},
        gauge={"axis": {"range": [0, 100]}, "bar": {"color": "#c0392b" if probability >= 0.5 else "#2e86c1"},
               "steps": [{"range": [0, 50], "color": "#eaf2f8"}, {"range": [50, 100], "color": "#fdedec"}],
               "threshold": {"line": {"color": "black", "width": 2}, "value": 50}}))
    figure.update_layout(height=260, margin={"t": 50, "b": 10, "l": 30, "r": 30})
    return figure

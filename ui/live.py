"""Streamlit helpers of the Live prediction page: model and recogniser pickers, clip inputs, calibration, charts."""

from __future__ import annotations

import hashlib
import io
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis.display import readable
from analysis.live_explain import acoustic_movers, stress_indicators, text_movers, text_profile
from analysis.palette import LIGHT, task_colour
from muser_core.audio import microphone
from muser_core.audio.transcribe import (
    DEFAULT_RECOGNISER,
    RECOGNISERS,
    get_recogniser,
    takes_model_folder,
)
from muser_core.base.tasks import EMOTION_TASKS, MAIN_TASK
from muser_core.predict.base import Predictor
from muser_core.predict.clip import make_baseline, prepare_clip
from muser_core.predict.load import load_predictor as load_model
from muser_core.predict.run_model import DEFAULT_CHECKPOINT, usable_checkpoints
from muser_core.predict.samples import SampleClip, sample_clips
from muser_core.study.personal_model import MODEL_FILE, personal_models, read_personal_model
from muser_core.train.data import load_corpus
from ui.common import AUDIO_TYPES, check_upload, table_ui

SOURCE = "live-source"   # which input the user touched last: that one is scored
NO_SAMPLE = "(none)"


def load_predictor(checkpoint: str, recogniser: str = DEFAULT_RECOGNISER, asr_model: str = "") -> Predictor:
    """The model of either kind (a run folder or a personal model's), loaded once per version of its file."""
    personal = Path(checkpoint) / MODEL_FILE
    version = personal.stat().st_mtime_ns if personal.is_file() else 0   # a retrained personal model is reloaded
    return _cached_predictor(checkpoint, recogniser, asr_model, version)


# Models kept loaded across sessions (each holds a Transformer and a recogniser, a few hundred MB): choosing
# run folders in turn must not keep them all.
MODELS_KEPT = 2


@st.cache_resource(show_spinner="Loading the model and the speech recogniser…", max_entries=MODELS_KEPT)
def _cached_predictor(checkpoint: str, recogniser: str, asr_model: str, version: int) -> Predictor:
    predictor = load_model(checkpoint, get_recogniser(recogniser, asr_model or None))
    predictor.warm_up()
    return predictor


def indicators_for(predictor: Predictor) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """The stress indicators "What moved" compares with: a personal model's own coefficients, else the
    paper's section 3 analysis on the run's training corpus; and the reference word profile."""
    own = predictor.own_indicators()
    if own is not None:
        return own
    return cached_indicators(*predictor.training_corpus)


def model_notes_ui(predictor: Predictor) -> None:
    """What the chosen model is: synthetic data said, a personal model's measured accuracy shown first."""
    if predictor.synthetic:
        st.warning("**This model was trained on synthetic data** (the espeak-ng demo corpus). It is not a "
                   "validated stress detector; its output on a real voice is a demonstration only.",
                   icon=":material/science:")
    headline = predictor.headline()
    if headline:
        st.info(headline, icon=":material/person:")
    for notice in predictor.notices:
        st.warning(notice)
    card = predictor.card()
    if card:
        with st.sidebar.expander("Model card", expanded=predictor.card_first):
            st.markdown(card)


@st.cache_data(show_spinner="Finding the corpus' stress indicators…", max_entries=4)
def cached_indicators(corpus_spec: str, split: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """The training corpus' acoustic and text stress indicators, and its word-category profile."""
    corpus = load_corpus(corpus_spec, split)
    profile = text_profile(corpus.table["text"].tolist())
    return stress_indicators(corpus, "acoustic"), stress_indicators(corpus, "text"), profile


@st.cache_data(show_spinner=False, max_entries=64)
def cached_profile(transcripts: tuple[str, ...]) -> pd.Series:
    """Word-category profile of the baseline transcripts (recomputed only when they change)."""
    return text_profile(transcripts)


@st.cache_data(show_spinner=False)
def cached_samples() -> list[SampleClip]:
    return sample_clips()


def checkpoint_ui() -> str:
    """Sidebar: which model to use: a trained run (only those whose checkpoint can score a clip) or a
    personal model trained on a study, labelled with its measured accuracy."""
    # Short labels (the sidebar is narrow: a long one was cut off); the chosen one's details below it.
    demo = "demo model (synthetic)"
    options = {demo: str(DEFAULT_CHECKPOINT)}
    details = {demo: f"{DEFAULT_CHECKPOINT.name}: the shipped checkpoint, trained on the synthetic demo corpus"}
    options.update({f"run: {label}": str(path) for label, path in usable_checkpoints().items()})
    for label, folder in personal_models().items():
        model = read_personal_model(folder)
        name = f"personal: {label} ({model.cv.accuracy:.0%})"
        options[name] = str(folder)
        details[name] = (f"{label}: {model.cv.accuracy:.0%} on held-out sessions ({model.sessions} sessions)")
    label = st.sidebar.selectbox("Model", list(options), key="live-model",
                                 help="Runs without a usable checkpoint (no weights yet, or no normalisation "
                                      "statistics) are not listed. Personal models are trained on the Record a "
                                      "corpus page; their accuracy is measured by leave-one-session-out "
                                      "cross-validation.")
    st.sidebar.caption(details.get(label, options[label]))
    return options[label]


def recogniser_ui() -> tuple[str, str]:
    """Sidebar: which registered recogniser transcribes, and an optional local Whisper folder."""
    name = st.sidebar.selectbox("Speech recogniser", list(RECOGNISERS), key="live-recogniser",
                                help="whisper: Whisper tiny.en (faster-whisper, offline), the default; "
                                     "pocketsphinx: CMU PocketSphinx, lighter and less accurate.")
    folder = ""
    if takes_model_folder(name):
        folder = st.sidebar.text_input("Local Whisper model folder (optional)", key="live-asr-model",
                                       help="A CTranslate2 Whisper folder (base, small...) on this server; "
                                            "empty: the bundled tiny.en.").strip()
    return name, folder


@dataclass
class ClipChoice:
    """The clip to score, the input tab it came from (its result is drawn there, nowhere else) and, for a
    shipped sample, what is known about it."""

    data: bytes
    name: str
    sample: SampleClip | None = None
    tab: object = None          # the st.tabs container of its input

    @property
    def key(self) -> str:
        """The clip's content: a correction belongs to this clip, not to every later one under the same name
        (each browser recording is called "browser recording")."""
        return hashlib.sha1(self.data).hexdigest()[:16]


def _touched(source: str):
    def mark():
        st.session_state[SOURCE] = source
    return mark


# The input tabs: the source name each input marks as touched, and its tab's title.
SOURCE_TABS = {"browser": "Browser microphone", "upload": "Upload a file", "server": "Server microphone",
               "sample": "Sample clips"}


def clip_source_ui() -> ClipChoice | None:
    """The clip to score: browser microphone, upload, server microphone or a sample.

    Every tab is drawn on every run (returning from inside one left the later
    tabs blank); the input the user touched last is the one scored, and its
    result belongs in its own tab (the caller draws it into ``choice.tab``): a
    sample's result under the microphone tabs read as the recording's. A tab
    whose clip is not the one scored says so and offers to score it.
    """
    tabs = dict(zip(SOURCE_TABS, st.tabs(list(SOURCE_TABS.values())), strict=True))
    choices: dict[str, ClipChoice] = {}
    with tabs["browser"]:
        recorded = st.audio_input("Record a clip", key="live-browser", on_change=_touched("browser"))
        if recorded is not None:
            choices["browser"] = ClipChoice(check_upload(recorded), "browser recording")
    with tabs["upload"]:
        upload = st.file_uploader("Audio file", type=AUDIO_TYPES, key="live-upload", on_change=_touched("upload"))
        if upload is not None:
            choices["upload"] = ClipChoice(check_upload(upload), upload.name)
    with tabs["server"]:
        data = server_microphone_ui()
        if data is not None:
            choices["server"] = ClipChoice(data, "server recording")
    with tabs["sample"]:
        samples = {s.title: s for s in cached_samples()}
        st.caption("Real voices: a LibriVox reading (public domain) with its reference text, no stress label. "
                   "Synthetic: espeak-ng clips of the demo corpus with their sentence and true labels.")
        title = st.selectbox("Sample", [NO_SAMPLE, *samples], key="live-sample", on_change=_touched("sample"))
        if title != NO_SAMPLE:
            sample = samples[title]
            st.caption(true_label(sample))  # the reference text is shown beside the transcript
            choices["sample"] = ClipChoice(sample.path.read_bytes(), title, sample)
    if not choices:
        return None
    active = st.session_state.get(SOURCE)
    active = active if active in choices else next(iter(choices))
    for source in choices:
        if source != active:
            with tabs[source]:
                st.caption(f"The clip scored is the one in the {SOURCE_TABS[active]} tab (the input used last); "
                           "its result is shown there.")
                st.button("Score this tab's clip", key=f"live-score-{source}", on_click=_touched(source))
    choice = choices[active]
    choice.tab = tabs[active]
    return choice


def true_label(sample: SampleClip) -> str:
    """One line: the sample's true labels, or that it has none."""
    if sample.stress is None:
        return "True label: none (a reading, not labelled for stress)"
    parts = [f"stress = {'stressed' if sample.stress == 1 else 'not stressed'}"]
    parts += [f"{k} {v:g}" for k, v in (("activation", sample.activation), ("valence", sample.valence))
              if v is not None]
    return ("True label: " + ", ".join(parts) + " (the demo corpus' synthetic self-report scale 1..9; the model's "
            "activation and valence are on its own scale, which its card names)")


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
        import soundfile

        buffer = io.BytesIO()
        soundfile.write(buffer, signal, 16_000, format="WAV")
        st.session_state["live-server-clip"] = buffer.getvalue()
        st.session_state[SOURCE] = "server"
    return st.session_state.get("live-server-clip")


def _add_baseline(store: list, data: bytes, name: str, predictor: Predictor) -> None:
    prepared = prepare_clip(data, name)
    make_baseline([prepared], names=[name])  # refuses a clip that is not speech, naming it
    transcript = predictor.recogniser.transcribe(prepared.signal) if predictor.uses_text else ""
    store.append((prepared, transcript, name))


def baseline_ui(predictor: Predictor):
    """Calibration: relaxed clips of the same speaker, recorded or uploaded; returns the Baseline or None."""
    if not predictor.takes_baseline:
        st.caption(f"No relaxed baseline needed: this model normalises with {predictor.reference(True)}.")
        return None
    store = st.session_state.setdefault("live-baseline", [])
    with st.expander(f"Calibration: relaxed baseline ({len(store)} clip(s))"):
        st.write("The paper normalises voice features per speaker. Record or upload one or more clips of "
                 "you speaking calmly; later clips are compared with them.")
        cols = st.columns(2)
        with cols[0]:
            clip = st.audio_input("Record a relaxed baseline clip", key="live-baseline-input")
            if clip is not None and st.button("Add recording as baseline", key="live-baseline-add"):
                _add_baseline(store, check_upload(clip), "baseline recording", predictor)
                st.rerun()
        with cols[1]:
            files = st.file_uploader("Relaxed clips from files", type=AUDIO_TYPES, accept_multiple_files=True,
                                     key="live-baseline-files")
            if files and st.button("Add files as baseline", key="live-baseline-add-files"):
                for upload in files:
                    _add_baseline(store, check_upload(upload), upload.name, predictor)
                st.rerun()
        if store:
            st.caption("In the baseline: " + ", ".join(name for *_, name in store))
            if st.button("Clear baseline", key="live-baseline-clear"):
                store.clear()
                st.rerun()
    return make_baseline([c for c, *_ in store], [t for _, t, _ in store], [n for *_, n in store])


def result_ui(choice: ClipChoice, result, corrected: str | None, predictor: Predictor, baseline) -> None:
    """The clip's prediction and why, drawn in its own input tab."""
    described = result.recogniser
    if corrected is not None:
        st.caption("Transcript corrected by hand (the recogniser was not run for this clip).")
    else:
        st.caption(f"Transcribed offline by {described.get('recogniser')} ({described.get('model')}"
                   + (f", {described['source']}" if described.get("source") else "") + ").")
    if choice.sample is not None:
        st.markdown(f"**Reference text** (what was said): {choice.sample.text}")

    if not result.scored:
        st.warning(result.not_speech, icon=":material/hearing_disabled:")
        for warning in result.warnings:
            st.warning(warning)
        timings_ui(result)
        return

    left, right = st.columns([1, 1])
    with left:
        st.plotly_chart(gauge(result.stress_probability), width="stretch")
        if result.probability_scaling:
            st.caption(f"Calibrated probability: {result.probability_scaling}.")
    with right:
        scales = predictor.label_scales
        st.metric("Prediction", "stressed" if result.stressed else "not stressed")
        for task in EMOTION_TASKS:
            value = getattr(result, task)
            if value is not None:
                lo, hi = scales.get(task, (float("nan"), float("nan")))
                st.metric(task.capitalize(), f"{value:.2f}", help=f"on the training data's scale {lo:g}..{hi:g}")
        if result.calibrated:
            st.caption(f"Calibrated against {predictor.reference(True)}.")
    for warning in result.warnings:   # "not calibrated", when it applies, is one of these
        st.warning(warning)

    with st.form(f"transcript-form-{choice.key}"):
        text = st.text_area("Transcript (correct it and re-run)", result.transcript, key=f"live-text-{choice.key}")
        if st.form_submit_button("Re-run with this transcript"):
            st.session_state.setdefault("live-corrected", {})[choice.key] = text
            st.rerun()

    st.subheader("What moved")
    acoustic_ind, text_ind, corpus_profile = indicators_for(predictor)
    # Stacked at full width, not side by side: a half-width column cut the descriptions ("Hammarbe...").
    cols = [st.container(), st.container()]
    with cols[0]:
        st.markdown(f"**Voice** (z-score against {predictor.reference(result.calibrated)})")
        if predictor.uses_audio:   # a static table: five rows whose descriptions wrap instead of being cut
            voice, _ = readable(acoustic_movers(result.zscores, acoustic_ind), {"z": 2})
            st.table(voice.set_index("z"))
    with cols[1]:
        st.markdown("**Words** (share of words, percentage points against "
                    + predictor.reference(bool(baseline and baseline.transcripts) or not predictor.takes_baseline)
                    + ")")
        if result.text_absent:
            st.info("No words were recognised, so there are no word-level indicators to show.")
        else:
            reference = cached_profile(baseline.transcripts) if baseline and baseline.transcripts else corpus_profile
            st.dataframe(text_movers(result.transcript, reference, text_ind), hide_index=True, width="stretch")
    st.caption("Indicators: " + ("the personal model's own 20 largest coefficients per modality"
                                 if not predictor.takes_baseline else
                                 "the top 20 stress coefficients of the paper's section 3 analysis on the model's "
                                 "training corpus") + ". 'toward' says which way this change pushes a linear "
                                                      "stress model.")
    timings_ui(result)


def timings_ui(result) -> None:
    """The time each step of the prediction took."""
    st.markdown("**Time per step (ms)**")
    st.dataframe(pd.Series(result.timings_ms, name="ms").round(1), width="content")


def gauge(probability: float) -> go.Figure:
    figure = go.Figure(go.Indicator(
        mode="gauge+number", value=100 * probability, number={"suffix": "%"},
        title={"text": "Probability of stress"},
        gauge={"axis": {"range": [0, 100]}, "bar": {"color": task_colour(MAIN_TASK)},   # stress's colour
               "steps": [{"range": [0, 100], "color": LIGHT}],
               "threshold": {"line": {"color": "black", "width": 2}, "value": 50}}))
    figure.update_layout(height=260, margin={"t": 50, "b": 10, "l": 30, "r": 30})
    return figure


def add_to_history(history: list[dict], choice: ClipChoice, result, corrected: str | None) -> None:
    """This session's clips, one row per clip: a re-run of the last clip with a corrected transcript updates
    its row (same clip, the corrected text's scores), never adds another 'browser recording'."""
    entry = {"clip": choice.name, "transcript": "corrected by hand" if corrected is not None else "recognised",
             "stress_probability": result.stress_probability, "activation": result.activation,
             "valence": result.valence, "_clip": choice.key}
    if history and history[-1]["_clip"] == choice.key:
        history[-1] = entry   # the same clip again: a rerun of the page, or its transcript corrected
    else:
        history.append(entry)


def history_ui(history: list[dict]) -> None:
    """This session's clips: a table always; a chart of stress probability once two clips were scored."""
    frame = pd.DataFrame(history).drop(columns="_clip")
    frame.index = range(1, len(frame) + 1)
    table_ui(frame, {"stress_probability": 3, "activation": 2, "valence": 2}, width="stretch", column_config={
        "stress_probability": st.column_config.TextColumn("stress probability", alignment="right")})
    scored = frame[frame["stress_probability"].notna()]
    if len(scored) >= 2:
        figure = go.Figure(go.Scatter(x=list(scored.index), y=scored["stress_probability"], mode="lines+markers",
                                      line_color=task_colour(MAIN_TASK),
                                      text=scored["clip"], hovertemplate="clip %{x}: %{text}<br>%{y:.3f}"))
        figure.update_layout(height=220, margin={"t": 10, "b": 30, "l": 40, "r": 10},
                             xaxis={"title": "clip", "dtick": 1, "tickformat": "d"},
                             yaxis={"title": "stress probability", "range": [0, 1]})
        st.plotly_chart(figure, width="stretch")

"""Live prediction: record or upload a voice clip, get stress, activation and valence, and see why."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis.live_explain import acoustic_movers, text_movers
from muser_core.predict import DEFAULT_CHECKPOINT, prepare_clip
from ui.common import show_input_errors
from ui.live import (
    baseline_ui,
    cached_indicators,
    cached_profile,
    checkpoint_ui,
    clip_source_ui,
    gauge,
    load_predictor,
)

st.set_page_config(page_title="Live prediction · MUSER stress lab", layout="wide")
st.title("Live prediction")
st.caption("Record or upload a short clip of speech (a sentence or two). The app trims silence, "
           "extracts eGeMAPS with openSMILE, transcribes offline with PocketSphinx and runs a MUSER model.")

checkpoint = checkpoint_ui()
with show_input_errors():
    predictor = load_predictor(checkpoint)
if checkpoint == str(DEFAULT_CHECKPOINT):
    st.warning("**Demo checkpoint trained on synthetic data.** It is not a validated stress detector; "
               "its output on a real voice is a demonstration only.", icon=":material/science:")
    with st.sidebar.expander("Model card"):
        card = DEFAULT_CHECKPOINT / "MODEL_CARD.md"
        st.markdown(card.read_text() if card.exists() else "No model card.")

with show_input_errors():
    data, name = clip_source_ui()
    baseline = baseline_ui(predictor)
if data is None:
    st.info("Record, upload or pick a clip to get a prediction.")
    st.stop()

with show_input_errors():
    clip = prepare_clip(data, name)
    st.audio(data)
    corrected = st.session_state.get("live-corrected", {}).get(name)
    result = predictor.predict(clip, corrected, baseline)

left, right = st.columns([1, 1])
with left:
    st.plotly_chart(gauge(result.stress_probability), width="stretch")
with right:
    scales = predictor.label_scales
    st.metric("Prediction", "stressed" if result.stressed else "not stressed")
    for task in ("activation", "valence"):
        value = getattr(result, task)
        if value is not None:
            lo, hi = scales.get(task, (float("nan"), float("nan")))
            st.metric(task.capitalize(), f"{value:.2f}", help=f"on the training data's scale {lo:g}..{hi:g}")
    st.caption("Calibrated against your baseline." if result.calibrated
               else "Not calibrated: normalised with the training corpus (less reliable).")
for warning in result.warnings:
    st.warning(warning)

with st.form("transcript-form"):
    text = st.text_area("Transcript (correct it and re-run)", result.transcript, key=f"live-text-{name}")
    if st.form_submit_button("Re-run with this transcript"):
        st.session_state.setdefault("live-corrected", {})[name] = text
        st.rerun()

history = st.session_state.setdefault("live-history", [])
entry = {"clip": name, "stress_probability": result.stress_probability,
         "activation": result.activation, "valence": result.valence}
if not history or history[-1] != entry:
    history.append(entry)

st.subheader("What moved")
acoustic_ind, text_ind, corpus_profile = cached_indicators(predictor.config.data.corpus,
                                                         predictor.config.data.split)
cols = st.columns(2)
with cols[0]:
    st.markdown("**Voice** (z-score against " + ("your baseline" if result.calibrated else "the corpus") + ")")
    if predictor.uses_audio:
        st.dataframe(acoustic_movers(result.zscores, acoustic_ind), hide_index=True, width="stretch")
with cols[1]:
    st.markdown("**Words** (share of words, percentage points against "
                + ("your baseline" if baseline and baseline.transcripts else "the corpus") + ")")
    reference = cached_profile(baseline.transcripts) if baseline and baseline.transcripts else corpus_profile
    st.dataframe(text_movers(result.transcript, reference, text_ind), hide_index=True, width="stretch")
st.caption("Indicators: the top 20 stress coefficients of the paper's section 3 analysis on the model's "
           "training corpus. 'toward' says which way this change pushes a linear stress model.")

cols = st.columns([1, 2])
with cols[0]:
    st.markdown("**Time per step (ms)**")
    st.dataframe(pd.Series(result.timings_ms, name="ms").round(1), width="stretch")
with cols[1]:
    st.markdown("**This session's clips**")
    frame = pd.DataFrame(history)
    frame.index = range(1, len(frame) + 1)
    st.line_chart(frame[["stress_probability"]], height=200)

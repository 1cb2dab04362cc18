"""Live prediction: record or upload a voice clip, get stress, activation and valence, and see why."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis.live_explain import acoustic_movers, text_movers
from muser_core.base.tasks import EMOTION_TASKS
from ui.common import show_input_errors
from ui.live import (
    baseline_ui,
    cached_profile,
    checkpoint_ui,
    clip_source_ui,
    gauge,
    history_ui,
    indicators_for,
    load_predictor,
    model_notes_ui,
    recogniser_ui,
)

st.set_page_config(page_title="Live prediction · MUSER stress lab", layout="wide")
st.title("Live prediction")
st.caption("Record or upload a short clip of speech (a sentence or two). The app trims silence, checks that "
           "it is speech (Silero VAD), extracts eGeMAPS with openSMILE, transcribes offline and runs a MUSER model "
           "(or your personal model, trained on a study you recorded).")

checkpoint = checkpoint_ui()
recogniser, asr_model = recogniser_ui()
with show_input_errors():
    predictor = load_predictor(checkpoint, recogniser, asr_model)
model_notes_ui(predictor)

with show_input_errors():
    choice = clip_source_ui()
    baseline = baseline_ui(predictor)
if choice is None:
    st.info("Record, upload or pick a clip to get a prediction.")
    st.stop()


def show_result(choice, result, corrected, predictor, baseline) -> None:
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
    cols = st.columns(2)
    with cols[0]:
        st.markdown(f"**Voice** (z-score against {predictor.reference(result.calibrated)})")
        if predictor.uses_audio:   # a static table: five rows whose descriptions wrap instead of being cut
            st.table(acoustic_movers(result.zscores, acoustic_ind).set_index("z"))
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
    st.markdown("**Time per step (ms)**")
    st.dataframe(pd.Series(result.timings_ms, name="ms").round(1), width="content")


with choice.tab:    # a clip's result, and a refusal of it, show under its own tab only
    with show_input_errors():
        corrected = st.session_state.get("live-corrected", {}).get(choice.key)   # this clip's correction only
        clip = predictor.prepare(choice.data, choice.name, transcribe=corrected is None)
        st.audio(choice.data)
        result = predictor.predict(clip, corrected, baseline)
    history = st.session_state.setdefault("live-history", [])
    entry = {"clip": choice.name, "stress_probability": result.stress_probability,
             "activation": result.activation, "valence": result.valence}
    if not history or history[-1] != entry:
        history.append(entry)
    show_result(choice, result, corrected, predictor, baseline)

st.markdown("**This session's clips**")
history_ui(history)

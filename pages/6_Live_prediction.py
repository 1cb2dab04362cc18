"""Live prediction: record or upload a voice clip, get stress, activation and valence, and see why."""

from __future__ import annotations

import streamlit as st

from ui.common import show_input_errors
from ui.live import (
    add_to_history,
    baseline_ui,
    checkpoint_ui,
    clip_source_ui,
    history_ui,
    load_predictor,
    model_notes_ui,
    recogniser_ui,
    result_ui,
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

with choice.tab:    # a clip's result, and a refusal of it, show under its own tab only
    with show_input_errors():
        corrected = st.session_state.get("live-corrected", {}).get(choice.key)   # this clip's correction only
        clip = predictor.prepare(choice.data, choice.name, transcribe=corrected is None)
        st.audio(choice.data)
        result = predictor.predict(clip, corrected, baseline)
    history = st.session_state.setdefault("live-history", [])
    add_to_history(history, choice, result, corrected)
    result_ui(choice, result, corrected, predictor, baseline)

st.markdown("**This session's clips**")
history_ui(history)

"""Record a corpus the way MuSE was recorded (paper 3.1): a study, its participants, sessions, sentences, a personal model."""

from __future__ import annotations

import streamlit as st

from ui.record import (
    SECTIONS,
    message_ui,
    participants_ui,
    personal_model_ui,
    process_ui,
    session_ui,
    settings_ui,
    study_ui,
)

st.set_page_config(page_title="Record a corpus · MUSER stress lab", layout="wide")
st.title("Record a corpus")
st.caption("The MuSE protocol (paper 3.1) in the browser: participants answer a few emotion-eliciting questions in "
           "sessions labelled by a condition (stressed / not stressed), one monologue per question, and rate their "
           "own activation and valence (1-9) after each. Processing cuts the monologues into sentences; every "
           "sentence keeps its session's stress label and its monologue's ratings. Recordings never leave this "
           "machine; participants are pseudonymous IDs.")

study = study_ui()
message_ui()
if study is None:
    st.stop()

section = st.radio("Section", SECTIONS, horizontal=True, key="rec-section", label_visibility="collapsed")
if section == "Set-up":
    settings_ui(study)
elif section == "Participants":
    participants_ui(study)
elif section == "Session":
    session_ui(study)
elif section == "Process and review":
    process_ui(study)
else:
    personal_model_ui(study)

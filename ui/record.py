"""Streamlit helpers of the Record a corpus page: a study's set-up, participants, sessions, processing, personal models.

Everything a session records goes to disk at once through :mod:`muser_core.study`;
the browser keeps only which session is on screen, so closing it loses
nothing, and the session is continued from its files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

import pandas as pd
import streamlit as st

from analysis.study_views import sentence_balance, sessions_overview
from muser_core.audio.transcribe import DEFAULT_RECOGNISER, RECOGNISERS, get_recogniser
from muser_core.base.errors import InputError
from muser_core.privacy import delete_participant
from muser_core.study.personal_model import MODEL_FILE, read_personal_model, train_personal_model
from muser_core.study.process import process_study
from muser_core.study.protocol import RATING, Condition, Session, StressTask, StudySettings
from muser_core.study.store import Study, list_studies, studies_dir
from muser_core.study.table import correct_transcript, load_study, sentences
from ui.common import AUDIO_TYPES, check_upload, table_ui

NEW_STUDY = "+ New study"
SECTIONS = ("Set-up", "Participants", "Session", "Process and review", "Personal model")
ACTIVE = "rec-active"        # (study, participant, session) on screen in the Session section
MESSAGE = "rec-message"      # a success line to show after the rerun that follows an action


@contextmanager
def inline_errors() -> Iterator[None]:
    """Show a bad input as one red line where it happened; the rest of the page stays."""
    try:
        yield
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")


def _done(message: str, toast: bool = False) -> None:
    """Rerun and say ``message`` at the top; with ``toast`` also as a toast, seen wherever the page is
    scrolled (after a long form such as "Save the set-up" the top of the page is out of sight)."""
    st.session_state[MESSAGE] = (message, toast)
    st.rerun()


def message_ui() -> None:
    """The line an action left for this run (a participant added, a session started...)."""
    message, toast = st.session_state.pop(MESSAGE, None) or (None, False)
    if message:
        st.success(message, icon=":material/check_circle:")
        if toast:
            st.toast(message, icon=":material/check_circle:")


# --------------------------------------------------------------------------- study

def study_ui() -> Study | None:
    """Open a study, or create one; returns it (None while the user is creating one)."""
    if "rec-study-next" in st.session_state:   # a study just created: select it (before the widget exists)
        st.session_state["rec-study"] = st.session_state.pop("rec-study-next")
    studies = list_studies()
    choice = st.selectbox("Study", [*studies, NEW_STUDY], key="rec-study",
                          help=f"Studies are folders under {studies_dir()} (MUSER_STUDIES_DIR)")
    if choice != NEW_STUDY:
        with inline_errors():
            return Study.open(choice)
        return None
    with st.form("rec-new-study"):
        st.markdown("**New study**")
        c1, c2 = st.columns(2)
        study_id = c1.text_input("Study ID", placeholder="exam-2025",
                                 help="The folder name: letters, digits, - and _")
        name = c2.text_input("Study name", placeholder="Exam stress, spring 2025")
        if st.form_submit_button("Create the study"):
            with inline_errors():
                study = Study.create(study_id, StudySettings(name=name.strip() or study_id.strip()))
                st.session_state["rec-study-next"] = study.id
                _done(f"Study {study.id} created in {study.root}, with five default questions.")
    return None


def settings_ui(study: Study) -> None:
    """Edit the questions, conditions, consent text and stress task of a study."""
    settings = study.settings
    with st.form(f"rec-settings-{study.id}"):
        name = st.text_input("Study name", settings.name)
        questions = st.text_area("Questions, one per line (asked in this order; each answer is one monologue)",
                                 "\n".join(settings.questions), height=180)
        st.markdown("**Conditions** (a session is recorded under one; its sentences get its stress label)")
        conditions = st.data_editor(
            pd.DataFrame([{"condition": c.name, "stressed": bool(c.stress)} for c in settings.conditions]),
            num_rows="dynamic", hide_index=True, key=f"rec-conditions-{study.id}",
            column_config={"condition": st.column_config.TextColumn(required=True),
                           "stressed": st.column_config.CheckboxColumn(default=False)})
        consent = st.text_area("Consent text (shown to each participant before recording)", settings.consent_text)
        st.markdown("**Stress task**: timed serial subtraction, as in the Trier Social Stress Test")
        c1, c2, c3 = st.columns(3)
        task = settings.stress_task
        start = c1.number_input("Count down from", 2, 1_000_000, task.start)
        step = c2.number_input("In steps of", 1, 1_000, task.step)
        seconds = c3.number_input("Seconds", 10, 3_600, task.seconds)
        if st.form_submit_button("Save the set-up"):
            rows = conditions.dropna(subset=["condition"])
            edited = StudySettings(
                name=name, questions=tuple(questions.splitlines()), consent_text=consent,
                conditions=tuple(Condition(str(r.condition), int(bool(r.stressed))) for r in rows.itertuples()),
                stress_task=StressTask(int(start), int(step), int(seconds)))
            with inline_errors():
                study.save_settings(edited)
                _done("Set-up saved. Sessions already recorded keep the questions they were asked.", toast=True)
    st.caption(f"Folder: `{study.root}`. Recordings stay on this machine; participants are known by "
               "pseudonymous IDs only.")


# --------------------------------------------------------------------------- participants

def participants_ui(study: Study) -> None:
    """Add participants (pseudonymous IDs, consent), list them, delete one with all of their files."""
    settings = study.settings
    with st.form(f"rec-add-{study.id}", clear_on_submit=True):
        st.markdown("**Add a participant**")
        pid = st.text_input("Participant ID", placeholder="P01",
                            help="A pseudonymous code (letters, digits, - and _). Never a name.")
        st.info(settings.consent_text, icon=":material/assignment:")
        consent = st.checkbox("The participant has read the consent text and agrees", key=f"rec-add-consent-{study.id}")
        if st.form_submit_button("Add participant"):
            with inline_errors():
                person = study.add_participant(pid, consent=consent)
                _done(f"Participant {person.participant} added"
                      + (" with consent." if consent else "; consent is still needed before recording."))
    people = study.participants()
    if not people:
        st.info("No participants yet.")
        return
    sessions = pd.Series([s.participant for s in study.sessions()], dtype=str).value_counts()
    st.dataframe(pd.DataFrame([{"participant": p.participant, "added": p.added_at[:16].replace("T", " "),
                                "consent": p.consented_at[:16].replace("T", " ") or "not yet",
                                "sessions": int(sessions.get(p.participant, 0))} for p in people]),
                 hide_index=True, width="stretch")
    with st.expander("Delete a participant and all of their files"):
        victim = st.selectbox("Participant to delete", [p.participant for p in people], key="rec-delete-who")
        sure = st.checkbox(f"I understand that every recording, sentence, feature, correction and personal "
                           f"model of {victim} is removed for good", key="rec-delete-sure")
        if st.button("Delete participant", disabled=not sure, key="rec-delete"):
            with inline_errors():
                report = delete_participant(study, victim)
                _forget_active(study.id, victim)
                _done(report.message())


def _forget_active(study_id: str, participant: str) -> None:
    active = st.session_state.get(ACTIVE)
    if active and active[0] == study_id and active[1] == participant:
        del st.session_state[ACTIVE]


# --------------------------------------------------------------------------- a session

def consent_ui(study: Study, participant: str) -> bool:
    """The consent check before recording; True once the participant has consented."""
    if study.participant(participant).consented:
        return True
    st.warning(f"{participant} has not consented yet.", icon=":material/assignment_late:")
    st.info(study.settings.consent_text, icon=":material/assignment:")
    agreed = st.checkbox(f"{participant} has read the consent text and agrees", key=f"rec-consent-{participant}")
    if st.button("Record consent", disabled=not agreed, key=f"rec-consent-save-{participant}"):
        with inline_errors():
            study.give_consent(participant)
            _done(f"Consent of {participant} recorded.")
    return False


def session_ui(study: Study) -> None:
    """Choose a participant, then continue an unfinished session or start one; run it question by question."""
    people = [p.participant for p in study.participants()]
    if not people:
        st.info("Add a participant first (Participants).")
        return
    active = st.session_state.get(ACTIVE)
    if active and active[0] == study.id:
        with inline_errors():
            run_session_ui(study, study.session(active[1], active[2]))
            return
        del st.session_state[ACTIVE]
    participant = st.selectbox("Participant", people, key="rec-participant")
    if not consent_ui(study, participant):
        return
    for session in study.unfinished_sessions(participant):
        label = (f"Continue session {session.session} ({session.condition}, {session.answered} of "
                 f"{len(session.questions)} answered, started {session.started_at[:16].replace('T', ' ')})")
        if st.button(label, key=f"rec-continue-{participant}-{session.session}"):
            st.session_state[ACTIVE] = (study.id, participant, session.session)
            st.rerun()
    settings = study.settings
    with st.form(f"rec-start-{study.id}"):
        st.markdown(f"**New session for {participant}**")
        c1, c2 = st.columns(2)
        condition = c1.selectbox("Condition", [c.name for c in settings.conditions])
        note = c2.text_input("Note (optional)", placeholder="e.g. the day before the exam")
        task = st.checkbox(f"Begin with the stress task ({settings.stress_task.seconds // 60} min "
                           f"{settings.stress_task.seconds % 60:02d} s of serial subtraction)")
        if st.form_submit_button("Start the session", type="primary"):
            with inline_errors():
                session = study.start_session(participant, condition, note, stress_task=task)
                st.session_state[ACTIVE] = (study.id, participant, session.session)
                _done(f"Session {session.session} of {participant} started ({condition}).")


def run_session_ui(study: Study, session: Session) -> None:
    """The stress task if the session begins with one, then each question in turn, then the end."""
    n = len(session.questions)
    st.subheader(f"{session.participant} · session {session.session} · {session.condition}")
    st.progress(session.answered / n, text=f"{session.answered} of {n} answers recorded and rated")
    if session.stress_task_pending:
        stress_task_ui(study, session)
    elif session.next_question is None:
        st.success(f"Session {session.session} is complete: {n} answers recorded and rated. Process the study "
                   "(Process and review) to cut them into sentences.", icon=":material/task_alt:")
    else:
        question_ui(study, session, session.next_question)
    if st.button("Leave this session (it stays on disk and can be continued)" if not session.finished
                 else "Back to the sessions", key="rec-leave"):
        st.session_state.pop(ACTIVE, None)
        # Back to this participant's sessions: the picker was not drawn meanwhile, so it must be told again.
        st.session_state["rec-participant"] = session.participant
        st.rerun()


def stress_task_ui(study: Study, session: Session) -> None:
    """Timed serial subtraction with a visible timer; start and end times go to session.json."""
    task = session.stress_task
    st.markdown("### Stress task: serial subtraction")
    st.markdown(f"**{task['instructions']}**")
    key = f"{session.participant}-{session.session}"
    if not task.get("started_at"):
        st.caption(f"The timer runs {task['planned_s'] // 60} min {task['planned_s'] % 60:02d} s from Start; "
                   "the start and end times are recorded with the session.")
        c1, c2 = st.columns(2)
        if c1.button("Start the stress task", type="primary", key=f"rec-task-start-{key}"):
            with inline_errors():
                study.start_stress_task(session.participant, session.session)
                st.rerun()
        if c2.button("Skip the stress task", key=f"rec-task-skip-{key}"):
            with inline_errors():
                study.end_stress_task(session.participant, session.session, skipped=True)
                st.rerun()
        return
    stress_timer_ui(task["started_at"], int(task["planned_s"]))
    c1, c2 = st.columns(2)
    if c1.button("Finish the stress task", type="primary", key=f"rec-task-end-{key}"):
        with inline_errors():
            done = study.end_stress_task(session.participant, session.session)
            _done(f"Stress task recorded: {done.stress_task['duration_s']:.0f} s. Now the questions.")
    if c2.button("Restart the stress task", key=f"rec-task-restart-{key}"):
        with inline_errors():
            study.start_stress_task(session.participant, session.session)
            st.rerun()


@st.fragment(run_every=1)
def stress_timer_ui(started_at: str, planned_s: int) -> None:
    """Time left, redrawn every second from the start time on disk (a reload keeps counting)."""
    elapsed = (datetime.now(timezone.utc) - datetime.fromisoformat(started_at)).total_seconds()
    left = max(0, round(planned_s - elapsed))
    st.metric("Time left", f"{left // 60}:{left % 60:02d}")
    st.progress(min(1.0, elapsed / planned_s))
    if left == 0:
        st.warning("Time is up. Press **Finish the stress task**.", icon=":material/timer_off:")


def question_ui(study: Study, session: Session, question: int) -> None:
    """One question: record (microphone or upload), saved at once; re-record; then the two 1-9 ratings."""
    pid, sid = session.participant, session.session
    key = f"rec-{study.id}-{pid}-{sid}-q{question}"
    st.caption(f"Question {question} of {len(session.questions)}")
    st.markdown(f"### {session.questions[question - 1]}")
    answer = session.answers.get(question)
    again = st.session_state.get(f"{key}-again", False)
    if answer is None or again:
        take = st.session_state.get(f"{key}-take", 0)
        recorded = st.audio_input("Record your answer", key=f"{key}-mic-{take}")
        upload = st.file_uploader("…or upload a recording of the answer", type=AUDIO_TYPES, key=f"{key}-file-{take}")
        source = recorded if recorded is not None else upload
        if source is not None:
            data = check_upload(source)
            digest = hashlib.sha256(data).hexdigest()
            if st.session_state.get(f"{key}-saved") != digest:
                with inline_errors():
                    study.save_answer(pid, sid, question, data, getattr(source, "name", "recording"))
                    st.session_state[f"{key}-saved"] = digest
                    st.session_state[f"{key}-again"] = False
                    _done(f"Answer {question} saved.")
        if again and st.button("Keep the previous take", key=f"{key}-keep"):
            st.session_state[f"{key}-again"] = False
            st.rerun()
        return
    st.audio(str(study.answer_path(session, question)))
    st.caption(f"Saved: {answer.duration_s:.1f} s, {answer.recorded_at[11:19]} UTC.")
    if st.button("Re-record this answer", key=f"{key}-rerecord"):
        st.session_state[f"{key}-again"] = True
        st.session_state[f"{key}-take"] = st.session_state.get(f"{key}-take", 0) + 1
        st.rerun()
    ratings_ui(study, session, question)


def ratings_ui(study: Study, session: Session, question: int) -> None:
    """The self-assessment after an answer: activation and valence on 1-9 (MuSE's self-report scales)."""
    answer = session.answers[question]
    lo, hi = RATING
    scale = list(range(lo, hi + 1))
    with st.form(f"rec-rate-{study.id}-{session.participant}-{session.session}-q{question}"):
        st.markdown("**How did you feel while answering?**")
        # No rating is chosen until the participant chooses one: a default of 5 was saved as a real rating.
        activation = st.radio("Activation: 1 very calm … 9 very excited", scale, horizontal=True,
                              index=scale.index(answer.activation) if answer.activation in scale else None)
        valence = st.radio("Valence: 1 very negative … 9 very positive", scale, horizontal=True,
                           index=scale.index(answer.valence) if answer.valence in scale else None)
        if st.form_submit_button("Save the ratings and continue", type="primary"):
            missing = [name for name, value in (("activation", activation), ("valence", valence)) if value is None]
            if missing:
                st.error(f"Choose a rating for {' and '.join(missing)} (1-9) first: an untouched scale is not a "
                         "rating.", icon=":material/error:")
            else:
                with inline_errors():
                    study.rate_answer(session.participant, session.session, question, activation, valence)
                    _done(f"Ratings of answer {question} saved.")


# --------------------------------------------------------------------------- processing and review

def process_ui(study: Study) -> pd.DataFrame:
    """The Process button and its report; returns the study's sentence table."""
    c1, c2 = st.columns([1, 2])
    recogniser = c1.selectbox("Speech recogniser", list(RECOGNISERS), index=list(RECOGNISERS).index(DEFAULT_RECOGNISER),
                              key="rec-recogniser")
    c2.caption("Each answer is cut into sentences with the recogniser's word timings (paper 4.2) and each "
               "sentence gets its 88 eGeMAPS functionals (3.3). Answers already processed are kept; a bad one "
               "is skipped and said.")
    if st.button("Process the study", type="primary", key="rec-process"):
        bar = st.progress(0.0, text="Processing…")
        with inline_errors():
            report = process_study(study, get_recogniser(recogniser),
                                   progress=lambda done, total, item: bar.progress(
                                       done / max(total, 1), text=f"{item} ({done}/{total})"))
            st.session_state["rec-report"] = (study.id, report)
        bar.empty()
    kept = st.session_state.get("rec-report")
    if kept and kept[0] == study.id:
        report = kept[1]
        (st.warning if report.skipped else st.success)(report.message())
        if report.skipped:
            st.dataframe(pd.DataFrame([vars(s) for s in report.skipped]), hide_index=True, width="stretch")
    table, notes, skipped = sentences(study)
    if len(table):   # as the corpus loaders see it: with its split and the notes on how it was made
        corpus = load_study(study.root)
        table, notes = corpus.table, corpus.notes
    return review_ui(study, table, notes, skipped)


def review_ui(study: Study, table: pd.DataFrame, notes: list[str], skipped: list) -> pd.DataFrame:
    """The study as tables (sessions, sentences per participant and condition), transcripts to correct, players."""
    cols = st.columns(4)
    cols[0].metric("Participants", len(study.participants()))
    cols[1].metric("Sessions", len(study.sessions()))
    cols[2].metric("Sentences", len(table))
    cols[3].metric("Stressed share", f"{table['stress'].mean():.0%}" if len(table) else "n/a")
    st.markdown("**Sessions**")
    table_ui(sessions_overview(study, table), hide_index=True, width="stretch")
    if skipped:
        with st.expander(f"{len(skipped)} answer(s) not in the table yet"):
            st.dataframe(pd.DataFrame([vars(s) for s in skipped]), hide_index=True, width="stretch")
    if table.empty:
        st.info("No processed sentences yet: record answers, then press Process the study.")
        return table
    st.markdown("**Sentences per participant and condition** (label balance)")
    table_ui(sentence_balance(table), hide_index=True, width="stretch")
    for note in notes:
        st.caption(note)
    transcripts_ui(study, table)
    players_ui(table)
    return table


def transcripts_ui(study: Study, table: pd.DataFrame) -> None:
    """Every sentence's transcript, editable; corrections are stored and survive reprocessing."""
    st.markdown("**Transcripts** (edit the text column, then save; the recogniser's text stays beside it)")
    shown = table.assign(seconds=(table["end_s"] - table["start_s"]).round(2))[
        ["utterance_id", "session", "condition", "question", "split", "seconds", "text", "asr_text", "corrected"]]
    edited = st.data_editor(shown, hide_index=True, width="stretch", key=f"rec-transcripts-{study.id}",
                            disabled=[c for c in shown.columns if c != "text"])
    changed = edited[edited["text"].fillna("") != shown["text"]]
    if st.button(f"Save {len(changed)} correction(s)", disabled=changed.empty, key="rec-save-corrections"):
        with inline_errors():
            for row in changed.itertuples():
                correct_transcript(study, row.utterance_id, row.text or "")
            _done(f"{len(changed)} correction(s) saved.")


def players_ui(table: pd.DataFrame) -> None:
    """A player per sentence, one session at a time."""
    sessions = list(dict.fromkeys(table["session"]))
    session = st.selectbox("Listen to the sentences of session", sessions, key="rec-listen")
    for row in table[table["session"] == session].itertuples():
        c1, c2 = st.columns([1, 3])
        c1.audio(row.audio_path)
        c2.markdown(f"**{row.utterance_id}** (question {row.question}, {row.end_s - row.start_s:.1f} s): {row.text}")


# --------------------------------------------------------------------------- personal model

def personal_model_ui(study: Study) -> None:
    """Train a participant's personal model and show its measured accuracy before anyone uses it."""
    table, _, _ = sentences(study)
    people = [p.participant for p in study.participants()]
    if not people:
        st.info("Add participants and record sessions first.")
        return
    st.caption("For one person with a few sessions: a regularised logistic regression on their eGeMAPS "
               "(z-scored with their own statistics, paper 3.3) and lexicon scores (3.2). Its accuracy is "
               "measured by leave-one-session-out cross-validation, and shown here and on the model's card. "
               "It needs at least 2 processed sessions of each condition.")
    participant = st.selectbox("Participant", people, key="rec-pm-participant")
    mine = table[table["speaker"] == participant] if len(table) else table
    if len(mine):
        st.dataframe(mine.groupby(["condition"]).agg(sessions=("session", "nunique"),
                                                     sentences=("utterance_id", "size")), width="stretch")
    folder = study.model_dir(participant)
    if st.button("Train the personal model", type="primary", key="rec-pm-train"):
        with st.spinner("Cross-validating (one fold per session) and fitting…"), inline_errors():
            train_personal_model(study, participant)
            _done(f"Personal model of {participant} trained; it is in Live prediction's Model picker.")
    if (folder / MODEL_FILE).is_file():
        with inline_errors():
            model = read_personal_model(folder)
            now_sessions = set(mine["session"]) if len(mine) else set()
            if now_sessions != {s["session"] for s in model.cv.per_session}:
                st.info("This participant's processed sessions changed since the model was trained: train it "
                        "again to use them (and to measure it on them).", icon=":material/update:")
            st.markdown(model.card())
            st.dataframe(pd.DataFrame(model.cv.per_session).drop(columns="session_right"), hide_index=True,
                         width="stretch", column_config={
                             "accuracy": st.column_config.NumberColumn("held-out accuracy", format="%.3f"),
                             "mean_probability": st.column_config.NumberColumn("mean P(stressed)", format="%.3f")})

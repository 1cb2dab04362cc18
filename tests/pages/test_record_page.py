"""The Record a corpus page (AppTest): a study set up, a session recorded and continued, processed, deleted; the
study in the data pickers."""

from __future__ import annotations

import pytest
from conftest import REPO, TwoSentences, fill_disk, small_study, speech_wav_bytes, voiced_wav_bytes
from streamlit.testing.v1 import AppTest

from muser_core.study.process import process_study
from muser_core.study.protocol import StudySettings
from muser_core.study.store import Study
from muser_core.study.table import load_study
from ui.common import STUDY_LABEL

PAGE = str(REPO / "pages" / "8_Record_a_corpus.py")
APP = str(REPO / "app.py")


def wav(seed: int = 0) -> bytes:
    return speech_wav_bytes(seed=seed)


@pytest.fixture(autouse=True)
def stand_in_recogniser(monkeypatch):
    """The page's Process button gets the fast stand-in (the browser test uses Whisper)."""
    monkeypatch.setattr("ui.record.get_recogniser", lambda name=None: TwoSentences())


def click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    return at.run()


def texts(at: AppTest) -> str:
    return " ".join(str(e.value) for kind in ("success", "info", "warning", "error", "caption", "markdown")
                    for e in getattr(at, kind))


def section(at: AppTest, name: str) -> AppTest:
    return at.radio(key="rec-section").set_value(name).run()


def test_a_session_from_a_new_study_to_processed_sentences(studies):
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception
    next(t for t in at.text_input if t.label == "Study ID").set_value("pilot")
    next(t for t in at.text_input if t.label == "Study name").set_value("Pilot")
    click(at, "Create the study")
    assert "Study pilot created" in texts(at)
    # Two questions only, and a stress task of 20 s.
    section(at, "Set-up")
    next(t for t in at.text_area if t.label.startswith("Questions")).set_value("First question?\nSecond question?")
    next(n for n in at.number_input if n.label == "Seconds").set_value(20)
    click(at, "Save the set-up")
    assert "Set-up saved" in texts(at) and Study.open("pilot").settings.questions == ("First question?",
                                                                                      "Second question?")
    section(at, "Participants")
    next(t for t in at.text_input if t.label == "Participant ID").set_value("Jane Doe")
    click(at, "Add participant")
    assert any("participant id 'Jane Doe'" in e.value for e in at.error)   # names are refused
    next(t for t in at.text_input if t.label == "Participant ID").set_value("P01")
    click(at, "Add participant")
    assert "P01 added; consent is still needed" in texts(at)

    section(at, "Session")
    assert "P01 has not consented yet" in texts(at)
    next(c for c in at.checkbox if c.label.startswith("P01 has read")).check().run()
    click(at, "Record consent")
    next(c for c in at.checkbox if c.label.startswith("Begin with the stress task")).check()   # in the form
    click(at, "Start the session")
    assert "Session s01 of P01 started (stressed)" in texts(at)
    assert "Count down aloud from 1,022 in steps of 13" in texts(at)
    click(at, "Start the stress task")
    assert {m.label: m.value for m in at.metric}["Time left"] in ("0:20", "0:19")
    click(at, "Finish the stress task")
    assert "Stress task recorded" in texts(at)
    assert "First question?" in texts(at)
    at.get("audio_input")[0].set_value(("mic.wav", wav(1), "audio/wav")).run()
    assert "Answer 1 saved" in texts(at)
    assert (studies / "pilot/recordings/P01/s01/q1.wav").read_bytes() == wav(1)   # on disk before any rating
    next(s for s in at.radio if s.label.startswith("Activation")).set_value(8)
    click(at, "Save the ratings and continue")   # valence untouched: refused, not saved as a default 5
    assert [e.value for e in at.error] == ["Choose a rating for valence (1-9) first: an untouched scale is not "
                                           "a rating."]
    assert Study.open("pilot").session("P01", "s01").answers[1].activation is None
    next(s for s in at.radio if s.label.startswith("Valence")).set_value(2)
    click(at, "Save the ratings and continue")
    assert "Second question?" in texts(at)

    # The browser closes: a new page load continues the session from disk.
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    section(at, "Session")
    click(at, next(b.label for b in at.button if b.label.startswith("Continue session s01")))
    assert "Question 2 of 2" in texts(at) and "Second question?" in texts(at)
    at.get("file_uploader")[0].set_value(("answer.wav", wav(2), "audio/wav")).run()
    assert "Answer 2 saved" in texts(at)
    next(s for s in at.radio if s.label.startswith("Activation")).set_value(5)   # a chosen 5 is a rating
    next(s for s in at.radio if s.label.startswith("Valence")).set_value(5)
    click(at, "Save the ratings and continue")
    assert "Session s01 is complete" in texts(at)
    session = Study.open("pilot").session("P01", "s01")
    assert session.finished and session.stress_task["duration_s"] >= 0 and session.stress_task["planned_s"] == 20
    assert (session.answers[1].activation, session.answers[1].valence) == (8, 2)

    section(at, "Process and review")
    click(at, "Process the study")
    assert not at.exception
    assert "2 answer(s) processed, 0 already up to date, 0 skipped; 4 sentences in all" in texts(at)
    assert {m.label: m.value for m in at.metric}["Sentences"] == "4"
    assert len(at.get("audio")) == 4                                    # a player per sentence
    assert "only 1 participant(s)" in texts(at)


def test_deleting_a_participant_on_the_page_says_what_was_removed(studies):
    study = small_study(studies, people=("P01", "P02"))
    process_study(study, TwoSentences())
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    section(at, "Participants")
    at.selectbox(key="rec-delete-who").set_value("P01").run()
    assert next(b for b in at.button if b.label == "Delete participant").disabled   # not before the tick
    at.checkbox(key="rec-delete-sure").check().run()
    click(at, "Delete participant")
    assert "Removed participant P01: 2 session(s), 4 answer recording(s), 8 sentence clip(s)" in texts(at)
    assert set(load_study(study.root).table["speaker"]) == {"P02"}


def test_personal_model_is_trained_and_its_accuracy_shown(studies):
    study = small_study(studies, sessions_per_condition=2)
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    section(at, "Personal model")
    click(at, "Train the personal model")
    assert any("P01: no processed sentences" in e.value for e in at.error)
    process_study(study, TwoSentences())
    click(at, "Train the personal model")
    assert not at.exception and not at.error
    shown = texts(at)
    assert "Personal model of P01 trained" in shown and "leave-one-session-out" in shown
    assert "Measured accuracy" in shown and "4 (2 stressed, 2 not stressed)" in shown


def test_the_study_is_in_the_overview_data_picker(studies):
    study = small_study(studies)
    process_study(study, TwoSentences())
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.sidebar.radio(key="overview-source").set_value(STUDY_LABEL).run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Utterances"] == "8" and metrics["Speakers"] == "1"
    assert "by whole sessions" in texts(at)


def test_the_study_is_a_corpus_choice_on_the_train_page(studies):
    study = small_study(studies, sessions_per_condition=3)   # a session of each condition for every split
    process_study(study, TwoSentences())
    at = AppTest.from_file(str(REPO / "pages" / "3_Train.py"), default_timeout=60).run()
    at.radio(key="train-corpus").set_value("Study recorded in this app").run()
    assert not at.exception
    assert at.selectbox(key="train-study").value == "exam"
    assert "Keep Split = table" in texts(at)
    if at.error:   # one participant: the other splits leave a split without labels, and the form says so
        assert "split of corpus" in at.error[0].value
    at.selectbox(key="train-split").set_value("table").run()
    assert not at.exception and not at.error
    command = "\n".join(c.value for c in at.code)
    assert f"--corpus study:{studies / 'exam'}" in command   # the run copies the study into a table itself


def test_leaving_a_session_returns_to_its_participant_and_the_set_up_confirms(studies):
    """"Back to the sessions" returns to the session's participant, not the first one; "Save the set-up" (far
    down its form) gives a confirmation one can see (a toast)."""
    small_study(studies, people=("P01", "P02"))
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    section(at, "Session")
    at.selectbox(key="rec-participant").set_value("P02").run()
    click(at, "Start the session")
    assert "Session s03 of P02 started" in texts(at) or "of P02 started" in texts(at)
    click(at, "Leave this session (it stays on disk and can be continued)")
    assert not at.exception
    assert at.selectbox(key="rec-participant").value == "P02"
    section(at, "Set-up")
    click(at, "Save the set-up")
    assert not at.exception and not at.error
    assert [t.value for t in at.toast] == ["Set-up saved. Sessions already recorded keep the questions they were "
                                           "asked."]


def test_an_answer_on_a_full_disk_is_one_red_line_and_the_session_goes_on(small_disk, monkeypatch):


    monkeypatch.setenv("MUSER_STUDIES_DIR", str(small_disk / "studies"))
    study = Study.create("pilot", StudySettings(name="pilot", questions=("First?", "Second?")))
    study.add_participant("P01", consent=True)
    study.start_session("P01", "stressed")
    study.save_answer("P01", "s01", 1, voiced_wav_bytes(seconds=1.0, seed=1))
    study.rate_answer("P01", "s01", 1, 6, 4)
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    section(at, "Session")
    click(at, next(b.label for b in at.button if b.label.startswith("Continue session s01")))
    fill_disk(small_disk)
    at.get("file_uploader")[0].set_value(("answer.wav", voiced_wav_bytes(seconds=1.0, seed=2), "audio/wav")).run()
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert "q2.wav: cannot write (No space left on device)" in error and "Answer 2 saved" not in texts(at)
    assert "Question 2 of 2" in texts(at)                        # the session is still on screen
    (small_disk / "filler").unlink()
    at.get("file_uploader")[0].set_value(("again.wav", voiced_wav_bytes(seconds=1.0, seed=3), "audio/wav")).run()
    assert "Answer 2 saved" in texts(at)
    answers = Study.open("pilot").session("P01", "s01").answers
    assert (answers[1].activation, answers[1].valence) == (6, 4) and answers[2].audio == "q2.wav"

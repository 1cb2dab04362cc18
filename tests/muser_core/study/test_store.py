"""The study folder: its format, settings and ids checked, consent, an interrupted session continued."""

from __future__ import annotations

import csv
import errno
import io
import json
from dataclasses import replace

import numpy as np
import pytest
import soundfile
from conftest import SR, fill_disk, stray_temporaries
from conftest import voiced_wav_bytes as wav

from muser_core.base.errors import InputError
from muser_core.study.protocol import DEFAULT_QUESTIONS, Condition, StudySettings
from muser_core.study.store import PARTLY_DELETED, Study, list_studies

# --------------------------------------------------------------------------- the folder format

def test_a_new_study_is_plain_files_with_the_defaults(studies):
    study = Study.create("pilot-1")
    assert study.root == (studies / "pilot-1").resolve() and list_studies() == ["pilot-1"]
    data = json.loads((study.root / "study.json").read_text())
    assert data["format"] == 1 and data["name"] == "pilot-1"
    assert data["questions"] == list(DEFAULT_QUESTIONS) and len(DEFAULT_QUESTIONS) == 5
    assert data["conditions"] == [{"name": "stressed", "stress": 1}, {"name": "not stressed", "stress": 0}]
    assert data["stress_task"] == {"start": 1022, "step": 13, "seconds": 300}
    assert "pseudonymous" in data["consent_text"]
    with open(study.root / "participants.csv") as handle:
        assert next(csv.reader(handle)) == ["participant", "added_at", "consented_at", "consent_text"]
    with pytest.raises(InputError, match="exists"):
        Study.create("pilot-1")


def test_settings_are_edited_and_checked_field_by_field(studies):
    study = Study.create("pilot")
    edited = replace(study.settings, questions=("  Q one ", "", "Q two"),
                     conditions=(Condition("before exam", 1), Condition("holiday", 0)))
    study.save_settings(edited)
    again = Study.open("pilot").settings
    assert again.questions == ("Q one", "Q two")
    assert [c.name for c in again.conditions] == ["before exam", "holiday"]
    for bad, field in ((replace(edited, questions=("", " ")), "questions"),
                       (replace(edited, conditions=(Condition("a", 1), Condition("a", 0))), "conditions"),
                       (replace(edited, conditions=(Condition("a", 2),)), "conditions"),
                       (replace(edited, consent_text=" "), "consent text"),
                       (replace(edited, stress_task=replace(edited.stress_task, step=2000)), "stress task step")):
        with pytest.raises(InputError, match=f"^{field}"):
            study.save_settings(bad)
    assert Study.open("pilot").settings == again      # a refused edit changed nothing


@pytest.mark.parametrize("bad", ["../x", "a/b", "Jane Doe", "", ".hidden", "x" * 41, "P01\n"])
def test_ids_cannot_leave_the_study_folder_or_hold_names(studies, bad):
    with pytest.raises(InputError, match="letters, digits"):
        Study.create(bad if bad != "P01\n" else "a b")
    study = Study.create("ok")
    if bad == "P01\n":   # surrounding blanks are trimmed, not refused
        assert study.add_participant(bad).participant == "P01"
        return
    with pytest.raises(InputError, match="participant id"):
        study.add_participant(bad)
    assert not (studies.parent / "x").exists()


def test_consent_before_recording(studies):
    study = Study.create("c")
    study.add_participant("P01")
    with pytest.raises(InputError, match="consent not given"):
        study.start_session("P01", "stressed")
    person = study.give_consent("P01")
    assert person.consented and person.consent_text == study.settings.consent_text
    assert study.start_session("P01", "stressed").session == "s01"
    with pytest.raises(InputError, match="already in this study"):
        study.add_participant("p01")   # ids differing only in case would share a folder on some disks


# --------------------------------------------------------------------------- sessions

def test_an_interrupted_session_is_continued_where_it_stopped(studies):
    study = Study.create("s", StudySettings(name="s", questions=("one", "two", "three")))
    study.add_participant("P01", consent=True)
    session = study.start_session("P01", "not stressed", "after the exams", stress_task=True)
    assert study.session("P01", "s01").stress_task_pending
    study.start_stress_task("P01", session.session)
    study.end_stress_task("P01", session.session)
    assert not study.session("P01", "s01").stress_task_pending
    first = wav(seed=1)
    study.save_answer("P01", session.session, 1, first)
    study.rate_answer("P01", session.session, 1, 3, 8)
    study.save_answer("P01", session.session, 2, wav(seed=2))   # recorded, then the browser closes

    reopened = Study.open("s")   # a new page load: everything comes from disk
    [unfinished] = reopened.unfinished_sessions("P01")
    assert unfinished.session == "s01" and unfinished.next_question == 2 and unfinished.answered == 1
    assert reopened.answer_path(unfinished, 1).read_bytes() == first    # kept byte for byte
    assert unfinished.stress_task["duration_s"] >= 0 and unfinished.stress_task["planned_s"] == 300
    assert unfinished.note == "after the exams" and unfinished.stress == 0

    # Re-recording replaces the take (a FLAC this time) and clears its ratings.
    reopened.save_answer("P01", "s01", 1, wav(seed=9, fmt="FLAC"))
    s = reopened.session("P01", "s01")
    assert s.answers[1].audio == "q1.flac" and not s.answers[1].rated and s.next_question == 1
    assert not (reopened.root / "recordings/P01/s01/q1.wav").exists()
    for q in (1, 2):
        reopened.rate_answer("P01", "s01", q, 4, 6)
    assert not reopened.session("P01", "s01").finished
    reopened.save_answer("P01", "s01", 3, wav(seed=3, fmt="OGG"))   # other formats are stored as FLAC
    done = reopened.rate_answer("P01", "s01", 3, 5, 5)
    assert done.finished and done.next_question is None and done.answers[3].audio == "q3.flac"
    assert reopened.unfinished_sessions("P01") == []
    # The questions a session was asked stay with it when the study's list changes.
    reopened.save_settings(replace(reopened.settings, questions=("new",)))
    assert reopened.session("P01", "s01").questions == ("one", "two", "three")


def test_bad_answers_and_ratings_are_refused_in_one_line(studies):
    study = Study.create("b", StudySettings(name="b", questions=("one",)))
    study.add_participant("P01", consent=True)
    study.start_session("P01", "stressed")
    with pytest.raises(InputError, match="^mic: is silent"):
        study.save_answer("P01", "s01", 1, wav_of(np.zeros(SR, np.float32)), "mic")
    with pytest.raises(InputError, match="^upload.bin: not a readable audio file"):
        study.save_answer("P01", "s01", 1, b"not audio at all" * 10, "upload.bin")
    with pytest.raises(InputError, match="^question 2"):
        study.save_answer("P01", "s01", 2, wav())
    with pytest.raises(InputError, match="no answer recorded"):
        study.rate_answer("P01", "s01", 1, 5, 5)
    study.save_answer("P01", "s01", 1, wav())
    for activation, valence, field in ((0, 5, "activation"), (5, 10, "valence"), (5.5, 5, "activation")):
        with pytest.raises(InputError, match=f"^{field}"):
            study.rate_answer("P01", "s01", 1, activation, valence)
    with pytest.raises(InputError, match="^condition 'bored'"):
        study.start_session("P01", "bored")
    with pytest.raises(InputError, match="^session"):
        study.session("P01", "../../x")


def wav_of(signal) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, signal, SR, format="WAV")
    return buffer.getvalue()


# --------------------------------------------------------------------------- a full disk while recording

def test_a_full_disk_while_recording_is_one_line_and_keeps_every_earlier_answer(small_disk, monkeypatch):
    monkeypatch.setenv("MUSER_STUDIES_DIR", str(small_disk / "studies"))
    study = Study.create("s", StudySettings(name="s", questions=("one", "two")))
    study.add_participant("P01", consent=True)
    study.start_session("P01", "stressed")
    first = wav(seconds=1.0, seed=1)
    study.save_answer("P01", "s01", 1, first)
    study.rate_answer("P01", "s01", 1, 7, 3)
    before = {p: p.read_bytes() for p in study.root.rglob("*") if p.is_file() and p.name != ".lock"}
    second = wav(seconds=1.0, seed=2)
    saves = [lambda: study.save_answer("P01", "s01", 2, second),
             lambda: study.save_answer("P01", "s01", 1, second)]      # a re-recording
    others = [lambda: study.rate_answer("P01", "s01", 1, 2, 2),
              lambda: study.add_participant("P02", consent=True),
              lambda: study.start_session("P01", "stressed")]
    # Room for the new take's audio but not for the session file after it, then no room at all.
    for leave, calls in ((len(second) + 4096 - len(second) % 4096, saves), (0, saves + others)):
        fill_disk(small_disk, leave)
        for call in calls:
            with pytest.raises(InputError) as caught:
                call()
            message = str(caught.value)
            assert "\n" not in message and "No space left on device" in message, message
            assert message.startswith(f"{study.root}/"), message      # names the file it could not write
        (small_disk / "filler").unlink()
        after = {p: p.read_bytes() for p in study.root.rglob("*") if p.is_file() and p.name != ".lock"}
        assert after == before, sorted(set(after) ^ set(before))
        assert stray_temporaries(study.root) == []
    session = Study.open("s").session("P01", "s01")
    assert (session.answers[1].activation, session.answers[1].valence) == (7, 3) and 2 not in session.answers
    assert study.answer_path(session, 1).read_bytes() == first
    # With room again, recording goes on.
    study.save_answer("P01", "s01", 2, second)
    assert Study.open("s").session("P01", "s01").answers[2].sha256


def test_a_failed_write_says_what_it_left_and_a_failed_read_is_not_called_a_write(studies):
    study = Study.create("s")
    cases = ((OSError(errno.ENOSPC, "No space left on device", "/x/q1.wav"), {},
              "/x/q1.wav: cannot write (No space left on device); nothing in the study was changed"),
             (OSError(errno.EIO, "Input/output error", "/x/session.json"), {"if_failed": PARTLY_DELETED},
              f"/x/session.json: cannot read or write (Input/output error); {PARTLY_DELETED}"))
    for error, kwargs, expected in cases:
        with pytest.raises(InputError) as caught, study.locked(**kwargs):
            raise error
        assert str(caught.value) == expected
    with study.locked():   # the lock was released each time
        pass

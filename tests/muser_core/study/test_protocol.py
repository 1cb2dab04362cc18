"""The study protocol as values: settings checked without any folder, ids, sentence ids, a session's progress."""

from __future__ import annotations

import pytest

from muser_core.base.errors import InputError
from muser_core.study.protocol import (
    DEFAULT_CONDITIONS,
    Answer,
    Condition,
    Session,
    StressTask,
    StudySettings,
    answer_prefix,
    belongs_to,
    check_id,
)


def test_settings_round_trip_through_their_dict_and_name_the_file_when_wrong():
    settings = StudySettings(name=" Exam ", questions=("one", " "), stress_task=StressTask(start=500, step=7)).checked()
    assert settings.name == "Exam" and settings.questions == ("one",) and settings.conditions == DEFAULT_CONDITIONS
    assert StudySettings.from_dict(settings.to_dict(), "x/study.json") == settings
    with pytest.raises(InputError, match="^x/study.json: not a study file"):
        StudySettings.from_dict({"name": "a"}, "x/study.json")
    with pytest.raises(InputError, match="^x/study.json: conditions: 'a' has stress 3"):
        StudySettings.from_dict({**settings.to_dict(), "conditions": [{"name": "a", "stress": 3}]}, "x/study.json")
    with pytest.raises(InputError, match="^condition 'bored': not one of this study's \\(stressed, not stressed\\)"):
        settings.condition("bored")
    assert settings.condition("stressed") == Condition("stressed", 1)


def test_the_stress_task_plan_counts_down_in_its_steps():
    plan = StressTask(start=1022, step=13, seconds=300).planned()
    assert plan["planned_s"] == 300 and plan["started_at"] == "" and plan["duration_s"] is None
    assert "1,022, 1,009, 996, ..." in plan["instructions"]


def test_ids_and_sentence_ids():
    assert check_id("  P01 ", "participant id") == "P01"
    with pytest.raises(InputError, match="^participant id 'Jane Doe': use letters"):
        check_id("Jane Doe", "participant id")
    uid = answer_prefix("P-1_a", "s02", 3) + "_001"
    assert uid == "P-1_a_s02_q3_001" and belongs_to(uid, "P-1_a")
    assert not belongs_to(uid, "P-1") and not belongs_to("P-1_a", "P-1_a")


def test_a_session_knows_its_next_question():
    answer = Answer(1, "q1.wav", "x", "t", 2.0)
    session = Session("P01", "s01", "stressed", 1, "", ("one", "two"), "t", answers={1: answer})
    assert session.next_question == 1 and session.answered == 0 and not session.stress_task_pending
    rated = Session(**{**vars(session), "answers": {1: Answer(1, "q1.wav", "x", "t", 2.0, 5, 5)}})
    assert rated.next_question == 2 and rated.answered == 1 and rated.key == "P01/s01"
    assert Session.from_dict(rated.to_dict(), "session.json") == rated

"""Study tables: sessions with their status and stress task, sentences per participant and condition."""

from __future__ import annotations

from conftest import TwoSentences, small_study, voiced_wav_bytes

from analysis.study_views import sentence_balance, sessions_overview
from muser_core.study.process import process_study
from muser_core.study.table import load_study


def test_sessions_and_balance_match_a_hand_count(studies):
    study = small_study(studies, people=("P01", "P02"))
    process_study(study, TwoSentences())
    late = study.start_session("P02", "stressed", "exam morning", stress_task=True)
    study.end_stress_task("P02", late.session, skipped=True)
    study.save_answer("P02", late.session, 1, voiced_wav_bytes(seed=9))
    table = load_study(study.root).table
    overview = sessions_overview(study, table).set_index(["participant", "session"])
    assert len(overview) == 5
    assert overview.loc[("P01", "s01"), ["recorded", "rated", "sentences", "status"]].tolist() == \
        ["2/2", 2, 4, "finished"]
    assert overview.loc[("P02", "s03"), ["recorded", "rated", "sentences", "stress task", "status"]].tolist() == \
        ["1/2", 0, 0, "skipped", "question 1 of 2"]
    assert overview.loc[("P01", "s01"), "stress task"] == ""
    balance = sentence_balance(table).set_index("participant")
    # Each person: one session per condition, 2 answers x 2 sentences each.
    assert balance.loc["P01", ["stressed", "not stressed", "sessions", "sentences", "stressed %"]].tolist() == \
        [4, 4, 2, 8, 50.0]

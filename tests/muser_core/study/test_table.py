"""The study as a corpus: hand corrections kept and never moved, splits by speaker or session, the command line."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import TwoSentences, small_study
from conftest import speech_wav_bytes as wav

from muser_core.base.errors import InputError
from muser_core.cli import run_command
from muser_core.data.corpus import SPLITS, Corpus
from muser_core.study.process import process_study
from muser_core.study.protocol import Condition
from muser_core.study.table import correct_transcript, load_study, session_split


def test_hand_corrections_survive_reprocessing_and_never_move_to_another_sentence(studies):
    study = small_study(studies)
    process_study(study, TwoSentences())
    correct_transcript(study, "P01_s01_q1_001", "I am, um, really worried.")
    process_study(study, TwoSentences("v2"))   # reprocessed with another recogniser: the same cuts here
    table = load_study(study.root).table.set_index("utterance_id")
    assert table.loc["P01_s01_q1_001", "text"] == "I am, um, really worried."
    assert table.loc["P01_s01_q1_001", "asr_text"] == "I am worried." and table.loc["P01_s01_q1_001", "corrected"]
    assert table["corrected"].sum() == 1
    # Re-recorded: the correction is kept in the file but not applied to the new take's sentence.
    study.save_answer("P01", "s01", 1, wav(seed=55))
    study.rate_answer("P01", "s01", 1, 7, 3)
    process_study(study, TwoSentences("v2"))
    corpus = load_study(study.root)
    assert corpus.table.set_index("utterance_id").loc["P01_s01_q1_001", "text"] == "I am worried."
    assert any("1 hand correction(s) no longer match" in n for n in corpus.notes)
    assert "really worried" in (study.root / "corrections.csv").read_text()
    with pytest.raises(InputError, match="not in this study"):
        correct_transcript(study, "P99_s01_q1_001", "x")


# --------------------------------------------------------------------------- splits

def test_fewer_than_three_people_split_by_session_and_say_so(studies):
    study = small_study(studies, sessions_per_condition=3)
    process_study(study, TwoSentences())
    corpus = load_study(study.root)
    table = corpus.table
    assert any("only 1 participant(s)" in n and "by whole sessions" in n for n in corpus.notes)
    assert table.groupby("session")["split"].nunique().eq(1).all()          # no session in two splits
    for split in SPLITS:                                                    # both classes everywhere
        assert set(table.loc[table["split"] == split, "stress"]) == {0.0, 1.0}


def test_three_people_split_by_speaker(studies):
    study = small_study(studies, people=("P01", "P02", "P03"))
    process_study(study, TwoSentences())
    corpus = load_study(study.root)
    assert corpus.table.groupby("speaker")["split"].nunique().eq(1).all()
    assert set(corpus.table["split"]) == set(SPLITS)
    assert any("speaker-independent (3 participants" in n for n in corpus.notes)
    assert load_study(study.root, split="session").table.groupby("session")["split"].nunique().eq(1).all()


def test_session_split_matches_a_hand_count():
    sessions = [f"P/s{i:02d}" for i in range(1, 11)]
    table = pd.DataFrame({"session": np.repeat(sessions, 3), "stress": np.repeat([1.0, 0.0] * 5, 3)})
    split = session_split(table, seed=3)
    per_session = split.groupby(table["session"]).first()
    # 5 sessions per class: round(5 x 273 / 2326) = 1 -> at least 1 test, 1 validation, 3 train.
    for stress in (0.0, 1.0):
        names = table.loc[table["stress"] == stress, "session"].unique()
        assert per_session[names].value_counts().to_dict() == {"train": 3, "test": 1, "validation": 1}
    assert (session_split(table, seed=3) == split).all()


def test_the_command_line_writes_the_study_table(studies, tmp_path, capsys):
    study = small_study(studies)
    corpus = run_command("corpus")
    assert corpus(["--study", str(study.root)]) == 2   # --out is required
    assert "the following arguments are required: --out" in capsys.readouterr().err
    assert corpus(["--study", str(study.root), "--out", str(tmp_path / "s.csv")]) == 2
    assert "no processed sentences yet; first: P01/s01 q1: not processed yet" in capsys.readouterr().err
    process_study(study, TwoSentences())
    assert corpus(["--study", str(study.root), "--out", str(tmp_path / "s.csv")]) == 0
    loaded = Corpus.load(tmp_path / "s.csv")
    assert len(loaded.table) == 8 and loaded.name == "exam"
    assert loaded.table["stress"].value_counts().to_dict() == {1.0: 4, 0.0: 4}
    assert "by whole sessions" in capsys.readouterr().out


def test_a_relabelled_condition_is_said_and_a_paper_split_too_small_refused(studies):
    study = small_study(studies)
    process_study(study, TwoSentences())
    settings = study.settings
    study.save_settings(replace(settings, conditions=(Condition("stressed", 0), Condition("not stressed", 1))))
    corpus = load_study(study.root)
    # The sessions keep the label they were recorded under, and the notes say which differ now.
    assert corpus.table.groupby("session")["stress"].first().to_dict() == {"P01/s01": 1.0, "P01/s02": 0.0}
    assert any("2 session(s) keep the stress label" in n for n in corpus.notes)
    with pytest.raises(InputError, match="the paper split cannot be made from 8 sentences"):
        load_study(study.root, split="paper")
    assert any("split(s) lack stressed or not-stressed sentences" in n for n in corpus.notes)

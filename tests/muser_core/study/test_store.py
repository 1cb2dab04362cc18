"""Studies: the folder format, an interrupted session continued, processing, corrections, deletion, splits."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile
from conftest import SR, TwoSentences, small_study
from conftest import voiced_wav_bytes as wav

from muser_core.base.errors import InputError
from muser_core.data import corpus as corpus_cli
from muser_core.data.corpus import SPLITS, Corpus
from muser_core.features.acoustic import EGEMAPS_FEATURES, FeatureCache, content_key
from muser_core.study.store import (
    DEFAULT_QUESTIONS,
    Condition,
    Study,
    StudySettings,
    list_studies,
    load_study,
    session_split,
)

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


# --------------------------------------------------------------------------- processing and the corpus

def test_processing_gives_labelled_sentences_with_features(studies):
    study = small_study(studies)
    report = study.process(TwoSentences())
    assert (report.processed, report.up_to_date, report.skipped, report.sentences) == (4, 0, [], 8)
    corpus = load_study(study.root)
    table = corpus.table
    assert len(table) == 8 and table["speaker"].unique().tolist() == ["P01"]
    # Every sentence carries its session's stress label and its monologue's ratings.
    stressed = table["session"] == "P01/s01"
    assert (table.loc[stressed, "stress"] == 1).all() and (table.loc[~stressed, "stress"] == 0).all()
    assert (table.loc[stressed, ["activation", "valence"]].to_numpy() == [7, 3]).all()
    assert (table.loc[~stressed, ["activation", "valence"]].to_numpy() == [3, 7]).all()
    assert table["text"].tolist()[:2] == ["I am worried.", "It is fine."]
    assert corpus.label_scales == {"activation": (1.0, 9.0), "valence": (1.0, 9.0)}
    assert set(EGEMAPS_FEATURES) <= set(table.columns) and table[EGEMAPS_FEATURES].notna().all(axis=None)
    assert all(Path(p).is_file() and Path(p).is_relative_to(study.root) for p in table["audio_path"])
    # A second pass keeps what is done.
    again = study.process(TwoSentences())
    assert (again.processed, again.up_to_date, again.sentences) == (0, 4, 8)
    # Another recogniser: everything is redone.
    assert study.process(TwoSentences("v2")).processed == 4


def test_a_bad_answer_is_skipped_counted_and_the_rest_kept(studies):
    study = small_study(studies)
    study.process(TwoSentences())
    # A take re-recorded after processing is not read as the old one.
    study.save_answer("P01", "s02", 2, wav(seed=77))
    _, _, skipped = study.sentences()
    assert [s.item for s in skipped] == ["P01/s02 q2"] and "re-recorded" in skipped[0].reason
    # The new take is damaged on disk: processing skips it, removes the stale outputs, keeps the others.
    (study.root / "recordings/P01/s02/q2.wav").write_bytes(b"RIFF....WAVEbroken")
    report = study.process(TwoSentences())
    assert (report.processed, report.up_to_date, len(report.skipped)) == (0, 3, 1)
    assert report.skipped[0].item == "P01/s02 q2" and "not a readable audio file" in report.skipped[0].reason
    assert not (study.root / "processed/P01/s02/q2").exists()
    assert len(load_study(study.root).table) == 6


def test_hand_corrections_survive_reprocessing_and_never_move_to_another_sentence(studies):
    study = small_study(studies)
    study.process(TwoSentences())
    study.correct_transcript("P01_s01_q1_001", "I am, um, really worried.")
    study.process(TwoSentences("v2"))   # reprocessed with another recogniser: the same cuts here
    table = load_study(study.root).table.set_index("utterance_id")
    assert table.loc["P01_s01_q1_001", "text"] == "I am, um, really worried."
    assert table.loc["P01_s01_q1_001", "asr_text"] == "I am worried." and table.loc["P01_s01_q1_001", "corrected"]
    assert table["corrected"].sum() == 1
    # Re-recorded: the correction is kept in the file but not applied to the new take's sentence.
    study.save_answer("P01", "s01", 1, wav(seed=55))
    study.rate_answer("P01", "s01", 1, 7, 3)
    study.process(TwoSentences("v2"))
    corpus = load_study(study.root)
    assert corpus.table.set_index("utterance_id").loc["P01_s01_q1_001", "text"] == "I am worried."
    assert any("1 hand correction(s) no longer match" in n for n in corpus.notes)
    assert "really worried" in (study.root / "corrections.csv").read_text()
    with pytest.raises(InputError, match="not in this study"):
        study.correct_transcript("P99_s01_q1_001", "x")


def test_deleting_a_participant_removes_their_files_and_rows_and_says_what(studies, tmp_path):
    study = small_study(studies, people=("P01", "P02"))
    study.process(TwoSentences())
    study.correct_transcript("P01_s01_q1_002", "It is fine, really.")
    study.correct_transcript("P02_s01_q1_001", "Kept.")
    (study.root / "models/P01").mkdir(parents=True)
    (study.root / "models/P01/personal_model.json").write_text("{}")
    copy = tmp_path / "runs" / ".corpora" / "study-exam-0123456789.csv"
    load_study(study.root).save(copy)   # what the Train page writes
    other = tmp_path / "runs" / ".corpora" / "study-exam-2-0123456789.csv"   # another study's copy
    other.write_text("x")
    run = tmp_path / "runs" / "r1"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"data": {"corpus": str(copy)}}))
    p01 = [p for p in study.root.rglob("*") if p.is_file() and "P01" in p.relative_to(study.root).parts]
    clips = [p for p in p01 if p.parent.name == "clips"]
    recordings = [p for p in p01 if p.parent.parent.name == "P01" and p.suffix == ".wav"]
    cached = [FeatureCache()._file(content_key(p)) for p in clips]
    assert all(c.is_file() for c in cached) and len(recordings) == 4 and len(clips) == 8

    from muser_core.features.text_encoder import cached_embeddings, text_key

    texts = load_study(study.root).table.set_index("speaker")["text"]
    cached_embeddings(list(texts))  # what a frozen training run on the study leaves in the cache
    report = study.delete_participant("P01")
    assert (report.sessions, report.recordings, report.sentence_clips, report.feature_rows,
            report.corrections, report.personal_models) == (2, 4, 8, 8, 1, 1)
    assert report.cached_features == len({c for c in cached})
    assert report.training_copies == [str(copy)] and report.runs_trained_on_it == ["r1"]
    assert "Removed participant P01: 2 session(s), 4 answer recording(s), 8 sentence clip(s)" in report.message()
    assert "r1" in report.message()
    assert not [p for p in study.root.rglob("*") if "P01" in p.relative_to(study.root).parts]
    assert not any(c.exists() for c in cached) and not copy.exists() and other.exists()
    # Their transcripts' sentence vectors are gone from the embedding cache; the other participant's stay.
    vectors = {k for f in (tmp_path / "cache" / "text_embeddings").glob("*.npz") for k in np.load(f)["keys"]}
    assert report.cached_text_vectors == len(set(texts.loc["P01"]))  # the corrected sentence among them
    assert not {text_key(t) for t in texts.loc["P01"]} & vectors
    # Only the other participant's own sentences stay (a sentence both said is recomputed when needed).
    assert {text_key(t) for t in set(texts.loc["P02"]) - set(texts.loc["P01"])} <= vectors
    assert "P01" not in (study.root / "participants.csv").read_text()
    assert "P01" not in (study.root / "corrections.csv").read_text()
    table = load_study(study.root).table
    assert set(table["speaker"]) == {"P02"} and len(table) == 8 and table["corrected"].sum() == 1
    with pytest.raises(InputError, match="not in this study"):
        study.delete_participant("P01")


# --------------------------------------------------------------------------- splits

def test_fewer_than_three_people_split_by_session_and_say_so(studies):
    study = small_study(studies, sessions_per_condition=3)
    study.process(TwoSentences())
    corpus = load_study(study.root)
    table = corpus.table
    assert any("only 1 participant(s)" in n and "by whole sessions" in n for n in corpus.notes)
    assert table.groupby("session")["split"].nunique().eq(1).all()          # no session in two splits
    for split in SPLITS:                                                    # both classes everywhere
        assert set(table.loc[table["split"] == split, "stress"]) == {0.0, 1.0}


def test_three_people_split_by_speaker(studies):
    study = small_study(studies, people=("P01", "P02", "P03"))
    study.process(TwoSentences())
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
    with pytest.raises(SystemExit):
        corpus_cli.main(["--study", str(study.root)])   # --out is required
    assert corpus_cli.main(["--study", str(study.root), "--out", str(tmp_path / "s.csv")]) == 2
    assert "no processed sentences yet; first: P01/s01 q1: not processed yet" in capsys.readouterr().err
    study.process(TwoSentences())
    assert corpus_cli.main(["--study", str(study.root), "--out", str(tmp_path / "s.csv")]) == 0
    loaded = Corpus.load(tmp_path / "s.csv")
    assert len(loaded.table) == 8 and loaded.name == "exam"
    assert loaded.table["stress"].value_counts().to_dict() == {1.0: 4, 0.0: 4}
    assert "by whole sessions" in capsys.readouterr().out


def test_a_relabelled_condition_is_said_and_a_paper_split_too_small_refused(studies):
    study = small_study(studies)
    study.process(TwoSentences())
    settings = study.settings
    study.save_settings(replace(settings, conditions=(Condition("stressed", 0), Condition("not stressed", 1))))
    corpus = load_study(study.root)
    # The sessions keep the label they were recorded under, and the notes say which differ now.
    assert corpus.table.groupby("session")["stress"].first().to_dict() == {"P01/s01": 1.0, "P01/s02": 0.0}
    assert any("2 session(s) keep the stress label" in n for n in corpus.notes)
    with pytest.raises(InputError, match="the paper split cannot be made from 8 sentences"):
        load_study(study.root, split="paper")
    assert any("split(s) lack stressed or not-stressed sentences" in n for n in corpus.notes)

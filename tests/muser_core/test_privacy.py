"""Deleting a participant everywhere: the study folder, both caches, the training copies; through the stores' own methods."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import threading

import pytest
from conftest import TwoSentences, small_study

from muser_core.base.errors import InputError
from muser_core.features.acoustic import FeatureCache, content_key
from muser_core.features.layer_cache import cached_lower_states
from muser_core.features.text_encoder import TextEncoder, cached_embeddings, text_key
from muser_core.privacy import delete_participant
from muser_core.study.process import process_study, sentence_clips
from muser_core.study.table import correct_transcript, load_study


def test_deleting_a_participant_removes_their_files_and_rows_and_says_what(studies, tmp_path):
    study = small_study(studies, people=("P01", "P02"))
    process_study(study, TwoSentences())
    correct_transcript(study, "P01_s01_q1_002", "It is fine, really.")
    correct_transcript(study, "P02_s01_q1_001", "Kept.")
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

    texts = load_study(study.root).table.set_index("speaker")["text"]
    cached_embeddings(list(texts))  # what a frozen training run on the study leaves in the cache
    cached_lower_states(TextEncoder(), list(texts), 1)  # and a --finetune-layers 1 run
    hidden = tmp_path / "cache" / "hidden_states"
    assert len(list(hidden.rglob("*.npy"))) == len(set(texts))
    report = delete_participant(study, "P01")
    assert (report.sessions, report.recordings, report.sentence_clips, report.feature_rows,
            report.corrections, report.personal_models) == (2, 4, 8, 8, 1, 1)
    assert report.cached_features == len({c for c in cached})
    assert report.training_copies == [str(copy)] and report.runs_trained_on_it == ["r1"]
    assert "Removed participant P01: 2 session(s), 4 answer recording(s), 8 sentence clip(s)" in report.message()
    assert "r1" in report.message()
    assert not [p for p in study.root.rglob("*") if "P01" in p.relative_to(study.root).parts]
    assert not any(c.exists() for c in cached) and not copy.exists() and other.exists()
    # Their transcripts' sentence vectors are gone from the embedding cache; the other participant's stay.
    vectors = {k for f in (tmp_path / "cache" / "text_embeddings").glob("*.sqlite")
               for (k,) in sqlite3.connect(f).execute("SELECT key FROM vectors")}
    assert report.cached_text_vectors == len(set(texts.loc["P01"]))  # the corrected sentence among them
    assert not {text_key(t) for t in texts.loc["P01"]} & vectors
    assert report.cached_hidden_states == len(set(texts.loc["P01"]))
    assert {p.stem for p in hidden.rglob("*.npy")} == {text_key(t) for t in set(texts) - set(texts.loc["P01"])}
    # Only the other participant's own sentences stay (a sentence both said is recomputed when needed).
    assert {text_key(t) for t in set(texts.loc["P02"]) - set(texts.loc["P01"])} <= vectors
    assert "P01" not in (study.root / "participants.csv").read_text()
    assert "P01" not in (study.root / "corrections.csv").read_text()
    table = load_study(study.root).table
    assert set(table["speaker"]) == {"P02"} and len(table) == 8 and table["corrected"].sum() == 1
    with pytest.raises(InputError, match="not in this study"):
        delete_participant(study, "P01")


def test_deletion_forgets_cached_features_through_the_cache_and_keeps_the_others(studies, monkeypatch):
    """FeatureCache.forget is what removes the entries: the deleted clips' go, the other participant's stay."""
    study = small_study(studies, people=("P01", "P02"))
    process_study(study, TwoSentences())
    cache = FeatureCache()
    clips = sentence_clips(study, "P01")
    gone = [content_key(p) for p in clips]
    kept = [content_key(p) for p in sentence_clips(study, "P02")]
    assert all(cache.get(k) is not None for k in gone + kept) and not set(gone) & set(kept)
    asked = []
    forget = FeatureCache.forget

    def spy(self, paths):
        asked.append(list(paths))
        return forget(self, asked[-1])

    monkeypatch.setattr(FeatureCache, "forget", spy)
    report = delete_participant(study, "P01")
    [paths] = asked   # one call, with every recording and sentence clip of P01
    assert len(paths) == report.recordings + report.sentence_clips
    assert {p for p in paths if p.parent.name == "clips"} == set(clips)
    assert report.cached_features == len(set(gone))   # the whole answers were never extracted, only their clips
    assert all(cache.get(k) is None for k in gone)
    assert all(cache.get(k) is not None for k in kept)


class DeletedWhileHeard(TwoSentences):
    """A recogniser that, while it hears the first answer, lets another thread delete the participant."""

    def __init__(self):
        super().__init__()
        self.hearing, self.deleted = threading.Event(), threading.Event()

    def recognise(self, signal, sample_rate=16_000):
        if not self.hearing.is_set():
            self.hearing.set()
            assert self.deleted.wait(60)
        return super().recognise(signal, sample_rate)


def test_deletion_during_a_processing_pass_wins(studies):
    """A participant deleted while their answers are processed does not get their clips written back."""
    study = small_study(studies, people=("P01",))
    recogniser = DeletedWhileHeard()
    reports = []
    worker = threading.Thread(target=lambda: reports.append(process_study(study, recogniser)))
    worker.start()
    assert recogniser.hearing.wait(60)
    deletion = delete_participant(study, "P01")   # the pass holds no lock while it listens
    recogniser.deleted.set()
    worker.join(120)
    assert deletion.sessions == 2 and reports
    assert "deleted during processing" in " ".join(s.reason for s in reports[0].skipped)
    left = [p for p in study.root.rglob("*") if "P01" in p.relative_to(study.root).parts]
    assert left == []
    assert not [p for p in (studies.parent / "cache").rglob("*.npy")]   # no cached features of their clips


def test_a_killed_pass_leaves_no_voice_clips_after_the_next_pass(studies):
    """A pass killed mid-answer leaves a hidden partial folder of clips; the next pass removes it."""
    study = small_study(studies, people=("P01",))
    process_study(study, TwoSentences())
    answer = next(study.root.glob("processed/P01/s01/q1"))
    dead = _a_finished_pid()
    partial = answer.with_name(f".q1.{dead}.deadbeef.tmp")
    shutil.copytree(answer, partial)
    live = answer.with_name(f".q2.{os.getpid()}.cafecafe.tmp")   # a pass of this process (another tab)
    shutil.copytree(answer, live)
    report = process_study(study, TwoSentences())
    assert not partial.exists() and live.exists() and report.removed == 1
    shutil.rmtree(live)


def _a_finished_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid

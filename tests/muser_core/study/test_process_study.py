"""Processing a study: labelled sentences with features, a second pass keeps what is done, a bad answer skipped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
from conftest import TwoSentences, small_study
from conftest import voiced_wav_bytes as wav

from muser_core.base.paths import CHECKOUT as REPO_ROOT
from muser_core.features.acoustic import EGEMAPS_FEATURES
from muser_core.study.process import process_study
from muser_core.study.table import load_study, sentences


def test_processing_gives_labelled_sentences_with_features(studies):
    study = small_study(studies)
    report = process_study(study, TwoSentences())
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
    again = process_study(study, TwoSentences())
    assert (again.processed, again.up_to_date, again.sentences) == (0, 4, 8)
    # Another recogniser: everything is redone.
    assert process_study(study, TwoSentences("v2")).processed == 4


def test_a_bad_answer_is_skipped_counted_and_the_rest_kept(studies):
    study = small_study(studies)
    process_study(study, TwoSentences())
    # A take re-recorded after processing is not read as the old one.
    study.save_answer("P01", "s02", 2, wav(seed=77))
    _, _, skipped = sentences(study)
    assert [s.item for s in skipped] == ["P01/s02 q2"] and "re-recorded" in skipped[0].reason
    # The new take is damaged on disk: processing skips it, removes the stale outputs, keeps the others.
    (study.root / "recordings/P01/s02/q2.wav").write_bytes(b"RIFF....WAVEbroken")
    report = process_study(study, TwoSentences())
    assert (report.processed, report.up_to_date, len(report.skipped)) == (0, 3, 1)
    assert report.skipped[0].item == "P01/s02 q2" and "not a readable audio file" in report.skipped[0].reason
    assert not (study.root / "processed/P01/s02/q2").exists()
    assert len(load_study(study.root).table) == 6


def test_a_damaged_or_truncated_features_table_is_named_and_redone(studies):
    """A damaged egemaps.csv is one line in ``corpus --study``, not a traceback; a truncated one is not read as
    fewer features."""
    study = small_study(studies)
    process_study(study, TwoSentences())
    answers = sorted(study.root.glob("processed/P01/*/q*"))
    damaged, truncated = answers[0] / "egemaps.csv", answers[1] / "egemaps.csv"
    damaged.write_bytes(b"\x00\x01 not a table\n")
    lines = truncated.read_text().splitlines()
    truncated.write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2] + "\n")   # cut in its first row
    corpus = load_study(study.root)
    notes = " ".join(corpus.notes)
    assert f"{damaged}: damaged eGeMAPS table" in notes
    assert "4 sentence(s) without all eGeMAPS features" in notes   # two of each answer
    truncated_ids = pd.read_csv(truncated.parent / "manifest.csv")["utterance_id"].tolist()
    assert all(uid in notes for uid in truncated_ids)
    assert len(corpus.table) == 8     # the sentences stay; their missing features are absent, not invented
    assert corpus.table.set_index("utterance_id").loc[truncated_ids, EGEMAPS_FEATURES[-1]].isna().all()
    again = process_study(study, TwoSentences())
    assert (again.processed, again.up_to_date) == (2, 2)
    assert not any("eGeMAPS" in n for n in load_study(study.root).notes)


def test_corpus_study_on_a_damaged_features_table_is_not_a_traceback(studies, tmp_path):
    study = small_study(studies)
    process_study(study, TwoSentences())
    next(study.root.glob("processed/P01/*/q1/egemaps.csv")).write_text("utterance_id,Loudness\nx,notanumber\n")
    proc = subprocess.run([sys.executable, "-m", "muser_core", "corpus", "--study", str(study.root),
                           "--out", str(tmp_path / "s.csv")], capture_output=True, text=True, cwd=REPO_ROOT)
    assert "Traceback" not in proc.stderr and proc.returncode == 0, proc.stderr
    assert "damaged eGeMAPS table" in proc.stdout + proc.stderr

"""Processing a study: labelled sentences with features, a second pass keeps what is done, a bad answer skipped."""

from __future__ import annotations

from pathlib import Path

from conftest import TwoSentences, small_study
from conftest import voiced_wav_bytes as wav

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

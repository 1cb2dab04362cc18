"""corpus_file: a study becomes a canonical copy named by its content (a study grows)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TwoSentences, record_session, small_study

from muser_core.base.errors import InputError
from muser_core.data.corpus import Corpus
from muser_core.sources import corpus_file
from muser_core.train.data import load_corpus


def test_a_study_copy_is_renewed_when_the_study_grows(studies, runs_root):
    study = small_study(studies, sessions_per_condition=3)
    study.process(TwoSentences())
    first = corpus_file("study", str(study.root))
    assert Path(first).parent == runs_root / ".corpora" and Path(first).name.startswith("study-exam-")
    assert corpus_file("study", str(study.root)) == first                      # unchanged: reused
    table = Corpus.load(first).table
    assert len(table) == 24 and table.groupby("session")["split"].nunique().eq(1).all()
    # What the trainer reads with --split table: the study's own session split, both classes everywhere.
    loaded = load_corpus(first, "table")
    for split in ("train", "validation", "test"):
        assert set(loaded.table.loc[loaded.table["split"] == split, "stress"]) == {0.0, 1.0}
    record_session(study, "P01", "stressed", seed=77)
    study.process(TwoSentences())
    second = corpus_file("study", str(study.root))
    assert second != first and len(Corpus.load(second).table) == 28
    with pytest.raises(InputError, match="give the path of the study data"):
        corpus_file("study", "")

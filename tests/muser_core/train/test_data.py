"""load_corpus: a built-in source by name through the registry, or a canonical CSV, split as asked."""

from __future__ import annotations

import pytest

from muser_core import sources
from muser_core.data.corpus import Corpus
from muser_core.data.muse import load_muse
from muser_core.train.data import load_corpus


def test_a_canonical_csv_keeps_its_split_or_is_re_split(muse_root, tmp_path):
    corpus = load_muse(muse_root, split="paper", seed=5)
    corpus.save(tmp_path / "c.csv")
    kept = load_corpus(str(tmp_path / "c.csv"), "table")
    assert kept.table["split"].equals(corpus.table["split"])
    assert kept.notes[-1] == "split: the table's own split column"
    resplit = load_corpus(str(tmp_path / "c.csv"), "speaker", split_seed=1)
    assert (resplit.table.groupby("speaker")["split"].nunique() == 1).all()
    assert "made here with seed 1 (--split speaker)" in resplit.notes[-1]
    external = load_corpus(str(tmp_path / "c.csv"), "speaker", external=True)
    assert external.table["split"].equals(corpus.table["split"]) and "(external corpus)" in external.notes[-1]


def test_the_demo_is_loaded_by_name_through_the_registry(monkeypatch):
    if not sources.SOURCES[sources.DEMO].present():
        pytest.skip("demo corpus not built in this checkout")
    calls = []
    real = sources.load

    def spy(name, *args, **kwargs):
        calls.append((name, kwargs))
        return real(name, *args, **kwargs)

    monkeypatch.setattr("muser_core.train.data.load_source", spy)
    own = load_corpus(sources.DEMO, "table")
    assert own.synthetic and calls[-1] == (sources.DEMO, {"split": "speaker"})  # its own split
    assert load_corpus(sources.DEMO, "paper").table["split"].value_counts()["validation"] == 200
    external = load_corpus(sources.DEMO, external=True)
    assert calls[-1] == (sources.DEMO, {"external": True}) and external.table["stress"].isna().all()
    assert isinstance(external, Corpus)

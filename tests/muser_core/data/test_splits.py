"""Splits: whole speakers kept apart, and the paper's 1,853 / 200 / 273 stratified by stress (3.1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from muser_core.base.errors import InputError
from muser_core.data.splits import assign_split, paper_split, speaker_independent_split


def _table(n_speakers=28, per_speaker=83, seed=0):
    rng = np.random.default_rng(seed)
    rows = [{"speaker": f"{s:02d}", "stress": float(rng.random() < 0.5)}
            for s in range(n_speakers) for _ in range(per_speaker + s % 5)]
    return pd.DataFrame(rows)


def test_speaker_independent_split_keeps_speakers_apart():
    t = _table()
    split = speaker_independent_split(t, seed=3)
    assert set(split) == {"train", "validation", "test"}
    assert (t.assign(split=split).groupby("speaker")["split"].nunique() == 1).all()
    shares = split.value_counts(normalize=True)
    assert shares["train"] == pytest.approx(1853 / 2326, abs=0.06)
    assert split.equals(speaker_independent_split(t, seed=3))  # seeded


def test_paper_split_sizes_and_stratification():
    t = _table(n_speakers=28, per_speaker=82)
    t = t.iloc[:2326].reset_index(drop=True)
    split = paper_split(t, seed=0)
    assert split.value_counts().to_dict() == {"train": 1853, "test": 273, "validation": 200}
    rates = t.groupby(split)["stress"].mean()
    assert rates.max() - rates.min() < 0.03


def test_assign_split_sets_the_column_and_refuses_an_unknown_method():
    t = _table(n_speakers=6, per_speaker=10)
    assert assign_split(t, "speaker", seed=1)["split"].equals(speaker_independent_split(t, seed=1))
    assert "split" not in t  # the caller's table is left as it was
    with pytest.raises(InputError, match="unknown split 'random' \\(choose speaker or paper\\)"):
        assign_split(t, "random")

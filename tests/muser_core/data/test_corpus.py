"""The canonical table: saved with its sidecar and loaded back, old sidecar names included."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from muser_core.base.errors import InputError
from muser_core.data.corpus import (
    CANONICAL_COLUMNS,
    Corpus,
    canonical,
    check_table_path,
    sidecar_path,
)
from muser_core.data.muse import load_muse


def test_save_and_load_round_trip(muse_root, tmp_path):
    corpus = load_muse(muse_root)
    corpus.save(tmp_path / "c.csv")
    back = Corpus.load(tmp_path / "c.csv")
    pd.testing.assert_frame_equal(back.table[CANONICAL_COLUMNS], corpus.table[CANONICAL_COLUMNS])
    assert back.label_scales == corpus.label_scales and back.skipped == corpus.skipped


def test_tables_with_the_old_sidecar_name_still_load(muse_root, tmp_path):
    corpus = load_muse(muse_root)
    corpus.save(tmp_path / "c.csv")
    meta = json.loads(sidecar_path(tmp_path / "c.csv").read_text())
    sidecar_path(tmp_path / "c.csv").unlink()
    del meta["written_by"], meta["table"]
    (tmp_path / "c.json").write_text(json.dumps(meta))  # what older versions wrote
    assert Corpus.load(tmp_path / "c.csv").label_scales == corpus.label_scales
    corpus.save(tmp_path / "c.csv")  # a table with an old sidecar of ours may be replaced
    (tmp_path / "c.json").write_text('["not", "ours"]')
    assert Corpus.load(tmp_path / "c.csv").label_scales == corpus.label_scales


def test_canonical_puts_the_columns_first_with_their_types():
    table = canonical(pd.DataFrame({"extra": ["e"], "speaker": [7], "stress": ["1"], "text": [None]}))
    assert list(table.columns) == [*CANONICAL_COLUMNS, "extra"]
    assert table.loc[0, "speaker"] == "7" and table.loc[0, "text"] == "" and table.loc[0, "stress"] == 1.0
    assert np.isnan(table.loc[0, "valence"])


def test_check_table_path_refuses_what_save_must_not_write(tmp_path):
    (tmp_path / "theirs.csv").write_text("a\n1\n")
    with pytest.raises(InputError, match="theirs.csv: exists and was not written by muser_core.corpus"):
        check_table_path(tmp_path / "theirs.csv")
    with pytest.raises(InputError, match="give a file name ending in .csv or .csv.gz"):
        check_table_path(tmp_path / "t.parquet")
    check_table_path(tmp_path / "new.csv.gz")  # a new name is fine
    assert sidecar_path(tmp_path / "new.csv.gz").name == "new.csv.gz.meta.json"

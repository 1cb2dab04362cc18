"""The canonical table: saved with its sidecar and loaded back, old sidecar names included."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import run_with_file_limit, stray_temporaries

from muser_core.base.errors import InputError
from muser_core.base.paths import CHECKOUT as REPO_ROOT
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


# ---------------------------------------------------------------- table and sidecar change together

_SAVE_A_NEW_VERSION = """
import os, signal, sys
from dataclasses import replace
from muser_core.data.corpus import Corpus

path, kill_at = sys.argv[1], int(sys.argv[2])
old = Corpus.load(path)
new = replace(old, table=old.table.iloc[:3].copy(), name="new", synthetic=False, label_scales={})
renames = []
real_replace = os.replace
def replace_or_die(src, dst):   # the fault: this process is killed -9 before its n-th rename
    renames.append(dst)
    if len(renames) == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(src, dst)
os.replace = replace_or_die
new.save(path)
"""


def _old_version(muse_root, path):
    corpus = load_muse(muse_root)
    old = Corpus(table=corpus.table, name="old", label_scales={"activation": (1.0, 5.0)}, synthetic=True)
    old.save(path)
    return old


@pytest.mark.parametrize("kill_at", [1, 2])
def test_a_kill_between_writes_keeps_table_and_metadata_together(muse_root, tmp_path, kill_at):
    path = tmp_path / "c.csv"
    old = _old_version(muse_root, path)
    proc = subprocess.run([sys.executable, "-c", _SAVE_A_NEW_VERSION, str(path), str(kill_at)],
                          capture_output=True, text=True, cwd=REPO_ROOT)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    back = Corpus.load(path)
    assert len(back.table) == len(old.table)
    assert (back.name, back.synthetic, back.label_scales) == ("old", True, {"activation": (1.0, 5.0)})
    new = Corpus(table=old.table.iloc[:2], name="again")
    new.save(path)                   # and it can be written again
    assert Corpus.load(path).name == "again" and len(Corpus.load(path).table) == 2


def test_a_full_disk_changes_neither_table_nor_metadata(muse_root, tmp_path):
    path = tmp_path / "c.csv"
    _old_version(muse_root, path)
    before = path.read_bytes(), sidecar_path(path).read_bytes()
    grow = ("from dataclasses import replace; import sys; import pandas as pd; "
            "from muser_core.data.corpus import Corpus; c = Corpus.load(sys.argv[1]); "
            "replace(c, table=pd.concat([c.table] * 4, ignore_index=True), synthetic=False).save(sys.argv[1])")
    proc = run_with_file_limit([sys.executable, "-c", grow, str(path)], limit_bytes=len(before[0]) + 512,
                               cwd=REPO_ROOT)
    assert proc.returncode == 1 and "cannot write" in proc.stderr, proc.stderr
    assert (path.read_bytes(), sidecar_path(path).read_bytes()) == before
    assert stray_temporaries(tmp_path) == []


def test_a_table_edited_after_its_sidecar_is_refused_not_misdescribed(muse_root, tmp_path):
    path = tmp_path / "c.csv"
    _old_version(muse_root, path)
    path.write_text(path.read_text().replace(",train,", ",test,", 1))
    with pytest.raises(InputError, match="describes another version of c.csv"):
        Corpus.load(path)

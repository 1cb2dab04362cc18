"""Dreaddit: both files as distributed, whole-post validation hold-out, bad rows, on copies built here.

Each test writes a small copy in the documented layout (the leading header columns in
order, a few lex_* and trailing columns) and checks the loader against the csv module
reading the same files.
"""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from muser_core.base.errors import InputError
from muser_core.data.dreaddit import DREADDIT_FILES, DREADDIT_VALIDATION_SHARE, load_dreaddit

LEADING = ["subreddit", "post_id", "sentence_range", "text", "id", "label", "confidence",
           "social_timestamp", "social_karma", "syntax_ari"]
HEADER = [*LEADING, "lex_liwc_WC", "lex_liwc_Analytic", "lex_liwc_Clout", "lex_liwc_Tone",
          "lex_dal_max_pleasantness", "lex_dal_avg_activation", "lex_dal_avg_imagery",
          "social_upvote_ratio", "social_num_comments", "syntax_fk_grade", "sentiment"]
SUBREDDITS = ["ptsd", "relationships", "anxiety", "domesticviolence", "assistance",
              "survivorsofabuse", "homeless", "almosthomeless", "stress", "food_pantry"]
QUOTED = 'He said "fine, I guess" and, well,\nthat was "it".'  # a comma, quotes and a newline inside
QUOTED_ID = "1007"
N_TRAIN_POSTS = 30


def _rows(prefix: str, n_posts: int, first_id: int) -> list[dict]:
    """Rows of ``n_posts`` posts, 1-3 segments each (different sentence ranges), labels alternating by post."""
    rows, next_id = [], first_id
    for p in range(n_posts):
        for s in range(1 + p % 3):
            rows.append({"subreddit": SUBREDDITS[p % 10], "post_id": f"{prefix}{p:02d}",
                         "sentence_range": f"({5 * s}, {5 * s + 5})",
                         "text": f"Post {prefix}{p} segment {s}: I can't sleep, and work is piling up.",
                         "id": str(next_id), "label": str(p % 2), "confidence": f"{0.6 + 0.1 * (s % 4):.1f}",
                         "social_timestamp": str(1521614353 + p), "social_karma": str(p),
                         "syntax_ari": "1.8"})
            next_id += 1
    if len(rows) > 10:
        rows[7]["text"] = QUOTED
        rows[9]["text"] = "NA"  # a text, not a missing value
        rows[10]["label"] = str(1 - int(rows[10]["label"]))  # a post whose segments disagree
    return rows


def _write(path, rows: list[dict], header: list[str] = HEADER) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(c, "0.5") for c in header])


def _records(path) -> list[tuple[int, dict]]:
    """(the line a record starts on, its cells) for every record: the independent reading."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        out, start = [], reader.line_num + 1
        for row in reader:
            out.append((start, dict(zip(header, row, strict=True))))
            start = reader.line_num + 1
    return out


@pytest.fixture
def dreaddit_root(tmp_path):
    root = tmp_path / "Dreaddit"
    root.mkdir()
    _write(root / DREADDIT_FILES["train"], _rows("tr", N_TRAIN_POSTS, 1000))
    _write(root / DREADDIT_FILES["test"], _rows("te", 6, 5000))
    return root


def _posts(table: pd.DataFrame, split: str) -> set[str]:
    return set(table.loc[table["split"] == split, "post_id"])


def test_dreaddit_reads_both_files_as_distributed(dreaddit_root):
    assert '""fine, I guess""' in (dreaddit_root / DREADDIT_FILES["train"]).read_text()  # quoted as written
    corpus = load_dreaddit(dreaddit_root)
    t = corpus.table
    train = [r for _, r in _records(dreaddit_root / DREADDIT_FILES["train"])]
    test = [r for _, r in _records(dreaddit_root / DREADDIT_FILES["test"])]
    assert t["utterance_id"].is_unique
    assert set(t.loc[t["split"] == "test", "utterance_id"]) == {r["id"] for r in test}
    assert set(t.loc[t["split"] != "test", "utterance_id"]) == {r["id"] for r in train}
    assert len(t) == len(train) + len(test) and corpus.skipped == []
    by_id = t.set_index("utterance_id")
    for r in train + test:
        row = by_id.loc[r["id"]]
        assert row["stress"] == float(r["label"])
        assert (row["subreddit"], row["sentence_range"], row["post_id"], row["speaker"]) == (
            r["subreddit"], r["sentence_range"], r["post_id"], r["post_id"])
        assert row["confidence"] == pytest.approx(float(r["confidence"]))
        assert row["text"] == r["text"]
    assert by_id.loc[QUOTED_ID, "text"] == QUOTED  # commas, quotes and the newline survive
    assert (t["text"] == "NA").sum() == 2  # one per file: a text "NA" is not a missing value
    assert t["activation"].isna().all() and t["valence"].isna().all()
    assert (t["audio_path"] == "").all() and (t["dataset"] == "dreaddit").all()
    assert not any(c.startswith(("lex_", "social_", "syntax_")) for c in t.columns)
    assert (corpus.name, corpus.label_scales, corpus.synthetic) == ("Dreaddit", {}, False)
    assert "stress = Dreaddit label (crowd workers): 1 stressed, 0 not" in corpus.notes
    assert any(n.startswith("speaker = post_id") and "author" in n for n in corpus.notes)
    assert "utterance_id is Dreaddit's id column" in corpus.notes
    assert "rows per split" in corpus.summary()


def test_dreaddit_holds_out_whole_training_posts_seeded(dreaddit_root):
    t = load_dreaddit(dreaddit_root, seed=0).table
    train, val = _posts(t, "train"), _posts(t, "validation")
    assert not train & val and not (train | val) & _posts(t, "test")
    assert len(train | val) == N_TRAIN_POSTS
    n_held = round(N_TRAIN_POSTS * DREADDIT_VALIDATION_SHARE)
    assert len(val) == n_held == 3
    assert set(t.loc[t["split"] == "validation", "stress"]) == {0.0, 1.0}  # stratified by label
    rows = [r for _, r in _records(dreaddit_root / DREADDIT_FILES["train"])]
    held_rows = sum(r["post_id"] in val for r in rows)
    assert (t["split"] == "validation").sum() == held_rows
    corpus = load_dreaddit(dreaddit_root, seed=0)
    assert any(n.startswith("split:") and f"{n_held} of {N_TRAIN_POSTS} training posts" in n
               and f"{held_rows} of {len(rows)} rows" in n and "seed 0" in n for n in corpus.notes)
    # Seeded: the same seed gives the same posts, another seed others; the test file never moves.
    assert corpus.table["split"].equals(t["split"])
    other = load_dreaddit(dreaddit_root, seed=1).table
    assert _posts(other, "validation") != val
    assert _posts(other, "test") == _posts(t, "test")


def test_dreaddit_bad_labels_are_skipped_and_counted(tmp_path):
    root = tmp_path / "Dreaddit"
    root.mkdir()
    rows = _rows("tr", 10, 1000)
    rows[8]["label"], rows[10]["label"], rows[11]["label"] = "2", "", "stressed"  # after the 2-line text
    _write(root / DREADDIT_FILES["train"], rows)
    _write(root / DREADDIT_FILES["test"], _rows("te", 2, 5000))
    corpus = load_dreaddit(root)
    path = root / DREADDIT_FILES["train"]
    lines = {r["id"]: line for line, r in _records(path)}
    assert [(s.item, s.reason) for s in corpus.skipped] == [
        (rows[i]["id"], f"{path}, line {lines[rows[i]['id']]}, column 'label': "
                        f"expected 1 (stressed) or 0 (not), got '{rows[i]['label']}'") for i in (8, 10, 11)]
    assert lines[rows[8]["id"]] == 8 + 3  # the header and QUOTED's second line come before it
    assert len(corpus.table) == len(rows) - 3 + len(_rows("te", 2, 5000))
    assert not {rows[i]["id"] for i in (8, 10, 11)} & set(corpus.table["utterance_id"])
    assert "skipped 3 items" in corpus.summary()


def test_dreaddit_without_ids_builds_them_from_post_and_range(tmp_path):
    root = tmp_path / "Dreaddit"
    root.mkdir()
    header = [c for c in LEADING if c != "id"]  # no id and no lex_* columns: neither is needed
    _write(root / DREADDIT_FILES["train"], _rows("tr", 10, 1000), header)
    _write(root / DREADDIT_FILES["test"], _rows("te", 2, 5000), header)
    corpus = load_dreaddit(root)
    t = corpus.table
    assert list(t["utterance_id"]) == [f"{r['post_id']}:{r['sentence_range']}"
                                       for f in ("train", "test")
                                       for _, r in _records(root / DREADDIT_FILES[f])]
    assert any("<post_id>:<sentence_range> (the files have no id column)" in n for n in corpus.notes)


def test_dreaddit_repeated_ids_fall_back_to_post_and_range(tmp_path):
    root = tmp_path / "Dreaddit"
    root.mkdir()
    train, test = _rows("tr", 10, 1000), _rows("te", 2, 5000)
    test[0]["id"] = train[0]["id"]  # the same id in both files
    test[1] = {**train[1], "id": "5999"}  # the same post and sentence range listed again
    _write(root / DREADDIT_FILES["train"], train)
    _write(root / DREADDIT_FILES["test"], test)
    corpus = load_dreaddit(root)
    t = corpus.table
    assert t["utterance_id"].is_unique and len(t) == len(train) + len(test) - 1
    assert t["utterance_id"].str.fullmatch(r"t[re]\d\d:\(\d+, \d+\)").all()
    assert any("<post_id>:<sentence_range> (0 rows have no id, 1 repeat one)" in n for n in corpus.notes)
    key = f"{train[1]['post_id']}:{train[1]['sentence_range']}"
    assert [(s.item, s.reason) for s in corpus.skipped] == [
        (key, f"{root / DREADDIT_FILES['test']}, line 3: post and sentence range listed again "
              f"(first in {root / DREADDIT_FILES['train']}, line 3)")]


def test_dreaddit_refuses_a_missing_folder_file_or_column(tmp_path, dreaddit_root):
    def refused(root) -> str:
        with pytest.raises(InputError) as exc:
            load_dreaddit(root)
        assert "\n" not in str(exc.value)
        return str(exc.value)

    missing = tmp_path / "nowhere"
    assert refused(missing) == f"{missing}: Dreaddit folder not found"
    (dreaddit_root / DREADDIT_FILES["test"]).unlink()
    assert refused(dreaddit_root).startswith(f"{dreaddit_root / DREADDIT_FILES['test']}: file not found")
    (dreaddit_root / DREADDIT_FILES["train"]).unlink()
    assert refused(dreaddit_root).startswith(f"{dreaddit_root / DREADDIT_FILES['train']}: file not found")
    _write(dreaddit_root / DREADDIT_FILES["train"], _rows("tr", 4, 1000), [c for c in HEADER if c != "label"])
    _write(dreaddit_root / DREADDIT_FILES["test"], _rows("te", 2, 5000))
    assert refused(dreaddit_root).startswith(
        f"{dreaddit_root / DREADDIT_FILES['train']}, column 'label': column missing")


def test_dreaddit_one_training_post_cannot_be_held_out(tmp_path):
    root = tmp_path / "Dreaddit"
    root.mkdir()
    _write(root / DREADDIT_FILES["train"], _rows("tr", 3, 1000)[3:])  # post tr02 only (3 segments)
    _write(root / DREADDIT_FILES["test"], _rows("te", 2, 5000))
    with pytest.raises(InputError, match="1 usable post; the validation hold-out needs at least 2"):
        load_dreaddit(root)

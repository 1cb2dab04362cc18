"""EmoBank: the shipped copy against its own CSV read with the csv module, and small copies built here."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from muser_core.base.errors import InputError
from muser_core.base.paths import DATA_DIR
from muser_core.data.emobank import EMOBANK_DIR, EMOBANK_FILE, EMOBANK_SCALE, load_emobank

SHIPPED = DATA_DIR / "emobank" / "emobank.csv"


@pytest.fixture(scope="module")
def shipped():
    with SHIPPED.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return rows, load_emobank()


def test_the_shipped_copy_loads_with_its_own_split_and_scale(shipped):
    rows, corpus = shipped
    assert EMOBANK_FILE == SHIPPED and EMOBANK_DIR == SHIPPED.parent and EMOBANK_SCALE == (1.0, 5.0)
    assert len(rows) == 10_062
    assert Counter(r["split"] for r in rows) == {"train": 8_062, "dev": 1_000, "test": 1_000}
    # The fragments, found independently: texts with no letter or digit at all.
    fragments = {r["id"] for r in rows if not any(c.isalnum() for c in r["text"])}
    assert len(fragments) == 7
    assert {s.item for s in corpus.skipped} == fragments
    t = corpus.table
    assert len(t) == 10_062 - 7 and t["utterance_id"].is_unique
    kept = [r for r in rows if r["id"] not in fragments]
    want = Counter({"dev": "validation"}.get(r["split"], r["split"]) for r in kept)
    assert t["split"].value_counts().to_dict() == dict(want)
    assert corpus.name == "EmoBank" and not corpus.synthetic
    assert corpus.label_scales == {"activation": (1.0, 5.0), "valence": (1.0, 5.0)}
    assert t["stress"].isna().all() and (t["audio_path"] == "").all() and (t["dataset"] == "emobank").all()
    by_id = t.set_index("utterance_id")
    for r in kept[::997]:  # a few ids, against the file
        assert by_id.loc[r["id"], ["activation", "valence", "dominance"]].tolist() == [
            float(r["A"]), float(r["V"]), float(r["D"])]
        assert by_id.loc[r["id"], "text"] == r["text"]
    assert by_id.loc["110CYL068_1079_1110", "text"] == "If I wasn't working here."  # short, kept
    assert "None" in set(t["text"])  # a text "None" stays text, not a missing value
    assert t["speaker"].nunique() == 136 and set(t["genre"]) >= {"fiction", "SemEval", "travel-guides"}
    assert (t["speaker"] == t["document"]).all()
    assert any("1..5" in n and "Arousal" in n and "dominance" in n for n in corpus.notes)
    assert any("no letter or digit" in n and "7 skipped" in n for n in corpus.notes)


HEADER = "id,split,V,A,D,text\n"
FIXTURE = (HEADER
           + 'docA_0_10,train,3.0,2.5,3.1,"Hello, world"\n'
           + 'docA_11_20,dev,4.0,3.5,2.0,"Two\nlines ""quoted"""\n'
           + 'docA_21_23,train,3.0,3.0,3.0,".."""\n'
           + 'docB_0_5,test,7,3.0,3.0,Too high\n'
           + 'docB_6_9,holdout,3.0,3.0,3.0,Bad split\n'
           + 'docB_10_12,test,2.0,x,3.0,Not a number\n'
           + 'docB_13_20,test,1.0,5.0,1.0,NA\n'
           + 'SemEval_7,train,2.2,3.3,3.0,Headline here\n'
           + 'docA_0_10,test,3.0,3.0,3.0,Listed again\n')


def test_a_copy_in_the_distributed_layout_gives_exactly_its_rows(tmp_path):
    root = tmp_path / "emobank"
    root.mkdir()
    path = root / "emobank.csv"
    path.write_text(FIXTURE, encoding="utf-8")
    corpus = load_emobank(root)
    t = corpus.table
    assert t[["utterance_id", "speaker", "split", "text"]].values.tolist() == [
        ["docA_0_10", "docA", "train", "Hello, world"],
        ["docA_11_20", "docA", "validation", 'Two\nlines "quoted"'],
        ["docB_13_20", "docB", "test", "NA"],
        ["SemEval_7", "SemEval", "train", "Headline here"]]
    assert t[["activation", "valence", "dominance"]].values.tolist() == [
        [2.5, 3.0, 3.1], [3.5, 4.0, 2.0], [5.0, 1.0, 1.0], [3.3, 2.2, 3.0]]
    assert "genre" not in t and "document" not in t
    # The quoted newline in line 3 runs on to line 4, so the records after it start a line later.
    assert [(s.item, s.reason) for s in corpus.skipped] == [
        ("docA_21_23", "fragment (no letter or digit)"),
        ("docB_0_5", f"{path}, line 6, column 'V': not a rating in 1..5"),
        ("docB_6_9", f"{path}, line 7, column 'split': expected train, dev or test"),
        ("docB_10_12", f"{path}, line 8, column 'A': not a rating in 1..5"),
        ("docA_0_10", f"{path}, line 11: listed again (first on line 2)")]
    assert any("1 skipped" in n for n in corpus.notes)
    assert any("offsets (no meta.tsv)" in n for n in corpus.notes)

    (root / "meta.tsv").write_text("id\tdocument\tcategory\tsubcategory\n"
                                   "docA_0_10\tLetterA\tletters\t \n"
                                   "docA_11_20\tLetterA\tletters\t \n"
                                   "SemEval_7\tSemEval\tSemEval\t\n", encoding="utf-8")
    t = load_emobank(root).table
    assert t[["speaker", "document", "genre"]].values.tolist() == [
        ["LetterA", "LetterA", "letters"], ["LetterA", "LetterA", "letters"],
        ["docB", "", ""], ["SemEval", "SemEval", "SemEval"]]

    t = load_emobank(root, min_words=2).table  # "Hello, world" and "Two lines" stay; one-word "NA" goes
    assert t["utterance_id"].tolist() == ["docA_0_10", "docA_11_20", "SemEval_7"]


def test_a_missing_folder_or_file_is_one_line(tmp_path):
    with pytest.raises(InputError) as missing:
        load_emobank(tmp_path / "nowhere")
    assert str(missing.value) == f"{tmp_path / 'nowhere'}: EmoBank folder not found"
    with pytest.raises(InputError) as empty:
        load_emobank(tmp_path)
    assert str(empty.value) == f"{tmp_path}: not an EmoBank copy (no emobank.csv)"
    (tmp_path / "emobank.csv").write_text("id,split,V,A,text\nx_1_2,train,3,3,Hi there\n")
    with pytest.raises(InputError, match=r"emobank\.csv, column 'D': column missing") as no_d:
        load_emobank(tmp_path)
    (tmp_path / "emobank.csv").write_text(HEADER + 'x_1_2,train,3,3,3,".."\n')
    with pytest.raises(InputError, match=r"no usable sentences \(1 skipped\)") as none_left:
        load_emobank(tmp_path)
    assert all("\n" not in str(e.value) for e in (missing, empty, no_d, none_left))

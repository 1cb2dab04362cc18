"""Dreaddit (Turcan and McKeown, 2019): real stress labels on Reddit posts, from a copy on disk.

Turcan, E. and McKeown, K. (2019). Dreaddit: A Reddit Dataset for Stress Analysis in
Social Media. Proceedings of the Tenth International Workshop on Health Text Mining
and Information Analysis (LOUHI 2019, at EMNLP), 97-107.

Five-sentence segments of posts from ten Reddit communities, each labelled stressed
or not by crowd workers; text only, no emotion labels, no author. Its licence does
not allow us to ship it: users bring their copy, ``dreaddit-train.csv`` and
``dreaddit-test.csv`` in one folder, read as distributed. The test file is the test
split; a seeded hold-out of whole training posts is the validation split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from muser_core.base.errors import InputError, Skipped, where
from muser_core.data.corpus import Corpus, canonical, read_csv, to_number

DREADDIT_FILES = {"train": "dreaddit-train.csv", "test": "dreaddit-test.csv"}
# Dreaddit ships no validation split. A tenth of the training posts (about 280 of 2,838
# rows) is enough to stop training and pick a threshold on, close to the MUSER paper's
# 200 validation sentences, and leaves nine tenths to train on; the test file stays untouched.
DREADDIT_VALIDATION_SHARE = 0.1
# The columns read (the ~100 lex_*, social_* and syntax_* columns are neither needed nor
# required). ``id`` is optional: without it, utterance ids are built from post and range.
DREADDIT_REQUIRED = ["subreddit", "post_id", "sentence_range", "text", "label", "confidence"]
DREADDIT_COLUMNS = [*DREADDIT_REQUIRED, "id"]


def load_dreaddit(root: str | Path, *, seed: int = 0) -> Corpus:
    """Read a Dreaddit copy: ``dreaddit-train.csv`` and ``dreaddit-test.csv`` in ``root``.

    ``stress`` is Dreaddit's ``label`` (1 stressed, 0 not; crowd workers);
    ``activation`` and ``valence`` are missing (Dreaddit has none). ``speaker`` is the
    ``post_id``: there is no author column, so a post stands in for its author.
    ``subreddit``, ``confidence``, ``sentence_range`` and ``post_id`` are kept.
    ``utterance_id`` is Dreaddit's ``id`` when every kept row has one and no two share
    it; otherwise every row's is ``<post_id>:<sentence_range>`` (a pair listed again
    is skipped). Rows whose label is not 0 or 1, or with no text or post id, are
    skipped and counted. The test file is the test split; whole training posts are
    held out for validation with ``seed`` (:func:`dreaddit_holdout`). Both files are
    required: a missing one is one InputError line naming it.
    """
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise InputError(f"{root}: Dreaddit folder not found")
    for name in DREADDIT_FILES.values():
        if not (root / name).is_file():
            raise InputError(f"{root / name}: file not found (a Dreaddit copy holds "
                             f"{' and '.join(DREADDIT_FILES.values())}, as distributed)")
    rows, skipped = [], []
    for file_split, name in DREADDIT_FILES.items():
        path = root / name
        raw = read_csv(path, required=DREADDIT_REQUIRED, usecols=lambda c: c in DREADDIT_COLUMNS,
                       dtype=str, keep_default_na=False).fillna("")  # cells as written: "NA" stays text
        for line, rec in zip(_record_lines(raw), raw.to_dict("records"), strict=True):
            post, sentences = rec["post_id"].strip(), rec["sentence_range"].strip()
            item = rec.get("id", "").strip() or f"{post}:{sentences}"
            label = rec["label"].strip()
            stress = to_number(label)
            if stress not in (0.0, 1.0):
                skipped.append(Skipped(item, f"{where(path, line, 'label')}: expected 1 (stressed) "
                                             f"or 0 (not), got '{label}'"))
                continue
            if not post:
                skipped.append(Skipped(item, f"{where(path, line, 'post_id')}: empty"))
                continue
            if not rec["text"].strip():
                skipped.append(Skipped(item, f"{where(path, line, 'text')}: empty"))
                continue
            rows.append({
                "id": rec.get("id", "").strip(), "_line": where(path, line),
                "speaker": post, "dataset": "dreaddit", "split": file_split, "text": rec["text"],
                "audio_path": "", "stress": stress, "activation": np.nan, "valence": np.nan,
                "subreddit": rec["subreddit"].strip(), "confidence": to_number(rec["confidence"]),
                "sentence_range": sentences, "post_id": post,
            })
    if not rows:
        raise InputError(f"{root}: no usable Dreaddit rows ({len(skipped)} skipped)")
    table = pd.DataFrame(rows)
    table, id_note = _utterance_ids(table, skipped)
    table = canonical(table.drop(columns=["id", "_line"]))
    table["split"] = dreaddit_holdout(table["post_id"], table["stress"], table["split"], seed,
                                      source=str(root / DREADDIT_FILES["train"]))
    return Corpus(table, "Dreaddit", {}, _notes(table, seed, id_note), skipped)


def _record_lines(raw: pd.DataFrame) -> list[int]:
    """The file line each record starts on: quoted cells (texts) may hold newlines.

    Line 1 is the header; each record starts after the previous record's line breaks.
    Only the columns read are counted (the unread lex_*/social_*/syntax_* cells are numbers).
    """
    breaks = sum((raw[c].str.count("\n") for c in raw.columns), pd.Series(0, index=raw.index))
    return list(2 + np.arange(len(raw)) + breaks.cumsum().shift(fill_value=0).to_numpy(dtype=int))


def _utterance_ids(table: pd.DataFrame, skipped: list[Skipped]) -> tuple[pd.DataFrame, str]:
    """Set ``utterance_id``: Dreaddit's ``id`` when all present and unique, else ``<post_id>:<sentence_range>``."""
    ids = table["id"]
    if (ids != "").all() and ids.is_unique:
        return table.assign(utterance_id=ids), "utterance_id is Dreaddit's id column"
    why = ("the files have no id column" if (ids == "").all() else
           f"{int((ids == '').sum())} rows have no id, {int(ids[ids != ''].duplicated().sum())} repeat one")
    table = table.assign(utterance_id=table["post_id"] + ":" + table["sentence_range"])
    first = table.drop_duplicates("utterance_id").set_index("utterance_id")["_line"]
    again = table["utterance_id"].duplicated()
    for rec in table[again].to_dict("records"):
        skipped.append(Skipped(rec["utterance_id"], f"{rec['_line']}: post and sentence range listed again "
                                                    f"(first in {first[rec['utterance_id']]})"))
    return (table[~again], f"utterance_id is <post_id>:<sentence_range> ({why})")


def dreaddit_holdout_size(n_posts: int) -> int:
    """Training posts to hold out for validation: ``round(n_posts * DREADDIT_VALIDATION_SHARE)``.

    At least 1, and always leaving at least one post to train on.
    """
    return max(1, min(n_posts - 1, round(n_posts * DREADDIT_VALIDATION_SHARE)))


def dreaddit_holdout(posts: pd.Series, stress: pd.Series, split: pd.Series, seed: int = 0,
                     source: str = "Dreaddit") -> pd.Series:
    """``split`` with whole training posts moved to ``validation``, seeded and stratified by label.

    A post's label is its rows' majority (ties count as stressed). The training posts
    are sorted, shuffled with ``seed`` within each label, and the first
    :func:`dreaddit_holdout_size` in order of their rank within their label are held
    out, so both labels are held out in proportion. The hold-out depends on the seed
    and the set of posts, not on the order of the file. Test rows are left as they are.
    """
    train = split == "train"
    post_label = (stress[train].groupby(posts[train]).mean() >= 0.5).sort_index()
    if len(post_label) < 2:
        raise InputError(f"{source}: {len(post_label)} usable post; the validation hold-out "
                         "needs at least 2")
    rng = np.random.default_rng(seed)
    rank = pd.Series(np.nan, index=post_label.index)
    for label in (False, True):
        names = post_label.index[post_label == label]
        rank.loc[rng.permutation(names)] = (np.arange(len(names)) + 0.5) / max(len(names), 1)
    order = pd.DataFrame({"rank": rank, "tie": rng.random(len(rank))}).sort_values(["rank", "tie"])
    held = set(order.index[:dreaddit_holdout_size(len(order))])
    return split.where(~(train & posts.isin(held)), "validation").rename("split")


def _notes(table: pd.DataFrame, seed: int, id_note: str) -> list[str]:
    train_posts = table.loc[table["split"] != "test", "post_id"]
    val = table["split"] == "validation"
    test_posts = set(table.loc[table["split"] == "test", "post_id"])
    notes = [f"split: {DREADDIT_FILES['test']} is the test split; validation holds out "
             f"{table.loc[val, 'post_id'].nunique():,} of {train_posts.nunique():,} training posts "
             f"({int(val.sum()):,} of {len(train_posts):,} rows; whole posts, "
             f"{DREADDIT_VALIDATION_SHARE:.0%} of them, stratified by label) with seed {seed}",
             "stress = Dreaddit label (crowd workers): 1 stressed, 0 not",
             "speaker = post_id: Dreaddit has no author column, so a post stands in for its author "
             "(per-speaker grouping and normalisation group the rows of one post)",
             "no emotion labels (activation and valence missing) and no audio: text only",
             id_note,
             "data licence: research use (Turcan and McKeown 2019); not redistributable: keep tables made "
             "from it to yourself"]
    shared = test_posts & set(train_posts)
    if shared:
        notes.append(f"{len(shared):,} posts have rows in both {DREADDIT_FILES['train']} and "
                     f"{DREADDIT_FILES['test']} (as distributed; both files are kept as they are)")
    no_confidence = int(table["confidence"].isna().sum())
    if no_confidence:
        notes.append(f"{no_confidence:,} rows have no confidence (not a number)")
    return notes

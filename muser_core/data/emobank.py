"""EmoBank (Buechel and Hahn, EACL 2017, 578-585; LAW 2017, 1-12): sentences rated for emotion, shipped in data/emobank/.

10,062 English sentences (blogs, essays, fiction, letters, newspapers, travel
guides, SemEval-2007 headlines) with Valence, Arousal and Dominance on 1..5,
readers' and writers' ratings combined; no audio and no stress labels. The
data files, and tables derived from them, are under CC BY-SA 4.0
(data/emobank/LICENSE), not the code's MIT licence.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from muser_core.base.errors import InputError, Skipped, where
from muser_core.base.paths import DATA_DIR
from muser_core.data.corpus import Corpus, canonical, read_csv, to_number

EMOBANK_DIR = DATA_DIR / "emobank"
EMOBANK_FILE = EMOBANK_DIR / "emobank.csv"
EMOBANK_SCALE = (1.0, 5.0)
EMOBANK_SPLITS = {"train": "train", "dev": "validation", "test": "test"}  # EmoBank's split -> ours
EMOBANK_RATINGS = {"activation": "A", "valence": "V", "dominance": "D"}  # our column -> EmoBank's
# An id is "<document>_<start>_<end>" (character offsets) or, for the headlines, "SemEval_<n>":
# without meta.tsv the document is the id less that ending (this gives meta.tsv's document for every id).
_OFFSETS = re.compile(r"(_\d+){1,2}$")


def text_words(text: str) -> int:
    """Words in a text: whitespace-separated pieces holding at least one letter or digit."""
    return sum(any(c.isalnum() for c in piece) for piece in text.split())


def load_emobank(root: str | Path = "", *, min_words: int = 1) -> Corpus:
    """Read EmoBank's ``emobank.csv`` (id, split, V, A, D, text) and, when present, ``meta.tsv``.

    ``root`` "" reads the shipped copy (:data:`EMOBANK_DIR`). Arousal becomes
    ``activation``, Valence ``valence``, on EmoBank's own 1..5 scale; Dominance
    is kept as ``dominance``. EmoBank's own split is kept (dev -> validation).
    Skipped, each with its reason: a repeated id, a split other than
    train/dev/test, a rating that is not a number in 1..5, and a fragment, a
    text with fewer than ``min_words`` words holding a letter or digit (the
    default 1 skips only texts without one, such as ``".."`` or a lone quote).
    ``speaker`` is the source document (meta.tsv's, else the id less its offsets).
    """
    root = Path(root).expanduser().resolve() if str(root) else EMOBANK_DIR
    if not root.is_dir():
        raise InputError(f"{root}: EmoBank folder not found")
    path = root / EMOBANK_FILE.name
    if not path.is_file():
        raise InputError(f"{root}: not an EmoBank copy (no {EMOBANK_FILE.name})")
    # dtype=str and no default NA strings: a text "None", "NA" or "null" stays text.
    raw = read_csv(path, required=["id", "split", *EMOBANK_RATINGS.values(), "text"], dtype=str,
                   keep_default_na=False)
    spans = 1 + raw.apply(lambda col: col.str.count("\n")).sum(axis=1)  # a quoted text may hold newlines
    lines = (2 + spans.cumsum() - spans).tolist()
    meta_path, meta = root / "meta.tsv", None
    if meta_path.is_file():
        tsv = read_csv(meta_path, required=["id", "document", "category"], sep="\t", dtype=str,
                       keep_default_na=False)
        meta = {r["id"]: (r["document"], r["category"]) for r in tsv.to_dict("records")}
    rule = "no letter or digit" if min_words == 1 else f"fewer than {min_words} words with a letter or digit"
    rows, skipped, seen = [], [], {}
    for line, rec in zip(lines, raw.to_dict("records"), strict=True):
        utt = rec["id"].strip()
        if utt in seen:
            skipped.append(Skipped(utt, f"{where(path, line)}: listed again (first on line {seen[utt]})"))
            continue
        seen[utt] = line
        split = EMOBANK_SPLITS.get(rec["split"].strip())
        if split is None:
            skipped.append(Skipped(utt, f"{where(path, line, 'split')}: expected train, dev or test"))
            continue
        ratings = {col: to_number(rec[src]) for col, src in EMOBANK_RATINGS.items()}
        bad = next((src for col, src in EMOBANK_RATINGS.items()
                    if not EMOBANK_SCALE[0] <= ratings[col] <= EMOBANK_SCALE[1]), None)  # NaN fails too
        if bad:
            skipped.append(Skipped(utt, f"{where(path, line, bad)}: not a rating in 1..5"))
            continue
        if text_words(rec["text"]) < min_words:
            skipped.append(Skipped(utt, f"fragment ({rule})"))
            continue
        document, genre = meta.get(utt, ("", "")) if meta is not None else ("", "")
        extra = {"genre": genre, "document": document} if meta is not None else {}
        rows.append({"utterance_id": utt, "speaker": document or _OFFSETS.sub("", utt), "dataset": "emobank",
                     "split": split, "text": rec["text"], "audio_path": "", "stress": np.nan, **ratings, **extra})
    if not rows:
        raise InputError(f"{path}: no usable sentences ({len(skipped)} skipped)")
    table = canonical(pd.DataFrame(rows))
    fragments = sum(s.reason.startswith("fragment") for s in skipped)
    notes = ["activation = EmoBank Arousal (A), valence = Valence (V), dominance (D) kept: EmoBank's own "
             "1..5 scale (readers and writers combined)",
             "split: EmoBank's own (train, dev -> validation, test)",
             "speaker is the source document, not a person: "
             + ("meta.tsv's document (genre = its category)" if meta is not None
                else "the id less its '_<start>_<end>' offsets (no meta.tsv)"),
             f"fragments skipped: texts with {rule} ({fragments} skipped)",
             "no stress labels; no audio (text only)",
             "data licence: CC BY-SA 4.0 (Buechel and Hahn 2017); tables derived from it stay under it"]
    return Corpus(table, "EmoBank", {"activation": EMOBANK_SCALE, "valence": EMOBANK_SCALE}, notes, skipped)

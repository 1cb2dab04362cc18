"""LIWC-style text features: the words of each dictionary category, counted or as a percentage.

Conventions follow LIWC: text is lower-cased, apostrophes inside words are kept
(``don't`` is one word), numbers count as words. A category's score is either
the **count** of its words in the text (``score="count"``: the MUSER paper's
feature, section 3.2, "a value equal to the count of words observed in that
category in the sentence") or LIWC's **percent**, ``100 * count / WC``
(``score="percent"``, the default). ``WC`` is the word count and ``WPS`` words
per sentence. A phrase entry (``you know``) counts once when its words appear in
a row, and its words are then not counted again one by one.

Command line::

    muser features text --in IN.csv --text-column text --out OUT.csv \
        [--score count|percent] [--dic PATH]

The output keeps the input's ``utterance_id``, ``speaker``, ``split`` and label
columns (those it has), so ``muser indicators --features OUT.csv``
finds its labels.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from muser_core.base.errors import InputError, where
from muser_core.base.files import write_csv
from muser_core.base.memory import check_memory
from muser_core.base.tasks import INTERNAL_TASKS
from muser_core.features.lexicon import APOSTROPHES, Lexicon, default_lexicon

# Numbers with separators (3.5, 1,000, 10:30) first, then words: letters or digits,
# joined by inner apostrophes or hyphens (don't, uh-huh, 3rd).
_TOKEN = re.compile(r"\d+(?:[.,:]\d+)+|[^\W_]+(?:['-][^\W_]+)*")
# A sentence ends at ., ! or ? (runs such as "?!" or "..." count once).
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
# How a category is scored: the paper's word count (3.2) or LIWC's percent of words.
SCORES = ("count", "percent")
PROGRESS_EVERY = 10_000   # texts between two progress calls of TextFeatureExtractor.transform
# Peak memory of scoring over its float64 table (measured 1.4x: bench/soak.py part 5), with room to spare.
SCORING_TABLES = 1.5
LEXICON_Z_LIMIT = 5.0   # the lexicon branch's inputs are clipped to +-5 standard deviations


def tokenize(text: str) -> list[str]:
    """Split ``text`` into LIWC-style words: lower-case, inner apostrophes kept."""
    if not isinstance(text, str):
        return []
    return _TOKEN.findall(text.translate(APOSTROPHES).lower())


def count_sentences(text: str) -> int:
    """Sentences in ``text``: runs of ., ! or ?, and a last one without them."""
    if not isinstance(text, str) or not tokenize(text):
        return 0
    ends = _SENTENCE_END.split(text.strip())
    return sum(1 for part in ends if tokenize(part))


def check_score(score: str) -> str:
    """``score`` if it is one of :data:`SCORES`, else one InputError naming the choices."""
    if score not in SCORES:
        raise InputError(f"unknown score '{score}' (choose {' or '.join(SCORES)})")
    return score


class TextFeatureExtractor:
    """Turns texts into one row of category scores each (plus ``WC`` and ``WPS``)."""

    def __init__(self, lexicon: Lexicon | None = None, *, wps: bool = False, score: str = "percent"):
        """``lexicon`` defaults to the open MUSER dictionary; ``wps`` adds words per sentence;
        ``score`` is ``percent`` (LIWC's) or ``count`` (the paper's, 3.2)."""
        self.lexicon = lexicon if lexicon is not None else default_lexicon()
        self.wps = wps
        self.score = check_score(score)
        self._index = {name: i for i, name in enumerate(self.lexicon.categories)}
        self._token_cats: dict[str, tuple[int, ...]] = {}

    @property
    def columns(self) -> list[str]:
        """Output columns: ``WC``, ``WPS`` when asked, then the categories in dictionary order."""
        return ["WC"] + (["WPS"] if self.wps else []) + list(self.lexicon.categories)

    def _cats(self, token: str) -> tuple[int, ...]:
        cats = self._token_cats.get(token)
        if cats is None:
            cats = tuple(self._index[c] for c in self.lexicon.categories_of(token))
            self._token_cats[token] = cats
        return cats

    def count(self, tokens: Sequence[str]) -> list[int]:
        """Category indices hit by ``tokens``, one per matching word or phrase."""
        hits: list[int] = []
        lex = self.lexicon
        i, n = 0, len(tokens)
        while i < n:
            token = tokens[i]
            if lex.has_phrases:
                matched = False
                for words, cats in lex.phrases_starting(token):
                    width = len(words)
                    if tuple(tokens[i:i + width]) == words:
                        hits.extend(self._index[c] for c in cats)
                        i += width
                        matched = True
                        break
                if matched:
                    continue
            hits.extend(self._cats(token))
            i += 1
        return hits

    def transform(self, texts: Iterable[str],
                  progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
        """One row per text, in order; an empty or missing text gives zeros and WC 0.

        ``progress(done, total)`` is called every :data:`PROGRESS_EVERY` texts and at the end. The
        table is filled in place (percentages divided in place), so a million texts take one
        table's memory, not three.
        """
        texts = list(texts)
        n_cat = len(self.lexicon.categories)
        check_memory(SCORING_TABLES * len(texts) * (n_cat + 2) * 8, f"scoring {len(texts):,} texts on {n_cat} "
                     "categories", "score a sample of the texts, or in parts, and join the tables")
        counts = np.zeros((len(texts), n_cat), dtype=np.float64 if self.score == "percent" else np.int64)
        wc = np.zeros(len(texts), dtype=np.int64)
        for row, text in enumerate(texts):
            tokens = tokenize(text)
            if tokens:
                wc[row] = len(tokens)
                hits = self.count(tokens)
                if hits:
                    counts[row] = np.bincount(hits, minlength=n_cat)
            if progress is not None and (row + 1) % PROGRESS_EVERY == 0:
                progress(row + 1, len(texts))
        if progress is not None:
            progress(len(texts), len(texts))
        if self.score == "percent":
            counts *= 100.0                          # (100 * count) / words, as LIWC; in place
            counts /= np.maximum(wc, 1)[:, None]     # an empty text: all counts are 0
        frame = pd.DataFrame(counts, columns=self.lexicon.categories, copy=False)
        frame.insert(0, "WC", wc)
        if self.wps:
            sentences = np.array([count_sentences(t) for t in texts], dtype=np.float64)
            wps = np.where(sentences > 0, wc / np.maximum(sentences, 1), 0.0)
            frame.insert(1, "WPS", wps)
        return frame


def extract_features(texts: Iterable[str], lexicon: Lexicon | None = None, *,
                     wps: bool = False, score: str = "percent",
                     progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Category scores (``percent`` of words, or ``count`` as in the paper, 3.2), ``WC``
    (and ``WPS`` if asked) for each text, in order; ``progress(done, total)`` as it goes."""
    return TextFeatureExtractor(lexicon, wps=wps, score=score).transform(texts, progress)


def read_lexicon(dic: str | Path = "") -> Lexicon:
    """A LIWC-format ``.dic`` file, or with ``""`` the open MUSER dictionary."""
    return Lexicon.read_dic(dic) if str(dic) else default_lexicon()


@dataclass
class LexiconScores:
    """The lexicon branch's inputs (``--lexicon-branch``): ``log(1 + WC)`` and each category's percent of
    words, z-scored with the training texts' statistics.

    The category scores are the features of Dreaddit's lexicon baselines (Turcan and McKeown 2019). A
    score the training texts do not vary in (a category none uses; WC when all have one length) is divided
    by 1, and every z-score is clipped to +-:data:`LEXICON_Z_LIMIT`: a category rare in training would
    otherwise give a text that uses it a z-score in the tens and saturate the branch.
    """

    dic: str                 # the .dic file ("" for the open dictionary)
    columns: list[str]
    mean: np.ndarray
    std: np.ndarray

    @staticmethod
    def raw(texts: Sequence[str], lexicon: Lexicon) -> pd.DataFrame:
        frame = extract_features(texts, lexicon, score="percent")
        frame["WC"] = np.log1p(frame["WC"].to_numpy(np.float64))
        return frame.astype(np.float64)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, dic: str = "") -> LexiconScores:
        """The statistics of raw scores (:meth:`raw`) already computed."""
        mean, std = frame.mean().to_numpy(), frame.std(ddof=0).to_numpy()
        varies = std > 1e-9 * np.maximum(1.0, np.abs(mean))   # not rounding noise around a constant
        return cls(str(dic), list(frame.columns), mean, np.where(varies, std, 1.0))

    def scale(self, frame: pd.DataFrame) -> np.ndarray:
        """Raw scores z-scored, (N, columns) float32; one line when the dictionary's categories changed."""
        if list(frame.columns) != self.columns:
            raise InputError(f"{self.dic or 'the open dictionary'}: its categories changed since the run was "
                             f"trained ({len(frame.columns) - 1} now, {len(self.columns) - 1} then); use the "
                             "run's dictionary or train again")
        z = (frame.to_numpy() - self.mean) / self.std
        return np.clip(z, -LEXICON_Z_LIMIT, LEXICON_Z_LIMIT).astype(np.float32)

    @cached_property
    def lexicon(self) -> Lexicon:
        """The dictionary, read on first use and then kept (a live predictor scores a transcript a clip)."""
        return read_lexicon(self.dic)

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """The z-scored inputs of new texts, as the run computed its own."""
        return self.scale(self.raw(texts, self.lexicon))

    def to_dict(self) -> dict:
        return {"dic": self.dic, "columns": self.columns, "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, values: dict) -> LexiconScores:
        return cls(values["dic"], list(values["columns"]), np.asarray(values["mean"], np.float64),
                   np.asarray(values["std"], np.float64))


# Columns of the input that the command line copies to its output, so the feature
# table can be analysed on its own (muser indicators --features OUT.csv).
CARRIED_COLUMNS = ("utterance_id", "speaker", "split", *INTERNAL_TASKS)


def read_texts(path: str | Path, text_column: str) -> list[str]:
    """The ``text_column`` of a CSV file as strings (missing cells become ``""``)."""
    return read_table(path, text_column)[text_column].tolist()


def read_table(path: str | Path, text_column: str) -> pd.DataFrame:
    """A CSV file as strings (missing cells ``""``), checked to have ``text_column``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{where(path)}: file not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"{where(path)}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{where(path)}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    if text_column not in frame.columns:
        found = ", ".join(map(str, frame.columns)) or "none"
        raise InputError(f"{where(path, field=text_column)}: no such column (columns: {found})")
    return frame.fillna("")


def with_carried_columns(table: pd.DataFrame, features: pd.DataFrame, text_column: str,
                         source: str = "input") -> pd.DataFrame:
    """``features`` behind the input's id, speaker, split and label columns (those it has)."""
    carried = [c for c in CARRIED_COLUMNS if c in table.columns and c != text_column]
    clash = [c for c in carried if c in features.columns]
    if clash:
        raise InputError(f"{where(source, field=clash[0])}: a dictionary category has the same name; "
                         "rename the column or the category")
    return pd.concat([table[carried].reset_index(drop=True), features.reset_index(drop=True)], axis=1)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``muser features text``: texts in a CSV column -> one CSV row of features per text."""
    parser.add_argument("--in", dest="input", required=True, help="input CSV file")
    parser.add_argument("--text-column", default="text", help="column holding the texts")
    parser.add_argument("--out", required=True, help="output CSV file")
    parser.add_argument("--dic", help="a LIWC-format .dic dictionary (default: the open MUSER one)")
    parser.add_argument("--score", choices=SCORES, default="percent",
                        help="percent: 100 x words in the category / WC, LIWC's (default); count: "
                             "the number of words in the category, the paper's (3.2; its Tables 1, 2, 4)")
    parser.add_argument("--wps", action="store_true",
                        help="add WPS, words per sentence (sentences end at . ! or ?)")


def run(args: argparse.Namespace) -> int:
    lexicon = read_lexicon(args.dic or "")
    table = read_table(args.input, args.text_column)
    features = extract_features(table[args.text_column], lexicon, wps=args.wps, score=args.score)
    features = with_carried_columns(table, features, args.text_column, args.input)
    out = Path(args.out)
    try:
        write_csv(out, features, index=False, float_format="%.4g")
    except OSError as exc:
        raise InputError(f"{where(out)}: cannot write ({exc.strerror})") from None
    print(f"wrote {len(features)} rows to {out}")
    return 0

"""Word-category dictionaries in LIWC's ``.dic`` format, and matching words to them.

A ``.dic`` file has a header of category numbers and names between two ``%`` lines,
then one entry per line: a word (or a multi-word phrase) and its category numbers::

    %
    1   posemo
    2   negemo
    %
    happ*   1
    sad     2
    kind of 3

A final ``*`` means "any ending". Matching follows LIWC: an exact entry wins over
wildcards, and among wildcards the longest matching prefix wins; a word takes the
categories of that one entry. The project ships an open dictionary
(:func:`default_lexicon`); users who own LIWC2015 can read theirs with
:meth:`Lexicon.read_dic`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from muser_core.base.errors import InputError, where
from muser_core.base.paths import LEXICON_DIR

DEFAULT_DIC_PATH = LEXICON_DIR / "muser-open.dic"

# Apostrophe look-alikes that people and word processors type for "'".
APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})

# LIWC2007-style conditional rules such as "(02 134)131/125" or "<of>131/125": we keep
# the entry's plain categories and ignore the condition.
_CONDITIONAL = re.compile(r"\([^)]*\)\S*|<[^>]*>\S*|\S*/\S*")
_NUMBER = re.compile(r"[0-9]+")  # ASCII digits only: str.isdigit() also takes "²", which int() refuses
MAX_CATEGORY_DIGITS = 9          # LIWC numbers categories in the hundreds; longer is a broken file


def normalize_word(word: str) -> str:
    """Lower-case and straighten curly apostrophes, as both entries and tokens are."""
    return word.translate(APOSTROPHES).lower()


class Lexicon:
    """A dictionary of words and phrases, each in one or more named categories."""

    def __init__(self, categories: Iterable[str], entries: dict[str, Iterable[str]],
                 *, name: str = "lexicon", examples: dict[str, list[str]] | None = None):
        """Build from category names (in order) and ``entry -> category names``.

        An entry ending in ``*`` matches any word starting with the rest; an entry
        with spaces is a phrase. Most callers use :meth:`read_dic` instead.
        """
        self.categories: list[str] = list(categories)
        self.name = name
        known = set(self.categories)
        self._entries: dict[str, tuple[str, ...]] = {}
        for word, cats in entries.items():
            unknown = [c for c in cats if c not in known]
            if unknown:
                raise InputError(f"{name}: entry {word!r} names unknown categories {unknown}")
            order = {c: i for i, c in enumerate(self.categories)}
            self._entries[normalize_word(word)] = tuple(sorted(set(cats), key=order.__getitem__))
        self._examples = examples or {}

        self._exact: dict[str, tuple[str, ...]] = {}
        self._prefixes: dict[str, tuple[str, ...]] = {}
        self._phrases: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
        for word, cats in self._entries.items():
            if " " in word:
                parts = tuple(word.split())
                self._phrases.setdefault(parts[0], []).append((parts, cats))
            elif word.endswith("*"):
                self._prefixes[word[:-1]] = cats
            else:
                self._exact[word] = cats
        for options in self._phrases.values():
            options.sort(key=lambda item: -len(item[0]))  # longest phrase first
        # Wildcard prefix lengths to try, longest first (LIWC's "longest match wins").
        self._prefix_lengths = sorted({len(p) for p in self._prefixes}, reverse=True)
        self._cache: dict[str, tuple[str, ...]] = {}

    # ------------------------------------------------------------------ reading
    @classmethod
    def read_dic(cls, path: str | Path) -> Lexicon:
        """Read a LIWC-format ``.dic`` file; bad lines raise :class:`InputError` naming the line."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise InputError(f"{where(path)}: dictionary file not found") from None
        except OSError as exc:
            raise InputError(f"{where(path)}: cannot read dictionary ({exc.strerror})") from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")  # older LIWC files are Windows-1252
        return cls._parse(text, path)

    @classmethod
    def _parse(cls, text: str, path: Path) -> Lexicon:
        lines = text.splitlines()
        numbered: dict[str, str] = {}  # category number (as written) -> name
        entries: dict[str, list[str]] = {}
        section = "before"  # before the header, in it, or in the entries
        for lineno, raw in enumerate(lines, start=1):
            line = raw.strip()
            if not line:
                continue
            if section == "before":
                if line != "%":
                    raise InputError(f"{where(path, line=lineno)}: a .dic file starts with a '%' line")
                section = "header"
            elif section == "header":
                if line == "%":
                    if not numbered:
                        raise InputError(f"{where(path, line=lineno)}: the header names no categories")
                    section = "entries"
                    continue
                parts = line.split()
                if len(parts) < 2 or not _NUMBER.fullmatch(parts[0]):
                    raise InputError(
                        f"{where(path, line=lineno)}: expected 'number name' in the header, got {line[:80]!r}")
                number, name = _category_key(parts[0], path, lineno), parts[1]
                if number in numbered:
                    raise InputError(f"{where(path, line=lineno)}: category number {number} defined twice")
                if name in numbered.values():
                    raise InputError(f"{where(path, line=lineno)}: category name {name!r} defined twice")
                numbered[number] = name
            else:
                word, numbers = cls._split_entry(line, path, lineno)
                cats = []
                for number in numbers:
                    key = _category_key(number, path, lineno)
                    if key not in numbered:
                        raise InputError(
                            f"{where(path, line=lineno)}: category {number} is not in the header")
                    cats.append(numbered[key])
                entries.setdefault(word, [])
                entries[word].extend(c for c in cats if c not in entries[word])
        if section != "entries":
            raise InputError(f"{where(path)}: the '%' header is not closed")
        return cls(numbered.values(), entries, name=path.name, examples=_read_examples(path))

    @staticmethod
    def _split_entry(line: str, path: Path, lineno: int) -> tuple[str, list[str]]:
        """``"kind of\\t12 13"`` -> ``("kind of", ["12", "13"])``."""
        if "\t" in line:
            word, _, rest = line.partition("\t")
            tokens = _CONDITIONAL.sub(" ", rest).split()
        else:
            tokens = _CONDITIONAL.sub(" ", line).split()
            split = len(tokens)
            while split > 0 and _NUMBER.fullmatch(tokens[split - 1]):
                split -= 1
            word, tokens = " ".join(tokens[:split]), tokens[split:]
        word = " ".join(normalize_word(word).split())
        bad = [t for t in tokens if not _NUMBER.fullmatch(t)]
        if bad:
            raise InputError(f"{where(path, line=lineno)}: {bad[0][:40]!r} is not a category number")
        if not word:
            raise InputError(f"{where(path, line=lineno)}: entry has no word")
        if not tokens:
            raise InputError(f"{where(path, line=lineno)}: {word!r} has no category numbers")
        if "*" in word[:-1] or (" " in word and "*" in word):
            raise InputError(
                f"{where(path, line=lineno)}: '*' is allowed only at the end of a single word")
        return word, tokens

    # ------------------------------------------------------------------ matching
    def categories_of(self, token: str) -> tuple[str, ...]:
        """Categories of one word (already lower-cased and tokenised), or ``()``."""
        cached = self._cache.get(token)
        if cached is not None:
            return cached
        word = normalize_word(token)
        cats = self._exact.get(word)
        if cats is None:
            cats = self._match_prefix(word)
        if cats is None and "-" in word.strip("-"):
            # "well-being", "uh-huh": unknown as a whole, so count what its parts are.
            found: list[str] = []
            for part in word.split("-"):
                found.extend(c for c in self.categories_of(part) if c not in found)
            order = {c: i for i, c in enumerate(self.categories)}
            cats = tuple(sorted(found, key=order.__getitem__))
        cats = cats or ()
        self._cache[token] = cats
        return cats

    def _match_prefix(self, word: str) -> tuple[str, ...] | None:
        for length in self._prefix_lengths:
            if length <= len(word):
                cats = self._prefixes.get(word[:length])
                if cats is not None:
                    return cats
        return None

    def phrases_starting(self, word: str) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
        """Phrases whose first word is ``word``, longest first, as ``(words, categories)``."""
        return self._phrases.get(word, [])

    @property
    def has_phrases(self) -> bool:
        """Whether any entry is a multi-word phrase."""
        return bool(self._phrases)

    # ------------------------------------------------------------------ inspection
    def words(self, category: str) -> list[str]:
        """Entries of ``category``, sorted; wildcards keep their ``*``."""
        self._check(category)
        return sorted(w for w, cats in self._entries.items() if category in cats)

    def size(self, category: str) -> int:
        """Number of entries in ``category`` (a wildcard counts once)."""
        return len(self.words(category))

    def example_words(self, category: str, n: int = 3) -> list[str]:
        """A few common, readable words of ``category`` to show beside it.

        Uses the examples file shipped beside the dictionary when there is one
        (``<name>.examples.tsv``); otherwise picks short whole words, which in
        English tend to be the frequent ones.
        """
        self._check(category)
        curated = [w for w in self._examples.get(category, []) if category in self._entries.get(w, ())]
        if len(curated) >= n:
            return curated[:n]
        candidates = [w for w in self.words(category)
                      if w.replace("'", "").isalpha() and len(w) >= 3 and w not in curated]
        candidates.sort(key=lambda w: (len(w), w))
        return (curated + candidates)[:n]

    def _check(self, category: str) -> None:
        if category not in self.categories:
            raise KeyError(f"{self.name} has no category {category!r}")

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Lexicon({self.name!r}, {len(self.categories)} categories, {len(self)} entries)"


def _category_key(number: str, path: Path, lineno: int) -> str:
    """A category number as written, without leading zeros ("007" and "7" are one category)."""
    key = number.lstrip("0") or "0"
    if len(key) > MAX_CATEGORY_DIGITS:
        raise InputError(f"{where(path, line=lineno)}: category number {key[:12]}... has {len(key)} digits "
                         f"(at most {MAX_CATEGORY_DIGITS})")
    return key


def _read_examples(dic_path: Path) -> dict[str, list[str]]:
    """Optional ``<stem>.examples.tsv`` beside a .dic: ``category<TAB>word, word, ...``."""
    path = dic_path.with_name(dic_path.stem + ".examples.tsv")
    if not path.exists():
        return {}
    examples = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, _, words = line.partition("\t")
        if name and words:
            examples[name] = [normalize_word(w.strip()) for w in words.split(",") if w.strip()]
    return examples


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The open MUSER dictionary shipped in ``data/lexicon`` (read once, then cached)."""
    return Lexicon.read_dic(DEFAULT_DIC_PATH)

"""Regenerate the open MUSER dictionary, ``data/lexicon/muser-open.dic``.

Sources, all open and all in this repository or its build requirements:

- ``scripts/lexicon_sources/categories.txt``: category numbers, names, parents;
- ``scripts/lexicon_sources/words.txt``: the project's own word lists;
- ``scripts/lexicon_sources/empath_map.txt``: which Empath categories feed which of
  ours (Empath's lexicon is MIT-licensed and ships inside the ``empath`` package);
- ``scripts/lexicon_sources/examples.txt``: a few readable examples per category;
- lemminflect: plurals, verb forms and comparatives of the lemmas;
- rules: lengthened spellings of hesitations (``umm``, ``hmmmm``) and phrases that
  keep their words' own categories (``made me``).

The output is deterministic: the same sources give the same bytes. Run it with
``python scripts/build_lexicon.py``; it rewrites the .dic, the examples file and the
size table in ``data/lexicon/README.md``, and prints a summary.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import empath
import lemminflect

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from muser_core.base.paths import LEXICON_DIR  # noqa: E402
from muser_core.features.lexicon import Lexicon  # noqa: E402

SOURCES = Path(__file__).resolve().parent / "lexicon_sources"
DIC_NAME = "muser-open.dic"
EXAMPLES_NAME = "muser-open.examples.tsv"

# Closed-class categories: their words are never taken from Empath, and Empath words
# that are function words are dropped everywhere (Empath lists "either", "always"...).
CLOSED_CLASS = (
    "pronoun", "i", "we", "you", "shehe", "they", "ipron", "article", "prep", "auxverb",
    "adverb", "conj", "negate", "quant", "number",
)
NEGATIVE = ("negemo", "anx", "anger", "sad")

# Empath words too general or too ambiguous to count in any topical category.
GLOBAL_STOP = frozenset("""
    like well right back mean kind thing things get got go make made take feel sense
    emotion time day way people person stuff good place part case point fact world
    life work home play open close set put run need want know think see look show
    use give come start turn keep let leave call try ask tell say find word name
    fine sure true real new old big little long high end line side head face hand
    state order present present matter object subject figure form light mind plan
""".split())

# Apostrophe-less spellings that are other words ("we'll" -> "well"): never added.
APOSTROPHE_COLLISIONS = frozenset("well ill shell hell wed shed id lets hed were its".split())

# Modals that lemminflect treats as past tenses ("would" of "will"), and inflections
# that are other words ("number" as the comparative of "numb").
NOT_PAST = frozenset("would could should might must ought".split())
BAD_FORMS = frozenset("number".split())

WORD_RE = re.compile(r"^[a-z][a-z'-]*[a-z]$|^[a-z]$")
LENGTHEN_TO = 8  # "um" -> "umm" ... "ummmmmmm": how long a typed hesitation gets here


@dataclass
class Category:
    number: int
    name: str
    parents: tuple[str, ...]


@dataclass
class Build:
    categories: dict[str, Category]
    hand: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    empath: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    verbs: set[str] = field(default_factory=set)
    keepwords: set[str] = field(default_factory=set)  # phrases that keep their words' categories


def read_categories(path: Path) -> dict[str, Category]:
    """Parse categories.txt: ``number name parent...`` per line."""
    categories: dict[str, Category] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        number, name, *parents = line.split()
        categories[name] = Category(int(number), name, tuple(parents))
    for cat in categories.values():
        for parent in cat.parents:
            if parent not in categories:
                raise SystemExit(f"categories.txt: unknown parent {parent!r} of {cat.name!r}")
    return categories


def read_sections(path: Path) -> list[tuple[str, set[str], list[str]]]:
    """Split a ``[name +flag]`` sectioned file into (name, flags, lines)."""
    sections: list[tuple[str, set[str], list[str]]] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.rstrip()
        if line.lstrip().startswith("#") or not line.strip():
            continue
        match = re.fullmatch(r"\[(\w+)((?:\s+\+\w+)*)\]", line.strip())
        if match:
            flags = set(match.group(2).split())
            sections.append((match.group(1), flags, []))
        elif sections:
            sections[-1][2].append(line)
        else:
            raise SystemExit(f"{path.name}: text before the first [section]: {raw!r}")
    return sections


def is_plain_word(word: str) -> bool:
    return bool(WORD_RE.match(word)) and " " not in word


def inflections(word: str) -> set[str]:
    """All inflections of ``word`` when it is a lemma; nothing when it is itself inflected.

    ``felt`` is the past of ``feel`` so it gets no ``felts``; ``love`` gets loves,
    loved, loving.
    """
    if not is_plain_word(word) or "'" in word:
        return set()
    lemmas = lemminflect.getAllLemmas(word)
    if not lemmas or any(word not in forms for forms in lemmas.values()):
        return set()
    forms: set[str] = set()
    for upos in lemmas:
        for tag_forms in lemminflect.getAllInflections(word, upos=upos).values():
            forms.update(f.lower() for f in tag_forms)
    return {f for f in forms if is_plain_word(f)} - {word} - BAD_FORMS


def lengthened(word: str) -> set[str]:
    """``word`` with its last letter repeated, up to :data:`LENGTHEN_TO` letters: um -> umm, ummm..."""
    return {word + word[-1] * n for n in range(1, LENGTHEN_TO - len(word) + 1)}


def entry(token: str) -> str:
    """A source token as a dictionary entry: ``you_know`` -> ``you know``."""
    return token.lower().replace("_", " ").replace("\u2019", "'")


def load_hand_lists(build: Build) -> None:
    for name, flags, lines in read_sections(SOURCES / "words.txt"):
        words = [entry(tok) for line in lines for tok in line.split()]
        if name == "verbs":
            build.verbs.update(words)
            continue
        if name not in build.categories:
            raise SystemExit(f"words.txt: unknown category [{name}]")
        if "+keepwords" in flags:
            build.keepwords.update(w for w in words if " " in w)
        for word in words:
            build.hand[word].add(name)
            forms = set()
            if "+inflect" in flags:
                forms |= inflections(word)
            if "+lengthen" in flags:
                forms |= lengthened(word)
            for form in forms:
                build.hand[form].add(name)


def empath_lexicon() -> dict[str, list[str]]:
    path = Path(empath.__file__).resolve().parent / "data" / "categories.tsv"
    lexicon: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, *words = line.split("\t")
        lexicon[name] = [w.strip().lower() for w in words if w.strip()]
    return lexicon


def load_empath(build: Build) -> None:
    lexicon = empath_lexicon()
    closed = {w for w, cats in build.hand.items() if cats & set(CLOSED_CLASS)}
    for name, _flags, lines in read_sections(SOURCES / "empath_map.txt"):
        if name not in build.categories:
            raise SystemExit(f"empath_map.txt: unknown category [{name}]")
        text = " ".join(lines)
        sources = re.search(r"from:(.*?)(?:drop:|$)", text).group(1).split()
        drop_match = re.search(r"drop:(.*)$", text)
        drop = set(drop_match.group(1).split()) if drop_match else set()
        for source in sources:
            if source not in lexicon:
                raise SystemExit(f"empath_map.txt: Empath has no category {source!r}")
            for word in lexicon[source]:
                if word in drop or word in GLOBAL_STOP or word in closed:
                    continue
                if not is_plain_word(word):
                    continue  # multi-word ("worst_part") and odd ("9/11") entries
                for form in {word} | inflections(word):
                    if form not in closed and form not in GLOBAL_STOP:
                        build.empath[form].add(name)


def add_tenses(build: Build, merged: dict[str, set[str]]) -> None:
    """Past forms of verbs -> focuspast; present forms of the common verbs -> focuspresent."""
    lemmas = set(build.verbs)
    for word in list(merged):
        if is_plain_word(word) and "VERB" in lemminflect.getAllLemmas(word):
            if word in lemminflect.getAllLemmas(word)["VERB"]:
                lemmas.add(word)
    for lemma in sorted(lemmas):
        forms = lemminflect.getAllInflections(lemma, upos="VERB")
        for tag in ("VBD", "VBN"):
            for form in forms.get(tag, ()):
                form = form.lower()
                # "put" is also present tense; "excited" is mostly an adjective.
                if form == lemma or form in NOT_PAST or "ADJ" in lemminflect.getAllLemmas(form):
                    continue
                merged[form].add("focuspast")
        if lemma in build.verbs:
            for tag in ("VB", "VBP", "VBZ", "VBG"):
                for form in forms.get(tag, ()):
                    merged[form.lower()].add("focuspresent")


def add_apostrophe_free(merged: dict[str, set[str]]) -> None:
    """``don't`` is also typed ``dont``: add such spellings unless they are other words."""
    for word in sorted(merged):
        if "'" in word and " " not in word and "*" not in word:
            bare = word.replace("'", "")
            if bare and bare not in APOSTROPHE_COLLISIONS:
                merged[bare] |= merged[word]


def resolve_polarity(build: Build, merged: dict[str, set[str]]) -> list[str]:
    """No word is both positive and negative; the project's own lists decide."""
    notes = []
    for word, cats in merged.items():
        if "posemo" in cats and cats & set(NEGATIVE):
            hand = build.hand.get(word, set())
            hand_pos, hand_neg = "posemo" in hand, bool(hand & set(NEGATIVE))
            if hand_pos and hand_neg:
                raise SystemExit(f"words.txt lists {word!r} as both positive and negative")
            if hand_pos:
                cats.difference_update(NEGATIVE)
            elif hand_neg:
                cats.discard("posemo")
            else:
                cats.difference_update(("posemo",) + NEGATIVE)
                notes.append(word)
    return notes


def keep_word_categories(build: Build, merged: dict[str, set[str]],
                         categories: dict[str, Category]) -> None:
    """A ``+keepwords`` phrase also takes what its words count one by one (LIWC's matching rules).

    A matched phrase is counted once and its words are then not looked up, so
    "made me" as a cause phrase alone would lose "made" (focuspast) and "me" (i).
    """
    words = Lexicon(categories, {w: c for w, c in merged.items() if " " not in w}, name="build")
    for phrase in sorted(build.keepwords):
        for word in phrase.split():
            merged[phrase] |= set(words.categories_of(word))
        if "posemo" in merged[phrase] and merged[phrase] & set(NEGATIVE):
            raise SystemExit(f"words.txt: the phrase {phrase!r} is both positive and negative")


def ancestors(name: str, categories: dict[str, Category]) -> set[str]:
    out: set[str] = set()
    stack = list(categories[name].parents)
    while stack:
        parent = stack.pop()
        if parent not in out:
            out.add(parent)
            stack.extend(categories[parent].parents)
    return out


def close_under_parents(merged: dict[str, set[str]], categories: dict[str, Category]) -> None:
    for cats in merged.values():
        for name in list(cats):
            cats |= ancestors(name, categories)


def inherit_wildcards(merged: dict[str, set[str]]) -> None:
    """An exact entry shadows a matching wildcard (LIWC's rule), so it takes its categories."""
    wildcards = sorted((w for w in merged if w.endswith("*")), key=len)
    for word, cats in merged.items():
        for wild in wildcards:
            if wild != word and word.startswith(wild[:-1]):
                cats |= merged[wild]


def read_examples(categories: dict[str, Category]) -> dict[str, list[str]]:
    examples: dict[str, list[str]] = {}
    for line in (SOURCES / "examples.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, words = line.split(":", 1)
            examples[name.strip()] = [w.strip() for w in words.split(",") if w.strip()]
    missing = set(categories) - set(examples)
    if missing:
        raise SystemExit(f"examples.txt: no examples for {sorted(missing)}")
    return examples


def write_dic(path: Path, merged: dict[str, set[str]], categories: dict[str, Category]) -> None:
    ordered = sorted(categories.values(), key=lambda c: c.number)
    lines = ["%"] + [f"{c.number}\t{c.name}" for c in ordered] + ["%"]
    for word in sorted(merged):
        numbers = sorted(categories[name].number for name in merged[word])
        lines.append(word + "\t" + "\t".join(str(n) for n in numbers))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def size_table(merged: dict[str, set[str]], categories: dict[str, Category]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for cats in merged.values():
        for name in cats:
            counts[name] += 1
    rows = ["| # | category | parents | entries |", "|---:|---|---|---:|"]
    for cat in sorted(categories.values(), key=lambda c: c.number):
        parents = ", ".join(cat.parents) or "-"
        rows.append(f"| {cat.number} | {cat.name} | {parents} | {counts[cat.name]} |")
    rows.append(f"| | **all entries** | | **{len(merged)}** |")
    return "\n".join(rows)


def update_readme(path: Path, table: str) -> None:
    start, end = "<!-- sizes:start -->", "<!-- sizes:end -->"
    text = path.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise SystemExit(f"{path}: size-table markers missing")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{table}\n{end}{tail}", encoding="utf-8")


def build(out_dir: Path) -> dict[str, set[str]]:
    """Build the dictionary into ``out_dir``; returns word -> category names."""
    categories = read_categories(SOURCES / "categories.txt")
    state = Build(categories)
    load_hand_lists(state)
    load_empath(state)

    merged: dict[str, set[str]] = defaultdict(set)
    for source in (state.hand, state.empath):
        for word, cats in source.items():
            merged[word] |= cats
    add_tenses(state, merged)
    add_apostrophe_free(merged)
    inherit_wildcards(merged)
    dropped = resolve_polarity(state, merged)
    close_under_parents(merged, categories)
    merged = {w: c for w, c in merged.items() if c}
    keep_word_categories(state, merged, categories)

    examples = read_examples(categories)
    for name, words in examples.items():
        for word in words:
            if name not in merged.get(word, set()):
                raise SystemExit(f"examples.txt: {word!r} is not in {name!r}")

    out_dir.mkdir(parents=True, exist_ok=True)
    write_dic(out_dir / DIC_NAME, merged, categories)
    ordered = sorted(categories.values(), key=lambda c: c.number)
    (out_dir / EXAMPLES_NAME).write_text(
        "".join(f"{c.name}\t{', '.join(examples[c.name])}\n" for c in ordered), encoding="utf-8"
    )
    readme = out_dir / "README.md"
    if readme.exists():
        update_readme(readme, size_table(merged, categories))
    print(f"{len(merged)} entries, {len(categories)} categories -> {out_dir / DIC_NAME}")
    print(f"{len(dropped)} words dropped from affect for being both positive and negative")
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=LEXICON_DIR)
    parser.add_argument("--sizes", action="store_true", help="print the size table")
    args = parser.parse_args(argv)
    merged = build(args.out_dir)
    if args.sizes:
        print(size_table(merged, read_categories(SOURCES / "categories.txt")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The .dic reader, LIWC's matching rules, and the shipped open dictionary."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from muser_core.base.errors import InputError
from muser_core.base.paths import CHECKOUT as REPO_ROOT
from muser_core.features.lexicon import DEFAULT_DIC_PATH, Lexicon, default_lexicon

# The categories the open dictionary must have, by LIWC2015 abbreviation.
REQUIRED_CATEGORIES = """
function pronoun i we you shehe they ipron article prep auxverb adverb conj negate quant number
affect posemo negemo anx anger sad social family friend female male
cogproc insight cause discrep tentat certain differ percept see hear feel
bio body health sexual ingest drives affiliation achieve power reward risk
focuspast focuspresent focusfuture relativ motion space time
work leisure home money relig death informal swear netspeak assent nonflu filler
""".split()

PARENTS = {
    "pronoun": ["i", "we", "you", "shehe", "they", "ipron"],
    "affect": ["posemo", "negemo", "anx", "anger", "sad"],
    "social": ["family", "friend", "female", "male"],
    "cogproc": ["insight", "cause", "discrep", "tentat", "certain", "differ"],
    "percept": ["see", "hear", "feel"],
    "bio": ["body", "health", "sexual", "ingest"],
    "drives": ["affiliation", "achieve", "power", "reward", "risk"],
    "relativ": ["motion", "space", "time"],
    "informal": ["swear", "netspeak", "assent", "nonflu", "filler"],
}

SMALL_DIC = """%
1\tposemo
2\tnegemo
3\ttentat
10\tfunction
%
happ*\t1
happen*\t3
happening\t3\t10
sad\t2
don’t\t10\t2
Kind Of\t3
maybe 3 10
"""


def write(tmp_path, text, name="test.dic"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def small(tmp_path):
    return Lexicon.read_dic(write(tmp_path, SMALL_DIC))


# ---------------------------------------------------------------- reader
def test_header_order_and_names(small):
    assert small.categories == ["posemo", "negemo", "tentat", "function"]


def test_wildcard_matches_any_ending(small):
    assert small.categories_of("happy") == ("posemo",)
    assert small.categories_of("happiness") == ("posemo",)
    assert small.categories_of("happ") == ("posemo",)  # '*' also matches no ending
    assert small.categories_of("hap") == ()


def test_longest_wildcard_prefix_wins(small):
    # "happens" matches happ* and happen*; LIWC takes the longer prefix only.
    assert small.categories_of("happens") == ("tentat",)


def test_exact_entry_beats_wildcards(small):
    assert small.categories_of("happening") == ("tentat", "function")


def test_several_categories_on_one_line(small):
    assert small.categories_of("maybe") == ("tentat", "function")  # space-separated line
    assert small.categories_of("don't") == ("negemo", "function")  # tab-separated line


def test_curly_apostrophes_and_case(small):
    # The entry was written with a curly apostrophe; both spellings match.
    assert small.categories_of("don't") == small.categories_of("don’t") != ()
    assert small.categories_of("SAD") == ("negemo",)


def test_phrase_entries(small):
    assert small.has_phrases
    assert small.phrases_starting("kind") == [(("kind", "of"), ("tentat",))]
    assert small.categories_of("kind") == ()  # the words alone are not entries


def test_words_size_and_wildcards_shown(small):
    assert small.words("posemo") == ["happ*"]
    assert small.words("tentat") == ["happen*", "happening", "kind of", "maybe"]
    assert small.size("tentat") == 4
    with pytest.raises(KeyError):
        small.words("nosuch")


def test_example_words_fallback_without_examples_file(small):
    assert small.example_words("tentat", n=2) == ["maybe", "happening"]


def test_hyphenated_word_falls_back_to_its_parts(small):
    assert small.categories_of("sad-happy") == ("posemo", "negemo")


def test_liwc2007_conditional_rules_are_ignored(tmp_path):
    text = "%\n1\tfunct\n2\tposemo\n3\tverb\n%\nlike\t1\t(02 134)02/253\t2\nkind\t<of>1/3\t3\n"
    lex = Lexicon.read_dic(write(tmp_path, text))
    assert lex.categories_of("like") == ("funct", "posemo")
    assert lex.categories_of("kind") == ("verb",)


def test_windows_1252_file_is_read(tmp_path):
    path = tmp_path / "old.dic"
    path.write_bytes("%\n1\tposemo\n%\ncaf\xe9\t1\n".encode("cp1252"))
    assert Lexicon.read_dic(path).categories_of("café") == ("posemo",)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("1\tposemo\n%\n", 1, "starts with a '%'"),
        ("%\nposemo\n%\n", 2, "expected 'number name'"),
        ("%\n1\tposemo\n1\tnegemo\n%\n", 3, "defined twice"),
        ("%\n1\tposemo\n%\nhappy\t1\nsad\t7\n", 5, "category 7 is not in the header"),
        ("%\n1\tposemo\n%\nhappy\n", 4, "has no category numbers"),
        ("%\n1\tposemo\n%\nhappy\tone\n", 4, "'one' is not a category number"),
        ("%\n1\tposemo\n%\nha*ppy\t1\n", 4, "only at the end"),
        ("%\n%\n", 2, "names no categories"),
        ("%\n1" + "0" * 5000 + "\tposemo\n%\n", 2, "category number 100000000000... has 5001 digits"),
        ("%\n1\tposemo\n%\nhappy\t1" + "0" * 5000 + "\n", 4, "has 5001 digits"),
        ("%\n\u00b2\tposemo\n%\n", 2, "expected 'number name'"),
        ("%\n1\tposemo\n%\nhappy\t\u00b2\n", 4, "'\u00b2' is not a category number"),
    ],
)
def test_malformed_lines_name_the_line(tmp_path, text, line, fragment):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        Lexicon.read_dic(path)
    assert f"line {line}" in str(err.value)
    assert fragment in str(err.value)
    assert "test.dic" in str(err.value)


def test_leading_zeros_name_one_category(tmp_path):
    lexicon = Lexicon.read_dic(write(tmp_path, "%\n007\tposemo\n%\nhappy\t7\nglad\t0007\n"))
    assert lexicon.words("posemo") == ["glad", "happy"]


def test_unclosed_header_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="not closed"):
        Lexicon.read_dic(write(tmp_path, "%\n1\tposemo\n"))
    with pytest.raises(InputError, match="not found"):
        Lexicon.read_dic(tmp_path / "missing.dic")


def test_duplicate_entries_merge_categories(tmp_path):
    lex = Lexicon.read_dic(write(tmp_path, "%\n1\ta\n2\tb\n%\nword\t1\nword\t2\n"))
    assert lex.categories_of("word") == ("a", "b")


# ---------------------------------------------------------------- shipped dictionary
@pytest.fixture(scope="module")
def lex():
    return default_lexicon()


def test_default_lexicon_is_cached_and_has_the_issue_categories(lex):
    assert default_lexicon() is lex
    assert lex.categories == REQUIRED_CATEGORIES


@pytest.mark.parametrize("category", REQUIRED_CATEGORIES)
def test_every_category_is_non_empty_with_examples(lex, category):
    assert lex.size(category) > 0
    examples = lex.example_words(category)
    assert len(examples) == 3
    for word in examples:
        # An example is an entry of its category (phrases included).
        assert word in lex.words(category)


def test_no_word_is_both_positive_and_negative(lex):
    positive = set(lex.words("posemo"))
    for negative in ("negemo", "anx", "anger", "sad"):
        assert not positive & set(lex.words(negative)), negative


@pytest.mark.parametrize(("parent", "children"), sorted(PARENTS.items()))
def test_parents_include_their_children(lex, parent, children):
    parent_words = set(lex.words(parent))
    for child in children:
        assert set(lex.words(child)) <= parent_words, child


def test_negemo_includes_anx_anger_sad(lex):
    negemo = set(lex.words("negemo"))
    for child in ("anx", "anger", "sad"):
        assert set(lex.words(child)) <= negemo


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("gonna", {"focusfuture"}),
        ("wanna", {"discrep"}),
        ("kinda", {"tentat"}),
        ("ya", {"you", "pronoun"}),
        ("y'all", {"you"}),
        ("dunno", {"negate", "insight"}),
        ("i'm", {"i", "auxverb", "focuspresent"}),
        ("im", {"i", "auxverb"}),
        ("don't", {"negate", "auxverb"}),
        ("dont", {"negate", "auxverb"}),
        ("can't", {"negate"}),
        ("ain't", {"negate"}),
        ("um", {"nonflu", "informal"}),
        ("uh", {"nonflu"}),
        ("er", {"nonflu"}),
        ("hmm", {"nonflu"}),
        ("yeah", {"assent"}),
        ("mhm", {"assent"}),
        ("uh-huh", {"assent"}),
        ("lol", {"netspeak"}),
        ("idk", {"netspeak"}),
        ("damn", {"swear"}),
        ("went", {"focuspast", "motion"}),
        ("cried", {"sad", "focuspast"}),
        ("happier", {"posemo"}),
        ("friends", {"friend", "social"}),
        ("2019", {"number"}),
        ("3.5", {"number"}),
        ("exams", {"work"}),
    ],
)
def test_spoken_and_inflected_forms_are_covered(lex, word, expected):
    assert expected <= set(lex.categories_of(word)), lex.categories_of(word)


# The categories that agreed least with LIWC2015 on real posts (measured by a LIWC2015
# owner), and words each must cover, from LIWC2015's published category definitions
# (its manual's examples first) and grammar, never from LIWC's word lists.
MUST_COVER = {
    # Filled pauses, and the lengthened spellings people write them with.
    "nonflu": "er hmm umm uh um erm uhm ummm ummmm uhhhh hmmmmm errrr mmmm ahhh",
    # The manual's examples ("take, prize, benefit"): getting and receiving, not only prizes.
    "reward": "take takes took taken taking get gets got gotten getting receive received gain prize benefit",
    # "danger, doubt": possible loss or harm, and guarding against it.
    "risk": "danger doubt problem problems wrong lose loses losing lost loss prevent avoid careful",
    # "superior, bully": dominance, conflict and permission as well as rank.
    "power": "superior bully fight fought war battle attack defeat allow allowed permission",
    # "win, success, better": comparison and effort as well as victory.
    "achieve": "win success better try tries tried trying effort",
    # "maybe, perhaps": hedges, conditionals, alternatives and vague reference.
    "tentat": "maybe perhaps if or some something someone somebody whether nearly mostly partly appears",
    "cause": "because effect cause why",
}


@pytest.mark.parametrize(("category", "words"), sorted(MUST_COVER.items()))
def test_weak_categories_cover_their_defining_words(lex, category, words):
    missing = [w for w in words.split() if category not in lex.categories_of(w)]
    assert not missing, f"{category} misses {missing}"


@pytest.mark.parametrize(("text", "category", "count"), [
    ("you know", "filler", 1), ("i mean", "filler", 1), ("y'know", "filler", 1),
    ("youknow", "filler", 1), ("imean", "filler", 1),  # the manual writes them "Imean, youknow"
    ("how come", "cause", 1), ("it made me cry", "cause", 1), ("that makes us late", "cause", 1),
    ("we made it", "cause", 0),  # "made it": succeeded, not a cause
])
def test_phrases_of_the_weak_categories(lex, text, category, count):
    from muser_core.features.text import extract_features

    assert extract_features([text], lex, score="count").iloc[0][category] == count


def test_a_causative_phrase_keeps_what_its_words_count(lex):
    # "made me" counts once as cause (and its parent cogproc), and still as the past
    # tense and the first person it holds: only the phrase's own category is added.
    from muser_core.features.text import extract_features

    row = extract_features(["it made me cry"], lex, score="count").iloc[0]
    alone = extract_features(["it made cry me"], lex, score="count").iloc[0]
    assert row["cause"] == row["cogproc"] == 1 and alone["cause"] == alone["cogproc"] == 0
    assert row["focuspast"] == row["i"] == 1
    assert (row.drop(["cause", "cogproc"]) == alone.drop(["cause", "cogproc"])).all()


def test_like_is_left_uncounted_as_filler(lex):
    # Documented choice: "like" is a filler only in some uses ("it was, like, huge"); as a
    # verb, preposition or quotative it is not, and a dictionary cannot see the difference.
    assert "filler" not in lex.categories_of("like")
    assert "posemo" not in lex.categories_of("like")


def test_shipped_file_path():
    assert DEFAULT_DIC_PATH.name == "muser-open.dic"
    assert DEFAULT_DIC_PATH.is_file()


@pytest.mark.skipif(
    importlib.util.find_spec("empath") is None or importlib.util.find_spec("lemminflect") is None,
    reason="the build needs empath and lemminflect (requirements-dev.txt)",
)
def test_build_is_deterministic_and_matches_the_committed_file(tmp_path):
    out = tmp_path / "lexicon"
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "build_lexicon.py"), "--out-dir", str(out)],
        check=True, capture_output=True, text=True,
    )
    assert (out / "muser-open.dic").read_bytes() == DEFAULT_DIC_PATH.read_bytes()
    examples = DEFAULT_DIC_PATH.with_name("muser-open.examples.tsv")
    assert (out / "muser-open.examples.tsv").read_bytes() == examples.read_bytes()

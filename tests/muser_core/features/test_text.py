"""Tokenising and scoring like LIWC, and the command line."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pandas as pd
import pytest
from conftest import run_with_file_limit, stray_temporaries

from muser_core.base.errors import InputError
from muser_core.base.paths import CHECKOUT as REPO_ROOT
from muser_core.features.lexicon import Lexicon, default_lexicon
from muser_core.features.text import (
    TextFeatureExtractor,
    count_sentences,
    extract_features,
    tokenize,
)

DIC = """%
1\tpronoun
2\tfiller
3\tnonflu
4\ttentat
5\tposemo
%
i\t1
you\t1
it\t1
you know\t2
um\t3
kind*\t4
happ*\t5
"""


@pytest.fixture
def lex(tmp_path):
    path = tmp_path / "mini.dic"
    path.write_text(DIC, encoding="utf-8")
    return Lexicon.read_dic(path)


# ---------------------------------------------------------------- tokenising
def test_tokenize_lowercases_and_keeps_inner_apostrophes():
    assert tokenize("Don’t STOP, I'm here!") == ["don't", "stop", "i'm", "here"]


def test_tokenize_numbers_are_words():
    assert tokenize("It cost $3.50 in 2019, about 1,000 yen at 10:30.") == [
        "it", "cost", "3.50", "in", "2019", "about", "1,000", "yen", "at", "10:30"]


def test_tokenize_hyphens_quotes_and_empty():
    assert tokenize("uh-huh -- 'em \"goin'\"") == ["uh-huh", "em", "goin"]
    assert tokenize("") == []
    assert tokenize("   ...?! ") == []
    assert tokenize(None) == []


def test_count_sentences():
    assert count_sentences("Hi. How are you? Fine!") == 3
    assert count_sentences("no end mark") == 1
    assert count_sentences("Wait... what?!") == 2
    assert count_sentences("3.5 is a number.") == 1
    assert count_sentences("") == 0


# ---------------------------------------------------------------- scoring
def test_hand_counted_sentence_with_a_small_dictionary(lex):
    # Words: um you know i kinda like it you know happily = 10 (WC).
    # "you know" twice -> filler 2 (a phrase counts once; its "you" is not a pronoun);
    # pronoun: i, it = 2; nonflu: um = 1; tentat: kinda = 1; posemo: happily = 1.
    text = "Um, you know, I kinda like it... you KNOW? Happily."
    row = extract_features([text], lex).iloc[0]
    assert row["WC"] == 10
    assert row["filler"] == pytest.approx(20.0)
    assert row["pronoun"] == pytest.approx(20.0)
    assert row["nonflu"] == pytest.approx(10.0)
    assert row["tentat"] == pytest.approx(10.0)
    assert row["posemo"] == pytest.approx(10.0)


def test_hand_counted_sentences_with_the_open_dictionary():
    frame = extract_features(["I am happy.", "We didn't go home yesterday"], default_lexicon())
    first = frame.iloc[0]  # i / am / happy
    assert first["WC"] == 3
    third = 100 / 3
    for category in ("i", "pronoun", "auxverb", "posemo", "affect", "focuspresent"):
        assert first[category] == pytest.approx(third), category
    assert first["function"] == pytest.approx(2 * third)  # i, am
    assert first["negemo"] == 0
    second = frame.iloc[1]  # we / didn't / go / home / yesterday
    assert second["WC"] == 5
    assert second["we"] == pytest.approx(20.0)
    assert second["negate"] == pytest.approx(20.0)  # didn't
    assert second["home"] == pytest.approx(20.0)
    assert second["motion"] == pytest.approx(20.0)  # go
    assert second["focuspast"] == pytest.approx(40.0)  # didn't, yesterday
    assert second["time"] == pytest.approx(20.0)  # yesterday


def test_word_counts_hand_counted_with_a_small_dictionary(lex):
    # Paper 3.2: "a value equal to the count of words observed in that category in the
    # sentence". The sentence of the test above: filler 2 (two "you know"), pronoun 2
    # (i, it), nonflu 1 (um), tentat 1 (kinda), posemo 1 (happily); WC 10 either way.
    text = "Um, you know, I kinda like it... you KNOW? Happily."
    row = extract_features([text], lex, score="count").iloc[0]
    assert row.to_dict() == {"WC": 10, "pronoun": 2, "filler": 2, "nonflu": 1, "tentat": 1, "posemo": 1}


def test_word_counts_hand_counted_with_the_open_dictionary():
    # um we didn't go home yesterday we stayed home you know um: 12 words.
    text = "Um, we didn't go home yesterday; we stayed home, you know, um."
    row = extract_features([text], default_lexicon(), score="count").iloc[0]
    hand = {"WC": 12, "nonflu": 2, "we": 2, "pronoun": 2, "home": 2, "negate": 1, "motion": 1,
            "focuspast": 3,  # didn't, yesterday, stayed
            "filler": 1,     # "you know" once, as a phrase: its "you" is not counted again
            "you": 0}
    assert {c: row[c] for c in hand} == hand


def test_percent_is_100_times_count_over_wc():
    texts = ["I am so happy today!", "", "Um, you know, we lost the game again.", "42 is a number"]
    counts = extract_features(texts, score="count")
    percent = extract_features(texts)  # LIWC's percentages stay the default
    assert counts["WC"].tolist() == percent["WC"].tolist() == [5, 0, 8, 4]
    wc = counts["WC"].replace(0, 1)
    expected = counts.drop(columns="WC").mul(100).div(wc, axis=0)
    pd.testing.assert_frame_equal(percent.drop(columns="WC"), expected.astype(float), check_dtype=False)
    assert (counts.drop(columns="WC") == counts.drop(columns="WC").round()).all().all()


def test_an_unknown_score_is_one_line(lex):
    with pytest.raises(InputError, match="unknown score 'share' \\(choose count or percent\\)"):
        extract_features(["hello"], lex, score="share")


def test_columns_rows_and_empty_texts(lex):
    frame = extract_features(["happy", "", None, float("nan"), "you know"], lex, wps=True)
    assert list(frame.columns) == ["WC", "WPS", *lex.categories]
    assert len(frame) == 5
    assert frame.loc[0, "posemo"] == 100.0
    for row in (1, 2, 3):
        assert frame.loc[row].eq(0).all()
    assert frame.loc[4, "filler"] == pytest.approx(50.0)  # one phrase in two words


def test_wps_only_when_asked(lex):
    assert "WPS" not in extract_features(["a b."], lex).columns
    frame = extract_features(["One two. Three four five six!"], lex, wps=True)
    assert frame.loc[0, "WPS"] == pytest.approx(3.0)


def test_extractor_agrees_with_per_text_calls(lex):
    texts = ["I am happy", "um you know", "kind of it"]
    together = TextFeatureExtractor(lex).transform(texts)
    one_by_one = pd.concat([extract_features([t], lex) for t in texts], ignore_index=True)
    pd.testing.assert_frame_equal(together, one_by_one)


def test_default_extractor_uses_open_dictionary():
    extractor = TextFeatureExtractor()
    assert extractor.lexicon is default_lexicon()
    assert extractor.columns[0] == "WC"


# ---------------------------------------------------------------- command line
def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "muser_core", "features", "text", *args],
        cwd=cwd, capture_output=True, text=True,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": ""},
    )


def test_cli_on_a_small_csv(tmp_path):
    pd.DataFrame({"id": [1, 2, 3], "text": ["I am so happy!", "", "Um, you know, we lost."]}).to_csv(
        tmp_path / "in.csv", index=False)
    result = run_cli("--in", "in.csv", "--text-column", "text", "--out", "out.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["WC", *default_lexicon().categories]
    assert out["WC"].tolist() == [4, 0, 5]
    assert out.loc[0, "posemo"] == pytest.approx(25.0)
    assert out.loc[1].eq(0).all()
    assert out.loc[2, "filler"] == pytest.approx(20.0)


def test_cli_word_counts(tmp_path):
    pd.DataFrame({"text": ["Um, um, I mean, we lost.", "happy happy joy"]}).to_csv(tmp_path / "in.csv", index=False)
    result = run_cli("--in", "in.csv", "--out", "out.csv", "--score", "count", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["WC"].tolist() == [6, 3]
    assert out["nonflu"].tolist() == [2, 0] and out["filler"].tolist() == [1, 0]  # "i mean"
    assert out["we"].tolist() == [1, 0] and out["posemo"].tolist() == [0, 3]
    assert out["posemo"].dtype.kind == "i"  # whole counts, written as such


def test_cli_with_user_dictionary_and_wps(tmp_path, lex):
    (tmp_path / "mini.dic").write_text(DIC, encoding="utf-8")
    pd.DataFrame({"utterance": ["Happy. Happy you know"]}).to_csv(tmp_path / "in.csv", index=False)
    result = run_cli("--in", "in.csv", "--text-column", "utterance", "--out", "out.csv",
                     "--dic", "mini.dic", "--wps", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["WC", "WPS", *lex.categories]
    assert out.loc[0, "WPS"] == pytest.approx(2.0)
    assert out.loc[0, "posemo"] == pytest.approx(50.0)


def test_cli_carries_ids_speakers_and_labels(tmp_path):
    pd.DataFrame({"utterance_id": ["u1", "u2"], "speaker": ["07", "08"], "dataset": ["d", "d"],
                  "text": ["I am happy", "sad"], "stress": ["stressed", ""], "valence": [3.5, 7]}
                 ).to_csv(tmp_path / "in.csv", index=False)
    result = run_cli("--in", "in.csv", "--out", "out.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = pd.read_csv(tmp_path / "out.csv", dtype={"speaker": str}, keep_default_na=False)
    assert list(out.columns[:5]) == ["utterance_id", "speaker", "stress", "valence", "WC"]
    assert out["speaker"].tolist() == ["07", "08"] and out["stress"].tolist() == ["stressed", ""]
    assert out["valence"].tolist() == [3.5, 7] and out["WC"].tolist() == [3, 1]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--in", "missing.csv", "--text-column", "text"], "missing.csv: file not found"),
        (["--in", "in.csv", "--text-column", "body"], "in.csv, column 'body': no such column"),
        (["--in", "in.csv", "--text-column", "text", "--dic", "no.dic"], "no.dic"),
    ],
)
def test_cli_bad_input_is_one_line_and_status_2(tmp_path, args, fragment):
    pd.DataFrame({"text": ["hello"]}).to_csv(tmp_path / "in.csv", index=False)
    result = run_cli(*args, "--out", "out.csv", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_speed_smoke():
    # The full target (100k sentences < 60 s) is measured by bench/text_features.py.
    import time

    texts = ["well I kinda think we're gonna be okay, you know, after the exam"] * 5000
    start = time.perf_counter()
    frame = extract_features(texts)
    assert len(frame) == 5000 and not math.isnan(frame["WC"].sum())
    assert time.perf_counter() - start < 10


def test_cli_on_a_full_disk_keeps_the_previous_table_whole(tmp_path):
    """A full disk leaves the previous table whole, not a truncated one in its place."""
    pd.DataFrame({"text": ["I am so happy!", "Um, we lost."] * 20}).to_csv(tmp_path / "in.csv", index=False)
    assert run_cli("--in", "in.csv", "--out", "out.csv", cwd=tmp_path).returncode == 0
    before = (tmp_path / "out.csv").read_bytes()
    pd.DataFrame({"text": ["We were worried, really worried."] * 400}).to_csv(tmp_path / "in.csv", index=False)
    proc = run_with_file_limit([sys.executable, "-m", "muser_core", "features", "text", "--in", "in.csv",
                                "--out", "out.csv"], limit_bytes=len(before) + 1024, cwd=tmp_path,
                               env={"PYTHONPATH": str(REPO_ROOT), "PATH": ""})
    assert proc.returncode == 2 and "cannot write" in proc.stderr and "Traceback" not in proc.stderr
    assert (tmp_path / "out.csv").read_bytes() == before
    assert stray_temporaries(tmp_path) == []


def test_scoring_many_texts_reports_progress_and_holds_one_table():
    """A big corpus is scored with progress counts, and the table is filled in place: the peak memory is
    about the result's own size, not the counts, the percentages and a copy side by side."""
    import tracemalloc

    from muser_core.features import text as text_module

    texts = ["I am so worried about my exam and my rent", "A calm day in the garden", ""] * 8_000
    calls = []
    extract_features(texts[:100], score="count")   # the dictionary is read before the measurement
    tracemalloc.start()
    try:
        table = extract_features(texts, score="percent", progress=lambda done, total: calls.append((done, total)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    every = text_module.PROGRESS_EVERY
    assert calls == [(n, 24_000) for n in range(every, 24_000, every)] + [(24_000, 24_000)]
    result = table.memory_usage(index=False).sum()
    assert peak < 1.5 * result + 2**20 * 4, f"peak {peak / 2**20:.1f} MB for a {result / 2**20:.1f} MB table"
    estimate = text_module.SCORING_TABLES * len(texts) * (len(text_module.default_lexicon().categories) + 2) * 8
    assert peak < estimate, f"peak {peak / 2**20:.1f} MB over the memory check's {estimate / 2**20:.1f} MB"
    # The same numbers as scoring each text on its own.
    for i in (0, 1, 2):
        pd.testing.assert_frame_equal(table.iloc[[i]].reset_index(drop=True), extract_features([texts[i]]))


def test_scoring_more_texts_than_memory_allows_is_refused_before_it_starts(monkeypatch, tmp_path):
    """A lab's cap (or a machine's free memory) below what the table needs: one line, nothing scored."""
    calls = []
    monkeypatch.setenv("MUSER_MEMORY_GB", "0.05")
    with pytest.raises(InputError, match=r"^scoring 300,000 texts on \d+ categories: needs about 0\.\d GB of "
                                         r"memory and 0\.0 GB is allowed by MUSER_MEMORY_GB; score a sample"):
        extract_features(["calm"] * 300_000, progress=lambda done, total: calls.append(done))
    assert calls == []
    source = tmp_path / "texts.csv"
    pd.DataFrame({"text": ["calm"] * 300_000}).to_csv(source, index=False)
    proc = subprocess.run([sys.executable, "-m", "muser_core", "features", "text", "--in", str(source),
                           "--out", str(tmp_path / "out.csv")], capture_output=True, text=True,
                          env={**os.environ, "MUSER_MEMORY_GB": "0.05"})
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "needs about" in proc.stderr, proc.stderr
    assert not (tmp_path / "out.csv").exists()

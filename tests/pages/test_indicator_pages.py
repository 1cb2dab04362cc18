"""The Text and Acoustic indicator pages under Streamlit's AppTest: what they draw, and no traceback."""

from __future__ import annotations

import importlib
import importlib.util
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO
from streamlit.testing.v1 import AppTest

from muser_core.features.acoustic import EGEMAPS_FEATURES
from ui.indicators import DIC_PATH, PATH_SOURCE

TEXT_PAGE = str(REPO / "pages" / "1_Text_indicators.py")
ACOUSTIC_PAGE = str(REPO / "pages" / "2_Acoustic_indicators.py")


def planted_csv(path: Path, columns: list[str], n: int = 400, seed: int = 0, **changes) -> Path:
    """Noise features plus labels driven by the first three columns (stress: 0, activation: 1, valence: 2)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, len(columns)))
    table = pd.DataFrame(X, columns=columns)
    table.insert(0, "Filename", [f"clip{i}.wav" for i in range(n)])  # an identifier, not a feature
    table["speaker"] = [f"p{i % 5}" for i in range(n)]
    table["stress"] = (2 * X[:, 0] + 0.5 * rng.standard_normal(n) > 0).astype(int)
    table["activation"] = 5 + 2 * X[:, 1] + 0.3 * rng.standard_normal(n)
    table["valence"] = 5 - 2 * X[:, 2] + 0.3 * rng.standard_normal(n)
    table.assign(**changes).to_csv(path, index=False)
    return path


def open_csv(page: str, path: Path) -> AppTest:
    at = AppTest.from_file(page, default_timeout=120).run()
    at.sidebar.radio(key=_key(page, "features-from")).set_value(PATH_SOURCE).run()
    at.sidebar.text_input(key=_key(page, "path")).set_value(str(path)).run()
    return at


def _key(page: str, name: str) -> str:
    return ("text-ind-" if page == TEXT_PAGE else "ac-ind-") + name


def frames(at: AppTest) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe]


def table4(at: AppTest) -> pd.DataFrame:
    """Our Table 4 (the first with a 'feature set' column; the paper's comes after it)."""
    return next(f for f in frames(at) if "feature set" in f.columns)


TEXT_COLUMNS = ["posemo", "negemo", "bio", "health", "body", "ingest", "space", "time", "percept", "nonflu"]


def test_text_page_ranks_planted_categories_from_a_csv(tmp_path):
    at = open_csv(TEXT_PAGE, planted_csv(tmp_path / "liwc.csv", TEXT_COLUMNS))
    assert not at.exception and not at.error
    assert at.title[0].value == "Text indicators"
    assert {m.label: m.value for m in at.metric}["Features ranked"] == "10"
    top = frames(at)[0]  # the first task tab: stress
    assert top["feature"].iloc[0] == "posemo" and top["stability"].iloc[0] == pytest.approx(1.0)
    downloads = {b.proto.label for b in at.get("download_button")}
    assert {"Download top_stress.csv", "Download table1_shared.csv", "Download table2_unique.csv",
            "Download table4_unique_counts.csv", "Download jaccard.csv", "Download overlap.csv",
            "Download all_features.csv"} <= downloads


def test_every_table_offers_latex_beside_csv_and_bootstrap_0_says_why_stability_is_blank(tmp_path):
    at = open_csv(TEXT_PAGE, planted_csv(tmp_path / "liwc.csv", TEXT_COLUMNS))
    buttons = at.get("download_button")
    csv = [b for b in buttons if b.proto.label.startswith("Download ")]
    tex = [b for b in buttons if b.proto.label == "LaTeX"]
    assert len(tex) == len(csv) >= 7
    assert not [c for c in at.caption if "Stability is blank" in c.value]
    at.sidebar.number_input(key="text-ind-boot").set_value(0).run()
    assert not at.exception and not at.get("progress")
    assert [c.value for c in at.caption if "Stability is blank" in c.value] == [
        "Stability is blank: Bootstrap resamples is 0 in the sidebar (raise it to see how often each feature "
        "stays in the top k)."]


def test_moving_the_slider_reads_the_cached_fit(tmp_path):
    at = open_csv(TEXT_PAGE, planted_csv(tmp_path / "liwc.csv", TEXT_COLUMNS))
    assert len(frames(at)[0]) == 10  # top 20 of 10 features
    start = time.perf_counter()
    at.sidebar.slider(key="text-ind-k").set_value(5).run()
    assert not at.exception and len(frames(at)[0]) == 5
    assert time.perf_counter() - start < 5  # no refit (the fit with 200 resamples is what takes time)


@pytest.mark.parametrize(("changes", "message"), [
    ({"stress": 1}, "liwc.csv, column 'stress': only one class (1)"),
    ({"posemo": ["lots"] + [0.5] * 399}, "liwc.csv, line 2, column 'posemo': not a number ('lots')"),
])
def test_text_page_shows_bad_input_as_one_line(tmp_path, changes, message):
    at = open_csv(TEXT_PAGE, planted_csv(tmp_path / "liwc.csv", TEXT_COLUMNS, **changes))
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith(f"{tmp_path}/{message}")


def test_text_page_too_few_rows(tmp_path):
    at = open_csv(TEXT_PAGE, planted_csv(tmp_path / "liwc.csv", TEXT_COLUMNS, n=12))
    assert not at.exception
    assert at.error[0].value == "stress: 12 labelled rows; at least 20 are needed"


def test_acoustic_page_groups_egemaps_indicators(tmp_path):
    at = open_csv(ACOUSTIC_PAGE, planted_csv(tmp_path / "egemaps.csv", EGEMAPS_FEATURES, n=300))
    assert not at.exception and not at.error
    assert at.title[0].value == "Acoustic indicators"
    assert at.sidebar.radio(key="ac-ind-norm").value == "speaker"  # paper 3.3
    top_stress = frames(at)[0]
    assert top_stress["feature"].iloc[0] == EGEMAPS_FEATURES[0]
    assert top_stress["group"].iloc[0] == "frequency"
    table3 = next(f for f in frames(at) if list(f.columns[:3]) == ["section", "parameter", "group"]
                  and "count" in f.columns)
    assert {"Only in stress", "Only in activation", "Only in valence"} <= set(table3["section"])


def test_acoustic_page_on_a_tiny_muse_copy_says_what_is_missing(muse_root, tmp_path, monkeypatch):
    monkeypatch.setenv("MUSER_CACHE_DIR", str(tmp_path / "cache"))
    at = AppTest.from_file(ACOUSTIC_PAGE, default_timeout=180).run()
    at.sidebar.radio(key="ac-ind-source").set_value("MuSE copy on this machine").run()
    at.sidebar.text_input(key="ac-ind-muse").set_value(str(muse_root)).run()
    assert not at.exception
    # 23 sentences cannot support least squares on 88 features: stress is ranked, and the page says per task
    # why activation and valence are not, rather than the whole page being one error.
    assert not at.error
    captions = "\n".join(c.value for c in at.caption)
    assert re.search(r"activation not analysed: \d+ labelled rows; at least \d+ are needed \(least squares", captions)
    assert re.search(r"valence not analysed: \d+ labelled rows; at least \d+ are needed \(least squares", captions)
    assert [t.label for t in at.tabs][:1] == ["Top k per task"] and "stress" in [t.label for t in at.tabs]


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _demo_built() -> bool:
    if not _has("muser_core.data.demo"):
        return False
    from muser_core.data.demo import CORPUS_FILE
    return CORPUS_FILE.is_file()


@pytest.mark.skipif(not _demo_built(), reason="demo corpus not in this copy yet")
@pytest.mark.parametrize("page", [TEXT_PAGE, ACOUSTIC_PAGE])
def test_pages_render_on_the_demo_corpus(page):
    if page == TEXT_PAGE and not _has("muser_core.features.text"):
        pytest.skip("lexicon features not in this copy yet")
    at = AppTest.from_file(page, default_timeout=180).run()
    assert not at.exception and not at.error
    assert any("Synthetic data" in w.value for w in at.warning)
    assert {m.label for m in at.metric} >= {"Features ranked", "Tasks"}


@pytest.mark.skipif(not _demo_built(), reason="demo corpus not in this copy yet")
def test_both_pages_show_table4_for_both_modalities_on_the_demo():
    pages = [AppTest.from_file(page, default_timeout=180).run() for page in (TEXT_PAGE, ACOUSTIC_PAGE)]
    tables = [table4(at) for at in pages]
    assert tables[0]["feature set"].tolist() == ["text categories", "eGeMAPS"]
    # The acoustic page ranks the transcripts as the text page does by default: word counts (paper 3.2).
    assert any("scored as word count (paper 3.2)" in c.value for c in pages[1].caption)
    pd.testing.assert_frame_equal(tables[0], tables[1])  # the same full-data ranks on both pages
    assert (tables[0][["stress", "activation", "valence"]] <= 20).all().all()


def test_text_page_scores_a_muse_copy_with_the_lexicon(muse_root):
    at = AppTest.from_file(TEXT_PAGE, default_timeout=120).run()
    at.sidebar.radio(key="text-ind-source").set_value("MuSE copy on this machine").run()
    at.sidebar.text_input(key="text-ind-muse").set_value(str(muse_root)).run()
    assert not at.exception and not at.error
    # Two scripted sentences use few categories: the rest are constant, dropped and listed.
    assert any("constant features dropped" in e.label for e in at.expander)
    assert {m.label: m.value for m in at.metric}["Labelled rows"] == "23, 22, 23"
    stress = frames(at)[1]  # frames[0] lists the dropped features
    assert {"feature", "coefficient", "rank", "stability", "examples"} <= set(stress.columns)


def _all_features(at: AppTest) -> pd.DataFrame:
    """The "All features" tab's table: every feature with its coefficient per task."""
    return next(f for f in frames(at) if "stress_coefficient" in f.columns).set_index("feature")


def _direct_fit(muse_root: Path, score: str) -> pd.Series:
    """Stress coefficients fitted here, outside the page, on the transcripts scored with ``score``."""
    from muser_core.data.muse import load_muse
    from muser_core.features.text import extract_features
    from muser_core.indicators import IndicatorAnalysis

    table = load_muse(muse_root).table
    features = extract_features(table["text"], score=score).drop(columns="WC")
    analysis = IndicatorAnalysis(bootstrap=0).fit(features, table[["stress", "activation", "valence"]])
    return analysis.coef_["stress"].rename_axis("feature").sort_index()


def test_text_page_scores_word_counts_by_default_and_percentages_on_request(muse_root):
    at = AppTest.from_file(TEXT_PAGE, default_timeout=120).run()
    at.sidebar.radio(key="text-ind-source").set_value("MuSE copy on this machine").run()
    at.sidebar.text_input(key="text-ind-muse").set_value(str(muse_root)).run()
    assert not at.exception and not at.error
    score = at.sidebar.radio(key="text-ind-score")
    assert score.value == "count"  # the paper's feature (3.2): its Tables 1, 2, 4 are made with counts
    assert any("count" in m.value and "Tables 1, 2 and 4" in m.value for m in at.markdown)
    by_count = _all_features(at)["stress_coefficient"].sort_index()
    pd.testing.assert_series_equal(by_count, _direct_fit(muse_root, "count"), check_names=False, rtol=1e-6)
    score.set_value("percent").run()
    assert not at.exception and not at.error
    by_percent = _all_features(at)["stress_coefficient"].sort_index()
    pd.testing.assert_series_equal(by_percent, _direct_fit(muse_root, "percent"), check_names=False,
                                   rtol=1e-6)
    # Every sentence has one "I" and one number: constant as counts (dropped), not as percentages.
    assert set(by_percent.index) - set(by_count.index) == {"pronoun", "i", "number", "affect"}


def test_csv_features_give_a_one_row_table4(tmp_path):
    at = open_csv(TEXT_PAGE, planted_csv(tmp_path / "liwc.csv", TEXT_COLUMNS))
    table = table4(at)
    assert table["feature set"].tolist() == ["text categories"]
    # 10 features: every task's top 20 holds them all, so none is unique to a task.
    assert table[["stress", "activation", "valence"]].iloc[0].tolist() == [0, 0, 0]


def test_text_page_on_a_muse_copy_says_why_egemaps_are_not_in_table4(muse_root):
    at = AppTest.from_file(TEXT_PAGE, default_timeout=120).run()
    at.sidebar.radio(key="text-ind-source").set_value("MuSE copy on this machine").run()
    at.sidebar.text_input(key="text-ind-muse").set_value(str(muse_root)).run()
    assert not at.exception
    assert table4(at)["feature set"].tolist() == ["text categories"]
    assert any("extract them on the Acoustic indicators page" in c.value for c in at.caption)


def _muse_with_dic(muse_root: Path, dic: Path) -> AppTest:
    at = AppTest.from_file(TEXT_PAGE, default_timeout=120).run()
    at.sidebar.radio(key="text-ind-source").set_value("MuSE copy on this machine").run()
    at.sidebar.text_input(key="text-ind-muse").set_value(str(muse_root)).run()
    at.sidebar.radio(key="text-ind-dic").set_value(DIC_PATH).run()
    return at.sidebar.text_input(key="text-ind-dic-path").set_value(str(dic)).run()


def test_text_page_scores_transcripts_with_a_users_dic(muse_root, tmp_path):
    dic = tmp_path / "mine.dic"
    dic.write_text("%\n1\tworry\n2\tcalm\n%\nworried\t1\nexam\t1\ngood\t2\nfeel\t2\n")
    at = _muse_with_dic(muse_root, dic)
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["Features ranked"] == "2"
    stress = frames(at)[0]
    assert set(stress["feature"]) == {"worry", "calm"}
    assert dict(zip(stress["feature"], stress["examples"], strict=True)) == {"worry": "exam, worried",
                                                                             "calm": "feel, good"}


def test_a_bad_dic_is_one_line_naming_the_file(muse_root, tmp_path):
    dic = tmp_path / "bad.dic"
    dic.write_text("%\n1\tworry\n%\nworried\tlots\n")
    at = _muse_with_dic(muse_root, dic)
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value == f"{dic}, line 4: 'lots' is not a category number"


def test_text_page_reads_stress_as_words_and_leaves_liwc_summaries_out(tmp_path):
    rng = np.random.default_rng(1)
    path = planted_csv(tmp_path / "liwc22.csv", TEXT_COLUMNS, Segment=1, WC=rng.integers(3, 30, 400),
                       Analytic=rng.random(400) * 99, Tone=rng.random(400) * 99,
                       huge=rng.random(400) * 1e300)
    table = pd.read_csv(path)
    table["stress"] = table["stress"].map({1: "stressed", 0: "not stressed"})
    table.to_csv(path, index=False)
    at = open_csv(TEXT_PAGE, path)
    assert not at.exception and not at.error
    assert {"Segment", "WC", "Analytic", "Tone"} <= set(at.sidebar.multiselect(key="text-ind-ignore").value)
    assert {m.label: m.value for m in at.metric}["Features ranked"] == "10"
    assert any(e.label == "1 feature dropped" for e in at.expander)
    dropped = frames(at)[0]
    assert dropped["feature"].tolist() == ["huge"] and dropped["reason"][0].startswith("overflowed")
    assert frames(at)[1]["feature"].iloc[0] == "posemo"  # stress read from the words


def test_a_dic_with_a_huge_category_number_is_one_line(muse_root, tmp_path):
    dic = tmp_path / "huge.dic"
    dic.write_text("%\n1" + "0" * 5000 + "\tworry\n%\nworried\t1\n")
    at = _muse_with_dic(muse_root, dic)
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith(
        f"{dic}, line 2: category number 100000000000... has 5001 digits")


def test_the_acoustic_top_k_table_shows_the_description_whole_and_last():
    """The description column on Acoustic indicators is shown whole."""
    import json

    at = AppTest.from_file(ACOUSTIC_PAGE, default_timeout=240).run()
    assert not at.exception and not at.error
    top = next(d for d in at.dataframe if "description" in d.value.columns and "stability" in d.value.columns)
    assert list(top.proto.column_order)[-1] == "description"
    config = json.loads(top.proto.columns)
    assert config["description"]["width"] == "large"


def test_a_rerun_on_a_corpus_hashes_its_texts_once_and_scores_and_joins_nothing_again(monkeypatch):
    """Another top k on the demo corpus: the texts and labels are hashed once for the key, the transcripts
    are neither scored nor hashed again, and the kept input (scores, labels, speakers) is the same object."""
    import ui.indicators as ind

    at = AppTest.from_file(TEXT_PAGE, default_timeout=120).run()
    assert not at.exception and not at.error
    kept = list(getattr(ind, "_inputs", dict)().values() or [None])[-1]
    hashed, scored = [], []
    real_hash, real_score = pd.util.hash_pandas_object, ind.extract_features
    monkeypatch.setattr(pd.util, "hash_pandas_object", lambda part, **kw: hashed.append(part.shape) or
                        real_hash(part, **kw))
    monkeypatch.setattr(ind, "extract_features", lambda *a, **kw: scored.append(1) or real_score(*a, **kw))
    at.sidebar.slider(key="text-ind-k").set_value(5).run()
    assert not at.exception and not at.error and len(frames(at)[1]) == 5   # frames[0] lists the dropped features
    # The text side: one hash of text, speaker and the three labels, none of the scores. (The page's
    # acoustic side, for Table 4, hashes the stored eGeMAPS table: 88 columns.)
    n = len(kept.features)
    acoustic_side = [(n, 88), (n, 3), (n,)]
    assert scored == [] and sorted(hashed) == sorted([*acoustic_side, (n, 5)]), hashed
    assert list(ind._inputs().values())[-1] is kept and kept.digest
    assert kept.features.shape[1] != 88

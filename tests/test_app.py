"""The overview page (pages/0_Overview.py, where app.py lands): AppTest for its logic, a real browser against `streamlit run`."""

from __future__ import annotations

import tempfile

import pytest
from conftest import REPO, write_wav
from streamlit.testing.v1 import AppTest

from ui.common import MUSE_LABEL, UPLOAD_LABEL

APP = str(REPO / "app.py")


def test_overview_renders_and_names_a_bad_muse_root():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "MUSER stress lab"
    at.sidebar.radio[0].set_value("MuSE copy on this machine").run()
    at.sidebar.text_input[0].set_value("/no/such/muse").run()
    assert not at.exception
    assert [e.value for e in at.error] == ["/no/such/muse: MuSE root folder not found"]


def test_overview_loads_a_muse_copy(muse_root):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.sidebar.radio[0].set_value("MuSE copy on this machine").run()
    at.sidebar.text_input[0].set_value(str(muse_root)).run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Utterances"] == "23" and metrics["Speakers"] == "4"


def test_overview_opens_on_the_synthetic_demo_corpus():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Utterances"] == "2,326" and metrics["Speakers"] == "28"
    assert any("Synthetic data" in w.value for w in at.warning)
    # "With audio 2 %" is explained: how many rows have audio, and what the acoustic side uses.
    from muser_core.data.demo import load_demo

    table = load_demo().table
    heard = int((table["audio_path"] != "").sum())
    assert any(f"With audio: {heard:,} of 2,326 utterances have an audio file" in c.value for c in at.caption)


@pytest.mark.browser
def test_overview_in_a_real_browser(streamlit_url, browser_page):
    browser_page.goto(streamlit_url)
    browser_page.get_by_text("MUSER stress lab").first.wait_for()
    assert "Stress detection from speech" in browser_page.content()
    nav = browser_page.get_by_test_id("stSidebarNav")
    for title in ("Overview", "Text indicators", "Acoustic indicators", "Train", "Sampling dynamics",
                  "Results", "Live prediction"):
        assert nav.get_by_text(title, exact=True).count() == 1, title
    browser_page.get_by_text("Synthetic data.").first.wait_for()


# --------------------------------------------------------------------------- uploads and the data choice


def _upload(at: AppTest, name: str, text: str) -> AppTest:
    at.sidebar.radio(key="overview-source").set_value(UPLOAD_LABEL).run()
    return at.sidebar.file_uploader(key="overview-manifest").set_value((name, text.encode(), "text/csv")).run()


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Where the app's temporary folders go during the test, to see that none is left behind."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_an_upload_is_named_as_uploaded_and_leaves_nothing_behind(private_tmp):
    at = _upload(AppTest.from_file(APP, default_timeout=60).run(), "mine.csv",
                 "text,stress\nhello,1\nworld,maybe\n")
    assert not at.exception
    assert [e.value for e in at.error] == [
        "mine.csv, line 3, column 'stress': not a valid label ('maybe'; stress is 0/1, stressed/not stressed)"]
    at = _upload(at, "fine.csv", "text,stress,speaker\nI am fine,0,a\nhelp,1,b\nwell,stressed,c\n")
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["Utterances"] == "3"
    assert list(private_tmp.iterdir()) == []  # each upload's temporary copy is gone


def test_an_upload_without_usable_rows_lists_why(private_tmp):
    at = _upload(AppTest.from_file(APP, default_timeout=60).run(), "clips.csv",
                 "text,audio_path\n,clips/a.wav\n,clips/b.wav\n,clips/c.wav\n")
    assert not at.exception
    assert at.error[0].value.startswith("clips.csv: no usable rows (3 skipped; first: clips.csv, line 2")
    reasons = at.dataframe[0].value["reason"].tolist()
    assert reasons == [f"clips.csv, line {n}, column 'audio_path': clips/{c}.wav is a relative path; "
                       "an uploaded manifest needs absolute audio paths" for n, c in ((2, "a"), (3, "b"), (4, "c"))]
    assert "/tmp" not in at.error[0].value and "muser-upload" not in at.error[0].value


def test_an_upload_reads_audio_only_from_the_data_folders(tmp_path, monkeypatch):
    data = tmp_path / "data"
    clip = write_wav(data / "a.wav")
    secret = write_wav(tmp_path / "home" / "secret.wav")
    monkeypatch.setenv("MUSER_DATA_DIRS", str(data))
    at = _upload(AppTest.from_file(APP, default_timeout=60).run(), "paths.csv",
                 f"text,audio_path\none,{clip}\ntwo,{secret}\nthree,/etc/passwd\n"
                 f"four,{data}/../home/secret.wav\nfive,../../etc/passwd\n")
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["Utterances"] == "1"
    skipped = at.dataframe[-1].value["reason"].tolist()
    assert [r.split(": ", 1)[1] for r in skipped] == [
        f"{secret} is outside the data folders this app may read",
        "/etc/passwd is outside the data folders this app may read",
        f"{data}/../home/secret.wav is outside the data folders this app may read",
        "../../etc/passwd is a relative path; an uploaded manifest needs absolute audio paths"]


def test_the_data_choice_carries_to_the_next_page(muse_root):
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.sidebar.radio(key="overview-source").set_value(MUSE_LABEL).run()
    at.sidebar.text_input(key="overview-muse").set_value(str(muse_root)).run()
    at.switch_page("pages/1_Text_indicators.py").run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Text indicators"
    assert at.sidebar.radio(key="text-ind-source").value == MUSE_LABEL
    assert at.sidebar.text_input(key="text-ind-muse").value == str(muse_root)
    assert {m.label: m.value for m in at.metric}["Labelled rows"] == "23, 22, 23"
    at.switch_page("app.py").run()  # and back: the overview still shows the MuSE copy
    assert {m.label: m.value for m in at.metric}["Utterances"] == "23"


def test_page_settings_are_kept_for_the_browser_session():
    """Text indicators' percent and the Overview's split survive navigation, and the Acoustic page's Table 4
    caption then names the score the text page uses (percent, not the word count)."""
    at = AppTest.from_file(APP, default_timeout=240).run()
    at.sidebar.selectbox(key="overview-split").set_value("paper").run()
    at.switch_page("pages/1_Text_indicators.py").run()
    assert not at.exception
    at.sidebar.radio(key="text-ind-score").set_value("percent").run()
    at.sidebar.slider(key="text-ind-k").set_value(10).run()
    at.switch_page("pages/2_Acoustic_indicators.py").run()
    assert not at.exception and not at.error
    assert any("scored as percent of words (liwc)" in c.value for c in at.caption)
    at.switch_page("app.py").run()
    assert at.sidebar.selectbox(key="overview-split").value == "paper"
    at.switch_page("pages/1_Text_indicators.py").run()
    assert at.sidebar.radio(key="text-ind-score").value == "percent"
    assert at.sidebar.slider(key="text-ind-k").value == 10


def test_the_overview_table_has_no_none_cells_and_one_number_of_decimals_a_column(tmp_path):
    """Empty cells are blank, not "None", and one column has one number of decimals (not 5.733 with 5.9963)."""
    rows = "\n".join(f"sentence {i},{i % 2},{3 + i / 7},{i % 3},train,s{i % 3}" for i in range(9))
    at = _upload(AppTest.from_file(APP, default_timeout=60).run(), "train-only.csv",
                 "text,stress,activation,valence,split,speaker\n" + rows + "\n")
    assert not at.exception and not at.error
    per_split = next(d.value for d in at.dataframe if "utterances" in d.value.columns)
    assert per_split.loc["train", "activation_mean"] == f"{sum(3 + i / 7 for i in range(9)) / 9:.2f}"
    assert not per_split.isin(["None", "nan"]).any(axis=None) and per_split.isna().sum().sum() == 0
    assert per_split.loc["test"].tolist() == ["", "", "", "", ""]     # no test split: blank, not None

"""The overview page: AppTest for its logic, and a real browser against `streamlit run`."""

from __future__ import annotations

import pytest
from conftest import REPO
from streamlit.testing.v1 import AppTest

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

"""The Live prediction page: AppTest for its logic, a real browser recording through the microphone."""

from __future__ import annotations

import pytest
from conftest import REPO, speak
from streamlit.testing.v1 import AppTest

PAGE = str(REPO / "pages" / "6_Live_prediction.py")


@pytest.fixture(scope="module")
def page():
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    assert not at.exception
    return at


def test_page_waits_for_a_clip_and_labels_the_demo_model(page):
    assert any("synthetic" in w.value.lower() for w in page.warning)
    assert any("Record, upload or pick a clip" in i.value for i in page.info)
    # No microphone on the server: one line, the other inputs still offered.
    assert any("Server microphone unavailable" in i.value for i in page.info)


def test_sample_clip_gives_a_prediction_with_explanations(page):
    sample = next(s for s in page.selectbox if s.label == "Sample")
    sample.set_value(sample.options[1]).run()
    assert not page.exception and not page.error
    labels = {m.label: m.value for m in page.metric}
    assert labels["Prediction"] in ("stressed", "not stressed")
    assert {"Activation", "Valence"} <= set(labels)
    assert len(page.dataframe) >= 3  # voice movers, word movers, timings
    assert any("no baseline recorded" in w.value for w in page.warning)


@pytest.mark.browser
@pytest.mark.slow
def test_record_in_a_real_browser(tmp_path_factory, streamlit_url):
    """Chromium's fake microphone plays an espeak-ng clip into st.audio_input."""
    from conftest import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    clip = speak(tmp_path_factory.mktemp("mic") / "clip.wav",
                 "I am so worried about the exam tomorrow, I could not sleep at all.")
    args = CHROMIUM_ARGS + ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                            f"--use-file-for-fake-audio-capture={clip}"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.grant_permissions(["microphone"])
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(f"{streamlit_url}/Live_prediction")
        page.get_by_text("Record, upload or pick a clip").wait_for()
        recorder = page.get_by_test_id("stAudioInput").filter(has_text="Record a clip")
        recorder.get_by_role("button", name="Record").click()
        page.wait_for_timeout(4000)
        recorder.get_by_role("button", name="Stop recording").click()
        page.get_by_text("Probability of stress").wait_for()
        page.get_by_text("Time per step (ms)").wait_for()
        assert "Traceback" not in page.content()
        browser.close()

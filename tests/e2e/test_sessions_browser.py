"""Several people on one server at once: each browser session scores its own clip and keeps its own transcript.

The server shares its models and caches between sessions; what a person chose, uploaded or corrected must stay
in their session. The first model load happens in several sessions at once here, as it does when a lab opens
the app together (three Live sessions and one Train session).
"""

from __future__ import annotations

import pytest
import soundfile
from conftest import CHROMIUM, CHROMIUM_ARGS, app_env, serving_app

from muser_core.predict.samples import real_clips

pytestmark = pytest.mark.browser

SESSIONS = 3
BOX = "Transcript (correct it and re-run)"


def test_sessions_at_once_each_see_their_own_clip_and_transcript(tmp_path_factory, server_studies, tmp_path):
    from playwright.sync_api import sync_playwright

    clips = []
    for i, clip in enumerate(real_clips()[:SESSIONS]):
        signal, rate = soundfile.read(clip.path, dtype="float32")
        clips.append(tmp_path / f"clip-{i}.wav")
        soundfile.write(clips[-1], signal, rate)
    # A fresh server: the sessions' first visits load the model and the text encoder at the same time.
    with serving_app(app_env(tmp_path_factory, server_studies), tmp_path / "server.log") as url, \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = [browser.new_context(viewport={"width": 1400, "height": 1400}).new_page() for _ in clips]
        train = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        for page in [*pages, train]:   # the Train page reads the text model's tokenizer as the others load it
            page.set_default_timeout(120_000)
            page.goto(f"{url}/{'Train' if page is train else 'Live_prediction'}")
        for page, clip in zip(pages, clips, strict=True):
            page.get_by_role("tab", name="Upload a file").click()
            page.locator('input[type="file"]').first.set_input_files(str(clip))
        for page in pages:
            page.get_by_role("textbox", name=BOX).wait_for()
        heard = [page.get_by_role("textbox", name=BOX).input_value() for page in pages]
        assert len(set(heard)) == SESSIONS, heard   # three readings, three transcripts
        for i, page in enumerate(pages):
            page.get_by_role("textbox", name=BOX).fill(f"session {i} says zebra{i} about the exam")
            page.get_by_role("button", name="Re-run with this transcript").click()
        for i, page in enumerate(pages):
            page.get_by_text(f"zebra{i} about").first.wait_for()
        for i, page in enumerate(pages):
            assert page.get_by_role("textbox", name=BOX).input_value() == f"session {i} says zebra{i} about the exam"
            assert not [j for j in range(SESSIONS) if j != i and page.get_by_text(f"zebra{j} about").count()]
            assert page.get_by_text("Error").count() == 0 and page.get_by_text("Traceback").count() == 0
        train.get_by_role("button", name="Launch", exact=True).wait_for()
        assert train.get_by_text("Error").count() == 0
        browser.close()
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log and "ImportError" not in log, log[-3000:]

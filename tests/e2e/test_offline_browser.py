"""Offline for real: every page, in Debian's chromium, with everything but localhost blocked.

The app runs on machines without internet access and shows research data:
nothing it serves (favicons, fonts, scripts, images) may make the browser
reach outside the machine. Requests to any other host are recorded and
aborted; the test fails if there is one.
"""

from __future__ import annotations

import io
import re
import time
from urllib.parse import urlsplit

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Error as PlaywrightError

pytestmark = pytest.mark.browser

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
# url path -> the page's title (its first heading)
PAGES = {"": "MUSER stress lab", "Text_indicators": "Text indicators",
         "Acoustic_indicators": "Acoustic indicators", "Train": "Train",
         "Sampling_dynamics": "Sampling dynamics", "Results": "Results",
         "Live_prediction": "Live prediction", "Record_a_corpus": "Record a corpus"}


def _outside(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme not in ("data", "blob", "about") and parts.hostname not in LOCAL_HOSTS


def test_no_page_reaches_outside_localhost(streamlit_url, browser_page):
    page = browser_page
    outside: list[str] = []

    def guard(route):
        if _outside(route.request.url):
            outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.context.route("**/*", guard)
    # Requests the router may not see (the browser's own favicon fetch) still fire this event.
    page.context.on("request", lambda r: _outside(r.url) and outside.append(r.url))
    for path, title in PAGES.items():
        page.goto(f"{streamlit_url}/{path}")
        page.get_by_role("heading", name=title).first.wait_for()
        time.sleep(0.5)  # favicon, fonts and lazy chunks load after the first paint
        icons = page.eval_on_selector_all("link[rel~='icon']", "links => links.map(l => l.href)")
        outside += [f"{path or 'overview'} favicon {href}" for href in icons if _outside(href)]
    assert not outside, f"requests left the machine: {sorted(set(outside))}"


@pytest.mark.parametrize("first", ["Results", "Train"])
def test_a_deep_link_on_a_fresh_server_gets_the_apps_navigation(tmp_path_factory, browser_page, first):
    """The first request of a new server is /Results (a bookmark): the sidebar still shows the app's
    sections, not Streamlit's flat list of the files in pages/."""
    from conftest import app_env, serving_app

    env = app_env(tmp_path_factory, tmp_path_factory.mktemp("studies"))
    with serving_app(env, tmp_path_factory.mktemp("fresh") / "server.log") as url:
        browser_page.goto(f"{url}/{first}")
        nav = browser_page.locator('[data-testid="stSidebarNav"]')
        nav.get_by_text("Multi-task training (sections 4-5)").wait_for()
        text = nav.inner_text()
        assert "Segment a recording" in text and "app\n" not in text
        browser_page.get_by_role("heading", name=first).first.wait_for()  # the page asked for, not the overview


def test_a_walk_of_every_page_on_a_fresh_server_shows_no_error_and_no_none(tmp_path_factory, browser_page):
    """Every page, first visit of a fresh server, once its script has finished: no red error box, no
    traceback, no "None" where a value is missing, and no select or table column whose text is cut off."""
    from conftest import app_env, serving_app

    env = app_env(tmp_path_factory, tmp_path_factory.mktemp("studies"))
    page = browser_page
    walk = {**PAGES, "Segment": "Segment a recording into sentences"}
    found = []
    with serving_app(env, tmp_path_factory.mktemp("walk") / "server.log") as url:
        for path, title in walk.items():
            page.goto(f"{url}/{path}")
            page.get_by_role("heading", name=title).first.wait_for()
            _wait_until_idle(page)
            main = page.locator('[data-testid="stMain"]').inner_text()
            errors = page.locator('[data-testid="stAlertContentError"], [data-testid="stException"]')
            found += [f"{path or 'overview'}: error box: {errors.nth(i).inner_text()[:200]}"
                      for i in range(errors.count())]
            found += [f"{path or 'overview'}: None in '{line.strip()[:120]}'" for line in main.splitlines()
                      if re.search(r"\bNone\b", line)]
            found += [f"{path or 'overview'}: {cut}" for cut in _cut_off_text(page)]
    assert found == [], "\n".join(found)


def test_a_prediction_on_the_live_page_shows_every_table_whole(streamlit_url, browser_page, tmp_path):
    """After a clip is scored, the Live page's tables (voice features and their descriptions, z values,
    the session's clips) and selects show their text whole, in every expander and tab."""
    import soundfile

    from muser_core.predict.samples import real_clips

    signal, rate = soundfile.read(real_clips()[0].path, dtype="float32")
    soundfile.write(tmp_path / "clip.wav", signal, rate)
    page = browser_page
    page.goto(f"{streamlit_url}/Live_prediction")
    page.get_by_role("tab", name="Upload a file").click()
    page.locator('input[type="file"]').first.set_input_files(str(tmp_path / "clip.wav"))
    page.get_by_role("textbox", name="Transcript (correct it and re-run)").wait_for(timeout=180_000)
    _wait_until_idle(page)
    assert _cut_off_text(page) == []


def _wait_until_idle(page, seconds: float = 120) -> None:
    """Until the "running" widget has been gone for a moment (a page's first runs fit models)."""
    deadline, quiet = time.time() + seconds, 0
    while time.time() < deadline and quiet < 4:
        quiet = quiet + 1 if not page.query_selector('[data-testid="stStatusWidget"]') else 0
        time.sleep(0.5)


# A select's input whose text is wider than the box shows its start only ("Table 8: multi-task learni").
WIDER_THAN_ITS_BOX = "e => e.scrollWidth > e.clientWidth + 1 ? `${e.getAttribute('aria-label')}: '${e.value}'` : ''"


def _cut_off_text(page) -> list[str]:
    """Every select and table column, in every expander and tab of the page, whose text does not fit."""
    for summary in page.locator('[data-testid="stExpander"] summary').all():
        summary.click()   # expanders and tabs open in the browser, without a rerun
    cut, tabs, opened = set(), page.get_by_role("tab"), 0
    while True:
        page.wait_for_timeout(300)
        for box in page.locator('[role="combobox"]').all():
            if box.is_visible() and (line := box.evaluate(WIDER_THAN_ITS_BOX)):
                cut.add(f"cut off: {line}")
        for grid in page.locator('[data-testid="data-grid-canvas"]').all():
            try:
                names = clipped_columns(grid) if grid.is_visible() else []
            except PlaywrightError:   # redrawn meanwhile (a fit finishing): the next tab's pass sees the new one
                names = []
            cut.update(f"cut off: table column '{name}'" for name in names)
        if opened >= min(tabs.count(), 40):   # the tabs inside a tab are counted once it is open
            break
        tabs.nth(opened).click()
        opened += 1
    return sorted(cut)


# st.dataframe draws on a canvas (glide-data-grid) and clips a cell's text at its column's right border,
# without an ellipsis; a cell's own padding keeps text that fits 8 px clear of it.
GRID_BORDER_RGB = (232, 229, 226)   # the theme's border colour (--gdg-border-color)
MAIN_PADDING_PX = 80                # st.main's side padding in the wide layout
INK_BELOW = 140                     # mean RGB of text pixels (cells' and headers' text are darker)


def _settled_pixels(grid, tries: int = 20) -> np.ndarray:
    """The table's pixels once drawn: a tab just opened (or a fit finishing) draws its canvas a moment
    later, and a blank or half-drawn table would hide a cut or show one that is not there."""
    shot = None
    for _ in range(tries):
        grid.page.wait_for_timeout(250)
        previous, shot = shot, grid.screenshot()
        pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)
        if shot == previous and (pixels.mean(-1) < INK_BELOW).any():   # still, and not blank
            break
    return pixels


def clipped_columns(grid) -> list[str]:
    """The headers of the columns of a drawn table whose text (a cell's or the header's) reaches the
    column's right border, or the right edge of a table squeezed beside others (under 80 % of the page's
    width: a column that runs off it shows its start only). A table as wide as the page scrolls sideways."""
    pixels = _settled_pixels(grid)
    border = np.abs(pixels - np.array(GRID_BORDER_RGB)).sum(-1) <= 12
    lines = np.nonzero(border.mean(0) > 0.8)[0]                     # vertical lines the whole height down
    lines = [int(x) for i, x in enumerate(lines) if i == 0 or x > lines[i - 1] + 1]
    edge = pixels.shape[1]
    ink = pixels.mean(-1) < INK_BELOW
    headers = grid.evaluate("g => [...g.querySelectorAll('th')].map(th => th.textContent)")
    page_width = grid.evaluate("g => g.closest('[data-testid=\"stMain\"]').getBoundingClientRect().width")
    squeezed = edge < 0.8 * (page_width - 2 * MAIN_PADDING_PX)
    bounds = lines + ([edge] if squeezed and (not lines or lines[-1] < edge - 3) else [])
    cut = [i for i, x in enumerate(bounds) if ink[:, max(0, x - 3):x].any()]
    return [headers[i] if i < len(headers) else f"column {i + 1}" for i in cut]


def test_the_text_indicators_page_shows_coefficients_then_counts_the_bootstrap(streamlit_url, browser_page):
    """A long bootstrap is not a bare spinner: the coefficients come first, a bar counts the resamples, and
    the stability fills in when they are done."""
    page = browser_page
    page.goto(f"{streamlit_url}/Text_indicators")
    page.get_by_role("heading", name="Text indicators").first.wait_for()
    page.get_by_text("Features ranked").first.wait_for(timeout=120_000)   # the first fit (default settings)
    boot = page.get_by_role("spinbutton", name="Bootstrap resamples")
    boot.fill("1150")   # a count no other test fits: a fresh fit
    boot.press("Enter")
    page.get_by_text("Meanwhile, the top 10 coefficients per task").wait_for(timeout=60_000)
    counter = page.get_by_text(re.compile(r"Bootstrap for stability: [\d,]+ of [\d,]+ resamples"))
    counter.first.wait_for(timeout=60_000)
    assert re.search(r"of (3,450|2,300) resamples", counter.first.inner_text())  # 1,150 x the tasks fitted
    counter.first.wait_for(state="detached", timeout=180_000)
    page.get_by_text("Bootstrap resamples").first.wait_for()
    assert page.get_by_text("1,150").first.is_visible() or page.get_by_text("1150").first.is_visible()


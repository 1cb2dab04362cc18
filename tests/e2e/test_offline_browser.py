"""Offline for real: every page, in Debian's chromium, with everything but localhost blocked.

The app runs on machines without internet access and shows research data:
nothing it serves (favicons, fonts, scripts, images) may make the browser
reach outside the machine. Requests to any other host are recorded and
aborted; the test fails if there is one.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

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

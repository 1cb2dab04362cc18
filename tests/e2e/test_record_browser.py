"""A whole short session in a real browser, with Chromium's fake microphone, then the study as a corpus and a run.

The fake microphone plays an espeak-ng clip of two sentences (followed by
silence) into ``st.audio_input``. In the browser: create a study, set two
questions and a 10 s stress task, add a participant with consent, run a
stressed session (stress task with its visible timer, each question recorded
and rated), process it with Whisper. Then, as a researcher would go on over
the following days, more sessions are added through the library so that every
split of the session split holds both conditions; the study loads through
``muser corpus --study`` with the expected sentences and labels,
and a short frozen training run on it finishes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import soundfile
from conftest import REPO, fake_microphone_page, speak

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STUDY = "e2e-study"
WORRIED = "I am really worried about my exam tomorrow. I could not sleep at all last night."
CALM = "My weekend was relaxing. I read a good book in the garden."
RECORD_S = 6.5        # the clip (about 4.5 s) and some of its trailing silence


def padded(path, seconds_after: float = 10.0):
    """The clip followed by silence, so a recording shorter than the file holds the two sentences once."""
    signal, rate = soundfile.read(path, dtype="float32")
    soundfile.write(path, np.concatenate([signal, np.zeros(int(seconds_after * rate), np.float32)]), rate)
    return path


def _radio(page, option: str) -> None:
    page.get_by_test_id("stRadio").get_by_text(option, exact=True).click()


def _rate(page, label: str, value: int) -> None:
    """Choose a 1-9 rating (nothing is chosen until the participant chooses)."""
    page.get_by_test_id("stRadio").filter(has_text=label).get_by_text(str(value), exact=True).click()


def _record(page, seconds: float) -> None:
    recorder = page.get_by_test_id("stAudioInput").filter(has_text="Record your answer")
    recorder.get_by_role("button", name="Record").click()
    page.wait_for_timeout(int(seconds * 1000))
    recorder.get_by_role("button", name="Stop recording").click()


def test_a_session_in_the_browser_becomes_a_corpus_and_a_run(tmp_path_factory, streamlit_url, server_studies):
    clips = tmp_path_factory.mktemp("voices")
    mic = padded(speak(clips / "mic.wav", WORRIED))
    with fake_microphone_page(mic, height=1100, timeout_ms=90_000) as page:
        page.goto(f"{streamlit_url}/Record_a_corpus")
        page.get_by_role("heading", name="Record a corpus").first.wait_for()

        # A new study with two questions and a 10 s stress task.
        page.get_by_role("textbox", name="Study ID").fill(STUDY)
        page.get_by_role("textbox", name="Study name").fill("Browser test")
        page.get_by_role("button", name="Create the study").click()
        page.get_by_text(f"Study {STUDY} created").wait_for()
        page.get_by_role("textbox", name=re.compile("^Questions, one per line")).fill(
            "What worries you this week?\nWhat did you do last weekend?")
        page.get_by_label("Seconds", exact=True).fill("10")
        page.get_by_role("button", name="Save the set-up").click()
        page.get_by_text("Set-up saved").first.wait_for()   # the line and a toast

        # A participant, with consent.
        _radio(page, "Participants")
        page.get_by_role("textbox", name="Participant ID").fill("P01")
        page.get_by_text("The participant has read the consent text and agrees").click()
        page.get_by_role("button", name="Add participant").click()
        page.get_by_text("Participant P01 added with consent.").wait_for()

        # The session: the stress task with its visible timer, then each question recorded and rated.
        _radio(page, "Session")
        page.get_by_text("Begin with the stress task").click()
        page.get_by_role("button", name="Start the session").click()
        page.get_by_text("Count down aloud from 1,022 in steps of 13").wait_for()
        page.get_by_role("button", name="Start the stress task").click()
        timer = page.get_by_test_id("stMetric").filter(has_text="Time left").get_by_test_id("stMetricValue")
        timer.wait_for()
        first = timer.inner_text()
        page.get_by_text("Time is up").wait_for(timeout=30_000)     # the timer counted down in the browser
        assert first in ("0:10", "0:09", "0:08") and timer.inner_text() == "0:00"
        page.get_by_role("button", name="Finish the stress task").click()
        page.get_by_text("Stress task recorded").wait_for()
        for question, (activation, valence) in enumerate(((8, 2), (7, 3)), start=1):
            page.get_by_text(f"Question {question} of 2").wait_for()
            _record(page, RECORD_S)
            page.get_by_text(f"Answer {question} saved.").wait_for()
            _rate(page, "Activation", activation)
            _rate(page, "Valence", valence)
            page.get_by_role("button", name="Save the ratings and continue").click()
            page.get_by_text(f"Ratings of answer {question} saved.").wait_for()
        page.get_by_text("Session s01 is complete").wait_for()

        # Process with Whisper (the default recogniser).
        _radio(page, "Process and review")
        page.get_by_role("button", name="Process the study").click()
        page.get_by_text(re.compile(r"2 answer\(s\) processed, 0 already up to date, 0 skipped")).wait_for()
        assert "Traceback" not in page.content()

    from muser_core.study.process import process_study
    from muser_core.study.store import Study
    from muser_core.study.table import sentences

    study = Study(server_studies / STUDY)
    session = study.session("P01", "s01")
    assert session.finished and session.condition == "stressed" and session.stress_task["duration_s"] >= 10
    assert [(a.activation, a.valence) for a in session.answers.values()] == [(8, 2), (7, 3)]
    assert all(4.0 < a.duration_s < 10.0 for a in session.answers.values())
    table, _, skipped = sentences(study)
    assert not skipped and len(table) == 4, table["text"].tolist()   # two sentences per recorded answer
    assert "worried" in " ".join(table["text"]).lower()

    # Later sessions, recorded the same way through the library: 3 of each condition in all.
    worried, calm = speak(clips / "worried.wav", WORRIED).read_bytes(), speak(clips / "calm.wav", CALM).read_bytes()
    for condition, clip, ratings in (("stressed", worried, (7, 3)), ("stressed", worried, (7, 3)),
                                     ("not stressed", calm, (3, 7)), ("not stressed", calm, (3, 7)),
                                     ("not stressed", calm, (2, 8))):
        s = study.start_session("P01", condition)
        for q in (1, 2):
            study.save_answer("P01", s.session, q, clip)
            study.rate_answer("P01", s.session, q, *ratings)
    from muser_core.audio.transcribe import get_recogniser

    report = process_study(study, get_recogniser())
    assert (report.processed, report.up_to_date, report.skipped) == (10, 2, [])

    out = tmp_path_factory.mktemp("corpus") / "study.csv"
    done = subprocess.run([sys.executable, "-m", "muser_core", "corpus", "--study", str(study.root), "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    corpus = pd.read_csv(out)
    assert len(corpus) == 24                                         # 6 sessions x 2 answers x 2 sentences
    assert corpus.groupby("session")["stress"].first().value_counts().to_dict() == {1: 3, 0: 3}
    assert corpus.groupby("stress").size().to_dict() == {0: 12, 1: 12}
    assert (corpus.loc[corpus["session"] == "P01/s01", ["activation", "valence"]].drop_duplicates()
            .to_numpy().tolist() == [[8, 2], [7, 3]])
    for split in ("train", "validation", "test"):
        assert set(corpus.loc[corpus["split"] == split, "stress"]) == {0, 1}
    assert "by whole sessions" in json.loads(out.with_name("study.csv.meta.json").read_text())["notes"][0]

    run = tmp_path_factory.mktemp("runs") / "study-run"
    started = time.time()
    trained = subprocess.run([sys.executable, "-m", "muser_core", "train", "--corpus", str(out), "--text-mode", "frozen",
                              "--max-epochs", "3", "--strategy", "uniform", "--out", str(run), "--no-progress"],
                             cwd=REPO, capture_output=True, text=True, timeout=600,
                             env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert trained.returncode == 0, trained.stderr[-2000:]
    status = json.loads((run / "status.json").read_text())
    assert status["state"] == "finished" and status["epochs_done"] == 3, status
    test = json.loads((run / "test.json").read_text())
    assert 0.0 <= test["metrics"]["stress"]["accuracy"] <= 1.0
    data = json.loads((run / "data.json").read_text())
    assert data["tasks"]["stress"]["items"] == {"train": 8, "validation": 8, "test": 8}   # 2 sessions each
    print(f"training took {time.time() - started:.0f} s")

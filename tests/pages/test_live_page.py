"""The Live prediction page: AppTest for its logic and for what a real browser shows."""

from __future__ import annotations

import io
import json
import re
import shutil

import numpy as np
import pytest
import soundfile
from conftest import REPO, speak
from streamlit.testing.v1 import AppTest

from muser_core.audio.transcribe import RECOGNISERS
from muser_core.predict.run_model import DEFAULT_CHECKPOINT
from muser_core.predict.samples import real_clips

PAGE = str(REPO / "pages" / "6_Live_prediction.py")


def wav_bytes(signal: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, signal, 16000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def noise_bytes() -> bytes:
    return wav_bytes((np.random.default_rng(0).standard_normal(5 * 16000) * 0.3).astype(np.float32))


def texts(at) -> list[str]:
    """Everything the page wrote as text: markdown, captions, alerts."""
    out = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success"):
        out += [str(e.value) for e in getattr(at, kind)]
    return out


@pytest.fixture
def page(runs_root):
    at = AppTest.from_file(PAGE, default_timeout=240).run()
    assert not at.exception
    return at


def widget(at, kind: str, label: str):
    return next(w for w in getattr(at, kind) if w.label == label)


def test_page_waits_for_a_clip_and_labels_the_demo_model(page):
    assert any("synthetic" in w.value.lower() for w in page.warning)
    assert any("Record, upload or pick a clip" in i.value for i in page.info)
    # No microphone on the server: one line, the other inputs still offered.
    assert any("Server microphone unavailable" in i.value for i in page.info)
    assert widget(page, "selectbox", "Speech recogniser").options == list(RECOGNISERS)


def test_sample_clips_have_readable_names_reference_text_and_true_label(page):
    sample = widget(page, "selectbox", "Sample")
    real = real_clips()[0]
    assert real.title in sample.options
    assert not any(o.endswith(".wav") for o in sample.options)     # no cryptic file names
    sample.set_value(real.title).run()
    assert not page.exception and not page.error
    shown = " ".join(texts(page))
    assert real.text in shown and "True label: none" in shown
    synthetic = next(o for o in sample.options if o.startswith("Synthetic"))
    sample.set_value(synthetic).run()
    assert "True label: stress" in " ".join(texts(page))


def test_sample_clip_gives_a_prediction_with_explanations(page):
    sample = widget(page, "selectbox", "Sample")
    sample.set_value(real_clips()[1].title).run()
    assert not page.exception and not page.error
    labels = {m.label: m.value for m in page.metric}
    assert labels["Prediction"] in ("stressed", "not stressed")
    assert {"Activation", "Valence"} <= set(labels)
    # The number and the feature are not pushed off-screen by the description, which wraps.
    voice = next(t.value for t in page.table if "description" in t.value.columns)
    assert voice.index.name == "z" and list(voice.columns[:2]) == ["toward", "feature"]
    assert voice["feature"].is_unique and voice.columns[-2] == "description"
    assert all(re.fullmatch(r"-?\d+\.\d\d", z) for z in voice.index)  # z to 2 decimals, not 4
    # "not calibrated" is said once, not twice.
    assert sum("not calibrated" in t.lower() for t in texts(page)) == 1
    assert any("whisper" in t and "tiny.en" in t for t in texts(page))   # which recogniser transcribed


def test_one_clip_in_this_sessions_clips(page):
    """One clip gives a table, not an empty chart with the tick 1.000000 and an infinite-extent warning."""
    widget(page, "selectbox", "Sample").set_value(real_clips()[2].title).run()
    history = next(d for d in page.dataframe if "clip" in d.value.columns)
    assert len(history.value) == 1 and history.value["clip"].iloc[0] == real_clips()[2].title
    assert not page.get("arrow_vega_lite_chart")                   # no line chart of a single point


def test_other_inputs_stay_after_a_microphone_recording(page, tmp_path):
    """After a recording, the upload and sample tabs stay drawn."""
    clip = speak(tmp_path / "mic.wav", "I am so worried about the exam tomorrow.")
    widget(page, "audio_input", "Record a clip").set_value(("mic.wav", clip.read_bytes(), "audio/wav"))
    page.run()
    assert not page.exception
    assert any(w.label == "Audio file" for w in page.file_uploader)
    assert any(w.label == "Sample" for w in page.selectbox)
    assert any(m.label == "Prediction" for m in page.metric)


def tab(at, title: str):
    return next(t for t in at.tabs if t.label == title)


def test_each_tab_shows_only_its_own_clips_result(page):
    """A sample's result and reference text do not show under the microphone tabs, nor a too-short upload's
    error under Sample clips. Each tab shows its own clip's result or nothing."""
    real = real_clips()[1]
    widget(page, "selectbox", "Sample").set_value(real.title).run()
    assert not page.exception
    samples = tab(page, "Sample clips")
    assert any(m.label == "Prediction" for m in samples.metric)
    assert any(real.text in m.value for m in samples.markdown)
    for other in ("Browser microphone", "Upload a file", "Server microphone"):
        shown = tab(page, other)
        assert not shown.metric and not any(real.text in m.value for m in shown.markdown), other
    short = wav_bytes((0.3 * np.sin(np.arange(1600) / 5)).astype(np.float32))   # 0.1 s of tone
    widget(page, "file_uploader", "Audio file").set_value(("short.wav", short, "audio/wav"))
    page.run()
    assert not page.exception
    errors = [e.value for e in tab(page, "Upload a file").error]
    assert len(errors) == 1 and "short.wav" in errors[0]
    assert not tab(page, "Sample clips").error and not tab(page, "Sample clips").metric
    # The sample tab says its clip is not the one scored, and scores it again on request.
    assert any("Upload a file tab" in c.value for c in tab(page, "Sample clips").caption)
    next(b for b in tab(page, "Sample clips").button if b.label == "Score this tab's clip").click().run()
    assert not page.exception
    assert any(m.label == "Prediction" for m in tab(page, "Sample clips").metric)
    assert not tab(page, "Upload a file").error


def test_noise_is_flagged_not_speech_with_no_stress_call(page):
    widget(page, "file_uploader", "Audio file").set_value(("noise.wav", noise_bytes(), "audio/wav"))
    page.run()
    assert not page.exception
    flagged = [t for t in texts(page) if "not speech" in t.lower()]
    assert len(flagged) == 1 and "no stress call" in flagged[0]
    assert not any(m.label == "Prediction" for m in page.metric)
    assert not page.get("plotly_chart")                            # no gauge


def test_a_corrected_transcript_updates_its_clips_row_instead_of_adding_a_recording(page):
    widget(page, "selectbox", "Sample").set_value(real_clips()[2].title).run()
    first = next(d for d in page.dataframe if "clip" in d.value.columns).value
    assert list(first["transcript"]) == ["recognised"]
    next(t for t in page.text_area if t.label.startswith("Transcript")).set_value("I am so worried and scared.")
    next(b for b in page.button if "Re-run" in b.label).click().run()
    assert not page.exception
    history = next(d for d in page.dataframe if "clip" in d.value.columns).value
    assert list(history["clip"]) == [real_clips()[2].title] and list(history["transcript"]) == ["corrected by hand"]
    assert "_clip" not in history.columns
    widget(page, "selectbox", "Sample").set_value(real_clips()[1].title).run()   # another clip: a new row
    history = next(d for d in page.dataframe if "clip" in d.value.columns).value
    assert list(history["clip"]) == [real_clips()[2].title, real_clips()[1].title]


def test_no_words_means_no_word_movers(page):
    widget(page, "selectbox", "Sample").set_value(real_clips()[0].title).run()
    form_text = next(t for t in page.text_area if t.label.startswith("Transcript"))
    form_text.set_value("")
    next(b for b in page.button if "Re-run" in b.label).click().run()
    assert not page.exception
    shown = " ".join(texts(page))
    assert "text side is absent" in shown
    assert not any("examples" in d.value.columns for d in page.dataframe)   # no word rows from nothing


def test_baseline_from_uploaded_files(page):
    uploader = widget(page, "file_uploader", "Relaxed clips from files")
    clips = real_clips()
    uploader.set_value([(c.path.name, c.path.read_bytes(), "audio/wav") for c in clips[3:5]])
    page.run()
    next(b for b in page.button if b.label == "Add files as baseline").click().run()
    assert not page.exception
    assert any("2 clip(s)" in e.label for e in page.expander)
    widget(page, "selectbox", "Sample").set_value(clips[0].title).run()
    assert any("Calibrated against your baseline" in t for t in texts(page))


def test_model_picker_lists_only_usable_runs(runs_root):
    good = runs_root / "mine"
    shutil.copytree(DEFAULT_CHECKPOINT, good)
    shutil.copytree(DEFAULT_CHECKPOINT, runs_root / "empty-normaliser")
    (runs_root / "empty-normaliser" / "normaliser.json").write_text("{}")
    (runs_root / "unfinished").mkdir()
    (runs_root / "unfinished" / "config.json").write_text((DEFAULT_CHECKPOINT / "config.json").read_text())
    at = AppTest.from_file(PAGE, default_timeout=240).run()
    model = widget(at, "selectbox", "Model")
    assert len(model.options) == 2 and any("mine" in o for o in model.options)
    model.set_value(next(o for o in model.options if "mine" in o)).run()
    assert not at.exception and not at.error
    # The run copy learnt from the synthetic demo corpus too: it says so, like the default model.
    assert any("synthetic" in w.value.lower() for w in at.warning)
    config = json.loads((good / "config.json").read_text())
    assert config["data"]["corpus"] == "demo"


@pytest.mark.browser
@pytest.mark.slow
def test_record_in_a_real_browser(tmp_path_factory, streamlit_url):
    """Chromium's fake microphone plays an espeak-ng clip into st.audio_input; the other tabs stay."""
    from conftest import fake_microphone_page

    clip = speak(tmp_path_factory.mktemp("mic") / "clip.wav",
                 "I am so worried about the exam tomorrow, I could not sleep at all.")
    with fake_microphone_page(clip) as page:
        page.goto(f"{streamlit_url}/Live_prediction")
        page.get_by_text("Record, upload or pick a clip").wait_for()
        recorder = page.get_by_test_id("stAudioInput").filter(has_text="Record a clip")
        recorder.get_by_role("button", name="Record").click()
        page.wait_for_timeout(4000)
        recorder.get_by_role("button", name="Stop recording").click()
        page.get_by_text("Probability of stress").wait_for()
        page.get_by_text("Time per step (ms)").wait_for()
        assert "Traceback" not in page.content()
        # The other source tabs still hold their inputs after the recording.
        page.get_by_role("tab", name="Upload a file").click()
        page.get_by_test_id("stFileUploader").first.wait_for(state="visible")
        page.get_by_role("tab", name="Sample clips").click()
        page.get_by_text("Sample", exact=True).first.wait_for(state="visible")


@pytest.mark.browser
@pytest.mark.slow
def test_a_corrected_transcript_stays_with_its_clip_in_a_real_browser(tmp_path_factory, streamlit_url):
    """A correction made for one recording is not reused for a later one (all are called "browser
    recording"), which would skip Whisper while the caption said it transcribed. A new clip is transcribed
    afresh."""
    from conftest import fake_microphone_page

    clip = speak(tmp_path_factory.mktemp("mic") / "clip.wav",
                 "I am so worried about the exam tomorrow, I could not sleep at all.")
    correction = "Banana pancakes are delicious on Sunday."
    with fake_microphone_page(clip) as page:
        page.goto(f"{streamlit_url}/Live_prediction")
        page.get_by_text("Record, upload or pick a clip").wait_for()
        recorder = page.get_by_test_id("stAudioInput").filter(has_text="Record a clip")

        def record(seconds: float) -> None:
            recorder.get_by_role("button", name="Record").click()
            page.wait_for_timeout(int(seconds * 1000))
            recorder.get_by_role("button", name="Stop recording").click()
            page.get_by_text("Time per step (ms)").wait_for()

        record(4)
        box = page.get_by_label("Transcript (correct it and re-run)")
        box.fill(correction)
        page.get_by_role("button", name="Re-run with this transcript").click()
        page.get_by_text("Transcript corrected by hand").wait_for()
        assert box.input_value() == correction
        # A new recording (other bytes: another length) is transcribed again, and says so.
        recorder.get_by_role("button", name="Clear recording").click()
        record(5)
        page.get_by_text("Transcribed offline by whisper").wait_for()
        box = page.get_by_label("Transcript (correct it and re-run)")
        assert box.input_value() != correction and "worried" in box.input_value().lower()
        assert "Traceback" not in page.content()


def test_a_personal_model_is_in_the_picker_with_its_measured_accuracy(runs_root, studies):
    """A personal model trained on a study: listed with its accuracy, its card shown before any clip, stress only."""
    from conftest import TwoSentences, small_study

    from muser_core.study.personal_model import train_personal_model
    from muser_core.study.process import process_study

    study = small_study(studies, sessions_per_condition=2)
    process_study(study, TwoSentences())
    model, _ = train_personal_model(study, "P01")
    at = AppTest.from_file(PAGE, default_timeout=240).run()
    picker = widget(at, "selectbox", "Model")
    label = next(o for o in picker.options if o.startswith("personal: exam/P01"))
    assert label == f"personal: exam/P01 ({model.cv.accuracy:.0%})"   # short: the sidebar is narrow
    picker.set_value(label).run()
    assert f"{model.cv.accuracy:.0%} on held-out sessions (4 sessions)" in " ".join(c.value for c in at.sidebar.caption)
    assert not at.exception and not at.error
    assert not any("synthetic" in w.value.lower() for w in at.warning)
    shown = " ".join(texts(at))
    assert f"{model.cv.accuracy:.1%}" in shown and "leave-one-session-out" in shown   # before any clip
    assert "No relaxed baseline needed" in shown and not any("Calibration" in e.label for e in at.expander)
    widget(at, "selectbox", "Sample").set_value(real_clips()[1].title).run()
    assert not at.exception and not at.error
    labels = {m.label: m.value for m in at.metric}
    assert labels["Prediction"] in ("stressed", "not stressed") and "Activation" not in labels
    assert not any("not calibrated" in t.lower() for t in texts(at))
    assert any("P01's own recordings" in t for t in texts(at))

"""The Segment page: an uploaded real reading becomes a table of sentences with a player per clip."""

from __future__ import annotations

import io
import zipfile

import soundfile
from conftest import REPO
from streamlit.testing.v1 import AppTest

from muser_core.predict.samples import long_reading

PAGE = str(REPO / "pages" / "7_Segment.py")


def test_upload_is_cut_into_sentences():
    at = AppTest.from_file(PAGE, default_timeout=240).run()
    assert not at.exception
    assert any("Upload a recording" in i.value for i in at.info)
    signal, spans = long_reading()
    buffer = io.BytesIO()
    soundfile.write(buffer, signal, 16000, format="WAV", subtype="PCM_16")
    at.file_uploader[0].set_value(("reading.wav", buffer.getvalue(), "audio/wav"))
    next(s for s in at.selectbox if s.label.startswith("Stress label")).set_value("not stressed")
    at.run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert len(table) >= len(spans) - 1 and (table["seconds"] >= 0.5).all()
    assert "Dashwood" in table["text"].iloc[0]
    assert len(at.get("audio")) == len(table)              # one player per clip
    assert any(f"{len(table)} sentences" in s.value for s in at.success)


def test_the_download_holds_clips_and_a_manifest():
    from ui.segment import cached_segments

    signal, _ = long_reading()
    buffer = io.BytesIO()
    soundfile.write(buffer, signal, 16000, format="WAV", subtype="PCM_16")
    table, archive = cached_segments(buffer.getvalue(), "reading.wav", "ss01", "whisper", (("stress", "0"),))
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert "segments/manifest.csv" in names and "segments/segment.json" in names
    assert sum(n.startswith("segments/clips/") for n in names) == len(table)
    assert set(table["stress"]) == {"0"}


def test_a_new_speaker_id_does_not_transcribe_the_file_again(monkeypatch):
    """Changing the speaker id does not re-transcribe the whole file (20 s): the transcription is kept per
    file and recogniser, and the clips are written again under the new id."""
    from conftest import TwoSentences, speech_wav_bytes

    heard = []

    class Counting(TwoSentences):
        def recognise(self, signal, sample_rate=16000):
            heard.append(len(signal))
            return super().recognise(signal, sample_rate)

    monkeypatch.setattr("ui.segment.get_recogniser", lambda name, model=None: Counting())
    at = AppTest.from_file(PAGE, default_timeout=240).run()
    at.file_uploader[0].set_value(("answer.wav", speech_wav_bytes(4.0, seed=3), "audio/wav")).run()
    assert not at.exception and not at.error and len(heard) == 1
    first = at.dataframe[0].value["utterance_id"].tolist()
    at.text_input(key="segment-speaker").set_value("ss07").run()
    assert not at.exception and not at.error
    assert len(heard) == 1                                   # not transcribed again
    again = at.dataframe[0].value["utterance_id"].tolist()
    assert len(again) == len(first) and all(u.startswith("ss07") for u in again) and again != first


def test_a_bad_speaker_id_is_one_line_without_command_line_flags():
    at = AppTest.from_file(PAGE, default_timeout=240).run()
    at.text_input(key="segment-speaker").set_value("  ").run()
    signal, _ = long_reading()
    buffer = io.BytesIO()
    soundfile.write(buffer, signal[: 16000 * 3], 16000, format="WAV", subtype="PCM_16")
    at.file_uploader[0].set_value(("short.wav", buffer.getvalue(), "audio/wav")).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["speaker id '  ': needs at least one letter or digit"]

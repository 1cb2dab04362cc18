"""Live prediction: each pipeline step, each bad input, and the shipped demo checkpoint end to end."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile
from conftest import speak, voiced_signal

from muser_core.audio.transcribe import get_recogniser
from muser_core.base.errors import InputError
from muser_core.features.acoustic import EGEMAPS_FEATURES, egemaps_from_signal
from muser_core.predict.clip import MAX_SECONDS, make_baseline, prepare_clip
from muser_core.predict.run_model import (
    DEFAULT_CHECKPOINT,
    LivePredictor,
    check_run_folder,
    trained_on_synthetic,
    usable_checkpoints,
)
from muser_core.predict.samples import real_clips


def test_prepare_trims_silence_and_extracts(tmp_path):
    speech = voiced_signal(2.0)
    padded = np.concatenate([np.zeros(16000, np.float32), speech, np.zeros(16000, np.float32)])
    path = tmp_path / "padded.wav"
    soundfile.write(path, padded, 16000)
    clip = prepare_clip(path)
    assert len(clip.signal) == pytest.approx(len(speech), abs=800)
    np.testing.assert_allclose(clip.features.to_numpy(), egemaps_from_signal(clip.signal))
    assert list(clip.features.index) == EGEMAPS_FEATURES
    assert {"decode", "trim", "features"} <= set(clip.timings_ms)


def test_too_short_after_trimming(tmp_path):
    path = tmp_path / "short.wav"
    soundfile.write(path, np.concatenate([np.zeros(8000, np.float32), voiced_signal(0.3)]), 16000)
    with pytest.raises(InputError, match=r"only 0\.\d+ s of sound .*at least 0.5 s"):
        prepare_clip(path)


def test_over_60_seconds_is_cut_and_said():
    long = np.tile(voiced_signal(2.0), 32)  # 64 s
    clip = prepare_clip(long, "long take")
    assert len(clip.signal) == MAX_SECONDS * 16000
    assert any("only its first 60 s" in w for w in clip.warnings)


def test_clipping_is_warned():
    loud = np.clip(voiced_signal(2.0) * 8, -1, 1)
    assert any("clipped" in w for w in prepare_clip(loud, "loud").warnings)
    assert not prepare_clip(voiced_signal(2.0), "ok").warnings


@pytest.mark.parametrize("content,message", [
    (b"", "empty"), (b"<html>not audio</html>" * 20, "not a readable audio file")])
def test_bad_bytes(content, message):
    with pytest.raises(InputError, match=message):
        prepare_clip(content, "upload.wav")


def test_silence():
    with pytest.raises(InputError, match="silent"):
        prepare_clip(np.zeros(32000, np.float32), "recording")


needs_checkpoint = pytest.mark.skipif(not (DEFAULT_CHECKPOINT / "config.json").exists(),
                                      reason="demo checkpoint not built")


@pytest.fixture(scope="module")
def predictor():
    return LivePredictor()


@pytest.fixture(scope="module")
def real_paths():
    """Five sentences of a real human reading (LibriVox, public domain)."""
    return [c.path for c in real_clips()]


@needs_checkpoint
def test_demo_checkpoint_predicts_on_speech(tmp_path, predictor):
    clip = prepare_clip(speak(tmp_path / "s.wav", "I am really worried about the exam tomorrow, um, I slept badly."))
    result = predictor.predict(clip)
    assert 0.0 <= result.stress_probability <= 1.0
    assert result.stressed == (result.stress_probability >= 0.5)
    assert 0 < result.activation < 10 and 0 < result.valence < 10
    assert {"decode", "trim", "features", "transcript", "model", "total"} <= set(result.timings_ms)
    assert not result.calibrated and any("not calibrated" in w for w in result.warnings)
    assert result.scored and result.not_speech is None and not result.text_absent
    # A given transcript replaces recognition and changes the text side's input.
    other = predictor.predict(clip, "we had a wonderful relaxed holiday at the beach")
    assert other.transcript == "we had a wonderful relaxed holiday at the beach"
    assert "transcript" not in other.timings_ms
    assert other.stress_probability != result.stress_probability


@needs_checkpoint
def test_recognition_overlapped_with_feature_extraction_gives_the_same_result(predictor, real_paths):
    """Predictor.prepare starts the recogniser while openSMILE works; nothing but the timing may change."""
    overlapped = predictor.predict(predictor.prepare(real_paths[0]))
    sequential = predictor.predict(prepare_clip(real_paths[0]))
    assert overlapped.transcript == sequential.transcript and overlapped.transcript
    assert overlapped.stress_probability == sequential.stress_probability
    assert overlapped.timings_ms["total"] == pytest.approx(sum(v for k, v in overlapped.timings_ms.items()
                                                               if k != "total"))
    assert predictor.prepare(real_paths[0], transcribe=False).pending_transcript is None


@needs_checkpoint
def test_calibration_normalises_against_the_baseline(predictor, real_paths):
    base = prepare_clip(real_paths[1])
    clip = prepare_clip(real_paths[4])
    baseline = make_baseline([base])
    z = predictor.zscores(clip.features, baseline)
    # independent computation: (x - baseline mean) / median within-speaker std of the training corpus
    stats = predictor.stats["acoustic"]
    spread = np.median(np.array([s["std"] for s in stats["speakers"].values()]), axis=0)
    expected = (clip.features[stats["features"]].to_numpy() - base.features[stats["features"]].to_numpy()) / spread
    np.testing.assert_allclose(z.to_numpy(), expected, rtol=1e-9, atol=1e-9)
    result = predictor.predict(clip, "hello", baseline)
    assert result.calibrated and not any("not calibrated" in w for w in result.warnings)
    uncalibrated = predictor.predict(clip, "hello")
    assert result.stress_probability != uncalibrated.stress_probability


@needs_checkpoint
def test_command_line_prints_one_json_object(tmp_path, real_paths):
    proc = subprocess.run([sys.executable, "-m", "muser_core", "predict", "--audio", str(real_paths[0]),
                           "--transcript", "I am fine", "--baseline", str(real_paths[1]),
                           "--recogniser", "pocketsphinx"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {"stress_probability", "stressed", "activation", "valence", "transcript", "timings_ms"} <= set(out)
    assert out["transcript"] == "I am fine" and out["calibrated"] is True
    assert out["speech"] is True and out["not_speech"] is None and out["synthetic_model"] is True
    assert out["recogniser"]["recogniser"] == "pocketsphinx"
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"garbage" * 30)
    proc = subprocess.run([sys.executable, "-m", "muser_core", "predict", "--audio", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "not a readable audio file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_wrong_checkpoint_folder(tmp_path):
    with pytest.raises(InputError, match="not a run folder"):
        LivePredictor(tmp_path)


# --------------------------------------------------------------------------- knowing its limits


def _white_noise(seconds: float = 5.0) -> np.ndarray:
    return (np.random.default_rng(0).standard_normal(int(seconds * 16000)) * 0.3).astype(np.float32)


def _chords(seconds: float = 5.0) -> np.ndarray:
    """Organ-like chords: music with a pitch, which eGeMAPS finds 'voiced'."""
    t = np.arange(int(seconds * 16000)) / 16000
    notes = [261.6, 329.6, 392.0, 440.0, 349.2, 293.7]
    part = len(t) // len(notes)
    signal = np.concatenate([sum(np.sin(2 * np.pi * f * h * t[:part]) / h for h in (1, 2, 3)) for f in notes])
    return (0.2 * signal).astype(np.float32)


def _clicks(seconds: float = 5.0) -> np.ndarray:
    signal = np.random.default_rng(1).standard_normal(int(seconds * 16000)).astype(np.float32) * 1e-3
    signal[::4000] = 0.9
    return signal


@needs_checkpoint
@pytest.mark.parametrize("make", [_white_noise, _chords, _clicks], ids=["noise", "music", "clicks"])
def test_not_speech_gets_no_stress_call(predictor, make):
    """5 s of white noise is 'not speech' with no stress call, not 'stressed 1.0' with valence -2.3 on 1..9."""
    clip = prepare_clip(make(), "not speech")
    assert clip.speech is not None and not clip.speech.is_speech
    result = predictor.predict(clip)
    assert result.not_speech.startswith("not speech: ") and "no stress call" in result.not_speech
    assert "\n" not in result.not_speech
    assert result.stress_probability is None and result.stressed is None
    assert result.activation is None and result.valence is None
    assert "transcript" not in result.timings_ms and "model" not in result.timings_ms
    out = result.to_json()
    assert out["speech"] is False and out["stress_probability"] is None


@needs_checkpoint
def test_not_speech_on_the_command_line(tmp_path):
    noise = tmp_path / "noise.wav"
    soundfile.write(noise, _white_noise(), 16000)
    proc = subprocess.run([sys.executable, "-m", "muser_core", "predict", "--audio", str(noise)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["speech"] is False and out["stressed"] is None
    assert out["not_speech"].startswith("not speech: voice activity detection")


def test_speech_is_taken_for_speech(real_paths, tmp_path):
    for path in real_paths:
        assert prepare_clip(path).speech.is_speech, path
    spoken = prepare_clip(speak(tmp_path / "s.wav", "I am worried about the exam tomorrow."))
    assert spoken.speech.is_speech


def test_a_baseline_that_is_not_speech_is_refused(real_paths):
    with pytest.raises(InputError, match="relaxed.wav: not speech"):
        make_baseline([prepare_clip(real_paths[0]), prepare_clip(_white_noise(), "relaxed.wav")],
                      names=["one.wav", "relaxed.wav"])


@needs_checkpoint
def test_no_words_means_the_text_side_is_absent(predictor, real_paths):
    result = predictor.predict(prepare_clip(real_paths[0]), transcript="  ")
    assert result.text_absent and result.to_json()["text"] == "absent (no words recognised)"
    assert any("text side is absent" in w for w in result.warnings)
    assert result.stress_probability is not None   # the voice still speaks


@needs_checkpoint
def test_same_clip_same_prediction(predictor, real_paths):
    first = predictor.predict(prepare_clip(real_paths[2]))
    predictor.predict(prepare_clip(real_paths[3]))
    again = predictor.predict(prepare_clip(real_paths[2]))
    assert (first.transcript, first.stress_probability, first.activation) == \
        (again.transcript, again.stress_probability, again.activation)
    assert first.recogniser["recogniser"] == "whisper" and first.recogniser["sha256"]


def _copy_run(tmp_path, name="run"):
    folder = tmp_path / name
    shutil.copytree(DEFAULT_CHECKPOINT, folder)
    return folder


@needs_checkpoint
def test_emotions_outside_the_label_scale_are_clipped_and_said(tmp_path, real_paths):
    folder = _copy_run(tmp_path)
    stats = json.loads((folder / "normaliser.json").read_text())
    stats["targets"]["ext_activation"]["scale"] = [1.0, 2.0]    # EmoBank's activation head predicts about 3
    (folder / "normaliser.json").write_text(json.dumps(stats))
    narrow = LivePredictor(folder, get_recogniser("pocketsphinx"))
    clip = prepare_clip(real_paths[0])
    result = narrow.predict(clip, "hello there")
    raw = narrow.model_outputs("hello there", narrow.zscores(clip.features, None))["ext_activation"]   # the head itself
    assert raw > 2.0
    assert result.activation == 2.0
    assert any(w.startswith(f"activation came out at {raw:.2f}, outside the model's label scale 1..2")
               for w in result.warnings)
    assert not any(w.startswith("valence came out") for w in result.warnings)   # 1..5 untouched


@needs_checkpoint
def test_the_live_models_emotion_comes_from_real_ratings_of_the_words(predictor, real_paths):
    """The shipped model learnt activation and valence from EmoBank (its text side): a frightened
    sentence gets a lower valence than a calm, pleasant one, on EmoBank's 1..5 scale, whatever the voice."""
    clip = prepare_clip(real_paths[0])
    afraid = predictor.predict(clip, "I am terrified I will fail this exam")
    calm = predictor.predict(clip, "what a lovely calm afternoon")
    assert afraid.valence < calm.valence
    assert predictor.label_scales["valence"] == (1.0, 5.0) and 1 <= afraid.valence <= 5
    other_voice = predictor.predict(prepare_clip(real_paths[3]), "I am terrified I will fail this exam")
    assert other_voice.valence == pytest.approx(afraid.valence, abs=1e-5)   # the text side only
    card = predictor.card()
    assert "EmoBank" in card and "synthetic demo corpus" in card


def test_synthetic_models_are_recognised(tmp_path):
    def run(corpus, data=None):
        folder = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps({"data": {"corpus": corpus, "external": ""}, "model": {}}))
        if data is not None:
            (folder / "data.json").write_text(json.dumps(data))
        return folder

    assert trained_on_synthetic(DEFAULT_CHECKPOINT)
    assert trained_on_synthetic(run("demo"))
    assert not trained_on_synthetic(run("/data/muse.csv", {"tasks": {}}))
    assert trained_on_synthetic(run("/data/muse.csv", {"synthetic": True, "tasks": {}}))
    table = tmp_path / "demo_copy.csv"
    table.write_text("utterance_id\n")
    (tmp_path / "demo_copy.csv.meta.json").write_text(json.dumps({"synthetic": True}))
    assert trained_on_synthetic(run(str(table)))


@needs_checkpoint
def test_empty_normaliser_is_one_clear_line(tmp_path, real_paths):
    """A checkpoint whose normaliser.json is {} is one line naming the file, not a KeyError traceback."""
    folder = _copy_run(tmp_path)
    (folder / "normaliser.json").write_text("{}")
    with pytest.raises(InputError, match="normaliser.json: holds no normalisation statistics"):
        LivePredictor(folder)
    proc = subprocess.run([sys.executable, "-m", "muser_core", "predict", "--audio", str(real_paths[0]),
                           "--checkpoint", str(folder)], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "normaliser.json" in proc.stderr


@needs_checkpoint
def test_only_usable_checkpoints_are_listed(tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    _copy_run(root, "good")
    (root / "sweep").mkdir()
    _copy_run(root / "sweep", "seed0")                                  # a sweep's run, one level down
    (_copy_run(root, "no-checkpoint") / "checkpoint.safetensors").unlink()
    (_copy_run(root, "empty-normaliser") / "normaliser.json").write_text("{}")
    (_copy_run(root, "broken-weights") / "checkpoint.safetensors").write_bytes(b"\x00" * 16)
    (_copy_run(root, "no-acoustic") / "normaliser.json").write_text(json.dumps({"targets": {}}))
    assert list(usable_checkpoints(root)) == ["good", "sweep/seed0"]
    with pytest.raises(InputError, match="broken-weights/checkpoint.safetensors: not a readable safetensors"):
        check_run_folder(root / "broken-weights")
    with pytest.raises(InputError, match="no acoustic statistics"):
        check_run_folder(root / "no-acoustic")
    assert usable_checkpoints(tmp_path / "nothing-here") == {}

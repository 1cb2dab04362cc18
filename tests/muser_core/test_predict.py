"""Live prediction: each pipeline step, each bad input, and the shipped demo checkpoint end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile
from conftest import speak, voiced_signal, write_wav

from muser_core.acoustic_features import EGEMAPS_FEATURES, egemaps_from_signal
from muser_core.errors import InputError
from muser_core.predict import (
    DEFAULT_CHECKPOINT,
    MAX_SECONDS,
    LivePredictor,
    make_baseline,
    prepare_clip,
)


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


@needs_checkpoint
def test_demo_checkpoint_predicts_on_speech(tmp_path, predictor):
    clip = prepare_clip(speak(tmp_path / "s.wav", "I am really worried about the exam tomorrow, um, I slept badly."))
    result = predictor.predict(clip)
    assert 0.0 <= result.stress_probability <= 1.0
    assert result.stressed == (result.stress_probability >= 0.5)
    assert 0 < result.activation < 10 and 0 < result.valence < 10
    assert {"decode", "trim", "features", "transcript", "model", "total"} <= set(result.timings_ms)
    assert not result.calibrated and any("no baseline" in w for w in result.warnings)
    # A given transcript replaces recognition and changes the text side's input.
    other = predictor.predict(clip, "we had a wonderful relaxed holiday at the beach")
    assert other.transcript == "we had a wonderful relaxed holiday at the beach"
    assert "transcript" not in other.timings_ms
    assert other.stress_probability != result.stress_probability


@needs_checkpoint
def test_calibration_normalises_against_the_baseline(tmp_path, predictor):
    base = prepare_clip(write_wav(tmp_path / "b.wav", seconds=2.0, f0=120))
    clip = prepare_clip(write_wav(tmp_path / "c.wav", seconds=2.0, f0=170, seed=3))
    baseline = make_baseline([base])
    z = predictor.zscores(clip.features, baseline)
    # independent computation: (x - baseline mean) / median within-speaker std of the training corpus
    stats = predictor.stats["acoustic"]
    spread = np.median(np.array([s["std"] for s in stats["speakers"].values()]), axis=0)
    expected = (clip.features[stats["features"]].to_numpy() - base.features[stats["features"]].to_numpy()) / spread
    np.testing.assert_allclose(z.to_numpy(), expected, rtol=1e-9, atol=1e-9)
    result = predictor.predict(clip, "hello", baseline)
    assert result.calibrated and not any("no baseline" in w for w in result.warnings)
    uncalibrated = predictor.predict(clip, "hello")
    assert result.stress_probability != uncalibrated.stress_probability


@needs_checkpoint
def test_command_line_prints_one_json_object(tmp_path):
    clip = write_wav(tmp_path / "c.wav", seconds=2.0)
    base = write_wav(tmp_path / "b.wav", seconds=2.0, f0=110)
    proc = subprocess.run([sys.executable, "-m", "muser_core.predict", "--audio", str(clip),
                           "--transcript", "I am fine", "--baseline", str(base)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {"stress_probability", "stressed", "activation", "valence", "transcript", "timings_ms"} <= set(out)
    assert out["transcript"] == "I am fine" and out["calibrated"] is True
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"garbage" * 30)
    proc = subprocess.run([sys.executable, "-m", "muser_core.predict", "--audio", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "not a readable audio file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_wrong_checkpoint_folder(tmp_path):
    with pytest.raises(InputError, match="not a run folder"):
        LivePredictor(tmp_path)

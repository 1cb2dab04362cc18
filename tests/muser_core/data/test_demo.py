"""The embedded SYNTHETIC demo corpus: its shape as shipped, and that its generator is seeded."""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile

from muser_core.audio.decode import TARGET_SR, load_audio
from muser_core.base.errors import InputError
from muser_core.data.corpus import CANONICAL_COLUMNS, SPLITS
from muser_core.data.demo import (
    DEMO_CLIPS_DIR,
    demo_clips,
    demo_meta,
    load_demo,
    load_demo_external,
)
from muser_core.data.splits import PAPER_SPLIT_SIZES
from muser_core.features.acoustic import EGEMAPS_FEATURES, egemaps_from_file

SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"


@pytest.fixture(scope="module")
def demo():
    return load_demo()


@pytest.fixture(scope="module")
def external():
    return load_demo_external()


def test_demo_is_labelled_synthetic(demo, external):
    assert demo.synthetic and external.synthetic
    assert demo.name == "demo" and external.name == "demo-external"
    assert any("SYNTHETIC" in n for n in demo.notes)
    assert "SYNTHETIC" in demo.summary()
    assert demo_meta()["synthetic"] is True
    card = (DEMO_CLIPS_DIR.parent / "README.md").read_text()
    assert "SYNTHETIC" in card.splitlines()[0]


def test_demo_has_muse_shape(demo):
    t = demo.table
    assert list(t.columns[:len(CANONICAL_COLUMNS)]) == CANONICAL_COLUMNS
    assert (t["dataset"] == "demo").all()
    assert t["speaker"].nunique() == 28
    genders = t.groupby("speaker")["gender"].first().value_counts()
    assert genders.to_dict() == {"M": 19, "F": 9}
    sessions = t.groupby("speaker")["session"].nunique()
    assert (sessions == 2).all()
    assert (t.groupby("speaker")["stress"].nunique() == 2).all()
    questions = t.groupby("session")["question"].nunique()
    assert (questions == 5).all() and len(questions) == 56
    assert len(t) == sum(PAPER_SPLIT_SIZES)
    assert t["utterance_id"].is_unique
    assert (t["text"].str.len() > 0).all()


def test_labels_are_monologue_self_reports_on_1_to_9(demo):
    t = demo.table
    assert demo.label_scales == {"activation": (1.0, 9.0), "valence": (1.0, 9.0)}
    assert set(t["stress"].unique()) == {0.0, 1.0}
    for col in ("activation", "valence"):
        assert t[col].between(1, 9).all()
        assert (t[col] == t[col].round()).all()
    # One self-report per monologue: every sentence of a monologue has the same labels.
    per_monologue = t.groupby(["session", "question"])[["stress", "activation", "valence"]].nunique()
    assert (per_monologue == 1).all().all()
    # Stress matches the session name.
    assert ((t["session"].str.endswith("-S")) == (t["stress"] == 1)).all()


def test_paper_split_has_the_paper_sizes(demo):
    counts = load_demo(split="paper").table["split"].value_counts()
    assert tuple(int(counts[s]) for s in SPLITS) == PAPER_SPLIT_SIZES
    assert (demo.table["split_paper"].value_counts()[list(SPLITS)].to_numpy() == PAPER_SPLIT_SIZES).all()


def test_speaker_split_keeps_speakers_apart(demo):
    t = demo.table
    assert (t["split"] == t["split_speaker"]).all()
    assert set(t["split"]) == set(SPLITS)
    assert (t.groupby("speaker")["split"].nunique() == 1).all()
    # Roughly the paper's shares, within a speaker's worth of sentences.
    share = t["split"].value_counts(normalize=True)
    assert share["train"] > 0.7 and share["test"] > 0.05 and share["validation"] > 0.04


def test_unknown_split_is_an_input_error():
    with pytest.raises(InputError, match="unknown split"):
        load_demo(split="random")


def test_features_are_the_88_egemaps_without_gaps(demo, external):
    for corpus in (demo, external):
        features = corpus.table[EGEMAPS_FEATURES]
        assert features.shape[1] == 88
        assert np.isfinite(features.to_numpy(float)).all()
        # Not constant: every feature varies across the corpus.
        assert (features.std() > 0).sum() >= 85


def test_external_set_is_omg_shaped(external):
    t = external.table
    assert 1400 <= len(t) <= 1600
    assert external.label_scales == {"activation": (0.0, 1.0), "valence": (0.0, 1.0)}
    assert t["stress"].isna().all()
    assert t["activation"].between(0, 1).all() and t["valence"].between(0, 1).all()
    assert set(t["split"]) == set(SPLITS)
    assert (t.groupby("speaker")["split"].nunique() == 1).all()  # whole videos per split
    assert (t["text"].str.split().str.len() >= 5).all()          # the paper drops shorter ones
    assert (t["dataset"] == "demo-external").all()
    # Other voices than the MuSE-shaped speakers.
    assert not set(t["speaker"]) & set(load_demo().table["speaker"])


def test_clips_are_readable_wavs_of_both_sessions(demo):
    clips = demo_clips()
    assert 24 <= len(clips) <= 60
    with_audio = demo.table[demo.table["audio_path"] != ""]
    assert sorted(Path(p) for p in with_audio["audio_path"]) == clips
    assert with_audio["speaker"].nunique() >= 4
    assert set(with_audio["stress"]) == {0.0, 1.0}
    assert (with_audio["split"] == "test").any()  # unseen speakers for live prediction
    for clip in clips:
        info = soundfile.info(clip)
        assert info.format == "WAV" and info.samplerate == TARGET_SR and info.channels == 1
        assert 1.0 < info.duration < 10.0
    signal = load_audio(clips[0])
    assert signal.dtype == np.float32 and signal.size > TARGET_SR


def test_shipped_features_are_those_of_the_clip(demo):
    row = demo.table[demo.table["audio_path"] != ""].iloc[0]
    fresh = egemaps_from_file(row["audio_path"])
    np.testing.assert_allclose(fresh, row[EGEMAPS_FEATURES].to_numpy(float), rtol=1e-4, atol=1e-5)


def test_demo_data_stays_light():
    folder = DEMO_CLIPS_DIR.parent
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert total < 25e6


# --------------------------------------------------------------------------- the generator

def _generator():
    """scripts/make_demo_corpus.py as a module (scripts/ is not a package)."""
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    return importlib.import_module("make_demo_corpus")


def test_plan_is_seeded():
    gen = _generator()
    a, speakers_a = gen.make_corpus_plan(3, 60, seed=11)
    b, speakers_b = gen.make_corpus_plan(3, 60, seed=11)
    c, _ = gen.make_corpus_plan(3, 60, seed=12)
    pd.testing.assert_frame_equal(a, b)
    assert speakers_a == speakers_b
    assert list(a["text"]) != list(c["text"])
    assert len(a) == 60 and a.groupby("speaker")["session"].nunique().eq(2).all()
    ext_a, ext_b = gen.make_external_plan(20, seed=11), gen.make_external_plan(20, seed=11)
    pd.testing.assert_frame_equal(ext_a, ext_b)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_tiny_build_is_reproducible(tmp_path, demo):
    gen = _generator()
    args = ["--speakers", "2", "--sentences", "40", "--external", "12", "--clips", "4",
            "--workers", "1", "--seed", "3", "--no-card"]
    assert gen.main(args + ["--out", str(tmp_path / "a")]) == 0
    assert gen.main(args + ["--out", str(tmp_path / "b")]) == 0
    read = {"dtype": {"speaker": str}, "keep_default_na": False, "na_values": [""]}
    a = pd.read_csv(tmp_path / "a" / "corpus.csv.gz", **read)
    b = pd.read_csv(tmp_path / "b" / "corpus.csv.gz", **read)
    pd.testing.assert_frame_equal(a, b)
    # Same columns as the shipped table, 40 sentences of 2 speakers x 2 sessions x 5 questions.
    shipped = pd.read_csv(DEMO_CLIPS_DIR.parent / "corpus.csv.gz", nrows=1)
    assert list(a.columns) == list(shipped.columns)
    assert len(a) == 40 and a["speaker"].nunique() == 2
    assert a.groupby("session")["question"].nunique().eq(5).all()
    # The audio itself is reproducible, byte for byte.
    clips_a = sorted((tmp_path / "a" / "clips").glob("*.wav"))
    assert len(clips_a) == 4
    for clip in clips_a:
        assert clip.read_bytes() == (tmp_path / "b" / "clips" / clip.name).read_bytes()

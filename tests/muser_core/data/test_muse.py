"""MuSE: the distributed layout read into the canonical table, on a small copy built by a fixture."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from muser_core.base.errors import InputError
from muser_core.data.corpus import CANONICAL_COLUMNS
from muser_core.data.muse import load_muse


def test_muse_reads_the_distributed_layout(muse_root):
    corpus = load_muse(muse_root)
    t = corpus.table
    assert list(t.columns[:len(CANONICAL_COLUMNS)]) == CANONICAL_COLUMNS
    assert len(t) == 23  # 24 sentences, one without transcript
    assert [s.reason for s in corpus.skipped] == ["no transcript file"]
    assert set(t["speaker"]) == {"01", "02", "03", "04"}
    # Type S/NS is the stress label; audio found in both not-stressed folders.
    assert (t.loc[t["utterance_id"].str.contains("_S_"), "stress"] == 1).all()
    assert (t.loc[t["utterance_id"].str.contains("_NS_"), "stress"] == 0).all()
    assert (t["audio_path"] != "").all()
    assert t.loc[t["utterance_id"] == "04_NS_q0", "audio_path"].item().endswith(
        "Non Stressed Question Monologue Audio 2/04_NS_q0.wav")
    # Self-report is the default emotion label; an empty self-report stays missing.
    assert t.loc[t["utterance_id"] == "01_S_q1", "activation"].item() == 6
    assert np.isnan(t.loc[t["utterance_id"] == "02_S_q0", "activation"].item())
    assert corpus.label_scales["activation"] == (1.0, 9.0)
    assert set(t["gender"]) == {"F", "M"} and "question" in t and "session" in t


def test_muse_crowd_labels_and_long_survey_folder(muse_root):
    (muse_root / "SurveyInformation").rename(muse_root / "Survey Information (Questions, Data etc)")
    t = load_muse(muse_root, emotion_label="crowd").table
    assert (t["activation"] == 5.5).all() and (t["valence"] == 4.5).all()
    t = load_muse(muse_root, emotion_label="crowd_context").table
    assert (t["activation"] == 5.8).all()


def test_muse_wrong_root_names_the_folder(tmp_path):
    with pytest.raises(InputError, match="not a MuSE copy"):
        load_muse(tmp_path)
    with pytest.raises(InputError, match="not found"):
        load_muse(tmp_path / "nope")


def test_muse_missing_column_names_it(muse_root):
    csv = next((muse_root / "SurveyInformation").glob("*.csv"))
    table = pd.read_csv(csv).drop(columns=["S_Valence"])
    table.to_csv(csv, index=False)
    with pytest.raises(InputError, match="column 'S_Valence'"):
        load_muse(muse_root)

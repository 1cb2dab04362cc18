"""Speaker-level z-normalisation against a direct computation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from muser_core.features.normalise import SpeakerZScore, global_zscore, speaker_zscore


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    speakers = np.repeat(["a", "b", "c"], [5, 7, 4])
    offset = {"a": 0.0, "b": 10.0, "c": -3.0}
    x = rng.normal(size=(16, 3)) + np.array([offset[s] for s in speakers])[:, None]
    frame = pd.DataFrame(x, columns=["f1", "f2", "f3"])
    frame["const"] = 2.0
    return frame, pd.Series(speakers)


def test_matches_per_speaker_formula(table):
    features, speakers = table
    z = speaker_zscore(features, speakers)
    for spk in "abc":
        rows = features[speakers == spk]
        expected = (rows - rows.mean()) / rows.std(ddof=0).replace(0, 1)
        np.testing.assert_allclose(z[speakers == spk], expected, atol=1e-12)
    assert (z["const"] == 0).all()  # constant within speaker: centred, not divided by zero


def test_unseen_speaker_uses_pooled_statistics(table):
    features, speakers = table
    norm = SpeakerZScore().fit(features, speakers)
    new = features.iloc[:2]
    z = norm.transform(new, ["zz", "a"])
    pooled = (new.iloc[0] - features.mean()) / features.std(ddof=0).replace(0, 1)
    np.testing.assert_allclose(z.iloc[0], pooled, atol=1e-12)
    rows_a = features[speakers == "a"]  # a seen speaker: their own statistics, computed by hand
    own = (new.iloc[1] - rows_a.mean()) / rows_a.std(ddof=0).replace(0, 1)
    np.testing.assert_allclose(z.iloc[1], own, atol=1e-12)


def test_statistics_survive_json(table):
    features, speakers = table
    norm = SpeakerZScore().fit(features, speakers)
    back = SpeakerZScore.from_dict(json.loads(json.dumps(norm.to_dict())))
    pd.testing.assert_frame_equal(back.transform(features, speakers), norm.transform(features, speakers))


def test_global_zscore(table):
    features, _ = table
    z = global_zscore(features[["f1", "f2"]])
    np.testing.assert_allclose(z.mean(), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(ddof=0), 1, atol=1e-12)

"""Live explanations: movers against a reference, checked by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.live_explain import acoustic_movers, text_movers, text_profile
from muser_core.features.acoustic import EGEMAPS_FEATURES


def test_text_movers_in_percentage_points_with_direction():
    indicators = pd.DataFrame({"feature": ["nonflu", "posemo", "home"], "coefficient": [0.8, -0.5, 0.1],
                               "rank": [1, 2, 3]})
    # 5 words: "um" and "uh" are non-fluencies (40 %), "happy" is positive (20 %).
    table = text_movers("um uh i am happy", pd.Series(0.0, index=["nonflu", "posemo"]), indicators)
    rows = table.set_index("feature")
    assert rows.loc["nonflu", "change"] == pytest.approx(40.0)
    assert rows.loc["nonflu", "toward"] == "stressed"
    assert rows.loc["posemo", "change"] == pytest.approx(20.0)
    assert rows.loc["posemo", "toward"] == "not stressed"   # more positive words, negative coefficient
    assert "home" not in rows.index                          # unchanged categories are not movers
    assert list(table["feature"]) == ["nonflu", "posemo"]   # largest change first


def test_reference_profile_is_the_mean_share():
    profile = text_profile(["um hello", "hello there friend"])
    assert profile["nonflu"] == pytest.approx((50.0 + 0.0) / 2)


def test_acoustic_movers_rank_by_size_of_z():
    names = EGEMAPS_FEATURES[:3]
    indicators = pd.DataFrame({"feature": names, "coefficient": [1.0, -1.0, 1.0], "rank": [1, 2, 3]})
    z = pd.Series([0.5, 2.0, -1.0], index=names)
    table = acoustic_movers(z, indicators, n=2)
    assert list(table["feature"]) == [names[1], names[2]]
    assert list(table["toward"]) == ["not stressed", "not stressed"]
    assert table["description"].str.len().min() > 0


def test_no_words_give_no_word_movers():
    """An empty transcript must not show every category 'falling' to 0 % as a finding."""
    indicators = pd.DataFrame({"feature": ["nonflu", "posemo"], "coefficient": [0.8, -0.5], "rank": [1, 2]})
    reference = pd.Series([5.0, 3.0], index=["nonflu", "posemo"])
    assert text_movers("", reference, indicators).empty
    assert text_movers("   ", reference, indicators).empty
    assert not text_movers("um well", reference, indicators).empty

"""A personal model as a live predictor: the same pipeline and contract as a MUSER run, stress only."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import TwoSentences, small_study, speak

from muser_core.predict.base import Predictor
from muser_core.predict.clip import prepare_clip
from muser_core.predict.load import load_predictor
from muser_core.predict.personal import PersonalPredictor
from muser_core.study.personal_model import text_scores, train_personal_model
from muser_core.study.process import process_study


@pytest.mark.slow
def test_trained_on_a_study_and_used_live(studies, tmp_path):
    """A study recorded through the library, a personal model, and a live clip scored by it."""
    study = small_study(studies, sessions_per_condition=2)
    process_study(study, TwoSentences())
    model, folder = train_personal_model(study, "P01")
    assert folder == study.root / "models" / "P01" and model.sessions == 4 and model.cv.sentences == 16
    predictor = load_predictor(folder)
    assert isinstance(predictor, PersonalPredictor) and not predictor.takes_baseline
    clip = prepare_clip(speak(tmp_path / "live.wav", "I am worried about the exam."))
    result = predictor.predict(clip, "I am worried about the exam.")
    expected = model.fitted.probability(clip.features.to_frame().T, text_scores(["I am worried about the exam."]),
                                        "P01")[0]
    assert result.stress_probability == pytest.approx(expected)
    assert result.activation is None and result.valence is None and result.calibrated
    assert not any("not calibrated" in w for w in result.warnings)
    assert predictor.reference(True) == "P01's own recordings"
    # What the Live page shows about the model comes from the contract, not from asking its kind.
    assert predictor.card_first and predictor.training_corpus is None and predictor.notices == []
    assert f"**{model.cv.accuracy:.1%}**" in predictor.headline() and "P01" in predictor.card()
    own = predictor.own_indicators()
    pd.testing.assert_frame_equal(own[0], model.indicators()[0])
    acoustic, text, profile = model.indicators()
    assert len(acoustic) == 20 and acoustic["rank"].tolist() == list(range(1, 21))
    assert acoustic["coefficient"].abs().is_monotonic_decreasing and "WC" not in set(text["feature"])
    assert set(text["feature"]) <= set(profile.index)


def test_a_kind_of_model_must_say_how_it_normalises_and_scores():
    """The contract's two abstract methods: a kind without them cannot be built."""
    class Half(Predictor):
        def zscores(self, features, baseline):
            return features

    with pytest.raises(TypeError, match="model_outputs"):
        Half()

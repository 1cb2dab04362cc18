"""The personal model: leave-one-session-out accuracy against scikit-learn's own, the saved model, live scoring."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import CALM, FILLER, STRESSED

from muser_core.base.errors import InputError
from muser_core.features.acoustic import EGEMAPS_FEATURES
from muser_core.study.personal_model import (
    MODEL_FILE,
    C,
    fit_personal_model,
    personal_models,
    read_personal_model,
    text_scores,
)
from muser_core.study.protocol import StudySettings
from muser_core.study.store import Study


def person_table(sessions_per_class: int = 3, per_session: int = 12, seed: int = 0, signal: float = 0.8,
                 participant: str = "P01") -> pd.DataFrame:
    """One person's sentences: stress shifts 10 eGeMAPS features and tilts the word choice."""
    rng = np.random.default_rng(seed)
    rows = []
    for n in range(2 * sessions_per_class):
        stress = n % 2 == 0
        session_offset = rng.normal(0, 0.3, len(EGEMAPS_FEATURES))   # sessions differ a little, as days do
        for u in range(per_session):
            features = 5 + session_offset + rng.normal(0, 1, len(EGEMAPS_FEATURES))
            features[:10] += signal * stress
            pool = STRESSED if (rng.random() < 0.7) == stress else CALM
            words = [*rng.choice(FILLER, 5), *rng.choice(pool, 2)]
            rows.append({"utterance_id": f"{participant}_s{n + 1:02d}_q1_{u:03d}", "speaker": participant,
                         "session": f"{participant}/s{n + 1:02d}",
                         "condition": "stressed" if stress else "not stressed", "stress": float(stress),
                         "text": " ".join(words), "recogniser": "whisper",
                         **dict(zip(EGEMAPS_FEATURES, features, strict=True))})
    return pd.DataFrame(rows)


def sklearn_loso(table: pd.DataFrame) -> np.ndarray:
    """Leave-one-session-out probabilities computed with scikit-learn alone."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.hstack([table[EGEMAPS_FEATURES].to_numpy(), text_scores(table["text"].tolist()).to_numpy()])
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=C, class_weight="balanced", max_iter=5000))
    return cross_val_predict(pipe, x, table["stress"].astype(int), groups=table["session"],
                             cv=LeaveOneGroupOut(), method="predict_proba")[:, 1]


def test_cross_validation_matches_scikit_learn():
    table = person_table()
    model = fit_personal_model(table, "P01", "exam", "Exam week")
    expected = sklearn_loso(table)
    assert np.allclose(model.cv.probabilities, expected, atol=1e-4)
    y = table["stress"].to_numpy()
    assert model.cv.accuracy == pytest.approx(np.mean((expected >= 0.5) == y))
    assert model.cv.sentences == len(table) == 72 and model.cv.correct == round(model.cv.accuracy * 72)
    assert model.cv.majority_share == 0.5
    # Per session: the accuracy of its own sentences, and whether its mean probability is on the right side.
    for row in model.cv.per_session:
        rows = (table["session"] == row["session"]).to_numpy()
        assert row["accuracy"] == pytest.approx(np.mean((expected[rows] >= 0.5) == y[rows]))
        assert row["session_right"] == ((expected[rows].mean() >= 0.5) == (y[rows][0] == 1))
    assert 0.7 < model.cv.accuracy <= 1.0       # the planted effect is found on held-out sessions


def test_the_final_model_is_scikit_learns_fit_on_every_session():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    table = person_table(seed=1)
    model = fit_personal_model(table, "P01")
    text = text_scores(table["text"].tolist())
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=C, class_weight="balanced", max_iter=5000))
    pipe.fit(np.hstack([table[EGEMAPS_FEATURES].to_numpy(), text.to_numpy()]), table["stress"].astype(int))
    ours = model.fitted.probability(table[EGEMAPS_FEATURES], text, "P01")
    theirs = pipe.predict_proba(np.hstack([table[EGEMAPS_FEATURES].to_numpy(), text.to_numpy()]))[:, 1]
    assert np.allclose(ours, theirs, atol=1e-4)


def test_no_signal_gives_chance_accuracy_not_a_flattering_one():
    accuracies = [fit_personal_model(person_table(seed=s, signal=0.0).assign(
        text=lambda t: "i think the was really"), "P01").cv.accuracy for s in range(3)]
    assert np.mean(accuracies) < 0.65


def test_too_few_sessions_are_refused_with_the_counts():
    table = person_table(sessions_per_class=2)
    one_calm = table[table["session"] != "P01/s02"]
    with pytest.raises(InputError, match="2 stressed and 1 not-stressed session"):
        fit_personal_model(one_calm, "P01")
    with pytest.raises(InputError, match="P02: no processed sentences"):
        fit_personal_model(table, "P02")
    fit_personal_model(table, "P01")   # 2 + 2 is enough


def test_a_saved_model_is_read_back_listed_and_described(studies):
    study = Study.create("exam", StudySettings(name="Exam week"))
    folder = study.root / "models" / "P01"
    model = fit_personal_model(person_table(), "P01", study.id, "Exam week")
    folder.mkdir(parents=True)
    (folder / MODEL_FILE).write_text(json.dumps(model.to_dict()))
    again = read_personal_model(folder)
    assert again.fitted == model.fitted and again.cv.accuracy == model.cv.accuracy
    assert personal_models() == {"exam/P01": folder}
    card = again.card()
    assert "P01" in card and "6 (3 stressed, 3 not stressed)" in card and f"{model.cv.accuracy:.1%}" in card
    assert "leave-one-session-out" in card and "Only for P01" in card
    # Broken files: one line naming the file; not listed.
    (study.root / "models" / "P02").mkdir()
    (study.root / "models" / "P02" / MODEL_FILE).write_text('{"kind": "personal", "format": 1}')
    with pytest.raises(InputError, match="P02/personal_model.json: incomplete"):
        read_personal_model(study.root / "models" / "P02")
    assert list(personal_models()) == ["exam/P01"]

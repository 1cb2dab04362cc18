"""A personal model (one participant's, trained on a study) as a live predictor: stress only, own statistics.

The model itself, its leave-one-session-out accuracy and its file live in
:mod:`muser_core.study.personal_model`; here it meets the same
:class:`~muser_core.predict.base.Predictor` contract as a MUSER run, so the
Live page and the command line score a clip the same way with either.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from muser_core.audio.transcribe import Recogniser, get_recogniser
from muser_core.base.errors import InputError
from muser_core.predict.base import Predictor
from muser_core.predict.clip import Baseline
from muser_core.study.personal_model import (
    MODEL_FILE,
    lexicon_sha256,
    read_personal_model,
    speaker_zscore,
    text_scores,
)


class PersonalPredictor(Predictor):
    """A personal model plus a recogniser, scoring live clips like a MUSER run (stress only)."""

    takes_baseline = False   # the person's own statistics are the calibration
    card_first = True        # the card says whose model it is and how well it was measured

    def __init__(self, folder: str | Path, recogniser: Recogniser | None = None):
        self.folder = Path(folder)
        self.model = read_personal_model(self.folder)
        columns = list(text_scores([""]).columns)
        if columns != self.model.text_features:
            raise InputError(f"{self.folder / MODEL_FILE}: the lexicon's categories changed since this model was "
                             "trained; retrain it on the Record a corpus page")
        self._notices = [] if self.model.lexicon_sha256 == lexicon_sha256() else [
            "The lexicon's word lists changed since this personal model was trained (same categories); "
            "retrain it so that its text scores mean what they meant in training."]
        self.recogniser = recogniser or get_recogniser()

    @property
    def notices(self) -> list[str]:
        return list(self._notices)

    def card(self) -> str:
        return self.model.card()

    def headline(self) -> str:
        model = self.model
        return (f"**Personal model of {model.participant}** (study `{model.study}`), for {model.participant} "
                f"only. Measured accuracy on held-out sessions (leave-one-session-out): **{model.cv.accuracy:.1%}** "
                f"of {model.cv.sentences} sentences over {model.sessions} sessions; always answering the commoner "
                f"class would score {model.cv.majority_share:.1%}. It predicts stress only.")

    def own_indicators(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
        return self.model.indicators()

    def reference(self, calibrated: bool) -> str:
        return f"{self.model.participant}'s own recordings"

    def is_calibrated(self, baseline: Baseline | None) -> bool:
        return True

    def zscores(self, features: pd.Series, baseline: Baseline | None) -> pd.Series:
        values = speaker_zscore(self.model.fitted.acoustic_stats, features.to_frame().T, self.model.participant)
        return pd.Series(values[0], index=self.model.acoustic_features)

    def model_outputs(self, transcript: str, zscores: pd.Series) -> pd.Series:
        p = self.model.fitted.probability_of_zscores(zscores.to_numpy()[None, :], text_scores([transcript]),
                                                     self.model.participant)
        return pd.Series({"stress_probability": float(p[0])})

"""Which predictor a model folder needs: a personal model's folder or a MUSER run folder (the default)."""

from __future__ import annotations

from pathlib import Path

from muser_core.audio.transcribe import Recogniser
from muser_core.predict.base import Predictor
from muser_core.predict.personal import PersonalPredictor
from muser_core.predict.run_model import DEFAULT_CHECKPOINT, LivePredictor, check_run_folder
from muser_core.study.personal_model import MODEL_FILE, read_personal_model


def is_personal(model: str | Path | None) -> bool:
    """Whether a folder holds a personal model (its ``personal_model.json``)."""
    return model is not None and (Path(model) / MODEL_FILE).is_file()


def check_model_folder(model: str | Path | None) -> None:
    """One line for an unusable model folder of either kind, before anything slow loads."""
    if is_personal(model):
        read_personal_model(model)
    else:
        check_run_folder(model or DEFAULT_CHECKPOINT)


def load_predictor(model: str | Path | None = None, recogniser: Recogniser | None = None) -> Predictor:
    """The predictor for a model folder of either kind: a personal model's, or a MUSER run's (the default)."""
    if is_personal(model):
        return PersonalPredictor(model, recogniser)
    return LivePredictor(model, recogniser)

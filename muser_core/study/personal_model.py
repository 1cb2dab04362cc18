"""A personal stress model: one participant's sentences from a study, its accuracy measured before use.

For one person with a few sessions, MUSER has far too few sentences to learn
from; a small model does: L2-regularised logistic regression on the person's
eGeMAPS functionals z-scored with their own statistics (the paper's speaker
normalisation, 3.3) plus the lexicon category scores (3.2; percent of words,
and the word count) z-scored the same way. Its accuracy is measured by
**leave-one-session-out cross-validation**: each session in turn is held out,
the normalisation and the model are fitted on the other sessions, and the
held-out session's sentences are scored. So the figure says how well the model
labels a *new session* of this person, which is how it will be used. The
regularisation strength is fixed (``C``), not tuned on the same sessions,
which would make the measured accuracy optimistic.

The model is a JSON file (no pickled code): ``<study>/models/<participant>/personal_model.json``
holds the statistics, the coefficients, the cross-validation results and
who and what it was trained on.
:class:`~muser_core.predict.personal.PersonalPredictor` scores live clips with
it through the same pipeline as a MUSER run.

Command line::

    muser study personal-model --study DIR --participant P01
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from muser_core.base.errors import InputError
from muser_core.base.files import read_json, write_json
from muser_core.features.acoustic import EGEMAPS_FEATURES
from muser_core.features.lexicon import DEFAULT_DIC_PATH
from muser_core.features.normalise import SpeakerZScore
from muser_core.features.text import extract_features
from muser_core.study.protocol import now
from muser_core.study.store import MODELS, Study, list_studies, studies_dir
from muser_core.study.table import sentences

MODEL_FILE = "personal_model.json"
FORMAT = 1
C = 0.1                      # L2 strength (scikit-learn's C): fixed, so the cross-validation stays honest
CLASS_WEIGHT = "balanced"    # sessions of one condition may give more sentences than the other's
MIN_SESSIONS_PER_CLASS = 2   # holding one session out must leave both classes to train on
TEXT_SCORE = "percent"       # length-free category scores: sentences differ a lot in length
TOP_INDICATORS = 20


def lexicon_sha256() -> str:
    """The shipped lexicon's hash: a model trained on other word lists says so when loaded."""
    return hashlib.sha256(DEFAULT_DIC_PATH.read_bytes()).hexdigest()


def text_scores(texts: list[str]) -> pd.DataFrame:
    """The lexicon's category scores (percent of words) and the word count of each text."""
    return extract_features(list(texts), score=TEXT_SCORE)


@dataclass
class PersonalData:
    """One person's usable sentences: the two feature blocks, stress labels and session of each."""

    acoustic: pd.DataFrame
    text: pd.DataFrame
    stress: np.ndarray
    sessions: np.ndarray
    conditions: dict[str, str]
    left_out: int = 0      # sentences without eGeMAPS (a clip openSMILE could not read)


def personal_data(table: pd.DataFrame, participant: str) -> PersonalData:
    """The participant's labelled sentences from a study table (:meth:`Study.sentences`)."""
    rows = table[(table["speaker"] == participant) & table["stress"].notna()]
    if rows.empty:
        raise InputError(f"participant {participant}: no processed sentences (record and process sessions first)")
    missing = [c for c in EGEMAPS_FEATURES if c not in rows]
    usable = rows[EGEMAPS_FEATURES].notna().all(axis=1) if not missing else pd.Series(False, index=rows.index)
    kept = rows[usable]
    if kept.empty:
        raise InputError(f"participant {participant}: no sentence has eGeMAPS features (process the study)")
    text = text_scores(kept["text"].fillna("").astype(str).tolist())
    text.index = kept.index
    return PersonalData(kept[EGEMAPS_FEATURES].astype(float), text, kept["stress"].to_numpy(float),
                        kept["session"].astype(str).to_numpy(),
                        dict(zip(kept["session"], kept["condition"], strict=False)), int((~usable).sum()))


def check_sessions(data: PersonalData, participant: str) -> None:
    """Refuse, with the counts, a person whose sessions cannot give a leave-one-session-out estimate."""
    per_class = pd.Series(data.stress).groupby(data.sessions).first().value_counts()
    stressed, calm = int(per_class.get(1.0, 0)), int(per_class.get(0.0, 0))
    if min(stressed, calm) < MIN_SESSIONS_PER_CLASS:
        raise InputError(f"participant {participant}: {stressed} stressed and {calm} not-stressed session(s) "
                         f"processed; a personal model needs at least {MIN_SESSIONS_PER_CLASS} of each, so that "
                         "every held-out session leaves both conditions to learn from")


@dataclass
class Fitted:
    """Normalisation statistics and logistic-regression weights, as plain numbers."""

    acoustic_stats: dict      # SpeakerZScore.to_dict() of the eGeMAPS block
    text_stats: dict          # the same for the lexicon block
    coef: list[float]         # acoustic features first, then text columns
    intercept: float

    def probability(self, acoustic: pd.DataFrame, text: pd.DataFrame, speaker: str) -> np.ndarray:
        """P(stressed) of each row, features normalised with the person's statistics."""
        return self.probability_of_zscores(speaker_zscore(self.acoustic_stats, acoustic, speaker), text, speaker)

    def probability_of_zscores(self, acoustic_z: np.ndarray, text: pd.DataFrame, speaker: str) -> np.ndarray:
        """P(stressed) of rows whose eGeMAPS are already z-scored with :attr:`acoustic_stats`."""
        z = np.hstack([np.asarray(acoustic_z, dtype=np.float64), speaker_zscore(self.text_stats, text, speaker)])
        return 1.0 / (1.0 + np.exp(-(z @ np.asarray(self.coef) + self.intercept)))


def speaker_zscore(stats: dict, features: pd.DataFrame, speaker: str) -> np.ndarray:
    """Features z-scored with one speaker's statistics (a :class:`SpeakerZScore` dict), in its feature order."""
    scaler = SpeakerZScore.from_dict(stats)
    return scaler.transform(features.reindex(columns=stats["features"]), [speaker] * len(features)).to_numpy()


def fit(acoustic: pd.DataFrame, text: pd.DataFrame, stress: np.ndarray, speaker: str) -> Fitted:
    """Per-person z-scores (paper 3.3) and an L2 logistic regression on both blocks."""
    from sklearn.linear_model import LogisticRegression

    speakers = [speaker] * len(acoustic)
    acoustic_scaler = SpeakerZScore().fit(acoustic, speakers)
    text_scaler = SpeakerZScore().fit(text, speakers)
    z = np.hstack([acoustic_scaler.transform(acoustic, speakers).to_numpy(),
                   text_scaler.transform(text, speakers).to_numpy()])
    model = LogisticRegression(C=C, class_weight=CLASS_WEIGHT, max_iter=5000).fit(z, stress.astype(int))
    return Fitted(acoustic_scaler.to_dict(), text_scaler.to_dict(), model.coef_[0].tolist(),
                  float(model.intercept_[0]))


@dataclass
class CrossValidation:
    """Leave-one-session-out results: sentence and session accuracy, and the share of the commoner class."""

    accuracy: float            # held-out sentences labelled right / all held-out sentences
    correct: int
    sentences: int
    session_accuracy: float    # sessions whose mean P(stressed) falls on the right side of 0.5
    majority_share: float      # accuracy of always answering the commoner class (a reference, not a model)
    per_session: list[dict]    # session, condition, stress, sentences, accuracy, mean_probability
    probabilities: list[float] = field(default_factory=list, repr=False)


def leave_one_session_out(data: PersonalData, speaker: str) -> CrossValidation:
    """Hold out each session in turn, fit on the others, score the held-out sentences."""
    probabilities = np.full(len(data.stress), np.nan)
    for session in sorted(set(data.sessions)):
        test = data.sessions == session
        fitted = fit(data.acoustic[~test], data.text[~test], data.stress[~test], speaker)
        probabilities[test] = fitted.probability(data.acoustic[test], data.text[test], speaker)
    predicted = (probabilities >= 0.5).astype(float)
    right = predicted == data.stress
    per_session = []
    for session in sorted(set(data.sessions)):
        rows = data.sessions == session
        mean_p = float(probabilities[rows].mean())
        stress = float(data.stress[rows][0])
        per_session.append({"session": session, "condition": data.conditions.get(session, ""),
                            "stress": int(stress), "sentences": int(rows.sum()),
                            "accuracy": float(right[rows].mean()), "mean_probability": round(mean_p, 4),
                            "session_right": bool((mean_p >= 0.5) == (stress == 1.0))})
    share = float(data.stress.mean())
    return CrossValidation(float(right.mean()), int(right.sum()), len(right),
                           float(np.mean([s["session_right"] for s in per_session])),
                           max(share, 1.0 - share), per_session, probabilities.tolist())


@dataclass
class PersonalModel:
    """What personal_model.json holds."""

    participant: str
    study: str
    study_name: str
    created_at: str
    fitted: Fitted
    cv: CrossValidation
    acoustic_features: list[str]
    text_features: list[str]
    lexicon_sha256: str
    recognisers: list[str]
    left_out: int = 0
    settings: dict = field(default_factory=lambda: {"model": "logistic regression, L2", "C": C,
                                                    "class_weight": CLASS_WEIGHT, "text_score": TEXT_SCORE})

    @property
    def sessions(self) -> int:
        return len(self.cv.per_session)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["cv"].pop("probabilities")
        return {"format": FORMAT, "kind": "personal", **data}

    @classmethod
    def from_dict(cls, data: dict) -> PersonalModel:
        data = {k: v for k, v in data.items() if k not in ("format", "kind")}
        return cls(**{**data, "fitted": Fitted(**data["fitted"]), "cv": CrossValidation(**data["cv"])})

    def card(self) -> str:
        """The model card: who, which sessions, the measured accuracy, and what it is not."""
        cv = self.cv
        stressed = sum(s["stress"] for s in cv.per_session)
        lines = [
            f"**Personal model of {self.participant}** (study `{self.study}`: {self.study_name}), "
            f"trained {self.created_at[:16].replace('T', ' ')} UTC.",
            f"- **Sessions:** {self.sessions} ({stressed} stressed, {self.sessions - stressed} not stressed), "
            f"{cv.sentences} sentences" + (f" ({self.left_out} without eGeMAPS left out)" if self.left_out else ""),
            f"- **Measured accuracy** (leave-one-session-out cross-validation): **{cv.accuracy:.1%}** of sentences "
            f"({cv.correct}/{cv.sentences}); {cv.session_accuracy:.0%} of sessions by their mean probability. "
            f"Always answering the commoner class would score {cv.majority_share:.1%}.",
            f"- **Model:** {self.settings['model']} (C = {self.settings['C']}, class weights "
            f"{self.settings['class_weight']}) on {len(self.acoustic_features)} eGeMAPS functionals z-scored with "
            f"{self.participant}'s own statistics (paper 3.3) and {len(self.text_features)} lexicon scores "
            f"({self.settings['text_score']} of words, and the word count).",
            f"- Transcripts by: {', '.join(self.recognisers) or 'unknown'}.",
            f"- **Only for {self.participant}**: it has seen no one else's voice. With few sessions the measured "
            "accuracy itself is uncertain; record more sessions and retrain to firm it up. It predicts stress "
            "only (no activation or valence).",
        ]
        return "\n".join(lines)

    def indicators(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
        """The model's own top acoustic and text coefficients (feature, coefficient, rank), and the
        person's mean lexicon profile (the reference for word changes)."""
        coef = np.asarray(self.fitted.coef)
        n = len(self.acoustic_features)
        blocks = []
        for names, values in ((self.acoustic_features, coef[:n]), (self.text_features, coef[n:])):
            table = pd.DataFrame({"feature": names, "coefficient": values})
            table = table[table["feature"] != "WC"]
            table = table.reindex(table["coefficient"].abs().sort_values(ascending=False).index)
            table = table.head(TOP_INDICATORS).reset_index(drop=True)
            table["rank"] = np.arange(1, len(table) + 1)
            blocks.append(table)
        stats = self.fitted.text_stats
        profile = pd.Series(stats["speakers"][self.participant]["mean"], index=stats["features"]).drop("WC")
        return blocks[0], blocks[1], profile


def fit_personal_model(table: pd.DataFrame, participant: str, study: str = "", study_name: str = "") -> PersonalModel:
    """Cross-validate (leave one session out), then fit on every session: the model and its measured accuracy."""
    data = personal_data(table, participant)
    check_sessions(data, participant)
    cv = leave_one_session_out(data, participant)
    fitted = fit(data.acoustic, data.text, data.stress, participant)
    rows = table[table["speaker"] == participant]
    recognisers = sorted(set(rows.get("recogniser", pd.Series(dtype=str)).dropna().astype(str)) - {""})
    return PersonalModel(participant, study, study_name, now(), fitted, cv, list(data.acoustic.columns),
                         list(data.text.columns), lexicon_sha256(), recognisers, data.left_out)


def train_personal_model(study: Study, participant: str) -> tuple[PersonalModel, Path]:
    """Fit a participant's model on their processed sentences and save it in the study."""
    person = study.participant(participant).participant
    table, _, _ = sentences(study)
    model = fit_personal_model(table, person, study.id, study.settings.name)
    folder = study.root / MODELS / person
    write_json(folder / MODEL_FILE, model.to_dict())
    return model, folder


def read_personal_model(folder: str | Path) -> PersonalModel:
    """A saved personal model, or one line naming the file that is wrong."""
    path = Path(folder) / MODEL_FILE
    data = read_json(path)
    if data.get("kind") != "personal":
        raise InputError(f"{path}: not a personal model file")
    if data.get("format") != FORMAT:
        raise InputError(f"{path}: format {data.get('format')!r}, this version reads {FORMAT}; retrain the model")
    try:
        model = PersonalModel.from_dict(data)
    except (KeyError, TypeError) as exc:
        raise InputError(f"{path}: incomplete personal model ({exc})") from None
    if len(model.fitted.coef) != len(model.acoustic_features) + len(model.text_features):
        raise InputError(f"{path}: the coefficients do not match the feature lists; retrain the model")
    return model


def personal_models(root: str | Path | None = None) -> dict[str, Path]:
    """Readable personal models of every study: ``<study>/<participant>`` -> folder, sorted."""
    root = Path(root) if root is not None else studies_dir()
    found = {}
    for study in list_studies(root):
        for folder in sorted((root / study / MODELS).glob("*")):
            try:
                read_personal_model(folder)
            except InputError:
                continue
            found[f"{study}/{folder.name}"] = folder
    return found


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``muser study personal-model``'s flags."""
    parser.add_argument("--study", required=True, help="the study folder")
    parser.add_argument("--participant", required=True, help="the participant's id")


def run(args: argparse.Namespace) -> int:
    model, folder = train_personal_model(Study(args.study), args.participant)
    print(model.card().replace("**", ""))
    print(f"wrote {folder / MODEL_FILE}")
    return 0

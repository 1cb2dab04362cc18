"""MuSE (Jaiswal et al., 2020): the paper's stress corpus, read from a copy in its distributed layout.

Stressed and not-stressed monologue sessions of 28 speakers, one transcript
per sentence, self-reported and crowd-sourced activation and valence (1..9).
Stress is the session's condition (paper 3.1).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from muser_core.base.errors import InputError, Skipped, where
from muser_core.data.corpus import Corpus, canonical, read_csv, to_number
from muser_core.data.splits import assign_split

MUSE_SURVEY_FOLDERS = ("Survey Information (Questions, Data etc)", "SurveyInformation")
MUSE_LABEL_CSV = "Emotion data from crowdsourcing (C is when annotators had access to all previous sentences).csv"
MUSE_COLUMNS = ["Sentence_name", "Duration", "Gender", "Type", "Ques_Type",
                "Activation_Mean", "Activation_SD", "Valence_Mean", "Valence_SD",
                "Activation_Annotation", "Valence_Annotation",
                "C_Activation_Mean", "C_Activation_SD", "C_Valence_Mean", "C_Valence_SD",
                "C_Activation_Annotation", "C_Valence_Annotation", "S_Activation", "S_Valence"]
# Which columns hold activation and valence for each choice of emotion label.
MUSE_EMOTION_LABELS = {
    "self": ("S_Activation", "S_Valence"),                  # speaker's self-report (paper's choice)
    "crowd": ("Activation_Mean", "Valence_Mean"),           # crowd mean, sentence alone
    "crowd_context": ("C_Activation_Mean", "C_Valence_Mean"),  # crowd mean, with previous sentences
}


def _muse_label_csv(root: Path) -> Path:
    for folder in MUSE_SURVEY_FOLDERS:
        survey = root / folder
        if survey.is_dir():
            exact = survey / MUSE_LABEL_CSV
            if exact.is_file():
                return exact
            found = sorted(survey.glob("Emotion data*.csv"))
            if found:
                return found[0]
            raise InputError(f"{survey}: no 'Emotion data from crowdsourcing ... .csv' in this folder")
    raise InputError(f"{root}: not a MuSE copy (neither '{MUSE_SURVEY_FOLDERS[0]}' "
                     f"nor '{MUSE_SURVEY_FOLDERS[1]}' found)")


def load_muse(root: str | Path, emotion_label: str = "self", split: str = "speaker",
              seed: int = 0) -> Corpus:
    """Read a MuSE copy in its distributed layout (see shared notes on data sets).

    ``emotion_label`` picks the self-report (paper's choice), the crowd mean, or
    the crowd mean with context. Sentences with no transcript are skipped and
    counted; a missing audio file leaves ``audio_path`` empty and is counted too.
    """
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise InputError(f"{root}: MuSE root folder not found")
    if emotion_label not in MUSE_EMOTION_LABELS:
        raise InputError(f"unknown emotion label '{emotion_label}' "
                         f"(choose {', '.join(MUSE_EMOTION_LABELS)})")
    csv_path = _muse_label_csv(root)
    raw = read_csv(csv_path, required=["Sentence_name", "Type"]
                    + list(MUSE_EMOTION_LABELS[emotion_label]), dtype={"Sentence_name": str})
    transcripts = root / "Combined" / "Utterance Transcripts"
    if not transcripts.is_dir():
        raise InputError(f"{transcripts}: transcript folder not found")
    stressed_audio = [root / "Stressed" / "Audio" / "Stressed Question Monologue Audio"]
    relaxed_audio = sorted((root / "NotStressed" / "Audio").glob("Non Stressed Question Monologue Audio*"))
    act_col, val_col = MUSE_EMOTION_LABELS[emotion_label]
    rows, skipped, no_audio = [], [], 0
    for line, rec in enumerate(raw.to_dict("records"), start=2):  # line 1 is the header
        name = str(rec["Sentence_name"]).strip()
        utt = name[:-4] if name.lower().endswith(".wav") else name
        kind = str(rec["Type"]).strip().upper()
        if kind not in ("S", "NS"):
            skipped.append(Skipped(utt, f"{where(csv_path, line, 'Type')}: expected S or NS"))
            continue
        text_file = transcripts / f"{utt}.txt"
        if not text_file.is_file():
            skipped.append(Skipped(utt, "no transcript file"))
            continue
        text = text_file.read_text(encoding="utf-8", errors="replace").strip()
        audio = next((d / f"{utt}.wav" for d in (stressed_audio if kind == "S" else relaxed_audio)
                      if (d / f"{utt}.wav").is_file()), None)
        no_audio += audio is None
        rows.append({
            "utterance_id": utt, "speaker": utt[:2], "dataset": "muse", "text": text,
            "audio_path": str(audio) if audio else "", "stress": 1.0 if kind == "S" else 0.0,
            "activation": to_number(rec.get(act_col)), "valence": to_number(rec.get(val_col)),
            "gender": rec.get("Gender", ""), "question": rec.get("Ques_Type", ""),
            "session": f"{utt[:2]}-{kind}", "duration": to_number(rec.get("Duration")),
        })
    if not rows:
        raise InputError(f"{csv_path}: no usable sentences ({len(skipped)} skipped)")
    table = assign_split(canonical(pd.DataFrame(rows)), split, seed)
    notes = [f"emotion labels: {emotion_label} ({act_col}, {val_col})"]
    if no_audio:
        notes.append(f"{no_audio} sentences have no audio file (text only)")
    return Corpus(table, "muse", {"activation": (1.0, 9.0), "valence": (1.0, 9.0)},
                  notes, skipped)


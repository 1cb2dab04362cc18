"""A study seen as a corpus: one row per processed sentence, split for training, as MuSE's (paper 3.1).

Every sentence keeps its session's stress label (from the condition) and its
monologue's self-ratings as activation and valence, the way MuSE labels its
sentences; hand corrections of transcripts are applied where they still fit.

Command line (through the corpus loader)::

    muser corpus --study DIR --out study.csv
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from muser_core.base.errors import InputError, Skipped
from muser_core.data.corpus import SPLITS, Corpus, canonical
from muser_core.data.splits import paper_split, speaker_independent_split
from muser_core.features.acoustic import EGEMAPS_FEATURES
from muser_core.study.process import (
    FEATURES_FILE,
    SEGMENT_FILE,
    read_features,
    read_manifest,
    segment_record,
)
from muser_core.study.protocol import MIN_PARTICIPANTS_SPEAKER_SPLIT, STUDY_SPLITS, belongs_to, now
from muser_core.study.store import (
    CORRECTIONS_FILE,
    PROCESSED,
    RECORDINGS,
    SESSION_FILE,
    STUDY_FILE,
    Study,
)

COLUMNS = ["utterance_id", "speaker", "dataset", "split", "text", "asr_text", "audio_path", "stress",
           "activation", "valence", "session", "condition", "note", "question", "question_text",
           "start_s", "end_s", "source_sha256", "recogniser"]


def sentences(study: Study) -> tuple[pd.DataFrame, list[str], list[Skipped]]:
    """One row per processed sentence with its labels, features and transcript; notes; skipped items.

    Only outputs made from the answer's current audio are used; answers
    not processed yet, or re-recorded since, are counted as skipped.
    """
    rows, skipped, notes, incomplete = [], [], [], []
    sessions = study.sessions()
    for session in sessions:
        for question in sorted(session.answers):
            answer = session.answers[question]
            label = f"{session.key} q{question}"
            out = study.answer_output(session, question)
            record = segment_record(out)
            if record is None:
                skipped.append(Skipped(label, f"{label}: not processed yet (press Process)"))
                continue
            if record.get("source_sha256") != answer.sha256:
                skipped.append(Skipped(label, f"{label}: re-recorded since it was processed (press Process)"))
                continue
            try:
                features = read_features(out)
            except InputError as exc:    # its sentences stay (text, labels), without acoustic features
                features = {}
                notes.append(str(exc))
            for rec in read_manifest(out):
                clip = (out / rec["audio_path"]).resolve()
                if not clip.is_relative_to(out) or not clip.is_file():
                    skipped.append(Skipped(rec["utterance_id"], f"{label}: sentence clip {rec['audio_path']} "
                                                                 "missing or outside the study folder"))
                    continue
                rows.append({
                    "utterance_id": rec["utterance_id"], "speaker": session.participant,
                    "dataset": study.id, "split": "", "text": rec["text"], "asr_text": rec["text"],
                    "audio_path": str(clip), "stress": float(session.stress),
                    "activation": np.nan if answer.activation is None else float(answer.activation),
                    "valence": np.nan if answer.valence is None else float(answer.valence),
                    "session": session.key, "condition": session.condition, "note": session.note,
                    "question": question, "question_text": session.questions[question - 1],
                    "start_s": float(rec["start_s"]), "end_s": float(rec["end_s"]),
                    "source_sha256": answer.sha256, "recogniser": rec.get("recogniser", ""),
                    **features.get(rec["utterance_id"], {})})
                if len(features.get(rec["utterance_id"], ())) < len(EGEMAPS_FEATURES):
                    incomplete.append(rec["utterance_id"])
    table = pd.DataFrame(rows, columns=COLUMNS + [c for c in EGEMAPS_FEATURES if any(c in r for r in rows)])
    table["corrected"] = False
    applied, stale = _apply_corrections(table, study.corrections())
    if applied:
        notes.append(f"{applied} transcript(s) corrected by hand")
    if stale:
        notes.append(f"{stale} hand correction(s) no longer match their sentence (the answer was re-recorded "
                     f"or cut differently); they are kept in {CORRECTIONS_FILE} but not applied")
    current = {c.name: c.stress for c in study.settings.conditions}
    changed = sorted({s.key for s in sessions if current.get(s.condition, s.stress) != s.stress})
    if changed:
        notes.append(f"{len(changed)} session(s) keep the stress label their condition had when they were "
                     f"recorded, which the study's conditions now give otherwise ({', '.join(changed[:5])})")
    if incomplete:
        notes.append(f"{len(incomplete)} sentence(s) without all eGeMAPS features (their clip failed extraction, "
                     f"or a damaged or truncated {FEATURES_FILE}; processing the study again redoes it): "
                     f"{', '.join(incomplete[:8])}{', ...' if len(incomplete) > 8 else ''}")
    unrated = int(table["activation"].isna().sum())
    if unrated:
        notes.append(f"{unrated} sentence(s) from answers not rated yet: no activation/valence")
    return table, notes, skipped


def correct_transcript(study: Study, utterance_id: str, text: str) -> None:
    """Store a hand correction of one sentence's transcript; an empty text goes back to the recogniser's.

    The correction remembers which audio and which span it was made for, so
    reprocessing keeps it, and a re-recorded or re-cut sentence is not
    given a correction meant for another one.
    """
    table, _, _ = sentences(study)
    row = table[table["utterance_id"] == utterance_id]
    if row.empty:
        raise InputError(f"sentence {utterance_id!r}: not in this study's processed sentences")
    row = row.iloc[0]
    with study.locked():
        kept = [c for c in study.corrections() if c["utterance_id"] != utterance_id]
        text = " ".join(text.split())
        if text and text != row["asr_text"]:
            kept.append({"utterance_id": utterance_id, "text": text, "asr_text": row["asr_text"],
                         "source_sha256": row["source_sha256"], "start_s": row["start_s"],
                         "end_s": row["end_s"], "corrected_at": now()})
        study.save_corrections(kept)


def participant_texts(study: Study, participant: str) -> list[str]:
    """Every transcript of a participant's sentences: the recogniser's, the current and the hand-corrected ones."""
    table, _, _ = sentences(study)
    mine = table[table["speaker"] == participant] if len(table) else table
    texts = {*mine.get("text", []), *mine.get("asr_text", []),
             *(c["text"] for c in study.corrections() if belongs_to(c["utterance_id"], participant))}
    return sorted(texts)


def _apply_corrections(table: pd.DataFrame, corrections: list[dict]) -> tuple[int, int]:
    """Put hand-corrected texts in ``text`` where the sentence is still the one corrected; (applied, stale)."""
    applied = stale = 0
    index = {uid: i for i, uid in enumerate(table["utterance_id"])}
    for c in corrections:
        i = index.get(c["utterance_id"])
        if i is None:
            stale += 1
            continue
        row = table.iloc[i]
        same = (row["source_sha256"] == c["source_sha256"] and _close(row["start_s"], c["start_s"])
                and _close(row["end_s"], c["end_s"]))
        if not same:
            stale += 1
            continue
        table.iat[i, table.columns.get_loc("text")] = c["text"]
        table.iat[i, table.columns.get_loc("corrected")] = True
        applied += 1
    return applied, stale


def _close(a, b) -> bool:
    try:
        return abs(float(a) - float(b)) < 1e-3
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- the study as a corpus

def session_split(table: pd.DataFrame, seed: int = 0) -> pd.Series:
    """``train`` / ``validation`` / ``test`` by whole sessions, spread over each stress class.

    For studies with fewer than 3 participants, where no speaker-independent
    split exists. Within each class the sessions are shuffled with ``seed``;
    the paper's shares (1,853 / 200 / 273 of 2,326) give at least one session
    to test and one to validation when the class has 3 or more, so every split
    can hold both classes.
    """
    sessions = table.groupby("session")["stress"].first()
    rng = np.random.default_rng(seed)
    assignment: dict[str, str] = {}
    for _, group in sessions.groupby(sessions.fillna(-1)):
        names = sorted(group.index)
        rng.shuffle(names)
        n = len(names)
        n_test = max(1, round(n * 273 / 2326)) if n >= 2 else 0
        n_val = max(1, round(n * 200 / 2326)) if n >= 3 else 0
        for i, name in enumerate(names):
            assignment[name] = "test" if i < n_test else "validation" if i < n_test + n_val else "train"
    return table["session"].map(assignment).rename("split")


def load_study(root: str | Path, split: str = "speaker", seed: int = 0) -> Corpus:
    """A study's processed sentences as a canonical corpus (same columns as MuSE's).

    ``split``: ``speaker`` (default) is speaker-independent with 3 or more
    participants and falls back to whole sessions with fewer (and the notes say
    so); ``session`` always splits by session; ``paper`` uses the paper's
    sentence shares, stratified by stress. Labels: stress 1/0 from the session's
    condition, activation and valence from the monologue's self-ratings (1..9).
    """
    if split not in STUDY_SPLITS:
        raise InputError(f"unknown split '{split}' for a study (choose {', '.join(STUDY_SPLITS)})")
    study = Study(root)
    table, notes, skipped = sentences(study)
    if table.empty:
        first = f"; first: {skipped[0].reason}" if skipped else " (no answers recorded)"
        raise InputError(f"{study.root}: no processed sentences yet{first}")
    people = table["speaker"].nunique()
    if split == "paper":
        try:
            table["split"] = paper_split(table, seed)
        except ValueError as exc:   # too few sentences of a class for stratified shares
            raise InputError(f"{study.root}: the paper split cannot be made from {len(table)} sentences "
                             f"({exc}); use the speaker or session split") from None
        split_note = f"split: paper shares 1,853/200/273 scaled, stratified by stress (seed {seed}); a speaker " \
                     "and a session may be in several splits"
    elif split == "speaker" and people >= MIN_PARTICIPANTS_SPEAKER_SPLIT:
        table["split"] = speaker_independent_split(table, seed)
        split_note = f"split: speaker-independent ({people} participants, seed {seed})"
    else:
        table["split"] = session_split(table, seed)
        why = (f"only {people} participant(s), and a speaker-independent split needs at least "
               f"{MIN_PARTICIPANTS_SPEAKER_SPLIT}: " if split == "speaker" else "")
        split_note = (f"split: {why}by whole sessions instead (seed {seed}); the test measures new "
                      "sessions of the same people, not new people")
    lacking = [s for s in SPLITS if table.loc[table["split"] == s, "stress"].nunique() < 2]
    if lacking:
        split_note += (f"; the {', '.join(lacking)} split(s) lack stressed or not-stressed sentences, which "
                       "training needs in every split" + (" (by session: 3 sessions of each condition)"
                                                          if split != "paper" else ""))
    conditions = ", ".join(f"{c.name} = {'stressed' if c.stress else 'not stressed'}"
                           for c in study.settings.conditions)
    notes = [split_note, f"stress from the session's condition ({conditions})",
             "activation and valence are the participant's self-ratings of the monologue (1..9), as MuSE's "
             "self-report", *notes]
    return Corpus(canonical(table), study.id, {"activation": (1.0, 9.0), "valence": (1.0, 9.0)},
                  notes, skipped)


def study_fingerprint(root: str | Path) -> str:
    """Changes whenever the study's table would: settings, sessions, processed outputs, corrections."""
    root = Path(root)
    digest = hashlib.sha1()
    files = [root / STUDY_FILE, root / CORRECTIONS_FILE, *root.glob(f"{RECORDINGS}/*/*/{SESSION_FILE}"),
             *root.glob(f"{PROCESSED}/*/*/q*/{SEGMENT_FILE}"), *root.glob(f"{PROCESSED}/*/*/q*/{FEATURES_FILE}")]
    for path in sorted(files):
        try:
            stat = path.stat()
        except OSError:
            continue
        digest.update(f"{path.relative_to(root)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]

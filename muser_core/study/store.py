"""A study: your own stress corpus recorded the way MuSE was (paper section 3.1), as plain files.

Participants are recorded in sessions labelled by a condition (in MuSE:
during final exams, stressed, and after them, not stressed). In a session
they answer a few emotion-eliciting questions, one monologue each, and rate
their own activation (calm .. excited) and valence (negative .. positive) on
1-9 scales after each answer. Processing cuts each monologue into sentences
with the recogniser (paper 4.2) and extracts eGeMAPS (3.3); every sentence
keeps its session's stress label and its monologue's ratings, as in MuSE.

A study is a folder under ``data/studies/`` (or ``MUSER_STUDIES_DIR``)::

    <study>/study.json                   name, questions, conditions (name -> stress 0/1), consent text,
                                         stress task settings
    <study>/participants.csv             participant, added_at, consented_at, consent_text (pseudonymous ids)
    <study>/recordings/<p>/<s>/session.json   participant, condition, note, questions as asked,
                                         stress task timing, answers (audio file, SHA-256, ratings)
    <study>/recordings/<p>/<s>/q1.wav    one monologue per question (WAV or FLAC), written when recorded
    <study>/processed/<p>/<s>/q1/        clips/, manifest.csv, segment.json (muser_core.segment's output),
                                         egemaps.csv (88 eGeMAPS per sentence clip)
    <study>/corrections.csv              transcripts corrected by hand (kept through reprocessing)
    <study>/models/<p>/                  a personal model (muser_core.personal_model)

Every file is replaced atomically (written beside, then renamed) under the
study's lock, so a closed browser or a killed process leaves each file
either old or new; an answer is on disk as soon as it is recorded, and an
unfinished session is continued where it stopped. Ids (study, participant)
are letters, digits, ``-`` and ``_``: no path a user types can leave the
study folder.

Command line (through the corpus loader)::

    python -m muser_core.corpus --study DIR --out study.csv
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from filelock import FileLock, Timeout

from muser_core.base.errors import InputError
from muser_core.base.paths import DATA_DIR
from muser_core.data.corpus import (
    SPLITS,
    Corpus,
    Skipped,
    _write_atomic,
    canonical,
    paper_split,
    speaker_independent_split,
)
from muser_core.features.text_encoder import forget_texts

STUDIES_VAR = "MUSER_STUDIES_DIR"
STUDY_FILE, PARTICIPANTS_FILE, CORRECTIONS_FILE, SESSION_FILE = (
    "study.json", "participants.csv", "corrections.csv", "session.json")
RECORDINGS, PROCESSED, MODELS = "recordings", "processed", "models"
FEATURES_FILE = "egemaps.csv"
FORMAT = 1                        # study.json's "format": bumped if the layout ever changes
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
SESSION_ID = re.compile(r"s(\d{2,})")
RATING = (1, 9)                   # self-assessment manikin scale, as MuSE's self-reports
MIN_PARTICIPANTS_SPEAKER_SPLIT = 3  # fewer: no speaker-independent train/validation/test split
STUDY_SPLITS = ("speaker", "session", "paper")
LOCK_WAIT_S = 10.0

# Written for this project (MuSE's own questions are not public): five open questions that invite a
# monologue of a minute or two and touch pressure, ease, anticipation, setbacks and people.
DEFAULT_QUESTIONS = (
    "Tell me about a recent situation that put you under pressure. What happened, and how did you handle it?",
    "Describe a place where you feel completely at ease. What is it like to be there?",
    "What are you looking forward to in the coming weeks, and why?",
    "Think of a time when things did not go the way you had planned. How did you feel, and what did you do next?",
    "Tell me about a person who matters to you and a moment you shared with them.",
)
DEFAULT_CONSENT = ("I agree to be recorded answering spoken questions for this study. My recordings and "
                   "ratings stay on this computer under a pseudonymous ID, with no name, and I can ask for "
                   "all of them to be deleted at any time.")
PARTICIPANT_COLUMNS = ["participant", "added_at", "consented_at", "consent_text"]
CORRECTION_COLUMNS = ["utterance_id", "text", "asr_text", "source_sha256", "start_s", "end_s", "corrected_at"]


def now() -> str:
    """A UTC time stamp as written in the study's files."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def studies_dir() -> Path:
    """Where studies live: ``MUSER_STUDIES_DIR``, else ``data/studies/``."""
    return Path(os.environ.get(STUDIES_VAR) or DATA_DIR / "studies")


def check_id(value: str, what: str) -> str:
    """A study or participant id: letters, digits, ``-`` and ``_`` (at most 40), or one line saying why not."""
    value = value.strip() if isinstance(value, str) else value
    if not isinstance(value, str) or not ID.fullmatch(value):
        raise InputError(f"{what} {value!r}: use letters, digits, '-' and '_' only (at most 40, starting "
                         "with a letter or digit); a pseudonymous code such as P01, never a name")
    return value


def list_studies(root: str | Path | None = None) -> list[str]:
    """Ids of the studies (folders holding a study.json) under the studies folder, sorted."""
    root = Path(root) if root is not None else studies_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and ID.fullmatch(p.name)
                  and (p / STUDY_FILE).is_file())


# --------------------------------------------------------------------------- settings

@dataclass(frozen=True)
class Condition:
    """A session condition and the stress label its sentences carry (1 stressed, 0 not stressed)."""

    name: str
    stress: int


DEFAULT_CONDITIONS = (Condition("stressed", 1), Condition("not stressed", 0))


@dataclass(frozen=True)
class StressTask:
    """Timed serial subtraction, the mental-arithmetic part of the Trier Social Stress Test (Kirschbaum et al. 1993)."""

    start: int = 1022
    step: int = 13
    seconds: int = 300   # the TSST's arithmetic task lasts five minutes

    @property
    def instructions(self) -> str:
        return (f"Count down aloud from {self.start:,} in steps of {self.step}, as fast and as accurately "
                f"as you can ({self.start:,}, {self.start - self.step:,}, {self.start - 2 * self.step:,}, ...). "
                f"After a mistake, start again from {self.start:,}.")


@dataclass(frozen=True)
class StudySettings:
    """What study.json holds: the protocol a session follows."""

    name: str
    questions: tuple[str, ...] = DEFAULT_QUESTIONS
    conditions: tuple[Condition, ...] = DEFAULT_CONDITIONS
    consent_text: str = DEFAULT_CONSENT
    stress_task: StressTask = field(default_factory=StressTask)

    def checked(self) -> StudySettings:
        """The settings with blanks trimmed, or one line naming the field that is wrong."""
        name = self.name.strip()
        if not name:
            raise InputError("study name: empty")
        questions = tuple(q.strip() for q in self.questions if isinstance(q, str) and q.strip())
        if not questions:
            raise InputError("questions: give at least one question")
        conditions = tuple(Condition(str(c.name).strip(), c.stress) for c in self.conditions)
        names = [c.name for c in conditions]
        if not conditions or any(not n for n in names):
            raise InputError("conditions: every condition needs a name")
        if len(set(names)) != len(names):
            raise InputError(f"conditions: the name {next(n for n in names if names.count(n) > 1)!r} "
                             "is given twice")
        bad = next((c for c in conditions if c.stress not in (0, 1)), None)
        if bad is not None:
            raise InputError(f"conditions: {bad.name!r} has stress {bad.stress!r}; use 1 (stressed) or 0 (not stressed)")
        if not self.consent_text.strip():
            raise InputError("consent text: empty (participants must see what they agree to)")
        task = self.stress_task
        for label, value, low in (("start", task.start, 2), ("step", task.step, 1), ("seconds", task.seconds, 10)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise InputError(f"stress task {label}: {value!r} is not a whole number of at least {low}")
        if task.step >= task.start:
            raise InputError(f"stress task step: {task.step} must be smaller than the start {task.start}")
        return replace(self, name=name, questions=questions, conditions=conditions,
                       consent_text=self.consent_text.strip())

    def condition(self, name: str) -> Condition:
        for c in self.conditions:
            if c.name == name:
                return c
        raise InputError(f"condition {name!r}: not one of this study's ({', '.join(c.name for c in self.conditions)})")

    def to_dict(self) -> dict:
        return {"format": FORMAT, "name": self.name, "questions": list(self.questions),
                "conditions": [asdict(c) for c in self.conditions], "consent_text": self.consent_text,
                "stress_task": asdict(self.stress_task)}

    @classmethod
    def from_dict(cls, data: dict, label: str = STUDY_FILE) -> StudySettings:
        try:
            return cls(name=str(data["name"]), questions=tuple(data["questions"]),
                       conditions=tuple(Condition(str(c["name"]), int(c["stress"])) for c in data["conditions"]),
                       consent_text=str(data["consent_text"]),
                       stress_task=StressTask(**data.get("stress_task", {}))).checked()
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, InputError):
                raise InputError(f"{label}: {exc}") from None
            raise InputError(f"{label}: not a study file ({type(exc).__name__}: {exc})") from None


# --------------------------------------------------------------------------- records

@dataclass(frozen=True)
class Participant:
    """One row of participants.csv: a pseudonymous id and when consent was given (empty: not yet)."""

    participant: str
    added_at: str
    consented_at: str = ""
    consent_text: str = ""   # the text agreed to, kept verbatim (the study's text may change later)

    @property
    def consented(self) -> bool:
        return bool(self.consented_at)


@dataclass(frozen=True)
class Answer:
    """One monologue: its audio file (inside the session folder), when it was recorded, the two ratings."""

    question: int                      # 1-based, in the session's own question list
    audio: str                         # file name, e.g. q1.wav
    sha256: str
    recorded_at: str
    duration_s: float
    activation: int | None = None      # 1 calm .. 9 excited
    valence: int | None = None         # 1 negative .. 9 positive
    rated_at: str = ""

    @property
    def rated(self) -> bool:
        return self.activation is not None and self.valence is not None


@dataclass(frozen=True)
class Session:
    """One recording session of one participant, as session.json holds it."""

    participant: str
    session: str                       # s01, s02, ... per participant
    condition: str
    stress: int
    note: str
    questions: tuple[str, ...]         # as asked in this session (the study's list may change later)
    started_at: str
    finished_at: str = ""
    stress_task: dict | None = None    # instructions, planned_s, started_at, ended_at, duration_s, skipped
    answers: dict[int, Answer] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.participant}/{self.session}"

    @property
    def finished(self) -> bool:
        return bool(self.finished_at)

    @property
    def next_question(self) -> int | None:
        """The first question (1-based) without a recorded and rated answer; None when all are done."""
        for k in range(1, len(self.questions) + 1):
            answer = self.answers.get(k)
            if answer is None or not answer.rated:
                return k
        return None

    @property
    def stress_task_pending(self) -> bool:
        """The session began with a stress task that has not ended (nor been skipped) yet."""
        return bool(self.stress_task) and not self.stress_task.get("ended_at") and not self.answers

    @property
    def answered(self) -> int:
        return sum(1 for a in self.answers.values() if a.rated)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["answers"] = {str(k): asdict(a) for k, a in sorted(self.answers.items())}
        data["questions"] = list(self.questions)
        return data

    @classmethod
    def from_dict(cls, data: dict, label: str) -> Session:
        try:
            answers = {int(k): Answer(**a) for k, a in data.get("answers", {}).items()}
            return cls(**{**data, "questions": tuple(data["questions"]), "answers": answers})
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{label}: not a session file ({type(exc).__name__}: {exc})") from None


@dataclass
class DeletionReport:
    """What deleting a participant removed, counted, and what it could not reach."""

    participant: str
    sessions: int = 0
    recordings: int = 0
    sentence_clips: int = 0
    feature_rows: int = 0
    corrections: int = 0
    personal_models: int = 0
    cached_features: int = 0
    cached_text_vectors: int = 0  # sentence vectors of their transcripts in the frozen-embedding cache
    training_copies: list[str] = field(default_factory=list)
    runs_trained_on_it: list[str] = field(default_factory=list)

    def message(self) -> str:
        parts = [f"{self.sessions} session(s)", f"{self.recordings} answer recording(s)",
                 f"{self.sentence_clips} sentence clip(s)", f"{self.feature_rows} eGeMAPS row(s)",
                 f"{self.corrections} transcript correction(s)", f"{self.personal_models} personal model(s)",
                 f"{self.cached_features} cached feature vector(s)",
                 f"{self.cached_text_vectors} cached sentence vector(s)",
                 f"{len(self.training_copies)} training copy(ies) of the study table"]
        line = f"Removed participant {self.participant}: " + ", ".join(parts) + "."
        if self.runs_trained_on_it:
            line += (" Training runs made from this study before still hold statistics derived from the "
                     "participant's sentences (normaliser.json): " + ", ".join(self.runs_trained_on_it)
                     + "; delete those run folders too if needed.")
        return line


# --------------------------------------------------------------------------- the study folder

def read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: missing") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not readable JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a JSON object")
    return data


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False)))


def _write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
    _write_atomic(path, write)


def _read_csv_rows(path: Path, columns: list[str]) -> list[dict]:
    if not path.is_file():
        return []
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(f"{path}: column {missing[0]!r} missing")
            return [{c: row.get(c) or "" for c in columns} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: not a readable CSV ({exc})") from None


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Study:
    """One study folder: settings, participants, sessions, answers, processing outputs.

    Open an existing study with ``Study(path)`` (or :meth:`open` by id), make
    one with :meth:`create`. Methods that change files take the study's lock
    and replace each file atomically.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()
        if not (self.root / STUDY_FILE).is_file():
            raise InputError(f"{self.root}: not a study folder (no {STUDY_FILE})")
        self.id = self.root.name

    # ------------------------------------------------------------------ creation

    @classmethod
    def create(cls, study_id: str, settings: StudySettings | None = None,
               parent: str | Path | None = None) -> Study:
        """A new, empty study ``<studies folder>/<study_id>/``; refused if one exists."""
        check_id(study_id, "study id")
        settings = (settings or StudySettings(name=study_id)).checked()
        root = Path(parent) if parent is not None else studies_dir()
        folder = root / study_id.strip()
        if (folder / STUDY_FILE).exists():
            raise InputError(f"study id {study_id!r}: a study with this id exists; open it instead")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            write_json(folder / STUDY_FILE, {**settings.to_dict(), "created_at": now()})
            _write_csv(folder / PARTICIPANTS_FILE, [], PARTICIPANT_COLUMNS)
        except OSError as exc:
            raise InputError(f"{folder}: cannot create the study ({exc.strerror})") from None
        return cls(folder)

    @classmethod
    def open(cls, study_id: str, parent: str | Path | None = None) -> Study:
        check_id(study_id, "study id")
        return cls((Path(parent) if parent is not None else studies_dir()) / study_id.strip())

    def lock(self) -> FileLock:
        """The study's write lock (two browser tabs or a tab and a command line never interleave writes)."""
        return FileLock(str(self.root / ".lock"), timeout=LOCK_WAIT_S)

    def _locked(self):
        lock = self.lock()
        try:
            lock.acquire()
        except Timeout:
            raise InputError(f"{self.root}: busy (another process is writing the study); try again") from None
        return lock

    def _inside(self, *parts: str) -> Path:
        """A path under the study folder built from checked parts; never outside it."""
        path = self.root.joinpath(*parts).resolve()
        if not path.is_relative_to(self.root):
            raise InputError(f"{'/'.join(parts)}: outside the study folder")
        return path

    # ------------------------------------------------------------------ settings

    @property
    def settings(self) -> StudySettings:
        return StudySettings.from_dict(read_json(self.root / STUDY_FILE), str(self.root / STUDY_FILE))

    def save_settings(self, settings: StudySettings) -> StudySettings:
        """Replace the study's settings (sessions already recorded keep the questions they were asked)."""
        settings = settings.checked()
        with self._locked():
            data = read_json(self.root / STUDY_FILE)
            write_json(self.root / STUDY_FILE, {**data, **settings.to_dict(), "updated_at": now()})
        return settings

    # ------------------------------------------------------------------ participants

    def participants(self) -> list[Participant]:
        rows = _read_csv_rows(self.root / PARTICIPANTS_FILE, PARTICIPANT_COLUMNS)
        return [Participant(**row) for row in rows]

    def participant(self, participant: str) -> Participant:
        participant = check_id(participant, "participant id")
        for p in self.participants():
            if p.participant == participant:
                return p
        raise InputError(f"participant id {participant!r}: not in this study")

    def _save_participants(self, people: list[Participant]) -> None:
        _write_csv(self.root / PARTICIPANTS_FILE, [asdict(p) for p in people], PARTICIPANT_COLUMNS)

    def add_participant(self, participant: str, consent: bool = False) -> Participant:
        """Add a pseudonymous id; with ``consent`` the study's consent text is recorded as agreed now."""
        participant = check_id(participant, "participant id")
        with self._locked():
            people = self.participants()
            if any(p.participant.lower() == participant.lower() for p in people):
                raise InputError(f"participant id {participant!r}: already in this study")
            text = self.settings.consent_text
            person = Participant(participant, now(), now() if consent else "", text if consent else "")
            self._save_participants([*people, person])
        return person

    def give_consent(self, participant: str) -> Participant:
        """Record that ``participant`` ticked the consent box for the study's current consent text."""
        with self._locked():
            people = self.participants()
            person = self.participant(participant)
            updated = replace(person, consented_at=now(), consent_text=self.settings.consent_text)
            self._save_participants([updated if p.participant == person.participant else p for p in people])
        return updated

    def delete_participant(self, participant: str) -> DeletionReport:
        """Remove every file and row of a participant, and say what was removed.

        Their recordings, sentence clips and eGeMAPS rows, corrections,
        personal model, cached feature vectors of their audio, and the
        training copies of this study's table (which hold their rows). Run
        folders trained on the study are listed, not deleted.
        """
        person = self.participant(participant)
        pid = person.participant
        report = DeletionReport(pid)
        with self._locked():
            recordings = self._inside(RECORDINGS, pid)
            processed = self._inside(PROCESSED, pid)
            sessions = self.sessions(pid)
            report.sessions = len(sessions)
            audio = [self._inside(RECORDINGS, pid, s.session, a.audio) for s in sessions for a in s.answers.values()]
            report.recordings = sum(p.is_file() for p in audio)
            clips = sorted(processed.rglob("clips/*.wav")) if processed.is_dir() else []
            report.sentence_clips = len(clips)
            for features in processed.rglob(FEATURES_FILE) if processed.is_dir() else []:
                report.feature_rows += len(pd.read_csv(features))
            report.cached_features = _forget_cached_features([*audio, *clips])
            corrections = self._corrections()
            table, _, _ = self.sentences()
            mine = table[table["speaker"] == pid] if len(table) else table
            texts = {*mine.get("text", []), *mine.get("asr_text", []),
                     *(c["text"] for c in corrections if _belongs_to(c["utterance_id"], pid))}
            report.cached_text_vectors = forget_texts(sorted(texts))
            kept = [c for c in corrections if not _belongs_to(c["utterance_id"], pid)]
            report.corrections = len(corrections) - len(kept)
            models = self._inside(MODELS, pid)
            report.personal_models = int(models.is_dir() and any(models.iterdir()))
            report.training_copies, report.runs_trained_on_it = _training_copies(self)
            for path in report.training_copies:
                Path(path).unlink(missing_ok=True)
                Path(path + ".meta.json").unlink(missing_ok=True)
            for folder in (recordings, processed, models):
                shutil.rmtree(folder, ignore_errors=True)
            if report.corrections:
                _write_csv(self.root / CORRECTIONS_FILE, kept, CORRECTION_COLUMNS)
            self._save_participants([p for p in self.participants() if p.participant != pid])
        return report

    # ------------------------------------------------------------------ sessions

    def _session_dir(self, participant: str, session: str) -> Path:
        check_id(participant, "participant id")
        if not SESSION_ID.fullmatch(session):
            raise InputError(f"session {session!r}: not a session id (s01, s02, ...)")
        return self._inside(RECORDINGS, participant, session)

    def sessions(self, participant: str | None = None) -> list[Session]:
        """Every session (of one participant, if given), ordered by participant and session."""
        folder = self.root / RECORDINGS
        people = [check_id(participant, "participant id")] if participant else \
            sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
        out = []
        for pid in people:
            base = folder / pid
            if not base.is_dir() or not ID.fullmatch(pid):
                continue
            for sdir in sorted(base.iterdir(), key=lambda p: p.name):
                if SESSION_ID.fullmatch(sdir.name) and (sdir / SESSION_FILE).is_file():
                    out.append(Session.from_dict(read_json(sdir / SESSION_FILE), str(sdir / SESSION_FILE)))
        return sorted(out, key=lambda s: (s.participant, int(s.session[1:])))

    def session(self, participant: str, session: str) -> Session:
        path = self._session_dir(participant, session) / SESSION_FILE
        if not path.is_file():
            raise InputError(f"session {participant}/{session}: not in this study")
        return Session.from_dict(read_json(path), str(path))

    def _save_session(self, session: Session) -> None:
        write_json(self._session_dir(session.participant, session.session) / SESSION_FILE, session.to_dict())

    def unfinished_sessions(self, participant: str) -> list[Session]:
        return [s for s in self.sessions(participant) if not s.finished]

    def start_session(self, participant: str, condition: str, note: str = "", stress_task: bool = False) -> Session:
        """A new session with the study's current questions; the participant must have consented.

        With ``stress_task`` the session begins with the timed serial subtraction.
        """
        person = self.participant(participant)
        if not person.consented:
            raise InputError(f"participant {person.participant}: consent not given yet (tick the consent box "
                             "before recording)")
        settings = self.settings
        cond = settings.condition(condition)
        with self._locked():
            numbers = [int(s.session[1:]) for s in self.sessions(person.participant)]
            sid = f"s{max(numbers, default=0) + 1:02d}"
            session = Session(person.participant, sid, cond.name, cond.stress, note.strip(),
                              settings.questions, now(), stress_task=_task_record(settings.stress_task)
                              if stress_task else None)
            self._session_dir(person.participant, sid).mkdir(parents=True, exist_ok=False)
            self._save_session(session)
        return session

    def _update_session(self, participant: str, session: str, change: Callable[[Session], Session]) -> Session:
        with self._locked():
            updated = change(self.session(participant, session))
            self._save_session(updated)
        return updated

    def start_stress_task(self, participant: str, session: str) -> Session:
        """Record the start (or a restart) of the timed serial subtraction, before the questions."""
        task = self.settings.stress_task

        def change(s: Session) -> Session:
            if s.answers:
                raise InputError(f"session {s.key}: the stress task comes before the questions; "
                                 "answers are already recorded")
            return replace(s, stress_task={**(s.stress_task or _task_record(task)), "started_at": now(),
                                           "ended_at": "", "duration_s": None, "skipped": False})
        return self._update_session(participant, session, change)

    def end_stress_task(self, participant: str, session: str, skipped: bool = False) -> Session:
        """Record the end of the stress task and its measured duration (or that it was skipped)."""
        def change(s: Session) -> Session:
            if not s.stress_task:
                raise InputError(f"session {s.key}: has no stress task")
            if s.stress_task.get("ended_at"):
                return s
            if skipped:
                return replace(s, stress_task={**s.stress_task, "ended_at": now(), "skipped": True})
            if not s.stress_task.get("started_at"):
                raise InputError(f"session {s.key}: the stress task was not started")
            ended = now()
            seconds = (datetime.fromisoformat(ended) - datetime.fromisoformat(s.stress_task["started_at"]))
            return replace(s, stress_task={**s.stress_task, "ended_at": ended,
                                           "duration_s": round(seconds.total_seconds(), 1)})
        return self._update_session(participant, session, change)

    def save_answer(self, participant: str, session: str, question: int, data: bytes,
                    name: str = "recording") -> Answer:
        """Write a monologue to disk now (atomically) and record it in session.json.

        WAV and FLAC are kept as they are; other formats (a browser's WebM, an
        mp3 upload) are decoded and stored as 16 kHz mono FLAC. Re-recording
        replaces the audio and clears that answer's ratings (they were about
        the previous take).
        """
        from muser_core.audio.decode import TARGET_SR, load_audio

        current = self.session(participant, session)
        if not 1 <= question <= len(current.questions):
            raise InputError(f"question {question}: this session has questions 1-{len(current.questions)}")
        signal = load_audio(data, name)   # refuses broken, empty or silent audio, naming it
        kind = _audio_kind(data)
        if kind is None:
            import soundfile

            buffer = io.BytesIO()
            soundfile.write(buffer, signal, TARGET_SR, format="FLAC")
            data, kind = buffer.getvalue(), "flac"
        folder = self._session_dir(current.participant, current.session)
        target = folder / f"q{question}.{kind}"
        with self._locked():
            _write_atomic(target, lambda tmp: tmp.write_bytes(data))
            for other in ("wav", "flac"):   # a re-recording in the other format replaces the old file
                if other != kind:
                    (folder / f"q{question}.{other}").unlink(missing_ok=True)
            answer = Answer(question, target.name, sha256_bytes(data), now(), round(len(signal) / TARGET_SR, 2))
            latest = self.session(current.participant, current.session)
            self._save_session(replace(latest, answers={**latest.answers, question: answer}, finished_at=""))
        return answer

    def rate_answer(self, participant: str, session: str, question: int, activation: int, valence: int) -> Session:
        """Store the two 1-9 self-ratings of an answer; the session is finished when every answer is rated."""
        for label, value in (("activation", activation), ("valence", valence)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not RATING[0] <= value <= RATING[1]:
                raise InputError(f"{label}: {value!r} is not a whole number from {RATING[0]} to {RATING[1]}")

        def change(s: Session) -> Session:
            answer = s.answers.get(question)
            if answer is None:
                raise InputError(f"question {question}: no answer recorded yet; record it before rating")
            answers = {**s.answers, question: replace(answer, activation=int(activation), valence=int(valence),
                                                      rated_at=now())}
            s = replace(s, answers=answers)
            return replace(s, finished_at=s.finished_at or (now() if s.next_question is None else ""))
        return self._update_session(participant, session, change)

    def answer_path(self, session: Session, question: int) -> Path | None:
        answer = session.answers.get(question)
        if answer is None:
            return None
        return self._inside(RECORDINGS, session.participant, session.session, answer.audio)

    # ------------------------------------------------------------------ corrections

    def _corrections(self) -> list[dict]:
        return _read_csv_rows(self.root / CORRECTIONS_FILE, CORRECTION_COLUMNS)

    def correct_transcript(self, utterance_id: str, text: str) -> None:
        """Store a hand correction of one sentence's transcript; an empty text goes back to the recogniser's.

        The correction remembers which audio and which span it was made for, so
        reprocessing keeps it, and a re-recorded or re-cut sentence is not
        given a correction meant for another one.
        """
        table, _, _ = self.sentences()
        row = table[table["utterance_id"] == utterance_id]
        if row.empty:
            raise InputError(f"sentence {utterance_id!r}: not in this study's processed sentences")
        row = row.iloc[0]
        with self._locked():
            kept = [c for c in self._corrections() if c["utterance_id"] != utterance_id]
            text = " ".join(text.split())
            if text and text != row["asr_text"]:
                kept.append({"utterance_id": utterance_id, "text": text, "asr_text": row["asr_text"],
                             "source_sha256": row["source_sha256"], "start_s": row["start_s"],
                             "end_s": row["end_s"], "corrected_at": now()})
            _write_csv(self.root / CORRECTIONS_FILE, kept, CORRECTION_COLUMNS)

    # ------------------------------------------------------------------ processing

    def _answer_out(self, session: Session, question: int) -> Path:
        return self._inside(PROCESSED, session.participant, session.session, f"q{question}")

    def process(self, recogniser, progress: Callable[[int, int, str], None] | None = None) -> ProcessReport:
        """Cut every recorded answer into sentences and extract their eGeMAPS (paper 4.2, 3.3).

        Answers already processed from the same audio with the same recogniser
        are kept as they are; a bad answer (unreadable, no words) is skipped
        and counted, and stale outputs are removed so they cannot be read as
        current. Each answer's outputs replace the old ones in one rename.
        """
        from muser_core.audio.segment import segment_signal, write_segments

        described = recogniser.describe()
        report = ProcessReport()
        todo = [(s, k) for s in self.sessions() for k in sorted(s.answers)]
        wanted = {self._answer_out(s, k) for s, k in todo}
        report.removed += _remove_orphans(self.root / PROCESSED, wanted)
        for n, (session, question) in enumerate(todo, start=1):
            answer = session.answers[question]
            label = f"{session.key} q{question}"
            if progress:
                progress(n - 1, len(todo), label)
            out = self._answer_out(session, question)
            # Unique per call: two browser tabs may process the same study at once (threads of one process).
            tmp = out.with_name(f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
            record = _segment_record(out)
            if record and record.get("source_sha256") == answer.sha256 and record.get("recogniser") == described \
                    and (out / FEATURES_FILE).is_file():
                report.up_to_date += 1
                report.sentences += int(record.get("sentences", 0))
                continue
            try:
                from muser_core.audio.decode import load_audio

                signal = load_audio(self.answer_path(session, question), label)
                sentences = segment_signal(signal, recogniser)
                if not sentences:
                    raise InputError(f"{label}: no words were recognised, so there is no sentence to cut")
                write_segments(signal, sentences, tmp, f"{session.participant}_{session.session}_q{question}",
                               recogniser=described,
                               record={"source": answer.audio, "source_sha256": answer.sha256,
                                       "recogniser": described})
                skipped = _write_features(tmp)
                report.skipped += skipped
                with self._locked():
                    _replace_folder(out, tmp)
                report.processed += 1
                report.sentences += len(sentences)
            except Exception as exc:  # one bad answer must not stop the batch or lose what is done
                reason = str(exc) if isinstance(exc, InputError) else f"{label}: processing failed ({type(exc).__name__}: {exc})"
                report.skipped.append(Skipped(label, reason))
                if out.exists():   # outputs of an older take would be read as this one's
                    shutil.rmtree(out, ignore_errors=True)
                    report.removed += 1
                shutil.rmtree(tmp, ignore_errors=True)
        if progress:
            progress(len(todo), len(todo), "done")
        return report

    # ------------------------------------------------------------------ the study as a table

    def sentences(self) -> tuple[pd.DataFrame, list[str], list[Skipped]]:
        """One row per processed sentence with its labels, features and transcript; notes; skipped items.

        Only outputs made from the answer's current audio are used; answers
        not processed yet, or re-recorded since, are counted as skipped.
        """
        from muser_core.features.acoustic import EGEMAPS_FEATURES

        rows, skipped, notes = [], [], []
        for session in self.sessions():
            for question in sorted(session.answers):
                answer = session.answers[question]
                label = f"{session.key} q{question}"
                out = self._answer_out(session, question)
                record = _segment_record(out)
                if record is None:
                    skipped.append(Skipped(label, f"{label}: not processed yet (press Process)"))
                    continue
                if record.get("source_sha256") != answer.sha256:
                    skipped.append(Skipped(label, f"{label}: re-recorded since it was processed (press Process)"))
                    continue
                manifest = pd.read_csv(out / "manifest.csv", dtype=str, keep_default_na=False)
                features = _read_features(out)
                for rec in manifest.to_dict("records"):
                    clip = (out / rec["audio_path"]).resolve()
                    if not clip.is_relative_to(out) or not clip.is_file():
                        skipped.append(Skipped(rec["utterance_id"], f"{label}: sentence clip {rec['audio_path']} "
                                                                     "missing or outside the study folder"))
                        continue
                    rows.append({
                        "utterance_id": rec["utterance_id"], "speaker": session.participant,
                        "dataset": self.id, "split": "", "text": rec["text"], "asr_text": rec["text"],
                        "audio_path": str(clip), "stress": float(session.stress),
                        "activation": np.nan if answer.activation is None else float(answer.activation),
                        "valence": np.nan if answer.valence is None else float(answer.valence),
                        "session": session.key, "condition": session.condition, "note": session.note,
                        "question": question, "question_text": session.questions[question - 1],
                        "start_s": float(rec["start_s"]), "end_s": float(rec["end_s"]),
                        "source_sha256": answer.sha256, "recogniser": rec.get("recogniser", ""),
                        **features.get(rec["utterance_id"], {})})
        columns = ["utterance_id", "speaker", "dataset", "split", "text", "asr_text", "audio_path", "stress",
                   "activation", "valence", "session", "condition", "note", "question", "question_text",
                   "start_s", "end_s", "source_sha256", "recogniser"]
        table = pd.DataFrame(rows, columns=columns + [c for c in EGEMAPS_FEATURES if any(c in r for r in rows)])
        table["corrected"] = False
        applied, stale = _apply_corrections(table, self._corrections())
        if applied:
            notes.append(f"{applied} transcript(s) corrected by hand")
        if stale:
            notes.append(f"{stale} hand correction(s) no longer match their sentence (the answer was re-recorded "
                         f"or cut differently); they are kept in {CORRECTIONS_FILE} but not applied")
        current = {c.name: c.stress for c in self.settings.conditions}
        changed = sorted({s.key for s in self.sessions() if current.get(s.condition, s.stress) != s.stress})
        if changed:
            notes.append(f"{len(changed)} session(s) keep the stress label their condition had when they were "
                         f"recorded, which the study's conditions now give otherwise ({', '.join(changed[:5])})")
        unrated = int(table["activation"].isna().sum())
        if unrated:
            notes.append(f"{unrated} sentence(s) from answers not rated yet: no activation/valence")
        return table, notes, skipped


def _task_record(task: StressTask) -> dict:
    """A session's stress-task entry before it starts: what was planned, no times yet."""
    return {"task": "serial subtraction", "start": task.start, "step": task.step,
            "instructions": task.instructions, "planned_s": task.seconds, "started_at": "", "ended_at": "",
            "duration_s": None, "skipped": False}


def _belongs_to(utterance_id: str, participant: str) -> bool:
    """Whether a sentence id (``<participant>_sNN_qK_NNN``) is the participant's."""
    match = re.fullmatch(r"(.+)_s\d{2,}_q\d+_\d{3,}", utterance_id)
    return bool(match) and match.group(1) == participant


def _audio_kind(data: bytes) -> str | None:
    """``wav`` or ``flac`` when the bytes are one of the formats the study keeps as they are."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"fLaC":
        return "flac"
    return None


def _segment_record(out: Path) -> dict | None:
    try:
        record = json.loads((out / "segment.json").read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and (out / "manifest.csv").is_file() else None


def _write_features(folder: Path) -> list[Skipped]:
    """eGeMAPS of each sentence clip in a processed answer folder, as ``egemaps.csv``; clips that fail are listed."""
    from muser_core.features.acoustic import EGEMAPS_FEATURES, extract_egemaps

    manifest = pd.read_csv(folder / "manifest.csv", dtype=str, keep_default_na=False)
    paths = [str(folder / p) for p in manifest["audio_path"]]
    features, skipped = extract_egemaps(paths)
    table = features.reindex(paths)
    table.index = manifest["utterance_id"].to_numpy()
    table.index.name = "utterance_id"
    table[EGEMAPS_FEATURES].to_csv(folder / FEATURES_FILE)
    return skipped


def _read_features(folder: Path) -> dict[str, dict[str, float]]:
    path = folder / FEATURES_FILE
    if not path.is_file():
        return {}
    table = pd.read_csv(path, index_col="utterance_id", dtype={"utterance_id": str})
    return {uid: {k: v for k, v in row.items() if np.isfinite(v)} for uid, row in table.iterrows()}


def _replace_folder(target: Path, new: Path) -> None:
    """Put ``new`` where ``target`` is: the old folder is moved aside first and removed after."""
    old = target.with_name(f".{target.name}.{os.getpid()}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def _remove_orphans(processed: Path, wanted: set[Path]) -> int:
    """Remove processed answer folders whose answer no longer exists; how many."""
    if not processed.is_dir():
        return 0
    removed = 0
    for folder in processed.glob("*/*/q*"):
        if folder.is_dir() and folder.resolve() not in wanted:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


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


def _forget_cached_features(paths: list[Path]) -> int:
    """Remove the eGeMAPS cache entries of these files (the cache is keyed by content); how many."""
    from muser_core.features.acoustic import FeatureCache, content_key

    cache, removed = FeatureCache(), 0
    for path in paths:
        if path.is_file():
            entry = cache._file(content_key(path))
            if entry.is_file():
                entry.unlink()
                removed += 1
    return removed


def _training_copies(study: Study) -> tuple[list[str], list[str]]:
    """Tables the Train page copied from this study (runs/.corpora/study-<id>-*), and runs that read them."""
    from muser_core.base.paths import runs_dir

    name = re.compile(rf"study-{re.escape(study.id)}-[0-9a-f]{{10}}\.csv")
    copies = sorted(str(p) for p in (runs_dir() / ".corpora").glob("study-*.csv") if name.fullmatch(p.name))
    runs = []
    if copies and runs_dir().is_dir():
        for config in runs_dir().glob("**/config.json"):
            try:
                corpus = json.loads(config.read_text()).get("data", {}).get("corpus", "")
            except (OSError, ValueError, AttributeError):
                continue
            if corpus in copies:
                runs.append(config.parent.name)
    return copies, sorted(runs)


@dataclass
class ProcessReport:
    """What one processing pass did: answers processed, kept (up to date), skipped with reasons, removed."""

    processed: int = 0
    up_to_date: int = 0
    removed: int = 0
    sentences: int = 0
    skipped: list[Skipped] = field(default_factory=list)

    def message(self) -> str:
        line = (f"{self.processed} answer(s) processed, {self.up_to_date} already up to date, "
                f"{len(self.skipped)} skipped; {self.sentences} sentences in all")
        if self.removed:
            line += f"; {self.removed} stale output folder(s) removed"
        return line


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
    table, notes, skipped = study.sentences()
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
             *root.glob(f"{PROCESSED}/*/*/q*/segment.json"), *root.glob(f"{PROCESSED}/*/*/q*/{FEATURES_FILE}")]
    for path in sorted(files):
        try:
            stat = path.stat()
        except OSError:
            continue
        digest.update(f"{path.relative_to(root)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]

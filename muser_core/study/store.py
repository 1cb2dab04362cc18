"""The study folder: a study's settings, participants, sessions and answers as plain files.

A study is a folder under ``data/studies/`` (or ``MUSER_STUDIES_DIR``)::

    <study>/study.json                   name, questions, conditions (name -> stress 0/1), consent text,
                                         stress task settings
    <study>/participants.csv             participant, added_at, consented_at, consent_text (pseudonymous ids)
    <study>/recordings/<p>/<s>/session.json   participant, condition, note, questions as asked,
                                         stress task timing, answers (audio file, SHA-256, ratings)
    <study>/recordings/<p>/<s>/q1.wav    one monologue per question (WAV or FLAC), written when recorded
    <study>/processed/<p>/<s>/q1/        clips/, manifest.csv, segment.json (muser_core.segment's output),
                                         egemaps.csv (88 eGeMAPS per sentence clip): muser_core.study.process
    <study>/corrections.csv              transcripts corrected by hand (kept through reprocessing)
    <study>/models/<p>/                  a personal model (muser_core.study.personal_model)

Every file is replaced atomically (:mod:`muser_core.base.files`) under the
study's lock, so a closed browser or a killed process leaves each file
either old or new; an answer is on disk as soon as it is recorded, and an
unfinished session is continued where it stopped.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path

import numpy as np
import soundfile
from filelock import FileLock, Timeout

from muser_core.audio.decode import TARGET_SR, load_audio
from muser_core.base.errors import InputError
from muser_core.base.files import (
    atomic_write,
    read_json,
    remove_quietly,
    temporary_path,
    write_json,
)
from muser_core.base.paths import studies_default
from muser_core.study.protocol import (
    ID,
    RATING,
    SESSION_ID,
    Answer,
    Participant,
    Session,
    StudySettings,
    belongs_to,
    check_id,
    now,
)

STUDIES_VAR = "MUSER_STUDIES_DIR"
STUDY_FILE, PARTICIPANTS_FILE, CORRECTIONS_FILE, SESSION_FILE = (
    "study.json", "participants.csv", "corrections.csv", "session.json")
RECORDINGS, PROCESSED, MODELS = "recordings", "processed", "models"
LOCK_WAIT_S = 10.0
# What a failed write leaves, ending the one line a full or read-only disk gives (``Study.locked``).
UNCHANGED = "nothing in the study was changed"
PARTLY_DELETED = "the participant may be partly deleted; delete them again once the disk can be written"
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}   # what only a write can hit
PARTICIPANT_COLUMNS = ["participant", "added_at", "consented_at", "consent_text"]
CORRECTION_COLUMNS = ["utterance_id", "text", "asr_text", "source_sha256", "start_s", "end_s", "corrected_at"]


def studies_dir() -> Path:
    """Where studies live: ``MUSER_STUDIES_DIR``, else :func:`~muser_core.base.paths.studies_default`."""
    return Path(os.environ.get(STUDIES_VAR) or studies_default())


def list_studies(root: str | Path | None = None) -> list[str]:
    """Ids of the studies (folders holding a study.json) under the studies folder, sorted."""
    root = Path(root) if root is not None else studies_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and ID.fullmatch(p.name)
                  and (p / STUDY_FILE).is_file())


def _write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
    atomic_write(path, write)


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
    """The SHA-256 of an answer's audio, as session.json keeps it (processing checks it is still the same take)."""
    return hashlib.sha256(data).hexdigest()


def _audio_kind(data: bytes) -> str | None:
    """``wav`` or ``flac`` when the bytes are one of the formats the study keeps as they are."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"fLaC":
        return "flac"
    return None


class Study:
    """One study folder: settings, participants, sessions, answers.

    Open an existing study with ``Study(path)`` (or :meth:`open` by id), make
    one with :meth:`create`. Methods that change files take the study's lock
    and replace each file atomically. Processing lives in
    :mod:`muser_core.study.process`, the sentences table in
    :mod:`muser_core.study.table`, deleting a participant everywhere in
    :mod:`muser_core.privacy`.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()
        if not (self.root / STUDY_FILE).is_file():
            raise InputError(f"{self.root}: not a study folder (no {STUDY_FILE})")
        self.id = self.root.name
        # One lock object per Study: re-entrant within a thread, so a job that holds it (processing,
        # deletion) may call methods that take it again; other threads and processes wait.
        self._lock = FileLock(str(self.root / ".lock"), timeout=LOCK_WAIT_S)

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
        """The study ``<studies folder>/<study_id>/``."""
        check_id(study_id, "study id")
        return cls((Path(parent) if parent is not None else studies_dir()) / study_id.strip())

    def lock(self) -> FileLock:
        """The study's write lock (two browser tabs or a tab and a command line never interleave writes)."""
        return self._lock

    @contextmanager
    def locked(self, if_failed: str = UNCHANGED) -> Iterator[None]:
        """``with study.locked(): ...`` holds the lock; one line when another process holds it too long.

        An OSError inside (a full or read-only disk) becomes one line naming the
        file, ending with ``if_failed``: what such a failure leaves. The default
        holds for an operation that replaces one file whole (``atomic_write``);
        one that changes several files says what a user should do instead.
        """
        try:
            self._lock.acquire()
        except Timeout:
            raise InputError(f"{self.root}: busy (another process is writing the study); try again") from None
        try:
            yield
        except OSError as exc:
            verb = "cannot write" if exc.errno in WRITE_ERRNOS else "cannot read or write"
            raise InputError(f"{exc.filename or self.root}: {verb} ({exc.strerror or exc}); {if_failed}") from None
        finally:
            self._lock.release()

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
        with self.locked():
            data = read_json(self.root / STUDY_FILE)
            write_json(self.root / STUDY_FILE, {**data, **settings.to_dict(), "updated_at": now()})
        return settings

    # ------------------------------------------------------------------ participants

    def participants(self) -> list[Participant]:
        rows = _read_csv_rows(self.root / PARTICIPANTS_FILE, PARTICIPANT_COLUMNS)
        return [Participant(**row) for row in rows]

    def participant(self, participant: str) -> Participant:
        """The participant with this id, or one line saying it is not in the study."""
        participant = check_id(participant, "participant id")
        for p in self.participants():
            if p.participant == participant:
                return p
        raise InputError(f"participant id {participant!r}: not in this study")

    def has_participant(self, participant: str) -> bool:
        """Whether this id is (still) in the study."""
        return any(p.participant == participant for p in self.participants())

    def _save_participants(self, people: list[Participant]) -> None:
        _write_csv(self.root / PARTICIPANTS_FILE, [asdict(p) for p in people], PARTICIPANT_COLUMNS)

    def add_participant(self, participant: str, consent: bool = False) -> Participant:
        """Add a pseudonymous id; with ``consent`` the study's consent text is recorded as agreed now."""
        participant = check_id(participant, "participant id")
        with self.locked():
            people = self.participants()
            if any(p.participant.lower() == participant.lower() for p in people):
                raise InputError(f"participant id {participant!r}: already in this study")
            text = self.settings.consent_text
            person = Participant(participant, now(), now() if consent else "", text if consent else "")
            self._save_participants([*people, person])
        return person

    def give_consent(self, participant: str) -> Participant:
        """Record that ``participant`` ticked the consent box for the study's current consent text."""
        with self.locked():
            people = self.participants()
            person = self.participant(participant)
            updated = replace(person, consented_at=now(), consent_text=self.settings.consent_text)
            self._save_participants([updated if p.participant == person.participant else p for p in people])
        return updated

    def recordings_dir(self, participant: str) -> Path:
        """``recordings/<participant>/``: their sessions and answer audio."""
        return self._inside(RECORDINGS, check_id(participant, "participant id"))

    def processed_dir(self, participant: str) -> Path:
        """``processed/<participant>/``: the sentence clips and features cut from their answers."""
        return self._inside(PROCESSED, check_id(participant, "participant id"))

    def model_dir(self, participant: str) -> Path:
        """``models/<participant>/``: their personal model."""
        return self._inside(MODELS, check_id(participant, "participant id"))

    def remove_participant(self, participant: str) -> None:
        """Remove a participant's folders, corrections and row from the study folder.

        Only the study folder: caches and training copies made from their
        files are removed by :func:`muser_core.privacy.delete_participant`,
        which calls this last.
        """
        pid = self.participant(participant).participant
        with self.locked(PARTLY_DELETED):
            for folder in (self.recordings_dir(pid), self.processed_dir(pid), self.model_dir(pid)):
                shutil.rmtree(folder, ignore_errors=True)
            corrections = self.corrections()
            kept = [c for c in corrections if not belongs_to(c["utterance_id"], pid)]
            if len(kept) < len(corrections):
                self.save_corrections(kept)
            self._save_participants([p for p in self.participants() if p.participant != pid])

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
        """One session, or one line saying it is not in the study."""
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
        with self.locked():
            numbers = [int(s.session[1:]) for s in self.sessions(person.participant)]
            sid = f"s{max(numbers, default=0) + 1:02d}"
            session = Session(person.participant, sid, cond.name, cond.stress, note.strip(),
                              settings.questions, now(),
                              stress_task=settings.stress_task.planned() if stress_task else None)
            folder = self._session_dir(person.participant, sid)
            folder.mkdir(parents=True, exist_ok=False)
            try:
                self._save_session(session)
            except OSError:
                folder.rmdir()   # an empty session folder would block the next session's id
                raise
        return session

    def _update_session(self, participant: str, session: str, change: Callable[[Session], Session]) -> Session:
        with self.locked():
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
            return replace(s, stress_task={**(s.stress_task or task.planned()), "started_at": now(),
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
        current = self.session(participant, session)
        if not 1 <= question <= len(current.questions):
            raise InputError(f"question {question}: this session has questions 1-{len(current.questions)}")
        signal = load_audio(data, name)   # refuses broken, empty or silent audio, naming it
        kind = _audio_kind(data)
        if kind is None:
            buffer = io.BytesIO()
            soundfile.write(buffer, signal, TARGET_SR, format="FLAC")
            data, kind = buffer.getvalue(), "flac"
        folder = self._session_dir(current.participant, current.session)
        target = folder / f"q{question}.{kind}"
        answer = Answer(question, target.name, sha256_bytes(data), now(), round(len(signal) / TARGET_SR, 2))
        # The new take is written whole before session.json names it and renamed into place after, so a
        # full disk at either write leaves the previous take and its ratings as they were.
        take = temporary_path(target)
        with self.locked():
            try:
                try:
                    take.write_bytes(data)
                except OSError as exc:
                    exc.filename = str(target)   # name the answer's file, not the hidden temporary one
                    raise
                latest = self.session(current.participant, current.session)
                self._save_session(replace(latest, answers={**latest.answers, question: answer}, finished_at=""))
                os.replace(take, target)
            finally:
                remove_quietly(take)
            for other in ("wav", "flac"):   # a re-recording in the other format replaces the old file
                if other != kind:   # quietly: the new take is saved; a stale file in the other format is unused
                    remove_quietly(folder / f"q{question}.{other}")
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
        """The audio file of an answer; None when the question has no answer yet."""
        answer = session.answers.get(question)
        if answer is None:
            return None
        return self._inside(RECORDINGS, session.participant, session.session, answer.audio)

    def answer_output(self, session: Session, question: int) -> Path:
        """``processed/<p>/<s>/q<k>/``: where processing puts an answer's sentences."""
        return self._inside(PROCESSED, session.participant, session.session, f"q{question}")

    # ------------------------------------------------------------------ corrections

    def corrections(self) -> list[dict]:
        """The rows of corrections.csv (:func:`muser_core.study.table.correct_transcript` writes them)."""
        return _read_csv_rows(self.root / CORRECTIONS_FILE, CORRECTION_COLUMNS)

    def save_corrections(self, rows: list[dict]) -> None:
        """Replace corrections.csv with ``rows``."""
        with self.locked():
            _write_csv(self.root / CORRECTIONS_FILE, rows, CORRECTION_COLUMNS)

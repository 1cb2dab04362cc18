"""What a study is: the protocol a session follows and the records it leaves (paper section 3.1).

Participants are recorded in sessions labelled by a condition (in MuSE:
during final exams, stressed, and after them, not stressed). In a session
they answer a few emotion-eliciting questions, one monologue each, and rate
their own activation (calm .. excited) and valence (negative .. positive) on
1-9 scales after each answer; a session may begin with a timed stress task.
Every sentence later cut from a monologue keeps its session's stress label
and its monologue's ratings, as in MuSE.

Ids (study, participant) are letters, digits, ``-`` and ``_``: pseudonymous
codes, never names, and no path a user types can leave the study folder.
Everything here is a frozen value with its checks; :mod:`muser_core.study.store`
keeps them on disk.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone

from muser_core.base.errors import InputError

FORMAT = 1                        # study.json's "format": bumped if the layout ever changes
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
SESSION_ID = re.compile(r"s(\d{2,})")
SENTENCE_ID = re.compile(r"(.+)_s\d{2,}_q\d+_\d{3,}")   # <participant>_sNN_qK_NNN, see answer_prefix
RATING = (1, 9)                   # self-assessment manikin scale, as MuSE's self-reports
MIN_PARTICIPANTS_SPEAKER_SPLIT = 3  # fewer: no speaker-independent train/validation/test split
STUDY_SPLITS = ("speaker", "session", "paper")

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


def now() -> str:
    """A UTC time stamp as written in the study's files."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def check_id(value: str, what: str) -> str:
    """A study or participant id: letters, digits, ``-`` and ``_`` (at most 40), or one line saying why not."""
    value = value.strip() if isinstance(value, str) else value
    if not isinstance(value, str) or not ID.fullmatch(value):
        raise InputError(f"{what} {value!r}: use letters, digits, '-' and '_' only (at most 40, starting "
                         "with a letter or digit); a pseudonymous code such as P01, never a name")
    return value


def answer_prefix(participant: str, session: str, question: int) -> str:
    """The start of the ids of the sentences cut from one answer: ``P01_s02_q3`` (then ``_001``, ``_002``...)."""
    return f"{participant}_{session}_q{question}"


def belongs_to(utterance_id: str, participant: str) -> bool:
    """Whether a sentence id (``<participant>_sNN_qK_NNN``) is the participant's."""
    match = SENTENCE_ID.fullmatch(utterance_id)
    return bool(match) and match.group(1) == participant


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

    def planned(self) -> dict:
        """A session's stress-task entry before it starts: what was planned, no times yet."""
        return {"task": "serial subtraction", "start": self.start, "step": self.step,
                "instructions": self.instructions, "planned_s": self.seconds, "started_at": "", "ended_at": "",
                "duration_s": None, "skipped": False}


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
        """The condition called ``name``, or one line listing the study's."""
        for c in self.conditions:
            if c.name == name:
                return c
        raise InputError(f"condition {name!r}: not one of this study's ({', '.join(c.name for c in self.conditions)})")

    def to_dict(self) -> dict:
        return {"format": FORMAT, "name": self.name, "questions": list(self.questions),
                "conditions": [asdict(c) for c in self.conditions], "consent_text": self.consent_text,
                "stress_task": asdict(self.stress_task)}

    @classmethod
    def from_dict(cls, data: dict, label: str = "study settings") -> StudySettings:
        """Settings as study.json holds them, checked; ``label`` names the file in the one-line error."""
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
        """A session as session.json holds it; ``label`` names the file in the one-line error."""
        try:
            answers = {int(k): Answer(**a) for k, a in data.get("answers", {}).items()}
            return cls(**{**data, "questions": tuple(data["questions"]), "answers": answers})
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{label}: not a session file ({type(exc).__name__}: {exc})") from None

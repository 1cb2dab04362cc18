"""A study seen as tables: its sessions, and its sentences by participant and condition (no Streamlit)."""

from __future__ import annotations

import pandas as pd

from muser_core.study.protocol import Session
from muser_core.study.store import Study


def session_status(session: Session) -> str:
    """Where a session stands, in a few words."""
    if session.finished:
        return "finished"
    if session.stress_task_pending:
        return "stress task"
    return f"question {session.next_question} of {len(session.questions)}"


def _task_summary(task: dict | None) -> str:
    """The stress task of a session in a few words: its measured seconds, skipped, running or none."""
    if not task:
        return ""
    if task.get("skipped"):
        return "skipped"
    if task.get("duration_s") is not None:
        return f"{task['duration_s']:.0f} s"
    return "started" if task.get("started_at") else "not started"


def sessions_overview(study: Study, sentences: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per session: who, condition, note, answers recorded and rated, sentences, stress task, status."""
    counts = sentences.groupby("session").size() if sentences is not None and len(sentences) else pd.Series(dtype=int)
    rows = []
    for s in study.sessions():
        task = s.stress_task or {}
        rows.append({"participant": s.participant, "session": s.session, "condition": s.condition,
                     "stress": s.stress, "note": s.note, "recorded": f"{len(s.answers)}/{len(s.questions)}",
                     "rated": s.answered, "sentences": int(counts.get(s.key, 0)),
                     "stress task": _task_summary(task),
                     "status": session_status(s), "started": s.started_at[:16].replace("T", " ")})
    columns = ["participant", "session", "condition", "stress", "note", "recorded", "rated", "sentences",
               "stress task", "status", "started"]
    return pd.DataFrame(rows, columns=columns)


def sentence_balance(sentences: pd.DataFrame) -> pd.DataFrame:
    """Sentences per participant and condition, with sessions and the stressed share (in %) per participant."""
    if sentences.empty:
        return pd.DataFrame()
    table = sentences.pivot_table(index="speaker", columns="condition", values="utterance_id",
                                  aggfunc="count", fill_value=0)
    table["sessions"] = sentences.groupby("speaker")["session"].nunique()
    table["sentences"] = sentences.groupby("speaker").size()
    # A percentage, as the page's "Stressed share" metric reads (a share of 1 stood beside "100 %").
    table["stressed %"] = (100 * sentences.groupby("speaker")["stress"].mean()).round(0)
    table.index.name = "participant"
    return table.reset_index()

"""The tasks MUSER learns (paper 4.1), written once: every module, page and test reads them here.

A corpus labels ``stress`` (the main task, a 2-way classification) and the
emotions ``activation`` and ``valence`` (regressions). An *external* emotion
corpus (paper 4.1, Table 9) adds its own emotion heads, ``ext_activation``
and ``ext_valence``.
"""

from __future__ import annotations

MAIN_TASK = "stress"                                  # the task early stopping and the tables are about
EMOTION_TASKS = ("activation", "valence")             # the auxiliary tasks (paper 4.1)
INTERNAL_TASKS = (MAIN_TASK, *EMOTION_TASKS)          # labels of the main corpus, and its label columns
EXTERNAL_PREFIX = "ext_"
EXTERNAL_TASKS = tuple(EXTERNAL_PREFIX + t for t in EMOTION_TASKS)  # labels of the --external corpus
ALL_TASKS = INTERNAL_TASKS + EXTERNAL_TASKS


def is_classification(task: str) -> bool:
    """Stress is a 2-way classification; every emotion task is a regression (paper 4.1)."""
    return task == MAIN_TASK

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
SPLITS = ("train", "validation", "test")              # every corpus row is in one of them

# How a stress label may be written (a manifest column, a command-line flag), lower-cased.
STRESS_WORDS = {"1": 1.0, "0": 0.0, "true": 1.0, "false": 0.0, "stressed": 1.0, "s": 1.0,
                "not stressed": 0.0, "not_stressed": 0.0, "ns": 0.0, "yes": 1.0, "no": 0.0}


def is_classification(task: str) -> bool:
    """Stress is a 2-way classification; every emotion task is a regression (paper 4.1)."""
    return task == MAIN_TASK


def stress_value(value: str) -> float:
    """A stress label: 1, 0, their float spellings (1.0, as pandas writes a column with gaps) or a word.

    NaN when empty; ValueError for anything else.
    """
    value = value.strip().lower()
    if not value or value == "nan":
        return float("nan")
    if value in STRESS_WORDS:
        return STRESS_WORDS[value]
    try:
        number = float(value)
    except ValueError:
        number = None
    if number not in (0.0, 1.0):
        raise ValueError("stress is 0/1, stressed/not stressed")
    return number

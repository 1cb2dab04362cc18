"""The colours of every chart, written once: one colour per task, from the Okabe-Ito palette.

Okabe & Ito (2008), "Color Universal Design": eight colours that stay
distinguishable with the common colour-vision deficiencies. A colour means a
task and only a task in every chart; runs are told apart by line dash and seeds
by marker symbol, so a task's colour never stands for a run in the next chart.
"""

from __future__ import annotations

from muser_core.base.tasks import ALL_TASKS

OKABE_ITO = {"orange": "#E69F00", "sky blue": "#56B4E9", "bluish green": "#009E73", "yellow": "#F0E442",
             "blue": "#0072B2", "vermillion": "#D55E00", "reddish purple": "#CC79A7", "black": "#000000"}
# Chosen so that the tasks of one run (stress, activation, valence; or stress and an external set's two heads)
# stay apart under simulated protanopia, deuteranopia and tritanopia (tests/analysis/test_training_figures.py).
TASK_COLOURS = dict(zip(ALL_TASKS, (OKABE_ITO["vermillion"], OKABE_ITO["blue"], OKABE_ITO["reddish purple"],
                                    OKABE_ITO["sky blue"], OKABE_ITO["orange"]), strict=True))
NEUTRAL = "#555555"          # what is not a task (counts, a mean, a gauge's frame)
LIGHT = "#DDDDDD"            # absent, or the part of a scale not reached
RUN_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")   # runs, in order
SEED_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "x", "triangle-down", "star",
                "hexagon", "pentagon")                                       # seeds, in order


def task_colour(task: str) -> str:
    """A task's colour; a name that is not a task gets the neutral grey."""
    return TASK_COLOURS.get(task, NEUTRAL)

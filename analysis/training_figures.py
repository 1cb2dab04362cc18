"""Plotly figures of training runs: task probabilities, batches, validation curves, eq. 1 ratios.

Small multiples wrap after :data:`WRAP` panels a row and grow in height with
the number of rows, so ten runs side by side stay legible (no squashed ticks,
no overlapping panel titles). Every axis has its title; a task has its colour
in every chart (:mod:`analysis.palette`) and several runs on one panel differ
by line dash.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from analysis.palette import RUN_DASHES, TASK_COLOURS
from muser_core.base.tasks import ALL_TASKS

WRAP = 3            # panels per row
ROW_HEIGHT = 230    # pixels per row of panels, the gap included
GAP_PX = 60         # between rows: room for the x ticks above and the next panel's title
TITLE_CHARS = 42    # a panel title longer than this shows its end
BOTTOM_PX = 100     # below the last row: its x ticks, the axis title and the legend
MARGIN_PX = 30 + BOTTOM_PX   # above and below the panels
# Axis titles, by column.
AXIS_TITLES = {"epoch": "epoch", "probability": "probability", "batches": "batches", "value": "metric value",
               "ratio": "ratio r (eq. 1)", "task": "task", "run": "run"}
TASKS = {"color": "task", "color_discrete_map": TASK_COLOURS, "category_orders": {"task": list(ALL_TASKS)},
         "labels": AXIS_TITLES}


def _layout(table: pd.DataFrame, facet: str | None) -> dict:
    """facet_col, wrap, spacing and height for ``table`` split by ``facet`` (None: one panel)."""
    panels = table[facet].nunique() if facet and facet in table else 1
    rows = math.ceil(panels / WRAP)
    height = MARGIN_PX + ROW_HEIGHT * rows
    # plotly's spacing is a fraction of the whole figure: a fixed GAP_PX between rows, however many there are.
    return {"facet_col": facet if panels > 1 else None,
            "facet_col_wrap": WRAP if panels > 1 else 0,
            "facet_row_spacing": GAP_PX / (height - MARGIN_PX) if rows > 1 else 0.0,
            "facet_col_spacing": 0.06,
            "height": height}


def _runs_facet(table: pd.DataFrame) -> str | None:
    return "run" if "run" in table and table["run"].nunique() > 1 else None



def probability_figure(table: pd.DataFrame, stacked: bool = False):
    """Task probabilities per epoch; one panel per run on shared axes (paper Figure 2)."""
    import plotly.express as px

    kind = px.area if stacked else px.line
    fig = kind(table, x="epoch", y="probability", **TASKS, **_layout(table, _runs_facet(table)))
    fig.update_yaxes(range=[0, 1.02])
    return _tidy(fig)


def batches_figure(table: pd.DataFrame):
    """Batches drawn per task and epoch, stacked; one panel per run."""
    import plotly.express as px

    fig = px.bar(table, x="epoch", y="batches", **TASKS, **_layout(table, _runs_facet(table)))
    fig.update_layout(bargap=0)
    return _tidy(fig)


def validation_figure(table: pd.DataFrame, panels: Sequence[str]):
    """Validation curves, one panel per metric in its task's colour; several runs differ by line dash."""
    import plotly.express as px

    table = table[table["panel"].isin(panels)]
    runs = "run" if "run" in table and table["run"].nunique() > 1 else None
    layout = _layout(table, "panel")
    layout["facet_col_spacing"] = 0.09   # every panel has its own y ticks: room for them beside the neighbour
    # A curve of one point (a run stopped before its first epoch) is invisible as a bare line: mark the points.
    lone = bool(len(table)) and table.groupby([c for c in ("run", "panel") if c in table])["epoch"].nunique().min() == 1
    fig = px.line(table, x="epoch", y="value", line_dash=runs, line_dash_sequence=list(RUN_DASHES), markers=lone,
                  **{**TASKS, "category_orders": {"panel": list(panels), "task": list(ALL_TASKS)}}, **layout)
    fig.update_yaxes(matches=None, showticklabels=True)
    if runs:   # the legend says which dash is which run; the colour is the panel's task
        fig.for_each_trace(lambda t: t.update(name=t.name.split(", ", 1)[-1]))
        seen: set[str] = set()
        fig.for_each_trace(lambda t: t.update(showlegend=t.name not in seen and not seen.add(t.name)))
    return _tidy(fig)


def ratio_figure(table: pd.DataFrame):
    """Eq. 1's per-task ratios r over epochs (r > 1: the task is improving against its history); one panel per
    run, and a single run is named in the title."""
    import plotly.express as px

    fig = px.line(table, x="epoch", y="ratio", **TASKS, **_layout(table, _runs_facet(table)))
    fig.add_hline(y=1.0, line_dash="dot", line_color="grey")
    fig = _tidy(fig)
    if "run" in table and table["run"].nunique() == 1:
        fig.update_layout(title_text=f"run {_short(str(table['run'].iloc[0]))}", margin_t=40)
    return fig


def _short(text: str, width: int = TITLE_CHARS) -> str:
    """A panel title that fits its panel: the end of a long run name (where seed and variant are)."""
    return text if len(text) <= width else "…" + text[-(width - 1):]


def _tidy(fig):
    """Short panel titles without 'run=', few ticks per axis, axis titles kept, the legend below the panels."""
    fig.for_each_annotation(lambda a: a.update(text=_short(a.text.split("=", 1)[-1]), font_size=12))
    fig.update_xaxes(nticks=6, showticklabels=True)
    fig.update_yaxes(nticks=5)
    plot_height = (fig.layout.height or 400) - MARGIN_PX
    fig.update_layout(margin={"l": 10, "r": 10, "t": 30, "b": BOTTOM_PX}, legend_title_text="",
                      legend={"orientation": "h", "x": 0, "y": -60 / plot_height, "yanchor": "top"})
    return fig

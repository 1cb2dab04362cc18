"""Plotly figures for the indicator analysis: signed coefficients and the overlap of top-k sets.

Pure functions from an :class:`~muser_core.indicators.IndicatorAnalysis` (or plain
top-k lists) to a figure, so pages only place them and tests can inspect them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis.palette import LIGHT, NEUTRAL, task_colour
from muser_core.indicators import Annotator, IndicatorAnalysis, intersections

# The sign is told by fill, not by colour: a colour means a task in every chart (analysis.palette).
LOWERS_PATTERN = "/"


def coefficient_figure(analysis: IndicatorAnalysis, task: str, k: int | None = None,
                       annotate: Annotator | None = None) -> go.Figure:
    """Horizontal bars of the top-k signed coefficients of one task, strongest on top.

    Hover shows rank, coefficient, bootstrap stability and whatever ``annotate``
    gives (eGeMAPS group and description, or a text category's example words).
    """
    top = analysis.top(task, k).iloc[::-1]  # plotly draws the first bar at the bottom
    extra = [dict(annotate(f)) if annotate else {} for f in top["feature"]]
    hover = []
    for row, details in zip(top.itertuples(), extra, strict=True):
        lines = [f"<b>{row.feature}</b>", f"rank {row.rank}, coefficient {row.coefficient:+.3f}"]
        if not np.isnan(row.stability):
            lines.append(f"in the top k of {row.stability:.0%} of bootstrap resamples")
        lines += [f"{key}: {value}" for key, value in details.items() if value]
        hover.append("<br>".join(lines))
    figure = go.Figure(go.Bar(
        x=top["coefficient"], y=top["feature"], orientation="h",
        marker={"color": task_colour(task), "line": {"color": task_colour(task), "width": 1},
                "pattern": {"shape": ["" if c > 0 else LOWERS_PATTERN for c in top["coefficient"]],
                            "fillmode": "replace", "solidity": 0.4}},
        hovertext=hover, hoverinfo="text"))
    what = "log-odds of stress" if task == "stress" else f"{task} score"
    up, down = ("more stress", "less") if task == "stress" else (f"higher {task}", "lower")
    figure.update_layout(
        title=f"{task}: top {len(top)} coefficients (solid: {up}, hatched: {down})",
        height=max(300, 22 * len(top) + 120),
        margin=dict(l=10, r=10, t=40, b=40), xaxis_title=f"change in {what} per SD of the feature",
        yaxis=dict(automargin=True, title_text="feature"))
    return figure


def upset_figure(tops: Mapping[str, Sequence[str]]) -> go.Figure:
    """UpSet-style overlap of the top-k sets: one bar per exclusive combination of tasks.

    Below the bars a dot matrix marks which tasks each combination includes;
    hovering a bar lists its features.
    """
    table = intersections(tops)
    tasks = list(tops)
    labels = table["tasks"].tolist()
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3],
                           vertical_spacing=0.03)
    figure.add_trace(go.Bar(
        x=labels, y=table["size"], text=table["size"], textposition="outside",
        marker_color=NEUTRAL, hovertext=[f"<b>{k}</b><br>{_wrap(f)}" for k, f in
                                        zip(labels, table["features"], strict=True)],
        hoverinfo="text", showlegend=False), row=1, col=1)
    for task in tasks:
        member = [task in label.split(" & ") for label in labels]
        figure.add_trace(go.Scatter(
            x=labels, y=[task] * len(labels), mode="markers", showlegend=False, hoverinfo="skip",
            marker=dict(size=14, color=[task_colour(task) if m else LIGHT for m in member])),
            row=2, col=1)
    figure.update_xaxes(showticklabels=False, row=2, col=1)
    figure.update_xaxes(showticklabels=False, row=1, col=1)
    figure.update_yaxes(title_text="features", row=1, col=1)
    figure.update_yaxes(categoryorder="array", categoryarray=tasks[::-1], row=2, col=1)
    figure.update_layout(height=420, margin=dict(l=10, r=10, t=30, b=10),
                         title="Overlap of the top-k sets (each bar: features in exactly these tasks)")
    return figure


def _wrap(features: str, width: int = 60) -> str:
    """Break a comma-separated feature list into hover lines."""
    lines, line = [], ""
    for item in features.split(", "):
        if line and len(line) + len(item) > width:
            lines.append(line)
            line = ""
        line = f"{line}, {item}" if line else item
    return "<br>".join(lines + [line])

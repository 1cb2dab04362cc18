"""Plotly figures of a sweep: every seed's test result per row, beside the row's mean."""

from __future__ import annotations

import pandas as pd

from analysis.palette import NEUTRAL, SEED_SYMBOLS, task_colour
from analysis.sweep_views import DISPLAY_METRICS
from muser_core.base.tasks import MAIN_TASK


def seed_strip_figure(per_run: pd.DataFrame, metric: str = "accuracy"):
    """One dot per finished run (marker symbol: seed; colour: the stress task's) on each row's line, and the
    row's mean as a bar.

    Plain lists, not arrays, go into the figure: its JSON then holds the numbers themselves.

    Rows whose dots sit on top of each other trained alike on that seed (see
    :func:`analysis.sweep_views.identical_rows`); the rows keep the table's order.
    """
    import plotly.graph_objects as go

    done = per_run[per_run["state"] == "finished"]
    order = list(dict.fromkeys(per_run["label"]))
    fig = go.Figure()
    for i, (seed, runs) in enumerate(done.groupby("seed")):
        fig.add_trace(go.Scatter(
            x=runs[metric].tolist(), y=runs["label"].tolist(), mode="markers", name=f"seed {seed}",
            marker={"size": 11, "symbol": SEED_SYMBOLS[i % len(SEED_SYMBOLS)], "color": task_colour(MAIN_TASK),
                    "opacity": 0.85, "line": {"width": 1, "color": "white"}},
            customdata=runs[["best_epoch"]].to_numpy().tolist(),
            hovertemplate=f"%{{y}}<br>seed {seed}: %{{x:.3f}} (best epoch %{{customdata[0]}})<extra></extra>"))
    means = done.groupby("label")[metric].mean().reindex(order).dropna()
    fig.add_trace(go.Scatter(x=means.tolist(), y=list(means.index), mode="markers", name="mean",
                             marker={"symbol": "line-ns-open", "size": 26, "line": {"width": 3}, "color": NEUTRAL},
                             hovertemplate="%{y}<br>mean %{x:.3f}<extra></extra>"))
    fig.update_yaxes(categoryorder="array", categoryarray=order[::-1], title="sweep row")
    fig.update_xaxes(title=f"test {DISPLAY_METRICS[metric].lower()} ({MAIN_TASK})")
    fig.update_layout(height=120 + 45 * len(order), margin={"l": 10, "r": 10, "t": 30, "b": 40},
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0})
    return fig

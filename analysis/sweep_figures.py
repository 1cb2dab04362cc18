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


def reliability_figure(rows: pd.DataFrame):
    """A reliability diagram (Guo et al. 2017): per row of the sweep, accuracy against mean confidence in
    each confidence bin of its calibrated test predictions; the diagonal is perfect calibration. A marker's
    size grows with the items in its bin."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=[0.5, 1.0], y=[0.5, 1.0], mode="lines", name="perfectly calibrated",
                               line={"color": NEUTRAL, "dash": "dot"}, hoverinfo="skip"))
    biggest = max(1, int(rows["items"].max())) if len(rows) else 1
    for label, bins in rows.groupby("label", sort=False):
        fig.add_trace(go.Scatter(
            x=bins["confidence"].tolist(), y=bins["accuracy"].tolist(), mode="lines+markers", name=str(label),
            marker={"size": [6 + 14 * n / biggest for n in bins["items"]]},
            customdata=bins[["items"]].to_numpy().tolist(),
            hovertemplate=f"{label}<br>confidence %{{x:.2f}}: accuracy %{{y:.2f}} (%{{customdata[0]}} items)"
                          "<extra></extra>"))
    fig.update_xaxes(title="mean confidence of the predicted class (calibrated)", range=[0.5, 1.0])
    fig.update_yaxes(title="share right", range=[0.0, 1.02])
    fig.update_layout(height=380, margin={"l": 10, "r": 10, "t": 30, "b": 40},
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0})
    return fig

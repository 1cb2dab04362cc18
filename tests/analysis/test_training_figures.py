"""Charts: axis titles on every chart, one Okabe-Ito colour per task everywhere, runs by dash, seeds
by symbol, and the task colours told apart under simulated colour-vision deficiencies."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from conftest import make_run

from analysis import run_views as rv
from analysis import sweep_figures
from analysis import training_figures as figs
from analysis.palette import OKABE_ITO, SEED_SYMBOLS, TASK_COLOURS
from muser_core.base.tasks import ALL_TASKS, EXTERNAL_TASKS, INTERNAL_TASKS, MAIN_TASK

# Machado, Oliveira & Fernandes (2009), severity 1.0, applied to linear RGB.
CVD = {"protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                      [-0.003882, -0.048116, 1.051998]],
       "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                        [-0.011820, 0.042940, 0.968881]],
       "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                      [0.004733, 0.691367, 0.303900]]}
MIN_DELTA_E = 18.0   # CIE76; about 2.3 is a just-noticeable difference, 18 reads as two different colours


def _lab(hex_colour: str, cvd: str | None = None) -> np.ndarray:
    srgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    if cvd:
        linear = np.clip(np.array(CVD[cvd]) @ linear, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


@pytest.mark.parametrize("cvd", [None, *CVD])
def test_the_task_colours_are_told_apart_also_with_colour_blindness(cvd):
    """Stress and activation were hard to tell apart; every pair of one run's tasks is far apart under each CVD."""
    assert set(TASK_COLOURS.values()) <= set(OKABE_ITO.values()) and len(set(TASK_COLOURS.values())) == len(ALL_TASKS)
    one_run = [*itertools.combinations(INTERNAL_TASKS, 2), *itertools.combinations((MAIN_TASK, *EXTERNAL_TASKS), 2)]
    for a, b in one_run:
        delta = float(np.linalg.norm(_lab(TASK_COLOURS[a], cvd) - _lab(TASK_COLOURS[b], cvd)))
        assert delta > MIN_DELTA_E, (a, b, cvd, delta)


def _titles(fig, axis: str) -> set[str]:
    return {fig.layout[a].title.text for a in fig.layout if a.startswith(axis) and fig.layout[a].title.text}


def _views(runs_root, n: int = 2):
    return [rv.read_run(make_run(runs_root, f"run{i}", epochs=6, seed=i)) for i in range(n)]


def test_every_training_chart_has_axis_titles_and_task_colours(runs_root):
    """Charts had no axis titles, and the validation chart coloured runs in the tasks' colours."""
    views = _views(runs_root)
    labels = rv.run_labels(views)
    probs = rv.combine(views, lambda v: rv.probabilities_frame(v.records), labels)
    batches = rv.combine(views, lambda v: rv.batches_frame(v.records, v.tasks), labels)
    val = rv.combine(views, lambda v: rv.validation_frame(v.records), labels)
    ratios = rv.combine(views, rv.speed_ratios, labels)
    charts = {"probability": figs.probability_figure(probs), "batches": figs.batches_figure(batches),
              "metric value": figs.validation_figure(val, rv.curve_panels(views[0].tasks)),
              "ratio r (eq. 1)": figs.ratio_figure(ratios)}
    for y_title, fig in charts.items():
        assert _titles(fig, "xaxis") == {"epoch"} and _titles(fig, "yaxis") == {y_title}, y_title
        for trace in fig.data:
            task = trace.legendgroup.split(",")[0]
            colour = trace.line.color if trace.type == "scatter" else trace.marker.color
            assert task in TASK_COLOURS and colour == TASK_COLOURS[task], (y_title, trace.legendgroup)
    # Two runs on one validation panel: the same colour (its task), different dashes.
    panel = [t for t in charts["metric value"].data if t.xaxis == charts["metric value"].data[0].xaxis]
    assert len({t.line.color for t in panel}) == 1 and len({t.line.dash for t in panel}) == 2


def test_the_validation_panels_leave_room_for_their_own_y_ticks(runs_root):
    fig = figs.validation_figure(rv.validation_frame(_views(runs_root, 1)[0].records), rv.curve_panels(ALL_TASKS[:3]))
    domains = sorted(fig.layout[a].domain for a in fig.layout if a.startswith("xaxis"))
    row = [d for d in domains if d[0] < 0.5 and d[1] > 0] or domains
    gaps = [b[0] - a[1] for a, b in zip(domains, domains[1:], strict=False) if b[0] > a[1]]
    assert row and all(g >= 0.09 - 1e-9 for g in gaps)


def test_the_eq1_chart_of_one_run_names_it(runs_root):
    view = _views(runs_root, 1)[0]
    ratios = rv.combine([view], rv.speed_ratios, ["run0"])
    assert figs.ratio_figure(ratios).layout.title.text == "run run0"


def test_seeds_are_symbols_in_the_task_colour_not_colours():
    per_run = pd.DataFrame({"label": ["a", "a", "b", "b"], "seed": [0, 1, 0, 1], "state": ["finished"] * 4,
                            "accuracy": [0.7, 0.72, 0.8, 0.81], "best_epoch": [3, 4, 5, 6]})
    fig = sweep_figures.seed_strip_figure(per_run)
    seeds = [t for t in fig.data if t.name.startswith("seed")]
    assert [t.marker.symbol for t in seeds] == list(SEED_SYMBOLS[:2])
    assert {t.marker.color for t in seeds} == {TASK_COLOURS["stress"]}
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


def test_a_run_with_only_evaluation_0_shows_its_points():
    """A run stopped before its first epoch has one validation point per metric: a bare line draws nothing."""
    records = [{"epoch": 0, "val": {"stress": {"accuracy": 0.5, "f1": 0.4}, "valence": {"rmse": 1.2}}}]
    fig = figs.validation_figure(rv.validation_frame(records), rv.curve_panels(["stress", "valence"]))
    assert fig.data and all("markers" in trace.mode for trace in fig.data)
    assert {round(float(y), 3) for trace in fig.data for y in trace.y} == {0.5, 0.4, 1.2}

"""analysis.run_views: run folders read tolerantly, progress from the run's own measurements, eq. 1 recomputed."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import make_run

from analysis import run_views as rv
from analysis import training_figures as figs
from muser_core.base.errors import InputError
from muser_core.train import run_folder as rf

# --------------------------------------------------------------------------- reading runs


def test_speed_ratios_reproduce_the_recorded_probabilities_and_eq1_by_hand(runs_root):
    view = rv.read_run(make_run(runs_root, "s", history=2, epochs=10))
    ratios = rv.speed_ratios(view)
    # Epochs 1..n are the warm-up: ratios start with the probabilities of epoch n + 1 = 3.
    assert ratios["epoch"].min() == 3 and set(ratios["task"]) == {"stress", "activation", "valence"}
    assert np.allclose(ratios["probability"], ratios["recorded"], atol=1e-12)
    # Epoch 5's probabilities come from validation after epochs 2, 3 (history) and 4 (now), by hand:
    val = {r["epoch"]: r["val"] for r in view.records}
    r_s = val[4]["stress"]["accuracy"] / ((val[2]["stress"]["accuracy"] + val[3]["stress"]["accuracy"]) / 2)
    r_a = ((val[2]["activation"]["rmse"] + val[3]["activation"]["rmse"]) / 2) / val[4]["activation"]["rmse"]
    r_v = ((val[2]["valence"]["rmse"] + val[3]["valence"]["rmse"]) / 2) / val[4]["valence"]["rmse"]
    e = np.exp(np.array([r_s, r_a, r_v]) / 0.1 - max(r_s, r_a, r_v) / 0.1)
    step = ratios[ratios["epoch"] == 5].set_index("task")
    assert step.loc[["stress", "activation", "valence"], "ratio"].tolist() == pytest.approx([r_s, r_a, r_v])
    assert step.loc[["stress", "activation", "valence"], "probability"].tolist() == pytest.approx(e / e.sum())
    assert (step["from_epoch"] == 4).all()


def test_speed_ratios_are_empty_for_other_strategies(runs_root):
    assert rv.speed_ratios(rv.read_run(make_run(runs_root, "u", strategy="uniform"))).empty


def test_tidy_frames_cover_every_epoch_and_task(runs_root):
    view = rv.read_run(make_run(runs_root, "p", strategy="single", tasks=("stress", "activation"), epochs=4))
    probs = rv.probabilities_frame(view.records)
    assert sorted(probs["epoch"].unique()) == [1, 2, 3, 4]
    assert probs.groupby("epoch")["probability"].sum().tolist() == pytest.approx([1.0] * 4)
    batches = rv.batches_frame(view.records, view.tasks)
    # single task: activation gets no batch, shown as 0 rather than missing
    assert batches[batches["task"] == "activation"]["batches"].eq(0).all()
    val = rv.validation_frame(view.records)
    assert set(val["panel"]) >= {"stress accuracy", "stress f1", "activation rmse"}
    assert val["epoch"].min() == 0


def test_half_written_last_line_is_ignored_and_said(runs_root):
    folder = make_run(runs_root, "half", state="running", epochs=3)
    with open(folder / rf.METRICS, "a") as handle:
        handle.write('{"epoch": 4, "probabilities": {"stre')
    view = rv.read_run(folder)
    assert view.last_epoch == 3
    assert any("half written" in p for p in view.problems)


@pytest.mark.parametrize("setup, message", [
    (lambda p: None, "no such folder"),
    (lambda p: p.write_text("x"), "not a folder"),
    (lambda p: (p.mkdir(), (p / "notes.txt").write_text("hi")), "not a run folder"),
])
def test_not_a_run_is_one_clear_line(tmp_path, setup, message):
    path = tmp_path / "thing"
    setup(path)
    with pytest.raises(InputError, match=message):
        rv.read_run(path)


def test_older_version_config_still_shows_curves(runs_root):
    folder = make_run(runs_root, "old", epochs=3)
    config = json.loads((folder / rf.CONFIG).read_text())
    config["train"]["warmup_schedule"] = "cosine"  # a setting this version does not know
    (folder / rf.CONFIG).write_text(json.dumps(config))
    view = rv.read_run(folder)
    assert view.config is None and view.last_epoch == 3
    assert any("does not hold this version's settings" in p for p in view.problems)


def test_metrics_without_the_expected_fields_are_left_out(runs_root):
    folder = runs_root / "foreign"
    folder.mkdir()
    (folder / rf.METRICS).write_text('{"step": 1, "loss": 0.3}\n')
    view = rv.read_run(folder)
    assert view.records == [] and any("older version" in p for p in view.problems)


def test_crashed_run_reports_error_and_last_good_epoch(runs_root):
    folder = make_run(runs_root, "crash", state="failed", epochs=6)
    status = json.loads((folder / rf.STATUS).read_text())
    rf.write_json(folder / rf.STATUS, {**status, "error": "RuntimeError: out of memory"})
    view = rv.read_run(folder)
    assert view.state == "failed" and view.error == "RuntimeError: out of memory" and view.last_epoch == 6


def test_a_running_runs_elapsed_time_counts_on_during_a_long_epoch(runs_root):
    """Ten seconds into a fine-tuning epoch the line said '0.9 s elapsed' (the epoch-0 record's time)."""
    folder = make_run(runs_root, "long-epoch", state="running", epochs=0)
    written = (folder / rf.METRICS).stat().st_mtime
    view = rv.read_run(folder)
    view.status["state"] = "running"
    recorded = rv.progress(view, now=written).elapsed_s
    assert rv.progress(view, now=written + 10.0).elapsed_s == pytest.approx(recorded + 10.0)
    view.status["state"] = "stopped"   # an ended run keeps the time it recorded
    assert rv.progress(view, now=written + 10.0).elapsed_s == pytest.approx(recorded)


def test_progress_bound_is_best_epoch_plus_patience(runs_root):
    view = rv.read_run(make_run(runs_root, "r", state="running", epochs=8))
    view.status["state"] = "running"
    prog = rv.progress(view)
    # best epoch 6, patience 5: the run ends by epoch 11 unless it improves; 0.1 s per epoch
    assert (prog.epochs_done, prog.bound) == (8, 11)
    assert prog.remaining_s == pytest.approx(0.3)
    assert "epoch 8 of at most 11" in prog.text()


def test_listing_includes_shipped_demo_runs_read_only(runs_root):
    make_run(runs_root, "mine")
    table = rv.run_table()
    assert "mine" in set(table["name"])
    assert not table.loc[table["name"] == "mine", "shipped"].iloc[0]
    shipped = table[table["shipped"]]
    assert shipped["name"].str.startswith("demo-").all()
    assert (table["label"] == [f"{n}  (shipped demo)" if s else n for n, s in zip(table["name"], table["shipped"], strict=True)]).all()




def test_runs_going_now_lists_only_active_runs_and_says_when_no_best_epoch_exists_yet():
    """Seen in the browser: a run before its first epoch showed "None" as its epochs and best epoch."""
    table = pd.DataFrame({"name": ["new", "later", "done"], "state": ["running", "stopping", "finished"],
                          "epochs_done": [None, 4, 9], "best_epoch": [None, 3, 7],
                          "strategy": ["speed", "uniform", "speed"], "seed": [0, 1, 2], "shipped": [False] * 3})
    shown = rv.runs_going_now(table)
    assert list(shown["name"]) == ["new", "later"]
    assert list(shown["best epoch"]) == ["none yet", "3"]
    assert list(shown["epochs done"]) == ["none yet", "4"]
    assert list(shown.columns) == ["name", "state", "epochs done", "best epoch", "strategy", "seed"]
    assert rv.runs_going_now(table.iloc[:0]).empty


def test_progress_within_an_epoch_uses_the_runs_own_measured_speed(runs_root):
    """Early in a fine-tune run: no epoch finished yet, but the batches so far say how fast it goes."""
    folder = make_run(runs_root, "early", state="running", epochs=0)
    status = json.loads((folder / rf.STATUS).read_text())
    rf.write_json(folder / rf.STATUS, {**status, "phase": "training", "samples_per_s": 4.0,
                                       "epoch_in_progress": {"epoch": 1, "drawn": 96, "goal": 400}})
    view = rv.read_run(folder)
    view.status["state"] = "running"
    prog = rv.progress(view)
    assert prog.in_epoch == (1, 96, 400) and prog.samples_per_s == 4.0
    assert prog.per_epoch_s == pytest.approx(100.0)  # 400 items at 4 items/s
    assert "epoch 1: 96/400 items" in prog.text() and "4.0 items/s measured" in prog.text()
    assert 0 < prog.fraction < 0.1


def test_the_headline_is_the_best_epochs_validation(runs_root):
    view = rv.read_run(make_run(runs_root, "b", epochs=8))
    assert view.best_epoch == view.status["best_epoch"]
    assert view.best_record["epoch"] == view.best_epoch


@pytest.mark.parametrize("config, metrics", [
    ("[1, 2, 3]", None),                                     # config.json is a list
    ('{"train": {"seed": 0}}', None),                        # lacks keys: defaults fill in, still readable
    ('{"data": 5}', None),                                   # a section that is not an object
    (None, '{"epoch": "x", "val": {}}\n{"epoch": 1, "val": {"stress": {"accuracy": "high"}}}\n'),
])
def test_a_damaged_run_folder_is_a_view_with_its_problems(runs_root, config, metrics):
    folder = make_run(runs_root, "damaged", epochs=3)
    if config is not None:
        (folder / rf.CONFIG).write_text(config)
    if metrics is not None:
        (folder / rf.METRICS).write_text(metrics)
    view = rv.read_run(folder)
    for frame in (rv.probabilities_frame, rv.validation_frame, rv.batches_frame):
        frame(view.records)
    rv.progress(view)
    rv.speed_ratios(view)
    rv.metrics_summary(view)
    assert view.problems or config == '{"train": {"seed": 0}}'
    assert "damaged" in set(rv.run_table()["name"])


def test_runs_with_the_same_folder_name_get_distinct_labels(runs_root):
    """Two sweeps both hold '<variant>-seed0': their curves must not share one panel (a line would run back)."""
    views = [rv.read_run(make_run(runs_root / sweep, "speed-seed0", epochs=4)) for sweep in ("a", "b")]
    views.append(rv.read_run(make_run(runs_root, "solo", epochs=4)))
    assert rv.run_labels(views) == ["speed-seed0 (a)", "speed-seed0 (b)", "solo"]   # the name once, first
    table = rv.combine(views, lambda v: rv.probabilities_frame(v.records))
    for _, group in table.groupby(["run", "task"]):
        assert group["epoch"].is_monotonic_increasing


def test_ten_runs_stay_legible(runs_root):
    """Small multiples wrap, grow with the number of runs, keep a fixed gap and short titles."""
    views = [rv.read_run(make_run(runs_root / "a-very-long-sweep-folder-name", f"speed-based-sampling-history-5-seed{i}",
                                  epochs=4, seed=i)) for i in range(10)]
    fig = figs.probability_figure(rv.combine(views, lambda v: rv.probabilities_frame(v.records)))
    rows = -(-10 // figs.WRAP)
    assert fig.layout.height == figs.MARGIN_PX + figs.ROW_HEIGHT * rows
    tops = sorted({round(fig.layout[a].domain[1], 6) for a in fig.layout if a.startswith("yaxis")}, reverse=True)
    bottoms = sorted({round(fig.layout[a].domain[0], 6) for a in fig.layout if a.startswith("yaxis")}, reverse=True)
    gaps_px = [(bottoms[i] - tops[i + 1]) * (fig.layout.height - figs.MARGIN_PX) for i in range(rows - 1)]
    assert all(abs(g - figs.GAP_PX) < 1 for g in gaps_px)
    assert all(len(a.text) <= figs.TITLE_CHARS for a in fig.layout.annotations)


# --------------------------------------------------------------------------- status lines


def test_a_stopped_runs_bar_is_not_full_and_keeps_its_bound(runs_root):
    """A stopped run showed a full bar, 'epoch 8 of at most 8': its bound was cut to the epochs done."""
    prog = rv.progress(rv.read_run(make_run(runs_root, "halted", state="stopped", epochs=8)))
    # best epoch 6 (status.json), patience 5: the run would end by epoch 11 unless it improves
    assert (prog.epochs_done, prog.bound) == (8, 11) and prog.fraction == pytest.approx(8 / 11)
    assert "epoch 8 of at most 11" in prog.text() and "stopped" in prog.text()
    finished = rv.progress(rv.read_run(make_run(runs_root, "done", state="finished", epochs=8)))
    assert finished.fraction == 1.0 and "epoch 8 of at most 8" in finished.text()


def _launched(folder, cfg, **status):
    """A launch record naming this test's own process (alive), as process.launch writes it."""
    argv = ["python", "-m", "muser_core", "train", "--out", str(folder), "--no-progress", "--config", cfg.to_json()]
    rf.write_json(folder / rf.LAUNCH, {"kind": "train", **rf.process_identity(), "started": 1000.0, "argv": argv})
    if status:
        rf.write_json(folder / rf.STATUS, {**status, **rf.process_identity()})


def test_a_starting_run_reads_its_own_limits_and_time_since_launch(runs_root):
    """'(max 1000)' showed while starting though 60 was set: before config.json the defaults were read."""
    from dataclasses import replace

    from muser_core.config import RunConfig

    cfg = RunConfig()
    cfg = replace(cfg, train=replace(cfg.train, max_epochs=60)).resolved()
    folder = runs_root / "warming"
    folder.mkdir()
    _launched(folder, cfg)
    view = rv.read_run(folder)
    assert view.state == "starting" and view.config.train.max_epochs == 60
    text = rv.progress(view, now=1042.0).text()
    assert "at most 60 epochs" in text and "1000" not in text and "42 s since launch" in text
    # The "Runs going now" table showed None as a starting run's strategy and seed: they are its launch's.
    row = rv.run_table().set_index("name").loc["warming"]
    assert (row["strategy"], row["seed"], row["modality"]) == (cfg.strategy.name, cfg.train.seed, cfg.model.modality)


def test_a_run_that_failed_before_training_says_so(runs_root):
    """A failed run said 'epoch 0 of at most 0' and 'loading its data'."""
    from muser_core.config import RunConfig

    folder = runs_root / "broken"
    folder.mkdir()
    _launched(folder, RunConfig().resolved(), state="failed", error="task 'activation': the validation split "
                                                                      "of corpus 'exam' has no labelled items")
    view = rv.read_run(folder)
    assert view.state == "failed"
    text = rv.progress(view).text()
    assert text == "failed before training began" and "of at most 0" not in text


def test_a_run_that_wrote_its_end_is_ended_while_its_process_exits(runs_root):
    """The state flipped back to 'starting' (and 'Stopping' stayed) for seconds near the end: the process was
    still alive after status.json said stopped. The run's own end, written by the launched process, wins."""
    from muser_core.config import RunConfig
    from muser_core.train import process

    folder = make_run(runs_root, "ending", state="running", epochs=4)
    _launched(folder, RunConfig().resolved(), state="stopped", epochs_done=4, best_epoch=2)
    assert process.run_state(folder)["state"] == "stopped"
    # An end written by an earlier process (before a resume) does not end the new one.
    rf.write_json(folder / rf.STATUS, {"state": "stopped", "pid": 1, "process_started": 0.0, "host": "x"})
    assert process.run_state(folder)["state"] == "starting"

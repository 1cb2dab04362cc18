"""analysis.training_views: run folders read tolerantly, eq. 1 recomputed, results tables, launching."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_run

from analysis import paper_results
from analysis import training_views as tv
from muser_core import runs
from muser_core.errors import InputError

# --------------------------------------------------------------------------- reading runs


def test_speed_ratios_reproduce_the_recorded_probabilities_and_eq1_by_hand(runs_root):
    view = tv.read_run(make_run(runs_root, "s", history=2, epochs=10))
    ratios = tv.speed_ratios(view)
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
    assert tv.speed_ratios(tv.read_run(make_run(runs_root, "u", strategy="uniform"))).empty


def test_tidy_frames_cover_every_epoch_and_task(runs_root):
    view = tv.read_run(make_run(runs_root, "p", strategy="single", tasks=("stress", "activation"), epochs=4))
    probs = tv.probabilities_frame(view.records)
    assert sorted(probs["epoch"].unique()) == [1, 2, 3, 4]
    assert probs.groupby("epoch")["probability"].sum().tolist() == pytest.approx([1.0] * 4)
    batches = tv.batches_frame(view.records, view.tasks)
    # single task: activation gets no batch, shown as 0 rather than missing
    assert batches[batches["task"] == "activation"]["batches"].eq(0).all()
    val = tv.validation_frame(view.records)
    assert set(val["panel"]) >= {"stress accuracy", "stress f1", "activation rmse"}
    assert val["epoch"].min() == 0


def test_half_written_last_line_is_ignored_and_said(runs_root):
    folder = make_run(runs_root, "half", state="running", epochs=3)
    with open(folder / runs.METRICS, "a") as handle:
        handle.write('{"epoch": 4, "probabilities": {"stre')
    view = tv.read_run(folder)
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
        tv.read_run(path)


def test_older_version_config_still_shows_curves(runs_root):
    folder = make_run(runs_root, "old", epochs=3)
    config = json.loads((folder / runs.CONFIG).read_text())
    config["train"]["warmup_schedule"] = "cosine"  # a setting this version does not know
    (folder / runs.CONFIG).write_text(json.dumps(config))
    view = tv.read_run(folder)
    assert view.config is None and view.last_epoch == 3
    assert any("another version" in p for p in view.problems)


def test_metrics_without_the_expected_fields_are_left_out(runs_root):
    folder = runs_root / "foreign"
    folder.mkdir()
    (folder / runs.METRICS).write_text('{"step": 1, "loss": 0.3}\n')
    view = tv.read_run(folder)
    assert view.records == [] and any("older version" in p for p in view.problems)


def test_crashed_run_reports_error_and_last_good_epoch(runs_root):
    folder = make_run(runs_root, "crash", state="failed", epochs=6)
    status = json.loads((folder / runs.STATUS).read_text())
    runs.write_json(folder / runs.STATUS, {**status, "error": "RuntimeError: out of memory"})
    view = tv.read_run(folder)
    assert view.state == "failed" and view.error == "RuntimeError: out of memory" and view.last_epoch == 6


def test_a_launch_that_died_before_training_is_failed_with_the_logged_error(runs_root):
    folder = runs_root / "early"
    folder.mkdir()
    proc = subprocess.Popen(["true"])
    proc.wait()  # a pid that is gone
    runs.write_json(folder / tv.LAUNCH, {"kind": "train", "pid": proc.pid, "host": tv._hostname(),
                                         "started": time.time()})
    (folder / tv.TRAIN_LOG).write_text("loading\nerror: task 'valence' has no labels in corpus 'x'\n")
    view = tv.read_run(folder)
    assert view.state == "failed" and view.error == "task 'valence' has no labels in corpus 'x'"
    assert "early" in set(tv.list_all_runs()["name"])


def test_progress_bound_is_best_epoch_plus_patience(runs_root):
    view = tv.read_run(make_run(runs_root, "r", state="running", epochs=8))
    view.status["state"] = "running"
    prog = tv.progress(view)
    # best epoch of the last record is 8, patience 5: the run ends by epoch 13 unless it improves
    assert (prog.epoch, prog.bound) == (8, 13)
    assert prog.remaining_s == pytest.approx(0.5)
    assert "epoch 8 of at most 13" in prog.text()


def test_listing_includes_shipped_demo_runs_read_only(runs_root):
    make_run(runs_root, "mine")
    table = tv.list_all_runs()
    assert "mine" in set(table["name"])
    assert not table.loc[table["name"] == "mine", "shipped"].iloc[0]
    shipped = table[table["shipped"]]
    assert shipped["name"].str.startswith("demo-").all()
    if len(shipped):
        assert tv.is_shipped(shipped["path"].iloc[0])


# --------------------------------------------------------------------------- building and launching


def test_page_builds_the_same_config_as_the_command_line():
    from muser_core.train import add_config_flags, config_from_args

    choices = tv.TrainChoices(strategy="speed", history=10, tasks=("stress", "activation"), seed=3,
                              max_epochs=50, patience=7)
    cfg = tv.build_config(choices)
    import argparse

    parser = argparse.ArgumentParser()
    add_config_flags(parser)
    line = tv.command_line(cfg, "runs/x")
    flags = line.split()[3:-2]  # drop 'python -m muser_core.train' and '--out runs/x'
    assert config_from_args(parser.parse_args(flags)).resolved() == cfg.resolved()


@pytest.mark.parametrize("name", ["../escape", "/etc/passwd", ".hidden", "a/b", ""])
def test_run_names_cannot_escape_the_runs_folder(runs_root, name):
    with pytest.raises(InputError):
        tv.launch_training(tv.build_config(tv.TrainChoices(max_epochs=2)), name)
    assert not (runs_root.parent / "escape").exists()


def test_bad_strategy_settings_fail_before_launch():
    with pytest.raises(InputError, match="phases"):
        tv.build_config(tv.TrainChoices(strategy="pretrain", phases="activation:100,stress", max_epochs=50))


@pytest.mark.parametrize("text, seeds", [("0", [0]), ("0,1, 2", [0, 1, 2]), ("0-3", [0, 1, 2, 3]), ("1,1", [1])])
def test_parse_seeds(text, seeds):
    assert tv.parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["", "a", "1;2", "0-99"])
def test_parse_seeds_rejects(text):
    with pytest.raises(InputError):
        tv.parse_seeds(text)


@pytest.mark.slow
def test_launch_then_stop_keeps_the_best_checkpoint(runs_root):
    """A real background run on the demo corpus: SIGTERM ends it as 'stopped' with its checkpoint."""
    pytest.importorskip("muser_core.demo")
    cfg = tv.build_config(tv.TrainChoices(strategy="uniform", max_epochs=5000, patience=5000))
    folder = tv.launch_training(cfg, "stop-me")
    deadline = time.time() + 120
    while time.time() < deadline:
        view = tv.read_run(folder)
        if view.state == "running" and (view.last_epoch or 0) >= 3:
            break
        assert view.state in ("starting", "running"), (view.status, view.log)
        time.sleep(0.3)
    assert tv.stop_run(folder)
    while time.time() < deadline and tv.read_run(folder).state == "running":
        time.sleep(0.3)
    view = tv.read_run(folder)
    assert view.state == "stopped", view.log
    assert (folder / runs.CHECKPOINT).is_file() and view.status["best_epoch"] >= 1
    assert not tv.stop_run(folder)  # nothing left to stop


# --------------------------------------------------------------------------- results


def make_sweep(root: Path, table: str = "8", seeds=(0, 1, 2)) -> Path:
    from muser_core.sweep import PAPER_TABLES, slug

    folder = root / "sw"
    rows = PAPER_TABLES[table][:3]
    for i, (label, _) in enumerate(rows):
        for seed in seeds:
            make_run(folder, f"{slug(label)}-seed{seed}", strategy="uniform", epochs=2, seed=seed,
                     test_accuracy=0.70 + 0.05 * i + 0.01 * seed)
    return folder


def test_sweep_table_marks_best_and_reference_and_matches_scipy(runs_root):
    from scipy.stats import ttest_rel

    folder = make_sweep(runs_root)
    per_run = tv.sweep_runs(folder)
    assert len(per_run) == 9 and (per_run["state"] == "finished").all()
    labels = list(dict.fromkeys(per_run["label"]))
    assert labels == [label for label, _ in __import__("muser_core.sweep").sweep.PAPER_TABLES["8"][:3]]
    assert tv.sweep_table_id(folder, per_run) == "8"
    reference = labels[0]
    shown = tv.results_display(tv.summary_table(per_run, reference), reference).set_index("Strategy")
    assert shown.loc[reference, "p (accuracy)"] == "ref."
    assert shown.loc[labels[2], "Accuracy"].endswith(tv.BEST)        # highest mean accuracy
    assert not shown.loc[labels[0], "Accuracy"].endswith(tv.BEST)
    assert shown.loc[labels[1], "Accuracy"].startswith("0.760 ± 0.010")
    a = per_run[per_run["label"] == labels[1]]["accuracy"].to_numpy()
    b = per_run[per_run["label"] == reference]["accuracy"].to_numpy()
    with warnings.catch_warnings():  # near-identical columns: scipy warns about precision
        warnings.simplefilter("ignore")
        expected = ttest_rel(a, b).pvalue
    assert shown.loc[labels[1], "p (accuracy)"] == ("-" if np.isnan(expected) else f"{expected:.3g}")
    state = tv.sweep_state(folder)
    assert state["done"] == 9 and state["state"] in ("incomplete", "finished")
    assert "sw" in set(tv.list_sweeps()["name"])


def test_paper_tables_are_the_papers_numbers():
    t8 = paper_results.paper_table("8").set_index("label")
    assert t8.loc["Speed-based sampling (history=10)", "accuracy"] == 0.856
    assert t8.loc["(Liu et al., 2019) - modified", "f1"] == 0.851
    assert paper_results.paper_table("9").shape[0] == 3
    assert paper_results.paper_table("7").set_index("label").loc["Activation-100", "precision"] == 0.866
    assert paper_results.paper_table("6").set_index("label").loc["MUSER Acoustic Encoder", "f1"] == 0.80
    shown = tv.paper_display("8").set_index("Strategy")
    assert shown.loc["Speed-based sampling (history=10)", "Accuracy"].endswith(tv.BEST)
    assert shown.loc["Speed-based sampling (history=5)", "Recall"].endswith(tv.BEST)
    assert "MuSE" in paper_results.SOURCE and "not measured" in paper_results.SOURCE


def test_every_sweep_label_has_a_paper_row():
    from muser_core.sweep import PAPER_TABLES

    for table, rows in PAPER_TABLES.items():
        assert {label for label, _ in rows} <= set(paper_results.labels(table))
        assert tv.detect_table([label for label, _ in rows]) == table or table == "9"


def test_log_tail_resolves_progress_bars(tmp_path):
    log = tmp_path / "train.log"
    log.write_text("start\n 10%|#   \r 50%|#####  \r100%|##########\nerror: bad thing\n")
    assert tv.log_tail(log) == ["start", "100%|##########", "error: bad thing"]
    assert tv._error_line(tv.log_tail(log)) == "bad thing"


def test_combine_names_runs(runs_root):
    views = [tv.read_run(make_run(runs_root, n, epochs=3)) for n in ("a", "b")]
    table = tv.combine(views, lambda v: tv.probabilities_frame(v.records))
    assert set(table["run"]) == {"a", "b"}
    assert isinstance(tv.probability_figure(table, stacked=True).to_dict(), dict)
    assert isinstance(pd.DataFrame(tv.metrics_summary(views[0])), pd.DataFrame)
    assert sys.executable  # the launcher uses this interpreter

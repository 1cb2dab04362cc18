"""Which epoch's weights a run keeps: stress (the default), the tasks' mean score, or each task its own."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import StopAtBatch, timeless

from muser_core.base.errors import InputError
from muser_core.cli import run_command
from muser_core.config import DataConfig, RunConfig, StrategyConfig, TrainConfig
from muser_core.data.corpus import Corpus
from muser_core.features.acoustic import EGEMAPS_FEATURES
from muser_core.predict.run_model import load_trained_model, predict
from muser_core.train import run_folder as rf
from muser_core.train import train_run
from muser_core.train.metrics import regression_metrics

TASKS = ["stress", "activation", "valence"]


def config(corpus: str, select: str, **train) -> RunConfig:
    return RunConfig(data=DataConfig(corpus=corpus, tasks=TASKS), strategy=StrategyConfig(name="uniform"),
                     train=TrainConfig(**{"max_epochs": 12, "patience": 50, "lr": 1e-2, "select": select, **train}))


@pytest.fixture(scope="module")
def runs(tmp_path_factory, corpus_csv):
    root = tmp_path_factory.mktemp("select")
    return {s: (root / s, train_run(config(corpus_csv, s), root / s)) for s in ("stress", "mean", "per-task")}


def scores(record: dict) -> dict[str, float]:
    """Each task's validation score, computed here from metrics.jsonl: stress accuracy, emotions' CCC."""
    return {t: record["val"][t]["accuracy" if t == "stress" else "ccc"] for t in TASKS}


def first_argmax(records: list[dict], score) -> int:
    eligible = [r for r in records if r["epoch"] >= 1]
    best = max(score(r) for r in eligible)
    return next(r["epoch"] for r in eligible if score(r) == best)


def test_each_selection_keeps_the_epoch_its_score_peaked(runs):
    for select, (out, _) in runs.items():
        records = rf.read_metrics(out)
        saved = json.loads((out / rf.TEST).read_text())
        stress_best = first_argmax(records, lambda r: scores(r)["stress"])
        if select == "mean":
            assert saved["best_epoch"] == first_argmax(records, lambda r: np.mean(list(scores(r).values())))
            assert set(saved["best_epochs"].values()) == {saved["best_epoch"]}
        else:
            assert saved["best_epoch"] == stress_best
        if select == "per-task":
            assert saved["best_epochs"] == {t: first_argmax(records, lambda r, t=t: scores(r)[t]) for t in TASKS}
            assert records[-1]["best_epochs"] == saved["best_epochs"]
            assert {rf.task_checkpoint(t) for t in TASKS[1:]} <= {p.name for p in out.iterdir()}
        else:
            assert "best_epochs" not in records[-1] and not list(out.glob("checkpoint-*"))
        assert saved["select"] == select


def test_per_task_keeps_the_emotion_heads_from_their_own_epochs(runs, corpus_csv):
    """The stress epoch's weights are the default run's; the emotion scores come from their own epochs, and
    the run folder's predictor gives the same test metrics (an independent path: safetensors, raw rows)."""
    (default_out, default_test), (out, test) = runs["stress"], runs["per-task"]
    assert test["stress"] == default_test["stress"]
    saved = json.loads((out / rf.TEST).read_text())
    moved = [t for t in TASKS[1:] if saved["best_epochs"][t] != saved["best_epoch"]]
    assert moved and all(test[t] != default_test[t] for t in moved)   # the case this option is for
    validation_ccc = {t: max(scores(r)[t] for r in rf.read_metrics(default_out) if r["epoch"] >= 1)
                      for t in TASKS[1:]}
    records = {r["epoch"]: r for r in rf.read_metrics(out)}
    for task in TASKS[1:]:   # its own best validation CCC, never below the stress epoch's
        assert records[saved["best_epochs"][task]]["val"][task]["ccc"] == pytest.approx(validation_ccc[task])
        assert validation_ccc[task] >= records[saved["best_epoch"]]["val"][task]["ccc"]
    model, cfg, stats = load_trained_model(out)
    rows = Corpus.load(corpus_csv).table.query("split == 'test'")
    pred = predict(model, stats, rows["text"].tolist(), rows[EGEMAPS_FEATURES],
                   speakers=(rows["dataset"] + ":" + rows["speaker"]).tolist())
    for task in TASKS[1:]:
        expected = regression_metrics(rows[task].to_numpy(), pred[task].to_numpy())
        assert test[task] == pytest.approx(expected, abs=1e-5)
    accuracy = np.mean((pred["stress_probability"].to_numpy() > 0.5) == rows["stress"].to_numpy())
    assert accuracy == pytest.approx(test["stress"]["accuracy"])


def test_a_per_task_run_resumes_exactly(tmp_path, corpus_csv, runs):
    out = tmp_path / "stopped"
    assert train_run(config(corpus_csv, "per-task"), out, callbacks=[StopAtBatch(30)]) == {}
    assert train_run(None, out, resume=True)
    straight, _ = runs["per-task"]
    assert timeless(rf.read_metrics(out)) == timeless(rf.read_metrics(straight))
    assert json.loads((out / rf.TEST).read_text()) == json.loads((straight / rf.TEST).read_text())


def test_a_per_task_folder_without_a_tasks_checkpoint_is_one_line(tmp_path, runs):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(runs["per-task"][0], copy)
    (copy / rf.task_checkpoint("valence")).unlink()
    with pytest.raises(InputError, match="checkpoint-valence.safetensors: missing"):
        load_trained_model(copy)


def test_an_unknown_selection_is_one_line(capsys, corpus_csv, tmp_path):
    assert run_command("train")(["--corpus", corpus_csv, "--select", "best", "--out", str(tmp_path / "r")]) == 2
    assert "best" in capsys.readouterr().err and not (tmp_path / "r").exists()

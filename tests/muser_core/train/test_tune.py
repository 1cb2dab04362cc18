"""--tune-head: weight decay and dropout chosen on validation, then the run trains with the chosen pair."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest
from conftest import timeless

from muser_core.base.errors import InputError
from muser_core.base.paths import CHECKOUT
from muser_core.cli import run_command
from muser_core.config import DataConfig, ModelConfig, RunConfig, StrategyConfig, TrainConfig
from muser_core.train import run_folder as rf
from muser_core.train import train_run
from muser_core.train.tune import HEAD_DROPOUTS, WEIGHT_DECAYS

TASKS = ["stress", "activation", "valence"]


def config(corpus: str, **train) -> RunConfig:
    return RunConfig(data=DataConfig(corpus=corpus, tasks=TASKS), strategy=StrategyConfig(name="uniform"),
                     train=TrainConfig(**{"max_epochs": 10, "patience": 50, "lr": 3e-3, "tune_head": True, **train}))


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, corpus_csv):
    out = tmp_path_factory.mktemp("tune") / "run"
    return out, train_run(config(corpus_csv), out)


def test_the_pair_with_the_best_validation_score_is_chosen_and_recorded(tuned):
    out, _ = tuned
    record = json.loads((out / rf.TUNE).read_text())
    pairs = [(c["weight_decay"], c["head_dropout"]) for c in record["candidates"]]
    assert pairs == [(w, d) for w in WEIGHT_DECAYS for d in HEAD_DROPOUTS]
    best = max(c["validation_score"] for c in record["candidates"])
    first = next(c for c in record["candidates"] if c["validation_score"] == best)   # ties: the weaker first
    assert record["chosen"] == {"weight_decay": first["weight_decay"], "head_dropout": first["head_dropout"]}
    assert len({c["validation_score"] for c in record["candidates"]}) > 1   # the pairs do differ
    saved = rf.read_config(out)
    assert (saved.train.weight_decay, saved.model.head_dropout) == (first["weight_decay"], first["head_dropout"])
    # The run is the chosen candidate trained again: its best validation score is the candidate's.
    records = rf.read_metrics(out)
    assert max(r["val"]["stress"]["accuracy"] for r in records if r["epoch"] >= 1) == pytest.approx(best)


def test_a_tuned_run_equals_a_run_given_the_chosen_pair(tuned, corpus_csv, tmp_path):
    out, test = tuned
    chosen = json.loads((out / rf.TUNE).read_text())["chosen"]
    base = config(corpus_csv, tune_head=False, weight_decay=chosen["weight_decay"])
    direct = replace(base, model=replace(base.model, head_dropout=chosen["head_dropout"]))
    assert train_run(direct, tmp_path / "direct") == test
    assert timeless(rf.read_metrics(out)) == timeless(rf.read_metrics(tmp_path / "direct"))


@pytest.mark.slow
def test_a_stop_while_choosing_resumes_to_the_same_run(tmp_path, corpus_csv, tuned):
    """SIGTERM during the search: the folder says stopped, and resume searches again and trains the same run."""
    out = tmp_path / "stopped"
    flags = ["--corpus", corpus_csv, "--tasks", ",".join(TASKS), "--strategy", "uniform", "--max-epochs", "150",
             "--patience", "1000", "--lr", "3e-3", "--tune-head", "--no-progress"]
    proc = subprocess.Popen([sys.executable, "-m", "muser_core", "train", *flags, "--out", str(out)],
                            cwd=CHECKOUT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not (out / rf.CONFIG).is_file() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    assert rf.read_status(out)["state"] == "stopped" and not (out / rf.TUNE).exists()
    assert "--tune-head" in rf.read_status(out)["error"]
    assert run_command("train")(["--out", str(out), "--resume", "--no-progress"]) == 0
    straight = tmp_path / "straight"
    assert run_command("train")([*flags, "--out", str(straight)]) == 0
    assert json.loads((out / rf.TUNE).read_text())["chosen"] == json.loads((straight / rf.TUNE).read_text())["chosen"]
    assert timeless(rf.read_metrics(out)) == timeless(rf.read_metrics(straight))


def test_tuning_a_fine_tuned_transformer_or_from_other_weights_is_refused(corpus_csv, tmp_path, tuned):
    cfg = config(corpus_csv)
    with pytest.raises(InputError, match="--tune-head trains 8 candidate runs"):
        replace(cfg, model=ModelConfig(modality="text", text_mode="finetune")).resolved()
    with pytest.raises(InputError, match="drop --init-from"):
        train_run(cfg, tmp_path / "r", init_from=str(tuned[0]))

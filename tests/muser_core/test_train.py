"""The trainer: epoch size, a short real frozen run and its files, learning, resume after a kill, bad input."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from muser_core import runs
from muser_core.acoustic_features import EGEMAPS_FEATURES
from muser_core.config import DataConfig, ModelConfig, RunConfig, StrategyConfig, TrainConfig
from muser_core.corpus import Corpus, canonical
from muser_core.errors import InputError
from muser_core.model import load_trained_model, predict
from muser_core.paths import REPO_ROOT
from muser_core.strategies import make_strategy
from muser_core.train import Callback, Trainer, build, main, train_run

STRESSED = ["worried", "deadline", "exam", "pressure", "anxious", "late", "failing", "nervous"]
CALM = ["garden", "holiday", "relaxed", "sunny", "friends", "music", "weekend", "calm"]
FILLER = ["i", "think", "the", "was", "really", "about", "my", "today", "and", "it"]


def synthetic_corpus(n_speakers: int = 20, per_speaker: int = 15, seed: int = 0, signal: float = 0.6,
                     name: str = "synthetic") -> Corpus:
    """Speakers split 70/15/15; stress shows in 10 features, in a few words, and in the emotions."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_speakers):
        split = "train" if s < n_speakers * 0.7 else "validation" if s < n_speakers * 0.85 else "test"
        offset = rng.normal(0, 1, len(EGEMAPS_FEATURES))
        for u in range(per_speaker):
            stress = int(rng.random() < 0.5)
            pool = STRESSED if (rng.random() < 0.7) == bool(stress) else CALM
            words = list(rng.choice(FILLER, 4)) + list(rng.choice(pool, 1))
            rng.shuffle(words)
            feats = offset + rng.normal(0, 1, len(EGEMAPS_FEATURES))
            feats[:10] += signal * stress
            rows.append({"utterance_id": f"s{s}u{u}", "speaker": f"s{s}", "dataset": name, "split": split,
                         "text": " ".join(words), "stress": float(stress),
                         "activation": float(np.clip(4 + 2 * stress + rng.normal(0, 1), 1, 9)),
                         "valence": float(np.clip(6 - 1.5 * stress + rng.normal(0, 1), 1, 9)),
                         **dict(zip(EGEMAPS_FEATURES, feats, strict=True))})
    return Corpus(canonical(pd.DataFrame(rows)), name, {"activation": (1.0, 9.0), "valence": (1.0, 9.0)})


@pytest.fixture(scope="module")
def corpus_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "synthetic.csv"
    synthetic_corpus().save(path)
    return str(path)


def config(corpus: str, **train) -> RunConfig:
    return RunConfig(data=DataConfig(corpus=corpus, tasks=["stress", "activation", "valence"]),
                     strategy=StrategyConfig(name="speed", history=1),
                     train=TrainConfig(**{"max_epochs": 4, "patience": 50, **train}))


def flat(metrics: dict) -> dict:
    return {f"{task}.{name}": v for task, values in metrics.items() for name, v in values.items()}


class Recorder(Callback):
    def __init__(self):
        self.batches = []

    def on_batch_end(self, trainer, task, idx, loss):
        self.batches.append((task, len(idx)))


def test_epoch_draws_until_the_main_training_size(tmp_path):
    corpus = synthetic_corpus()
    table = corpus.table
    # valence keeps only 20 training labels: its batches hold 20 items.
    keep = table.index[(table["split"] == "train")][:20].tolist() + table.index[table["split"] != "train"].tolist()
    table.loc[~table.index.isin(keep), "valence"] = np.nan
    corpus.save(tmp_path / "c.csv")
    cfg, data, model, device = build(config(str(tmp_path / "c.csv")))
    recorder = Recorder()
    trainer = Trainer(model, data, make_strategy(cfg.strategy), cfg, [recorder])
    n_main = len(data.tasks["stress"].splits["train"])
    assert n_main == 210 and len(data.tasks["valence"].splits["train"]) == 20
    for _ in range(5):
        recorder.batches.clear()
        batches, losses = trainer.train_epoch({"stress": 0.2, "activation": 0.2, "valence": 0.6})
        drawn = sum(n for _, n in recorder.batches)
        assert drawn >= n_main and drawn - recorder.batches[-1][1] < n_main
        assert sum(batches.values()) == len(recorder.batches)
        assert all(n == (20 if task == "valence" else 32) for task, n in recorder.batches)
        assert set(losses) == set(batches)
    only_stress, _ = trainer.train_epoch({"stress": 1.0, "activation": 0.0, "valence": 0.0})
    assert only_stress == {"stress": math.ceil(210 / 32)}


def test_short_frozen_run_writes_the_documented_files(tmp_path, corpus_csv):
    out = tmp_path / "run"
    test = train_run(config(corpus_csv), out)
    names = {p.name for p in out.iterdir()}
    assert {runs.CONFIG, runs.METRICS, runs.CHECKPOINT, runs.TEST, runs.STATUS, runs.ENV,
            runs.NORMALISER, runs.DATA, runs.RESUME} <= names

    records = runs.read_metrics(out)
    assert [r["epoch"] for r in records] == [0, 1, 2, 3, 4]
    for r in records:
        assert {"epoch", "probabilities", "batches", "train_loss", "val", "seconds"} <= set(r)
        assert set(r["val"]) == {"stress", "activation", "valence"}
        assert set(r["val"]["stress"]) == {"accuracy", "precision", "recall", "f1"}
        assert set(r["val"]["activation"]) == {"rmse", "ccc"}
    assert records[0]["probabilities"] == {} and records[0]["batches"] == {}
    assert records[1]["probabilities"] == pytest.approx({t: 1 / 3 for t in ("stress", "activation", "valence")})
    for r in records[1:]:
        assert sum(r["batches"].values()) == math.ceil(210 / 32)
        assert set(r["train_loss"]) == set(r["batches"])
    # Epoch 2's probabilities follow eq. 1 from the logged evaluations 0 and 1 (history 1, rho 0.1).
    v0, v1 = records[0]["val"], records[1]["val"]
    ratios = [v1["stress"]["accuracy"] / v0["stress"]["accuracy"],
              v0["activation"]["rmse"] / v1["activation"]["rmse"],
              v0["valence"]["rmse"] / v1["valence"]["rmse"]]
    z = [math.exp(r / 0.1) for r in ratios]
    assert list(records[2]["probabilities"].values()) == pytest.approx([x / sum(z) for x in z])

    cfg = runs.read_config(out)
    assert cfg.data.tasks == ["stress", "activation", "valence"] and cfg.train.lr == 3e-4
    assert cfg.model.text_dim == 384
    status = runs.read_status(out)
    assert status["state"] == "finished" and status["epoch"] == 4 and isinstance(status["pid"], int)
    weights = load_file(str(out / runs.CHECKPOINT))
    assert "heads.stress.weight" in weights and not any(k.startswith("text_encoder") for k in weights)
    saved = json.loads((out / runs.TEST).read_text())
    assert flat(saved["metrics"]) == pytest.approx(flat(test)) and saved["best_epoch"] == status["best_epoch"]
    env = json.loads((out / runs.ENV).read_text())
    assert {"packages", "git_commit", "device", "python"} <= set(env)
    normaliser = json.loads((out / runs.NORMALISER).read_text())
    assert len(normaliser["acoustic"]["features"]) == 88 and set(normaliser["targets"]) == {"activation", "valence"}

    # The saved model reproduces the test accuracy from raw text and raw eGeMAPS features.
    model, cfg, stats = load_trained_model(out)
    table = Corpus.load(corpus_csv).table
    rows = table[table["split"] == "test"]
    pred = predict(model, stats, rows["text"].tolist(), rows[EGEMAPS_FEATURES],
                   speakers=(rows["dataset"] + ":" + rows["speaker"]).tolist())
    assert list(pred.columns) == ["stress_probability", "activation", "valence"]
    accuracy = np.mean((pred["stress_probability"].to_numpy() > 0.5) == rows["stress"].to_numpy())
    assert accuracy == pytest.approx(test["stress"]["accuracy"])


def test_training_on_stress_beats_chance(tmp_path, corpus_csv):
    cfg = RunConfig(data=DataConfig(corpus=corpus_csv), strategy=StrategyConfig(name="single"),
                    train=TrainConfig(max_epochs=15, patience=5))
    test = train_run(cfg, tmp_path / "run")
    records = runs.read_metrics(tmp_path / "run")
    assert test["stress"]["accuracy"] >= 0.7  # chance is about 0.5
    assert max(r["val"]["stress"]["accuracy"] for r in records[1:]) > records[0]["val"]["stress"]["accuracy"]


def _demo_available() -> bool:
    try:
        from muser_core.train import load_corpus
        load_corpus("demo")
        return True
    except InputError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not _demo_available(), reason="demo corpus not built in this checkout")
def test_training_on_the_demo_corpus_beats_chance(tmp_path):
    cfg = RunConfig(data=DataConfig(corpus="demo"), strategy=StrategyConfig(name="single"),
                    train=TrainConfig(max_epochs=30, patience=10))
    test = train_run(cfg, tmp_path / "run")
    data = json.loads((tmp_path / "run" / runs.DATA).read_text())
    from muser_core.train import load_corpus
    table = load_corpus("demo").table
    majority = table.loc[table["split"] == "test", "stress"].value_counts(normalize=True).max()
    assert data["tasks"]["stress"]["items"]["test"] > 0
    assert test["stress"]["accuracy"] > majority + 0.05


@pytest.mark.slow
def test_resume_after_a_kill_continues_to_the_same_result(tmp_path, corpus_csv):
    flags = ["--corpus", corpus_csv, "--strategy", "speed", "--history", "2", "--max-epochs", "120",
             "--patience", "1000", "--save-every", "0", "--no-progress"]
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "muser_core.train", *flags, "--out", str(killed)],
                            cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while len(runs.read_metrics(killed)) < 6 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(runs.read_metrics(killed))
    assert 6 <= done_before < 121, "the run finished before it could be killed"
    assert runs.read_status(killed)["state"] == "killed"

    assert main(["--out", str(killed), "--resume", "--no-progress"]) == 0
    assert runs.read_status(killed)["state"] == "finished"
    resumed = runs.read_metrics(killed)
    assert [r["epoch"] for r in resumed] == list(range(121))

    fresh = tmp_path / "fresh"
    assert main([*flags, "--out", str(fresh)]) == 0
    straight = runs.read_metrics(fresh)
    for a, b in zip(resumed, straight, strict=True):
        assert a["probabilities"] == pytest.approx(b["probabilities"])
        assert a["val"]["stress"] == pytest.approx(b["val"]["stress"])
        assert a["batches"] == b["batches"]
    assert flat(json.loads((killed / runs.TEST).read_text())["metrics"]) == \
        pytest.approx(flat(json.loads((fresh / runs.TEST).read_text())["metrics"]))


def test_stop_request_leaves_a_resumable_run(tmp_path, corpus_csv):
    class StopAt(Callback):
        def on_epoch_end(self, trainer, record):
            if record["epoch"] == 2:
                trainer.stop_requested = True

    out = tmp_path / "run"
    assert train_run(config(corpus_csv), out, callbacks=[StopAt()]) == {}
    assert runs.read_status(out)["state"] == "stopped"
    assert train_run(None, out, resume=True)
    assert [r["epoch"] for r in runs.read_metrics(out)] == [0, 1, 2, 3, 4]


def _bad(tmp_path, capsys, *argv) -> str:
    out = tmp_path / "bad-run"
    assert main([*argv, "--out", str(out), "--no-progress", "--max-epochs", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert not (out / runs.METRICS).exists()  # nothing trained
    return err


def test_bad_input_is_one_line_before_training(tmp_path, capsys, corpus_csv):
    assert "unknown task 'arousal'" in _bad(tmp_path, capsys, "--corpus", corpus_csv, "--tasks", "stress,arousal")
    assert "unknown strategy 'magic'" in _bad(tmp_path, capsys, "--corpus", corpus_csv, "--strategy", "magic")
    assert "external corpus" in _bad(tmp_path, capsys, "--corpus", corpus_csv, "--tasks", "stress,ext_valence")
    assert "not in the task list" in _bad(tmp_path, capsys, "--corpus", corpus_csv, "--strategy", "pretrain",
                                          "--phases", "valence:3,stress", "--tasks", "stress,activation")
    assert "not a run folder" in _bad(tmp_path, capsys, "--resume")
    assert "before the stress phase" in _bad(tmp_path, capsys, "--corpus", corpus_csv, "--strategy", "pretrain",
                                             "--phases", "activation:5,stress")  # --max-epochs 2

    table = Corpus.load(corpus_csv).table
    no_valence = table.assign(valence=np.nan)
    Corpus(no_valence, "novalence").save(tmp_path / "novalence.csv")
    assert "task 'valence' has no labels" in _bad(tmp_path, capsys, "--corpus", str(tmp_path / "novalence.csv"),
                                                  "--strategy", "pretrain", "--phases", "valence:1,stress")
    no_validation = table.assign(split=table["split"].replace("validation", "train"))
    Corpus(no_validation, "noval").save(tmp_path / "noval.csv")
    assert "validation split" in _bad(tmp_path, capsys, "--corpus", str(tmp_path / "noval.csv"))

    audio_run = tmp_path / "audio"  # stress head on 256 audio features
    train_run(RunConfig(data=DataConfig(corpus=corpus_csv), model=ModelConfig(modality="audio"),
                        train=TrainConfig(max_epochs=1)), audio_run)
    err = _bad(tmp_path, capsys, "--corpus", corpus_csv, "--init-from", str(audio_run), "--modality", "both")
    assert "checkpoint from another model shape" in err and "heads.stress.weight" in err


def test_missing_labels_leave_items_out_of_that_task_only(tmp_path):
    corpus = synthetic_corpus()
    train_rows = corpus.table.index[corpus.table["split"] == "train"]
    corpus.table.loc[train_rows[:30], "activation"] = np.nan
    corpus.save(tmp_path / "c.csv")
    cfg, data, _, _ = build(config(str(tmp_path / "c.csv")))
    assert len(data.tasks["activation"].splits["train"]) == 180
    assert len(data.tasks["stress"].splits["train"]) == 210
    assert any("activation: 30 items without a label" in n for n in data.notes)
    assert torch.isfinite(data.tasks["activation"].target).all()


def test_launch_runs_in_the_background(tmp_path, corpus_csv):
    from muser_core.train import launch

    with pytest.raises(InputError, match="unknown strategy"):
        launch(RunConfig(strategy=StrategyConfig(name="magic")), tmp_path / "x")
    out = tmp_path / "bg"
    proc = launch(config(corpus_csv, max_epochs=2), out)
    assert proc.wait(timeout=120) == 0, (out / "train.log").read_text()
    assert runs.read_status(out)["state"] == "finished"
    assert [r["epoch"] for r in runs.read_metrics(out)] == [0, 1, 2]

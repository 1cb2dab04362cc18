"""One training run: its files, learning, exact stop and resume, one process per folder, refused data."""

from __future__ import annotations

import json
import math
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from conftest import StopAtBatch, run_with_file_limit, stray_temporaries, synthetic_corpus, timeless
from safetensors.torch import load_file

from muser_core.base.errors import InputError
from muser_core.base.paths import CHECKOUT as REPO_ROOT
from muser_core.cli import run_command
from muser_core.config import DataConfig, ModelConfig, RunConfig, StrategyConfig, TrainConfig
from muser_core.data.corpus import Corpus
from muser_core.features.acoustic import EGEMAPS_FEATURES
from muser_core.predict.run_model import load_trained_model, predict
from muser_core.sources import CORPORA
from muser_core.train import Callback, build, train_run
from muser_core.train import run_folder as rf
from muser_core.train.loop import TIMING_KEYS

main = run_command("train")


def config(corpus: str, **train) -> RunConfig:
    return RunConfig(data=DataConfig(corpus=corpus, tasks=["stress", "activation", "valence"]),
                     strategy=StrategyConfig(name="speed", history=1),
                     train=TrainConfig(**{"max_epochs": 4, "patience": 50, **train}))


def flat(metrics: dict) -> dict:
    return {f"{task}.{name}": v for task, values in metrics.items() for name, v in values.items()}


def test_short_frozen_run_writes_the_documented_files(tmp_path, corpus_csv):
    out = tmp_path / "run"
    test = train_run(config(corpus_csv), out)
    names = {p.name for p in out.iterdir()}
    assert {rf.CONFIG, rf.METRICS, rf.CHECKPOINT, rf.TEST, rf.STATUS, rf.ENV,
            rf.NORMALISER, rf.DATA} <= names
    assert rf.RESUME not in names  # a finished run cannot continue: no resume state left behind

    records = rf.read_metrics(out)
    assert [r["epoch"] for r in records] == [0, 1, 2, 3, 4]
    for r in records:
        assert {"epoch", "probabilities", "batches", "samples", "train_loss", "val", *TIMING_KEYS} <= set(r)
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

    cfg = rf.read_config(out)
    assert cfg.data.tasks == ["stress", "activation", "valence"] and cfg.train.lr == 3e-4
    assert cfg.model.text_dim == 384
    status = rf.read_status(out)
    assert status["state"] == "finished" and status["epochs_done"] == 4 and status["samples_per_s"] > 0
    train = Corpus.load(corpus_csv).table.query("split == 'train'")["stress"]
    assert json.loads((out / rf.DATA).read_text())["tasks"]["stress"]["classes"]["train"] == \
        {"not stressed": int((train == 0).sum()), "stressed": int((train == 1).sum())}
    weights = load_file(str(out / rf.CHECKPOINT))
    assert "heads.stress.weight" in weights and not any(k.startswith("text_encoder") for k in weights)
    saved = json.loads((out / rf.TEST).read_text())
    assert flat(saved["metrics"]) == pytest.approx(flat(test)) and saved["best_epoch"] == status["best_epoch"]
    env = json.loads((out / rf.ENV).read_text())
    assert {"packages", "git_commit", "device", "python"} <= set(env)
    normaliser = json.loads((out / rf.NORMALISER).read_text())
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
    records = rf.read_metrics(tmp_path / "run")
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
    data = json.loads((tmp_path / "run" / rf.DATA).read_text())
    from muser_core.train import load_corpus
    table = load_corpus("demo").table
    majority = table.loc[table["split"] == "test", "stress"].value_counts(normalize=True).max()
    assert data["tasks"]["stress"]["items"]["test"] > 0
    assert test["stress"]["accuracy"] > majority + 0.05




KILL_FLAGS = ["--strategy", "speed", "--history", "2", "--max-epochs", "60", "--patience", "1000",
              "--save-every", "0", "--no-progress"]


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory, corpus_csv):
    """The uninterrupted reference for the interrupted runs below."""
    out = tmp_path_factory.mktemp("straight") / "run"
    assert main(["--corpus", corpus_csv, *KILL_FLAGS, "--out", str(out)]) == 0
    return out


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_resume_after_a_stop_or_a_kill_equals_an_uninterrupted_run(tmp_path, corpus_csv, straight_run, sig):
    """SIGTERM (the Stop button) and SIGKILL mid-run; the resumed metrics.jsonl equals the straight run's."""
    out = tmp_path / "interrupted"
    proc = subprocess.Popen([sys.executable, "-m", "muser_core", "train", "--corpus", corpus_csv, *KILL_FLAGS,
                             "--out", str(out)], cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while len(rf.read_metrics(out)) < 8 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(sig)
    assert proc.wait(timeout=60) in (0, -signal.SIGKILL), proc.stderr.read()
    done_before = len(rf.read_metrics(out))
    assert 8 <= done_before < 61, "the run finished before it could be interrupted"
    assert rf.read_status(out)["state"] == ("stopped" if sig == signal.SIGTERM else "killed")
    assert (out / rf.RESUME).is_file()

    assert main(["--out", str(out), "--resume", "--no-progress"]) == 0
    assert rf.read_status(out)["state"] == "finished"
    assert timeless(rf.read_metrics(out)) == timeless(rf.read_metrics(straight_run))
    assert json.loads((out / rf.TEST).read_text()) == json.loads((straight_run / rf.TEST).read_text())
    assert load_file(str(out / rf.CHECKPOINT)).keys() == load_file(str(straight_run / rf.CHECKPOINT)).keys()
    for name, tensor in load_file(str(out / rf.CHECKPOINT)).items():
        assert torch.equal(tensor, load_file(str(straight_run / rf.CHECKPOINT))[name])




def test_stop_then_resume_equals_an_uninterrupted_run(tmp_path, corpus_csv):
    """The reported defect: after a clean stop the resume state held the best epoch's weights."""
    cfg = config(corpus_csv, max_epochs=12)
    out = tmp_path / "stopped"
    assert train_run(cfg, out, callbacks=[StopAtBatch(40)]) == {}  # in epoch 6, after the best epoch
    status = rf.read_status(out)
    assert status["state"] == "stopped" and status["epoch_in_progress"]["epoch"] == 6
    assert status["resume_bytes"] == (out / rf.RESUME).stat().st_size
    assert train_run(None, out, resume=True)
    straight = tmp_path / "straight"
    train_run(cfg, straight)
    assert timeless(rf.read_metrics(out)) == timeless(rf.read_metrics(straight))
    assert json.loads((out / rf.TEST).read_text()) == json.loads((straight / rf.TEST).read_text())


def test_a_runs_folder_copied_elsewhere_resumes_on_its_own_copy_of_the_data(tmp_path, monkeypatch):
    """config.json keeps a table inside the runs folder (the app's .corpora/ copies) relative to that folder."""
    first = tmp_path / "lab-a" / "runs"
    monkeypatch.setenv("MUSER_RUNS_DIR", str(first))
    synthetic_corpus().save(first / CORPORA / "synthetic.csv")
    cfg = config(str(first / CORPORA / "synthetic.csv"), max_epochs=12)
    assert train_run(cfg, first / "r", callbacks=[StopAtBatch(40)]) == {}
    stored = json.loads((first / "r" / rf.CONFIG).read_text())["data"]["corpus"]
    assert stored == "${MUSER_RUNS_DIR}/.corpora/synthetic.csv"

    second = tmp_path / "lab-b" / "runs"
    shutil.copytree(first, second)
    shutil.rmtree(tmp_path / "lab-a")
    monkeypatch.setenv("MUSER_RUNS_DIR", str(second))
    assert rf.read_config(second / "r").data.corpus == str(second / CORPORA / "synthetic.csv")
    assert train_run(None, second / "r", resume=True)
    straight = tmp_path / "straight"
    train_run(config(str(second / CORPORA / "synthetic.csv"), max_epochs=12), straight)
    assert timeless(rf.read_metrics(second / "r")) == timeless(rf.read_metrics(straight))


def test_a_copied_run_folder_without_its_data_says_in_one_line_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MUSER_RUNS_DIR", str(tmp_path / "runs"))
    table = tmp_path / "data" / "synthetic.csv"
    synthetic_corpus().save(table)
    assert train_run(config(str(table), max_epochs=12), tmp_path / "runs" / "r", callbacks=[StopAtBatch(40)]) == {}
    shutil.copytree(tmp_path / "runs" / "r", tmp_path / "elsewhere" / "r")
    shutil.rmtree(tmp_path / "data")
    assert main(["--out", str(tmp_path / "elsewhere" / "r"), "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "config.json: the run's data.corpus" in err and str(table) in err
    assert "is not on this machine" in err and "--corpus PATH" in err
    assert rf.read_status(tmp_path / "elsewhere" / "r")["state"] == "failed"


def test_the_resume_state_is_written_at_most_every_n_seconds_and_at_a_stop(tmp_path, corpus_csv):
    seen = []

    class Watch(Callback):
        def on_epoch_end(self, trainer, record):
            seen.append((tmp_path / "run" / rf.RESUME).exists())
            if record["epoch"] == 3:
                trainer.stop_requested = True

    train_run(config(corpus_csv, save_every_s=3600), tmp_path / "run", callbacks=[Watch()])
    assert seen == [False] * 4  # never during the run (the hour has not passed) ...
    assert (tmp_path / "run" / rf.RESUME).is_file()  # ... then once, at the stop
    train_run(None, tmp_path / "run", resume=True)
    assert not (tmp_path / "run" / rf.RESUME).exists()  # finished: nothing to resume


def test_a_second_trainer_on_a_locked_folder_is_refused(tmp_path, corpus_csv):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "muser_core", "train", "--corpus", corpus_csv, "--max-epochs",
                             "5000", "--patience", "5000", "--no-progress", "--out", str(out)],
                            cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while len(rf.read_metrics(out)) < 2 and time.time() < deadline:
            assert proc.poll() is None
            time.sleep(0.05)
        with pytest.raises(InputError, match=f"another process is working in this folder \\(pid {proc.pid}"):
            train_run(None, out, resume=True)
        with pytest.raises(InputError, match="a run already exists"):
            train_run(config(corpus_csv), out)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    records = rf.read_metrics(out)
    assert [r["epoch"] for r in records] == list(range(len(records)))  # one writer: no interleaved epochs


def test_a_stress_split_with_one_class_is_refused_with_the_counts(tmp_path, capsys, corpus_csv):
    """The reported defect: all-stressed data trained and reported accuracy/precision/recall/F1 = 1.000."""
    table = Corpus.load(corpus_csv).table
    Corpus(table.assign(stress=1.0), "all-stressed").save(tmp_path / "one.csv")
    err = _bad(tmp_path, capsys, "--corpus", str(tmp_path / "one.csv"), "--strategy", "single", "--split", "table")
    counts = table["split"].value_counts()
    assert "the train and validation and test splits have only one class" in err
    assert f"train: 0 not stressed, {counts['train']} stressed" in err
    only_test = table.copy()
    only_test.loc[only_test["split"] == "test", "stress"] = 0.0
    Corpus(only_test, "test-one-class").save(tmp_path / "test1.csv")
    err = _bad(tmp_path, capsys, "--corpus", str(tmp_path / "test1.csv"), "--strategy", "single", "--split", "table")
    assert "the test split has only one class" in err


def _bad(tmp_path, capsys, *argv) -> str:
    out = tmp_path / "bad-run"
    assert main([*argv, "--out", str(out), "--no-progress", "--max-epochs", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert not (out / rf.METRICS).exists()  # nothing trained
    return err


def test_bad_input_is_one_line_before_training(tmp_path, capsys, corpus_csv):
    assert "unknown task 'arousal'" in _bad(tmp_path, capsys, "--corpus", corpus_csv, "--tasks", "stress,arousal")
    assert "unknown strategy 'magic'" in _bad(tmp_path, capsys, "--corpus", corpus_csv, "--strategy", "magic")
    assert "need an external emotion set" in _bad(tmp_path, capsys, "--corpus", corpus_csv, "--tasks", "stress,ext_valence")
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
    assert "checkpoint from another model shape" in err and "weight 'heads." in err


def test_missing_labels_leave_items_out_of_that_task_only(tmp_path):
    corpus = synthetic_corpus()
    train_rows = corpus.table.index[corpus.table["split"] == "train"]
    corpus.table.loc[train_rows[:30], "activation"] = np.nan
    corpus.save(tmp_path / "c.csv")
    cfg, data, _, _, _ = build(config(str(tmp_path / "c.csv")))
    assert len(data.tasks["activation"].splits["train"]) == 180
    assert len(data.tasks["stress"].splits["train"]) == 210
    assert any("activation: 30 items without a label" in n for n in data.notes)
    assert torch.isfinite(data.tasks["activation"].target).all()


@pytest.mark.parametrize("split", ["paper", "speaker", "table"])
def test_split_is_honoured_for_a_corpus_csv(tmp_path, corpus_csv, split):
    """The reported defect: --split paper was ignored for a CSV (a 2,326-sentence CSV tested on 260 sentences)."""
    from muser_core.data.splits import PAPER_SPLIT_SIZES

    table = Corpus.load(corpus_csv).table
    cfg = RunConfig(data=DataConfig(corpus=corpus_csv, split=split), strategy=StrategyConfig(name="single"),
                    train=TrainConfig(max_epochs=1))
    train_run(cfg, tmp_path / "run")
    data = json.loads((tmp_path / "run" / rf.DATA).read_text())
    items = data["tasks"]["stress"]["items"]
    assert sum(items.values()) == len(table)
    if split == "paper":
        assert items["test"] == round(len(table) * PAPER_SPLIT_SIZES[2] / sum(PAPER_SPLIT_SIZES))
        assert items["validation"] == round(len(table) * PAPER_SPLIT_SIZES[1] / sum(PAPER_SPLIT_SIZES))
        assert any("paper sizes" in note for note in data["notes"])
    elif split == "table":
        assert items == table["split"].value_counts().to_dict()
        assert any("the table's own split column" in note for note in data["notes"])
    else:
        assert any("speaker-independent, made here with seed 0" in note for note in data["notes"])
    assert rf.read_config(tmp_path / "run").data.split == split


def test_the_effective_precision_and_device_are_recorded(tmp_path, corpus_csv):
    cfg = RunConfig(data=DataConfig(corpus=corpus_csv), strategy=StrategyConfig(name="single"),
                    train=TrainConfig(max_epochs=1))
    train_run(cfg, tmp_path / "run")
    saved = rf.read_config(tmp_path / "run").train
    assert (saved.device, saved.precision, saved.threads) == ("cpu", "fp32", 1)  # no GPU here: fp32


# ---------------------------------------------------------------- faults

def _train_cli(out, corpus, *extra) -> list[str]:
    return [sys.executable, "-m", "muser_core", "train", "--corpus", corpus, "--strategy", "single",
            "--max-epochs", "2", "--no-progress", "--out", str(out), *extra]


def _one_error_line(proc) -> str:
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert proc.returncode == 2 and len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return errors[0]


def test_a_read_only_runs_folder_is_one_line(read_only_folder, corpus_csv):
    proc = subprocess.run(_train_cli(read_only_folder / "r1", corpus_csv), capture_output=True, text=True,
                          cwd=REPO_ROOT)
    assert "cannot write the run folder" in _one_error_line(proc)


def test_the_disk_filling_during_training_fails_the_run_with_its_reason(tmp_path, corpus_csv):
    """The checkpoint (1.3 MB) no longer fits: status 'failed' naming it, one line, no stray temporary file."""
    out = tmp_path / "run"
    proc = run_with_file_limit(_train_cli(out, corpus_csv), limit_bytes=600_000, cwd=REPO_ROOT)
    line = _one_error_line(proc)
    assert "cannot write" in line and rf.CHECKPOINT in line
    status = rf.read_status(out)
    assert status["state"] == "failed" and "cannot write" in status["error"]
    assert stray_temporaries(out) == []


def test_a_full_disk_during_training_fails_the_run_with_its_reason(small_disk, corpus_csv):
    out = small_disk / "run"
    proc = subprocess.run(_train_cli(out, corpus_csv), capture_output=True, text=True, cwd=REPO_ROOT)
    line = _one_error_line(proc)
    assert "No space left on device" in line
    status = rf.read_status(out)
    assert status["state"] == "failed" and "No space left" in status["error"]
    assert stray_temporaries(out) == []


@pytest.mark.parametrize("content", [{}, [1, 2], {"model": {}, "optimizer": 3, "streams": [], "meta": "{}"}])
def test_a_resume_state_of_the_wrong_shape_is_one_line(tmp_path, corpus_csv, capsys, content):
    out = tmp_path / "run"
    assert train_run(config(corpus_csv, max_epochs=2), out, callbacks=[StopAtBatch(1)]) == {}   # stopped
    torch.save(content, out / rf.RESUME)
    assert main(["--out", str(out), "--resume", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {out / rf.RESUME}: unreadable resume state"), err


def test_the_resume_state_holds_no_second_copy_of_the_best_weights(tmp_path, corpus_csv):
    """The best weights are the checkpoint file; a resume reads them back from there, and without them
    it refuses rather than scoring the last weights as the best."""
    from muser_core.train.checkpoints import load_best_state, save_checkpoint

    cfg = config(corpus_csv, max_epochs=12)
    out = tmp_path / "stopped"
    train_run(cfg, out, callbacks=[StopAtBatch(40)])
    state = torch.load(out / rf.RESUME, weights_only=True)
    assert "best_state" not in state
    best_epoch = rf.read_status(out)["best_epoch"]
    best = load_best_state(out, best_epoch)
    assert best and all(torch.equal(best[k], v) for k, v in load_file(str(out / rf.CHECKPOINT)).items())
    # A checkpoint of another epoch (a kill between a new best and the next resume state) is not taken.
    save_checkpoint(tmp_path, best, best_epoch + 1)
    assert load_best_state(tmp_path, best_epoch) == {}
    # Without its checkpoint the resume is refused in one line, never trained on to a silent wrong result.
    (out / rf.CHECKPOINT).rename(tmp_path / "kept.safetensors")
    with pytest.raises(InputError, match=f"unreadable checkpoint of the best epoch {best_epoch}"):
        train_run(None, out, resume=True)

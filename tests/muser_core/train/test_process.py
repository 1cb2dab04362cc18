"""Process control: one launcher per folder, liveness from the lock, Stop signals only the lock holder."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from muser_core.base.errors import InputError
from muser_core.base.paths import CHECKOUT
from muser_core.config import DataConfig, RunConfig, StrategyConfig, TrainConfig
from muser_core.train import process
from muser_core.train import run_folder as rf


def config(corpus: str, **train) -> RunConfig:
    return RunConfig(data=DataConfig(corpus=corpus), strategy=StrategyConfig(name="uniform"),
                     train=TrainConfig(**{"max_epochs": 2, "patience": 50, **train}))


def wait_for(predicate, timeout: float = 120.0, what: str = "it"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_launched_run_trains_in_the_background(tmp_path, corpus_csv):
    with pytest.raises(InputError, match="unknown strategy"):
        process.launch_run(RunConfig(strategy=StrategyConfig(name="magic")), tmp_path / "x")
    assert not (tmp_path / "x").exists()
    out = tmp_path / "bg"
    process.launch_run(config(corpus_csv), out)
    assert process.run_state(out)["state"] in ("starting", "preparing", "running", "finished")
    wait_for(lambda: process.run_state(out)["state"] not in process.ACTIVE, what="the run to end")
    assert process.run_state(out)["state"] == "finished", (out / rf.TRAIN_LOG).read_text()
    assert [r["epoch"] for r in rf.read_metrics(out)] == [0, 1, 2]


def test_launching_twice_quickly_starts_one_trainer(tmp_path, corpus_csv):
    """The reported defect: two quick launches interleaved every epoch in metrics.jsonl."""
    out = tmp_path / "twice"
    process.launch_run(config(corpus_csv, max_epochs=5000, patience=5000), out)
    with pytest.raises(InputError, match="one process per folder"):
        process.launch_run(config(corpus_csv, max_epochs=5000, patience=5000), out)
    # A second trainer started by hand meanwhile is refused by the lock, in one line.
    wait_for(lambda: len(rf.read_metrics(out)) >= 3, what="three epochs")
    second = subprocess.run([sys.executable, "-m", "muser_core", "train", "--out", str(out), "--resume",
                             "--no-progress"], capture_output=True, text=True, timeout=120)
    assert second.returncode == 2 and "another process is working in this folder" in second.stderr
    assert process.stop(out)
    wait_for(lambda: process.run_state(out)["state"] not in process.ACTIVE, what="the stop")
    assert process.run_state(out)["state"] == "stopped"
    epochs = [r["epoch"] for r in rf.read_metrics(out)]
    assert epochs == list(range(len(epochs)))  # one writer
    # Resume from the page's launcher continues the same folder.
    process.launch_run(None, out, resume=True)
    wait_for(lambda: process.run_state(out)["state"] == "running", what="the resumed run")
    assert process.stop(out)
    wait_for(lambda: process.run_state(out)["state"] == "stopped", what="the second stop")


def test_stop_never_signals_a_stranger_with_a_reused_pid(tmp_path):
    """The reported defect: a killed run's pid, reused by another process, got SIGTERM from Stop."""
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        folder = tmp_path / "killed-run"
        folder.mkdir()
        rf.write_json(folder / rf.CONFIG, RunConfig().resolved().to_dict())
        identity = rf.process_identity(stranger.pid)
        # What a SIGKILLed run leaves: status 'running', owner and launch records, its pid now someone else's.
        rf.write_json(folder / rf.STATUS, {"state": "running", **identity, "process_started": 1.0})
        rf.write_json(folder / rf.OWNER, {**identity, "process_started": 1.0})
        rf.write_json(folder / rf.LAUNCH, {"kind": "train", **identity, "process_started": 1.0, "started": 1.0})
        (folder / rf.LOCK).write_text("")
        assert process.run_state(folder)["state"] == "killed"
        assert process.stop(folder) is False
        time.sleep(0.2)
        assert stranger.poll() is None, "Stop signalled a process that does not hold the run's lock"
        process.launch_run(None, folder, resume=True)  # and resume is not refused as 'still running'
    finally:
        stranger.kill()
        stranger.wait()


def test_state_of_a_launch_that_died_before_training_is_its_logged_error(tmp_path):
    folder = tmp_path / "early"
    folder.mkdir()
    proc = subprocess.Popen(["true"])
    proc.wait()
    rf.write_json(folder / rf.LAUNCH, {"kind": "train", "pid": proc.pid, "process_started": 0.0,
                                       "host": "x", "started": time.time()})
    (folder / rf.TRAIN_LOG).write_text("loading\nerror: task 'valence' has no labels in corpus 'x'\n")
    state = process.run_state(folder)
    assert state["state"] == "failed" and state["error"] == "task 'valence' has no labels in corpus 'x'"


def test_shipped_runs_are_read_only(tmp_path):
    shipped = process.SHIPPED_RUNS / "demo-speed"
    with pytest.raises(InputError, match="read-only"):
        process.launch_run(None, shipped, resume=True)


def test_listing_survives_damaged_folders(tmp_path):
    good = tmp_path / "good"
    good.mkdir()
    rf.write_json(good / rf.CONFIG, RunConfig().resolved().to_dict())
    rf.write_json(good / rf.STATUS, {"state": "finished", "epochs_done": 4})
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / rf.CONFIG).write_text("[1, 2, 3]")
    (bad / rf.STATUS).write_text('"finished"')
    nested = tmp_path / "sweep" / "a-seed0"
    nested.mkdir(parents=True)
    rf.write_json(nested / rf.CONFIG, {"data": 5})
    table = process.list_runs([(tmp_path, False)])
    assert sorted(table["name"]) == ["bad", "good", "sweep/a-seed0"]
    assert table.set_index("name").loc["good", "state"] == "finished"


def test_a_launch_record_is_read_in_one_place_and_its_damage_is_absorbed(tmp_path):
    """launch.json: read by process.read_launch alone; a damaged argv or start time reads as none."""
    folder = tmp_path / "run"
    folder.mkdir()
    cfg = RunConfig(train=TrainConfig(max_epochs=60)).resolved()
    rf.write_json(folder / rf.LAUNCH, {"kind": "train", "argv": ["muser", "--config", cfg.to_json()], "started": 5})
    assert process.launched_config(process.read_launch(folder)).train.max_epochs == 60
    rf.write_json(folder / rf.LAUNCH, {"kind": "train", "argv": "--config {}", "started": "soon"})
    record = process.read_launch(folder)
    assert record["argv"] == [] and record["started"] == 0.0 and process.launched_config(record) is None
    (folder / rf.LAUNCH).write_text("[1]")
    assert process.read_launch(folder) == {} and process.read_launch(tmp_path / "nothing") == {}
    readers = [str(p.relative_to(CHECKOUT)) for d in ("muser_core", "analysis", "ui", "pages")
               for p in sorted((CHECKOUT / d).rglob("*.py"))
               if "/ rf.LAUNCH)" in p.read_text() or "/ LAUNCH)" in p.read_text()]
    assert readers == ["muser_core/train/process.py"]

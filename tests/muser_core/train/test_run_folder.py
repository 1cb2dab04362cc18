"""The run folder: names stay inside the runs folder, tolerant reading, the OS lock, status from the lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from muser_core.base.errors import InputError
from muser_core.config import RunConfig
from muser_core.train import run_folder as rf


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "../x", "/abs", ".hidden", "a\\b", "my run!", "-x",
                                  "é", "a" * 101])
def test_run_names_are_letters_digits_dash_underscore(tmp_path, name):
    with pytest.raises(InputError, match="letters, digits"):
        rf.run_path(name, tmp_path)


def test_run_path_inside_root(tmp_path):
    assert rf.run_path("speed-h5_2", tmp_path) == tmp_path / "speed-h5_2"


def test_metrics_reader_skips_half_written_line(tmp_path):
    rf.append_metrics(tmp_path, {"epoch": 0, "val": {"stress": {"accuracy": float("nan")}}})
    rf.append_metrics(tmp_path, {"epoch": 1, "probabilities": {"stress": 1.0}})
    with open(tmp_path / rf.METRICS, "a") as handle:
        handle.write('{"epoch": 2, "probab')  # killed mid-write
    records = rf.read_metrics(tmp_path)
    assert [r["epoch"] for r in records] == [0, 1]
    assert records[0]["val"]["stress"]["accuracy"] is None  # NaN is written as null (strict JSON)


def test_atomic_json_and_missing_files(tmp_path):
    rf.write_json(tmp_path / "x.json", {"a": 1})
    assert rf.read_json(tmp_path / "x.json") == {"a": 1}
    assert rf.read_json(tmp_path / "missing.json") is None
    (tmp_path / "bad.json").write_text("{")
    assert rf.read_json(tmp_path / "bad.json") is None
    (tmp_path / "list.json").write_text("[1, 2]")
    assert rf.read_json(tmp_path / "list.json") is None  # a file that is not an object reads as absent
    assert not list(tmp_path.glob(".*tmp"))


HOLD = """
import sys, time
from muser_core.train.run_folder import RunLock
with RunLock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(60)
"""


def _holder(folder):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_the_lock_admits_one_process_and_dies_with_it(tmp_path):
    folder = tmp_path / "run"
    proc = _holder(folder)
    try:
        assert rf.is_locked(folder)
        owner = rf.lock_owner(folder)
        assert owner["pid"] == proc.pid
        with pytest.raises(InputError, match=f"another process is working in this folder \\(pid {proc.pid}"):
            rf.RunLock(folder, timeout=0.2).acquire()
    finally:
        proc.kill()
        proc.wait()
    # SIGKILL: no cleanup ran, yet the kernel released the lock; the stale owner.json names a dead process.
    assert not rf.is_locked(folder) and rf.lock_owner(folder) is None
    with rf.RunLock(folder):
        assert rf.read_json(folder / rf.OWNER)["pid"] == os.getpid()
    assert not (folder / rf.OWNER).exists()  # released cleanly: no pid left for a later reader


def test_a_running_status_without_its_lock_reads_killed(tmp_path):
    with rf.RunLock(tmp_path):
        rf.write_status(tmp_path, "running", epochs_done=3)
        assert rf.read_status(tmp_path)["state"] == "running"
    assert rf.read_status(tmp_path)["state"] == "killed"


def test_a_reused_pid_is_not_the_same_process(tmp_path):
    """A record with a live pid but another start time names a process that is gone."""
    me = rf.process_identity()
    assert rf.same_process(me)
    assert not rf.same_process({**me, "process_started": me["process_started"] - 100})
    assert not rf.same_process({**me, "host": "elsewhere"})
    assert not rf.same_process({"pid": "x"}) and not rf.same_process(None)


def test_probing_a_folder_never_creates_a_lock_file(tmp_path):
    assert not rf.is_locked(tmp_path)
    assert not (tmp_path / rf.LOCK).exists()  # shipped or read-only run folders stay untouched


def test_new_run_folder_checks(tmp_path):
    assert rf.check_new_run_folder(tmp_path / "new") == tmp_path / "new"
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        rf.check_new_run_folder(tmp_path / "file")
    data = tmp_path / "data"
    data.mkdir()
    (data / "my_table.csv").write_text("a,b\n")
    with pytest.raises(InputError, match="holds other files \\(my_table.csv\\)"):
        rf.check_new_run_folder(data)
    run = tmp_path / "run"
    run.mkdir()
    rf.write_json(run / rf.CONFIG, RunConfig().to_dict())
    with pytest.raises(InputError, match="a run already exists"):
        rf.check_new_run_folder(run)
    launched = tmp_path / "launched"
    launched.mkdir()
    for name in (rf.LAUNCH, rf.TRAIN_LOG, rf.LOCK):
        (launched / name).write_text("{}")
    assert rf.check_new_run_folder(launched) == launched


def test_config_round_trip_and_unknown_key(tmp_path):
    cfg = RunConfig()
    assert RunConfig.from_json(cfg.to_json()) == cfg
    bad = cfg.to_dict()
    bad["train"]["learning_rate"] = 1.0
    with pytest.raises(InputError, match="train.learning_rate"):
        RunConfig.from_dict(bad)
    assert json.loads(cfg.to_json())["strategy"]["rho"] == 0.1

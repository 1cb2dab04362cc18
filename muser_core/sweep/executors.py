"""Executors: where a sweep's runs train. ``local``: parallel processes here; ``ray``: Ray tasks, here or on a cluster.

An executor is a small frozen dataclass holding its own settings (declared with
:func:`~muser_core.base.settings.setting`, so the command line's flags come from them)
and one method, :meth:`Executor.execute`, that runs a sweep's jobs and yields
each one's outcome as it ends. :data:`EXECUTORS` is the one registry the
command line, the Results page and the tests read.

Every executor runs the same function on the same job (:func:`run_job`: train,
resume or reuse one run folder), so a run's results do not depend on the
executor. The run folder's OS lock and resume state come from the trainer, so a
run whose process was killed, by whichever executor, is resumed by the next
call of the same sweep.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, fields
from pathlib import Path
from typing import ClassVar, NamedTuple

from muser_core.base.errors import InputError
from muser_core.base.paths import PACKAGE_DIR
from muser_core.base.settings import number_argument, setting
from muser_core.config import RunConfig
from muser_core.train import run_folder as rf
from muser_core.train import train_run
from muser_core.train.process import run_state

TICK_S = 0.5  # how often an executor looks at a stop request and lets the sweep report progress
# A run that reserves no GPU must not see one (Ray leaves CUDA_VISIBLE_DEVICES alone for those).
WORKER_ENV = {"RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO": "1"}
OBJECT_STORE_BYTES = 256 * 2**20  # a local Ray instance: runs exchange only small dicts (not 30% of memory)
ORPHAN_GRACE_S = 30.0  # a local worker whose sweep died stops its run after a batch; past this it just ends
PR_SET_PDEATHSIG = 1  # linux/prctl.h


@dataclass(frozen=True)
class Job:
    """One run of a sweep: its row label, seed, run folder and resolved config."""

    label: str
    seed: int
    out: Path
    config: dict  # RunConfig.to_dict(), resolved

    @property
    def fine_tunes(self) -> bool:
        """Trains the Transformer (the runs that want a GPU)."""
        model = self.config.get("model", {})
        return model.get("text_mode") == "finetune" and model.get("modality") in ("text", "both")


class Outcome(NamedTuple):
    index: int   # the job's position in the list given to execute()
    state: str   # finished, stopped, killed: ..., failed: ...
    test: dict   # test metrics ({} unless finished)


def run_job(job: Job) -> tuple[str, dict]:
    """Train one run folder, or resume it (its config.json exists), or reuse it (finished): (state, test)."""
    resume = (job.out / rf.CONFIG).is_file()
    try:
        test = train_run(None if resume else RunConfig.from_dict(job.config), job.out, resume=resume)
    except Exception as exc:  # one failed run must not sink the sweep; its status.json has the error
        return f"failed: {type(exc).__name__}: {exc}".splitlines()[0], {}
    return ("finished" if test else "stopped"), test


_SWEEP_PID: int | None = None  # in a local worker process: the sweep that started it
_STOP_ASKED = False  # in a local worker process: the sweep asked its runs to stop


def _orphaned() -> bool:
    return _SWEEP_PID is not None and os.getppid() != _SWEEP_PID


def _die_with_sweep(sweep_pid: int) -> None:
    """A local worker's initializer: when its sweep process ends, however it ends (kill -9 included), so does it.

    Linux sends SIGTERM the moment the sweep dies (``prctl(PR_SET_PDEATHSIG)``,
    see prctl(2)); everywhere, a watchdog thread sees the worker handed to
    another parent (getppid(2)) and sends it too. The run then stops after its
    current batch and keeps its resume state, as on Stop, and frees its
    folder's lock, so the next sweep resumes it; a worker still there after
    :data:`ORPHAN_GRACE_S` (stuck in preparing data) ends at once. Between
    runs a SIGTERM only notes the stop (an idle worker that died would break
    the pool under the runs still stopping), so no run starts after it.
    """
    global _SWEEP_PID
    _SWEEP_PID = sweep_pid
    signal.signal(signal.SIGTERM, _note_stop)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    threading.Thread(target=_watch_sweep, daemon=True, name="watch-sweep").start()


def _note_stop(signum, frame) -> None:
    global _STOP_ASKED
    _STOP_ASKED = True
    if _orphaned():  # between runs, with nobody left to hand out the next one
        os._exit(0)


def _watch_sweep() -> None:
    while not _orphaned():  # also covers a sweep that died before the prctl above
        time.sleep(TICK_S)
    os.kill(os.getpid(), signal.SIGTERM)  # a second SIGTERM after the kernel's is harmless
    time.sleep(ORPHAN_GRACE_S)
    os._exit(1)


def _run_in_worker(job: Job) -> tuple[str, dict]:
    """:func:`run_job` in a local worker; an orphaned worker ends as soon as its run has stopped."""
    if _STOP_ASKED:  # the stop came between handing out this job and starting it
        return unstarted(job)
    result = run_job(job)
    if _orphaned():
        os._exit(0)  # nobody is left to take the result or hand out the next job
    return result


def unstarted(job: Job) -> tuple[str, dict]:
    """(state, test) of a job the sweep's stop kept from starting: its folder as an earlier call left it
    (finished, or stopped: resumable), else not started."""
    state = run_state(job.out)["state"] if (job.out / rf.CONFIG).is_file() else "not started"
    if state == "finished":
        return state, ((rf.read_json(job.out / rf.TEST) or {}).get("metrics") or {})
    return ("not started" if state == "not started" else "stopped"), {}


def lost(job: Job, why: str) -> tuple[str, dict]:
    """(state, test) of a run whose process ended without answering, read from its folder (lock and status)."""
    state = run_state(job.out)["state"] if job.out.is_dir() else "not started"
    if state in ("killed", "running", "preparing"):
        return f"killed: {why}; run the sweep again to resume it", {}
    return unstarted(job) if state in ("finished", "stopped", "unknown", "not started") else (state, {})


class StopRequest:
    """Set by the sweep's signal handler, read by the executor: the first asks runs to stop after a
    batch, a second forces them."""

    def __init__(self):
        self.count = 0

    def request(self) -> None:
        self.count += 1

    @property
    def requested(self) -> bool:
        return self.count > 0


class Executor(ABC):
    """Runs a sweep's jobs somewhere."""

    name: ClassVar[str]
    summary: ClassVar[str]  # one line for the command line's help and the page's choice

    @abstractmethod
    def execute(self, jobs: Sequence[Job], stop: StopRequest) -> Iterator[Outcome | None]:
        """Run every job; yield an :class:`Outcome` as each ends, and ``None`` every :data:`TICK_S` while
        runs go in other processes (a tick for progress). Once ``stop`` is requested no new run starts
        and running runs stop after their current batch (resumable); every job still gets its outcome."""

    @classmethod
    def declares(cls, setting_name: str) -> bool:
        """Whether this executor has the setting (a page shows its widget only then)."""
        return any(f.name == setting_name for f in fields(cls))

    def check(self) -> None:  # noqa: B027 (optional hook: most executors have nothing to reach)
        """Refuse in one line, before any data is prepared, what would only fail once the sweep starts."""

    def __post_init__(self):
        for f in fields(self):
            value, meta = getattr(self, f.name), f.metadata
            flag = meta.get("flag") or "--" + f.name.replace("_", "-")
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if meta.get("min") is not None and value < meta["min"]:
                    raise InputError(f"{flag}: must be at least {meta['min']:g} (got {value:g})")
                if meta.get("above") is not None and value <= meta["above"]:
                    raise InputError(f"{flag}: must be above {meta['above']:g} (got {value:g})")


def _workers():
    return setting(2, "runs at once on this machine: training processes (local), or the CPUs of the Ray "
                      "instance started here, workers x run-cpus (ray)", min=1)


@dataclass(frozen=True)
class LocalExecutor(Executor):
    """Parallel training processes on this machine (no Ray); one worker trains in the sweep's own process."""

    name: ClassVar[str] = "local"
    summary: ClassVar[str] = "training processes on this machine (no Ray)"
    workers: int = _workers()

    def execute(self, jobs: Sequence[Job], stop: StopRequest) -> Iterator[Outcome | None]:
        if self.workers <= 1:
            for i, job in enumerate(jobs):
                if stop.requested:
                    yield Outcome(i, *unstarted(job))
                    continue
                state, test = run_job(job)  # the run's own signal handler turns a stop into "stopped"
                if state == "stopped":
                    stop.request()
                yield Outcome(i, state, test)
            return
        # spawn: a forked child would inherit torch's thread pools and locks from the parent.
        context = multiprocessing.get_context("spawn")
        # Each worker dies with this process (kill -9 included), so no run outlives its sweep.
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=context, initializer=_die_with_sweep,
                                 initargs=(os.getpid(),)) as pool:
            yield from run_bounded(jobs, stop, self.workers, _ProcessSlots(pool))


class Slots(ABC):
    """Where :func:`run_bounded` sends jobs: an executor's pool of processes or Ray tasks."""

    @abstractmethod
    def submit(self, job: Job):
        """Start ``job``; return its handle (a future, an object ref)."""

    @abstractmethod
    def wait(self, handles: list) -> list:
        """The handles that ended, after at most :data:`TICK_S`."""

    @abstractmethod
    def result(self, handle, job: Job) -> tuple[str, dict]:
        """An ended job's (state, test), read from its folder when its process died."""

    @abstractmethod
    def stop(self, handles: list, count: int) -> None:
        """Ask the running jobs to stop after their current batch (``count``: stop requests so far)."""


def run_bounded(jobs: Sequence[Job], stop: StopRequest, slots: int, pool: Slots) -> Iterator[Outcome | None]:
    """Run ``jobs`` with at most ``slots`` submitted at a time, so a stop has nothing queued to take back.

    While a stop is requested and runs remain, ``pool.stop`` is called at every tick; jobs never submitted
    end as :func:`unstarted`. Yields as :meth:`Executor.execute` does.
    """
    running: dict = {}
    submitted = 0
    while True:
        while not stop.requested and len(running) < slots and submitted < len(jobs):
            running[pool.submit(jobs[submitted])] = submitted
            submitted += 1
        if not running:
            break
        done = pool.wait(list(running))
        for handle in done:
            i = running.pop(handle)
            yield Outcome(i, *pool.result(handle, jobs[i]))
        if stop.requested and running:
            pool.stop(list(running), stop.count)
        if not done:
            yield None
    for i in range(submitted, len(jobs)):
        yield Outcome(i, *unstarted(jobs[i]))


class _ProcessSlots(Slots):
    def __init__(self, pool: ProcessPoolExecutor):
        self.pool = pool

    def submit(self, job: Job):
        return self.pool.submit(_run_in_worker, job)

    def wait(self, handles: list) -> list:
        return list(wait(handles, timeout=TICK_S, return_when=FIRST_COMPLETED).done)

    def result(self, handle, job: Job) -> tuple[str, dict]:
        try:
            return handle.result()
        except (CancelledError, BrokenProcessPool):
            return lost(job, "its worker process died")

    def stop(self, handles: list, count: int) -> None:
        # Every worker, at every tick: a run that was only starting (its handler not yet installed) stops
        # too, and an idle worker notes the stop (see _die_with_sweep).
        for proc in list(self.pool._processes.values()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)


@dataclass(frozen=True)
class RayExecutor(Executor):
    """Each run a Ray task: on a Ray instance started here (127.0.0.1, no dashboard) or on a cluster."""

    name: ClassVar[str] = "ray"
    summary: ClassVar[str] = "each run a Ray task, on a Ray instance started here (127.0.0.1) or on a cluster"
    workers: int = _workers()
    address: str = setting("", "an existing Ray cluster (e.g. HEAD:6379 after `ray start --head`); "
                               "empty: start a Ray instance on this machine, bound to 127.0.0.1",
                           flag="--ray-address")
    run_cpus: float = setting(1.0, "CPUs Ray reserves for each run", above=0.0)
    run_gpus: float | None = setting(None, "GPUs Ray reserves for each run, fractions allowed (default: 1 "
                                           "per fine-tuning run when the Ray cluster has GPUs, else 0)", min=0.0)
    dashboard: bool = setting(False, "start Ray's dashboard (127.0.0.1:8265) with the Ray instance started here",
                              flag="--ray-dashboard")

    def execute(self, jobs: Sequence[Job], stop: StopRequest) -> Iterator[Outcome | None]:
        ray, started = self._connect(stop)
        try:
            yield from self._run(ray, jobs, stop)
        finally:
            if started:  # our own instance: its raylet, GCS and workers end with it
                ray.shutdown()

    def check(self) -> None:
        """An address where nothing listens is one line now, not after the data is prepared."""
        if self.address:
            _check_reachable(self.address)

    def gpus_for(self, job: Job, cluster_gpus: float) -> float:
        if self.run_gpus is not None:
            return self.run_gpus
        return 1.0 if job.fine_tunes and cluster_gpus >= 1 else 0.0

    def _run(self, ray, jobs: Sequence[Job], stop: StopRequest) -> Iterator[Outcome | None]:
        if stop.requested:  # asked to stop while Ray was starting
            yield from (Outcome(i, *unstarted(job)) for i, job in enumerate(jobs))
            return
        resources = ray.cluster_resources()
        gpus = {i: self.gpus_for(job, resources.get("GPU", 0.0)) for i, job in enumerate(jobs)}
        for what, need in (("CPU", self.run_cpus), ("GPU", max(gpus.values(), default=0.0))):
            if need > resources.get(what, 0.0):
                raise InputError(f"each run asks Ray for {need:g} {what}, but the Ray cluster has "
                                 f"{resources.get(what, 0.0):g}: lower --run-{what.lower()}s")
        task = ray.remote(max_retries=0)(run_job)  # a killed run is reported; the next sweep resumes it
        # As many tasks in Ray's hands as the cluster's CPUs train at once, so a stop has none queued to drop.
        slots = max(1, int(resources.get("CPU", 0.0) // self.run_cpus))
        yield from run_bounded(jobs, stop, slots, _RaySlots(ray, task, {j.out: self._options(j, gpus[i])
                                                                          for i, j in enumerate(jobs)}))

    def _options(self, job: Job, gpus: float) -> dict:
        return {"num_cpus": self.run_cpus, "num_gpus": gpus, "name": f"muser:{job.out.name}"}

    def _connect(self, stop: StopRequest):
        """(ray, started here): a Ray already initialised in this process, the cluster, or a new local instance."""
        if "ray" in sys.modules and sys.modules["ray"].is_initialized():
            return sys.modules["ray"], False
        handler = signal.getsignal(signal.SIGTERM)
        try:
            ray = start_ray(self.address, math.ceil(self.workers * self.run_cpus), self.dashboard)
        except SystemExit:  # Ray's own SIGTERM handler, during its start: a stop request
            import ray

            stop.request()
        finally:
            if handler is not None and threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, handler)  # ray.init replaces it; the sweep's stop must stay
        return ray, True


class _RaySlots(Slots):
    def __init__(self, ray, task, options: dict[Path, dict]):
        self.ray, self.task, self.options, self.cancelled = ray, task, options, 0

    def submit(self, job: Job):
        return self.task.options(**self.options[job.out]).remote(job)

    def wait(self, handles: list) -> list:
        return self.ray.wait(handles, num_returns=1, timeout=TICK_S)[0]

    def result(self, handle, job: Job) -> tuple[str, dict]:
        from ray.exceptions import RayError, TaskCancelledError

        try:
            return self.ray.get(handle)
        except TaskCancelledError:
            return lost(job, "cancelled")
        except RayError as exc:  # the worker died (killed, out of memory, node lost)
            return lost(job, f"the Ray worker died ({type(exc).__name__})")

    def stop(self, handles: list, count: int) -> None:
        if count > self.cancelled:  # once per request: KeyboardInterrupt -> stop after a batch; a second forces
            self.cancelled = count
            for ref in handles:
                self.ray.cancel(ref, force=count > 1)


def start_ray(address: str = "", num_cpus: int | None = None, dashboard: bool = False):
    """Connect this process to the Ray cluster at ``address``, or start a local Ray instance bound to 127.0.0.1.

    A local instance sends nothing off the machine (no usage statistics, no
    dashboard unless asked; then on 127.0.0.1:8265). Returns the ray module.
    """
    if not address:
        # Before ray is imported: the node's address is the loopback, so every Ray server binds to
        # 127.0.0.1. The raylet, and so every worker, inherits this environment. Ray starts its workers
        # at nice 15; on a machine busy with other work that made each run about 2x slower than the same
        # run in a local process (measured on 2 cores), so the runs keep this process's priority.
        os.environ.update(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_worker_niceness=str(os.nice(0)),
                          **WORKER_ENV)
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise InputError("--executor ray needs the ray package (pip install -r requirements.txt)") from None
    if address:
        _check_reachable(address)
        # The workers of a cluster get what they need from the job (a runtime_env per task would start
        # a fresh worker, and import torch, for every run); the code is at the same path on every node.
        env = {k: v for k, v in os.environ.items() if k.startswith("MUSER_") or k == "HF_HUB_OFFLINE"}
        path = os.pathsep.join(filter(None, [str(PACKAGE_DIR.parent), os.environ.get("PYTHONPATH")]))
        kwargs = {"address": address, "runtime_env": {"env_vars": {**env, **WORKER_ENV, "PYTHONPATH": path}}}
    else:
        ray._private.ray_constants.ENABLE_RAY_CLUSTER = False  # in case ray was imported before os.environ was set
        kwargs = {"num_cpus": num_cpus, "include_dashboard": dashboard, "dashboard_host": "127.0.0.1",
                  "object_store_memory": OBJECT_STORE_BYTES}
    try:
        ray.init(**kwargs, logging_level=logging.WARNING, log_to_driver=False)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        where = f"--ray-address {address}" if address else "could not start Ray on this machine"
        raise InputError(f"{where}: {exc}".splitlines()[0]) from None
    return ray


def _check_reachable(address: str, timeout_s: float = 10.0) -> None:
    """Refuse at once an address where nothing listens (ray.init would retry for minutes)."""
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if address == "auto" or not sep:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except ValueError:
        raise InputError(f"--ray-address {address}: write HOST:PORT, e.g. the head node's HOST:6379") from None
    except OSError as exc:
        raise InputError(f"--ray-address {address}: nothing answers there ({exc.strerror or exc}); "
                         "is `ray start --head` running on that host?") from None


EXECUTORS: dict[str, type[Executor]] = {"local": LocalExecutor, "ray": RayExecutor}
DEFAULT_EXECUTOR = "local"


def executor_settings() -> dict[str, tuple[str, object, str, type]]:
    """Every executor setting once: field name -> (flag, default, help, executor that declares it)."""
    out = {}
    for cls in EXECUTORS.values():
        for f in fields(cls):
            if f.name not in out and f.metadata.get("help"):
                out[f.name] = (f.metadata.get("flag") or "--" + f.name.replace("_", "-"), f.default,
                               f.metadata["help"], cls)
    return out


def make_executor(name: str, **options) -> Executor:
    """The registered executor with the options it declares; an option it lacks is refused in one line."""
    if name not in EXECUTORS:
        raise InputError(f"unknown executor '{name}' (choose {', '.join(EXECUTORS)})")
    cls = EXECUTORS[name]
    own = {f.name for f in fields(cls)}
    flags = executor_settings()
    for key, value in options.items():
        if key not in own and value not in (None, "", False):
            raise InputError(f"{flags[key][0]} applies to --executor {flags[key][3].name} only")
    return cls(**{k: v for k, v in options.items() if k in own and v is not None})


def add_executor_flags(parser) -> None:
    """``--executor`` and one flag per executor setting (each written once, in its executor's dataclass)."""
    types = {"int": number_argument(int), "float": number_argument(float), "float | None": number_argument(float),
             "str": str}
    parser.add_argument("--executor", choices=list(EXECUTORS), default=DEFAULT_EXECUTOR,
                        help="where the runs train: " + "; ".join(f"{n}: {c.summary}" for n, c in EXECUTORS.items())
                        + f" (default: {DEFAULT_EXECUTOR})")
    for name, (flag, default, help_text, cls) in executor_settings().items():
        kind = next(f.type for f in fields(cls) if f.name == name)
        if kind == "bool":
            parser.add_argument(flag, dest=name, action="store_true", default=None, help=help_text)
        else:
            shown = f" (default: {default})" if default not in (None, "") else ""
            parser.add_argument(flag, dest=name, type=types[kind], default=None, help=help_text + shown)


def executor_from_args(args) -> Executor:
    """The executor that the flags of :func:`add_executor_flags` ask for."""
    return make_executor(args.executor, **{name: getattr(args, name) for name in executor_settings()})

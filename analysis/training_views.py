"""Training runs and sweeps as the Train, Sampling dynamics and Results pages see them (no Streamlit).

- Reading: :func:`read_run` turns a run folder into a :class:`RunView`
  (config, epochs, state, test metrics, what is wrong with it), and the
  ``*_frame`` functions turn its ``metrics.jsonl`` into tidy tables for charts.
- Equation 1: :func:`speed_ratios` recomputes the speed strategy's per-task
  ratios r from the recorded validation history.
- Launching: :func:`launch_training` and :func:`launch_sweep` start the engine
  in its own process (``python -m muser_core.train`` / ``muser_core.sweep``),
  never in the page, and write ``launch.json`` beside it so any later session
  (another page, a reloaded browser) can tell a starting run from a dead one.
- Results: sweep folders to tables in the layout of the paper's Tables 6-9.

Runs are listed from :func:`muser_core.paths.runs_dir` and, read-only, from the
demo runs shipped in the repository's ``runs/demo-*``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from muser_core import runs
from muser_core.config import (
    ALL_TASKS,
    EXTERNAL_TASKS,
    MAIN_TASK,
    DataConfig,
    ModelConfig,
    RunConfig,
    StrategyConfig,
    TrainConfig,
)
from muser_core.errors import InputError
from muser_core.paths import REPO_ROOT, runs_dir

SHIPPED_RUNS = REPO_ROOT / "runs"      # demo-* folders here ship with the repo
LAUNCH, TRAIN_LOG, SWEEP_LOG = "launch.json", "train.log", "sweep.log"
ACTIVE = ("starting", "running")
ENDED = ("finished", "failed", "stopped", "killed")
CORPORA = ".corpora"                   # canonical CSVs the Train page writes for MuSE/manifest/OMG sources

# Measured with bench/train_finetune.py on the shared 2-core development machine (MiniLM, modality
# both, batches of 32, dynamic padding, 2 threads): trainer loop 4.7 samples/s, bare loop 6.5.
FINETUNE_SAMPLES_PER_S_CPU = 5.0
FROZEN_SECONDS_PER_EPOCH_CPU = 0.15    # demo corpus, modality both (bench/train_frozen.py)


# --------------------------------------------------------------------------- where runs are


def run_roots() -> list[tuple[Path, bool]]:
    """(folder, shipped) pairs: the runs folder, then the repository's shipped demo runs if elsewhere."""
    roots = [(runs_dir(), False)]
    if SHIPPED_RUNS.resolve() != runs_dir().resolve():
        roots.append((SHIPPED_RUNS, True))
    return roots


def is_shipped(path: str | Path) -> bool:
    """A demo run that ships with the repository (read-only in the pages)."""
    path = Path(path).resolve()
    try:
        rel = path.relative_to(SHIPPED_RUNS.resolve())
    except ValueError:
        return False
    return rel.parts[:1] != () and rel.parts[0].startswith("demo-")


def _hostname() -> str:
    return socket.gethostname()


def _read_launch(folder: Path) -> dict:
    return runs.read_json(folder / LAUNCH) or {}


def _launch_alive(launch: dict) -> bool:
    return launch.get("host") == _hostname() and runs.process_alive(launch.get("pid"))


def log_tail(path: str | Path, lines: int = 12) -> list[str]:
    """The last lines of a log, progress-bar carriage returns resolved."""
    try:
        data = Path(path).read_bytes()[-20_000:]
    except OSError:
        return []
    text = data.decode(errors="replace")
    out = [line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n")]
    return [line for line in out if line.strip()][-lines:]


def _error_line(lines: Sequence[str]) -> str | None:
    """The engine's one-line ``error: ...``, else the last line of a traceback."""
    for line in reversed(lines):
        if line.startswith("error: "):
            return line.removeprefix("error: ")
    if any(line.startswith("Traceback") for line in lines):
        return lines[-1]
    return None


# --------------------------------------------------------------------------- one run


@dataclass
class RunView:
    """What a page needs to know about one run folder."""

    path: Path
    name: str
    config: RunConfig | None          # None when config.json is missing or from another version
    records: list[dict]               # metrics.jsonl, tolerant of a half-written last line
    status: dict                      # status.json with the derived state (see run_state)
    test: dict | None = None
    env: dict | None = None
    data: dict | None = None
    launch: dict = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # half written, older version, ...
    shipped: bool = False

    @property
    def state(self) -> str:
        return self.status.get("state", "unknown")

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def error(self) -> str | None:
        return self.status.get("error")

    @property
    def last_epoch(self) -> int | None:
        return self.records[-1]["epoch"] if self.records else None

    @property
    def tasks(self) -> list[str]:
        if self.config and self.config.data.tasks:
            return list(self.config.data.tasks)
        seen = dict.fromkeys(t for r in self.records for t in (r.get("val") or {}))
        return list(seen) or [MAIN_TASK]

    def strategy_label(self) -> str:
        if not self.config:
            return "?"
        s = self.config.strategy
        extra = {"speed": f" n={s.history}", "pretrain": f" {s.phases}"}.get(s.name, "")
        return s.name + extra


def run_state(folder: str | Path, launch: dict | None = None) -> dict:
    """status.json, or for a run that has not written one yet: starting, stopped or failed from launch.json."""
    folder = Path(folder)
    status = runs.read_status(folder)
    launch = _read_launch(folder) if launch is None else launch
    if status.get("state") != "unknown" or not launch:
        if status.get("state") == "killed" and launch.get("stop_requested"):
            status["state"] = "stopped"
        return status
    if _launch_alive(launch):
        return {"state": "starting", "pid": launch["pid"], "updated": launch.get("started")}
    error = _error_line(log_tail(folder / TRAIN_LOG, 40))
    if launch.get("stop_requested"):
        return {"state": "stopped", "error": "stopped before training began"}
    return {"state": "failed",
            "error": error or "the process ended before training began (see train.log)"}


def _count_bad_lines(folder: Path) -> tuple[int, bool]:
    """Unreadable lines of metrics.jsonl, and whether the last line is one of them (half written)."""
    try:
        lines = (folder / runs.METRICS).read_text().splitlines()
    except OSError:
        return 0, False
    bad = []
    for i, line in enumerate(lines):
        try:
            json.loads(line)
        except ValueError:
            bad.append(i)
    return len(bad), bool(bad) and bad[-1] == len(lines) - 1


def read_run(path: str | Path) -> RunView:
    """Read a run folder; InputError (one line) when it is not a run folder at all."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise InputError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder (a run folder holds config.json and metrics.jsonl)")
    launch = _read_launch(folder)
    has = {f: (folder / f).is_file() for f in (runs.CONFIG, runs.METRICS, runs.STATUS)}
    if not any(has.values()) and not launch:
        raise InputError(f"{folder}: not a run folder (no config.json, metrics.jsonl or status.json)")
    problems: list[str] = []
    config = None
    if has[runs.CONFIG]:
        raw = runs.read_json(folder / runs.CONFIG)
        if raw is None:
            problems.append("config.json is unreadable (half written, or not JSON)")
        else:
            try:
                config = RunConfig.from_dict(raw)
            except (InputError, TypeError) as exc:
                problems.append(f"config.json is from another version of the app ({exc}); "
                                "curves are shown, settings are not")
    status = run_state(folder, launch)
    if not has[runs.CONFIG] and status["state"] not in ("starting", "failed", "stopped"):
        problems.append("no config.json: the run is half written")
    records = runs.read_metrics(folder)
    if records and not all(isinstance(r, dict) and "epoch" in r and "val" in r for r in records):
        problems.append("metrics.jsonl has lines without 'epoch' or 'val' (another program or an "
                        "older version wrote it); those lines are left out")
        records = [r for r in records if isinstance(r, dict) and "epoch" in r and "val" in r]
    bad, last_bad = _count_bad_lines(folder)
    if last_bad and bad == 1:
        problems.append("the last line of metrics.jsonl is half written (the run is writing it, "
                        "or was killed mid-line); it is ignored")
    elif bad:
        problems.append(f"{bad} lines of metrics.jsonl are unreadable and ignored")
    if has[runs.CONFIG] and not has[runs.STATUS] and status["state"] == "unknown":
        problems.append("no status.json: the run is half written or was made by an older version")
    test = runs.read_json(folder / runs.TEST)
    if status["state"] == "finished" and test is None:
        problems.append("the run says it finished but test.json is missing")
    log_name = TRAIN_LOG if (folder / TRAIN_LOG).exists() else SWEEP_LOG
    return RunView(path=folder, name=folder.name, config=config, records=records, status=status,
                   test=test, env=runs.read_json(folder / runs.ENV),
                   data=runs.read_json(folder / runs.DATA), launch=launch,
                   log=log_tail(folder / log_name), problems=problems, shipped=is_shipped(folder))


def list_all_runs() -> pd.DataFrame:
    """Every run in the runs folder (sweeps nest one level) plus the shipped demo runs.

    Columns of :func:`muser_core.runs.list_runs` plus ``shipped``, ``started``
    and ``label`` (what a picker shows); starting runs, which have no
    config.json yet, are included.
    """
    frames = []
    for root, shipped in run_roots():
        table = runs.list_runs(root)
        if shipped:
            table = table[table["name"].str.startswith("demo-")]
        extra = []
        if root.is_dir() and not shipped:
            for launch_file in root.glob(f"*/{LAUNCH}"):
                folder = launch_file.parent
                if not (folder / runs.CONFIG).exists() and _read_launch(folder).get("kind") == "train":
                    extra.append({"name": folder.name, "path": str(folder)})
        table = pd.concat([table, pd.DataFrame(extra, columns=table.columns)], ignore_index=True) \
            if extra else table
        table = table.assign(shipped=shipped or False)
        frames.append(table)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if table.empty:
        return table.assign(started=[], label=[])
    launches = [_read_launch(Path(p)) for p in table["path"]]
    table["shipped"] = [bool(s) or is_shipped(p) for s, p in zip(table["shipped"], table["path"], strict=True)]
    table["state"] = [run_state(p, la)["state"] for p, la in zip(table["path"], launches, strict=True)]
    table["started"] = [la.get("started") or u or 0.0 for la, u in zip(launches, table["updated"], strict=True)]
    table["label"] = [f"{n}  [{'shipped demo, ' if s else ''}{st}]"
                      for n, s, st in zip(table["name"], table["shipped"], table["state"], strict=True)]
    # The user's own runs first, newest first; the shipped demos after them.
    table["_recent"] = -table["started"].astype(float)
    return table.sort_values(["shipped", "_recent"], kind="stable").drop(columns="_recent").reset_index(drop=True)


# --------------------------------------------------------------------------- progress


@dataclass(frozen=True)
class Progress:
    """How far a run is, and an honest bound on how long it may still take."""

    epoch: int            # last evaluated epoch (0 = before training)
    bound: int            # the run ends by this epoch unless validation keeps improving
    max_epochs: int
    fraction: float       # epoch / bound, for a progress bar
    elapsed_s: float      # training time so far
    per_epoch_s: float | None
    remaining_s: float | None  # upper estimate to ``bound``

    def text(self) -> str:
        parts = [f"epoch {self.epoch} of at most {self.bound}"
                 + (f" (max {self.max_epochs})" if self.bound < self.max_epochs else "")]
        parts.append(f"{_duration(self.elapsed_s)} elapsed")
        if self.remaining_s is not None:
            parts.append(f"≤ {_duration(self.remaining_s)} left at {self.per_epoch_s:.2f} s/epoch")
        return " · ".join(parts)


def _duration(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"
    return f"{seconds // 3600:.0f} h {seconds % 3600 // 60:02.0f} min"


def progress(view: RunView) -> Progress:
    """Epoch and time so far; the bound is where early stopping ends the run if nothing improves."""
    from muser_core.strategies import make_strategy

    cfg = view.config or RunConfig()
    t = cfg.train
    epoch = view.last_epoch or 0
    best = view.records[-1].get("best_epoch") if view.records else None
    try:
        first = make_strategy(cfg.strategy).first_stop_epoch
    except InputError:
        first = 1
    bound = min(t.max_epochs, (best if best is not None else first) + t.patience)
    bound = max(bound, epoch)
    if view.state in ENDED:
        bound = epoch
    times = [r.get("seconds") for r in view.records if r.get("epoch", 0) > 0 and r.get("seconds") is not None]
    per_epoch = float(np.mean(times[-10:])) if times else None
    elapsed = (view.records[-1].get("elapsed") or sum(times)) if view.records else 0.0
    remaining = per_epoch * (bound - epoch) if per_epoch is not None and view.active else None
    return Progress(epoch, bound, t.max_epochs, epoch / bound if bound else 1.0, float(elapsed or 0.0),
                    per_epoch, remaining)


def finetune_estimate(train_items: int, epochs: int = 100) -> str:
    """An honest CPU time estimate for fine-tuning the text encoder, from the measured throughput."""
    per_epoch = train_items / FINETUNE_SAMPLES_PER_S_CPU
    return (f"about {_duration(per_epoch)} per epoch on this kind of 2-core CPU "
            f"({train_items:,} training sentences at ~{FINETUNE_SAMPLES_PER_S_CPU:.0f} sentences/s, "
            f"measured with bench/train_finetune.py), so {epochs} epochs ≈ {_duration(per_epoch * epochs)}; "
            f"frozen mode takes about {FROZEN_SECONDS_PER_EPOCH_CPU} s per epoch on the demo corpus")


# --------------------------------------------------------------------------- tidy tables


def _num(value) -> float:
    return float(value) if isinstance(value, (int, float)) and value is not None else math.nan


def probabilities_frame(records: Sequence[dict]) -> pd.DataFrame:
    """epoch, task, probability: the sampling distribution of each trained epoch (from 1)."""
    rows = [{"epoch": r["epoch"], "task": t, "probability": _num(p)}
            for r in records for t, p in (r.get("probabilities") or {}).items()]
    return pd.DataFrame(rows, columns=["epoch", "task", "probability"])


def batches_frame(records: Sequence[dict], tasks: Sequence[str] | None = None) -> pd.DataFrame:
    """epoch, task, batches: how many batches each task got; 0 for a listed task that got none."""
    rows = []
    for r in records:
        if r.get("epoch", 0) < 1:
            continue
        got = r.get("batches") or {}
        for t in (tasks or got):
            rows.append({"epoch": r["epoch"], "task": t, "batches": int(got.get(t, 0) or 0)})
    return pd.DataFrame(rows, columns=["epoch", "task", "batches"])


def validation_frame(records: Sequence[dict]) -> pd.DataFrame:
    """epoch, task, metric, value, panel: every validation metric (epoch 0 = before training)."""
    rows = [{"epoch": r["epoch"], "task": t, "metric": m, "value": _num(v), "panel": f"{t} {m}"}
            for r in records for t, values in (r.get("val") or {}).items()
            for m, v in (values or {}).items()]
    return pd.DataFrame(rows, columns=["epoch", "task", "metric", "value", "panel"])


def curve_panels(tasks: Sequence[str]) -> list[str]:
    """The validation panels a page shows: stress accuracy and F1, each emotion task's RMSE."""
    return [f"{MAIN_TASK} accuracy", f"{MAIN_TASK} f1"] + [f"{t} rmse" for t in tasks if t != MAIN_TASK]


def speed_ratios(view: RunView) -> pd.DataFrame:
    """Equation 1 of the paper for every epoch of a speed-strategy run, from its logged evaluations.

    For the probabilities of epoch e, with t = e - 1 the last evaluated epoch:
    the strategy's own :meth:`SpeedBasedSampler.terms` gives each task's ratio
    r, and p = softmax(r / rho). Epochs 1..n are the uniform warm-up and have
    no ratios. ``recorded`` is the probability the run actually used, so a
    reader sees that the recomputation matches.
    """
    from muser_core.strategies import TrainingState, make_strategy, softmax

    columns = ["epoch", "from_epoch", "task", "metric", "current", "past_mean", "ratio",
               "ratio_over_rho", "probability", "recorded"]
    if view.config is None or view.config.strategy.name != "speed":
        return pd.DataFrame(columns=columns)
    strategy = make_strategy(view.config.strategy)
    n, rho = strategy.history, strategy.temperature
    val = {r["epoch"]: r.get("val") or {} for r in view.records}
    used = {r["epoch"]: r.get("probabilities") or {} for r in view.records}
    rows = []
    for epoch in sorted(used):
        t = epoch - 1
        if t < n or any(e not in val for e in range(t + 1)):
            continue
        state = TrainingState(epoch=epoch, tasks=tuple(view.tasks),
                              val_history=tuple(val[e] for e in range(t + 1)))
        try:
            terms = strategy.terms(state)
        except (KeyError, TypeError):  # a task without that epoch's metric: no ratios to show
            continue
        probs = softmax({task: term.ratio for task, term in terms.items()}, rho)
        for task, term in terms.items():
            rows.append({"epoch": epoch, "from_epoch": t, "task": task, "metric": term.metric,
                         "current": term.current, "past_mean": term.past_mean, "ratio": term.ratio,
                         "ratio_over_rho": term.ratio / rho, "probability": probs[task],
                         "recorded": _num(used[epoch].get(task))})
    return pd.DataFrame(rows, columns=columns)


def combine(views: Sequence[RunView], frame) -> pd.DataFrame:
    """One tidy table over several runs, with a ``run`` column (the folder name)."""
    parts = [frame(v).assign(run=v.name) for v in views]
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["run"])


def metrics_summary(view: RunView) -> pd.DataFrame:
    """Test metrics (rows: task, columns: metrics) of a finished run, else an empty table."""
    metrics = (view.test or {}).get("metrics") or {}
    return pd.DataFrame.from_dict(metrics, orient="index").rename_axis("task").reset_index()


# --------------------------------------------------------------------------- figures (plotly)


def probability_figure(table: pd.DataFrame, stacked: bool = False, height: int = 320):
    """Task probabilities per epoch; one panel per run on shared axes (paper Figure 2)."""
    import plotly.express as px

    facet = "run" if "run" in table and table["run"].nunique() > 1 else None
    kind = px.area if stacked else px.line
    fig = kind(table, x="epoch", y="probability", color="task", facet_col=facet,
               category_orders={"task": list(ALL_TASKS)}, height=height)
    fig.update_yaxes(range=[0, 1.02])
    return _tidy(fig)


def batches_figure(table: pd.DataFrame, height: int = 300):
    """Batches drawn per task and epoch, stacked; one panel per run."""
    import plotly.express as px

    facet = "run" if "run" in table and table["run"].nunique() > 1 else None
    fig = px.bar(table, x="epoch", y="batches", color="task", facet_col=facet,
                 category_orders={"task": list(ALL_TASKS)}, height=height)
    fig.update_layout(bargap=0)
    return _tidy(fig)


def validation_figure(table: pd.DataFrame, panels: Sequence[str], height: int = 300):
    """Validation curves, one panel per metric; several runs as coloured lines on the same axes."""
    import plotly.express as px

    table = table[table["panel"].isin(panels)]
    color = "run" if "run" in table and table["run"].nunique() > 1 else None
    fig = px.line(table, x="epoch", y="value", color=color, facet_col="panel",
                  category_orders={"panel": list(panels)}, height=height)
    fig.update_yaxes(matches=None, showticklabels=True)
    return _tidy(fig)


def ratio_figure(table: pd.DataFrame, height: int = 300):
    """Eq. 1's per-task ratios r over epochs (r > 1: the task is improving against its history)."""
    import plotly.express as px

    facet = "run" if "run" in table and table["run"].nunique() > 1 else None
    fig = px.line(table, x="epoch", y="ratio", color="task", facet_col=facet,
                  category_orders={"task": list(ALL_TASKS)}, height=height)
    fig.add_hline(y=1.0, line_dash="dot", line_color="grey")
    return _tidy(fig)


def _tidy(fig):
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=", 1)[-1]))
    fig.update_layout(margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend_title_text="")
    return fig


# --------------------------------------------------------------------------- building a run


@dataclass(frozen=True)
class TrainChoices:
    """What the Train page asks; :func:`build_config` makes the engine's RunConfig from it."""

    corpus: str = "demo"        # "demo" or a canonical CSV
    external: str = ""          # "", "demo" or a canonical CSV
    modality: str = "both"
    tasks: tuple[str, ...] = ()
    strategy: str = "speed"
    history: int = 5
    temperature: float | None = None
    phases: str = ""
    text_mode: str = "frozen"
    seed: int = 0
    max_epochs: int = 1000
    patience: int = 30


def build_config(choices: TrainChoices) -> RunConfig:
    """The same RunConfig the command line builds from the same flags, checked (InputError)."""
    c = choices
    cfg = RunConfig(
        data=DataConfig(corpus=c.corpus, external=c.external, tasks=list(c.tasks)),
        model=ModelConfig(modality=c.modality, text_mode=c.text_mode),
        strategy=StrategyConfig(name=c.strategy, phases=c.phases if c.strategy == "pretrain" else "",
                                history=c.history, temperature=c.temperature),
        train=TrainConfig(seed=c.seed, max_epochs=c.max_epochs, patience=c.patience))
    cfg.resolved()  # every choice checked now, as the command line would
    return cfg


def command_line(cfg: RunConfig, out: str) -> str:
    """The ``python -m muser_core.train`` command that makes the same run (flags that differ from defaults)."""
    from muser_core.train import FLAGS

    default = RunConfig()
    args = ["python", "-m", "muser_core.train"]
    for flag, section, name, _, _ in FLAGS:
        value = getattr(getattr(cfg, section), name)
        if value != getattr(getattr(default, section), name) and value not in (None, "", []):
            args += [flag, ",".join(value) if isinstance(value, list) else str(value)]
    return shlex.join([*args, "--out", out])


def parse_seeds(text: str) -> list[int]:
    """'0,1,2' or '0-4' -> seeds; InputError on anything else."""
    seeds: list[int] = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise InputError(f"seeds '{text}': write numbers like 0,1,2 or a range 0-4")
        lo, hi = int(m[1]), int(m[2] or m[1])
        seeds += list(range(lo, hi + 1))
    if not seeds:
        raise InputError("give at least one seed")
    if len(seeds) > 20:
        raise InputError(f"{len(seeds)} seeds: at most 20 at once")
    return list(dict.fromkeys(seeds))


def default_run_name(choices: TrainChoices) -> str:
    return f"{choices.strategy}-{choices.modality}-{time.strftime('%Y%m%d-%H%M%S')}"


def corpus_file(kind: str, path: str, split: str = "speaker") -> str:
    """A source the Train page offers as what ``--corpus``/``--external`` take: demo or a canonical CSV.

    ``kind``: ``demo``, ``muse`` (a MuSE root), ``manifest`` (any CSV the
    corpus loader reads) or ``omg`` (an OMG-Emotion root). A copy is written
    once to ``<runs>/.corpora/`` and named by the source path, so runs
    repeat from their config.json.
    """
    from muser_core.corpus import load_manifest, load_muse, load_omg

    if kind == "demo":
        return "demo"
    if not path:
        raise InputError(f"give the path of the {kind} data")
    source = Path(path).expanduser()
    if not source.exists():
        raise InputError(f"{source}: not found")
    loader = {"muse": lambda: load_muse(source, split=split), "omg": lambda: load_omg(source),
              "manifest": lambda: load_manifest(source, split=split)}[kind]
    digest = hashlib.sha1(f"{kind}|{source.resolve()}|{split}".encode()).hexdigest()[:10]
    target = runs_dir() / CORPORA / f"{kind}-{source.stem or 'data'}-{digest}.csv"
    if not target.is_file():
        loader().save(target)
    return str(target)


# --------------------------------------------------------------------------- launching


def _reap(proc: subprocess.Popen) -> None:
    """Wait for the child in a daemon thread (no st.* here), so a finished run is not left a zombie."""
    threading.Thread(target=proc.wait, daemon=True, name=f"reap-{proc.pid}").start()


def _write_launch(folder: Path, proc: subprocess.Popen, kind: str, **extra) -> None:
    runs.write_json(folder / LAUNCH, {"kind": kind, "pid": proc.pid, "host": _hostname(),
                                      "started": time.time(), "argv": [str(a) for a in proc.args], **extra})


def launch_training(config: RunConfig, name: str) -> Path:
    """Start ``python -m muser_core.train`` for ``config`` in ``<runs>/<name>``, detached; returns the folder."""
    from muser_core.train import launch

    out = runs.run_path(name)  # rejects names that would leave the runs folder
    proc = launch(config, out)
    _write_launch(out, proc, "train")
    _reap(proc)
    return out


def resume_training(run_dir: str | Path) -> Path:
    """Continue a stopped, failed or killed run from its last saved state."""
    from muser_core.train import launch

    out = Path(run_dir)
    if is_shipped(out):
        raise InputError("shipped demo runs are read-only")
    if run_state(out)["state"] in ACTIVE:
        raise InputError(f"{out.name} is still running")
    proc = launch(None, out, resume=True)
    _write_launch(out, proc, "train")
    _reap(proc)
    return out


def stop_run(run_dir: str | Path) -> bool:
    """Ask a run to stop cleanly: SIGTERM, which the trainer turns into 'stop after this epoch'.

    The best checkpoint is already on disk (written whenever validation
    improves) and the run's status becomes ``stopped``. A run still loading
    its data has no handler yet and simply ends. False when nothing runs here.
    """
    folder = Path(run_dir)
    launch = _read_launch(folder)
    stopped = runs.stop_run(folder)
    # No status.json yet: the process is still loading data, before the trainer's signal handler.
    if not stopped and runs.read_status(folder).get("state") == "unknown" and _launch_alive(launch):
        os.kill(launch["pid"], signal.SIGTERM)
        stopped = True
    if stopped and launch:
        runs.write_json(folder / LAUNCH, {**launch, "stop_requested": time.time()})
    return stopped


# --------------------------------------------------------------------------- sweeps


def sweep_variants(table: str | None, variants: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    from muser_core.sweep import PAPER_TABLES

    return list(PAPER_TABLES.get(table, [])) + list(variants) if table else list(variants)


def launch_sweep(name: str, table: str | None, seeds: Sequence[int], flags: Sequence[str] = (),
                 workers: int = 1, variants: Sequence[tuple[str, str]] = (),
                 reference: str | None = None) -> Path:
    """Start ``python -m muser_core.sweep`` into ``<runs>/<name>``, detached; returns the folder.

    The variants are checked here first (every config resolved), so a bad
    choice is a one-line InputError rather than a line in the log.
    """
    import argparse

    from muser_core.sweep import TABLE_DEFAULTS, variant_config
    from muser_core.train import add_config_flags, config_from_args

    out = runs.run_path(name)
    rows = sweep_variants(table, variants)
    if not rows:
        raise InputError("choose a paper table or give variants")
    launch = _read_launch(out)
    if launch.get("kind") == "sweep" and _launch_alive(launch):
        raise InputError(f"sweep {name} is still running")
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    add_config_flags(parser)
    try:
        base = config_from_args(parser.parse_args(shlex.split(TABLE_DEFAULTS.get(table or "", ""))
                                                  + list(flags)))
    except (argparse.ArgumentError, SystemExit) as exc:
        raise InputError(f"sweep flags {' '.join(flags)}: {exc}") from None
    for _, variant_flags in rows:
        variant_config(base, variant_flags, seeds[0])
    argv = [sys.executable, "-m", "muser_core.sweep", "--out", str(out),
            "--seeds", ",".join(map(str, seeds)), "--workers", str(workers)]
    argv += ["--table", table] if table else []
    argv += [f"--variant={label}={v}" for label, v in variants]
    argv += ["--reference", reference] if reference else []
    argv += list(flags)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / SWEEP_LOG, "ab") as log:
        proc = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    _write_launch(out, proc, "sweep", total=len(rows) * len(seeds), table=table, seeds=list(seeds))
    _reap(proc)
    return out


def stop_sweep(folder: str | Path) -> bool:
    """SIGTERM to the sweep's process group: each training process stops after its epoch."""
    folder = Path(folder)
    launch = _read_launch(folder)
    if not _launch_alive(launch):
        return False
    try:
        os.killpg(launch["pid"], signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return False
    runs.write_json(folder / LAUNCH, {**launch, "stop_requested": time.time()})
    return True


def _is_sweep(folder: Path) -> bool:
    if (folder / "runs.csv").is_file() or (folder / "results.csv").is_file():
        return True
    if _read_launch(folder).get("kind") == "sweep":
        return True
    return not (folder / runs.CONFIG).exists() and any(folder.glob(f"*/{runs.CONFIG}"))


def list_sweeps() -> pd.DataFrame:
    """Sweep folders in the runs folder and the shipped demo sweep: name, path, shipped, state, done, total."""
    rows = []
    for root, shipped in run_roots():
        if not root.is_dir():
            continue
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if shipped and not folder.name.startswith("demo-"):
                continue
            if _is_sweep(folder):
                st = sweep_state(folder)
                rows.append({"name": folder.name, "path": str(folder), "shipped": shipped or is_shipped(folder),
                             **st, "label": f"{folder.name}  [{'shipped demo, ' if shipped or is_shipped(folder) else ''}"
                                            f"{st['state']}, {st['done']}/{st['total'] or '?'} runs]"})
    return pd.DataFrame(rows, columns=["name", "path", "shipped", "state", "done", "total", "running",
                                       "error", "started", "label"])


_SEED = re.compile(r"^(?P<slug>.+)-seed(?P<seed>\d+)$")


def _label_lookup(folder: Path) -> dict[str, str]:
    """Sub-folder name -> variant label, from runs.csv when written, else the paper tables' labels."""
    from muser_core.sweep import PAPER_TABLES, slug

    by_slug = {slug(label): label for rows in PAPER_TABLES.values() for label, _ in rows}
    for item in _read_launch(folder).get("argv", []):
        if item.startswith("--variant="):
            label = item.removeprefix("--variant=").partition("=")[0]
            by_slug[slug(label)] = label
    names = {}
    try:
        table = pd.read_csv(folder / "runs.csv")
        names = {Path(str(r)).name: str(lab) for r, lab in zip(table["run"], table["label"], strict=True)}
    except (OSError, ValueError, KeyError, pd.errors.EmptyDataError):
        pass
    out = {}
    for sub in folder.iterdir():
        m = _SEED.match(sub.name)
        if sub.is_dir() and m:
            out[sub.name] = names.get(sub.name) or by_slug.get(m["slug"], m["slug"])
    return out


def sweep_runs(folder: str | Path) -> pd.DataFrame:
    """One row per run of a sweep folder, read from the run folders themselves (so a partial sweep shows)."""
    from muser_core.sweep import METRICS

    folder = Path(folder)
    labels = _label_lookup(folder)
    rows = []
    for name, label in sorted(labels.items()):
        sub = folder / name
        status = run_state(sub)
        stress = ((runs.read_json(sub / runs.TEST) or {}).get("metrics") or {}).get(MAIN_TASK, {})
        state = status.get("state", "unknown")
        if state == "finished" and not stress:
            state = "incomplete"
        rows.append({"label": label, "seed": int(_SEED.match(name)["seed"]), "state": state,
                     **{m: _num(stress.get(m)) for m in METRICS},
                     "best_epoch": status.get("best_epoch"), "epochs": status.get("epoch"), "run": str(sub)})
    table = pd.DataFrame(rows, columns=["label", "seed", "state", *METRICS, "best_epoch", "epochs", "run"])
    order = _variant_order(folder, list(dict.fromkeys(table["label"])))
    table["_o"] = table["label"].map({lab: i for i, lab in enumerate(order)})
    return table.sort_values(["_o", "seed"]).drop(columns="_o").reset_index(drop=True)


def _variant_order(folder: Path, found: list[str]) -> list[str]:
    """Rows in the paper table's order when the sweep is one, else as written in results.csv."""
    table = detect_table(found)
    if table:
        from analysis.paper_results import labels

        return [lab for lab in labels(table) if lab in found] + [lab for lab in found if lab not in labels(table)]
    try:
        written = list(pd.read_csv(folder / "results.csv")["label"])
    except (OSError, ValueError, KeyError, pd.errors.EmptyDataError):
        written = []
    return [lab for lab in written if lab in found] + [lab for lab in found if lab not in written]


def sweep_state(folder: str | Path) -> dict:
    """state (running, finished, stopped, failed, incomplete), runs done and planned, error line."""
    folder = Path(folder)
    launch = _read_launch(folder)
    subs = [p for p in folder.iterdir() if p.is_dir() and (p / runs.CONFIG).exists()] if folder.is_dir() else []
    states = [run_state(p)["state"] for p in subs]
    done = sum(s in ("finished", "failed", "stopped") for s in states)
    running = sum(s in ACTIVE for s in states)
    from muser_core.sweep import PLAN

    planned = (runs.read_json(folder / PLAN) or {}).get("total")
    total = launch.get("total") or planned or (len(subs) if (folder / "runs.csv").is_file() else None)
    error = None
    if _launch_alive(launch) or (not launch and running):
        state = "running"
    elif (folder / "results.csv").is_file() and not launch.get("stop_requested"):
        state = "finished"
    elif launch.get("stop_requested"):
        state = "stopped"
    elif launch:
        error = _error_line(log_tail(folder / SWEEP_LOG, 40))
        state = "failed" if error else "incomplete"
    else:
        state = "incomplete"
    return {"state": state, "done": done, "total": total, "running": running, "error": error,
            "started": launch.get("started")}


def summary_table(per_run: pd.DataFrame, reference: str | None) -> pd.DataFrame:
    """Mean, sd and paired t-test p-values per variant (muser_core.sweep.summarise, same code as the CLI)."""
    from muser_core.sweep import summarise

    if per_run.empty:
        return pd.DataFrame()
    return summarise(per_run, reference)


DISPLAY_METRICS = {"accuracy": "Accuracy", "precision": "Precision", "recall": "Recall", "f1": "F-score"}
BEST = " ★"


def results_display(summary: pd.DataFrame, reference: str | None) -> pd.DataFrame:
    """The paper's layout as text: 'mean ± sd' per metric, ★ on the best mean of each column, p-values."""
    rows = []
    best = {m: summary[f"{m}_mean"].max() for m in DISPLAY_METRICS} if len(summary) else {}
    for r in summary.to_dict("records"):
        row = {"Strategy": r["label"]}
        for m, title in DISPLAY_METRICS.items():
            mean, sd = r[f"{m}_mean"], r[f"{m}_std"]
            if np.isnan(mean):
                row[title] = "-"
                continue
            cell = f"{mean:.3f}" + (f" ± {sd:.3f}" if not np.isnan(sd) else "")
            row[title] = cell + (BEST if np.isclose(mean, best[m]) else "")
        for m, title in (("accuracy", "p (accuracy)"), ("f1", "p (F-score)")):
            p = r.get(f"p_{m}", np.nan)
            row[title] = "ref." if r["label"] == reference else ("-" if np.isnan(p) else f"{p:.3g}")
        row["Seeds"] = int(r["n_seeds"])
        rows.append(row)
    return pd.DataFrame(rows, columns=["Strategy", *DISPLAY_METRICS.values(), "p (accuracy)", "p (F-score)",
                                       "Seeds"])


def paper_display(table: str) -> pd.DataFrame:
    """A paper table with ★ on the best value of each column (the rows MUSER reports, as printed)."""
    from analysis.paper_results import METRICS, paper_table

    frame = paper_table(table)
    out = pd.DataFrame({"Strategy": frame["label"]})
    for m in METRICS:
        best = frame[m].max()
        out[DISPLAY_METRICS[m]] = [f"{v:g}" + (BEST if np.isclose(v, best) else "") for v in frame[m]]
    out["Trained by the sweep"] = np.where(frame["reproduced"], "yes", "no (baseline from another paper)")
    return out


def detect_table(labels: Sequence[str]) -> str | None:
    """Which paper table (6-9) a sweep's variant labels come from, if all of them come from one."""
    from muser_core.sweep import PAPER_TABLES, TABLE_DEFAULTS

    labels = set(labels)
    if not labels:
        return None
    matches = [t for t, rows in PAPER_TABLES.items() if labels <= {label for label, _ in rows}]
    # Tables 8 and 9 share labels; 9 is the one with the external set.
    if len(matches) > 1:
        return matches[0] if "9" not in matches else next(t for t in matches if t not in TABLE_DEFAULTS)
    return matches[0] if matches else None


def sweep_table_id(folder: str | Path, per_run: pd.DataFrame) -> str | None:
    """The paper table of a sweep: from its launch record, else its labels and whether runs used --external."""
    launch = _read_launch(Path(folder))
    if launch.get("table"):
        return str(launch["table"])
    table = detect_table(list(per_run["label"].unique()))
    if table in ("8", "9") and len(per_run):
        cfg = runs.read_json(Path(per_run["run"].iloc[0]) / runs.CONFIG) or {}
        uses_external = any(t in EXTERNAL_TASKS for t in cfg.get("data", {}).get("tasks", []))
        return "9" if uses_external else "8"
    return table

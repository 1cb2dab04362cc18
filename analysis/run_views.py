"""Training runs as the Train and Sampling dynamics pages see them: pure views of run folders (no Streamlit).

- :func:`read_run` turns a run folder into a :class:`RunView` (config, epochs,
  state, test metrics, and what is wrong with it); a damaged folder becomes a
  view with its problems listed, never an exception.
- :func:`run_table` lists runs for the pickers (one listing:
  :func:`muser_core.train.process.list_runs`).
- :func:`progress` says how far a run is, with the throughput it measured.
- The ``*_frame`` functions turn ``metrics.jsonl`` into tidy tables for charts,
  and :func:`speed_ratios` recomputes equation 1 from the recorded history.

Starting, stopping and the liveness of runs belong to :mod:`muser_core.train.process`.
"""

from __future__ import annotations

import json
import math
import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from muser_core.base.errors import InputError
from muser_core.base.tasks import EXTERNAL_TASKS, MAIN_TASK
from muser_core.config import RunConfig
from muser_core.sources import DEMO
from muser_core.strategies import ShowsRatios, Strategy, TrainingState, make_strategy, softmax
from muser_core.train import process
from muser_core.train import run_folder as rf

# --------------------------------------------------------------------------- one run


@dataclass
class RunView:
    """What a page needs to know about one run folder."""

    path: Path
    name: str
    config: RunConfig | None          # None when config.json is missing, damaged or from another version
    records: list[dict]               # metrics.jsonl lines that have a whole-number epoch and a val dict
    status: dict                      # status.json with the derived state (process.run_state)
    test: dict | None = None
    env: dict | None = None
    data: dict | None = None
    launch: dict = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # half written, older version, ...
    shipped: bool = False

    @property
    def state(self) -> str:
        return str(self.status.get("state", "unknown"))

    @property
    def active(self) -> bool:
        return self.state in process.ACTIVE

    @property
    def error(self) -> str | None:
        return self.status.get("error")

    @property
    def last_epoch(self) -> int | None:
        return self.records[-1]["epoch"] if self.records else None

    @property
    def best_epoch(self) -> int | None:
        """The best epoch so far: from status.json (written after each record), else the last record."""
        for best in (self.status.get("best_epoch"), self.records[-1].get("best_epoch") if self.records else None):
            if isinstance(best, int) and not isinstance(best, bool):
                return best
        return None

    @property
    def best_record(self) -> dict | None:
        """The metrics.jsonl line of the best epoch (what the checkpoint holds)."""
        return next((r for r in self.records if r["epoch"] == self.best_epoch), None)

    @property
    def synthetic(self) -> bool:
        """Trained on the synthetic demo corpus (data.json says so; older runs: the corpus setting)."""
        if self.data and "synthetic" in self.data:
            return bool(self.data["synthetic"])
        return self.config is not None and DEMO in (self.config.data.corpus, self.config.data.external)

    @property
    def tasks(self) -> list[str]:
        if self.config and self.config.data.tasks:
            return list(self.config.data.tasks)
        seen = dict.fromkeys(t for r in self.records for t in r["val"])
        return list(seen) or [MAIN_TASK]

    def strategy(self) -> Strategy | None:
        """The run's strategy, rebuilt from its config (None: no config, or one this version cannot build)."""
        if not self.config:
            return None
        try:
            return make_strategy(self.config.strategy)
        except InputError:
            return None

    def strategy_label(self) -> str:
        """The strategy's name and the settings that tell two of its runs apart: 'speed n=5'."""
        if not self.config:
            return "?"
        strategy = self.strategy()
        return f"{self.config.strategy.name} {strategy.summary() if strategy else ''}".strip()

    @property
    def shows_ratios(self) -> bool:
        """Whether the run's strategy samples by ratios it can show (eq. 1: the speed sampler)."""
        return isinstance(self.strategy(), ShowsRatios)


def data_line(view: RunView) -> str:
    """What each task of a run learnt from, synthetic or real, with the data's licence (from data.json); '' if unknown.

    A run with the demo corpus for stress and EmoBank as the external set reads
    "stress from demo (synthetic); ext_activation, ext_valence from EmoBank (real ratings, CC BY-SA 4.0)".
    """
    datasets = (view.data or {}).get("datasets") if isinstance(view.data, dict) else None
    if not isinstance(datasets, dict) or not datasets:
        return ""
    parts = []
    for role, d in datasets.items():
        if not isinstance(d, dict):
            continue
        tasks = [t for t in view.tasks if (t in EXTERNAL_TASKS) == (role == "external")]
        kind = "**synthetic**" if d.get("synthetic") else "**real labels**"
        licence = f", {d['licence']}" if d.get("licence") and not d.get("synthetic") else ""
        parts.append(f"{', '.join(tasks) or 'no task'} from {d.get('name', role)} ({kind}{licence})")
    return "Learnt: " + "; ".join(parts) + "." if parts else ""


def _is_record(r) -> bool:
    return (isinstance(r, dict) and isinstance(r.get("epoch"), int) and not isinstance(r.get("epoch"), bool)
            and isinstance(r.get("val"), dict))


def _count_bad_lines(folder: Path) -> tuple[int, bool]:
    """Unreadable lines of metrics.jsonl, and whether the last line is one of them (half written)."""
    try:
        lines = (folder / rf.METRICS).read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return 0, False
    bad = []
    for i, line in enumerate(lines):
        try:
            json.loads(line)
        except ValueError:
            bad.append(i)
    return len(bad), bool(bad) and bad[-1] == len(lines) - 1


def _read_config(folder: Path, problems: list[str]) -> RunConfig | None:
    path = folder / rf.CONFIG
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        problems.append("config.json is unreadable (half written, or not JSON)")
        return None
    try:
        return RunConfig.from_dict(raw).checked()
    except (InputError, TypeError) as exc:
        problems.append(f"config.json does not hold this version's settings ({exc}); "
                        "curves are shown, settings are not")
        return None


def read_run(path: str | Path) -> RunView:
    """Read a run folder; InputError (one line) when it is not a run folder at all."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise InputError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder (a run folder holds config.json and metrics.jsonl)")
    launch = process.read_launch(folder)
    has = {f: (folder / f).is_file() for f in (rf.CONFIG, rf.METRICS, rf.STATUS)}
    if not any(has.values()) and not launch:
        raise InputError(f"{folder}: not a run folder (no config.json, metrics.jsonl or status.json)")
    problems: list[str] = []
    config = _read_config(folder, problems)
    if config is None and not has[rf.CONFIG]:
        config = process.launched_config(launch)
    status = process.run_state(folder, launch)
    if not has[rf.CONFIG] and status["state"] not in ("starting", "preparing", "failed", "stopped"):
        problems.append("no config.json: the run is half written")
    raw_records = rf.read_metrics(folder)
    records = [r for r in raw_records if _is_record(r)]
    if len(records) < len(raw_records):
        problems.append(f"{len(raw_records) - len(records)} lines of metrics.jsonl lack a whole-number 'epoch' "
                        "or a 'val' table (another program or an older version wrote them); they are left out")
    bad, last_bad = _count_bad_lines(folder)
    if last_bad and bad == 1:
        problems.append("the last line of metrics.jsonl is half written (the run is writing it, "
                        "or was killed mid-line); it is ignored")
    elif bad:
        problems.append(f"{bad} lines of metrics.jsonl are unreadable and ignored")
    if has[rf.CONFIG] and not has[rf.STATUS] and status["state"] == "unknown":
        problems.append("no status.json: the run is half written or was made by an older version")
    test = rf.read_json(folder / rf.TEST)
    if status["state"] == "finished" and test is None:
        problems.append("the run says it finished but test.json is missing")
    log_name = rf.TRAIN_LOG if (folder / rf.TRAIN_LOG).exists() else process.SWEEP_LOG
    return RunView(path=folder, name=folder.name, config=config, records=records, status=status,
                   test=test, env=rf.read_json(folder / rf.ENV), data=rf.read_json(folder / rf.DATA),
                   launch=launch, log=process.log_tail(folder / log_name), problems=problems,
                   shipped=process.is_shipped(folder))


def run_table() -> pd.DataFrame:
    """Every run a picker offers (own runs newest first, then the shipped demos), with a ``label``.

    The label holds no state: a state changes while the page is open, and the
    run's own view shows it live.
    """
    table = process.list_runs()
    if table.empty:
        return table.assign(label=[])
    table["label"] = [f"{n}  (shipped demo)" if s else n for n, s in zip(table["name"], table["shipped"], strict=True)]
    return table


def runs_going_now(table: pd.DataFrame) -> pd.DataFrame:
    """The runs of ``run_table()`` that are going now, as the Train page lists them.

    Before its first epoch a run has no epoch count or best epoch: the table
    says "none yet" rather than show a bare None.
    """
    going = table[table["state"].isin(process.ACTIVE)] if len(table) else table
    shown = going.reindex(columns=["name", "state", "epochs_done", "best_epoch", "strategy", "seed"])
    for column in ("epochs_done", "best_epoch"):
        shown[column] = ["none yet" if pd.isna(n) else str(int(n)) for n in shown[column]]
    return shown.rename(columns={"epochs_done": "epochs done", "best_epoch": "best epoch"})


# --------------------------------------------------------------------------- progress


def duration(seconds: float) -> str:
    """Seconds as people read them: 0.4 s, 42 s, 3 min 05 s, 2 h 10 min."""
    seconds = max(0.0, float(seconds))
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"
    return f"{seconds // 3600:.0f} h {seconds % 3600 // 60:02.0f} min"


def _number(value) -> float | None:
    return float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) \
        and math.isfinite(float(value)) else None


@dataclass(frozen=True)
class Progress:
    """How far a run is, how fast it trains (measured by the run itself), and an honest bound on the rest."""

    epochs_done: int          # finished epochs (0 = before training)
    bound: int                # the run ends by this epoch unless validation keeps improving
    max_epochs: int
    fraction: float           # for a progress bar: epochs done (and the part of the current one) / bound
    elapsed_s: float
    phase: str | None         # "training", "evaluating" or None
    in_epoch: tuple[int, int, int] | None  # (epoch, items drawn, items per epoch) of the epoch in progress
    samples_per_s: float | None
    per_epoch_s: float | None
    remaining_s: float | None  # upper estimate to ``bound``
    state: str = "running"    # the run's state (process.run_state)
    trained: bool = True      # an epoch record exists (epoch 0 is the evaluation before training)

    def text(self) -> str:
        if self.state in ("starting", "preparing") and not self.trained:
            return (f"{self.state}: loading the data and the text encoder, at most {self.max_epochs} epochs · "
                    f"{duration(self.elapsed_s)} since launch")
        if not self.trained and self.state in process.ENDED:
            return f"{self.state} before training began"
        parts = [f"epoch {self.epochs_done} of at most {self.bound}"
                 + (f" (max {self.max_epochs})" if self.bound < self.max_epochs else "")]
        if self.state in ("stopped", "failed", "killed"):
            parts[0] += f" · {self.state} (resume continues it)"
        elif self.state in ("starting", "preparing"):
            parts.append(f"{self.state} to resume: loading the data and the text encoder")
        if self.in_epoch and self.phase == "training":
            epoch, drawn, goal = self.in_epoch
            parts.append(f"epoch {epoch}: {min(drawn, goal):,}/{goal:,} items")
        elif self.phase == "evaluating":
            parts.append("evaluating on the validation split")
        if self.samples_per_s:
            parts.append(f"{self.samples_per_s:,.1f} items/s measured")
        parts.append(f"{duration(self.elapsed_s)} elapsed")
        if self.remaining_s is not None:
            parts.append(f"≤ {duration(self.remaining_s)} left")
        return " · ".join(parts)


def progress(view: RunView, now: float | None = None) -> Progress:
    """Epoch and time so far; the bound is where early stopping ends the run if nothing improves.

    Only a finished run fills the bar: a stopped or failed one keeps its bound (resume continues toward it).
    Before the first record (starting, preparing) the time counts from the launch (``now``: the clock).
    """
    cfg = view.config or RunConfig()
    t = cfg.train
    done = view.last_epoch or 0
    strategy = view.strategy() if view.config else make_strategy(cfg.strategy)
    first = strategy.first_stop_epoch if strategy else 1
    best = view.best_epoch
    bound = max(min(t.max_epochs, (best if best is not None else first) + t.patience), done)
    if view.state == "finished":
        bound = done
    in_epoch = view.status.get("epoch_in_progress")
    in_epoch = (tuple(int(in_epoch[k]) for k in ("epoch", "drawn", "goal"))
                if isinstance(in_epoch, dict) and all(_number(in_epoch.get(k)) is not None
                                                      for k in ("epoch", "drawn", "goal")) else None)
    part = min(1.0, in_epoch[1] / in_epoch[2]) if in_epoch and in_epoch[2] and view.active else 0.0
    times = [(r.get("seconds") or 0.0) + (r.get("eval_seconds") or 0.0) for r in view.records if r["epoch"] > 0]
    per_epoch = float(np.mean(times[-10:])) if times else None
    rate = _number(view.status.get("samples_per_s"))
    if per_epoch is None and rate and in_epoch:
        per_epoch = in_epoch[2] / rate  # before the first epoch ends: the run's own batches so far
    elapsed = _number(view.records[-1].get("elapsed")) if view.records else None
    clock = time.time() if now is None else now
    if elapsed is not None and view.state in ("running", "stopping"):
        # The last record says the time at its epoch's end; a long epoch (fine-tuning) is still going.
        try:
            elapsed += max(0.0, clock - (view.path / rf.METRICS).stat().st_mtime)
        except OSError:
            pass
    started = _number(view.launch.get("started"))
    if view.state in ("starting", "preparing") and started is not None and not view.records:
        elapsed = max(0.0, clock - started)
    remaining = per_epoch * max(0.0, bound - done - part) if per_epoch is not None and view.active else None
    return Progress(done, bound, t.max_epochs, min(1.0, (done + part) / bound) if bound else 1.0,
                    elapsed or 0.0, view.status.get("phase") if view.active else None, in_epoch, rate,
                    per_epoch, remaining, view.state, bool(view.records))


def measured_speed(cfg: RunConfig) -> dict | None:
    """The newest measured training speed (items/s) of a run like ``cfg`` on this machine, from its status.

    "Like" = same modality, text mode, text model and fine-tuned layers; the run records its
    samples/s as it trains. Own runs come first; a shipped demo run's figure
    says so (``shipped``): it was measured when the demo was made, not by the
    user. None when no such run exists yet.
    """
    import socket

    table = process.list_runs()
    if table.empty:
        return None
    same = table[(table["modality"] == cfg.model.modality) & (table["text_mode"] == cfg.model.text_mode)]
    for path, shipped in zip(same["path"], same["shipped"], strict=True):
        status = rf.read_json(Path(path) / rf.STATUS) or {}
        config = rf.read_json(Path(path) / rf.CONFIG) or {}
        model = config.get("model") if isinstance(config.get("model"), dict) else {}
        rate = _number(status.get("samples_per_s"))
        if rate and status.get("host") == socket.gethostname() and model.get("text_model") == cfg.model.text_model \
                and model.get("finetune_layers", 0) == cfg.model.finetune_layers:  # top k: several times faster
            return {"samples_per_s": rate, "run": Path(path).name, "measured": status.get("updated"),
                    "shipped": bool(shipped)}
    return None


def epoch_estimate(items: int, samples_per_s: float) -> str:
    """A plain sentence: how long one epoch of ``items`` takes at a measured speed."""
    return f"about {duration(items / samples_per_s)} per epoch of training ({items:,} items at {samples_per_s:,.1f}/s)"


# --------------------------------------------------------------------------- tidy tables


def as_float(value) -> float:
    """A finite number as float, anything else (None, text, inf) as NaN."""
    number = _number(value)
    return math.nan if number is None else number


def probabilities_frame(records: Sequence[dict]) -> pd.DataFrame:
    """epoch, task, probability: the sampling distribution of each trained epoch (from 1)."""
    rows = [{"epoch": r["epoch"], "task": t, "probability": as_float(p)}
            for r in records for t, p in _items(r.get("probabilities"))]
    return pd.DataFrame(rows, columns=["epoch", "task", "probability"])


def _items(value) -> list:
    return list(value.items()) if isinstance(value, dict) else []


def batches_frame(records: Sequence[dict], tasks: Sequence[str] | None = None) -> pd.DataFrame:
    """epoch, task, batches: how many batches each task got; 0 for a listed task that got none."""
    rows = []
    for r in records:
        if r["epoch"] < 1:
            continue
        got = r.get("batches") if isinstance(r.get("batches"), dict) else {}
        for t in (tasks or got):
            rows.append({"epoch": r["epoch"], "task": t, "batches": int(_number(got.get(t)) or 0)})
    return pd.DataFrame(rows, columns=["epoch", "task", "batches"])


def validation_frame(records: Sequence[dict]) -> pd.DataFrame:
    """epoch, task, metric, value, panel: every validation metric (epoch 0 = before training)."""
    rows = [{"epoch": r["epoch"], "task": t, "metric": m, "value": as_float(v), "panel": f"{t} {m}"}
            for r in records for t, values in _items(r["val"]) for m, v in _items(values)]
    return pd.DataFrame(rows, columns=["epoch", "task", "metric", "value", "panel"])


def curve_panels(tasks: Sequence[str]) -> list[str]:
    """The validation panels a page shows: stress accuracy and F1, each emotion task's RMSE."""
    return [f"{MAIN_TASK} accuracy", f"{MAIN_TASK} f1"] + [f"{t} rmse" for t in tasks if t != MAIN_TASK]


def speed_ratios(view: RunView) -> pd.DataFrame:
    """Equation 1 of the paper for every epoch of a speed-strategy run, from its logged evaluations.

    For the probabilities of epoch e (after ``epochs_done`` = e - 1 epochs) the
    strategy's own :meth:`SpeedBasedSampler.terms` gives each task's ratio r,
    and p = softmax(r / rho). Epochs 1..n are the uniform warm-up and have no
    ratios. ``recorded`` is the probability the run actually used, so a
    reader sees that the recomputation matches.
    """
    columns = ["epoch", "from_epoch", "task", "metric", "current", "past_mean", "ratio",
               "ratio_over_rho", "probability", "recorded"]
    strategy = view.strategy()
    if not isinstance(strategy, ShowsRatios):
        return pd.DataFrame(columns=columns)
    n, rho = strategy.uniform_epochs(), strategy.rho   # the warm-up has no ratios
    val = {r["epoch"]: r["val"] for r in view.records}
    used = {r["epoch"]: r.get("probabilities") if isinstance(r.get("probabilities"), dict) else {}
            for r in view.records}
    rows = []
    for epoch in sorted(used):
        t = epoch - 1
        if t < n or any(e not in val for e in range(t + 1)):
            continue
        state = TrainingState(epochs_done=t, tasks=tuple(view.tasks), val_history=tuple(val[e] for e in range(t + 1)))
        try:
            terms = strategy.terms(state)
        except (KeyError, TypeError):  # a task without that epoch's metric: no ratios to show
            continue
        probs = softmax({task: term.ratio for task, term in terms.items()}, rho)
        for task, term in terms.items():
            rows.append({"epoch": epoch, "from_epoch": t, "task": task, "metric": term.metric,
                         "current": term.current, "past_mean": term.past_mean, "ratio": term.ratio,
                         "ratio_over_rho": term.ratio / rho, "probability": probs[task],
                         "recorded": as_float(used[epoch].get(task))})
    return pd.DataFrame(rows, columns=columns)


def run_labels(views: Sequence[RunView]) -> list[str]:
    """A distinct label per run: its folder name once, with the parent folders after it in brackets only where
    two names are the same ("speed-seed0 (sweep-a)"; the name first, where a reader looks).

    Two sweeps both hold ``speed-...-seed0``, and a copy of a shipped demo run
    has the demo's name; their curves must not share a panel.
    """
    labels = [v.name for v in views]
    for depth in (2, 3):
        counts = pd.Series(labels).value_counts()
        labels = [f"{v.name} ({'/'.join(v.path.parts[-depth:-1])})" if counts[label] > 1 else label
                  for v, label in zip(views, labels, strict=True)]
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return unique


def combine(views: Sequence[RunView], frame: Callable[[RunView], pd.DataFrame],
            labels: Sequence[str] | None = None) -> pd.DataFrame:
    """One tidy table over several runs, with a ``run`` column (``labels``, by default :func:`run_labels`)."""
    labels = run_labels(views) if labels is None else labels
    parts = [frame(v).assign(run=label) for v, label in zip(views, labels, strict=True)]
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["run"])


def metrics_summary(view: RunView) -> list[pd.DataFrame]:
    """Test metrics of a finished run: one table per kind of task (stress: accuracy, precision, recall, F1;
    the emotion scores: RMSE, CCC), each task with its own metrics only, and the epoch its weights come from
    when the tasks' epochs differ (``--select per-task``); [] when there are none."""
    metrics = (view.test or {}).get("metrics")
    if not isinstance(metrics, dict):
        return []
    epochs = (view.test or {}).get("best_epochs")
    epochs = epochs if isinstance(epochs, dict) and len(set(epochs.values())) > 1 else {}  # per-task: differ
    kinds: dict[tuple[str, ...], dict[str, dict]] = {}
    for task, values in metrics.items():
        if isinstance(values, dict) and values:
            kinds.setdefault(tuple(values), {})[task] = {**values, **({"epoch": epochs[task]} if task in epochs else {})}
    return [pd.DataFrame.from_dict(rows, orient="index").rename_axis("task").reset_index()
            for rows in kinds.values()]

"""Sweeps as the Results page sees them: run folders in, tables in the layout of the paper's Tables 6-9.

A sweep folder holds one run folder per variant and seed (``<slug>-seed<N>``),
``plan.json`` (what was planned) and, when it ends, ``runs.csv`` and
``results.csv``. Everything here reads the run folders themselves, so a
partial or running sweep shows what it has. No Streamlit, no process control
(:mod:`muser_core.train.process` starts and stops sweeps).
"""

from __future__ import annotations

import argparse
import math
import re
import shlex
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import run_views as rv
from analysis.display import BEST
from analysis.paper_results import labels, paper_table
from analysis.run_views import as_float
from muser_core.base.errors import InputError
from muser_core.base.tasks import EXTERNAL_TASKS, MAIN_TASK
from muser_core.strategies import make_strategy
from muser_core.sweep.executors import DEFAULT_EXECUTOR, make_executor
from muser_core.sweep.grid import (
    METRICS,
    PAPER_TABLES,
    PLAN,
    TABLE_DEFAULTS,
    slug,
    summarise,
    tally,
    tally_text,
    validation_score,
    variant_config,
)
from muser_core.train import process
from muser_core.train import run_folder as rf
from muser_core.train.cli import add_config_flags, config_from_args

# --------------------------------------------------------------------------- sweeps


def sweep_variants(table: str | None, variants: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    return list(PAPER_TABLES.get(table, [])) + list(variants) if table else list(variants)


def is_sweep(folder: Path) -> bool:
    """A sweep folder: its tables, its launch record, or run folders inside and no run of its own."""
    if (folder / "runs.csv").is_file() or (folder / "results.csv").is_file():
        return True
    if process.read_launch(folder).get("kind") == "sweep":
        return True
    return not (folder / rf.CONFIG).exists() and any(folder.glob(f"*/{rf.CONFIG}"))


def list_sweeps() -> pd.DataFrame:
    """Sweep folders in the runs folder and the shipped demo sweep: name, path, shipped, state, done, total."""
    rows = []
    for root, shipped in process.run_roots():
        if not root.is_dir():
            continue
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if shipped and not process.is_shipped(folder):
                continue
            if is_sweep(folder):
                shipped_here = shipped or process.is_shipped(folder)
                # No state in the label: it changes while the page is open; the sweep's view shows it live.
                rows.append({"name": folder.name, "path": str(folder), "shipped": shipped_here,
                             **sweep_state(folder),
                             "label": folder.name + ("  (shipped demo)" if shipped_here else "")})
    return pd.DataFrame(rows, columns=["name", "path", "shipped", "state", "done", "total", "running",
                                       "error", "started", "label"])


# <slug>-seed<S>, or <slug>--n<N>-seed<S> for a history candidate of --select-history (muser_core.sweep).
_SEED = re.compile(r"^(?P<slug>.+?)(?:--n(?P<n>\d+))?-seed(?P<seed>\d+)$")


def _label_lookup(folder: Path) -> dict[str, str]:
    """Sub-folder name -> variant label, from runs.csv when written, else the paper tables' labels."""
    by_slug = {slug(label): label for rows in PAPER_TABLES.values() for label, _ in rows}
    for item in process.read_launch(folder).get("argv", []):
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
    folder = Path(folder)
    labels = _label_lookup(folder)
    rows = []
    for name, label in sorted(labels.items()):
        sub = folder / name
        status = process.run_state(sub)
        stress = ((rf.read_json(sub / rf.TEST) or {}).get("metrics") or {}).get(MAIN_TASK, {})
        state = status.get("state", "unknown")
        if state == "finished" and not stress:
            state = "incomplete"
        m = _SEED.match(name)
        rows.append({"label": label, "seed": int(m["seed"]), "state": state,
                     **{metric: as_float(stress.get(metric)) for metric in METRICS},
                     "best_epoch": status.get("best_epoch"), "epochs": status.get("epochs_done"), "run": str(sub),
                     "history": float(m["n"]) if m["n"] else np.nan, "val_score": validation_score(sub)})
    table = pd.DataFrame(rows, columns=["label", "seed", "state", *METRICS, "best_epoch", "epochs", "run",
                                        "history", "val_score"])
    order = _variant_order(folder, list(dict.fromkeys(table["label"])))
    table["_o"] = table["label"].map({lab: i for i, lab in enumerate(order)})
    return table.sort_values(["_o", "seed"]).drop(columns="_o").reset_index(drop=True)


def _variant_order(folder: Path, found: list[str]) -> list[str]:
    """Rows in the paper table's order when the sweep is one, else as written in results.csv."""
    table = detect_table(found)
    if table:
        return [lab for lab in labels(table) if lab in found] + [lab for lab in found if lab not in labels(table)]
    try:
        written = list(pd.read_csv(folder / "results.csv")["label"])
    except (OSError, ValueError, KeyError, pd.errors.EmptyDataError):
        written = []
    return [lab for lab in written if lab in found] + [lab for lab in found if lab not in written]


def sweep_state(folder: str | Path) -> dict:
    """state (running, stopping, finished, stopped, failed, incomplete), the runs counted by
    :func:`~muser_core.sweep.grid.tally` and planned (total), the executor, error line.

    A run is running while a process holds its folder's lock, whichever executor started it (a Ray
    worker on another node too, on a shared filesystem). While the sweep goes, a run that a
    previous call left stopped or killed is queued: the sweep resumes it.
    """
    folder = Path(folder)
    launch = process.read_launch(folder)
    plan = rf.read_json(folder / PLAN) or {}
    subs = [p for p in folder.iterdir() if p.is_dir() and _SEED.match(p.name)
            and ((p / rf.CONFIG).exists() or rf.is_locked(p))] if folder.is_dir() else []
    statuses = [process.run_state(p) for p in subs]
    active = rf.is_locked(folder) or rf.same_process(launch)
    since = (rf.read_json(folder / rf.OWNER) or {}).get("acquired") or launch.get("started") or 0.0
    # While the sweep goes, a run that a previous call left stopped or killed waits to be resumed: queued.
    states = ["queued" if active and s["state"] in ("stopped", "killed") and as_float(s.get("updated")) < since
              else s["state"] for s in statuses]
    running = sum(s in process.ACTIVE for s in states)
    total = launch.get("total") or plan.get("total") or (len(subs) if (folder / "runs.csv").is_file() else None)
    asked = launch.get("stop_requested")
    stop_asked = isinstance(asked, (int, float)) and asked >= (launch.get("started") or 0.0)
    error = None
    # The last launch ended without writing results (refused, or failed before its runs): its own error
    # line, never the earlier call's results read as this one's.
    results_at = (folder / "results.csv").stat().st_mtime if (folder / "results.csv").is_file() else None
    last_failed = (launch and not active and not running and not stop_asked and results_at is not None
                   and results_at < as_float(launch.get("started")))
    if last_failed:
        offset = launch.get("log_offset")
        error = process.error_line(process.log_tail(folder / process.SWEEP_LOG, 40,
                                                    offset if isinstance(offset, int) else 0))
    if active or running:
        state = "stopping" if stop_asked else "running"
    elif error:
        state = "failed"
    elif (folder / "results.csv").is_file() and states and set(states) <= {"finished", "failed"}:
        state = "finished"  # every run ended on its own (a stop asked earlier was followed by a rerun)
    elif stop_asked or "stopped" in states:
        state = "stopped"
    elif (folder / "results.csv").is_file():
        state = "finished"
    elif launch:
        error = process.error_line(process.log_tail(folder / process.SWEEP_LOG, 40))
        state = "failed" if error else "incomplete"
    else:
        state = "incomplete"
    counts = tally(states, total or len(states), starting=state in process.ACTIVE and not stop_asked)
    return {"state": state, **counts, "total": total, "error": error, "started": launch.get("started"),
            "executor": plan.get("executor") or launch.get("executor") or DEFAULT_EXECUTOR}


def progress_line(state: dict) -> str:
    """'3 of 15 runs done, 2 running, 10 queued · running · executor ray', counted as the command line counts."""
    return f"{tally_text(state, state['total'])} · {state['state']} · executor {state['executor']}"


def summary_table(per_run: pd.DataFrame, reference: str | None) -> pd.DataFrame:
    """Mean, sd and paired t-test p-values per variant (muser_core.sweep.summarise, same code as the CLI)."""
    if per_run.empty:
        return pd.DataFrame()
    return summarise(per_run, reference)


DISPLAY_METRICS = {"accuracy": "Accuracy", "precision": "Precision", "recall": "Recall", "f1": "F-score"}


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


def missing_p_reason(summary: pd.DataFrame, reference: str | None) -> str:
    """Why a p-value cell reads '-' (one seed gives no t-test), or '' when every one is there."""
    rows = [r for r in summary.to_dict("records") if r["label"] != reference]
    missing = [r for r in rows if np.isnan(r.get("p_accuracy", np.nan)) or np.isnan(r.get("p_f1", np.nan))]
    if not missing:
        return ""
    if summary["n_seeds"].max() < 2:
        return ("p-values '-': a paired t-test needs at least two seeds trained for both rows; this sweep has one "
                "(give more seeds, e.g. 0,1,2).")
    return ("p-values '-': the row and the reference share fewer than two finished seeds, or their differences are "
            "the same on every seed (a t-test is then undefined).")


def paper_display(table: str) -> pd.DataFrame:
    """A paper table with ★ on the best value of each column (the rows MUSER reports, as printed)."""
    frame = paper_table(table)
    out = pd.DataFrame({"Strategy": frame["label"]})
    for m in METRICS:
        best = frame[m].max()
        out[DISPLAY_METRICS[m]] = [f"{v:g}" + (BEST if np.isclose(v, best) else "") for v in frame[m]]
    out["Trained by the sweep"] = np.where(frame["reproduced"], "yes", "no (baseline from another paper)")
    return out


# --------------------------------------------------------------------------- identical rows


def _draws(runs: Sequence[str], until: int, key: str) -> bool:
    """The runs recorded the same ``key`` (batches or probabilities) in every epoch 1..``until``."""
    seen = []
    for run in runs:
        records = {r.get("epoch"): r.get(key) for r in rf.read_metrics(run) if isinstance(r, dict)}
        seen.append([records.get(e) for e in range(1, until + 1)])
    return all(d == seen[0] and None not in d for d in seen)


def _uniform_until(run: str) -> float:
    """The epochs a run's strategy samples tasks uniformly: all (uniform), the warm-up n (speed), else 0."""
    try:
        return float(make_strategy(rf.read_config(run).strategy).uniform_epochs())
    except InputError:
        return 0.0


def _quoted(labels: Sequence[str]) -> str:
    names = [f"**{label}**" for label in labels]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _why(runs: pd.DataFrame) -> str:
    """Why runs with the same seed-by-seed test metrics and best epochs coincide (one run per row and seed)."""
    per_seed = [group for _, group in runs.groupby("seed")]
    bests = [int(group["best_epoch"].iloc[0]) for group in per_seed]
    epochs = (f"{bests[0]}" if len(per_seed) == 1 else
              f"{', '.join(map(str, bests))} on seeds {', '.join(str(g['seed'].iloc[0]) for g in per_seed)}")
    pairs = list(zip(per_seed, bests, strict=True))
    if not all(_draws(list(g["run"]), best, "batches") for g, best in pairs):
        return f"yet they drew different batches before their best epoch ({epochs}); check the rows' settings"
    uniform = {run: _uniform_until(run) for run in runs["run"]}
    warm_ups = sorted({int(n) for n in uniform.values() if 0 < n < math.inf})
    if warm_ups and all(best <= uniform[run] for run, best in zip(runs["run"], runs["best_epoch"], strict=True)):
        n = " and ".join(map(str, warm_ups))
        return (f"the best validation epoch ({epochs}) fell inside the {n}-epoch uniform warm-up of the "
                "speed-based sampling, which draws tasks as uniform sampling does, from the same seeded "
                "generator, so the runs kept the same checkpoint")
    text = f"the runs drew as many batches of each task in every epoch up to the best validation epoch ({epochs})"
    if not all(_draws(list(g["run"]), best, "probabilities") for g, best in pairs):
        text += ", their task probabilities differing too little to change a draw of the same seeded generator"
    return text + ", and kept the same checkpoint"


def reliability_rows(per_run: pd.DataFrame) -> pd.DataFrame:
    """Each row's calibrated stress probabilities on the test split, pooled over its finished seeds: per
    confidence bin the items, mean confidence and accuracy (from each run's test.json); empty when no run
    of the sweep was calibrated."""
    parts = []
    for label, run in zip(per_run["label"], per_run["run"], strict=True):
        record = rf.read_json(Path(run) / rf.TEST) or {}
        bins = ((record.get("calibration") or {}).get(MAIN_TASK) or {}).get("reliability")
        if isinstance(bins, dict) and bins.get("items"):
            parts.append(pd.DataFrame(bins).assign(label=label))
    if not parts:
        return pd.DataFrame(columns=["label", "lower", "upper", "items", "confidence", "accuracy"])
    table = pd.concat(parts, ignore_index=True)
    table["hits"], table["sure"] = table["accuracy"] * table["items"], table["confidence"] * table["items"]
    pooled = table.groupby(["label", "lower", "upper"], sort=False)[["items", "hits", "sure"]].sum().reset_index()
    pooled["confidence"], pooled["accuracy"] = pooled["sure"] / pooled["items"], pooled["hits"] / pooled["items"]
    return pooled[["label", "lower", "upper", "items", "confidence", "accuracy"]]


def data_lines(per_run: pd.DataFrame) -> list[str]:
    """What the sweep's runs learnt from: one line when every row learnt from the same data, else one line
    per kind naming its rows. A run folder still being created (nothing in it yet) is left out."""
    rows: dict[str, list[str]] = {}
    for label, group in per_run.groupby("label", sort=False):
        for run in group["run"]:
            try:
                line = rv.data_line(rv.read_run(run))
            except InputError:  # not started, or being created: its line comes at a later poll
                continue
            if line:
                rows.setdefault(line, []).append(str(label))
                break
    if len(rows) == 1:
        return [next(iter(rows)).replace("Learnt:", "Every row learnt:", 1)]
    return [f"{_quoted(labels)} — {line}" for line, labels in rows.items()]


def identical_rows(per_run: pd.DataFrame) -> list[str]:
    """One line for each set of rows whose finished runs have identical test metrics and best epochs,
    saying why (read from the runs: the batches they drew, the strategy's warm-up).

    Rows identical on every seed they share come first; then, per seed, rows that coincide on that seed only.
    """
    done = per_run[(per_run["state"] == "finished") & per_run["best_epoch"].notna()].copy()
    done["key"] = [tuple(r) for r in done[[*METRICS, "best_epoch"]].to_numpy().tolist()]
    groups = {seed: [list(g["label"]) for _, g in group.groupby("key", sort=False) if len(g) > 1]
              for seed, group in done.groupby("seed")}
    labels = list(dict.fromkeys(done["label"]))
    seeds_of = {label: set(done.loc[done["label"] == label, "seed"]) for label in labels}

    def together(a: str, b: str, seed) -> bool:
        return any(a in g and b in g for g in groups.get(seed, []))

    lines, covered = [], set()
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            shared = sorted(seeds_of[a] & seeds_of[b])
            if shared and all(together(a, b, seed) for seed in shared):
                runs = done[done["label"].isin([a, b]) & done["seed"].isin(shared)]
                lines.append(f"{_quoted([a, b])} are identical on every seed: {_why(runs)}.")
                covered |= {frozenset((a, b, seed)) for seed in shared}
    for seed, seed_groups in groups.items():
        for group in seed_groups:
            if all(frozenset((a, b, seed)) in covered for i, a in enumerate(group) for b in group[i + 1:]):
                continue
            runs = done[(done["seed"] == seed) & done["label"].isin(group)]
            lines.append(f"On seed {seed}, {_quoted(group)} have identical test metrics: {_why(runs)}.")
    return lines


def detect_table(labels: Sequence[str]) -> str | None:
    """Which paper table (6-9) a sweep's variant labels come from, if all of them come from one."""
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
    launch = process.read_launch(folder)
    if launch.get("table"):
        return str(launch["table"])
    table = detect_table(list(per_run["label"].unique()))
    if table in ("8", "9") and len(per_run):
        cfg = rf.read_json(Path(per_run["run"].iloc[0]) / rf.CONFIG) or {}
        uses_external = any(t in EXTERNAL_TASKS for t in cfg.get("data", {}).get("tasks", []))
        return "9" if uses_external else "8"
    return table


def sweep_arguments(table: str | None, seeds: Sequence[int], flags: Sequence[str] = (), workers: int = 1,
                    variants: Sequence[tuple[str, str]] = (), reference: str | None = None,
                    executor: str = DEFAULT_EXECUTOR, ray_address: str = "", overwrite: bool = False) -> list[str]:
    """The ``muser_core.sweep`` arguments for a sweep, every variant's config and the executor's options
    checked first (one-line InputError); ``overwrite`` trains afresh the runs of other settings."""
    rows = sweep_variants(table, variants)
    if not rows:
        raise InputError("choose a paper table or give variants")
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    add_config_flags(parser)
    try:
        base = config_from_args(parser.parse_args(shlex.split(TABLE_DEFAULTS.get(table or "", "")) + list(flags)))
    except (argparse.ArgumentError, SystemExit) as exc:
        raise InputError(f"sweep flags {' '.join(flags)}: {exc}") from None
    for _, variant_flags in rows:
        variant_config(base, variant_flags, seeds[0])
    make_executor(executor, workers=workers, address=ray_address.strip() or None)
    args = ["--seeds", ",".join(map(str, seeds)), "--workers", str(workers), "--executor", executor]
    args += ["--ray-address", ray_address.strip()] if ray_address.strip() else []
    args += ["--table", table] if table else []
    args += [f"--variant={label}={v}" for label, v in variants]
    args += ["--reference", reference] if reference else []
    args += ["--overwrite"] if overwrite else []
    return args + list(flags)

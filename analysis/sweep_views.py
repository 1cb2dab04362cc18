"""Sweeps as the Results page sees them: run folders in, tables in the layout of the paper's Tables 6-9.

A sweep folder holds one run folder per variant and seed (``<slug>-seed<N>``),
``plan.json`` (what was planned) and, when it ends, ``runs.csv`` and
``results.csv``. Everything here reads the run folders themselves, so a
partial or running sweep shows what it has. No Streamlit, no process control
(:mod:`muser_core.train.process` starts and stops sweeps).
"""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.run_views import as_float
from muser_core.config import EXTERNAL_TASKS, MAIN_TASK
from muser_core.errors import InputError
from muser_core.train import process
from muser_core.train import run_folder as rf

# --------------------------------------------------------------------------- sweeps


def sweep_variants(table: str | None, variants: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    from muser_core.sweep import PAPER_TABLES

    return list(PAPER_TABLES.get(table, [])) + list(variants) if table else list(variants)


def _is_sweep(folder: Path) -> bool:
    if (folder / "runs.csv").is_file() or (folder / "results.csv").is_file():
        return True
    if (rf.read_json(folder / rf.LAUNCH) or {}).get("kind") == "sweep":
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
            if _is_sweep(folder):
                shipped_here = shipped or process.is_shipped(folder)
                # No state in the label: it changes while the page is open; the sweep's view shows it live.
                rows.append({"name": folder.name, "path": str(folder), "shipped": shipped_here,
                             **sweep_state(folder),
                             "label": folder.name + ("  (shipped demo)" if shipped_here else "")})
    return pd.DataFrame(rows, columns=["name", "path", "shipped", "state", "done", "total", "running",
                                       "error", "started", "label"])


_SEED = re.compile(r"^(?P<slug>.+)-seed(?P<seed>\d+)$")


def _label_lookup(folder: Path) -> dict[str, str]:
    """Sub-folder name -> variant label, from runs.csv when written, else the paper tables' labels."""
    from muser_core.sweep import PAPER_TABLES, slug

    by_slug = {slug(label): label for rows in PAPER_TABLES.values() for label, _ in rows}
    for item in (rf.read_json(folder / rf.LAUNCH) or {}).get("argv", []):
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
        status = process.run_state(sub)
        stress = ((rf.read_json(sub / rf.TEST) or {}).get("metrics") or {}).get(MAIN_TASK, {})
        state = status.get("state", "unknown")
        if state == "finished" and not stress:
            state = "incomplete"
        rows.append({"label": label, "seed": int(_SEED.match(name)["seed"]), "state": state,
                     **{m: as_float(stress.get(m)) for m in METRICS},
                     "best_epoch": status.get("best_epoch"), "epochs": status.get("epochs_done"), "run": str(sub)})
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
    """state (running, stopping, finished, stopped, failed, incomplete), runs done and planned, error line."""
    from muser_core.sweep import PLAN

    folder = Path(folder)
    launch = rf.read_json(folder / rf.LAUNCH) or {}
    subs = [p for p in folder.iterdir() if p.is_dir() and (p / rf.CONFIG).exists()] if folder.is_dir() else []
    states = [process.run_state(p)["state"] for p in subs]
    done = sum(s in process.ENDED for s in states)
    running = sum(s in process.ACTIVE for s in states)
    planned = (rf.read_json(folder / PLAN) or {}).get("total")
    total = launch.get("total") or planned or (len(subs) if (folder / "runs.csv").is_file() else None)
    asked = launch.get("stop_requested")
    stop_asked = isinstance(asked, (int, float)) and asked >= (launch.get("started") or 0.0)
    error = None
    if rf.is_locked(folder) or rf.same_process(launch) or running:
        state = "stopping" if stop_asked else "running"
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
    launch = rf.read_json(Path(folder) / rf.LAUNCH) or {}
    if launch.get("table"):
        return str(launch["table"])
    table = detect_table(list(per_run["label"].unique()))
    if table in ("8", "9") and len(per_run):
        cfg = rf.read_json(Path(per_run["run"].iloc[0]) / rf.CONFIG) or {}
        uses_external = any(t in EXTERNAL_TASKS for t in cfg.get("data", {}).get("tasks", []))
        return "9" if uses_external else "8"
    return table


def sweep_arguments(table: str | None, seeds: Sequence[int], flags: Sequence[str] = (), workers: int = 1,
                    variants: Sequence[tuple[str, str]] = (), reference: str | None = None) -> list[str]:
    """The ``muser_core.sweep`` arguments for a sweep, every variant's config checked first (one-line InputError)."""
    from muser_core.sweep import TABLE_DEFAULTS, variant_config
    from muser_core.train.cli import add_config_flags, config_from_args

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
    args = ["--seeds", ",".join(map(str, seeds)), "--workers", str(workers)]
    args += ["--table", table] if table else []
    args += [f"--variant={label}={v}" for label, v in variants]
    args += ["--reference", reference] if reference else []
    return args + list(flags)

"""Sweeps: a grid of strategies x seeds, trained on an executor, summarised like the paper's Tables 6-9.

Each variant is a label and the ``muser train`` flags that make it; flags
given to the sweep itself apply to every variant. ``--table 6|7|8|9`` picks
the paper's rows. The sweep writes, in ``--out``:

- one run folder per variant and seed (a finished one is reused, a broken one resumed);
  a folder whose run was trained with other settings is refused, naming them,
  unless ``--overwrite`` asks to train it afresh;
- ``runs.csv``: the test stress metrics of every run;
- ``results.csv`` and ``results.md``: mean and standard deviation over seeds of
  accuracy, precision, recall and F1, and the paired t-test p-value
  (``scipy.stats.ttest_rel`` over the same seeds) of each variant against the reference.

The runs train on an executor (:mod:`muser_core.executors`): ``local``
processes on this machine (the default) or ``ray`` tasks, on a Ray instance
started here or on a cluster (``--ray-address``). Results do not depend on
the executor; rerunning a sweep reuses finished runs and resumes the others.

Command line::

    muser sweep --table 8 --seeds 0,1,2,3,4 --workers 2 --out runs/table8 \\
        --corpus demo --text-mode frozen
    muser sweep --table 8 --seeds 0-4 --executor ray --ray-address HEAD:6379 \\
        --text-mode finetune --out /shared/runs/table8
    muser sweep --variant "uniform=--strategy uniform" \\
        --variant "speed5=--strategy speed --history 5" --reference uniform --out runs/mine
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shlex
import shutil
import signal
import sys
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from muser_core.base.errors import InputError
from muser_core.base.files import atomic_write_text, write_csv
from muser_core.config import RunConfig, settings
from muser_core.strategies import STRATEGIES
from muser_core.sweep.executors import (
    Executor,
    Job,
    LocalExecutor,
    StopRequest,
    add_executor_flags,
    executor_from_args,
)
from muser_core.train import prepare_data, process
from muser_core.train import run_folder as rf
from muser_core.train.cli import add_config_flags, config_from_args, parse_seeds

METRICS = ("accuracy", "precision", "recall", "f1")
METRIC_TITLES = {"accuracy": "Accuracy", "precision": "Precision", "recall": "Recall", "f1": "F-score"}

# The paper's result tables: (row label, train flags). The first row named in
# PAPER_REFERENCES is the default reference of the t-tests.
PAPER_TABLES: dict[str, list[tuple[str, str]]] = {
    "6": [("MUSER Textual Encoder", "--modality text --strategy single"),
          ("MUSER Acoustic Encoder", "--modality audio --strategy single")],
    "7": [("MUSER from scratch", "--strategy single"),
          ("Activation-100", "--strategy pretrain --phases activation:100,stress"),
          ("Valence-100", "--strategy pretrain --phases valence:100,stress"),
          ("Activation-valence-stress", "--strategy pretrain --phases activation:100,valence:100,stress"),
          ("Valence-activation-stress", "--strategy pretrain --phases valence:100,activation:100,stress")],
    "8": [("Uniform sampling with activation", "--strategy uniform --tasks stress,activation"),
          ("Uniform sampling with valence", "--strategy uniform --tasks stress,valence"),
          ("Uniform sampling with activation & valence", "--strategy uniform --tasks stress,activation,valence"),
          ("(Liu et al., 2019) - modified", "--strategy dwa --tasks stress,activation,valence"),
          ("Speed-based sampling (history=5)", "--strategy speed --history 5 --tasks stress,activation,valence"),
          ("Speed-based sampling (history=10)", "--strategy speed --history 10 --tasks stress,activation,valence")],
    "9": [("Uniform sampling with activation & valence",
           "--strategy uniform --tasks stress,ext_activation,ext_valence"),
          ("(Liu et al., 2019) - modified", "--strategy dwa --tasks stress,ext_activation,ext_valence"),
          ("Speed-based sampling (history=5)",
           "--strategy speed --history 5 --tasks stress,ext_activation,ext_valence")],
}
PAPER_REFERENCES = {"6": "MUSER Textual Encoder", "7": "MUSER from scratch",
                    "8": "Speed-based sampling (history=5)", "9": "Speed-based sampling (history=5)"}
TABLE_DEFAULTS = {"9": "--external demo"}  # Table 9 uses an external emotion corpus


def slug(label: str) -> str:
    """A folder-safe name for a row label."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "variant"


class _FlagParser(argparse.ArgumentParser):
    """The train flags, raising InputError instead of printing usage and exiting."""

    def error(self, message: str):
        raise InputError(f"bad train flags: {message}")


def _train_parser() -> argparse.ArgumentParser:
    parser = _FlagParser(prog="variant flags", add_help=False, exit_on_error=False)
    add_config_flags(parser)
    return parser


def variant_config(base: RunConfig, flags: str, seed: int) -> RunConfig:
    """``base`` with a variant's train flags and the seed applied, resolved (checks every choice)."""
    try:
        args = _train_parser().parse_args(shlex.split(flags))
    except (InputError, argparse.ArgumentError) as exc:
        raise InputError(f"variant flags '{flags}': {exc}") from None
    cfg = config_from_args(args, base)
    return replace(cfg, train=replace(cfg.train, seed=seed)).resolved()


PLAN = "plan.json"  # written before the first run: variants, seeds and the number of runs
SELECTION = "selection.json"  # --select-history: the n chosen per variant and each candidate's validation mean


def parse_history_list(text: str) -> list[int]:
    """'1,5,10' -> [1, 5, 10]; one line for anything else."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if len(values) < 2 or min(values) < 1 or len(set(values)) != len(values):
        raise InputError(f"--select-history '{text}': give two or more distinct whole numbers >= 1, e.g. 1,5,10")
    return values


def run_folder_name(label: str, seed: int, history: int | None = None) -> str:
    """``<slug>-seed<S>``, or ``<slug>--n<N>-seed<S>`` for a history candidate (a slug never holds '--')."""
    return f"{slug(label)}{f'--n{history}' if history is not None else ''}-seed{seed}"


def plan(variants: list[tuple[str, str]], seeds: list[int], base: RunConfig, out: Path,
         select_history: list[int] | None = None) -> list[Job]:
    """One job per variant and seed (and per history n of a speed variant with ``select_history``).

    Every config is checked before anything runs.
    """
    if not variants:
        raise InputError("no variants: give --table or --variant LABEL=FLAGS")
    labels = [label for label, _ in variants]
    if len(set(labels)) != len(labels) or len({slug(x) for x in labels}) != len(labels):
        raise InputError(f"variant labels must be distinct: {', '.join(labels)}")
    jobs = []
    for label, flags in variants:
        for seed in seeds:
            cfg = variant_config(base, flags, seed)
            if select_history and STRATEGIES[cfg.strategy.name].declares("history"):
                for n in select_history:
                    candidate = replace(cfg, strategy=replace(cfg.strategy, history=n)).resolved()
                    jobs.append(Job(label, seed, out / run_folder_name(label, seed, n), candidate.to_dict()))
            else:
                jobs.append(Job(label, seed, out / run_folder_name(label, seed), cfg.to_dict()))
    if select_history and not any(j.out.name != run_folder_name(j.label, j.seed) for j in jobs):
        raise InputError("--select-history: no variant uses the speed strategy")
    return jobs


# Settings that do not change what a run computes: a rerun may ask for others and still reuse its runs.
NOT_RESULT_SETTINGS = {("train", "save_every_s"), ("data", "audio_workers")}
# Settings the trainer fills in (muser_core.train.run.build): asked as this value, config.json holds what it found.
FILLED_IN = {("train", "device"): "auto", ("train", "threads"): 0, ("train", "precision"): "auto"}


def setting_differences(saved: dict, requested: dict) -> list[str]:
    """``section.name there X, asked Y`` for each setting of ``requested`` that ``saved`` (a config.json) differs in.

    Only what decides the run's result counts: not the settings the trainer
    fills in itself (``cli=False``, and the ``auto`` device, threads and
    precision), not :data:`NOT_RESULT_SETTINGS`, and of the strategy section
    only the name and the chosen strategy's own settings.
    """
    saved = RunConfig.from_dict(saved).to_dict()  # older files carried over to today's names
    requested = RunConfig.from_dict(requested).to_dict()
    strategy = STRATEGIES.get(requested["strategy"]["name"])
    own = {f.name for f in strategy.own_settings()} if strategy else set()
    out = []
    for s in settings():
        key = (s.section, s.name)
        if not s.cli or key in NOT_RESULT_SETTINGS or (s.section == "strategy" and s.name not in own | {"name"}):
            continue
        there, asked = saved[s.section][s.name], requested[s.section][s.name]
        if there != asked and not (key in FILLED_IN and asked == FILLED_IN[key]):
            out.append(f"{s.section}.{s.name} {there!r} there, {asked!r} asked")
    return out


def stale_runs(jobs: list[Job]) -> list[tuple[Job, list[str]]]:
    """The jobs whose folder already holds a run of other settings, each with how they differ."""
    stale = []
    for job in jobs:
        path = job.out / rf.CONFIG
        if not path.is_file():
            continue
        saved = rf.read_json(path)
        try:
            differences = setting_differences(saved, job.config) if saved is not None else None
        except InputError:
            differences = None
        if differences is None:
            stale.append((job, [f"its {rf.CONFIG} cannot be read"]))
        elif differences:
            stale.append((job, differences))
    return stale


def refuse_stale(stale: list[tuple[Job, list[str]]]) -> None:
    """One line naming the first folder of other settings and how they differ (nothing when none)."""
    if not stale:
        return
    job, differences = stale[0]
    more = f"; {len(stale) - 1} more run folder(s) of this sweep differ too" if len(stale) > 1 else ""
    raise InputError(f"{job.out} holds a run trained with other settings ({'; '.join(differences)}){more}: "
                     "pass --overwrite to train them afresh, or give another --out")


def clear_run_folder(folder: Path) -> None:
    """Empty a run folder so that it can take a new run; refused (one line) while a process works in it."""
    with rf.RunLock(folder, owner=False):
        for entry in folder.iterdir():
            if entry.name == rf.LOCK:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def validation_score(run_dir: str | Path) -> float:
    """The run's validation stop metric (stress accuracy or F1) at its best epoch; NaN before it has one."""
    status = rf.read_json(Path(run_dir) / rf.STATUS) or {}
    config = rf.read_json(Path(run_dir) / rf.CONFIG) or {}
    metric = (config.get("train") or {}).get("stop_metric", "accuracy")
    best = status.get("best_epoch")
    for record in rf.read_metrics(run_dir):
        if isinstance(record, dict) and record.get("epoch") == best:
            value = ((record.get("val") or {}).get("stress") or {}).get(metric)
            return float(value) if isinstance(value, (int, float)) else np.nan
    return np.nan


def select_history(per_run: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Paper 5.1: n chosen from the candidates by validation performance, per variant.

    ``per_run`` has a ``history`` column (the candidate n, NaN for other
    runs) and ``val_score`` (:func:`validation_score`). For each variant with
    candidates, the n with the highest mean validation score over its finished
    seeds is kept (the smaller n on a tie); the other candidates' rows are left
    out. Returns the kept rows and, per variant, the choice and each n's mean.
    """
    if "history" not in per_run or per_run["history"].isna().all():
        return per_run, {}
    keep = per_run["history"].isna()
    choices = {}
    for label, rows in per_run[~keep].groupby("label", sort=False):
        done = rows[rows["state"] == "finished"]
        means = done.groupby("history")["val_score"].mean().dropna()
        if means.empty:
            continue
        chosen = int(min(means[means == means.max()].index))
        choices[label] = {"chosen": chosen, "validation_mean": {int(n): float(v) for n, v in means.items()},
                          "seeds": sorted(int(s) for s in done["seed"].unique())}
        keep |= (per_run["label"] == label) & (per_run["history"] == chosen)
    return per_run[keep].reset_index(drop=True), choices


def selection_text(choices: dict) -> str:
    """One line per variant: the n chosen on validation, and every candidate's mean validation score."""
    return "\n".join(f"{label}: history n = {c['chosen']} chosen on validation (mean validation stress score "
                     + ", ".join(f"n={n} {v:.3f}" for n, v in sorted(c["validation_mean"].items()))
                     + f" over seeds {', '.join(map(str, c['seeds']))})" for label, c in choices.items())


COUNTS = ("done", "failed", "stopped", "running", "queued", "not started")  # each run in exactly one


def tally(states: list[str], total: int | None = None, starting: bool = True) -> dict[str, int]:
    """Count a sweep's runs once each, from their states: done (finished), failed, stopped (stopped or killed:
    the next call resumes it), running, and the rest of ``total``: queued while runs may still start
    (``starting``), not started once the sweep stopped or ended. The command line and the Results page both
    count with this, so they agree."""
    counts = dict.fromkeys(COUNTS, 0)
    for state in states:
        if state == "finished":
            counts["done"] += 1
        elif state.startswith("failed"):
            counts["failed"] += 1
        elif state.startswith(("stopped", "killed")):
            counts["stopped"] += 1
        elif state in process.ACTIVE:
            counts["running"] += 1
    rest = max(0, (total or 0) - sum(counts.values()))
    counts["queued" if starting else "not started"] = rest
    return counts


def tally_text(counts: dict[str, int], total: int | None) -> str:
    """'3 of 15 runs done, 1 failed, 2 running, 9 queued': the counts that are not zero, done always."""
    parts = [f"{counts['done']} of {total if total else '?'} runs done"]
    parts += [f"{counts[name]} {name}" for name in COUNTS[1:] if counts[name]]
    return ", ".join(parts)


def progress_states(jobs: list[Job], outcomes: dict[int, str]) -> list[str]:
    """Each job's state during a sweep: its outcome once it ended, running while a process holds its folder's
    lock (whatever started it), else queued."""
    return [outcomes[i] if i in outcomes else "running" if rf.is_locked(job.out) else "queued"
            for i, job in enumerate(jobs)]


def run_jobs(jobs: list[Job], executor: Executor | None = None, progress: bool = True) -> pd.DataFrame:
    """Run the jobs on ``executor`` (default: two local processes); one row per run, in the jobs' order.

    SIGTERM or Ctrl-C stops the sweep: no new run starts, running runs stop
    after their current batch (each keeps its resume state; a second signal
    forces them on Ray), and the rows say ``stopped``; running the same sweep
    again resumes them; a run the stop kept from starting says ``not started``.
    While it goes, the command line counts the runs with :func:`tally`.
    """
    executor = executor or LocalExecutor()
    rows: dict[int, dict] = {}
    stop = StopRequest()
    previous = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(ValueError):  # not the main thread: the caller handles signals
            previous[sig] = signal.signal(sig, lambda signum, frame: stop.request())
    shown = None
    try:
        for outcome in executor.execute(jobs, stop):
            if outcome is not None:
                job = jobs[outcome.index]
                stress = outcome.test.get("stress", {})
                status = rf.read_json(job.out / rf.STATUS) or {}
                history = (job.config.get("strategy") or {}).get("history")
                rows[outcome.index] = {"label": job.label, "seed": job.seed, "state": outcome.state,
                                       **{m: stress.get(m, np.nan) for m in METRICS},
                                       "best_epoch": status.get("best_epoch"), "epochs": status.get("epochs_done"),
                                       "history": history if "--n" in job.out.name else np.nan,
                                       "val_score": validation_score(job.out)}
            counts = tally(progress_states(jobs, {i: r["state"] for i, r in rows.items()}), len(jobs),
                           starting=not stop.requested)
            if progress and (outcome is not None or counts != shown):
                line = f"[{tally_text(counts, len(jobs))}]"
                if outcome is not None:
                    stress = outcome.test.get("stress")
                    line += (f" {job.label} seed {job.seed}: "
                             + (f"acc {stress['accuracy']:.3f}" if stress else outcome.state))
                print(line, flush=True)
            shown = counts
        if progress:
            print(tally_text(tally([r["state"] for r in rows.values()], len(jobs), starting=False), len(jobs)),
                  flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return pd.DataFrame([rows[i] for i in sorted(rows)])


def summarise(per_run: pd.DataFrame, reference: str | None) -> pd.DataFrame:
    """Mean and sample standard deviation per variant, and paired t-test p-values against ``reference``."""
    from scipy.stats import ttest_rel

    done = per_run[per_run["state"] == "finished"]
    rows = []
    ref = done[done["label"] == reference].set_index("seed") if reference else None
    for label in dict.fromkeys(per_run["label"]):
        group = done[done["label"] == label].set_index("seed")
        row = {"label": label, "n_seeds": len(group)}
        for m in METRICS:
            row[f"{m}_mean"] = group[m].mean() if len(group) else np.nan
            row[f"{m}_std"] = group[m].std(ddof=1) if len(group) > 1 else np.nan
        for m in ("accuracy", "f1"):
            p = np.nan
            if ref is not None and label != reference:
                seeds = sorted(set(group.index) & set(ref.index))
                if len(seeds) >= 2:
                    with warnings.catch_warnings():  # identical columns give nan, with a warning
                        warnings.simplefilter("ignore")
                        p = float(ttest_rel(group.loc[seeds, m], ref.loc[seeds, m]).pvalue)
            row[f"p_{m}"] = p
        rows.append(row)
    return pd.DataFrame(rows)


def _cell(mean: float, std: float) -> str:
    if np.isnan(mean):
        return "-"
    return f"{mean:.3f}" + (f" ± {std:.3f}" if not np.isnan(std) else "")


def markdown(summary: pd.DataFrame, reference: str | None, seeds: list[int], title: str) -> str:
    """The summary in the layout of the paper's tables."""
    lines = [f"## {title}", "",
             f"Test-split stress detection, mean ± sample standard deviation over seeds "
             f"{', '.join(map(str, seeds))}. Precision, recall and F-score are for the stressed class. "
             + (f"p: paired t-test (scipy.stats.ttest_rel) against **{reference}** over the same seeds."
                if reference else ""), "",
             "| Strategy | " + " | ".join(METRIC_TITLES.values()) + " | p (accuracy) | p (F-score) |",
             "|---" * (len(METRICS) + 3) + "|"]
    for r in summary.to_dict("records"):
        cells = [_cell(r[f"{m}_mean"], r[f"{m}_std"]) for m in METRICS]
        ps = ["ref." if r["label"] == reference else ("-" if np.isnan(r[f"p_{m}"]) else f"{r[f'p_{m}']:.3g}")
              for m in ("accuracy", "f1")]
        lines.append(f"| {r['label']} | " + " | ".join(cells + ps) + " |")
    return "\n".join(lines) + "\n"


def warm_up(jobs: list[Job], retrain: set[Path] = frozenset()) -> None:
    """Prepare each distinct data set once here: fills the embedding (or hidden-state) cache, surfaces input
    errors early.

    A finished run is skipped unless its folder is in ``retrain`` (trained afresh with --overwrite).
    """
    seen = set()
    for job in jobs:
        cfg = RunConfig.from_dict(job.config)
        key = (repr(cfg.data), cfg.model.modality, cfg.model.text_mode, cfg.model.text_model, cfg.model.max_length,
               cfg.model.finetune_layers)
        if key not in seen and (job.out in retrain or not (job.out / rf.TEST).is_file()):
            seen.add(key)
            prepare_data(cfg, progress=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``muser sweep``'s own flags (any other flag is a ``muser train`` flag applied to every variant)."""
    parser.add_argument("--table", choices=sorted(PAPER_TABLES), help="the paper's rows for Table 6, 7, 8 or 9")
    parser.add_argument("--variant", action="append", default=[], metavar="LABEL=FLAGS",
                        help="a row: its label and train flags (repeatable)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    parser.add_argument("--reference", help="label the t-tests compare against (default: the table's)")
    parser.add_argument("--out", required=True, help="sweep folder, e.g. runs/table8")
    parser.add_argument("--select-history", metavar="N,N,...",
                        help="paper 5.1: train every speed variant with each history n listed (e.g. 1,5,10) and "
                             "keep, per variant, the n with the best mean validation stress score")
    parser.add_argument("--overwrite", action="store_true",
                        help="train afresh the run folders that hold a run of other settings (without it such "
                             "a sweep is refused, naming the settings that differ)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no line per run as the sweep goes (the results table is still printed)")
    add_executor_flags(parser)


def run(args: argparse.Namespace) -> int:
    """Plan the sweep, refuse what cannot work before any data is prepared, then train and tabulate it."""
    train_flags = args.unknown
    try:
        executor = executor_from_args(args)
        executor.check()
        seeds = parse_seeds(args.seeds)
        variants = list(PAPER_TABLES.get(args.table, []))
        for item in args.variant:
            label, sep, flags = item.partition("=")
            if not sep or not label.strip():
                raise InputError(f"--variant '{item}': write LABEL=FLAGS")
            variants.append((label.strip(), flags))
        reference = args.reference or PAPER_REFERENCES.get(args.table) or (variants[0][0] if variants else None)
        if reference and reference not in [label for label, _ in variants]:
            raise InputError(f"reference '{reference}' is not a variant label")
        base_flags = " ".join([TABLE_DEFAULTS.get(args.table, ""), shlex.join(train_flags)])
        base = _train_parser().parse_args(shlex.split(base_flags))
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise InputError(f"{out}: is a file, not a sweep folder")
        candidates = parse_history_list(args.select_history) if args.select_history else None
        jobs = plan(variants, seeds, config_from_args(base), out, candidates)
        stale = stale_runs(jobs)
        if not args.overwrite:
            refuse_stale(stale)  # before any data is prepared
        warm_up(jobs, {job.out for job, _ in stale})
    except (ValueError, argparse.ArgumentError) as exc:  # a bad --seeds number or train flag: one line too
        if isinstance(exc, InputError):
            raise
        raise InputError(str(exc)) from None
    with rf.RunLock(out):  # one process per sweep folder, held to the end
        stale = stale_runs(jobs)  # again, under the lock: another sweep may have written meanwhile
        if not args.overwrite:
            refuse_stale(stale)
        for job, differences in stale:
            print(f"{job.out.name}: trained afresh ({'; '.join(differences)})", file=sys.stderr)
            clear_run_folder(job.out)
        return _run_sweep(out, jobs, variants, seeds, reference, executor, args.table, not args.no_progress)


def _run_sweep(out: Path, jobs: list[Job], variants, seeds: list[int], reference: str | None,
               executor: Executor, table: str | None, progress: bool = True) -> int:
    # The plan first, so a page watching a sweep started here knows how many runs to expect.
    rf.write_json(out / PLAN, {"total": len(jobs), "variants": [label for label, _ in variants],
                               "seeds": seeds, "reference": reference, "executor": executor.name})
    per_run = run_jobs(jobs, executor, progress=progress)
    # Each run by its folder inside the sweep's, so a sweep folder copied elsewhere still reads as a whole.
    per_run["run"] = [j.out.name if j.out.parent == out else str(j.out) for j in jobs]
    write_csv(out / "runs.csv", per_run, index=False)  # every run, history candidates included
    kept, choices = select_history(per_run)
    if choices:
        rf.write_json(out / SELECTION, choices)
        print(selection_text(choices))
    summary = summarise(kept, reference)
    summary.insert(1, "reference", reference)
    write_csv(out / "results.csv", summary, index=False)
    title = f"Table {table} layout" if table else "Sweep results"
    text = markdown(summary, reference, seeds, title)
    if choices:
        text += "\n" + "\n".join(f"- {line}" for line in selection_text(choices).splitlines()) + "\n"
    atomic_write_text(out / "results.md", text)
    print(text)
    failed = per_run[per_run["state"] != "finished"]
    for r in failed[failed["state"] != "not started"].to_dict("records"):  # those are counted in the last count line
        print(f"warning: {r['label']} seed {r['seed']}: {r['state']}", file=sys.stderr)
    return 1 if len(failed) else 0

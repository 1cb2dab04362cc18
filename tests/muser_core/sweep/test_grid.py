"""Sweeps: planning, the paper's tables, summary statistics against a hand-computed paired t-test."""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import synthetic_corpus
from scipy import stats

from muser_core.base.errors import InputError
from muser_core.cli import run_command
from muser_core.config import RunConfig
from muser_core.sweep.grid import (
    PAPER_REFERENCES,
    PAPER_TABLES,
    TABLE_DEFAULTS,
    markdown,
    plan,
    summarise,
)
from muser_core.train import run_folder as rf
from muser_core.train.cli import config_from_args

main = run_command("sweep")


@pytest.mark.parametrize("table", sorted(PAPER_TABLES))
def test_every_paper_table_row_is_a_valid_config(table, tmp_path):
    import shlex

    from muser_core.sweep.grid import _train_parser

    base = config_from_args(_train_parser().parse_args(shlex.split(TABLE_DEFAULTS.get(table, ""))))
    jobs = plan(PAPER_TABLES[table], [0, 1], base, tmp_path)
    assert len(jobs) == 2 * len(PAPER_TABLES[table])
    assert PAPER_REFERENCES[table] in {j.label for j in jobs}
    assert len({j.out for j in jobs}) == len(jobs)
    for job in jobs:
        cfg = RunConfig.from_dict(job.config)
        assert cfg.data.tasks[0] == "stress" and cfg.train.lr is not None


def test_plan_rejects_bad_variants(tmp_path):
    with pytest.raises(InputError, match="distinct"):
        plan([("a", "--strategy single"), ("a", "--strategy uniform")], [0], RunConfig(), tmp_path)
    with pytest.raises(InputError, match="unknown strategy"):
        plan([("a", "--strategy magic")], [0], RunConfig(), tmp_path)
    with pytest.raises(InputError, match="bad train flags"):
        plan([("a", "--no-such-flag 3")], [0], RunConfig(), tmp_path)


def test_summary_against_a_hand_computed_paired_t_test():
    ref = [0.80, 0.82, 0.79, 0.81]
    other = [0.84, 0.83, 0.82, 0.86]
    rows = [{"label": label, "seed": s, "state": "finished", "accuracy": a, "precision": a, "recall": a, "f1": a}
            for label, values in (("ref", ref), ("new", other)) for s, a in enumerate(values)]
    summary = summarise(pd.DataFrame(rows), "ref").set_index("label")
    d = np.array(other) - np.array(ref)
    t = d.mean() / (d.std(ddof=1) / math.sqrt(len(d)))
    p = 2 * stats.t.sf(abs(t), df=len(d) - 1)
    assert summary.loc["new", "p_accuracy"] == pytest.approx(p)
    assert summary.loc["new", "accuracy_mean"] == pytest.approx(np.mean(other))
    assert summary.loc["new", "accuracy_std"] == pytest.approx(np.std(other, ddof=1))
    assert np.isnan(summary.loc["ref", "p_accuracy"])
    text = markdown(summary.reset_index(), "ref", [0, 1, 2, 3], "Table 8 layout")
    assert "| Strategy | Accuracy | Precision | Recall | F-score |" in text
    assert f"| new | {np.mean(other):.3f} ± {np.std(other, ddof=1):.3f}" in text


def test_sweep_bad_input_is_one_line(tmp_path, capsys):
    assert main(["--variant", "a=--strategy magic", "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "magic" in err and "\n" not in err
    assert main(["--table", "8", "--reference", "nope", "--out", str(tmp_path / "s")]) == 2
    assert not (tmp_path / "s").exists()


@pytest.mark.slow
def test_stopping_a_sweep_stops_its_runs_and_a_rerun_resumes_them(tmp_path):
    import time

    from analysis.sweep_views import sweep_state
    from muser_core.train import process

    corpus = tmp_path / "c.csv"
    synthetic_corpus().save(corpus)
    out = tmp_path / "sweep"
    args = ["--variant", "single=--strategy single", "--variant", "uniform=--strategy uniform", "--seeds", "0",
            "--workers", "2", "--corpus", str(corpus), "--max-epochs", "60", "--patience", "5000"]
    process.launch_sweep(out, args, total=2)
    deadline = time.time() + 120
    while not all(len(rf.read_metrics(out / f"{v}-seed0")) >= 3 for v in ("single", "uniform")):
        assert time.time() < deadline, (out / process.SWEEP_LOG).read_text()
        time.sleep(0.1)
    assert sweep_state(out)["state"] == "running"
    assert process.stop(out)
    while sweep_state(out)["state"] in process.ACTIVE:
        assert time.time() < deadline + 60
        time.sleep(0.1)
    assert sweep_state(out)["state"] == "stopped"
    for v in ("single", "uniform"):
        assert process.run_state(out / f"{v}-seed0")["state"] == "stopped"
        assert (out / f"{v}-seed0" / rf.RESUME).is_file()
    assert main(["--out", str(out), *args]) == 0  # the same sweep again: resumes both runs to the end
    assert set(pd.read_csv(out / "runs.csv")["state"]) == {"finished"}
    assert sweep_state(out)["state"] == "finished"


def test_select_history_plans_every_n_for_speed_variants_only(tmp_path):
    from muser_core.sweep.grid import parse_history_list

    variants = [("speed", "--strategy speed"), ("uniform", "--strategy uniform")]
    jobs = plan(variants, [0, 1], RunConfig(), tmp_path, select_history=[1, 5, 10])
    names = sorted(j.out.name for j in jobs)
    assert names == sorted([f"speed--n{n}-seed{s}" for n in (1, 5, 10) for s in (0, 1)]
                           + ["uniform-seed0", "uniform-seed1"])
    assert {j.config["strategy"]["history"] for j in jobs if j.label == "speed"} == {1, 5, 10}
    with pytest.raises(InputError, match="no variant uses the speed strategy"):
        plan([("uniform", "--strategy uniform")], [0], RunConfig(), tmp_path, select_history=[1, 5])
    for bad in ("5", "1,x", "0,5", "5,5"):
        with pytest.raises(InputError, match="--select-history"):
            parse_history_list(bad)


@pytest.mark.slow
def test_select_history_keeps_the_n_with_the_best_validation_mean(tmp_path, capsys):
    """Paper 5.1: n from {1, 5, 10} chosen on validation; checked against the runs' own metrics.jsonl."""
    from muser_core.sweep.grid import SELECTION

    corpus = tmp_path / "c.csv"
    synthetic_corpus().save(corpus)
    out = tmp_path / "sweep"
    assert main(["--variant", "speed=--strategy speed", "--variant", "uniform=--strategy uniform",
                 "--select-history", "1,2", "--seeds", "0,1", "--workers", "2", "--corpus", str(corpus),
                 "--max-epochs", "6", "--patience", "50", "--out", str(out)]) == 0
    per_run = pd.read_csv(out / "runs.csv")
    assert len(per_run) == 6 and set(per_run["state"]) == {"finished"}

    def best_val(run: str) -> float:  # the validation stress accuracy at the run's best epoch, read by hand
        status = json.loads((Path(run) / "status.json").read_text())
        lines = [json.loads(x) for x in (Path(run) / "metrics.jsonl").read_text().splitlines()]
        return next(r["val"]["stress"]["accuracy"] for r in lines if r["epoch"] == status["best_epoch"])

    means = {n: np.mean([best_val(str(out / f"speed--n{n}-seed{s}")) for s in (0, 1)]) for n in (1, 2)}
    chosen = max(means, key=lambda n: (means[n], -n))
    selection = json.loads((out / SELECTION).read_text())["speed"]
    assert selection["chosen"] == chosen
    assert selection["validation_mean"] == {str(n): pytest.approx(v) for n, v in means.items()}
    results = pd.read_csv(out / "results.csv").set_index("label")
    test_acc = [json.loads((out / f"speed--n{chosen}-seed{s}" / "test.json").read_text())["metrics"]["stress"]
                ["accuracy"] for s in (0, 1)]
    assert results.loc["speed", "accuracy_mean"] == pytest.approx(np.mean(test_acc))
    assert results.loc["speed", "n_seeds"] == 2
    assert f"history n = {chosen} chosen on validation" in (out / "results.md").read_text()


def test_no_progress_is_a_sweep_flag_not_a_bad_train_flag(tmp_path, capsys):
    """`--no-progress` is accepted (not refused as a bad train flag: the help says flags a sweep does not know go
    to training) and leaves out the line per run."""
    from conftest import synthetic_corpus

    corpus = tmp_path / "c.csv"
    synthetic_corpus(n_speakers=10, per_speaker=8).save(corpus)
    out = tmp_path / "sweep"
    assert main(["--variant", "uniform=--strategy uniform", "--seeds", "0", "--workers", "1", "--corpus", str(corpus),
                 "--modality", "text", "--max-epochs", "2", "--out", str(out), "--no-progress"]) == 0, \
        capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "done, " not in printed and "uniform" in printed   # no line per run; the results table
    assert set(pd.read_csv(out / "runs.csv")["state"]) == {"finished"}


def test_a_sweep_rerun_with_other_settings_is_refused_naming_them_or_trained_afresh_with_overwrite(tmp_path,
                                                                                                  capsys):
    corpus = tmp_path / "c.csv"
    synthetic_corpus(n_speakers=10, per_speaker=6).save(corpus)
    out = tmp_path / "sweep"
    args = ["--out", str(out), "--variant", "single=--strategy single", "--seeds", "0", "--workers", "1",
            "--corpus", str(corpus), "--modality", "audio", "--patience", "5000", "--no-progress"]
    assert main([*args, "--max-epochs", "2"]) == 0
    run = out / "single-seed0"
    first = (run / rf.TEST).read_bytes()
    capsys.readouterr()
    # Other settings into the same folder: one line naming the setting, the old run untouched.
    assert main([*args, "--max-epochs", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert "train.max_epochs 2 there, 3 asked" in err and "--overwrite" in err and str(run) in err
    assert (run / rf.TEST).read_bytes() == first
    assert rf.read_config(run).train.max_epochs == 2
    # The same settings again (device, threads and precision asked as auto): reused, not refused.
    assert main([*args, "--max-epochs", "2"]) == 0
    assert (run / rf.TEST).read_bytes() == first
    # --overwrite trains it afresh with the settings asked; the Results page's checkbox gives the same arguments.
    from analysis.sweep_views import sweep_arguments

    flags = ["--corpus", str(corpus), "--modality", "audio", "--patience", "5000", "--max-epochs", "3"]
    page_args = sweep_arguments(None, [0], flags, 1, variants=[("single", "--strategy single")], overwrite=True)
    assert "--overwrite" in page_args
    assert main(["--out", str(out), "--no-progress", *page_args]) == 0
    assert "single-seed0: trained afresh (train.max_epochs 2 there, 3 asked)" in capsys.readouterr().err
    assert rf.read_config(run).train.max_epochs == 3
    assert [r["epoch"] for r in rf.read_metrics(run)] == [0, 1, 2, 3]
    assert pd.read_csv(out / "runs.csv")["epochs"].tolist() == [3]


def test_setting_differences_ignore_what_the_trainer_fills_in_and_other_strategies_settings():
    from muser_core.sweep.grid import setting_differences

    asked = RunConfig().resolved()
    saved = RunConfig().resolved()
    saved.train.device, saved.train.threads, saved.train.precision = "cpu", 1, "fp32"  # as build() writes them
    saved.model.text_dim, saved.train.save_every_s = 384, 5.0
    asked.strategy.name = saved.strategy.name = "uniform"
    saved.strategy.history = asked.strategy.history + 3  # the speed strategy's setting, not this run's
    assert setting_differences(saved.to_dict(), asked.to_dict()) == []
    saved.train.lr, saved.model.hidden_size = 0.5, 8
    assert setting_differences(saved.to_dict(), asked.to_dict()) == [
        "model.hidden_size 8 there, 256 asked", f"train.lr 0.5 there, {asked.train.lr!r} asked"]
    explicit = RunConfig().resolved()
    explicit.train.device = "cuda"
    assert setting_differences(saved.to_dict(), explicit.to_dict())[-1] == "train.device 'cpu' there, 'cuda' asked"


@pytest.mark.slow
def test_kill_9_of_a_local_sweep_takes_its_trainers_with_it_and_a_rerun_resumes(tmp_path):
    """The sweep killed -9 once both trainers have started: they end within seconds, unlock their folders,
    and the same sweep run again resumes both runs to the end."""
    import subprocess
    import sys
    import time

    import psutil

    from muser_core.base.paths import CHECKOUT as REPO_ROOT

    corpus = tmp_path / "c.csv"
    synthetic_corpus().save(corpus)
    out = tmp_path / "sweep"
    args = ["--out", str(out), "--variant", "single=--strategy single", "--variant", "uniform=--strategy uniform",
            "--seeds", "0", "--workers", "2", "--corpus", str(corpus), "--modality", "audio",
            "--max-epochs", "150", "--patience", "5000", "--no-progress"]
    runs = [out / f"{v}-seed0" for v in ("single", "uniform")]
    sweep = subprocess.Popen([sys.executable, "-m", "muser_core", "sweep", *args], cwd=REPO_ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    trainers: list[psutil.Process] = []
    try:
        deadline = time.time() + 120
        while not all(len(rf.read_metrics(run)) >= 3 for run in runs):  # both trainers are training
            assert sweep.poll() is None and time.time() < deadline, sweep.stderr.read().decode()[-2000:]
            time.sleep(0.05)
        trainers += [psutil.Process(rf.lock_owner(run)["pid"]) for run in runs]
        assert all(t.pid != sweep.pid and t.ppid() == sweep.pid for t in trainers)
        sweep.kill()  # SIGKILL: the sweep cannot tidy anything up
        sweep.wait()
        gone, alive = psutil.wait_procs(trainers, timeout=15)
        assert not alive, f"trainers outlived their sweep: {[t.pid for t in alive]}"
        assert not any(rf.is_locked(run) for run in runs)
        for run in runs:  # each stopped after a batch, as on Stop, with its resume state
            assert rf.read_status(run)["state"] == "stopped" and (run / rf.RESUME).is_file()
            assert rf.read_metrics(run)[-1]["epoch"] < 150
    finally:
        for proc in [sweep, *trainers]:  # nothing of this test outlives it, whatever failed
            with contextlib.suppress(psutil.Error, ProcessLookupError):
                proc.kill()
    # Straight away, the same sweep again: both runs resumed from their saved state, to the end.
    assert main(args) == 0
    assert set(pd.read_csv(out / "runs.csv")["state"]) == {"finished"}
    for run in runs:
        assert [r["epoch"] for r in rf.read_metrics(run)] == list(range(151))
        assert len(rf.read_json(run / rf.ENV)["resumes"]) == 1


def test_tally_counts_each_run_once_and_names_the_rest_by_whether_runs_still_start():
    from muser_core.sweep.grid import tally, tally_text

    states = ["finished", "finished", "failed: ValueError: x", "stopped", "killed: the Ray worker died",
              "running", "preparing", "not started"]
    counts = tally(states, total=10, starting=False)
    assert counts == {"done": 2, "failed": 1, "stopped": 2, "running": 2, "queued": 0, "not started": 3}
    assert sum(counts.values()) == 10
    assert tally_text(counts, 10) == "2 of 10 runs done, 1 failed, 2 stopped, 2 running, 3 not started"
    going = tally(["finished", "running", "queued"], total=4)
    assert going == {"done": 1, "failed": 0, "stopped": 0, "running": 1, "queued": 2, "not started": 0}
    assert tally_text(going, 4) == "1 of 4 runs done, 1 running, 2 queued"
    assert tally_text(tally([], None), None) == "0 of ? runs done"

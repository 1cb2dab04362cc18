"""Sweeps: planning, the paper's tables, summary statistics against a hand-computed paired t-test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import synthetic_corpus
from scipy import stats

from muser_core.config import RunConfig
from muser_core.errors import InputError
from muser_core.sweep import (
    PAPER_REFERENCES,
    PAPER_TABLES,
    TABLE_DEFAULTS,
    main,
    markdown,
    plan,
    summarise,
)
from muser_core.train import run_folder as runs
from muser_core.train.cli import config_from_args


@pytest.mark.parametrize("table", sorted(PAPER_TABLES))
def test_every_paper_table_row_is_a_valid_config(table, tmp_path):
    import shlex

    from muser_core.sweep import _train_parser

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
    while not all(len(runs.read_metrics(out / f"{v}-seed0")) >= 3 for v in ("single", "uniform")):
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
        assert (out / f"{v}-seed0" / runs.RESUME).is_file()
    assert main(["--out", str(out), *args]) == 0  # the same sweep again: resumes both runs to the end
    assert set(pd.read_csv(out / "runs.csv")["state"]) == {"finished"}
    assert sweep_state(out)["state"] == "finished"

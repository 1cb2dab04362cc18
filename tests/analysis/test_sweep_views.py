"""analysis.sweep_views: sweep folders to the paper's table layout, t-tests against scipy, the paper's own numbers."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_run

from analysis import paper_results
from analysis import run_views as rv
from analysis import sweep_views as sv
from analysis import training_figures as figs
from analysis.display import latex_table
from muser_core.train import process


def make_sweep(root: Path, table: str = "8", seeds=(0, 1, 2)) -> Path:
    from muser_core.sweep.grid import PAPER_TABLES, slug

    folder = root / "sw"
    rows = PAPER_TABLES[table][:3]
    for i, (label, _) in enumerate(rows):
        for seed in seeds:
            make_run(folder, f"{slug(label)}-seed{seed}", strategy="uniform", epochs=2, seed=seed,
                     test_accuracy=0.70 + 0.05 * i + 0.01 * seed)
    return folder


def test_sweep_table_marks_best_and_reference_and_matches_scipy(runs_root):
    from scipy.stats import ttest_rel

    folder = make_sweep(runs_root)
    per_run = sv.sweep_runs(folder)
    assert len(per_run) == 9 and (per_run["state"] == "finished").all()
    labels = list(dict.fromkeys(per_run["label"]))
    assert labels == [label for label, _ in __import__("muser_core.sweep.grid").sweep.grid.PAPER_TABLES["8"][:3]]
    assert sv.sweep_table_id(folder, per_run) == "8"
    reference = labels[0]
    shown = sv.results_display(sv.summary_table(per_run, reference), reference).set_index("Strategy")
    assert shown.loc[reference, "p (accuracy)"] == "ref."
    assert shown.loc[labels[2], "Accuracy"].endswith(sv.BEST)        # highest mean accuracy
    assert not shown.loc[labels[0], "Accuracy"].endswith(sv.BEST)
    assert shown.loc[labels[1], "Accuracy"].startswith("0.760 ± 0.010")
    a = per_run[per_run["label"] == labels[1]]["accuracy"].to_numpy()
    b = per_run[per_run["label"] == reference]["accuracy"].to_numpy()
    with warnings.catch_warnings():  # near-identical columns: scipy warns about precision
        warnings.simplefilter("ignore")
        expected = ttest_rel(a, b).pvalue
    assert shown.loc[labels[1], "p (accuracy)"] == ("-" if np.isnan(expected) else f"{expected:.3g}")
    state = sv.sweep_state(folder)
    assert state["done"] == 9 and state["state"] in ("incomplete", "finished")
    assert "sw" in set(sv.list_sweeps()["name"])


def test_paper_tables_are_the_papers_numbers():
    t8 = paper_results.paper_table("8").set_index("label")
    assert t8.loc["Speed-based sampling (history=10)", "accuracy"] == 0.856
    assert t8.loc["(Liu et al., 2019) - modified", "f1"] == 0.851
    assert paper_results.paper_table("9").shape[0] == 3
    assert paper_results.paper_table("7").set_index("label").loc["Activation-100", "precision"] == 0.866
    assert paper_results.paper_table("6").set_index("label").loc["MUSER Acoustic Encoder", "f1"] == 0.80
    shown = sv.paper_display("8").set_index("Strategy")
    assert shown.loc["Speed-based sampling (history=10)", "Accuracy"].endswith(sv.BEST)
    assert shown.loc["Speed-based sampling (history=5)", "Recall"].endswith(sv.BEST)
    assert "MuSE" in paper_results.SOURCE and "not measured" in paper_results.SOURCE


def test_every_sweep_label_has_a_paper_row():
    from muser_core.sweep.grid import PAPER_TABLES

    for table, rows in PAPER_TABLES.items():
        assert {label for label, _ in rows} <= set(paper_results.labels(table))
        assert sv.detect_table([label for label, _ in rows]) == table or table == "9"


def test_log_tail_resolves_progress_bars(tmp_path):
    log = tmp_path / "train.log"
    log.write_text("start\n 10%|#   \r 50%|#####  \r100%|##########\nerror: bad thing\n")
    assert process.log_tail(log) == ["start", "100%|##########", "error: bad thing"]
    assert process.error_line(process.log_tail(log)) == "bad thing"



def test_log_tail_reads_only_the_end_of_a_log_that_grew_for_days(tmp_path):
    """A 50 MB log: the same last lines as the whole text gives, from this launch's byte on, read in bounded memory."""
    import tracemalloc

    log = tmp_path / "sweep.log"
    earlier = "".join(f"epoch {k} 10%|#  \r100%|#####\n" for k in range(1_500_000))
    log.write_text(earlier + "launch two\nrun 3/4 done\n")
    lines = earlier.count("\n")
    tracemalloc.start()
    try:
        tail = process.log_tail(log, lines=3)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert tail == ["100%|#####", "launch two", "run 3/4 done"] and lines == 1_500_000
    assert peak < 1_000_000, peak
    assert process.log_tail(log, start=len(earlier)) == ["launch two", "run 3/4 done"]

def test_combine_names_runs(runs_root):
    views = [rv.read_run(make_run(runs_root, n, epochs=3)) for n in ("a", "b")]
    table = rv.combine(views, lambda v: rv.probabilities_frame(v.records))
    assert set(table["run"]) == {"a", "b"}
    assert isinstance(figs.probability_figure(table, stacked=True).to_dict(), dict)
    assert all(isinstance(t, pd.DataFrame) for t in rv.metrics_summary(views[0]))
    assert sys.executable  # the launcher uses this interpreter


def test_latex_table_escapes_text_and_bolds_the_best_values():
    display = pd.DataFrame({"Strategy": ["Uniform sampling with activation & valence", "(Liu et al., 2019) - modified"],
                            "Accuracy": ["0.756 ± 0.010 ★", "0.700 ± 0.020"], "p (accuracy)": ["ref.", "0.05"],
                            "Seeds": [3, 3]})
    tex = latex_table(display, "Test-split stress, 100% of items_here")
    lines = tex.splitlines()
    assert lines[0] == r"% needs \usepackage{booktabs} in the preamble"
    assert lines[1] == r"\begin{table}[t]" and lines[-1] == r"\end{table}"
    assert r"\caption{Test-split stress, 100\% of items\_here}" in lines
    assert r"\begin{tabular}{lccc}" in lines
    assert r"Strategy & Accuracy & p (accuracy) & Seeds \\" in lines
    assert r"Uniform sampling with activation \& valence & \textbf{0.756 $\pm$ 0.010} & ref. & 3 \\" in lines
    assert r"(Liu et al., 2019) - modified & 0.700 $\pm$ 0.020 & 0.05 & 3 \\" in lines
    assert "★" not in tex and "±" not in tex


def test_a_latex_table_compiles_with_plain_pdflatex(tmp_path):
    """The page's caption says "★ best mean per column"; the file says "in bold" and is ASCII, so plain
    pdflatex (no inputenc, no symbol package) reads it; compiled when a TeX engine is installed."""
    import shutil
    import subprocess

    display = pd.DataFrame({"Strategy": ["Speed – history 5", "Büchel’s “ref.”"],
                            "Accuracy": ["0.756 ± 0.010 ★", "0.700 ± 0.020"]})
    caption = ("Test-split stress detection, mean ± sample sd over seeds 0, 1; ★ best mean per column; "
               "p: paired t-test against **ref** over the same seeds.")
    tex = latex_table(display, caption)
    tex.encode("ascii")  # raises on any byte pdflatex would stop on
    assert "best mean per column in bold;" in tex and r"Speed -- history 5" in tex
    assert r"\textbf{0.756 $\pm$ 0.010}" in tex and "Buchel's ``ref.''" in tex
    if shutil.which("pdflatex"):
        (tmp_path / "t.tex").write_text("\\documentclass{article}\n\\usepackage{booktabs}\n"
                                        "\\begin{document}\n" + tex + "\\end{document}\n")
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-2000:]


def test_identical_rows_on_one_seed_are_named_with_that_seed(runs_root):
    """Two rows coincide on seed 1 only (same accuracy there, uniform draws throughout): one line for seed 1."""
    from muser_core.sweep.grid import PAPER_TABLES, slug

    folder = runs_root / "sw"
    for i, label in ((0, PAPER_TABLES["8"][0][0]), (1, PAPER_TABLES["8"][1][0])):
        for seed in (0, 1, 2):
            make_run(folder, f"{slug(label)}-seed{seed}", strategy="uniform", tasks=("stress", "activation"),
                     epochs=6, seed=seed, test_accuracy=0.7 + 0.01 * seed + (0.05 * i if seed != 1 else 0.0))
    lines = sv.identical_rows(sv.sweep_runs(folder))
    assert lines == ["On seed 1, **Uniform sampling with activation** and **Uniform sampling with valence** have "
                     "identical test metrics: the runs drew as many batches of each task in every epoch up to the "
                     "best validation epoch (4), and kept the same checkpoint."]


def test_identical_metrics_with_different_draws_are_flagged_not_explained(runs_root):
    from muser_core.sweep.grid import PAPER_TABLES, slug

    folder = runs_root / "sw"
    for label, strategy in ((PAPER_TABLES["8"][2][0], "uniform"), (PAPER_TABLES["8"][4][0], "speed")):
        make_run(folder, f"{slug(label)}-seed0", strategy=strategy, history=2, epochs=8, seed=0, test_accuracy=0.7)
    [line] = sv.identical_rows(sv.sweep_runs(folder))
    assert "are identical on every seed: yet they drew different batches before their best epoch (6)" in line


def test_a_one_seed_sweep_says_why_its_p_values_are_missing(runs_root):
    """With one seed the p-value columns read '-', and a line gives the reason."""
    one = sv.sweep_runs(make_sweep(runs_root, seeds=(0,)))
    reference = one["label"].iloc[0]
    shown = sv.results_display(sv.summary_table(one, reference), reference)
    assert set(shown["p (accuracy)"]) == {"ref.", "-"}
    assert "needs at least two seeds" in sv.missing_p_reason(sv.summary_table(one, reference), reference)
    # Three seeds whose differences are the same every time (make_sweep's planted accuracies): undefined, and said.
    many = sv.sweep_runs(make_sweep(runs_root / "more"))
    assert "the same on every seed" in sv.missing_p_reason(sv.summary_table(many, reference), reference)


@pytest.mark.slow
def test_a_sweep_launched_again_with_other_settings_shows_its_refusal_not_the_old_results(tmp_path):
    """The Results page's path: a relaunch refused (runs of other settings) reads as failed with the line,
    not as the earlier call's finished sweep; with the page's overwrite choice it trains and finishes."""
    import time

    from conftest import synthetic_corpus

    corpus = tmp_path / "c.csv"
    synthetic_corpus(n_speakers=10, per_speaker=6).save(corpus)
    out = tmp_path / "sweep"

    def launch(epochs: int, overwrite: bool = False) -> dict:
        flags = ["--corpus", str(corpus), "--modality", "audio", "--max-epochs", str(epochs)]
        args = sv.sweep_arguments(None, [0], flags, 1, variants=[("single", "--strategy single")],
                                  overwrite=overwrite)
        process.launch_sweep(out, args, total=1)
        deadline = time.time() + 120
        while sv.sweep_state(out)["state"] in process.ACTIVE:
            assert time.time() < deadline, (out / process.SWEEP_LOG).read_text()[-2000:]
            time.sleep(0.1)
        return sv.sweep_state(out)

    assert launch(2)["state"] == "finished"
    refused = launch(3)
    assert refused["state"] == "failed" and "train.max_epochs 2 there, 3 asked" in refused["error"]
    again = launch(3, overwrite=True)
    assert again["state"] == "finished" and again["error"] is None

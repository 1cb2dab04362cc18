"""Train, Sampling dynamics and Results under Streamlit's AppTest: what they draw, and never a traceback."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, make_run
from streamlit.testing.v1 import AppTest
from transformers import AutoTokenizer

from muser_core.base.errors import InputError
from muser_core.config import TUNE_CANDIDATES, RunConfig
from muser_core.data.demo import load_demo
from muser_core.features.text_encoder import default_model_path
from muser_core.strategies import STRATEGIES
from muser_core.train import process
from muser_core.train import run_folder as rf

TRAIN = str(REPO / "pages" / "3_Train.py")
DYNAMICS = str(REPO / "pages" / "4_Sampling_dynamics.py")
RESULTS = str(REPO / "pages" / "5_Results.py")


@pytest.fixture
def runs_root(runs_root, tmp_path, monkeypatch) -> Path:
    # The shipped demo runs are left out, so a page never picks one that is being remade.
    monkeypatch.setattr("muser_core.train.process.SHIPPED_RUNS", tmp_path / "no-shipped-runs")
    return runs_root


def page(path: str, **state) -> AppTest:
    at = AppTest.from_file(path, default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def test_train_page_shows_a_run_with_progress_curves_and_test_metrics(runs_root):
    folder = make_run(runs_root, "speedy", epochs=10)
    at = page(TRAIN, **{"train-last": str(folder)})
    assert not at.exception and not at.error
    assert at.title[0].value == "Train"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Epoch"] == "10" and metrics["Strategy"] == "speed n=2"
    # The headline is the best epoch's validation accuracy (the checkpoint's), not the last epoch's.
    records = rf.read_metrics(folder)
    best = records[-1]["best_epoch"]
    assert metrics["Val. stress accuracy (best epoch)"] == f"{records[best]['val']['stress']['accuracy']:.3f}"
    assert metrics["Best epoch"] == str(best)
    assert "speedy" in texts(at.markdown) and "finished" in texts(at.markdown)
    assert len(at.get("plotly_chart")) == 2  # validation curves and task probabilities
    assert any("accuracy" in d.value.columns for d in at.dataframe)  # test metrics
    assert not [b for b in at.button if b.label == "Stop this run"]  # nothing to stop


def test_strategy_dropdown_reads_the_registry(runs_root):
    at = page(TRAIN)
    assert list(at.selectbox(key="train-strategy").options) == list(STRATEGIES)
    assert at.radio(key="train-text-mode").value == "frozen"


def test_finetune_time_estimate_is_measured_on_this_machine(runs_root):
    """No typed-in throughput: without a measurement the page offers to time a few batches ..."""
    at = page(TRAIN)
    at.radio(key="train-text-mode").set_value("finetune").run()
    assert "Time a few batches" in texts(at.warning) and at.button(key="train-time")
    assert "per epoch" not in texts(at.info)
    # ... and with a run of this kind measured here, it says the time per epoch from that run's speed.
    folder = make_run(runs_root, "measured", epochs=2)
    cfg = RunConfig.from_json(folder / rf.CONFIG)
    cfg.model.text_mode = "finetune"
    rf.write_json(folder / rf.CONFIG, cfg.resolved().to_dict())
    rf.write_json(folder / rf.STATUS, {**rf.read_json(folder / rf.STATUS), **rf.process_identity(),
                                           "samples_per_s": 5.0})
    at.run()
    estimate = texts(at.info)
    assert "Measured on this machine by your run `measured`" in estimate and "at 5.0/s" in estimate
    # A full fine-tuning run's speed is not offered for training the top layer only (several x faster).
    at.number_input(key="train-finetune-layers").set_value(1).run()
    assert "Measured on this machine by your run `measured`" not in texts(at.info)


    assert "Measured on this machine by your run `measured`" in estimate and "at 5.0/s" in estimate


def test_the_speed_hint_says_when_its_figure_is_a_shipped_demo_runs(runs_root, tmp_path, monkeypatch):
    """Before any run of the user's, the hint says its speed is a shipped demo run's, not measured here."""
    shipped = tmp_path / "shipped"
    folder = make_run(shipped, "demo-speed", epochs=2)
    rf.write_json(folder / rf.STATUS, {**rf.read_json(folder / rf.STATUS), **rf.process_identity(),
                                       "samples_per_s": 7.0})
    monkeypatch.setattr("muser_core.train.process.SHIPPED_RUNS", shipped)
    estimate = texts(page(TRAIN).info)
    assert "Measured by the shipped demo run `demo-speed` when it was made" in estimate
    assert "not by a run of yours" in estimate and "at 7.0/s" in estimate
    assert "Measured on this machine" not in estimate


@pytest.mark.parametrize("name, message", [("../outside", "letters, digits"), ("my run!", "letters, digits")])
def test_a_bad_run_name_is_refused_beside_its_field(runs_root, name, message):
    at = page(TRAIN)
    at.text_input(key="train-name").set_value(name).run()
    assert not at.exception
    assert message in texts(at.error)
    assert at.button(key="train-launch").disabled
    assert not (runs_root.parent / "outside").exists() and not list(runs_root.iterdir())


def test_bad_seeds_are_said_beside_the_field_and_keep_the_page(runs_root):
    """The reported defect: seeds 'abc' hid the Launch button and two sections, with no message."""
    at = page(TRAIN)
    at.text_input(key="train-seeds").set_value("abc").run()
    assert not at.exception
    assert "seeds 'abc'" in texts(at.error)
    assert at.button(key="train-launch").disabled
    assert {"Runs going now", "Watch or open a run"} <= {h.value for h in at.subheader}


def test_picker_labels_carry_no_state_that_could_go_stale(runs_root):
    make_run(runs_root, "done")
    at = page(TRAIN)
    assert at.selectbox(key="train-watch").format_func(str(runs_root / "done")) == "done"


def test_a_finished_runs_test_metrics_show_each_tasks_own_metrics_and_no_none(runs_root):
    make_run(runs_root, "done")
    at = page(TRAIN)
    at.selectbox(key="train-watch").set_value(str(runs_root / "done")).run()
    assert not at.exception
    tables = [t.value for t in at.dataframe if "task" in t.value.columns]
    assert [list(t.columns) for t in tables] == [["task", "accuracy", "precision", "recall", "f1"],
                                                 ["task", "rmse", "ccc"]]
    assert [list(t["task"]) for t in tables] == [["stress"], ["activation"]]
    assert not any(t.isna().to_numpy().any() for t in tables)


def test_a_folder_that_is_not_a_run_is_one_line(runs_root, tmp_path):
    (tmp_path / "junk").mkdir()
    at = page(TRAIN)
    at.selectbox(key="train-watch").set_value("Another run folder…").run()  # the FOLDER option
    at.text_input(key="train-watch-path").set_value(str(tmp_path / "junk")).run()
    assert not at.exception
    assert "not a run folder" in texts(at.error)


def test_crashed_and_half_written_runs_say_so(runs_root):
    folder = make_run(runs_root, "crashed", state="failed", epochs=4)
    status = json.loads((folder / rf.STATUS).read_text())
    rf.write_json(folder / rf.STATUS, {**status, "error": "RuntimeError: boom", "best_epoch": 3})
    with open(folder / rf.METRICS, "a") as handle:
        handle.write('{"epoch": 5, "val')
    at = page(TRAIN, **{"train-last": str(folder)})
    assert not at.exception
    error = texts(at.error)
    assert "RuntimeError: boom" in error and "Last good epoch: 4" in error and "epoch 3" in error
    assert "half written" in texts(at.warning)


def test_sampling_dynamics_compares_runs_and_explains_eq1(runs_root):
    speed = make_run(runs_root, "sp", "speed", epochs=10)
    uniform = make_run(runs_root, "un", "uniform", epochs=10)
    at = AppTest.from_file(DYNAMICS, default_timeout=60).run()
    at.multiselect(key="dyn-runs").set_value([str(speed), str(uniform)]).run()
    assert not at.exception and not at.error
    heads = texts(at.subheader)
    for head in ("Task probabilities per epoch", "Batches per task", "Validation curves", "equation 1"):
        assert head in heads
    step = at.dataframe[-1].value
    assert {"ratio", "ratio_over_rho", "probability", "recorded"} <= set(step.columns)
    assert (step["probability"] - step["recorded"]).abs().max() < 1e-9
    assert {str(speed.name), str(uniform.name)} <= set(at.dataframe[0].value["run"])
    at.radio(key="dyn-style").set_value("stacked area").run()
    assert not at.exception


def test_results_page_shows_sweep_beside_the_papers_labelled_numbers(runs_root):
    from muser_core.sweep.grid import PAPER_TABLES, slug

    sweep = runs_root / "t8"
    for i, (label, _) in enumerate(PAPER_TABLES["8"][:2]):
        for seed in (0, 1, 2):
            make_run(sweep, f"{slug(label)}-seed{seed}", "uniform", epochs=2, seed=seed,
                     test_accuracy=0.7 + 0.05 * i + 0.01 * seed)
    at = AppTest.from_file(RESULTS, default_timeout=60)
    at.session_state["sweep-last"] = str(sweep)
    at.run()
    assert not at.exception and not at.error
    ours, paper = at.dataframe[0].value, at.dataframe[1].value
    assert ours["Accuracy"].str.contains("★").sum() == 1 and "ref." in set(ours["p (accuracy)"])
    assert "Speed-based sampling (history=10)" in set(paper["Strategy"])
    assert "Reported by the MUSER paper on MuSE" in texts(at.caption)
    assert "Table 8" in texts(at.markdown)


def test_results_page_without_sweeps_offers_the_launcher(runs_root):
    at = AppTest.from_file(RESULTS, default_timeout=60).run()
    assert not at.exception
    assert "No sweep yet" in texts(at.info)
    assert at.selectbox(key="sweep-table").value == "8"


def test_a_running_run_polls_and_offers_stop(runs_root):
    folder = make_run(runs_root, "live", state="running", epochs=3)
    with rf.RunLock(folder):  # alive = its lock is held
        rf.write_status(folder, "running", epochs_done=3, best_epoch=3)
        at = page(TRAIN, **{"train-last": str(folder)})
        assert not at.exception
        assert [b for b in at.button if b.label == "Stop this run"]
        assert "live" in set(at.dataframe[0].value["name"])  # the "going now" table
    at.run()
    assert "live` — killed" in texts(at.markdown)  # the lock is gone: no process writes it any more


def _wait_for(predicate, timeout: float = 120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError("timed out")


@pytest.mark.slow
def test_results_page_launches_a_sweep_and_shows_its_table(runs_root):
    """Table 6 (text vs audio), two seeds, three epochs: the sweep runs in its own process."""
    from analysis import sweep_views as sv

    pytest.importorskip("muser_core.data.demo")
    at = page(RESULTS)
    at.selectbox(key="sweep-table").set_value("6").run()
    at.text_input(key="sweep-seeds").set_value("0,1")
    at.number_input(key="sweep-max-epochs").set_value(3)
    at.number_input(key="sweep-patience").set_value(3)
    at.text_input(key="sweep-name-6").set_value("t6")
    at.button(key="sweep-launch").click().run()
    assert not at.exception and not at.error
    _wait_for(lambda: sv.sweep_state(runs_root / "t6")["state"] not in process.ACTIVE)
    at.run()
    assert not at.exception and not at.error
    ours, paper = at.dataframe[0].value, at.dataframe[1].value
    assert list(ours["Strategy"]) == ["MUSER Textual Encoder", "MUSER Acoustic Encoder"]
    assert set(ours["Seeds"]) == {2} and ours["Accuracy"].str.contains("★").sum() == 1
    assert "MLP+LIWC (Jaiswal et al., 2020)" in set(paper["Strategy"])
    assert "Table 6" in texts(at.markdown)


@pytest.mark.slow
def test_train_page_trains_on_a_muse_copy(runs_root, muse_root):
    """A MuSE-shaped folder becomes a canonical CSV in the runs folder and the run starts from it."""
    from analysis import run_views as rv

    at = page(TRAIN)
    at.radio(key="train-corpus").set_value("MuSE copy on this machine").run()
    at.text_input(key="train-muse").set_value(str(muse_root)).run()
    at.selectbox(key="train-modality").set_value("text").run()
    at.selectbox(key="train-strategy").set_value("single").run()
    at.text_input(key="train-name").set_value("on-muse")
    at.number_input(key="train-max-epochs").set_value(2)
    at.button(key="train-launch").click().run()
    assert not at.exception and not at.error
    folder = runs_root / "on-muse"
    assert (folder / rf.LAUNCH).is_file()
    csv = list((runs_root / ".corpora").glob("muse-*.csv"))
    assert len(csv) == 1
    _wait_for(lambda: rv.read_run(folder).state not in process.ACTIVE)
    view = rv.read_run(folder)
    assert view.state == "finished", (view.error, view.log)
    assert view.config.data.corpus == str(csv[0]) and view.test["metrics"]["stress"]


@pytest.mark.slow
def test_stop_from_the_page_says_stopping_then_stopped(runs_root):
    """Stop gives feedback at once and the run ends after its batch, resumable."""
    pytest.importorskip("muser_core.data.demo")
    at = page(TRAIN)
    at.selectbox(key="train-strategy").set_value("uniform").run()
    at.number_input(key="train-max-epochs").set_value(5000)
    at.number_input(key="train-patience").set_value(5000)
    at.text_input(key="train-name").set_value("stop-me").run()
    at.button(key="train-launch").click().run()
    assert not at.exception and not at.error
    folder = runs_root / "stop-me"
    _wait_for(lambda: len(rf.read_metrics(folder)) >= 3)
    at.run()
    [stop] = [b for b in at.button if b.label == "Stop this run"]
    stop.click().run()
    assert not at.exception
    assert "Stopping" in texts(at.info) or "stop-me` — stopped" in texts(at.markdown)
    _wait_for(lambda: process.run_state(folder)["state"] == "stopped", timeout=60)
    at.run()
    assert "stop-me` — stopped" in texts(at.markdown)
    assert [b for b in at.button if b.label == "Resume this run"]


# --------------------------------------------------------------------------- Results page


def _table8_sweep(root: Path, rows: dict[int, tuple[str, int, float]], seeds=(0, 1, 2), epochs: int = 8) -> Path:
    """Rows of Table 8 by index -> (strategy, history, test accuracy); best epoch epochs - 2 on every seed."""
    from muser_core.sweep.grid import PAPER_TABLES, slug

    sweep = root / "t8"
    for i, (strategy, history, accuracy) in rows.items():
        label = PAPER_TABLES["8"][i][0]
        for seed in seeds:
            make_run(sweep, f"{slug(label)}-seed{seed}", strategy, epochs=epochs, history=history, seed=seed,
                     test_accuracy=accuracy + 0.01 * seed)
    return sweep


def _results_page(sweep: Path) -> AppTest:
    at = AppTest.from_file(RESULTS, default_timeout=60)
    at.session_state["sweep-last"] = str(sweep)
    return at.run()


def test_results_page_says_why_two_rows_are_identical(runs_root):
    """The reported case: uniform with activation & valence equals speed-based n=10 when the best epoch (6
    here) falls in the 10-epoch warm-up. Speed-based n=5 differs, and gets no line."""
    sweep = _table8_sweep(runs_root, {2: ("uniform", 2, 0.75), 4: ("speed", 5, 0.78), 5: ("speed", 10, 0.75)})
    at = _results_page(sweep)
    assert not at.exception and not at.error
    notes = [i.value for i in at.info if "identical" in i.value]
    assert notes == ["**Uniform sampling with activation & valence** and **Speed-based sampling (history=10)** "
                     "are identical on every seed: the best validation epoch (6, 6, 6 on seeds 0, 1, 2) fell inside "
                     "the 10-epoch uniform warm-up of the speed-based sampling, which draws tasks as uniform "
                     "sampling does, from the same seeded generator, so the runs kept the same checkpoint."]


def test_results_page_explains_no_identity_that_is_not_there(runs_root):
    sweep = _table8_sweep(runs_root, {2: ("uniform", 2, 0.75), 5: ("speed", 10, 0.76)})
    at = _results_page(sweep)
    assert not at.exception and not [i for i in at.info if "identical" in i.value]


def test_results_page_captions_mention_only_what_it_draws(runs_root):
    """The synthetic-data caption spoke of curves; the Results page has tables and a strip plot."""
    sweep = _table8_sweep(runs_root, {2: ("uniform", 2, 0.75), 4: ("speed", 5, 0.78)})
    at = _results_page(sweep)
    assert not at.exception
    captions = texts(at.caption)
    assert "synthetic demo corpus" in captions
    assert "curve" not in (captions + texts(at.markdown) + texts(at.info)).lower()


def test_results_page_offers_each_table_as_csv_and_latex(runs_root):
    sweep = _table8_sweep(runs_root, {2: ("uniform", 2, 0.75), 4: ("speed", 5, 0.78)})
    at = _results_page(sweep)
    assert not at.exception
    buttons = {b.key: b.label for b in at.get("download_button")}
    assert buttons == {"res-ours-csv": "CSV", "res-ours-tex": "LaTeX", "res-paper-csv": "CSV",
                       "res-paper-tex": "LaTeX"}


def test_results_page_draws_every_seed_as_a_strip(runs_root):
    sweep = _table8_sweep(runs_root, {2: ("uniform", 2, 0.75), 4: ("speed", 5, 0.78)})
    at = _results_page(sweep)
    assert not at.exception
    import plotly.io

    [chart] = at.get("plotly_chart")
    figure = plotly.io.from_json(chart.proto.spec)
    seeds = [t for t in figure.data if t.name.startswith("seed")]
    assert [t.name for t in seeds] == ["seed 0", "seed 1", "seed 2"]
    assert sorted(x for t in seeds for x in t.x) == pytest.approx([0.75, 0.76, 0.77, 0.78, 0.79, 0.80])
    at.radio(key="res-strip-metric").set_value("f1").run()
    assert not at.exception
    assert "f-score" in plotly.io.from_json(at.get("plotly_chart")[0].proto.spec).layout.xaxis.title.text


def test_results_launcher_offers_the_executors_from_the_registry(runs_root):
    from muser_core.sweep.executors import EXECUTORS

    at = page(RESULTS)
    assert list(at.selectbox(key="sweep-executor").options) == list(EXECUTORS)
    assert EXECUTORS["local"].summary in [c.value for c in at.caption]
    assert not [t for t in at.text_input if t.key == "sweep-ray-address"]
    at.selectbox(key="sweep-executor").set_value("ray").run()
    assert not at.exception and at.text_input(key="sweep-ray-address").value == ""


def test_results_progress_counts_done_running_queued_and_names_the_executor(runs_root):
    """A sweep of 4 runs on Ray: one finished, one running (its folder's lock held), two queued."""
    from analysis import sweep_views as sv

    sweep = _table8_sweep(runs_root, {2: ("uniform", 2, 0.75)}, seeds=(0,))
    rf.write_json(sweep / "plan.json", {"total": 4, "executor": "ray"})
    running = make_run(sweep, "speed-based-sampling-history-5-seed0", "speed", state="running", epochs=2)
    with rf.RunLock(sweep), rf.RunLock(running):
        state = sv.sweep_state(sweep)
        assert (state["done"], state["running"], state["queued"], state["executor"]) == (1, 1, 2, "ray")
        at = _results_page(sweep)
        assert not at.exception
        assert "1 of 4 runs done, 1 running, 2 queued · running · executor ray" in at.get("progress")[0].proto.text


def test_a_sweep_whose_first_run_is_being_created_shows_no_error_and_says_what_each_row_learnt(runs_root):
    """Right after Launch the first row's folder exists but is empty: that run is starting, not an error;
    and the line saying what the runs learnt covers every row, not the first row's run only."""
    from muser_core.sweep.grid import PAPER_TABLES, slug

    sweep = runs_root / "t8"
    (sweep / f"{slug(PAPER_TABLES['8'][0][0])}-seed0").mkdir(parents=True)  # being created
    demo = {"datasets": {"main": {"name": "demo", "synthetic": True}}}
    for i, tasks in ((1, ("stress",)), (2, ("stress", "activation", "valence"))):
        run = make_run(sweep, f"{slug(PAPER_TABLES['8'][i][0])}-seed0", "uniform", tasks=tasks)
        rf.write_json(run / rf.DATA, demo)
    rf.write_json(sweep / "plan.json", {"total": 3, "executor": "local"})
    at = _results_page(sweep)
    assert not at.exception and not at.error
    captions = [c.value for c in at.caption]
    assert any(f"**{PAPER_TABLES['8'][1][0]}** — Learnt: stress from demo" in c for c in captions), captions
    assert any(f"**{PAPER_TABLES['8'][2][0]}** — Learnt: stress, activation, valence from demo" in c
               for c in captions), captions


def test_results_page_draws_a_reliability_diagram_of_the_calibrated_runs_pooled_over_seeds(runs_root):
    import plotly

    from analysis import sweep_views as sv

    sweep = _table8_sweep(runs_root, {2: ("uniform", 2, 0.75)}, seeds=(0, 1))
    for seed, (hits, n) in enumerate(((8, 10), (5, 10))):
        run = next(sweep.glob(f"*-seed{seed}"))
        record = rf.read_json(run / rf.TEST)
        record["calibration"] = {"stress": {"temperature": 1.5, "reliability": {
            "lower": [0.9], "upper": [0.9333], "items": [n], "confidence": [0.91 + 0.01 * seed],
            "accuracy": [hits / n]}}}
        rf.write_json(run / rf.TEST, record)
    rows = sv.reliability_rows(sv.sweep_runs(sweep))
    assert list(rows["items"]) == [20]
    assert rows["accuracy"].iloc[0] == pytest.approx(13 / 20) and rows["confidence"].iloc[0] == pytest.approx(0.915)
    at = _results_page(sweep)
    assert not at.exception
    figures = [plotly.io.from_json(c.proto.spec) for c in at.get("plotly_chart")]
    diagram = next(f for f in figures if f.data and f.data[0].name == "perfectly calibrated")
    assert list(diagram.data[1].y) == pytest.approx([0.65])


def test_a_stopped_sweep_counts_stopped_and_never_started_runs_apart_from_done(runs_root):
    """Six planned runs, one finished, two stopped by the sweep's stop, three never started."""
    from analysis import sweep_views as sv

    sweep = _table8_sweep(runs_root, {2: ("uniform", 2, 0.75)}, seeds=(0,))
    rf.write_json(sweep / "plan.json", {"total": 6, "executor": "local"})
    rf.write_json(sweep / rf.LAUNCH, {"pid": 999_999_999, "started": 1.0, "stop_requested": 2.0, "total": 6})
    for name in ("speed-based-sampling-history-5-seed0", "uniform-sampling-seed1"):
        make_run(sweep, name, "speed", state="stopped", epochs=2)
    state = sv.sweep_state(sweep)
    assert state["state"] == "stopped"
    assert (state["done"], state["stopped"], state["not started"], state["queued"]) == (1, 2, 3, 0)
    at = _results_page(sweep)
    assert not at.exception
    assert "1 of 6 runs done, 2 stopped, 3 not started · stopped · executor local" in at.get("progress")[0].proto.text


@pytest.mark.slow
def test_a_ray_sweep_from_the_page_shows_progress_and_its_stop_leaves_no_ray_process(runs_root):
    """Launched with the ray executor (a Ray instance on 127.0.0.1 in the sweep's process), stopped with the
    page's button: the runs stop after a batch, resumable, and every process the sweep started is gone."""
    import psutil

    from analysis import sweep_views as sv

    pytest.importorskip("ray")
    pytest.importorskip("muser_core.data.demo")
    at = page(RESULTS)
    at.selectbox(key="sweep-table").set_value("6").run()
    at.selectbox(key="sweep-executor").set_value("ray").run()
    at.text_input(key="sweep-seeds").set_value("0")
    at.number_input(key="sweep-workers").set_value(2)
    at.number_input(key="sweep-max-epochs").set_value(5000)
    at.number_input(key="sweep-patience").set_value(5000)
    at.text_input(key="sweep-name-6").set_value("on-ray")
    at.button(key="sweep-launch").click().run()
    assert not at.exception and not at.error
    folder = runs_root / "on-ray"
    sweep = psutil.Process(rf.read_json(folder / rf.LAUNCH)["pid"])
    subs = [folder / "muser-textual-encoder-seed0", folder / "muser-acoustic-encoder-seed0"]
    _wait_for(lambda: all(len(rf.read_metrics(sub)) >= 2 for sub in subs), timeout=180)
    started = sweep.children(recursive=True)
    assert any("raylet" in " ".join(p.cmdline()) for p in started)
    at.run()
    assert "0 of 2 runs done, 2 running · running · executor ray" in at.get("progress")[0].proto.text
    [stop] = [b for b in at.button if b.label == "Stop the sweep"]
    stop.click().run()
    assert not at.exception
    _wait_for(lambda: sv.sweep_state(folder)["state"] not in process.ACTIVE, timeout=120)
    assert sv.sweep_state(folder)["state"] == "stopped"
    for sub in subs:
        assert process.run_state(sub)["state"] == "stopped" and (sub / rf.RESUME).is_file()
    _, alive = psutil.wait_procs([sweep, *started], timeout=30)
    assert not alive, [" ".join(p.cmdline())[:80] for p in alive]


def test_paper_settings_switch_sets_the_form_and_lists_what_still_differs(runs_root):
    from muser_core.config import PAPER_DEVIATIONS

    at = page(TRAIN)
    at.toggle(key="train-paper").set_value(True).run()
    assert not at.exception
    assert at.radio(key="train-text-mode").value == "finetune"
    assert at.selectbox(key="train-split").value == "paper"
    shown = at.table[0].value
    assert list(shown["what"]) == [what for what, _, _ in PAPER_DEVIATIONS]
    command = "\n".join(c.value for c in at.code)
    assert "--split paper" in command and "--text-mode finetune" in command


def test_finetune_layers_control_reaches_the_command_and_paper_settings_reset_it(runs_root):
    """One control, shown for fine-tuning only; the command preview carries it; the paper trains all."""
    at = page(TRAIN)
    assert not [n for n in at.number_input if n.key == "train-finetune-layers"]
    at.radio(key="train-text-mode").set_value("finetune").run()
    at.number_input(key="train-finetune-layers").set_value(2).run()
    assert not at.exception and not at.error
    assert "--finetune-layers 2" in "\n".join(c.value for c in at.code)
    at.number_input(key="train-finetune-layers").set_value(6).run()  # MiniLM has 6 layers: said on the form
    assert not at.exception and "this model has 6 layers, so give 1 to 5" in texts(at.error)
    at.toggle(key="train-paper").set_value(True).run()
    assert at.number_input(key="train-finetune-layers").value == 0
    assert "--finetune-layers" not in "\n".join(c.value for c in at.code)


def test_the_paper_switch_makes_streamlit_warn_about_no_widget(runs_root):
    """A widget given a default and a Session State value logs a Streamlit warning (server log) and ignores
    the default; the widgets the switch sets take their value from Session State only."""
    import logging

    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    logger, handler = logging.getLogger("streamlit.elements.lib.policies"), Collect(logging.WARNING)
    logger.addHandler(handler)
    try:
        at = page(TRAIN)
        at.toggle(key="train-paper").set_value(True).run()
        at.toggle(key="train-paper").set_value(False).run()
        at.toggle(key="train-paper").set_value(True).run()
    finally:
        logger.removeHandler(handler)
    assert not at.exception
    assert [m for m in seen if "Session State" in m] == []
    assert at.radio(key="train-text-mode").value == "finetune"


def test_turning_paper_settings_off_restores_what_was_there(runs_root):
    """Paper settings off puts back what was there: not fine-tune, the paper split, its command or the
    slow-fine-tuning warning."""
    at = page(TRAIN)
    at.selectbox(key="train-split").set_value("speaker").run()
    at.number_input(key="train-max-epochs").set_value(60).run()
    at.toggle(key="train-paper").set_value(True).run()
    assert at.selectbox(key="train-split").value == "paper"
    at.toggle(key="train-paper").set_value(False).run()
    assert not at.exception and not at.error
    assert at.radio(key="train-text-mode").value == "frozen"
    assert at.selectbox(key="train-split").value == "speaker" and at.number_input(key="train-max-epochs").value == 60
    command = "\n".join(c.value for c in at.code)
    assert "--text-mode finetune" not in command and "--split speaker" in command and "--max-epochs 60" in command
    assert not any("Fine-tuning the Transformer on a CPU is slow" in w.value for w in at.warning)


def test_no_task_chosen_is_refused_beside_the_field(runs_root):
    """With no task Launch is disabled, rather than a run silently training all three."""
    at = page(TRAIN)
    tasks = next(m for m in at.multiselect if m.label == "Tasks")
    tasks.set_value([]).run()
    assert [e.value for e in at.error] == ["choose at least one task (stress is the main task)"]
    assert at.button(key="train-launch").disabled


def test_results_page_shows_the_history_chosen_on_validation(runs_root):
    """--select-history sweeps: the speed row keeps the n with the best mean validation score (paper 5.1)."""
    sweep = runs_root / "sel"
    val = {}
    for n in (1, 5):
        for seed in (0, 1):
            folder = make_run(sweep, f"speed--n{n}-seed{seed}", "speed", history=2, epochs=6, seed=seed + 10 * n,
                              test_accuracy=0.6 + 0.1 * (n == 5))
            status = rf.read_json(folder / rf.STATUS)
            records = rf.read_metrics(folder)
            val[(n, seed)] = next(r["val"]["stress"]["accuracy"] for r in records if r["epoch"] == status["best_epoch"])
    means = {n: (val[(n, 0)] + val[(n, 1)]) / 2 for n in (1, 5)}
    chosen = max(means, key=lambda n: (means[n], -n))
    at = AppTest.from_file(RESULTS, default_timeout=60)
    at.session_state["sweep-last"] = str(sweep)
    at.run()
    assert not at.exception
    assert f"history n = {chosen} chosen on validation" in texts(at.info)
    ours = at.dataframe[0].value.set_index("Strategy")
    expected = 0.6 + 0.1 * (chosen == 5)
    assert ours.iloc[0]["Accuracy"].startswith(f"{expected:.3f}")


def test_sampling_dynamics_says_each_error_once(runs_root, tmp_path):
    """The reported defect: each error was shown twice (once outside the live view, once inside)."""
    speed = make_run(runs_root, "sp", "speed", epochs=6)
    (tmp_path / "junk").mkdir()
    at = AppTest.from_file(DYNAMICS, default_timeout=60).run()
    at.multiselect(key="dyn-runs").set_value([str(speed)]).run()
    at.text_input(key="dyn-runs-path").set_value(str(tmp_path / "junk")).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "not a run folder" in errors[0]


@pytest.mark.slow
def test_train_page_runs_the_external_setting_on_dreaddit_and_emobank(runs_root, tmp_path, monkeypatch):
    """Stress from Dreaddit, activation and valence from the shipped EmoBank, text only, from the page."""
    from conftest import write_dreaddit

    from analysis import run_views as rv

    dreaddit = write_dreaddit(tmp_path / "Dreaddit")
    monkeypatch.setenv("MUSER_DREADDIT_ROOT", str(dreaddit))
    at = page(TRAIN)
    at.radio(key="train-corpus").set_value("Dreaddit copy on this machine").run()
    at.radio(key="train-external").set_value("EmoBank (real emotion ratings, text)").run()
    assert not at.exception
    # Dreaddit is text only: the default modality (both) is refused beside the field, in one line.
    assert [e.value for e in at.error] == ["Dreaddit copy has no audio: choose Modality = text"]
    at.selectbox(key="train-modality").set_value("text").run()
    assert not at.error
    tasks = next(m for m in at.multiselect if m.label == "Tasks")
    # Dreaddit has stress only; EmoBank gives the external emotion tasks.
    assert list(tasks.options) == ["stress", "ext_activation", "ext_valence"]
    assert tasks.value == ["stress", "ext_activation", "ext_valence"]     # speed mixes every task
    command = "\n".join(c.value for c in at.code)
    assert f"--corpus dreaddit:{dreaddit}" in command and "--external emobank" in command
    at.text_input(key="train-name").set_value("dreaddit-emobank")
    at.number_input(key="train-max-epochs").set_value(2)
    at.button(key="train-launch").click().run()
    assert not at.exception and not at.error
    folder = runs_root / "dreaddit-emobank"
    _wait_for(lambda: rv.read_run(folder).state not in process.ACTIVE, timeout=600)
    view = rv.read_run(folder)
    assert view.state == "finished", (view.error, view.log)
    assert view.config.data.external == "emobank" and view.config.model.modality == "text"
    assert set(view.test["metrics"]) == {"stress", "ext_activation", "ext_valence"}


def test_the_shipped_emobank_run_and_sweep_show_what_learnt_from_real_ratings(tmp_path, monkeypatch):
    """Out of the box, Sampling dynamics and Results show runs whose emotion tasks learnt from EmoBank."""
    monkeypatch.setenv("MUSER_RUNS_DIR", str(tmp_path / "runs"))   # an empty runs folder: only the shipped ones
    run = process.SHIPPED_RUNS / "demo-text-speed-emobank"
    at = page(DYNAMICS)
    at.multiselect(key="dyn-runs").set_value([str(run)]).run()
    assert not at.exception and not at.error
    captions = texts(at.caption)
    assert "ext_activation, ext_valence from EmoBank (**real labels**, CC BY-SA 4.0" in captions
    assert "stress from demo (**synthetic**)" in captions
    sweep = process.SHIPPED_RUNS / "demo-sweep-emobank"
    at = page(RESULTS)
    at.selectbox(key="res-sweep").set_value(str(sweep)).run()
    assert not at.exception and not at.error
    assert "from EmoBank (**real labels**" in texts(at.caption)
    table = next(d.value for d in at.dataframe if "Strategy" in d.value.columns)
    assert len(table) == 3   # the three Table 9 strategies


def test_a_text_only_external_set_joins_a_model_that_hears_the_corpus(runs_root):
    """The demo corpus has audio: EmoBank may be its external set in a both-modality run (text-side heads)."""
    at = page(TRAIN)
    at.radio(key="train-external").set_value("EmoBank (real emotion ratings, text)").run()
    assert not at.exception and not at.error and not at.button(key="train-launch").disabled
    assert "its tasks learn from the text side only" in texts(at.caption)
    at.selectbox(key="train-modality").set_value("audio").run()
    assert [e.value for e in at.error] == ["EmoBank (real emotion ratings, shipped) has no audio: choose Modality = "
                                           "text or both"]


def test_the_form_says_before_launch_how_many_texts_the_max_length_cuts(runs_root):
    """The page says before launch how many texts are cut at 128 tokens."""
    at = page(TRAIN, **{"train-max-epochs": 3})
    assert not at.exception
    notes = [c.value for c in [*at.caption, *at.warning] if "longer than max length" in str(c.value)]
    assert len(notes) == 1, notes
    texts_ = [t for t in load_demo().table["text"] if t]
    tokenizer = AutoTokenizer.from_pretrained(str(default_model_path()))   # the independent count
    cut = sum(len(tokenizer(t)["input_ids"]) > 128 for t in texts_)
    assert f"{cut:,} of {len(texts_):,} texts" in notes[0] and "max length 128 tokens" in notes[0]


def test_a_study_whose_validation_split_has_no_labels_is_refused_before_launch(runs_root, studies):
    """On a recorded study whose validation split holds no labelled items Launch is refused, rather than the
    run failing: the form checks the data's splits as the run does, beside the field."""
    from conftest import TwoSentences, small_study

    from muser_core.study.process import process_study
    from muser_core.train.data import check_data, load_corpus
    from ui.common import STUDY_LABEL

    study = small_study(studies, sessions_per_condition=2)   # one person, 2 sessions a condition: no validation
    process_study(study, TwoSentences())
    at = page(TRAIN)
    at.radio(key="train-corpus").set_value(STUDY_LABEL).run()
    at.selectbox(key="train-modality").set_value("text").run()
    at.selectbox(key="train-split").set_value("table").run()
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert "the validation split of corpus" in error and "has no labelled items" in error
    assert "record more sessions" in error
    assert at.button(key="train-launch").disabled
    # The same verdict as the library's, on the copy the run would read (an independent load of it).
    copy = next((runs_root / ".corpora").glob("study-*.csv"))
    assert not (load_corpus(str(copy), "table").table["split"] == "validation").any()
    cfg = RunConfig()
    tasks = next(m for m in at.multiselect if m.label == "Tasks").value
    with pytest.raises(InputError) as refused:
        check_data(replace(cfg, data=replace(cfg.data, corpus=str(copy), split="table", tasks=tasks)))
    assert error.startswith(str(refused.value))


def test_sampling_dynamics_with_forty_runs_draws_the_first_twelve_and_names_the_eq1_run(runs_root):
    """"Select all" on 40+ runs draws the first few unless all are asked for (40 panels a chart are unreadable
    and take 25 s); the eq. 1 table says which run it explains."""
    from ui.runs import MAX_SHOWN

    paths = [str(make_run(runs_root / "many", f"speed-seed{i}", "speed", epochs=5, seed=i)) for i in range(40)]
    at = AppTest.from_file(DYNAMICS, default_timeout=120).run()
    at.multiselect(key="dyn-runs").set_value(paths).run()
    assert not at.exception and not at.error
    assert any(f"40 runs chosen: the charts show the first {MAX_SHOWN}" in i.value for i in at.info)
    assert len(at.dataframe[0].value) == MAX_SHOWN
    assert any("Equation 1 for run **speed-seed0**" in m.value for m in at.markdown)
    at.toggle(key="dyn-all").set_value(True).run()
    assert not at.exception and len(at.dataframe[0].value) == 40


def test_a_sweep_under_an_existing_name_is_refused_or_continued(runs_root):
    """A sweep launched under an existing name is never re-run silently (Train refuses duplicates). A finished
    sweep's name is refused beside the field; a stopped one of the same table and seeds is continued, as said."""
    sweep = _table8_sweep(runs_root, {2: ("uniform", 2, 0.75), 4: ("speed", 5, 0.78)})
    (sweep / "results.csv").write_text("label,seed\n")
    at = page(RESULTS)
    at.selectbox(key="sweep-table").set_value("8").run()
    at.text_input(key="sweep-name-8").set_value("t8").run()
    assert not at.exception
    assert [e.value for e in at.error] == ["a sweep named 't8' already exists (finished): choose another name, "
                                           "or open it below"]
    assert at.button(key="sweep-launch").disabled
    (sweep / "results.csv").unlink()
    rf.write_json(sweep / rf.LAUNCH, {"kind": "sweep", "pid": 1, "process_started": 0.0, "host": "elsewhere",
                                      "started": 1.0, "stop_requested": 2.0, "table": "8", "seeds": [0, 1]})
    at.text_input(key="sweep-seeds").set_value("0,1").run()
    assert not at.error and not at.button(key="sweep-launch").disabled
    assert any("Launch continues it" in c.value for c in at.caption)
    at.text_input(key="sweep-seeds").set_value("0,1,2").run()
    assert "the same table and seeds to continue it" in texts(at.error) and at.button(key="sweep-launch").disabled


def test_a_page_error_does_not_speak_of_command_line_flags(runs_root):
    """Error texts on a page do not speak of flags ("--speaker ''", "--phases", "--tasks")."""
    at = page(TRAIN)
    at.selectbox(key="train-strategy").set_value("pretrain").run()
    at.text_input(key="train-phases").set_value("").run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert errors and all("--" not in e for e in errors) and any("phases" in e for e in errors)


def test_a_runs_folder_copied_elsewhere_opens_on_results_and_sampling_dynamics(tmp_path, monkeypatch):
    """A real sweep trained in one runs folder, copied to another and the first deleted: both pages read it."""
    import shutil

    from conftest import synthetic_corpus

    from muser_core.cli import run_command
    from muser_core.sources import CORPORA

    first = tmp_path / "a" / "runs"
    monkeypatch.setenv("MUSER_RUNS_DIR", str(first))
    monkeypatch.setattr("muser_core.train.process.SHIPPED_RUNS", tmp_path / "no-shipped-runs")
    synthetic_corpus().save(first / CORPORA / "synthetic.csv")
    assert run_command("sweep")(["--variant", "single=--strategy single", "--variant", "uniform=--strategy uniform",
                                 "--seeds", "0", "--out", str(first / "s"), "--no-progress",
                                 "--corpus", str(first / CORPORA / "synthetic.csv"), "--modality", "audio",
                                 "--tasks", "stress,activation,valence", "--max-epochs", "3"]) == 0
    second = tmp_path / "b" / "runs"
    shutil.copytree(first, second)
    shutil.rmtree(tmp_path / "a")
    monkeypatch.setenv("MUSER_RUNS_DIR", str(second))

    at = page(RESULTS, **{"sweep-last": str(second / "s")})
    assert not at.exception and not at.error
    assert {"single", "uniform"} <= set(at.dataframe[0].value["Strategy"])
    at = AppTest.from_file(DYNAMICS, default_timeout=60).run()
    runs = [str(second / "s" / "single-seed0"), str(second / "s" / "uniform-seed0")]
    at.multiselect(key="dyn-runs").set_value(runs).run()
    assert not at.exception and not at.error
    assert {"single-seed0", "uniform-seed0"} <= set(at.dataframe[0].value["run"])
    at = page(TRAIN, **{"train-last": runs[1]})
    assert not at.exception and not at.error and "finished" in texts(at.markdown)


def _launch_and_finish(at, name: str, runs_root: Path):
    """Name the run, click Launch, wait for the run to end; its view, finished."""
    from analysis import run_views as rv

    at.text_input(key="train-name").set_value(name).run()
    at.button(key="train-launch").click().run()
    assert not at.exception and not at.error
    folder = runs_root / name
    _wait_for(lambda: rv.read_run(folder).state not in process.ACTIVE)
    view = rv.read_run(folder)
    assert view.state == "finished", (view.error, view.log)
    return view


@pytest.mark.slow
def test_train_page_keeps_a_checkpoint_per_task_when_asked(runs_root):
    """Checkpoint by per-task: the run's config says so, its folder keeps each emotion's checkpoint and the
    page's test table gives the epoch each task's weights come from when they differ."""
    from analysis import run_views as rv

    at = page(TRAIN)
    at.selectbox(key="train-strategy").set_value("uniform").run()
    at.selectbox(key="train-select").set_value("per-task").run()
    at.number_input(key="train-max-epochs").set_value(6)
    view = _launch_and_finish(at, "per-task", runs_root)
    folder = view.path
    assert view.config.train.select == "per-task" and view.test["select"] == "per-task"
    assert {rf.task_checkpoint(t) for t in view.config.data.tasks[1:]} <= {p.name for p in folder.iterdir()}
    epochs = view.test["best_epochs"]
    tables = rv.metrics_summary(view)
    assert ("epoch" in pd.concat(tables).columns) == (len(set(epochs.values())) > 1)


@pytest.mark.slow
def test_train_page_trains_with_the_lexicon_branch(runs_root):
    """The Lexicon branch box: config.json records it and the run folder holds the branch's statistics."""

    at = page(TRAIN)
    at.selectbox(key="train-modality").set_value("audio").run()
    assert not [c for c in at.checkbox if c.key == "train-lexicon-branch"]   # no text: no lexicon branch
    at.selectbox(key="train-modality").set_value("text").run()
    at.selectbox(key="train-strategy").set_value("uniform").run()
    at.checkbox(key="train-lexicon-branch").check().run()
    at.number_input(key="train-max-epochs").set_value(3)
    view = _launch_and_finish(at, "lexicon", runs_root)
    folder = view.path
    assert view.config.model.lexicon_branch and view.config.model.n_lexicon > 1
    assert json.loads((folder / rf.NORMALISER).read_text())["lexicon"]["columns"][0] == "WC"


@pytest.mark.slow
def test_train_page_chooses_the_heads_regularisation_on_validation(runs_root):

    at = page(TRAIN)
    at.radio(key="train-text-mode").set_value("finetune").run()
    assert not [c for c in at.checkbox if c.key == "train-tune-head"]   # a trained Transformer: not offered
    at.radio(key="train-text-mode").set_value("frozen").run()
    at.selectbox(key="train-strategy").set_value("uniform").run()
    at.checkbox(key="train-tune-head").check().run()
    at.number_input(key="train-max-epochs").set_value(3).run()
    assert (f"trains {TUNE_CANDIDATES} candidate runs before this one, each up to 3 epochs: the launch takes up "
            f"to {TUNE_CANDIDATES + 1} times one run's time") in texts(at.caption)
    view = _launch_and_finish(at, "tuned", runs_root)
    folder = view.path
    chosen = json.loads((folder / rf.TUNE).read_text())["chosen"]
    assert view.config.train.tune_head and view.config.train.weight_decay == chosen["weight_decay"]

"""Executors: the registry and its flags, and a real local Ray instance against the local processes.

The Ray tests start Ray on 127.0.0.1 (no network, no dashboard) and train
real runs on the small synthetic corpus: the same sweep gives the same
per-run metrics on both executors, a run whose Ray worker is killed is
reported and resumed by the next call, and Ctrl-C leaves no Ray process behind.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from conftest import synthetic_corpus, timeless

from muser_core.base.errors import InputError
from muser_core.base.paths import CHECKOUT as REPO_ROOT
from muser_core.cli import run_command
from muser_core.sweep.executors import (
    EXECUTORS,
    LocalExecutor,
    RayExecutor,
    add_executor_flags,
    executor_from_args,
    executor_settings,
    make_executor,
)
from muser_core.train import process
from muser_core.train import run_folder as rf

main = run_command("sweep")


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_executor_flags(parser)
    return parser.parse_args(argv)


def test_every_executor_setting_is_a_flag_and_the_choices_are_the_registry():
    parser = argparse.ArgumentParser()
    add_executor_flags(parser)
    by_flag = {a.option_strings[0]: a for a in parser._actions if a.option_strings}
    assert list(by_flag["--executor"].choices) == list(EXECUTORS) == ["local", "ray"]
    for flag, _, help_text, _ in executor_settings().values():
        assert by_flag[flag].help.startswith(help_text)
    assert executor_from_args(_args()) == LocalExecutor(workers=2)
    assert executor_from_args(_args("--executor", "ray", "--run-gpus", "0.5", "--workers", "3")) == \
        RayExecutor(workers=3, run_gpus=0.5)


@pytest.mark.parametrize("argv, message", [
    (["--ray-address", "10.0.0.1:6379"], "--ray-address applies to --executor ray only"),
    (["--run-gpus", "1"], "--run-gpus applies to --executor ray only"),
    (["--executor", "ray", "--run-cpus", "0"], "--run-cpus: must be above 0"),
    (["--executor", "ray", "--run-gpus", "-1"], "--run-gpus: must be at least 0"),
    (["--workers", "0"], "--workers: must be at least 1"),
])
def test_bad_executor_options_are_one_line(argv, message):
    with pytest.raises(InputError, match=message):
        executor_from_args(_args(*argv))


def test_sweep_cli_refuses_bad_executor_flags_in_one_line(tmp_path, capsys):
    for argv in (["--run-cpus", "abc"], ["--executor", "spark"], ["--executor", "local", "--ray-dashboard"]):
        assert main(["--variant", "a=--strategy single", "--out", str(tmp_path / "s"), *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err
    assert not (tmp_path / "s").exists()


def test_a_ray_address_where_nothing_listens_is_one_line_at_once(tmp_path, capsys):
    import socket

    pytest.importorskip("ray")
    corpus = tmp_path / "c.csv"
    synthetic_corpus(n_speakers=8, per_speaker=4).save(corpus)
    started = time.perf_counter()
    with socket.socket() as held:  # bound, never listening: refused, and no one else can take the port
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        assert main(["--variant", "a=--strategy single", "--seeds", "0", "--corpus", str(corpus), "--executor",
                     "ray", "--ray-address", f"127.0.0.1:{port}", "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: --ray-address 127.0.0.1:{port}: nothing answers there") and "\n" not in err
    assert time.perf_counter() - started < 60  # not Ray's minutes of retries


def test_gpu_default_is_one_per_fine_tuning_run_when_the_cluster_has_gpus():
    from muser_core.sweep.executors import Job

    def job(mode, modality="both"):
        return Job("x", 0, Path("x"), {"model": {"text_mode": mode, "modality": modality}})

    ray = make_executor("ray")
    assert ray.gpus_for(job("finetune"), cluster_gpus=4) == 1
    assert ray.gpus_for(job("finetune"), cluster_gpus=0) == 0
    assert ray.gpus_for(job("frozen"), cluster_gpus=4) == 0
    assert ray.gpus_for(job("finetune", "audio"), cluster_gpus=4) == 0  # no Transformer in an audio-only run
    assert make_executor("ray", run_gpus=0.25).gpus_for(job("frozen"), cluster_gpus=1) == 0.25


# --------------------------------------------------------------------------- a real Ray instance


@pytest.fixture(scope="module")
def ray_instance():
    """ray.init(num_cpus=2) on 127.0.0.1, as the sweep starts it; shut down after the module's tests."""
    pytest.importorskip("ray")
    from muser_core.sweep.executors import start_ray

    ray = start_ray(num_cpus=2)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "c.csv"
    synthetic_corpus().save(path)
    return path


def _ray_ports() -> list[str]:
    """The addresses this process's Ray servers listen on."""
    ours = {p.pid for p in psutil.Process().children(recursive=True)}
    return sorted({c.laddr.ip for c in psutil.net_connections("inet")
                   if c.status == psutil.CONN_LISTEN and c.pid in ours})


@pytest.mark.slow
def test_a_ray_sweep_gives_the_local_sweeps_metrics_run_for_run(ray_instance, corpus, tmp_path):
    assert _ray_ports() and all(ip in ("127.0.0.1", "::ffff:127.0.0.1") for ip in _ray_ports())
    no_gpu = ray_instance.remote(num_gpus=0)(lambda: os.environ.get("CUDA_VISIBLE_DEVICES"))
    assert ray_instance.get(no_gpu.remote()) == ""  # a run that reserves no GPU sees none
    argv = ["--variant", "single=--strategy single", "--variant", "uniform=--strategy uniform",
            "--seeds", "0,1", "--corpus", str(corpus), "--max-epochs", "3"]
    assert main([*argv, "--out", str(tmp_path / "local"), "--workers", "2"]) == 0
    assert main([*argv, "--out", str(tmp_path / "ray"), "--executor", "ray"]) == 0
    local, on_ray = (pd.read_csv(tmp_path / name / "runs.csv") for name in ("local", "ray"))
    assert len(on_ray) == 4 and set(on_ray["state"]) == {"finished"}
    columns = ["label", "seed", "accuracy", "precision", "recall", "f1", "best_epoch", "epochs"]
    pd.testing.assert_frame_equal(local[columns], on_ray[columns])
    for name in on_ray["run"]:   # each run by its folder inside the sweep's
        run, twin = tmp_path / "ray" / name, tmp_path / "local" / name
        assert timeless(rf.read_metrics(run)) == timeless(rf.read_metrics(twin))
        assert rf.read_json(Path(run) / rf.TEST) == rf.read_json(twin / rf.TEST)
    plan = rf.read_json(tmp_path / "ray" / "plan.json")
    assert plan["total"] == 4 and plan["variants"] == ["single", "uniform"] and plan["executor"] == "ray"
    assert (tmp_path / "ray" / "results.md").read_text().startswith("## Sweep results")
    results = pd.read_csv(tmp_path / "ray" / "results.csv")
    assert list(results["label"]) == ["single", "uniform"] and set(results["reference"]) == {"single"}
    pd.testing.assert_frame_equal(results, pd.read_csv(tmp_path / "local" / "results.csv"))
    # A second call reuses the finished runs and gives the same table.
    assert main([*argv, "--out", str(tmp_path / "ray"), "--executor", "ray"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "ray" / "results.csv"), results)


@pytest.mark.slow
def test_a_killed_ray_worker_is_reported_and_the_rerun_resumes_its_run(ray_instance, corpus, tmp_path, capsys):
    """Two identical runs; one's Ray worker is SIGKILLed mid-run. The rerun resumes it to the other's metrics."""
    out = tmp_path / "sweep"
    argv = ["--variant", "victim=--strategy uniform", "--variant", "twin=--strategy uniform", "--seeds", "0",
            "--corpus", str(corpus), "--max-epochs", "40", "--patience", "5000", "--save-every", "0",
            "--executor", "ray", "--out", str(out)]
    victim = out / "victim-seed0"
    codes = []
    sweep = threading.Thread(target=lambda: codes.append(main(argv)))
    sweep.start()
    deadline = time.time() + 120
    while not (len(rf.read_metrics(victim)) >= 4 and (victim / rf.RESUME).is_file() and rf.lock_owner(victim)):
        assert time.time() < deadline and sweep.is_alive(), "the run never got going"
        time.sleep(0.02)
    worker = rf.lock_owner(victim)["pid"]
    assert worker != os.getpid()  # the run trains in a Ray worker, not in the sweep's process
    os.kill(worker, signal.SIGKILL)
    sweep.join(timeout=120)
    assert codes == [1]  # the sweep says a run did not finish ...
    per_run = pd.read_csv(out / "runs.csv").set_index("label")
    assert per_run.loc["victim", "state"].startswith("killed: the Ray worker died")
    assert per_run.loc["twin", "state"] == "finished"
    assert "warning: victim seed 0: killed" in capsys.readouterr().err
    assert process.run_state(victim)["state"] == "killed" and (victim / rf.RESUME).is_file()
    assert main(argv) == 0  # ... and the same sweep again resumes it from its saved state
    assert len((rf.read_json(victim / rf.ENV) or {}).get("resumes", [])) == 1
    assert timeless(rf.read_metrics(victim)) == timeless(rf.read_metrics(out / "twin-seed0"))
    assert rf.read_json(victim / rf.TEST)["metrics"] == rf.read_json(out / "twin-seed0" / rf.TEST)["metrics"]


@pytest.mark.slow
def test_ctrl_c_cancels_a_ray_sweep_and_leaves_no_ray_process(corpus, tmp_path):
    """The sweep starts its own Ray instance; Ctrl-C (SIGINT to its process group) stops the runs after a
    batch, resumable, and every process the sweep started is gone."""
    pytest.importorskip("ray")
    out = tmp_path / "sweep"
    args = ["--variant", "a=--strategy uniform", "--variant", "b=--strategy single", "--seeds", "0",
            "--corpus", str(corpus), "--max-epochs", "5000", "--patience", "5000", "--executor", "ray"]
    process.launch_sweep(out, args, total=2)
    sweep = psutil.Process(rf.read_json(out / rf.LAUNCH)["pid"])
    deadline = time.time() + 180
    while not all(len(rf.read_metrics(out / f"{v}-seed0")) >= 2 for v in "ab"):
        assert time.time() < deadline and sweep.is_running(), (out / process.SWEEP_LOG).read_text()
        time.sleep(0.1)
    started = sweep.children(recursive=True)
    assert any("raylet" in " ".join(p.cmdline()) for p in started)
    workers = {rf.lock_owner(out / f"{v}-seed0")["pid"] for v in "ab"}
    assert workers <= {p.pid for p in started}
    os.killpg(os.getpgid(sweep.pid), signal.SIGINT)  # what Ctrl-C in its terminal does
    _, alive = psutil.wait_procs([sweep], timeout=120)
    assert not alive, "the sweep did not stop"
    for v in "ab":
        assert process.run_state(out / f"{v}-seed0")["state"] == "stopped"
        assert (out / f"{v}-seed0" / rf.RESUME).is_file()
    assert set(pd.read_csv(out / "runs.csv")["state"]) == {"stopped"}
    gone, alive = psutil.wait_procs(started, timeout=30)
    assert not alive, [" ".join(p.cmdline())[:80] for p in alive]


@pytest.mark.parametrize("stuck", [False, True])
def test_a_local_worker_whose_sweep_is_gone_ends(stuck):
    """The watchdog half of dying with the sweep (the kernel's parent-death signal is the other): a worker
    started by another process than the sweep it names is orphaned; between runs it ends on SIGTERM at once,
    and one whose run only notes the signal (a run stuck in preparing data) ends after the grace period."""
    code = ("import os, signal, time; from muser_core.sweep import executors as ex; ex.ORPHAN_GRACE_S = 0.5; "
            + ("ex._note_stop = lambda signum, frame: None; " if stuck else "")
            + "ex._die_with_sweep(os.getppid() + 1); time.sleep(60)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, timeout=30)
    assert result.returncode == (1 if stuck else 0)


def test_the_sweep_docs_give_the_grace_period_of_an_orphaned_worker():
    from muser_core.sweep.executors import ORPHAN_GRACE_S

    page = (REPO_ROOT / "docs" / "sweeps.md").read_text()
    assert f"worker still there {ORPHAN_GRACE_S:g} s later" in " ".join(page.split())


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["local", "ray"])
def test_a_stopped_sweep_starts_no_queued_run_and_counts_each_run_once(corpus, tmp_path, executor):
    """Fifteen endless runs, two at a time, stopped once two train: within 2 s no run trains, no queued run
    ever started, and the log's last count and the page's count both say 0 done, 2 stopped, 13 not started."""
    from analysis.sweep_views import progress_line, sweep_state

    if executor == "ray":
        pytest.importorskip("ray")
    out = tmp_path / "sweep"
    variants = [x for v in "abcde" for x in ("--variant", f"{v}=--strategy uniform")]
    args = [*variants, "--seeds", "0,1,2", "--workers", "2", "--corpus", str(corpus), "--max-epochs", "5000", "--patience", "5000",
            "--executor", executor]
    process.launch_sweep(out, args, total=15)
    sweep = psutil.Process(rf.read_json(out / rf.LAUNCH)["pid"])
    try:
        deadline = time.time() + 180

        def training() -> list[Path]:
            return [p for p in out.glob("*-seed*") if rf.is_locked(p)]

        while len([p for p in training() if len(rf.read_metrics(p)) >= 2]) < 2:
            assert time.time() < deadline and sweep.is_running(), (out / process.SWEEP_LOG).read_text()
            time.sleep(0.05)
        first = {p.name for p in training()}
        assert process.stop(out)
        stopped_at = time.time()
        while training() and time.time() < stopped_at + 2:
            time.sleep(0.05)
        assert not training(), f"still training 2 s after the stop: {[p.name for p in training()]}"
        _, alive = psutil.wait_procs([sweep], timeout=60)
        assert not alive, "the sweep did not end"
        started = {p.name for p in out.glob("*-seed*") if (p / rf.CONFIG).is_file()}
        assert started == first  # no queued run began after the stop
        runs = pd.read_csv(out / "runs.csv")
        assert sorted(runs["state"]) == ["not started"] * 13 + ["stopped"] * 2
        counts = [line for line in (out / process.SWEEP_LOG).read_text().splitlines() if "runs done" in line]
        assert counts[-1] == "0 of 15 runs done, 2 stopped, 13 not started"
        state = sweep_state(out)
        assert state["state"] == "stopped"
        assert progress_line(state).startswith("0 of 15 runs done, 2 stopped, 13 not started")
    finally:  # a failed check leaves no sweep training
        for proc in [sweep, *sweep.children(recursive=True)] if sweep.is_running() else []:
            proc.kill()


@pytest.mark.slow
def test_a_ray_sweep_whose_driver_is_sigkilled_reruns_only_the_missing_runs(corpus, tmp_path):
    """kill -9 of the sweep's own process (the Ray driver) while its second run trains: every Ray process it
    started goes with it, the training run keeps its resume state, and the same command again leaves the
    finished run as it was, resumes the killed one and trains the one never started."""
    pytest.importorskip("ray")
    out = tmp_path / "sweep"
    args = ["--variant", "a=--strategy uniform --max-epochs 2", "--variant", "b=--strategy uniform",
            "--variant", "c=--strategy single", "--seeds", "0", "--workers", "1", "--corpus", str(corpus),
            "--max-epochs", "40", "--patience", "5000", "--save-every", "0", "--executor", "ray"]
    a, b, c = (out / f"{v}-seed0" for v in "abc")
    process.launch_sweep(out, args, total=3)
    sweep = psutil.Process(rf.read_json(out / rf.LAUNCH)["pid"])
    try:
        deadline = time.time() + 180
        while not (len(rf.read_metrics(b)) >= 2 and (b / rf.RESUME).is_file() and rf.lock_owner(b)):
            assert time.time() < deadline and sweep.is_running(), (out / process.SWEEP_LOG).read_text()
            time.sleep(0.05)
        started = sweep.children(recursive=True)
        worker = rf.lock_owner(b)["pid"]
        assert worker in {p.pid for p in started}
        finished = {name: (a / name).read_bytes() for name in (rf.CHECKPOINT, rf.TEST, "metrics.jsonl")}
        sweep.kill()
        # Ray's two agents outlive their raylet by about a minute (each waits 60 s to report the death to a
        # GCS that is gone, then exits); everything else, the trainer first, goes within seconds.
        agents = [p for p in started if p.name() in ("ray::DashboardAgent", "ray::RuntimeEnvAgent")]
        _, alive = psutil.wait_procs([p for p in started if p not in agents], timeout=15)
        assert not alive, [p.name() for p in alive]
    finally:
        for proc in [sweep, *sweep.children(recursive=True)] if sweep.is_running() else []:
            proc.kill()
    assert not rf.is_locked(b) and (b / rf.RESUME).is_file() and not (c / rf.CONFIG).exists()
    assert process.run_state(b)["state"] == "killed"

    rerun = subprocess.run([sys.executable, "-m", "muser_core", "sweep", "--out", str(out), *args],
                           cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert {name: (a / name).read_bytes() for name in finished} == finished       # reused, not trained again
    resumes = {v: len((rf.read_json(out / f"{v}-seed0" / rf.ENV) or {}).get("resumes", [])) for v in "abc"}
    assert resumes == {"a": 0, "b": 1, "c": 0}
    runs = pd.read_csv(out / "runs.csv")
    assert list(runs["state"]) == ["finished"] * 3 and list(runs["epochs"]) == [2, 40, 40]
    _, alive = psutil.wait_procs(agents, timeout=90)
    assert not alive, [p.name() for p in alive]

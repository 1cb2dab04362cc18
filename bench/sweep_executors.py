"""Benchmark: the same 8-run frozen sweep under each executor (target: Ray at most 15 % over local on 2 cores).

Four rows of the paper's Table 8 x seeds 0 and 1 on the demo corpus (frozen
MiniLM, both modalities), two runs at a time: ``--workers 2`` for the local
processes, a Ray instance started by the sweep with 2 CPUs for Ray. Each timing
is the whole command, ``muser sweep ...`` from start to exit,
Ray's start and shutdown included; the text embeddings are cached first (not
timed). The executors alternate, ``--repeats`` times each, in fresh sweep
folders. Beside the wall time it reports the CPU time of the whole process
tree (the sweep, its training processes, Ray's servers and workers), which
other work on a shared machine disturbs less. It also checks that both
executors gave the same per-run metrics.

    python bench/sweep_executors.py [--repeats 3] [--max-epochs 1000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402

from muser_core.sweep.grid import PAPER_TABLES  # noqa: E402

ROWS = PAPER_TABLES["8"][:4]
SEEDS = "0,1"
TARGET = 1.15


def sweep_command(out: Path, corpus: str, executor: str, max_epochs: int) -> list[str]:
    variants = [f"--variant={label}={flags}" for label, flags in ROWS]
    return [sys.executable, "-m", "muser_core", "sweep", *variants, "--seeds", SEEDS, "--workers", "2",
            "--executor", executor, "--out", str(out), "--corpus", corpus, "--text-mode", "frozen",
            "--modality", "both", "--max-epochs", str(max_epochs)]


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds of the command, and the CPU seconds of its whole process tree (sampled every 0.2 s:
    Ray's servers and workers are not all reaped by the sweep, so the kernel's child accounting misses them)."""
    import psutil

    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root, seen = psutil.Process(proc.pid), {}
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            tree = []
        for p in tree:
            try:
                times = p.cpu_times()
                seen[(p.pid, p.create_time())] = times.user + times.system
            except psutil.Error:
                pass
        time.sleep(0.2)
    wall = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"{' '.join(command[:4])} ... exited with {proc.returncode}")
    return wall, sum(seen.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed sweeps per executor (alternating)")
    parser.add_argument("--max-epochs", type=int, default=1000, help="per run (patience 30 ends them sooner)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = "demo"  # ships in data/demo
        # Not timed: one short sweep fills the embedding cache (and the OS file cache) for both executors.
        subprocess.run(sweep_command(Path(tmp) / "warm", corpus, "local", 1), cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)
        times: dict[str, list[float]] = {"local": [], "ray": []}
        cpu: dict[str, list[float]] = {"local": [], "ray": []}
        tables = {}
        for repeat in range(args.repeats):
            for executor in times:
                out = Path(tmp) / f"{executor}-{repeat}"
                wall, cpu_s = timed(sweep_command(out, corpus, executor, args.max_epochs))
                times[executor].append(wall)
                cpu[executor].append(cpu_s)
                tables[executor] = pd.read_csv(out / "runs.csv").drop(columns="run")
                print(f"{executor:5s} sweep {repeat + 1}: {wall:.1f} s wall, {cpu_s:.1f} s CPU "
                      f"(load average {os.getloadavg()[0]:.1f})", flush=True)
        runs = pd.read_csv(Path(tmp) / "local-0" / "runs.csv")
        same = tables["local"].equals(tables["ray"])
        local, ray = (statistics.median(times[e]) for e in ("local", "ray"))
        print(f"{len(runs)} runs ({len(ROWS)} rows of Table 8 x seeds {SEEDS}, frozen, {corpus}), "
              f"{int(runs['epochs'].sum())} epochs in all, 2 at a time on {os.cpu_count()} cores")
        print(f"median wall time: local {local:.1f} s, ray {ray:.1f} s: ray/local = {ray / local:.2f}x "
              f"({100 * (ray / local - 1):+.0f} %)")
        local_cpu, ray_cpu = (statistics.median(cpu[e]) for e in ("local", "ray"))
        print(f"median CPU time: local {local_cpu:.1f} s, ray {ray_cpu:.1f} s: ray/local = "
              f"{ray_cpu / local_cpu:.2f}x")
        print(f"per-run metrics identical under both executors: {'yes' if same else 'NO'}")
        verdict = "PASS" if ray / local <= TARGET and same else "FAIL"
        print(f"{verdict}: target ray <= {TARGET:.2f}x local, same metrics")


if __name__ == "__main__":
    main()

"""Remake the demo runs and the demo sweep that ship in ``runs/demo-*`` (frozen text mode, demo corpus).

They exist so the Train, Sampling dynamics and Results pages show real curves
and tables on first launch. Everything is trained on the SYNTHETIC demo
corpus, so the numbers say nothing about real stress. The script only calls
the engine's own command lines (printed as it goes), then removes what a
shipped run does not need: ``resume.pt`` and the lock file everywhere, and the checkpoint and
normaliser everywhere but ``demo-speed`` (a frozen-mode checkpoint is about
1.3 MB).

    .venv/bin/python scripts/make_demo_runs.py            # all of it, ~5 min on 2 cores
    .venv/bin/python scripts/make_demo_runs.py --only runs  # the single runs only
    .venv/bin/python scripts/make_demo_runs.py --only real  # the EmoBank run and sweep (real emotion labels)
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMMON = "--corpus demo --modality both --text-mode frozen --seed 0"
# (folder, train flags): one run per strategy the paper compares, plus the external set (Table 9).
RUNS = [
    ("demo-speed", "--strategy speed --history 5 --tasks stress,activation,valence"),
    ("demo-uniform", "--strategy uniform --tasks stress,activation,valence"),
    ("demo-dwa", "--strategy dwa --tasks stress,activation,valence"),
    ("demo-single", "--strategy single"),
    ("demo-speed-external", "--strategy speed --history 5 --tasks stress,ext_activation,ext_valence "
                            "--external demo"),
]
# Real emotion labels: stress from the SYNTHETIC demo corpus, activation and valence from EmoBank's REAL
# ratings (shipped, CC BY-SA 4.0) as the external set, text only (EmoBank has no audio).
REAL_RUNS = [
    ("demo-text-speed-emobank", "--modality text --strategy speed --history 5 "
                                "--tasks stress,ext_activation,ext_valence --external emobank"),
]
KEEP_CHECKPOINT = {"demo-speed"}
SWEEP = ("demo-sweep", "--table 8 --seeds 0,1,2 --workers 1 --corpus demo --modality both --text-mode frozen")
REAL_SWEEP = ("demo-sweep-emobank", "--table 9 --seeds 0,1 --workers 1 --corpus demo --external emobank "
                                    "--modality text --text-mode frozen")


def run(command: str) -> None:
    print(f"$ {command}", flush=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, *shlex.split(command)[1:]], cwd=REPO, env=env, check=True)


def prune(folder: Path, keep_checkpoint: bool) -> None:
    """Leave out what a shipped run does not need; every run keeps config, metrics, status and test."""
    for path in folder.rglob("*"):
        big = path.name in ("resume.pt", "train.log", ".lock", "owner.json") or (
            not keep_checkpoint and path.name in ("checkpoint.safetensors", "normaliser.json"))
        if path.is_file() and big:
            path.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(REPO / "runs"), help="folder to write into (default: runs/)")
    parser.add_argument("--only", choices=["runs", "sweep", "real"],
                        help="remake only the synthetic runs, only the synthetic sweep, or only the EmoBank ones")
    args = parser.parse_args(argv)
    out = Path(args.out)
    runs = {None: RUNS + REAL_RUNS, "runs": RUNS, "real": REAL_RUNS}.get(args.only, [])
    sweeps = {None: [SWEEP, REAL_SWEEP], "sweep": [SWEEP], "real": [REAL_SWEEP]}.get(args.only, [])
    for name, flags in runs:
        shutil.rmtree(out / name, ignore_errors=True)
        run(f"python -m muser_core train {COMMON} {flags} --no-progress --out {out / name}")
        prune(out / name, name in KEEP_CHECKPOINT)
    for name, flags in sweeps:
        shutil.rmtree(out / name, ignore_errors=True)
        run(f"python -m muser_core sweep {flags} --out {out / name}")
        prune(out / name, False)
        # Paths in runs.csv point at this machine; the pages read the run folders by name.
        runs_csv = out / name / "runs.csv"
        if runs_csv.is_file():
            text = runs_csv.read_text().replace(str(out / name) + "/", "")
            runs_csv.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Stop and resume state, measured: how soon Stop takes effect and what a stopped run leaves.

Two background runs on the demo corpus, started and stopped the way the Train
page does it (``muser_core.train.process.launch_run`` / ``stop``):

1. frozen text (MUSER, both modalities): stopped after 5 epochs;
2. fine-tuned MiniLM (the paper's setting): stopped a few batches into its
   second epoch, so the stop lands inside an epoch after a best checkpoint;
3. the same with ``--finetune-layers 1``;
4. full fine-tuning on long texts (~110 tokens: five EmoBank sentences joined,
   as in ``bench/train_finetune.py``), where one batch takes seconds: stopped
   ``--long-stops`` times, each after a seeded random delay inside a batch,
   resumed in between (a stop abandons the batch in progress).

For each: seconds from ``stop()`` to the folder reading ``stopped`` (the page
polls every 1.5 s on top of this), the resume state's size, and the items/s the
run measured itself (the figure the Train page shows). The resume state of the
fine-tuned run holds the Transformer and its AdamW moments, about 3x the
model's weights (the best weights are the checkpoint file, not repeated); with
``--finetune-layers 1`` only the top layer and the heads. It is written at
most every ``--save-every`` seconds (default 60) and at a stop.

    python bench/train_stop.py [--finetune-batches 3] [--long-stops 3] [--parts demo,long]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from muser_core.config import DataConfig, ModelConfig, RunConfig, StrategyConfig, TrainConfig  # noqa: E402
from muser_core.train import process  # noqa: E402
from muser_core.train import run_folder as rf  # noqa: E402


def wait(predicate, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def stop_and_measure(folder: Path) -> dict:
    asked = time.perf_counter()
    assert process.stop(folder), "nothing to stop"
    wait(lambda: process.run_state(folder)["state"] == "stopped", 600, "the stop")
    seconds = time.perf_counter() - asked
    status = rf.read_json(folder / rf.STATUS) or {}
    return {"stop_s": seconds, "resume_mb": (status.get("resume_bytes") or 0) / 1e6,
            "samples_per_s": status.get("samples_per_s"), "epoch": status.get("epoch_in_progress")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--finetune-batches", type=int, default=3, help="batches to train before stopping")
    parser.add_argument("--long-stops", type=int, default=3, help="stops (and resumes) of the long-text run")
    parser.add_argument("--parts", default="demo,long", help="demo (cases 1-3), long (case 4)")
    args = parser.parse_args()
    if "demo" in args.parts:
        demo_stops(args)
    if "long" in args.parts:
        long_stops(args)


def long_stops(args: argparse.Namespace) -> None:
    """Full fine-tuning on long texts, stopped at random points inside its batches, resumed in between."""
    from train_finetune import long_texts

    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "long"
        cfg = RunConfig(data=DataConfig(corpus=long_texts(Path(tmp), 192, 32), tasks=["stress"]),
                        model=ModelConfig(modality="text", text_mode="finetune"),
                        strategy=StrategyConfig(name="single"), train=TrainConfig(max_epochs=5000, patience=5000))
        process.launch_run(cfg, folder)
        stops = []
        for i in range(args.long_stops):
            def drawn(folder=folder) -> int:
                progress = (rf.read_json(folder / rf.STATUS) or {}).get("epoch_in_progress") or {}
                return 10_000 * progress.get("epoch", 0) + progress.get("drawn", 0)
            start = drawn()
            # After epoch 1 (a best checkpoint exists), then one more batch since the last resume.
            wait(lambda start=start: drawn() >= max(start + 32, 20_032), 3600, "a batch into epoch 2 or later")
            batch_s = 32 / ((rf.read_json(folder / rf.STATUS) or {}).get("samples_per_s") or 32)
            time.sleep(rng.uniform(0.1, 0.9) * batch_s)  # somewhere inside the next batch
            t = stop_and_measure(folder)
            stops.append(t["stop_s"])
            where = (f"inside epoch {t['epoch']['epoch']}, {t['epoch']['drawn']}/{t['epoch']['goal']} items"
                     if t["epoch"] else "between epochs")
            print(f"long full: stop {i + 1} took {t['stop_s']:.2f} s (a batch takes {batch_s:.2f} s at the "
                  f"{t['samples_per_s']:.1f} items/s the run measured; {where}); resume state {t['resume_mb']:.1f} MB")
            if i + 1 < args.long_stops:
                process.launch_run(None, folder, resume=True)
        print(f"long full: stops took {min(stops):.2f}-{max(stops):.2f} s (mean {sum(stops) / len(stops):.2f} s) "
              f"over {len(stops)} stops; the batches take {batch_s:.2f} s")


def demo_stops(args: argparse.Namespace) -> None:
    base = RunConfig(data=DataConfig(corpus="demo"), strategy=StrategyConfig(name="speed"),
                     train=TrainConfig(max_epochs=5000, patience=5000))
    with tempfile.TemporaryDirectory() as tmp:
        frozen = Path(tmp) / "frozen"
        process.launch_run(base, frozen)
        wait(lambda: len(rf.read_metrics(frozen)) >= 6, 600, "5 frozen epochs")
        f = stop_and_measure(frozen)
        print(f"frozen   : stop took {f['stop_s']:.2f} s; resume state {f['resume_mb']:.1f} MB; "
              f"{f['samples_per_s']:,.0f} items/s measured by the run")

        results = {}
        for label, layers in (("finetune", 0), ("top 1   ", 1)):  # full fine-tuning, then --finetune-layers 1
            folder = Path(tmp) / f"finetune-{layers}"
            cfg = RunConfig(data=base.data, model=ModelConfig(text_mode="finetune", finetune_layers=layers),
                            strategy=base.strategy, train=base.train)
            process.launch_run(cfg, folder)
            def into_epoch_2(folder=folder, batches=32 * args.finetune_batches) -> bool:  # after epoch 1, so a best checkpoint exists
                progress = (rf.read_json(folder / rf.STATUS) or {}).get("epoch_in_progress") or {}
                return progress.get("epoch", 0) >= 2 and progress.get("drawn", 0) >= batches

            wait(into_epoch_2, 3600, f"epoch 1 and {args.finetune_batches} batches of epoch 2")
            t = results[label] = stop_and_measure(folder)
            print(f"{label} : stop took {t['stop_s']:.2f} s (inside epoch {t['epoch']['epoch']}, "
                  f"{t['epoch']['drawn']}/{t['epoch']['goal']} items); resume state {t['resume_mb']:.1f} MB; "
                  f"{t['samples_per_s']:.1f} items/s measured by the run")
        t = results["finetune"]
        print(f"ratio    : fine-tune resume state / frozen = {t['resume_mb'] / f['resume_mb']:.0f}x; "
              f"top 1 / full fine-tuning = {results['top 1   ']['resume_mb'] / t['resume_mb']:.2f}x")

if __name__ == "__main__":
    main()

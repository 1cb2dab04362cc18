"""Benchmark: fine-tuning throughput and accuracy, side by side in one run.

1. Full fine-tuning against each fast mode. Two corpora,
   text only, the stress task, MiniLM, the same seed and learning rate for
   every mode:

   - long texts (~110 tokens, Dreaddit-sized posts): five EmoBank sentences
     joined, labelled "stressed" when their mean valence is below the median
     (a proxy label, so the text carries it; EmoBank has no stress labels);
   - short sentences: the demo corpus (or synthetic sentences when it is not built).

   Each mode trains ``--epochs`` epochs on a subsample and prints its training
   samples/s (the trainer's own measure), the ratio to full fine-tuning, the
   test accuracy and F1 of the best epoch, the one-off cost of caching the
   lower layers, the resume state's size and the longest batch (how long a
   stop can wait). Minutes per epoch of 2,800 texts are extrapolated from the
   measured samples/s and labelled so. Few epochs on a subsample: the test
   metrics say whether a mode learns as full fine-tuning does on the same seed, not
   the paper's figures.
2. The trainer's loop (task draw, batch sampling, dynamic padding, step,
   logging hooks; also timed with the stop checks fit() installs) against a bare loop over the *same* batches, pre-built:
   forward, backward, gradient clipping and the AdamW step, nothing else.
   Target: the trainer keeps at least 85% of the bare loop's samples/s.
3. The bare loop with dynamic padding (each batch cut to its longest
   sentence) against padding every batch to 128 tokens. Target: >= 3x.

4. ``torch.compile`` (Inductor) and one thread against the eager loop on two threads, over the
   same batches from the same weights: samples/s, the compile time, and the largest relative
   difference of the per-step losses from the eager fp32 path.

5. The Train page's estimate against the run it estimates: ``time_batches`` with the paper's
   settings on the demo corpus, then that run launched as the app launches it (``muser train --paper``
   in its own process) for ``--estimate-epochs`` epochs: the items/s it reports in status.json and its
   epochs' own training items/s, side by side with the estimate and their ratio. Target: within 10 %.

Parts 2-5 use the demo corpus when built, otherwise synthetic sentences of 5-25 words (part 5 needs it built).

    python bench/train_finetune.py [--long-train 256] [--short-train 512] [--epochs 2] [--lr 1e-4]
                                   [--batches 16] [--rounds 2] [--parts modes,loop,tuning,estimate]
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from muser_core.base.errors import InputError  # noqa: E402
from muser_core.config import (  # noqa: E402
    DataConfig,
    ModelConfig,
    RunConfig,
    StrategyConfig,
    TrainConfig,
    paper_preset,
)
from muser_core.data.corpus import Corpus, canonical  # noqa: E402
from muser_core.data.emobank import load_emobank  # noqa: E402
from muser_core.train import Callback, Trainer, build, load_corpus  # noqa: E402
from muser_core.train.loop import EpochInProgress  # noqa: E402
from muser_core.train.run import time_batches  # noqa: E402


def corpus_csv(folder: Path, n_train: int) -> tuple[str, str]:
    """A canonical CSV whose training split has exactly ``n_train`` stress items (one epoch = the batches)."""
    from train_frozen import synthetic_csv

    from muser_core.data.corpus import Corpus

    try:
        corpus, name = load_corpus("demo"), "demo (subset)"
    except InputError:
        corpus, name = Corpus.load(synthetic_csv(folder)), "synthetic"
    table = corpus.table.dropna(subset=["stress"])
    train = table[table["split"] == "train"].sample(n_train, random_state=0)
    rest = table[table["split"] != "train"].groupby("split").head(64)
    path = folder / "bench.csv"
    Corpus(table.loc[list(train.index) + list(rest.index)], corpus.name, corpus.label_scales).save(path)
    return str(path), name


class RecordBatches(Callback):
    def __init__(self):
        self.batches = []

    def on_batch_end(self, trainer, task, idx, loss):
        self.batches.append(idx)


def stress_loss(model, batch: dict, target: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(model.head("stress", model.encode(batch)), target)


def bare_loop(trainer: Trainer, batches: list[dict], targets: list[torch.Tensor], loss_of=stress_loss,
              losses: list | None = None, dropout: bool = True) -> float:
    """Samples/s of forward, backward, clipping and AdamW over pre-built batches (each loss kept in ``losses``)."""
    model, optimizer, params = trainer.model, trainer.optimizer, trainer.params
    model.train(dropout)
    started = time.perf_counter()
    for batch, target in zip(batches, targets, strict=True):
        loss = loss_of(model, batch, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0, foreach=True)
        optimizer.step()
        if losses is not None:
            losses.append(float(loss.detach()))
    return sum(len(t) for t in targets) / (time.perf_counter() - started)


# mode -> (ModelConfig changes, TrainConfig changes); the first is full fine-tuning, the reference.
MODES = {
    "full": ({}, {}),
    "full + length buckets": ({}, {"length_buckets": 16}),
    "top 2 layers": ({"finetune_layers": 2}, {}),
    "top 1 layer": ({"finetune_layers": 1}, {}),
    "top 1 + buckets + max length 0": ({"finetune_layers": 1, "max_length": 0}, {"length_buckets": 16}),
    # bf16 autocast on the CPU: only worth it where the CPU has bf16 units (AMX, AVX-512 BF16); see cpu_bf16()
    "full + bf16": ({}, {"precision": "bf16"}),
    "top 1 + buckets + bf16": ({"finetune_layers": 1}, {"length_buckets": 16, "precision": "bf16"}),
}
EPOCH_TEXTS = 2_800  # Dreaddit-sized epoch, for the extrapolated minutes


def cpu_bf16() -> str:
    """What this CPU offers for bf16 (detected, never assumed)."""
    units = [name for name, found in (("AMX", getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()),
                                      ("oneDNN bf16", torch.ops.mkldnn._is_mkldnn_bf16_supported())) if found]
    return ", ".join(units) + f" ({torch.backends.cpu.get_cpu_capability()})" if units else "none (emulated: slow)"


def long_texts(folder: Path, n_train: int, n_eval: int, seed: int = 0) -> str:
    """Five EmoBank sentences per text, within EmoBank's own splits; stressed = mean valence below the median."""
    table = load_emobank().table
    rng = np.random.default_rng(seed)
    rows = []
    for split, n in (("train", n_train), ("validation", n_eval), ("test", n_eval)):
        part = table[table["split"] == split]
        part = part.iloc[rng.permutation(len(part))].head(5 * n)
        for i in range(len(part) // 5):
            five = part.iloc[5 * i:5 * i + 5]
            rows.append({"utterance_id": f"{split}-{i}", "speaker": f"{split}-{i}", "split": split,
                         "dataset": "emobank", "text": " ".join(five["text"]), "valence": five["valence"].mean()})
    joined = pd.DataFrame(rows)
    joined["stress"] = (joined["valence"] < joined["valence"].median()).astype(float)
    path = folder / "long.csv"
    Corpus(canonical(joined.drop(columns="valence")), "emobank x5", {}).save(path)
    return str(path)


def short_texts(folder: Path, n_train: int, n_eval: int) -> tuple[str, str]:
    """The demo corpus's sentences (or synthetic ones), ``n_train`` training and ``n_eval`` per other split."""
    from train_frozen import synthetic_csv

    try:
        corpus, name = load_corpus("demo"), "demo sentences"
    except InputError:
        corpus, name = Corpus.load(synthetic_csv(folder)), "synthetic sentences"
    table = corpus.table.dropna(subset=["stress"])
    parts = [table[table["split"] == s].sample(min(n, int((table["split"] == s).sum())), random_state=0)
             for s, n in (("train", n_train), ("validation", n_eval), ("test", n_eval))]
    path = folder / "short.csv"
    Corpus(pd.concat(parts), corpus.name, corpus.label_scales).save(path)
    return str(path), name


class LongestBatch(Callback):
    """The longest batch (a stop request waits at most this long) and when training began."""

    def __init__(self):
        self.longest, self.last = 0.0, None

    def on_batch_end(self, trainer, task, idx, loss):
        now = time.perf_counter()
        if self.last is not None:
            self.longest = max(self.longest, now - self.last)
        self.last = now


def build_mode(csv: str, mode: str, epochs: int, threads: int, lr: float) -> tuple[Trainer, dict]:
    """A trainer for ``mode`` after evaluation 0; the preparation time (the cache's one-off cost) is counted."""
    model, train = MODES[mode]
    cfg = RunConfig(data=DataConfig(corpus=csv, tasks=["stress"]),
                    model=replace(ModelConfig(modality="text", text_mode="finetune"), **model),
                    strategy=StrategyConfig(name="single"),
                    train=replace(TrainConfig(threads=threads, max_epochs=epochs, patience=epochs, lr=lr), **train))
    started = time.perf_counter()
    cfg, data, net, device, strategy = build(cfg)
    prepare = time.perf_counter() - started
    timer = LongestBatch()
    trainer = Trainer(net, data, strategy, cfg, [timer], device)
    trainer._finish_epoch(EpochInProgress(0, {}))  # evaluation 0, as fit() starts
    lengths = data.features["lengths"].float()
    return trainer, {"prepare_s": prepare, "max_length": cfg.model.max_length, "threads": cfg.train.threads,
                     "tokens": f"mean {lengths.mean():.0f}, max {int(lengths.max())}", "texts": int(len(lengths)),
                     "epoch_speeds": [], "timer": timer}


def train_one_epoch(trainer: Trainer, info: dict) -> None:
    """One epoch as fit() trains it, its samples/s kept (training batches only, as the trainer measures)."""
    epoch = EpochInProgress(trainer.epochs_done + 1, trainer.strategy.probabilities(trainer.training_state()))
    info["timer"].last = time.perf_counter()
    cpu = time.process_time()
    trainer.train_epoch(epoch)
    cpu = time.process_time() - cpu
    info["timer"].last = None
    info["epoch_speeds"].append(epoch.drawn / epoch.seconds)
    info["cpu_s"] = info.get("cpu_s", 0.0) + cpu
    info["drawn"] = info.get("drawn", 0) + epoch.drawn
    trainer._finish_epoch(epoch)


def finish_mode(trainer: Trainer, info: dict) -> dict:
    """The best epoch's weights on the test split; the resume state's size and how long writing it takes."""
    trainer.model.load_state_dict(trainer.best_state, strict=False)
    test = trainer.evaluate("test")["stress"]
    buffer = io.BytesIO()
    started = time.perf_counter()
    torch.save(trainer.state_dict(), buffer)
    save = time.perf_counter() - started
    return {**info, "samples_per_s": max(info["epoch_speeds"]), "per_cpu_s": info["drawn"] / info["cpu_s"], "accuracy": test["accuracy"], "f1": test["f1"],
            "resume_mb": buffer.tell() / 1024**2, "longest_batch_s": info["timer"].longest, "save_s": save,
            "best_epoch": trainer.best_epoch}


def mode_table(args: argparse.Namespace) -> None:
    """Part 1: full fine-tuning and each fast mode, on long texts and short sentences."""
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise SystemExit(f"unknown mode {unknown[0]!r} (modes: {', '.join(MODES)})")
    before = os.environ.get("MUSER_CACHE_DIR")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MUSER_CACHE_DIR"] = str(Path(tmp) / "cache")  # every cache starts empty: its cost is counted
        corpora = {}
        if "long" in args.corpora:
            corpora["long texts (5 EmoBank sentences joined)"] = long_texts(Path(tmp), args.long_train, args.eval)
        if "short" in args.corpora:
            csv, name = short_texts(Path(tmp), args.short_train, args.eval)
            corpora[name] = csv
        print(f"MiniLM fine-tuning, text only, stress, seed 0, {args.epochs} epochs per mode, "
              f"lr {args.lr:g}, {os.cpu_count()} CPU cores, torch {torch.__version__}; CPU bf16: {cpu_bf16()}")
        for name, csv in corpora.items():
            # Every mode is built first, then the epochs alternate between the modes (mode 1 epoch 1, mode 2
            # epoch 1, ...), so a burst of other work on the machine falls on all of them alike; each mode's
            # figure is its fastest epoch.
            built = {mode: build_mode(csv, mode, args.epochs, args.threads, args.lr) for mode in modes}
            for _ in range(args.epochs):
                for trainer, info in built.values():
                    train_one_epoch(trainer, info)
            results = {mode: finish_mode(*pair) for mode, pair in built.items()}
            load = os.getloadavg()[0]
            first = next(iter(results.values()))
            base = results.get("full", first)
            print(f"\n== {name}: {first['texts']} texts, tokens {first['tokens']}, {first['threads']} threads, "
                  f"load average {load:.1f} at the end (other jobs share this machine)")
            print(f"{'mode':32s} {'samples/s':>9s} {'x full':>7s} {'/CPU s':>7s} {'x full':>7s} {'test acc':>8s} {'test F1':>7s} "
                  f"{'min/2,800*':>10s} {'prep s':>7s} {'resume MB':>9s} {'batch s':>7s} {'max len':>7s}")
            for mode, r in results.items():
                print(f"{mode:32s} {r['samples_per_s']:9.1f} {r['samples_per_s'] / base['samples_per_s']:7.2f} "
                      f"{r['per_cpu_s']:7.1f} {r['per_cpu_s'] / base['per_cpu_s']:7.2f} "
                      f"{r['accuracy']:8.3f} {r['f1']:7.3f} {EPOCH_TEXTS / r['samples_per_s'] / 60:10.1f} "
                      f"{r['prepare_s']:7.1f} {r['resume_mb']:9.1f} {r['longest_batch_s']:7.2f} "
                      f"{r['max_length']:7d}")
        print("\n* min/2,800: minutes per epoch of 2,800 texts, EXTRAPOLATED from the measured samples/s "
              "(not timed on 2,800 texts). prep s: preparing the run (loading the model, tokenising; with "
              "--finetune-layers also computing the lower layers' hidden states, once: later runs read them from "
              "the cache). samples/s: the fastest epoch, the modes' epochs alternating. /CPU s: samples per second of this process's CPU time over all its "
              "epochs (both threads counted), steadier than wall time when other jobs share the cores. batch s: the longest "
              "training batch, which is how long a stop request can wait before the state is saved.")
    if before is None:
        os.environ.pop("MUSER_CACHE_DIR", None)
    else:
        os.environ["MUSER_CACHE_DIR"] = before


def recording_trainer(folder: Path, args: argparse.Namespace, modality: str) -> tuple[str, Trainer, RecordBatches]:
    """A full fine-tuning trainer on ``args.batches`` batches of the short corpus, recording the batches it draws."""
    csv, name = corpus_csv(folder, 32 * args.batches)
    cfg = RunConfig(data=DataConfig(corpus=csv, tasks=["stress"]),
                    model=ModelConfig(modality=modality, text_mode="finetune"),
                    strategy=StrategyConfig(name="single"), train=TrainConfig(threads=args.threads))
    cfg, data, model, device, strategy = build(cfg)
    recorder = RecordBatches()
    return name, Trainer(model, data, strategy, cfg, [recorder], device), recorder


def loop_checks(args: argparse.Namespace) -> None:
    """Parts 2 and 3: the trainer against a bare loop, dynamic padding against padding to 128."""
    with tempfile.TemporaryDirectory() as tmp:
        name, trainer, recorder = recording_trainer(Path(tmp), args, "both")
        cfg, data, device = trainer.cfg, trainer.data, trainer.device
        print(f"corpus: {name}; MiniLM fine-tuning, modality both, {torch.get_num_threads()} threads, "
              f"device {device}, {args.batches} batches of 32 per epoch")
        trainer.train_epoch(EpochInProgress(1, {"stress": 1.0}))  # warm-up (allocator, first-call costs)
        loop, hooked, bare, padded = [], [], [], []
        for _ in range(args.rounds):
            # With the checks fit() installs so that a stop can drop a batch (timed on the next epoch's batches).
            hooks = trainer.stop_hooks()
            started = time.perf_counter()
            trainer.train_epoch(EpochInProgress(1, {"stress": 1.0}))
            hooked.append(32 * args.batches / (time.perf_counter() - started))
            for hook in hooks:
                hook.remove()
            recorder.batches.clear()
            started = time.perf_counter()
            trainer.train_epoch(EpochInProgress(1, {"stress": 1.0}))
            loop.append(32 * args.batches / (time.perf_counter() - started))
            idx = recorder.batches
            target = [data.tasks["stress"].target[i] for i in idx]
            bare.append(bare_loop(trainer, [data.batch(i) for i in idx], target))
            k = args.padded_batches
            padded.append(bare_loop(trainer, [data.batch(i, pad_to=cfg.model.max_length) for i in idx[:k]],
                                    target[:k]))
        lengths = data.features["lengths"].float()
        print(f"tokens per sentence: mean {lengths.mean():.1f}, max {int(lengths.max())}")
        loop_best, bare_best, padded_best = max(loop), max(bare), max(padded)
        ratio, speedup = loop_best / bare_best, bare_best / padded_best
        print(f"trainer loop      : {loop_best:7.1f} samples/s  (rounds: {', '.join(f'{x:.1f}' for x in loop)})")
        print(f"  with stop hooks : {max(hooked):7.1f} samples/s  (rounds: {', '.join(f'{x:.1f}' for x in hooked)}); "
              f"{max(hooked) / loop_best:.3f}x without (the checks that let a stop drop a batch)")
        print(f"bare loop         : {bare_best:7.1f} samples/s  (rounds: {', '.join(f'{x:.1f}' for x in bare)})")
        print(f"bare, pad to 128  : {padded_best:7.1f} samples/s  (rounds: {', '.join(f'{x:.1f}' for x in padded)})")
        print(f"{'PASS' if ratio >= 0.85 else 'FAIL'}: trainer / bare = {ratio:.2f} (target >= 0.85)")
        print(f"{'PASS' if speedup >= 3 else 'FAIL'}: dynamic padding / pad to 128 = {speedup:.1f}x (target >= 3x)")


def tuning_checks(args: argparse.Namespace) -> None:
    """Part 4: torch.compile and the thread count, each against the eager loop on the same batches.

    Every variant starts from the same weights and an empty optimiser and steps through the same
    batches (one trainer epoch of the demo sentences, full fine-tuning, text only), with dropout off
    so that the paths compute the same function (Inductor draws dropout masks from its own random
    stream); the losses are compared step by step with the eager fp32 path on the default threads.
    """
    with tempfile.TemporaryDirectory() as tmp:
        name, trainer, recorder = recording_trainer(Path(tmp), args, "text")
        data, model = trainer.data, trainer.model
        weights = copy.deepcopy(model.state_dict())
        moments = copy.deepcopy(trainer.optimizer.state_dict())
        trainer.train_epoch(EpochInProgress(1, {"stress": 1.0}))  # records one epoch's batches
        batches = [data.batch(i) for i in recorder.batches]
        targets = [data.tasks["stress"].target[i] for i in recorder.batches]
        threads = torch.get_num_threads()
        compiled = torch.compile(stress_loss, dynamic=True)  # Inductor, C++ on the CPU; dynamic: batch lengths vary

        def variant(loss_of, n_threads: int) -> tuple[float, list[float]]:
            model.load_state_dict(weights)
            trainer.optimizer.load_state_dict(moments)
            torch.set_num_threads(n_threads)
            losses: list[float] = []
            return bare_loop(trainer, batches, targets, loss_of, losses, dropout=False), losses

        started = time.perf_counter()
        variant(compiled, threads)  # the first pass compiles (counted apart)
        compile_s = time.perf_counter() - started
        speeds: dict[str, list[float]] = {}
        losses: dict[str, list[float]] = {}
        names = {f"eager, {threads} threads": (stress_loss, threads),
                 "eager, 1 thread": (stress_loss, 1),
                 f"torch.compile, {threads} threads": (compiled, threads)}
        for _ in range(args.rounds):
            for label, (loss_of, n) in names.items():
                speed, losses[label] = variant(loss_of, n)
                speeds.setdefault(label, []).append(speed)
        torch.set_num_threads(threads)
        reference = next(iter(names))
        lengths = data.features["lengths"].float()
        print(f"\ncorpus: {name}; MiniLM full fine-tuning, text only, {args.batches} batches of 32, tokens mean "
              f"{lengths.mean():.1f}; {args.rounds} alternating rounds, the best kept; load average "
              f"{os.getloadavg()[0]:.1f}; the first compiled pass took {compile_s:.1f} s (compilation included)")
        for label in names:
            difference = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(losses[label], losses[reference], strict=True))
            compared = ("(the reference)" if label == reference else
                        f"largest relative loss difference from the reference over {len(batches)} steps {difference:.1e}")
            print(f"{label:28s} {max(speeds[label]):7.1f} samples/s  {max(speeds[label]) / max(speeds[reference]):5.2f}x "
                  f"the reference  {compared}  (rounds: {', '.join(f'{x:.1f}' for x in speeds[label])})")


def estimate_checks(args: argparse.Namespace) -> None:
    """Part 5: the Train page's "Time a few batches" against the run's own measured speed."""
    estimate = time_batches(paper_preset())
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder) / "paper"
        subprocess.run([sys.executable, "-m", "muser_core", "train", "--paper", "--max-epochs",
                        str(args.estimate_epochs), "--out", str(run)], check=True, capture_output=True)
        status = json.loads((run / "status.json").read_text())
        records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in records if r["epoch"] > 0]
    print(f"\n5. Train page estimate vs the run (paper settings, demo corpus, {estimate['threads']} threads, "
          f"{estimate['batches']} timed batches, {len(epochs)} epochs of {epochs[0]['samples']:,} items)")
    print(f"{'figure':<44} {'items/s':>8} {'/ estimate':>10}")
    rows = [("Time a few batches (the estimate)", estimate["samples_per_s"]),
            ("the run's status.json (its progress line)", status["samples_per_s"])]
    rows += [(f"the run's epoch {r['epoch']} (all its batches)", r["samples"] / r["seconds"]) for r in epochs]
    for name, rate in rows:
        print(f"{name:<44} {rate:>8.1f} {rate / estimate['samples_per_s']:>9.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="modes,loop,tuning,estimate",
                        help="modes (part 1), loop (parts 2 and 3), tuning (part 4: torch.compile, threads), "
                             "estimate (part 5: the Train page's estimate against the run)")
    parser.add_argument("--long-train", type=int, default=256, help="training texts of ~110 tokens")
    parser.add_argument("--short-train", type=int, default=512, help="training sentences of the short corpus")
    parser.add_argument("--eval", type=int, default=128, help="validation and test items of each corpus")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per mode")
    parser.add_argument("--lr", type=float, default=1e-4, help="learning rate of every mode")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated, from: " + ", ".join(MODES))
    parser.add_argument("--corpora", default="long,short")
    parser.add_argument("--batches", type=int, default=16, help="parts 2-3: batches per trainer epoch")
    parser.add_argument("--padded-batches", type=int, default=4, help="part 3: batches for the pad-to-128 loop")
    parser.add_argument("--rounds", type=int, default=2, help="parts 2-3: alternating rounds; the best is kept")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: the trainer's default)")
    parser.add_argument("--estimate-epochs", type=int, default=2, help="part 5: epochs of the estimated run")
    args = parser.parse_args()
    if "modes" in args.parts:
        mode_table(args)
    if "loop" in args.parts:
        loop_checks(args)
    if "tuning" in args.parts:
        tuning_checks(args)
    if "estimate" in args.parts:
        estimate_checks(args)


if __name__ == "__main__":
    main()

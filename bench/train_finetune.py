"""Benchmark: fine-tune mode throughput, side by side in one run.

1. The trainer's loop (task draw, batch sampling, dynamic padding, step,
   logging hooks) against a bare loop over the *same* batches, pre-built:
   forward, backward, gradient clipping and the AdamW step, nothing else.
   Target: the trainer keeps at least 85% of the bare loop's samples/s.
2. The bare loop with dynamic padding (each batch cut to its longest
   sentence) against padding every batch to 128 tokens. Target: >= 3x.

Uses the demo corpus when built, otherwise synthetic sentences of 5-25 words.

    python bench/train_finetune.py [--batches 16] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from muser_core.base.errors import InputError  # noqa: E402
from muser_core.config import DataConfig, ModelConfig, RunConfig, StrategyConfig, TrainConfig  # noqa: E402
from muser_core.strategies import make_strategy  # noqa: E402
from muser_core.train import Callback, Trainer, build, load_corpus  # noqa: E402
from muser_core.train.loop import EpochInProgress  # noqa: E402


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


def bare_loop(trainer: Trainer, batches: list[dict], targets: list[torch.Tensor]) -> float:
    """Samples/s of forward, backward, clipping and AdamW over pre-built batches."""
    model, optimizer, params = trainer.model, trainer.optimizer, trainer.params
    model.train()
    started = time.perf_counter()
    for batch, target in zip(batches, targets, strict=True):
        loss = F.cross_entropy(model.head("stress", model.encode(batch)), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0, foreach=True)
        optimizer.step()
    return sum(len(t) for t in targets) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=16, help="batches per trainer epoch")
    parser.add_argument("--padded-batches", type=int, default=4, help="batches for the pad-to-128 loop")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; the best of each is kept")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv, name = corpus_csv(Path(tmp), 32 * args.batches)
        cfg = RunConfig(data=DataConfig(corpus=csv, tasks=["stress"]),
                        model=ModelConfig(modality="both", text_mode="finetune"),
                        strategy=StrategyConfig(name="single"), train=TrainConfig(threads=args.threads))
        cfg, data, model, device = build(cfg)
        recorder = RecordBatches()
        trainer = Trainer(model, data, make_strategy(cfg.strategy), cfg, [recorder], device)
        print(f"corpus: {name}; MiniLM fine-tuning, modality both, {torch.get_num_threads()} threads, "
              f"device {device}, {args.batches} batches of 32 per epoch")
        trainer.train_epoch(EpochInProgress(1, {"stress": 1.0}))  # warm-up (allocator, first-call costs)
        loop, bare, padded = [], [], []
        for _ in range(args.rounds):
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
        print(f"bare loop         : {bare_best:7.1f} samples/s  (rounds: {', '.join(f'{x:.1f}' for x in bare)})")
        print(f"bare, pad to 128  : {padded_best:7.1f} samples/s  (rounds: {', '.join(f'{x:.1f}' for x in padded)})")
        print(f"{'PASS' if ratio >= 0.85 else 'FAIL'}: trainer / bare = {ratio:.2f} (target >= 0.85)")
        print(f"{'PASS' if speedup >= 3 else 'FAIL'}: dynamic padding / pad to 128 = {speedup:.1f}x (target >= 3x)")


if __name__ == "__main__":
    main()

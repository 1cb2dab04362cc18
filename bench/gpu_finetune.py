"""Benchmark: fine-tuning throughput of a BERT-base-shaped encoder, fp32 and bf16 side by side (issue 14).

The encoder is ``BertModel(BertConfig())`` (12 layers, hidden 768) with random
weights and MiniLM's tokenizer, so nothing is downloaded; throughput does not
depend on the weights' values. The project's own trainer runs whole epochs of
the stress task in fine-tune mode on ``--device`` (auto: CUDA when present),
once with fp32 and once with bf16 autocast where the device supports it.

Meant for a GPU machine: without one it says so and measures nothing, unless
``--device cpu`` asks for the (slow) CPU figure, which also checks the script.

    python bench/gpu_finetune.py [--device auto] [--batches 32] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from muser_core.config import DataConfig, ModelConfig, RunConfig, StrategyConfig, TrainConfig  # noqa: E402
from muser_core.features.text_encoder import default_model_path  # noqa: E402
from muser_core.strategies import make_strategy  # noqa: E402
from muser_core.train import Trainer, build  # noqa: E402
from muser_core.train.loop import EpochInProgress  # noqa: E402

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def bert_base_folder(folder: Path) -> Path:
    """A BERT-base-shaped model with random weights (safetensors) and MiniLM's tokenizer."""
    from transformers import BertConfig, BertModel

    for name in TOKENIZER_FILES:
        if (default_model_path() / name).is_file():
            shutil.copy(default_model_path() / name, folder / name)
    torch.manual_seed(0)
    BertModel(BertConfig()).save_pretrained(folder, safe_serialization=True)
    return folder


def epoch_throughput(csv: str, text_model: str, device: str, precision: str, rounds: int) -> tuple[str, list[float]]:
    """Samples/s of the trainer's fine-tuning epochs (after one warm-up epoch), one figure per round."""
    cfg = RunConfig(data=DataConfig(corpus=csv, tasks=["stress"]),
                    model=ModelConfig(modality="both", text_mode="finetune", text_model=text_model),
                    strategy=StrategyConfig(name="single"), train=TrainConfig(device=device, precision=precision))
    cfg, data, model, torch_device = build(cfg)
    trainer = Trainer(model, data, make_strategy(cfg.strategy), cfg, [], torch_device)
    items = len(data.tasks["stress"].splits["train"])
    trainer.train_epoch(EpochInProgress(1, {"stress": 1.0}))  # warm-up: allocator, kernels, first-call costs
    figures = []
    for _ in range(rounds):
        if torch_device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        trainer.train_epoch(EpochInProgress(1, {"stress": 1.0}))
        if torch_device.type == "cuda":
            torch.cuda.synchronize()
        figures.append(items / (time.perf_counter() - started))
    return f"{torch_device} {cfg.train.precision}", figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cuda or cpu")
    parser.add_argument("--batches", type=int, default=32, help="batches of 32 per epoch")
    parser.add_argument("--rounds", type=int, default=2, help="timed epochs per precision, after one warm-up")
    args = parser.parse_args()
    if args.batches < 1 or args.rounds < 1:
        parser.error("--batches and --rounds must be at least 1")
    if args.device == "auto" and not torch.cuda.is_available():
        print("no GPU here: the GPU path is not measured (--device cpu runs the same benchmark on the CPU, slowly)")
        return
    from train_finetune import corpus_csv

    with tempfile.TemporaryDirectory() as tmp:
        csv, name = corpus_csv(Path(tmp), 32 * args.batches)
        model_dir = bert_base_folder(Path(tempfile.mkdtemp(dir=tmp)))
        if torch.cuda.is_available():
            print(f"GPU: {torch.cuda.get_device_name(0)}, bf16 supported: {torch.cuda.is_bf16_supported()}")
        print(f"corpus: {name}; BERT-base-shaped encoder (random weights), modality both, "
              f"{args.batches} batches of 32 per epoch")
        results = {}
        for precision in ("fp32", "auto"):
            label, figures = epoch_throughput(csv, str(model_dir), args.device, precision, args.rounds)
            results[label] = max(figures)
            print(f"{label:12s}: {max(figures):8.1f} samples/s  (rounds: {', '.join(f'{x:.1f}' for x in figures)})")
        if len(results) == 2:
            fp32, other = results.values()
            print(f"bf16 autocast / fp32 = {other / fp32:.2f}x")
        else:
            print("precision auto resolved to fp32 on this device: no bf16 figure")


if __name__ == "__main__":
    main()

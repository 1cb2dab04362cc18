"""Benchmark: fine-tuning throughput of a BERT-base-shaped encoder on a GPU, every mode, fp32 and bf16.

The encoder is ``BertModel(BertConfig())`` (12 layers, hidden 768) with random
weights and MiniLM's tokenizer, so nothing is downloaded; throughput does not
depend on the weights' values. The project's own trainer runs whole epochs of
the stress task in fine-tune mode on ``--device`` (auto: CUDA when present),
for full fine-tuning and each fast mode of ``bench/train_finetune.py``
(``--finetune-layers``, ``--length-buckets``, ``--max-length 0``), on short
sentences (the demo corpus) and on long texts (~110 tokens: five EmoBank
sentences joined), each with fp32 and with bf16 autocast where the device
supports it. ``--cpu-batches N`` also times N batches of each on the CPU and
prints the GPU / CPU ratio.

Meant for a GPU machine: without one it says so and measures nothing, unless
``--device cpu`` asks for the (slow) CPU figures, which also checks the script.

    python bench/gpu_finetune.py [--device auto] [--batches 32] [--rounds 2] [--cpu-batches 2]
                                 [--modes "full,top 1 layer"] [--corpora short,long]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from muser_core.config import DataConfig, ModelConfig, RunConfig, StrategyConfig, TrainConfig  # noqa: E402
from muser_core.features.text_encoder import default_model_path  # noqa: E402
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


def epoch_throughput(csv: str, text_model: str, device: str, precision: str, rounds: int,
                     mode: str = "full") -> tuple[str, list[float]]:
    """Samples/s of the trainer's fine-tuning epochs (after one warm-up epoch), one figure per round."""
    from train_finetune import MODES

    model, train = MODES[mode]
    cfg = RunConfig(data=DataConfig(corpus=csv, tasks=["stress"]),
                    model=replace(ModelConfig(modality="text", text_mode="finetune", text_model=text_model), **model),
                    strategy=StrategyConfig(name="single"),
                    train=replace(TrainConfig(device=device, precision=precision), **train))
    cfg, data, net, torch_device, strategy = build(cfg)
    trainer = Trainer(net, data, strategy, cfg, [], torch_device)
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
    return f"{torch_device.type} {cfg.train.precision}", figures


def main() -> None:
    from train_finetune import MODES, long_texts, short_texts

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cuda or cpu")
    parser.add_argument("--batches", type=int, default=32, help="batches of 32 per epoch")
    parser.add_argument("--rounds", type=int, default=2, help="timed epochs per precision, after one warm-up")
    parser.add_argument("--cpu-batches", type=int, default=0, help="also time this many batches on the CPU "
                                                                   "(fp32, one round) for the GPU / CPU ratio")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated, from: " + ", ".join(MODES))
    parser.add_argument("--corpora", default="short,long")
    args = parser.parse_args()
    if args.batches < 1 or args.rounds < 1 or args.cpu_batches < 0:
        parser.error("--batches and --rounds must be at least 1, --cpu-batches at least 0")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if any(m not in MODES for m in modes):
        parser.error(f"--modes: choose from {', '.join(MODES)}")
    if args.device == "auto" and not torch.cuda.is_available():
        print("no GPU here: the GPU path is not measured (--device cpu runs the same benchmark on the CPU, slowly)")
        return

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MUSER_CACHE_DIR"] = str(Path(tmp) / "cache")
        model_dir = bert_base_folder(Path(tempfile.mkdtemp(dir=tmp)))
        if torch.cuda.is_available():
            print(f"GPU: {torch.cuda.get_device_name(0)}, bf16 supported: {torch.cuda.is_bf16_supported()}")
        print(f"BERT-base-shaped encoder (random weights), text only, {args.batches} batches of 32 per epoch, "
              f"best of {args.rounds} epochs after a warm-up; CPU: {os.cpu_count()} cores")
        corpora = {}
        for corpus in [c.strip() for c in args.corpora.split(",") if c.strip()]:
            if corpus == "long":
                corpora["long texts (5 EmoBank sentences joined)"] = long_texts(Path(tmp), 32 * args.batches, 32)
            elif corpus == "short":
                corpora["short sentences"] = short_texts(Path(tmp), 32 * args.batches, 32)[0]
            else:
                parser.error(f"--corpora: short or long, not {corpus!r}")
        for name, csv in corpora.items():
            print(f"\n== {name}")
            print(f"{'mode':32s} {'fp32 /s':>9s} {'bf16 /s':>9s} {'bf16/fp32':>9s} {'CPU /s':>8s} {'GPU/CPU':>8s}")
            for mode in modes:
                row = {}
                for precision in ("fp32", "auto"):
                    label, figures = epoch_throughput(csv, str(model_dir), args.device, precision, args.rounds, mode)
                    row[label.split()[-1]] = max(figures)
                cpu = None
                if args.cpu_batches:
                    cpu_csv = long_texts(Path(tempfile.mkdtemp(dir=tmp)), 32 * args.cpu_batches, 32) \
                        if name.startswith("long") else short_texts(Path(tempfile.mkdtemp(dir=tmp)),
                                                                    32 * args.cpu_batches, 32)[0]
                    cpu = max(epoch_throughput(cpu_csv, str(model_dir), "cpu", "fp32", 1, mode)[1])
                fp32, bf16 = row.get("fp32"), row.get("bf16")
                best = max(v for v in (fp32, bf16) if v)
                print(f"{mode:32s} {fp32:9.1f} " + (f"{bf16:9.1f} {bf16 / fp32:9.2f} " if bf16 else
                                                   f"{'-':>9s} {'-':>9s} ")
                      + (f"{cpu:8.1f} {best / cpu:8.1f}" if cpu else f"{'-':>8s} {'-':>8s}"))
        print("\nbf16: '-' where precision auto resolved to fp32 (no bf16 on this device). GPU/CPU: the faster "
              "precision on the device against fp32 on this machine's CPU, same mode and corpus.")


if __name__ == "__main__":
    main()

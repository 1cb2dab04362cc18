"""Benchmark: real emotion labels. EmoBank test-split Pearson r of the app's text model, and the sampler at work.

The paper's external-auxiliary setting (4.1, Table 9) on data anyone has:
stress from the demo corpus (SYNTHETIC: espeak-ng voices, scripted text),
activation and valence from EmoBank (REAL ratings, 1..5, shipped in
``data/emobank``), text only. Each mode trains one run through the app's own
trainer (``train_run``) and reports, on EmoBank's own test split (1,000
sentences), the Pearson r and RMSE of the emotion heads against the real
ratings, computed here from the saved model's predictions; then the speed
sampler's task probabilities over the epochs. The checkpoint is the epoch
with the best validation stress accuracy (the app's rule), not the best
emotion epoch, so these r are what a user of such a run gets.

Published figures on the same split and ratings, for reference (not measured
here; both fine-tune a far larger encoder than MiniLM-L6):

- BERT-base fine-tuned, MSE loss: valence r 0.795, arousal r 0.562
  (Buechel, Modersohn and Hahn, EMNLP 2021 code, github.com/JULIELab/emotion-embeddings).
- RoBERTa-large fine-tuned: valence r 0.829, arousal r 0.569
  (Park, Kim, Jeon, Park and Oh, EMNLP 2021, github.com/SungjoonPark/EmotionDetection).

    python bench/real_text.py                          # frozen MiniLM (a few minutes on 2 cores)
    python bench/real_text.py --modes frozen,finetune   # also fine-tuned (slow on a CPU: see --max-epochs)
    python bench/real_text.py --options default,per-task,lexicon --seeds 0,1,2   # the options side by side
    python bench/real_text.py --table9 --seeds 0,1,2,3,4   # Table 9's strategies, EmoBank external (muser sweep)
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from muser_core.base.errors import InputError  # noqa: E402
from muser_core.config import DataConfig, ModelConfig, RunConfig, StrategyConfig, TrainConfig  # noqa: E402
from muser_core.data.emobank import load_emobank  # noqa: E402
from muser_core.predict.run_model import load_trained_model, predict  # noqa: E402
from muser_core.sources import DEMO, EMOBANK  # noqa: E402
from muser_core.train import run_folder as rf  # noqa: E402
from muser_core.train import train_run  # noqa: E402

TASKS = ["stress", "ext_activation", "ext_valence"]
COLUMNS = {"ext_activation": "activation", "ext_valence": "valence"}   # head -> EmoBank's rating (A, V)
PUBLISHED = [("BERT-base fine-tuned (Buechel, Modersohn and Hahn 2021 code)", 0.795, 0.562),
             ("RoBERTa-large fine-tuned (Park et al. 2021)", 0.829, 0.569)]


# The options side by side: name -> (select, lexicon branch, tune head).
OPTIONS = {"default": ("stress", False, False), "per-task": ("per-task", False, False),
           "lexicon": ("stress", True, False), "lexicon+per-task": ("per-task", True, False),
           "tune-head": ("stress", False, True)}


def config(mode: str, strategy: str, max_epochs: int, patience: int, seed: int,
           finetune_layers: int = 0, lr: float | None = None, option: str = "default") -> RunConfig:
    select, lexicon, tune = OPTIONS[option]
    return RunConfig(
        data=DataConfig(corpus=DEMO, external=EMOBANK, tasks=list(TASKS)),
        model=ModelConfig(modality="text", text_mode=mode, finetune_layers=finetune_layers, lexicon_branch=lexicon),
        strategy=StrategyConfig(name=strategy, history=5),
        train=TrainConfig(seed=seed, max_epochs=max_epochs, patience=patience, device="cpu", lr=lr,
                          select=select, tune_head=tune))


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def evaluate(out: Path) -> dict[str, dict[str, float]]:
    """Pearson r and RMSE of each emotion head on EmoBank's test split, from the saved model."""
    model, _, stats = load_trained_model(out)
    test = load_emobank().table.query("split == 'test'")
    pred = predict(model, stats, test["text"].tolist())
    return {head: {"r": pearson(pred[head].to_numpy(), test[column].to_numpy(float)),
                   "rmse": float(np.sqrt(np.mean((pred[head].to_numpy() - test[column].to_numpy(float)) ** 2))),
                   "n": len(test)} for head, column in COLUMNS.items()}


def sampler_line(out: Path) -> str:
    """The speed sampler's probabilities at a few epochs: what it did with the real emotion tasks."""
    records = [r for r in rf.read_metrics(out) if r.get("probabilities")]
    picks = sorted({0, len(records) // 4, len(records) // 2, len(records) - 1}) if records else []
    parts = []
    for i in picks:
        p = records[i]["probabilities"]
        parts.append(f"epoch {records[i]['epoch']}: " + ", ".join(f"{t} {p.get(t, 0):.2f}" for t in TASKS))
    return "; ".join(parts)


def mean_sd(values: list[float]) -> str:
    return f"{np.mean(values):.3f}" + (f" +- {np.std(values, ddof=1):.3f}" if len(values) > 1 else "")


def table9(seeds: list[int], max_epochs: int, patience: int, root: Path) -> None:
    """Table 9's strategies with EmoBank as the external set, through the real ``muser sweep`` command; each
    run's EmoBank test r from its saved model, mean +- sd per strategy beside the sweep's stress F1."""
    out = root / "table9-emobank"
    command = [sys.executable, "-m", "muser_core", "sweep", "--table", "9", "--external", EMOBANK,
               "--modality", "text", "--seeds", ",".join(map(str, seeds)), "--max-epochs", str(max_epochs),
               "--patience", str(patience), "--no-progress", "--out", str(out)]
    print("$ muser " + " ".join(command[3:]), flush=True)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    print(f"{len(seeds)} seeds x 3 strategies in {(time.perf_counter() - started) / 60:.1f} min\n")
    runs = pd.read_csv(out / "runs.csv")
    print("| Table 9 strategy (EmoBank external, frozen MiniLM) | valence r | arousal r | "
          "test stress F1 (synthetic) |")
    print("| --- | --- | --- | --- |")
    for label, rows in runs.groupby("label", sort=False):
        scores = [evaluate(out / run) for run in rows["run"]]
        print(f"| {label} | {mean_sd([s['ext_valence']['r'] for s in scores])} | "
              f"{mean_sd([s['ext_activation']['r'] for s in scores])} | {mean_sd(list(rows['f1']))} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--modes", default="frozen", help="frozen, finetune or both: frozen,finetune")
    parser.add_argument("--strategy", default="speed", help="sampling strategy of the runs (default: speed)")
    parser.add_argument("--max-epochs", type=int, default=100, help="frozen runs' upper bound on epochs")
    parser.add_argument("--finetune-epochs", type=int, default=3,
                        help="fine-tuned runs' epochs (each is minutes on a CPU)")
    parser.add_argument("--patience", type=int, default=20)
    parser.add_argument("--lr", type=float, help="learning rate of every run (default: the paper's for the mode)")
    parser.add_argument("--finetune-layers", default="0",
                        help="fine-tuned runs: comma-separated top-layer counts, 0 for every layer (e.g. 0,2,1)")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds; with several, mean and sd per row")
    parser.add_argument("--options", default="default",
                        help=f"comma-separated, side by side: {', '.join(OPTIONS)} (default: default)")
    parser.add_argument("--out", help="keep the runs here (default: a temporary folder)")
    parser.add_argument("--table9", action="store_true",
                        help="instead: Table 9's three strategies over --seeds with EmoBank external (muser sweep)")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not set(modes) <= {"frozen", "finetune"}:
        parser.error("--modes takes frozen and/or finetune")
    options = [o.strip() for o in args.options.split(",") if o.strip()]
    if not options or not set(options) <= set(OPTIONS):
        parser.error(f"--options takes {', '.join(OPTIONS)}")
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    emobank = load_emobank()
    counts = emobank.table["split"].value_counts()
    print(f"EmoBank (real ratings, CC BY-SA 4.0): train {counts['train']}, validation {counts['validation']}, "
          f"test {counts['test']} sentences; stress from the SYNTHETIC demo corpus; text only")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.out or tmp)
        if args.table9:
            table9(seeds, args.max_epochs, args.patience, root)
            return 0
        runs = [(mode, 0) for mode in modes if mode == "frozen"] + [
            ("finetune", int(k)) for k in args.finetune_layers.split(",") if "finetune" in modes]
        for (mode, layers), option, seed in itertools.product(runs, options, seeds):
            epochs = args.max_epochs if mode == "frozen" else args.finetune_epochs
            if OPTIONS[option][2] and mode != "frozen":
                print(f"{mode} {option}: --tune-head is for a frozen encoder; skipped")
                continue
            cfg = config(mode, args.strategy, epochs, min(args.patience, epochs), seed, layers, args.lr, option)
            name = mode if not layers else f"finetune, top {layers} layer{'s' if layers > 1 else ''}"
            if args.lr is not None:
                name += f", lr {args.lr:g}"
            name += f", {option}"
            out = root / f"emobank-{name.replace(', ', '-').replace(' ', '')}-{args.strategy}-seed{seed}"
            start = time.perf_counter()
            try:
                test = train_run(cfg, out)
            except InputError as exc:
                print(f"{name}: error: {exc}")
                continue
            seconds = time.perf_counter() - start
            if not test:
                print(f"{name}: the run was stopped before its test (Ctrl-C or SIGTERM); no figures")
                continue
            scores = evaluate(out)
            status = rf.read_status(out)
            saved = rf.read_json(out / rf.TEST) or {}
            epochs_from = saved.get("best_epochs") or {}
            print(f"{name} seed {seed}: valence r {scores['ext_valence']['r']:.3f}, arousal r "
                  f"{scores['ext_activation']['r']:.3f}, epochs {status.get('epochs_done')} (best "
                  f"{status.get('best_epoch')}; heads {epochs_from}), {seconds / 60:.1f} min", flush=True)
            rows.append((name, seed, scores, test, status, seconds, sampler_line(out)))
    print()
    print("| text encoder | seeds | valence r | arousal r | valence RMSE | arousal RMSE | test stress accuracy "
          "(synthetic) | wall time per run |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in dict.fromkeys(r[0] for r in rows):
        mine = [r for r in rows if r[0] == name]
        print(f"| MiniLM-L6 {name} (this app, measured) | {','.join(str(r[1]) for r in mine)} | "
              f"{mean_sd([r[2]['ext_valence']['r'] for r in mine])} | {mean_sd([r[2]['ext_activation']['r'] for r in mine])} | "
              f"{mean_sd([r[2]['ext_valence']['rmse'] for r in mine])} | "
              f"{mean_sd([r[2]['ext_activation']['rmse'] for r in mine])} | "
              f"{mean_sd([r[3]['stress']['accuracy'] for r in mine])} | {np.mean([r[5] for r in mine]) / 60:.1f} min |")
    for name, v, a in PUBLISHED:
        print(f"| {name} (published, not measured here) | | {v:.3f} | {a:.3f} | | | | |")
    print()
    for name, seed, *_, line in rows:
        print(f"{name} seed {seed} {args.strategy} sampler, task probabilities: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

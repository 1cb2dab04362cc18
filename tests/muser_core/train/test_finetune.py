"""Fine-tune mode end to end with a tiny BERT built here: short run, stop, exact resume, reload of the best checkpoint."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import StopAtBatch, synthetic_corpus, timeless
from safetensors.torch import load_file

from muser_core.config import DataConfig, ModelConfig, RunConfig, StrategyConfig, TrainConfig
from muser_core.data.corpus import Corpus
from muser_core.features.acoustic import EGEMAPS_FEATURES
from muser_core.features.text_encoder import default_model_path
from muser_core.predict.run_model import load_trained_model, predict
from muser_core.train import run_folder as rf
from muser_core.train import train_run

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    """A 2-layer BERT with random weights (safetensors) and MiniLM's tokenizer: no download."""
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny-bert")
    for name in TOKENIZER_FILES:
        if (default_model_path() / name).is_file():
            shutil.copy(default_model_path() / name, folder / name)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.fixture(scope="module")
def corpus_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "c.csv"
    synthetic_corpus(n_speakers=12, per_speaker=12).save(path)
    return str(path)


def finetune_config(corpus: str, text_model: str) -> RunConfig:
    return RunConfig(data=DataConfig(corpus=corpus, tasks=["stress", "activation", "valence"]),
                     model=ModelConfig(modality="both", text_mode="finetune", text_model=text_model, max_length=32),
                     strategy=StrategyConfig(name="speed", history=1),
                     train=TrainConfig(max_epochs=5, patience=50, save_every_s=3600))






def test_finetune_run_stop_resume_and_reload(tmp_path, tiny_bert, corpus_csv):
    cfg = finetune_config(corpus_csv, str(tiny_bert))
    stopped = tmp_path / "stopped"
    assert train_run(cfg, stopped, callbacks=[StopAtBatch(5)]) == {}  # inside epoch 2 (3 batches an epoch)
    status = rf.read_status(stopped)
    assert status["state"] == "stopped" and status["epoch_in_progress"]["epoch"] == 2
    assert status["resume_bytes"] == (stopped / rf.RESUME).stat().st_size > 0
    test = train_run(None, stopped, resume=True)
    straight = tmp_path / "straight"
    assert train_run(cfg, straight) == test
    assert timeless(rf.read_metrics(stopped)) == timeless(rf.read_metrics(straight))

    # The Transformer was trained: its weights are in the checkpoint and differ from the initial ones.
    weights = load_file(str(straight / rf.CHECKPOINT))
    encoder = [k for k in weights if k.startswith("text_encoder.")]
    assert encoder
    initial = load_file(str(tiny_bert / "model.safetensors"))
    name = next(k for k in encoder if k.endswith("encoder.layer.0.attention.self.query.weight"))
    assert not torch.equal(weights[name], initial[name.removeprefix("text_encoder.transformer.")])

    # The best checkpoint, reloaded from its folder, reproduces the test metrics from raw text and features.
    model, loaded_cfg, stats = load_trained_model(straight)
    assert loaded_cfg.model.text_mode == "finetune" and loaded_cfg.model.text_dim == 32
    table = Corpus.load(corpus_csv).table
    rows = table[table["split"] == "test"]
    pred = predict(model, stats, rows["text"].tolist(), rows[EGEMAPS_FEATURES],
                   speakers=(rows["dataset"] + ":" + rows["speaker"]).tolist())
    accuracy = np.mean((pred["stress_probability"].to_numpy() > 0.5) == rows["stress"].to_numpy())
    assert accuracy == pytest.approx(test["stress"]["accuracy"])
    assert json.loads((straight / rf.TEST).read_text())["best_epoch"] == rf.read_status(straight)["best_epoch"]


def test_time_batches_measures_this_machine(tiny_bert, corpus_csv):
    """The Train page's estimate: a few real training steps, timed; nothing typed in."""
    from muser_core.train.run import time_batches

    table = Corpus.load(corpus_csv).table
    result = time_batches(finetune_config(corpus_csv, str(tiny_bert)), batches=2)
    assert result["batches"] == 2 and result["samples_per_s"] == pytest.approx(64 / result["seconds"])
    assert result["epoch_items"] == int((table["split"] == "train").sum())

"""Fine-tune mode end to end with a tiny BERT built here: short run, stop, exact resume, reload of the best checkpoint."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import StopAtBatch, synthetic_corpus, timeless
from safetensors.torch import load_file

from muser_core.base.errors import InputError
from muser_core.config import (
    DataConfig,
    ModelConfig,
    RunConfig,
    StrategyConfig,
    TrainConfig,
    paper_preset,
)
from muser_core.data.corpus import Corpus
from muser_core.features.acoustic import EGEMAPS_FEATURES
from muser_core.features.text_encoder import token_lengths
from muser_core.predict.run_model import load_trained_model, predict
from muser_core.train import Trainer, build, train_run
from muser_core.train import run_folder as rf
from muser_core.train.loop import Callback


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


class StopInsideBatch(Callback):
    """SIGTERM arriving while batch ``batch`` is in layer 1's forward pass, or in the backward pass
    (when the gradient of layer 1's first weight is computed): the trainer must not wait for the batch."""

    def __init__(self, batch: int, phase: str):
        self.batch, self.phase, self.finished, self.trainer = batch, phase, 0, None

    def on_fit_start(self, trainer):
        self.trainer = trainer
        layer = trainer.model.text_encoder.transformer.encoder.layer[1]
        if self.phase == "forward":
            layer.register_forward_pre_hook(self.arrive)
        else:
            next(layer.parameters()).register_hook(self.arrive)

    def arrive(self, *_):
        if self.trainer.in_step and self.finished == self.batch - 1:
            self.trainer.stop_requested = True

    def on_batch_end(self, trainer, task, idx, loss):
        self.finished += 1


@pytest.mark.parametrize("phase", ["forward", "backward"])
def test_a_stop_inside_a_batch_abandons_it_and_resumes_exactly(tmp_path, tiny_bert, corpus_csv, phase):
    """A stop lands between layers; the abandoned batch leaves no trace, and a resume trains it."""
    cfg = finetune_config(corpus_csv, str(tiny_bert))
    stopped = tmp_path / "stopped"
    stop = StopInsideBatch(6, phase)  # the second batch of epoch 2 (4 batches an epoch)
    assert train_run(cfg, stopped, callbacks=[stop]) == {}
    assert stop.finished == 5  # batch 6 never ended
    progress = rf.read_status(stopped)["epoch_in_progress"]
    assert progress["epoch"] == 2 and progress["drawn"] == 32
    test = train_run(None, stopped, resume=True)
    straight = tmp_path / "straight"
    assert train_run(cfg, straight) == test
    assert timeless(rf.read_metrics(stopped)) == timeless(rf.read_metrics(straight))


def test_time_batches_measures_this_machine(tiny_bert, corpus_csv):
    """The Train page's estimate: a few real training steps, timed; nothing typed in."""
    from muser_core.train.run import time_batches

    table = Corpus.load(corpus_csv).table
    result = time_batches(finetune_config(corpus_csv, str(tiny_bert)), batches=2)
    assert result["batches"] == 2 and result["samples_per_s"] == pytest.approx(64 / result["seconds"])
    assert result["epoch_items"] == int((table["split"] == "train").sum())


def test_time_batches_trains_as_a_run_does(tiny_bert, corpus_csv, monkeypatch):
    """The estimate times the computation a run performs: every module in training mode (the encoder's dropout
    on, as in an epoch), a first batch of each task left out, then the timed batches of the tasks in turn."""
    from muser_core.train.run import time_batches

    seen, step = [], Trainer.step

    def spied_step(self, task, idx):
        seen.append((task, [name for name, m in self.model.named_modules() if not m.training]))
        return step(self, task, idx)

    monkeypatch.setattr(Trainer, "step", spied_step)
    time_batches(finetune_config(corpus_csv, str(tiny_bert)), batches=4)
    assert [task for task, _ in seen] == ["stress", "activation", "valence"] * 2 + ["stress"]
    assert all(not in_eval for _, in_eval in seen), seen[0][1][:5]


FAST_MODES = {"top layer": ({"finetune_layers": 1}, {}),
              "length buckets": ({}, {"length_buckets": 2}),
              "top layer, buckets, max length from the data": ({"finetune_layers": 1, "max_length": 0},
                                                               {"length_buckets": 2})}


@pytest.mark.parametrize("mode", list(FAST_MODES))
def test_fast_modes_stop_and_resume_exactly(tmp_path, tiny_bert, corpus_csv, monkeypatch, mode):
    """Every fast mode continues exactly after a stop; the resume state holds no best weights and,
    with --finetune-layers, none of the frozen layers."""
    monkeypatch.setenv("MUSER_CACHE_DIR", str(tmp_path / "cache"))
    model, train = FAST_MODES[mode]
    base = finetune_config(corpus_csv, str(tiny_bert))
    cfg = replace(base, model=replace(base.model, **model), train=replace(base.train, **train))
    stopped = tmp_path / "stopped"
    assert train_run(cfg, stopped, callbacks=[StopAtBatch(5)]) == {}
    state = torch.load(stopped / rf.RESUME, weights_only=True)
    assert "best_state" not in state
    if model.get("finetune_layers"):
        assert state["model"] and not any(k.startswith(("text_encoder.transformer.embeddings.",
                                                        "text_encoder.transformer.encoder.layer.0."))
                                          for k in state["model"])
        assert any(k.startswith("text_encoder.transformer.encoder.layer.1.") for k in state["model"])
    test = train_run(None, stopped, resume=True)
    straight = tmp_path / "straight"
    assert train_run(cfg, straight) == test
    assert timeless(rf.read_metrics(stopped)) == timeless(rf.read_metrics(straight))
    saved = rf.read_config(straight)
    if model.get("max_length") == 0:  # the chosen length is what config.json repeats
        lengths = token_lengths(Corpus.load(corpus_csv).table["text"].tolist(), tiny_bert)
        assert saved.model.max_length == int(np.ceil(np.percentile(lengths, 99) / 8) * 8)
    weights = load_file(str(straight / rf.CHECKPOINT))
    initial = load_file(str(tiny_bert / "model.safetensors"))
    for layer, trained in ((0, not model.get("finetune_layers")), (1, True)):
        name = f"text_encoder.transformer.encoder.layer.{layer}.attention.self.query.weight"
        assert torch.equal(weights[name], initial[name.removeprefix("text_encoder.transformer.")]) != trained
    # The checkpoint (lower layers included) reads raw text: the reloaded model scores the test split alike.
    reloaded, loaded_cfg, stats = load_trained_model(straight)
    rows = Corpus.load(corpus_csv).table.query("split == 'test'")
    pred = predict(reloaded, stats, rows["text"].tolist(), rows[EGEMAPS_FEATURES],
                   speakers=(rows["dataset"] + ":" + rows["speaker"]).tolist())
    accuracy = np.mean((pred["stress_probability"].to_numpy() > 0.5) == rows["stress"].to_numpy())
    assert accuracy == pytest.approx(test["stress"]["accuracy"])


def test_the_top_layers_score_what_the_whole_model_scores(tmp_path, tiny_bert, corpus_csv, monkeypatch):
    """Before training (same seed, same weights) the cached path and full fine-tuning predict alike (1e-5)."""
    monkeypatch.setenv("MUSER_CACHE_DIR", str(tmp_path / "cache"))
    base = finetune_config(corpus_csv, str(tiny_bert))
    outputs = []
    for k in (0, 1):
        cfg, data, model, device, strategy = build(replace(base, model=replace(base.model, finetune_layers=k)))
        trainer = Trainer(model, data, strategy, cfg, device=device)
        assert ("hidden_states" in data.batch(torch.arange(3))) == bool(k)
        outputs.append(trainer.predictions("validation"))
        trained = {n for n, p in model.named_parameters() if p.requires_grad and n.startswith("text_encoder.")}
        assert all(".layer.1." in n for n in trained) if k else any(".layer.0." in n for n in trained)
    for task, (labels, pred) in outputs[0].items():
        assert np.array_equal(labels, outputs[1][task][0])
        if task != "stress":
            np.testing.assert_allclose(outputs[1][task][1], pred, atol=1e-5)
    # Stress predictions are classes; compare the logits themselves on a padded batch of the same items.
    idx = data.tasks["stress"].splits["validation"]
    with torch.no_grad():
        cfg0, data0, model0, _, _ = build(base)
        model0.eval(), model.eval()
        whole = model0.head("stress", model0.encode(data0.batch(idx)))
        split = model.head("stress", model.encode(data.batch(idx)))
    torch.testing.assert_close(split, whole, atol=1e-5, rtol=1e-5)


def test_finetune_layers_is_refused_where_it_cannot_apply(tiny_bert, corpus_csv):
    base = finetune_config(corpus_csv, str(tiny_bert))
    with pytest.raises(InputError, match="needs --text-mode finetune"):
        replace(base, model=replace(base.model, text_mode="frozen", finetune_layers=1)).resolved()
    with pytest.raises(InputError, match="this model has 2 layers, so give 1 to 1"):
        build(replace(base, model=replace(base.model, finetune_layers=2)))
    assert paper_preset(replace(base, model=replace(base.model, finetune_layers=1))).model.finetune_layers == 0


def test_a_run_opens_its_text_model_once_and_builds_its_strategy_once(tmp_path, tiny_bert, corpus_csv,
                                                                     monkeypatch):
    """One training process: the model folder checked, hashed and tokenized from once, one strategy object."""
    import transformers

    from muser_core import strategies
    from muser_core.features import text_encoder

    monkeypatch.setenv("MUSER_CACHE_DIR", str(tmp_path / "cache"))
    counts = {"open": 0, "tokenizer": 0, "strategy": 0}

    def counted(name, real):
        def call(*args, **kwargs):
            counts[name] += 1
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(text_encoder, "resolve_model_path", counted("open", text_encoder.resolve_model_path))
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained",
                        counted("tokenizer", transformers.AutoTokenizer.from_pretrained))
    monkeypatch.setattr(strategies.registry, "make_strategy", counted("strategy", strategies.registry.make_strategy))
    import muser_core.config as config_module
    monkeypatch.setattr(config_module, "make_strategy", counted("strategy", config_module.make_strategy))
    cfg = finetune_config(corpus_csv, str(tiny_bert))
    train_run(replace(cfg, model=replace(cfg.model, finetune_layers=1), train=replace(cfg.train, max_epochs=1)),
              tmp_path / "run")
    assert counts == {"open": 2, "tokenizer": 1, "strategy": 1}   # open: the config check, then the run's data

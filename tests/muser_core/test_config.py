"""Settings: one declaration per setting, every value checked in one place, config.json holds effective values."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from muser_core.base.errors import InputError
from muser_core.config import RunConfig, StrategyConfig, TrainConfig, settings
from muser_core.features.text_encoder import DEFAULT_TEXT_MODEL


def test_every_setting_has_help_and_a_unique_flag():
    all_settings = settings()
    assert all(s.help for s in all_settings)
    flags = [s.flag for s in all_settings if s.cli]
    assert len(flags) == len(set(flags))
    assert {"--lr", "--rho", "--temperature", "--strategy", "--save-every"} <= set(flags)


@pytest.mark.parametrize("section, name, value, message", [
    ("train", "lr", float("nan"), "train.lr (--lr): must be a finite number"),
    ("train", "lr", float("inf"), "must be a finite number"),
    ("train", "lr", 0.0, "must be above 0"),
    ("train", "lr", "fast", "must be a number"),
    ("strategy", "rho", float("nan"), "strategy.rho (--rho): must be a finite number"),
    ("strategy", "temperature", float("nan"), "must be a finite number"),
    ("train", "weight_decay", -1.0, "must be at least 0"),
    ("train", "clip_norm", float("nan"), "must be a finite number"),
    ("train", "max_epochs", 0, "must be at least 1"),
    ("train", "max_epochs", 2.5, "must be a whole number"),
    ("train", "seed", True, "must be a whole number"),
    ("model", "head_dropout", 1.5, "must be at most"),
    ("model", "modality", "video", "unknown modality 'video'"),
    ("strategy", "name", "magic", "unknown strategy 'magic'"),
    ("data", "tasks", ["stress", "arousal"], "unknown task 'arousal'"),
    ("data", "tasks", "stress", "must be a list"),
])
def test_bad_values_are_one_line_naming_the_setting(section, name, value, message):
    cfg = RunConfig()
    cfg = replace(cfg, **{section: replace(getattr(cfg, section), **{name: value})})
    with pytest.raises(InputError, match=message.replace("(", "\\(").replace(")", "\\)")):
        cfg.resolved()


def test_resolved_config_holds_every_effective_value():
    cfg = RunConfig().resolved()
    values = json.loads(cfg.to_json())
    # An empty list is a value only where "none" is one: no task reads the text half alone (every set has audio).
    nulls = [f"{s}.{k}" for s, section in values.items() for k, v in section.items()
             if v is None or (v == [] and k != "text_only_tasks")]
    assert nulls == [] and values["model"]["text_only_tasks"] == []
    assert cfg.train.lr == 3e-4 and cfg.data.tasks == ["stress", "activation", "valence"]
    assert cfg.model.text_model == DEFAULT_TEXT_MODEL
    assert RunConfig.from_json(cfg.to_json()).resolved() == cfg


@pytest.mark.parametrize("text, message", [
    ('{"data": 5}', "section 'data' must be an object of settings"),
    ("[1, 2]", "must be a JSON object"),
    ('{"train": {"lr": "fast"}}', None),  # parsed; refused when resolved
    ('{"optimizer": {}}', "unknown section 'optimizer'"),
    ("{", "not valid JSON"),
])
def test_config_files_of_the_wrong_shape_are_one_line(text, message):
    if message is None:
        with pytest.raises(InputError, match="must be a number"):
            RunConfig.from_json(text).resolved()
    else:
        with pytest.raises(InputError, match=message):
            RunConfig.from_json(text)


def test_older_config_files_are_carried_over():
    """config.json of the previous version: null meant 'the default', temperature meant rho for speed."""
    old = RunConfig().to_dict()
    del old["strategy"]["rho"], old["strategy"]["temperature"]
    old["strategy"].update(name="speed", temperature=0.2)
    old["model"]["text_model"] = ""
    cfg = RunConfig.from_dict(old)
    assert cfg.strategy == StrategyConfig(name="speed", rho=0.2)
    assert cfg.model.text_model == DEFAULT_TEXT_MODEL
    old["strategy"]["temperature"] = None
    assert RunConfig.from_dict(old).strategy.rho == 0.1
    assert TrainConfig().lr is None and RunConfig.from_dict(old).resolved().train.lr == 3e-4


@pytest.mark.parametrize(("text_mode", "finetune_layers", "lr", "expected"), [
    ("finetune", 0, None, 2e-5),    # the paper's text rate (5.2) for full fine-tuning
    ("finetune", 2, None, 1e-4),    # top layers only: the rate measured on EmoBank (bench/real_text.py)
    ("finetune", 2, 3e-5, 3e-5),    # a rate the user gives is kept
    ("frozen", 0, None, 5e-4),
])
def test_the_default_learning_rate_follows_what_trains(text_mode, finetune_layers, lr, expected):
    cfg = RunConfig.from_dict({"model": {"modality": "text", "text_mode": text_mode,
                                         "finetune_layers": finetune_layers},
                               "data": {"tasks": ["stress"]}, "train": {"lr": lr}})
    assert cfg.resolved().train.lr == pytest.approx(expected, rel=1e-12)

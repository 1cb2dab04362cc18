"""The command line: flags generated from the settings, one-line errors, --resume refuses other flags."""

from __future__ import annotations

import argparse
import shlex

import pytest

from muser_core.base.errors import InputError
from muser_core.cli import run_command
from muser_core.config import RunConfig, settings
from muser_core.train.cli import add_config_flags, command_line, config_from_args, parse_seeds

main = run_command("train")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_config_flags(parser)
    return parser


def test_every_command_line_setting_is_a_flag_with_its_help():
    parser = _parser()
    by_flag = {a.option_strings[0]: a for a in parser._actions if a.option_strings}
    for s in settings():
        if s.cli:
            assert s.flag in by_flag and by_flag[s.flag].help.startswith(s.help)


def test_command_line_round_trip():
    cfg = RunConfig()
    cfg.strategy.history, cfg.data.tasks, cfg.train.seed = 10, ["stress", "activation"], 3
    cfg.train.lr, cfg.strategy.rho = 1e-3, 0.25
    line = command_line(cfg, "runs/x")
    flags = shlex.split(line)[2:-2]  # drop 'muser train' and '--out runs/x'
    assert config_from_args(_parser().parse_args(flags)).resolved() == cfg.resolved()


def test_config_file_then_flags(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(RunConfig().resolved().to_json())
    cfg = config_from_args(_parser().parse_args(["--config", str(path), "--seed", "7"]))
    assert cfg.train.seed == 7 and cfg.train.lr == 3e-4


@pytest.mark.parametrize("text, seeds", [("0", [0]), ("0,1, 2", [0, 1, 2]), ("0-3", [0, 1, 2, 3]), ("1,1", [1])])
def test_parse_seeds(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["", "a", "abc", "1;2", "0-99", "5-2", "-1"])
def test_parse_seeds_rejects(text):
    with pytest.raises(InputError):
        parse_seeds(text)


def _error(capsys, *argv) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    return err


@pytest.mark.parametrize("flags, message", [
    (["--lr", "nan"], "must be a finite number (got nan)"),
    (["--temperature", "nan", "--strategy", "dwa"], "must be a finite number"),
    (["--rho", "nan"], "must be a finite number"),
    (["--lr", "fast"], "argument --lr: not a number: 'fast'"),
    (["--max-epochs", "2.5"], "argument --max-epochs: not a whole number"),
    (["--config", '{"data": 5}'], "section 'data' must be an object"),
    (["--config", "[1]"], "must be a JSON object"),
    (["--config", '{"train": {"seed": "x"}}'], "train.seed (--seed): must be a whole number"),
])
def test_bad_settings_are_one_line_before_anything_is_written(tmp_path, capsys, flags, message):
    out = tmp_path / "run"
    assert message in _error(capsys, *flags, "--out", str(out), "--no-progress")
    assert not out.exists()


def test_out_that_is_a_file_or_a_folder_of_other_files_is_refused(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert "is a file" in _error(capsys, "--out", str(tmp_path / "file"))
    data = tmp_path / "data"
    data.mkdir()
    (data / "metrics.jsonl").write_text("mine\n")
    (data / "notes.txt").write_text("mine")
    assert "holds other files" in _error(capsys, "--out", str(data))
    assert (data / "metrics.jsonl").read_text() == "mine\n"


def test_resume_refuses_other_settings_in_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(RunConfig().resolved().to_json())
    err = _error(capsys, "--out", str(run), "--resume", "--lr", "0.1", "--seed", "3")
    assert "--resume continues with the run's saved settings; drop --seed, --lr" in err
    assert "not a run folder" in _error(capsys, "--out", str(tmp_path / "nothing"), "--resume")
    assert "give --out" in _error(capsys, "--seed", "1")
    assert "letters, digits" in _error(capsys, "--name", "my run!")


def test_paper_preset_sets_the_papers_values_and_flags_still_override():
    from muser_core.config import PAPER_SETTINGS

    cfg = config_from_args(_parser().parse_args(["--paper"])).resolved()
    for (section, name), value in PAPER_SETTINGS.items():
        if value is not None:
            assert getattr(getattr(cfg, section), name) == value, (section, name)
    assert cfg.train.lr == 3e-4  # the paper's multimodal rate
    text = config_from_args(_parser().parse_args(["--paper", "--modality", "text", "--max-length", "64"])).resolved()
    assert text.train.lr == 2e-5 and text.model.max_length == 64 and text.model.text_mode == "finetune"


def test_paper_preset_says_what_still_differs(tmp_path, capsys):
    from muser_core.config import PAPER_DEVIATIONS

    assert main(["--paper", "--lr", "nan", "--out", str(tmp_path / "r")]) == 2  # stops before training
    err = capsys.readouterr().err
    for what, _, _ in PAPER_DEVIATIONS:
        assert f"- {what}:" in err


def test_the_training_docs_list_every_paper_setting_and_deviation():
    from muser_core.base.paths import CHECKOUT as REPO_ROOT
    from muser_core.config import PAPER_DEVIATIONS, PAPER_SETTINGS

    page = (REPO_ROOT / "docs" / "training.md").read_text()
    start = page.index("## Paper settings")
    table = page[start:page.index("\n## ", start + 1)]
    for section, name in PAPER_SETTINGS:
        assert f"`{section}.{name}`" in table, (section, name)
    for what, _, _ in PAPER_DEVIATIONS:
        assert what in table

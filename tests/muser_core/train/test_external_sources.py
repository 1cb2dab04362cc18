"""The paper's external-auxiliary setting (4.1, Table 9) with data sets by name: stress from one table,
activation and valence from another, each on its own scale, the run's data record naming both."""

from __future__ import annotations

import json

import pytest
from conftest import write_dreaddit, write_emobank

from muser_core.base.errors import InputError
from muser_core.cli import run_command
from muser_core.config import DataConfig, RunConfig
from muser_core.data.dreaddit import load_dreaddit
from muser_core.data.emobank import load_emobank
from muser_core.train import run_folder as rf

main = run_command("train")


@pytest.mark.slow
def test_a_text_only_speed_run_on_dreaddit_with_emobank_as_the_external_set(tmp_path, runs_root, monkeypatch, capsys):
    dreaddit, emobank = write_dreaddit(tmp_path / "Dreaddit"), write_emobank(tmp_path / "EmoBank")
    monkeypatch.setenv("MUSER_DREADDIT_ROOT", str(dreaddit))   # --corpus dreaddit reads it
    out = tmp_path / "run"
    # No --tasks: the corpus's own labelled task (stress) and the external set's two.
    assert main(["--corpus", "dreaddit", "--external", f"emobank:{emobank}", "--modality", "text",
                 "--strategy", "speed", "--history", "1",
                 "--max-epochs", "3", "--patience", "3", "--threads", "1", "--out", str(out), "--no-progress"]) == 0, \
        capsys.readouterr().err
    cfg = rf.read_config(out)
    # config.json holds each location, so the run repeats without the environment variable.
    assert cfg.data.corpus == f"dreaddit:{dreaddit.resolve()}" and cfg.data.external == f"emobank:{emobank.resolve()}"
    record = json.loads((out / rf.DATA).read_text())
    assert record["datasets"]["main"]["name"] == "Dreaddit" and record["datasets"]["main"]["tasks"] == ["stress"]
    assert record["datasets"]["external"]["name"] == "EmoBank"
    assert record["datasets"]["external"]["licence"].startswith("CC BY-SA 4.0")
    assert record["datasets"]["main"]["licence"].startswith("research use")
    stress, valence = record["tasks"]["stress"], record["tasks"]["ext_valence"]
    main_table, external_table = load_dreaddit(dreaddit).table, load_emobank(emobank).table
    assert stress["items"] == {s: int((main_table["split"] == s).sum()) for s in ("train", "validation", "test")}
    assert valence["items"] == {s: int((external_table["split"] == s).sum()) for s in ("train", "validation", "test")}
    assert valence["label_scale"] == [1.0, 5.0] and valence["source"] == "EmoBank"
    records = rf.read_metrics(out)
    assert set(records[-1]["val"]) == {"stress", "ext_activation", "ext_valence"}
    assert set(records[1]["probabilities"]) == {"stress", "ext_activation", "ext_valence"}
    test = json.loads((out / rf.TEST).read_text())["metrics"]
    assert {"rmse", "ccc"} <= set(test["ext_valence"]) and "accuracy" in test["stress"]


def test_a_source_on_disk_without_its_location_is_one_line(monkeypatch):
    monkeypatch.delenv("MUSER_DREADDIT_ROOT", raising=False)
    with pytest.raises(InputError, match=r"give the location of the dreaddit data as dreaddit:DIR \(or set "
                                         r"MUSER_DREADDIT_ROOT\)"):
        RunConfig(data=DataConfig(corpus="dreaddit")).resolved()
    with pytest.raises(InputError, match="ext_activation/ext_valence need an external emotion set .*emobank"):
        RunConfig(data=DataConfig(tasks=["stress", "ext_valence"])).resolved()


def test_an_external_set_no_task_uses_is_refused_and_no_tasks_means_the_data_sets_own(tmp_path, capsys):
    assert main(["--corpus", "demo", "--external", "emobank", "--tasks", "stress,activation,valence",
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("error: --external emobank: no chosen task uses it (tasks stress,activation,valence); add "
                   "ext_activation,ext_valence to --tasks, or drop --external")
    assert not (tmp_path / "run").exists()
    tasks = RunConfig(data=DataConfig(corpus=f"dreaddit:{tmp_path}", external="emobank")).resolved().data.tasks
    assert tasks == ["stress", "ext_activation", "ext_valence"]
    assert RunConfig(data=DataConfig(corpus="demo")).resolved().data.tasks == ["stress", "activation", "valence"]
    with_external = RunConfig(data=DataConfig(corpus="demo", external="emobank")).resolved().data.tasks
    assert with_external == ["stress", "activation", "valence", "ext_activation", "ext_valence"]


def test_a_table_without_the_asked_task_says_which_tasks_it_has(tmp_path, runs_root, capsys):
    dreaddit = write_dreaddit(tmp_path / "Dreaddit")
    assert main(["--corpus", f"dreaddit:{dreaddit}", "--modality", "text", "--tasks", "stress,valence",
                 "--max-epochs", "1", "--out", str(tmp_path / "run"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "task 'valence' has no labels in corpus 'Dreaddit' (it has labels for: stress" in err


@pytest.mark.slow
def test_a_both_modality_run_learns_a_text_only_sets_emotion_from_the_text_half(tmp_path, runs_root, capsys):
    """EmoBank has no audio: in a model that also hears the voice, its heads read the text side only, its
    sentences stay out of the acoustic statistics, and the voice cannot move their output."""
    import numpy as np
    from conftest import synthetic_corpus
    from safetensors.torch import load_file

    from muser_core.features.acoustic import EGEMAPS_FEATURES
    from muser_core.predict.run_model import load_trained_model, predict

    corpus = tmp_path / "voiced.csv"
    synthetic_corpus().save(corpus)
    emobank = write_emobank(tmp_path / "EmoBank")
    out = tmp_path / "run"
    assert main(["--corpus", str(corpus), "--external", f"emobank:{emobank}", "--modality", "both",
                 "--tasks", "stress,ext_activation,ext_valence", "--strategy", "uniform", "--max-epochs", "2",
                 "--threads", "1", "--out", str(out), "--no-progress"]) == 0, capsys.readouterr().err
    cfg = rf.read_config(out)
    assert cfg.model.text_only_tasks == ["ext_activation", "ext_valence"]
    weights = load_file(str(out / rf.CHECKPOINT))
    assert weights["heads.stress.weight"].shape == (2, 512) and weights["heads.ext_valence.1.weight"].shape == (1, 256)
    normaliser = json.loads((out / rf.NORMALISER).read_text())
    assert not any(s.startswith("emobank:") for s in normaliser["acoustic"]["speakers"])
    assert any("EmoBank has no audio" in n for n in json.loads((out / rf.DATA).read_text())["notes"])
    model, _, stats = load_trained_model(out)
    texts = ["I am terrified I will fail this exam", "what a lovely calm afternoon"]
    rng = np.random.default_rng(0)
    a = predict(model, stats, texts, rng.normal(5, 2, (2, len(EGEMAPS_FEATURES))))
    b = predict(model, stats, texts, rng.normal(-5, 2, (2, len(EGEMAPS_FEATURES))))
    np.testing.assert_allclose(a["ext_valence"], b["ext_valence"], rtol=0, atol=1e-6)   # the voice does not move it
    assert not np.allclose(a["stress_probability"], b["stress_probability"])             # it moves stress

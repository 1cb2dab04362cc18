"""The lexicon branch: word-category scores beside the text vector, in training, in config.json, live."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
from conftest import StopAtBatch, speak, timeless

from muser_core.base.errors import InputError
from muser_core.cli import run_command
from muser_core.config import DataConfig, ModelConfig, RunConfig, StrategyConfig, TrainConfig
from muser_core.data.corpus import Corpus
from muser_core.features.acoustic import EGEMAPS_FEATURES
from muser_core.features.lexicon import default_lexicon
from muser_core.features.text import tokenize
from muser_core.predict.clip import prepare_clip
from muser_core.predict.run_model import LivePredictor, load_trained_model, predict
from muser_core.train import build, train_run
from muser_core.train import run_folder as rf

TASKS = ["stress", "activation", "valence"]


def config(corpus: str, modality: str = "both", **model) -> RunConfig:
    return RunConfig(data=DataConfig(corpus=corpus, tasks=TASKS),
                     model=ModelConfig(modality=modality, lexicon_branch=True, **model),
                     strategy=StrategyConfig(name="uniform"), train=TrainConfig(max_epochs=6, patience=50))


@pytest.fixture(scope="module")
def text_run(tmp_path_factory, corpus_csv):
    out = tmp_path_factory.mktemp("lexicon") / "run"
    return out, train_run(config(corpus_csv, "text"), out)


def independent_scores(texts: list[str]) -> np.ndarray:
    """log(1 + WC) and each category's percent of words, counted here word by word (the open dictionary)."""
    lexicon = default_lexicon()
    rows = []
    for text in texts:
        words = tokenize(text)
        counts = dict.fromkeys(lexicon.categories, 0)
        for word in words:   # the synthetic corpus' sentences hold no phrase entries of the open dictionary
            for category in lexicon.categories_of(word):
                counts[category] += 1
        rows.append([np.log1p(len(words))] + [100 * counts[c] / max(len(words), 1) for c in lexicon.categories])
    return np.array(rows)


def test_the_branch_reads_z_scored_category_scores_of_the_training_texts(corpus_csv):
    cfg, data, model, _, _ = build(config(corpus_csv))
    table = Corpus.load(corpus_csv).table
    raw = independent_scores(table["text"].tolist())
    train = table["split"].to_numpy() == "train"
    std = raw[train].std(0)
    expected = np.clip((raw - raw[train].mean(0)) / np.where(std > 1e-9, std, 1), -5, 5)
    np.testing.assert_allclose(data.features["lexicon"].numpy(), expected, atol=1e-4)
    assert cfg.model.n_lexicon == raw.shape[1] == len(data.lexicon["columns"])
    assert model.lexicon is not None and model.heads["stress"].in_features == 3 * cfg.model.hidden_size


def test_off_by_default_and_the_model_is_the_same_as_without_it(corpus_csv):
    plain = RunConfig(data=DataConfig(corpus=corpus_csv, tasks=TASKS), strategy=StrategyConfig(name="uniform"))
    cfg, data, model, _, _ = build(plain)
    assert not cfg.model.lexicon_branch and "lexicon" not in data.features and model.lexicon is None
    assert not any(name.startswith("lexicon.") for name in model.state_dict())


def test_a_lexicon_run_is_recorded_and_its_folder_predicts_what_it_tested(text_run, corpus_csv):
    out, test = text_run
    saved = json.loads((out / rf.CONFIG).read_text())["model"]
    assert saved["lexicon_branch"] is True and saved["lexicon_dic"] == "" and saved["n_lexicon"] == 69
    assert json.loads((out / rf.NORMALISER).read_text())["lexicon"]["columns"][0] == "WC"
    model, _, stats = load_trained_model(out)
    rows = Corpus.load(corpus_csv).table.query("split == 'test'")
    pred = predict(model, stats, rows["text"].tolist(), rows[EGEMAPS_FEATURES])
    accuracy = np.mean((pred["stress_probability"].to_numpy() > 0.5) == rows["stress"].to_numpy())
    assert accuracy == pytest.approx(test["stress"]["accuracy"])


def test_the_live_predictor_scores_the_transcripts_words(text_run, tmp_path):
    """Two transcripts differing in their words only: the branch's input differs, so the output does."""
    out, _ = text_run
    live = LivePredictor(out)
    clip = prepare_clip(speak(tmp_path / "s.wav", "I can not stop worrying about tomorrow"))
    worried = live.predict(clip, "I can not stop worrying about tomorrow, I am so anxious and afraid")
    calm = live.predict(clip, "we had a lovely calm afternoon in the sunny garden")
    assert worried.scored and calm.scored
    assert worried.stress_probability != calm.stress_probability
    # Without the branch's statistics the folder is refused in one line, before the model loads.
    stats = json.loads((out / rf.NORMALISER).read_text())
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    (broken / rf.NORMALISER).write_text(json.dumps({k: v for k, v in stats.items() if k != "lexicon"}))
    with pytest.raises(InputError, match="no lexicon statistics"):
        LivePredictor(broken)


def test_a_users_dictionary_drives_the_branch(tmp_path, corpus_csv):
    dic = tmp_path / "mine.dic"
    dic.write_text("%\n1\tworry\n2\tcalm\n%\nworr*\t1\nanxi*\t1\ncalm*\t2\nrelax*\t2\n")
    cfg, data, _, _, _ = build(config(corpus_csv, "text", lexicon_dic=str(dic)))
    assert data.lexicon["columns"] == ["WC", "worry", "calm"] and cfg.model.n_lexicon == 3
    assert cfg.model.lexicon_dic == str(dic.resolve())


def test_a_lexicon_run_resumes_exactly(tmp_path, corpus_csv):
    cfg = config(corpus_csv)
    out = tmp_path / "stopped"
    assert train_run(cfg, out, callbacks=[StopAtBatch(20)]) == {}
    assert train_run(None, out, resume=True)
    train_run(cfg, tmp_path / "straight")
    assert timeless(rf.read_metrics(out)) == timeless(rf.read_metrics(tmp_path / "straight"))


@pytest.mark.parametrize("flags,message", [
    (["--modality", "audio", "--lexicon-branch"], "needs --modality text or both"),
    (["--lexicon-dic", "x.dic"], "add --lexicon-branch"),
    (["--lexicon-branch", "--lexicon-dic", "/no/such.dic"], "no such file"),
])
def test_bad_lexicon_settings_are_one_line(flags, message, corpus_csv, tmp_path, capsys):
    assert run_command("train")(["--corpus", corpus_csv, *flags, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "r").exists()


def test_the_command_line_repeats_the_flag(corpus_csv):
    from muser_core.train.cli import command_line

    line = command_line(config(corpus_csv).resolved(), "runs/x")
    assert "--lexicon-branch" in line.split()


def test_the_live_predictor_reads_a_users_dictionary_once(tmp_path, corpus_csv, monkeypatch):
    """Scoring a transcript per clip must not read the .dic file again for each clip."""
    from muser_core.features.lexicon import Lexicon

    dic = tmp_path / "mine.dic"
    dic.write_text("%\n1\tworry\n2\tcalm\n%\nworr*\t1\nanxi*\t1\ncalm*\t2\nrelax*\t2\n")
    out = tmp_path / "run"
    cfg = config(corpus_csv, "text", lexicon_dic=str(dic))
    train_run(replace(cfg, train=replace(cfg.train, max_epochs=2)), out)
    reads = []
    real = Lexicon.read_dic.__func__
    monkeypatch.setattr(Lexicon, "read_dic", classmethod(lambda cls, path: reads.append(path) or real(cls, path)))
    live = LivePredictor(out)
    clip = prepare_clip(speak(tmp_path / "s.wav", "I am worried"))
    results = [live.predict(clip, text) for text in ("I am so worried", "so calm and relaxed", "anxious again")]
    assert all(r.scored for r in results) and len(reads) == 1

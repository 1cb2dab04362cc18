"""The source registry: what each source says, loading through it, corpus_file's copies and the corpus CLI.

Every data set the app reads is one entry in :data:`muser_core.sources.SOURCES`;
the last test registers a throwaway one and finds it on the command line and
in the pages' pickers.
"""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, TwoSentences, record_session, small_study
from streamlit.testing.v1 import AppTest

from muser_core import sources
from muser_core.base.errors import InputError
from muser_core.cli import run_command
from muser_core.data.corpus import Corpus, canonical, sidecar_path
from muser_core.data.splits import assign_split
from muser_core.sources import BUILT_IN, FILE, FOLDER, SOURCES, Source, corpus_file
from muser_core.study.process import process_study

main = run_command("corpus")

# --------------------------------------------------------------------------- the registry


def _fresh(code: str) -> str:
    """What ``code`` prints in a new interpreter (nothing imported before it)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=REPO).stdout.strip()


def test_the_study_source_registers_itself_and_training_and_the_corpus_command_list_it():
    """The study loader sits above sources.py, so the study package registers it; what may meet one imports it."""
    assert _fresh("import muser_core.sources as s; print(s.STUDY in s.SOURCES)") == "False"
    assert _fresh("import muser_core.train; import muser_core.sources as s; print(s.STUDY in s.SOURCES)") == "True"
    assert "--study DIR" in _fresh("from muser_core.cli import main; main(['corpus', '--help'])")
    assert list(SOURCES)[-1] == sources.STUDY  # registered last: the pickers' order is the registry's
    with pytest.raises(ValueError, match="registered twice"):
        sources.register(SOURCES[sources.STUDY])


def test_a_source_name_the_registry_lacks_is_refused_never_read_as_a_path():
    with pytest.raises(InputError, match="unknown data source 'nosuch'"):
        sources.named_source("nosuch:/data/x")
    assert sources.named_source("/data/x.csv") is None and sources.named_source("C:/x.csv") is None



@pytest.mark.parametrize("name", list(SOURCES))
def test_every_source_says_how_it_is_found_and_offered(name):
    s = SOURCES[name]
    assert s.name == name and s.title and s.help and callable(s.load)
    assert s.location in (BUILT_IN, FOLDER, FILE)
    if not s.built_in:  # a flag's placeholder, a widget's label and what to give
        assert s.metavar and s.path_label and s.hint
    assert s.train or s.external is not None  # offered somewhere on the Train page
    for o in s.options:
        assert o.flag.startswith("--") and o.default in o.choices and o.label


def test_available_sources_by_role(monkeypatch):
    names = lambda **role: [s.name for s in sources.available(**role)]  # noqa: E731
    assert names() == list(SOURCES)
    assert names(training=True) == [sources.DEMO, sources.DREADDIT, sources.MUSE, sources.MANIFEST, sources.STUDY]
    assert names(external=True) == [sources.DEMO, sources.EMOBANK, sources.OMG]
    # A copy without the shipped demo tables does not offer the demo corpus.
    monkeypatch.setitem(SOURCES, sources.DEMO, Source(sources.DEMO, "Demo", SOURCES[sources.DEMO].load,
                                                      present=lambda: False))
    assert sources.DEMO not in names()
    assert sources.is_built_in(sources.MUSE) is False and sources.is_built_in("corpus.csv") is False


def test_load_through_the_registry_says_what_is_wrong_in_one_line(muse_root):
    corpus = sources.load(sources.MUSE, muse_root, emotion_label="crowd")
    assert len(corpus.table) == 23 and (corpus.table["activation"] == 5.5).all()
    with pytest.raises(InputError, match=r"^unknown data source 'mues' \(choose demo, emobank, dreaddit, muse, omg, manifest, study\)$"):
        sources.load("mues", muse_root)
    with pytest.raises(InputError, match="^give the path of the muse data$"):
        sources.load(sources.MUSE, "")
    with pytest.raises(InputError, match="^MuSE copy is not an external emotion set"):
        sources.load(sources.MUSE, muse_root, external=True)
    with pytest.raises(InputError, match="^MuSE copy takes no option omg_split$"):
        sources.load(sources.MUSE, muse_root, omg_split="official")


def test_the_demo_loads_by_name_as_main_corpus_and_as_external_set():
    if not SOURCES[sources.DEMO].present():
        pytest.skip("demo corpus not built in this checkout")
    main_corpus, external = sources.load(sources.DEMO), sources.load(sources.DEMO, external=True)
    assert main_corpus.synthetic and main_corpus.table["stress"].notna().all()
    assert external.synthetic and external.table["stress"].isna().all() and external.name != main_corpus.name
    assert corpus_file(sources.DEMO, "") == sources.DEMO  # built in: the run names it, no copy


# --------------------------------------------------------------------------- corpus_file


def test_a_copy_is_made_once_and_named_by_its_source(muse_root, runs_root):
    first = corpus_file(sources.MUSE, str(muse_root))
    assert Path(first).parent == runs_root / ".corpora" and Path(first).name.startswith("muse-MuSE-")
    assert corpus_file(sources.MUSE, str(muse_root)) == first
    assert corpus_file(sources.MUSE, str(muse_root), "paper") != first  # the split is part of the name
    assert sources.corpus_copies(sources.MUSE, "MuSE") == sorted(Path(p) for p in
                                                                 (first, corpus_file(sources.MUSE, str(muse_root), "paper")))
    with pytest.raises(InputError, match="nope: not found"):
        corpus_file(sources.MUSE, str(muse_root / "nope"))


def test_an_external_copy_loads_as_the_external_set(omg_root, runs_root):
    table = Corpus.load(corpus_file(sources.OMG, str(omg_root), external=True)).table
    assert set(table["split"]) == {"train", "validation"} and table["stress"].isna().all()


def test_a_study_copy_is_renewed_when_the_study_grows(studies, runs_root):
    from muser_core.train.data import load_corpus

    study = small_study(studies, sessions_per_condition=3)
    process_study(study, TwoSentences())
    first = corpus_file(sources.STUDY, str(study.root))
    assert Path(first).parent == runs_root / ".corpora" and Path(first).name.startswith("study-exam-")
    assert corpus_file(sources.STUDY, str(study.root)) == first                      # unchanged: reused
    table = Corpus.load(first).table
    assert len(table) == 24 and table.groupby("session")["split"].nunique().eq(1).all()
    # What the trainer reads with --split table: the study's own session split, both classes everywhere.
    loaded = load_corpus(first, "table")
    for split in ("train", "validation", "test"):
        assert set(loaded.table.loc[loaded.table["split"] == split, "stress"]) == {0.0, 1.0}
    record_session(study, "P01", "stressed", seed=77)
    process_study(study, TwoSentences())
    second = corpus_file(sources.STUDY, str(study.root))
    assert second != first and len(Corpus.load(second).table) == 28
    with pytest.raises(InputError, match="give the path of the study data"):
        corpus_file(sources.STUDY, "")


def test_runs_reading_finds_the_runs_trained_on_a_copy(runs_root):
    copy = runs_root / ".corpora" / "muse-MuSE-0123456789.csv"
    for name, corpus in (("a", str(copy)), ("b", "demo")):
        (runs_root / name).mkdir()
        (runs_root / name / "config.json").write_text(json.dumps({"data": {"corpus": corpus}}))
    assert sources.runs_reading([copy]) == ["a"] and sources.runs_reading([]) == []


# --------------------------------------------------------------------------- the command line


def _cli(capsys, *args) -> tuple[int, str, str]:
    """The command line in this process (a new one costs seconds of imports): status, stdout, stderr."""
    status = main(list(map(str, args)))
    out, err = capsys.readouterr()
    return status, out, err


def _one_line_error(result: tuple[int, str, str]) -> str:
    status, _, err = result
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture
def manifest(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("text,stress,speaker\nhello there,1,a\nfine thanks,0,b\nso so,1,c\n")
    return csv


def test_command_line_writes_table_and_summary(muse_root, tmp_path):
    out = tmp_path / "out" / "corpus.csv"
    proc = subprocess.run([sys.executable, "-m", "muser_core", "corpus", "--muse", str(muse_root),
                           "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "skipped 1 items" in proc.stdout and "1 x no transcript file" in proc.stdout
    assert len(pd.read_csv(out)) == 23 and sidecar_path(out).exists()
    proc = subprocess.run([sys.executable, "-m", "muser_core", "corpus", "--muse", str(tmp_path / "x"),
                           "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


def test_omg_command_line_records_the_split_in_the_notes(omg_root, tmp_path, capsys):
    status, out, err = _cli(capsys, "--omg", omg_root, "--out", tmp_path / "omg.csv")
    assert status == 0, err
    notes = json.loads(sidecar_path(tmp_path / "omg.csv").read_text())["notes"]
    assert any(n.startswith("split: paper") for n in notes) and "split: paper" in out
    status, out, err = _cli(capsys, "--omg", omg_root, "--omg-split", "official", "--out", tmp_path / "o.csv")
    assert status == 0, err
    assert any(n.startswith("split: official") for n in Corpus.load(tmp_path / "o.csv").notes)


def test_out_never_overwrites_a_file_it_did_not_write(manifest, tmp_path, capsys):
    mine = tmp_path / "mydata.json"
    mine.write_text('{"my": "own notes"}')
    out = tmp_path / "mydata.csv"
    status, stdout, stderr = _cli(capsys, "--manifest", manifest, "--out", out)
    assert status == 0, stderr
    assert mine.read_text() == '{"my": "own notes"}'  # the user's file beside the table is untouched
    assert (tmp_path / "mydata.csv.meta.json").is_file()
    assert "wrote" in stdout and "mydata.csv.meta.json" in stdout
    assert Corpus.load(out).name == "m" and len(Corpus.load(out).table) == 3
    assert _cli(capsys, "--manifest", manifest, "--out", out)[0] == 0  # its own table: replaced
    # The manifest itself, or any CSV the command did not write, is refused and left as it was.
    before = manifest.read_text()
    line = _one_line_error(_cli(capsys, "--manifest", manifest, "--out", manifest))
    assert "m.csv: exists and was not written by" in line
    assert manifest.read_text() == before


def test_out_must_be_a_table_name(manifest, tmp_path, capsys):
    line = _one_line_error(_cli(capsys, "--manifest", manifest, "--out", tmp_path / "x.json"))
    assert "x.json: the table is written as CSV" in line
    assert not (tmp_path / "x.json").exists()


def test_out_a_folder_or_an_unwritable_path_is_one_line(manifest, tmp_path, capsys):
    (tmp_path / "folder").mkdir()
    line = _one_line_error(_cli(capsys, "--manifest", manifest, "--out", tmp_path / "folder"))
    assert "folder: is a folder" in line
    (tmp_path / "afile").write_text("x")
    line = _one_line_error(_cli(capsys, "--manifest", manifest, "--out", tmp_path / "afile" / "x.csv"))
    assert f"{tmp_path / 'afile' / 'x.csv'}: cannot write" in line


def test_the_flags_come_from_the_registry(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    usage = capsys.readouterr().out
    for s in SOURCES.values():
        assert f"--{s.name}" in usage and s.help.split()[0] in usage
        assert all(o.flag in usage for o in s.options)
    assert "--out" in usage and "--split" in usage and "--seed" in usage


def test_demo_on_the_command_line(tmp_path, capsys):
    if not SOURCES[sources.DEMO].present():
        pytest.skip("demo corpus not built in this checkout")
    status, out, err = _cli(capsys, "--demo", "--out", tmp_path / "demo.csv")
    assert status == 0, err
    assert "SYNTHETIC" in out and Corpus.load(tmp_path / "demo.csv").synthetic
    assert json.loads(sidecar_path(tmp_path / "demo.csv").read_text())["written_by"] == "muser_core.corpus"


# --------------------------------------------------------------------------- a source registered here

TOY = "toy"


def load_toy(path: str, split: str, seed: int) -> Corpus:
    """A throwaway data set: every line of a text file is a sentence, 'x' marks the stressed ones."""
    lines = Path(path).read_text().split()
    table = pd.DataFrame({"utterance_id": [f"t{i}" for i in range(len(lines))],
                          "speaker": [f"s{i % 3}" for i in range(len(lines))], "dataset": TOY, "text": lines,
                          "stress": [float("x" in line) for line in lines]})
    return Corpus(assign_split(canonical(table), split, seed), TOY)


TOY_SOURCE = Source(TOY, "Toy set", load_toy, FILE, help="a text file of sentences", metavar="TXT",
                    path_label="Toy file", env="MUSER_TOY", hint="a text file", external=lambda p: load_toy(p, "speaker", 0),
                    tasks=("stress",))   # its only labels: the Train form offers only stress


def test_a_registered_source_appears_everywhere(tmp_path, monkeypatch, capsys, runs_root):
    """One Source entry is enough: the corpus CLI's flags and every picker list it, and it loads."""
    monkeypatch.setitem(SOURCES, TOY, TOY_SOURCE)
    toy = tmp_path / "toy.txt"
    toy.write_text("calm\nxtense\nfine\nxpanic\nok\nxrush\n")

    # muser corpus --help lists it, and builds its table (python -m muser_core is the same command).
    def corpus_command(*args) -> int:
        monkeypatch.setattr(sys, "argv", ["python -m muser_core", "corpus", *map(str, args)])
        with pytest.raises(SystemExit) as done:
            runpy.run_module("muser_core", run_name="__main__")
        return done.value.code

    assert corpus_command("--help") == 0
    assert "--toy TXT" in capsys.readouterr().out
    assert corpus_command("--toy", toy, "--out", tmp_path / "toy.csv") == 0
    assert "toy: 6 utterances, 3 speakers" in capsys.readouterr().out
    assert Corpus.load(tmp_path / "toy.csv").table["stress"].sum() == 3

    # The overview's data picker (and so every page's) offers it and loads it from the path given.
    monkeypatch.setenv("MUSER_TOY", str(toy))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    at.sidebar.radio(key="overview-source").set_value("Toy set on this machine").run()
    assert not at.exception and not at.error
    assert at.sidebar.text_input(key="overview-toy").value == str(toy)
    assert {m.label: m.value for m in at.metric}["Utterances"] == "6"
    at = AppTest.from_file(str(REPO / "pages" / "1_Text_indicators.py"), default_timeout=60).run()
    assert "Toy set on this machine" in at.sidebar.radio(key="text-ind-source").options

    # The Train page offers it as the corpus and as the external set, and shows its command line.
    at = AppTest.from_file(str(REPO / "pages" / "3_Train.py"), default_timeout=60).run()
    assert "Toy set on this machine" in at.radio(key="train-external").options
    at.radio(key="train-corpus").set_value("Toy set on this machine").run()
    assert not at.exception and not at.error
    assert at.text_input(key="train-toy").value == str(toy)
    command = "\n".join(c.value for c in at.code)
    assert f"--corpus toy:{toy}" in command   # a source on disk by name and location: the run copies it
    assert Corpus.load(corpus_file(TOY, str(toy))).table["text"].tolist()[0] == "calm"


# --------------------------------------------------------------------------- real data: EmoBank and Dreaddit


def test_a_run_names_a_source_by_name_or_by_name_and_location(tmp_path, monkeypatch):
    monkeypatch.delenv("MUSER_DREADDIT_ROOT", raising=False)
    assert sources.named_source("emobank") == (SOURCES[sources.EMOBANK], "")
    assert sources.named_source(f"emobank:{tmp_path}") == (SOURCES[sources.EMOBANK], str(tmp_path))
    assert sources.named_source("corpus.csv") is None and sources.named_source("/data/x.csv") is None
    with pytest.raises(InputError, match=r"^'demo:/x': demo is built in; give it without a path$"):
        sources.named_source("demo:/x")
    with pytest.raises(InputError, match=r"MUSER_DREADDIT_ROOT"):
        sources.named_source("dreaddit")
    monkeypatch.setenv("MUSER_DREADDIT_ROOT", str(tmp_path))
    assert sources.named_source("dreaddit") == (SOURCES[sources.DREADDIT], str(tmp_path))
    assert sources.resolved_spec("dreaddit") == f"dreaddit:{tmp_path.resolve()}"
    assert sources.resolved_spec("emobank") == "emobank"
    assert sources.resolved_spec("x.csv") == str(Path("x.csv").resolve())


def test_emobank_from_the_shipped_copy_or_another_and_dreaddit_by_folder(tmp_path, capsys):
    from conftest import write_dreaddit, write_emobank

    status, out, err = _cli(capsys, "--emobank", "--out", tmp_path / "emobank.csv")
    assert status == 0, err
    assert "EmoBank: 10055 utterances" in out and "tasks: activation, valence (no stress labels)" in out
    meta = json.loads(sidecar_path(tmp_path / "emobank.csv").read_text())
    assert meta["label_scales"] == {"activation": [1.0, 5.0], "valence": [1.0, 5.0]}
    small = write_emobank(tmp_path / "small", per_split=10)
    status, out, err = _cli(capsys, "--emobank", small, "--out", tmp_path / "small.csv")
    # One of the first ten training rows is the fragment '..' (skipped and counted).
    assert status == 0 and "EmoBank: 29 utterances" in out and "1 x fragment (no letter or digit)" in out, err
    dreaddit = write_dreaddit(tmp_path / "Dreaddit")
    status, out, err = _cli(capsys, "--dreaddit", dreaddit, "--out", tmp_path / "dreaddit.csv")
    assert status == 0 and "tasks: stress (no activation or valence labels)" in out, err
    assert "Dreaddit: 78 utterances" in out   # 40 training and 12 test posts, every second one of two rows


def test_dreaddit_is_in_every_picker_with_its_environment_variable(tmp_path, monkeypatch):
    from conftest import write_dreaddit

    dreaddit = write_dreaddit(tmp_path / "Dreaddit")
    monkeypatch.setenv("MUSER_DREADDIT_ROOT", str(dreaddit))
    at = AppTest.from_file(str(REPO / "pages" / "1_Text_indicators.py"), default_timeout=120).run()
    at.sidebar.radio(key="text-ind-source").set_value("Dreaddit copy on this machine").run()
    assert not at.exception and not at.error
    assert at.sidebar.text_input(key="text-ind-dreaddit").value == str(dreaddit)
    # Dreaddit has stress only: the page ranks stress and says why not the emotions.
    assert [t.label for t in at.tabs if t.label in ("stress", "activation", "valence")] == ["stress"]
    captions = "\n".join(c.value for c in at.caption)
    assert "activation not analysed: no activation labels in Dreaddit" in captions


def test_the_text_indicators_page_on_emobank_ranks_real_emotion_ratings(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSER_CACHE_DIR", str(tmp_path / "cache"))
    at = AppTest.from_file(str(REPO / "pages" / "1_Text_indicators.py"), default_timeout=300).run()
    at.sidebar.radio(key="text-ind-source").set_value(SOURCES[sources.EMOBANK].title).run()
    assert not at.exception and not at.error
    assert [t.label for t in at.tabs if t.label in ("stress", "activation", "valence")] == ["activation", "valence"]
    assert "stress not analysed: no stress labels in EmoBank" in "\n".join(c.value for c in at.caption)


def test_the_overview_on_emobank_shows_its_tasks_and_scales_and_no_stress_counts():
    at = AppTest.from_file(str(REPO / "pages" / "0_Overview.py"), default_timeout=120).run()
    at.sidebar.radio[0].set_value(SOURCES[sources.EMOBANK].title).run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Utterances"] == "10,055" and metrics["Stressed share"] == "no stress labels"
    assert any("**Tasks with labels:** activation, valence (no stress labels" in m.value for m in at.markdown)
    assert "Label scales (the data set's own): activation 1..5, valence 1..5." in [c.value for c in at.caption]
    per_split = next(d.value for d in at.dataframe if "utterances" in d.value.columns)
    assert "stressed" not in per_split.columns and per_split.loc["validation", "utterances"] == 999

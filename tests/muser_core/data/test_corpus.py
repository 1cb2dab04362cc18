"""The canonical table and its loaders, on small MuSE/OMG/manifest copies built by fixtures."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import write_wav

from muser_core.base.errors import InputError
from muser_core.data.corpus import (
    CANONICAL_COLUMNS,
    Corpus,
    NoUsableRows,
    load_manifest,
    load_muse,
    load_omg,
    main,
    paper_split,
    sidecar_path,
    speaker_independent_split,
)


def test_muse_reads_the_distributed_layout(muse_root):
    corpus = load_muse(muse_root)
    t = corpus.table
    assert list(t.columns[:len(CANONICAL_COLUMNS)]) == CANONICAL_COLUMNS
    assert len(t) == 23  # 24 sentences, one without transcript
    assert [s.reason for s in corpus.skipped] == ["no transcript file"]
    assert set(t["speaker"]) == {"01", "02", "03", "04"}
    # Type S/NS is the stress label; audio found in both not-stressed folders.
    assert (t.loc[t["utterance_id"].str.contains("_S_"), "stress"] == 1).all()
    assert (t.loc[t["utterance_id"].str.contains("_NS_"), "stress"] == 0).all()
    assert (t["audio_path"] != "").all()
    assert t.loc[t["utterance_id"] == "04_NS_q0", "audio_path"].item().endswith(
        "Non Stressed Question Monologue Audio 2/04_NS_q0.wav")
    # Self-report is the default emotion label; an empty self-report stays missing.
    assert t.loc[t["utterance_id"] == "01_S_q1", "activation"].item() == 6
    assert np.isnan(t.loc[t["utterance_id"] == "02_S_q0", "activation"].item())
    assert corpus.label_scales["activation"] == (1.0, 9.0)
    assert set(t["gender"]) == {"F", "M"} and "question" in t and "session" in t


def test_muse_crowd_labels_and_long_survey_folder(muse_root):
    (muse_root / "SurveyInformation").rename(muse_root / "Survey Information (Questions, Data etc)")
    t = load_muse(muse_root, emotion_label="crowd").table
    assert (t["activation"] == 5.5).all() and (t["valence"] == 4.5).all()
    t = load_muse(muse_root, emotion_label="crowd_context").table
    assert (t["activation"] == 5.8).all()


def test_muse_wrong_root_names_the_folder(tmp_path):
    with pytest.raises(InputError, match="not a MuSE copy"):
        load_muse(tmp_path)
    with pytest.raises(InputError, match="not found"):
        load_muse(tmp_path / "nope")


def test_muse_missing_column_names_it(muse_root):
    csv = next((muse_root / "SurveyInformation").glob("*.csv"))
    table = pd.read_csv(csv).drop(columns=["S_Valence"])
    table.to_csv(csv, index=False)
    with pytest.raises(InputError, match="column 'S_Valence'"):
        load_muse(muse_root)


def test_omg_reads_clips_and_rescales_valence(omg_root):
    corpus = load_omg(omg_root)
    t = corpus.table
    assert len(t) == 3  # one clip per video has a 2-word transcript: skipped (paper: < 5 words)
    assert sum("shorter than 5 words" in s.reason for s in corpus.skipped) == 3
    assert set(t["split"]) == {"train", "validation"}
    assert t["stress"].isna().all()
    # valence -0.5 (vidA), 0.0 (vidB), -0.5 (vidC) on -1..1 becomes 0.25, 0.5, 0.25 on 0..1
    assert sorted(t["valence"]) == pytest.approx([0.25, 0.25, 0.5])
    assert any("rescaled" in n for n in corpus.notes)
    assert t["audio_path"].str.endswith(".mp4").all()


def _omg_files(root, stem: str, clips: list[tuple[str, int, str]]) -> None:
    """``omg_<stem>Videos.csv`` and ``...Transcripts.csv`` for (video, utterance number, transcript).

    The loader only checks that a clip exists, so empty files stand in for the mp4s here.
    """
    rows = [{"link": f"https://example.invalid/{v}", "start": 0, "end": 2, "video": v,
             "utterance": f"utterance_{u}.mp4", "arousal": 0.5, "valence": 0.0, "EmotionMaxVote": 4,
             "transcript": text} for v, u, text in clips]
    table = pd.DataFrame(rows)
    table.drop(columns="transcript").to_csv(root / f"omg_{stem}Videos.csv", index=False)
    table[["link", "video", "utterance", "transcript"]].to_csv(root / f"omg_{stem}Transcripts.csv", index=False)
    for v, u, _ in clips:
        (root / v).mkdir(parents=True, exist_ok=True)
        (root / v / f"utterance_{u}.mp4").touch()


LONG = "a transcript of six words here"


def _videos(table: pd.DataFrame, split: str) -> set[str]:
    return set(table.loc[table["split"] == split, "speaker"])


def test_omg_paper_holdout_uses_train_and_validation_only(omg_root):
    _omg_files(omg_root, "Test", [("vidT", 1, LONG)])
    paper = load_omg(omg_root)  # the default: paper 4.1
    t = paper.table
    assert "vidT" not in set(t["speaker"]) and "test" not in set(t["split"])
    # Three usable videos: round(3 * 300 / 1484) = 1 held out for validation, 2 train.
    assert len(_videos(t, "validation")) == 1 and len(_videos(t, "train")) == 2
    assert any("paper" in n and "300" in n and "1,484" in n for n in paper.notes)
    assert any("omg_TestVideos.csv" in n and "not used" in n for n in paper.notes)
    official = load_omg(omg_root, split="official")
    t = official.table
    assert _videos(t, "train") == {"vidA", "vidB"} and _videos(t, "validation") == {"vidC"}
    assert _videos(t, "test") == {"vidT"}
    assert any("official" in n for n in official.notes)


def test_omg_paper_holds_out_300_of_1484_videos_by_video(tmp_path):
    root = tmp_path / "OMG"
    root.mkdir()
    # 1,500 videos with 1-3 clips each; 16 keep no clip (transcripts of 2 words, or no clip
    # file, as a broken link leaves): 1,484 usable videos, as in the paper.
    clips = {"Train": [], "Validation": []}
    for i in range(1500):
        stem = "Train" if i < 1200 else "Validation"
        for u in range(1, 2 + i % 3):
            clips[stem].append((f"v{i:04d}", u, "too short" if i < 10 else LONG))
    for stem, rows in clips.items():
        _omg_files(root, stem, rows)
    for i in range(10, 16):
        for clip in (root / f"v{i:04d}").iterdir():
            clip.unlink()
    t = load_omg(root, seed=3).table
    per_video = t.groupby("speaker")["split"].agg(["nunique", "first"])
    assert len(per_video) == 1484
    assert (per_video["nunique"] == 1).all()  # every clip of a video in one split
    assert per_video["first"].value_counts().to_dict() == {"train": 1184, "validation": 300}
    assert len(t) == sum(1 + i % 3 for i in range(16, 1500))
    # Seeded: the same seed gives the same videos, another seed others.
    assert load_omg(root, seed=3).table["split"].equals(t["split"])
    assert not load_omg(root, seed=4).table["split"].equals(t["split"])


def test_omg_paper_holdout_scales_to_a_smaller_copy(tmp_path):
    root = tmp_path / "OMG"
    root.mkdir()
    _omg_files(root, "Train", [(f"v{i:02d}", 1, LONG) for i in range(30)])
    _omg_files(root, "Validation", [(f"w{i:02d}", u, LONG) for i in range(10) for u in (1, 2)])
    t = load_omg(root).table
    # 40 videos: round(40 * 300 / 1484) = round(8.09) = 8 held out, whichever CSV they came from.
    assert len(_videos(t, "validation")) == 8 and len(_videos(t, "train")) == 32
    assert not _videos(t, "validation") <= {f"w{i:02d}" for i in range(10)}


def test_omg_a_clip_listed_twice_is_read_once(tmp_path):
    root = tmp_path / "OMG"
    root.mkdir()
    _omg_files(root, "Train", [("v0", 1, LONG), ("v1", 1, LONG)])
    _omg_files(root, "Validation", [("v1", 1, LONG), ("v2", 1, LONG)])
    corpus = load_omg(root, split="official")
    assert sorted(corpus.table["utterance_id"]) == ["v0/utterance_1", "v1/utterance_1", "v2/utterance_1"]
    assert [s.reason for s in corpus.skipped] == [
        f"{root / 'omg_ValidationVideos.csv'}, line 2: listed again "
        f"(first in {root / 'omg_TrainVideos.csv'}, line 3)"]


def test_omg_one_usable_video_cannot_be_held_out(tmp_path):
    root = tmp_path / "OMG"
    root.mkdir()
    _omg_files(root, "Train", [("v0", 1, LONG), ("v0", 2, LONG)])
    with pytest.raises(InputError, match="1 usable video.*--omg-split official"):
        load_omg(root)
    assert set(load_omg(root, split="official").table["split"]) == {"train"}
    with pytest.raises(InputError, match="unknown OMG-Emotion split 'random'"):
        load_omg(root, split="random")


def test_omg_command_line_records_the_split_in_the_notes(omg_root, tmp_path, capsys):
    status, out, err = _cli(capsys, "--omg", omg_root, "--out", tmp_path / "omg.csv")
    assert status == 0, err
    notes = json.loads(sidecar_path(tmp_path / "omg.csv").read_text())["notes"]
    assert any(n.startswith("split: paper") for n in notes) and "split: paper" in out
    status, out, err = _cli(capsys, "--omg", omg_root, "--omg-split", "official", "--out", tmp_path / "o.csv")
    assert status == 0, err
    assert any(n.startswith("split: official") for n in Corpus.load(tmp_path / "o.csv").notes)


def test_manifest_minimal_and_labels(tmp_path):
    wav = write_wav(tmp_path / "clips" / "a.wav")
    csv = tmp_path / "m.csv"
    csv.write_text("text,audio_path,stress,valence,speaker\n"
                   "hello there,clips/a.wav,stressed,3,s1\n"
                   "just text,,0,,s2\n"
                   ",,1,,s3\n"
                   "x,clips/missing.wav,1,,s4\n")
    corpus = load_manifest(csv)
    t = corpus.table
    assert list(t["text"]) == ["hello there", "just text"]
    assert t["audio_path"][0] == str(wav.resolve())
    assert list(t["stress"]) == [1.0, 0.0]
    assert len(corpus.skipped) == 2
    assert "line 4" in corpus.skipped[0].reason and "missing.wav" in corpus.skipped[1].reason


def test_manifest_bad_label_names_line_and_column(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("text,stress\nok,1\nbad,maybe\n")
    with pytest.raises(InputError, match=r"line 3, column 'stress'"):
        load_manifest(csv)
    csv.write_text("transcript,label\nhello,1\n")
    with pytest.raises(InputError, match="'text' or an 'audio_path'"):
        load_manifest(csv)


def test_save_and_load_round_trip(muse_root, tmp_path):
    corpus = load_muse(muse_root)
    corpus.save(tmp_path / "c.csv")
    back = Corpus.load(tmp_path / "c.csv")
    pd.testing.assert_frame_equal(back.table[CANONICAL_COLUMNS], corpus.table[CANONICAL_COLUMNS])
    assert back.label_scales == corpus.label_scales and back.skipped == corpus.skipped


def _table(n_speakers=28, per_speaker=83, seed=0):
    rng = np.random.default_rng(seed)
    rows = [{"speaker": f"{s:02d}", "stress": float(rng.random() < 0.5)}
            for s in range(n_speakers) for _ in range(per_speaker + s % 5)]
    return pd.DataFrame(rows)


def test_speaker_independent_split_keeps_speakers_apart():
    t = _table()
    split = speaker_independent_split(t, seed=3)
    assert set(split) == {"train", "validation", "test"}
    assert (t.assign(split=split).groupby("speaker")["split"].nunique() == 1).all()
    shares = split.value_counts(normalize=True)
    assert shares["train"] == pytest.approx(1853 / 2326, abs=0.06)
    assert split.equals(speaker_independent_split(t, seed=3))  # seeded


def test_paper_split_sizes_and_stratification():
    t = _table(n_speakers=28, per_speaker=82)
    t = t.iloc[:2326].reset_index(drop=True)
    split = paper_split(t, seed=0)
    assert split.value_counts().to_dict() == {"train": 1853, "test": 273, "validation": 200}
    rates = t.groupby(split)["stress"].mean()
    assert rates.max() - rates.min() < 0.03


def test_command_line_writes_table_and_summary(muse_root, tmp_path):
    out = tmp_path / "out" / "corpus.csv"
    proc = subprocess.run([sys.executable, "-m", "muser_core.corpus", "--muse", str(muse_root),
                           "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "skipped 1 items" in proc.stdout and "1 x no transcript file" in proc.stdout
    assert len(pd.read_csv(out)) == 23 and sidecar_path(out).exists()
    proc = subprocess.run([sys.executable, "-m", "muser_core.corpus", "--muse", str(tmp_path / "x"),
                           "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


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


def test_tables_with_the_old_sidecar_name_still_load(muse_root, tmp_path):
    corpus = load_muse(muse_root)
    corpus.save(tmp_path / "c.csv")
    meta = json.loads(sidecar_path(tmp_path / "c.csv").read_text())
    sidecar_path(tmp_path / "c.csv").unlink()
    del meta["written_by"], meta["table"]
    (tmp_path / "c.json").write_text(json.dumps(meta))  # what older versions wrote
    assert Corpus.load(tmp_path / "c.csv").label_scales == corpus.label_scales
    corpus.save(tmp_path / "c.csv")  # a table with an old sidecar of ours may be replaced
    (tmp_path / "c.json").write_text('["not", "ours"]')
    assert Corpus.load(tmp_path / "c.csv").label_scales == corpus.label_scales


def test_manifest_split_in_any_case_and_spacing(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("text,split\na,train\nb,TEST\nc, Validation \nd,Train\n")
    assert list(load_manifest(csv).table["split"]) == ["train", "test", "validation", "train"]
    csv.write_text("text,split\na,train\nb,TSET\nc,test\n")
    with pytest.raises(InputError, match=r"m.csv, line 3, column 'split': 'TSET' is not one of"):
        load_manifest(csv)
    csv.write_text("text,split\na,train\nb,\nc,test\n")
    with pytest.raises(InputError, match=r"line 3, column 'split': empty, while other rows give one"):
        load_manifest(csv)
    csv.write_text("text,split,speaker\na,,s1\nb,,s2\nc,,s3\n")  # an empty column: split here
    assert set(load_manifest(csv).table["split"]) == {"train", "validation", "test"}


def test_manifest_labels_as_pandas_writes_them_and_infinite_ones(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("text,stress,activation\na,1.0,2.5\nb,0.0,\nc,,3\n")
    assert load_manifest(csv).table["stress"].tolist()[:2] == [1.0, 0.0]
    csv.write_text("text,stress\na,2.0\n")
    with pytest.raises(InputError, match=r"line 2, column 'stress': not a valid label \('2.0'"):
        load_manifest(csv)
    for bad in ("inf", "-inf", "1e999"):
        csv.write_text(f"text,stress,activation\na,1,3\nb,0,{bad}\n")
        with pytest.raises(InputError, match=r"line 3, column 'activation': not a valid label.*finite"):
            load_manifest(csv)


def test_manifest_duplicate_ids_name_both_lines(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("utterance_id,text\nu1,a\nu2,b\nu1,c\n")
    with pytest.raises(InputError, match=r"m.csv, column 'utterance_id': lines 2 and 4 have the same id 'u1'"):
        load_manifest(csv)


def test_manifest_named_as_given_and_audio_confined(tmp_path):
    data = tmp_path / "data"
    inside = write_wav(data / "a.wav")
    outside = write_wav(tmp_path / "private" / "b.wav")
    upload = tmp_path / "upload"
    upload.mkdir()
    csv = upload / "m.csv"
    csv.write_text(f"text,audio_path\nx,{inside}\ny,{outside}\nz,../private/b.wav\nw,clips/c.wav\n")
    corpus = load_manifest(csv, name="mine.csv", audio_roots=[data])
    assert corpus.table["audio_path"].tolist() == [str(inside.resolve())]
    reasons = [s.reason for s in corpus.skipped]
    assert reasons[:2] == [f"mine.csv, line 3, column 'audio_path': {outside} is outside the data "
                           "folders this app may read",
                           "mine.csv, line 4, column 'audio_path': ../private/b.wav is outside the data "
                           "folders this app may read"]
    csv.write_text("text,audio_path\nx,clips/a.wav\n")
    with pytest.raises(NoUsableRows, match=r"^mine.csv: no usable rows \(1 skipped; first: mine.csv, "
                                           r"line 2, column 'audio_path': clips/a.wav is outside") as err:
        load_manifest(csv, name="mine.csv", audio_roots=[data])
    assert len(err.value.skipped) == 1

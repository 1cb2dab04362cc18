"""Manifests: any CSV of utterances, its labels and splits, and audio confined to the data folders."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import write_wav

from muser_core.base.errors import InputError
from muser_core.data.manifest import NoUsableRows, load_manifest, load_uploaded_manifest


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


def test_an_uploaded_manifest_is_named_as_uploaded_and_leaves_no_copy(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    data = tmp_path / "data"
    clip = write_wav(data / "a.wav")
    corpus = load_uploaded_manifest(f"text,audio_path,stress\nx,{clip},1\ny,clips/b.wav,0\n".encode(),
                                    "../../mine.csv", audio_roots=[data])
    assert corpus.name == "mine" and corpus.table["audio_path"].tolist() == [str(clip.resolve())]
    assert [s.reason for s in corpus.skipped] == [
        "mine.csv, line 3, column 'audio_path': clips/b.wav is a relative path; "
        "an uploaded manifest needs absolute audio paths"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # the temporary copy is gone


def test_a_label_column_the_manifest_does_not_know_is_named_and_can_be_mapped(tmp_path, capsys):
    """Text + label (0/1) is refused with the mapping to use, not loaded with an empty stress column that would
    fail only in training."""
    from muser_core.cli import run_command

    main = run_command("corpus")

    path = tmp_path / "posts.csv"
    pd.DataFrame({"text": [f"post {i}" for i in range(20)], "label": [i % 2 for i in range(20)],
                  "arousal_rating": [1 + i % 5 for i in range(20)]}).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"no label column \(stress, activation, valence\); column 'label' looks "
                                         r"like one: map it, e.g. --stress-column label"):
        load_manifest(path)
    corpus = load_manifest(path, label_columns={"stress": "label", "activation": "arousal_rating"},
                           scales={"activation": (1.0, 5.0)})
    assert corpus.tasks == ["stress", "activation"] and corpus.table["stress"].sum() == 10
    assert corpus.label_scales == {"activation": (1.0, 5.0)}
    assert "label columns: stress <- label, activation <- arousal_rating (found: stress, activation)" in corpus.notes
    with pytest.raises(InputError, match="column 'arousal_rating': no such column|outside the declared scale"):
        load_manifest(path, label_columns={"activation": "arousal_rating"}, scales={"activation": (1.0, 3.0)})
    assert main(["--manifest", str(path), "--stress-column", "label", "--scale", "activation=1:5",
                 "--activation-column", "arousal_rating", "--out", str(tmp_path / "t.csv")]) == 0
    assert "tasks: stress, activation" in capsys.readouterr().out
    assert main(["--manifest", str(path), "--scale", "arousal=1:5", "--out", str(tmp_path / "u.csv")]) == 2
    assert "--scale 'arousal=1:5': write TASK=LOW:HIGH" in capsys.readouterr().err


def test_inferred_scales_are_labelled_as_inferred(tmp_path):
    path = tmp_path / "m.csv"
    pd.DataFrame({"text": ["a b", "c d", "e f"], "valence": [1.8, 4.4, 3.0]}).to_csv(path, index=False)
    corpus = load_manifest(path)
    assert corpus.label_scales == {"valence": (1.8, 4.4)}
    assert any(n.startswith("label scales INFERRED from the values present") for n in corpus.notes)

"""OMG-Emotion: clips, transcripts and the paper's video hold-out (4.1), on copies built here."""

from __future__ import annotations

import pandas as pd
import pytest

from muser_core.base.errors import InputError
from muser_core.data.omg import load_omg


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

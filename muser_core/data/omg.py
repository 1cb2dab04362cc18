"""OMG-Emotion (Barros et al., 2018): the paper's external emotion set (4.1, Table 9), from a copy on disk.

YouTube monologue clips with arousal and valence, no stress labels; the
paper pools the Train and Validation videos and holds out whole videos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from muser_core.base.errors import InputError, Skipped, where
from muser_core.data.corpus import Corpus, canonical, read_csv, to_number

OMG_SPLIT_FILES = {"train": "Train", "validation": "Validation", "test": "Test"}
OMG_EMOTIONS = ["anger", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
# How load_omg splits OMG-Emotion: "paper" (4.1: Train and Validation pooled, a seeded
# hold-out of whole videos) or "official" (the data set's own Train/Validation/Test files).
OMG_SPLITS = ("paper", "official")
OMG_PAPER_VIDEOS, OMG_PAPER_HOLDOUT = 1484, 300  # paper 4.1: 1,484 videos kept, 300 held out


def load_omg(root: str | Path, min_words: int = 5, *, split: str = "paper", seed: int = 0) -> Corpus:
    """Read an OMG-Emotion copy: ``omg_*Videos.csv``, ``omg_*Transcripts.csv`` and ``<video>/<utterance>`` clips.

    Arousal becomes ``activation`` (0..1). Valence is rescaled from -1..1 to
    0..1, as the paper treats both on 0..1; the rescale is recorded in the notes.
    Clips whose transcript has fewer than ``min_words`` words, or whose clip is
    missing (a broken link), are skipped (paper 4.1). ``split="paper"`` (the
    default) pools the Train and Validation files and holds out whole videos
    for validation with ``seed`` (:func:`omg_holdout`); ``"official"`` keeps
    the data set's Train, Validation and Test files. The notes say which.
    """
    if split not in OMG_SPLITS:
        raise InputError(f"unknown OMG-Emotion split '{split}' (choose {' or '.join(OMG_SPLITS)})")
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise InputError(f"{root}: OMG-Emotion root folder not found")
    if not any((root / f"omg_{s}Videos.csv").is_file() for s in ("Train", "Validation")):
        raise InputError(f"{root}: not an OMG-Emotion copy (no omg_TrainVideos.csv or omg_ValidationVideos.csv)")
    used = OMG_SPLIT_FILES if split == "official" else {s: OMG_SPLIT_FILES[s] for s in ("train", "validation")}
    frames, skipped, seen = [], [], {}
    for file_split, stem in used.items():
        videos = root / f"omg_{stem}Videos.csv"
        if not videos.is_file():
            continue
        labels = read_csv(videos, required=["video", "utterance", "arousal", "valence"], dtype=str)
        labels["_line"] = np.arange(2, len(labels) + 2)
        transcripts_path = root / f"omg_{stem}Transcripts.csv"
        if transcripts_path.is_file():
            tr = read_csv(transcripts_path, required=["video", "utterance", "transcript"], dtype=str)
            labels = labels.merge(tr[["video", "utterance", "transcript"]].drop_duplicates(["video", "utterance"]),
                                  on=["video", "utterance"], how="left")
        else:
            labels["transcript"] = ""
        for rec in labels.to_dict("records"):
            utt = f"{rec['video']}/{Path(str(rec['utterance'])).stem}"
            line = where(videos, rec["_line"])
            if utt in seen:  # ids are unique within a data set: the first listing wins
                skipped.append(Skipped(utt, f"{line}: listed again (first in {seen[utt]})"))
                continue
            text = rec["transcript"] if isinstance(rec["transcript"], str) else ""
            if len(text.split()) < min_words:
                skipped.append(Skipped(utt, f"transcript shorter than {min_words} words"))
                continue
            arousal, valence = to_number(rec["arousal"]), to_number(rec["valence"])
            if not (np.isfinite(arousal) and np.isfinite(valence)):
                skipped.append(Skipped(utt, f"{line}: arousal/valence not a number"))
                continue
            clip = root / str(rec["video"]) / str(rec["utterance"])
            if not clip.is_file():
                skipped.append(Skipped(utt, "clip file missing"))
                continue
            seen[utt] = line
            emotion = to_number(rec.get("EmotionMaxVote"))
            frames.append({
                "utterance_id": utt, "speaker": rec["video"], "dataset": "omg", "split": file_split,
                "text": text.strip(), "audio_path": str(clip), "stress": np.nan,
                "activation": arousal, "valence": (valence + 1.0) / 2.0,
                "emotion": OMG_EMOTIONS[int(emotion)] if 0 <= emotion < len(OMG_EMOTIONS) else "",
            })
    if not frames:
        raise InputError(f"{root}: no usable clips ({len(skipped)} skipped)")
    table = canonical(pd.DataFrame(frames))
    if split == "paper":
        table["split"] = omg_holdout(table["speaker"], seed, source=str(root))
        n_videos, n_held = table["speaker"].nunique(), table.loc[table["split"] == "validation", "speaker"].nunique()
        split_notes = [f"split: paper (4.1): the Train and Validation files pooled, {n_videos:,} usable videos "
                       f"(the paper's: {OMG_PAPER_VIDEOS:,}), {n_held:,} held out as validation by video "
                       f"with seed {seed} (the paper holds out {OMG_PAPER_HOLDOUT} of {OMG_PAPER_VIDEOS:,}; "
                       f"a copy with fewer videos holds out the same share, rounded), no test split"]
        if (root / "omg_TestVideos.csv").is_file():
            split_notes.append("omg_TestVideos.csv is not used (the paper uses the Train and Validation "
                               "videos only; --omg-split official reads it)")
    else:
        split_notes = ["split: official: OMG-Emotion's own files (omg_TrainVideos.csv -> train, "
                       "omg_ValidationVideos.csv -> validation, omg_TestVideos.csv -> test)"]
    notes = ["valence rescaled from -1..1 to 0..1 as (valence + 1) / 2",
             "activation is OMG-Emotion's arousal (0..1)", "speaker is the video id", *split_notes]
    return Corpus(table, "omg", {"activation": (0.0, 1.0), "valence": (0.0, 1.0)}, notes, skipped)


def omg_holdout_size(n_videos: int) -> int:
    """Videos to hold out for validation: the paper's 300 of 1,484 (4.1), the same share for fewer.

    ``round(n_videos * 300 / 1484)``, at most 300, at least 1, and always
    leaving at least one video to train on.
    """
    share = round(n_videos * OMG_PAPER_HOLDOUT / OMG_PAPER_VIDEOS)
    return max(1, min(OMG_PAPER_HOLDOUT, share, n_videos - 1))


def omg_holdout(videos: pd.Series, seed: int = 0, source: str = "OMG-Emotion") -> pd.Series:
    """``train`` / ``validation`` per row, holding out whole videos (paper 4.1), seeded.

    The videos are sorted before the seeded shuffle, so the hold-out depends on
    the seed and the set of videos, not on the order of the CSV files.
    """
    names = np.array(sorted(videos.unique()))
    if len(names) < 2:
        raise InputError(f"{source}: {len(names)} usable video; the paper's validation hold-out (4.1) "
                         "needs at least 2 (use --omg-split official to keep the data set's own files)")
    held = np.random.default_rng(seed).permutation(names)[:omg_holdout_size(len(names))]
    return pd.Series(np.where(videos.isin(set(held)), "validation", "train"), index=videos.index, name="split")


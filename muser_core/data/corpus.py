"""One canonical utterance table for every data set (MuSE, OMG-Emotion, a manifest, the demo).

Every loader returns a :class:`Corpus`: a pandas table with the columns in
:data:`CANONICAL_COLUMNS` (plus whatever extra columns the loader knows, such as
gender, question, session, and for the demo corpus the 88 eGeMAPS features),
the scale of each emotion label as the data set defines it, notes on anything
the loader changed, and the items it skipped with the reason.

Command line::

    python -m muser_core.corpus --muse ROOT | --omg ROOT [--omg-split paper|official] | --manifest CSV | --demo \\
        --out corpus.csv

writes ``corpus.csv`` and its metadata (label scales, notes, skipped items) as
``corpus.csv.meta.json``; it never overwrites a file it did not write.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from muser_core.base.errors import InputError, Skipped, where
from muser_core.base.tasks import INTERNAL_TASKS

CANONICAL_COLUMNS = [
    "utterance_id",  # unique within the data set
    "speaker",       # speaker id (OMG-Emotion: the video id)
    "dataset",       # "muse", "omg", "demo", "demo-external" or the manifest's name
    "split",         # "train", "validation" or "test"
    "text",          # transcript ("" when unknown)
    "audio_path",    # absolute path of the audio ("" when unknown)
    "stress",        # 1 stressed, 0 not stressed, missing where unknown
    "activation",    # on the data set's own scale (see Corpus.label_scales)
    "valence",       # on the data set's own scale (see Corpus.label_scales)
]
LABEL_COLUMNS = INTERNAL_TASKS
SPLITS = ("train", "validation", "test")
PAPER_SPLIT_SIZES = (1853, 200, 273)  # MUSER paper, section 3.1
TABLE_SUFFIXES = (".csv", ".csv.gz")  # what Corpus.save writes (pandas compresses by the name)
META_SUFFIX = ".meta.json"            # the sidecar: "corpus.csv" -> "corpus.csv.meta.json"
WRITTEN_BY = "muser_core.corpus"      # marks a sidecar as ours, so a re-run may replace its table


@dataclass
class Corpus:
    """A canonical utterance table plus what a reader needs to trust it."""

    table: pd.DataFrame
    name: str
    label_scales: dict[str, tuple[float, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    synthetic: bool = False  # True for the generated demo data: pages must say so

    def summary(self) -> str:
        """A few lines a person reads after loading: rows, splits, labels, skipped items."""
        t = self.table
        lines = [f"{self.name}: {len(t)} utterances, {t['speaker'].nunique()} speakers"
                 + (" (SYNTHETIC demo data)" if self.synthetic else "")]
        counts = t["split"].value_counts()
        lines.append("rows per split: " + ", ".join(f"{s} {int(counts.get(s, 0))}" for s in SPLITS))
        stress = t["stress"].dropna()
        if len(stress):
            lines.append(f"stress: {int((stress == 1).sum())} stressed, "
                         f"{int((stress == 0).sum())} not stressed, {int(t['stress'].isna().sum())} missing")
        for col in ("activation", "valence"):
            values = t[col].dropna()
            if len(values):
                lo, hi = self.label_scales.get(col, (np.nan, np.nan))
                lines.append(f"{col}: mean {values.mean():.2f}, sd {values.std():.2f} "
                             f"(scale {lo:g}..{hi:g}), {int(t[col].isna().sum())} missing")
        lines += [f"note: {n}" for n in self.notes]
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} items:")
            reasons = pd.Series([s.reason for s in self.skipped]).value_counts()
            lines += [f"  {n} x {reason}" for reason, n in reasons.items()]
        return "\n".join(lines)

    def save(self, path: str | Path) -> None:
        """Write the table as CSV and its metadata beside it as ``<name>.meta.json``.

        Never overwrites a file this module did not write: an existing table is
        replaced only when its sidecar says it is ours (a user's manifest, or a
        ``mydata.json`` of their own, is left alone). Both files are written to
        a temporary name first, so a failed write loses nothing.
        """
        path = Path(path)
        check_table_path(path)
        meta = {"written_by": WRITTEN_BY, "table": path.name, "name": self.name,
                "label_scales": self.label_scales, "notes": self.notes, "synthetic": self.synthetic,
                "skipped": [asdict(s) for s in self.skipped]}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # The sidecar first: a table is only ever replaced once a sidecar says it is ours.
            _write_atomic(sidecar_path(path), lambda tmp: tmp.write_text(json.dumps(meta, indent=2)))
            _write_atomic(path, lambda tmp: self.table.to_csv(tmp, index=False,
                                                             compression=_compression(path)))
        except OSError as exc:
            raise InputError(f"{path}: cannot write ({exc.strerror})") from None

    @classmethod
    def load(cls, path: str | Path) -> Corpus:
        """Read a table written by :meth:`save` (the sidecar beside it is optional)."""
        path = Path(path)
        table = _read_csv(path, required=["utterance_id", "speaker", "split"],
                          dtype={c: str for c in CANONICAL_COLUMNS if c not in LABEL_COLUMNS})
        meta = next((m for m in map(_our_meta, _meta_candidates(path)) if m is not None), {})
        try:
            table = canonical(table)
        except ValueError as exc:
            raise InputError(f"{path}: a label column holds a value that is not a number ({exc})") from None
        return cls(table=table, name=meta.get("name", path.stem),
                   label_scales={k: tuple(v) for k, v in meta.get("label_scales", {}).items()},
                   notes=meta.get("notes", []), synthetic=meta.get("synthetic", False),
                   skipped=[Skipped(**s) for s in meta.get("skipped", [])])


def sidecar_path(table: str | Path) -> Path:
    """Where :meth:`Corpus.save` puts a table's metadata: ``corpus.csv`` -> ``corpus.csv.meta.json``.

    The table's full name plus a suffix of our own, so it cannot be a user's
    ``corpus.json`` (what older versions wrote, and still read).
    """
    table = Path(table)
    return table.with_name(table.name + META_SUFFIX)


def check_table_path(path: str | Path) -> None:
    """Refuse a path :meth:`Corpus.save` must not write, with one line saying why.

    A folder, a name that is not a CSV table's, or a file this module did not
    write (a table without a sidecar of ours, or a sidecar name taken by
    another file) is refused, so no user file is ever overwritten.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name ending in .csv")
    if not path.name.lower().endswith(TABLE_SUFFIXES):
        raise InputError(f"{path}: the table is written as CSV; give a file name ending in "
                         f"{' or '.join(TABLE_SUFFIXES)}")
    meta_path = sidecar_path(path)
    if meta_path.exists() and _our_meta(meta_path) is None:
        raise InputError(f"{meta_path}: exists and was not written by {WRITTEN_BY}, "
                         "so the table's metadata cannot go there; choose another --out")
    if path.exists() and not any(_our_meta(m) is not None for m in _meta_candidates(path)):
        raise InputError(f"{path}: exists and was not written by {WRITTEN_BY} "
                         "(no sidecar of ours beside it); choose another --out or delete the file")


def _meta_candidates(table: Path) -> list[Path]:
    # Older versions wrote "<stem>.json"; it is read only when it is one of ours.
    return [sidecar_path(table), table.with_suffix(".json")]


def _our_meta(path: Path) -> dict | None:
    """The sidecar's content when it is a corpus sidecar we wrote, else None (a user's own JSON)."""
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    legacy = {"name", "label_scales", "notes", "synthetic", "skipped"}
    if isinstance(meta, dict) and (meta.get("written_by") == WRITTEN_BY or legacy <= set(meta)):
        return meta
    return None


def _compression(path: Path) -> str | None:
    return "gzip" if path.name.lower().endswith(".gz") else None


def _write_atomic(path: Path, write) -> None:
    """``write(tmp)`` beside ``path``, then rename: the old file survives any failure."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def canonical(table: pd.DataFrame) -> pd.DataFrame:
    """Put the canonical columns first, with their types; extra columns follow."""
    table = table.copy()
    for col in CANONICAL_COLUMNS:
        if col not in table:
            table[col] = np.nan if col in LABEL_COLUMNS else ""
    for col in ("utterance_id", "speaker", "dataset", "split", "text", "audio_path"):
        table[col] = table[col].fillna("").astype(str)
    for col in LABEL_COLUMNS:
        table[col] = pd.to_numeric(table[col], errors="raise").astype(float)
    extra = [c for c in table.columns if c not in CANONICAL_COLUMNS]
    return table[CANONICAL_COLUMNS + extra].reset_index(drop=True)


def _read_csv(path: Path, required: list[str], label: str | None = None, **kwargs) -> pd.DataFrame:
    """Read a CSV or raise one InputError naming the file (as ``label``, if given) and missing column."""
    label = label or str(path)
    if not path.is_file():
        raise InputError(f"{label}: file not found")
    try:
        table = pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{label}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(f"{where(label, field=missing[0])}: column missing "
                         f"(the file has: {', '.join(map(str, table.columns[:12]))})")
    return table


# --------------------------------------------------------------------------- splits

def speaker_independent_split(table: pd.DataFrame, seed: int = 0,
                              fractions: tuple[float, float, float] | None = None) -> pd.Series:
    """Assign whole speakers to train/validation/test so no speaker is in two splits.

    Speakers are shuffled with ``seed`` and filled greedily into the split
    furthest below its target share of rows; the default shares are the
    paper's 1,853 / 200 / 273 sentences (section 3.1).
    """
    fractions = fractions or tuple(np.array(PAPER_SPLIT_SIZES) / sum(PAPER_SPLIT_SIZES))
    rows_per_speaker = table.groupby("speaker").size()
    rng = np.random.default_rng(seed)
    speakers = list(rows_per_speaker.index)
    rng.shuffle(speakers)
    targets = np.array(fractions) * len(table)
    filled = np.zeros(3)
    assignment: dict[str, str] = {}
    # Give validation and test one speaker each first, so no split is empty.
    for i, split in ((1, "validation"), (2, "test")):
        if len(speakers) >= 3:
            spk = speakers.pop()
            assignment[spk] = split
            filled[i] += rows_per_speaker[spk]
    for spk in speakers:
        i = int(np.argmax((targets - filled) / targets))
        assignment[spk] = SPLITS[i]
        filled[i] += rows_per_speaker[spk]
    return table["speaker"].map(assignment).rename("split")


def paper_split(table: pd.DataFrame, seed: int = 0, stratify: str = "stress",
                sizes: tuple[int, int, int] = PAPER_SPLIT_SIZES) -> pd.Series:
    """Split sentences in the paper's proportions (1,853 / 200 / 273), stratified by a label.

    Speakers may appear in several splits, as in the paper. When the table does
    not have exactly sum(sizes) rows the sizes are scaled to its length.
    """
    from sklearn.model_selection import train_test_split

    n = len(table)
    n_val = round(n * sizes[1] / sum(sizes))
    n_test = round(n * sizes[2] / sum(sizes))
    labels = table[stratify] if stratify in table and table[stratify].notna().all() else None
    idx = np.arange(n)
    rest, test = train_test_split(idx, test_size=n_test, random_state=seed, stratify=labels)
    rest_labels = labels.iloc[rest] if labels is not None else None
    train, val = train_test_split(rest, test_size=n_val, random_state=seed, stratify=rest_labels)
    split = np.empty(n, dtype=object)
    split[train], split[val], split[test] = "train", "validation", "test"
    return pd.Series(split, index=table.index, name="split")


def assign_split(table: pd.DataFrame, how: str = "speaker", seed: int = 0) -> pd.DataFrame:
    """Return the table with its ``split`` column set: ``speaker`` (default) or ``paper``."""
    if how not in ("speaker", "paper"):
        raise InputError(f"unknown split '{how}' (choose speaker or paper)")
    table = table.copy()
    table["split"] = (speaker_independent_split(table, seed) if how == "speaker"
                      else paper_split(table, seed))
    return table


# --------------------------------------------------------------------------- MuSE

MUSE_SURVEY_FOLDERS = ("Survey Information (Questions, Data etc)", "SurveyInformation")
MUSE_LABEL_CSV = "Emotion data from crowdsourcing (C is when annotators had access to all previous sentences).csv"
MUSE_COLUMNS = ["Sentence_name", "Duration", "Gender", "Type", "Ques_Type",
                "Activation_Mean", "Activation_SD", "Valence_Mean", "Valence_SD",
                "Activation_Annotation", "Valence_Annotation",
                "C_Activation_Mean", "C_Activation_SD", "C_Valence_Mean", "C_Valence_SD",
                "C_Activation_Annotation", "C_Valence_Annotation", "S_Activation", "S_Valence"]
# Which columns hold activation and valence for each choice of emotion label.
MUSE_EMOTION_LABELS = {
    "self": ("S_Activation", "S_Valence"),                  # speaker's self-report (paper's choice)
    "crowd": ("Activation_Mean", "Valence_Mean"),           # crowd mean, sentence alone
    "crowd_context": ("C_Activation_Mean", "C_Valence_Mean"),  # crowd mean, with previous sentences
}


def _muse_label_csv(root: Path) -> Path:
    for folder in MUSE_SURVEY_FOLDERS:
        survey = root / folder
        if survey.is_dir():
            exact = survey / MUSE_LABEL_CSV
            if exact.is_file():
                return exact
            found = sorted(survey.glob("Emotion data*.csv"))
            if found:
                return found[0]
            raise InputError(f"{survey}: no 'Emotion data from crowdsourcing ... .csv' in this folder")
    raise InputError(f"{root}: not a MuSE copy (neither '{MUSE_SURVEY_FOLDERS[0]}' "
                     f"nor '{MUSE_SURVEY_FOLDERS[1]}' found)")


def load_muse(root: str | Path, emotion_label: str = "self", split: str = "speaker",
              seed: int = 0) -> Corpus:
    """Read a MuSE copy in its distributed layout (see shared notes on data sets).

    ``emotion_label`` picks the self-report (paper's choice), the crowd mean, or
    the crowd mean with context. Sentences with no transcript are skipped and
    counted; a missing audio file leaves ``audio_path`` empty and is counted too.
    """
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise InputError(f"{root}: MuSE root folder not found")
    if emotion_label not in MUSE_EMOTION_LABELS:
        raise InputError(f"unknown emotion label '{emotion_label}' "
                         f"(choose {', '.join(MUSE_EMOTION_LABELS)})")
    csv_path = _muse_label_csv(root)
    raw = _read_csv(csv_path, required=["Sentence_name", "Type"]
                    + list(MUSE_EMOTION_LABELS[emotion_label]), dtype={"Sentence_name": str})
    transcripts = root / "Combined" / "Utterance Transcripts"
    if not transcripts.is_dir():
        raise InputError(f"{transcripts}: transcript folder not found")
    stressed_audio = [root / "Stressed" / "Audio" / "Stressed Question Monologue Audio"]
    relaxed_audio = sorted((root / "NotStressed" / "Audio").glob("Non Stressed Question Monologue Audio*"))
    act_col, val_col = MUSE_EMOTION_LABELS[emotion_label]
    rows, skipped, no_audio = [], [], 0
    for line, rec in enumerate(raw.to_dict("records"), start=2):  # line 1 is the header
        name = str(rec["Sentence_name"]).strip()
        utt = name[:-4] if name.lower().endswith(".wav") else name
        kind = str(rec["Type"]).strip().upper()
        if kind not in ("S", "NS"):
            skipped.append(Skipped(utt, f"{where(csv_path, line, 'Type')}: expected S or NS"))
            continue
        text_file = transcripts / f"{utt}.txt"
        if not text_file.is_file():
            skipped.append(Skipped(utt, "no transcript file"))
            continue
        text = text_file.read_text(encoding="utf-8", errors="replace").strip()
        audio = next((d / f"{utt}.wav" for d in (stressed_audio if kind == "S" else relaxed_audio)
                      if (d / f"{utt}.wav").is_file()), None)
        no_audio += audio is None
        rows.append({
            "utterance_id": utt, "speaker": utt[:2], "dataset": "muse", "text": text,
            "audio_path": str(audio) if audio else "", "stress": 1.0 if kind == "S" else 0.0,
            "activation": _number(rec.get(act_col)), "valence": _number(rec.get(val_col)),
            "gender": rec.get("Gender", ""), "question": rec.get("Ques_Type", ""),
            "session": f"{utt[:2]}-{kind}", "duration": _number(rec.get("Duration")),
        })
    if not rows:
        raise InputError(f"{csv_path}: no usable sentences ({len(skipped)} skipped)")
    table = assign_split(canonical(pd.DataFrame(rows)), split, seed)
    notes = [f"emotion labels: {emotion_label} ({act_col}, {val_col})"]
    if no_audio:
        notes.append(f"{no_audio} sentences have no audio file (text only)")
    return Corpus(table, "muse", {"activation": (1.0, 9.0), "valence": (1.0, 9.0)},
                  notes, skipped)


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


# --------------------------------------------------------------------------- OMG-Emotion

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
        labels = _read_csv(videos, required=["video", "utterance", "arousal", "valence"], dtype=str)
        labels["_line"] = np.arange(2, len(labels) + 2)
        transcripts_path = root / f"omg_{stem}Transcripts.csv"
        if transcripts_path.is_file():
            tr = _read_csv(transcripts_path, required=["video", "utterance", "transcript"], dtype=str)
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
            arousal, valence = _number(rec["arousal"]), _number(rec["valence"])
            if not (np.isfinite(arousal) and np.isfinite(valence)):
                skipped.append(Skipped(utt, f"{line}: arousal/valence not a number"))
                continue
            clip = root / str(rec["video"]) / str(rec["utterance"])
            if not clip.is_file():
                skipped.append(Skipped(utt, "clip file missing"))
                continue
            seen[utt] = line
            emotion = _number(rec.get("EmotionMaxVote"))
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


# --------------------------------------------------------------------------- manifest

STRESS_WORDS = {"1": 1.0, "0": 0.0, "true": 1.0, "false": 0.0, "stressed": 1.0, "s": 1.0,
                "not stressed": 0.0, "not_stressed": 0.0, "ns": 0.0, "yes": 1.0, "no": 0.0}


class NoUsableRows(InputError):
    """A manifest none of whose rows could be used; ``skipped`` says why for each."""

    def __init__(self, message: str, skipped: list[Skipped]):
        super().__init__(message)
        self.skipped = skipped


def load_manifest(path: str | Path, split: str = "speaker", seed: int = 0, *,
                  name: str | None = None, audio_roots: Sequence[str | Path] | None = None,
                  relative_audio: bool = True) -> Corpus:
    """Read any CSV with at least ``text`` or ``audio_path`` plus any of the label columns.

    Relative audio paths are taken from the CSV's folder. Without a
    ``speaker`` column every row is its own speaker; without a ``split``
    column (or with an empty one) the rows are split (speaker-independent by
    default). ``name`` is how messages name the file (an upload's own name,
    not the server's temporary copy). With ``audio_roots``, an audio path must
    lie inside one of those folders once links and ``..`` are resolved;
    others are skipped without being looked at. ``relative_audio=False``
    skips relative paths (an uploaded CSV has no folder of its own).
    """
    path = Path(path).expanduser().resolve()
    label = name or str(path)
    raw = _read_csv(path, required=[], label=label, dtype=str, keep_default_na=False)
    if "text" not in raw and "audio_path" not in raw:
        raise InputError(f"{where(label, field='text')}: a manifest needs a 'text' or an 'audio_path' column")
    roots = None if audio_roots is None else [Path(r).expanduser().resolve() for r in audio_roots]
    rows, skipped, lines = [], [], {}
    for line, rec in enumerate(raw.to_dict("records"), start=2):
        text = rec.get("text", "").strip()
        audio = rec.get("audio_path", "").strip()
        uid = rec.get("utterance_id", "").strip() or f"row{line - 1:05d}"
        if uid in lines:
            raise InputError(f"{where(label, field='utterance_id')}: lines {lines[uid]} and {line} "
                             f"have the same id {uid!r}; ids must be unique")
        lines[uid] = line
        if not text and not audio:
            skipped.append(Skipped(uid, f"{where(label, line)}: neither text nor audio_path"))
            continue
        if audio:
            absolute = Path(audio).expanduser().is_absolute()
            if not absolute and not relative_audio:
                skipped.append(Skipped(uid, f"{where(label, line, 'audio_path')}: {audio} is a relative "
                                            "path; an uploaded manifest needs absolute audio paths"))
                continue
            audio_file = (Path(audio).expanduser() if absolute else path.parent / audio).resolve()
            if roots is not None and not any(audio_file.is_relative_to(r) for r in roots):
                skipped.append(Skipped(uid, f"{where(label, line, 'audio_path')}: {audio} is outside "
                                            "the data folders this app may read"))
                continue
            if not audio_file.is_file():
                skipped.append(Skipped(uid, f"{where(label, line, 'audio_path')}: {audio} not found"
                                            + ("" if absolute else " (relative to the manifest's folder)")))
                continue
            audio = str(audio_file)
        row = dict(rec, utterance_id=uid, text=text, audio_path=audio)
        column = "stress"
        try:
            row["stress"] = _stress_value(rec.get("stress", ""))
            for column in ("activation", "valence"):
                row[column] = _score(rec.get(column, ""))
        except ValueError as exc:
            raise InputError(f"{where(label, line, column)}: not a valid label ({rec.get(column)!r}; {exc})") from None
        if "split" in raw:
            row["split"] = _split_value(rec["split"], label, line)
        row.setdefault("speaker", "")
        row["speaker"] = row["speaker"].strip() or uid
        row.setdefault("dataset", path.stem)
        row["dataset"] = row["dataset"] or path.stem
        rows.append(row)
    if not rows:
        raise NoUsableRows(f"{label}: no usable rows ({len(skipped)} skipped; first: {skipped[0].reason})"
                           if skipped else f"{label}: no rows", skipped)
    table = canonical(pd.DataFrame(rows))
    given = table["split"] != ""
    if not given.all():
        if given.any():  # some rows have a split, some do not: which to trust is the user's call
            line = lines[table.loc[~given, "utterance_id"].iloc[0]]
            raise InputError(f"{where(label, line, 'split')}: empty, while other rows give one "
                             "(give every row train, validation or test, or leave the column empty)")
        table = assign_split(table, split, seed)
    scales = {c: (float(table[c].min()), float(table[c].max()))
              for c in ("activation", "valence") if table[c].notna().any()}
    return Corpus(table, Path(label).stem, scales, ["label scales taken from the values present"], skipped)


def _stress_value(value: str) -> float:
    """1, 0, their float spellings (1.0, as pandas writes a label column with gaps) or a word."""
    value = value.strip().lower()
    if not value or value == "nan":
        return np.nan
    if value in STRESS_WORDS:
        return STRESS_WORDS[value]
    try:
        number = float(value)
    except ValueError:
        number = None
    if number not in (0.0, 1.0):
        raise ValueError("stress is 0/1, stressed/not stressed")
    return number


def _score(value: str) -> float:
    """An activation or valence score: a finite number, or missing when empty."""
    if not value.strip():
        return np.nan
    try:
        number = float(value)
    except ValueError:
        raise ValueError("not a number") from None
    if np.isinf(number):
        raise ValueError("must be a finite number")
    return number


def _split_value(value: str, label: str, line: int) -> str:
    """A split name, whatever its case and spacing; "" when empty; anything else refused."""
    split = " ".join(value.split()).lower()
    if split and split not in SPLITS:
        raise InputError(f"{where(label, line, 'split')}: {value!r} is not one of "
                         f"{', '.join(SPLITS)} (case and spaces do not matter)")
    return split


# --------------------------------------------------------------------------- command line

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m muser_core.corpus", description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--muse", metavar="ROOT", help="a MuSE copy in its distributed layout")
    source.add_argument("--omg", metavar="ROOT", help="an OMG-Emotion copy (CSVs and clip folders)")
    source.add_argument("--manifest", metavar="CSV", help="a CSV with text and/or audio_path and labels")
    source.add_argument("--demo", action="store_true", help="the embedded synthetic demo corpus")
    source.add_argument("--study", metavar="DIR", help="a study recorded in the app (muser_core.study); with "
                                                       "fewer than 3 participants --split speaker splits by session")
    parser.add_argument("--out", required=True,
                        help="the canonical table to write (.csv or .csv.gz; its metadata goes to <out>.meta.json)")
    parser.add_argument("--split", choices=["speaker", "paper"], default="speaker",
                        help="speaker-independent (default) or the paper's sentence counts")
    parser.add_argument("--emotion-label", choices=list(MUSE_EMOTION_LABELS), default="self",
                        help="MuSE only: which activation/valence ratings to use")
    parser.add_argument("--omg-split", choices=OMG_SPLITS, default="paper",
                        help="OMG-Emotion only: paper (default; Train and Validation pooled, 300 of 1,484 "
                             "videos held out for validation, the same share of a smaller copy, paper 4.1) "
                             "or official (the data set's Train/Validation/Test files)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the split (and the OMG hold-out)")
    args = parser.parse_args(argv)
    try:
        check_table_path(args.out)  # before a long load, not after it
        if args.muse:
            corpus = load_muse(args.muse, args.emotion_label, args.split, args.seed)
        elif args.omg:
            corpus = load_omg(args.omg, split=args.omg_split, seed=args.seed)
        elif args.manifest:
            corpus = load_manifest(args.manifest, args.split, args.seed)
        elif args.study:
            from muser_core.study.store import load_study
            corpus = load_study(args.study, args.split, args.seed)
        else:
            from muser_core.data.demo import load_demo
            corpus = load_demo()
        corpus.save(args.out)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(corpus.summary())
    print(f"wrote {args.out} and {sidecar_path(args.out).name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

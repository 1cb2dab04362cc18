"""A manifest: any CSV of utterances (text and/or audio paths) with any of the labels.

The way in for a person's own data: one row per utterance, columns named as
in the canonical table; what is missing (speakers, splits) is filled in.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from muser_core.base.errors import InputError, Skipped, where
from muser_core.base.tasks import EMOTION_TASKS, INTERNAL_TASKS, stress_value
from muser_core.data.corpus import SPLITS, Corpus, canonical, read_csv
from muser_core.data.splits import assign_split


class NoUsableRows(InputError):
    """A manifest none of whose rows could be used; ``skipped`` says why for each."""

    def __init__(self, message: str, skipped: list[Skipped]):
        super().__init__(message)
        self.skipped = skipped


LABEL_LIKE = ("label", "labels", "class", "y", "target", "stressed", "arousal")  # look like a task's labels


def parse_scales(text: str) -> dict[str, tuple[float, float]]:
    """``activation=1:5,valence=1:5`` -> {"activation": (1.0, 5.0), ...}; one InputError line otherwise."""
    scales = {}
    for part in filter(None, (p.strip() for p in str(text or "").split(","))):
        task, sep, span = part.partition("=")
        low, colon, high = span.partition(":")
        try:
            lo, hi = float(low), float(high)
        except ValueError:
            lo = hi = float("nan")
        if task.strip() not in EMOTION_TASKS or not sep or not colon or not lo < hi:
            raise InputError(f"--scale '{part}': write TASK=LOW:HIGH with TASK activation or valence, LOW < HIGH "
                             "(e.g. activation=1:5)")
        scales[task.strip()] = (lo, hi)
    return scales


def load_manifest(path: str | Path, split: str = "speaker", seed: int = 0, *,
                  name: str | None = None, audio_roots: Sequence[str | Path] | None = None,
                  relative_audio: bool = True, label_columns: Mapping[str, str] | None = None,
                  scales: Mapping[str, tuple[float, float]] | None = None) -> Corpus:
    """Read any CSV with at least ``text`` or ``audio_path`` plus any of the label columns.

    Relative audio paths are taken from the CSV's folder. Without a
    ``speaker`` column every row is its own speaker; without a ``split``
    column (or with an empty one) the rows are split (speaker-independent by
    default). ``name`` is how messages name the file (an upload's own name,
    not the server's temporary copy). With ``audio_roots``, an audio path must
    lie inside one of those folders once links and ``..`` are resolved;
    others are skipped without being looked at. ``relative_audio=False``
    skips relative paths (an uploaded CSV has no folder of its own). ``label_columns`` maps a task to the column
    holding it (``{"stress": "label"}``); ``scales`` declares emotion label scales (else they are inferred from
    the values present, and the notes say so). A table with no label column at all, but one that looks like
    labels (``label``, ``class``...), is refused in one line suggesting the mapping: loaded, it would have an
    empty stress column and fail only at training time.
    """
    path = Path(path).expanduser().resolve()
    label = name or str(path)
    raw = read_csv(path, required=[], label=label, dtype=str, keep_default_na=False)
    if "text" not in raw and "audio_path" not in raw:
        raise InputError(f"{where(label, field='text')}: a manifest needs a 'text' or an 'audio_path' column")
    mapped = {task: column for task, column in (label_columns or {}).items() if column}
    for task, column in mapped.items():
        if column not in raw:
            raise InputError(f"{where(label, field=column)}: no such column for {task} "
                             f"(the file has: {', '.join(map(str, raw.columns[:12]))})")
    raw = raw.drop(columns=[t for t in mapped if t in raw and t not in mapped.values()])
    raw = raw.rename(columns={column: task for task, column in mapped.items()})
    found = [t for t in INTERNAL_TASKS if t in raw]
    if not found:
        like = [c for c in raw.columns if str(c).strip().lower() in LABEL_LIKE]
        if like:
            raise InputError(f"{label}: no label column (stress, activation, valence); column '{like[0]}' looks like "
                             f"one: map it, e.g. --stress-column {like[0]} (or rename it)")
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
            row["stress"] = stress_value(rec.get("stress", ""))
            for column in EMOTION_TASKS:
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
    for c, (lo, hi) in (scales or {}).items():
        outside = table[c].notna() & ~table[c].between(lo, hi)
        if outside.any():
            line = lines[table.loc[outside, "utterance_id"].iloc[0]]
            raise InputError(f"{where(label, line, c)}: {table.loc[outside, c].iloc[0]:g} is outside the declared "
                             f"scale {lo:g}..{hi:g}")
    inferred = {c: (float(table[c].min()), float(table[c].max()))
                for c in EMOTION_TASKS if table[c].notna().any() and c not in (scales or {})}
    notes = [f"label columns: {', '.join(f'{t} <- {c}' for t, c in mapped.items()) or 'as named'} "
             f"(found: {', '.join(found) or 'none'})"]
    if inferred:
        notes.append("label scales INFERRED from the values present (declare them with --scale, e.g. "
                     "activation=1:5): " + ", ".join(f"{c} {lo:g}..{hi:g}" for c, (lo, hi) in inferred.items()))
    if scales:
        notes.append("label scales as declared: " + ", ".join(f"{c} {lo:g}..{hi:g}" for c, (lo, hi) in scales.items()))
    return Corpus(table, Path(label).stem, {**inferred, **dict(scales or {})}, notes, skipped)


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



def load_uploaded_manifest(data: bytes, name: str, split: str = "speaker", seed: int = 0, *,
                           audio_roots: Sequence[str | Path] = ()) -> Corpus:
    """A manifest uploaded to the app: audio only from ``audio_roots``, messages naming the file as uploaded.

    The bytes go to a temporary folder, removed once read; an upload has no
    folder of its own, so its audio paths must be absolute.
    """
    name = Path(name).name or "upload.csv"  # the name only: an upload can't choose where it lands
    with tempfile.TemporaryDirectory(prefix="muser-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return load_manifest(path, split, seed, name=name, audio_roots=audio_roots, relative_audio=False)

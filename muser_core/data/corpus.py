"""The canonical utterance table every data set loads into, and its files on disk.

A :class:`Corpus` is a pandas table with the columns in
:data:`CANONICAL_COLUMNS` (plus whatever extra columns a loader knows, such as
gender, question, session, and for the demo corpus the 88 eGeMAPS features),
the scale of each emotion label as the data set defines it, notes on anything
the loader changed, and the items it skipped with the reason.
:meth:`Corpus.save` writes ``corpus.csv`` and its metadata as
``corpus.csv.meta.json``; it never overwrites a file it did not write.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from muser_core.base.errors import InputError, Skipped, where
from muser_core.base.files import atomic_write_text, file_sha256, remove_quietly, temporary_path
from muser_core.base.tasks import EMOTION_TASKS, INTERNAL_TASKS, SPLITS

CANONICAL_COLUMNS = [
    "utterance_id",  # unique within the data set
    "speaker",       # speaker id (OMG-Emotion: the video id)
    "dataset",       # the data set the row comes from (muser_core.sources names them)
    "split",         # "train", "validation" or "test"
    "text",          # transcript ("" when unknown)
    "audio_path",    # absolute path of the audio ("" when unknown)
    "stress",        # 1 stressed, 0 not stressed, missing where unknown
    "activation",    # on the data set's own scale (see Corpus.label_scales)
    "valence",       # on the data set's own scale (see Corpus.label_scales)
]
LABEL_COLUMNS = INTERNAL_TASKS
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

    @property
    def tasks(self) -> list[str]:
        """The tasks the table has labels for, in task order (EmoBank: activation, valence; Dreaddit: stress)."""
        return [t for t in LABEL_COLUMNS if t in self.table and self.table[t].notna().any()]

    def summary(self) -> str:
        """A few lines a person reads after loading: rows, splits, labels, skipped items."""
        t = self.table
        lines = [f"{self.name}: {len(t)} utterances, {t['speaker'].nunique()} speakers"
                 + (" (SYNTHETIC demo data)" if self.synthetic else "")]
        counts = t["split"].value_counts()
        lines.append("rows per split: " + ", ".join(f"{s} {int(counts.get(s, 0))}" for s in SPLITS))
        absent = [task for task in LABEL_COLUMNS if task not in self.tasks]
        lines.append(f"tasks: {', '.join(self.tasks) or 'none'}" + (f" (no {' or '.join(absent)} labels)" if absent else ""))
        stress = t["stress"].dropna()
        if len(stress):
            lines.append(f"stress: {int((stress == 1).sum())} stressed, "
                         f"{int((stress == 0).sum())} not stressed, {int(t['stress'].isna().sum())} missing")
        for col in EMOTION_TASKS:
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
        ``mydata.json`` of their own, is left alone).

        Table and sidecar change together or not at all: the new table is
        written to a temporary file first; the new sidecar names its SHA-256
        and keeps the previous sidecar; then the sidecar and the table are
        renamed into place. A reader (:func:`table_meta`) takes whichever
        sidecar matches the table it finds, so a kill or a full disk between
        the two renames leaves the old table with its own metadata.
        """
        path = Path(path)
        check_table_path(path)
        meta = {"written_by": WRITTEN_BY, "table": path.name, "name": self.name,
                "label_scales": self.label_scales, "notes": self.notes, "synthetic": self.synthetic,
                "skipped": [asdict(s) for s in self.skipped]}
        table_tmp = temporary_path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.table.to_csv(table_tmp, index=False, compression=_compression(path))
            meta["table_sha256"] = file_sha256(table_tmp)
            previous = _our_meta(sidecar_path(path)) if path.exists() else None
            if previous is not None:
                meta["previous"] = {k: v for k, v in previous.items() if k != "previous"}
            # The sidecar first: a table is only ever replaced once a sidecar says it is ours.
            atomic_write_text(sidecar_path(path), json.dumps(meta, indent=2))
            os.replace(table_tmp, path)
        except OSError as exc:
            raise InputError(f"{path}: cannot write ({exc.strerror})") from None
        finally:
            remove_quietly(table_tmp)

    @classmethod
    def load(cls, path: str | Path) -> Corpus:
        """Read a table written by :meth:`save` (the sidecar beside it is optional)."""
        path = Path(path)
        # Only an empty cell is missing (what save writes for NaN): a sentence reading "None" or "NA"
        # (EmoBank has one) stays text.
        table = read_csv(path, required=["utterance_id", "speaker", "split"],
                          dtype={c: str for c in CANONICAL_COLUMNS if c not in LABEL_COLUMNS},
                          keep_default_na=False, na_values=[""])
        meta = table_meta(path)
        try:
            table = canonical(table)
        except ValueError as exc:
            raise InputError(f"{path}: a label column holds a value that is not a number ({exc})") from None
        return cls(table=table, name=meta.get("name", path.stem),
                   label_scales={k: tuple(v) for k, v in meta.get("label_scales", {}).items()},
                   notes=meta.get("notes", []), synthetic=meta.get("synthetic", False),
                   skipped=[Skipped(**s) for s in meta.get("skipped", [])])


def table_meta(table: str | Path) -> dict:
    """The metadata of the table at ``table`` from its sidecar, checked against the table's content.

    An empty dict when there is no sidecar of ours. A sidecar that names a
    different table content (a replacement interrupted between its two
    renames) gives the previous metadata it keeps when that matches; when
    neither matches, one InputError says so rather than a wrong description.
    """
    table = Path(table)
    meta = next((m for m in map(_our_meta, _meta_candidates(table)) if m is not None), {})
    expected = meta.get("table_sha256")
    if not expected:
        return meta    # an older sidecar, without a content hash: taken as it is
    actual = file_sha256(table)
    if actual == expected:
        return meta
    previous = meta.get("previous") or {}
    if previous.get("table_sha256") in (actual, None) and previous:
        return previous
    raise InputError(f"{sidecar_path(table)}: describes another version of {table.name} "
                     "(edited by hand, or a write was interrupted); write it again with the corpus command, "
                     "or delete the sidecar to load the table without its metadata")


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


def read_csv(path: Path, required: list[str], label: str | None = None, **kwargs) -> pd.DataFrame:
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


def to_number(value) -> float:
    """A label cell as a float; NaN when it is empty or not a number (the loader counts those)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")

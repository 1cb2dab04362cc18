"""Processing a study: every recorded answer cut into sentences (paper 4.2) with their eGeMAPS (3.3).

Each answer's outputs go to ``processed/<p>/<s>/q<k>/``: the sentence clips
and ``manifest.csv`` and ``segment.json`` that :mod:`muser_core.audio.segment`
writes, and ``egemaps.csv`` (88 functionals per clip). ``segment.json``
remembers which audio (its SHA-256) and which recogniser made them, so a
second pass redoes only what changed. This module also reads those outputs
back for :mod:`muser_core.study.table`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from muser_core.audio.decode import load_audio
from muser_core.audio.segment import segment_signal, write_segments
from muser_core.base.errors import InputError, Skipped
from muser_core.base.files import temporary_path, write_csv
from muser_core.features.acoustic import EGEMAPS_FEATURES, FeatureCache, extract_egemaps
from muser_core.study.protocol import answer_prefix
from muser_core.study.store import PROCESSED, Study

FEATURES_FILE = "egemaps.csv"
SEGMENT_FILE, MANIFEST_FILE, CLIPS = "segment.json", "manifest.csv", "clips"   # muser_core.audio.segment's


@dataclass
class ProcessReport:
    """What one processing pass did: answers processed, kept (up to date), skipped with reasons, removed."""

    processed: int = 0
    up_to_date: int = 0
    removed: int = 0
    sentences: int = 0
    skipped: list[Skipped] = field(default_factory=list)

    def message(self) -> str:
        line = (f"{self.processed} answer(s) processed, {self.up_to_date} already up to date, "
                f"{len(self.skipped)} skipped; {self.sentences} sentences in all")
        if self.removed:
            line += f"; {self.removed} stale output folder(s) removed"
        return line


def process_study(study: Study, recogniser,
                  progress: Callable[[int, int, str], None] | None = None) -> ProcessReport:
    """Cut every recorded answer into sentences and extract their eGeMAPS (paper 4.2, 3.3).

    Answers already processed from the same audio with the same recogniser
    are kept as they are; a bad answer (unreadable, no words) is skipped
    and counted, and stale outputs are removed so they cannot be read as
    current. Each answer's outputs replace the old ones in one rename.
    ``progress(done, total, label)`` is called before each answer.
    """
    described = recogniser.describe()
    report = ProcessReport()
    todo = [(s, k) for s in study.sessions() for k in sorted(s.answers)]
    wanted = {study.answer_output(s, k) for s, k in todo}
    report.removed += _remove_orphans(study.root / PROCESSED, wanted)
    report.removed += _remove_leftovers(study.root / PROCESSED)
    for n, (session, question) in enumerate(todo, start=1):
        answer = session.answers[question]
        label = f"{session.key} q{question}"
        if progress:
            progress(n - 1, len(todo), label)
        out = study.answer_output(session, question)
        # Unique per call: two browser tabs may process the same study at once (threads of one process).
        tmp = temporary_path(out)
        record = segment_record(out)
        if record and record.get("source_sha256") == answer.sha256 and record.get("recogniser") == described \
                and features_complete(out):
            report.up_to_date += 1
            report.sentences += int(record.get("sentences", 0))
            continue
        try:
            signal = load_audio(study.answer_path(session, question), label)
            sentences = segment_signal(signal, recogniser)
            if not sentences:
                raise InputError(f"{label}: no words were recognised, so there is no sentence to cut")
            write_segments(signal, sentences, tmp, answer_prefix(session.participant, session.session, question),
                           recogniser=described,
                           record={"source": answer.audio, "source_sha256": answer.sha256,
                                   "recogniser": described})
            report.skipped += _write_features(tmp)
            with study.locked("this answer's sentences are not replaced; process the study again"):
                if not study.has_participant(session.participant):
                    # Deleted while this answer was being cut: deletion wins, nothing of theirs is kept.
                    _discard(tmp, study.root / PROCESSED)
                    report.skipped.append(Skipped(label, f"{label}: the participant was deleted during "
                                                         "processing; nothing of theirs was kept"))
                    continue
                _replace_folder(out, tmp)
            report.processed += 1
            report.sentences += len(sentences)
        except Exception as exc:  # one bad answer must not stop the batch or lose what is done
            reason = str(exc) if isinstance(exc, InputError) else f"{label}: processing failed ({type(exc).__name__}: {exc})"
            report.skipped.append(Skipped(label, reason))
            if out.exists():   # outputs of an older take would be read as this one's
                shutil.rmtree(out, ignore_errors=True)
                report.removed += 1
            shutil.rmtree(tmp, ignore_errors=True)
    if progress:
        progress(len(todo), len(todo), "done")
    return report


# --------------------------------------------------------------------------- reading the outputs back

def segment_record(out: Path) -> dict | None:
    """``segment.json`` of a processed answer folder; None when there is no complete output."""
    try:
        record = json.loads((out / SEGMENT_FILE).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and (out / MANIFEST_FILE).is_file() else None


def read_manifest(out: Path) -> list[dict]:
    """The sentences of a processed answer folder, as ``manifest.csv`` rows (strings)."""
    return pd.read_csv(out / MANIFEST_FILE, dtype=str, keep_default_na=False).to_dict("records")


def read_features(folder: Path) -> dict[str, dict[str, float]]:
    """Sentence id -> its finite eGeMAPS values, from a processed answer folder (empty when none).

    A damaged table (not CSV, columns missing, a value that is not a number)
    is one InputError naming the file; a truncated one reads as the rows it
    still has (:func:`features_complete` tells the two apart).
    """
    path = folder / FEATURES_FILE
    if not path.is_file():
        return {}
    try:
        table = pd.read_csv(path, index_col="utterance_id", dtype={"utterance_id": str})
        table = table[EGEMAPS_FEATURES].apply(pd.to_numeric, errors="raise")
    except (OSError, ValueError, KeyError, TypeError) as exc:   # a missing index column is a TypeError in pandas
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:120]
        raise InputError(f"{path}: damaged eGeMAPS table ({first}); process the study again to redo it") from None
    return {uid: {k: v for k, v in row.items() if np.isfinite(v)} for uid, row in table.iterrows()}


def features_complete(folder: Path) -> bool:
    """Whether every sentence of the answer folder has all 88 features (a damaged or truncated table has not)."""
    try:
        features = read_features(folder)
        ids = [rec["utterance_id"] for rec in read_manifest(folder)]
    except (InputError, OSError, ValueError, KeyError):
        return False
    return all(len(features.get(uid, ())) == len(EGEMAPS_FEATURES) for uid in ids)


def sentence_clips(study: Study, participant: str) -> list[Path]:
    """Every sentence clip cut from a participant's answers."""
    processed = study.processed_dir(participant)
    return sorted(processed.rglob(f"{CLIPS}/*.wav")) if processed.is_dir() else []


def feature_rows(study: Study, participant: str) -> int:
    """How many eGeMAPS rows the participant's processed answers hold."""
    processed = study.processed_dir(participant)
    return sum(len(pd.read_csv(f)) for f in processed.rglob(FEATURES_FILE)) if processed.is_dir() else 0


# --------------------------------------------------------------------------- writing them

def _write_features(folder: Path) -> list[Skipped]:
    """eGeMAPS of each sentence clip in a processed answer folder, as ``egemaps.csv``; clips that fail are listed."""
    manifest = pd.read_csv(folder / MANIFEST_FILE, dtype=str, keep_default_na=False)
    paths = [str(folder / p) for p in manifest["audio_path"]]
    features, skipped = extract_egemaps(paths)
    table = features.reindex(paths)
    table.index = manifest["utterance_id"].to_numpy()
    table.index.name = "utterance_id"
    write_csv(folder / FEATURES_FILE, table[EGEMAPS_FEATURES])
    return skipped


def _replace_folder(target: Path, new: Path) -> None:
    """Put ``new`` where ``target`` is: the old folder is moved aside first and removed after."""
    old = target.with_name(f".{target.name}.{os.getpid()}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def _discard(folder: Path, processed: Path) -> None:
    """Remove a folder of sentence clips, their cached features, and the empty folders above it."""
    FeatureCache().forget(sorted(folder.rglob("*.wav")))
    shutil.rmtree(folder, ignore_errors=True)
    for parent in folder.parents:
        if parent == processed or processed not in parent.parents:
            break
        try:
            parent.rmdir()      # only when empty
        except OSError:
            break


def _remove_leftovers(processed: Path) -> int:
    """Remove the hidden partial folders of a killed pass (their process is gone); how many.

    A pass writes each answer to ``.q<k>.<pid>.<random>.tmp`` first (and moves
    the old one to ``.q<k>.<pid>.old``); a killed pass leaves them, with
    voice clips in them. A live process's folders (another tab) are kept.
    """
    if not processed.is_dir():
        return 0
    removed = 0
    for folder in [*processed.glob("*/*/.q*.tmp"), *processed.glob("*/*/.q*.old")]:
        pid = folder.name.split(".")[2]
        if folder.is_dir() and pid.isdigit() and not _alive(int(pid)):
            _discard(folder, processed)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_orphans(processed: Path, wanted: set[Path]) -> int:
    """Remove processed answer folders whose answer no longer exists; how many."""
    if not processed.is_dir():
        return 0
    removed = 0
    for folder in processed.glob("*/*/q*"):
        if folder.is_dir() and folder.resolve() not in wanted:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed

"""openSMILE eGeMAPSv02 functionals (88 features) for files and signals, with a disk cache.

MUSER paper, section 3.3: "88-dimensional features using OpenSmile with the
eGeMaps configuration" (Eyben et al. 2015). Every input is decoded to 16 kHz
mono first (:func:`muser_core.audio.load_audio`), so any WAV/FLAC/OGG/mp4 gives
features on the same footing. Results are cached on disk by the file's
content, so extracting the same corpus twice costs only hashing.

Command line::

    muser features acoustic --in DIR|FILE|LIST.txt --out OUT.csv [--workers N]
"""

from __future__ import annotations

import argparse
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from muser_core.audio.decode import TARGET_SR, load_audio
from muser_core.base.errors import InputError, Notice, Skipped, print_notices
from muser_core.base.files import atomic_write, file_sha256, write_csv
from muser_core.base.paths import cache_dir
from muser_core.features.egemaps_names import EGEMAPS_V02_FUNCTIONALS


@lru_cache(maxsize=1)
def _smile():
    """One extractor per process, built on first use.

    openSMILE is imported here, not at the top: importing it and building the
    extractor cost 0.55 s, which every command that only reads stored
    features (training on a table, predicting from one) would otherwise pay.
    """
    import opensmile

    return opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                           feature_level=opensmile.FeatureLevel.Functionals)


EGEMAPS_FEATURES: list[str] = list(EGEMAPS_V02_FUNCTIONALS)  # the 88 names, in openSMILE's order
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".mp4", ".m4a", ".webm"}
# The cache key includes the openSMILE version and feature set: a new release
# that changes the features must not be served stale numbers.
_CACHE_VERSION = f"egemapsv02-functionals-opensmile{version('opensmile')}-sr{TARGET_SR}"


def egemaps_from_signal(signal: np.ndarray, sample_rate: int = TARGET_SR) -> np.ndarray:
    """The 88 eGeMAPSv02 functionals of a mono float signal (already 16 kHz)."""
    values = _smile().process_signal(signal, sample_rate).to_numpy(dtype=np.float64)[0]
    return values


def egemaps_from_file(path: str | Path) -> np.ndarray:
    """Decode a file (any supported format) and return its 88 eGeMAPS functionals."""
    return egemaps_from_signal(load_audio(path))


def content_key(path: str | Path) -> str:
    """SHA-256 of the file's bytes: the cache key (renaming or moving a file keeps its entry)."""
    return file_sha256(path)


class FeatureCache:
    """eGeMAPS vectors on disk, one small ``.npy`` per audio content hash."""

    def __init__(self, root: Path | None = None):
        self.root = (root or cache_dir()) / _CACHE_VERSION
        self.unwritable = ""   # why the cache cannot be written, once a write failed (read-only or full disk)
        self.damaged = 0       # entries found damaged (and removed) by get

    def check(self) -> None:
        """Make the cache folder, or raise one InputError naming it (e.g. a file in the way).

        A folder that cannot be made for want of space or permission is not
        an error: extraction goes on without writing the cache (see :meth:`put`).
        """
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            blocker = next((p for p in [self.root, *self.root.parents] if p.is_file()), None)
            if blocker is None:
                self._stop_writing(exc)
                return
            raise InputError(f"{self.root.parent}: cannot use as the feature cache "
                             f"({blocker} is a file, not a folder); "
                             "set MUSER_CACHE_DIR to a folder, or use --no-cache") from None

    def _stop_writing(self, exc: OSError) -> None:
        self.unwritable = exc.strerror or type(exc).__name__
        warnings.warn(f"{self.root}: the feature cache cannot be written ({self.unwritable}); "
                      "going on without caching", Notice, stacklevel=3)

    def _file(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        """The cached vector, or None. A damaged entry (half written, not an array, or not 88 numbers) is
        removed, to be extracted again, with one :class:`Notice` per cache naming the first such file."""
        path = self._file(key)
        try:
            values = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            values = None
        if values is not None and values.shape == (len(EGEMAPS_FEATURES),):
            return values
        if not self.damaged:
            warnings.warn(f"{path}: a damaged feature cache entry; removed and extracted again (further "
                          "damaged entries of this cache are rebuilt the same way)", Notice, stacklevel=2)
        self.damaged += 1
        path.unlink(missing_ok=True)
        return None

    def put(self, key: str, values: np.ndarray) -> None:
        """Store atomically, so a killed extraction never leaves a half-written entry.

        A cache that cannot be written (a read-only or full disk) is not an
        error: the work goes on without caching, with one :class:`Notice`.
        """
        if self.unwritable:
            return
        target = self._file(key)
        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                np.save(handle, values)

        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, write)
        except OSError as exc:
            self._stop_writing(exc)

    def forget(self, paths: Iterable[str | Path]) -> int:
        """Remove the entries of these files' contents; how many were removed.

        The cache is keyed by content, so the files must still exist: forget
        them before deleting them (a participant's audio, when deleting the participant).
        """
        removed = 0
        for path in paths:
            if not os.path.isfile(path):
                continue
            entry = self._file(content_key(path))
            if entry.is_file():
                entry.unlink()
                removed += 1
        return removed


def _extract_one(path: str) -> tuple[str, np.ndarray | None, str]:
    """Worker: (path, features or None, error message). Never raises, so one bad file can't stop a batch."""
    try:
        return path, egemaps_from_file(path), ""
    except InputError as exc:
        return path, None, str(exc)
    except Exception as exc:  # openSMILE errors on odd signals: report, don't stop the batch
        return path, None, f"{path}: feature extraction failed ({type(exc).__name__}: {exc})"


def extract_egemaps(paths: Sequence[str | Path], workers: int = 1, use_cache: bool = True,
                    progress: bool | Callable[[int, int], None] = False,
                    cache: FeatureCache | None = None) -> tuple[pd.DataFrame, list[Skipped]]:
    """eGeMAPS functionals for many files, in parallel processes, cached by file content.

    Returns a DataFrame indexed by ``str(path)`` (in input order, without the
    skipped files) with the 88 feature columns, and the skipped files with
    their reasons. ``progress`` is True for a tqdm bar or a callback
    ``(done, total)``. Every finished file is cached at once, so an
    interrupted batch loses nothing already extracted.
    """
    paths = [str(p) for p in paths]
    cache = cache or FeatureCache()
    if use_cache:
        cache.check()
    results: dict[str, np.ndarray] = {}
    skipped: list[Skipped] = []
    todo: list[str] = []
    keys: dict[str, str] = {}
    for path in paths:
        if not os.path.isfile(path):
            skipped.append(Skipped(path, f"{path}: file not found"))
            continue
        keys[path] = content_key(path)
        hit = cache.get(keys[path]) if use_cache else None
        if hit is not None:
            results[path] = hit
        else:
            todo.append(path)

    bar, report = _progress(progress, len(paths), initial=len(paths) - len(todo))

    def collect(outcome: tuple[str, np.ndarray | None, str]) -> None:
        path, values, error = outcome
        if values is None:
            skipped.append(Skipped(path, error))
        else:
            results[path] = values
            if use_cache:
                cache.put(keys[path], values)
        report()

    unique = list(dict.fromkeys(todo))
    if workers > 1 and len(unique) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            chunk = max(1, min(16, len(unique) // (workers * 8)))
            for outcome in pool.map(_extract_one, unique, chunksize=chunk):
                collect(outcome)
    else:
        for path in unique:
            collect(_extract_one(path))
    if bar is not None:
        bar.close()
    ordered = [p for p in paths if p in results]
    table = pd.DataFrame([results[p] for p in ordered], index=pd.Index(ordered, name="path"),
                         columns=EGEMAPS_FEATURES)
    return table, skipped


def _progress(progress, total: int, initial: int):
    """A tqdm bar or a user callback behind one ``report()`` call."""
    done = [initial]
    if progress is True:
        from tqdm import tqdm
        bar = tqdm(total=total, initial=initial, unit="file", desc="eGeMAPS")
        return bar, lambda: bar.update(1)
    if callable(progress):
        def report():
            done[0] += 1
            progress(done[0], total)
        return None, report
    return None, lambda: None


def list_audio(source: str | Path) -> list[Path]:
    """Audio files under a folder (recursively), one audio file, or the paths listed one per line in a text file."""
    source = Path(source)
    if source.is_dir():
        return sorted(p for p in source.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    if source.is_file() and source.suffix.lower() in AUDIO_SUFFIXES:
        return [source]
    if source.is_file():
        try:
            lines = [ln.strip() for ln in source.read_text(encoding="utf-8").splitlines()]
        except (UnicodeDecodeError, OSError):
            raise InputError(f"{source}: neither an audio file ({', '.join(sorted(AUDIO_SUFFIXES))}) "
                             "nor a text file listing one path per line") from None
        return [Path(ln) if Path(ln).is_absolute() else source.parent / ln
                for ln in lines if ln and not ln.startswith("#")]
    raise InputError(f"{source}: no such folder or list file")


def _check_out(out: Path) -> None:
    """Refuse an --out that cannot be written, before any extraction."""
    if out.is_dir():
        raise InputError(f"{out}: is a folder; give a file name such as {out / 'egemaps.csv'}")
    blocker = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise InputError(f"{out}: cannot write ({blocker} is a file, not a folder)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``muser features acoustic``: audio files -> one CSV row of 88 eGeMAPS functionals per file."""
    parser.add_argument("--in", dest="source", required=True,
                        help="a folder of audio files, one audio file, or a text file listing one path per line")
    parser.add_argument("--out", required=True, help="CSV to write: path + 88 feature columns")
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 1)),
                        help="parallel processes (default: all cores)")
    parser.add_argument("--no-cache", action="store_true", help="ignore and do not read the disk cache")


def run(args: argparse.Namespace) -> int:
    print_notices()
    out = Path(args.out)
    _check_out(out)
    files = list_audio(args.source)
    if not files:
        raise InputError(f"{args.source}: no audio files found ({', '.join(sorted(AUDIO_SUFFIXES))})")
    table, skipped = extract_egemaps(files, workers=args.workers,
                                     use_cache=not args.no_cache, progress=True)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_csv(out, table)
    except OSError as exc:
        kept = "; the extracted features are in the cache, a re-run costs only hashing" \
            if not args.no_cache else ""
        raise InputError(f"{out}: cannot write ({exc.strerror}){kept}") from None
    print(f"wrote {len(table)} rows x {table.shape[1]} features to {args.out}")
    if skipped:
        print(f"skipped {len(skipped)} files:")
        for item in skipped:
            print(f"  {item.reason}")
    return 0 if len(table) else 1

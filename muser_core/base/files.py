"""Files written whole or not at all, and JSON read back with one clear line when it cannot be.

Every file the project writes for later reading (a run's status, a study's
session, a table) goes through :func:`atomic_write`: the bytes go to a hidden
temporary file beside the target, which is then renamed over it. A rename
within one folder is atomic, so a reader, a killed process or a full disk
leaves the old file or the new one, never half of either.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from muser_core.base.errors import InputError


def temporary_path(path: str | Path) -> Path:
    """A unique hidden name beside ``path`` to write to before renaming (threads and processes never share one)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def remove_quietly(path: Path) -> None:
    """Remove a temporary file if it is there; a folder that cannot hold it (a file in the way) is no error."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> None:
    """``write(tmp)`` to a temporary file beside ``path``, then rename it over ``path``.

    The rename is what makes it atomic: it stays in the same folder (same
    file system). On any failure the temporary file is removed and the old
    ``path`` is left as it was.
    """
    tmp = temporary_path(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        if exc.filename is None or str(exc.filename) == str(tmp):
            exc.filename = str(path)    # name the file the user knows, not the temporary one
        raise
    finally:
        remove_quietly(tmp)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: readers never see half a file."""
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_csv(path: str | Path, table: pd.DataFrame, **to_csv) -> None:
    """``table.to_csv(path, **to_csv)``, atomically: a full disk or a kill leaves the old file whole.

    Raises the OSError of a failed write (the caller names the file in its message).
    """
    atomic_write(path, lambda tmp: table.to_csv(tmp, **to_csv))


# What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` whose text cells and column names cannot run as spreadsheet formulas.

    A text that begins with ``= + - @``, a tab or a carriage return gets a
    leading apostrophe, as OWASP recommends; numbers (and texts that are
    numbers, such as ``-0.5``) are left as they are.
    """
    def safe(value):
        if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value):
            return "'" + value
        return value

    out = table.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].map(safe)
    out.columns = [safe(c) for c in out.columns]
    return out


def spreadsheet_csv(table: pd.DataFrame) -> str:
    """``table`` as CSV text for a download, without its index, made :func:`spreadsheet_safe`."""
    return spreadsheet_safe(table).to_csv(index=False)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_REMEMBERED_HASHES: dict[tuple[str, int, int], str] = {}


def remembered_sha256(path: str | Path) -> str:
    """:func:`file_sha256`, computed once per file version in this process.

    Remembered by path, size and modification time, so large files (model
    weights) are hashed once, and a file rewritten in place is hashed again.
    """
    path = Path(path).resolve()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _REMEMBERED_HASHES:
        _REMEMBERED_HASHES[key] = file_sha256(path)
    return _REMEMBERED_HASHES[key]


def json_safe(value):
    """``value`` with NaN and infinity turned into null (and keys into strings), so the JSON is strict."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def write_json(path: str | Path, obj, *, make_folder: bool = True) -> None:
    """Write ``obj`` as strict, indented UTF-8 JSON, atomically.

    The folder is made when missing, unless ``make_folder`` is False (a run
    folder deleted while its process still writes must not come back).
    """
    path = Path(path)
    if make_folder:
        path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(json_safe(obj), indent=2, ensure_ascii=False))


def read_json(path: str | Path, label: str = "") -> dict:
    """The JSON object in ``path``, or one InputError line: missing, not readable JSON, not an object.

    ``label`` says what the file is for (``the run's settings``) and is added
    to the line when given.
    """
    path = Path(path)
    what = f" ({label})" if label else ""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: missing{what}") from None
    except (OSError, ValueError) as exc:   # ValueError covers bad JSON and bytes that are not UTF-8
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: not readable JSON{what} ({first})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a JSON object{what}")
    return data

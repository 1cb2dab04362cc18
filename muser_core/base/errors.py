"""The one error type the app shows to a person.

Every check on user input raises :class:`InputError` with a single line that
names the file, line, column or field at fault. Pages catch it and show the
message; command lines print it and exit with status 2. Anything else is a bug.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass


class InputError(ValueError):
    """Bad input from the user: one clear line naming what is wrong and where."""


class Notice(UserWarning):
    """Something a person should know that does not stop the work, in one line.

    Raised with :func:`warnings.warn` (a cache that cannot be written, a
    clipped signal); command lines print it as ``warning: ...`` through
    :func:`print_notices`, pages show what they catch.
    """


def print_notices() -> None:
    """Print every :class:`Notice` as one ``warning: <line>`` on stderr (command lines call this once)."""
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, Notice):
            print(f"warning: {message}", file=sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show


def where(path: object, line: int | None = None, field: str | None = None) -> str:
    """Format a location such as ``corpus.csv, line 12, column 'text'``."""
    parts = [str(path)]
    if line is not None:
        parts.append(f"line {line}")
    if field is not None:
        parts.append(f"column '{field}'")
    return ", ".join(parts)


@dataclass
class Skipped:
    """An item a loader or extractor left out, and why."""

    item: str
    reason: str

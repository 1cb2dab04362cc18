"""Memory a big job needs, checked before it starts: one line instead of a machine that swaps or is killed.

The estimates are the job's measured peak over the size of its table (``bench/soak.py`` part 5 prints
estimate and measurement side by side). ``MUSER_MEMORY_GB`` caps what this app may use, for a server
shared by a lab; without it the limit is what the operating system reports as available.
"""

from __future__ import annotations

import os

import psutil

from muser_core.base.errors import InputError

MEMORY_VAR = "MUSER_MEMORY_GB"
SMALL_JOB_BYTES = 32 * 2**20   # a job needing less is never checked (a live clip's scores, a study's table)


def memory_limit() -> tuple[int, str]:
    """(bytes this process may still take, where the figure comes from)."""
    free = psutil.virtual_memory().available
    value = os.environ.get(MEMORY_VAR, "").strip()
    if not value:
        return free, "available"
    try:
        cap = float(value)
    except ValueError:
        cap = -1.0
    if not cap > 0:
        raise InputError(f"{MEMORY_VAR}={value!r}: give the memory this app may use in GB, e.g. 8")
    return min(free, int(cap * 2**30)), f"allowed by {MEMORY_VAR}" if cap * 2**30 < free else "available"


def check_memory(need_bytes: float, work: str, advice: str) -> None:
    """Refuse ``work`` in one line when it needs more memory than :func:`memory_limit` leaves."""
    if need_bytes < SMALL_JOB_BYTES:
        return
    limit, source = memory_limit()
    if need_bytes > limit:
        raise InputError(f"{work}: needs about {need_bytes / 2**30:.1f} GB of memory and "
                         f"{limit / 2**30:.1f} GB is {source}; {advice}")

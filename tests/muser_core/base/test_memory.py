"""The memory check of big jobs: a cap a lab sets, and one line naming the work when it cannot fit."""

from __future__ import annotations

import psutil
import pytest

from muser_core.base.errors import InputError
from muser_core.base.memory import MEMORY_VAR, SMALL_JOB_BYTES, check_memory, memory_limit


def test_the_limit_is_what_is_available_or_the_lab_s_cap(monkeypatch):
    monkeypatch.delenv(MEMORY_VAR, raising=False)
    free, source = memory_limit()
    assert source == "available" and abs(free - psutil.virtual_memory().available) < 2**30
    monkeypatch.setenv(MEMORY_VAR, "0.5")
    assert memory_limit() == (2**29, f"allowed by {MEMORY_VAR}")
    monkeypatch.setenv(MEMORY_VAR, "100000")   # a cap above what is free: what is free counts
    assert memory_limit()[1] == "available"
    for bad in ("lots", "0", "-2", "nan"):
        monkeypatch.setenv(MEMORY_VAR, bad)
        with pytest.raises(InputError, match=f"^{MEMORY_VAR}={bad!r}: give the memory"):
            memory_limit()


def test_work_that_cannot_fit_is_refused_in_one_line_and_small_work_is_never_checked(monkeypatch):
    monkeypatch.setenv(MEMORY_VAR, "0.25")
    with pytest.raises(InputError) as caught:
        check_memory(3 * 2**29, "indicators on 1,000,000 rows x 70 features", "fit a sample")
    assert str(caught.value) == ("indicators on 1,000,000 rows x 70 features: needs about 1.5 GB of memory and "
                                 f"0.2 GB is allowed by {MEMORY_VAR}; fit a sample")
    check_memory(2**27, "work that fits", "")
    monkeypatch.setenv(MEMORY_VAR, "0.001")
    check_memory(SMALL_JOB_BYTES - 1, "a live clip's scores", "")   # under the small-job size: not checked

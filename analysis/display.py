"""Tables as a page shows them (no Streamlit): missing cells blank, one number of decimals per column.

Streamlit draws a missing cell as "None" and each float with its own digits
(5.733 beside 5.9963); :func:`readable` turns a table's numbers into text the
way a reader expects, and says which columns it formatted (a page aligns them right).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

DECIMALS = 3   # a float column's default


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def readable(frame: pd.DataFrame, decimals: Mapping[str, int] | None = None,
             default: int = DECIMALS) -> tuple[pd.DataFrame, list[str]]:
    """``frame`` with every float column as text at one number of decimals (``decimals`` per column, else
    ``default``; a column of whole numbers as integers) and every missing cell blank; and the numeric columns
    formatted. Integer columns without gaps stay numbers."""
    out, numeric = frame.copy(), []
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_float_dtype(values):
            present = values.dropna()
            whole = len(present) > 0 and bool((present == present.round()).all())
            digits = (decimals or {}).get(column, 0 if whole else default)
            out[column] = ["" if _missing(v) else f"{v:,.{digits}f}" for v in values]
            numeric.append(column)
        elif not pd.api.types.is_numeric_dtype(values) and values.isna().any():   # text, of any dtype
            out[column] = ["" if _missing(v) else v for v in values.astype(object)]
    return out, numeric

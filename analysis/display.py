"""Tables as a page shows them (no Streamlit): missing cells blank, one number of decimals per column.

Streamlit draws a missing cell as "None" and each float with its own digits
(5.733 beside 5.9963); :func:`readable` turns a table's numbers into text the
way a reader expects, and says which columns it formatted (a page aligns them right).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping

import pandas as pd

DECIMALS = 3   # a float column's default
BEST = " ★"   # marks a column's best value on a page; bold in LaTeX


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


# --------------------------------------------------------------------------- LaTeX

_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


# Plain pdflatex reads ASCII only (without inputenc/fontenc for the rest): the signs the tables use, in LaTeX.
_LATEX_SIGNS = {"±": r"$\pm$", "×": r"$\times$", "≥": r"$\geq$", "≤": r"$\leq$", "—": "---", "–": "--",
                "’": "'", "‘": "`", "“": "``", "”": "''", "…": r"\ldots{}", "α": r"$\alpha$", "ρ": r"$\rho$"}


def _latex_text(text: str) -> str:
    out = []
    for c in text:
        if c in _LATEX_SPECIAL or c in _LATEX_SIGNS:
            out.append(_LATEX_SPECIAL.get(c) or _LATEX_SIGNS[c])
        elif c.isascii():
            out.append(c)
        else:  # an accented letter: its base letter (a name like Buechel), never a byte pdflatex stops on
            out.append(unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode() or "?")
    return "".join(out)


def _latex_cell(text) -> str:
    text = str(text)
    best = text.endswith(BEST)
    text = _latex_text(text.removesuffix(BEST).strip() if best else text)
    return rf"\textbf{{{text}}}" if best else text


def latex_table(display: pd.DataFrame, caption: str) -> str:
    """A display table (:func:`results_display`, :func:`paper_display`) as LaTeX that plain pdflatex
    compiles (ASCII; booktabs rules): ± as ``$\\pm$``, the best values of each column in bold, and the
    caption's "★ best ..." said as "best ... in bold"."""
    caption = re.sub(rf"{BEST.strip()}\s*(best[^;.]*)", r"\1 in bold", caption)
    lines = [r"% needs \usepackage{booktabs} in the preamble", r"\begin{table}[t]", r"\centering",
             rf"\caption{{{_latex_cell(caption)}}}",
             r"\begin{tabular}{l" + "c" * (display.shape[1] - 1) + "}", r"\toprule",
             " & ".join(_latex_cell(c) for c in display.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(_latex_cell(v) for v in row) + r" \\" for row in display.itertuples(index=False)]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"

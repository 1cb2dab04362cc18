"""Files written whole, content hashes, and CSV cells a spreadsheet cannot run."""

from __future__ import annotations

import hashlib
import io

import pandas as pd

from muser_core.base.files import remembered_sha256, spreadsheet_csv, spreadsheet_safe


def test_formula_cells_are_neutralised_and_numbers_kept():
    """OWASP's rule: a text cell starting with = + - @ (or tab / CR) gets a leading apostrophe."""
    table = pd.DataFrame({"feature": ["=HYPERLINK(\"http://x\")", "+1+2", "-cmd", "@SUM(A1)", "\tx", "posemo",
                                      "-0.5"],
                          "r": [-0.25, 0.5, -1.0, 0.0, 0.1, 0.2, 0.3]})
    table["=evil"] = 1
    safe = spreadsheet_safe(table)
    assert safe["feature"].tolist() == ["'=HYPERLINK(\"http://x\")", "'+1+2", "'-cmd", "'@SUM(A1)", "'\tx",
                                        "posemo", "-0.5"]
    assert safe["r"].tolist() == table["r"].tolist()
    assert list(safe.columns) == ["feature", "r", "'=evil"]
    assert table["feature"][0].startswith("=")        # the caller's table is not changed
    back = pd.read_csv(io.StringIO(spreadsheet_csv(table)))
    assert back["r"].tolist() == table["r"].tolist()
    assert not any(str(v).startswith(("=", "+", "@")) for v in back["feature"])


def test_a_file_rewritten_in_place_is_hashed_again(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"a" * 1000)
    assert remembered_sha256(path) == hashlib.sha256(b"a" * 1000).hexdigest()
    path.write_bytes(b"b" * 1000)     # same size: a key by size alone would call it the same file
    assert remembered_sha256(path) == hashlib.sha256(b"b" * 1000).hexdigest()

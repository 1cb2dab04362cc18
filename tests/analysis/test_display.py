"""analysis.display: no 'None' cells, one number of decimals per column."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.display import readable


def test_missing_cells_are_blank_and_each_column_has_one_number_of_decimals():
    frame = pd.DataFrame({"activation_mean": [5.733, 5.9963, np.nan], "utterances": [10.0, 12.0, np.nan],
                          "note": ["calm day", None, np.nan], "sessions": [1, 2, 3]})
    shown, numeric = readable(frame, {"activation_mean": 2})
    assert shown["activation_mean"].tolist() == ["5.73", "6.00", ""]
    assert shown["utterances"].tolist() == ["10", "12", ""]          # whole numbers stay whole
    assert shown["note"].tolist() == ["calm day", "", ""]
    assert shown["sessions"].tolist() == [1, 2, 3] and numeric == ["activation_mean", "utterances"]
    assert not shown.isin(["None", "nan"]).any(axis=None)
    # The default: three decimals for every value of a float column, however many it had.
    assert readable(pd.DataFrame({"x": [0.5, 0.12345]}))[0]["x"].tolist() == ["0.500", "0.123"]

"""Tables 6-9 of the MUSER paper as data, to set beside the app's own sweeps.

Every number here is *reported by the MUSER paper on MuSE* (test split, the
paper's models, fine-tuned BERT-style text encoder); nothing is computed and
none of it is a measurement of this app. Pages show :data:`SOURCE` with it.
Row labels are the ones ``muser_core.sweep.PAPER_TABLES`` gives its variants,
so a sweep's rows line up with the paper's.
"""

from __future__ import annotations

import pandas as pd

from muser_core.sweep.grid import METRICS

SOURCE = "Reported by the MUSER paper on MuSE (not measured by this app)"

TITLES = {
    "6": "Table 6: stress detection with a single modality",
    "7": "Table 7: multiple modalities, with or without pre-training",
    "8": "Table 8: multi-task learning (MuSE's own activation and valence)",
    "9": "Table 9: multi-task learning with OMG-Emotion as the auxiliary set",
}

# (row label, accuracy, precision, recall, F-score, reproduced by the sweep's table rows?)
# Baselines from other papers (Jaiswal et al. 2020, Bara et al. 2020) are not trained here.
_TABLES: dict[str, list[tuple[str, float, float, float, float, bool]]] = {
    "6": [("MLP+LIWC (Jaiswal et al., 2020)", 0.60, 0.74, 0.61, 0.67, False),
          ("MLP+Opensmile (Jaiswal et al., 2020)", 0.67, 0.70, 0.69, 0.69, False),
          ("MUSER Textual Encoder", 0.69, 0.77, 0.74, 0.75, True),
          ("MUSER Acoustic Encoder", 0.79, 0.80, 0.79, 0.80, True)],
    "7": [("LIWC+Audio (Jaiswal et al., 2020)", 0.60, 0.74, 0.61, 0.67, False),
          ("A-modal GRU (Bara et al., 2020)", 0.573, 0.582, 0.557, 0.569, False),
          ("MUSER from scratch", 0.821, 0.834, 0.828, 0.831, True),
          ("Activation-100", 0.842, 0.866, 0.832, 0.849, True),
          ("Valence-100", 0.823, 0.830, 0.839, 0.834, True),
          ("Activation-valence-stress", 0.819, 0.841, 0.813, 0.827, True),
          ("Valence-activation-stress", 0.828, 0.854, 0.817, 0.835, True)],
    "8": [("Uniform sampling with activation", 0.832, 0.833, 0.857, 0.845, True),
          ("Uniform sampling with valence", 0.823, 0.837, 0.828, 0.832, True),
          ("Uniform sampling with activation & valence", 0.846, 0.862, 0.846, 0.854, True),
          ("(Liu et al., 2019) - modified", 0.842, 0.856, 0.846, 0.851, True),
          ("Speed-based sampling (history=5)", 0.854, 0.861, 0.864, 0.863, True),
          ("Speed-based sampling (history=10)", 0.856, 0.867, 0.861, 0.864, True)],
    "9": [("Uniform sampling with activation & valence", 0.844, 0.867, 0.835, 0.850, True),
          ("(Liu et al., 2019) - modified", 0.836, 0.820, 0.886, 0.852, True),
          ("Speed-based sampling (history=5)", 0.850, 0.871, 0.842, 0.856, True)],
}
TABLE_IDS = tuple(_TABLES)


def paper_table(table: str) -> pd.DataFrame:
    """One of Tables 6-9: ``label``, the four metrics and ``reproduced`` (a row the sweep can train)."""
    if table not in _TABLES:
        raise KeyError(f"the paper has no Table {table} of results (choose {', '.join(TABLE_IDS)})")
    return pd.DataFrame(_TABLES[table], columns=["label", *METRICS, "reproduced"])


def labels(table: str) -> list[str]:
    return [row[0] for row in _TABLES[table]]

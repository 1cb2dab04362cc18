"""Train / validation / test splits of a canonical table (MUSER paper 3.1, 4.1).

Either speaker-independent (no speaker in two splits, the default) or the
paper's sentence counts, 1,853 / 200 / 273, stratified by stress.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from muser_core.base.errors import InputError
from muser_core.data.corpus import SPLITS

PAPER_SPLIT_SIZES = (1853, 200, 273)  # MUSER paper, section 3.1
SPLIT_METHODS = ("speaker", "paper")  # what assign_split (and every loader's ``split``) takes


def speaker_independent_split(table: pd.DataFrame, seed: int = 0,
                              fractions: tuple[float, float, float] | None = None) -> pd.Series:
    """Assign whole speakers to train/validation/test so no speaker is in two splits.

    Speakers are shuffled with ``seed`` and filled greedily into the split
    furthest below its target share of rows; the default shares are the
    paper's 1,853 / 200 / 273 sentences (section 3.1).
    """
    fractions = fractions or tuple(np.array(PAPER_SPLIT_SIZES) / sum(PAPER_SPLIT_SIZES))
    rows_per_speaker = table.groupby("speaker").size()
    rng = np.random.default_rng(seed)
    speakers = list(rows_per_speaker.index)
    rng.shuffle(speakers)
    targets = np.array(fractions) * len(table)
    filled = np.zeros(3)
    assignment: dict[str, str] = {}
    # Give validation and test one speaker each first, so no split is empty.
    for i, split in ((1, "validation"), (2, "test")):
        if len(speakers) >= 3:
            spk = speakers.pop()
            assignment[spk] = split
            filled[i] += rows_per_speaker[spk]
    for spk in speakers:
        i = int(np.argmax((targets - filled) / targets))
        assignment[spk] = SPLITS[i]
        filled[i] += rows_per_speaker[spk]
    return table["speaker"].map(assignment).rename("split")


def paper_split(table: pd.DataFrame, seed: int = 0, stratify: str = "stress",
                sizes: tuple[int, int, int] = PAPER_SPLIT_SIZES) -> pd.Series:
    """Split sentences in the paper's proportions (1,853 / 200 / 273), stratified by a label.

    Speakers may appear in several splits, as in the paper. When the table does
    not have exactly sum(sizes) rows the sizes are scaled to its length.
    """
    from sklearn.model_selection import train_test_split

    n = len(table)
    n_val = round(n * sizes[1] / sum(sizes))
    n_test = round(n * sizes[2] / sum(sizes))
    labels = table[stratify] if stratify in table and table[stratify].notna().all() else None
    idx = np.arange(n)
    rest, test = train_test_split(idx, test_size=n_test, random_state=seed, stratify=labels)
    rest_labels = labels.iloc[rest] if labels is not None else None
    train, val = train_test_split(rest, test_size=n_val, random_state=seed, stratify=rest_labels)
    split = np.empty(n, dtype=object)
    split[train], split[val], split[test] = "train", "validation", "test"
    return pd.Series(split, index=table.index, name="split")


def assign_split(table: pd.DataFrame, how: str = "speaker", seed: int = 0) -> pd.DataFrame:
    """Return the table with its ``split`` column set: ``speaker`` (default) or ``paper``."""
    if how not in SPLIT_METHODS:
        raise InputError(f"unknown split '{how}' (choose {' or '.join(SPLIT_METHODS)})")
    table = table.copy()
    table["split"] = (speaker_independent_split(table, seed) if how == "speaker"
                      else paper_split(table, seed))
    return table


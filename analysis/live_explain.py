"""Why a live clip scored as it did: the stress indicators that moved most against a reference.

The indicators are the paper's section 3 analysis (top-k coefficients of a
linear stress model on normalised eGeMAPS or lexicon categories), fitted on
the corpus the model was trained on. For a clip, each acoustic indicator's
z-score (against the user's relaxed baseline, or the corpus) and each text
category's difference from the reference say how far it moved, and the
coefficient's sign says whether that move points toward "stressed".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from muser_core.data.corpus import Corpus
from muser_core.features.acoustic import EGEMAPS_FEATURES
from muser_core.features.lexicon import default_lexicon
from muser_core.features.text import extract_features
from muser_core.indicators import IndicatorAnalysis, egemaps_annotation


def stress_indicators(corpus: Corpus, modality: str, k: int = 20) -> pd.DataFrame:
    """Top-k stress indicators of a corpus: feature, coefficient, rank (paper 3.2 / 3.3).

    Acoustic features are z-scored per speaker, text categories over all rows,
    as in the paper; no bootstrap (only the ranking is needed here).
    """
    table = corpus.table[corpus.table["stress"].notna()]
    if modality == "acoustic":
        features, normalise = table[EGEMAPS_FEATURES], "speaker"
    else:
        features = extract_features(table["text"].tolist()).drop(columns=["WC"])
        features.index = table.index
        normalise = "global"
    analysis = IndicatorAnalysis(top_k=k, bootstrap=0, normalise=normalise).fit(
        features, table[["stress"]], speakers=table["speaker"] if normalise == "speaker" else None)
    return analysis.top("stress", k)[["feature", "coefficient", "rank"]]


def _movers(change: pd.Series, indicators: pd.DataFrame, n: int) -> pd.DataFrame:
    rows = indicators[indicators["feature"].isin(change.index)].copy()
    rows["change"] = change[rows["feature"]].to_numpy()
    rows = rows[np.isfinite(rows["change"]) & (rows["change"] != 0)]
    rows["toward"] = np.where(rows["change"] * rows["coefficient"] > 0, "stressed", "not stressed")
    rows["size"] = rows["change"].abs()
    return rows.sort_values("size", ascending=False).head(n).drop(columns="size").reset_index(drop=True)


def acoustic_movers(zscores: pd.Series, indicators: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The acoustic stress indicators with the largest |z| in this clip, described in plain words."""
    table = _movers(zscores, indicators, n)
    table["description"] = [egemaps_annotation(f)["description"] for f in table["feature"]]
    table["change"] = table["change"].round(2)
    # The number and the feature first, the long description after them: a long description first would push the
    # feature off screen, and two features with alike descriptions would read the same.
    return table[["change", "toward", "feature", "description", "rank"]].rename(
        columns={"change": "z"})


def text_profile(texts: Sequence[str]) -> pd.Series:
    """Mean share of words (percent) per lexicon category over some texts: the reference for :func:`text_movers`."""
    return extract_features(list(texts)).drop(columns=["WC"]).mean()


def text_movers(transcript: str, reference: pd.Series, indicators: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """Lexicon stress indicators whose share of words changed most against a reference profile.

    ``reference`` is :func:`text_profile` of the user's baseline transcripts or
    of the training corpus; ``change`` is in percentage points of words. An
    empty transcript gives no rows.
    """
    columns = ["feature", "examples", "change", "toward", "rank"]
    if not transcript.strip():
        # No words: every category would "fall" to 0 % and look like a finding.
        return pd.DataFrame(columns=columns)
    clip = extract_features([transcript]).drop(columns=["WC"]).iloc[0]
    table = _movers(clip - reference.reindex(clip.index).fillna(0.0), indicators, n)
    lexicon = default_lexicon()
    table["examples"] = [", ".join(lexicon.example_words(f, 3)) if f in lexicon.categories else ""
                         for f in table["feature"]]
    table["change"] = table["change"].round(1)
    return table[columns]

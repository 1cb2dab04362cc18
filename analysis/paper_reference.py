"""Tables 1-4 of the MUSER paper as data, to show beside the app's own results.

Everything here is *reported by the paper on MuSE (LIWC2015 and openSMILE
eGeMAPS, top 20 per task)*; nothing is computed. Pages label it with
:data:`SOURCE` so nobody mistakes it for a result on the loaded data.
"""

from __future__ import annotations

import pandas as pd

SOURCE = "Reported by the MUSER paper on MuSE (LIWC2015 / eGeMAPS, top 20 per task)"

# Table 1: LIWC categories in the top 20 of all three tasks, ranked, with the paper's example words.
TABLE1_SHARED_TEXT = [
    ("bio", "eat, blood, pain"),
    ("health", "clinic, flu, pill"),
    ("relativity", "area, stop, exit"),
    ("body", "cheek, hands, spit"),
    ("ingest", "dish, eat, pizza"),
    ("positive-emo", "love, nice, sweet"),
    ("space", "down, in, thin"),
    ("time", "end, until, season"),
    ("perceptual", "observe, hear, feeling"),
]

# Table 2: LIWC categories in the top 20 of one task only. The paper prints one list
# without saying which task each belongs to; section 3.2 names 'nonfl' as the
# strongest stress-only indicator and Table 4 gives the counts (4, 3, 6).
TABLE2_UNIQUE_TEXT = [
    ("nonfl", "er, hmm, umm"),
    ("affect", "happy, cried, abandon"),
    ("social", "mate, talk, child"),
    ("family", "daughter, husband, aunt"),
    ("past", "went, ran, had"),
    ("money", "audit, cash, owe"),
    ("tentat", "maybe, perhaps, guess"),
    ("feel", "feels, touch"),
    ("sad", "crying, grief, sad"),
    ("negate", "no, not, never"),
    ("anger", "hate, kill, annoyed"),
    ("achieve", "earn, hero, win"),
    ("quant", "few, many, much"),
]

# Table 3: eGeMAPS feature classes, shared by all tasks or unique to one.
TABLE3_ACOUSTIC = [
    ("All", "Amplitude", "energy/amplitude", "F1/F2/F3 mean amplitude"),
    ("All", "Loudness", "energy/amplitude", "mean loudness"),
    ("All", "Spectral Flux", "spectral", "mean flux in voiced regions"),
    ("Only in stress", "Hammarberg Index", "spectral", "hammarberg index in unvoiced regions"),
    ("Only in stress", "Alpha Ratio", "spectral", "mean ratio for unvoiced regions"),
    ("Only in stress", "Slope", "spectral", "500-1500Hz in unvoiced regions"),
    ("Only in activation", "HNR", "energy/amplitude", "mean HNR (Harmonics-to-Noise Ratio)"),
    ("Only in activation", "Voice Length", "temporal", "mean voiced segment length"),
    ("Only in valence", "Pitch", "frequency", "F0 semitone"),
    ("Only in valence", "Formant", "frequency", "frequency of formant 3"),
]

# Table 4: number of unique indicators per task and modality.
TABLE4_UNIQUE_COUNTS = {"LIWC": {"stress": 4, "activation": 3, "valence": 6},
                        "eGeMAPS": {"stress": 7, "activation": 6, "valence": 8}}

# Section 3.2 / 3.3: size of the all-three intersection.
SHARED_COUNTS = {"LIWC": 9, "eGeMAPS": 11}


def table1() -> pd.DataFrame:
    """Paper Table 1: feature, examples."""
    return pd.DataFrame(TABLE1_SHARED_TEXT, columns=["feature", "examples"])


def table2() -> pd.DataFrame:
    """Paper Table 2: feature, examples (task not given by the paper)."""
    return pd.DataFrame(TABLE2_UNIQUE_TEXT, columns=["feature", "examples"])


def table3() -> pd.DataFrame:
    """Paper Table 3: section, parameter, group, examples."""
    return pd.DataFrame(TABLE3_ACOUSTIC, columns=["section", "parameter", "group", "examples"])


def table4() -> pd.DataFrame:
    """Paper Table 4: unique indicators per task (columns) and feature set (rows)."""
    table = pd.DataFrame.from_dict(TABLE4_UNIQUE_COUNTS, orient="index")
    table.index.name = "feature set"
    return table

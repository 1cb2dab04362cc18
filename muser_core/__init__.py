"""The MUSER stress lab's library (no Streamlit): stress detection from speech, emotion as auxiliary tasks.

Its packages and the floors their imports climb are listed in CONTRIBUTING.md ("Where things
go") and held by ``tests/test_layout.py``, which checks both.

The few names a notebook needs are here, each imported on first use (so
``import muser_core`` and the ``muser`` command stay light); ``docs/python-api.md``
shows them at work:

    from muser_core import load_corpus, RunConfig, train_run, load_predictor
"""

from __future__ import annotations

import importlib

from muser_core.base.version import __version__

# name -> the module that defines it
_PUBLIC = {
    "load_corpus": "muser_core.sources",            # a data set -> Corpus (by source name: demo, emobank, ...)
    "Corpus": "muser_core.data.corpus",             # the canonical utterance table (Corpus.load / .save)
    "extract_egemaps": "muser_core.features.acoustic",   # audio files -> 88 eGeMAPS functionals (openSMILE)
    "extract_text_features": "muser_core.features.text",  # texts -> LIWC-style category scores
    "default_lexicon": "muser_core.features.lexicon",     # the open MUSER word-category lexicon
    "IndicatorAnalysis": "muser_core.indicators",   # top-k indicators per task with bootstrap stability
    "split_columns": "muser_core.indicators",       # a feature table -> features, labels, speakers
    "RunConfig": "muser_core.config",               # every training setting, typed, with its default
    "train_run": "muser_core.train",                # one run from corpus to test metrics, in a run folder
    "load_predictor": "muser_core.predict.load",    # a run folder or the demo model -> Predictor
    "prepare_clip": "muser_core.predict.clip",      # an audio file -> the clip a Predictor takes
    "sample_clips": "muser_core.predict.samples",      # the shipped real-voice clips with their texts
}
_RENAMED = {"load_corpus": "load", "extract_text_features": "extract_features", "sample_clips": "real_clips"}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'muser_core' has no attribute '{name}'")
    value = getattr(importlib.import_module(_PUBLIC[name]), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

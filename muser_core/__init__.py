"""The MUSER stress lab's library (no Streamlit): stress detection from speech, emotion as auxiliary tasks.

Packages, bottom up; each imports only from the ones above it in this list
(``tests/test_layout.py`` checks it):

- :mod:`.base`: errors, paths, task names, settings and their checks, atomic files;
- :mod:`.audio` and :mod:`.strategies`: decoding, voice activity, recognisers, segmentation;
  the task-sampling strategies and their registry;
- :mod:`.features`: eGeMAPS, speaker z-scores, the lexicon and text scores, the text encoder;
- :mod:`.data`: the canonical :class:`~muser_core.data.corpus.Corpus`, splits, one loader per data set;
- :mod:`.study`: studies recorded in the app, their sentence tables, personal models;
- :mod:`.sources`: the registry of data sources every picker and command line reads;
- :mod:`.config`: :class:`~muser_core.config.RunConfig`, every training setting once;
- :mod:`.model`: the multi-task network and its weight files;
- :mod:`.train`: one run from corpus to test metrics (:func:`muser_core.train.train_run`);
- :mod:`.predict` and :mod:`.sweep`: live prediction (:func:`muser_core.predict.load.load_predictor`);
  sweeps over settings and seeds;
- :mod:`.privacy`: deleting a participant everywhere.

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
    "sample_clips": "muser_core.data.samples",      # the shipped real-voice clips with their texts
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

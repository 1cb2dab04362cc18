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

This file imports nothing, so that ``python -m muser_core.corpus`` does not load
PyTorch: import from the package that holds what you need.
"""

"""Data sets in, one canonical utterance table out (MUSER paper 3.1, 4.1).

Nothing here decodes audio (the clips to try a model on are :mod:`muser_core.predict.samples`).
Read in this order:

- :mod:`~muser_core.data.corpus`: the :class:`~muser_core.data.corpus.Corpus` every loader
  returns, its canonical columns and splits, and its CSV and sidecar on disk;
- :mod:`~muser_core.data.splits`: speaker-independent splits and the paper's 1,853 / 200 / 273;
- one file per data set, each with its loader: :mod:`~muser_core.data.muse` (MuSE),
  :mod:`~muser_core.data.omg` (OMG-Emotion), :mod:`~muser_core.data.manifest` (any CSV of
  utterances), :mod:`~muser_core.data.demo` (the shipped synthetic corpus).

Which data sets the app offers, and how each is located, is listed once in
:mod:`muser_core.sources` (above this package): adding a data set is one file
here and one entry there.
"""

"""Live prediction: one voice clip in, stress probability (with activation and valence) out.

The pipeline follows the paper's inputs (section 4.3): eGeMAPS functionals
normalised per speaker (3.3) and an automatic transcript (3.1) for the text
encoder. Read it in this order:

- :mod:`.clip`: decode, trim, check, detect speech, extract eGeMAPS (each step timed); a relaxed baseline;
- :mod:`.base`: the :class:`Predictor` contract every kind of model meets, and the one scoring pipeline;
- :mod:`.run_model`: a trained MUSER run folder (checked, loaded, scored);
- :mod:`.personal`: one participant's personal model (:mod:`muser_core.study.personal_model`);
- :mod:`.load`: which of the two a folder needs;
- :mod:`.cli`: ``muser predict``;
- :mod:`.samples`: shipped clips with known text, to try a model on (the Live page, tests, benchmarks).
"""

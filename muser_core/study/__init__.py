"""A study: your own stress corpus recorded the way MuSE was (paper section 3.1), as plain files.

Read in this order:

- :mod:`~muser_core.study.protocol`: what a study is (settings, conditions, the stress task, participants,
  sessions, answers, ids), frozen values with their checks.
- :mod:`~muser_core.study.store`: the study folder (:class:`Study`): creating and opening it, settings,
  participants, sessions, saving answers and ratings, under one lock.
- :mod:`~muser_core.study.process`: cutting each answer into sentences with eGeMAPS (paper 4.2, 3.3).
- :mod:`~muser_core.study.table`: the study as a corpus (sentences, hand corrections, splits, ``load_study``).
- :mod:`~muser_core.study.personal_model`: one participant's own stress model.
- :mod:`~muser_core.study.source`: studies as a data source, registered in :mod:`muser_core.sources` on import.

Deleting a participant everywhere (the study and the caches made from it) is
:func:`muser_core.privacy.delete_participant`.
"""

from muser_core.study.source import STUDY_SOURCE
from muser_core.study.store import Study

__all__ = ["STUDY_SOURCE", "Study"]

"""The studies recorded in the app, as a data source (``--corpus study:DIR``, the pickers' "Study").

A study is read with this package (its folder, its processing, its corrections),
which sits above :mod:`muser_core.sources`; so instead of being listed there it
registers itself here, on import of :mod:`muser_core.study`.
"""

from __future__ import annotations

from muser_core.sources import FOLDER, STUDY, Source, register
from muser_core.study.store import list_studies, studies_dir
from muser_core.study.table import load_study, study_fingerprint

STUDY_SOURCE = register(Source(
    STUDY, "Study recorded in this app", lambda path, split, seed: load_study(path, split, seed), FOLDER,
    help="a study recorded in the app (muser_core.study); with fewer than 3 participants --split speaker "
         "splits by session", metavar="DIR", path_label="Study",
    hint="record one on the **Record a corpus** page",
    listing=lambda: [studies_dir() / name for name in list_studies()], fingerprint=study_fingerprint,
    note="Keep Split = table to use the study's own split: speaker-independent with 3 or more "
         "participants, by whole sessions with fewer (every split then needs a session of each "
         "condition: 3 of each in all)."))

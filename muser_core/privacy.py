"""Deleting a participant everywhere: the study folder, the caches made from their audio and words, the training copies.

A participant may ask for all their recordings to be deleted at any time
(the default consent text promises it). Their traces are not only in the
study folder: eGeMAPS vectors of their audio sit in the feature cache,
sentence vectors of their transcripts in the frozen-embedding cache, and the
Train page copied the study's table (with their rows) into the runs folder.
:func:`delete_participant` removes each through the public methods of the
store that keeps it, and lists the run folders trained on the study, which
it does not delete (their statistics are derived from the participant's
sentences, but they are someone's results).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from muser_core.data.corpus import sidecar_path
from muser_core.features.acoustic import FeatureCache
from muser_core.features.layer_cache import forget_hidden_states
from muser_core.features.text_encoder import forget_texts
from muser_core.sources import STUDY, corpus_copies, runs_reading
from muser_core.study.process import feature_rows, sentence_clips
from muser_core.study.protocol import belongs_to
from muser_core.study.store import PARTLY_DELETED, Study
from muser_core.study.table import participant_texts


@dataclass
class DeletionReport:
    """What deleting a participant removed, counted, and what it could not reach."""

    participant: str
    sessions: int = 0
    recordings: int = 0
    sentence_clips: int = 0
    feature_rows: int = 0
    corrections: int = 0
    personal_models: int = 0
    cached_features: int = 0
    cached_text_vectors: int = 0  # sentence vectors of their transcripts in the frozen-embedding cache
    cached_hidden_states: int = 0  # their transcripts' lower-layer states in the --finetune-layers cache
    training_copies: list[str] = field(default_factory=list)
    runs_trained_on_it: list[str] = field(default_factory=list)

    def message(self) -> str:
        parts = [f"{self.sessions} session(s)", f"{self.recordings} answer recording(s)",
                 f"{self.sentence_clips} sentence clip(s)", f"{self.feature_rows} eGeMAPS row(s)",
                 f"{self.corrections} transcript correction(s)", f"{self.personal_models} personal model(s)",
                 f"{self.cached_features} cached feature vector(s)",
                 f"{self.cached_text_vectors} cached sentence vector(s)",
                 f"{self.cached_hidden_states} cached hidden-state file(s)",
                 f"{len(self.training_copies)} training copy(ies) of the study table"]
        line = f"Removed participant {self.participant}: " + ", ".join(parts) + "."
        if self.runs_trained_on_it:
            line += (" Training runs made from this study before still hold statistics derived from the "
                     "participant's sentences (normaliser.json): " + ", ".join(self.runs_trained_on_it)
                     + "; delete those run folders too if needed.")
        return line


def delete_participant(study: Study, participant: str) -> DeletionReport:
    """Remove every file, row and cache entry of a participant, and say what was removed.

    Their recordings, sentence clips and eGeMAPS rows, corrections, personal
    model, the cached feature vectors of their audio and sentence vectors of
    their transcripts, and the training copies of this study's table (which
    hold their rows). Run folders trained on the study are listed, not deleted.
    """
    pid = study.participant(participant).participant
    report = DeletionReport(pid)
    with study.locked(PARTLY_DELETED):   # nothing of theirs is recorded or processed while their traces go
        sessions = study.sessions(pid)
        recordings = [study.answer_path(s, q) for s in sessions for q in sorted(s.answers)]
        clips = sentence_clips(study, pid)
        model = study.model_dir(pid)
        report.sessions = len(sessions)
        report.recordings = sum(p.is_file() for p in recordings)
        report.sentence_clips = len(clips)
        report.feature_rows = feature_rows(study, pid)
        report.corrections = sum(belongs_to(c["utterance_id"], pid) for c in study.corrections())
        report.personal_models = int(model.is_dir() and any(model.iterdir()))
        # Both caches are keyed by content (audio bytes, sentence text): forget while the files still exist.
        report.cached_features = FeatureCache().forget([*recordings, *clips])
        texts = participant_texts(study, pid)
        report.cached_text_vectors = forget_texts(texts)
        report.cached_hidden_states = forget_hidden_states(texts)
        copies = corpus_copies(STUDY, study.id)
        report.training_copies = [str(p) for p in copies]
        report.runs_trained_on_it = runs_reading(copies)
        for copy in copies:
            copy.unlink(missing_ok=True)
            sidecar_path(copy).unlink(missing_ok=True)
        study.remove_participant(pid)
    return report

"""A trained MUSER run as a live predictor: its folder checked, its model loaded, one clip scored at a time.

Normalisation: the paper z-scores features per speaker (3.3). A user who
records one or more relaxed *baseline* clips is normalised against their own
mean (scaled by the training corpus' typical within-speaker spread, since a
few clips cannot estimate a spread); without a baseline, the training corpus'
pooled statistics are used and the result says it is less reliable.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError, safe_open

from muser_core.audio.transcribe import Recogniser, get_recogniser
from muser_core.base.errors import InputError
from muser_core.base.files import read_json
from muser_core.base.paths import DATA_DIR, runs_dir
from muser_core.base.tasks import MAIN_TASK, is_classification
from muser_core.config import RunConfig
from muser_core.data.corpus import sidecar_path
from muser_core.features.normalise import SpeakerZScore
from muser_core.features.text import LexiconScores
from muser_core.features.text_encoder import TextEncoder
from muser_core.model import MultiTaskModel, PerTaskModel, load_weights
from muser_core.predict.base import Predictor
from muser_core.predict.clip import Baseline
from muser_core.sources import DEMO, opened_spec
from muser_core.train import run_folder as rf
from muser_core.train.process import list_runs

DEFAULT_CHECKPOINT = DATA_DIR / "models" / "demo-muser"  # trained on the SYNTHETIC demo corpus
NEW_SPEAKER = "<new speaker>"     # any name that is not a training speaker: the pooled statistics


# --------------------------------------------------------------------------- run folders

def check_run_folder(run_dir: str | Path) -> dict:
    """Check that a run folder holds a usable checkpoint before anything heavy loads; its config.

    Usable: ``config.json``, ``checkpoint.safetensors`` (a readable header) and
    a ``normaliser.json`` with what the model needs (acoustic statistics for a
    model that hears audio, the lexicon branch's statistics and dictionary, the emotion heads' target
    scales). Each defect
    raises one :class:`InputError` naming the file.
    """
    run_dir = Path(run_dir)
    if not (run_dir / rf.CONFIG).is_file():
        raise InputError(f"{run_dir}: not a run folder (no {rf.CONFIG})")
    config = read_json(run_dir / rf.CONFIG, "the run's settings")
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict) \
            or not isinstance(config.get("data"), dict):
        raise InputError(f"{run_dir / rf.CONFIG}: not a run configuration (no 'model' or 'data' section)")
    checkpoint = run_dir / rf.CHECKPOINT
    if not checkpoint.is_file():
        raise InputError(f"{run_dir}: no checkpoint yet ({rf.CHECKPOINT} missing; "
                         "the run has not finished an epoch or did not keep its weights)")
    try:
        with safe_open(str(checkpoint), framework="pt") as handle:
            if not list(handle.keys()):
                raise InputError(f"{checkpoint}: holds no weights")
    except (OSError, SafetensorError) as exc:
        raise InputError(f"{checkpoint}: not a readable safetensors checkpoint ({exc})") from None
    stats = read_json(run_dir / rf.NORMALISER, "the run's normalisation statistics")
    if not isinstance(stats, dict) or not stats:
        raise InputError(f"{run_dir / rf.NORMALISER}: holds no normalisation statistics; "
                         "this checkpoint cannot score new audio (retrain the run)")
    modality = config["model"].get("modality", "both")
    acoustic = stats.get("acoustic")
    if modality in ("audio", "both") and not (isinstance(acoustic, dict)
                                              and {"features", "speakers", "global"} <= set(acoustic)):
        raise InputError(f"{run_dir / rf.NORMALISER}: no acoustic statistics ('acoustic' with features, "
                         "speakers and global), which a model that hears audio needs")
    lexicon = stats.get("lexicon")
    if config["model"].get("lexicon_branch") and not (isinstance(lexicon, dict)
                                                      and {"dic", "columns", "mean", "std"} <= set(lexicon)):
        raise InputError(f"{run_dir / rf.NORMALISER}: no lexicon statistics ('lexicon' with dic, columns, mean "
                         "and std), which a model with the lexicon branch needs")
    if config["model"].get("lexicon_branch") and lexicon["dic"] and not Path(lexicon["dic"]).is_file():
        raise InputError(f"{run_dir / rf.NORMALISER}: the lexicon branch's dictionary {lexicon['dic']} is not "
                         "on this machine; put it there or train again")
    return config


def trained_on_synthetic(run_dir: str | Path) -> bool:
    """Whether a run learnt from the synthetic demo data (its config or data record says so)."""
    run_dir = Path(run_dir)
    try:
        config = json.loads((run_dir / rf.CONFIG).read_text())
    except (OSError, json.JSONDecodeError):
        config = {}
    data = config.get("data", {}) if isinstance(config, dict) else {}
    if data.get("corpus") == DEMO or data.get("external") in (DEMO, "demo-external"):
        return True
    try:
        record = json.loads((run_dir / rf.DATA).read_text())
    except (OSError, json.JSONDecodeError):
        record = {}
    if isinstance(record, dict) and record.get("synthetic") is True:
        return True
    corpus = opened_spec(str(data.get("corpus", "")))
    if corpus and corpus != DEMO:
        # A canonical table written by muser_core.corpus says so in its sidecar (``<table>.meta.json``;
        # older copies ``<stem>.json``). Any sidecar claiming synthetic counts, ours or not, and so does
        # the previous version a sidecar keeps: a run is never presented as real when its data may not be.
        for meta_path in (sidecar_path(corpus), Path(corpus).with_suffix(".json")):
            try:
                meta = json.loads(meta_path.read_text())
            except (OSError, json.JSONDecodeError, UnicodeDecodeError):
                continue
            previous = meta.get("previous") if isinstance(meta, dict) else None
            if isinstance(meta, dict) and (meta.get("synthetic") is True
                                           or isinstance(previous, dict) and previous.get("synthetic") is True):
                return True
    return False


def usable_checkpoints(root: str | Path | None = None) -> dict[str, Path]:
    """Run folders under ``root`` (default: the runs folder) whose checkpoint can score a clip.

    The runs come from the app's one run listing
    (:func:`muser_core.train.process.list_runs`, sweeps included); label ->
    folder, sorted by label. Folders failing :func:`check_run_folder` are left out.
    """
    root = Path(root) if root is not None else runs_dir()
    table = list_runs([(root, False)])
    found: dict[str, Path] = {}
    for name, path, has_checkpoint in zip(table["name"], table["path"], table["checkpoint"], strict=True):
        try:
            if has_checkpoint:
                check_run_folder(Path(path))
                found[name] = Path(path)
        except InputError:
            continue
    return dict(sorted(found.items()))


def load_trained_model(run_dir: str | Path, device: str = "cpu") -> tuple[MultiTaskModel | PerTaskModel, RunConfig, dict]:
    """A run's best model in eval mode, its config and its normalisation statistics.

    The statistics are the run's ``normaliser.json``: ``acoustic`` (a
    :class:`~muser_core.normalise.SpeakerZScore` dict, or None for a text-only
    run) and ``targets`` (mean/std each emotion head was trained on). When the
    model uses text, the Transformer is attached (loaded from the config's
    model folder when frozen), so :func:`predict` can take raw sentences.
    """
    run_dir = Path(run_dir)
    cfg = rf.read_config(run_dir)
    ckpt = run_dir / rf.CHECKPOINT
    if not ckpt.is_file():
        raise InputError(f"{run_dir}: no checkpoint yet (the run has not finished an epoch)")
    stats = rf.read_json(run_dir / rf.NORMALISER) or {}
    # The stress head's temperature (fitted on validation after training); a run without one gives T = 1.
    stats["calibration"] = rf.read_json(run_dir / rf.CALIBRATION) or {}
    if stats.get("lexicon"):   # built once: its dictionary is then read once, not for every clip
        stats["lexicon_scores"] = LexiconScores.from_dict(stats["lexicon"])
    encoder = TextEncoder(cfg.model.text_model, cfg.model.max_length) if cfg.model.uses_text else None
    if encoder is not None and encoder.hidden_size != cfg.model.text_dim:
        raise InputError(f"{cfg.model.text_model or 'default MiniLM'}: hidden size {encoder.hidden_size}, "
                         f"the run was trained with {cfg.model.text_dim}")
    model = MultiTaskModel(cfg.model, cfg.data.tasks, encoder)
    load_weights(model, ckpt, cfg.model.text_mode)
    if cfg.train.select == "per-task":   # each task from its own best epoch's copy
        models = {MAIN_TASK: model}
        for task in (t for t in cfg.data.tasks if t != MAIN_TASK):
            path = run_dir / rf.task_checkpoint(task)
            if not path.is_file():
                raise InputError(f"{path}: missing (a --select per-task run keeps one checkpoint per task)")
            own = encoder if encoder is None or cfg.model.text_mode == "frozen" else copy.deepcopy(encoder)
            models[task] = MultiTaskModel(cfg.model, cfg.data.tasks, own)
            load_weights(models[task], path, cfg.model.text_mode)
        model = PerTaskModel(models)
    return model.to(device).eval(), cfg, stats


def predict(model: MultiTaskModel | PerTaskModel, stats: dict, texts: Sequence[str] | None = None,
            features: pd.DataFrame | np.ndarray | None = None,
            speakers: Sequence[str] | None = None) -> pd.DataFrame:
    """Predictions for new utterances: ``stress_probability`` and each emotion on its label scale.

    ``features`` are raw (not normalised) eGeMAPS functionals, one row per
    utterance, columns in ``EGEMAPS_FEATURES`` order; they are normalised with
    the run's statistics (paper 3.3). Training speakers are keyed
    ``"<dataset>:<speaker>"`` (e.g. ``"demo:07"``); any other name, or none,
    gets the pooled statistics.
    """
    acoustic = None
    if model.cfg.uses_audio:
        if features is None:
            raise InputError("this model uses audio: give the 88 eGeMAPS features")
        scaler = SpeakerZScore.from_dict(stats["acoustic"])
        n = len(texts) if texts is not None else len(features)
        table = features if isinstance(features, pd.DataFrame) else pd.DataFrame(
            np.asarray(features, dtype=np.float64).reshape(n, -1), columns=scaler.means_.columns)
        spk = list(speakers) if speakers is not None else [NEW_SPEAKER] * n
        acoustic = scaler.transform(table, spk).to_numpy(np.float64)
    return model_outputs(model, stats, texts, acoustic)


def temperature(stats: dict, task: str) -> float:
    """The task's calibration temperature from the run's calibration.json (1: the raw softmax)."""
    value = ((stats.get("calibration") or {}).get(task) or {}).get("temperature")
    return float(value) if isinstance(value, (int, float)) and value > 0 else 1.0


@torch.no_grad()
def model_outputs(model: MultiTaskModel | PerTaskModel, stats: dict, texts: Sequence[str] | None = None,
                  acoustic: np.ndarray | None = None) -> pd.DataFrame:
    """The heads' outputs for sentences and *normalised* eGeMAPS rows: P(stressed), emotions on their scale.

    Each emotion head was trained on z-scored targets; the run's
    ``targets`` statistics take it back to the label scale. A missing feature
    (NaN after normalisation) enters as 0, the speaker's mean.
    """
    model.eval()
    device = next(model.parameters()).device
    batch: dict[str, torch.Tensor] = {}
    if model.cfg.uses_text:
        if texts is None:
            raise InputError("this model uses text: give the transcripts")
        tokens = model.text_encoder.tokenize(texts)
        batch.update({k: v.to(device) for k, v in tokens.items()})
        if model.cfg.lexicon_branch:   # the run's dictionary, scaled with its training statistics
            if not stats.get("lexicon"):
                raise InputError("this run has a lexicon branch but its normaliser.json has no lexicon statistics")
            scores = stats.get("lexicon_scores") or LexiconScores.from_dict(stats["lexicon"])
            batch["lexicon"] = torch.from_numpy(scores.transform(texts)).to(device)
    if model.cfg.uses_audio:
        if acoustic is None:
            raise InputError("this model uses audio: give the 88 eGeMAPS features")
        batch["acoustic"] = torch.from_numpy(np.nan_to_num(np.asarray(acoustic, dtype=np.float32))).to(device)
    out = model(batch)
    result = {}
    for task, value in out.items():
        if is_classification(task):
            result[f"{task}_probability"] = torch.softmax(value / temperature(stats, task), -1)[:, 1].cpu().numpy()
        else:
            target = stats.get("targets", {}).get(task, {"mean": 0.0, "std": 1.0})
            result[task] = value.cpu().numpy() * target["std"] + target["mean"]
    return pd.DataFrame(result)


class LivePredictor(Predictor):
    """A trained run's model plus a recogniser, ready to score clips one at a time.

    Load once (a few seconds: the text encoder and the recogniser), then
    :meth:`predict` takes well under a second for a 5 s clip on 2 cores. It
    holds no per-user state (the baseline is passed in), so one instance can
    serve every session of the app.
    """

    def __init__(self, checkpoint: str | Path | None = None, recogniser: Recogniser | None = None):
        self.checkpoint = Path(checkpoint or DEFAULT_CHECKPOINT)
        check_run_folder(self.checkpoint)  # one clear line for a broken folder, before the slow load
        self.model, self.config, self.stats = load_trained_model(self.checkpoint)
        acoustic = self.stats.get("acoustic")
        self.scaler = SpeakerZScore.from_dict(acoustic) if acoustic else None
        self.typical_spread = self.scaler.stds_.median(axis=0) if self.scaler is not None else None
        self.uses_text = self.config.model.uses_text
        self.uses_audio = self.config.model.uses_audio
        self.synthetic = trained_on_synthetic(self.checkpoint)
        self.recogniser = recogniser or get_recogniser()
        if temperature(self.stats, MAIN_TASK) != 1.0:
            self.probability_scaling = (f"temperature scaling, T = {temperature(self.stats, MAIN_TASK):.2f} "
                                        "(fitted on the validation split after training)")

    @property
    def label_scales(self) -> dict[str, tuple[float, float]]:
        """Each emotion head's output scale, as the run recorded it (an external head's also under its emotion)."""
        scales = {task: tuple(t.get("scale") or (np.nan, np.nan)) for task, t in self.stats.get("targets", {}).items()}
        for task in list(scales):
            scales.setdefault(task.removeprefix("ext_"), scales[task])
        return scales

    def card(self) -> str | None:
        card = self.checkpoint / "MODEL_CARD.md"
        return card.read_text() if card.is_file() else None

    @property
    def training_corpus(self) -> tuple[str, str]:
        return self.config.data.corpus, self.config.data.split

    # ------------------------------------------------------------------ calibration

    def zscores(self, features: pd.Series, baseline: Baseline | None) -> pd.Series:
        """The clip's features normalised as the model sees them (baseline or pooled statistics).

        The run's statistics are built once, when the model is loaded: rebuilding
        them from JSON for every clip would take 200-335 ms with 10,000 training
        speakers.
        """
        if self.scaler is None:
            return pd.Series(dtype=float)
        columns = self.scaler.means_.columns
        if baseline is None:   # a new speaker: the pooled statistics (what transform gives an unseen speaker)
            return (features[columns].astype(np.float64) - self.scaler.global_mean_) / self.scaler.global_std_
        # A few baseline clips give a mean but no usable spread: the training corpus' typical
        # within-speaker spread (the median over its speakers) stands in.
        return (features[columns].astype(np.float64) - baseline.mean[columns]) / self.typical_spread

    # ------------------------------------------------------------------ prediction

    def model_outputs(self, transcript: str, zscores: pd.Series) -> pd.Series:
        acoustic = zscores.to_numpy(np.float64)[None, :] if self.uses_audio else None
        out = model_outputs(self.model, self.stats, texts=[transcript] if self.uses_text else None,
                            acoustic=acoustic)
        return out.iloc[0]

"""Speaker-level z-normalisation of acoustic features (MUSER paper, section 3.3).

The paper follows Jaiswal et al. (2020) and z-normalises every eGeMAPS feature
per speaker, so that a naturally high voice is not read as stress. The
statistics are kept (:meth:`SpeakerZScore.to_dict`) so audio from a new session
can be normalised later: against its own speaker's statistics when known (e.g.
a calibration clip), otherwise against the pooled training statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MIN_STD = 1e-8  # a feature constant within a speaker is centred, not divided by zero


def _std(values: pd.DataFrame | np.ndarray) -> np.ndarray:
    std = np.nanstd(np.asarray(values, dtype=np.float64), axis=0)
    return np.where(std > MIN_STD, std, 1.0)


@dataclass
class SpeakerZScore:
    """Per-speaker mean and standard deviation of each feature (scikit-learn style).

    ``fit`` learns ``means_`` and ``stds_`` (one row per speaker) plus the
    pooled ``global_mean_``/``global_std_`` used for speakers never seen.
    """

    means_: pd.DataFrame | None = field(default=None, repr=False)
    stds_: pd.DataFrame | None = field(default=None, repr=False)
    global_mean_: pd.Series | None = field(default=None, repr=False)
    global_std_: pd.Series | None = field(default=None, repr=False)

    def fit(self, features: pd.DataFrame, speakers: pd.Series | np.ndarray) -> SpeakerZScore:
        speakers = pd.Series(np.asarray(speakers), index=features.index, name="speaker").astype(str)
        grouped = features.astype(np.float64).groupby(speakers)
        self.means_ = grouped.mean()
        stds = grouped.std(ddof=0).fillna(1.0)
        self.stds_ = stds.where(stds > MIN_STD, 1.0)
        self.global_mean_ = features.mean()
        self.global_std_ = pd.Series(_std(features), index=features.columns)
        return self

    def transform(self, features: pd.DataFrame, speakers: pd.Series | np.ndarray) -> pd.DataFrame:
        """z-scores; a speaker not seen in ``fit`` gets the pooled statistics."""
        if self.means_ is None:
            raise RuntimeError("SpeakerZScore.transform called before fit")
        speakers = np.asarray(speakers).astype(str)
        known = np.isin(speakers, self.means_.index)
        mean = np.tile(self.global_mean_.to_numpy(), (len(features), 1))
        std = np.tile(self.global_std_.to_numpy(), (len(features), 1))
        if known.any():
            mean[known] = self.means_.loc[speakers[known]].to_numpy()
            std[known] = self.stds_.loc[speakers[known]].to_numpy()
        values = (features[self.means_.columns].to_numpy(np.float64) - mean) / std
        return pd.DataFrame(values, index=features.index, columns=self.means_.columns)

    def fit_transform(self, features: pd.DataFrame, speakers) -> pd.DataFrame:
        return self.fit(features, speakers).transform(features, speakers)

    def to_dict(self) -> dict:
        """Plain JSON-able statistics (no pickling), to store beside a model."""
        return {"features": list(self.means_.columns),
                "speakers": {spk: {"mean": self.means_.loc[spk].tolist(), "std": self.stds_.loc[spk].tolist()}
                             for spk in self.means_.index},
                "global": {"mean": self.global_mean_.tolist(), "std": self.global_std_.tolist()}}

    @classmethod
    def from_dict(cls, stats: dict) -> SpeakerZScore:
        cols = stats["features"]
        speakers = list(stats["speakers"])
        return cls(
            means_=pd.DataFrame([stats["speakers"][s]["mean"] for s in speakers], index=speakers, columns=cols),
            stds_=pd.DataFrame([stats["speakers"][s]["std"] for s in speakers], index=speakers, columns=cols),
            global_mean_=pd.Series(stats["global"]["mean"], index=cols),
            global_std_=pd.Series(stats["global"]["std"], index=cols),
        )


def speaker_zscore(features: pd.DataFrame, speakers: pd.Series | np.ndarray) -> pd.DataFrame:
    """z-normalise each feature within each speaker (MUSER paper, section 3.3)."""
    return SpeakerZScore().fit_transform(features, speakers)


def global_zscore(features: pd.DataFrame) -> pd.DataFrame:
    """z-normalise each feature over all rows (what the paper does for text features, 3.2)."""
    values = features.astype(np.float64)
    return (values - values.mean()) / _std(values)

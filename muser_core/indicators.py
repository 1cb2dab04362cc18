"""Which features mark stress, activation and valence, and how much the three overlap.

MUSER paper, section 3 (Tables 1-4): z-normalise every feature (acoustic ones
per speaker, 3.3), fit a logistic regression for the stress label and ordinary
least squares for activation and valence, and take the features with the 20
largest absolute coefficients per task as that task's "key indicators" (3.2).
Beyond the paper, a seeded bootstrap gives every feature's *stability*: the
share of resamples in which it is in the top k.

The bootstrap ranks are stored for every resample, so the top k can be read
for any k without refitting (what makes the pages' slider instant).

Command line::

    muser indicators --features FILE.csv --stress-col stress \\
        --activation-col activation --valence-col valence [--speaker-col speaker] \\
        [--top 20] [--bootstrap 200] --out DIR
"""

from __future__ import annotations

import argparse
import io
import json
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.linalg
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from muser_core.base.errors import InputError, where
from muser_core.base.files import atomic_write_text, spreadsheet_safe, write_csv
from muser_core.base.memory import check_memory
from muser_core.base.tasks import INTERNAL_TASKS, STRESS_WORDS
from muser_core.features import egemaps_groups
from muser_core.features.lexicon import default_lexicon
from muser_core.features.normalise import global_zscore, speaker_zscore

TASKS = INTERNAL_TASKS
CLASSIFICATION_TASKS = ("stress",)      # logistic regression; the others use least squares
NORMALISATIONS = ("global", "speaker")  # paper: global for text (3.2), per speaker for audio (3.3)
MIN_ROWS = 20                           # below this a top-20 ranking is noise, not a finding
MIN_PER_CLASS = 5                       # each stress class needs a few rows for a stable fit
MAX_UPLOAD_BYTES = 50 * 2**20           # uploaded feature tables above 50 MB are refused
# Peak memory of a fit, in float64 values per row: FIT_TABLES per feature (the z-scores, each task's rows,
# the bootstrap's design, a fit per thread) and FIT_ROW_VALUES more (labels, resample weights). Measured
# with tracemalloc at most 5.0 per feature + 12 per row (12,000-40,000 rows, 10-88 features, 3 tasks).
FIT_TABLES, FIT_ROW_VALUES = 5, 16


def fit_memory(rows: int, features: int) -> int:
    """Bytes an :class:`IndicatorAnalysis` fit of ``rows`` x ``features`` may take at its peak (an upper bound)."""
    return rows * (FIT_TABLES * features + FIT_ROW_VALUES) * 8


CONSTANT_STD = 1e-8                     # a z-scored column with smaller spread carries nothing
# Per-speaker z-scores need a few rows per speaker: a speaker of one row is set to 0 in every feature. When
# most rows sit in such speakers (Dreaddit's post ids as speakers: 69 % alone), speaker normalisation
# means nothing, so the analysis z-scores globally and says so.
MIN_ROWS_PER_SPEAKER = 3
MAX_SHARE_IN_SMALL_SPEAKERS = 0.5
# Columns of the canonical corpus table that are never features.
NON_FEATURE_COLUMNS = ("utterance_id", "speaker", "dataset", "split", "text", "audio_path",
                       "session", "gender", "question", "duration")
# LIWC's summary and descriptor columns (LIWC-22, and LIWC2015's Sixltr): counts, row
# labels and composite scores, not word categories. Left out by default, as the
# paper ranks word categories only (3.2); a user can still pick them.
LIWC_META_COLUMNS = ("Segment", "WC", "WPS", "Analytic", "Clout", "Authentic", "Tone",
                     "BigWords", "Sixltr", "Dic")


# --------------------------------------------------------------------------- input


@dataclass
class IndicatorInput:
    """A feature table split into features, labels and speakers, ready for :meth:`IndicatorAnalysis.fit`."""

    features: pd.DataFrame            # numeric, one column per feature
    labels: pd.DataFrame              # a column per task found (stress 0/1, activation, valence)
    speakers: pd.Series | None = None
    skipped: dict[str, str] = field(default_factory=dict)  # task -> why it is not analysed
    digest: str = ""                  # what the table was made from, when its maker knows (a cache key); "" unknown


def read_feature_csv(source: str | Path | bytes, name: str | None = None,
                     max_bytes: int | None = MAX_UPLOAD_BYTES) -> pd.DataFrame:
    """Read a CSV of precomputed features (e.g. a LIWC-22 export) from a path or uploaded bytes.

    Raises :class:`InputError` for a missing, oversized, empty or unparsable file.
    """
    label = name or (str(source) if not isinstance(source, bytes) else "uploaded file")
    if isinstance(source, bytes):
        size, handle = len(source), io.BytesIO(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"{label}: file not found")
        size, handle = path.stat().st_size, path
    if max_bytes is not None and size > max_bytes:
        raise InputError(f"{label}: {size / 2**20:.1f} MB is over the {max_bytes / 2**20:.0f} MB limit")
    try:
        table = pd.read_csv(handle)
        header = str(table.columns[0])
        # LIWC exports in some locales use ';' or tabs: one wide column gives that away.
        for sep in (";", "\t"):
            if table.shape[1] == 1 and sep in header:
                if isinstance(handle, io.BytesIO):
                    handle.seek(0)
                table = pd.read_csv(handle, sep=sep)
                break
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise InputError(f"{label}: not a readable CSV ({str(exc).splitlines()[0]})") from None
    if table.empty:
        raise InputError(f"{label}: no rows")
    return table


def split_columns(table: pd.DataFrame, stress_col: str | None = "stress",
                  activation_col: str | None = "activation", valence_col: str | None = "valence",
                  speaker_col: str | None = None, feature_cols: Sequence[str] | None = None,
                  ignore: Iterable[str] = (), source: str = "table") -> IndicatorInput:
    """Pick features, labels and speakers out of a table and check them.

    A label column set to None or absent from the table skips that task (said in
    ``skipped``). Features are ``feature_cols``, or else every column that is not
    a label, the speaker, a canonical corpus column or in ``ignore``. Raises
    :class:`InputError` for non-numeric or all-missing columns, a stress column
    that is not two-valued, or no task at all.
    """
    label_cols = {"stress": stress_col, "activation": activation_col, "valence": valence_col}
    labels, skipped = {}, {}
    for task, col in label_cols.items():
        if col is None:
            skipped[task] = "no label column chosen"
        elif col not in table.columns:
            skipped[task] = f"no column '{col}' in {source}"
        else:
            values = (_stress_numbers(table[col], source, col) if task == "stress"
                      else _numeric(table[col], source, col))
            if values.isna().all():
                # A table without this task's labels (EmoBank has no stress): the other tasks still count.
                skipped[task] = f"no {task} labels in {source} (column '{col}' is empty)"
            else:
                labels[task] = values
    if not any(label_cols.values()):
        raise InputError(f"{source}: no label column chosen (choose one for stress, activation or valence)")
    if not labels:
        empty = [f"'{c}'" for t, c in label_cols.items() if c and c in table.columns]
        raise InputError(f"{source}: none of the label columns "
                         f"({', '.join(str(c) for c in label_cols.values() if c)}) is present"
                         + (f" with values ({', '.join(empty)} empty)" if empty else ""))
    if "stress" in labels:
        labels["stress"] = _binary(labels["stress"], source, stress_col)

    speakers = None
    if speaker_col is not None:
        if speaker_col not in table.columns:
            raise InputError(f"{source}: no speaker column '{speaker_col}'")
        if table[speaker_col].isna().any():
            line = int(np.flatnonzero(table[speaker_col].isna())[0]) + 2  # +1 header, +1 one-based
            raise InputError(f"{where(source, line, speaker_col)}: speaker is missing")
        speakers = table[speaker_col].astype(str)

    if feature_cols is None:
        taken = {c for c in label_cols.values() if c} | {speaker_col} | set(ignore) | set(NON_FEATURE_COLUMNS)
        feature_cols = [c for c in table.columns if c not in taken]
    else:
        absent = [c for c in feature_cols if c not in table.columns]
        if absent:
            raise InputError(f"{source}: no feature column '{absent[0]}'")
    if not feature_cols:
        raise InputError(f"{source}: no feature columns left besides labels and speaker")
    features = pd.DataFrame({c: _numeric(table[c], source, c, hint=True) for c in feature_cols},
                            index=table.index)
    empty = [c for c in features.columns if features[c].isna().all()]
    if empty:
        raise InputError(f"{where(source, field=empty[0])}: no values (every row is missing)"
                         + (f"; {len(empty) - 1} more such columns" if len(empty) > 1 else ""))
    return IndicatorInput(features, pd.DataFrame(labels, index=table.index), speakers, skipped)


def identifier_columns(table: pd.DataFrame) -> list[str]:
    """Columns that cannot be features: canonical corpus columns and columns with no number at all.

    File names, transcripts and ids are left out up front (the page's and the
    command line's default); a column with numbers and a stray word stays in
    and is reported by :func:`split_columns`, since it is most likely a broken feature.
    """
    return [c for c in table.columns if c in NON_FEATURE_COLUMNS
            or (table[c].notna().any() and pd.to_numeric(table[c], errors="coerce").isna().all())]


def default_non_features(table: pd.DataFrame) -> list[str]:
    """What the page and the command line leave out unless told otherwise: identifiers and LIWC summaries."""
    meta = {c.lower() for c in LIWC_META_COLUMNS}
    identifiers = identifier_columns(table)
    return identifiers + [c for c in table.columns if str(c).lower() in meta and c not in identifiers]


def _stress_numbers(column: pd.Series, source: str, name: str) -> pd.Series:
    """Stress as numbers: a number, or a word a manifest accepts (stressed / not stressed, yes / no...)."""
    numbers = pd.to_numeric(column, errors="coerce")
    words = column.astype(str).str.strip().str.lower()
    values = numbers.fillna(words.map(STRESS_WORDS))
    bad = values.isna() & column.notna() & (words != "")
    if bad.any():
        line = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{where(source, line + 2, name)}: not a stress label ({column.iloc[line]!r}; "
                         "use two numbers such as 1/0, or stressed/not stressed)")
    return values.astype(float).replace([np.inf, -np.inf], np.nan)


def _numeric(column: pd.Series, source: str, name: str, hint: bool = False) -> pd.Series:
    """The column as floats (inf counts as missing), or InputError naming the first bad cell."""
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() & column.notna()
    if bad.any():
        line = int(np.flatnonzero(bad.to_numpy())[0])
        tip = " (leave it out with --ignore-cols or the page's column picker)" if hint else ""
        raise InputError(f"{where(source, line + 2, name)}: not a number "
                         f"({column.iloc[line]!r}){tip}")
    return values.astype(float).replace([np.inf, -np.inf], np.nan)


def _binary(values: pd.Series, source: str, name: str) -> pd.Series:
    """Stress as 0/1: the larger of exactly two values is 'stressed'."""
    classes = np.sort(values.dropna().unique())
    if len(classes) < 2:
        raise InputError(f"{where(source, field=name)}: only one class ({classes[0]:g}); "
                         "stress needs stressed and not-stressed rows")
    if len(classes) > 2:
        raise InputError(f"{where(source, field=name)}: {len(classes)} distinct values; "
                         "stress must have two (e.g. 0 and 1)")
    return (values == classes[1]).astype(float).where(values.notna())


# --------------------------------------------------------------------------- analysis


@dataclass
class IndicatorAnalysis:
    """Top-k indicator analysis of MUSER section 3, with bootstrap stability (scikit-learn style).

    ``fit`` learns, for each task it can fit:

    - ``coef_``: DataFrame (features x tasks) of coefficients on z-scored features;
    - ``rank_``: DataFrame of ranks by absolute coefficient (1 = strongest);
    - ``boot_coef_`` / ``boot_rank_``: dict task -> array (bootstrap x features);
    - ``features_``, ``tasks_``, ``n_rows_`` (labelled rows per task);
    - ``dropped_``: DataFrame (feature, reason) of constant features left out;
    - ``skipped_``: dict task -> reason; ``notes_``: list of remarks for the reader.
    """

    top_k: int = 20             # paper: the top 20 coefficients per task (3.2)
    bootstrap: int = 200        # resamples for stability; 0 turns it off
    seed: int = 0               # seeds the bootstrap; one stream per task
    normalise: str = "global"   # "global" (paper, text) or "speaker" (paper, acoustic)
    C: float = 1.0              # inverse L2 strength of the stress logistic regression
    max_iter: int = 5000        # lbfgs iterations: enough for collinear eGeMAPS features
    workers: int = 0            # bootstrap threads; 0: every core from 10,000 rows, else 1 (results do not depend on it)

    def fit(self, features: pd.DataFrame, labels: pd.DataFrame | Mapping[str, pd.Series],
            speakers: pd.Series | np.ndarray | None = None,
            skipped: Mapping[str, str] | None = None,
            progress: Callable[[int, int], None] | None = None) -> IndicatorAnalysis:
        """Normalise, fit one linear model per task and bootstrap it; returns self.

        ``progress(done, total)`` is called as bootstrap resamples finish (all tasks' together).
        """
        # Many small solves: one BLAS thread each is several times faster than two
        # threads fighting over two shared cores.
        self._progress, self._done = progress, 0
        try:
            with threadpool_limits(limits=1):
                return self._fit(features, labels, speakers, skipped)
        finally:
            for name in ("_progress", "_done", "_total"):  # a fitted analysis holds no callback (pages cache it)
                self.__dict__.pop(name, None)

    def _fit(self, features, labels, speakers, skipped) -> IndicatorAnalysis:
        self._check_options(speakers)
        labels = pd.DataFrame(labels)
        if len(labels) != len(features):
            raise InputError(f"{len(features)} feature rows but {len(labels)} label rows")
        unknown = [c for c in labels.columns if c not in TASKS]
        if unknown:
            raise InputError(f"unknown task '{unknown[0]}' (tasks: {', '.join(TASKS)})")
        self.skipped_ = dict(skipped or {})
        self.skipped_.update({t: "no labels given" for t in TASKS
                              if t not in labels.columns and t not in self.skipped_})
        self.notes_ = []
        check_memory(fit_memory(*features.shape),
                     f"indicators on {features.shape[0]:,} rows x {features.shape[1]} features",
                     "fit a sample of the rows (their ranking is stable well below a million) or fewer features")
        X = self._normalised(features, speakers)
        self.features_ = list(X.columns)
        self.tasks_ = [t for t in TASKS if t in labels.columns]
        self._total = self.bootstrap * len(self.tasks_)  # an upper bound: a task with too few rows is left out
        coefs, self.n_rows_, self.boot_coef_, self.boot_rank_ = {}, {}, {}, {}
        too_few = {}
        for task in self.tasks_:
            y = labels[task].to_numpy(dtype=float)
            rows = np.isfinite(y)
            Xt, yt = X.to_numpy()[rows], y[rows]
            try:
                self._check_rows(task, yt, Xt.shape[1])
            except InputError as exc:
                # A small table (a 28-sentence study) may rank stress but not fit least squares on 88
                # features: show what can be computed and say per task why the rest is not.
                too_few[task] = str(exc).removeprefix(f"{task}: ")
                continue
            self.n_rows_[task] = int(rows.sum())
            if task in CLASSIFICATION_TASKS:
                full = self._fit_logistic(Xt, yt)
                if full[1] >= self.max_iter:
                    self.notes_.append(f"{task}: lbfgs did not converge in {self.max_iter} iterations")
                coefs[task] = full[0][:-1]
            else:
                coefs[task] = _fit_ols(Xt, yt)
            # One seeded stream per task: skipping a task leaves the others' numbers unchanged.
            rng = np.random.default_rng([self.seed, TASKS.index(task)])
            start = full[0] if task in CLASSIFICATION_TASKS else None
            self.boot_coef_[task] = self._bootstrap(task, Xt, yt, rng, start)
            self.boot_rank_[task] = _ranks(self.boot_coef_[task])
        if too_few and len(too_few) == len(self.tasks_):
            task, why = next(iter(too_few.items()))
            raise InputError(f"{task}: {why}")
        self.skipped_.update(too_few)
        self.tasks_ = [t for t in self.tasks_ if t not in too_few]
        self.coef_ = pd.DataFrame(coefs, index=self.features_)
        self.rank_ = self.coef_.apply(lambda c: pd.Series(_ranks(c.to_numpy()[None])[0], index=c.index))
        return self

    # ----- views (no refit: any k up to the number of features)

    def ranking(self, task: str, k: int | None = None) -> pd.DataFrame:
        """Every feature for one task: feature, coefficient, rank, stability, in_top_k (by rank)."""
        k = self._k(k)
        self._check_task(task)
        table = pd.DataFrame({
            "feature": self.features_,
            "coefficient": self.coef_[task].to_numpy(),
            "rank": self.rank_[task].to_numpy(),
            "stability": self.stability(task, k),
        })
        table["in_top_k"] = table["rank"] <= k
        return table.sort_values("rank", kind="stable").reset_index(drop=True)

    def top(self, task: str, k: int | None = None) -> pd.DataFrame:
        """The top k features of one task (paper 3.2): feature, coefficient, rank, stability."""
        k = self._k(k)
        return self.ranking(task, k).head(k).drop(columns="in_top_k")

    def stability(self, task: str, k: int | None = None) -> np.ndarray:
        """Per feature, the share of bootstrap resamples in which it is in the top k (NaN without bootstrap)."""
        k = self._k(k)
        ranks = self.boot_rank_[task]
        if ranks.shape[0] == 0:
            return np.full(len(self.features_), np.nan)
        return (ranks <= k).mean(axis=0)

    def top_sets(self, k: int | None = None) -> dict[str, list[str]]:
        """Task -> its top k features, strongest first."""
        return {t: self.top(t, k)["feature"].tolist() for t in self.tasks_}

    def overlap(self, k: int | None = None) -> pd.DataFrame:
        """Every feature in some task's top k, with one boolean column per fitted task."""
        return overlap_table(self.top_sets(k), self.features_)

    # ----- internals

    def _k(self, k: int | None) -> int:
        k = self.top_k if k is None else int(k)
        if not hasattr(self, "coef_"):
            raise RuntimeError("IndicatorAnalysis: call fit() first")
        if k < 1:
            raise InputError(f"top k must be at least 1 (got {k})")
        return min(k, len(self.features_))

    def _check_task(self, task: str) -> None:
        if task not in self.tasks_:
            raise InputError(f"task '{task}' was not analysed"
                             + (f" ({self.skipped_[task]})" if task in self.skipped_ else ""))

    def _check_options(self, speakers) -> None:
        if self.normalise not in NORMALISATIONS:
            raise InputError(f"unknown normalisation '{self.normalise}' (choose {', '.join(NORMALISATIONS)})")
        if self.normalise == "speaker" and speakers is None:
            raise InputError("per-speaker normalisation needs a speaker column")
        if self.top_k < 1:
            raise InputError(f"top k must be at least 1 (got {self.top_k})")
        if self.bootstrap < 0:
            raise InputError(f"bootstrap count must be 0 or more (got {self.bootstrap})")
        if self.C <= 0:
            raise InputError(f"C must be positive (got {self.C})")

    def _normalised(self, features: pd.DataFrame, speakers) -> pd.DataFrame:
        """z-scores (paper 3.2/3.3); constant columns dropped and listed; missing cells -> 0 (the mean)."""
        raw = features.astype(float).replace([np.inf, -np.inf], np.nan)
        # Squares of values above ~1e154 overflow: such a column is reported, not called constant.
        with np.errstate(over="ignore", invalid="ignore"):
            per_speaker = pd.Series(np.asarray(speakers), index=raw.index) if speakers is not None else None
            small = (per_speaker.map(per_speaker.value_counts()) < MIN_ROWS_PER_SPEAKER).mean() \
                if per_speaker is not None else 0.0
            if self.normalise == "speaker" and small > MAX_SHARE_IN_SMALL_SPEAKERS:
                self.notes_.append(f"{small:.0%} of rows belong to speakers with fewer than {MIN_ROWS_PER_SPEAKER} "
                                   "rows, where per-speaker z-scores are meaningless (a row alone becomes 0): "
                                   "features were z-scored globally instead")
                X = global_zscore(raw)
            elif self.normalise == "speaker":
                X = speaker_zscore(raw, per_speaker)
            else:
                X = global_zscore(raw)
            spread, raw_spread = X.std(ddof=0), raw.std(ddof=0)
        dropped = []
        for col in X.columns:
            if not np.isfinite(raw_spread[col]):
                dropped.append((col, f"overflowed: values up to {raw[col].abs().max():.3g} are too large "
                                     "to z-score in double precision (rescale the column)"))
            elif not spread[col] > CONSTANT_STD:
                reason = ("constant" if not raw_spread[col] > 0
                          else "constant within every speaker")
                dropped.append((col, reason))
        self.dropped_ = pd.DataFrame(dropped, columns=["feature", "reason"])
        X = X.drop(columns=[c for c, _ in dropped])
        if X.shape[1] == 0:
            raise InputError("every feature is constant: nothing to rank")
        missing = int(X.isna().to_numpy().sum())
        if missing:
            # Mean imputation: a missing cell then pulls no coefficient either way.
            self.notes_.append(f"{missing} missing feature values were set to the feature's mean")
            X = X.fillna(0.0)
        return X

    def _check_rows(self, task: str, y: np.ndarray, n_features: int) -> None:
        n = len(y)
        need = MIN_ROWS if task in CLASSIFICATION_TASKS else max(MIN_ROWS, n_features + 2)
        if n < need:
            why = "" if need == MIN_ROWS else f" (least squares on {n_features} features)"
            raise InputError(f"{task}: {n} labelled rows; at least {need} are needed{why}")
        if task in CLASSIFICATION_TASKS:
            counts = np.bincount(y.astype(int), minlength=2)
            if counts.min() < MIN_PER_CLASS:
                raise InputError(f"{task}: {counts[1]} stressed and {counts[0]} not-stressed rows; "
                                 f"each class needs at least {MIN_PER_CLASS}")
        elif np.ptp(y) == 0:
            raise InputError(f"{task}: every labelled row has the same value ({y[0]:g})")

    def _fit_logistic(self, X: np.ndarray, y: np.ndarray, start: np.ndarray | None = None,
                      weights: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """L2 logistic regression with scikit-learn's lbfgs: (coef + intercept, iterations).

        ``start`` (coef + intercept) warm-starts lbfgs, as the bootstrap does from
        the full-data fit: same optimum, a fraction of the iterations.
        ``weights`` count how often each row was drawn: the same objective as
        the drawn rows themselves, without copying them.
        """
        model = LogisticRegression(C=self.C, solver="lbfgs", max_iter=self.max_iter,
                                   warm_start=start is not None)
        if start is not None:
            model.coef_, model.intercept_ = start[None, :-1].copy(), start[-1:].copy()
        with warnings.catch_warnings():
            # Non-convergence is reported once in notes_, not as a warning per resample.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y, sample_weight=weights)
        return np.append(model.coef_[0], model.intercept_[0]), int(model.n_iter_[0])

    def _bootstrap(self, task: str, X: np.ndarray, y: np.ndarray, rng: np.random.Generator,
                   start: np.ndarray | None) -> np.ndarray:
        """Coefficients on ``self.bootstrap`` resamples (rows with replacement; stress within each class).

        A resample is drawn as the number of times each row is in it (integer
        weights), so no resample copies the data (a copy would cost two copies of
        the table per resample). The draws come from ``rng`` in order, in this
        thread, and the fits run on ``workers`` threads: the numbers are the
        same for any number of workers, and the same as fitting the drawn rows.
        """
        n = len(y)
        if task in CLASSIFICATION_TASKS:
            # Resampling within each class keeps the class balance and never yields one class.
            groups = [np.flatnonzero(y == c) for c in (0.0, 1.0)]
            draws = (np.concatenate([rng.choice(g, size=len(g)) for g in groups]) for _ in range(self.bootstrap))
            def fit(weights):
                return self._fit_logistic(X, y, start=start, weights=weights)
        else:
            design = np.column_stack([X, np.ones(n)])     # once, not per resample
            draws = (rng.integers(0, n, size=n) for _ in range(self.bootstrap))
            def fit(weights):
                return _fit_ols_weighted(design, y, weights), 0
        # Threads pay from about 10,000 rows; on a MuSE-sized table their overhead costs more than they
        # save (bench/bootstrap.py: 0.86x at 2,300 rows, 1.4-2.3x at 23,000-100,000 for stress).
        workers = self.workers or ((os.cpu_count() or 1) if n >= PARALLEL_BOOTSTRAP_ROWS else 1)
        results = []
        for result in Parallel(n_jobs=workers, prefer="threads", return_as="generator")(
                delayed(fit)(np.bincount(idx, minlength=n).astype(np.float64)) for idx in draws):
            results.append(result)
            self._done += 1
            if self._progress is not None:
                self._progress(self._done, self._total)
        out = np.array([r[0][:-1] if task in CLASSIFICATION_TASKS else r[0] for r in results]).reshape(
            self.bootstrap, X.shape[1])
        slow = sum(r[1] >= self.max_iter for r in results) if task in CLASSIFICATION_TASKS else 0
        if slow:
            self.notes_.append(f"{task}: lbfgs did not converge on {slow} bootstrap resamples")
        return out


def _fit_ols(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Ordinary least squares coefficients (intercept fitted, not returned), via numpy lstsq."""
    design = np.column_stack([X, np.ones(len(X))])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    return beta[:-1]


PARALLEL_BOOTSTRAP_ROWS = 10_000   # from here the bootstrap fits resamples on every core (workers=0)
_GRAM_ROWS = 16_384   # rows per block of the weighted normal equations: bounds the temporary to ~12 MB


def _fit_ols_weighted(design: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """OLS on rows drawn ``weights`` times each, via the weighted normal equations (Cholesky).

    ``design`` holds the features and a column of ones. The same solution as
    :func:`_fit_ols` on the drawn rows (sums in another order: equal within
    float64 rounding); a singular resample falls back to lstsq on the
    drawn rows themselves.
    """
    gram = np.zeros((design.shape[1], design.shape[1]))
    for start in range(0, len(design), _GRAM_ROWS):
        block, w = design[start:start + _GRAM_ROWS], weights[start:start + _GRAM_ROWS]
        gram += block.T @ (block * w[:, None])
    try:
        factor = scipy.linalg.cho_factor(gram)
        return scipy.linalg.cho_solve(factor, design.T @ (weights * y))[:-1]
    except np.linalg.LinAlgError:
        rows = np.repeat(np.arange(len(y)), weights.astype(np.int64))
        return _fit_ols(design[rows, :-1], y[rows])


def _ranks(coefs: np.ndarray) -> np.ndarray:
    """Rank of each column by absolute value per row, 1 = largest (ties: earlier column first)."""
    order = np.argsort(-np.abs(coefs), axis=1, kind="stable")
    ranks = np.empty_like(order, dtype=np.int32)
    np.put_along_axis(ranks, order, np.arange(1, coefs.shape[1] + 1, dtype=np.int32)[None, :], axis=1)
    return ranks


# --------------------------------------------------------------------------- paper tables


def shared_indicators(tops: Mapping[str, Sequence[str]]) -> list[str]:
    """Features in the top k of every task (paper Table 1), by mean rank across tasks."""
    if not tops:
        return []
    common = set.intersection(*(set(v) for v in tops.values()))
    return sorted(common, key=lambda f: (np.mean([list(v).index(f) for v in tops.values()]), f))


def unique_indicators(tops: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Per task, features in its top k and no other task's (paper Table 2), strongest first."""
    return {task: [f for f in feats if not any(f in other for t, other in tops.items() if t != task)]
            for task, feats in tops.items()}


def unique_counts(tops_by_modality: Mapping[str, Mapping[str, Sequence[str]]]) -> pd.DataFrame:
    """Number of unique indicators per task (columns) and modality (rows): paper Table 4."""
    rows = {modality: {t: len(v) for t, v in unique_indicators(tops).items()}
            for modality, tops in tops_by_modality.items()}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table = table[[t for t in TASKS if t in table.columns]]
    table.index.name = "feature set"
    return table.astype("Int64")


def jaccard(tops: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Pairwise Jaccard overlap |A & B| / |A | B| of the tasks' top-k sets."""
    rows = []
    for a, b in combinations(tops, 2):
        sa, sb = set(tops[a]), set(tops[b])
        union = sa | sb
        rows.append({"task_a": a, "task_b": b, "shared": len(sa & sb), "union": len(union),
                     "jaccard": len(sa & sb) / len(union) if union else float("nan")})
    return pd.DataFrame(rows, columns=["task_a", "task_b", "shared", "union", "jaccard"])


def overlap_table(tops: Mapping[str, Sequence[str]], order: Sequence[str] | None = None) -> pd.DataFrame:
    """Every feature in at least one top-k set, with a boolean column per task."""
    members = set().union(*(set(v) for v in tops.values())) if tops else set()
    features = [f for f in (order or sorted(members)) if f in members]
    table = pd.DataFrame({"feature": features})
    for task, feats in tops.items():
        table[task] = table["feature"].isin(set(feats))
    return table


def intersections(tops: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """UpSet-style exclusive intersections: which tasks, how many features, which ones."""
    overlap = overlap_table(tops)
    tasks = list(tops)
    if overlap.empty:
        return pd.DataFrame(columns=["tasks", "size", "features"])
    key = overlap[tasks].apply(lambda r: " & ".join(t for t in tasks if r[t]), axis=1)
    rows = [{"tasks": k, "degree": k.count("&") + 1, "size": len(g), "features": ", ".join(g["feature"])}
            for k, g in overlap.groupby(key, sort=False)]
    table = pd.DataFrame(rows).sort_values(["degree", "size"], ascending=[False, False])
    return table.drop(columns="degree").reset_index(drop=True)


Annotator = Callable[[str], Mapping[str, str]]


def shared_table(analysis: IndicatorAnalysis, k: int | None = None,
                 annotate: Annotator | None = None) -> pd.DataFrame:
    """Paper Table 1 layout: features in all three top-k sets, rank and stability per task, details."""
    tops = analysis.top_sets(k)
    rows = []
    for feature in shared_indicators(tops):
        row = {"feature": feature}
        for task in analysis.tasks_:
            row[f"{task}_rank"] = int(analysis.rank_.at[feature, task])
            row[f"{task}_stability"] = _stability_of(analysis, task, feature, k)
        rows.append(row | dict(annotate(feature) if annotate else {}))
    fixed = ["feature"] + [f"{t}_{c}" for t in analysis.tasks_ for c in ("rank", "stability")]
    return pd.DataFrame(rows, columns=_columns(rows, fixed))


def unique_table(analysis: IndicatorAnalysis, k: int | None = None,
                 annotate: Annotator | None = None) -> pd.DataFrame:
    """Paper Table 2 layout: per task, the features in its top k only, with rank, sign and stability."""
    rows = []
    for task, feats in unique_indicators(analysis.top_sets(k)).items():
        for feature in feats:
            coef = float(analysis.coef_.at[feature, task])
            rows.append({"task": task, "feature": feature, "rank": int(analysis.rank_.at[feature, task]),
                         "coefficient": coef, "stability": _stability_of(analysis, task, feature, k)}
                        | dict(annotate(feature) if annotate else {}))
    return pd.DataFrame(rows, columns=_columns(rows, ["task", "feature", "rank", "coefficient", "stability"]))


def acoustic_group_table(analysis: IndicatorAnalysis, k: int | None = None) -> pd.DataFrame:
    """Paper Table 3 layout: shared and task-only acoustic indicators, grouped by eGeMAPS parameter.

    One row per (section, parameter class): section is "All" or "Only in <task>";
    the features column lists the members in plain words, strongest first.
    Features that are not eGeMAPS names are grouped as "other".
    """
    tops = analysis.top_sets(k)
    sections = [("All", shared_indicators(tops))]
    sections += [(f"Only in {t}", v) for t, v in unique_indicators(tops).items()]
    rows = []
    for section, feats in sections:
        seen: dict[tuple[str, str], list[str]] = {}
        for f in feats:
            info = _egemaps_info(f)
            seen.setdefault((info["parameter"], info["group"]), []).append(info["description"])
        rows += [{"section": section, "parameter": p, "group": g, "count": len(d), "features": "; ".join(d)}
                 for (p, g), d in seen.items()]
    return pd.DataFrame(rows, columns=["section", "parameter", "group", "count", "features"])


def egemaps_annotation(feature: str) -> dict[str, str]:
    """Group, parameter and description of an eGeMAPS feature (for tables and hover text)."""
    info = _egemaps_info(feature)
    return {"group": info["group"], "parameter": info["parameter"], "description": info["description"]}


def lexicon_annotation(lexicon=None, n: int = 3) -> Annotator:
    """An annotator giving a text category's example words from the lexicon (paper Table 1's 'Examples')."""
    if lexicon is None:
        lexicon = default_lexicon()
    categories = set(lexicon.categories)

    def annotate(feature: str) -> dict[str, str]:
        words = lexicon.example_words(feature, n) if feature in categories else []
        return {"examples": ", ".join(words)}
    return annotate


def _egemaps_info(feature: str) -> dict[str, str]:
    try:
        return vars(egemaps_groups.describe(feature))
    except KeyError:
        return {"group": "other", "parameter": feature, "description": feature}


def _stability_of(analysis: IndicatorAnalysis, task: str, feature: str, k: int | None) -> float:
    return float(analysis.stability(task, k)[analysis.features_.index(feature)])


def _columns(rows: list[dict], first: list[str]) -> list[str]:
    extra = [c for r in rows for c in r if c not in first]
    return first + list(dict.fromkeys(extra))


# --------------------------------------------------------------------------- report


def modality_of(features: Sequence[str]) -> str:
    """'acoustic' when every feature is an eGeMAPS functional, else 'text'."""
    return "acoustic" if features and all(egemaps_groups.is_egemaps(f) for f in features) else "text"


def annotator_for(modality: str) -> Annotator | None:
    """eGeMAPS descriptions for acoustic features; lexicon example words for text (None if no lexicon)."""
    if modality == "acoustic":
        return egemaps_annotation
    try:
        return lexicon_annotation()
    except (ImportError, InputError, OSError):
        return None


def summary_markdown(analysis: IndicatorAnalysis, k: int | None = None, modality: str = "text",
                     source: str = "features") -> str:
    """The paper-layout tables (Tables 1-4), Jaccard overlaps and notes as Markdown."""
    k = analysis._k(k)
    annotate = annotator_for(modality)
    tops = analysis.top_sets(k)
    out = [f"# Indicator analysis of {source}", "",
           f"Top {k} features per task by absolute coefficient on z-scored features "
           f"(normalisation: {analysis.normalise}); stress: logistic regression (L2, C={analysis.C:g}), "
           f"activation and valence: ordinary least squares (MUSER paper, section 3). "
           f"Stability: share of {analysis.bootstrap} bootstrap resamples (seed {analysis.seed}) "
           "in which the feature is in the top k.", ""]
    out += [f"- {t}: {analysis.n_rows_[t]} labelled rows" for t in analysis.tasks_]
    out += [f"- {t}: skipped ({why})" for t, why in analysis.skipped_.items()]
    out += [f"- note: {n}" for n in analysis.notes_]
    if len(analysis.dropped_):
        out.append("- dropped features: " + ", ".join(f"{r.feature} ({r.reason})"
                                                      for r in analysis.dropped_.itertuples()))
    out += ["", f"## Table 1: features in the top {k} of all tasks", ""]
    out += [_markdown(shared_table(analysis, k, annotate)) if len(analysis.tasks_) > 1
            else "(needs at least two tasks)"]
    out += ["", f"## Table 2: features in the top {k} of one task only", "",
            _markdown(unique_table(analysis, k, annotate))]
    if modality == "acoustic":
        out += ["", "## Table 3: acoustic indicators by eGeMAPS group", "",
                _markdown(acoustic_group_table(analysis, k))]
    label = "eGeMAPS" if modality == "acoustic" else "text categories"
    out += ["", "## Table 4: number of unique indicators", "",
            _markdown(unique_counts({label: tops}).reset_index()),
            "", "## Jaccard overlap of the top-k sets", "", _markdown(jaccard(tops))]
    for task in analysis.tasks_:
        out += ["", f"## Top {k}: {task}", "", _markdown(analysis.top(task, k))]
    return "\n".join(out) + "\n"


def _markdown(table: pd.DataFrame) -> str:
    """A GitHub-style Markdown table (no optional 'tabulate' dependency)."""
    if table.empty:
        return "(none)"

    def cell(v) -> str:
        if isinstance(v, float | np.floating):
            return "" if np.isnan(v) else f"{v:.3g}"
        return str(v).replace("|", "\\|")
    lines = ["| " + " | ".join(map(str, table.columns)) + " |",
             "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def write_report(analysis: IndicatorAnalysis, out: str | Path, k: int | None = None,
                 modality: str = "text", source: str = "features") -> list[Path]:
    """Write top_<task>.csv, overlap.csv, summary.md and config.json into ``out``; returns the paths."""
    out = check_report_folder(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        return _write_report(analysis, out, k, modality, source)
    except OSError as exc:
        raise InputError(f"{out}: cannot write the report ({exc.strerror})") from None


def check_report_folder(out: str | Path) -> Path:
    """``out`` as a Path, or one InputError when it is a file (the report is a folder of files)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: is a file; --out is the folder the report goes into")
    return out


def _write_report(analysis: IndicatorAnalysis, out: Path, k: int | None, modality: str,
                  source: str) -> list[Path]:
    """Each table of the report, written whole or not at all, its text cells safe for a spreadsheet."""
    tables = {f"top_{task}.csv": analysis.top(task, k) for task in analysis.tasks_}
    tables["overlap.csv"] = analysis.overlap(k)
    for name, table in tables.items():
        write_csv(out / name, spreadsheet_safe(table), index=False)
    config = {k_: v for k_, v in asdict(analysis).items()} | {
        "top_k": analysis._k(k), "modality": modality, "source": source,
        "tasks": analysis.tasks_, "skipped": analysis.skipped_}
    atomic_write_text(out / "summary.md", summary_markdown(analysis, k, modality, source))
    atomic_write_text(out / "config.json", json.dumps(config, indent=2))
    return [out / name for name in [*tables, "summary.md", "config.json"]]


# --------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``muser indicators``: a feature table in, the report's CSV files and summary.md out."""
    parser.add_argument("--features", required=True, help="CSV: one row per utterance, feature + label columns")
    parser.add_argument("--stress-col", help="stress label column (two values) (default: stress, skipped when the table has none; "
                                             "a column named here must exist)")
    parser.add_argument("--activation-col", help="activation score column (default: activation, skipped when the table has none; "
                                                 "a column named here must exist)")
    parser.add_argument("--valence-col", help="valence score column (default: valence, skipped when the table has none; "
                                              "a column named here must exist)")
    parser.add_argument("--speaker-col", default=None,
                        help="speaker column; given, features are z-scored per speaker (paper 3.3)")
    parser.add_argument("--normalise", choices=NORMALISATIONS, default=None,
                        help="z-score per speaker or over all rows (default: speaker if --speaker-col)")
    parser.add_argument("--ignore-cols", default="", help="comma-separated columns that are not features")
    parser.add_argument("--top", type=int, default=20, help="top k features per task (paper: 20)")
    parser.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples for stability")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--modality", choices=("auto", "text", "acoustic"), default="auto",
                        help="how to annotate features (auto: acoustic if all are eGeMAPS names)")
    parser.add_argument("--out", required=True, help="folder for the CSV files and summary.md")


def run(args: argparse.Namespace) -> int:
    check_report_folder(args.out)  # before the fit, not after it
    table = read_feature_csv(args.features, max_bytes=None)
    named = {flag: col for flag, col in (("--stress-col", args.stress_col), ("--activation-col", args.activation_col),
                                         ("--valence-col", args.valence_col), ("--speaker-col", args.speaker_col))
             if col is not None}
    for flag, col in named.items():  # a column asked for by name and absent is a mistake, not a skipped task
        if col not in table.columns:
            raise InputError(f"{flag} {col}: no such column in {args.features} (its columns: "
                             f"{', '.join(map(str, table.columns[:30]))}{', ...' if len(table.columns) > 30 else ''})")
    args.stress_col = args.stress_col or "stress"
    args.activation_col = args.activation_col or "activation"
    args.valence_col = args.valence_col or "valence"
    labels = {args.stress_col, args.activation_col, args.valence_col, args.speaker_col}
    identifiers = [c for c in default_non_features(table) if c not in labels]
    ignore = [c.strip() for c in args.ignore_cols.split(",") if c.strip()] + identifiers
    data = split_columns(table, args.stress_col, args.activation_col, args.valence_col,
                         args.speaker_col, ignore=ignore, source=args.features)
    normalise = args.normalise or ("speaker" if args.speaker_col else "global")
    analysis = IndicatorAnalysis(top_k=args.top, bootstrap=args.bootstrap, seed=args.seed,
                                 normalise=normalise)
    analysis.fit(data.features, data.labels, data.speakers, skipped=data.skipped)
    modality = modality_of(analysis.features_) if args.modality == "auto" else args.modality
    written = write_report(analysis, args.out, modality=modality, source=Path(args.features).name)
    meta = {c.lower() for c in LIWC_META_COLUMNS}
    shown = [c for c in identifiers if c not in NON_FEATURE_COLUMNS and str(c).lower() not in meta]
    if shown:
        print(f"not features (no numbers in them): {', '.join(map(str, shown))}")
    summaries = [c for c in identifiers if str(c).lower() in meta]
    if summaries:
        print(f"LIWC summary columns left out (the paper ranks word categories only): "
              f"{', '.join(map(str, summaries))}")
    for task, why in analysis.skipped_.items():
        print(f"skipped {task}: {why}")
    for reason, group in analysis.dropped_.groupby("reason", sort=False):
        print(f"dropped {len(group)} features ({reason}): {', '.join(group['feature'])}")
    print(f"wrote {', '.join(p.name for p in written)} to {args.out}")
    return 0

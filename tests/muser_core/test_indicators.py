"""Indicator analysis (MUSER section 3): method against independent computations, tables, CLI, bad input."""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.optimize
from sklearn.linear_model import LogisticRegression

from muser_core.base.errors import InputError
from muser_core.cli import run_command
from muser_core.features import egemaps_groups
from muser_core.features.acoustic import EGEMAPS_FEATURES
from muser_core.indicators import (
    TASKS,
    IndicatorAnalysis,
    _fit_ols,
    _fit_ols_weighted,
    _ranks,
    acoustic_group_table,
    default_non_features,
    intersections,
    jaccard,
    modality_of,
    read_feature_csv,
    shared_indicators,
    shared_table,
    split_columns,
    summary_markdown,
    unique_counts,
    unique_indicators,
    unique_table,
)

main = run_command("indicators")

REPO = Path(__file__).resolve().parents[2]
N_FEATURES = 12
# Planted structure: which features drive which task, and how strongly.
PLANTED = {"stress": {"f0": 2.0, "f1": -1.5}, "activation": {"f0": 1.5, "f2": 1.0},
           "valence": {"f3": -1.2, "f4": 0.9}}


def planted_table(n: int = 600, seed: int = 0, speakers: int = 6) -> pd.DataFrame:
    """Independent noise features; each task depends on its planted features only."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N_FEATURES))
    table = pd.DataFrame(X, columns=[f"f{i}" for i in range(N_FEATURES)])
    # Each speaker has its own offset and scale: per-speaker z-scores must undo it.
    spk = np.arange(n) % speakers
    table["speaker"] = [f"s{s}" for s in spk]

    def signal(task):
        return sum(w * X[:, int(f[1:])] for f, w in PLANTED[task].items())
    table["stress"] = (signal("stress") + 0.5 * rng.standard_normal(n) > 0).astype(float)
    table["activation"] = 5 + signal("activation") + 0.3 * rng.standard_normal(n)
    table["valence"] = 5 + signal("valence") + 0.3 * rng.standard_normal(n)
    return table


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return planted_table()


@pytest.fixture(scope="module")
def fitted(table) -> IndicatorAnalysis:
    data = split_columns(table, speaker_col="speaker")
    return IndicatorAnalysis(top_k=2, bootstrap=100, seed=0).fit(data.features, data.labels, data.speakers)


def zscore(X: np.ndarray) -> np.ndarray:
    return (X - X.mean(axis=0)) / X.std(axis=0)


# --------------------------------------------------------------------------- method


def test_planted_indicators_come_out_on_top(fitted):
    for task, planted in PLANTED.items():
        assert set(fitted.top(task, 2)["feature"]) == set(planted), task
        # ...strongest first, with the planted sign.
        top = fitted.top(task, 2).set_index("feature")["coefficient"]
        assert all(np.sign(top[f]) == np.sign(w) for f, w in planted.items())


def test_planted_indicators_are_stable_and_noise_is_not(fitted):
    for task, planted in PLANTED.items():
        ranking = fitted.ranking(task, 2).set_index("feature")
        assert (ranking.loc[list(planted), "stability"] >= 0.99).all(), task
        noise = ranking.drop(index=list(planted))["stability"]
        assert noise.max() < 0.3, task


def test_ols_coefficients_match_normal_equations(table, fitted):
    X = zscore(table[[f"f{i}" for i in range(N_FEATURES)]].to_numpy())
    design = np.column_stack([X, np.ones(len(X))])
    for task in ("activation", "valence"):
        y = table[task].to_numpy()
        beta = np.linalg.solve(design.T @ design, design.T @ y)[:-1]
        np.testing.assert_allclose(fitted.coef_[task].to_numpy(), beta, rtol=1e-8, atol=1e-10)


def test_logistic_coefficients_match_a_direct_minimisation(table, fitted):
    """scikit-learn minimises C * sum(log-loss) + ||w||^2 / 2 with the intercept unpenalised."""
    X = zscore(table[[f"f{i}" for i in range(N_FEATURES)]].to_numpy())
    y = table["stress"].to_numpy()

    def objective(theta):
        z = X @ theta[:-1] + theta[-1]
        return np.sum(np.logaddexp(0, z) - y * z) + 0.5 * theta[:-1] @ theta[:-1]
    theta = scipy.optimize.minimize(objective, np.zeros(N_FEATURES + 1), method="BFGS",
                                    options={"gtol": 1e-8}).x
    np.testing.assert_allclose(fitted.coef_["stress"].to_numpy(), theta[:-1], atol=2e-3)


def test_speaker_normalisation_matches_a_direct_fit():
    table = planted_table(seed=3)
    feats = [f"f{i}" for i in range(N_FEATURES)]
    # Make speakers differ in level and scale, as voices do.
    offsets = table["speaker"].str[1:].astype(int).to_numpy()[:, None]
    table[feats] = table[feats] * (1 + offsets) + 10 * offsets
    by_speaker = table.groupby("speaker")[feats]
    X = ((table[feats] - by_speaker.transform("mean")) / by_speaker.transform(lambda c: c.std(ddof=0))).to_numpy()
    data = split_columns(table, speaker_col="speaker")
    fitted = IndicatorAnalysis(normalise="speaker", bootstrap=0).fit(data.features, data.labels, data.speakers)
    reference = LogisticRegression(C=1.0, max_iter=5000, tol=1e-10).fit(X, table["stress"])
    np.testing.assert_allclose(fitted.coef_["stress"].to_numpy(), reference.coef_[0], atol=1e-3)
    ols = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), table["valence"], rcond=None)[0][:-1]
    np.testing.assert_allclose(fitted.coef_["valence"].to_numpy(), ols, rtol=1e-8)
    assert set(fitted.top("valence", 2)["feature"]) == set(PLANTED["valence"])


def test_stability_is_recomputed_for_any_k_without_refitting(fitted):
    for k in (1, 2, 5):
        boot = fitted.boot_coef_["activation"]
        ranks = (-np.abs(boot)).argsort(axis=1).argsort(axis=1) + 1
        np.testing.assert_allclose(fitted.stability("activation", k), (ranks <= k).mean(axis=0))
    assert len(fitted.top("stress", 5)) == 5 and fitted.top("stress", 99).shape[0] == N_FEATURES


def test_bootstrap_is_seeded_and_per_task(table):
    data = split_columns(table)
    a = IndicatorAnalysis(bootstrap=20, seed=1).fit(data.features, data.labels)
    b = IndicatorAnalysis(bootstrap=20, seed=1).fit(data.features, data.labels)
    c = IndicatorAnalysis(bootstrap=20, seed=2).fit(data.features, data.labels)
    only = IndicatorAnalysis(bootstrap=20, seed=1).fit(data.features, data.labels[["valence"]])
    np.testing.assert_array_equal(a.boot_coef_["stress"], b.boot_coef_["stress"])
    assert not np.allclose(a.boot_coef_["valence"], c.boot_coef_["valence"])
    np.testing.assert_array_equal(a.boot_coef_["valence"], only.boot_coef_["valence"])
    assert only.tasks_ == ["valence"] and "stress" in only.skipped_


def test_weighted_bootstrap_ols_equals_lstsq_on_the_drawn_rows():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((200, 10)), rng.standard_normal(200)
    idx = rng.integers(0, 200, 200)
    weights = np.bincount(idx, minlength=200).astype(float)
    design = np.column_stack([X, np.ones(200)])
    np.testing.assert_allclose(_fit_ols_weighted(design, y, weights), _fit_ols(X[idx], y[idx]), rtol=1e-8)
    X[:, 1] = X[:, 0]  # singular: falls back to lstsq's minimum-norm answer on the drawn rows
    design = np.column_stack([X, np.ones(200)])
    np.testing.assert_allclose(_fit_ols_weighted(design, y, weights), _fit_ols(X[idx], y[idx]), rtol=1e-6)


def test_the_bootstrap_without_copies_equals_fitting_the_drawn_rows_for_any_number_of_workers(table):
    """Row weights give the same numbers (and ranks) as copying each resample's rows, on the same seed."""
    data = split_columns(table)
    one = IndicatorAnalysis(bootstrap=12, seed=3, workers=1).fit(data.features, data.labels)
    two = IndicatorAnalysis(bootstrap=12, seed=3, workers=2).fit(data.features, data.labels)
    for task in one.tasks_:
        np.testing.assert_array_equal(one.boot_coef_[task], two.boot_coef_[task])
    # The reference: the naive procedure, drawing the same rows from the same stream and copying them.
    X = one._normalised(data.features, None).to_numpy()
    for task in one.tasks_:
        rng = np.random.default_rng([3, TASKS.index(task)])
        y = data.labels[task].to_numpy(float)
        reference = []
        for _ in range(12):
            if task == "stress":
                idx = np.concatenate([rng.choice(np.flatnonzero(y == c), size=int((y == c).sum())) for c in (0, 1)])
                start = one._fit_logistic(X, y)[0]
                reference.append(one._fit_logistic(X[idx], y[idx], start=start)[0][:-1])
            else:
                idx = rng.integers(0, len(y), size=len(y))
                reference.append(_fit_ols(X[idx], y[idx]))
        np.testing.assert_allclose(one.boot_coef_[task], np.array(reference), rtol=1e-7, atol=1e-9)
        np.testing.assert_array_equal(one.boot_rank_[task], _ranks(np.array(reference)))


def test_constant_features_are_dropped_and_listed(table):
    data = split_columns(table, speaker_col="speaker")
    features = data.features.assign(flat=3.0, per_speaker=data.speakers.str[1:].astype(float))
    fitted = IndicatorAnalysis(normalise="speaker", bootstrap=0).fit(features, data.labels, data.speakers)
    assert dict(zip(fitted.dropped_["feature"], fitted.dropped_["reason"], strict=True)) == {
        "flat": "constant", "per_speaker": "constant within every speaker"}
    assert "flat" not in fitted.features_ and "flat" not in fitted.coef_.index
    assert np.isnan(fitted.stability("stress")).all()  # no bootstrap, no stability


@pytest.mark.parametrize("normalise", ["global", "speaker"])
def test_a_feature_too_large_to_z_score_is_said_to_overflow(table, normalise):
    data = split_columns(table, speaker_col="speaker")
    features = data.features.assign(huge=data.features["f5"] * 1e300)
    fitted = IndicatorAnalysis(normalise=normalise, bootstrap=0).fit(features, data.labels, data.speakers)
    reasons = dict(zip(fitted.dropped_["feature"], fitted.dropped_["reason"], strict=True))
    assert list(reasons) == ["huge"] and reasons["huge"].startswith("overflowed: values up to ")
    assert "constant" not in reasons["huge"]


def test_stress_as_words_a_manifest_accepts(table):
    words = table.assign(stress=table["stress"].map({1.0: "Stressed", 0.0: " not stressed"}))
    words.loc[3, "stress"] = np.nan
    expected = table["stress"].where(table.index != 3)
    pd.testing.assert_series_equal(split_columns(words).labels["stress"], expected, check_names=False)
    words.loc[5, "stress"] = "maybe"
    with pytest.raises(InputError, match=r"^table, line 7, column 'stress': not a stress label \('maybe'"):
        split_columns(words)


def test_liwc_summary_columns_are_not_features_by_default(table):
    liwc = table.assign(Filename="a.txt", Segment=1, WC=np.arange(len(table)), Analytic=50.0, Tone=1.0)
    assert default_non_features(liwc) == ["speaker", "Filename", "Segment", "WC", "Analytic", "Tone"]


def test_missing_feature_cells_are_imputed_and_noted(table):
    data = split_columns(table)
    features = data.features.copy()
    features.iloc[:5, 3] = np.nan
    fitted = IndicatorAnalysis(bootstrap=0).fit(features, data.labels)
    assert fitted.notes_ == ["5 missing feature values were set to the feature's mean"]


def test_rows_with_a_missing_label_leave_only_that_task(table):
    t = table.copy()
    t.loc[:99, "valence"] = np.nan
    data = split_columns(t)
    fitted = IndicatorAnalysis(bootstrap=0).fit(data.features, data.labels)
    assert fitted.n_rows_ == {"stress": 600, "activation": 600, "valence": 500}


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.assign(stress=1.0), "table, column 'stress': only one class (1); stress needs stressed"),
    (lambda t: t.assign(stress=t.index % 3), "table, column 'stress': 3 distinct values"),
    (lambda t: t.assign(stress=np.nan, activation=np.nan, valence=np.nan),
     "table: none of the label columns (stress, activation, valence) is present with values"),
    (lambda t: t.assign(f5=np.nan), "table, column 'f5': no values (every row is missing)"),
    (lambda t: t.assign(f2=["x"] + list(t.f2[1:])), "table, line 2, column 'f2': not a number ('x')"),
    (lambda t: t.drop(columns=["stress", "activation", "valence"]), "table: none of the label columns"),
    (lambda t: t.head(15), "stress: 15 labelled rows; at least 20 are needed"),
])
def test_bad_input_raises_one_clear_line(table, change, message):
    with pytest.raises(InputError) as caught:
        data = split_columns(change(table), speaker_col="speaker")
        IndicatorAnalysis(bootstrap=0).fit(data.features, data.labels, data.speakers)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_a_task_without_labels_is_skipped_with_a_note_and_the_others_are_ranked(table):
    """EmoBank has no stress, Dreaddit no emotion, text_features copies the empty columns."""
    data = split_columns(table.assign(stress=np.nan), speaker_col="speaker")
    assert data.skipped == {"stress": "no stress labels in table (column 'stress' is empty)"}
    fitted = IndicatorAnalysis(bootstrap=0).fit(data.features, data.labels, data.speakers, data.skipped)
    assert fitted.tasks_ == ["activation", "valence"] and "stress" in fitted.skipped_
    alone = split_columns(table.drop(columns=["stress"]), speaker_col="speaker")
    expected = IndicatorAnalysis(bootstrap=0).fit(alone.features, alone.labels, alone.speakers)
    pd.testing.assert_frame_equal(fitted.coef_, expected.coef_)


def test_a_small_table_ranks_what_it_can_and_says_why_not_the_rest(table):
    """28 sentences rank stress (logistic regression) but cannot fit least squares on many features."""
    small = table.head(30)
    wide = pd.concat([small] + [small[["f1", "f2"]].add_suffix(f"_{i}") + i for i in range(15)], axis=1)
    data = split_columns(wide, speaker_col="speaker")
    fitted = IndicatorAnalysis(bootstrap=0).fit(data.features, data.labels, data.speakers)
    assert fitted.tasks_ == ["stress"]
    assert fitted.skipped_["activation"].startswith("30 labelled rows; at least")
    unbalanced = split_columns(table.assign(stress=(table.index < 3).astype(float)))
    fitted = IndicatorAnalysis(bootstrap=0).fit(unbalanced.features, unbalanced.labels)
    assert fitted.tasks_ == ["activation", "valence"]
    assert fitted.skipped_["stress"].startswith("3 stressed and 597 not-stressed rows")


def test_least_squares_needs_more_rows_than_features(table):
    data = split_columns(table.head(40).drop(columns=["stress"]))
    wide = pd.concat([data.features] + [data.features.add_suffix(f"_{i}") + i for i in range(3)], axis=1)
    with pytest.raises(InputError, match=r"activation: 40 labelled rows; at least 50 are needed \(least squares"):
        IndicatorAnalysis(bootstrap=0).fit(wide, data.labels)


def test_options_are_checked(table):
    data = split_columns(table)
    with pytest.raises(InputError, match="per-speaker normalisation needs a speaker column"):
        IndicatorAnalysis(normalise="speaker").fit(data.features, data.labels)
    with pytest.raises(InputError, match="unknown normalisation 'zscore'"):
        IndicatorAnalysis(normalise="zscore").fit(data.features, data.labels)


def test_upload_over_the_cap_and_unreadable_files(tmp_path):
    with pytest.raises(InputError, match=r"big.csv: 2.0 MB is over the 1 MB limit"):
        read_feature_csv(b"a,b\n" + b"1,2\n" * (2**19), name="big.csv", max_bytes=2**20)
    with pytest.raises(InputError, match="nothing.csv: not a readable CSV"):
        read_feature_csv(b"", name="nothing.csv")
    with pytest.raises(InputError, match="file not found"):
        read_feature_csv(tmp_path / "absent.csv")


# --------------------------------------------------------------------------- paper tables


TOPS = {"stress": ["a", "b", "c", "d"], "activation": ["b", "a", "e", "f"], "valence": ["a", "g", "b", "h"]}


def test_shared_unique_counts_and_jaccard():
    assert shared_indicators(TOPS) == ["a", "b"]  # mean position 0.33 vs 1.33
    assert unique_indicators(TOPS) == {"stress": ["c", "d"], "activation": ["e", "f"], "valence": ["g", "h"]}
    counts = unique_counts({"LIWC": TOPS, "eGeMAPS": {**TOPS, "valence": ["a"]}})
    assert counts.loc["LIWC"].tolist() == [2, 2, 2] and counts.loc["eGeMAPS"].tolist() == [2, 2, 0]
    table = jaccard(TOPS).set_index(["task_a", "task_b"])
    assert table.loc[("stress", "activation"), "jaccard"] == pytest.approx(2 / 6)
    sets = intersections(TOPS).set_index("tasks")
    assert sets.loc["stress & activation & valence", "size"] == 2
    assert sets.loc["stress", "features"] == "c, d"


def test_paper_layout_tables(fitted):
    assert shared_table(fitted, 2).columns.tolist() == [
        "feature", "stress_rank", "stress_stability", "activation_rank", "activation_stability",
        "valence_rank", "valence_stability"]  # no feature in all three top-2 sets: empty, same columns
    shared = shared_table(fitted, N_FEATURES, annotate=lambda f: {"examples": f"words of {f}"})
    assert len(shared) == N_FEATURES and shared["examples"][0] == f"words of {shared['feature'][0]}"
    mean_rank = shared[["stress_rank", "activation_rank", "valence_rank"]].mean(axis=1)
    assert mean_rank.is_monotonic_increasing  # paper Table 1 order: strongest overall first
    unique = unique_table(fitted, 2)
    assert set(unique["task"]) == {"stress", "valence", "activation"}
    assert set(unique.query("task == 'valence'")["feature"]) == {"f3", "f4"}


def test_every_egemaps_name_has_a_group_and_description():
    table = egemaps_groups.feature_table(EGEMAPS_FEATURES)
    assert len(table) == 88 and set(table["group"]) == set(egemaps_groups.GROUPS)
    assert table["description"].str.len().min() > 10 and table["description"].is_unique
    assert egemaps_groups.describe("slopeUV500-1500_sma3nz_amean").description == \
        "mean spectral slope 500-1500 Hz, unvoiced frames"
    assert egemaps_groups.describe("MeanVoicedSegmentLengthSec").group == "temporal"
    with pytest.raises(KeyError):
        egemaps_groups.describe("posemo")
    assert modality_of(EGEMAPS_FEATURES) == "acoustic" and modality_of(["posemo"]) == "text"


def test_acoustic_table_groups_by_parameter():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.standard_normal((300, 88)), columns=EGEMAPS_FEATURES)
    labels = pd.DataFrame({"stress": (X.iloc[:, 10] > 0).astype(float), "activation": X.iloc[:, 10] + X.iloc[:, 34],
                           "valence": X.iloc[:, 10] + X.iloc[:, 0]})
    fitted = IndicatorAnalysis(top_k=2, bootstrap=0).fit(X, labels)
    table = acoustic_group_table(fitted, 2).set_index(["section", "parameter"])
    assert table.loc[("All", "Loudness"), "group"] == "energy/amplitude"
    assert table.loc[("Only in activation", "HNR"), "features"].startswith("mean HNR")
    assert table.loc[("Only in valence", "Pitch"), "group"] == "frequency"
    assert "## Table 3" in summary_markdown(fitted, 2, modality="acoustic")


# --------------------------------------------------------------------------- command line


def test_cli_writes_the_five_files(tmp_path, table):
    path = tmp_path / "features.csv"
    table.to_csv(path, index=False)
    out = tmp_path / "out"
    assert main(["--features", str(path), "--speaker-col", "speaker", "--top", "2",
                 "--bootstrap", "20", "--out", str(out)]) == 0
    for name in ("top_stress.csv", "top_activation.csv", "top_valence.csv", "overlap.csv", "summary.md"):
        assert (out / name).is_file(), name
    top = pd.read_csv(out / "top_valence.csv")
    assert top.columns.tolist() == ["feature", "coefficient", "rank", "stability"]
    assert set(top["feature"]) == {"f3", "f4"}
    overlap = pd.read_csv(out / "overlap.csv")
    assert overlap.columns.tolist() == ["feature", "stress", "activation", "valence"]
    assert overlap.set_index("feature").loc["f0"].tolist() == [True, True, False]
    summary = (out / "summary.md").read_text()
    assert "## Table 1" in summary and "## Table 4" in summary and "| f0 |" in summary


def test_cli_skips_a_missing_label_column(tmp_path, table, capsys):
    path = tmp_path / "features.csv"
    table.drop(columns=["valence"]).to_csv(path, index=False)
    assert main(["--features", str(path), "--ignore-cols", "speaker", "--bootstrap", "5",
                 "--out", str(tmp_path / "out")]) == 0
    assert f"skipped valence: no column 'valence' in {path}" in capsys.readouterr().out
    assert not (tmp_path / "out" / "top_valence.csv").exists()
    assert "valence: skipped" in (tmp_path / "out" / "summary.md").read_text()


def test_the_bootstrap_reports_its_progress_and_gives_the_same_numbers(table):
    labels = table[["stress", "activation", "valence"]]
    features = table.drop(columns=["stress", "activation", "valence", "speaker"])
    seen = []
    with_progress = IndicatorAnalysis(bootstrap=7, seed=3).fit(features, labels,
                                                               progress=lambda d, t: seen.append((d, t)))
    assert seen == [(i, 21) for i in range(1, 22)]  # 7 resamples x 3 tasks, counted once each
    plain = IndicatorAnalysis(bootstrap=7, seed=3).fit(features, labels)
    for task in plain.tasks_:
        np.testing.assert_array_equal(with_progress.boot_coef_[task], plain.boot_coef_[task])
    assert "_progress" not in vars(with_progress)  # nothing unpicklable kept
    pickle.dumps(with_progress)


def test_cli_refuses_a_named_column_the_table_lacks_and_lists_its_columns(tmp_path, table, capsys):
    path = tmp_path / "features.csv"
    table.to_csv(path, index=False)
    assert main(["--features", str(path), "--stress-col", "nosuch", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: --stress-col nosuch: no such column in {path} (its columns: "
                   f"{', '.join(table.columns)})\n")
    assert not (tmp_path / "out" / "summary.md").exists()


def test_cli_bad_input_exits_non_zero_with_one_line(tmp_path, table):
    path = tmp_path / "features.csv"
    table.assign(stress=0.0).to_csv(path, index=False)
    done = subprocess.run([sys.executable, "-m", "muser_core", "indicators", "--features", str(path),
                           "--out", str(tmp_path / "out")], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {path}, column 'stress': only one class (0); stress needs stressed and not-stressed rows"]


def test_cli_leaves_identifier_columns_out_and_names_a_broken_feature(tmp_path, table, capsys):
    path = tmp_path / "liwc22.csv"
    table.assign(Filename=[f"s{i}.txt" for i in range(len(table))]).to_csv(path, index=False)
    assert main(["--features", str(path), "--bootstrap", "0", "--out", str(tmp_path / "out")]) == 0
    assert "not features (no numbers in them): Filename" in capsys.readouterr().out
    broken = table.astype({"f7": object})
    broken.loc[4, "f7"] = "n/a?"
    broken.to_csv(path, index=False)
    assert main(["--features", str(path), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (f"error: {path}, line 6, column 'f7': not a number ('n/a?') "
                                       "(leave it out with --ignore-cols or the page's column picker)\n")


def test_cli_out_an_existing_file_is_one_line(tmp_path, table, capsys):
    path = tmp_path / "features.csv"
    table.to_csv(path, index=False)
    (tmp_path / "report.md").write_text("mine")
    assert main(["--features", str(path), "--bootstrap", "0", "--out", str(tmp_path / "report.md")]) == 2
    assert capsys.readouterr().err == (f"error: {tmp_path / 'report.md'}: is a file; "
                                       "--out is the folder the report goes into\n")
    assert (tmp_path / "report.md").read_text() == "mine"


def _documented_commands(command: str) -> list[str]:
    """docs/indicators.md's ``muser COMMAND`` lines, flags only (continuation lines joined, [optional] parts
    dropped)."""
    text = (REPO / "docs" / "indicators.md").read_text().replace("\\\n", " ")
    lines = [ln.split("#")[0] for ln in text.splitlines() if ln.startswith(f"muser {command} ")]
    return [re.sub(r"\[[^\]]*\]", "", ln).split()[1 + len(command.split()):] for ln in lines]


@pytest.mark.slow
def test_the_documented_text_pipeline_runs_end_to_end(tmp_path):
    """muser corpus -> muser features text -> muser indicators, exactly as docs/indicators.md writes them."""
    [build] = [c for c in _documented_commands("corpus") if "--demo" in c]
    [text] = _documented_commands("features text")
    [indicators] = _documented_commands("indicators")
    for command, args in (("corpus", build), ("features text", text), ("indicators", indicators)):
        done = subprocess.run([sys.executable, "-m", "muser_core", *command.split(), *args], cwd=tmp_path,
                              capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        assert done.returncode == 0, f"muser {command} {' '.join(args)}: {done.stderr}"
    assert "LIWC summary columns left out" in done.stdout and "WC" in done.stdout
    out = tmp_path / indicators[indicators.index("--out") + 1]
    for task in ("stress", "activation", "valence"):
        top = pd.read_csv(out / f"top_{task}.csv")
        assert len(top) == 20 and "WC" not in set(top["feature"])


def test_speakers_of_one_row_fall_back_to_global_z_scores_with_a_note(table):
    """Post ids as speakers put most rows alone in their 'speaker', where per-speaker z-scores would set them to
    0 and make the top indicators noise. Global z-scores instead, said in a note, equal to a global fit."""
    alone = table.assign(speaker=[f"post{i // 2 if i < 200 else i}" for i in range(len(table))])
    data = split_columns(alone, speaker_col="speaker")
    fitted = IndicatorAnalysis(bootstrap=0, normalise="speaker").fit(data.features, data.labels, data.speakers)
    assert any("z-scored globally instead" in n for n in fitted.notes_)
    plain = IndicatorAnalysis(bootstrap=0, normalise="global").fit(data.features, data.labels, data.speakers)
    pd.testing.assert_frame_equal(fitted.coef_, plain.coef_)


def test_cli_report_tables_cannot_run_as_spreadsheet_formulas(tmp_path, table):
    """A feature name from a user's data (``=cmd|...``) reaches the report's CSV neutralised, not as it was."""
    path = tmp_path / "features.csv"
    table.rename(columns={"f0": "=HYPERLINK(1)", "f3": "-f3"}).to_csv(path, index=False)
    out = tmp_path / "out"
    assert main(["--features", str(path), "--speaker-col", "speaker", "--top", "2",
                 "--bootstrap", "0", "--out", str(out)]) == 0
    for name in ("top_stress.csv", "top_valence.csv", "overlap.csv"):
        cells = pd.read_csv(out / name, dtype=str, keep_default_na=False).to_numpy().ravel()
        assert not [c for c in cells if c.startswith(("=", "+", "@"))], name
        assert not [c for c in cells if c.startswith("-") and c.lstrip("-").replace(".", "").isalpha()], name
    assert "'=HYPERLINK(1)" in set(pd.read_csv(out / "top_stress.csv")["feature"])
    assert "'-f3" in set(pd.read_csv(out / "top_valence.csv")["feature"])
    assert pd.read_csv(out / "top_stress.csv")["coefficient"].dtype.kind == "f"


def test_the_memory_check_bounds_a_fit_s_real_peak_and_refuses_one_that_cannot_fit(tmp_path, monkeypatch):
    """The estimate the check uses (fit_memory) is above the measured peak of a threaded
    bootstrap on three tasks; a table over the cap is refused in one line before anything is fitted, on the
    command line too."""
    import tracemalloc

    from muser_core import indicators as ind

    rng = np.random.default_rng(0)
    rows = 12_000    # above PARALLEL_BOOTSTRAP_ROWS: the fits run on threads, each with its own copies
    features = pd.DataFrame(rng.poisson(1.0, (rows, 40)).astype(float), columns=[f"c{i}" for i in range(40)])
    labels = pd.DataFrame({"stress": rng.integers(0, 2, rows).astype(float),
                           "activation": rng.uniform(1, 5, rows), "valence": rng.uniform(1, 5, rows)})
    speakers = pd.Series([f"s{i % 100}" for i in range(rows)])
    tracemalloc.start()
    try:
        IndicatorAnalysis(bootstrap=5, seed=0, normalise="speaker").fit(features, labels, speakers)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    table, estimate = features.to_numpy().nbytes, ind.fit_memory(*features.shape)
    assert 2 * table < peak < estimate, f"peak {peak / table:.2f}x the table, estimate {estimate / table:.2f}x"

    big = pd.DataFrame(np.zeros((150_000, 70)), columns=[f"c{i}" for i in range(70)]).assign(
        stress=np.arange(150_000) % 2)
    monkeypatch.setenv("MUSER_MEMORY_GB", "0.1")
    with pytest.raises(InputError, match=r"^indicators on 150,000 rows x 70 features: needs about 0\.4 GB of memory "
                                         r"and 0\.1 GB is allowed by MUSER_MEMORY_GB; fit a sample"):
        IndicatorAnalysis(bootstrap=0).fit(big.drop(columns="stress"), big[["stress"]])
    path = tmp_path / "big.csv"
    big.to_csv(path, index=False)
    done = subprocess.run([sys.executable, "-m", "muser_core", "indicators", "--features", str(path),
                           "--out", str(tmp_path / "out")], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "needs about" in done.stderr
    assert not (tmp_path / "out").exists()


def test_no_label_column_chosen_says_so_not_an_empty_list(table):
    with pytest.raises(InputError, match=r"^table: no label column chosen \(choose one for stress, activation"):
        split_columns(table, stress_col=None, activation_col=None, valence_col=None)

"""monitor-7: prediction quality on labelled serving rows, and prediction bias per slice."""

from __future__ import annotations

import numpy as np
import palmerpenguins
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pytest_mltestscore.checks.monitor.quality import (
    prediction_bias,
    prediction_quality,
    quality_baseline,
)
from pytest_mltestscore.modeling import evaluate
from pytest_mltestscore.result import enforce


@pytest.fixture(scope="module")
def cancer():
    """A binary classifier, its validation rows and a disjoint 'serving' half."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_fit, X_rest, y_fit, y_rest = train_test_split(X, y, test_size=0.6, random_state=0)
    X_val, X_srv, y_val, y_srv = train_test_split(X_rest, y_rest, test_size=0.5, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5)).fit(X_fit, y_fit)
    return model, X_val, y_val, X_srv.reset_index(drop=True), y_srv.reset_index(drop=True)


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_fit, X_srv, y_fit, y_srv = train_test_split(X, y, test_size=0.5, random_state=0)
    model = Ridge(alpha=0.1).fit(X_fit, y_fit)
    return model, X_fit, y_fit, X_srv.reset_index(drop=True), y_srv.reset_index(drop=True)


@pytest.fixture(scope="module")
def penguins():
    """Adelie-or-not from body measurements, with island as a slice."""
    df = palmerpenguins.load_penguins().dropna().reset_index(drop=True)
    features = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    y = (df["species"] == "Adelie").astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(df[features], y)
    return model, df, features, y


def _flip(y: pd.Series, share: float, seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    out = y.copy()
    idx = rng.choice(len(y), size=int(share * len(y)), replace=False)
    out.iloc[idx] = 1 - out.iloc[idx]
    return out


def test_serving_quality_like_validation_passes(cancer):
    model, X_val, y_val, X_srv, y_srv = cancer
    baseline = evaluate(model, X_val, y_val, "accuracy")
    result = prediction_quality(model, X_srv, y_srv, baseline)
    assert result.verdict == "pass", result.message()
    assert result.metrics["value"] == pytest.approx(skm.accuracy_score(y_srv, model.predict(X_srv)))
    assert enforce(result) is result


def test_labels_shuffled_for_a_share_of_rows_fail(cancer):
    model, X_val, y_val, X_srv, y_srv = cancer
    baseline = evaluate(model, X_val, y_val, "accuracy")
    result = prediction_quality(model, X_srv, _flip(y_srv, 0.3, 0), baseline)
    assert result.verdict == "fail"
    row = result.table.rows[0]
    assert row[0] == "overall" and row[2] == "accuracy"
    with pytest.raises(AssertionError, match="accuracy regressed"):
        enforce(result)


@pytest.mark.parametrize("metric", ["roc_auc", "log_loss"])
def test_direction_follows_the_metric(cancer, metric):
    model, X_val, y_val, X_srv, y_srv = cancer
    baseline = evaluate(model, X_val, y_val, metric)
    assert prediction_quality(model, X_srv, y_srv, baseline, metric).verdict == "pass"
    degraded = prediction_quality(model, X_srv, _flip(y_srv, 0.3, 1), baseline, metric)
    assert degraded.verdict == "fail"
    # A serving value far *better* than the baseline is never a regression.
    better = baseline * 0.5 if metric == "roc_auc" else baseline * 10
    assert prediction_quality(model, X_srv, y_srv, better, metric).verdict == "pass"


def test_regression_rmse_against_baseline(diabetes):
    model, X_fit, y_fit, X_srv, y_srv = diabetes
    baseline = evaluate(model, X_fit, y_fit, "rmse")
    ok = prediction_quality(model, X_srv, y_srv, baseline, min_rows=50)
    assert ok.verdict == "pass", ok.message()
    assert ok.metrics["value"] == pytest.approx(
        np.sqrt(skm.mean_squared_error(y_srv, model.predict(X_srv)))
    )
    shuffled = y_srv.copy()
    half = np.random.default_rng(0).permutation(len(y_srv))[: len(y_srv) // 2]
    shuffled.iloc[half] = shuffled.iloc[half].sample(frac=1, random_state=0).to_numpy()
    assert prediction_quality(model, X_srv, shuffled, baseline, min_rows=50).verdict == "fail"


def test_too_few_labelled_rows_skip(cancer):
    model, _, _, X_srv, y_srv = cancer
    labels = y_srv.astype(float)
    labels.iloc[30:] = np.nan  # labels arrive late: only 30 so far
    result = prediction_quality(model, X_srv, labels, 0.95, min_rows=50)
    assert result.verdict == "skip"
    assert "30 labelled serving rows" in result.summary
    assert prediction_quality(model, X_srv, None, 0.95).verdict == "skip"


def test_no_false_alarm_on_small_fresh_samples_and_alarm_on_degraded_ones(cancer):
    # Held to the same rule, 20 random serving samples of 100 rows from the same
    # distribution never fail, and the same samples with 30% of labels flipped always do.
    model, X_val, y_val, X_srv, y_srv = cancer
    baseline = evaluate(model, X_val, y_val, "accuracy")
    for seed in range(20):
        rows = np.random.default_rng(seed).choice(len(X_srv), size=100, replace=False)
        X, y = X_srv.iloc[rows], y_srv.iloc[rows].reset_index(drop=True)
        assert prediction_quality(model, X, y, baseline).verdict == "pass", seed
        flipped = prediction_quality(model, X, _flip(y, 0.3, seed), baseline)
        assert flipped.verdict == "fail", seed


def test_a_degraded_slice_is_named(penguins):
    model, df, features, y = penguins
    baseline = evaluate(model, df[features], y, "accuracy")
    labels = y.copy()
    biscoe = np.flatnonzero(df["island"] == "Biscoe")
    labels.iloc[biscoe[::3]] = 1 - labels.iloc[biscoe[::3]]
    result = prediction_quality(
        model, df[features], labels, baseline, slices=["island"], slice_data=df, min_rows=40
    )
    assert result.verdict == "fail"
    assert "island=Biscoe" in [r[0] for r in result.table.rows]
    assert "island=Dream" not in [r[0] for r in result.table.rows]
    small = prediction_quality(
        model, df[features], y, baseline, slices=["island"], slice_data=df, min_rows=60
    )
    assert small.verdict == "pass"
    assert any("island=Torgersen (n=47)" in n for n in small.notes)


def test_quality_baseline_per_slice_matches_sklearn(penguins):
    model, df, features, y = penguins
    overall, per_slice = quality_baseline(
        model, df[features], y, "accuracy", slices=["island"], slice_data=df
    )
    assert overall == pytest.approx(skm.accuracy_score(y, model.predict(df[features])))
    dream = df["island"] == "Dream"
    assert per_slice["island"]["Dream"] == pytest.approx(
        skm.accuracy_score(y[dream], model.predict(df.loc[dream, features]))
    )
    # Each slice held to its own baseline: a slice can be worse than the overall level
    # without failing, and fails when it drops below its own.
    impossible = {"island": {k: 1.5 for k in per_slice["island"]}}
    result = prediction_quality(
        model,
        df[features],
        y,
        overall,
        slices=["island"],
        slice_data=df,
        slice_baselines=impossible,
        min_rows=40,
    )
    assert result.verdict == "fail"
    assert {r[0] for r in result.table.rows} == {f"island={k}" for k in per_slice["island"]}


def test_model_failure_and_unknown_labels_are_findings(cancer):
    model, _, _, X_srv, y_srv = cancer
    broken = prediction_quality(model, X_srv.drop(columns=["mean radius"]), y_srv, 0.9)
    assert broken.verdict == "fail"
    assert "ValueError" in broken.table.rows[0][4]
    labels = y_srv.map({0: "malignant", 1: "benign"})
    unknown = prediction_quality(model, X_srv, labels, 0.1, "log_loss")
    assert unknown.verdict == "fail"
    assert "benign" in unknown.table.rows[0][7] or "malignant" in unknown.table.rows[0][7]


def test_quality_arguments_are_validated(cancer):
    model, _, _, X_srv, y_srv = cancer
    with pytest.raises(ValueError, match="unknown metric"):
        prediction_quality(model, X_srv, y_srv, 0.9, "acuracy")
    with pytest.raises(ValueError, match="rows"):
        prediction_quality(model, X_srv, y_srv.iloc[:10], 0.9)
    with pytest.raises(ValueError, match=r"did you mean 'mean radius'"):
        prediction_quality(model, X_srv, y_srv, 0.9, slices=["mean_radius"])
    with pytest.raises(ValueError, match="baseline_metric_value"):
        prediction_quality(model, X_srv, y_srv, float("nan"))
    with pytest.raises(ValueError, match="abs_tolerance"):
        prediction_quality(model, X_srv, y_srv, 0.9, abs_tolerance=-0.1)


# prediction bias


def test_a_calibrated_classifier_has_no_bias(cancer):
    model, _, _, X_srv, y_srv = cancer
    result = prediction_bias(model.predict_proba(X_srv)[:, 1], y_srv)
    assert result.verdict == "pass", result.message()
    expected = model.predict_proba(X_srv)[:, 1].mean() - y_srv.mean()
    assert result.metrics["bias"] == pytest.approx(expected)


def test_shifted_probabilities_fail(cancer):
    model, _, _, X_srv, y_srv = cancer
    shifted = np.clip(model.predict_proba(X_srv)[:, 1] + 0.15, 0, 1)
    result = prediction_bias(shifted, y_srv)
    assert result.verdict == "fail"
    assert result.table.rows[0][0] == "overall"
    assert result.table.rows[0][4].startswith("+")


def test_bias_in_one_slice_is_named(penguins):
    model, df, features, y = penguins
    proba = model.predict_proba(df[features])[:, 1]
    assert prediction_bias(proba, y, df[["sex"]]).verdict == "pass"
    dream = (df["island"] == "Dream").to_numpy()
    skewed = np.where(dream, np.clip(proba + 0.3, 0, 1), proba)
    result = prediction_bias(skewed, y, df, ["island", "sex"])
    assert result.verdict == "fail"
    flagged = [r[0] for r in result.table.rows]
    assert "island=Dream" in flagged
    assert "island=Biscoe" not in flagged


def test_multiclass_probabilities_with_classes(penguins):
    _, df, features, _ = penguins
    # Strong regularisation keeps the probabilities soft, so a prior shift moves them.
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.05))
    clf.fit(df[features], df["species"])
    proba = clf.predict_proba(df[features])
    ok = prediction_bias(proba, df["species"], classes=list(clf.classes_))
    assert ok.verdict == "pass", ok.message()
    assert len(ok.table.rows) == 3  # one row per class
    # A prior shift: the serving model weighs Gentoo four times too much.
    shifted = proba * np.where(clf.classes_ == "Gentoo", 4.0, 1.0)
    shifted /= shifted.sum(axis=1, keepdims=True)
    wrong = prediction_bias(shifted, df["species"], classes=list(clf.classes_))
    assert wrong.verdict == "fail"
    assert [r[0] for r in wrong.table.rows] == ["overall [class Gentoo]"]


def test_regression_bias_in_label_units(diabetes):
    model, _, _, X_srv, y_srv = diabetes
    pred = model.predict(X_srv)
    assert prediction_bias(pred, y_srv, min_rows=50).verdict == "pass"
    offset = prediction_bias(pred + 25, y_srv, min_rows=50)
    assert offset.verdict == "fail"
    assert offset.metrics["bias"] == pytest.approx((pred + 25).mean() - y_srv.mean())


def test_bias_rule_holds_at_any_n():
    # Labels drawn from the predicted probabilities: zero bias by construction. Over 20 seeds
    # neither 200 nor 200k rows raise an alarm; a 5-point shift fails at 200k.
    for seed in range(20):
        rng = np.random.default_rng(seed)
        for n in (200, 200_000):
            p = rng.beta(2, 5, size=n)
            y = (rng.random(n) < p).astype(int)
            assert prediction_bias(p, y).verdict == "pass", (seed, n)
    rng = np.random.default_rng(99)
    p = rng.beta(2, 5, size=200_000)
    y = (rng.random(200_000) < p).astype(int)
    assert prediction_bias(np.clip(p + 0.05, 0, 1), y).verdict == "fail"


def test_bias_skips_and_validates(penguins):
    model, df, features, y = penguins
    proba = model.predict_proba(df[features])[:, 1]
    few = y.astype(float)
    few.iloc[10:] = np.nan
    assert prediction_bias(proba, few).verdict == "skip"
    with pytest.raises(ValueError, match="positive="):
        prediction_bias(proba, df["species"])
    named = prediction_bias(proba, df["species"], positive="Adelie")
    assert named.verdict == "pass"
    with pytest.raises(ValueError, match="did you mean 'island'"):
        prediction_bias(proba, y, df, ["Island"])
    with pytest.raises(ValueError, match="one entry per row"):
        prediction_bias(proba[:5], y)
    with pytest.raises(ValueError, match="predict_proba"):
        prediction_bias(model.predict(df[features]).astype(str), y)


def test_nan_predictions_are_reported(penguins):
    model, df, features, y = penguins
    proba = model.predict_proba(df[features])[:, 1]
    proba[[3, 7]] = np.nan
    result = prediction_bias(proba, y)
    assert result.verdict == "fail"
    assert result.table.rows[0][0] == "prediction" and result.table.rows[0][6] == 2

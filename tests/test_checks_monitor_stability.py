"""monitor-5: finite predictions, sane probabilities and finite, bounded weights."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.datasets import load_diabetes, load_iris, load_wine
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from pytest_mltestscore.checks.monitor.stability import iter_weights, numerical_stability
from pytest_mltestscore.result import enforce


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return X, y


def test_a_sound_classifier_passes_on_training_and_serving(iris):
    X, y = iris
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    serving = X.sample(60, random_state=0) * 1.05
    result = numerical_stability(model, {"training": X, "serving": serving})
    assert result.verdict == "pass", result.message()
    assert result.metrics["rows_checked"] == len(X) + len(serving)
    assert result.metrics["weight_arrays"] == 2  # coef_ and intercept_
    assert enforce(result) is result


def test_a_target_transform_that_emits_nan_fails_naming_sample_and_rows(diabetes):
    X, y = diabetes
    # The model learns y**2 and serves sqrt(prediction): negative predictions become NaN.
    model = TransformedTargetRegressor(
        regressor=LinearRegression(), func=np.square, inverse_func=np.sqrt
    ).fit(X, y)
    serving = X * -4  # inputs far outside the training range, as a broken upstream might send
    result = numerical_stability(model, {"training": X, "serving": serving})
    assert result.verdict == "fail"
    rows = {r[0]: r for r in result.table.rows}
    # Even on its own training rows the linear fit of y**2 goes negative for a few rows.
    for name, sample in (("training", X), ("serving", serving)):
        negative = list(sample.index[model.regressor_.predict(sample) < 0])
        assert negative, name  # the premise of the test
        row = rows[f"{name}: predict[0]"]
        assert row[6] == len(negative)
        shown = [int(v) for v in row[7].removeprefix("rows ").split(", ")]
        assert shown == negative[:5]


def test_a_log_transform_on_a_non_positive_column_fails(diabetes):
    X, y = diabetes
    shift = 1 - X.min()  # makes every training value >= 1
    model = make_pipeline(FunctionTransformer(lambda d: np.log(d + shift)), LinearRegression()).fit(
        X, y
    )
    serving = X.copy()
    serving.loc[serving.index[:4], "bmi"] = -shift["bmi"]  # log(0) = -inf on these rows
    result = numerical_stability(model, {"training": X, "serving": serving})
    assert result.verdict == "fail"
    (row,) = result.table.rows
    assert row[0] == "serving: predict" and row[1] == "call"
    assert "infinity" in row[4] or "NaN" in row[4]


class _UnnormalisedScores:
    """A wrapper that exposes raw exp(decision) scores as 'probabilities' (a real bug)."""

    def __init__(self, inner):
        self.inner = inner
        self.classes_ = inner.classes_

    def predict(self, X):
        return self.inner.predict(X)

    def predict_proba(self, X):
        return np.exp(self.inner.decision_function(X))


def test_probabilities_out_of_range_and_not_summing_to_one_fail(iris):
    X, y = iris
    inner = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    result = numerical_stability(_UnnormalisedScores(inner), {"serving": X})
    assert result.verdict == "fail"
    rows = {r[0]: r for r in result.table.rows}
    assert "serving: predict_proba (row sums)" in rows
    scores = np.exp(inner.decision_function(X))
    above = (scores > 1 + 1e-6).sum(axis=0)
    for j, cls in enumerate(inner.classes_):
        key = f"serving: predict_proba[{cls}]"
        if above[j]:
            assert rows[key][6] == above[j]
        else:
            assert key not in rows


def test_nan_weights_are_found_inside_a_pipeline(iris):
    X, y = iris
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    broken = copy.deepcopy(model)
    broken[-1].coef_[1, 2] = np.nan
    result = numerical_stability(broken, {"training": X})
    paths = [r[0] for r in result.table.rows]
    assert result.verdict == "fail"
    assert "model[logisticregression].coef_" in paths
    weight_row = next(r for r in result.table.rows if r[0].endswith(".coef_"))
    assert weight_row[7] == "positions 6"  # row 1, column 2 of a (3, 4) array


def test_weight_bound(diabetes):
    X, y = diabetes
    model = LinearRegression().fit(X, y)
    largest = np.abs(model.coef_).max()
    assert numerical_stability(model, {"training": X}).verdict == "pass"
    tight = numerical_stability(model, {"training": X}, weight_bound=largest / 2)
    assert tight.verdict == "fail"
    row = next(r for r in tight.table.rows if r[0] == "model.coef_")
    assert row[2] == "max |weight|" and f"{largest:.4g}" in row[4]
    unbounded = numerical_stability(model, {"training": X}, weight_bound=None)
    assert unbounded.verdict == "pass"


def test_weights_are_walked_through_ensembles_and_wrappers():
    X, y = load_wine(return_X_y=True, as_frame=True)
    cols = list(X.columns)
    pre = ColumnTransformer(
        [("first", StandardScaler(), cols[:6]), ("rest", StandardScaler(), cols[6:])]
    )
    search = GridSearchCV(
        make_pipeline(pre, LogisticRegression()), {"logisticregression__C": [1.0]}, cv=2
    ).fit(X, y)
    paths = [p for p, _ in iter_weights(search)]
    assert "model.best_estimator_[logisticregression].coef_" in paths
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    paths = [p for p, _ in iter_weights(forest)]
    assert paths[0] == "model.feature_importances_"
    assert "model.estimators_[2].feature_importances_" in paths
    boosted = GradientBoostingClassifier(n_estimators=2, random_state=0).fit(X, y)
    # 2 stages x 3 classes of regression trees, plus the ensemble's own importances.
    assert len(list(iter_weights(boosted))) == 1 + 6
    assert numerical_stability(boosted, {"training": X}).verdict == "pass"


def test_empty_samples_and_bad_arguments(iris):
    X, y = iris
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    result = numerical_stability(model, {"serving": X.iloc[:0]})
    assert result.verdict == "skip"
    partial = numerical_stability(model, {"training": X, "serving": X.iloc[:0]})
    assert partial.verdict == "pass" and any("'serving' is empty" in n for n in partial.notes)
    with pytest.raises(ValueError, match="no predict"):
        numerical_stability(object(), {"training": X})
    with pytest.raises(ValueError, match="non-empty mapping"):
        numerical_stability(model, {})
    with pytest.raises(ValueError, match="DataFrame"):
        numerical_stability(model, {"training": X.to_numpy()})
    with pytest.raises(ValueError, match="weight_bound"):
        numerical_stability(model, {"training": X}, weight_bound=-1)


def test_string_labels_are_not_mistaken_for_numbers():
    X, y = load_iris(return_X_y=True, as_frame=True)
    names = pd.Series(np.array(["setosa", "versicolor", "virginica"])[y])
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, names)
    result = numerical_stability(model, {"training": X})
    assert result.verdict == "pass", result.message()

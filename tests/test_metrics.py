"""The numpy metrics agree with scikit-learn's on real data and real models."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pytest_mltestscore import metrics
from pytest_mltestscore.modeling import evaluate, infer_task, predict_for


@pytest.fixture(scope="module")
def binary():
    X, y = load_breast_cancer(return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=500)).fit(X, y)
    return model, X, y


def test_binary_metrics_match_sklearn(binary):
    model, X, y = binary
    pred = model.predict(X)
    proba = model.predict_proba(X)
    assert metrics.accuracy(y, pred) == pytest.approx(skm.accuracy_score(y, pred))
    assert metrics.recall(y, pred) == pytest.approx(skm.recall_score(y, pred))
    assert metrics.precision(y, pred) == pytest.approx(skm.precision_score(y, pred))
    assert metrics.f1(y, pred) == pytest.approx(skm.f1_score(y, pred))
    assert metrics.balanced_accuracy(y, pred) == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert metrics.roc_auc(y, proba[:, 1]) == pytest.approx(skm.roc_auc_score(y, proba[:, 1]))
    assert metrics.log_loss(y, proba) == pytest.approx(skm.log_loss(y, proba))


def test_multiclass_auc_and_log_loss_match_sklearn():
    X, y = load_wine(return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=500)).fit(X, y)
    proba = model.predict_proba(X)
    assert metrics.roc_auc(y, proba) == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average="macro")
    )
    assert evaluate(model, X, y, "log_loss") == pytest.approx(skm.log_loss(y, proba))


def test_regression_metrics_match_sklearn():
    X, y = load_diabetes(return_X_y=True)
    model = Ridge(alpha=1.0).fit(X, y)
    pred = model.predict(X)
    assert metrics.rmse(y, pred) == pytest.approx(np.sqrt(skm.mean_squared_error(y, pred)))
    assert metrics.mae(y, pred) == pytest.approx(skm.mean_absolute_error(y, pred))
    assert metrics.r2(y, pred) == pytest.approx(skm.r2_score(y, pred))
    assert infer_task(model) == "regression"


def test_auc_with_ties_matches_sklearn():
    y = np.array([0, 0, 1, 1, 0, 1, 1, 0])
    s = np.array([0.1, 0.5, 0.5, 0.9, 0.5, 0.2, 0.9, 0.1])
    assert metrics.roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s))


def test_bad_inputs_raise_clear_errors(binary):
    _model, X, y = binary
    with pytest.raises(ValueError, match="3 labels but 2 predictions"):
        metrics.accuracy([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="both classes"):
        metrics.roc_auc([1, 1, 1], [0.2, 0.5, 0.7])
    with pytest.raises(ValueError, match="unknown metric 'acc'"):
        metrics.get_metric("acc")
    with pytest.raises(ValueError, match="no predict_proba"):
        predict_for(Ridge().fit(X, y), X, "proba")
    with pytest.raises(ValueError, match="not among the model's classes"):
        metrics.log_loss([0, 2], [[0.5, 0.5], [0.5, 0.5]], classes=[0, 1])


@given(st.lists(st.integers(min_value=-5, max_value=5).map(float), min_size=1, max_size=60))
def test_average_ranks_equal_scipys_rankdata(values):
    from scipy.stats import rankdata

    from pytest_mltestscore.metrics import average_ranks

    array = np.asarray(values)
    assert np.allclose(average_ranks(array), rankdata(array))

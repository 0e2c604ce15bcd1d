"""User tests of the model specification, each marked with the rubric item it earns.

The built-in checks (``mltestscore::...``) cover what pyproject.toml describes; these tests
cover what only this project knows.
"""

from __future__ import annotations

import pytest
from weather_model import train as T
from weather_model.features import MODEL_FEATURES, TARGET

from pytest_mltestscore import checks


@pytest.fixture(scope="module")
def training(ml_datasets):
    return ml_datasets["training"]


@pytest.mark.rubric("infra-2")
def test_model_spec_behaves(training):
    """The specification, freshly trained: predicts valid probabilities, deterministically,
    whatever the column order, and survives a skops round trip."""
    model = T.fit(training)
    checks.model_properties(model, training[MODEL_FEATURES].iloc[:200])


@pytest.mark.rubric("infra-2")
def test_model_spec_learns_the_obvious():
    """One wet and one dry pattern, repeated: the spec separates them (it can learn at all)."""
    import pandas as pd

    rows = [
        {"log_precipitation": 2.5, "rained": 1, "temp_max": 9.0, "temp_min": 5.0, TARGET: 1},
        {"log_precipitation": 0.0, "rained": 0, "temp_max": 27.0, "temp_min": 14.0, TARGET: 0},
    ] * 20
    model = T.fit(pd.DataFrame(rows))
    assert model.predict(pd.DataFrame(rows)[MODEL_FEATURES]).tolist() == [1, 0] * 20


@pytest.mark.rubric("infra-5")
def test_one_forecast_can_be_followed_step_by_step(ml_model, serving_data):
    """The newest served forecast, traced through scaling and the logistic regression: the
    trace shows each step's output, and the last one is the probability the model gives."""
    X = serving_data[MODEL_FEATURES]
    result = checks.debuggable(ml_model, X, row=len(X) - 1)
    trace = "\n".join(result.notes)
    assert [line.split()[0] for line in trace.splitlines()[3:]] == [
        "input",
        "scale",
        "classifier",
        "classifier",
    ]
    probability = ml_model.predict_proba(X.iloc[[-1]])[0, 1]
    assert f"1={probability:.4g}" in trace

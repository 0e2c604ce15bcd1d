"""User tests of the model, each marked with the rubric item it earns."""

from __future__ import annotations

import numpy as np
import pytest
from diabetes_model import features as F

from pytest_mltestscore import checks
from pytest_mltestscore.checks.infra.trace import trace_example


@pytest.fixture(scope="module")
def validation(ml_datasets):
    return ml_datasets["validation"]


@pytest.mark.rubric("infra-2")
def test_model_properties_on_validation_patients(ml_model, validation):
    """Predicts one finite value per patient, deterministic, column order, skops round trip."""
    checks.model_properties(ml_model, F.model_input(validation))


@pytest.mark.rubric("infra-2")
@pytest.mark.parametrize("feature", ["bmi", "bp", "ltg"])
def test_predicted_progression_rises_with_known_risk_factors(ml_model, validation, feature):
    """Higher BMI, blood pressure and triglycerides go with faster progression (the study's
    own finding); a sign error in the feature code or the pipeline breaks this."""
    X = F.model_input(validation)
    higher = X.assign(**{feature: X[feature] + X[feature].std()})
    assert (ml_model.predict(higher) > ml_model.predict(X)).all()


@pytest.mark.rubric("infra-5")
def test_one_patient_can_be_followed_through_the_pipeline(ml_model, validation):
    X = F.model_input(validation)
    checks.debuggable(ml_model, X)  # every step observable and finite
    patient = X.iloc[[0]]
    steps = {(s.name, s.kind): s.output for s in trace_example(ml_model, patient)}
    scaler, ridge = ml_model.named_steps["scale"], ml_model.named_steps["ridge"]
    z = (patient.to_numpy() - scaler.mean_) / scaler.scale_
    np.testing.assert_allclose(steps["scale", "transform"], z)
    (prediction,) = steps["ridge", "predict"]
    assert prediction == pytest.approx(ridge.intercept_ + z[0] @ ridge.coef_)

"""User tests of the model and its pipeline, each marked with the rubric item it earns.

The built-in checks of pytest-mltestscore (collected as ``mltestscore::...``) cover what the
configuration in pyproject.toml describes; these tests cover what only this project knows.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import palmerpenguins
import pandas as pd
import pytest
from penguins_model import features as F
from penguins_model import train as T

from pytest_mltestscore import checks
from pytest_mltestscore.checks.infra.trace import trace_example

ROOT = Path(__file__).resolve().parent.parent
REVIEW = ROOT / "docs" / "model-review.md"


@pytest.fixture(scope="module")
def validation(ml_datasets):
    return ml_datasets["validation"]


# -- model-1: the model spec is reviewed and checked in ---------------------------------------
def reviewed_files() -> dict[str, str]:
    """``file -> sha256`` from the "Reviewed files" table of docs/model-review.md."""
    rows = re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$", REVIEW.read_text(), re.M)
    return dict(rows)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


@pytest.mark.rubric("model-1")
def test_model_spec_is_the_reviewed_one():
    """A change to the model code without a new review entry fails here."""
    reviewed = reviewed_files()
    assert set(reviewed) == {"penguins_model/train.py", "penguins_model/features.py"}
    changed = [f for f, digest in reviewed.items() if sha256(ROOT / f) != digest]
    assert not changed, (
        f"{', '.join(changed)} changed since the review recorded in docs/model-review.md; "
        "review the change and record the new sha256 there"
    )


@pytest.mark.rubric("model-1")
def test_model_spec_is_checked_in():
    git = shutil.which("git")
    inside = git and subprocess.run(
        [git, "rev-parse", "--is-inside-work-tree"], cwd=ROOT, capture_output=True, text=True
    )
    if not inside or inside.returncode != 0:
        pytest.skip("not a git checkout: cannot tell whether the spec is checked in")
    files = [*reviewed_files(), "pyproject.toml", "docs/model-review.md"]
    tracked = subprocess.run(
        [git, "ls-files", "--error-unmatch", *files], cwd=ROOT, capture_output=True, text=True
    )
    assert tracked.returncode == 0, tracked.stderr


# -- model-4: the impact of staleness is known ------------------------------------------------
@pytest.mark.rubric("model-4")
def test_staleness_curve_over_three_seasons():
    """Train on the 2007 season, score 2008 and 2009: monitor-4's 180-day limit is safe."""
    records = T.load_records()
    result = checks.staleness_curve(
        T.fit,
        records,
        "date_egg",
        "species",
        F.MODEL_FEATURES,
        train_until="2008-01-01",
        periods="365D",
        metric="accuracy",
        max_tolerable_age_days=180,
    )
    assert result.metrics["periods_judged"] == 2


# -- infra-2: the model spec is unit tested ---------------------------------------------------
@pytest.mark.rubric("infra-2")
def test_model_properties_on_validation_rows(ml_model, validation):
    """Predicts, one valid label or probability row per bird, deterministic, survives a save."""
    checks.model_properties(ml_model, F.model_input(validation))


@pytest.mark.rubric("infra-2")
def test_training_code_can_overfit_twenty_birds(training_data):
    checks.can_overfit_tiny(
        T.make_pipeline, F.model_input(training_data), training_data["species"], n=20
    )


@pytest.mark.rubric("infra-2")
def test_model_ignores_columns_it_was_not_given(ml_model, validation):
    """Serving rows carry sex and ids too; the model must read only its own columns."""
    X = F.model_input(validation)
    extra = validation[[*F.MODEL_FEATURES, "sex", "sample_id"]]
    np.testing.assert_array_equal(ml_model.predict_proba(extra), ml_model.predict_proba(X))


# -- infra-5: the model is debuggable ---------------------------------------------------------
@pytest.mark.rubric("infra-5")
def test_one_bird_can_be_followed_through_the_pipeline(ml_model, validation):
    X = F.model_input(validation)
    checks.debuggable(ml_model, X)  # every step observable and finite
    bird = X.iloc[[0]]
    trace = list(trace_example(ml_model, bird))
    steps = {(s.name, s.kind): s.output for s in trace}
    scaler = ml_model.named_steps["features"].named_transformers_["measurements"]
    expected = (bird[T.NUMERIC].to_numpy() - scaler.mean_) / scaler.scale_
    np.testing.assert_allclose(steps["features/measurements", "transform"], expected)
    onehot = np.asarray(steps["features/island", "transform"].todense()).ravel()
    assert onehot.tolist() == [float(i == bird["island"].iloc[0]) for i in F.ISLANDS]
    proba = steps["classifier", "predict_proba"]
    assert proba.sum() == pytest.approx(1.0)
    assert steps["classifier", "predict"][0] == ml_model.classes_[proba.argmax()]


# -- monitor-3: training and serving features compute the same values -------------------------
@pytest.mark.rubric("monitor-3")
def test_serving_feature_code_matches_training_feature_code():
    """Both code paths on every measured field record of the three seasons."""
    raw = palmerpenguins.load_penguins_raw().dropna(subset=list(F.MEASUREMENTS))

    def serving_path(frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame([F.serving_features(r) for r in frame.to_dict("records")])

    result = checks.feature_code_skew(raw, F.training_features, serving_path, id_column="sample_id")
    assert result.metrics.get("joined_examples", len(raw)) == 342

"""Import paths, safe artifact loading, infra-1 (reproducible training), infra-2 (properties)."""

from __future__ import annotations

import itertools
import pickle
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from infra_fixtures.models import (
    DIABETES_FEATURES,
    MASS_FEATURES,
    diabetes,
    mass_model_plain,
    progression_sqrt_target,
    species_positional,
)
from infra_fixtures.penguins import (
    FEATURES,
    NUMERIC,
    TARGET,
    fit_forest,
    fit_forest_set_ordered,
    fit_forest_unseeded,
    fit_logistic,
    penguins,
)
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from pytest_mltestscore.checks.infra.properties import (
    can_overfit_tiny,
    model_properties,
    one_step_lowers_loss,
)
from pytest_mltestscore.checks.infra.reproducibility import training_reproducible
from pytest_mltestscore.fresh_process import MODE_VARIABLE
from pytest_mltestscore.loading import (
    ArtifactError,
    ImportPathError,
    UntrustedArtifactError,
    load_callable,
    load_model_artifact,
    save_model_artifact,
)
from pytest_mltestscore.result import enforce


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return penguins()


@pytest.fixture(scope="module")
def forest(data):
    return fit_forest(data, 0)


# --- load_callable -------------------------------------------------------------------------


def test_load_callable_resolves_module_and_dotted_attribute():
    assert load_callable("infra_fixtures.penguins:fit_forest") is fit_forest
    method = load_callable("pytest_mltestscore.result:CheckResult.message")
    assert method.__name__ == "message"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("infra_fixtures.penguins.fit_forest", "one colon"),
        (":fit", "both the module and the name"),
        ("no_such_pkg_xq.models:fit", "module 'no_such_pkg_xq' not found"),
        ("infra_fixtures.penguins:fit_forrest", "did you mean 'fit_forest'"),
        ("infra_fixtures.penguins:TARGET", "is a str, not a callable"),
    ],
)
def test_load_callable_errors_say_what_is_wrong(path, expected):
    with pytest.raises(ImportPathError, match=expected) as info:
        load_callable(path)
    assert isinstance(info.value, ValueError)


def test_load_callable_reports_a_broken_import_inside_the_module(tmp_path, monkeypatch):
    (tmp_path / "broken_feats_mod.py").write_text("import no_such_dependency_zz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportPathError, match="importing 'broken_feats_mod' failed") as info:
        load_callable("broken_feats_mod:build")
    assert "no_such_dependency_zz" in str(info.value)


# --- load_model_artifact -------------------------------------------------------------------


def test_skops_artifact_of_sklearn_types_loads_without_trust(tmp_path, forest, data):
    path = save_model_artifact(forest, tmp_path / "model.skops")
    loaded = load_model_artifact(path)
    X = data[FEATURES]
    np.testing.assert_array_equal(loaded.predict_proba(X), forest.predict_proba(X))


def test_skops_artifact_with_user_function_needs_trust(tmp_path):
    model = progression_sqrt_target()
    path = save_model_artifact(model, tmp_path / "progression.skops")
    with pytest.raises(UntrustedArtifactError, match=r"infra_fixtures\.models\.safe_sqrt"):
        load_model_artifact(path)
    X = diabetes()[DIABETES_FEATURES].head(10)
    for trusted in (True, ["infra_fixtures.models.safe_sqrt"]):
        loaded = load_model_artifact(path, trusted=trusted)
        np.testing.assert_allclose(loaded.predict(X), model.predict(X))


class _TouchOnLoad:
    """Unpickling this object creates a file: stands in for arbitrary code in a pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("suffix", [".pkl", ".pickle", ".joblib"])
def test_pickle_artifact_is_refused_unless_trusted(tmp_path, suffix):
    marker = tmp_path / "code-ran"
    path = tmp_path / f"model{suffix}"
    if suffix == ".joblib":
        joblib.dump(_TouchOnLoad(marker), path)
    else:
        path.write_bytes(pickle.dumps(_TouchOnLoad(marker)))
    with pytest.raises(UntrustedArtifactError, match="arbitrary code"):
        load_model_artifact(path)
    assert not marker.exists()
    load_model_artifact(path, trusted=True)
    assert marker.exists()


def test_trusted_joblib_model_predicts_like_the_original(tmp_path, forest, data):
    path = save_model_artifact(forest, tmp_path / "model.joblib")
    loaded = load_model_artifact(path, trusted=True)
    np.testing.assert_array_equal(loaded.predict(data[FEATURES]), forest.predict(data[FEATURES]))


def test_artifact_errors(tmp_path):
    with pytest.raises(ArtifactError, match=r"unsupported extension '\.onnx'.*\.skops"):
        load_model_artifact(tmp_path / "model.onnx")
    with pytest.raises(ArtifactError, match="not found"):
        load_model_artifact(tmp_path / "missing.skops")
    bad = tmp_path / "corrupt.skops"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ArtifactError, match="could not read"):
        load_model_artifact(bad)
    with pytest.raises(ValueError, match="trusted must be"):
        load_model_artifact(bad, trusted="yes")  # type: ignore[arg-type]


# --- infra-1 -------------------------------------------------------------------------------


def test_seeded_trainer_is_reproducible(data):
    result = training_reproducible(fit_forest, data, seed=3, target=TARGET)
    assert result.verdict == "pass", result.message()
    assert result.metrics["max_abs_diff"] == 0.0
    assert result.rubric_id == "infra-1"


def test_unseeded_trainer_is_caught_and_differences_are_located(data):
    result = training_reproducible(fit_forest_unseeded, data, seed=0, target=TARGET)
    assert result.verdict == "fail"
    assert result.metrics["max_abs_diff"] > 0.01
    table = result.table
    assert table is not None and table.rows
    # Every listed difference names a real row of the data and a real class column.
    proba_rows = [r for r in table.rows if r[0] == "proba"]
    assert proba_rows
    for _, row, column, first, second, diff in proba_rows:
        assert row in data.index
        assert column in set(data[TARGET])
        assert diff == pytest.approx(abs(first - second))
    with pytest.raises(AssertionError, match="probabilities differ"):
        enforce(result)


def test_tolerances_decide_the_verdict(data):
    """A loose enough tolerance accepts the unseeded forest, a strict one does not."""
    loose = training_reproducible(
        fit_forest_unseeded, data, target=TARGET, atol=1.0, max_label_diff_share=1.0
    )
    assert loose.verdict == "pass"
    assert loose.metrics["max_abs_diff"] > 0


def test_reproducible_in_fresh_processes(data):
    result = training_reproducible(
        "infra_fixtures.penguins:fit_forest", data, target=TARGET, separate_processes=True
    )
    assert result.verdict == "pass", result.message()
    assert "fresh Python processes" in result.summary


def test_hash_order_dependence_shows_only_in_fresh_processes(data):
    """Set iteration order is stable within a process but changes with the string-hash seed."""
    same_process = training_reproducible(fit_forest_set_ordered, data, target=TARGET)
    assert same_process.verdict == "pass"
    fresh = training_reproducible(
        fit_forest_set_ordered, data, target=TARGET, separate_processes=True, sample=100
    )
    assert fresh.verdict == "fail"
    assert fresh.metrics["max_abs_diff"] > 0
    assert fresh.metrics["rows"] == 100


@pytest.mark.parametrize(
    "fit", ["fit_forest", "fit_forest_set_ordered", "fit_needs_missing_column"]
)
def test_fresh_processes_judge_the_same_warm_and_cold(data, monkeypatch, fit):
    """Jobs forked from a warm process (the default) give infra-1 the verdict, message and
    numbers a new interpreter per run gives (MLTESTSCORE_FRESH_PROCESSES=cold)."""
    results = {}
    for mode in ("cold", "warm"):
        monkeypatch.setenv(MODE_VARIABLE, mode)
        results[mode] = training_reproducible(
            f"infra_fixtures.penguins:{fit}", data, target=TARGET, separate_processes=True
        )
    assert results["warm"] == results["cold"]
    expected = {"fit_forest": "pass", "fit_forest_set_ordered": "fail"}.get(fit, "fail")
    assert results["warm"].verdict == expected


def test_training_error_is_a_failure_not_a_crash(data):
    def broken_fit(df, seed):
        return LogisticRegression().fit(df[FEATURES], df[TARGET])  # strings: cannot fit

    result = training_reproducible(broken_fit, data, target=TARGET)
    assert result.verdict == "fail"
    assert "run 1 raised ValueError" in result.summary


def test_training_error_in_a_fresh_process_is_reported(data):
    result = training_reproducible(
        "infra_fixtures.penguins:fit_needs_missing_column", data, separate_processes=True
    )
    assert result.verdict == "fail"
    assert "run 1 raised KeyError" in result.summary and "colony_id" in result.summary


def test_training_reproducible_validates_arguments(data):
    with pytest.raises(ValueError, match="import path"):
        training_reproducible(lambda df, s: None, data, separate_processes=True)
    with pytest.raises(ValueError, match="non-empty"):
        training_reproducible(fit_logistic, data.iloc[:0])
    with pytest.raises(ValueError, match="target column 'kind'"):
        training_reproducible(fit_logistic, data, target="kind")
    with pytest.raises(ValueError, match="max_label_diff_share"):
        training_reproducible(fit_logistic, data, max_label_diff_share=2)


# --- infra-2 -------------------------------------------------------------------------------


def test_healthy_pipeline_has_all_properties(forest, data):
    result = model_properties(forest, data[FEATURES].sample(40, random_state=0))
    assert result.verdict == "pass", result.message()
    assert "column_order" in result.summary and "round_trip" in result.summary


def test_nan_on_an_edge_input_is_reported_with_its_row():
    model = progression_sqrt_target()
    X = diabetes()[DIABETES_FEATURES]
    assert np.isfinite(model.predict(X)).all()
    assert model_properties(model, X).verdict == "pass"
    # Corners of the training box: every value lies within its column's observed range.
    lo, hi = X.min(), X.max()
    corners = pd.DataFrame(
        [
            [(hi if bit else lo)[c] for c, bit in zip(DIABETES_FEATURES, bits, strict=True)]
            for bits in itertools.product([0, 1], repeat=len(DIABETES_FEATURES))
        ],
        columns=DIABETES_FEATURES,
        index=range(1000, 1000 + 2 ** len(DIABETES_FEATURES)),
    )
    nan_rows = set(corners.index[np.isnan(model.predict(corners))])
    assert nan_rows, "the fixture should produce NaN on some corner"
    result = model_properties(model, pd.concat([X.head(50), corners]))
    assert result.verdict == "fail"
    assert result.table is not None
    flagged = {r[1] for r in result.table.rows if r[0] == "output: finite"}
    # At most five rows are listed per property.
    assert flagged <= nan_rows and len(flagged) == min(5, len(nan_rows))
    assert "output" in result.summary


def test_model_that_reads_columns_by_position_fails_column_order(data):
    result = model_properties(species_positional(), data[NUMERIC].head(30))
    assert result.verdict == "fail"
    assert "column_order" in result.summary
    assert result.table is not None
    assert {r[0] for r in result.table.rows} == {"column_order"}


def test_model_refusing_reordered_columns_is_noted_not_failed(data):
    result = model_properties(mass_model_plain(), data[MASS_FEATURES].head(10))
    assert result.verdict == "pass"
    assert any("refuses reordered columns" in n for n in result.notes)


def test_predict_error_names_the_failing_row(forest, data):
    X = data[FEATURES].head(5).copy()
    X["bill_length_mm"] = X["bill_length_mm"].astype(object)
    X.loc[2, "bill_length_mm"] = "long"  # a string in a numeric column breaks the scaler
    result = model_properties(forest, X)
    assert result.verdict == "fail"
    assert result.summary.endswith("predicts")
    assert result.table is not None and "row 2 alone fails too" in result.table.rows[0][2]


def test_round_trip_with_joblib_and_pickle(forest, data):
    for persist in ("joblib", "pickle"):
        result = model_properties(
            forest, data[FEATURES].head(10), properties=["round_trip"], persist=persist
        )
        assert result.verdict == "pass"
        assert any(persist in n for n in result.notes)


def test_model_properties_validates_arguments(forest, data):
    with pytest.raises(ValueError, match="unknown properties"):
        model_properties(forest, data[FEATURES], properties=["speed"])
    with pytest.raises(ValueError, match="non-empty"):
        model_properties(forest, data[FEATURES].iloc[:0])


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return pd.DataFrame(StandardScaler().fit_transform(X), columns=X.columns), y


def test_one_training_step_lowers_the_loss(cancer):
    X, y = cancer
    for factory in (
        lambda: MLPClassifier(hidden_layer_sizes=(16,)),
        lambda: SGDClassifier(loss="log_loss", learning_rate="constant", eta0=0.01),
    ):
        result = one_step_lowers_loss(factory, X, y)
        assert result.verdict == "pass", result.message()
        assert result.metrics["after"] < result.metrics["before"]


def test_classifier_without_probabilities_is_scored_by_accuracy(cancer):
    """Integer labels and no predict_proba: still a classifier (scikit-learn's tag says so)."""
    X, y = cancer
    result = one_step_lowers_loss(
        lambda: SGDClassifier(loss="hinge", learning_rate="constant", eta0=0.001), X, y
    )
    assert result.verdict == "pass", result.message()
    assert result.summary.startswith("accuracy (higher is better)")
    assert result.metrics["after"] > result.metrics["before"]


def test_overshooting_step_size_is_caught(cancer):
    X, y = cancer
    result = one_step_lowers_loss(
        lambda: SGDClassifier(loss="log_loss", learning_rate="constant", eta0=50.0), X, y
    )
    assert result.verdict == "fail"
    assert result.metrics["after"] > result.metrics["before"]


def test_one_step_needs_partial_fit(cancer):
    X, y = cancer
    with pytest.raises(ValueError, match="partial_fit"):
        one_step_lowers_loss(LogisticRegression, X, y)


def test_tiny_dataset_can_be_overfit(data):
    result = can_overfit_tiny(_forest, data[FEATURES], data[TARGET])
    assert result.verdict == "pass", result.message()
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    reg = can_overfit_tiny(DecisionTreeRegressor, X, y, n=15)
    assert reg.verdict == "pass"
    assert reg.metrics["r2"] == pytest.approx(1.0)


def test_model_without_capacity_cannot_overfit(data):
    result = can_overfit_tiny(DummyClassifier, data[FEATURES], data[TARGET], n=12)
    assert result.verdict == "fail"
    assert result.table is not None
    # The stratified draw holds every species, so a constant guess misses two thirds of it.
    assert len(result.table.rows) == 8
    # A stump has two leaves for three species: it gets at most two thirds right.
    stump = can_overfit_tiny(
        lambda: DecisionTreeClassifier(max_depth=1), data[NUMERIC], data[TARGET], n=12
    )
    assert stump.verdict == "fail"
    assert stump.metrics["accuracy"] <= 8 / 12


def _forest():
    from infra_fixtures.penguins import preprocessor
    from sklearn.ensemble import RandomForestClassifier

    return make_pipeline(preprocessor(), RandomForestClassifier(n_estimators=20))

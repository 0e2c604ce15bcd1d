"""infra-3 (pipeline integration), infra-4 (validation gate), infra-5 (debuggable trace)."""

from __future__ import annotations

import numpy as np
import pytest
from infra_fixtures import pipeline as pl
from infra_fixtures.models import MASS_FEATURES, mass_model_log_features
from infra_fixtures.penguins import FEATURES, TARGET, fit_forest, penguins, shuffled_labels
from sklearn.datasets import load_diabetes
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import Ridge
from sklearn.metrics import accuracy_score, mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pytest_mltestscore.checks.infra.gate import validation_gate
from pytest_mltestscore.checks.infra.integration import pipeline_integration
from pytest_mltestscore.checks.infra.trace import Trace, debuggable, trace_example

# --- infra-3 -------------------------------------------------------------------------------


def _stage(result, name):
    rows = [r for r in result.table.rows if r[0] == name]
    assert rows, f"no row for stage {name}"
    return rows[0]


def test_healthy_pipeline_runs_end_to_end():
    result = pipeline_integration(
        raw=pl.load_raw,
        build_features=pl.build_features,
        fit_fn=pl.fit,
        target=pl.TARGET,
        features=pl.FEATURES,
        sample=120,
    )
    assert result.verdict == "pass", result.message()
    statuses = {r[0]: r[1] for r in result.table.rows}
    assert set(statuses.values()) == {"ok"}
    assert _stage(result, "load_raw")[2] == 120
    assert _stage(result, "predict")[2] == 120


def test_import_paths_work_as_config_would_give_them():
    result = pipeline_integration(
        raw="infra_fixtures.pipeline:load_raw",
        build_features="infra_fixtures.pipeline:build_features",
        fit_fn="infra_fixtures.pipeline:fit",
        target=pl.TARGET,
        sample=60,
        persist="joblib",
    )
    assert result.verdict == "pass", result.message()
    assert "joblib" in result.summary


def test_stage_that_drops_a_column_is_named_with_the_column():
    result = pipeline_integration(
        raw=pl.load_raw,
        build_features=pl.build_features_without_sex,
        fit_fn=pl.fit,
        target=pl.TARGET,
        features=pl.FEATURES,
        sample=80,
    )
    assert result.verdict == "fail"
    assert "'build_features'" in result.summary
    stage = _stage(result, "build_features")
    assert stage[1] == "FAILED"
    assert stage[4].startswith("dropped column(s) 'sex'")
    assert _stage(result, "train")[1] == "not run"


def test_serving_features_missing_a_model_input_are_caught():
    """Training features keep 'sex', serving features lose it: the model's names tell."""
    result = pipeline_integration(
        raw=pl.load_raw,
        build_features=pl.build_features,
        serving_features=pl.build_features_without_sex,
        fit_fn=pl.fit,
        target=pl.TARGET,
        sample=80,
    )
    assert result.verdict == "fail"
    stage = _stage(result, "serving_features")
    assert stage[1] == "FAILED" and "'sex'" in stage[4]
    assert _stage(result, "load")[1] == "ok"


def test_all_null_column_fails_its_stage():
    result = pipeline_integration(
        raw=pl.load_raw,
        build_features=pl.build_features_with_bad_join,
        fit_fn=pl.fit,
        target=pl.TARGET,
        sample=80,
    )
    assert result.verdict == "fail"
    stage = _stage(result, "build_features")
    assert "entirely null" in stage[4] and "'island_area_km2'" in stage[4]


def test_stage_errors_and_wrong_returns_are_failures():
    def broken_loader():
        raise FileNotFoundError("s3://bucket/penguins.csv")

    r1 = pipeline_integration(raw=broken_loader, fit_fn=pl.fit, target=pl.TARGET)
    assert r1.verdict == "fail"
    assert "load_raw" in r1.summary and "FileNotFoundError" in r1.summary
    r2 = pipeline_integration(
        raw=pl.load_raw,
        build_features=pl.build_features,
        fit_fn=pl.fit_without_target_check,
        target=pl.TARGET,
        sample=50,
    )
    assert r2.verdict == "fail"
    assert "has no predict" in _stage(r2, "train")[4]


def test_pipeline_integration_validates_arguments():
    with pytest.raises(ValueError, match="unknown stages"):
        pipeline_integration(raw=pl.load_raw, fit_fn=pl.fit, expected_columns={"clean": ["a"]})
    with pytest.raises(ValueError, match="fit_fn must be callable"):
        pipeline_integration(raw=pl.load_raw, fit_fn=42)  # type: ignore[arg-type]


def test_expected_columns_per_stage():
    result = pipeline_integration(
        raw=pl.load_raw,
        build_features=pl.build_features,
        fit_fn=pl.fit,
        target=pl.TARGET,
        expected_columns={"load_raw": ["species", "year", "colony_id"]},
        sample=50,
    )
    assert result.verdict == "fail"
    assert "'colony_id'" in _stage(result, "load_raw")[4]
    assert "'year'" not in _stage(result, "load_raw")[4]


# --- infra-4 -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def split():
    df = penguins()
    train, val = train_test_split(df, test_size=0.4, random_state=0, stratify=df[TARGET])
    return train, val


def test_new_model_worse_than_previous_fails_the_gate(split):
    train, val = split
    previous = fit_forest(train, 0)
    worse = fit_forest(shuffled_labels(train, seed=1), 0)
    X, y = val[FEATURES], val[TARGET]
    result = validation_gate(worse, X, y, previous=previous)
    assert result.verdict == "fail"
    acc_prev = accuracy_score(y, previous.predict(X))
    acc_new = accuracy_score(y, worse.predict(X))
    assert acc_prev - acc_new > 0.3
    assert result.metrics["accuracy_new"] == pytest.approx(acc_new)
    assert result.metrics["accuracy_previous"] == pytest.approx(acc_prev)
    row = result.table.rows[0]
    assert row[0] == "vs previous" and row[-1] == "FAILED"
    assert row[2] == pytest.approx(acc_new) and row[3] == pytest.approx(acc_prev)


def test_same_quality_passes_and_absolute_threshold_decides(split):
    train, val = split
    model = fit_forest(train, 0)
    X, y = val[FEATURES], val[TARGET]
    acc = accuracy_score(y, model.predict(X))
    assert validation_gate(model, X, y, previous=fit_forest(train, 0)).verdict == "pass"
    assert validation_gate(model, X, y, threshold=acc - 0.01).verdict == "pass"
    high = validation_gate(model, X, y, threshold=min(1.0, acc + 0.005))
    assert high.verdict == ("fail" if acc + 0.005 <= 1.0 else "pass")


def test_gate_direction_follows_the_metric():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.3, random_state=0)
    ridge = make_pipeline(StandardScaler(), Ridge()).fit(Xtr, ytr)
    dummy = DummyRegressor().fit(Xtr, ytr)
    rmse_ridge = mean_squared_error(yva, ridge.predict(Xva)) ** 0.5
    rmse_dummy = mean_squared_error(yva, dummy.predict(Xva)) ** 0.5
    assert rmse_ridge < rmse_dummy
    # rmse: lower is better, so the threshold is a ceiling and the dummy is the worse model.
    assert validation_gate(ridge, Xva, yva, threshold=rmse_ridge + 1).verdict == "pass"
    assert validation_gate(ridge, Xva, yva, threshold=rmse_ridge - 1).verdict == "fail"
    assert validation_gate(ridge, Xva, yva, previous=dummy).verdict == "pass"
    assert validation_gate(dummy, Xva, yva, previous=ridge).verdict == "fail"
    # An absolute allowance in metric units can accept the gap.
    gap = rmse_dummy - rmse_ridge
    assert validation_gate(dummy, Xva, yva, previous=ridge, max_drop=gap + 0.1).verdict == "pass"
    r2 = validation_gate(ridge, Xva, yva, metric="r2", previous=dummy)
    assert r2.verdict == "pass" and r2.metrics["r2_new"] > r2.metrics["r2_previous"]


def test_gate_skips_without_enough_labels_and_drops_missing_ones(split):
    train, val = split
    model = fit_forest(train, 0)
    small = val.head(10)
    result = validation_gate(model, small[FEATURES], small[TARGET], threshold=0.5)
    assert result.verdict == "skip"
    y = val[TARGET].astype(object).copy()
    y.iloc[:5] = None
    noted = validation_gate(model, val[FEATURES], y, threshold=0.5)
    assert noted.metrics["rows"] == len(val) - 5
    assert any("5 rows without a label" in n for n in noted.notes)


def test_gate_validates_arguments(split):
    train, val = split
    model = fit_forest(train, 0)
    with pytest.raises(ValueError, match="nothing to gate"):
        validation_gate(model, val[FEATURES], val[TARGET])
    with pytest.raises(ValueError, match="unknown metric"):
        validation_gate(model, val[FEATURES], val[TARGET], metric="acc", threshold=0.5)


# --- infra-5 -------------------------------------------------------------------------------


def test_trace_shows_every_step_with_values_that_can_be_checked():
    df = penguins()
    model = fit_forest(df, 0)
    row = df[FEATURES].iloc[[7]]
    trace = trace_example(model, row)
    assert isinstance(trace, Trace)
    names = [s.name for s in trace]
    assert names[0] == "input"
    assert "columntransformer/pipeline/standardscaler" in names
    assert "columntransformer/onehotencoder" in names
    assert names[-1] == "randomforestclassifier"
    # The scaler branch's output is (x - mean) / scale of the imputed example.
    ct = model.named_steps["columntransformer"]
    scaler = ct.named_transformers_["pipeline"].named_steps["standardscaler"]
    numeric = row[ct.transformers_[0][2]].to_numpy(dtype=float)
    step = next(s for s in trace if s.name.endswith("standardscaler"))
    np.testing.assert_allclose(step.output, (numeric - scaler.mean_) / scaler.scale_)
    assert step.names[0] == "bill_length_mm"
    proba = next(s for s in trace if s.kind == "predict_proba")
    assert proba.output.sum() == pytest.approx(1.0)
    assert proba.shape == (1, 3)
    rendered = trace.render()
    assert "island_Torgersen=" in rendered and "predict_proba" in rendered
    assert trace.rows()[0] == ("input", (1, 6), trace.steps[0].preview)


def test_trace_of_a_list_of_callables_and_a_series():
    df = penguins()

    def add_ratio(frame):
        return frame.assign(ratio=frame["bill_length_mm"] / frame["bill_depth_mm"])

    def numeric_only(frame):
        return frame.select_dtypes("number")

    trace = trace_example([add_ratio, numeric_only, np.log], df[FEATURES].iloc[0])
    assert [s.name for s in trace] == ["input", "0:add_ratio", "1:numeric_only", "2:log"]
    expected = np.log(df.loc[0, "bill_length_mm"] / df.loc[0, "bill_depth_mm"])
    assert trace.steps[-1].output["ratio"].iloc[0] == pytest.approx(expected)
    assert trace.steps[2].shape == (1, 5)


def test_debuggable_passes_and_fails_naming_the_step_and_value():
    df = penguins()
    model = mass_model_log_features()
    X = df[MASS_FEATURES].head(4).copy()
    ok = debuggable(model, X, row=2)
    assert ok.verdict == "pass"
    assert "trace:" in ok.message() and "histgradientboostingregressor" in ok.message()
    X.iloc[3, 0] = -1.0  # a sensor error: the log makes NaN, the tree model hides it
    assert np.isfinite(model.predict(X)).all()
    bad = debuggable(model, X, row=3)
    assert bad.verdict == "fail"
    steps = [r[0] for r in bad.table.rows]
    assert steps[0] == "functiontransformer"
    assert "bill_length_mm=nan" in bad.table.rows[0][2]
    assert "bill_depth_mm" not in bad.table.rows[0][2]


def test_debuggable_reports_a_step_that_raises():
    df = penguins()

    def needs_year(frame):
        return frame.assign(age=2026 - frame["year"])

    result = debuggable([needs_year, np.log], df[FEATURES], row=0)
    assert result.verdict == "fail"
    assert result.table.rows[0][0] == "0:needs_year"
    assert "KeyError" in result.table.rows[0][2]
    assert "1:log" not in result.message()


def test_trace_validates_arguments():
    df = penguins()
    model = fit_forest(df, 0)
    with pytest.raises(ValueError, match="exactly one example"):
        trace_example(model, df[FEATURES].head(2))
    with pytest.raises(ValueError, match="outside"):
        debuggable(model, df[FEATURES].head(2), row=5)
    with pytest.raises(ValueError, match="Pipeline"):
        trace_example(object(), df[FEATURES].head(1))

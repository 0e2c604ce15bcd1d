"""infra-6 (canary in a fresh serving process) and infra-7 (rollback to the previous model)."""

from __future__ import annotations

import itertools
import re

import joblib
import numpy as np
import pandas as pd
import pytest
from infra_fixtures.models import (
    DIABETES_FEATURES,
    SlowPredictor,
    diabetes,
    progression_sqrt_target,
)
from infra_fixtures.penguins import FEATURES, TARGET, fit_forest, penguins, shuffled_labels
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pytest_mltestscore.checks.infra.canary import canary
from pytest_mltestscore.checks.infra.rollback import rollback_ready
from pytest_mltestscore.fresh_process import MODE_VARIABLE
from pytest_mltestscore.loading import save_model_artifact


@pytest.fixture(scope="module")
def split():
    df = penguins()
    return train_test_split(df, test_size=0.5, random_state=0, stratify=df[TARGET])


@pytest.fixture(scope="module")
def artifacts(split, tmp_path_factory):
    train, _ = split
    folder = tmp_path_factory.mktemp("artifacts")
    paths = {
        "previous": save_model_artifact(fit_forest(train, 0), folder / "previous.skops"),
        "retrained": save_model_artifact(fit_forest(train, 1), folder / "retrained.skops"),
        "diverging": save_model_artifact(
            fit_forest(shuffled_labels(train, seed=1), 0), folder / "diverging.skops"
        ),
    }
    return paths


# --- infra-6 -------------------------------------------------------------------------------


def test_retrained_model_passes_the_canary(artifacts, split):
    _, serving = split
    result = canary(
        artifacts["retrained"], artifacts["previous"], serving[FEATURES], max_latency_ratio=None
    )
    assert result.verdict == "pass", result.message()
    assert result.metrics["agreement"] >= 0.9
    assert result.metrics["rows"] == len(serving)
    # Latency is measured and shown, but with max_latency_ratio=None it does not judge.
    assert result.metrics["latency_ratio"] > 0
    latency = [r for r in result.table.rows if r[0].startswith("latency ratio")]
    assert latency and latency[0][3] == "info"


def _without_timings(result):
    """A canary result without what the clock decides (latencies, load time)."""
    metrics = {k: v for k, v in result.metrics.items() if "latency" not in k}
    rows = [row for row in result.table.rows if not row[0].startswith("latency")]
    notes = [re.sub(r"[0-9.e-]+ s\b", "N s", note) for note in result.notes]
    # the load time's note says whether the warm process had imported scikit-learn already
    notes = [
        re.sub(r"\((imports included|scikit-learn already imported[^)]*)\)", "(...)", n)
        for n in notes
    ]
    return result.verdict, result.summary, metrics, rows, notes


@pytest.mark.parametrize("new", ["retrained", "diverging"])
def test_the_canary_judges_the_same_warm_and_cold(artifacts, split, monkeypatch, new):
    _, serving = split
    results = {}
    for mode in ("cold", "warm"):
        monkeypatch.setenv(MODE_VARIABLE, mode)
        results[mode] = canary(
            artifacts[new], artifacts["previous"], serving[FEATURES], max_latency_ratio=None
        )
    assert _without_timings(results["warm"]) == _without_timings(results["cold"])
    assert "(imports included)" in results["cold"].notes[0]
    assert "already imported by the warm process" in results["warm"].notes[0]
    assert results["warm"].verdict == ("pass" if new == "retrained" else "fail")


def test_diverging_canary_fails_with_the_numbers(artifacts, split):
    train, serving = split
    previous = fit_forest(train, 0)
    # The previous model given as an object: only the new one goes through the fresh process.
    result = canary(artifacts["diverging"], previous, serving[FEATURES], max_latency_ratio=None)
    assert result.verdict == "fail"
    agreement = result.metrics["agreement"]
    diverging = fit_forest(shuffled_labels(train, seed=1), 0)
    expected = float(
        np.mean(diverging.predict(serving[FEATURES]) == previous.predict(serving[FEATURES]))
    )
    assert agreement == pytest.approx(expected)
    assert agreement < 0.6
    failed = {r[0].split(" (")[0] for r in result.table.rows if r[3] == "FAILED"}
    assert "label agreement" in failed


def test_canary_refuses_an_untrusted_pickle_in_the_serving_process(split, tmp_path, artifacts):
    train, serving = split
    path = tmp_path / "new.joblib"
    joblib.dump(fit_forest(train, 1), path)
    refused = canary(path, artifacts["previous"], serving[FEATURES], max_latency_ratio=None)
    assert refused.verdict == "fail"
    assert "default model: loading failed" in refused.summary
    assert "arbitrary code" in refused.summary


def test_regression_canary_and_latency_regression(tmp_path):
    df = diabetes()
    train, serving = train_test_split(df, test_size=0.4, random_state=0)
    X = serving[DIABETES_FEATURES]
    ridge = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(
        train[DIABETES_FEATURES], train["target"]
    )
    dummy = DummyRegressor().fit(train[DIABETES_FEATURES], train["target"])
    flat = canary(
        save_model_artifact(dummy, tmp_path / "d.skops"), ridge, X, max_latency_ratio=None
    )
    assert flat.verdict == "fail"
    # A constant model: W1 between the predictions is the mean distance from that constant.
    p = ridge.predict(X)
    w1 = np.mean(np.abs(np.sort(p) - np.sort(dummy.predict(X)))) / np.std(p)
    assert flat.metrics["output_shift_sd"] == pytest.approx(w1)

    # 0.2 s of sleep per call against a Ridge predicting in well under a millisecond.
    slow_path = tmp_path / "slow.joblib"
    joblib.dump(SlowPredictor(ridge, 0.2), slow_path)
    slow = canary(slow_path, ridge, X, trusted=True, repeats=2)
    assert slow.verdict == "fail"
    assert slow.metrics["latency_ratio"] > 3
    assert slow.metrics["mean_abs_diff_sd"] == 0.0
    assert "latency ratio" in slow.summary


def test_canary_skips_on_too_few_rows_and_validates(artifacts, split):
    _, serving = split
    few = canary(artifacts["retrained"], artifacts["previous"], serving[FEATURES].head(5))
    assert few.verdict == "skip"
    with pytest.raises(ValueError, match="min_agreement"):
        canary(artifacts["retrained"], artifacts["previous"], serving[FEATURES], min_agreement=1.5)


# --- infra-7 -------------------------------------------------------------------------------


def test_previous_model_ready_for_rollback(artifacts, split):
    train, serving = split
    result = rollback_ready(artifacts["previous"], serving[FEATURES], reference=train)
    assert result.verdict == "pass", result.message()
    assert [r[0] for r in result.table.rows] == [
        "artifact kept",
        "loads",
        "features present",
        "types compatible",
        "predicts",
    ]


def test_missing_artifact_fails(tmp_path, split):
    _, serving = split
    result = rollback_ready(tmp_path / "v41.skops", serving[FEATURES])
    assert result.verdict == "fail"
    assert "does not exist" in result.summary


def test_previous_model_no_longer_accepts_serving_data(artifacts, split):
    train, serving = split
    renamed = serving[FEATURES].rename(columns={"sex": "gender"})
    result = rollback_ready(artifacts["previous"], renamed)
    assert result.verdict == "fail"
    assert "'sex'" in result.summary
    assert "'gender'" not in result.summary

    retyped = serving[FEATURES].copy()
    retyped["body_mass_g"] = retyped["body_mass_g"].map(lambda g: f"{g:.0f} g")
    with_reference = rollback_ready(artifacts["previous"], retyped, reference=train)
    assert with_reference.verdict == "fail"
    assert "'body_mass_g' (numeric -> text/category)" in with_reference.summary
    without = rollback_ready(artifacts["previous"], retyped)
    assert without.verdict == "fail"
    assert "cannot predict" in without.summary


def test_untrusted_pickle_and_invalid_outputs_fail(tmp_path, split):
    train, serving = split
    path = tmp_path / "previous.pkl"
    joblib.dump(fit_forest(train, 0), path)
    refused = rollback_ready(path, serving[FEATURES])
    assert refused.verdict == "fail" and "arbitrary code" in refused.summary
    assert rollback_ready(path, serving[FEATURES], trusted=True).verdict == "pass"

    model = progression_sqrt_target()
    nan_path = save_model_artifact(model, tmp_path / "progression.skops")
    X = diabetes()[DIABETES_FEATURES]
    lo, hi = X.min(), X.max()
    corners = pd.DataFrame(
        [
            [(hi if b else lo)[c] for c, b in zip(DIABETES_FEATURES, bits, strict=True)]
            for bits in itertools.product([0, 1], repeat=len(DIABETES_FEATURES))
        ],
        columns=DIABETES_FEATURES,
    )
    serving_rows = pd.concat([X.head(20), corners], ignore_index=True)
    result = rollback_ready(nan_path, serving_rows, trusted=["infra_fixtures.models.safe_sqrt"])
    assert result.verdict == "fail"
    assert any(r[0] == "valid output: finite" for r in result.table.rows)

"""model-4 (staleness curve) and model-2 (offline/online correlation, degradation ladder).

Data whose quality really decays with age, from packages: the vega_datasets ``cars`` table
(1970-1982). Fuel economy improved year after year for cars of the same weight and power, so a
miles-per-gallon model trained on 1970-1974 underestimates later cars more and more. The Seattle
weather table (2012-2015, daily) is the stable counterpart: the relation between the day's
minimum and maximum temperature, given the season, does not drift across years.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits
from vega_datasets import local_data

from pytest_mltestscore.checks.model.online import (
    DegradationLadder,
    degradation_ladder,
    offline_online_correlation,
)
from pytest_mltestscore.checks.model.staleness_curve import staleness_curve

CAR_FEATURES = ["Weight_in_lbs", "Horsepower", "Displacement", "Cylinders"]
WEATHER_FEATURES = ["temp_min", "season_sin", "season_cos", "precipitation", "wind"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def cars() -> pd.DataFrame:
    # Read the file directly: vega_datasets' loader passes a keyword pandas 3 deprecates.
    return pd.read_json(local_data.cars.filepath).dropna().reset_index(drop=True)


@pytest.fixture(scope="module")
def weather() -> pd.DataFrame:
    data = pd.read_csv(local_data.seattle_weather.filepath, parse_dates=["date"])
    angle = 2 * np.pi * data.date.dt.day_of_year / 365.25
    data["season_sin"], data["season_cos"] = np.sin(angle), np.cos(angle)
    return data


def fit_mpg(train: pd.DataFrame, seed: int):
    return make_pipeline(StandardScaler(), Ridge()).fit(
        train[CAR_FEATURES], train["Miles_per_Gallon"]
    )


def fit_temp(train: pd.DataFrame, seed: int):
    return make_pipeline(StandardScaler(), Ridge()).fit(train[WEATHER_FEATURES], train["temp_max"])


def _cars_curve(cars, **kwargs):
    args = dict(periods="365D", train_until="1974-12-31", tolerance=1.0, min_period_rows=20)
    return staleness_curve(
        fit_mpg, cars, "Year", "Miles_per_Gallon", CAR_FEATURES, **{**args, **kwargs}
    )


# ---------------------------------------------------------------- model-4


def test_model4_fails_when_quality_decays_before_the_required_age(cars):
    result = _cars_curve(cars, max_tolerable_age_days=1000)
    assert result.verdict == "fail", result.message()
    rows = result.table.rows
    assert rows[0][-1] == "reference (freshest)"
    # 1975 is the reference, 1976 within 1 mpg, 1977 beyond: tolerable age two years.
    assert rows[1][-1].startswith("within tolerance")
    assert rows[2][-1].startswith("beyond tolerance")
    assert result.metrics["tolerable_age_days"] == pytest.approx(730, abs=2)
    assert result.metrics["tolerable_age_is_lower_bound"] == 0
    judged = [r[3] for r in rows if r[3] is not None]
    assert judged[-1] > judged[0] + 3  # the curve rises: older means worse
    # Independent value: the 1977 model-year cars scored with a model fitted on 1970-1974.
    model = fit_mpg(cars[pd.to_datetime(cars.Year) <= "1974-12-31"], 0)
    y77 = cars[pd.to_datetime(cars.Year).dt.year == 1977]
    rmse = np.sqrt(mean_squared_error(y77.Miles_per_Gallon, model.predict(y77[CAR_FEATURES])))
    assert rows[2][3] == pytest.approx(rmse)
    assert rows[2][2] == len(y77)
    assert "required 1000 days" in result.summary and "rmse" in result.summary


def test_model4_without_a_requirement_records_the_curve_and_passes(cars):
    result = _cars_curve(cars)
    assert result.verdict == "pass"
    assert result.metrics["tolerable_age_days"] == pytest.approx(730, abs=2)
    assert "tolerable age 730 days" in result.summary
    empty = [r for r in result.table.rows if r[2] == 0]  # no 1981 cars in the data
    assert empty and empty[0][-1] == "too few rows to judge"


def _weather_curve(weather, **kwargs):
    args = dict(periods="365D", train_until="2012-12-31", tolerance=0.5)
    return staleness_curve(
        fit_temp, weather, "date", "temp_max", WEATHER_FEATURES, **{**args, **kwargs}
    )


def test_model4_passes_a_model_that_stays_fresh(weather):
    result = _weather_curve(weather, max_tolerable_age_days=900)
    assert result.verdict == "pass", result.message()
    assert result.metrics["tolerable_age_is_lower_bound"] == 1
    assert result.metrics["tolerable_age_days"] >= 900
    assert "at least" in result.summary


def test_model4_skips_when_the_data_is_too_short_for_the_requirement(weather):
    result = _weather_curve(weather, max_tolerable_age_days=5000)
    assert result.verdict == "skip"
    assert "does not reach the required 5000 days" in result.summary


def test_model4_takes_a_frozen_model(cars):
    frozen = fit_mpg(cars[pd.to_datetime(cars.Year) <= "1974-12-31"], 0)
    a = staleness_curve(
        frozen,
        cars,
        "Year",
        "Miles_per_Gallon",
        CAR_FEATURES,
        periods="365D",
        train_until="1974-12-31",
        tolerance=1.0,
        min_period_rows=20,
    )
    b = _cars_curve(cars)
    assert [r[3] for r in a.table.rows] == [r[3] for r in b.table.rows]
    assert "frozen model" in a.summary
    with pytest.raises(ValueError, match="frozen model needs train_until"):
        staleness_curve(frozen, cars, "Year", "Miles_per_Gallon", CAR_FEATURES)


def test_model4_defaults_split_at_the_median_time_into_equal_periods(cars):
    result = staleness_curve(
        fit_mpg, cars, "Year", "Miles_per_Gallon", CAR_FEATURES, periods=3, min_period_rows=20
    )
    assert len(result.table.rows) == 3
    median = pd.to_datetime(cars.Year, utc=True).quantile(0.5)
    trained = int((pd.to_datetime(cars.Year, utc=True) <= median).sum())
    assert f"trained on {trained} rows" in result.summary


def test_model4_classification_with_too_few_rows_per_period(weather):
    def fit_rain(train, seed):
        X = train[[*WEATHER_FEATURES[1:], "temp_max"]]
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(
            X, train["weather"]
        )

    feats = [*WEATHER_FEATURES[1:], "temp_max"]
    ok = staleness_curve(
        fit_rain, weather, "date", "weather", feats, periods=4, train_until="2013-12-31"
    )
    assert ok.verdict == "pass" and ok.table.columns[3] == "accuracy"
    few = staleness_curve(
        fit_rain,
        weather,
        "date",
        "weather",
        feats,
        periods=4,
        train_until="2013-12-31",
        min_period_rows=200,
    )
    assert few.verdict == "skip" and "fewer than two periods" in few.summary


def test_model4_bad_timestamps_fail_naming_the_rows(cars):
    broken = cars.copy()
    broken.loc[5, "Year"] = "not a year"
    result = _cars_curve(broken)
    assert result.verdict == "fail"
    assert "row 5: 'not a year'" in result.summary
    assert result.table.rows[0] == (5, "not a year")


def test_model4_rejects_bad_arguments(cars):
    with pytest.raises(ValueError, match="did you mean 'Horsepower'"):
        staleness_curve(fit_mpg, cars, "Year", "Miles_per_Gallon", ["Horsepowr"])
    with pytest.raises(ValueError, match="periods must be"):
        _cars_curve(cars, periods="sometimes")
    with pytest.raises(ValueError, match="train_until must be a date"):
        _cars_curve(cars, train_until="the seventies")
    with pytest.raises(ValueError, match="fit_fn_or_model"):
        staleness_curve(42, cars, "Year", "Miles_per_Gallon", CAR_FEATURES)


def test_model4_skips_without_later_rows(cars):
    result = _cars_curve(cars, train_until="1990-01-01")
    assert result.verdict == "skip" and "no rows after" in result.summary


# ---------------------------------------------------------------- model-2


def test_model2_passes_when_the_rankings_agree():
    result = offline_online_correlation(
        [0.71, 0.75, 0.80, 0.84, 0.90], [0.010, 0.012, 0.011, 0.015, 0.018]
    )
    assert result.verdict == "pass"
    # Independent value: Spearman's formula with rank differences (0, 1, -1, 0, 0).
    assert result.metrics["spearman"] == pytest.approx(1 - 6 * 2 / (5 * 24))
    assert [row[-1] for row in result.table.rows] == [0, 1, -1, 0, 0]


def test_model2_fails_when_offline_gains_do_not_show_online():
    result = offline_online_correlation(
        [1, 2, 3, 4, 5, 6], [3, 1, 2, 6, 4, 5], labels=list("abcdef"), threshold=0.7
    )
    assert result.verdict == "fail"
    assert result.metrics["spearman"] == pytest.approx(1 - 6 * 12 / (6 * 35))
    assert "threshold 0.7" in result.summary
    assert result.table.rows[0][0] == "a"


def test_model2_negative_direction_for_a_loss_against_a_gain():
    log_loss = [0.30, 0.25, 0.22, 0.20, 0.15]
    revenue = [100, 104, 103, 110, 120]
    assert offline_online_correlation(log_loss, revenue).verdict == "fail"
    result = offline_online_correlation(log_loss, revenue, direction="negative")
    assert result.verdict == "pass" and "negated" in result.summary


def test_model2_skips_with_few_pairs_or_a_constant_metric():
    few = offline_online_correlation([0.1, 0.2, np.nan, 0.4], [1, 2, 3, 4])
    assert few.verdict == "skip" and "only 3 complete" in few.summary
    assert "1 pairs with a missing value" in few.notes[0]
    flat = offline_online_correlation([0.5] * 6, [1, 2, 3, 4, 5, 6])
    assert flat.verdict == "skip" and "offline metric is the same" in flat.summary
    with pytest.raises(ValueError, match="pair up"):
        offline_online_correlation([1, 2, 3], [1, 2])


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return train_test_split(X, y, test_size=0.5, random_state=0, stratify=y)


def fit_cancer(train: pd.DataFrame, seed: int):
    X = train.drop(columns="target")
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(
        X, train["target"]
    )


def test_degradation_ladder_label_noise(cancer):
    Xtr, Xev, ytr, yev = cancer
    ladder = degradation_ladder(fit_cancer, Xtr, ytr, Xev, yev, levels=(0, 0.2, 0.45))
    assert isinstance(ladder, DegradationLadder)
    clean = fit_cancer(Xtr.assign(target=ytr), 0)
    assert ladder.offline[0] == pytest.approx(accuracy_score(yev, clean.predict(Xev)))
    assert ladder.offline[2] < ladder.offline[0]
    assert [row[2] for row in ladder.table.rows] == [0, 0.2, 0.45]
    # The degraded variants are real models one can serve.
    assert accuracy_score(yev, ladder.models[2].predict(Xev)) == pytest.approx(ladder.offline[2])
    again = degradation_ladder(fit_cancer, Xtr, ytr, Xev, yev, levels=(0, 0.2, 0.45))
    assert again.offline == ladder.offline


def test_degradation_ladder_feature_noise_then_correlate(cancer):
    Xtr, Xev, ytr, yev = cancer
    model = fit_cancer(Xtr.assign(target=ytr), 0)
    ladder = degradation_ladder(
        model, Xtr, ytr, Xev, yev, kind="feature_noise", levels=(0, 0.5, 1, 2, 4)
    )
    assert ladder.offline[0] == pytest.approx(accuracy_score(yev, model.predict(Xev)))
    assert list(ladder.offline) == sorted(ladder.offline, reverse=True)
    assert ladder.models[1].predict_proba(Xev).shape == (len(Xev), 2)
    # Online click-through measured per variant (here: made to follow quality).
    online = [0.031, 0.030, 0.027, 0.022, 0.015]
    result = ladder.correlate(online)
    assert result.verdict == "pass"
    assert result.table.rows[0][0] == "feature_noise 4"


def test_degradation_ladder_rejects_bad_arguments(cancer):
    Xtr, Xev, ytr, yev = cancer
    model = fit_cancer(Xtr.assign(target=ytr), 0)
    with pytest.raises(ValueError, match="pass a fit"):
        degradation_ladder(model, Xtr, ytr, Xev, yev)
    with pytest.raises(ValueError, match="between 0 and 1"):
        degradation_ladder(fit_cancer, Xtr, ytr, Xev, yev, levels=(0, 1.5))
    with pytest.raises(ValueError, match="kind must be"):
        degradation_ladder(model, Xtr, ytr, Xev, yev, kind="gremlins")

"""monitor-3: training/serving skew joined on ids, and feature code run on the same raw rows."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import palmerpenguins
import pandas as pd
import pytest
import vega_datasets

from pytest_mltestscore.checks.monitor.skew import feature_code_skew, training_serving_skew
from pytest_mltestscore.result import enforce


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    return palmerpenguins.load_penguins().reset_index(names="penguin_id")


@pytest.fixture(scope="module")
def weather() -> pd.DataFrame:
    path = Path(vega_datasets.__file__).parent / "_data" / "seattle-weather.csv"
    return pd.read_csv(path)


def test_identical_features_pass_whatever_the_row_order(penguins):
    # The serving log holds a shuffled subset: the join must align rows by id, not position.
    serving = penguins.sample(frac=0.6, random_state=1)
    assert penguins.isna().any().any()  # NaN on both sides must count as equal
    result = training_serving_skew(penguins, serving, "penguin_id")
    assert result.verdict == "pass", result.message()
    assert result.metrics["joined_examples"] == len(serving)
    assert result.metrics["features_compared"] == penguins.shape[1] - 1
    assert enforce(result) is result


def test_a_feature_computed_differently_for_some_ids_fails(penguins):
    serving = penguins.copy()
    wrong = (serving["penguin_id"] % 17 == 0) & serving["body_mass_g"].notna()
    # The serving path forgot the unit conversion for these examples: kilograms, not grams.
    serving.loc[wrong, "body_mass_g"] = serving.loc[wrong, "body_mass_g"] / 1000
    result = training_serving_skew(penguins, serving, "penguin_id")
    assert result.verdict == "fail"
    assert result.metrics["skewed_features"] == 1
    assert result.metrics["affected_examples"] == wrong.sum()
    (row,) = result.table.rows
    assert row[0] == "body_mass_g"
    assert row[6] == wrong.sum()
    # The examples name ids that really were changed, with both values.
    shown = [int(i) for i in re.findall(r"(\d+): ", row[7])]
    wrong_ids = set(serving.loc[wrong, "penguin_id"])
    assert shown and set(shown) <= wrong_ids
    first = shown[0]
    grams = penguins.loc[penguins.penguin_id == first, "body_mass_g"].item()
    assert f"{first}: {grams:g} vs {grams / 1000:g}" in row[7]
    assert "worst examples" in result.message()
    with pytest.raises(AssertionError, match="body_mass_g"):
        enforce(result)


def test_categorical_values_must_match_exactly(penguins):
    serving = penguins.copy()
    serving["island"] = serving["island"].str.lower()
    result = training_serving_skew(penguins, serving, "penguin_id", features=["island", "sex"])
    assert result.verdict == "fail"
    assert [r[0] for r in result.table.rows] == ["island"]
    assert result.metrics["affected_examples"] == penguins["island"].notna().sum()


def test_float_tolerance_is_configurable(penguins):
    serving = penguins.copy()
    serving["bill_length_mm"] = serving["bill_length_mm"] * (1 + 1e-9)
    assert training_serving_skew(penguins, serving, "penguin_id").verdict == "pass"
    strict = training_serving_skew(penguins, serving, "penguin_id", rtol=0, atol=0)
    assert strict.verdict == "fail"
    assert strict.table.rows[0][0] == "bill_length_mm"


def test_a_nan_on_one_side_only_is_skew(penguins):
    serving = penguins.copy()
    serving.loc[serving.index[:3], "flipper_length_mm"] = np.nan
    changed = penguins.loc[penguins.index[:3], "flipper_length_mm"].notna().sum()
    result = training_serving_skew(penguins, serving, "penguin_id")
    assert result.verdict == "fail"
    assert result.metrics["affected_examples"] == changed


def test_duplicate_ids_are_reported(penguins):
    serving = pd.concat([penguins, penguins.iloc[[5, 6]]])
    result = training_serving_skew(penguins, serving, "penguin_id")
    assert result.verdict == "fail"
    (row,) = result.table.rows
    assert row[0] == "penguin_id" and "duplicate ids in serving" in row[1]
    assert row[6] == 4  # two ids, each on two rows
    # The same rows served twice are harmless once the caller says which to keep.
    kept = training_serving_skew(penguins, serving, "penguin_id", duplicates="first")
    assert kept.verdict == "pass"
    assert any("kept the first" in n for n in kept.notes)


def test_no_shared_id_skips_and_says_why(penguins):
    serving = penguins.assign(penguin_id=penguins["penguin_id"].astype(str))
    result = training_serving_skew(penguins, serving, "penguin_id")
    assert result.verdict == "skip"
    assert "cast one side" in result.summary
    other = penguins.assign(penguin_id=penguins["penguin_id"] + 10_000)
    assert training_serving_skew(penguins, other, "penguin_id").verdict == "skip"


def test_a_feature_missing_from_serving_fails(penguins):
    serving = penguins.drop(columns=["sex"])
    result = training_serving_skew(penguins, serving, "penguin_id", features=["sex", "island"])
    assert result.verdict == "fail"
    assert result.table.rows[0][:1] == ("sex",) and "missing in serving" in result.table.rows[0][4]
    # Without an explicit list, only shared columns are compared and the rest noted.
    loose = training_serving_skew(penguins, serving, "penguin_id")
    assert loose.verdict == "pass"
    assert any("only in training: sex" in n for n in loose.notes)


def test_invalid_arguments_raise_clear_errors(penguins):
    with pytest.raises(ValueError, match=r"did you mean 'penguin_id'"):
        training_serving_skew(penguins, penguins, "Penguin_ID")
    with pytest.raises(ValueError, match=r"bill_length_mm"):
        training_serving_skew(penguins, penguins, "penguin_id", features=["bill_lenght_mm"])
    with pytest.raises(ValueError, match="rtol"):
        training_serving_skew(penguins, penguins, "penguin_id", rtol=-1)
    with pytest.raises(ValueError, match="DataFrame"):
        training_serving_skew(penguins.to_numpy(), penguins, "penguin_id")
    with pytest.raises(ValueError, match="duplicates"):
        training_serving_skew(penguins, penguins, "penguin_id", duplicates="drop")


# Feature code for the weather data: the training pipeline (pandas) and a serving
# re-implementation (numpy, as a request handler might do it).
def _train_features(raw: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=raw.index)
    out["temp_range"] = raw["temp_max"] - raw["temp_min"]
    out["month"] = pd.to_datetime(raw["date"]).dt.month
    out["wet"] = raw["precipitation"] > 0
    out["weather"] = raw["weather"]
    return out


def _serve_features(raw: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=raw.index)
    out["temp_range"] = np.subtract(raw["temp_max"].to_numpy(), raw["temp_min"].to_numpy())
    out["month"] = raw["date"].str.slice(5, 7).astype(int)
    out["wet"] = raw["precipitation"].to_numpy() > 0.0
    out["weather"] = raw["weather"]
    return out


def test_equivalent_feature_code_passes(weather):
    result = feature_code_skew(weather, _train_features, _serve_features)
    assert result.verdict == "pass", result.message()
    assert result.metrics["features_compared"] == 4


def test_feature_code_that_rounds_differently_fails(weather):
    def serve(raw: pd.DataFrame) -> pd.DataFrame:
        out = _serve_features(raw)
        out["temp_range"] = out["temp_range"].round(0)  # the serving code rounds
        return out

    result = feature_code_skew(weather, _train_features, serve)
    assert result.verdict == "fail"
    spread = (weather.temp_max - weather.temp_min).to_numpy()
    # Rows where rounding moved the value by more than the default tolerance (float noise
    # such as 3.0000000000000004 -> 3.0 is not skew).
    expected = int((~np.isclose(spread.round(0), spread, rtol=1e-6, atol=1e-9)).sum())
    assert expected > 1000
    assert result.table.rows[0][0] == "temp_range"
    assert result.metrics["affected_examples"] == expected


def test_missing_and_extra_output_columns_fail(weather):
    def serve(raw: pd.DataFrame) -> pd.DataFrame:
        return _serve_features(raw).drop(columns=["wet"]).assign(windy=raw["wind"] > 5)

    result = feature_code_skew(weather, _train_features, serve)
    assert result.verdict == "fail"
    rows = {r[0]: r[4] for r in result.table.rows}
    assert rows == {"wet": "missing in serving output", "windy": "extra in serving output"}


def test_feature_code_that_raises_is_a_failure_not_a_crash(weather):
    def broken(raw: pd.DataFrame) -> pd.DataFrame:
        return raw.assign(x=raw["no_such_column"])

    result = feature_code_skew(weather, _train_features, broken)
    assert result.verdict == "fail"
    assert "serving_fn" in result.table.rows[0][1]
    assert "KeyError" in result.table.rows[0][4]


def test_feature_code_may_drop_rows_when_joined_on_an_id(weather):
    raw = weather.reset_index(names="day")

    def train(r: pd.DataFrame) -> pd.DataFrame:
        return _train_features(r).assign(day=r["day"])

    def serve(r: pd.DataFrame) -> pd.DataFrame:
        # Serving skips dry days and returns rows newest first.
        kept = r[r["precipitation"] > 0].iloc[::-1]
        return _serve_features(kept).assign(day=kept["day"])

    by_position = feature_code_skew(raw, train, serve)
    assert by_position.verdict == "fail"
    assert "different numbers of rows" in by_position.summary
    joined = feature_code_skew(raw, train, serve, id_column="day")
    assert joined.verdict == "pass", joined.message()
    assert joined.metrics["joined_examples"] == (weather["precipitation"] > 0).sum()


def test_feature_code_on_no_rows_skips(weather):
    assert feature_code_skew(weather.iloc[:0], _train_features, _serve_features).verdict == "skip"

"""Unit tests of the feature code (data-7: line coverage of weather_model.features is measured
while these run), and the agreement of its two code paths on every real day (monitor-3)."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from weather_model import features as F
from weather_model.records import daily_records

from pytest_mltestscore import checks

pytestmark = pytest.mark.rubric("data-7")

SUMMARY = {"precipitation": 10.9, "temp_max": 10.6, "temp_min": 2.8, "wind": 4.5}


def test_features_of_a_wet_day():
    row = F.features_of_day(SUMMARY)
    assert row["log_precipitation"] == pytest.approx(math.log(11.9))
    assert row["rained"] == 1
    assert (row["temp_max"], row["temp_min"], row["wind"]) == (10.6, 2.8, 4.5)
    assert list(row) == [*F.MODEL_FEATURES, *F.LOGGED]


def test_a_dry_day_has_no_rain_and_zero_log_precipitation():
    row = F.features_of_day({**SUMMARY, "precipitation": 0})
    assert row["rained"] == 0
    assert row["log_precipitation"] == 0.0


def test_a_trace_of_rain_counts_as_rain():
    assert F.features_of_day({**SUMMARY, "precipitation": 0.3})["rained"] == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"precipitation": -1.0}, "negative"),
        ({"temp_min": 12.0}, "temp_min = 12.0 is above temp_max = 10.6"),
        ({"wind": "calm"}, "wind = 'calm' is not a number"),
        ({"temp_max": float("nan")}, "temp_max is missing"),
    ],
)
def test_bad_summaries_are_refused_naming_the_field(change, message):
    with pytest.raises(F.SummaryError, match=message):
        F.features_of_day({**SUMMARY, **change})


def test_a_summary_without_a_field_is_refused():
    with pytest.raises(F.SummaryError, match="without 'wind'"):
        F.features_of_day({k: v for k, v in SUMMARY.items() if k != "wind"})


def test_issue_time_follows_seattle_daylight_saving():
    assert F.issue_time(dt.date(2014, 1, 15)).isoformat() == "2014-01-15T00:05:00-08:00"
    assert F.issue_time(dt.date(2014, 7, 15)).isoformat() == "2014-07-15T00:05:00-07:00"


def _daily(precipitation: list[float], start: str = "2014-03-08") -> pd.DataFrame:
    days = pd.date_range(start, periods=len(precipitation), freq="D")
    n = len(days)
    return pd.DataFrame(
        {
            "date": days,
            "precipitation": precipitation,
            "temp_max": [10.0 + i for i in range(n)],
            "temp_min": [1.0 + i for i in range(n)],
            "wind": [3.0] * n,
        }
    )


def test_forecast_rows_pair_one_day_with_the_next():
    table = F.forecast_table(_daily([0.0, 5.0, 0.0, 0.0]))
    assert list(table.columns) == F.COLUMNS
    assert table[F.ID].tolist() == ["2014-03-09", "2014-03-10", "2014-03-11"]
    assert table[F.TARGET].tolist() == [1, 0, 0]  # rain on the day the forecast is for
    assert table["rained"].tolist() == [0, 1, 0]  # rain on the day before
    assert table["temp_max"].tolist() == [10.0, 11.0, 12.0]
    # 2014-03-09 is the first day of daylight saving time in Seattle
    assert table[F.ISSUED].tolist() == [
        "2014-03-09T00:05:00-08:00",
        "2014-03-10T00:05:00-07:00",
        "2014-03-11T00:05:00-07:00",
    ]


def test_a_gap_in_the_days_is_refused():
    daily = _daily([0.0, 1.0, 2.0]).drop(index=1)
    with pytest.raises(F.SummaryError, match="2014-03-08 is followed by 2014-03-10"):
        F.forecast_table(daily)


def test_negative_precipitation_is_refused_naming_the_day():
    with pytest.raises(F.SummaryError, match="negative precipitation on 2014-03-09"):
        F.forecast_table(_daily([0.0, -2.0, 1.0]))


def test_missing_columns_are_named():
    with pytest.raises(F.SummaryError, match="without wind"):
        F.forecast_table(_daily([0.0, 1.0]).drop(columns="wind"))


def test_seasons_follow_the_meteorological_calendar():
    days = pd.Series(["2014-12-01", "2015-02-28", "2015-03-01", "2015-06-01", "2015-09-30"])
    assert F.season(days).tolist() == ["winter", "winter", "spring", "summer", "autumn"]


def test_model_input_keeps_the_model_columns_in_order():
    table = F.forecast_table(_daily([0.0, 1.0, 2.0]))
    assert list(F.model_input(table).columns) == F.MODEL_FEATURES


def _serving_path(raw: pd.DataFrame) -> pd.DataFrame:
    """The service's code path, one summary at a time (as in weather_model.stream)."""
    rows = [F.features_of_day(r) for r in raw.iloc[:-1].to_dict("records")]
    out = pd.DataFrame(rows)
    out.insert(0, F.ID, raw["date"].iloc[1:].dt.strftime("%Y-%m-%d").to_numpy())
    return out


def _training_path(raw: pd.DataFrame) -> pd.DataFrame:
    return F.forecast_table(raw).drop(columns=[F.ISSUED, F.TARGET])


@pytest.mark.rubric("monitor-3")
def test_both_code_paths_compute_the_same_features_on_every_real_day():
    """monitor-3, skew by construction: the batch (training) and the one-record (serving) code
    compute identical features on all 1,461 real summaries, joined by forecast id."""
    result = checks.feature_code_skew(
        daily_records(), _training_path, _serving_path, id_column=F.ID
    )
    assert result.verdict == "pass"

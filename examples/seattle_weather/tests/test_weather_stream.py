"""User tests of the replayed stream: the serving window and its logged features."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from weather_model.features import ID, ISSUED, MODEL_FEATURES, TARGET
from weather_model.records import SERVING_START, forecasts
from weather_model.stream import SERVING_WINDOW_DAYS

from pytest_mltestscore import checks, clock


@pytest.mark.rubric("monitor-2")
def test_the_serving_window_has_one_forecast_a_day_up_to_today(serving_data, ml_history):
    """No day missing, none twice, the newest for today: a stalled or duplicated service
    shows here before any statistic moves."""
    today = clock.today()
    days = pd.to_datetime(serving_data[ID]).dt.date
    assert not serving_data[ID].duplicated().any(), "a forecast id was logged twice"
    assert days.max() == today, f"the newest forecast is for {days.max()}, not today ({today})"
    first = max(today - dt.timedelta(days=SERVING_WINDOW_DAYS - 1), SERVING_START)
    expected = {first + dt.timedelta(days=k) for k in range((today - first).days + 1)}
    missing = sorted(expected - set(days))
    assert not missing, f"no forecast logged for {', '.join(map(str, missing[:5]))}"
    labelled = float(serving_data[TARGET].notna().mean())
    ml_history.record("serving_window_forecasts", len(serving_data))
    ml_history.record("serving_window_labelled_share", labelled)
    midnight = dt.datetime(today.year, today.month, today.day, tzinfo=dt.timezone.utc)
    ml_history.record("as_of_day_timestamp_seconds", midnight.timestamp())


@pytest.mark.rubric("monitor-3")
def test_logged_features_equal_the_training_code_on_the_same_days(serving_data):
    """Joined by forecast id: the features the service logged equal what the training code
    computes from the station's records for the same days (no training/serving skew)."""
    first, last = pd.to_datetime(serving_data[ID]).dt.date.agg(["min", "max"])
    batch = forecasts(first, last).drop(columns=[ISSUED, TARGET])
    checks.training_serving_skew(batch, serving_data, ID, MODEL_FEATURES)

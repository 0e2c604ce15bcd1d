"""Feature code: from the daily weather summaries to forecast rows.

The upstream source is the daily summary of the Seattle weather station as shipped in the
``vega_datasets`` package (``seattle-weather.csv``): one row per local day with the date,
``precipitation`` (mm), ``temp_max`` and ``temp_min`` (degrees C), ``wind`` (m/s) and a
``weather`` word. A forecast for day ``t`` is made from the summary of day ``t - 1`` and asks
"will any rain fall on day ``t``?" (precipitation above 0 mm): the target ``rain``.

Two code paths compute the same features:

- :func:`forecast_table`, vectorised over many days (training data, replayed logs);
- :func:`features_of_day`, one summary at a time (what the forecast service runs each night).

``tests/test_weather_features.py`` unit tests both and checks they agree on every real day.

The ``weather`` word is not used, neither as a feature nor as a label: its meaning changed
upstream after 2012 (see README.md, "The data"); data-4 keeps it out of the model.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

#: Columns of the upstream daily summary this code reads.
RAW_COLUMNS = ["date", "precipitation", "temp_max", "temp_min", "wind"]
#: The columns the model reads, in order.
MODEL_FEATURES = ["log_precipitation", "rained", "temp_max", "temp_min"]
#: Logged with each forecast but not read by the model: it adds nothing (README.md, data-2).
LOGGED = ["wind"]
TARGET = "rain"
ID = "forecast_id"
ISSUED = "issued_at"
#: Every column of :func:`forecast_table`, in order.
COLUMNS = [ID, ISSUED, *MODEL_FEATURES, *LOGGED, TARGET]
#: The service issues each forecast at 00:05 Seattle time on the day it is for.
ISSUE_TIME = dt.time(0, 5)
ZONE = "America/Los_Angeles"


class SummaryError(ValueError):
    """A daily summary that cannot become a forecast row; the message names the field."""


def _number(summary: Mapping[str, Any], field: str) -> float:
    if field not in summary:
        raise SummaryError(f"daily summary without {field!r} (fields: {sorted(summary)})")
    value = summary[field]
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SummaryError(f"{field} = {value!r} is not a number") from None
    if math.isnan(number):
        raise SummaryError(f"{field} is missing (NaN)")
    return number


def issue_time(day: dt.date) -> pd.Timestamp:
    """When the forecast for ``day`` is issued: 00:05 Seattle time that day (PST or PDT)."""
    return pd.Timestamp(dt.datetime.combine(day, ISSUE_TIME)).tz_localize(ZONE)


def features_of_day(summary: Mapping[str, Any]) -> dict[str, float | int]:
    """The model's inputs from one daily summary (the serving path, one record at a time)."""
    precipitation = _number(summary, "precipitation")
    if precipitation < 0:
        raise SummaryError(f"precipitation = {precipitation!r} mm is negative")
    temp_max, temp_min = _number(summary, "temp_max"), _number(summary, "temp_min")
    if temp_min > temp_max:
        raise SummaryError(f"temp_min = {temp_min} is above temp_max = {temp_max}")
    return {
        "log_precipitation": math.log1p(precipitation),
        "rained": 1 if precipitation > 0 else 0,
        "temp_max": temp_max,
        "temp_min": temp_min,
        "wind": _number(summary, "wind"),
    }


def forecast_table(daily: pd.DataFrame) -> pd.DataFrame:
    """One forecast row per day after the first: id, issue time, features of the day before,
    and the target (did rain fall that day?) when the day's summary is known.

    ``daily`` must hold consecutive days (a gap would pair a forecast with the wrong day).
    """
    missing = [c for c in RAW_COLUMNS if c not in daily.columns]
    if missing:
        raise SummaryError(f"daily summaries without {', '.join(missing)}")
    days = pd.to_datetime(daily["date"]).reset_index(drop=True)
    gaps = np.flatnonzero(days.diff().iloc[1:].to_numpy() != np.timedelta64(1, "D"))
    if len(gaps):
        raise SummaryError(
            f"daily summaries are not consecutive days: {days.iloc[gaps[0]].date()} is "
            f"followed by {days.iloc[gaps[0] + 1].date()}"
        )
    precipitation = daily["precipitation"].to_numpy(dtype=float)
    if (precipitation < 0).any():
        bad = days.iloc[int(np.flatnonzero(precipitation < 0)[0])].date()
        raise SummaryError(f"negative precipitation on {bad}")
    before = slice(0, len(days) - 1)
    target_days = days.iloc[1:].reset_index(drop=True)
    issued = target_days.dt.tz_localize(None) + pd.Timedelta(hours=0, minutes=5)
    return pd.DataFrame(
        {
            ID: target_days.dt.strftime("%Y-%m-%d"),
            ISSUED: issued.dt.tz_localize(ZONE).map(lambda t: t.isoformat()),
            "log_precipitation": np.log1p(precipitation[before]),
            "rained": (precipitation[before] > 0).astype(int),
            "temp_max": daily["temp_max"].to_numpy(dtype=float)[before],
            "temp_min": daily["temp_min"].to_numpy(dtype=float)[before],
            "wind": daily["wind"].to_numpy(dtype=float)[before],
            TARGET: (precipitation[1:] > 0).astype(int),
        },
        columns=COLUMNS,
    )


def season(days: pd.Series) -> pd.Series:
    """The meteorological season of each ISO date: winter (Dec-Feb), spring, summer, autumn.

    Not a model input: a slice for model-6 (is quality sufficient in every season?).
    """
    months = pd.to_datetime(days).dt.month
    return (months % 12 // 3).map({0: "winter", 1: "spring", 2: "summer", 3: "autumn"})


def model_input(table: pd.DataFrame) -> pd.DataFrame:
    """The columns the model reads, in its order."""
    return table[MODEL_FEATURES]

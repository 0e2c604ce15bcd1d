"""The real daily records, read from the CSV file shipped inside the vega_datasets package."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from .features import forecast_table

#: The periods of the story (see README.md): forecasts are named by the day they are for.
FIRST_YEAR = (dt.date(2012, 1, 2), dt.date(2012, 12, 31))  # the first model's training rows
TRAINING = (dt.date(2012, 1, 2), dt.date(2013, 12, 31))  # the served model's training rows
SERVING_START = dt.date(2014, 1, 2)  # the first forecast the served model made
LAST_DAY = dt.date(2015, 12, 31)  # the last day of the records


def csv_path() -> Path:
    """``seattle-weather.csv`` inside the installed vega_datasets package (no network)."""
    import vega_datasets

    path = Path(vega_datasets.__file__).parent / "_data" / "seattle-weather.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall vega_datasets")
    return path


def daily_records() -> pd.DataFrame:
    """The 1,461 daily summaries, 2012-01-01 to 2015-12-31 (date parsed, sorted)."""
    daily = pd.read_csv(csv_path(), parse_dates=["date"])
    return daily.sort_values("date", kind="stable").reset_index(drop=True)


def forecasts(first: dt.date, last: dt.date) -> pd.DataFrame:
    """Forecast rows (see :func:`features.forecast_table`) for the days ``first..last``."""
    table = forecast_table(daily_records())
    keep = (table["forecast_id"] >= first.isoformat()) & (table["forecast_id"] <= last.isoformat())
    return table[keep].reset_index(drop=True)

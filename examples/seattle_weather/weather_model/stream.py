"""The forecast service replayed over the real records: prediction logs, delayed labels, and
the serving window the checks read.

The records hold one weather summary per day and nothing else. What a running service would
add, and how it is made here (README.md, "Where the timestamps come from"):

- **prediction time**: each forecast is issued at 00:05 Seattle time on the day it is for
  (``issued_at``, written with its UTC offset, -08:00 or -07:00);
- **label arrival**: the outcome of day ``t`` exists once the day ends in Seattle (00:00 local
  on ``t + 1``); the station's checked summary then reaches us after a delay drawn from a seeded
  generator (:func:`label_delays`): usually within two days, sometimes a week or more. A few
  outcomes are sent twice (a re-sent correction); the latest copy counts. Arrival times are
  written in UTC (``...+00:00``), so the two logs use different offsets, as real systems do.

Logs are append-only monthly CSV files under ``state/logs/`` (see :class:`LogWriter`):
``predictions/YYYY-MM.csv`` by issue month and ``labels/YYYY-MM.csv`` by arrival month. The
service also logs each forecast to a database table, ``forecasts`` (:data:`LOG_TABLE`), as a
deployed service writes its serving log: SQLite (``state/serving.sqlite``) by default, any
SQLAlchemy URL given in ``WEATHER_LOG_URL`` (PostgreSQL in CI). The ``live`` dataset reads it
back with a 1-day window.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .features import (
    ID,
    ISSUED,
    LOGGED,
    MODEL_FEATURES,
    TARGET,
    ZONE,
    features_of_day,
    issue_time,
    season,
)
from .records import LAST_DAY, SERVING_START, daily_records

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / "state"
MODEL = ROOT / "models" / "model.skops"
#: Days of forecasts the ``serving`` dataset holds: the drift rules need at least 100 values
#: per column and the service makes one forecast a day (README.md, "The serving window").
SERVING_WINDOW_DAYS = 120
LABEL = TARGET
ARRIVED = "arrived_at"
PREDICTION = "prediction"
PROBABILITY = "rain_probability"
PREDICTION_COLUMNS = [ID, ISSUED, PROBABILITY, PREDICTION, *MODEL_FEATURES, *LOGGED]
LABEL_COLUMNS = [ID, LABEL, ARRIVED]
SEED = 0
#: The serving log's table, and the variable naming its database (else state/serving.sqlite).
LOG_TABLE = "forecasts"
LOG_URL_ENV = "WEATHER_LOG_URL"


def log_url(state: Path = STATE) -> str:
    """The serving log's SQLAlchemy URL: ``WEATHER_LOG_URL``, else ``serving.sqlite`` in
    ``state``."""
    return os.environ.get(LOG_URL_ENV) or f"sqlite:///{state / 'serving.sqlite'}"


def served_forecasts(model: Any = None) -> pd.DataFrame:
    """Every forecast the served model made, 2014-01-02 to 2015-12-31, as the service made it:
    features from one summary at a time (:func:`features.features_of_day`), then the model."""
    if model is None:
        import skops.io as sio

        model = sio.load(MODEL, trusted=[])
    daily = daily_records()
    days = daily["date"].dt.date.tolist()
    rows = []
    for i in range(1, len(days)):
        day = days[i]
        if day < SERVING_START:
            continue
        summary = {str(k): v for k, v in daily.iloc[i - 1].items()}
        rows.append(
            {ID: day.isoformat(), ISSUED: issue_time(day).isoformat(), **features_of_day(summary)}
        )
    table = pd.DataFrame(rows)
    X = table[MODEL_FEATURES]
    table[PROBABILITY] = np.round(model.predict_proba(X)[:, 1], 4)
    table[PREDICTION] = model.predict(X)
    return table[PREDICTION_COLUMNS]


def outcomes() -> pd.DataFrame:
    """The true outcome of each served forecast: did any rain fall that day (1/0)."""
    daily = daily_records()
    day = daily["date"].dt.strftime("%Y-%m-%d")
    keep = (day >= SERVING_START.isoformat()) & (day <= LAST_DAY.isoformat())
    return pd.DataFrame(
        {ID: day[keep].to_numpy(), LABEL: (daily["precipitation"][keep] > 0).astype(int).to_numpy()}
    )


def label_delays(n: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Seeded delays (hours after the day ends) of ``n`` outcomes, and of re-sent copies.

    Most summaries arrive within two days (gamma, mean 18 h); 8% are held for checking for
    3 to 14 days; 3% are sent again 1 to 10 days after their first arrival (NaN: not re-sent).
    Drawn for the whole serving period at once, so a day's delays do not depend on which days
    are replayed.
    """
    rng = np.random.default_rng(seed)
    delay = rng.gamma(shape=1.5, scale=12.0, size=n)
    held = rng.random(n) < 0.08
    delay[held] = rng.uniform(72.0, 336.0, size=int(held.sum()))
    resent = np.full(n, np.nan)
    again = rng.random(n) < 0.03
    resent[again] = delay[again] + rng.uniform(24.0, 240.0, size=int(again.sum()))
    return delay, resent


def label_log(seed: int = SEED) -> pd.DataFrame:
    """Every label message of the serving period with its UTC arrival time, in arrival order."""
    truth = outcomes()
    # the day ends at the next midnight in Seattle (PST or PDT)
    next_midnight = pd.DatetimeIndex(pd.to_datetime(truth[ID])) + pd.Timedelta(days=1)
    ends = next_midnight.tz_localize(ZONE).tz_convert("UTC")
    delay, resent = label_delays(len(truth), seed)
    first = truth.assign(**{ARRIVED: ends + pd.to_timedelta(np.round(delay * 60), unit="min")})
    again = ~np.isnan(resent)
    second = truth[again].assign(
        **{ARRIVED: ends[again] + pd.to_timedelta(np.round(resent[again] * 60), unit="min")}
    )
    log = pd.concat([first, second]).sort_values(ARRIVED, kind="stable").reset_index(drop=True)
    return log[LABEL_COLUMNS]


def _utc_text(stamps: pd.Series) -> pd.Series:
    return stamps.dt.tz_convert("UTC").map(lambda t: t.isoformat())


class LogWriter:
    """Append each day's forecast and the labels that arrived that (UTC) day to monthly logs."""

    def __init__(
        self, state: Path, seed: int = SEED, model: Any = None, url: str | None = None
    ) -> None:
        self.state = state
        self.predictions = served_forecasts(model)
        self.labels = label_log(seed)
        self._arrived = self.labels[ARRIVED]
        self.url = url or log_url(state)

    def _engine(self) -> Any:
        import sqlalchemy as sa

        url = self.url
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        if url.startswith(("postgresql://", "postgres://")):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return sa.create_engine(url, poolclass=sa.pool.NullPool)

    def reset_table(self) -> None:
        """A fresh replay starts with an empty serving log table."""
        import sqlalchemy as sa

        engine = self._engine()
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {LOG_TABLE}"))
        engine.dispose()

    def _append_table(self, rows: pd.DataFrame) -> None:
        """Append forecasts to the serving log table: the issue time as a timestamp with its
        zone (PostgreSQL) or as ISO 8601 text with its offset (SQLite has no time type)."""
        engine = self._engine()
        if engine.dialect.name != "sqlite":
            rows = rows.assign(**{ISSUED: pd.to_datetime(rows[ISSUED], utc=True)})
        with engine.begin() as conn:
            rows.to_sql(LOG_TABLE, conn, if_exists="append", index=False)
        engine.dispose()

    def end_of(self, day: dt.date) -> pd.Timestamp:
        """The run for ``day`` sees everything logged before the end of that day, in UTC."""
        return pd.Timestamp(day + dt.timedelta(days=1), tz="UTC")

    def _append(self, folder: str, month: str, rows: pd.DataFrame) -> None:
        path = self.state / "logs" / folder / f"{month}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        rows.to_csv(path, mode="a", header=not path.exists(), index=False)

    def write_until(self, day: dt.date, since: dt.date | None = None) -> tuple[int, int]:
        """Log what happened on the days ``since..day`` (default: from the serving start).

        Returns the number of forecasts and label messages written.
        """
        first = since or SERVING_START
        ids = self.predictions[ID]
        preds = self.predictions[(ids >= first.isoformat()) & (ids <= day.isoformat())]
        start = self.end_of(first - dt.timedelta(days=1))
        labels = self.labels[(self._arrived >= start) & (self._arrived < self.end_of(day))]
        for month, rows in preds.groupby(preds[ID].str[:7], sort=True):
            self._append("predictions", str(month), rows)
        if len(preds):
            self._append_table(preds)
        if len(labels):
            labels = labels.assign(**{ARRIVED: _utc_text(labels[ARRIVED])})
            for month, rows in labels.groupby(labels[ARRIVED].str[:7], sort=True):
                self._append("labels", str(month), rows)
        return len(preds), len(labels)


def _read_logs(folder: str, columns: list[str]) -> pd.DataFrame:
    files = sorted((STATE / "logs" / folder).glob("*.csv"))
    if not files:
        raise FileNotFoundError(
            f"no {folder} logs under {STATE / 'logs' / folder}: run replay.py first"
        )
    return pd.concat([pd.read_csv(f, dtype={ID: str}) for f in files], ignore_index=True)[columns]


def _served_until_today() -> tuple[dt.date, pd.DataFrame]:
    """Today (pinned by MLTESTSCORE_TODAY) and the served forecasts up to today, each with its
    outcome if it has arrived (the latest copy; ``rain`` is NaN if not yet) and its season."""
    from pytest_mltestscore import clock

    today = clock.today()
    preds = _read_logs("predictions", PREDICTION_COLUMNS)
    preds = preds[preds[ID] <= today.isoformat()]
    labels = _read_logs("labels", LABEL_COLUMNS)
    latest = labels.sort_values(ARRIVED, kind="stable").drop_duplicates(ID, keep="last")
    joined = preds.merge(latest[[ID, LABEL]], on=ID, how="left")
    joined["season"] = season(joined[ID])
    return today, joined.drop(columns=[PROBABILITY, PREDICTION])


def labelled_history() -> pd.DataFrame:
    """The ``validation`` dataset: every served forecast whose outcome has arrived by today,
    from the first day of service: out-of-time data the model never saw."""
    _, served = _served_until_today()
    return served[served[LABEL].notna()].reset_index(drop=True)


def serving_window() -> pd.DataFrame:
    """The ``serving`` dataset: the last 120 days of served forecasts up to today (pinned by
    MLTESTSCORE_TODAY), with the outcomes that have arrived so far (``rain``; NaN if not yet)."""
    today, served = _served_until_today()
    first = today - dt.timedelta(days=SERVING_WINDOW_DAYS - 1)
    return served[served[ID] >= first.isoformat()].reset_index(drop=True)

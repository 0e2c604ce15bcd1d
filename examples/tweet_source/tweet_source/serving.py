"""Today's serving batch, and the switch that turns the clean day into a bad one.

``TWEETS_DAY`` (environment) picks the day; each fixes the date the checks take as "today" and
the batch of served tweets they judge (the app that sent each one is known later, as a label):

- ``clean`` (the default), 2026-11-20: ``data/serving.csv.gz``, held-out campaign tweets;
- ``later``, 2026-11-21: ``data/serving_later.csv.gz``, tweets of another period (2017);
- ``truncated``, 2026-11-22: ``data/serving_truncated.csv.gz``, the clean day's tweets cut
  to 40 characters by an upstream change.

conftest.py sets MLTESTSCORE_TODAY from :func:`current_day` unless it is already set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

DAY_ENV = "TWEETS_DAY"
DATA = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class Day:
    today: str
    batch: str


DAYS = {
    "clean": Day(today="2026-11-20", batch="serving.csv.gz"),
    "later": Day(today="2026-11-21", batch="serving_later.csv.gz"),
    "truncated": Day(today="2026-11-22", batch="serving_truncated.csv.gz"),
}


def current_day() -> Day:
    """The day named by ``TWEETS_DAY`` (``clean`` when unset)."""
    name = os.environ.get(DAY_ENV, "").strip().lower() or "clean"
    if name not in DAYS:
        raise ValueError(f"{DAY_ENV}={name!r}: expected one of {', '.join(DAYS)}")
    return DAYS[name]


def todays_batch() -> pd.DataFrame:
    """The tweets served today: id, time, text, and the app (known later)."""
    return pd.read_csv(DATA / current_day().batch)

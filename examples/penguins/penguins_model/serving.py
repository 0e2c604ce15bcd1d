"""Today's serving batch, and the one switch that turns a good day into a bad one.

``PENGUINS_DAY`` (environment) picks the day: ``good`` (the default) or ``bad``. Each day fixes
the date the checks take as "today" and the batch of serving requests they judge:

- good, 2026-11-20: data/serving.csv, requests for held-out birds of all three islands;
- bad, 2027-08-20: data/serving_bad_day.csv, only Biscoe birds (the input mix drifted) whose
  body mass an upstream change now sends in kilograms, judged nine months after the model was
  trained (it is stale: the limit is 180 days).

conftest.py sets MLTESTSCORE_TODAY from :func:`current_day` unless it is already set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

DAY_ENV = "PENGUINS_DAY"
DATA = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class Day:
    today: str
    batch: str


DAYS = {
    "good": Day(today="2026-11-20", batch="serving.csv"),
    "bad": Day(today="2027-08-20", batch="serving_bad_day.csv"),
}


def current_day() -> Day:
    """The day named by ``PENGUINS_DAY`` (``good`` when unset)."""
    name = os.environ.get(DAY_ENV, "").strip().lower() or "good"
    if name not in DAYS:
        raise ValueError(f"{DAY_ENV}={name!r}: expected one of {', '.join(DAYS)}")
    return DAYS[name]


def todays_batch() -> pd.DataFrame:
    """The serving requests of the day (features, request id and the label confirmed later)."""
    return pd.read_csv(DATA / current_day().batch)

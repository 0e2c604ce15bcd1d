"""Today's date in UTC, which tests and examples can pin for reproducible ages.

Set ``MLTESTSCORE_TODAY=YYYY-MM-DD`` in the environment to pin "today" (the one documented way);
every age the plugin computes (attestations, model and data staleness) reads :func:`today`.
"""

from __future__ import annotations

import datetime as dt
import os

TODAY_ENV = "MLTESTSCORE_TODAY"


class ClockError(ValueError):
    """The pinned date in the environment is not a valid ISO date."""


def today() -> dt.date:
    """The current UTC date, or the date pinned by ``MLTESTSCORE_TODAY``."""
    pinned = os.environ.get(TODAY_ENV, "").strip()
    if pinned:
        try:
            return dt.date.fromisoformat(pinned)
        except ValueError:
            raise ClockError(
                f"environment variable {TODAY_ENV}={pinned!r}: expected a date as YYYY-MM-DD"
            ) from None
    return dt.datetime.now(dt.timezone.utc).date()


def now() -> dt.datetime:
    """The current UTC time; when today is pinned, midnight UTC of that day."""
    pinned = os.environ.get(TODAY_ENV, "").strip()
    if pinned:
        day = today()
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
    return dt.datetime.now(dt.timezone.utc)

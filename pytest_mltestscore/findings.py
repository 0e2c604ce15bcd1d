"""The findings table shared by the monitoring and privacy checks, and their number/name checks.

Every failure reads the same way: which column, which method and statistic, the threshold,
observed versus expected, how many rows are affected, and a few examples. Frame and column
arguments are checked with :mod:`pytest_mltestscore.arguments`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from .result import Table

FINDING_COLUMNS = (
    "column",
    "method",
    "statistic",
    "threshold",
    "observed",
    "expected",
    "rows",
    "examples",
)


def findings_table(rows: Iterable[Sequence[Any]]) -> Table:
    """A :class:`Table` with the standard finding columns."""
    return Table(FINDING_COLUMNS, tuple(tuple(r) for r in rows))


def short(value: object, digits: int = 10) -> str:
    """A compact, unambiguous rendering of one data value for an example cell."""
    if value is None:
        return "None"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.{digits}g}"
    try:
        import numpy as np

        if isinstance(value, np.floating):
            return short(float(value), digits)
        if isinstance(value, np.integer):
            return str(int(value))
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    text = str(value)
    return repr(text) if isinstance(value, str) else text


def require_non_negative(value: object, arg: str, *, allow_none: bool = False) -> None:
    """Raise ValueError unless ``value`` is a finite number >= 0 (or None when allowed)."""
    if value is None and allow_none:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{arg}: expected a finite number >= 0, got {value!r}")


def require_names(value: object, arg: str) -> list[str]:
    """A list of strings from a list/tuple; a bare string is refused (it would split into chars)."""
    if isinstance(value, str):
        raise ValueError(f"{arg}: expected a list of names, got the single string {value!r}")
    try:
        names = list(value)  # type: ignore[call-overload]
    except TypeError:
        raise ValueError(f"{arg}: expected a list of names, got {type(value).__name__}") from None
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise ValueError(f"{arg}: expected strings, got {bad[0]!r}")
    return names


def plural(n: int, word: str) -> str:
    """``"1 row"``, ``"3 rows"``."""
    return f"{n} {word}{'' if n == 1 else 's'}"

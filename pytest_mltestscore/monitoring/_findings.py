"""The findings table shared by the monitoring and privacy checks, and argument validation.

Every failure reads the same way: which column, which method and statistic, the threshold,
observed versus expected, how many rows are affected, and a few examples.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..result import Table

if TYPE_CHECKING:
    import pandas as pd

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


def close_matches(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for a likely typo, else an empty string."""
    pool = [str(c) for c in candidates]
    lowered = {c.lower(): c for c in pool}
    if name.lower() in lowered:
        return f" (did you mean {lowered[name.lower()]!r}?)"
    found = difflib.get_close_matches(name, pool, n=3, cutoff=0.6)
    if not found:
        return ""
    return " (did you mean " + " or ".join(repr(f) for f in found) + "?)"


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, what: str, arg: str) -> None:
    """Raise ValueError naming each column of ``columns`` missing from ``frame``."""
    present = [str(c) for c in frame.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        parts = [f"{c!r}{close_matches(str(c), present)}" for c in missing]
        raise ValueError(
            f"{arg}: column {', '.join(parts)} not found in {what} "
            f"(columns: {', '.join(present[:20])}{', ...' if len(present) > 20 else ''})"
        )


def require_frame(obj: object, arg: str) -> pd.DataFrame:
    """Return ``obj`` when it is a pandas DataFrame, else raise a ValueError naming ``arg``."""
    import pandas as pd

    if not isinstance(obj, pd.DataFrame):
        raise ValueError(f"{arg}: expected a pandas DataFrame, got {type(obj).__name__}")
    return obj


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

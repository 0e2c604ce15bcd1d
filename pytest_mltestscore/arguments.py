"""Checks on a caller's arguments shared by the built-in checks: frames, columns, typo hints.

Every refusal is a ValueError that starts with the argument's name; a missing column is named
with its closest valid names and the columns that are available, so a typo is a one-glance fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

#: How many available columns a message lists before it says "...".
SHOWN_COLUMNS = 20


def close_names(name: object, choices: Iterable[object], n: int = 3) -> list[str]:
    """Up to ``n`` names from ``choices`` that look like ``name``, best first.

    A name that differs only in case comes first (``"Island"`` for ``"island"``), then
    :func:`difflib.get_close_matches` at its default cutoff of 0.6 (ties broken by name, so
    the answer does not depend on the order of ``choices``).
    """
    text = str(name)
    pool = list(dict.fromkeys(str(c) for c in choices))
    same_case = sorted(c for c in pool if c.lower() == text.lower())  # sorted: sets stay stable
    similar = difflib.get_close_matches(text, pool, n=n, cutoff=0.6)
    return list(dict.fromkeys([*same_case, *similar]))[:n]


def did_you_mean(name: object, choices: Iterable[object]) -> str:
    """`` (did you mean 'a' or 'b'?)`` for a likely typo of ``name``, else ``''``."""
    close = close_names(name, choices)
    if not close:
        return ""
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)"


def require_frame(obj: object, arg: str) -> pd.DataFrame:
    """``obj`` when it is a pandas DataFrame, else a ValueError naming ``arg`` and the type."""
    import pandas as pd

    if not isinstance(obj, pd.DataFrame):
        raise ValueError(f"{arg}: expected a pandas DataFrame, got {type(obj).__name__}")
    return obj


def missing_columns_error(
    missing: Sequence[object], available: Sequence[object], *, arg: str, what: str
) -> ValueError:
    """The ValueError for columns ``missing`` from ``what`` (whose columns are ``available``).

    For callers holding column names rather than a frame (an array's ``x0, x1, ...``, a model's
    fitted feature names); :func:`require_columns` is the usual way in.
    """
    names = [str(c) for c in available]
    parts = ", ".join(f"{m!r}{did_you_mean(m, names)}" for m in missing)
    shown = ", ".join(names[:SHOWN_COLUMNS]) + (", ..." if len(names) > SHOWN_COLUMNS else "")
    noun = "column" if len(missing) == 1 else "columns"
    return ValueError(
        f"{arg}: {noun} {parts} not found in {what}; available columns: {shown or '(none)'}"
    )


def require_columns(frame: pd.DataFrame, columns: Iterable[object], *, arg: str, what: str) -> None:
    """Raise a ValueError naming every one of ``columns`` that ``frame`` lacks (see above).

    ``arg`` is the argument that named the columns, ``what`` says which data was searched
    ("the training data").
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise missing_columns_error(missing, list(frame.columns), arg=arg, what=what)

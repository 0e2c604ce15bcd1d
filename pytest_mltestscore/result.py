"""What a check returns: a verdict, a one-line summary and a table of findings.

Every check in the library is a pure function that returns a :class:`CheckResult`. The assert
form (:func:`enforce`) turns a failing result into an ``AssertionError`` whose message is the
rendered table, and a result without a verdict into a pytest skip, so that a check that cannot
decide never passes by default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, overload

Verdict = Literal["pass", "fail", "skip"]

_MAX_CELL = 60


def _text(value: object) -> str:
    """One table cell as text: floats to 4 significant digits, None as a dash."""
    if isinstance(value, float):
        text = f"{value:.4g}"
    elif value is None:
        text = "-"
    else:
        text = str(value)
    return " ".join(text.split())


class NotJudged(Exception):
    """The check cannot reach a verdict: raised where that is found (the model rejects its
    input, a column kind the check cannot read, too little data, a file not yet frozen).

    The built-in item is then skipped with this message as its reason, which names what is
    missing and how to configure it. It earns nothing; it never passes and never fails.
    """


@dataclass(frozen=True)
class Table:
    """A small, plain-text table of findings (one row per column, slice, feature...)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...] = ()

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"row {row!r} has {len(row)} cells, expected {len(self.columns)}")

    def render(self, max_rows: int = 20) -> str:
        """Render as aligned plain text; rows beyond ``max_rows`` are counted, not shown.

        Nothing is cut: a cell longer than a column can hold keeps its first words and a note
        mark ``[n]``, and its whole text is printed under the table as ``[n] ...``, so expected
        and observed values always show in full, whatever the terminal width.
        """
        notes: list[str] = []

        def cell(value: object) -> str:
            text = _text(value)
            if len(text) <= _MAX_CELL:
                return text
            notes.append(text)
            mark = f" [{len(notes)}]"
            head = text[: _MAX_CELL - len(mark) - 3].rsplit(" ", 1)[0]
            return f"{head}...{mark}"

        shown = [tuple(cell(v) for v in row) for row in self.rows[:max_rows]]
        header = tuple(self.columns)
        widths = [max([len(c), *(len(r[i]) for r in shown)]) for i, c in enumerate(header)]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

        out = [line(header), line(["-" * w for w in widths])]
        out.extend(line(r) for r in shown)
        hidden = len(self.rows) - len(shown)
        if hidden > 0:
            out.append(f"... and {hidden} more row{'s' if hidden != 1 else ''}")
        out.extend(f"[{n}] {text}" for n, text in enumerate(notes, 1))
        return "\n".join(out)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    ``verdict`` is ``"pass"``, ``"fail"`` or ``"skip"`` (no verdict could be reached, e.g. too
    few labelled rows). ``summary`` says in a line what was checked, with which method and
    threshold. ``table`` lists the findings (for a failure: what was wrong, where, expected versus
    observed). ``metrics`` holds JSON-safe numbers worth keeping in the history store.
    """

    check: str
    verdict: Verdict
    summary: str
    table: Table | None = None
    rubric_id: str | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def __bool__(self) -> bool:
        return self.passed

    def message(self) -> str:
        """The full human-readable report: summary line, notes, then the table."""
        head = f"{self.check}: {self.verdict.upper()}: {self.summary}"
        parts = [head, *self.notes]
        if self.table is not None and self.table.rows:
            parts.append(self.table.render())
        return "\n".join(parts)


def enforce(result: CheckResult) -> CheckResult:
    """Assert form of a check: raise on failure, skip without a verdict, return on a pass."""
    __tracebackhide__ = True  # the user's test line, not this one, is where the failure shows
    if result.verdict == "fail":
        raise AssertionError(result.message())
    if result.verdict == "skip":
        import pytest

        pytest.skip(result.message())
    return result


_LIBRARY_MARK = "__mltestscore_library_check__"
F = TypeVar("F", bound=Callable[..., Any])


@overload
def library_check(fn: F) -> F: ...


@overload
def library_check(*, name: str) -> Callable[[F], F]: ...


def library_check(fn: F | None = None, *, name: str | None = None) -> F | Callable[[F], F]:
    """Mark a check function as part of the checks library: ``pytest_mltestscore.checks.NAME``
    in assert form, ``NAME`` being the function's own name unless ``name`` is given."""

    def mark(f: F) -> F:
        setattr(f, _LIBRARY_MARK, name or f.__name__)
        return f

    return mark if fn is None else mark(fn)


def library_name(obj: object) -> str | None:
    """The public library name of a marked check function, else None."""
    value = getattr(obj, _LIBRARY_MARK, None) if callable(obj) else None
    return value if isinstance(value, str) else None

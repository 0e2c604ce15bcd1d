"""What a check returns: a verdict, a one-line summary and a table of findings.

Every check in the library is a pure function that returns a :class:`CheckResult`. The assert
form (:func:`enforce`) turns a failing result into an ``AssertionError`` whose message is the
rendered table, and a result without a verdict into a pytest skip, so that a check that cannot
decide never passes by default.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, overload

Verdict = Literal["pass", "fail", "skip"]
FigureKind = Literal["histogram", "shares", "intervals", "series"]

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


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON: numpy scalars become numbers, non-finite floats None, tuples
    lists, mapping keys strings, anything else its text. What crosses from an xdist worker to the
    controller and into the JSON report must be this plain."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and getattr(value, "shape", None) == ():
        return json_safe(item())
    return str(value)


@dataclass(frozen=True)
class Figure:
    """The data of one plot a report draws (the HTML report, pytest-html), plain JSON so that it
    crosses from an xdist worker to the controller and goes into the JSON report unchanged.

    ``kind`` says how to read ``data`` (each series is ``{"name", "values"}``, each line
    ``{"name", "value"}``):

    - ``histogram``: numeric distributions on shared bins: ``edges`` (one more than the values),
      ``series`` (shares of rows per bin), ``x_label``, ``lines`` (e.g. the schema's range);
    - ``shares``: category shares: ``categories``, ``series``;
    - ``intervals``: a metric per slice or group: ``metric``, ``rows`` (``label``, ``value``,
      ``low``, ``high``, ``n``, ``status``), ``lines`` (the requirement), ``higher_is_better``;
    - ``series``: values over windows or runs: ``x`` (labels), ``series`` (None where unknown),
      ``status`` (per point: ok, violated, unknown...), ``low``/``high`` (an interval per point,
      optional), ``lines`` (an objective), ``y_label``.

    ``flagged`` marks a figure that shows a finding (a drifted column, a failing slice).
    """

    kind: FigureKind
    title: str
    data: Mapping[str, Any]
    flagged: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "flagged": self.flagged,
            **json_safe(dict(self.data)),
        }


def figure_series(name: str, values: Sequence[Any]) -> dict[str, Any]:
    """One named series of a figure."""
    return {"name": name, "values": list(values)}


def figure_line(name: str, value: float) -> dict[str, Any]:
    """One named reference line of a figure (an objective, a requirement, a range end)."""
    return {"name": name, "value": value}


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    ``verdict`` is ``"pass"``, ``"fail"`` or ``"skip"`` (no verdict could be reached, e.g. too
    few labelled rows). ``summary`` says in a line what was checked, with which method and
    threshold. ``table`` lists the findings (for a failure: what was wrong, where, expected versus
    observed). ``metrics`` holds JSON-safe numbers worth keeping in the history store.
    ``figures`` hold the data of the plots the reports draw (see :class:`Figure`).
    """

    check: str
    verdict: Verdict
    summary: str
    table: Table | None = None
    rubric_id: str | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    figures: tuple[Figure, ...] = ()

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

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: verdict, summary, notes, metrics, the findings as one object per row
        (keyed by the table's columns) and the figures."""
        findings = None
        if self.table is not None:
            findings = [
                {c: json_safe(v) for c, v in zip(self.table.columns, row, strict=True)}
                for row in self.table.rows
            ]
        return {
            "check": self.check,
            "verdict": self.verdict,
            "summary": self.summary,
            "notes": list(self.notes),
            "metrics": json_safe(dict(self.metrics)),
            "findings": findings,
            "figures": [f.to_dict() for f in self.figures],
        }


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

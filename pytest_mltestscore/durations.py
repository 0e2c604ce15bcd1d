"""Where the built-in checks' time went: gathered on the controller, printed after the scorecard.

Each built-in check item puts what it spent through the shared seams (:mod:`.cost`) on its
report's ``user_properties`` (:data:`COST_PROPERTY`), so the figures reach the xdist controller
with the report; the wall time is the call phase's duration as pytest measured it. The JSON
report carries the same rows (``durations``), and ``--ml-score-durations`` prints them as one
table, the slowest check first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .cost import FIT, FRESH, HTTP, KINDS, LOAD, PREDICT, PROFILE, READ, SQL

if TYPE_CHECKING:
    import pytest

COST_PROPERTY = "mltestscore_cost"
_SHORT = {
    LOAD: "model loads",
    FIT: "fits",
    PREDICT: "predictions",
    FRESH: "fresh processes",
    READ: "reads",
    PROFILE: "profiles",
    HTTP: "HTTP",
    SQL: "SQL",
}


class Durations:
    """Wall seconds and seam figures per built-in check (controller side)."""

    def __init__(self) -> None:
        self._rows: dict[str, dict[str, Any]] = {}

    def add(self, report: pytest.TestReport) -> None:
        """Keep the call phase's duration and the figures of a built-in check's report."""
        if report.when != "call":
            return
        for name, prop in report.user_properties:
            if name == COST_PROPERTY and isinstance(prop, Mapping):
                spent = prop.get("spent")
                self._rows[report.nodeid] = {
                    "nodeid": report.nodeid,
                    "seconds": round(float(report.duration), 6),
                    "spent": dict(spent) if isinstance(spent, Mapping) else {},
                }

    def rows(self) -> list[dict[str, Any]]:
        """Plain JSON rows, the slowest check first (ties by node id)."""
        return sorted(self._rows.values(), key=lambda r: (-r["seconds"], r["nodeid"]))

    def __bool__(self) -> bool:
        return bool(self._rows)


def _describe(spent: Mapping[str, Any], kind: str) -> str:
    """``24: 3.05s`` (calls and seconds), with the rows they took: ``24 x 1.09k rows: 0.56s``."""
    s = spent.get(kind)
    if not s or not s.get("calls"):
        return "-"
    calls, rows, seconds = int(s["calls"]), int(s.get("rows") or 0), float(s["seconds"])
    if kind in (PREDICT, READ, PROFILE, SQL) and rows:
        return f"{calls}/{_rows(rows)} rows: {seconds:.2f}s"
    return f"{calls}: {seconds:.2f}s"


def _rows(n: int) -> str:
    for size, unit in ((1_000_000, "M"), (1_000, "k")):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(n)


def render_durations(rows: list[dict[str, Any]]) -> list[str]:
    """Plain-text lines of the table: check, seconds, share of the checks' time, and per kind of
    work the calls (with the rows they took) and the seconds spent through the seams."""
    if not rows:
        return ["no built-in check ran"]
    total = sum(r["seconds"] for r in rows) or 1.0
    kinds = [k for k in KINDS if any(k in r["spent"] for r in rows)]
    header = ["check", "seconds", "share", *[_SHORT.get(k, k) for k in kinds]]
    body = [
        [
            r["nodeid"].split("::", 1)[-1],
            f"{r['seconds']:.2f}",
            f"{r['seconds'] / total:.0%}",
            *[_describe(r["spent"], k) for k in kinds],
        ]
        for r in rows
    ]
    body.append(["total", f"{sum(r['seconds'] for r in rows):.2f}", "100%", *[""] * len(kinds)])
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(header), *(line(cells) for cells in body)]

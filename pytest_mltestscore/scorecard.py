"""The terminal scorecard: rich tables rendered into a string for pytest's terminal reporter.

Colour follows pytest's own decision (``--color``, ``NO_COLOR``, a terminal or not): with markup
the card uses rich's rounded boxes and colours; without, a plain ASCII table. rich is imported
here only, when a card is drawn.
"""

from __future__ import annotations

import io
from typing import Any

from .report import fmt_points, item_detail
from .rubric import Rubric

STYLE = {
    "automated": "green",
    "manual": "cyan",
    "failing": "bold red",
    "stale": "yellow",
    "missing": "dim",
}


def one_line(report: dict[str, Any]) -> str:
    """The whole score on one line, for ``-q``."""
    sections = ", ".join(f"{s['id']} {fmt_points(s['score'])}" for s in report["sections"])
    return (
        f"ML Test Score: {fmt_points(report['score'])} / {fmt_points(report['max_score'])} "
        f"({sections}): {report['band']}"
    )


def render_scorecard(
    report: dict[str, Any], rubric: Rubric, *, markup: bool, width: int, missing: bool
) -> str:
    """The full scorecard; with ``missing``, what would earn each item short of full credit."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buf = io.StringIO()
    console = Console(
        file=buf,
        width=max(width, 60),
        force_terminal=markup,
        no_color=not markup,
        color_system="standard" if markup else None,
        highlight=False,
        emoji=False,
        legacy_windows=False,
        safe_box=True,
    )
    items = rubric.items
    frame = box.ROUNDED if markup else box.ASCII
    for s in report["sections"]:
        lowest = s["score"] == report["score"]
        title = (
            f"{s['title']}: {fmt_points(s['score'])} / {fmt_points(s['max_score'])}"
            f"{'  (lowest)' if lowest else ''}"
        )
        table = Table(
            title=title,
            title_justify="left",
            title_style="bold" if markup else "",
            box=frame,
            show_lines=False,
            expand=True,
        )
        table.add_column("Item", no_wrap=True)
        table.add_column("Test", ratio=3, overflow="fold")
        table.add_column("Status", no_wrap=True)
        table.add_column("Points", justify="right", no_wrap=True)
        table.add_column("Evidence", ratio=3, overflow="fold")
        for i in s["items"]:
            status = Text(i["status"], style=STYLE[i["status"]] if markup else "")
            table.add_row(i["id"], i["title"], status, fmt_points(i["points"]), item_detail(i))
        console.print(table)
        if missing:
            for i in s["items"]:
                if i["points"] < rubric.points_automated and i["id"] in items:
                    hint = Text(f"  {i['id']}: ", style="bold" if markup else "")
                    hint.append(items[i["id"]].automated)
                    console.print(hint, overflow="fold")
            console.print()
    verdict_style = (
        "bold red"
        if report["score"] <= 1
        else "bold yellow"
        if report["score"] <= 3
        else "bold green"
    )
    console.print(
        Text(one_line(report), style=verdict_style if markup else ""),
        overflow="fold",
    )
    return buf.getvalue()

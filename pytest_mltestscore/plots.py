"""Figures (see :class:`~pytest_mltestscore.result.Figure`) drawn as inline SVG with matplotlib.

matplotlib (extra ``html``) draws without a display or a browser: the object-oriented API, no
pyplot, no global backend. Text stays text (``svg.fonttype = none``), which keeps a plot at
10-30 kB and lets the page's fonts render it; ids inside each SVG get a per-figure prefix, so
many plots can sit inline in one page without their ids (and clip paths) colliding. Nothing is
fetched when the page is viewed.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes

INSTALL_HINT = "pip install 'pytest-mltestscore[html]'"
# Series colours (colour-blind safe: blue, orange, then others), and verdict colours.
PALETTE = ("#3a6ea5", "#e07b39", "#5a9e6f", "#8e6bb0", "#c4a000", "#6b6b6b")
STATUS_COLOR = {
    "fail": "#c0392b",
    "violated": "#c0392b",
    "ok": "#2e7d4f",
    "pass": "#2e7d4f",
    "within chance": "#c98a00",
    "unknown": "#9a9a9a",
}
LINE_STYLES = ("--", ":", "-.")
_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "font.size": 9,
    "font.family": "sans-serif",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#888888",
    "axes.labelcolor": "#333333",
    "xtick.color": "#555555",
    "ytick.color": "#555555",
    "legend.frameon": False,
    "legend.fontsize": 8,
}
WIDTH = 6.4  # inches; the page scales the SVG to its column


class PlotError(Exception):
    """A figure could not be drawn (matplotlib missing, or data it cannot draw)."""


def available() -> bool:
    """Whether matplotlib can be imported."""
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _percent(ax_axis: Any) -> None:
    from matplotlib.ticker import PercentFormatter

    ax_axis.set_major_formatter(PercentFormatter(1.0, decimals=0))


def _finite(values: Sequence[Any]) -> list[float]:
    return [float(v) if v is not None else math.nan for v in values]


def _lines(ax: Axes, lines: Sequence[Mapping[str, Any]], vertical: bool) -> None:
    for k, ref in enumerate(lines):
        value = ref.get("value")
        if value is None:
            continue
        label = f"{ref['name']} {value:.4g}"
        draw = ax.axvline if vertical else ax.axhline
        draw(
            float(value), color="#444444", linestyle=LINE_STYLES[k % 3], linewidth=1.1, label=label
        )


def _histogram(ax: Axes, data: Mapping[str, Any]) -> None:
    edges = _finite(data["edges"])
    for k, s in enumerate(data["series"]):
        color = PALETTE[k % len(PALETTE)]
        values = _finite(s["values"])
        ax.stairs(values, edges, fill=True, alpha=0.35, color=color)
        ax.stairs(values, edges, color=color, linewidth=1.4, label=s["name"])
    _lines(ax, data.get("lines", ()), vertical=True)
    lo, hi = edges[0], edges[-1]
    span = hi - lo
    marks = [float(r["value"]) for r in data.get("lines", ()) if r.get("value") is not None]
    # keep range lines in view, but never let a far-off one squash the histograms
    shown = [m for m in marks if lo - span <= m <= hi + span]
    ax.set_xlim(min([lo, *shown]) - 0.02 * span, max([hi, *shown]) + 0.02 * span)
    ax.set_xlabel(str(data.get("x_label", "")))
    ax.set_ylabel("share of rows")
    _percent(ax.yaxis)


def _shares(ax: Axes, data: Mapping[str, Any]) -> None:
    import numpy as np

    categories = [str(c) for c in data["categories"]]
    drawn = data["series"]
    height = 0.8 / max(1, len(drawn))
    y = np.arange(len(categories))
    for k, s in enumerate(drawn):
        values = _finite(s["values"])
        ax.barh(
            y + (k - (len(drawn) - 1) / 2) * height,
            values,
            height=height,
            color=PALETTE[k % len(PALETTE)],
            label=s["name"],
        )
    ax.set_yticks(y, categories)
    ax.invert_yaxis()
    ax.set_xlabel("share of rows")
    _percent(ax.xaxis)


def _intervals(ax: Axes, data: Mapping[str, Any]) -> None:
    rows = list(data["rows"])
    for y, row in enumerate(rows):
        color = STATUS_COLOR.get(str(row.get("status", "")), PALETTE[0])
        value = row.get("value")
        low, high = row.get("low"), row.get("high")
        if low is not None and high is not None:
            ax.plot([low, high], [y, y], color=color, linewidth=2.2, solid_capstyle="butt")
        if value is not None:
            ax.plot([value], [y], "o", color=color, markersize=5)
    labels = [f"{r['label']}  (n={r['n']})" if r.get("n") is not None else r["label"] for r in rows]
    ax.set_yticks(range(len(rows)), labels)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    _lines(ax, data.get("lines", ()), vertical=True)
    ax.set_xlabel(str(data.get("metric", "")))


def _series(ax: Axes, data: Mapping[str, Any]) -> None:
    x_labels = [str(v) for v in data["x"]]
    xs = list(range(len(x_labels)))
    status = list(data.get("status") or [])
    for k, s in enumerate(data["series"]):
        values = _finite(s["values"])
        color = PALETTE[k % len(PALETTE)]
        if k == 0 and data.get("low") and data.get("high"):
            for x, low, high in zip(xs, data["low"], data["high"], strict=False):
                if low is not None and high is not None:
                    ax.plot([x, x], [low, high], color="#b8c6d9", linewidth=3, zorder=1)
        style = "-" if k == 0 else "--"
        ax.plot(xs, values, style, color=color, linewidth=1.5, label=s["name"], zorder=2)
        if k == 0:
            for x, value, st in zip(xs, values, status or [None] * len(xs), strict=False):
                if math.isnan(value):
                    continue
                mark = STATUS_COLOR.get(str(st), color)
                hollow = st == "unknown"
                ax.plot(
                    [x],
                    [value],
                    "o",
                    markersize=5,
                    color=mark,
                    markerfacecolor="white" if hollow else mark,
                    zorder=3,
                )
    for x, st in zip(xs, status, strict=False):
        if st == "unknown":
            ax.axvspan(x - 0.45, x + 0.45, color="#dddddd", alpha=0.6, zorder=0, linewidth=0)
    if "unknown" in status:
        ax.plot([], [], "s", color="#dddddd", markersize=8, label="unknown window")
    _lines(ax, data.get("lines", ()), vertical=False)
    step = max(1, math.ceil(len(xs) / 10))
    ax.set_xticks(xs[::step], x_labels[::step], rotation=20 if len(xs) > 4 else 0, ha="right")
    if len(xs) == 1:
        ax.set_xlim(-1, 1)
    ax.set_xlabel(str(data.get("x_label", "")))
    ax.set_ylabel(str(data.get("y_label", "")))


_DRAW = {"histogram": _histogram, "shares": _shares, "intervals": _intervals, "series": _series}


def _height(figure: Mapping[str, Any]) -> float:
    kind = figure["kind"]
    if kind == "intervals":
        return 1.1 + 0.28 * max(1, len(figure.get("rows", ())))
    if kind == "shares":
        count = len(figure.get("categories", ())) * max(1, len(figure.get("series", ())))
        return 1.1 + 0.16 * max(2, count)
    return 2.7


def svg(figure: Mapping[str, Any], salt: str) -> str:
    """One figure (a ``Figure.to_dict()``) as an ``<svg>`` element for inline use; ``salt``
    makes its internal ids unique in the page."""
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotError(f"plots need matplotlib: {INSTALL_HINT}") from None
    draw = _DRAW.get(str(figure.get("kind")))
    if draw is None:
        raise PlotError(f"unknown figure kind {figure.get('kind')!r}")
    settings: Any = {**_RC, "svg.hashsalt": salt}
    with matplotlib.rc_context(settings):
        fig = Figure(figsize=(WIDTH, _height(figure)), layout="constrained")
        ax = fig.subplots()
        try:
            draw(ax, figure)
        except (KeyError, TypeError, ValueError) as exc:
            raise PlotError(f"figure {figure.get('title')!r}: {exc}") from None
        ax.grid(True, axis="y" if figure["kind"] in ("histogram", "series") else "x", alpha=0.3)
        handles, _ = ax.get_legend_handles_labels()
        if handles:
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    start = text.find("<svg")
    text = text[start:] if start >= 0 else text
    # Ids (and what refers to them) get the salt, so plots inline in one page never share one.
    text = re.sub(r'\bid="([^"]+)"', rf'id="{salt}-\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{salt}-\1)", text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{salt}-\1"', text)
    # The page scales each plot to its column; matplotlib's fixed size stays as the viewBox.
    return re.sub(r'<svg([^>]*?) width="[^"]+" height="[^"]+"', r"<svg\1", text, count=1)

"""Figures of columns from their profiles: one dataset against another, as the reports draw them.

A numeric column becomes a ``histogram`` figure: the shares of rows in about 40 equal bins over
the range both datasets cover (their 0.5% to 99.5% quantiles; rows beyond fall in the end bins),
read from the profiles' fine histograms through their piecewise-linear CDFs, so no data is read
again. A categorical or boolean column becomes a ``shares`` figure: the share of each of the most
frequent categories (the rest together as "other"). Other kinds get no figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .profiles import ColumnProfile, DatasetProfile, NumericSummary
from .result import Figure, figure_line, figure_series

DISPLAY_BINS = 40
TOP_CATEGORIES = 12
OTHER = "(other)"


def display_histograms(
    summaries: Sequence[NumericSummary], bins: int = DISPLAY_BINS
) -> tuple[list[float], list[list[float]]]:
    """Shared display edges and, per summary, the share of its values in each bin."""
    present = [s for s in summaries if s.n > 0]
    if not present:
        return [], [[] for _ in summaries]
    lows = [float(s.quantile(0.005)[0]) for s in present]
    highs = [float(s.quantile(0.995)[0]) for s in present]
    lo, hi = min(lows), max(highs)
    if not hi > lo:
        lo, hi = min(s.min for s in present), max(s.max for s in present)
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    shares: list[list[float]] = []
    for s in summaries:
        if s.n == 0:
            shares.append([0.0] * bins)
            continue
        xs, cum = s.cdf_knots()
        at = np.interp(edges, xs, cum)
        at[0], at[-1] = 0.0, 1.0  # the tails fall in the end bins
        shares.append(np.clip(np.diff(at), 0.0, None).tolist())
    return edges.tolist(), shares


def display_shares(
    columns: Sequence[ColumnProfile], top: int = TOP_CATEGORIES
) -> tuple[list[str], list[list[float]]]:
    """The most frequent categories (of the first column first) and each column's shares."""
    order: list[str] = []
    for col in columns:
        if col.categorical is None:
            continue
        for key, _ in col.categorical.top(top):
            if key not in order:
                order.append(key)
    order = order[:top]
    shares: list[list[float]] = []
    any_other = False
    for col in columns:
        cat = col.categorical
        if cat is None or cat.n == 0:
            shares.append([0.0] * (len(order) + 1))
            continue
        values = [cat.counts.get(k, 0) / cat.n for k in order]
        rest = max(0.0, 1.0 - sum(values))
        any_other = any_other or rest > 1e-12
        shares.append([*values, rest])
    if not any_other:
        return order, [s[:-1] for s in shares]
    return [*order, OTHER], shares


def column_figure(
    column: str,
    profiles: Mapping[str, DatasetProfile],
    *,
    flagged: bool = False,
    why: str = "",
    lines: Sequence[tuple[str, float]] = (),
) -> Figure | None:
    """The column in each named profile (e.g. training and serving), or None when no profile
    holds it or its kind has no figure. ``lines`` mark values on the axis (a schema's range)."""
    named = {name: p.columns[column] for name, p in profiles.items() if column in p.columns}
    if not named:
        return None
    first = next(iter(named.values()))
    kind = first.majority_kind
    title = f"{column}: {' vs '.join(named)}"
    if kind == "numeric":
        numeric = {n: c.numeric for n, c in named.items() if c.numeric is not None}
        if not numeric:
            return None
        edges, shares = display_histograms(list(numeric.values()))
        if not edges:
            return None
        return Figure(
            "histogram",
            title,
            {
                "column": column,
                "x_label": column,
                "edges": edges,
                "series": [figure_series(n, s) for n, s in zip(numeric, shares, strict=True)],
                "lines": [figure_line(name, value) for name, value in lines],
                "why": why,
            },
            flagged,
        )
    if kind in ("categorical", "bool"):
        categories, shares = display_shares(list(named.values()))
        if not categories:
            return None
        return Figure(
            "shares",
            title,
            {
                "column": column,
                "categories": categories,
                "series": [figure_series(n, s) for n, s in zip(named, shares, strict=True)],
                "why": why,
            },
            flagged,
        )
    return None


def column_figures(
    flagged: Mapping[str, str],
    profiles: Mapping[str, DatasetProfile],
    *,
    others: Sequence[str] = (),
    max_others: int = TOP_CATEGORIES,
    lines: Mapping[str, Sequence[tuple[str, float]]] | None = None,
) -> tuple[Figure, ...]:
    """Figures of the ``flagged`` columns (name -> why), then of up to ``max_others`` others."""
    out: list[Figure] = []
    for name, why in flagged.items():
        fig = column_figure(
            name, profiles, flagged=True, why=why, lines=(lines or {}).get(name, ())
        )
        if fig is not None:
            out.append(fig)
    rest = [c for c in dict.fromkeys(others) if c not in flagged]
    for name in rest[:max_others]:
        fig = column_figure(name, profiles, lines=(lines or {}).get(name, ()))
        if fig is not None:
            out.append(fig)
    return tuple(out)

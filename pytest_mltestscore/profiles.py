"""Streaming, mergeable column profiles: every data check reads these, never the raw rows.

A profile is computed in one vectorised pass per chunk and profiles of chunks merge into the
profile of the concatenation, so a file larger than memory is read once, chunk by chunk.

Per column a profile keeps the row count, nulls, the types of the values seen (so a column that
mixes numbers and strings is reported rather than crashing), and

* for numbers (and datetimes, as seconds since the epoch): count, min, max, mean and the sum of
  squared deviations (merged with Chan et al.'s parallel update), counts of +inf and -inf, the
  few smallest and largest values (exact examples of outliers), and a fine equal-width
  histogram (:class:`Grid`);
* for strings, booleans and categories: counts per value, capped at ``max_categories`` distinct
  values with an "other" bucket beyond, so a million distinct strings cost bounded memory;
* for columns declared **text** (``kinds={"review": "text"}``, or because the reference profile
  says so): a :class:`TextSummary` instead of category counts: characters and tokens per text
  (histograms), empty or whitespace-only texts, non-ASCII characters, and the vocabulary of
  token counts (:class:`~pytest_mltestscore.sketches.TokenCounts`: exact up to
  ``vocabulary_cap`` distinct tokens, a Misra-Gries summary with a stated error bound beyond);
* for columns declared **identifier**: a bottom-k sample of value hashes with exact counts
  (:class:`~pytest_mltestscore.sketches.HashSample`), for the share of repeated values; no
  category counts (an identifier's values are never listed);
* for values that fit no kind (lists, dicts, bytes, arrays): their type names only (the column
  is ``unsupported``: the checks list it as not judged).

The histogram grid has a power-of-two bin width aligned on multiples of the width, chosen as a
deterministic, monotone function of the data range. Two grids of this family nest, so a profile
of chunk ``a`` merges *exactly* with a profile of chunk ``b`` by coarsening the finer histogram:
``merge(p(a), p(b)) == p(concat(a, b))`` for counts, nulls, min/max, histograms and category
counts (moments up to floating-point rounding; the one exception: a subnormal value, below
2.2e-308 in magnitude, may land in the bin of zero once scaled). A profile built *against a
reference* (the training profile) reuses the reference's grid, with one underflow and one
overflow bin counting values beyond it, so reference and current histograms share bins and
drift statistics need no raw data.

Quantiles come from the histogram: the bin holding the empirical quantile is known exactly, so
the estimate is within one bin width of it (:meth:`NumericSummary.quantile_bounds` gives the
interval; for a quantile in an under/overflow bin the interval runs to the observed min/max).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import warnings
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .sketches import DEFAULT_VOCABULARY_CAP, HashSample, Tally, TokenCounts, TokenSample

if TYPE_CHECKING:
    import pandas as pd

PROFILE_FORMAT = "mltestscore-profile"
PROFILE_VERSION = 1

DEFAULT_BINS = 8192
"""Fine histogram bins per numeric column: at least half of them cover the data range."""

DEFAULT_MAX_CATEGORIES = 10_000
"""Distinct values counted per column before the rest go to the "other" bucket."""

N_EXTREMES = 5
"""How many of the smallest and largest values a numeric profile keeps as examples."""

TYPES = ("number", "string", "bool", "datetime", "other", "nested")
"""Types of non-null values counted per column (``nested``: lists, dicts, bytes, arrays)."""

KINDS = (
    "numeric",
    "categorical",
    "bool",
    "datetime",
    "text",
    "identifier",
    "unsupported",
    "mixed",
    "empty",
)
"""Kinds of columns: the kind of the values' type (``text`` and ``identifier`` when profiled as
such), ``unsupported`` for values no check reads, ``mixed`` for several, ``empty`` for none."""

DECLARED_KINDS = ("categorical", "text", "identifier")
"""Kinds a caller may declare for a column before profiling (the others follow the dtype)."""

_KIND_OF_TYPE = {
    "number": "numeric",
    "string": "categorical",
    "other": "categorical",
    "bool": "bool",
    "datetime": "datetime",
    "nested": "unsupported",
}

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------------------------
# The histogram grid


@dataclass(frozen=True)
class Grid:
    """Equal-width bins of width ``2**exponent``; bin ``j`` covers ``[(start+j)w, (start+j+1)w)``.

    A histogram on a grid has ``bins + 2`` counts: underflow, the ``bins`` bins, overflow.
    """

    exponent: int
    start: int
    bins: int

    @property
    def width(self) -> float:
        return math.ldexp(1.0, self.exponent)

    @property
    def lo(self) -> float:
        return math.ldexp(float(self.start), self.exponent)

    @property
    def hi(self) -> float:
        return math.ldexp(float(self.start + self.bins), self.exponent)

    def edges(self) -> FloatArray:
        """The ``bins + 1`` bin edges."""
        return np.ldexp(
            np.arange(self.start, self.start + self.bins + 1, dtype=np.float64), self.exponent
        )

    @classmethod
    def covering(cls, lo: float, hi: float, bins: int) -> Grid:
        """The finest grid of the family holding ``[lo, hi]`` in ``bins`` bins.

        The exponent is a monotone function of the range, so the grid of a union of ranges is
        never finer than the grid of either part, and a histogram on a part coarsens exactly.
        Bin indexes stay below 2**53 in magnitude so float arithmetic on them is exact.
        """
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
            raise ValueError(f"grid range must be finite with lo <= hi, got [{lo}, {hi}]")
        magnitude = max(abs(lo), abs(hi))
        # frexp(0) has exponent 0: treat 0 as the smallest magnitude to keep this monotone.
        exponent = max(math.frexp(magnitude)[1] - 52, -1022) if magnitude else -1022
        span = hi - lo
        if span > 0 and math.isfinite(span):
            exponent = max(exponent, math.frexp(span)[1] - bins.bit_length() - 2)
        while (
            math.floor(math.ldexp(hi, -exponent)) - math.floor(math.ldexp(lo, -exponent)) > bins - 1
        ):
            exponent += 1
        return cls(exponent, math.floor(math.ldexp(lo, -exponent)), bins)

    def to_list(self) -> list[int]:
        return [self.exponent, self.start, self.bins]

    @classmethod
    def from_list(cls, value: Sequence[int]) -> Grid:
        exponent, start, bins = (int(v) for v in value)
        return cls(exponent, start, bins)


class Scratch:
    """Work arrays reused across the columns of a frame, so that binning one column does not
    fault in two fresh arrays' worth of memory pages (a third of its cost on 1M rows)."""

    def __init__(self) -> None:
        self._floats: FloatArray = np.empty(0)
        self._slots: npt.NDArray[np.intp] = np.empty(0, dtype=np.intp)

    def arrays(self, n: int) -> tuple[FloatArray, npt.NDArray[np.intp]]:
        if self._floats.size < n:
            self._floats = np.empty(n)
            self._slots = np.empty(n, dtype=np.intp)
        return self._floats[:n], self._slots[:n]


def _bin_index(
    x: FloatArray, grid: Grid, clip: bool, scratch: Scratch | None = None
) -> npt.NDArray[np.intp]:
    """Histogram slot of each finite value: 0 underflow, 1..bins the bins, bins+1 overflow.

    One arithmetic pass: scale by a power of two (exact), floor (exact), shift, clip, cast.
    The result lives in ``scratch`` when given (valid until its next use).
    """
    a, slots = (scratch or Scratch()).arrays(x.size)
    # Far beyond a reference grid the scaled value may overflow to inf: it is clipped anyway.
    with np.errstate(over="ignore", invalid="ignore"):
        np.multiply(x, math.ldexp(1.0, -grid.exponent), out=a)
        np.floor(a, out=a)
        a -= float(grid.start - 1)
    if clip:
        np.clip(a, 0.0, float(grid.bins + 1), out=a)
    np.copyto(slots, a, casting="unsafe")
    return slots


def _coarsen(counts: IntArray, grid: Grid, target: Grid) -> IntArray:
    """Re-bin a histogram without under/overflow mass onto a coarser grid of the family."""
    if counts[0] or counts[-1]:
        raise ValueError("cannot re-bin a histogram with underflow or overflow counts")
    if grid == target:
        return counts
    shift = target.exponent - grid.exponent
    if shift < 0:
        raise ValueError("cannot re-bin onto a finer grid")
    nonzero = np.flatnonzero(counts[1:-1])
    absolute = nonzero.astype(np.int64) + grid.start
    slots = (absolute >> shift) - target.start + 1
    if slots.size and (slots.min() < 1 or slots.max() > target.bins):
        raise ValueError("target grid does not hold the histogram")
    out = np.zeros(target.bins + 2, dtype=np.int64)
    np.add.at(out, slots, counts[1:-1][nonzero])
    return out


# --------------------------------------------------------------------------------------------
# Numeric summaries


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _float_or_nan(value: Any) -> float:
    return math.nan if value is None else float(value)


@dataclass(frozen=True, eq=False)
class NumericSummary:
    """Mergeable summary of the numeric values of one column (finite values, plus inf counts)."""

    grid: Grid
    counts: IntArray
    n: int
    min: float
    max: float
    mean: float
    m2: float
    lowest: tuple[float, ...] = ()
    highest: tuple[float, ...] = ()
    pos_inf: int = 0
    neg_inf: int = 0
    integral: bool = False

    # -- derived statistics --------------------------------------------------------------

    @property
    def variance(self) -> float:
        """Sample variance (ddof=1); nan below two values."""
        return self.m2 / (self.n - 1) if self.n > 1 else math.nan

    @property
    def std(self) -> float:
        return math.sqrt(self.variance) if self.n > 1 else math.nan

    @property
    def underflow(self) -> int:
        return int(self.counts[0])

    @property
    def overflow(self) -> int:
        return int(self.counts[-1])

    def cdf_knots(self) -> tuple[FloatArray, FloatArray]:
        """Knots ``(x, F)`` of the piecewise-linear CDF implied by the histogram.

        Mass in a bin is spread evenly over the part of the bin inside ``[min, max]``; the
        underflow bin spans ``[min, grid.lo]``, the overflow bin ``[grid.hi, max]``.
        """
        if self.n == 0:
            raise ValueError("empty numeric summary has no distribution")
        edges = self.grid.edges()
        xs = np.concatenate(([min(self.min, edges[0])], edges, [max(self.max, edges[-1])]))
        np.clip(xs, self.min, self.max, out=xs)
        cum = np.concatenate(([0], np.cumsum(self.counts))).astype(np.float64) / self.n
        return xs, cum

    def quantile_bounds(
        self, p: float | Sequence[float] | FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Interval sure to hold the empirical quantile ``inf{x : F_n(x) >= p}`` of the values.

        It is the part of the histogram bin holding that rank inside ``[min, max]``: at most one
        bin width wide, or ``[min, grid.lo]`` / ``[grid.hi, max]`` in the under/overflow bins.
        """
        probs = np.atleast_1d(np.asarray(p, dtype=np.float64))
        if self.n == 0:
            nan = np.full(probs.shape, np.nan)
            return nan, nan.copy()
        if np.any((probs < 0) | (probs > 1)):
            raise ValueError(f"quantile levels must be in [0, 1], got {p!r}")
        ranks = np.maximum(np.ceil(probs * self.n), 1)
        cum = np.cumsum(self.counts)
        slot = np.searchsorted(cum, ranks, side="left")
        edges = self.grid.edges()
        left = np.where(slot == 0, self.min, edges[np.clip(slot - 1, 0, self.grid.bins)])
        right = np.where(
            slot >= self.grid.bins + 1, self.max, edges[np.clip(slot, 0, self.grid.bins)]
        )
        left = np.clip(left, self.min, self.max)
        right = np.clip(right, self.min, self.max)
        left = np.where(probs == 0, self.min, left)
        right = np.where(probs == 0, self.min, right)
        return left, right

    def quantile(self, p: float | Sequence[float] | FloatArray) -> FloatArray:
        """Quantile estimate by linear interpolation inside the bin; see :meth:`quantile_bounds`."""
        probs = np.atleast_1d(np.asarray(p, dtype=np.float64))
        if self.n == 0:
            return np.full(probs.shape, np.nan)
        xs, cum = self.cdf_knots()
        left, right = self.quantile_bounds(probs)
        estimate = np.interp(probs, cum, xs)
        return np.clip(estimate, left, right)

    def count_below(self, value: float) -> float:
        """Number of values ``< value`` (exact outside the data range and among the extremes)."""
        if self.n == 0 or value <= self.min:
            return 0.0
        if value > self.max:
            return float(self.n)
        if len(self.lowest) and value <= self.lowest[-1]:
            return float(sum(v < value for v in self.lowest))
        xs, cum = self.cdf_knots()
        return float(np.interp(value, xs, cum) * self.n)

    def count_above(self, value: float) -> float:
        """Number of values ``> value`` (exact outside the data range and among the extremes)."""
        if self.n == 0 or value >= self.max:
            return 0.0
        if value < self.min:
            return float(self.n)
        if len(self.highest) and value >= self.highest[-1]:
            return float(sum(v > value for v in self.highest))
        xs, cum = self.cdf_knots()
        return float((1.0 - np.interp(value, xs, cum)) * self.n)

    # -- building and merging --------------------------------------------------------------

    @classmethod
    def empty(cls, grid: Grid | None = None, bins: int = DEFAULT_BINS) -> NumericSummary:
        grid = grid or Grid(0, 0, bins)
        return cls(
            grid, np.zeros(grid.bins + 2, dtype=np.int64), 0, math.nan, math.nan, math.nan, 0.0
        )

    @classmethod
    def from_values(
        cls,
        values: FloatArray,
        *,
        grid: Grid | None = None,
        bins: int = DEFAULT_BINS,
        integral: bool = False,
        scratch: Scratch | None = None,
    ) -> NumericSummary:
        """Summarise float values: nan is skipped, inf counted but not binned.

        The number of nan values is ``values.size - n - pos_inf - neg_inf``.
        """
        x = values
        pos_inf = neg_inf = 0
        if x.size == 0:
            return replace(cls.empty(grid, bins), integral=integral)
        lo, hi = float(x.min()), float(x.max())  # nan propagates: no separate isnan pass
        if not (math.isfinite(lo) and math.isfinite(hi)):
            finite = np.isfinite(x)
            if lo == -math.inf or hi == math.inf or math.isnan(lo):
                pos_inf = int(np.count_nonzero(x == np.inf))
                neg_inf = int(np.count_nonzero(x == -np.inf))
            x = x[finite]
            if x.size == 0:
                return replace(
                    cls.empty(grid, bins), pos_inf=pos_inf, neg_inf=neg_inf, integral=integral
                )
            lo, hi = float(x.min()), float(x.max())
        clip = grid is not None
        if grid is None:
            grid = Grid.covering(lo, hi, bins)
        slots = _bin_index(x, grid, clip, scratch)
        counts = np.bincount(slots, minlength=grid.bins + 2).astype(np.int64, copy=False)
        mean, m2 = _moments(x)
        lowest, highest = _extremes(x, slots, counts)
        return cls(
            grid, counts, int(x.size), lo, hi, mean, m2, lowest, highest, pos_inf, neg_inf, integral
        )

    def merge(self, other: NumericSummary) -> NumericSummary:
        """Summary of both sets of values (Chan et al.'s parallel update for the moments)."""
        if other.n == 0 and self.n == 0:
            base = self if self.grid == other.grid else NumericSummary.empty(self.grid)
            return replace(
                base,
                pos_inf=self.pos_inf + other.pos_inf,
                neg_inf=self.neg_inf + other.neg_inf,
                integral=self.integral and other.integral,
            )
        if other.n == 0 or self.n == 0:
            full, empty = (self, other) if other.n == 0 else (other, self)
            return replace(
                full,
                pos_inf=full.pos_inf + empty.pos_inf,
                neg_inf=full.neg_inf + empty.neg_inf,
                integral=full.integral and empty.integral,
            )
        grid, a, b = _align(self, other)
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * other.n / n
        m2 = self.m2 + other.m2 + delta * delta * self.n * other.n / n
        lowest = tuple(sorted(self.lowest + other.lowest)[:N_EXTREMES])
        highest = tuple(sorted(self.highest + other.highest, reverse=True)[:N_EXTREMES])
        return NumericSummary(
            grid,
            a + b,
            n,
            min(self.min, other.min),
            max(self.max, other.max),
            mean,
            m2,
            lowest,
            highest,
            self.pos_inf + other.pos_inf,
            self.neg_inf + other.neg_inf,
            self.integral and other.integral,
        )

    # -- serialisation -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        nonzero = np.flatnonzero(self.counts)
        first = int(nonzero[0]) if nonzero.size else 0
        last = int(nonzero[-1]) + 1 if nonzero.size else 0
        return {
            "grid": self.grid.to_list(),
            "hist_offset": first,
            "hist": self.counts[first:last].tolist(),
            "n": self.n,
            "min": _none_if_nan(self.min),
            "max": _none_if_nan(self.max),
            "mean": _none_if_nan(self.mean),
            "m2": self.m2,
            "lowest": list(self.lowest),
            "highest": list(self.highest),
            "pos_inf": self.pos_inf,
            "neg_inf": self.neg_inf,
            "integral": self.integral,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NumericSummary:
        grid = Grid.from_list(data["grid"])
        counts = np.zeros(grid.bins + 2, dtype=np.int64)
        hist = np.asarray(data["hist"], dtype=np.int64)
        offset = int(data["hist_offset"])
        counts[offset : offset + hist.size] = hist
        return cls(
            grid,
            counts,
            int(data["n"]),
            _float_or_nan(data["min"]),
            _float_or_nan(data["max"]),
            _float_or_nan(data["mean"]),
            float(data["m2"]),
            tuple(float(v) for v in data["lowest"]),
            tuple(float(v) for v in data["highest"]),
            int(data["pos_inf"]),
            int(data["neg_inf"]),
            bool(data["integral"]),
        )


def _moments(x: FloatArray) -> tuple[float, float]:
    """Mean and sum of squared deviations of a non-empty array.

    One pass for the sum and one for the sum of squares; when the mean is so large
    against the spread that the subtraction would lose more than about 6 digits, the exact
    two-pass form is used instead.
    """
    n = x.size
    total = float(x.sum())
    mean = total / n
    # einsum rather than a BLAS dot: no thread pool to wake, several times faster on 1M rows.
    squares = float(np.einsum("i,i->", x, x))
    m2 = squares - total * mean
    if not math.isfinite(squares) or m2 <= squares * 1e-6:
        dev = x - mean
        m2 = float(np.einsum("i,i->", dev, dev))
    return mean, max(m2, 0.0)


def _extremes(
    x: FloatArray, slots: npt.NDArray[np.intp], counts: IntArray
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The ``N_EXTREMES`` smallest and largest values, found through the histogram slots."""
    k = min(N_EXTREMES, x.size)
    cum_low = np.cumsum(counts)
    low_slot = int(np.searchsorted(cum_low, k))
    cum_high = np.cumsum(counts[::-1])
    high_slot = counts.size - 1 - int(np.searchsorted(cum_high, k))
    low = x[slots <= low_slot]
    high = x[slots >= high_slot]
    low = np.partition(low, k - 1)[:k] if low.size > k else low
    high = np.partition(high, high.size - k)[-k:] if high.size > k else high
    return tuple(np.sort(low).tolist()), tuple(np.sort(high)[::-1].tolist())


def _align(a: NumericSummary, b: NumericSummary) -> tuple[Grid, IntArray, IntArray]:
    """Bring two non-empty histograms onto one grid (exact; see :class:`Grid`)."""
    if a.grid == b.grid:
        return a.grid, a.counts, b.counts
    if a.underflow or a.overflow or b.underflow or b.overflow:
        raise ValueError(
            "cannot merge numeric profiles built against different reference grids; "
            "profile every chunk against the same reference"
        )
    if a.grid.bins != b.grid.bins:
        raise ValueError(f"cannot merge histograms of {a.grid.bins} and {b.grid.bins} bins")
    target = Grid.covering(min(a.min, b.min), max(a.max, b.max), a.grid.bins)
    exponent = max(target.exponent, a.grid.exponent, b.grid.exponent)
    if exponent != target.exponent:
        lo = min(a.min, b.min)
        target = Grid(exponent, math.floor(math.ldexp(lo, -exponent)), a.grid.bins)
    return target, _coarsen(a.counts, a.grid, target), _coarsen(b.counts, b.grid, target)


def common_histograms(
    a: NumericSummary, b: NumericSummary
) -> tuple[Grid, IntArray, IntArray, bool]:
    """Histograms of two summaries on one grid, and whether that alignment is exact.

    Exact when ``b`` was profiled against ``a`` (same grid) or neither has under/overflow
    mass; otherwise ``b`` is re-binned onto ``a``'s grid through its piecewise-linear CDF.
    """
    try:
        grid, ca, cb = _align(a, b)
        return grid, ca, cb, True
    except ValueError:
        pass
    grid = a.grid
    xs, cum = b.cdf_knots()
    edges = grid.edges()
    at_edges = np.interp(edges, xs, cum) * b.n
    inner = np.diff(at_edges)
    counts = np.concatenate(([at_edges[0]], inner, [b.n - at_edges[-1]]))
    return grid, a.counts, np.rint(counts).astype(np.int64), False


# --------------------------------------------------------------------------------------------
# Categorical summaries


@dataclass(frozen=True)
class CategoricalSummary:
    """Counts per distinct value (as text), capped; values beyond the cap go to "other".

    Under the cap, counts are exact and merge exactly. Beyond it the most frequent values are
    kept (``pinned`` values, those of the reference, always are), ``other_rows`` is exact and
    ``other_distinct`` an upper bound on the distinct values dropped.
    """

    counts: Mapping[str, int]
    other_rows: int = 0
    other_distinct: int = 0
    max_categories: int = DEFAULT_MAX_CATEGORIES
    pinned: frozenset[str] = frozenset()

    @property
    def n(self) -> int:
        return sum(self.counts.values()) + self.other_rows

    @property
    def distinct(self) -> int:
        """Distinct values (an upper bound once values were dropped into "other")."""
        return len(self.counts) + self.other_distinct

    @property
    def singletons(self) -> int:
        """Values seen exactly once; dropped values count as singletons (an upper bound)."""
        return sum(1 for c in self.counts.values() if c == 1) + self.other_distinct

    @property
    def truncated(self) -> bool:
        return self.other_rows > 0

    def top(self, k: int) -> list[tuple[str, int]]:
        """The ``k`` most frequent values, ties broken by value."""
        return sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]

    @classmethod
    def from_value_counts(
        cls,
        keys: Sequence[str],
        counts: Sequence[int] | IntArray,
        *,
        max_categories: int = DEFAULT_MAX_CATEGORIES,
        pinned: frozenset[str] = frozenset(),
    ) -> CategoricalSummary:
        """From distinct values and their counts, sorted by decreasing count."""
        if len(keys) <= max_categories:
            return cls(
                dict(zip(keys, (int(c) for c in counts), strict=True)), 0, 0, max_categories, pinned
            )
        count_arr = np.asarray(counts, dtype=np.int64)
        if pinned:
            is_pinned = np.fromiter((k in pinned for k in keys), dtype=bool, count=len(keys))
        else:
            is_pinned = np.zeros(len(keys), dtype=bool)
        free = np.flatnonzero(~is_pinned)[:max_categories]
        keep = is_pinned.copy()
        keep[free] = True
        kept_idx = np.flatnonzero(keep)
        kept = {keys[int(i)]: int(count_arr[i]) for i in kept_idx}
        other_rows = int(count_arr.sum() - count_arr[kept_idx].sum())
        return cls(kept, other_rows, len(keys) - kept_idx.size, max_categories, pinned)

    def merge(self, other: CategoricalSummary) -> CategoricalSummary:
        counts = dict(self.counts)
        for key, value in other.counts.items():
            counts[key] = counts.get(key, 0) + value
        other_rows = self.other_rows + other.other_rows
        other_distinct = self.other_distinct + other.other_distinct
        cap = min(self.max_categories, other.max_categories)
        pinned = self.pinned | other.pinned
        free = [kv for kv in counts.items() if kv[0] not in pinned]
        if len(free) > cap:
            free.sort(key=lambda kv: (-kv[1], kv[0]))
            dropped = free[cap:]
            other_rows += sum(v for _, v in dropped)
            other_distinct += len(dropped)
            for key, _ in dropped:
                del counts[key]
        return CategoricalSummary(counts, other_rows, other_distinct, cap, pinned)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "counts": dict(self.top(len(self.counts))),
            "other_rows": self.other_rows,
            "other_distinct": self.other_distinct,
            "max_categories": self.max_categories,
        }
        if self.pinned:
            out["pinned"] = sorted(self.pinned)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoricalSummary:
        return cls(
            {str(k): int(v) for k, v in data["counts"].items()},
            int(data["other_rows"]),
            int(data["other_distinct"]),
            int(data["max_categories"]),
            frozenset(str(v) for v in data.get("pinned", ())),
        )


# --------------------------------------------------------------------------------------------
# Text summaries

TOKEN_RULE = "tokens are runs of non-whitespace characters (str.split()), case and punctuation kept"
"""How texts are cut into tokens, in words (for results and the README)."""

_TEXT_BATCH = 1 << 15
"""Texts tokenized at a time: the token objects of one batch are alive, never a whole chunk's."""


def vocabulary_id(tokens: Iterable[str]) -> str:
    """A short fingerprint of a set of tokens: which vocabulary an out-of-vocabulary count used."""
    digest = hashlib.sha1()
    for token in sorted(set(tokens)):
        digest.update(token.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class TextSummary:
    """Mergeable summary of the texts of one column.

    ``chars`` and ``tokens`` are the distributions of characters and tokens per text (see
    :data:`TOKEN_RULE`); ``empty`` counts texts without a token (empty or whitespace only);
    ``non_ascii`` of ``char_total`` characters are not ASCII. ``halves`` are the token counts of
    the texts in two halves of the rows, split by a hash of each text (so the split does not
    depend on chunking): their merge is the column's vocabulary. ``sample`` is a uniform sample
    of distinct tokens with exact counts in each half, from which the out-of-vocabulary share
    that chance alone produces is estimated (:meth:`split_half_oov`). ``oov`` counts tokens
    outside the vocabulary fingerprinted ``vocabulary_id`` (the reference's, or one given when
    profiling), exactly, whatever the cap.
    """

    chars: NumericSummary
    tokens: NumericSummary
    empty: int
    char_total: int
    non_ascii: int
    halves: tuple[TokenCounts, TokenCounts]
    sample: TokenSample
    oov: int | None = None
    vocabulary_id: str | None = None

    @property
    def n(self) -> int:
        """Number of texts."""
        return self.chars.n

    @property
    def token_total(self) -> int:
        return self.halves[0].total + self.halves[1].total

    @property
    def empty_share(self) -> float:
        return self.empty / self.n if self.n else math.nan

    @property
    def non_ascii_share(self) -> float:
        return self.non_ascii / self.char_total if self.char_total else 0.0

    @cached_property
    def vocabulary(self) -> TokenCounts:
        """Token counts of the whole column (the merge of both halves)."""
        return self.halves[0].merge(self.halves[1])

    @cached_property
    def vocabulary_set(self) -> frozenset[str]:
        return frozenset(self.vocabulary.counts)

    @cached_property
    def fingerprint(self) -> str:
        return vocabulary_id(self.vocabulary.counts)

    def split_half_oov(self) -> float:
        """Out-of-vocabulary share of one half's tokens against the other half's vocabulary
        (its token counts, capped as the column's are), the mean of both directions.

        What new data of this kind shows by chance against a vocabulary learned from data like
        this (from half as much, so a little more than against the whole). Estimated from
        :attr:`sample`: exact while it holds every distinct token.
        """
        pi = self.sample.inclusion
        a_vocab, b_vocab = self.halves[0].counts, self.halves[1].counts
        rows = self.sample.counts.values()
        shares = []
        if self.halves[1].total:
            outside = sum(b for token, _, b in rows if b and token not in a_vocab)
            shares.append(min(1.0, outside / pi / self.halves[1].total))
        if self.halves[0].total:
            outside = sum(a for token, a, _ in rows if a and token not in b_vocab)
            shares.append(min(1.0, outside / pi / self.halves[0].total))
        return float(np.mean(shares)) if shares else 0.0

    def tail_share(self, vocabulary: Collection[str]) -> float:
        """Estimated share of these tokens outside ``vocabulary`` (exact while :attr:`sample`
        holds every distinct token)."""
        total = self.token_total
        if not total:
            return 0.0
        known = vocabulary if isinstance(vocabulary, (set, frozenset)) else set(vocabulary)
        outside = sum(c[1] + c[2] for c in self.sample.counts.values() if c[0] not in known)
        return min(1.0, outside / self.sample.inclusion / total)

    def oov_share(self, vocabulary: Collection[str]) -> tuple[float, bool]:
        """Share of tokens outside ``vocabulary``, and whether that share is exact.

        Exact when this profile counted against that very vocabulary, or when its token sample
        holds every distinct token; otherwise estimated from the sample of distinct tokens.
        """
        total = self.token_total
        if not total:
            return 0.0, True
        if self.oov is not None and self.vocabulary_id == vocabulary_id(vocabulary):
            return self.oov / total, True
        return self.tail_share(vocabulary), not self.sample.truncated

    @classmethod
    def empty_summary(
        cls, reference: TextSummary | None = None, cap: int = DEFAULT_VOCABULARY_CAP
    ) -> TextSummary:
        grids = (None, None) if reference is None else _text_grids(reference)
        nothing = TokenCounts({}, 0, 0, cap)
        return cls(
            replace(NumericSummary.empty(grids[0]), integral=True),
            replace(NumericSummary.empty(grids[1]), integral=True),
            0,
            0,
            0,
            (nothing, nothing),
            TokenSample({}, False, cap),
            None if reference is None else 0,
            None if reference is None else reference.fingerprint,
        )

    @classmethod
    def from_texts(
        cls,
        texts: npt.NDArray[np.object_],
        *,
        reference: TextSummary | None = None,
        vocabulary: tuple[frozenset[str], str] | None = None,
        bins: int = DEFAULT_BINS,
        cap: int = DEFAULT_VOCABULARY_CAP,
        scratch: Scratch | None = None,
    ) -> TextSummary:
        """Summarise an object array of ``str``; ``vocabulary`` (tokens, fingerprint) to count
        out-of-vocabulary tokens against (default: the reference's vocabulary)."""
        import pandas as pd

        if vocabulary is None and reference is not None:
            vocabulary = (reference.vocabulary_set, reference.fingerprint)
        known, vid = vocabulary if vocabulary is not None else (None, None)
        n = len(texts)
        if n == 0:
            empty = cls.empty_summary(reference, cap)
            return replace(empty, oov=0 if vid else None, vocabulary_id=vid)
        chars = np.fromiter(map(len, texts), dtype=np.int64, count=n)
        n_tokens = np.empty(n, dtype=np.int64)
        in_b = (pd.util.hash_array(texts, categorize=False) & np.uint64(1)).astype(bool)
        tallies = (Tally(cap), Tally(cap))
        sample = TokenSample({}, False, cap)
        non_ascii = 0
        oov = 0
        for start in range(0, n, _TEXT_BATCH):
            batch = texts[start : start + _TEXT_BATCH]
            side = in_b[start : start + len(batch)]
            counters: list[Counter[str]] = []
            for half, rows in enumerate((np.flatnonzero(~side), np.flatnonzero(side))):
                counter: Counter[str] = Counter()
                if rows.size:
                    counter, sizes, ascii_gap = _count_tokens(batch[rows])
                    n_tokens[start + rows] = sizes
                    non_ascii += ascii_gap
                    if known is not None:
                        oov += sum(c for t, c in counter.items() if t not in known)
                    tallies[half].add(counter, int(sizes.sum()))
                counters.append(counter)
            sample = sample.merge(TokenSample.build((counters[0], counters[1]), cap=cap))
        grids = (None, None) if reference is None else _text_grids(reference)
        return cls(
            NumericSummary.from_values(
                chars.astype(np.float64), grid=grids[0], bins=bins, integral=True, scratch=scratch
            ),
            NumericSummary.from_values(
                n_tokens.astype(np.float64),
                grid=grids[1],
                bins=bins,
                integral=True,
                scratch=scratch,
            ),
            int(np.count_nonzero(n_tokens == 0)),
            int(chars.sum()),
            non_ascii,
            (tallies[0].done(), tallies[1].done()),
            sample,
            oov if vid is not None else None,
            vid,
        )

    def merge(self, other: TextSummary) -> TextSummary:
        same = self.vocabulary_id == other.vocabulary_id
        return TextSummary(
            self.chars.merge(other.chars),
            self.tokens.merge(other.tokens),
            self.empty + other.empty,
            self.char_total + other.char_total,
            self.non_ascii + other.non_ascii,
            (self.halves[0].merge(other.halves[0]), self.halves[1].merge(other.halves[1])),
            self.sample.merge(other.sample),
            self.oov + other.oov
            if same and self.oov is not None and other.oov is not None
            else None,
            self.vocabulary_id if same else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "chars": self.chars.to_dict(),
            "tokens": self.tokens.to_dict(),
            "empty": self.empty,
            "char_total": self.char_total,
            "non_ascii": self.non_ascii,
            "halves": [h.to_dict() for h in self.halves],
            "sample": self.sample.to_dict(),
            "oov": self.oov,
            "vocabulary_id": self.vocabulary_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TextSummary:
        a, b = (TokenCounts.from_dict(h) for h in data["halves"])
        oov = data.get("oov")
        return cls(
            NumericSummary.from_dict(data["chars"]),
            NumericSummary.from_dict(data["tokens"]),
            int(data["empty"]),
            int(data["char_total"]),
            int(data["non_ascii"]),
            (a, b),
            TokenSample.from_dict(data["sample"]),
            None if oov is None else int(oov),
            data.get("vocabulary_id"),
        )


_MARK = "\x01"
"""Put between texts when tokenizing a batch in one call: a token no text holds (checked)."""


def _count_tokens(texts: npt.NDArray[np.object_]) -> tuple[Counter[str], IntArray, int]:
    """Token counts, tokens per text and non-ASCII characters of a batch of texts.

    The batch is joined with a marker token between texts and split once (several times
    faster than splitting each text); the markers' positions give the tokens per text. A batch
    whose texts hold the marker character themselves is split text by text instead.
    """
    sep = f" {_MARK} "
    joined = sep.join(texts)
    non_ascii = len(joined) - len(joined.encode("ascii", "ignore"))
    if joined.count(_MARK) != len(texts) - 1:
        lists = [t.split() for t in texts]
        sizes = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        ascii_gap = sum(len(t) - len(t.encode("ascii", "ignore")) for t in texts)
        return Counter(chain.from_iterable(lists)), sizes, ascii_gap
    tokens = joined.split()
    del joined
    marks = np.flatnonzero(np.array(tokens, dtype=object) == _MARK)
    if marks.size != len(texts) - 1:  # pragma: no cover - the count above rules this out
        raise AssertionError("text markers lost while tokenizing")
    counter = Counter(tokens)
    del counter[_MARK]
    bounds = np.concatenate(([-1], marks, [len(tokens)]))
    return counter, np.diff(bounds) - 1, non_ascii


def _text_grids(reference: TextSummary) -> tuple[Grid | None, Grid | None]:
    """The reference's histogram grids (None where it has no values)."""
    return (
        reference.chars.grid if reference.chars.n else None,
        reference.tokens.grid if reference.tokens.n else None,
    )


# --------------------------------------------------------------------------------------------
# Column and dataset profiles


@dataclass(frozen=True, eq=False)
class ColumnProfile:
    """Everything the checks need to know about one column."""

    name: str
    count: int
    nulls: int
    types: Mapping[str, int]
    dtypes: tuple[str, ...] = ()
    numeric: NumericSummary | None = None
    categorical: CategoricalSummary | None = None
    text: TextSummary | None = None
    identifier: HashSample | None = None
    nested: Mapping[str, int] = field(default_factory=dict)  # type name -> values

    @property
    def non_null(self) -> int:
        return self.count - self.nulls

    @property
    def null_rate(self) -> float:
        return self.nulls / self.count if self.count else math.nan

    @property
    def kind(self) -> str:
        """One of :data:`KINDS`: ``mixed`` when values of several types are present."""
        present = [t for t in TYPES if self.types.get(t, 0) > 0]
        if not present:
            return "empty"
        if len(present) > 1:
            return "mixed"
        return self._declared_for(present[0]) or _KIND_OF_TYPE[present[0]]

    @property
    def majority_kind(self) -> str:
        """The kind of most non-null values (the kind a mixed column was meant to have)."""
        present = {t: c for t, c in self.types.items() if c > 0}
        if not present:
            return self._declared_kind or "empty"
        top = max(TYPES, key=lambda t: present.get(t, 0))
        return self._declared_for(top) or _KIND_OF_TYPE[top]

    @property
    def _declared_kind(self) -> str | None:
        if self.text is not None:
            return "text"
        if self.identifier is not None:
            return "identifier"
        return None

    def _declared_for(self, value_type: str) -> str | None:
        """The declared kind, when values of ``value_type`` fit it (text is strings; an
        identifier, strings or numbers): numbers arriving in a text column are numbers."""
        declared = self._declared_kind
        fits = {"text": ("string",), "identifier": ("string", "number", "other")}
        return declared if declared and value_type in fits[declared] else None

    @property
    def integral(self) -> bool:
        return self.numeric is not None and self.numeric.integral

    def merge(self, other: ColumnProfile) -> ColumnProfile:
        if other.name != self.name:
            raise ValueError(f"cannot merge profiles of columns {self.name!r} and {other.name!r}")
        types = {t: self.types.get(t, 0) + other.types.get(t, 0) for t in TYPES}
        nested = dict(self.nested)
        for key, value in other.nested.items():
            nested[key] = nested.get(key, 0) + value
        return ColumnProfile(
            self.name,
            self.count + other.count,
            self.nulls + other.nulls,
            {t: c for t, c in types.items() if c},
            tuple(sorted(set(self.dtypes) | set(other.dtypes))),
            _merge_optional(self.numeric, other.numeric),
            _merge_optional(self.categorical, other.categorical),
            _merge_optional(self.text, other.text),
            _merge_optional(self.identifier, other.identifier),
            nested,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "count": self.count,
            "nulls": self.nulls,
            "types": dict(self.types),
            "dtypes": list(self.dtypes),
        }
        if self.numeric is not None:
            out["numeric"] = self.numeric.to_dict()
        if self.categorical is not None:
            out["categorical"] = self.categorical.to_dict()
        if self.text is not None:
            out["text"] = self.text.to_dict()
        if self.identifier is not None:
            out["identifier"] = self.identifier.to_dict()
        if self.nested:
            out["nested"] = dict(self.nested)
        return out

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> ColumnProfile:
        return cls(
            name,
            int(data["count"]),
            int(data["nulls"]),
            {str(k): int(v) for k, v in data["types"].items()},
            tuple(str(d) for d in data.get("dtypes", ())),
            NumericSummary.from_dict(data["numeric"]) if data.get("numeric") else None,
            CategoricalSummary.from_dict(data["categorical"]) if data.get("categorical") else None,
            TextSummary.from_dict(data["text"]) if data.get("text") else None,
            HashSample.from_dict(data["identifier"]) if data.get("identifier") else None,
            {str(k): int(v) for k, v in data.get("nested", {}).items()},
        )


def _merge_optional(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return a.merge(b)


@dataclass(frozen=True, eq=False)
class DatasetProfile:
    """Profiles of every column of a dataset (or of the chunks seen so far)."""

    n_rows: int
    columns: Mapping[str, ColumnProfile] = field(default_factory=dict)

    def __getitem__(self, name: str) -> ColumnProfile:
        return self.columns[name]

    def merge(self, other: DatasetProfile) -> DatasetProfile:
        """Profile of the rows of both; a column absent from one side counts as nulls there."""
        names = list(self.columns) + [c for c in other.columns if c not in self.columns]
        merged: dict[str, ColumnProfile] = {}
        for name in names:
            a = self.columns.get(name) or _all_null(name, self.n_rows)
            b = other.columns.get(name) or _all_null(name, other.n_rows)
            merged[name] = a.merge(b)
        return DatasetProfile(self.n_rows + other.n_rows, merged)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (for the history store and the per-file cache)."""
        return {
            "format": PROFILE_FORMAT,
            "version": PROFILE_VERSION,
            "n_rows": self.n_rows,
            "columns": {name: col.to_dict() for name, col in self.columns.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetProfile:
        """Read back :meth:`to_dict`'s output; anything else is a ``ValueError``."""
        if data.get("format") != PROFILE_FORMAT or data.get("version") != PROFILE_VERSION:
            raise ValueError(
                f"not a profile of format {PROFILE_FORMAT!r} version {PROFILE_VERSION}: "
                f"format={data.get('format')!r}, version={data.get('version')!r}"
            )
        try:
            columns = {
                str(k): ColumnProfile.from_dict(str(k), v) for k, v in data["columns"].items()
            }
            return cls(int(data["n_rows"]), columns)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise ValueError(f"malformed profile: {type(exc).__name__}: {exc}") from None


def _all_null(name: str, rows: int) -> ColumnProfile:
    return ColumnProfile(name, rows, rows, {})


# --------------------------------------------------------------------------------------------
# Profiling pandas frames


def _check_settings(
    bins: int, max_categories: int, vocabulary_cap: int = DEFAULT_VOCABULARY_CAP
) -> None:
    if not isinstance(bins, int) or bins < 16 or bins > 1 << 24:
        raise ValueError(f"bins must be an integer between 16 and {1 << 24}, got {bins!r}")
    if not isinstance(max_categories, int) or max_categories < 1:
        raise ValueError(f"max_categories must be a positive integer, got {max_categories!r}")
    if not isinstance(vocabulary_cap, int) or vocabulary_cap < 1:
        raise ValueError(f"vocabulary_cap must be a positive integer, got {vocabulary_cap!r}")


def check_kinds(kinds: Mapping[str, str] | None) -> dict[str, str]:
    """Declared column kinds, checked (a ``ValueError`` names the column and the kinds allowed)."""
    out: dict[str, str] = {}
    for column, kind in (kinds or {}).items():
        if kind not in DECLARED_KINDS:
            raise ValueError(
                f"kind of column {column!r}: expected one of {', '.join(DECLARED_KINDS)}, "
                f"got {kind!r}"
            )
        out[str(column)] = kind
    return out


def _vocabularies(
    vocabularies: Mapping[str, Collection[str]] | None,
) -> dict[str, tuple[frozenset[str], str]]:
    """Each given vocabulary as (token set, fingerprint), computed once per call."""
    return {
        str(col): (frozenset(tokens), vocabulary_id(tokens))
        for col, tokens in (vocabularies or {}).items()
    }


def profile_frame(
    df: pd.DataFrame,
    reference: DatasetProfile | None = None,
    *,
    columns: Sequence[str] | None = None,
    bins: int = DEFAULT_BINS,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
    kinds: Mapping[str, str] | None = None,
    vocabularies: Mapping[str, Collection[str]] | None = None,
    vocabulary_cap: int = DEFAULT_VOCABULARY_CAP,
) -> DatasetProfile:
    """Profile every column of ``df`` (or ``columns``, skipping absent ones) in one pass.

    With a ``reference`` profile, numeric columns reuse the reference's histogram grid (values
    beyond it are counted in under/overflow bins) and the reference's categories are never
    dropped by the cap, so reference and result can be compared bin for bin; a column the
    reference profiled as text or identifier is profiled the same way. ``kinds`` declares
    columns ``text``, ``identifier`` or ``categorical`` (see :data:`DECLARED_KINDS`);
    ``vocabularies`` gives, per text column, the vocabulary to count out-of-vocabulary tokens
    against (default: the reference's); ``vocabulary_cap`` caps the tokens counted per column.
    """
    _check_settings(bins, max_categories, vocabulary_cap)
    return _profile_frame(
        df,
        reference,
        columns,
        bins,
        max_categories,
        check_kinds(kinds),
        _vocabularies(vocabularies),
        vocabulary_cap,
    )


def _profile_frame(
    df: pd.DataFrame,
    reference: DatasetProfile | None,
    columns: Sequence[str] | None,
    bins: int,
    max_categories: int,
    kinds: Mapping[str, str],
    vocabularies: Mapping[str, tuple[frozenset[str], str]],
    vocabulary_cap: int,
) -> DatasetProfile:
    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"duplicate column names: {', '.join(map(repr, dupes))}")
    wanted = names if columns is None else [str(c) for c in columns if str(c) in names]
    by_name = dict(zip(names, df.columns, strict=True))
    out: dict[str, ColumnProfile] = {}
    scratch = Scratch()
    for name in wanted:
        ref = reference.columns.get(name) if reference is not None else None
        out[name] = _profile_series(
            df[by_name[name]],
            name,
            ref,
            bins,
            max_categories,
            scratch,
            kinds.get(name),
            vocabularies.get(name),
            vocabulary_cap,
        )
    return DatasetProfile(len(df), out)


def profile_chunks(
    chunks: Iterable[pd.DataFrame],
    reference: DatasetProfile | None = None,
    *,
    columns: Sequence[str] | None = None,
    bins: int = DEFAULT_BINS,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
    kinds: Mapping[str, str] | None = None,
    vocabularies: Mapping[str, Collection[str]] | None = None,
    vocabulary_cap: int = DEFAULT_VOCABULARY_CAP,
) -> DatasetProfile:
    """Profile a stream of frames in bounded memory: the merge of each chunk's profile."""
    _check_settings(bins, max_categories, vocabulary_cap)
    declared = check_kinds(kinds)
    vocabs = _vocabularies(vocabularies)
    total: DatasetProfile | None = None
    for chunk in chunks:
        part = _profile_frame(
            chunk, reference, columns, bins, max_categories, declared, vocabs, vocabulary_cap
        )
        total = part if total is None else total.merge(part)
        del chunk  # not alive while the next chunk is read: one chunk in memory, not two
    return total if total is not None else DatasetProfile(0, {})


def profile_series(
    series: pd.Series,
    *,
    name: str | None = None,
    reference: ColumnProfile | None = None,
    bins: int = DEFAULT_BINS,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
    scratch: Scratch | None = None,
    kind: str | None = None,
    vocabulary: Collection[str] | None = None,
    vocabulary_cap: int = DEFAULT_VOCABULARY_CAP,
) -> ColumnProfile:
    """Profile one column; see :func:`profile_frame`."""
    _check_settings(bins, max_categories, vocabulary_cap)
    name = str(series.name) if name is None else name
    if kind is not None:
        check_kinds({name: kind})
    vocab = None if vocabulary is None else (frozenset(vocabulary), vocabulary_id(vocabulary))
    return _profile_series(
        series, name, reference, bins, max_categories, scratch, kind, vocab, vocabulary_cap
    )


def _profile_series(
    series: pd.Series,
    name: str,
    reference: ColumnProfile | None,
    bins: int,
    max_categories: int,
    scratch: Scratch | None,
    kind: str | None,
    vocabulary: tuple[frozenset[str], str] | None,
    vocabulary_cap: int,
) -> ColumnProfile:
    import pandas as pd

    dtype = series.dtype
    if kind is None and reference is not None:
        kind = reference._declared_kind
    if kind == "text":
        return _profile_text(series, name, reference, bins, vocabulary_cap, vocabulary, scratch)
    if kind == "identifier":
        return _profile_identifier(series, name, max_categories)
    grid = (
        reference.numeric.grid
        if reference is not None and reference.numeric is not None and reference.numeric.n
        else None
    )
    pinned = (
        frozenset(reference.categorical.counts)
        if reference is not None and reference.categorical is not None
        else frozenset()
    )
    n = len(series)
    dtype_name = str(dtype)

    def numeric_column(
        x: FloatArray, integral: bool, type_name: str, nulls_extra: int = 0
    ) -> ColumnProfile:
        summary = NumericSummary.from_values(
            x, grid=grid, bins=bins, integral=integral, scratch=scratch
        )
        non_null = summary.n + summary.pos_inf + summary.neg_inf
        types = {type_name: non_null} if non_null else {}
        nulls = x.size - non_null + nulls_extra
        return ColumnProfile(name, n, nulls, types, (dtype_name,), summary, None)

    def categorical_column(values: pd.Series, type_name: str) -> ColumnProfile:
        vc = values.value_counts(dropna=True, sort=True)
        if isinstance(values.dtype, pd.CategoricalDtype):
            vc = vc[vc > 0]
        keys = [str(k) for k in vc.index.tolist()]
        summary = CategoricalSummary.from_value_counts(
            keys, vc.to_numpy(dtype=np.int64), max_categories=max_categories, pinned=pinned
        )
        non_null = int(vc.sum())
        types = {type_name: non_null} if non_null else {}
        return ColumnProfile(
            name, n, n - non_null, types, (dtype_name,), None, summary if non_null else None
        )

    if (
        kind == "categorical"
        and not isinstance(dtype, pd.CategoricalDtype)
        and not pd.api.types.is_bool_dtype(dtype)
        and (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype))
        and series.notna().any()
    ):
        raise ValueError(
            f"column {name!r} is declared categorical but holds {dtype} values; "
            "the categorical kind is for string columns (numbers are profiled as numbers)"
        )
    if pd.api.types.is_bool_dtype(dtype):
        return categorical_column(series, "bool")
    if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        x = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return numeric_column(x, pd.api.types.is_integer_dtype(dtype), "number")
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return numeric_column(_datetime_seconds(series), False, "datetime")
    if pd.api.types.is_timedelta64_dtype(dtype):
        return numeric_column(
            series.dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan), False, "number"
        )
    if isinstance(dtype, (pd.CategoricalDtype, pd.StringDtype)):
        return categorical_column(series, "string")
    return _profile_object(
        series, name, grid, pinned, bins, max_categories, numeric_column, categorical_column
    )


def _datetime_seconds(series: pd.Series) -> FloatArray:
    """Seconds since the Unix epoch (UTC for tz-aware values), nan for NaT."""
    import pandas as pd

    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    raw = series.to_numpy(dtype="datetime64[ns]").view(np.int64)
    out = raw.astype(np.float64) / 1e9
    out[raw == np.iinfo(np.int64).min] = np.nan
    return out


_OBJECT_NUMERIC = {"integer", "floating", "mixed-integer-float", "decimal"}


_NESTED = (list, tuple, dict, set, frozenset, bytes, bytearray, memoryview, np.ndarray)


def _classify(value: object) -> str:
    if isinstance(value, _NESTED):
        return "nested"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, float, np.number)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (dt.date, np.datetime64)):
        return "datetime"
    return "other"


def _profile_object(
    series: pd.Series,
    name: str,
    grid: Grid | None,
    pinned: frozenset[str],
    bins: int,
    max_categories: int,
    numeric_column: Any,
    categorical_column: Any,
) -> ColumnProfile:
    """Object columns: pure ones take the typed paths, mixed ones are split by value type."""
    import pandas as pd

    values = series.to_numpy(dtype=object)
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    if inferred in ("string", "empty"):
        return categorical_column(series, "string")
    if inferred == "boolean":
        return categorical_column(series, "bool")
    if inferred in ("datetime", "datetime64", "date"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                stamps = pd.to_datetime(series, utc=True)
        except (TypeError, ValueError, OverflowError):
            pass
        else:
            return numeric_column(_datetime_seconds(stamps), False, "datetime")
    if inferred in _OBJECT_NUMERIC:
        try:
            x = pd.to_numeric(series, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError, OverflowError):
            pass
        else:
            return numeric_column(x, inferred == "integer", "number")
    # A mixed column: number values form the numeric part, everything else the category part.
    null = pd.isna(values)
    present = values[~null]
    kinds = np.array([_classify(v) for v in present], dtype=object)
    types = {t: int(np.count_nonzero(kinds == t)) for t in TYPES}
    is_number = kinds == "number"
    numeric = None
    if types["number"]:
        x = np.asarray(present[is_number], dtype=np.float64)
        integral = all(isinstance(v, (int, np.integer)) for v in present[is_number])
        numeric = NumericSummary.from_values(x, grid=grid, bins=bins, integral=integral)
    is_nested = kinds == "nested"
    nested = Counter(type(v).__name__ for v in present[is_nested]) if types["nested"] else {}
    categorical = None
    rest = present[~is_number & ~is_nested]
    if rest.size:
        text = pd.Series([v if isinstance(v, str) else str(v) for v in rest], dtype=object)
        vc = text.value_counts(sort=True)
        categorical = CategoricalSummary.from_value_counts(
            [str(k) for k in vc.index.tolist()],
            vc.to_numpy(dtype=np.int64),
            max_categories=max_categories,
            pinned=pinned,
        )
    return ColumnProfile(
        name,
        len(series),
        int(np.count_nonzero(null)),
        {t: c for t, c in types.items() if c},
        (str(series.dtype),),
        numeric,
        categorical,
        nested=dict(nested),
    )


def _present_values(series: pd.Series) -> tuple[npt.NDArray[np.object_], int]:
    """The non-null values of a column as an object array, and the number of nulls."""
    import pandas as pd

    values = series.to_numpy(dtype=object)
    null = pd.isna(values)
    n_null = int(np.count_nonzero(null))
    return (values[~null] if n_null else values), n_null


def _split_types(
    present: npt.NDArray[np.object_],
) -> tuple[dict[str, int], npt.NDArray[np.object_], dict[str, int]]:
    """Type counts of the values, the ``str`` values among them, and nested type names."""
    import pandas as pd

    inferred = pd.api.types.infer_dtype(present, skipna=False) if present.size else "empty"
    if inferred == "string":
        return {"string": int(present.size)}, present, {}
    if inferred == "empty":
        return {}, present, {}
    kinds = np.array([_classify(v) for v in present], dtype=object)
    types = {t: int(np.count_nonzero(kinds == t)) for t in TYPES}
    strings = present[kinds == "string"]
    is_nested = kinds == "nested"
    nested = Counter(type(v).__name__ for v in present[is_nested]) if types["nested"] else {}
    return {t: c for t, c in types.items() if c}, strings, dict(nested)


def _profile_text(
    series: pd.Series,
    name: str,
    reference: ColumnProfile | None,
    bins: int,
    cap: int,
    vocabulary: tuple[frozenset[str], str] | None,
    scratch: Scratch | None,
) -> ColumnProfile:
    """A text column: the :class:`TextSummary` of its ``str`` values (other values only counted
    by type, so a text column that receives numbers is reported as mixed)."""
    present, n_null = _present_values(series)
    types, strings, nested = _split_types(present)
    ref_text = reference.text if reference is not None else None
    summary = TextSummary.from_texts(
        strings, reference=ref_text, vocabulary=vocabulary, bins=bins, cap=cap, scratch=scratch
    )
    return ColumnProfile(
        name,
        len(series),
        n_null,
        types,
        (str(series.dtype),),
        text=summary,
        nested=nested,
    )


def _whole_or_float_hashes(x: FloatArray) -> npt.NDArray[np.uint64]:
    import pandas as pd

    if (
        x.size
        and np.all(np.isfinite(x))
        and np.all(x == np.floor(x))
        and np.all(np.abs(x) < 2.0**63)
    ):
        return pd.util.hash_array(x.astype(np.int64))
    return pd.util.hash_array(x)


def _profile_identifier(series: pd.Series, name: str, cap: int) -> ColumnProfile:
    """An identifier column: null count, value types and a hash sample (never the values).

    Whole numbers hash as integers whatever their dtype (an id read as float in a chunk with
    nulls hashes as in a chunk without); anything else hashes as its text.
    """
    import pandas as pd

    dtype = series.dtype
    n = len(series)
    nested: dict[str, int] = {}
    if pd.api.types.is_integer_dtype(dtype):
        present = series.dropna().to_numpy(dtype=np.int64)
        hashes = pd.util.hash_array(present)
        types = {"number": int(present.size)} if present.size else {}
    elif pd.api.types.is_float_dtype(dtype):
        x = series.to_numpy(dtype=np.float64, na_value=np.nan)
        x = x[~np.isnan(x)]
        hashes = _whole_or_float_hashes(x)
        types = {"number": int(x.size)} if x.size else {}
    else:
        values, _ = _present_values(series)
        types, _, nested = _split_types(values)
        if nested:
            values = values[np.array([not isinstance(v, _NESTED) for v in values], dtype=bool)]
        if set(types) <= {"number"} and values.size:
            hashes = _whole_or_float_hashes(np.asarray(values, dtype=np.float64))
        else:
            if set(types) != {"string"}:
                values = np.array(
                    [v if isinstance(v, str) else str(v) for v in values], dtype=object
                )
            hashes = pd.util.hash_array(values, categorize=False)
    return ColumnProfile(
        name,
        n,
        n - int(hashes.size) - sum(nested.values()),
        types,
        (str(dtype),),
        identifier=HashSample.from_hashes(hashes, cap=cap),
        nested=nested,
    )

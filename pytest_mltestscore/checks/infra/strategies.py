"""infra-2: hypothesis strategies for rows and frames drawn from the data-1 schema.

:func:`rows` and :func:`data_frames` turn a
:class:`~pytest_mltestscore.checks.data.schema.Schema` into hypothesis strategies whose values
are valid inputs by construction: numbers within the range (integers for ``int`` features),
categories from the allowed list, booleans, datetimes between ``first`` and ``last``, and nulls
at the schema's null rate. :func:`check_model_on_schema` runs a model's ready-made properties
(:func:`~pytest_mltestscore.checks.infra.properties.model_properties`) on such frames and
reports the smallest frame hypothesis finds that breaks one.

How values are drawn, and the trade-off chosen. A row is *one* hypothesis choice: a byte
string of 4 bytes per column; a frame is a hypothesis list of such rows. The bytes are decoded
with numpy (all numeric columns in one pass over an (n, k) array, the others a column at a
time): the first two bytes of a cell (the *selector*) pick a band, the last two (the
*payload*) a value within it:

* selector 0: the column's typical value (the median, or the most frequent category);
* a low band (``edge=True``): an edge value from a short palette (the range bounds, the values
  just inside them, zero and the smallest magnitudes when the range holds zero, the schema's
  quantiles, infinities when ``allow_inf``; the rarest categories);
* a middle band: a realistic value (interpolated between the schema quantiles, or drawn with
  the category frequencies);
* a high band: a value spread evenly over the range (or over the categories);
* the top ``max_null_rate`` share of selectors: a null.

Nothing is rejected (no ``.filter``) and hypothesis makes one draw per row, not one per cell:
200 frames of 10 rows and 25 columns take one to two seconds on a busy 2-core machine, about
60 times less than pandera's strategies for the same schema (``benchmarks/strategies.py``).
Shrinking still works: hypothesis deletes rows and lowers bytes, and a lowered selector moves a
cell towards the typical value, so a shrunk frame shows typical values everywhere except in the
cells that cause the failure. The price: values are quantised to 65,536 levels per column
(floats on a grid of the range plus the palette, integer ranges wider than that with gaps), and
a value shrinks along that grid, not towards a "round" number as hypothesis' own ``floats()``
would. Note that hypothesis copies rows within and between the frames of a run (a mutation that
finds bugs needing equal values), so 200 frames hold fewer distinct rows than rows; the check
reports both counts.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from ...result import CheckResult, Table, library_check
from ..data.schema import FeatureSchema, Schema

if TYPE_CHECKING:
    import pandas as pd
    from hypothesis.strategies import SearchStrategy

RUBRIC_ID = "infra-2"

CELL_BYTES = 4
"""Bytes per cell: a 16-bit selector (which band) and a 16-bit payload (which value in it)."""
LEVELS = 1 << 16
EDGE_SHARE = 0.25
"""Share of non-null, non-typical cells drawn from the edge palette when ``edge=True``."""

CategoricalDtype = Literal["auto", "object", "category"]

FRAME_PROPERTIES = ("predicts", "output")
"""Properties :func:`check_model_on_schema` checks on every generated frame by default."""
POOLED_PROPERTIES = ("deterministic", "column_order", "round_trip")
"""Properties it checks once on all generated rows together (each costs a batch, not a frame)."""

_SIMPLE_OPEN_VALUE = "a"
_OPEN_EDGE_VALUES = ("", " ", "x" * 200, "ünïcødé ✓", "0")
_NO_RANGE = (-1e6, 1e6)
_NO_INT_RANGE = (-(2**31), 2**31 - 1)
_MAX_EXACT_INT = float(2**53)
_HUGE = 1e300
_TINY = (5e-324, 1e-300, 1e-12)
_DEFAULT_FIRST = "2000-01-01T00:00:00+00:00"
_DEFAULT_LAST = "2030-01-01T00:00:00+00:00"

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------------------------
# Column plans: what one column may hold, and how its cells decode


@dataclass(frozen=True)
class _Bands:
    """Selector bands: 0 the typical value, ``[1, edge)`` the edge palette, ``[edge, real)``
    realistic values, ``[real, null)`` values spread evenly, ``[null, 65536)`` nulls."""

    edge: int
    real: int
    null: int

    @classmethod
    def make(cls, null_rate: float, use_edge: bool, has_realistic: bool) -> _Bands:
        n_null = min(LEVELS - 1, round(null_rate * LEVELS))
        if null_rate > 0 and n_null == 0:
            n_null = 1
        null_cut = LEVELS - n_null
        usable = null_cut - 1
        n_edge = round(usable * EDGE_SHARE) if use_edge else 0
        n_real = (usable - n_edge) // 2 if has_realistic else 0
        return cls(1 + n_edge, 1 + n_edge + n_real, null_cut)


@dataclass(frozen=True)
class _Column:
    name: str
    kind: str
    bands: _Bands

    def describe(self) -> str:
        return self.kind

    def typical_value(self) -> Any:
        """What selector 0 decodes to: where every cell of a shrunk frame ends up."""
        return None


@dataclass(frozen=True)
class _Numeric(_Column):
    lo: float
    hi: float
    integer: bool
    typical: float
    palette: tuple[float, ...]
    levels: tuple[float, ...]
    quantiles: tuple[float, ...]
    nullable_dtype: bool

    def typical_value(self) -> Any:
        return int(self.typical) if self.integer else self.typical

    def describe(self) -> str:
        kind = "int" if self.integer else "float"
        return f"{kind} in [{self.lo:.6g}, {self.hi:.6g}]"


@dataclass(frozen=True)
class _Categorical(_Column):
    vocabulary: npt.NDArray[Any]
    """Values by decreasing training frequency: index 0 is the typical value, the last the rarest;
    for an open vocabulary the odd edge values follow."""
    n_known: int
    cumulative: npt.NDArray[np.float64]
    open_vocabulary: bool
    dtype: Any
    is_bool: bool

    def codes(self, sel: IntArray, pay: IntArray) -> IntArray:
        """Index into ``vocabulary`` per cell; -1 for a null, -2 for new text."""
        b = self.bands
        n = self.n_known
        codes = np.zeros(len(sel), dtype=np.int64)
        uniform = (sel >= b.real) & (sel < b.null)
        if n:
            codes[uniform] = pay[uniform] % n
            real = (sel >= b.edge) & (sel < b.real)
            if real.any():
                u = (pay[real] + 0.5) / LEVELS
                codes[real] = np.minimum(np.searchsorted(self.cumulative, u, side="right"), n - 1)
        if self.open_vocabulary:
            # Any text is valid: odd payloads (all, when no value is known) make new text.
            codes[uniform & ((pay % 2 == 1) | (n == 0))] = -2
        edge = (sel >= 1) & (sel < b.edge)
        if edge.any():
            # Closed vocabulary: the rarest values first; open: the odd texts, then the rarest.
            size = len(self.vocabulary)
            codes[edge] = (
                (size - 1 - pay[edge] % size)
                if not self.open_vocabulary
                else (n + pay[edge] % (size - n) if size > n else 0)
            )
        codes[sel >= b.null] = -1
        return codes

    def decode(self, sel: IntArray, pay: IntArray, typed: bool = True) -> Any:
        """Values in the frame's dtype (``typed``), else an object array of Python values."""
        import pandas as pd

        codes = self.codes(sel, pay)
        null = codes == -1
        if typed and isinstance(self.dtype, pd.CategoricalDtype) and not self.open_vocabulary:
            # The dtype lists the categories sorted; codes here follow the vocabulary order.
            order = self.dtype.categories.get_indexer(pd.Index(self.vocabulary))
            return pd.Categorical.from_codes(np.where(null, -1, order[codes]), dtype=self.dtype)
        values = (
            self.vocabulary.take(np.maximum(codes, 0))
            if len(self.vocabulary)
            else (np.full(len(codes), _SIMPLE_OPEN_VALUE, dtype=object))
        )
        fresh = codes == -2
        if fresh.any():
            values[fresh] = _objects([f"unseen-{p}" for p in pay[fresh].tolist()])
        if self.is_bool and self.bands.null == LEVELS and typed:
            return values.astype(bool)
        if null.any():
            values[null] = np.nan
        if not typed:
            return values
        if self.dtype is None:
            # A Series keeps the object dtype; a bare array would be inferred as text.
            return pd.Series(values, dtype=object, copy=False)
        return pd.array(values, dtype=self.dtype)

    def typical_value(self) -> Any:
        return self.vocabulary[0] if len(self.vocabulary) else _SIMPLE_OPEN_VALUE

    def describe(self) -> str:
        if self.is_bool:
            return "bool"
        if self.open_vocabulary:
            return "text (open vocabulary)"
        return f"one of {self.n_known} categories"


@dataclass(frozen=True)
class _Datetime(_Column):
    lo: int
    hi: int
    tz: str | None

    def decode(self, sel: IntArray, pay: IntArray) -> Any:
        import pandas as pd

        b = self.bands
        t = pay.astype(np.float64) / (LEVELS - 1)
        ns = self.lo + np.floor(t * float(self.hi - self.lo)).astype(np.int64)
        palette = np.clip(np.array([self.lo, self.hi, self.lo + 1, self.hi - 1]), self.lo, self.hi)
        edge = (sel >= 1) & (sel < b.edge)
        ns[edge] = palette[pay[edge] % len(palette)]
        ns[sel == 0] = self.lo + (self.hi - self.lo) // 2
        stamps = ns.astype("datetime64[ns]")
        stamps[sel >= b.null] = np.datetime64("NaT")
        index = pd.DatetimeIndex(stamps)
        return index.tz_localize(self.tz) if self.tz is not None else index

    def typical_value(self) -> Any:
        import pandas as pd

        stamp = pd.Timestamp(self.lo + (self.hi - self.lo) // 2, unit="ns")
        return stamp.tz_localize(self.tz) if self.tz is not None else stamp

    def describe(self) -> str:
        return "datetime"


@dataclass(frozen=True)
class _Empty(_Column):
    def decode(self, sel: IntArray, pay: IntArray) -> Any:
        return np.full(len(sel), np.nan)

    def describe(self) -> str:
        return "always null"


def _unique(values: Sequence[float]) -> tuple[float, ...]:
    """Distinct values in order (0.0 and -0.0 count as one)."""
    out: list[float] = []
    for v in values:
        if v not in out:
            out.append(v)
    return tuple(out)


def _objects(values: Sequence[Any]) -> npt.NDArray[Any]:
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


# --------------------------------------------------------------------------------------------
# Every numeric column at once


@dataclass(frozen=True)
class _NumericBlock:
    """The numeric columns decoded together: a few numpy passes over an (n, k) array of cells,
    rather than a few per column (which would cost more than the data for small frames)."""

    positions: IntArray
    lo: FloatArray
    hi: FloatArray
    integer: npt.NDArray[np.bool_]
    edge: IntArray
    real: IntArray
    null: IntArray
    typical: FloatArray
    palette: FloatArray
    palette_len: IntArray
    levels: FloatArray
    quantiles: FloatArray

    @classmethod
    def build(cls, positions: Sequence[int], columns: Sequence[_Numeric]) -> _NumericBlock:
        k = len(columns)
        width = max([len(c.palette) for c in columns] + [1])
        palette = np.zeros((k, width))
        for j, c in enumerate(columns):
            palette[j, : len(c.palette)] = c.palette
        levels = sorted({lv for c in columns for lv in c.levels} | {0.0, 1.0})
        quantiles = np.empty((k, len(levels)))
        for j, c in enumerate(columns):
            if c.levels:
                quantiles[j] = np.interp(levels, c.levels, c.quantiles)
            else:
                quantiles[j] = c.lo
        return cls(
            np.asarray(positions, dtype=np.int64),
            np.array([c.lo for c in columns]),
            np.array([c.hi for c in columns]),
            np.array([c.integer for c in columns], dtype=bool),
            np.array([c.bands.edge for c in columns], dtype=np.int64),
            np.array([c.bands.real for c in columns], dtype=np.int64),
            np.array([c.bands.null for c in columns], dtype=np.int64),
            np.array([c.typical for c in columns]),
            palette,
            np.array([max(len(c.palette), 1) for c in columns], dtype=np.int64),
            np.asarray(levels, dtype=np.float64),
            quantiles,
        )

    def decode(self, sel: IntArray, pay: IntArray) -> FloatArray:
        """Values of shape (n, k) for selectors and payloads of shape (n, k); nulls are NaN."""
        # Ranges near the float limits overflow in the unused branch of ``np.where``.
        with np.errstate(over="ignore", invalid="ignore"):
            return self._decode(sel, pay)

    def _decode(self, sel: IntArray, pay: IntArray) -> FloatArray:
        lo, hi = self.lo, self.hi
        t = pay / (LEVELS - 1.0)
        spread = np.clip(lo * (1 - t) + hi * t, lo, hi)
        values = np.where(self.integer, np.minimum(np.floor(lo + t * (hi - lo + 1)), hi), spread)
        real = (sel >= self.edge) & (sel < self.real)
        if real.any():
            cols = np.nonzero(real)[1]
            u = t[real]
            i = np.clip(np.searchsorted(self.levels, u, side="right") - 1, 0, len(self.levels) - 2)
            l0, l1 = self.levels[i], self.levels[i + 1]
            q0, q1 = self.quantiles[cols, i], self.quantiles[cols, i + 1]
            q = q0 + (u - l0) / (l1 - l0) * (q1 - q0)
            q = np.where(self.integer[cols], np.round(q), q)
            values[real] = np.clip(q, lo[cols], hi[cols])
        edge = (sel >= 1) & (sel < self.edge)
        if edge.any():
            cols = np.nonzero(edge)[1]
            values[edge] = self.palette[cols, pay[edge] % self.palette_len[cols]]
        values = np.where(sel == 0, self.typical, values)
        values[sel >= self.null] = np.nan
        return values


# --------------------------------------------------------------------------------------------
# Plans from the schema


def _null_rate(feature: FeatureSchema, nulls: bool | float) -> float:
    if not feature.nullable or nulls is False:
        return 0.0
    if nulls is True:
        return feature.max_null_rate
    return float(nulls)


def _quantiles(feature: FeatureSchema) -> tuple[tuple[float, ...], tuple[float, ...]]:
    pairs = []
    for key, value in (feature.quantiles or {}).items():
        try:
            level = float(key)
        except ValueError:
            continue
        if 0.0 <= level <= 1.0 and math.isfinite(value):
            pairs.append((level, float(value)))
    pairs.sort()
    if len(pairs) < 2 or pairs[0][0] == pairs[-1][0]:
        return (), ()
    levels = tuple(p for p, _ in pairs)
    # A hand edit could break monotonicity; interpolation needs it.
    values = tuple(float(v) for v in np.maximum.accumulate([v for _, v in pairs]))
    return levels, values


def _numeric_plan(feature: FeatureSchema, null_rate: float, edge: bool) -> _Numeric:
    integer = feature.dtype == "int"
    levels, qvalues = _quantiles(feature)
    if feature.range is not None:
        lo, hi = feature.range
    elif qvalues:
        lo, hi = qvalues[0], qvalues[-1]
    else:
        lo, hi = _NO_INT_RANGE if integer else _NO_RANGE
    if integer:
        # Integers exact in float64 (the decoding runs in floats), so int64 never overflows.
        lo, hi = max(lo, -_MAX_EXACT_INT), min(hi, _MAX_EXACT_INT)
        ilo, ihi = math.ceil(lo), math.floor(hi)
        if ilo > ihi:  # no integer inside a narrow range: take the nearest one
            ilo = ihi = round((lo + hi) / 2)
        lo, hi = float(ilo), float(ihi)

    def inside(v: float) -> float:
        v = min(max(v, lo), hi)
        return float(round(v)) if integer else v

    typical = inside(float(np.interp(0.5, levels, qvalues)) if qvalues else (lo + hi) / 2)
    palette: list[float] = [lo, hi]
    if lo <= 0.0 <= hi:
        palette.append(0.0)
    palette.extend(inside(q) for q in qvalues)
    if integer:
        palette.extend([min(lo + 1, hi), max(hi - 1, lo)])
        if lo <= -1 and hi >= 1:
            palette.extend([1.0, -1.0])
    else:
        palette.extend([float(np.nextafter(lo, hi)), float(np.nextafter(hi, lo))])
        for tiny in _TINY:
            palette.extend(v for v in (tiny, -tiny) if lo < v < hi)
        if feature.range is None:
            palette.extend([_HUGE, -_HUGE])
        if feature.allow_inf:
            palette.extend([math.inf, -math.inf])
    return _Numeric(
        feature.name,
        "numeric",
        _Bands.make(null_rate, edge, bool(qvalues)),
        lo,
        hi,
        integer,
        typical,
        _unique(palette) if edge else (),
        levels,
        qvalues,
        nullable_dtype=null_rate > 0 or not integer,
    )


def _text_dtype(categorical_dtype: CategoricalDtype, vocabulary: Sequence[Any] | None) -> Any:
    import pandas as pd

    if categorical_dtype == "object":
        return None
    if categorical_dtype == "category" and vocabulary is not None:
        return pd.CategoricalDtype(sorted(vocabulary))
    # pandas' default for text (``str`` from pandas 3, ``object`` before), as read_csv gives.
    inferred = pd.Series(["a"]).dtype
    return None if inferred == np.dtype(object) else inferred


_TRUTH = {"True": True, "true": True, "1": True, "False": False, "false": False, "0": False}


def _categorical_plan(
    feature: FeatureSchema, null_rate: float, edge: bool, categorical_dtype: CategoricalDtype
) -> _Column:
    is_bool = feature.kind == "bool"
    freqs: dict[Any, float] = dict(feature.frequencies or {})
    if is_bool:
        allowed = feature.categories if feature.categories is not None else ("False", "True")
        known: list[Any] = sorted({_TRUTH[c] for c in allowed if c in _TRUTH})
        freqs = {_TRUTH[k]: v for k, v in freqs.items() if k in _TRUTH}
        open_vocabulary = False
    elif feature.categories is not None:
        known = list(feature.categories)
        open_vocabulary = False
    else:
        known = sorted(freqs)
        open_vocabulary = True
    if not known and not open_vocabulary:
        return _Empty(feature.name, "empty", _Bands.make(1.0, False, False))
    # Realistic band: the listed frequencies, the rest of the mass shared by unlisted values.
    known.sort(key=lambda c: (-freqs.get(c, 0.0), str(c)))
    unlisted = [c for c in known if c not in freqs]
    rest = max(0.0, 1.0 - sum(freqs.get(c, 0.0) for c in known))
    weights = np.array([freqs.get(c, rest / max(len(unlisted), 1)) for c in known], dtype=float)
    if weights.sum() <= 0:
        weights = np.ones(len(known))
    cumulative = np.cumsum(weights / weights.sum()) if len(known) else np.empty(0)
    if len(cumulative):
        cumulative[-1] = 1.0
    vocabulary = known + (list(_OPEN_EDGE_VALUES) if open_vocabulary else [])
    dtype = None
    if not is_bool:
        dtype = _text_dtype(categorical_dtype, None if open_vocabulary else known)
    return _Categorical(
        feature.name,
        feature.kind,
        _Bands.make(null_rate, edge and bool(vocabulary), bool(known)),
        _objects(vocabulary),
        len(known),
        cumulative,
        open_vocabulary,
        dtype,
        is_bool,
    )


def _timestamp_ns(text: str | None, default: str) -> tuple[int, bool]:
    value = dt.datetime.fromisoformat(text if text is not None else default)
    aware = value.tzinfo is not None
    if aware:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    delta = value - dt.datetime(1970, 1, 1)
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000, aware


def _datetime_plan(feature: FeatureSchema, null_rate: float, edge: bool) -> _Datetime:
    try:
        lo, aware_lo = _timestamp_ns(feature.first, _DEFAULT_FIRST)
        hi, aware_hi = _timestamp_ns(feature.last, _DEFAULT_LAST)
    except ValueError as exc:
        raise ValueError(f"feature {feature.name!r}: first/last are not ISO dates: {exc}") from None
    if lo > hi:
        raise ValueError(f"feature {feature.name!r}: first {feature.first} is after last")
    tz = "UTC" if (aware_lo or aware_hi) else None
    return _Datetime(feature.name, "datetime", _Bands.make(null_rate, edge, False), lo, hi, tz)


@dataclass(frozen=True)
class _Plan:
    """How to turn drawn bytes into the columns of a frame, in order."""

    columns: tuple[_Column, ...]
    numeric: _NumericBlock | None

    @property
    def width(self) -> int:
        return CELL_BYTES * len(self.columns)

    def arrays(self, raw: bytes, n_rows: int, typed: bool = True) -> list[Any]:
        """One array per column (numpy or pandas), in column order; ``typed=False`` leaves
        text in object arrays (for rows, which want Python values anyway)."""
        words = np.frombuffer(raw, dtype=">u2").reshape(n_rows, len(self.columns), 2)
        sel = words[:, :, 0].astype(np.int64)
        pay = words[:, :, 1].astype(np.int64)
        out: list[Any] = [None] * len(self.columns)
        if self.numeric is not None:
            pos = self.numeric.positions
            block = self.numeric.decode(sel[:, pos], pay[:, pos]).T
            for j, p in enumerate(pos.tolist()):
                col = self.columns[p]
                assert isinstance(col, _Numeric)
                out[p] = block[j] if col.nullable_dtype else block[j].astype(np.int64)
        for p, col in enumerate(self.columns):
            if isinstance(col, _Categorical):
                out[p] = col.decode(sel[:, p], pay[:, p], typed)
            elif isinstance(col, (_Datetime, _Empty)):
                out[p] = col.decode(sel[:, p], pay[:, p])
        return out

    def frame(self, raw: bytes, n_rows: int) -> pd.DataFrame:
        import pandas as pd

        names = [c.name for c in self.columns]
        data = dict(zip(names, self.arrays(raw, n_rows), strict=True))
        return pd.DataFrame(data, index=pd.RangeIndex(n_rows))

    def row(self, raw: bytes) -> dict[str, Any]:
        arrays = self.arrays(raw, 1, typed=False)
        row = {c.name: _python(a[0]) for c, a in zip(self.columns, arrays, strict=True)}
        for c in self.columns:
            if isinstance(c, _Numeric) and c.integer and row[c.name] is not None:
                row[c.name] = int(row[c.name])
        return row


def _plan(
    schema: Schema,
    columns: Sequence[str] | None,
    nulls: bool | float,
    edge: bool,
    categorical_dtype: CategoricalDtype,
) -> _Plan:
    if not isinstance(schema, Schema):
        raise ValueError(
            f"schema must be a pytest_mltestscore.checks.data.schema.Schema, got {schema!r}"
        )
    if not isinstance(nulls, bool) and not (
        isinstance(nulls, (int, float)) and 0.0 <= float(nulls) <= 1.0
    ):
        raise ValueError(f"nulls must be true, false or a rate in [0, 1], got {nulls!r}")
    if categorical_dtype not in ("auto", "object", "category"):
        raise ValueError(
            f"categorical_dtype must be 'auto', 'object' or 'category', got {categorical_dtype!r}"
        )
    names = list(schema.features) if columns is None else [str(c) for c in columns]
    unknown = [c for c in names if c not in schema.features]
    if unknown:
        raise ValueError(f"columns not in the schema: {', '.join(map(repr, unknown))}")
    if len(set(names)) != len(names):
        raise ValueError("columns must not repeat a name")
    if not names:
        raise ValueError("no columns to generate")
    plan: list[_Column] = []
    for name in names:
        feature = schema.features[name]
        rate = _null_rate(feature, nulls)
        if feature.kind == "numeric":
            plan.append(_numeric_plan(feature, rate, edge))
        elif feature.kind in ("categorical", "bool"):
            plan.append(_categorical_plan(feature, rate, edge, categorical_dtype))
        elif feature.kind == "datetime":
            plan.append(_datetime_plan(feature, rate, edge))
        else:
            plan.append(_Empty(name, "empty", _Bands.make(1.0, False, False)))
    numeric = [(p, c) for p, c in enumerate(plan) if isinstance(c, _Numeric)]
    block = (
        _NumericBlock.build([p for p, _ in numeric], [c for _, c in numeric]) if numeric else None
    )
    return _Plan(tuple(plan), block)


def _python(value: Any) -> Any:
    """A plain Python value for a row dict: None for nulls, int/float/bool/str, Timestamps."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    import pandas as pd

    return None if value is pd.NaT or value is pd.NA else value


# --------------------------------------------------------------------------------------------
# Public strategies


def rows(
    schema: Schema,
    *,
    columns: Sequence[str] | None = None,
    nulls: bool | float = True,
    edge: bool = True,
    categorical_dtype: CategoricalDtype = "auto",
) -> SearchStrategy[dict[str, Any]]:
    """Rows valid under ``schema`` as dicts of plain values (``None`` for a null).

    ``columns`` picks and orders the features (default: all, in schema order). ``nulls``: the
    schema's null rates (True), none (False), or this rate for every nullable feature.
    ``edge`` biases values towards range bounds, zero, tiny magnitudes and quantiles.
    """
    from hypothesis import strategies as st

    plan = _plan(schema, columns, nulls, edge, categorical_dtype)
    return st.binary(min_size=plan.width, max_size=plan.width).map(plan.row)


def _rows_bytes(plan: _Plan, min_rows: int, max_rows: int) -> SearchStrategy[list[bytes]]:
    """A frame's raw draw: a list of rows, each one bytes choice (see the module docstring)."""
    from hypothesis import strategies as st

    cell = st.binary(min_size=plan.width, max_size=plan.width)
    return st.lists(cell, min_size=min_rows, max_size=max_rows)


def _check_sizes(min_rows: int, max_rows: int) -> None:
    if not isinstance(min_rows, int) or not isinstance(max_rows, int):
        raise ValueError("min_rows and max_rows must be integers")
    if min_rows < 0 or max_rows < min_rows:
        raise ValueError(
            f"need 0 <= min_rows <= max_rows, got min_rows={min_rows}, max_rows={max_rows}"
        )


def data_frames(
    schema: Schema,
    *,
    min_rows: int = 1,
    max_rows: int = 50,
    columns: Sequence[str] | None = None,
    nulls: bool | float = True,
    edge: bool = True,
    categorical_dtype: CategoricalDtype = "auto",
) -> SearchStrategy[pd.DataFrame]:
    """Frames of ``min_rows`` to ``max_rows`` rows valid under ``schema``, built column-wise.

    Dtypes follow what training data has in pandas: float64 for float features and for integer
    features that may be null, int64 otherwise, bool (object when nullable), datetime64 (UTC
    when the schema's dates carry an offset), and text in pandas' default string dtype, or
    ``object``, or ``category`` with the schema's categories (``categorical_dtype``). Other
    arguments as for :func:`rows`.
    """
    _check_sizes(min_rows, max_rows)
    plan = _plan(schema, columns, nulls, edge, categorical_dtype)
    return _rows_bytes(plan, min_rows, max_rows).map(
        lambda chunks: plan.frame(b"".join(chunks), len(chunks))
    )


# --------------------------------------------------------------------------------------------
# The ready-made infra-2 check


class _Falsified(Exception):
    """Raised inside the hypothesis test when a generated frame breaks a property."""

    def __init__(self, result: CheckResult, frame: pd.DataFrame) -> None:
        super().__init__(result.summary)
        self.result = result
        self.frame = frame


@dataclass
class _Run:
    """Counters and memo of one hypothesis run (the shrink budget keeps shrinking bounded)."""

    judge: Callable[[pd.DataFrame], CheckResult]
    shrink_budget: int
    row_width: int
    examples: int = 0
    rows: int = 0
    calls_after_failure: int = 0
    frames: list[pd.DataFrame] = field(default_factory=list)
    distinct: set[bytes] = field(default_factory=set)
    failures: dict[bytes, CheckResult] = field(default_factory=dict)
    notes: dict[str, None] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)

    def __call__(self, key: bytes, frame: pd.DataFrame) -> None:
        result = self.failures.get(key) or self._judge_new(key, frame)
        # One raise site: hypothesis tells failures apart by where they were raised.
        if result is not None and result.verdict == "fail":
            raise _Falsified(result, frame)

    def _judge_new(self, key: bytes, frame: pd.DataFrame) -> CheckResult | None:
        if self.failures:
            self.calls_after_failure += 1
            if self.calls_after_failure > self.shrink_budget:
                return None  # budget spent: new candidates count as passing, the best one stays
        else:
            self.examples += 1
            self.rows += len(frame)
            self.frames.append(frame)
            w = self.row_width
            self.distinct.update(key[i : i + w] for i in range(0, len(key), w))
        result = self.record(self.judge, frame)
        if result.verdict == "fail":
            self.failures[key] = result
        return result

    def record(
        self, judge: Callable[[pd.DataFrame], CheckResult], frame: pd.DataFrame
    ) -> CheckResult:
        """Judge a frame with warnings recorded (so warning filters cannot change a verdict)."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = judge(frame)
        for w in caught:
            text = f"{w.category.__name__}: {str(w.message).splitlines()[0][:100]}"
            self.warnings[text] = self.warnings.get(text, 0) + 1
        for note in result.notes:
            if not note.startswith("round_trip: saved"):
                self.notes[note] = None
        return result


def _find_falsified(exc: BaseException) -> _Falsified | None:
    if isinstance(exc, _Falsified):
        return exc
    for inner in getattr(exc, "exceptions", ()) or ():
        found = _find_falsified(inner)
        if found is not None:
            return found
    return None


def _frame_table(frame: pd.DataFrame, plan: _Plan, max_rows: int = 8) -> Table:
    """The frame transposed (one line per column, with the column's typical value beside it)
    so that a wide frame stays readable and the cells that matter stand out."""
    shown = frame.iloc[:max_rows]
    header = ("column", "generated as", "typical", *(f"row {i}" for i in shown.index))
    columns = {c.name: c for c in plan.columns}
    lines = []
    for name in frame.columns:
        col = columns.get(str(name))
        kind = col.describe() if col is not None else ""
        typical = _show(col.typical_value()) if col is not None else ""
        lines.append((name, kind, typical, *(_show(v) for v in shown[name].tolist())))
    return Table(header, tuple(lines))


def _show(value: Any) -> str:
    value = _python(value)
    if value is None:
        return "null"
    if isinstance(value, (float, str)):
        return repr(value)
    return str(value)


def _literal(frame: pd.DataFrame) -> str:
    """A Python expression that rebuilds the frame's values, for a regression test."""
    data = {str(c): [_python(v) for v in frame[c].tolist()] for c in frame.columns}
    return f"pd.DataFrame({data!r})"


def _check_properties(names: Sequence[str], what: str) -> tuple[str, ...]:
    from .properties import PROPERTIES

    if isinstance(names, str):
        names = (names,)
    unknown = [p for p in names if p not in PROPERTIES]
    if unknown:
        raise ValueError(f"{what} must be some of {', '.join(PROPERTIES)}; got {list(names)!r}")
    return tuple(names)


@library_check
def check_model_on_schema(
    model: Any,
    schema: Schema | str | Path,
    *,
    max_examples: int = 200,
    properties: Sequence[str] = FRAME_PROPERTIES,
    pooled_properties: Sequence[str] = POOLED_PROPERTIES,
    columns: Sequence[str] | None = None,
    min_rows: int = 1,
    max_rows: int = 20,
    nulls: bool | float = True,
    edge: bool = True,
    categorical_dtype: CategoricalDtype = "auto",
    seed: int = 0,
    shrink: bool = True,
    shrink_budget: int = 300,
) -> CheckResult:
    """infra-2: the model's ready-made properties hold on any valid input the schema allows.

    Hypothesis draws up to ``max_examples`` frames from the schema (:func:`data_frames`) and
    checks ``properties`` on each with
    :func:`~pytest_mltestscore.checks.infra.properties.model_properties` (default: it predicts, and
    its outputs have the right shape, labels and finite values, probabilities in [0, 1] summing to
    1); a failing frame is shrunk (at most ``shrink_budget`` more model calls) and shown. Then
    ``pooled_properties`` (default: deterministic, column order, save/load round trip) are
    checked once on all generated rows together, which costs one batch instead of 200.
    Reproducible: seeded with ``seed``, no example database, no deadline. Columns default to
    the model's ``feature_names_in_``, else every schema feature. Warnings raised by the model
    are recorded in notes, not failures, so warning filters cannot change the verdict.
    """
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as hypothesis_seed

    from ...modeling import feature_names
    from .properties import model_properties

    if isinstance(schema, (str, Path)):
        schema = Schema.load(schema)
    if not isinstance(schema, Schema):
        raise ValueError(f"schema must be a Schema or the path of a schema file, got {schema!r}")
    if not isinstance(max_examples, int) or max_examples < 1:
        raise ValueError(f"max_examples must be a positive integer, got {max_examples!r}")
    if not isinstance(shrink_budget, int) or shrink_budget < 0:
        raise ValueError(f"shrink_budget must be a non-negative integer, got {shrink_budget!r}")
    props = _check_properties(properties, "properties")
    pooled = _check_properties(pooled_properties, "pooled_properties")
    if not callable(getattr(model, "predict", None)):
        raise ValueError(f"{type(model).__name__} has no predict method")
    _check_sizes(min_rows, max_rows)
    if min_rows < 1:
        raise ValueError("min_rows must be at least 1: a model is checked on non-empty frames")
    if columns is None:
        columns = feature_names(model)
        missing = [c for c in columns or () if c not in schema.features]
        if missing:
            raise ValueError(
                "the model was fitted on columns the schema does not describe: "
                f"{', '.join(map(repr, missing))}"
            )
    plan = _plan(schema, columns, nulls, edge, categorical_dtype)

    def keyed_frame(chunks: list[bytes]) -> tuple[bytes, pd.DataFrame]:
        raw = b"".join(chunks)
        return raw, plan.frame(raw, len(chunks))

    run = _Run(
        lambda frame: model_properties(model, frame, properties=props, seed=seed),
        shrink_budget,
        plan.width,
    )

    @hypothesis_seed(seed)
    @settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        derandomize=False,
        phases=(Phase.generate, Phase.shrink) if shrink else (Phase.generate,),
        suppress_health_check=(
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.filter_too_much,
        ),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        print_blob=False,
    )
    @given(_rows_bytes(plan, min_rows, max_rows).map(keyed_frame))
    def explore(drawn: tuple[bytes, pd.DataFrame]) -> None:
        run(*drawn)

    method = (
        f"hypothesis: {max_examples} frames of {min_rows}-{max_rows} rows from the schema "
        f"(seed {seed}, edge values {'on' if edge else 'off'}, nulls "
        f"{'at schema rates' if nulls is True else nulls})"
    )
    try:
        explore()
    except Exception as exc:
        falsified = _find_falsified(exc)
        if falsified is None:
            raise
        return _frame_failure(falsified, run, plan, props, method, exc)

    import pandas as pd

    checked = props
    if pooled and run.frames:
        everything = pd.concat(run.frames, ignore_index=True)
        result = run.record(
            lambda frame: model_properties(model, frame, properties=pooled, seed=seed),
            everything,
        )
        if result.verdict == "fail":
            return _pooled_failure(result, everything, run, plan, pooled, method)
        checked = tuple(dict.fromkeys((*props, *pooled)))
    return CheckResult(
        "model_on_schema",
        "pass",
        f"{', '.join(checked)} hold on {run.examples} generated frames ({run.rows} rows, "
        f"{len(run.distinct)} distinct; {len(plan.columns)} columns); {method}",
        rubric_id=RUBRIC_ID,
        metrics=_metrics(run, plan),
        notes=(*run.notes, *_warning_notes(run)),
    )


def _metrics(run: _Run, plan: _Plan, **extra: float) -> dict[str, float]:
    return {
        "examples": float(run.examples),
        "rows": float(run.rows),
        "distinct_rows": float(len(run.distinct)),
        "columns": float(len(plan.columns)),
        **extra,
    }


def _warning_notes(run: _Run) -> list[str]:
    if not run.warnings:
        return []
    top = sorted(run.warnings.items(), key=lambda kv: -kv[1])[:3]
    shown = "; ".join(f"{text} ({count}x)" for text, count in top)
    return [f"warnings raised by the model (recorded, not failures): {shown}"]


def _failed(result: CheckResult) -> list[str]:
    """The failed properties as the result's table names them (``output: finite``...)."""
    rows = result.table.rows if result.table is not None else ()
    names = [str(r[0]) for r in rows if not str(r[0]).startswith("...")]
    return list(dict.fromkeys(names)) or ["predicts"]


def _details(result: CheckResult, run: _Run, frame: pd.DataFrame) -> list[str]:
    notes: list[str] = []
    if result.table is not None and result.table.rows:
        notes.append("properties that failed:\n" + result.table.render())
    notes.extend(n for n in result.notes if not n.startswith("round_trip: saved"))
    notes.extend(_warning_notes(run))
    literal = _literal(frame)
    if len(literal) <= 3000:
        notes.append(f"to reproduce: X = {literal}")
    return notes


def _frame_failure(
    falsified: _Falsified,
    run: _Run,
    plan: _Plan,
    props: Sequence[str],
    method: str,
    exc: BaseException,
) -> CheckResult:
    frame = falsified.frame
    found = falsified.result
    failed = _failed(found)
    notes = []
    if not isinstance(exc, _Falsified):
        notes.append(
            "hypothesis could not reproduce the failure when it replayed the frame: the "
            "model's behaviour varies from call to call"
        )
    notes += _details(found, run, frame)
    notes.append("smallest failing frame (one line per column):")
    return CheckResult(
        "model_on_schema",
        "fail",
        f"{', '.join(failed)} failed on a {len(frame)}-row frame drawn from the schema, "
        f"found after {run.examples} frames and shrunk in {run.calls_after_failure} more "
        f"model runs (checked per frame: {', '.join(props)}); {method}",
        table=_frame_table(frame, plan),
        rubric_id=RUBRIC_ID,
        metrics=_metrics(
            run,
            plan,
            failing_rows=float(len(frame)),
            failed_properties=float(len(failed)),
            shrink_calls=float(run.calls_after_failure),
        ),
        notes=tuple(notes),
    )


def _pooled_failure(
    result: CheckResult,
    everything: pd.DataFrame,
    run: _Run,
    plan: _Plan,
    pooled: Sequence[str],
    method: str,
) -> CheckResult:
    failed = _failed(result)
    named = [r[1] for r in (result.table.rows if result.table else ()) if r[1] is not None]
    rows = [r for r in dict.fromkeys(named) if r in everything.index][:8]
    frame = everything.loc[rows] if rows else everything.iloc[:8]
    notes = [*_details(result, run, frame), "rows named above (one line per column):"]
    return CheckResult(
        "model_on_schema",
        "fail",
        f"{', '.join(failed)} failed on the {len(everything)} generated rows taken together "
        f"(checked once on all rows: {', '.join(pooled)}); {method}",
        table=_frame_table(frame, plan),
        rubric_id=RUBRIC_ID,
        metrics=_metrics(run, plan, failed_properties=float(len(failed))),
        notes=tuple(notes),
    )

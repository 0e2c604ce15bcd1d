"""A data schema inferred from a training profile, kept as an editable JSON file, and checked.

:func:`infer_schema` reads a :class:`~pytest_mltestscore.profiles.DatasetProfile` of the
training data; :meth:`Schema.to_json` writes a file a team checks in and edits (tighten a range,
allow a category); :meth:`Schema.from_json` reads it back and names the feature and key of any
mistake; :func:`validate` checks the profile of another dataset (the training data itself for
``data-1``, a serving sample for ``monitor-2``) and returns a
:class:`~pytest_mltestscore.result.CheckResult`.

Why the rules hold at any sample size: a fresh sample puts some values beyond any range learned
from a finite training sample, and shows categories the training data never saw, by chance. So
out-of-range values and unseen categories are judged by their *share* against what chance
allows: the share the training data itself had (``expected_outside_range``, and the Good-Turing
singleton rate ``expected_unseen_share``) plus ``sigmas`` standard errors of the difference of
two shares, and at least a small ``share_floor``. Null rates get ``null_floor`` plus ``sigmas``
standard errors above the training rate, so the tolerance shrinks with n and never reaches zero.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ...assets import AssetError, Assets
from ...builtin import BuiltinCheck, CheckContext, Freeze, Param, dataset
from ...options import ML_SCORE_FREEZE_SCHEMA
from ...profile_figures import column_figures
from ...profiles import KINDS, ColumnProfile, DatasetProfile, NumericSummary, TextSummary
from ...report import write_text_atomic
from ...result import CheckResult, NotJudged, Table, Verdict, library_check

SCHEMA_FORMAT = "mltestscore-schema"
SCHEMA_VERSION = 1

SCHEMA_KINDS = tuple(k for k in KINDS if k != "mixed")
"""Kinds a schema feature may have: every column kind but ``mixed`` (a finding, not a kind)."""
PROFILED_KINDS = ("text", "identifier")
"""Kinds whose profile is not set by the dtype: the schema's word is passed to the profiler."""

TEXT_MIN_TOKENS = 3
"""Kind inference: a text value holds at least this many tokens..."""
TEXT_MIN_SHARE = 0.5
"""...in at least this share of the values..."""
TEXT_MIN_DISTINCT = 0.5
"""...and at least this share of the values are distinct (few repeat)."""
KIND_MIN_VALUES = 30
"""Fewer non-null values than this: a string column stays categorical (too few to tell)."""

QUANTILE_LEVELS = (0.0, 0.001, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999, 1.0)
"""Quantiles of each numeric feature recorded in the schema (information for readers)."""

DEFAULT_RANGE_QUANTILE = 0.001
"""The inferred range runs from the 0.1% to the 99.9% training quantile, widened..."""
DEFAULT_RANGE_TOLERANCE = 0.05
"""...by 5% of that spread on each side; the training share beyond it is recorded."""
DEFAULT_MAX_CATEGORIES = 1000
"""A feature with more distinct values than this has an open vocabulary (no category check)."""
DEFAULT_FREQUENCIES = 50
"""How many of the most frequent categories the schema lists with their share."""

DEFAULT_SIGMAS = 5.0
"""Standard errors of chance allowed before a share or null rate counts as a violation."""
DEFAULT_SHARE_FLOOR = 0.001
"""Out-of-range or unseen shares at or below 0.1% of rows are never violations."""
DEFAULT_NULL_FLOOR = 0.002
"""Null rates may exceed the schema's ``max_null_rate`` by 0.2 points plus chance."""
N_EXAMPLES = 5

_FEATURE_KEYS: dict[str, tuple[str, ...]] = {
    "numeric": (
        "kind",
        "dtype",
        "nullable",
        "max_null_rate",
        "values",
        "range",
        "expected_outside_range",
        "allow_inf",
        "top_share",
        "quantiles",
    ),
    "categorical": (
        "kind",
        "nullable",
        "max_null_rate",
        "values",
        "categories",
        "expected_unseen_share",
        "top_share",
        "frequencies",
    ),
    "datetime": ("kind", "nullable", "max_null_rate", "values", "first", "last"),
    "text": (
        "kind",
        "nullable",
        "max_null_rate",
        "values",
        "empty_share",
        "length_range",
        "expected_outside_length",
        "tokens_range",
        "expected_outside_tokens",
        "non_ascii_share",
        "expected_oov_share",
        "vocabulary",
    ),
    "identifier": ("kind", "nullable", "max_null_rate", "values", "duplicate_share"),
    "unsupported": ("kind", "nullable", "max_null_rate", "values", "reason"),
    "empty": ("kind", "nullable", "max_null_rate", "values"),
}
_FEATURE_KEYS["bool"] = _FEATURE_KEYS["categorical"]
_REQUIRED = {"kind", "max_null_rate", "values"}
_TOP_KEYS = ("format", "version", "training_rows", "features")


@dataclass(frozen=True)
class FeatureSchema:
    """What one feature looked like in training, and what validation will accept.

    ``values`` is the number of non-null training values behind the expected shares (it sets
    how much chance the rules allow). ``categories`` is ``None`` for an open vocabulary.
    """

    name: str
    kind: str
    max_null_rate: float
    values: int
    nullable: bool = True
    dtype: str | None = None
    range: tuple[float, float] | None = None
    expected_outside_range: float = 0.0
    allow_inf: bool = False
    top_share: float | None = None
    quantiles: Mapping[str, float] | None = None
    categories: tuple[str, ...] | None = None
    expected_unseen_share: float = 0.0
    frequencies: Mapping[str, float] | None = None
    first: str | None = None
    last: str | None = None
    empty_share: float | None = None
    length_range: tuple[float, float] | None = None
    expected_outside_length: float = 0.0
    tokens_range: tuple[float, float] | None = None
    expected_outside_tokens: float = 0.0
    non_ascii_share: float | None = None
    expected_oov_share: float | None = None
    vocabulary: tuple[str, ...] | None = None
    duplicate_share: float | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        full: dict[str, Any] = {
            "kind": self.kind,
            "dtype": self.dtype,
            "nullable": self.nullable,
            "max_null_rate": self.max_null_rate,
            "values": self.values,
            "range": list(self.range) if self.range is not None else None,
            "expected_outside_range": self.expected_outside_range,
            "allow_inf": self.allow_inf,
            "top_share": self.top_share,
            "quantiles": dict(self.quantiles) if self.quantiles is not None else None,
            "categories": list(self.categories) if self.categories is not None else None,
            "expected_unseen_share": self.expected_unseen_share,
            "frequencies": dict(self.frequencies) if self.frequencies is not None else None,
            "first": self.first,
            "last": self.last,
            "empty_share": self.empty_share,
            "length_range": _pair(self.length_range),
            "expected_outside_length": self.expected_outside_length,
            "tokens_range": _pair(self.tokens_range),
            "expected_outside_tokens": self.expected_outside_tokens,
            "non_ascii_share": self.non_ascii_share,
            "expected_oov_share": self.expected_oov_share,
            "vocabulary": list(self.vocabulary) if self.vocabulary is not None else None,
            "duplicate_share": self.duplicate_share,
            "reason": self.reason,
        }
        keys = _FEATURE_KEYS[self.kind]
        return {k: full[k] for k in keys if full[k] is not None or k == "categories"}


@dataclass(frozen=True)
class Schema:
    """Per-feature expectations inferred from training data (see :func:`infer_schema`)."""

    features: Mapping[str, FeatureSchema]
    training_rows: int

    def __getitem__(self, name: str) -> FeatureSchema:
        return self.features[name]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": SCHEMA_FORMAT,
            "version": SCHEMA_VERSION,
            "training_rows": self.training_rows,
            "features": {name: f.to_dict() for name, f in self.features.items()},
        }

    def to_json(self) -> str:
        """Indented JSON with a stable key order, one block per feature, short lists inline."""
        return _render(self.to_dict(), 0) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "schema") -> Schema:
        """Parse and check a (possibly hand-edited) schema; errors name the feature and key."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"{source}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None
        return cls.from_dict(data, source)

    @classmethod
    def from_dict(cls, data: Any, source: str = "schema") -> Schema:
        if not isinstance(data, dict):
            raise ValueError(f"{source}: expected a JSON object at the top level")
        _check_keys(data, _TOP_KEYS, source)
        if data.get("format") != SCHEMA_FORMAT:
            raise ValueError(
                f"{source}: key 'format': expected {SCHEMA_FORMAT!r}, got {data.get('format')!r}"
            )
        if data.get("version") != SCHEMA_VERSION:
            raise ValueError(
                f"{source}: key 'version': expected {SCHEMA_VERSION}, got {data.get('version')!r}"
            )
        rows = data.get("training_rows")
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            raise ValueError(
                f"{source}: key 'training_rows': expected a non-negative integer, got {rows!r}"
            )
        features = data.get("features")
        if not isinstance(features, dict):
            raise ValueError(f"{source}: key 'features': expected an object of features")
        parsed = {
            str(name): _parse_feature(str(name), spec, f"{source}: feature {name!r}")
            for name, spec in features.items()
        }
        return cls(parsed, int(rows))

    def dump(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Schema:
        """Read a schema file; a missing or malformed file is a ``ValueError`` naming it."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"cannot read schema file {p}: {exc.strerror or exc}") from None
        return cls.from_json(text, source=str(p))


# --------------------------------------------------------------------------------------------
# JSON rendering and parsing


def _pair(value: tuple[float, float] | None) -> list[float] | None:
    return list(value) if value is not None else None


def _render(value: Any, indent: int, key: str = "") -> str:
    pad = "  " * (indent + 1)
    if isinstance(value, dict) and value and indent < 3:
        items = [
            f"{pad}{json.dumps(k)}: {_render(v, indent + 1, str(k))}" for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if key == "vocabulary" and isinstance(value, list) and value:
        return _wrapped(value, indent)
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _wrapped(values: list[Any], indent: int, width: int = 100) -> str:
    """A long list, a few items per line (a vocabulary of thousands of tokens stays readable)."""
    pad = "  " * (indent + 1)
    lines: list[str] = []
    line = ""
    for item in values:
        text = json.dumps(item, ensure_ascii=False)
        if line and len(pad) + len(line) + len(text) + 2 > width:
            lines.append(pad + line.rstrip())
            line = ""
        line += text + ", "
    lines.append(pad + line.rstrip().rstrip(","))
    return "[\n" + ",\n".join(ln.rstrip(",") for ln in lines) + "\n" + "  " * indent + "]"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_keys(data: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = (
                f"; did you mean {close[0]!r}?" if close else f"; expected one of {list(allowed)}"
            )
            raise ValueError(f"{where}: unknown key {key!r}{hint}")


def _rate(spec: Mapping[str, Any], key: str, where: str, default: float | None = None) -> float:
    value = spec.get(key, default)
    if not _is_number(value) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{where}: key {key!r}: expected a number between 0 and 1, got {value!r}")
    return float(value)


def _parse_feature(name: str, spec: Any, where: str) -> FeatureSchema:
    if not isinstance(spec, dict):
        raise ValueError(f"{where}: expected an object, got {spec!r}")
    kind = spec.get("kind")
    if kind not in SCHEMA_KINDS:
        raise ValueError(f"{where}: key 'kind': expected one of {list(SCHEMA_KINDS)}, got {kind!r}")
    _check_keys(spec, _FEATURE_KEYS[kind], where)
    for key in _REQUIRED:
        if key not in spec:
            raise ValueError(f"{where}: missing required key {key!r}")
    max_null = _rate(spec, "max_null_rate", where)
    values = spec["values"]
    if not _is_int(values) or values < 0:
        raise ValueError(f"{where}: key 'values': expected a non-negative integer, got {values!r}")
    nullable = spec.get("nullable", True)
    if not isinstance(nullable, bool):
        raise ValueError(f"{where}: key 'nullable': expected true or false, got {nullable!r}")
    if not nullable and max_null > 0:
        raise ValueError(
            f"{where}: key 'nullable' is false but 'max_null_rate' is {max_null}; "
            "set max_null_rate to 0 or nullable to true"
        )
    top = spec.get("top_share")
    if top is not None:
        top = _rate(spec, "top_share", where)
    feature = FeatureSchema(name, kind, max_null, int(values), nullable, top_share=top)
    if kind == "numeric":
        return _parse_numeric(feature, spec, where)
    if kind in ("categorical", "bool"):
        return _parse_categorical(feature, spec, where)
    if kind == "text":
        return _parse_text(feature, spec, where)
    if kind == "identifier":
        dup = spec.get("duplicate_share")
        return _replace(
            feature,
            duplicate_share=None if dup is None else _rate(spec, "duplicate_share", where),
        )
    if kind == "unsupported":
        reason = spec.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise ValueError(f"{where}: key 'reason': expected a string, got {reason!r}")
        return _replace(feature, reason=reason)
    if kind == "datetime":
        for key in ("first", "last"):
            if spec.get(key) is not None and not isinstance(spec[key], str):
                raise ValueError(f"{where}: key {key!r}: expected an ISO date-time string")
        return _replace(feature, first=spec.get("first"), last=spec.get("last"))
    return feature


def _replace(feature: FeatureSchema, **changes: Any) -> FeatureSchema:
    from dataclasses import replace

    return replace(feature, **changes)


def _parse_numeric(feature: FeatureSchema, spec: Mapping[str, Any], where: str) -> FeatureSchema:
    dtype = spec.get("dtype", "float")
    if dtype not in ("int", "float"):
        raise ValueError(f"{where}: key 'dtype': expected 'int' or 'float', got {dtype!r}")
    rng = spec.get("range")
    if rng is not None and not (
        isinstance(rng, list)
        and len(rng) == 2
        and all(_is_number(v) for v in rng)
        and rng[0] <= rng[1]
    ):
        raise ValueError(
            f"{where}: key 'range': expected [low, high] with finite numbers and low <= high, "
            f"got {rng!r}"
        )
    allow_inf = spec.get("allow_inf", False)
    if not isinstance(allow_inf, bool):
        raise ValueError(f"{where}: key 'allow_inf': expected true or false, got {allow_inf!r}")
    quantiles = spec.get("quantiles")
    if quantiles is not None and not (
        isinstance(quantiles, dict) and all(_is_number(v) for v in quantiles.values())
    ):
        raise ValueError(f"{where}: key 'quantiles': expected an object of numbers")
    return _replace(
        feature,
        dtype=dtype,
        range=(float(rng[0]), float(rng[1])) if rng is not None else None,
        expected_outside_range=_rate(spec, "expected_outside_range", where, 0.0),
        allow_inf=allow_inf,
        quantiles=quantiles,
    )


def _parse_range(spec: Mapping[str, Any], key: str, where: str) -> tuple[float, float] | None:
    rng = spec.get(key)
    if rng is None:
        return None
    if not (
        isinstance(rng, list)
        and len(rng) == 2
        and all(_is_number(v) for v in rng)
        and 0 <= rng[0] <= rng[1]
    ):
        raise ValueError(
            f"{where}: key {key!r}: expected [low, high] with 0 <= low <= high, got {rng!r}"
        )
    return float(rng[0]), float(rng[1])


def _parse_text(feature: FeatureSchema, spec: Mapping[str, Any], where: str) -> FeatureSchema:
    vocab = spec.get("vocabulary")
    if vocab is not None:
        if not isinstance(vocab, list) or not all(isinstance(t, str) and t for t in vocab):
            raise ValueError(
                f"{where}: key 'vocabulary': expected a list of tokens (non-empty strings)"
            )
        if len(set(vocab)) != len(vocab):
            dupes = sorted({t for t in vocab if vocab.count(t) > 1})[:5]
            raise ValueError(f"{where}: key 'vocabulary': duplicate tokens {dupes}")

    def rate(key: str) -> float | None:
        return None if spec.get(key) is None else _rate(spec, key, where)

    return _replace(
        feature,
        empty_share=rate("empty_share"),
        length_range=_parse_range(spec, "length_range", where),
        expected_outside_length=_rate(spec, "expected_outside_length", where, 0.0),
        tokens_range=_parse_range(spec, "tokens_range", where),
        expected_outside_tokens=_rate(spec, "expected_outside_tokens", where, 0.0),
        non_ascii_share=rate("non_ascii_share"),
        expected_oov_share=rate("expected_oov_share"),
        vocabulary=tuple(vocab) if vocab is not None else None,
    )


def _parse_categorical(
    feature: FeatureSchema, spec: Mapping[str, Any], where: str
) -> FeatureSchema:
    if "categories" not in spec:
        raise ValueError(
            f"{where}: missing required key 'categories' (a list of allowed values, "
            "or null for any value)"
        )
    cats = spec["categories"]
    if cats is not None:
        if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
            raise ValueError(
                f"{where}: key 'categories': expected a list of strings or null, got {cats!r}"
            )
        dupes = sorted({c for c in cats if cats.count(c) > 1})
        if dupes:
            raise ValueError(f"{where}: key 'categories': duplicate values {dupes}")
    freqs = spec.get("frequencies")
    if freqs is not None and not (
        isinstance(freqs, dict) and all(_is_number(v) and 0 <= v <= 1 for v in freqs.values())
    ):
        raise ValueError(f"{where}: key 'frequencies': expected an object of shares in [0, 1]")
    return _replace(
        feature,
        categories=tuple(cats) if cats is not None else None,
        expected_unseen_share=_rate(spec, "expected_unseen_share", where, 0.0),
        frequencies=freqs,
    )


# --------------------------------------------------------------------------------------------
# Inference


def _round_out(value: float, up: bool) -> float:
    """Round to 6 significant digits away from the data, so rounding never tightens a range."""
    if value == 0 or not math.isfinite(value):
        return value
    digits = 5 - math.floor(math.log10(abs(value)))
    if abs(digits) > 300:
        return value
    scale = 10.0**digits
    rounded = (math.ceil if up else math.floor)(value * scale) / scale
    return float(f"{rounded:.6g}")


def _short(value: float) -> float:
    return float(f"{value:.6g}")


def infer_schema(
    profile: DatasetProfile,
    *,
    columns: Sequence[str] | None = None,
    range_quantile: float = DEFAULT_RANGE_QUANTILE,
    range_tolerance: float = DEFAULT_RANGE_TOLERANCE,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
) -> Schema:
    """Infer per-feature expectations from a training profile.

    Numeric range: ``[q(a) - t*s, q(1-a) + t*s]`` with ``a = range_quantile``,
    ``t = range_tolerance`` and ``s = q(1-a) - q(a)``; the training share beyond it is recorded
    as ``expected_outside_range``. Categories: every value seen, unless more than
    ``max_categories`` (then the vocabulary is open), with the singleton share as the chance of
    an unseen value.
    """
    if profile.n_rows == 0:
        raise ValueError("cannot infer a schema from a dataset with no rows")
    if not 0 <= range_quantile < 0.5:
        raise ValueError(f"range_quantile must be in [0, 0.5), got {range_quantile!r}")
    if range_tolerance < 0:
        raise ValueError(f"range_tolerance must be >= 0, got {range_tolerance!r}")
    names = list(profile.columns) if columns is None else list(columns)
    missing = [c for c in names if c not in profile.columns]
    if missing:
        raise ValueError(f"columns not in the profile: {', '.join(map(repr, missing))}")
    features = {
        name: _infer_feature(profile.columns[name], range_quantile, range_tolerance, max_categories)
        for name in names
    }
    return Schema(features, profile.n_rows)


def infer_kind(col: ColumnProfile) -> str:
    """The kind of a column, by the rule the README states.

    A column profiled as text or identifier keeps that kind, and a column whose values are not
    strings keeps the kind of its values (numbers are numeric, even when unique: integer
    identifiers are declared, or named as the dataset's ``id``). A string column with at least
    :data:`KIND_MIN_VALUES` values is

    * **text** when at least half of its values hold :data:`TEXT_MIN_TOKENS` or more tokens
      and at least half of its values are distinct (few repeat);
    * an **identifier** when every value is distinct and it is not text;
    * **categorical** otherwise (short labels, even with many levels).

    Read from the category counts of the profile (over the cap: from the kept values, with the
    distinct count an upper bound).
    """
    kind = col.majority_kind
    cat = col.categorical
    if kind != "categorical" or cat is None or col.types.get("string", 0) < col.non_null / 2:
        return kind
    n = cat.n
    if n < KIND_MIN_VALUES:
        return "categorical"
    kept = list(cat.counts.items())
    weight = sum(c for _, c in kept)
    several = sum(c for k, c in kept if len(k.split()) >= TEXT_MIN_TOKENS)
    distinct_share = cat.distinct / n
    if weight and several / weight >= TEXT_MIN_SHARE and distinct_share >= TEXT_MIN_DISTINCT:
        return "text"
    if cat.singletons >= n:
        return "identifier"
    return "categorical"


def infer_kinds(
    profile: DatasetProfile, declared: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Per column, the kind to profile it as: ``declared`` ones as given, text or identifier
    where :func:`infer_kind` says so (other columns follow their dtype and are left out)."""
    out = dict(declared or {})
    for name, col in profile.columns.items():
        if name not in out:
            kind = infer_kind(col)
            if kind in PROFILED_KINDS:
                out[name] = kind
    return out


def _range_of(
    num: NumericSummary, a: float, tol: float, floor: float | None = None
) -> tuple[float, float, float]:
    """``[q(a) - t*s, q(1-a) + t*s]`` rounded outwards, and the training share beyond it."""
    q_lo, q_hi = (float(v) for v in num.quantile([a, 1 - a]))
    margin = tol * (q_hi - q_lo)
    lo = _round_out(q_lo - margin, up=False)
    hi = _round_out(q_hi + margin, up=True)
    if floor is not None:
        lo = max(lo, floor)
    outside = (num.count_below(lo) + num.count_above(hi)) / num.n
    return lo, hi, outside


def _infer_feature(col: ColumnProfile, a: float, tol: float, max_categories: int) -> FeatureSchema:
    kind = col.majority_kind
    null_rate = col.null_rate if col.count else 0.0
    base = FeatureSchema(col.name, kind, _short(null_rate), col.non_null, nullable=col.nulls > 0)
    if kind == "numeric" and col.numeric is not None and col.numeric.n:
        num = col.numeric
        lo, hi, outside = _range_of(num, a, tol)
        top = float(num.counts.max()) / num.n
        qs = num.quantile(list(QUANTILE_LEVELS))
        return _replace(
            base,
            values=num.n + num.pos_inf + num.neg_inf,
            dtype="int" if num.integral else "float",
            range=(lo, hi),
            expected_outside_range=_short(outside),
            allow_inf=bool(num.pos_inf or num.neg_inf),
            top_share=_short(top),
            quantiles={
                f"{p:g}": _short(float(q)) for p, q in zip(QUANTILE_LEVELS, qs, strict=True)
            },
        )
    if kind == "text" and col.text is not None and col.text.n:
        return _infer_text(base, col.text, a, tol)
    if kind == "identifier" and col.identifier is not None and col.identifier.rows:
        return _replace(
            base, duplicate_share=_short(col.identifier.duplicate_share), values=col.identifier.rows
        )
    if kind == "unsupported":
        return _replace(base, reason=unsupported_reason(col))
    if kind in ("categorical", "bool") and col.categorical is not None:
        cat = col.categorical
        n = cat.n
        open_vocabulary = cat.truncated or cat.distinct > max_categories
        frequent = cat.top(DEFAULT_FREQUENCIES)
        return _replace(
            base,
            categories=None if open_vocabulary else tuple(sorted(cat.counts)),
            expected_unseen_share=_short(cat.singletons / n) if n else 0.0,
            top_share=_short(frequent[0][1] / n) if frequent else None,
            frequencies={k: _short(v / n) for k, v in frequent},
        )
    if kind == "datetime" and col.numeric is not None and col.numeric.n:
        return _replace(base, first=_iso(col.numeric.min), last=_iso(col.numeric.max))
    if kind in ("numeric", "categorical", "bool", "datetime", "text", "identifier"):
        return _replace(base, kind="empty")
    return base


def _whole_range(num: NumericSummary, a: float, tol: float) -> tuple[float, float, float]:
    """A range of counts (characters, tokens): :func:`_range_of` widened to whole numbers."""
    lo, hi, _ = _range_of(num, a, tol, floor=0.0)
    lo, hi = float(math.floor(lo)), float(math.ceil(hi))
    return lo, hi, (num.count_below(lo) + num.count_above(hi)) / num.n


def _infer_text(base: FeatureSchema, text: TextSummary, a: float, tol: float) -> FeatureSchema:
    """Text expectations: lengths, empty share, the vocabulary and its chance OOV share."""
    chars_lo, chars_hi, chars_out = _whole_range(text.chars, a, tol)
    tok_lo, tok_hi, tok_out = _whole_range(text.tokens, a, tol)
    return _replace(
        base,
        values=text.n,
        empty_share=_short(text.empty_share),
        length_range=(chars_lo, chars_hi),
        expected_outside_length=_short(chars_out),
        tokens_range=(tok_lo, tok_hi),
        expected_outside_tokens=_short(tok_out),
        non_ascii_share=_short(text.non_ascii_share),
        expected_oov_share=_short(text.split_half_oov()),
        vocabulary=tuple(t for t, _ in text.vocabulary.top()),
    )


def unsupported_reason(col: ColumnProfile) -> str:
    """Why no check reads a column: the types of its values."""
    found = ", ".join(f"{n} {t}" for t, n in sorted(col.nested.items(), key=lambda kv: -kv[1]))
    return (
        f"its values are {found or 'nested or binary'}; no check reads lists, dicts, bytes or "
        "arrays (store the features derived from them as columns to have them judged)"
    )


def _iso(seconds: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc).isoformat()


# --------------------------------------------------------------------------------------------
# Validation


@dataclass
class _Findings:
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    columns: set[str] = field(default_factory=set)
    unjudged: dict[str, str] = field(default_factory=dict)  # column -> why it was not judged

    def add(
        self, column: str, rule: str, expected: str, observed: str, rows: Any, examples: str
    ) -> None:
        self.rows.append((column, rule, expected, observed, rows, examples))
        self.columns.add(column)

    def not_judged(self, column: str, why: str) -> None:
        self.unjudged[column] = why


def _pct(share: float) -> str:
    return f"{100 * share:.3g}%"


def _examples(values: Sequence[Any]) -> str:
    shown = [
        repr(v) if isinstance(v, str) else f"{v:.6g}" if isinstance(v, float) else str(v)
        for v in values[:N_EXAMPLES]
    ]
    return ", ".join(shown) if shown else "-"


def chance_allowance(expected: float, n: int, m: int, sigmas: float, floor: float) -> float:
    """The largest share of ``m`` new rows consistent with a training share ``expected`` of ``n``.

    ``expected + sigmas * sqrt(p * (1/m + 1/n))`` with ``p = expected + 1/n`` (so a share never
    seen in training still gets the uncertainty of one value), and at least ``floor``.
    """
    p = min(1.0, expected + 1.0 / max(n, 1))
    se = math.sqrt(p * (1 - p) * (1.0 / max(m, 1) + 1.0 / max(n, 1)))
    return max(floor, expected + sigmas * se)


@library_check(name="validate_schema")
def validate(
    profile: DatasetProfile,
    schema: Schema,
    *,
    columns: Sequence[str] | None = None,
    allow_extra_columns: bool = False,
    sigmas: float = DEFAULT_SIGMAS,
    share_floor: float = DEFAULT_SHARE_FLOOR,
    null_floor: float = DEFAULT_NULL_FLOOR,
    check: str = "schema",
    rubric_id: str | None = None,
) -> CheckResult:
    """Check a dataset's profile against a schema: columns, types, ranges, categories, nulls.

    Each violation names the column, the rule, what was expected, what was seen, how many rows
    and a few example values. ``columns`` restricts the check to those features.
    """
    if sigmas <= 0 or not 0 <= share_floor < 1 or not 0 <= null_floor < 1:
        raise ValueError("sigmas must be > 0; share_floor and null_floor must be in [0, 1)")
    names = list(schema.features) if columns is None else list(columns)
    unknown = [c for c in names if c not in schema.features]
    if unknown:
        raise ValueError(f"columns not in the schema: {', '.join(map(repr, unknown))}")
    method = (
        f"shares beyond range / unseen judged against chance ({sigmas:g} SE, floor "
        f"{_pct(share_floor)}); null rate tolerance {100 * null_floor:g} points + {sigmas:g} SE"
    )
    table_columns = ("column", "rule", "expected", "observed", "rows", "examples")
    if profile.n_rows == 0:
        return CheckResult(
            check,
            "fail",
            "the dataset has no rows: nothing to validate (an empty file or an empty sample?)",
            Table(table_columns, (("*", "rows", "at least one row", "0 rows", 0, "-"),)),
            rubric_id,
            {"violations": 1.0, "rows": 0.0},
        )
    findings = _Findings()
    for name in names:
        feature = schema.features[name]
        col = profile.columns.get(name)
        if col is None:
            findings.add(
                name, "missing column", f"{feature.kind} column", "absent", profile.n_rows, "-"
            )
            continue
        _validate_column(
            col, feature, schema.training_rows, findings, sigmas, share_floor, null_floor
        )
    if columns is None and not allow_extra_columns:
        for name, col in profile.columns.items():
            if name not in schema.features:
                findings.add(
                    name, "extra column", "not in the schema", f"{col.kind} column", col.count, "-"
                )
    n_bad = len(findings.rows)
    unjudged = findings.unjudged
    judged = [c for c in names if c not in unjudged]
    verdict: Verdict = "fail" if n_bad else "pass" if judged else "skip"
    left_out = (
        f"; not judged: {', '.join(f'{c} ({why})' for c, why in unjudged.items())}"
        if unjudged
        else ""
    )
    if n_bad:
        summary = (
            f"{n_bad} violation{'s' if n_bad != 1 else ''} in {len(findings.columns)} of "
            f"{len(judged)} {'judged ' if unjudged else ''}columns over {profile.n_rows} rows "
            f"({method}){left_out}"
        )
    elif judged:
        summary = (
            f"{len(judged)} columns, {profile.n_rows} rows satisfy the schema ({method}){left_out}"
        )
    else:
        summary = f"no column could be judged{left_out}"
    rows = [*findings.rows, *((c, "not judged", "-", why, "-", "-") for c, why in unjudged.items())]
    return CheckResult(
        check,
        verdict,
        summary,
        Table(table_columns, tuple(rows)),
        rubric_id,
        {
            "violations": float(n_bad),
            "columns": float(len(names)),
            "columns_violating": float(len(findings.columns)),
            "columns_not_judged": float(len(unjudged)),
            "rows": float(profile.n_rows),
        },
    )


def _validate_column(
    col: ColumnProfile,
    feature: FeatureSchema,
    training_rows: int,
    findings: _Findings,
    sigmas: float,
    share_floor: float,
    null_floor: float,
) -> None:
    name = col.name
    n_train = max(feature.values, 1)
    # Null rate.
    if col.count:
        rate = col.null_rate
        allowed = null_floor + chance_allowance(
            feature.max_null_rate, training_rows, col.count, sigmas, 0.0
        )
        if rate > allowed and feature.kind != "empty":
            findings.add(
                name,
                "null rate",
                f"<= {_pct(allowed)} (training {_pct(feature.max_null_rate)})",
                _pct(rate),
                col.nulls,
                "-",
            )
    kind = col.kind
    if feature.kind == "unsupported":
        findings.not_judged(name, feature.reason or unsupported_reason(col))
        return
    if kind == "unsupported" and feature.kind != "empty":
        findings.add(
            name,
            "type change",
            feature.kind,
            f"unsupported values ({', '.join(f'{n} {t}' for t, n in col.nested.items())})",
            col.non_null,
            "-",
        )
        return
    if kind in PROFILED_KINDS and feature.kind in ("categorical", "bool"):
        findings.not_judged(
            name,
            f"profiled as {kind} (the config's kinds) but the schema says {feature.kind}: "
            "freeze the schema again (pytest --ml-score-freeze-schema)",
        )
        return
    if feature.kind in PROFILED_KINDS and kind in ("categorical", "empty") and col.non_null:
        findings.not_judged(
            name,
            f"the schema says {feature.kind} but the column was profiled as {kind}: profile it "
            f"with kinds={{{name!r}: {feature.kind!r}}}",
        )
        return
    if kind == "empty" or feature.kind == "empty":
        return
    if feature.kind == "identifier":
        if col.identifier is not None:
            _validate_identifier(col, feature, findings, sigmas, share_floor)
        return
    if kind == "mixed":
        parts = ", ".join(f"{c} {t}" for t, c in col.types.items() if c)
        findings.add(
            name,
            "mixed types",
            f"only {feature.kind} values",
            parts,
            col.non_null - col.types.get(_TYPE_OF_KIND.get(feature.kind, ""), 0),
            _examples(_foreign_examples(col, feature.kind)),
        )
    elif kind != feature.kind:
        findings.add(
            name,
            "type change",
            feature.kind,
            kind,
            col.non_null,
            _examples(_foreign_examples(col, feature.kind)),
        )
        return
    if feature.kind == "numeric" and col.numeric is not None:
        num = col.numeric
        if feature.range is not None and num.n:
            lo, hi = feature.range
            below, above = num.count_below(lo), num.count_above(hi)
            share = (below + above) / num.n
            allowed = chance_allowance(
                feature.expected_outside_range, n_train, num.n, sigmas, share_floor
            )
            if share > allowed:
                examples = [v for v in num.highest if v > hi] + [v for v in num.lowest if v < lo]
                approx = "" if below == int(below) and above == int(above) else "about "
                findings.add(
                    name,
                    "out of range",
                    f"[{lo:.6g}, {hi:.6g}]; <= {_pct(allowed)} beyond "
                    f"(training {_pct(feature.expected_outside_range)})",
                    f"{_pct(share)} beyond: {approx}{round(below)} below, {round(above)} "
                    f"above; min {num.min:.6g}, max {num.max:.6g}",
                    round(below + above),
                    _examples(examples),
                )
        n_inf = num.pos_inf + num.neg_inf
        if n_inf and not feature.allow_inf:
            findings.add(
                name,
                "non-finite values",
                "finite values only",
                f"{num.pos_inf} +inf, {num.neg_inf} -inf",
                n_inf,
                _examples(["inf"] * min(num.pos_inf, 2) + ["-inf"] * min(num.neg_inf, 2)),
            )
        if num.n >= 2 and num.min == num.max:
            _constant(findings, name, feature, num.n, f"{num.min:.6g}")
    if feature.kind in ("categorical", "bool") and col.categorical is not None:
        cat = col.categorical
        if feature.categories is not None and cat.n:
            allowed_set = set(feature.categories)
            unseen = [(k, c) for k, c in cat.top(len(cat.counts)) if k not in allowed_set]
            unseen_rows = sum(c for _, c in unseen) + cat.other_rows
            share = unseen_rows / cat.n
            allowed = chance_allowance(
                feature.expected_unseen_share, n_train, cat.n, sigmas, share_floor
            )
            if share > allowed:
                findings.add(
                    name,
                    "unseen categories",
                    f"{len(allowed_set)} known values; <= {_pct(allowed)} unseen "
                    f"(training singletons {_pct(feature.expected_unseen_share)})",
                    f"{_pct(share)} unseen, {len(unseen) + cat.other_distinct} distinct",
                    unseen_rows,
                    _examples([f"{k} ({c})" for k, c in unseen]),
                )
        if cat.n >= 2 and len(cat.counts) == 1 and not cat.other_rows:
            _constant(findings, name, feature, cat.n, repr(next(iter(cat.counts))))
    if feature.kind == "text" and col.text is not None and col.text.n:
        _validate_text(col.text, feature, findings, name, sigmas, share_floor)


def _validate_identifier(
    col: ColumnProfile,
    feature: FeatureSchema,
    findings: _Findings,
    sigmas: float,
    share_floor: float,
) -> None:
    """Identifiers: their null rate (checked above) and the share of repeated values."""
    ids = col.identifier
    assert ids is not None
    if feature.duplicate_share is None or not ids.sampled_rows:
        return
    share = ids.duplicate_share
    allowed = chance_allowance(
        feature.duplicate_share, max(feature.values, 1), ids.sampled_rows, sigmas, share_floor
    )
    if share > allowed:
        sample = f" (estimated on {ids.sampled_rows} rows)" if ids.truncated else ""
        findings.add(
            col.name,
            "duplicate identifiers",
            f"<= {_pct(allowed)} of rows repeat a value (training {_pct(feature.duplicate_share)})",
            f"{_pct(share)} repeat a value{sample}",
            round(share * ids.rows),
            "-",
        )


def _validate_text(
    text: TextSummary,
    feature: FeatureSchema,
    findings: _Findings,
    name: str,
    sigmas: float,
    share_floor: float,
) -> None:
    """Texts: empty share, lengths beyond the training range, out-of-vocabulary tokens; each
    judged against chance at these sizes (the text is the unit: tokens of one text move
    together, so counting texts rather than tokens keeps the allowance honest)."""
    m, n_train = text.n, max(feature.values, 1)
    if feature.empty_share is not None:
        share = text.empty_share
        allowed = chance_allowance(feature.empty_share, n_train, m, sigmas, share_floor)
        if share > allowed:
            findings.add(
                name,
                "empty texts",
                f"<= {_pct(allowed)} empty or whitespace only "
                f"(training {_pct(feature.empty_share)})",
                _pct(share),
                text.empty,
                "-",
            )
    for what, summary, rng, expected in (
        ("characters", text.chars, feature.length_range, feature.expected_outside_length),
        ("tokens", text.tokens, feature.tokens_range, feature.expected_outside_tokens),
    ):
        if rng is None or not summary.n:
            continue
        lo, hi = rng
        below, above = summary.count_below(lo), summary.count_above(hi)
        share = (below + above) / summary.n
        allowed = chance_allowance(expected, n_train, summary.n, sigmas, share_floor)
        if share > allowed:
            findings.add(
                name,
                f"length out of range ({what})",
                f"[{lo:g}, {hi:g}] {what} per text; <= {_pct(allowed)} beyond "
                f"(training {_pct(expected)})",
                f"{_pct(share)} beyond: {round(below)} shorter, {round(above)} longer; "
                f"min {summary.min:g}, max {summary.max:g}",
                round(below + above),
                "-",
            )
    if feature.vocabulary is not None and feature.expected_oov_share is not None:
        share, exact = text.oov_share(feature.vocabulary)
        allowed = chance_allowance(feature.expected_oov_share, n_train, m, sigmas, share_floor)
        if share > allowed:
            approx = "" if exact else " (at most; the serving vocabulary exceeded its cap)"
            findings.add(
                name,
                "out-of-vocabulary tokens",
                f"<= {_pct(allowed)} of tokens outside the {len(feature.vocabulary)}-token "
                f"vocabulary (training against itself by split halves "
                f"{_pct(feature.expected_oov_share)})",
                f"{_pct(share)}{approx}",
                round(share * text.token_total),
                _examples(_new_tokens(text, feature.vocabulary)),
            )


def _new_tokens(text: TextSummary, vocabulary: Sequence[str], k: int = N_EXAMPLES) -> list[str]:
    """The most frequent tokens of ``text`` outside ``vocabulary``, with their counts."""
    known = set(vocabulary)
    out = []
    for token, count in text.vocabulary.top():
        if token not in known:
            out.append(f"{token} ({count})")
            if len(out) == k:
                break
    return out


_TYPE_OF_KIND = {
    "numeric": "number",
    "categorical": "string",
    "bool": "bool",
    "datetime": "datetime",
    "text": "string",
}


def _foreign_examples(col: ColumnProfile, expected_kind: str) -> list[Any]:
    """A few values of the column that are not of the expected kind."""
    out: list[Any] = []
    if expected_kind != "numeric" and col.numeric is not None:
        out.extend(col.numeric.highest[:2])
        out.extend(col.numeric.lowest[:1])
    if expected_kind not in ("categorical", "bool") and col.categorical is not None:
        out.extend(k for k, _ in col.categorical.top(N_EXAMPLES))
    return out


def _constant(findings: _Findings, name: str, feature: FeatureSchema, m: int, value: str) -> None:
    """Flag a constant column unless training could plausibly give ``m`` equal values."""
    top = feature.top_share
    if top is None or top >= 1.0:
        return
    if top > 0 and m * math.log(top) > math.log(1e-6):
        return
    findings.add(
        name,
        "constant column",
        f"varying values (training top share {_pct(top)})",
        f"every value is {value}",
        m,
        value,
    )


# -- the checked-in schema, and data-1 ----------------------------------------------------------
class MissingSchema(NotJudged):
    """No schema file yet: it is written by ``pytest --ml-score-freeze-schema``."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"no schema file at {path}; create it from the training data with "
            "`pytest --ml-score-freeze-schema`, review it and commit it"
        )


class SchemaUnreadable(AssetError):
    """The schema file exists but is not a schema this version can read."""


def checked_in_schema(path: Path) -> Schema:
    """The schema file the project committed (:class:`MissingSchema` when there is none yet)."""
    if not path.is_file():
        raise MissingSchema(path)
    try:
        return Schema.load(path)
    except ValueError as exc:
        raise SchemaUnreadable(f"{path}: {exc}") from None


SCHEMA_KINDS_JUDGED = (
    "numeric, categorical, bool, datetime, text, identifier; unsupported ones listed as not judged"
)

SCHEMA_PARAMS = (
    Param("sigmas", "number", 5.0, "standard errors of chance allowed before a share counts", 0.5),
    Param(
        "share_floor",
        "number",
        0.001,
        "beyond-range/unseen shares at or below this never fail",
        0.0,
        1.0,
    ),
    Param(
        "null_floor",
        "number",
        0.002,
        "null-rate rise allowed beyond the schema plus chance",
        0.0,
        1.0,
    ),
)


def configured_kinds(assets: Assets) -> dict[str, str]:
    """The column kinds the config declares, over all datasets (training's first)."""
    order = sorted(assets.datasets, key=lambda n: (n != "training", n != "serving", n))
    kinds: dict[str, str] = {}
    for name in order:
        kinds.update(assets.declared_kinds(name))
    return kinds


def column_plan(
    assets: Assets, schema: Schema | None
) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Column kinds and text vocabularies every data check profiles the datasets with.

    The schema's text and identifier columns (and each text column's vocabulary, so its
    out-of-vocabulary count is exact), overridden by the config's ``kinds``; without a schema,
    the kinds inferred from the training data. One plan for data-1, monitor-2 and monitor-3, so
    each dataset is read once per session.
    """
    kinds: dict[str, str] = {}
    vocabularies: dict[str, tuple[str, ...]] = {}
    declared = configured_kinds(assets)
    if schema is not None:
        for name, feature in schema.features.items():
            if feature.kind in PROFILED_KINDS:
                kinds[name] = feature.kind
            if feature.kind == "text" and feature.vocabulary is not None:
                vocabularies[name] = feature.vocabulary
    elif "training" in assets.datasets:
        kinds = infer_kinds(assets.profile("training", kinds=declared), declared)
    kinds.update(declared)
    return kinds, {c: v for c, v in vocabularies.items() if kinds.get(c) == "text"}


def schema_if_any(path: Path) -> Schema | None:
    """The checked-in schema, or None when there is none yet or it cannot be read."""
    try:
        return checked_in_schema(path)
    except (MissingSchema, SchemaUnreadable):  # data-1 reports either; kinds are then inferred
        return None


def planned_profile(
    ctx: CheckContext, name: str, reference: str | None, schema: Schema | None
) -> DatasetProfile:
    """``ctx.assets.profile`` with the column plan of :func:`column_plan`."""
    kinds, vocabularies = column_plan(ctx.assets, schema)
    return ctx.assets.profile(name, reference=reference, kinds=kinds, vocabularies=vocabularies)


def validate_dataset(ctx: CheckContext, name: str) -> CheckResult:
    """Validate dataset ``name`` against the checked-in schema with the check's parameters."""
    schema = checked_in_schema(ctx.schema_path)
    reference = (
        "training" if name != "training" and ctx.assets.available("dataset", "training") else None
    )
    profile = planned_profile(ctx, name, reference, schema)
    result = validate(
        profile,
        schema,
        sigmas=ctx.params["sigmas"],
        share_floor=ctx.params["share_floor"],
        null_floor=ctx.params["null_floor"],
        check=f"{ctx.check_id} {name} data against {ctx.schema_path.name}",
        rubric_id=ctx.check_id,
    )
    if result.verdict != "fail" or result.table is None:
        return result
    # the violating columns, drawn in the training data (when it is not the one validated)
    flagged: dict[str, list[str]] = {}
    for row in result.table.rows:
        flagged.setdefault(str(row[0]), []).append(f"{row[1]}: {row[3]}")
    profiles = {"training": planned_profile(ctx, "training", None, schema)} if reference else {}
    profiles[name] = profile
    ranges = {
        f.name: [("schema min", f.range[0]), ("schema max", f.range[1])]
        for f in schema.features.values()
        if f.range is not None
    }
    figures = column_figures(
        {c: "; ".join(why) for c, why in flagged.items()}, profiles, lines=ranges
    )
    return replace(result, figures=figures)


def freeze_schema(ctx: CheckContext) -> str:
    """Infer the schema from the ``training`` dataset, write it, say what was done."""
    return write_schema(ctx.assets, ctx.schema_path)


def write_schema(assets: Assets, path: Path) -> str:
    """Infer the schema from the ``training`` dataset of ``assets`` and write it to ``path``.

    Column kinds are inferred first (:func:`infer_kind`; the config's ``kinds`` win), then the
    text and identifier columns are profiled as such: a second pass over the training data when
    inference found any the config did not declare.
    """
    declared = configured_kinds(assets)
    profile = assets.profile("training", kinds=declared)
    if profile.n_rows == 0:
        spec = assets.dataset_spec("training")
        raise AssetError(f"[{spec.key}] has no rows; cannot infer a schema")
    kinds = infer_kinds(profile, declared)
    if kinds != declared:
        profile = assets.profile("training", kinds=kinds)
    schema = infer_schema(profile)
    write_text_atomic(path, schema.to_json())
    found = {k: sum(f.kind == k for f in schema.features.values()) for k in PROFILED_KINDS}
    kinds_note = ", ".join(f"{n} {k}" for k, n in found.items() if n)
    return (
        f"wrote the schema of {len(schema.features)} features"
        f"{f' ({kinds_note})' if kinds_note else ''}, inferred from "
        f"{profile.n_rows} training rows, to {path}\n"
        "Review it (tighten a range, allow a category, correct a column's kind), then commit it."
    )


SCHEMA = BuiltinCheck(
    "data-1",
    "schema",
    "the training data satisfies the checked-in schema",
    (dataset("training"),),
    lambda ctx: validate_dataset(ctx, "training"),
    SCHEMA_PARAMS,
    freeze=Freeze(ML_SCORE_FREEZE_SCHEMA, freeze_schema),
    kinds=SCHEMA_KINDS_JUDGED,
    declines="no schema frozen yet (`--ml-score-freeze-schema`)",
)

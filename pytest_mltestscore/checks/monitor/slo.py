"""monitor-7 with delayed labels: join predictions with labels that arrive later, judge SLO windows.

Serving logs predictions (``id``, ``timestamp``, ``prediction`` and optionally a positive-class
``score``); labels come later from another system (``id``, ``target``, ``timestamp`` = when the
label arrived). :func:`join_labels` joins them and reports what does not fit (duplicate label
ids: the latest arrival wins; labels with no prediction; predictions without a label).
:func:`window_metrics` computes a quality metric per time window of prediction time (tumbling or
sliding), counting only labels that had arrived by ``as_of``, with label coverage per window.
:func:`evaluate_slo` judges each window against an SLO such as ``recall >= 0.9 over 30 days with
at least 200 labels``: too few labels make a window unknown, never passed. So do too few cases in
the metric's own denominator (:func:`metric_support`: the positives for recall, the predicted
positives for precision...): 300 labels holding 2 positives judge recall on 2 cases, and a
window below ``min_support`` is unknown too. A Wilson 95% interval of proportion metrics is
reported beside each window, as information.

Timestamps are parsed to UTC. Mixed offsets are normalised; a timestamp without an offset is an
error unless ``timezone`` names the zone it was written in.
"""

from __future__ import annotations

import builtins
import datetime as dt
import functools
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ... import metrics as _metrics
from ...assets import AssetError
from ...builtin import BuiltinCheck, CheckContext, dataset
from ...result import (
    CheckResult,
    Figure,
    Table,
    Verdict,
    figure_line,
    figure_series,
    library_check,
)
from ...settings import ConfigError, DatasetSpec, Settings, TableReader, parse_window

if TYPE_CHECKING:
    import pandas as pd

RUBRIC_ID = "monitor-7"
METRICS = ("accuracy", "auc", "bias", "f1", "mae", "precision", "recall", "rmse")
_ALIASES = {"roc_auc": "auc", "mean_bias": "bias", "prediction_bias": "bias"}
_NEEDS_POSITIVE = ("recall", "precision", "f1", "auc")
_SAMPLE = 5
DEFAULT_MIN_LABELS = 200
# At least 30 cases in the metric's denominator: at 30 a proportion's Wilson 95% interval is
# still about +-0.17 wide around 0.5 (+-0.11 around 0.9); below, one case flips a verdict.
DEFAULT_MIN_SUPPORT = 30
_Z95 = 1.959963984540054  # the standard normal's 97.5% quantile
_PROPORTIONS = ("accuracy", "recall", "precision", "f1")

__all__ = [
    "DEFAULT_MIN_LABELS",
    "DEFAULT_MIN_SUPPORT",
    "METRICS",
    "SLO",
    "JoinedLabels",
    "LabelDataError",
    "check_slo",
    "evaluate_slo",
    "join_labels",
    "metric_support",
    "metric_value",
    "parse_window",
    "to_utc",
    "wilson_interval",
    "window_metrics",
]


class LabelDataError(ValueError):
    """Predictions or labels that cannot be used: missing columns, bad or naive timestamps."""


# --------------------------------------------------------------------------------------------
# Durations and timestamps

# An offset after a time of day: 'Z', '+05:30', '-0800', '+02'.
_AWARE_TEXT = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$")


def _example_rows(mask: np.ndarray, values: Any, index: Any) -> str:
    rows = np.flatnonzero(mask)[:3]
    return ", ".join(f"row {index[i]!r}: {values[i]!r}" for i in rows)


def to_utc(series: pd.Series, *, column: str, frame: str, timezone: str | None = None) -> pd.Series:
    """Parse a column of timestamps to UTC; naive ones need ``timezone``; errors name rows."""
    import pandas as pd

    where = f"column {column!r} of the {frame}"
    if series.isna().any():
        mask = series.isna().to_numpy()
        raise LabelDataError(
            f"{where}: {int(mask.sum())} missing timestamp(s) (first at row"
            f" {series.index[np.flatnonzero(mask)[0]]!r})"
        )
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(dtype):
        if timezone is None:
            raise LabelDataError(
                f"{where}: timestamps without a time zone (e.g. {series.iloc[0]!s}); write"
                " them with an offset or give timezone='Area/City' (the zone they were written in)"
            )
        return _localize(series, timezone, where)
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        raise LabelDataError(
            f"{where}: numbers ({dtype}), not timestamps; convert epoch seconds first, e.g."
            " pd.to_datetime(values, unit='s', utc=True)"
        )
    values = series.to_numpy(dtype=object)
    aware = np.zeros(len(values), dtype=bool)
    for i, value in enumerate(values):
        if isinstance(value, str):
            aware[i] = _AWARE_TEXT.search(value.strip()) is not None
        elif isinstance(value, dt.datetime):
            aware[i] = value.tzinfo is not None and value.utcoffset() is not None
        elif isinstance(value, dt.date):
            aware[i] = False
        else:
            raise LabelDataError(
                f"{where}: {type(value).__name__} value {value!r} at row {series.index[i]!r} is"
                " not a timestamp"
            )
    positions = pd.RangeIndex(len(values))
    plain = pd.Series(values, index=positions, dtype=object)
    # Unparseable values first (naive ones parse as UTC here, only to find the bad ones).
    _parse(plain, where, utc=True, index=series.index)
    naive = ~aware
    if naive.any() and timezone is None:
        raise LabelDataError(
            f"{where}: {int(naive.sum())} timestamp(s) without a time zone"
            f" ({_example_rows(naive, values, series.index)}); write them with an offset"
            " such as '+00:00' or give timezone='Area/City' (the zone they were written in)"
        )
    parts = []
    if aware.any():
        parts.append(_parse(plain[aware], where, utc=True, index=series.index))
    if naive.any():
        assert timezone is not None
        local = _parse(plain[naive], where, utc=False, index=series.index)
        parts.append(_localize(local, timezone, where))
    combined = pd.concat(parts).sort_index() if len(parts) > 1 else parts[0]
    return pd.Series(combined.to_numpy(), index=series.index, name=series.name)


def _parse(series: pd.Series, where: str, *, utc: bool, index: Any) -> pd.Series:
    """Parse ISO 8601 text/datetimes; ``series`` is indexed by position in the original column."""
    import pandas as pd

    parsed = pd.to_datetime(series, utc=utc, format="ISO8601", errors="coerce")
    bad = parsed.isna().to_numpy()
    if bad.any():
        rows = series.index[bad][:3]
        examples = ", ".join(f"row {index[i]!r}: {series[i]!r}" for i in rows)
        raise LabelDataError(
            f"{where}: {int(bad.sum())} value(s) are not ISO 8601 timestamps ({examples})"
        )
    return parsed


def _localize(series: pd.Series, timezone: str, where: str) -> pd.Series:
    try:
        local = series.dt.tz_localize(timezone, ambiguous="raise", nonexistent="raise")
    except (ValueError, TypeError, KeyError) as exc:
        raise LabelDataError(
            f"{where}: cannot read the times in zone {timezone!r}: {exc}"
        ) from None
    return local.dt.tz_convert("UTC")


def _as_of_timestamp(as_of: object) -> pd.Timestamp:
    import pandas as pd

    try:
        stamp = pd.Timestamp(as_of)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        raise ValueError(f"as_of {as_of!r}: expected a timezone-aware datetime") from None
    if stamp.tzinfo is None:
        raise ValueError(f"as_of {as_of!r}: give a timezone-aware datetime (e.g. in UTC)")
    return stamp.tz_convert("UTC")


# --------------------------------------------------------------------------------------------
# Join


@dataclass(frozen=True)
class JoinedLabels:
    """Predictions joined with the labels that arrived for them, and what did not fit.

    ``frame`` has columns ``id``, ``prediction_time`` (UTC), ``prediction``, ``score`` (when
    given), ``target`` and ``label_time`` (UTC; NaT without a label), sorted by prediction time.
    """

    frame: pd.DataFrame
    has_score: bool
    n_predictions: int
    n_label_rows: int
    duplicate_label_rows: int
    duplicate_label_ids: tuple[Any, ...]
    duplicate_prediction_rows: int
    orphan_labels: int
    orphan_label_ids: tuple[Any, ...]
    labels_without_target: int
    labels_before_prediction: int
    superseded: pd.DataFrame | None = None
    """Label copies replaced by a later arrival for the same id (``id``, ``target``,
    ``label_time``): an ``as_of`` before the replacement arrived uses them instead."""

    @property
    def n_labelled(self) -> int:
        return int(self.frame["label_time"].notna().sum())

    @property
    def coverage(self) -> float:
        return self.n_labelled / self.n_predictions if self.n_predictions else 0.0

    def problems(self) -> list[str]:
        """One readable line per thing that did not fit."""
        out = []
        if self.duplicate_label_rows:
            out.append(
                f"{self.duplicate_label_rows} duplicate label row(s) (ids such as"
                f" {list(self.duplicate_label_ids)}): kept the latest arrival per id"
            )
        if self.duplicate_prediction_rows:
            out.append(
                f"{self.duplicate_prediction_rows} duplicate prediction row(s): kept the earliest"
                " prediction per id"
            )
        if self.orphan_labels:
            out.append(
                f"{self.orphan_labels} label(s) for ids with no prediction (such as"
                f" {list(self.orphan_label_ids)}): ignored"
            )
        if self.labels_without_target:
            out.append(f"{self.labels_without_target} label row(s) without a target: ignored")
        if self.labels_before_prediction:
            out.append(
                f"{self.labels_before_prediction} label(s) arrived before their prediction was"
                " made (clock skew or id reuse?)"
            )
        return out


def _require(frame: pd.DataFrame, columns: dict[str, str | None], name: str) -> None:
    for role, column in columns.items():
        if column is not None and column not in frame.columns:
            raise LabelDataError(
                f"the {name} have no {role} column {column!r}; columns are"
                f" {[str(c) for c in frame.columns][:20]}"
            )


def _sample_ids(values: Any) -> tuple[Any, ...]:
    return tuple(v.item() if hasattr(v, "item") else v for v in list(values)[:_SAMPLE])


def join_labels(
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    id_column: str = "id",
    timestamp_column: str = "timestamp",
    prediction_column: str = "prediction",
    score_column: str | None = None,
    target_column: str = "target",
    label_timestamp_column: str = "timestamp",
    timezone: str | None = None,
) -> JoinedLabels:
    """Join predictions with delayed labels by id (the latest label per id wins)."""
    import pandas as pd

    _require(
        predictions,
        {
            "id": id_column,
            "timestamp": timestamp_column,
            "prediction": prediction_column,
            "score": score_column,
        },
        "predictions",
    )
    _require(
        labels,
        {"id": id_column, "target": target_column, "timestamp": label_timestamp_column},
        "labels",
    )
    for frame, name in ((predictions, "predictions"), (labels, "labels")):
        missing = frame[id_column].isna()
        if missing.any():
            raise LabelDataError(
                f"column {id_column!r} of the {name}: {int(missing.sum())} missing id(s)"
                f" (first at row {frame.index[missing.to_numpy()][0]!r})"
            )

    pred = pd.DataFrame(
        {
            "id": predictions[id_column].to_numpy(),
            "prediction_time": to_utc(
                predictions[timestamp_column],
                column=timestamp_column,
                frame="predictions",
                timezone=timezone,
            ).to_numpy(),
            "prediction": predictions[prediction_column].to_numpy(),
        }
    )
    if score_column is not None:
        pred["score"] = pd.to_numeric(predictions[score_column], errors="coerce").to_numpy()
        if pred["score"].isna().any():
            raise LabelDataError(
                f"column {score_column!r} of the predictions: scores must be numbers,"
                f" {int(pred['score'].isna().sum())} are missing or not numeric"
            )
    pred = pred.sort_values(["prediction_time"], kind="stable")
    dup_pred = pred["id"].duplicated(keep="first")
    pred = pred[~dup_pred.to_numpy()]

    lab = pd.DataFrame(
        {
            "id": labels[id_column].to_numpy(),
            "target": labels[target_column].to_numpy(),
            "label_time": to_utc(
                labels[label_timestamp_column],
                column=label_timestamp_column,
                frame="labels",
                timezone=timezone,
            ).to_numpy(),
        }
    )
    no_target = lab["target"].isna().to_numpy()
    lab = lab[~no_target]
    lab = lab.sort_values(["label_time"], kind="stable")
    dup_lab = lab["id"].duplicated(keep="last").to_numpy()
    dup_ids = pd.unique(lab["id"][dup_lab])
    superseded = lab[dup_lab].reset_index(drop=True)
    lab = lab[~dup_lab]
    orphan = ~lab["id"].isin(pred["id"]).to_numpy()
    orphan_ids = lab["id"][orphan]
    lab = lab[~orphan]

    joined = pred.merge(lab, on="id", how="left", validate="one_to_one")
    joined = joined.sort_values(["prediction_time"], kind="stable").reset_index(drop=True)
    early = joined["label_time"].notna() & (joined["label_time"] < joined["prediction_time"])
    return JoinedLabels(
        frame=joined,
        has_score=score_column is not None,
        n_predictions=len(joined),
        n_label_rows=len(labels),
        duplicate_label_rows=int(dup_lab.sum()),
        duplicate_label_ids=_sample_ids(dup_ids),
        duplicate_prediction_rows=int(dup_pred.sum()),
        orphan_labels=int(orphan.sum()),
        orphan_label_ids=_sample_ids(orphan_ids),
        labels_without_target=int(no_target.sum()),
        labels_before_prediction=int(early.sum()),
        superseded=superseded,
    )


def _labels_as_of(joined: JoinedLabels, end: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
    """Each prediction's target and whether its label had arrived by ``end``.

    The joined frame holds the latest copy of each label; where that copy arrived after ``end``
    an earlier copy that had arrived by then counts instead (a correction does not erase the
    label it corrects for the windows judged before it arrived).
    """
    frame = joined.frame
    label_times = frame["label_time"]
    known = (label_times.notna() & (label_times <= end)).to_numpy()
    target = frame["target"].to_numpy()
    earlier = joined.superseded
    late = (label_times.notna() & (label_times > end)).to_numpy()
    if earlier is None or earlier.empty or not late.any():
        return target, known
    in_time = earlier[earlier["label_time"] <= end].drop_duplicates("id", keep="last")
    if in_time.empty:
        return target, known
    lookup = dict(zip(in_time["id"], in_time["target"], strict=True))
    target, known = target.copy(), known.copy()  # pandas hands out read-only arrays
    for i in np.flatnonzero(late):
        key = frame["id"].iat[int(i)]
        if key in lookup:
            target[i] = lookup[key]
            known[i] = True
    return target, known


# --------------------------------------------------------------------------------------------
# Metrics per window


def _metric_name(metric: str) -> str:
    name = _ALIASES.get(metric.strip().lower(), metric.strip().lower())
    if name not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of: {', '.join(METRICS)}")
    return name


def _resolve_positive(metric: str, positive: object, targets: np.ndarray) -> object:
    if metric not in _NEEDS_POSITIVE and metric != "bias":
        return positive
    values = set(_unique_values(targets))
    if positive is not None:
        if metric in _NEEDS_POSITIVE and values and positive not in values:
            raise LabelDataError(
                f"{metric}: the positive class {positive!r} never occurs among the labels"
                f" (values such as {sorted(map(str, values))[:_SAMPLE]})"
            )
        return positive
    if values <= {0, 1}:  # also matches False/True and 0.0/1.0
        return 1
    if metric in _NEEDS_POSITIVE:
        raise LabelDataError(
            f"{metric} needs the positive class: give positive= one of"
            f" {sorted(map(str, values))[:_SAMPLE]}"
        )
    return None


def _unique_values(values: np.ndarray) -> list[Any]:
    import pandas as pd

    return list(pd.unique(pd.Series(values)))


def _numeric(values: np.ndarray, what: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise LabelDataError(f"{what} must be numeric for this metric") from None


def metric_value(
    metric: str,
    target: np.ndarray,
    prediction: np.ndarray,
    score: np.ndarray | None = None,
    positive: object = None,
) -> tuple[float | None, str | None]:
    """The metric on labelled rows, or (None, why it is undefined there)."""
    n = len(target)
    if n == 0:
        return None, "no labelled rows"
    if metric == "accuracy":
        return _metrics.accuracy(target, prediction), None
    if metric in ("recall", "precision", "f1"):
        is_pos, said_pos = target == positive, prediction == positive
        if metric == "recall" and not is_pos.any():
            return None, f"no labels of the positive class {positive!r}"
        if metric == "precision" and not said_pos.any():
            return None, f"no predictions of the positive class {positive!r}"
        if metric == "f1" and not (is_pos.any() or said_pos.any()):
            return None, f"positive class {positive!r} absent from labels and predictions"
        fn = getattr(_metrics, metric)
        return float(fn(target, prediction, positive=positive)), None
    if metric == "auc":
        if score is None:
            raise ValueError("metric 'auc' needs scores: pass score_column= to join_labels")
        is_pos = target == positive
        if is_pos.all() or not is_pos.any():
            return None, "AUC needs labels of both classes"
        return _metrics.roc_auc(is_pos.astype(int), score), None
    if metric in ("rmse", "mae"):
        y = _numeric(target, "targets")
        p = _numeric(prediction, "predictions")
        return (_metrics.rmse(y, p) if metric == "rmse" else _metrics.mae(y, p)), None
    # bias: mean prediction minus mean label (calibration-in-the-large)
    if score is not None and positive is not None:
        return float(np.mean(score) - np.mean(target == positive)), None
    if positive is not None and not _is_numeric(target):
        return float(np.mean(prediction == positive) - np.mean(target == positive)), None
    return float(np.mean(_numeric(prediction, "predictions") - _numeric(target, "targets"))), None


# What each metric divides by. A window is judged only when this denominator holds enough cases:
# recall over 2 positives moves by 0.5 with one case, whatever the number of labels.
_SUPPORT_OF = {
    "accuracy": "labelled rows",
    "recall": "positives",
    "precision": "predicted positives",
    "f1": "rows labelled or predicted positive",
    "bias": "labelled rows",
    "rmse": "labelled rows",
    "mae": "labelled rows",
}
_SINGULAR = {
    "labelled rows": "labelled row",
    "positives": "positive",
    "predicted positives": "predicted positive",
    "negatives": "negative",
    "rows labelled or predicted positive": "row labelled or predicted positive",
}


def _cases(n: int, what: str) -> str:
    """``"2 positives"``, ``"1 positive"``: a count with what it counts."""
    return f"{n} {_SINGULAR.get(what, what) if n == 1 else what}"


def wilson_interval(successes: int, n: int, z: float = _Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (95% by default): sound at small n and near
    0 or 1, where the normal approximation is not; ``(nan, nan)`` when ``n`` is 0."""
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"wilson_interval: need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return builtins.max(0.0, centre - half), builtins.min(1.0, centre + half)


def _support(
    metric: str, target: np.ndarray, prediction: np.ndarray, positive: object
) -> tuple[int, str, int | None]:
    """(cases in the metric's denominator, what they are, successes among them or None)."""
    n = len(target)
    if metric == "accuracy":
        return n, _SUPPORT_OF[metric], int(np.sum(target == prediction))
    if metric in ("recall", "precision", "f1"):
        is_pos = np.asarray(target == positive, dtype=bool)
        said_pos = np.asarray(prediction == positive, dtype=bool)
        tp = int(np.sum(is_pos & said_pos))
        counted = {"recall": is_pos, "precision": said_pos, "f1": is_pos | said_pos}[metric]
        # f1 = 2J / (1 + J) with J = TP / (TP + FP + FN) the share of TP among these rows
        return int(counted.sum()), _SUPPORT_OF[metric], tp
    if metric == "auc":
        # every positive is ranked against every negative: the smaller class limits the estimate
        n_pos = int(np.sum(target == positive))
        if n_pos <= n - n_pos:
            return n_pos, "positives", None
        return n - n_pos, "negatives", None
    return n, _SUPPORT_OF[metric], None


def metric_support(
    metric: str, target: np.ndarray, prediction: np.ndarray, positive: object = None
) -> tuple[int, str]:
    """How many cases the metric's own denominator holds in these labelled rows, and what they are.

    Positives for recall, predicted positives for precision, rows labelled or predicted
    positive for f1 (its denominator, TP + FP + FN), the smaller of positives and negatives for
    AUC, labelled rows for accuracy, bias, rmse and mae.
    """
    name = _metric_name(metric)
    if name in _NEEDS_POSITIVE and positive is None:
        raise ValueError(f"metric_support: {name} needs positive= (the positive class)")
    support, what, _ = _support(name, np.asarray(target), np.asarray(prediction), positive)
    return support, what


def _interval(metric: str, successes: int | None, n: int) -> tuple[float, float]:
    """Wilson 95% interval of a proportion metric; f1 through its monotone map from J."""
    if successes is None or n == 0:
        return math.nan, math.nan
    low, high = wilson_interval(successes, n)
    if metric == "f1":
        return 2 * low / (1 + low), 2 * high / (1 + high)
    return low, high


def _is_numeric(values: np.ndarray) -> bool:
    return np.issubdtype(np.asarray(values).dtype, np.number)


def _to_numpy_utc(series: pd.Series) -> np.ndarray:
    return series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[us]")


def _np_time(stamp: pd.Timestamp) -> np.datetime64:
    return np.datetime64(stamp.tz_convert("UTC").tz_localize(None).to_datetime64(), "us")


def _default_as_of(joined: JoinedLabels) -> pd.Timestamp:
    """Midnight UTC after the latest prediction or label time in the data."""
    frame = joined.frame
    latest = frame["prediction_time"].max()
    if frame["label_time"].notna().any():
        latest = max(latest, frame["label_time"].max())
    return latest.floor("D") + dt.timedelta(days=1)


def window_metrics(
    joined: JoinedLabels,
    metric: str,
    *,
    window: str | dt.timedelta = "30d",
    step: str | dt.timedelta | None = None,
    as_of: object = None,
    positive: object = None,
    lookback: str | dt.timedelta | None = None,
    max_windows: int = 1000,
) -> pd.DataFrame:
    """The metric and label coverage per window of prediction time, oldest window first.

    Windows are ``[start, end)``, ending at ``as_of`` and going back by ``step`` (``None``:
    tumbling, step = window; a shorter step: sliding). Only labels that arrived by ``as_of``
    count. ``as_of`` defaults to midnight UTC after the latest timestamp in the data; windows
    starting before ``as_of - lookback`` are left out; at most ``max_windows`` (the newest).
    Columns: start, end, n_predictions, n_labelled, coverage, value, reason (why undefined),
    support and support_of (the cases in the metric's denominator, see :func:`metric_support`),
    interval_low and interval_high (Wilson 95% for accuracy, recall, precision and f1; NaN for
    the others, which are not proportions).
    """
    import pandas as pd

    name = _metric_name(metric)
    length = parse_window(window)
    stride = length if step is None else parse_window(step, "step")
    if stride > length:
        raise ValueError(
            f"step {step!r} is longer than the window {window!r}: rows would be skipped"
        )
    if isinstance(max_windows, bool) or not isinstance(max_windows, int) or max_windows < 1:
        raise ValueError(f"max_windows must be a positive integer, got {max_windows!r}")
    frame = joined.frame
    columns = [
        "start",
        "end",
        "n_predictions",
        "n_labelled",
        "coverage",
        "value",
        "reason",
        "support",
        "support_of",
        "interval_low",
        "interval_high",
    ]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    end = _default_as_of(joined) if as_of is None else _as_of_timestamp(as_of)

    times = _to_numpy_utc(frame["prediction_time"])
    target, known = _labels_as_of(joined, end)
    prediction = frame["prediction"].to_numpy()
    score = frame["score"].to_numpy(dtype=float) if joined.has_score else None
    pos = _resolve_positive(name, positive, target[known]) if known.any() else positive
    if name == "auc" and score is None:
        raise ValueError("metric 'auc' needs scores: pass score_column= to join_labels")

    first = times.min()
    earliest = None if lookback is None else end - parse_window(lookback, "lookback")
    bounds: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    stop = end
    while _np_time(stop) > first and len(bounds) < max_windows:
        start = stop - length
        if earliest is not None and start < earliest:
            break
        bounds.append((start, stop))
        stop = stop - stride
    bounds.reverse()

    starts = np.array([_np_time(s) for s, _ in bounds], dtype="datetime64[us]")
    ends = np.array([_np_time(e) for _, e in bounds], dtype="datetime64[us]")
    lo = np.searchsorted(times, starts, side="left")
    hi = np.searchsorted(times, ends, side="left")
    rows = []
    for (start, stop), a, b in zip(bounds, lo, hi, strict=True):
        mask = known[a:b]
        n_pred, n_lab = int(b - a), int(mask.sum())
        y, p = target[a:b][mask], prediction[a:b][mask]
        value, reason = metric_value(name, y, p, None if score is None else score[a:b][mask], pos)
        support, support_of, successes = _support(name, y, p, pos)
        rows.append(
            (
                start,
                stop,
                n_pred,
                n_lab,
                n_lab / n_pred if n_pred else 0.0,
                math.nan if value is None else value,
                reason,
                support,
                support_of,
                *_interval(name, successes, support),
            )
        )
    out = pd.DataFrame(rows, columns=columns)
    out["reason"] = pd.Series([r[6] for r in rows], dtype=object)  # keep None, not NaN
    return out


# --------------------------------------------------------------------------------------------
# SLOs


def _fmt_time(stamp: Any) -> str:
    text = stamp.isoformat()
    return text.replace("+00:00", "Z")


def _slo_text(metric: str, low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{low:g} <= {metric} <= {high:g}"
    return f"{metric} >= {low:g}" if low is not None else f"{metric} <= {high:g}"


def _distance(value: float | None, low: float | None, high: float | None) -> float:
    """How far a value lies outside [low, high] (0 inside)."""
    if value is None:
        return 0.0
    below = low - value if low is not None else 0.0
    above = value - high if high is not None else 0.0
    return builtins.max(below, above, 0.0)


@library_check
def evaluate_slo(
    joined: JoinedLabels,
    metric: str,
    min: float | None = None,
    max: float | None = None,
    window: str | dt.timedelta = "30d",
    min_labels: int = DEFAULT_MIN_LABELS,
    as_of: object = None,
    *,
    min_support: int = DEFAULT_MIN_SUPPORT,
    step: str | dt.timedelta | None = None,
    positive: object = None,
    lookback: str | dt.timedelta | None = None,
    max_windows: int = 1000,
    name: str | None = None,
) -> CheckResult:
    """Judge every window against ``min <= metric <= max``; too few labels -> unknown.

    A window is judged when it has at least ``min_labels`` labelled rows and at least
    ``min_support`` cases in the metric's own denominator (:func:`metric_support`: positives for
    recall, predicted positives for precision...); otherwise it is unknown, never passed nor
    violated. Fails when any judged window is outside the SLO (the table names its bounds,
    value, labelled rows, support and the SLO); skips when no window could be judged. The
    ``interval`` column (Wilson 95%, proportion metrics only) is information: the verdict
    compares the value itself with the SLO. See :func:`window_metrics` for ``window``, ``step``,
    ``as_of`` and ``lookback``.
    """
    metric_key = _metric_name(metric)
    if min is None and max is None:
        raise ValueError(f"SLO on {metric!r}: give min=, max= or both")
    low = None if min is None else float(min)
    high = None if max is None else float(max)
    if low is not None and high is not None and low > high:
        raise ValueError(f"SLO on {metric!r}: min {low} is above max {high}")
    for key, count in (("min_labels", min_labels), ("min_support", min_support)):
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"{key} must be a positive integer, got {count!r}")
    slo = _slo_text(metric_key, low, high)
    kind = "tumbling" if step is None else f"sliding (step {step})"
    check = f"SLO {name or metric_key}"
    notes = tuple(joined.problems())
    try:
        table = window_metrics(
            joined,
            metric_key,
            window=window,
            step=step,
            as_of=as_of,
            positive=positive,
            lookback=lookback,
            max_windows=max_windows,
        )
    except LabelDataError as exc:
        return CheckResult(check, "fail", f"{slo}: {exc}", rubric_id=RUBRIC_ID, notes=notes)

    Row = tuple[str, int, int, float, "float | None", str, str, str, int, "str | None"]
    violated: list[Row] = []
    unknown: list[Row] = []
    ok: list[Row] = []
    few_labels = low_support = 0
    counted: dict[str, str] = {}  # window -> what its support counts (AUC: the smaller class)
    plot: dict[str, list[Any]] = {"x": [], "values": [], "status": [], "low": [], "high": []}
    for start, end, n_pred, n_lab, coverage, value, reason, support, of, lo, hi in zip(
        *(table[c].tolist() for c in table.columns), strict=True
    ):
        bounds = f"{_fmt_time(start)} .. {_fmt_time(end)}"
        defined = reason is None and not math.isnan(value)
        if n_lab < min_labels:
            status, why = "unknown", f"{n_lab} < {min_labels} labels"
            few_labels += 1
        elif support < min_support:
            status, why = "unknown", f"{_cases(support, of)} < min_support {min_support}"
            low_support += 1
        elif not defined:
            status, why = "unknown", str(reason)
        elif (low is not None and value < low) or (high is not None and value > high):
            status, why = "violated", f"outside {slo}"
        else:
            status, why = "ok", ""
        record: Row = (
            bounds,
            int(n_pred),
            int(n_lab),
            float(coverage),
            float(value) if defined else None,
            slo,
            status,
            why,
            int(support),
            None if math.isnan(lo) else f"[{lo:.3f}, {hi:.3f}]",
        )
        {"violated": violated, "unknown": unknown, "ok": ok}[status].append(record)
        counted[bounds] = of
        plot["x"].append(_fmt_time(end))
        plot["values"].append(float(value) if not math.isnan(value) else None)
        plot["status"].append(status)
        plot["low"].append(None if math.isnan(lo) else float(lo))
        plot["high"].append(None if math.isnan(hi) else float(hi))

    if len(table) >= max_windows:
        notes += (f"only the newest {max_windows} windows were evaluated (max_windows)",)
    support_of = _SUPPORT_OF.get(metric_key, "the smaller of positives and negatives")
    notes += (
        f"support: {support_of} in the window, the cases {metric_key} is computed over"
        + ("; interval: Wilson 95%, information only" if metric_key in _PROPORTIONS else ""),
    )
    findings = Table(
        (
            "window",
            "predictions",
            "labelled",
            "coverage",
            metric_key,
            "SLO",
            "status",
            "why",
            "support",
            "interval",
        ),
        tuple(violated + unknown + ok),
    )
    judged = len(violated) + len(ok)
    where = f"over {window} {kind} windows"
    needed = (
        f"{min_support} of each class" if metric_key == "auc" else f"{min_support} {support_of}"
    )
    too_few = f"fewer than {min_labels} labels or {needed}"
    verdict: Verdict
    if violated:
        # The window furthest outside the SLO (values of judged windows are never None).
        worst = builtins.max(violated, key=lambda r: _distance(r[4], low, high))
        verdict = "fail"
        summary = (
            f"{slo} {where}: {len(violated)} of {judged} judged window(s) violated; worst"
            f" {metric_key} = {worst[4]:.4g} in {worst[0]} with {worst[2]} labelled rows"
        )
        if counted[worst[0]] != "labelled rows":
            summary += f" and {_cases(worst[8], counted[worst[0]])}"
    elif judged == 0:
        verdict = "skip"
        summary = (
            f"{slo} {where}: no window could be judged ({len(unknown)} unknown: {too_few},"
            " or the metric undefined)"
        )
    else:
        verdict = "pass"
        summary = f"{slo} {where}: all {judged} judged window(s) meet the SLO"
    if unknown and verdict != "skip":
        summary += f"; {len(unknown)} window(s) unknown ({too_few}, or the metric undefined)"

    metrics: dict[str, float] = {
        "windows_judged": float(judged),
        "windows_violated": float(len(violated)),
        "windows_unknown": float(len(unknown)),
        "windows_unknown_few_labels": float(few_labels),
        "windows_unknown_low_support": float(low_support),
        "label_coverage": float(joined.coverage),
    }
    if len(table):
        latest = table.iloc[-1]
        metrics["label_coverage_latest_window"] = float(latest["coverage"])
        judged_rows = ok + violated
        if judged_rows:
            newest = builtins.max(judged_rows, key=lambda r: r[0])
            metrics[f"{metric_key}_latest_judged_window"] = float(newest[4] or 0.0)
            metrics["support_latest_judged_window"] = float(newest[8])
    objective = [figure_line("min", low)] if low is not None else []
    objective += [figure_line("max", high)] if high is not None else []
    figure = Figure(
        "series",
        f"{check}: {metric_key} per {window} window (by window end)",
        {
            "x": plot["x"],
            "x_label": "window end (UTC)",
            "y_label": metric_key,
            "series": [figure_series(metric_key, plot["values"])],
            "status": plot["status"],
            "low": plot["low"],
            "high": plot["high"],
            "lines": objective,
        },
        bool(violated),
    )
    return CheckResult(
        check,
        verdict,
        summary,
        table=findings,
        rubric_id=RUBRIC_ID,
        metrics=metrics,
        notes=notes,
        figures=(figure,) if plot["x"] else (),
    )


@dataclass(frozen=True)
class SLO:
    """One ``[tool.mltestscore.slo.NAME]`` entry: a bound on a metric over windows."""

    name: str
    metric: str
    min: float | None = None
    max: float | None = None
    window: str = "30d"
    min_labels: int = DEFAULT_MIN_LABELS
    step: str | None = None
    positive: Any = None
    lookback: str | None = None
    min_support: int = DEFAULT_MIN_SUPPORT

    def __post_init__(self) -> None:
        _metric_name(self.metric)
        parse_window(self.window)
        if self.step is not None:
            parse_window(self.step, "step")
        if self.lookback is not None:
            parse_window(self.lookback, "lookback")
        if self.min is None and self.max is None:
            raise ValueError(f"SLO {self.name!r}: give min, max or both")

    def evaluate(self, joined: JoinedLabels, as_of: object = None) -> CheckResult:
        return evaluate_slo(
            joined,
            self.metric,
            min=self.min,
            max=self.max,
            window=self.window,
            min_labels=self.min_labels,
            as_of=as_of,
            min_support=self.min_support,
            step=self.step,
            positive=self.positive,
            lookback=self.lookback,
            name=self.name,
        )


def check_slo(
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    slo: SLO,
    *,
    as_of: object = None,
    timezone: str | None = None,
    id_column: str = "id",
    timestamp_column: str = "timestamp",
    prediction_column: str = "prediction",
    score_column: str | None = None,
    target_column: str = "target",
    label_timestamp_column: str = "timestamp",
) -> CheckResult:
    """Join and judge in one call; unusable data is a failed check naming what was wrong."""
    try:
        joined = join_labels(
            predictions,
            labels,
            id_column=id_column,
            timestamp_column=timestamp_column,
            prediction_column=prediction_column,
            score_column=score_column,
            target_column=target_column,
            label_timestamp_column=label_timestamp_column,
            timezone=timezone,
        )
    except LabelDataError as exc:
        return CheckResult(
            f"SLO {slo.name}",
            "fail",
            f"cannot join predictions and labels: {exc}",
            rubric_id=RUBRIC_ID,
        )
    return slo.evaluate(joined, as_of=as_of)


# -- built-in checks: one per [tool.mltestscore.slo.NAME] -----------------------------------------
SLO_KEYS = [
    "metric",
    "min",
    "max",
    "window",
    "min_labels",
    "min_support",
    "step",
    "positive",
    "lookback",
    "predictions",
    "labels",
    "timezone",
]


@dataclass(frozen=True)
class SloSpec:
    """A service-level objective on a metric over time windows of joined predictions and labels."""

    slo: SLO
    predictions: str
    labels: str
    timezone: str | None


def parse_slo(reader: TableReader, name: str) -> SloSpec:
    """One ``[tool.mltestscore.slo.NAME]`` table; a :class:`ConfigError` names the bad key."""
    reader.check_keys(SLO_KEYS)
    metric = reader.string("metric")
    if metric is None:
        raise ConfigError(f'{reader.where("metric")}: missing; e.g. metric = "recall"')
    try:
        slo = SLO(
            name=name,
            metric=metric,
            min=reader.number("min", -math.inf),
            max=reader.number("max", -math.inf),
            window=reader.string("window") or "30d",
            min_labels=reader.integer("min_labels", 1) or DEFAULT_MIN_LABELS,
            min_support=reader.integer("min_support", 1) or DEFAULT_MIN_SUPPORT,
            step=reader.string("step"),
            positive=reader.table.get("positive"),
            lookback=reader.string("lookback"),
        )
    except ValueError as exc:
        raise ConfigError(f"{reader.where('')[:-1].rstrip()}: {exc}") from None
    return SloSpec(
        slo,
        reader.string("predictions") or "predictions",
        reader.string("labels") or "labels",
        reader.string("timezone"),
    )


def _run_slo(ctx: CheckContext, spec: SloSpec) -> CheckResult:
    preds = ctx.assets.dataset_spec(spec.predictions)
    labs = ctx.assets.dataset_spec(spec.labels)
    for ds, role in (
        (preds, "id"),
        (preds, "timestamp"),
        (preds, "prediction"),
        (labs, "id"),
        (labs, "target"),
        (labs, "timestamp"),
    ):
        if getattr(ds, role) is None:
            raise AssetError(
                f"[{ds.key}]: the SLO {spec.slo.name!r} needs its {role} column ({role} = ...)"
            )
    if preds.id != labs.id:
        return _id_mismatch(preds, labs)
    assert preds.id and preds.timestamp and preds.prediction and labs.target and labs.timestamp
    return check_slo(
        ctx.assets.frame(spec.predictions),
        ctx.assets.frame(spec.labels),
        spec.slo,
        timezone=spec.timezone,
        id_column=preds.id,
        timestamp_column=preds.timestamp,
        prediction_column=preds.prediction,
        target_column=labs.target,
        label_timestamp_column=labs.timestamp,
    )


def _id_mismatch(preds: DatasetSpec, labs: DatasetSpec) -> CheckResult:
    return CheckResult(
        "monitor-7 SLO",
        "fail",
        f"predictions are keyed by {preds.id!r} but labels by {labs.id!r}: name the same id column "
        f"in [{preds.key}] and [{labs.key}]",
    )


def slo_checks(settings: Settings) -> tuple[BuiltinCheck, ...]:
    """One built-in check per ``[tool.mltestscore.slo.NAME]``."""
    if settings.slo is None:
        return ()
    checks = []
    for name, sub in settings.slo.tables().items():
        spec = parse_slo(sub, name)
        bound = f"{spec.slo.min:g} <= " if spec.slo.min is not None else ""
        upper = f" <= {spec.slo.max:g}" if spec.slo.max is not None else ""
        checks.append(
            BuiltinCheck(
                "monitor-7",
                f"slo-{spec.slo.name}",
                f"{bound}{spec.slo.metric}{upper} over every {spec.slo.window} window",
                (dataset(spec.predictions), dataset(spec.labels)),
                functools.partial(_run_slo, spec=spec),
            )
        )
    return tuple(checks)


SLOS = BuiltinCheck(
    "monitor-7",
    "slo",
    "each configured SLO holds over every window of predictions joined with their labels",
    (),
    expand=slo_checks,
    declines="every window has fewer than `min_labels` labels or `min_support` cases",
)

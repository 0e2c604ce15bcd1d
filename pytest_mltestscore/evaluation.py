"""Plumbing shared by the model-development checks: metric choice, scoring, number checks.

Kept private to the package: the public entry points live in the sibling modules, one per
rubric item. Frame and column arguments are checked with :mod:`pytest_mltestscore.arguments`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .arguments import did_you_mean
from .metrics import DEFAULT_METRIC, Metric, _default_positive, get_metric
from .modeling import infer_task, own_columns, predict_for

if TYPE_CHECKING:
    import pandas as pd

#: A trainer: ``fit(train_df, seed) -> fitted model`` (the ``[tool.mltestscore.training]`` form:
#: the data frame holds the feature columns and the target column).
FitFn = Callable[["pd.DataFrame", int], Any]

_PY_WORDS = frozenset({"and", "or", "not", "in", "is", "True", "False", "None", "index"})


def predicate_error(expr: str, frame: pd.DataFrame, exc: Exception) -> ValueError:
    """A ValueError for a query string that pandas could not evaluate, with name hints."""
    names = [w for w in re.findall(r"[A-Za-z_]\w*", expr) if w not in _PY_WORDS]
    unknown = [n for n in names if n not in frame.columns]
    hints = [f"{n!r}{close}" for n in unknown if (close := did_you_mean(n, frame.columns))]
    hint = f"; unknown names: {', '.join(hints)}" if hints else ""
    return ValueError(f"predicate {expr!r} could not be evaluated: {exc}{hint}")


def n_rows(X: object) -> int:
    """Number of rows of a DataFrame or array."""
    return int(X.shape[0]) if hasattr(X, "shape") else len(X)  # type: ignore[arg-type]


def column_names(X: object) -> list[str]:
    """Column names of a DataFrame, or ``x0, x1, ...`` for a 2-D array."""
    cols = getattr(X, "columns", None)
    if cols is not None:
        return [str(c) for c in cols]
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(f"X must be 2-D (rows x features), got {arr.ndim} dimension(s)")
    return [f"x{j}" for j in range(arr.shape[1])]


def take_rows(X: Any, idx: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> Any:
    """Rows of a DataFrame, Series or array by position (or boolean mask), keeping the type."""
    if hasattr(X, "iloc"):
        return X.iloc[idx]
    return np.asarray(X)[idx]


def with_column(X: Any, j: int, values: npt.ArrayLike) -> Any:
    """A copy of ``X`` whose ``j``-th column holds ``values`` (same type as ``X``)."""
    if hasattr(X, "iloc"):
        out = X.copy()
        col = out.columns[j]
        out[col] = np.asarray(values, dtype=np.asarray(X[col]).dtype)
        return out
    out_arr = np.array(X, copy=True)
    out_arr[:, j] = values
    return out_arr


def model_input(model: object, X: Any) -> Any:
    """``X`` restricted to the columns the model was fitted on (see ``modeling.own_columns``)."""
    return own_columns(model, X)


def labels_of(y: object, rows: int, what: str = "y") -> npt.NDArray[Any]:
    """``y`` as a 1-D array of length ``rows`` (ValueError on a length mismatch)."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        arr = arr.reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {arr.shape}")
    if len(arr) != rows:
        raise ValueError(f"{what} has {len(arr)} rows but X has {rows}")
    return arr


def labelled(y: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Mask of rows whose label is present (not None/NaN/NaT)."""
    import pandas as pd

    return np.asarray(~pd.isna(y), dtype=bool)


def resolve_metric(metric: str | Metric | None, model: object, y: object) -> Metric:
    """The metric to use: the one named, else the default for the model's task."""
    if metric is None:
        return get_metric(DEFAULT_METRIC[infer_task(model, y)])
    if isinstance(metric, Metric):
        return metric
    return get_metric(metric)


def outputs(model: Any, X: Any, metric: Metric) -> npt.NDArray[Any]:
    """The model output ``metric`` needs, computed once so it can be scored on many subsets."""
    return predict_for(model, X, metric.needs)


#: Rows per stacked prediction call: small data gets one call, large data bounded memory.
STACK_ROWS = 50_000


def stacked_outputs(
    model: Any, variants: Iterable[Any], metric: Metric, max_rows: int = STACK_ROWS
) -> Iterator[npt.NDArray[Any]]:
    """The outputs ``metric`` needs on each variant of the same rows (a permuted column, a
    resample), in order, from as few prediction calls as fit in ``max_rows`` rows: on small
    data one call instead of one per variant, whose fixed cost (a pipeline's transforms, an
    endpoint's round trip) would otherwise dominate. Models predict each row on its own."""
    batch: list[Any] = []
    rows = 0

    def flush() -> Iterator[npt.NDArray[Any]]:
        sizes = [n_rows(v) for v in batch]
        if len(batch) == 1:
            yield outputs(model, batch[0], metric)
            return
        if hasattr(batch[0], "iloc"):
            import pandas as pd

            stacked = pd.concat(batch, ignore_index=True)
        else:
            stacked = np.concatenate([np.asarray(v) for v in batch])
        out = outputs(model, stacked, metric)
        yield from np.split(out, np.cumsum(sizes)[:-1])

    for variant in variants:
        size = n_rows(variant)
        if batch and rows + size > max_rows:
            yield from flush()
            batch, rows = [], 0
        batch.append(variant)
        rows += size
    if batch:
        yield from flush()


_POSITIVE_METRICS = frozenset({"recall", "precision", "f1"})


def positive_for(metric: Metric, y: npt.ArrayLike) -> object:
    """The positive class of a recall/precision/F1 metric, fixed from all labels.

    Scoring a subset (a slice, a bootstrap resample) must not re-pick the positive class from
    that subset's labels; ``None`` for metrics that have no positive class.
    """
    if metric.name not in _POSITIVE_METRICS:
        return None
    return _default_positive(np.asarray(y))


def score(
    metric: Metric,
    y: npt.ArrayLike,
    out: npt.NDArray[Any],
    classes: npt.NDArray[Any] | None,
    positive: object = None,
) -> float:
    """Score precomputed model outputs against labels."""
    if metric.needs == "proba":
        return float(metric.fn(y, out, classes))
    if positive is not None and metric.name in _POSITIVE_METRICS:
        return float(metric.fn(y, out, positive))
    return float(metric.fn(y, out))


def try_score(
    metric: Metric,
    y: npt.ArrayLike,
    out: npt.NDArray[Any],
    classes: npt.NDArray[Any] | None,
    positive: object = None,
) -> float | None:
    """Like :func:`score`, but ``None`` where the metric is undefined on these rows.

    Undefined: AUC over a single class, recall or F1 without any positive label.
    """
    needs_positive = positive is not None and metric.name in ("recall", "f1")
    if needs_positive and not np.any(np.asarray(y) == positive):
        return None
    try:
        value = score(metric, y, out, classes, positive)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


#: Fewest bootstrap resamples accepted: below this the tails of a 95% interval rest on a
#: couple of resamples and move with the seed.
MIN_BOOTSTRAP = 100


def check_bootstrap(n_bootstrap: int, confidence: float) -> None:
    """Raise a ValueError unless ``n_bootstrap >= MIN_BOOTSTRAP`` and ``0 <= confidence < 1``."""
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, (int, np.integer)):
        raise ValueError(f"n_bootstrap must be a whole number, got {n_bootstrap!r}")
    if n_bootstrap < MIN_BOOTSTRAP:
        raise ValueError(
            f"n_bootstrap must be at least {MIN_BOOTSTRAP} for a stable interval, got {n_bootstrap}"
        )
    if not (np.isfinite(confidence) and 0.0 <= confidence < 1.0):
        raise ValueError(f"confidence must be at least 0 and below 1, got {confidence!r}")


def bootstrap_indices(n: int, n_bootstrap: int, seed: int) -> Iterator[npt.NDArray[np.int64]]:
    """``n_bootstrap`` seeded resamples (row indices, with replacement) of ``n`` rows."""
    rng = np.random.default_rng(seed)
    for _ in range(n_bootstrap):
        yield rng.integers(0, n, n)


#: Index cells (resamples x rows) drawn at once by the vectorized bootstrap (8 MB).
_BOOT_CELLS = 1_000_000


def row_terms(
    metric: Metric, y: npt.NDArray[Any], out: npt.NDArray[Any], classes: npt.NDArray[Any] | None
) -> npt.NDArray[np.float64] | None:
    """Per-row terms whose mean is the metric (its square for rmse), or None for a metric that
    is not a mean over rows (AUC, F1, r2...) or cannot be taken on all these rows at once."""
    try:
        if metric.name == "accuracy":
            return np.asarray(np.asarray(y) == np.asarray(out), dtype=float)
        if metric.name in ("mae", "rmse"):
            err = np.asarray(y, dtype=float) - np.asarray(out, dtype=float)
            return np.abs(err) if metric.name == "mae" else err**2
        if metric.name == "log_loss":
            return _log_loss_terms(y, out, classes)
    except ValueError:
        return None
    return None


def _log_loss_terms(
    y: npt.NDArray[Any], out: npt.NDArray[Any], classes: npt.NDArray[Any] | None
) -> npt.NDArray[np.float64]:
    """Each row's negative log-likelihood, as ``metrics.log_loss`` takes their mean."""
    pr = np.asarray(out, dtype=float)
    if pr.ndim == 1:
        pr = np.column_stack([1 - pr, pr])
    labels = np.unique(y) if classes is None else np.asarray(classes)
    if pr.ndim != 2 or pr.shape[1] != len(labels) or len(pr) != len(y):
        raise ValueError("probabilities do not match the classes")
    index = {c: i for i, c in enumerate(labels.tolist())}
    try:
        cols = np.fromiter((index[v] for v in np.asarray(y).tolist()), dtype=np.intp, count=len(y))
    except KeyError:
        raise ValueError("a label is not among the model's classes") from None
    return -np.log(np.clip(pr[np.arange(len(y)), cols], 1e-15, 1.0))


def bootstrap_means(
    terms: list[npt.NDArray[np.float64]], n_bootstrap: int, seed: int
) -> list[npt.NDArray[np.float64]]:
    """The mean of each array of per-row ``terms`` on the resamples :func:`bootstrap_indices`
    draws (the same rows, in the same order), computed a block of resamples at a time."""
    n = len(terms[0])
    rng = np.random.default_rng(seed)
    block = max(1, _BOOT_CELLS // max(n, 1))
    means: list[list[npt.NDArray[np.float64]]] = [[] for _ in terms]
    done = 0
    while done < n_bootstrap:
        k = min(block, n_bootstrap - done)
        idx = rng.integers(0, n, (k, n))
        for out, t in zip(means, terms, strict=True):
            out.append(t[idx].mean(axis=1))
        done += k
    return [np.concatenate(m) for m in means]


def finish_mean(metric: Metric, means: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The metric from the mean of its :func:`row_terms` (the root for rmse)."""
    return np.sqrt(means) if metric.name == "rmse" else means


def bootstrap_scores(
    metric: Metric,
    y: npt.NDArray[Any],
    out: npt.NDArray[Any],
    classes: npt.NDArray[Any] | None,
    positive: object,
    n_bootstrap: int,
    seed: int,
) -> npt.NDArray[np.float64]:
    """The metric on ``n_bootstrap`` seeded resamples (with replacement) of the scored rows.

    ``out`` is the model output already computed for these rows, so nothing is re-predicted.
    A resample on which the metric is undefined (one class for AUC) gives NaN.
    """
    terms = row_terms(metric, y, out, classes) if len(y) else None
    if terms is not None:  # a mean over rows: every resample at once
        return finish_mean(metric, bootstrap_means([terms], n_bootstrap, seed)[0])
    values = np.full(n_bootstrap, np.nan)
    for b, idx in enumerate(bootstrap_indices(len(y), n_bootstrap, seed)):
        value = try_score(metric, y[idx], out[idx], classes, positive)
        if value is not None:
            values[b] = value
    return values


def percentile_interval(values: npt.NDArray[np.float64], confidence: float) -> tuple[float, float]:
    """The ``confidence`` percentile interval of the finite ``values`` (NaNs left out)."""
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        raise ValueError("no finite values to take an interval from")
    alpha = 1.0 - confidence
    lo, hi = np.quantile(finite, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def gain(metric: Metric, value: float, reference: float) -> float:
    """How much better ``value`` is than ``reference`` (negative when worse), in metric units."""
    return value - reference if metric.greater_is_better else reference - value


def allowed_gap(reference: float, tolerance: float | None, relative_tolerance: float) -> float:
    """An absolute ``tolerance`` when given, else ``relative_tolerance`` times ``|reference|``."""
    if tolerance is not None:
        return float(tolerance)
    return float(relative_tolerance) * abs(float(reference))


def describe_gap(gap: float, tolerance: float | None, relative_tolerance: float) -> str:
    """Human form of the allowed gap and the rule that set it, for summaries."""
    if tolerance is not None:
        return f"{gap:.4g} (absolute tolerance)"
    return f"{gap:.4g} ({relative_tolerance * 100:g}% of the reference)"


def bound(metric: Metric, value: float) -> str:
    """``>= value`` or ``<= value`` depending on the metric's direction."""
    return f"{'>=' if metric.greater_is_better else '<='} {value:.4g}"


def check_positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    """Raise a ValueError unless ``value`` is a positive (or non-negative) finite number."""
    ok = np.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a {kind} number, got {value!r}")


def check_fraction(name: str, value: float) -> None:
    """Raise a ValueError unless ``0 <= value <= 1``."""
    if not (np.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")


def fmt(value: object) -> str:
    """A number in 4 significant digits, anything else as text."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)

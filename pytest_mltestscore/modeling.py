"""Adapters over "any model with predict/predict_proba" (scikit-learn, XGBoost, plain objects).

Checks never call model methods directly: they go through :func:`predict_for` so that the
choice between hard labels, probabilities and numeric values is made in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .cost import PREDICT, spending
from .metrics import Metric, Task, get_metric

if TYPE_CHECKING:
    import pandas as pd


def has_proba(model: object) -> bool:
    """Whether the model exposes a callable ``predict_proba``."""
    return callable(getattr(model, "predict_proba", None))


def infer_task(model: object, y: object = None) -> Task:
    """Classification when the model has ``predict_proba`` or labels look categorical."""
    if has_proba(model) or hasattr(model, "classes_"):
        return "classification"
    if y is not None:
        arr = np.asarray(y)
        if arr.dtype.kind in "OUSb":
            return "classification"
    return "regression"


def classes_of(model: object) -> npt.NDArray[Any] | None:
    """The class labels in the order of ``predict_proba`` columns, when the model says."""
    classes = getattr(model, "classes_", None)
    return None if classes is None else np.asarray(classes)


def feature_names(model: object, fallback: Sequence[str] | None = None) -> list[str] | None:
    """Feature names the model was fitted on (``feature_names_in_``), else the fallback."""
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    return list(fallback) if fallback is not None else None


def own_columns(model: object, X: Any) -> Any:
    """``X`` restricted to the columns the model was fitted on, in its order, when it says which.

    Lets a caller pass a frame that also holds ids, protected attributes or another model's
    features: a scikit-learn model with ``feature_names_in_`` gets exactly its own features.
    """
    names = getattr(model, "feature_names_in_", None)
    cols = getattr(X, "columns", None)
    if names is None or cols is None:
        return X
    wanted = [str(n) for n in names]
    have = [str(c) for c in cols]
    if wanted == have:
        return X
    missing = [n for n in wanted if n not in have]
    if missing:
        from .arguments import missing_columns_error

        raise missing_columns_error(
            missing, have, arg="X", what="X, which must hold every feature the model was fitted on"
        )
    return X[wanted]


def predict_for(model: Any, X: pd.DataFrame | npt.ArrayLike, needs: str) -> npt.NDArray[Any]:
    """The model output a metric needs: ``label``, ``value``, ``score`` (1-D) or ``proba`` (2-D)."""
    X = own_columns(model, X)
    if needs in ("label", "value"):
        with spending(PREDICT, X):
            return np.asarray(model.predict(X))
    if not has_proba(model):
        raise ValueError(
            f"{type(model).__name__} has no predict_proba, which a probability metric needs"
        )
    with spending(PREDICT, X):
        proba = np.asarray(model.predict_proba(X), dtype=float)
    if needs == "score":
        if proba.ndim != 2 or proba.shape[1] != 2:
            raise ValueError("a positive-class score needs a binary classifier")
        return proba[:, 1]
    return proba


def evaluate(model: Any, X: pd.DataFrame | npt.ArrayLike, y: object, metric: str | Metric) -> float:
    """Score ``model`` on ``(X, y)`` with the named metric, using the output the metric needs."""
    m = get_metric(metric) if isinstance(metric, str) else metric
    out = predict_for(model, X, m.needs)
    if m.needs == "proba":
        return m.fn(y, out, classes_of(model))
    return m.fn(y, out)


def rejected_rows(
    method: Any, X: Any, *, limit: int = 5, budget: int = 2000
) -> tuple[list[Any], int, int]:
    """Which rows of ``X`` make ``method`` (a model's predict) raise, when a whole batch did.

    Rows are tried in halves (a failing half is split again) over at most ``budget`` rows, so
    a few bad rows among many cost about ``log2(n)`` calls each. Returns the labels of up to
    ``limit`` rejected rows, how many were found, and how many rows were searched.
    """
    import warnings

    n = min(len(X), budget)
    found: list[Any] = []
    count = 0
    stack = [(0, n)]
    while stack:
        lo, hi = stack.pop()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                method(X.iloc[lo:hi])
            continue
        except Exception:
            if hi - lo == 1:
                count += 1
                if len(found) < limit:
                    found.append(X.index[lo])
                continue
        mid = (lo + hi) // 2
        stack += [(mid, hi), (lo, mid)]  # the lower half first: rows are reported in order
    return found, count, n


def describe_rejected(method: Any, X: Any, exc: BaseException) -> str:
    """The exception of a failed batch, and the rows that raise it (``rows 3, 17 (2 of 63)``)."""
    text = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"
    if not hasattr(X, "iloc") or len(X) < 2:
        return text
    rows, count, searched = rejected_rows(method, X)
    if not count:
        return f"{text} (each row alone is taken: the batch as a whole fails)"
    shown = ", ".join(str(r) for r in rows) + (", ..." if count > len(rows) else "")
    return f"{text}; rows {shown} ({count} of {searched} rows raise)"

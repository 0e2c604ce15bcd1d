"""Quality metrics in plain numpy, so checks work without scikit-learn installed.

Each metric is registered with what it consumes (hard labels, a positive-class score, class
probabilities, or numeric predictions) and whether higher is better, so that checks can pick
the right model output and compare values in the right direction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

Needs = Literal["label", "score", "proba", "value"]
Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class Metric:
    """A named metric: the function, the model output it needs, and its direction."""

    name: str
    fn: Callable[..., float]
    needs: Needs
    greater_is_better: bool
    task: Task


def _arr(x: object) -> npt.NDArray[np.generic]:
    return np.asarray(x)


def _check_len(y: npt.NDArray[np.generic], p: npt.NDArray[np.generic]) -> None:
    if len(y) != len(p):
        raise ValueError(f"{len(y)} labels but {len(p)} predictions")
    if len(y) == 0:
        raise ValueError("no rows to score")


def accuracy(y_true: object, y_pred: object) -> float:
    """Share of predictions equal to the label."""
    y, p = _arr(y_true), _arr(y_pred)
    _check_len(y, p)
    return float(np.mean(y == p))


def _confusion(
    y: npt.NDArray[np.generic], p: npt.NDArray[np.generic], positive: object
) -> tuple[int, int, int, int]:
    yt, pt = y == positive, p == positive
    tp = int(np.sum(yt & pt))
    fp = int(np.sum(~yt & pt))
    fn = int(np.sum(yt & ~pt))
    tn = int(np.sum(~yt & ~pt))
    return tp, fp, fn, tn


def _default_positive(y: npt.NDArray[np.generic]) -> object:
    """The positive class of a binary problem: 1/True when present, else the larger label."""
    labels = np.unique(y)
    for candidate in (1, True, "1", "yes", "true"):
        if candidate in labels.tolist():
            return candidate
    return labels.max() if labels.size else 1


def recall(y_true: object, y_pred: object, positive: object = None) -> float:
    """True-positive rate for the positive class (0 when the class is absent from the labels)."""
    y, p = _arr(y_true), _arr(y_pred)
    _check_len(y, p)
    pos = _default_positive(y) if positive is None else positive
    tp, _, fn, _ = _confusion(y, p, pos)
    return tp / (tp + fn) if tp + fn else 0.0


def precision(y_true: object, y_pred: object, positive: object = None) -> float:
    """Share of positive predictions that are right (0 when nothing is predicted positive)."""
    y, p = _arr(y_true), _arr(y_pred)
    _check_len(y, p)
    pos = _default_positive(y) if positive is None else positive
    tp, fp, _, _ = _confusion(y, p, pos)
    return tp / (tp + fp) if tp + fp else 0.0


def f1(y_true: object, y_pred: object, positive: object = None) -> float:
    """Harmonic mean of precision and recall for the positive class."""
    r = recall(y_true, y_pred, positive)
    pr = precision(y_true, y_pred, positive)
    return 2 * pr * r / (pr + r) if pr + r else 0.0


def balanced_accuracy(y_true: object, y_pred: object) -> float:
    """Mean per-class recall over the classes present in the labels."""
    y, p = _arr(y_true), _arr(y_pred)
    _check_len(y, p)
    return float(np.mean([np.mean(p[y == c] == c) for c in np.unique(y)]))


def average_ranks(values: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """1-based ranks, ties sharing their average rank (what ``scipy.stats.rankdata`` gives)."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]
    group_rank = (starts + ends + 1) / 2.0  # the mean of positions start+1 .. end
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat(group_rank, ends - starts)
    return ranks


def _binary_auc(pos_mask: npt.NDArray[np.bool_], score: npt.NDArray[np.floating]) -> float:
    """Mann-Whitney AUC with average ranks for ties."""
    n_pos = int(pos_mask.sum())
    n_neg = len(pos_mask) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs both classes among the labels")
    ranks = average_ranks(score)
    return float((ranks[pos_mask].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_auc(y_true: object, score: object, classes: object = None) -> float:
    """ROC AUC: binary from a 1-D positive-class score, macro one-vs-rest from a 2-D proba."""
    y = _arr(y_true)
    s = np.asarray(score, dtype=float)
    _check_len(y, s)
    if s.ndim == 1:
        return _binary_auc(y == _default_positive(y), s)
    labels = np.unique(y) if classes is None else np.asarray(classes)
    if s.shape[1] != len(labels):
        raise ValueError(f"probabilities have {s.shape[1]} columns for {len(labels)} classes")
    if len(labels) == 2:
        return _binary_auc(y == labels[1], s[:, 1])
    aucs = [_binary_auc(y == c, s[:, i]) for i, c in enumerate(labels) if (y == c).any()]
    return float(np.mean(aucs))


def log_loss(y_true: object, proba: object, classes: object = None, eps: float = 1e-15) -> float:
    """Mean negative log-likelihood of the true class under the predicted probabilities."""
    y = _arr(y_true)
    pr = np.asarray(proba, dtype=float)
    _check_len(y, pr)
    if pr.ndim == 1:
        pr = np.column_stack([1 - pr, pr])
    labels = np.unique(y) if classes is None else np.asarray(classes)
    if pr.shape[1] != len(labels):
        raise ValueError(f"probabilities have {pr.shape[1]} columns for {len(labels)} classes")
    index = {c: i for i, c in enumerate(labels.tolist())}
    try:
        cols = np.fromiter((index[v] for v in y.tolist()), dtype=np.intp, count=len(y))
    except KeyError as exc:
        raise ValueError(f"label {exc.args[0]!r} is not among the model's classes") from None
    p = np.clip(pr[np.arange(len(y)), cols], eps, 1.0)
    return float(-np.mean(np.log(p)))


def rmse(y_true: object, y_pred: object) -> float:
    """Root mean squared error."""
    y, p = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    _check_len(y, p)
    return float(np.sqrt(np.mean((y - p) ** 2)))


def mae(y_true: object, y_pred: object) -> float:
    """Mean absolute error."""
    y, p = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    _check_len(y, p)
    return float(np.mean(np.abs(y - p)))


def r2(y_true: object, y_pred: object) -> float:
    """Coefficient of determination (1 - SSE/SST); -inf-free: 0 when the labels are constant."""
    y, p = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    _check_len(y, p)
    sst = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - p) ** 2)) / sst if sst > 0 else 0.0


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy", accuracy, "label", True, "classification"),
        Metric("balanced_accuracy", balanced_accuracy, "label", True, "classification"),
        Metric("recall", recall, "label", True, "classification"),
        Metric("precision", precision, "label", True, "classification"),
        Metric("f1", f1, "label", True, "classification"),
        Metric("roc_auc", roc_auc, "proba", True, "classification"),
        Metric("log_loss", log_loss, "proba", False, "classification"),
        Metric("rmse", rmse, "value", False, "regression"),
        Metric("mae", mae, "value", False, "regression"),
        Metric("r2", r2, "value", True, "regression"),
    )
}

DEFAULT_METRIC: dict[Task, str] = {"classification": "accuracy", "regression": "rmse"}


def get_metric(name: str) -> Metric:
    """Look a metric up by name; an unknown name lists the known ones."""
    try:
        return METRICS[name]
    except KeyError:
        known = ", ".join(sorted(METRICS))
        raise ValueError(f"unknown metric {name!r}; expected one of: {known}") from None

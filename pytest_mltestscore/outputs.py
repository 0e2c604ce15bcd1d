"""A model's outputs on a frame, their validity, and the difference between two sets of them.

The reproducibility, round-trip, integration, canary and rollback checks all ask the same
questions of model outputs, answered here once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .cost import PREDICT, spending
from .metrics import Task
from .modeling import classes_of, has_proba, infer_task, own_columns

PROBA_SUM_ATOL = 1e-6


@dataclass(frozen=True)
class Outputs:
    """What a model returned for some rows: ``predict`` and, for classifiers, ``predict_proba``."""

    task: Task
    predictions: npt.NDArray[Any]
    proba: npt.NDArray[np.float64] | None
    classes: npt.NDArray[Any] | None
    rows: tuple[Any, ...]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-safe form (for passing outputs between processes)."""
        return {
            "task": self.task,
            "predictions": self.predictions.tolist(),
            "proba": None if self.proba is None else self.proba.tolist(),
            "classes": None if self.classes is None else self.classes.tolist(),
            "rows": [_jsonable(r) for r in self.rows],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outputs:
        proba = data.get("proba")
        classes = data.get("classes")
        return cls(
            task=data["task"],
            predictions=np.asarray(data["predictions"]),
            proba=None if proba is None else np.asarray(proba, dtype=float),
            classes=None if classes is None else np.asarray(classes),
            rows=tuple(data["rows"]),
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def row_labels(X: Any) -> tuple[Any, ...]:
    """Row identifiers for messages: the DataFrame index, else positions."""
    index = getattr(X, "index", None)
    if index is not None:
        return tuple(_jsonable(v) for v in index)
    return tuple(range(len(X)))


def collect_outputs(model: Any, X: Any, *, select: bool = True) -> Outputs:
    """Run ``predict`` (and ``predict_proba`` when the model has it) on ``X``: on the model's
    own columns when it names them, unless ``select`` is False (``X`` exactly as given)."""
    if select:
        X = own_columns(model, X)
    with spending(PREDICT, X):
        predictions = np.asarray(model.predict(X))
    proba = None
    if has_proba(model):
        with spending(PREDICT, X):
            proba = np.asarray(model.predict_proba(X), dtype=float)
    return Outputs(
        task=infer_task(model),
        predictions=predictions,
        proba=proba,
        classes=classes_of(model),
        rows=row_labels(X),
    )


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an output: which property, which row, what was seen."""

    prop: str
    row: Any
    detail: str


def output_problems(out: Outputs, n_rows: int, max_per_property: int = 5) -> list[Problem]:
    """Shape, dtype and range problems: length, unknown labels, non-finite values, bad probas."""
    problems: list[Problem] = []
    pred = out.predictions
    if pred.ndim == 0 or pred.shape[0] != n_rows:
        got = "a scalar" if pred.ndim == 0 else f"{pred.shape[0]} rows"
        problems.append(Problem("shape", None, f"predict returned {got} for {n_rows} input rows"))
        return problems
    if out.task == "classification" and out.classes is not None and pred.ndim == 1:
        known = set(out.classes.tolist())
        bad = [i for i, v in enumerate(pred.tolist()) if v not in known]
        problems += [
            Problem("labels", out.rows[i], f"label {pred[i]!r} is not among classes_")
            for i in bad[:max_per_property]
        ]
    elif out.task == "regression":
        if pred.dtype.kind not in "biuf":
            problems.append(
                Problem("dtype", None, f"predictions have dtype {pred.dtype}, expected numbers")
            )
        else:
            rows = _nonfinite_rows(pred)
            problems += [
                Problem("finite", out.rows[i], f"prediction is {_first_bad(pred[i])}")
                for i in rows[:max_per_property]
            ]
    if out.proba is not None:
        problems += _proba_problems(out, n_rows, max_per_property)
    return problems


def _nonfinite_rows(values: npt.NDArray[Any]) -> list[int]:
    bad = ~np.isfinite(values.astype(float))
    if bad.ndim > 1:
        bad = bad.any(axis=tuple(range(1, bad.ndim)))
    return [int(i) for i in np.flatnonzero(bad)]


def _first_bad(value: Any) -> str:
    flat = np.atleast_1d(np.asarray(value, dtype=float))
    return str(flat[~np.isfinite(flat)][0])


def _proba_problems(out: Outputs, n_rows: int, limit: int) -> list[Problem]:
    proba = out.proba
    assert proba is not None
    n_classes = None if out.classes is None else len(out.classes)
    if (
        proba.ndim != 2
        or proba.shape[0] != n_rows
        or (n_classes is not None and proba.shape[1] != n_classes)
    ):
        want = f"({n_rows}, {n_classes if n_classes is not None else 'n_classes'})"
        return [Problem("proba shape", None, f"predict_proba shape {proba.shape}, expected {want}")]
    problems: list[Problem] = []
    nonfinite = _nonfinite_rows(proba)
    problems += [
        Problem("proba finite", out.rows[i], f"probability is {_first_bad(proba[i])}")
        for i in nonfinite[:limit]
    ]
    finite = np.isfinite(proba).all(axis=1)
    outside = np.flatnonzero(finite & ((proba < 0) | (proba > 1)).any(axis=1))
    problems += [
        Problem(
            "proba range",
            out.rows[i],
            f"probabilities {np.round(proba[i], 6).tolist()} outside [0, 1]",
        )
        for i in outside[:limit]
    ]
    sums = proba.sum(axis=1)
    off = np.flatnonzero(finite & (np.abs(sums - 1.0) > PROBA_SUM_ATOL))
    problems += [
        Problem("proba sum", out.rows[i], f"probabilities sum to {sums[i]:.8g}, expected 1")
        for i in off[:limit]
    ]
    return problems


@dataclass(frozen=True)
class Difference:
    """One output that differs between two runs: where, and the two values."""

    output: str
    row: Any
    column: Any
    first: Any
    second: Any
    abs_diff: float | None


@dataclass(frozen=True)
class Comparison:
    """How two sets of outputs on the same rows differ."""

    n_rows: int
    n_label_diff: int
    label_diff_share: float
    max_abs_diff: float
    mean_abs_diff: float
    n_numeric_diff: int
    differences: list[Difference] = field(default_factory=list)
    structural: str | None = None


def compare_outputs(
    a: Outputs, b: Outputs, atol: float = 1e-8, rtol: float = 1e-6, max_listed: int = 20
) -> Comparison:
    """Compare two outputs: label disagreements and numeric differences beyond tolerance.

    Numbers are compared like ``numpy.isclose`` (``atol + rtol * |b|``) with NaN equal to NaN;
    for classifiers the probabilities are the numbers, for regressors the predictions.
    """
    n = len(a.predictions)
    if a.predictions.shape != b.predictions.shape:
        return _structural(
            n, f"predict shapes differ: {a.predictions.shape} versus {b.predictions.shape}"
        )
    if (a.proba is None) != (b.proba is None) or (
        a.proba is not None and b.proba is not None and a.proba.shape != b.proba.shape
    ):
        sa = None if a.proba is None else a.proba.shape
        sb = None if b.proba is None else b.proba.shape
        return _structural(n, f"predict_proba shapes differ: {sa} versus {sb}")
    diffs: list[Difference] = []
    classification = a.task == "classification" or b.task == "classification"
    n_label = 0
    if classification:
        differ = np.asarray(a.predictions != b.predictions)
        if differ.ndim > 1:
            differ = np.asarray(differ.any(axis=tuple(range(1, differ.ndim))))
        idx = np.flatnonzero(differ)
        n_label = len(idx)
        diffs += [
            Difference(
                "label",
                a.rows[i],
                None,
                _jsonable(a.predictions[i]),
                _jsonable(b.predictions[i]),
                None,
            )
            for i in idx[:max_listed]
        ]
        num_a, num_b = a.proba, b.proba
        columns: Sequence[Any] | None = None if a.classes is None else a.classes.tolist()
        name = "proba"
    else:
        num_a, num_b = a.predictions, b.predictions
        columns = None
        name = "value"
    max_abs = mean_abs = 0.0
    n_num = 0
    if num_a is not None and num_b is not None and num_a.size:
        fa = np.asarray(num_a, dtype=float)
        fb = np.asarray(num_b, dtype=float)
        both_nan = np.isnan(fa) & np.isnan(fb)
        with np.errstate(invalid="ignore"):
            absdiff = np.where(both_nan, 0.0, np.abs(fa - fb))
        absdiff = np.where(np.isnan(absdiff), np.inf, absdiff)
        close = absdiff <= atol + rtol * np.abs(np.nan_to_num(fb, nan=0.0, posinf=0.0))
        max_abs = float(absdiff.max())
        mean_abs = float(absdiff.mean())
        far = np.argwhere(~close)
        n_num = len(far)
        order = np.argsort(-absdiff[~close], kind="stable")[: max(0, max_listed - len(diffs))]
        for k in order:
            pos = tuple(int(v) for v in far[k])
            col = None
            if len(pos) > 1:
                col = columns[pos[1]] if columns is not None and pos[1] < len(columns) else pos[1]
            diffs.append(
                Difference(
                    name,
                    a.rows[pos[0]],
                    _jsonable(col),
                    float(fa[pos]),
                    float(fb[pos]),
                    float(absdiff[pos]),
                )
            )
    return Comparison(
        n_rows=n,
        n_label_diff=n_label,
        label_diff_share=n_label / n if n else 0.0,
        max_abs_diff=max_abs,
        mean_abs_diff=mean_abs,
        n_numeric_diff=n_num,
        differences=diffs,
    )


def _structural(n: int, why: str) -> Comparison:
    return Comparison(
        n_rows=n,
        n_label_diff=n,
        label_diff_share=1.0,
        max_abs_diff=float("inf"),
        mean_abs_diff=float("inf"),
        n_numeric_diff=n,
        structural=why,
    )

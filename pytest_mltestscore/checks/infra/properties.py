"""infra-2: ready-made unit properties of a model, free of brittle "golden output" diffs.

:func:`model_properties` runs a fitted model on given rows (hand-picked, or generated from the
data-1 schema) and checks what must hold for any valid input. :func:`one_step_lowers_loss` and
:func:`can_overfit_tiny` test the training code itself on a handful of real rows.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ...loading import load_model_artifact, save_model_artifact, skops_available
from ...metrics import Task, get_metric
from ...modeling import evaluate, feature_names, has_proba, infer_task
from ...outputs import Outputs, Problem, collect_outputs, compare_outputs, output_problems
from ...result import CheckResult, Table, Verdict, library_check

if TYPE_CHECKING:
    import pandas as pd

RUBRIC_ID = "infra-2"

PROPERTIES = ("predicts", "output", "deterministic", "column_order", "round_trip")
Persist = Literal["auto", "skops", "joblib", "pickle"]


@library_check
def model_properties(
    model: Any,
    X_valid: pd.DataFrame,
    *,
    properties: Sequence[str] = PROPERTIES,
    seed: int = 0,
    persist: Persist = "auto",
    atol: float = 1e-9,
    rtol: float = 1e-7,
) -> CheckResult:
    """Check that ``model`` behaves on the valid rows ``X_valid``; list each failed property.

    Properties: ``predicts`` (no exception), ``output`` (one prediction per row, labels among
    ``classes_``, finite numbers, probabilities in [0, 1] summing to 1), ``deterministic`` (a
    second call gives the same outputs), ``column_order`` (shuffled columns give the same
    outputs, or a clear refusal; only for models fitted with feature names) and ``round_trip``
    (the model saved and loaded again predicts the same; skops when installed, else joblib).
    """
    import pandas as pd

    unknown = [p for p in properties if p not in PROPERTIES]
    if unknown:
        raise ValueError(f"unknown properties {unknown}; expected some of {', '.join(PROPERTIES)}")
    if not isinstance(X_valid, pd.DataFrame) or X_valid.empty:
        raise ValueError("X_valid must be a non-empty pandas DataFrame")
    if persist not in ("auto", "skops", "joblib", "pickle"):
        raise ValueError(f"persist must be auto, skops, joblib or pickle, got {persist!r}")
    if not callable(getattr(model, "predict", None)):
        raise ValueError(f"{type(model).__name__} has no predict method")

    problems: list[Problem] = []
    notes: list[str] = []
    checked: list[str] = []
    n = len(X_valid)
    try:
        base = collect_outputs(model, X_valid)
    except Exception as exc:
        problems.append(Problem("predicts", None, _exc(exc) + _locate_failure(model, X_valid)))
        return _result(problems, ["predicts"], notes, n)
    checked.append("predicts")

    if "output" in properties:
        checked.append("output")
        problems += [
            Problem(f"output: {p.prop}", p.row, p.detail) for p in output_problems(base, n)
        ]
    if "deterministic" in properties:
        checked.append("deterministic")
        problems += _same_outputs(
            "deterministic",
            base,
            lambda: collect_outputs(model, X_valid),
            atol,
            rtol,
            "second call",
        )
    if "column_order" in properties:
        names = feature_names(model)
        if names is None or X_valid.shape[1] < 2:
            notes.append(
                "column_order: not applicable (the model was not fitted with feature "
                "names, or there is a single column)"
            )
        else:
            checked.append("column_order")
            problems += _column_order(model, X_valid, base, seed, atol, rtol, notes)
    if "round_trip" in properties:
        checked.append("round_trip")
        problems += _round_trip(model, X_valid, base, persist, atol, rtol, notes)
    return _result(problems, checked, notes, n)


def _exc(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _locate_failure(model: Any, X: pd.DataFrame) -> str:
    """When predicting on the frame fails, name the first single row that fails too."""
    if len(X) < 2:
        return ""
    for i in range(min(len(X), 200)):
        try:
            model.predict(X.iloc[[i]])
        except Exception:
            return f" (row {X.index[i]!r} alone fails too)"
    return ""


def _same_outputs(
    prop: str,
    base: Outputs,
    again: Callable[[], Outputs],
    atol: float,
    rtol: float,
    what: str,
) -> list[Problem]:
    try:
        other = again()
    except Exception as exc:
        return [Problem(prop, None, f"{what} raised {_exc(exc)}")]
    cmp = compare_outputs(base, other, atol=atol, rtol=rtol, max_listed=5)
    if cmp.structural is not None:
        return [Problem(prop, None, f"{what}: {cmp.structural}")]
    out = []
    for d in cmp.differences:
        where = "" if d.column is None else f" [{d.column}]"
        out.append(
            Problem(prop, d.row, f"{d.output}{where}: {d.first!r} then {d.second!r} ({what})")
        )
    more = cmp.n_label_diff + cmp.n_numeric_diff - len(cmp.differences)
    if out and more > 0:
        out.append(Problem(prop, None, f"... and {more} more differing outputs"))
    return out


def _column_order(
    model: Any,
    X: pd.DataFrame,
    base: Outputs,
    seed: int,
    atol: float,
    rtol: float,
    notes: list[str],
) -> list[Problem]:
    rng = np.random.default_rng(seed)
    cols = list(X.columns)
    order = list(reversed(cols))
    if order == cols:  # pragma: no cover - only for a single column, excluded above
        order = [cols[i] for i in rng.permutation(len(cols))]
    shuffled = X[order]
    try:
        other = collect_outputs(model, shuffled, select=False)  # the order is what is tested
    except Exception as exc:
        notes.append(
            "column_order: the model refuses reordered columns instead of misreading them "
            f"({_exc(exc)}); serving must pass columns in the fitted order"
        )
        return []
    problems = _same_outputs("column_order", base, lambda: other, atol, rtol, "reversed columns")
    return problems


def _round_trip(
    model: Any,
    X: pd.DataFrame,
    base: Outputs,
    persist: Persist,
    atol: float,
    rtol: float,
    notes: list[str],
) -> list[Problem]:
    formats: list[str]
    if persist == "auto":
        formats = ["skops", "joblib"] if skops_available() else ["joblib"]
    else:
        formats = [persist]
    suffix = {"skops": ".skops", "joblib": ".joblib", "pickle": ".pkl"}
    with tempfile.TemporaryDirectory(prefix="mltestscore-infra2-") as tmp:
        errors = []
        for fmt in formats:
            path = Path(tmp) / f"model{suffix[fmt]}"
            try:
                save_model_artifact(model, path)
                # We wrote this file ourselves a moment ago, so it is trusted.
                loaded = load_model_artifact(path, trusted=True)
            except Exception as exc:
                errors.append(f"{fmt}: {_exc(exc)}")
                continue
            if errors:
                notes.append(f"round_trip: fell back to {fmt} ({'; '.join(errors)})")
            else:
                notes.append(f"round_trip: saved and loaded with {fmt}")
            return _same_outputs(
                "round_trip",
                base,
                functools.partial(collect_outputs, loaded, X),
                atol,
                rtol,
                f"after {fmt} save/load",
            )
    return [Problem("round_trip", None, "could not save and load: " + "; ".join(errors))]


def _result(problems: list[Problem], checked: list[str], notes: list[str], n: int) -> CheckResult:
    failed = sorted({p.prop.split(":")[0] for p in problems}, key=PROPERTIES.index)
    verdict: Verdict = "fail" if problems else "pass"
    if problems:
        summary = (
            f"{len(failed)} of {len(checked)} properties failed on {n} rows: {', '.join(failed)}"
        )
    else:
        summary = f"{len(checked)} properties hold on {n} rows: {', '.join(checked)}"
    table = Table(("property", "row", "detail"), tuple((p.prop, p.row, p.detail) for p in problems))
    return CheckResult(
        "model_properties",
        verdict,
        summary,
        table=table,
        rubric_id=RUBRIC_ID,
        metrics={"rows": float(n), "failed_properties": float(len(failed))},
        notes=tuple(notes),
    )


def _task(model: Any, y: Any) -> Task:
    """Task of a model that may not be fitted yet: scikit-learn's own tag first."""
    try:
        from sklearn.base import is_classifier, is_regressor
    except ImportError:  # pragma: no cover - models without scikit-learn
        return infer_task(model, y)
    if is_classifier(model):
        return "classification"
    if is_regressor(model):
        return "regression"
    return infer_task(model, y)


def _loss_metric(model: Any, y: Any, loss: str | None) -> str:
    if loss is not None:
        get_metric(loss)
        return loss
    if _task(model, y) == "classification":
        return "log_loss" if has_proba(model) else "accuracy"
    return "rmse"


def _seeded(model: Any, seed: int) -> Any:
    """Fix every unset ``random_state`` (nested ones too), so the helper is reproducible."""
    get_params = getattr(model, "get_params", None)
    if callable(get_params):
        unset = {
            k: seed
            for k, v in get_params(deep=True).items()
            if (k == "random_state" or k.endswith("__random_state")) and v is None
        }
        if unset:
            model.set_params(**unset)
    return model


@library_check
def one_step_lowers_loss(
    model_factory: Callable[[], Any],
    X: Any,
    y: Any,
    *,
    steps: int = 1,
    loss: str | None = None,
    classes: Sequence[Any] | None = None,
    min_improvement: float = 0.0,
    seed: int = 0,
) -> CheckResult:
    """After a first ``partial_fit``, ``steps`` more on the same rows must improve the loss.

    The loss is a metric name from :mod:`pytest_mltestscore.metrics` (default: ``log_loss`` for
    classifiers with probabilities, else ``accuracy``; ``rmse`` for regressors), compared in its
    own direction. Catches training code that does not learn (wrong sign, frozen weights, a
    step size that overshoots).
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if min_improvement < 0:
        raise ValueError("min_improvement must be non-negative")
    model = _seeded(model_factory(), seed)
    if not callable(getattr(model, "partial_fit", None)):
        raise ValueError(f"{type(model).__name__} has no partial_fit (incremental training)")
    if len(y) < 2:
        raise ValueError("need at least 2 rows")
    metric_name = _loss_metric(model, y, loss)
    metric = get_metric(metric_name)
    kwargs: dict[str, Any] = {}
    if _task(model, y) == "classification":
        kwargs["classes"] = np.unique(np.asarray(y)) if classes is None else np.asarray(classes)
    values = []
    try:
        model.partial_fit(X, y, **kwargs)
        values.append(evaluate(model, X, y, metric))
        for _ in range(steps):
            model.partial_fit(X, y)
            values.append(evaluate(model, X, y, metric))
    except Exception as exc:
        return CheckResult(
            "one_step_lowers_loss",
            "fail",
            f"partial_fit or predict raised {_exc(exc)}",
            rubric_id=RUBRIC_ID,
        )
    before, after = values[0], values[-1]
    gain = (after - before) if metric.greater_is_better else (before - after)
    verdict: Verdict = "pass" if np.isfinite(gain) and gain > min_improvement else "fail"
    better = "higher" if metric.greater_is_better else "lower"
    summary = (
        f"{metric_name} ({better} is better) after the first partial_fit {before:.6g}, after "
        f"{steps} more step{'s' if steps > 1 else ''} {after:.6g}: improvement {gain:.4g} "
        f"(required > {min_improvement:g})"
    )
    table = Table(("step", metric_name), tuple((i + 1, v) for i, v in enumerate(values)))
    return CheckResult(
        "one_step_lowers_loss",
        verdict,
        summary,
        table=table,
        rubric_id=RUBRIC_ID,
        metrics={"before": before, "after": after, "improvement": gain},
    )


@library_check
def can_overfit_tiny(
    model_factory: Callable[[], Any],
    X: pd.DataFrame,
    y: Any,
    *,
    n: int = 20,
    min_score: float | None = None,
    seed: int = 0,
) -> CheckResult:
    """Fit on ``n`` rows and score on the same rows: a working model can memorise them.

    Classifiers need training ``accuracy`` of at least ``min_score`` (default 1.0), regressors
    an ``r2`` of at least ``min_score`` (default 0.95). Rows are drawn with the seed, spread over
    the classes for classifiers. Failing rows are listed.
    """
    import pandas as pd

    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    if len(X) < n:
        raise ValueError(f"need at least n={n} rows, got {len(X)}")
    model = _seeded(model_factory(), seed)
    y_arr = np.asarray(y)
    task = _task(model, y_arr)
    rows = _tiny_rows(y_arr, n, seed, task == "classification")
    X_tiny = X.iloc[rows] if isinstance(X, (pd.DataFrame, pd.Series)) else np.asarray(X)[rows]
    y_tiny = y.iloc[rows] if isinstance(y, pd.Series) else y_arr[rows]
    metric_name = "accuracy" if task == "classification" else "r2"
    threshold = (1.0 if task == "classification" else 0.95) if min_score is None else min_score
    try:
        model.fit(X_tiny, y_tiny)
        pred = np.asarray(model.predict(X_tiny))
    except Exception as exc:
        return CheckResult(
            "can_overfit_tiny", "fail", f"fit or predict raised {_exc(exc)}", rubric_id=RUBRIC_ID
        )
    truth = np.asarray(y_tiny)
    score = get_metric(metric_name).fn(truth, pred)
    labels = [r for r in (X_tiny.index if hasattr(X_tiny, "index") else rows)]
    if task == "classification":
        wrong = np.flatnonzero(pred != truth)
        table_rows: tuple[tuple[Any, ...], ...] = tuple(
            (labels[i], truth[i], pred[i], None) for i in wrong[:20]
        )
    else:
        err = np.abs(pred.astype(float) - truth.astype(float))
        worst = np.argsort(-err, kind="stable")[:10]
        table_rows = tuple((labels[i], truth[i], pred[i], float(err[i])) for i in worst)
    verdict: Verdict = "pass" if score >= threshold else "fail"
    summary = (
        f"training {metric_name} on {len(rows)} rows is {score:.4g} "
        f"(required at least {threshold:g}): the model "
        f"{'can' if verdict == 'pass' else 'cannot'} memorise a tiny dataset"
    )
    table = Table(("row", "label", "prediction", "abs error"), table_rows)
    return CheckResult(
        "can_overfit_tiny",
        verdict,
        summary,
        table=table if verdict == "fail" else None,
        rubric_id=RUBRIC_ID,
        metrics={metric_name: float(score), "rows": float(len(rows))},
    )


def _tiny_rows(y: np.ndarray, n: int, seed: int, stratify: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if not stratify:
        return np.sort(rng.choice(len(y), size=n, replace=False))
    # Round-robin over the classes (each shuffled) so every class appears when n allows.
    pools = [rng.permutation(np.flatnonzero(y == c)).tolist() for c in np.unique(y)]
    picked: list[int] = []
    while len(picked) < n:
        for pool in pools:
            if pool and len(picked) < n:
                picked.append(pool.pop())
    return np.sort(np.asarray(picked))

"""infra-4: a quality gate before serving, absolute and relative to the previous model.

Both models are scored on the same validation rows, so the comparison is paired: sampling noise
in the rows moves both scores together, and a tight relative tolerance is meaningful.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ...builtin import METRIC, BuiltinCheck, CheckContext, Param, model, needs_holdout
from ...metrics import DEFAULT_METRIC, Metric, get_metric
from ...modeling import evaluate, infer_task
from ...result import CheckResult, Table, Verdict, library_check

if TYPE_CHECKING:
    import pandas as pd

RUBRIC_ID = "infra-4"
CHECK = "validation_gate"


@library_check
def validation_gate(
    model: Any,
    X_val: pd.DataFrame,
    y_val: Any,
    *,
    metric: str | None = None,
    threshold: float | None = None,
    previous: Any = None,
    max_drop: float | None = None,
    max_relative_drop: float = 0.01,
    min_rows: int = 30,
) -> CheckResult:
    """Gate ``model`` on validation rows: ``metric`` must reach ``threshold`` and not fall behind
    ``previous`` on the same rows by more than the allowed drop.

    ``threshold`` is the worst acceptable value in the metric's own direction (a floor for
    accuracy, a ceiling for rmse or log_loss). The allowed drop against ``previous`` is
    ``max_drop`` in metric units when given, else ``max_relative_drop`` times the previous
    model's value. Fewer than ``min_rows`` labelled rows give no verdict (skip).
    """
    if threshold is None and previous is None:
        raise ValueError("give a threshold, a previous model, or both: there is nothing to gate")
    if max_drop is not None and max_drop < 0:
        raise ValueError("max_drop must be non-negative")
    if max_relative_drop < 0:
        raise ValueError("max_relative_drop must be non-negative")
    if len(X_val) != len(y_val):
        raise ValueError(f"X_val has {len(X_val)} rows but y_val has {len(y_val)}")
    m: Metric = get_metric(metric or DEFAULT_METRIC[infer_task(model, y_val)])

    y = np.asarray(y_val)
    known = ~_is_missing(y)
    n = int(known.sum())
    notes = []
    if n < len(y):
        notes.append(f"{len(y) - n} rows without a label were left out")
    if n < min_rows:
        return CheckResult(
            CHECK,
            "skip",
            f"only {n} labelled validation rows; the gate needs at least {min_rows}",
            rubric_id=RUBRIC_ID,
            notes=tuple(notes),
        )
    X = X_val[known] if n < len(y) else X_val
    y = y[known]

    values: dict[str, float] = {}
    for name, mdl in (("new", model), ("previous", previous)):
        if mdl is None:
            continue
        try:
            values[name] = float(evaluate(mdl, X, y, m))
        except Exception as exc:
            return CheckResult(
                CHECK,
                "fail",
                f"the {name} model could not be scored with {m.name}: {type(exc).__name__}: {exc}",
                rubric_id=RUBRIC_ID,
                notes=tuple(notes),
            )

    direction = "higher" if m.greater_is_better else "lower"
    rows: list[tuple[Any, ...]] = []
    failed: list[str] = []
    new = values["new"]
    if not np.isfinite(new):
        failed.append(f"{m.name} of the new model is {new}")
    if threshold is not None:
        ok = new >= threshold if m.greater_is_better else new <= threshold
        bound = "at least" if m.greater_is_better else "at most"
        rows.append(
            (
                "absolute",
                m.name,
                new,
                threshold,
                f"{bound} {threshold:.4g}",
                "ok" if ok else "FAILED",
            )
        )
        if not ok:
            failed.append(f"{m.name} {new:.4g} is not {bound} {threshold:.4g}")
    if previous is not None:
        prev = values["previous"]
        allowed = max_drop if max_drop is not None else max_relative_drop * abs(prev)
        drop = (prev - new) if m.greater_is_better else (new - prev)
        ok = bool(np.isfinite(drop)) and drop <= allowed
        limit = prev - allowed if m.greater_is_better else prev + allowed
        bound = "at least" if m.greater_is_better else "at most"
        rows.append(
            ("vs previous", m.name, new, prev, f"{bound} {limit:.4g}", "ok" if ok else "FAILED")
        )
        if not ok:
            failed.append(
                f"{m.name} {new:.4g} is worse than the previous model's {prev:.4g} by "
                f"{drop:.4g} (allowed {allowed:.4g})"
            )
    verdict: Verdict = "fail" if failed else "pass"
    if failed:
        summary = f"{m.name} ({direction} is better) on {n} validation rows: " + "; ".join(failed)
    else:
        parts = [f"{m.name} ({direction} is better) on {n} validation rows is {new:.4g}"]
        if threshold is not None:
            parts.append(f"meets {threshold:.4g}")
        if previous is not None:
            parts.append(f"previous model {values['previous']:.4g}")
        summary = ", ".join(parts)
    metrics = {f"{m.name}_new": new, "rows": float(n)}
    if previous is not None:
        metrics[f"{m.name}_previous"] = values["previous"]
    return CheckResult(
        CHECK,
        verdict,
        summary,
        table=Table(
            ("gate", "metric", "new model", "reference", "required", "status"), tuple(rows)
        ),
        rubric_id=RUBRIC_ID,
        metrics=metrics,
        notes=tuple(notes),
    )


def _is_missing(y: np.ndarray) -> np.ndarray:
    if y.dtype.kind == "f":
        return np.isnan(y)
    if y.dtype.kind == "O":
        return np.array([v is None or (isinstance(v, float) and v != v) for v in y], dtype=bool)
    return np.zeros(len(y), dtype=bool)


# -- built-in check ----------------------------------------------------------------------------
def needs_gate(ctx: CheckContext) -> str | None:
    """`threshold` parameter or `previous` model"""
    if ctx.params.get("threshold") is not None or ctx.assets.available("model", "previous"):
        return None
    return (
        "nothing to gate against: set threshold under [tool.mltestscore.checks.infra-4] or "
        "configure a 'previous' model"
    )


def run_validation_gate(ctx: CheckContext) -> CheckResult:
    ds = ctx.holdout_name()
    frame = ctx.assets.frame(ds)
    y = ctx.assets.y(ds)
    keep = y.notna().to_numpy()
    X = frame.drop(columns=list(ctx.assets.dataset_spec(ds).role_columns))[keep]
    y = y[keep]
    previous = ctx.assets.model("previous") if ctx.assets.available("model", "previous") else None
    return validation_gate(
        ctx.model("default"),
        X,
        y,
        metric=ctx.params["metric"],
        threshold=ctx.params["threshold"],
        previous=previous,
        max_relative_drop=ctx.params["max_relative_drop"],
    )


VALIDATION_GATE = BuiltinCheck(
    "infra-4",
    "validation-gate",
    "quality on validation data meets the threshold and the previous model",
    (model("default"), needs_holdout, needs_gate),
    run_validation_gate,
    (
        METRIC,
        Param("threshold", "number", None, "absolute metric value the model must reach"),
        Param("max_relative_drop", "number", 0.01, "allowed loss relative to the previous model"),
    ),
    declines="the model cannot take the data's columns; too few labelled rows",
)

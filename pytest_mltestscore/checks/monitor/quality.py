"""monitor-7 (the quality part): prediction quality and prediction bias on labelled serving rows.

Both checks gate on an effect size plus a few standard errors of the serving estimate, so the
same default holds at 200 rows and at 2 million: a small sample's noise does not raise alarms,
and a large sample still needs a practically relevant change to fail. Prediction-distribution
drift (no labels needed) lives with the drift checks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ...arguments import require_columns, require_frame
from ...builtin import METRIC, BuiltinCheck, CheckContext, Param, dataset, model
from ...findings import (
    findings_table,
    plural,
    require_names,
    require_non_negative,
    short,
)
from ...metrics import DEFAULT_METRIC, Metric, get_metric
from ...modeling import classes_of, describe_rejected, infer_task, predict_for
from ...result import CheckResult, library_check

if TYPE_CHECKING:
    import pandas as pd

RUBRIC_ID = "monitor-7"
DEFAULT_ABS_TOLERANCE = 0.01
DEFAULT_REL_TOLERANCE = 0.02
DEFAULT_QUALITY_SE = 2.0
DEFAULT_MIN_ROWS = 100
DEFAULT_BIAS_SE = 3.0
DEFAULT_BIAS_MIN_ROWS = 30
DEFAULT_PROBA_BIAS_TOLERANCE = 0.02
DEFAULT_VALUE_BIAS_TOLERANCE_SD = 0.05
MAX_SLICE_VALUES = 100
_BOOT_REPS = 200
_BOOT_ROWS = 5000


def _as_array(values: object) -> npt.NDArray[Any]:
    """A 1-D numpy view of a Series, Index, list or array."""
    to_numpy = getattr(values, "to_numpy", None)
    return np.asarray(to_numpy() if callable(to_numpy) else values)


def _labelled_mask(y: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    import pandas as pd

    return np.asarray(pd.notna(pd.Series(y.astype(object))), dtype=bool)


def _slice_groups(
    frame: pd.DataFrame, slices: Sequence[str], mask: npt.NDArray[np.bool_]
) -> list[tuple[str, Any, npt.NDArray[np.bool_]]]:
    """(column, value, row mask) for every value of every slice column; NaN is its own slice."""
    import pandas as pd

    groups = []
    for col in slices:
        values = frame[col].to_numpy(dtype=object)
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        if len(uniques) > MAX_SLICE_VALUES:
            raise ValueError(
                f"slices: column {col!r} has {len(uniques)} distinct values (at most "
                f"{MAX_SLICE_VALUES}); bin it into a few groups first"
            )
        for code, value in enumerate(uniques):
            groups.append((col, value, (codes == code) & mask))
    return groups


def _plain(value: object) -> str:
    """A label value as users write it: strings without quotes."""
    return value if isinstance(value, str) else short(value)


def _slice_label(col: str, value: object) -> str:
    return f"{col}={_plain(value)}"


def _bootstrap_se(
    metric: Metric, y: npt.NDArray[Any], out: npt.NDArray[Any], classes: Any, seed: int
) -> float:
    """Bootstrap standard error, on at most ``_BOOT_ROWS`` rows scaled to the full n."""
    n = len(y)
    m = min(n, _BOOT_ROWS)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(_BOOT_REPS):
        idx = rng.integers(0, n, size=m)
        try:
            values.append(_score(metric, y[idx], out[idx], classes))
        except ValueError:  # e.g. a resample with one class only, for AUC
            continue
    if len(values) < _BOOT_REPS // 2:
        return math.nan
    return float(np.std(values, ddof=1) * math.sqrt(m / n))


def _standard_error(
    metric: Metric, y: npt.NDArray[Any], out: npt.NDArray[Any], classes: Any, seed: int
) -> float:
    """Standard error of the metric on these rows: closed form for means, else bootstrap."""
    n = len(y)
    if n < 2:
        return math.nan
    if metric.name == "accuracy":
        return float(np.std(y == out, ddof=1) / math.sqrt(n))
    if metric.name in ("mae", "rmse"):
        err = np.asarray(out, dtype=float) - np.asarray(y, dtype=float)
        if metric.name == "mae":
            return float(np.std(np.abs(err), ddof=1) / math.sqrt(n))
        mse = float(np.mean(err**2))
        se_mse = float(np.std(err**2, ddof=1) / math.sqrt(n))
        return se_mse / (2 * math.sqrt(mse)) if mse > 0 else 0.0
    return _bootstrap_se(metric, y, out, classes, seed)


def _score(metric: Metric, y: npt.NDArray[Any], out: npt.NDArray[Any], classes: Any) -> float:
    if metric.needs == "proba":
        return float(metric.fn(y, out, classes))
    return float(metric.fn(y, out))


@dataclass(frozen=True)
class _Scored:
    label: str
    n: int
    value: float
    baseline: float
    se: float
    allowed: float
    degraded: bool


def _resolve_metric(model: Any, y: object, metric: str | Metric | None) -> Metric:
    if metric is None:
        return get_metric(DEFAULT_METRIC[infer_task(model, y)])
    return get_metric(metric) if isinstance(metric, str) else metric


def _unknown_labels(y: npt.NDArray[Any], classes: Any) -> list[Any]:
    if classes is None:
        return []
    known = set(np.asarray(classes).tolist())
    return [v for v in dict.fromkeys(y.tolist()) if v not in known]


def quality_baseline(
    model: Any,
    X: pd.DataFrame,
    y: object,
    metric: str | Metric | None = None,
    *,
    slices: Sequence[str] | None = None,
    slice_data: pd.DataFrame | None = None,
    min_rows: int = DEFAULT_MIN_ROWS,
) -> tuple[float, dict[str, dict[Any, float]]]:
    """The metric on reference (validation) rows, overall and per slice value.

    Feed the result to :func:`prediction_quality` as ``baseline_metric_value`` and
    ``slice_baselines`` so that each slice is held to its own reference level, not the
    overall one. Slice values with fewer than ``min_rows`` labelled rows are left out.
    """
    m = _resolve_metric(model, y, metric)
    frame = require_frame(X, "X")
    labels = _as_array(y)
    if len(labels) != len(frame):
        raise ValueError(f"X has {len(frame)} rows but y has {len(labels)}")
    mask = _labelled_mask(labels)
    out = predict_for(model, frame.iloc[np.flatnonzero(mask)], m.needs)
    classes = classes_of(model)
    lab = labels[mask]
    overall = _score(m, lab, out, classes)
    per_slice: dict[str, dict[Any, float]] = {}
    if slices:
        names = require_names(slices, "slices")
        sdata = frame if slice_data is None else require_frame(slice_data, "slice_data")
        require_columns(sdata, names, what="the slice data", arg="slices")
        pos = np.cumsum(mask) - 1  # position of each labelled row within ``out``
        for col, value, rows in _slice_groups(sdata, names, mask):
            if rows.sum() >= max(min_rows, 1):
                sel = pos[rows]
                try:
                    per_slice.setdefault(col, {})[value] = _score(m, lab[sel], out[sel], classes)
                except ValueError:
                    continue
    return overall, per_slice


@library_check
def prediction_quality(
    model: Any,
    serving_X: pd.DataFrame,
    serving_y: object,
    baseline_metric_value: float,
    metric: str | Metric | None = None,
    *,
    abs_tolerance: float = DEFAULT_ABS_TOLERANCE,
    rel_tolerance: float = DEFAULT_REL_TOLERANCE,
    se_multiplier: float = DEFAULT_QUALITY_SE,
    slices: Sequence[str] | None = None,
    slice_data: pd.DataFrame | None = None,
    slice_baselines: Mapping[str, Mapping[Any, float]] | None = None,
    min_rows: int = DEFAULT_MIN_ROWS,
    seed: int = 0,
) -> CheckResult:
    """Score the model on labelled serving rows and compare with the training/validation baseline.

    The metric defaults by task (accuracy for classifiers, RMSE for regressors). It fails when
    the metric is worse than the baseline (in the metric's own direction) by more than
    ``abs_tolerance + rel_tolerance * |baseline| + se_multiplier * SE``, where SE is the
    standard error of the serving estimate (closed form for accuracy/MAE/RMSE, else a seeded
    bootstrap). Rows whose label is missing are not scored; fewer than ``min_rows`` labelled
    rows skip the check. Each slice value (columns of ``slice_data``, default ``serving_X``)
    with enough rows is held to ``slice_baselines[column][value]``, else to the overall baseline.
    """
    check = "prediction_quality"
    frame = require_frame(serving_X, "serving_X")
    if serving_y is None:
        return CheckResult(check, "skip", "no serving labels to score", None, RUBRIC_ID)
    labels = _as_array(serving_y)
    if labels.ndim != 1 or len(labels) != len(frame):
        raise ValueError(f"serving_X has {len(frame)} rows but serving_y has shape {labels.shape}")
    base_value = baseline_metric_value
    if (
        isinstance(base_value, bool)
        or not isinstance(base_value, (int, float))
        or not math.isfinite(base_value)
    ):
        raise ValueError(f"baseline_metric_value: expected a finite number, got {base_value!r}")
    require_non_negative(abs_tolerance, "abs_tolerance")
    require_non_negative(rel_tolerance, "rel_tolerance")
    require_non_negative(se_multiplier, "se_multiplier")
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1:
        raise ValueError(f"min_rows: expected an integer >= 1, got {min_rows!r}")
    m = _resolve_metric(model, labels, metric)
    names = require_names(slices, "slices") if slices else []
    sdata = frame if slice_data is None else require_frame(slice_data, "slice_data")
    if len(sdata) != len(frame):
        raise ValueError(f"slice_data has {len(sdata)} rows but serving_X has {len(frame)}")
    require_columns(sdata, names, what="the slice data", arg="slices")

    mask = _labelled_mask(labels)
    n = int(mask.sum())
    direction = "higher" if m.greater_is_better else "lower"
    method = (
        f"{m.name} ({direction} is better) on labelled serving rows vs baseline; fail when worse "
        f"by more than {abs_tolerance:g} + {rel_tolerance:g}*|baseline| + {se_multiplier:g}*SE"
    )
    metrics: dict[str, float] = {"labelled_rows": float(n), "baseline": float(base_value)}
    if n < min_rows:
        return CheckResult(
            check,
            "skip",
            f"{plural(n, 'labelled serving row')}, fewer than min_rows={min_rows} ({m.name})",
            None,
            RUBRIC_ID,
            metrics,
        )
    lab = labels[mask]
    classes = classes_of(model)
    if m.needs == "proba":
        unknown = _unknown_labels(lab, classes)
        if unknown:
            row = (
                "label",
                "labels vs model classes",
                "unknown labels",
                "0",
                f"{len(unknown)} label values the model does not know",
                f"one of {', '.join(short(c) for c in np.asarray(classes)[:5])}",
                int(np.isin(lab, unknown).sum()),
                ", ".join(short(u) for u in unknown[:3]),
            )
            return CheckResult(
                check,
                "fail",
                f"serving labels outside the model's classes; {m.name} cannot be computed",
                findings_table([row]),
                RUBRIC_ID,
                metrics,
            )
    rows = frame.iloc[np.flatnonzero(mask)]
    try:
        out = predict_for(model, rows, m.needs)
    except Exception as exc:  # the model's own failure on serving rows is a finding
        row = (
            "-",
            f"model output ({m.needs})",
            "-",
            "-",
            describe_rejected(lambda part: predict_for(model, part, m.needs), rows, exc),
            "predictions",
            n,
            "-",
        )
        return CheckResult(
            check,
            "fail",
            "the model failed to predict on the serving rows",
            findings_table([row]),
            RUBRIC_ID,
            metrics,
        )
    baselines = slice_baselines or {}
    groups: list[tuple[str, npt.NDArray[np.intp], float]] = [
        ("overall", np.arange(n), float(baseline_metric_value))
    ]
    notes: list[str] = []
    too_small: list[str] = []
    pos = np.cumsum(mask) - 1
    for col, value, rows in _slice_groups(sdata, names, mask) if names else []:
        count = int(rows.sum())
        label = _slice_label(col, value)
        if count < min_rows:
            too_small.append(f"{label} (n={count})")
            continue
        base = baselines.get(col, {}).get(value, float(baseline_metric_value))
        groups.append((label, pos[rows], float(base)))
    if too_small:
        notes.append(
            f"slices not evaluated, fewer than min_rows={min_rows} labelled rows: "
            + ", ".join(too_small)
        )

    scored: list[_Scored] = []
    for label, sel, base in groups:
        y_g, out_g = lab[sel], out[sel]
        try:
            value = _score(m, y_g, out_g, classes)
        except ValueError as exc:
            if label == "overall":
                return CheckResult(
                    check, "skip", f"{m.name} is undefined here: {exc}", None, RUBRIC_ID, metrics
                )
            notes.append(f"slice {label} not evaluated: {exc}")
            continue
        se = _standard_error(m, y_g, out_g, classes, seed)
        allowed = abs_tolerance + rel_tolerance * abs(base)
        limit = allowed + se_multiplier * (se if math.isfinite(se) else 0.0)
        drop = (base - value) if m.greater_is_better else (value - base)
        degraded = not math.isfinite(value) or drop > limit
        scored.append(_Scored(label, len(sel), value, base, se, allowed, degraded))

    overall = scored[0]
    if math.isfinite(overall.value):
        metrics["value"] = overall.value
    if math.isfinite(overall.se):
        metrics["standard_error"] = overall.se
    rows_out = []
    failing = [s for s in scored if s.degraded]
    for s in failing or scored:
        sign = -1 if m.greater_is_better else 1
        noise = se_multiplier * (s.se if math.isfinite(s.se) else 0.0)
        bound = s.baseline + sign * (s.allowed + noise)
        op = ">=" if m.greater_is_better else "<="
        rows_out.append(
            (
                s.label,
                "vs baseline",
                m.name,
                f"{s.allowed:.3g} + {se_multiplier:g}*SE({s.se:.2g})",
                f"{s.value:.4g}",
                f"{op} {bound:.4g} (baseline {s.baseline:.4g})",
                s.n,
                "-",
            )
        )
    if failing:
        names_failing = ", ".join(s.label for s in failing)
        return CheckResult(
            check,
            "fail",
            f"{m.name} regressed on {names_failing} ({method})",
            findings_table(rows_out),
            RUBRIC_ID,
            metrics,
            tuple(notes),
        )
    return CheckResult(
        check,
        "pass",
        f"{m.name} {overall.value:.4g} on {n} labelled serving rows, baseline "
        f"{overall.baseline:.4g}; {len(scored) - 1} slices checked ({method})",
        findings_table(rows_out),
        RUBRIC_ID,
        metrics,
        tuple(notes),
    )


@library_check
def prediction_bias(
    predictions: object,
    labels: object,
    slices_df: pd.DataFrame | None = None,
    slices: Sequence[str] | None = None,
    *,
    tolerance: float | None = None,
    se_multiplier: float = DEFAULT_BIAS_SE,
    min_rows: int = DEFAULT_BIAS_MIN_ROWS,
    classes: Sequence[Any] | None = None,
    positive: object = None,
) -> CheckResult:
    """Mean prediction minus mean label, overall and per slice, flagged beyond tolerance.

    ``predictions`` is 1-D (a regression value, or the positive-class probability with
    ``positive`` naming the positive label, or 0/1 labels) or 2-D class probabilities with
    ``classes`` in column order; for those the bias is the mean predicted probability of each
    class minus the share of rows labelled with it (binary: the positive class only). A group
    fails when ``|bias| > tolerance + se_multiplier * SE``, SE being the standard error of the
    mean paired difference, so the rule holds at any n. ``tolerance`` defaults to 0.02 (two
    percentage points) for probabilities and to 0.05 label standard deviations for values.
    Rows without a label are ignored; groups with fewer than ``min_rows`` are not evaluated.
    """
    import pandas as pd

    check = "prediction_bias"
    pred = np.asarray(predictions)
    lab = _as_array(labels)
    if pred.ndim not in (1, 2) or lab.ndim != 1 or len(pred) != len(lab):
        raise ValueError(
            f"predictions (shape {pred.shape}) and labels (shape {lab.shape}) must have one "
            "entry per row"
        )
    if pred.dtype.kind not in "fiub":
        example = short(pred.ravel()[0]) if pred.size else "-"
        raise ValueError(
            f"predictions must be numbers (probabilities or values), got {pred.dtype} such as "
            f"{example}: pass predict_proba output for a classifier"
        )
    require_non_negative(tolerance, "tolerance", allow_none=True)
    require_non_negative(se_multiplier, "se_multiplier")
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 2:
        raise ValueError(f"min_rows: expected an integer >= 2, got {min_rows!r}")
    names: list[str] = []
    if slices_df is not None:
        sdf = require_frame(slices_df, "slices_df")
        if len(sdf) != len(lab):
            raise ValueError(f"slices_df has {len(sdf)} rows but labels has {len(lab)}")
        names = require_names(slices, "slices") if slices is not None else list(sdf.columns)
        require_columns(sdf, names, what="slices_df", arg="slices")
    elif slices:
        raise ValueError("slices: given without slices_df holding those columns")

    labelled = _labelled_mask(lab)
    # One (name, predicted, observed) triple per target: a class, or the value itself.
    targets: list[tuple[str, npt.NDArray[np.float64], npt.NDArray[np.float64]]] = []
    is_proba = True
    if pred.ndim == 2:
        if classes is None or len(classes) != pred.shape[1]:
            raise ValueError(
                f"predictions has {pred.shape[1]} columns: pass classes= with one label per column"
            )
        cls = list(classes)
        chosen = [1] if len(cls) == 2 else range(len(cls))
        for j in chosen:
            targets.append(
                (
                    f"class {_plain(cls[j])}",
                    pred[:, j].astype(float),
                    (lab == cls[j]).astype(float),
                )
            )
    else:
        if positive is not None:
            y = (lab == positive).astype(float)
            targets.append((f"class {_plain(positive)}", pred.astype(float), y))
        else:
            try:
                y = pd.to_numeric(pd.Series(lab[labelled]), errors="raise").to_numpy(float)
            except (TypeError, ValueError):
                raise ValueError(
                    "labels are not numeric: pass positive= (the label that a probability of 1 "
                    "means) or 2-D probabilities with classes="
                ) from None
            full = np.full(len(lab), np.nan)
            full[labelled] = y
            predf = pred.astype(float)
            finite = predf[np.isfinite(predf)]
            is_proba = bool(
                finite.size
                and finite.min() >= 0
                and finite.max() <= 1
                and np.isin(y, (0.0, 1.0)).all()
            )
            targets.append(("value" if not is_proba else "class 1", predf, full))
    if tolerance is None:
        if is_proba:
            tol = DEFAULT_PROBA_BIAS_TOLERANCE
            tol_text = f"{tol:g} (probability)"
        else:
            sd = float(np.nanstd(targets[0][2][labelled], ddof=1)) if labelled.sum() > 1 else 0.0
            tol = DEFAULT_VALUE_BIAS_TOLERANCE_SD * sd
            tol_text = f"{tol:.3g} ({DEFAULT_VALUE_BIAS_TOLERANCE_SD:g} label SD)"
    else:
        tol = float(tolerance)
        tol_text = f"{tol:g}"
    method = f"mean prediction - mean label; fail when |bias| > {tol_text} + {se_multiplier:g}*SE"
    n_lab = int(labelled.sum())
    metrics: dict[str, float] = {"labelled_rows": float(n_lab), "tolerance": tol}
    if n_lab < min_rows:
        return CheckResult(
            check,
            "skip",
            f"{plural(n_lab, 'labelled row')}, fewer than min_rows={min_rows}",
            None,
            RUBRIC_ID,
            metrics,
        )
    findings: list[tuple[Any, ...]] = []
    bad_pred = labelled & ~np.all(np.isfinite(pred.astype(float)).reshape(len(pred), -1), axis=1)
    if bad_pred.any():
        idx = np.flatnonzero(bad_pred)
        findings.append(
            (
                "prediction",
                "finite predictions",
                "NaN/inf count",
                "0",
                int(bad_pred.sum()),
                "0",
                int(bad_pred.sum()),
                "rows " + ", ".join(map(str, idx[:5])),
            )
        )
    usable = labelled & ~bad_pred
    groups: list[tuple[str, npt.NDArray[np.bool_]]] = [("overall", usable)]
    too_small: list[str] = []
    if names:
        for col, value, rows in _slice_groups(sdf, names, usable):
            label = _slice_label(col, value)
            if rows.sum() < min_rows:
                too_small.append(f"{label} (n={int(rows.sum())})")
            else:
                groups.append((label, rows))
    rows_out: list[tuple[Any, ...]] = []
    flagged_rows: list[tuple[Any, ...]] = []
    evaluated = 0
    for gname, rows in groups:
        nrows = int(rows.sum())
        if nrows < min_rows:
            continue
        for tname, p, y in targets:
            diff = p[rows] - y[rows]
            bias = float(diff.mean())
            se = float(diff.std(ddof=1) / math.sqrt(nrows))
            limit = tol + se_multiplier * se
            evaluated += 1
            where = (
                gname
                if len(targets) == 1 and tname in ("value", "class 1")
                else (f"{gname} [{tname}]")
            )
            if gname == "overall" and tname == targets[0][0]:
                metrics.update(bias=bias, standard_error=se)
            row = (
                where,
                "mean(pred) - mean(label)",
                "bias",
                f"{tol:.3g} + {se_multiplier:g}*SE({se:.2g})",
                f"{bias:+.4g} (pred {p[rows].mean():.4g}, label {y[rows].mean():.4g})",
                f"|bias| <= {limit:.3g}",
                nrows,
                "-",
            )
            rows_out.append(row)
            if abs(bias) > limit:
                flagged_rows.append(row)
    notes = []
    if too_small:
        notes.append(
            f"slices not evaluated, fewer than min_rows={min_rows} labelled rows: "
            + ", ".join(too_small)
        )
    if evaluated == 0:
        reason = "no group with enough usable rows"
        return CheckResult(check, "skip", reason, None, RUBRIC_ID, metrics, tuple(notes))
    if flagged_rows or findings:
        return CheckResult(
            check,
            "fail",
            f"prediction bias beyond tolerance in {plural(len(flagged_rows), 'group')}"
            + (f" and {plural(len(findings), 'other problem')}" if findings else "")
            + f" ({method})",
            findings_table(findings + flagged_rows),
            RUBRIC_ID,
            metrics,
            tuple(notes),
        )
    return CheckResult(
        check,
        "pass",
        f"prediction bias within tolerance in {plural(evaluated, 'group')} ({method})",
        findings_table(rows_out),
        RUBRIC_ID,
        metrics,
        tuple(notes),
    )


# -- built-in check ----------------------------------------------------------------------------
def baseline_name(ctx: CheckContext) -> str:
    """The labelled data the serving quality is compared with: validation, else training."""
    return "validation" if ctx.assets.datasets.get("validation") is not None else "training"


def needs_baseline(ctx: CheckContext) -> str | None:
    """labelled `validation` (or `training`) dataset, the baseline"""
    name = baseline_name(ctx)
    spec = ctx.assets.datasets.get(name)
    if spec is None:
        return (
            "no baseline to compare serving quality with: configure a 'validation' (or "
            "'training') dataset with a target"
        )
    if spec.target is None:
        return f"dataset {name!r} names no target column ([{spec.key}] target = ...)"
    if (absent := ctx.assets.unavailable("dataset", name)) is not None:
        return f"dataset {name!r} is optional and not available: {absent}"
    return None


def run_prediction_quality(ctx: CheckContext) -> CheckResult:
    base = baseline_name(ctx)
    base_X, base_y = ctx.labelled("default", base)
    model_ = ctx.model("default")
    baseline, _ = quality_baseline(model_, base_X, base_y, ctx.params["metric"])
    X, y = ctx.labelled("default", "serving")
    return prediction_quality(
        model_,
        X,
        y,
        baseline,
        ctx.params["metric"],
        abs_tolerance=ctx.params["abs_tolerance"],
        rel_tolerance=ctx.params["rel_tolerance"],
        min_rows=ctx.params["min_rows"],
    )


PREDICTION_QUALITY = BuiltinCheck(
    "monitor-7",
    "prediction-quality",
    "quality on labelled serving rows holds against the baseline",
    (model("default"), dataset("serving", column="target"), needs_baseline),
    run_prediction_quality,
    (
        METRIC,
        Param("abs_tolerance", "number", 0.02, "allowed absolute loss of quality"),
        Param("rel_tolerance", "number", 0.05, "allowed relative loss of quality"),
        Param("min_rows", "integer", 100, "labelled serving rows needed for a verdict", 1),
    ),
    declines=(
        "the model cannot take the data's columns; fewer than `min_rows` labelled serving rows"
    ),
)

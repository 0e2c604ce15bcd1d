"""model-6, model quality is sufficient on important data slices.

A slice is named in one of three ways:

- a categorical column (text, category or boolean dtype, or integers with at most
  ``max_levels`` distinct values): one slice per value, plus one for missing values;
- a numeric column: ``bins`` quantile bins of that column over the rows checked (ties can merge
  bins), plus one slice for missing values;
- a pandas query string such as ``"age > 60"`` or ``"island == 'Dream' and sex == 'male'"``:
  the rows where it holds.

Each slice with at least ``min_slice_size`` labelled rows is judged: its metric must reach the
``absolute_floor`` (when set) and be no worse than the overall metric by more than the allowed gap
(``tolerance`` in metric units, else ``relative_tolerance`` times the overall value). Smaller
slices are listed as "too small to judge"; when no slice can be judged the check is skipped.

The gap is the effect size; on top of it a slice gets the allowance chance gives at its size. A
seeded bootstrap over the slice's labelled rows (the model outputs are computed once and
resampled, never re-predicted) gives a ``confidence`` percentile interval of the slice's metric,
and the slice fails only when that interval lies wholly on the wrong side of the requirement:
one misclassified row moves a 50-row slice's accuracy by 2 points, and such a dip is not a
finding. ``confidence = 0`` turns the allowance off (point values are compared).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ...arguments import missing_columns_error, require_frame
from ...assets import AssetError
from ...builtin import METRIC, BuiltinCheck, CheckContext, Param, model, needs_holdout, setting
from ...evaluation import (
    allowed_gap,
    bootstrap_scores,
    bound,
    check_bootstrap,
    check_positive,
    describe_gap,
    fmt,
    gain,
    labelled,
    labels_of,
    model_input,
    outputs,
    percentile_interval,
    positive_for,
    predicate_error,
    resolve_metric,
    score,
    try_score,
)
from ...metrics import Metric
from ...modeling import classes_of
from ...result import CheckResult, Figure, Table, figure_line, library_check

if TYPE_CHECKING:
    import pandas as pd

CHECK = "model-6 quality on important slices"

Mask = npt.NDArray[np.bool_]


def join_attributes(X: pd.DataFrame, attributes: pd.DataFrame | None, what: str) -> pd.DataFrame:
    """``X`` plus the columns of ``attributes`` (rows aligned by position) for slicing/grouping.

    Attributes let a caller slice or group by columns the model does not take as features (a
    protected attribute, a country code).
    """
    import pandas as pd

    frame = X.reset_index(drop=True)
    if attributes is None:
        return frame
    attrs = require_frame(attributes, "attributes")
    if len(attrs) != len(frame):
        raise ValueError(f"{what}: attributes have {len(attrs)} rows but X has {len(frame)}")
    extra = attrs.reset_index(drop=True)[[c for c in attrs.columns if c not in frame.columns]]
    return pd.concat([frame, extra], axis=1)


def _is_categorical(series: pd.Series, max_levels: int) -> bool:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return True
    # few distinct numbers (a 0/1 flag stored as float, a rating) are levels, not a range
    return bool(series.nunique() <= max_levels)


def _column_slices(
    frame: pd.DataFrame, col: Any, bins: int, max_levels: int
) -> list[tuple[str, Mask]]:
    import pandas as pd

    series = frame[col]
    missing = np.asarray(series.isna(), dtype=bool)
    out: list[tuple[str, Mask]] = []
    if _is_categorical(series, max_levels):
        values = pd.unique(series[~missing])
        try:
            values = sorted(values)
        except TypeError:
            values = sorted(values, key=str)
        for value in values:
            out.append((f"{col} = {value}", np.asarray(series == value, dtype=bool) & ~missing))
    else:
        x = np.asarray(series, dtype=float)
        present = x[~missing]
        edges = np.unique(np.quantile(present, np.linspace(0.0, 1.0, bins + 1)))
        if len(edges) == 1:
            out.append((f"{col} = {fmt(float(edges[0]))}", ~missing))
        else:
            which = np.searchsorted(edges[1:-1], x, side="right")
            last = len(edges) - 2
            for k in range(last + 1):
                close = "]" if k == last else ")"
                label = f"{col} in [{fmt(float(edges[k]))}, {fmt(float(edges[k + 1]))}{close}"
                out.append((label, (which == k) & ~missing))
    if missing.any():
        out.append((f"{col} is missing", missing))
    return out


def slice_masks(
    frame: pd.DataFrame, slices: Sequence[str], *, bins: int = 4, max_levels: int = 10
) -> list[tuple[str, Mask]]:
    """Name and row mask of every slice that ``slices`` describes (see the module docstring).

    A name that looks like a column but is not one is a ValueError with close matches; any other
    string is evaluated as a pandas query predicate and must give one boolean per row.
    """
    import pandas as pd

    check_positive("bins", bins)
    if isinstance(slices, str):
        raise ValueError(f"slices must be a list of column names or predicates, got {slices!r}")
    out: list[tuple[str, Mask]] = []
    for spec in slices:
        if not isinstance(spec, str) or not spec.strip():
            raise ValueError(f"each slice must be a column name or a predicate, got {spec!r}")
        if spec in frame.columns:
            out.extend(_column_slices(frame, spec, bins, max_levels))
            continue
        if spec.isidentifier():
            raise missing_columns_error([spec], list(frame.columns), arg="slices", what="the data")
        try:
            result = frame.eval(spec)
        except Exception as exc:
            raise predicate_error(spec, frame, exc) from None
        if not isinstance(result, pd.Series) or not pd.api.types.is_bool_dtype(result):
            raise ValueError(f"slice predicate {spec!r} must give one True/False per row")
        out.append((spec, np.asarray(result.fillna(False), dtype=bool)))
    return out


def _shortfalls(
    met: Metric, value: float, overall: float, gap: float, absolute_floor: float | None
) -> tuple[bool, bool]:
    """Whether ``value`` misses the floor; whether it trails ``overall`` by more than ``gap``."""
    below_floor = absolute_floor is not None and gain(met, value, absolute_floor) < 0
    return below_floor, gain(met, value, overall) < -gap


@library_check
def slice_quality(
    model: Any,
    X: pd.DataFrame,
    y: Any,
    slices: Sequence[str],
    *,
    metric: str | Metric | None = None,
    min_slice_size: int = 30,
    absolute_floor: float | None = None,
    tolerance: float | None = None,
    relative_tolerance: float = 0.05,
    confidence: float = 0.95,
    n_bootstrap: int = 200,
    seed: int = 0,
    bins: int = 4,
    max_levels: int = 10,
    attributes: pd.DataFrame | None = None,
) -> CheckResult:
    """model-6: the metric on each slice reaches a floor and stays near the overall metric.

    The requirement is ``absolute_floor`` (when set) and the overall metric less ``tolerance``
    (metric units; default ``relative_tolerance`` x the overall value). A slice fails when its
    value misses the requirement and so does the whole ``confidence`` bootstrap percentile
    interval of its metric (``n_bootstrap`` resamples of its rows, ``seed``): only shortfalls
    chance cannot explain at the slice's size fail. ``confidence = 0`` compares point values. A
    resample on which the metric is undefined is dropped; when over half are, the slice is judged
    on its point value. The overall value's own uncertainty is not added: every slice is part of
    the rows behind it, and for a mean-like metric var(slice - overall) = var(slice) x (1 - share
    of rows in the slice), so the slice's interval alone is already at least as wide as that of
    its gap. Slices under ``min_slice_size`` labelled rows are reported, not judged.
    """
    frame = join_attributes(require_frame(X, "X"), attributes, "model-6")
    check_positive("min_slice_size", min_slice_size)
    check_positive("relative_tolerance", relative_tolerance, allow_zero=True)
    if tolerance is not None:
        check_positive("tolerance", tolerance, allow_zero=True)
    check_bootstrap(n_bootstrap, confidence)
    masks = slice_masks(frame, slices, bins=bins, max_levels=max_levels)
    met = resolve_metric(metric, model, y)
    labels = labels_of(y, len(frame))
    has_label = labelled(labels)
    n_lab = int(has_label.sum())
    if n_lab == 0:
        return CheckResult(CHECK, "skip", "no labelled rows to score", rubric_id="model-6")
    rows_idx = np.flatnonzero(has_label)
    view = model_input(model, X)
    out = outputs(model, view.iloc[rows_idx], met)
    yl = labels[rows_idx]
    classes = classes_of(model)
    positive = positive_for(met, yl)
    overall = score(met, yl, out, classes, positive)
    gap = allowed_gap(overall, tolerance, relative_tolerance)
    relative_req = overall - gap if met.greater_is_better else overall + gap
    if absolute_floor is None:
        required = relative_req
    elif met.greater_is_better:
        required = max(relative_req, absolute_floor)
    else:
        required = min(relative_req, absolute_floor)
    pct = f"{confidence * 100:g}%"
    side = "below" if met.greater_is_better else "above"

    failing: list[tuple[Any, ...]] = []
    ok: list[tuple[Any, ...]] = []
    small: list[tuple[Any, ...]] = []
    values: list[float] = []
    plotted: list[dict[str, Any]] = []
    within_chance = 0
    undefined = 0
    for name, mask in masks:
        m = mask[rows_idx]
        n = int(m.sum())
        if n < min_slice_size:
            small.append((name, n, None, "-", "-", f"too small to judge (< {min_slice_size} rows)"))
            continue
        value = try_score(met, yl[m], out[m], classes, positive)
        if value is None:
            small.append((name, n, None, "-", "-", f"{met.name} undefined on this slice"))
            continue
        values.append(value)
        below_floor, below_overall = _shortfalls(met, value, overall, gap, absolute_floor)
        interval_text, note = "-", ""
        lo: float | None = None
        hi: float | None = None
        if confidence > 0:
            boots = bootstrap_scores(met, yl[m], out[m], classes, positive, n_bootstrap, seed)
            n_undefined = int(np.isnan(boots).sum())
            if 2 * n_undefined > n_bootstrap:
                undefined += 1
                interval_text = "interval undefined"
                note = (
                    f"interval undefined ({met.name} undefined on {n_undefined} of "
                    f"{n_bootstrap} resamples), judged on the point value"
                )
            else:
                lo, hi = percentile_interval(boots, confidence)
                interval_text = f"[{lo:.4g}, {hi:.4g}]"
                # the allowance only ever spares a slice: fail when the point value and the
                # interval's most favourable end both miss the requirement
                best = hi if met.greater_is_better else lo
                floor_b, overall_b = _shortfalls(met, best, overall, gap, absolute_floor)
                spared = (below_floor or below_overall) and not (floor_b or overall_b)
                below_floor, below_overall = below_floor and floor_b, below_overall and overall_b
                if spared:
                    within_chance += 1
                    note = f"{pct} interval reaches {required:.4g}: the shortfall is within chance"
                elif below_floor or below_overall:
                    note = f"{pct} interval wholly {side} {required:.4g}"
        reasons = []
        if below_floor:
            reasons.append(f"worse than floor {absolute_floor:g}")
        if below_overall:
            reasons.append(f"worse than overall {overall:.4g} by {abs(value - overall):.4g}")
        status = "; ".join([*(reasons or ["ok"]), *([note] if note else [])])
        row = (name, n, value, interval_text, bound(met, required), status)
        (failing if reasons else ok).append(row)
        verdict_of_slice = (
            "fail" if reasons else ("within chance" if "within chance" in note else "ok")
        )
        plotted.append(
            {
                "label": name,
                "value": value,
                "low": lo,
                "high": hi,
                "n": n,
                "status": verdict_of_slice,
            }
        )

    floor_text = f"floor {absolute_floor:g} and " if absolute_floor is not None else ""
    if confidence > 0:
        allowance = (
            f"; a slice fails when its {pct} bootstrap interval ({n_bootstrap} resamples of its "
            f"rows, seed {seed}) lies wholly {side} the requirement"
        )
    else:
        allowance = "; point values compared, no allowance for chance (confidence = 0)"
    method = (
        f"{met.name} per slice on {n_lab} labelled rows against {floor_text}the overall "
        f"{met.name} {overall:.4g} within {describe_gap(gap, tolerance, relative_tolerance)} "
        f"(slices of at least {min_slice_size} rows){allowance}"
    )
    table = Table(
        ("slice", "rows", met.name, "interval", "required", "status"),
        tuple(failing + ok + small),
    )
    metrics = {
        "overall": overall,
        "required": required,
        "confidence": float(confidence),
        "slices_judged": float(len(values)),
        "slices_failed": float(len(failing)),
        "slices_within_chance": float(within_chance),
        "slices_interval_undefined": float(undefined),
        "slices_too_small": float(len(small)),
    }
    if values:
        metrics["worst_slice"] = min(values) if met.greater_is_better else max(values)
    figures = (
        Figure(
            "intervals",
            f"{met.name} per slice" + (f", {pct} bootstrap intervals" if confidence > 0 else ""),
            {
                "metric": met.name,
                "rows": plotted,
                "lines": [figure_line("required", required), figure_line("overall", overall)],
                "higher_is_better": met.greater_is_better,
            },
            bool(failing),
        ),
    )
    notes = (
        [f"{len(has_label) - n_lab} rows without a label left out"] if n_lab < len(labels) else []
    )
    if not values:
        return CheckResult(
            CHECK,
            "skip",
            f"no slice has enough labelled rows to judge: {method}",
            table,
            "model-6",
            metrics,
            tuple(notes),
            figures if values else (),
        )
    if failing:
        beyond = " beyond chance" if confidence > 0 else ""
        return CheckResult(
            CHECK,
            "fail",
            f"{len(failing)} of {len(values)} judged slices below the requirement{beyond}: "
            f"{method}",
            table,
            "model-6",
            metrics,
            tuple(notes),
            figures if values else (),
        )
    return CheckResult(
        CHECK,
        "pass",
        f"all {len(values)} judged slices meet the requirement: {method}",
        table,
        "model-6",
        metrics,
        tuple(notes),
        figures,
    )


# -- built-in check ----------------------------------------------------------------------------
def labelled_attributes(ctx: CheckContext, ds: str, columns: Sequence[str]) -> pd.DataFrame:
    """The labelled rows of ``ds`` with every column, to take slice or group attributes from."""
    frame = ctx.assets.frame(ds)
    spec = ctx.assets.dataset_spec(ds)
    keep = ctx.assets.y(ds).notna().to_numpy()
    plain = [c for c in columns if c in frame.columns]
    if not plain and columns and all(c.isidentifier() for c in columns):
        raise AssetError(f"[{spec.key}]: none of {', '.join(columns)} is a column of the data")
    return frame[keep]


def run_slice_quality(ctx: CheckContext) -> CheckResult:
    ds = ctx.holdout_name()
    X, y = ctx.labelled("default", ds)
    return slice_quality(
        ctx.model("default"),
        X,
        y,
        list(ctx.settings.slices),
        metric=ctx.params["metric"],
        min_slice_size=ctx.params["min_slice_size"],
        absolute_floor=ctx.params["absolute_floor"],
        relative_tolerance=ctx.params["relative_tolerance"],
        confidence=ctx.params["confidence"],
        n_bootstrap=ctx.params["n_bootstrap"],
        attributes=labelled_attributes(ctx, ds, ctx.settings.slices),
    )


SLICE_QUALITY = BuiltinCheck(
    "model-6",
    "slice-quality",
    "quality holds on every configured slice",
    (model("default"), needs_holdout, setting("slices", "slices")),
    run_slice_quality,
    (
        METRIC,
        Param(
            "min_slice_size",
            "integer",
            30,
            "slices smaller than this are reported, not judged",
            1,
        ),
        Param("absolute_floor", "number", None, "metric value every slice must reach"),
        Param(
            "relative_tolerance",
            "number",
            0.05,
            "allowed shortfall of a slice relative to overall",
        ),
        Param(
            "confidence",
            "number",
            0.95,
            "a slice fails only when this bootstrap interval misses the requirement (0: off)",
            0.0,
            0.999,
        ),
        Param("n_bootstrap", "integer", 200, "bootstrap resamples per slice", 100),
    ),
    kinds="slice columns: categorical, bool, numeric (quantile bins)",
    declines="the model cannot take the data's columns; no slice of `min_slice_size` labelled rows",
)

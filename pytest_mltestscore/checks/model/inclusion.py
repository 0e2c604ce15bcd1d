"""model-7, the model is tested for considerations of inclusion.

Rows are grouped by each protected attribute (and, with ``intersectional=True``, by the
combination of all of them). Groups with fewer than ``min_group_size`` labelled rows are listed
but not judged.

Classification, with one positive class: per group the selection rate P(pred = positive), the
true-positive rate, the false-positive rate and the accuracy; across the judged groups of one
attribute:

- demographic-parity difference: largest minus smallest selection rate;
- disparate-impact ratio: smallest over largest selection rate (the four-fifths rule: >= 0.8);
- equalized-odds difference: the larger of the TPR range and the FPR range;
- accuracy difference (judged only when ``max_accuracy_difference`` is set).

Regression: per group the error metric (RMSE or MAE) and the bias (mean prediction minus mean
label); across groups the error ratio (worst over best) and the bias difference.

A measure fails when it is beyond its threshold (the effect-size gate) *and* the gap between the
two groups that set it exceeds ``z`` standard errors of that gap (Agresti-Caffo for rates, Welch
for means), so a gap that chance alone explains on small groups is reported, not failed. With
large groups the standard error vanishes and the threshold alone decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ...arguments import require_columns, require_frame
from ...builtin import BuiltinCheck, CheckContext, Param, model, needs_holdout, setting
from ...evaluation import (
    check_fraction,
    check_positive,
    labelled,
    labels_of,
    model_input,
    resolve_metric,
)
from ...metrics import Metric, _default_positive
from ...modeling import infer_task
from ...result import CheckResult, Figure, Table, figure_line, library_check
from .slices import join_attributes, labelled_attributes

if TYPE_CHECKING:
    import pandas as pd

CHECK = "model-7 inclusion"
_MISSING = "<missing>"


@dataclass(frozen=True)
class _Rate:
    """A proportion k/n with its Agresti-Caffo adjusted variance term."""

    k: int
    n: int

    @property
    def value(self) -> float:
        return self.k / self.n if self.n else float("nan")

    @property
    def var(self) -> float:
        p = (self.k + 1) / (self.n + 2)
        return p * (1 - p) / (self.n + 2)


@dataclass(frozen=True)
class _Mean:
    """A mean of per-row values with the variance of that mean."""

    value: float
    var: float


_Z95 = 1.959964


def _rate_row(group: Any, rate: _Rate) -> dict[str, Any]:
    """A group's rate with its 95% interval (Agresti-Caffo centre and variance), for a figure."""
    centre = (rate.k + 1) / (rate.n + 2)
    half = _Z95 * float(np.sqrt(rate.var))
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    return {"label": str(group), "value": rate.value, "low": low, "high": high, "n": rate.n}


def _error_row(group: Any, loss: _Mean, n: int, root: bool) -> dict[str, Any]:
    """A group's error (mean loss, or its root) with a 95% interval of the mean, for a figure."""
    half = _Z95 * float(np.sqrt(loss.var))
    low, high = max(0.0, loss.value - half), loss.value + half
    if root:
        return {
            "label": str(group),
            "value": float(np.sqrt(loss.value)),
            "low": float(np.sqrt(low)),
            "high": float(np.sqrt(high)),
            "n": n,
        }
    return {"label": str(group), "value": loss.value, "low": low, "high": high, "n": n}


@dataclass(frozen=True)
class _Measure:
    family: str
    name: str
    value: float
    threshold: float | None
    larger_is_worse: bool
    groups: str
    gap: float
    se: float

    def beyond(self) -> bool:
        if self.threshold is None or not np.isfinite(self.value):
            return False
        if self.larger_is_worse:
            return self.value > self.threshold
        return self.value < self.threshold


def _group_keys(
    frame: pd.DataFrame, protected: list[str], intersectional: bool
) -> list[tuple[str, npt.NDArray[Any]]]:
    """Per family (one attribute, or their intersection) the group label of every row."""
    families: list[tuple[str, npt.NDArray[Any]]] = []
    for col in protected:
        series = frame[col]
        labels = np.where(series.isna(), _MISSING, series.astype(str).to_numpy(dtype=object))
        families.append((col, np.array([f"{col}={v}" for v in labels], dtype=object)))
    if intersectional and len(protected) > 1:
        combined = families[0][1]
        for _, labels in families[1:]:
            combined = np.array([f"{a} & {b}" for a, b in zip(combined, labels, strict=True)])
        families.append((" & ".join(protected), combined))
    return families


def _spread(
    stats: dict[str, Any], family: str, name: str, threshold: float | None, kind: str = "range"
) -> _Measure:
    """Range (or ratio) of one statistic across groups, with the SE of the extreme pair's gap."""
    valid = {g: s for g, s in stats.items() if np.isfinite(s.value) and getattr(s, "n", 1) > 0}
    if len(valid) < 2:
        return _Measure(family, name, float("nan"), threshold, True, "-", 0.0, 0.0)
    hi = max(valid, key=lambda g: (valid[g].value, g))
    lo = min(valid, key=lambda g: (valid[g].value, g))
    gap = valid[hi].value - valid[lo].value
    se = float(np.sqrt(valid[hi].var + valid[lo].var))
    pair = f"{hi} vs {lo}"
    if kind == "ratio":
        ratio = valid[lo].value / valid[hi].value if valid[hi].value > 0 else 1.0
        return _Measure(family, name, ratio, threshold, False, pair, gap, se)
    return _Measure(family, name, gap, threshold, True, pair, gap, se)


def _error_ratio(losses: dict[str, _Mean], family: str, threshold: float, root: bool) -> _Measure:
    valid = {g: m for g, m in losses.items() if np.isfinite(m.value)}
    if len(valid) < 2:
        return _Measure(
            family, "error ratio (worst / best)", float("nan"), threshold, True, "-", 0, 0
        )
    worst = max(valid, key=lambda g: (valid[g].value, g))
    best = min(valid, key=lambda g: (valid[g].value, g))
    w, b = valid[worst].value, valid[best].value
    if root:
        w, b = float(np.sqrt(w)), float(np.sqrt(b))
    ratio = w / b if b > 0 else (1.0 if w == 0 else float("inf"))
    gap = valid[worst].value - valid[best].value
    se = float(np.sqrt(valid[worst].var + valid[best].var))
    return _Measure(
        family, "error ratio (worst / best)", ratio, threshold, True, f"{worst} vs {best}", gap, se
    )


def _mean(values: npt.NDArray[np.float64]) -> _Mean:
    n = len(values)
    var = float(np.var(values, ddof=1)) / n if n > 1 else float("inf")
    return _Mean(float(np.mean(values)), var)


@library_check
def inclusion(
    model: Any,
    X: pd.DataFrame,
    y: Any,
    protected: str | Sequence[str],
    *,
    attributes: pd.DataFrame | None = None,
    positive: Any = None,
    intersectional: bool = False,
    min_group_size: int = 30,
    max_parity_difference: float = 0.1,
    min_disparate_impact: float = 0.8,
    max_equalized_odds_difference: float = 0.1,
    max_accuracy_difference: float | None = None,
    metric: str | Metric | None = None,
    max_error_ratio: float = 1.25,
    max_bias_difference: float | None = None,
    z: float = 2.0,
) -> CheckResult:
    """model-7: outcomes and quality are comparable across the groups of protected attributes.

    ``protected`` names columns of ``X`` or of ``attributes`` (a frame aligned with ``X`` by row
    position, for attributes the model does not see). ``positive`` is the favourable class
    (required for more than two classes). For regression, ``max_bias_difference`` defaults to
    0.1 standard deviation of the labels.
    """
    frame = join_attributes(require_frame(X, "X"), attributes, "model-7")
    names = [protected] if isinstance(protected, str) else list(protected)
    if not names:
        raise ValueError("protected must name at least one column")
    require_columns(frame, names, arg="protected", what="X or attributes")
    check_positive("min_group_size", min_group_size)
    check_positive("z", z, allow_zero=True)
    check_fraction("max_parity_difference", max_parity_difference)
    check_fraction("min_disparate_impact", min_disparate_impact)
    check_fraction("max_equalized_odds_difference", max_equalized_odds_difference)
    if max_accuracy_difference is not None:
        check_fraction("max_accuracy_difference", max_accuracy_difference)
    check_positive("max_error_ratio", max_error_ratio)

    labels = labels_of(y, len(frame))
    keep = labelled(labels)
    if not keep.any():
        return CheckResult(CHECK, "skip", "no labelled rows to compare groups", rubric_id="model-7")
    idx = np.flatnonzero(keep)
    yl = labels[idx]
    pred = np.asarray(model.predict(model_input(model, X).iloc[idx]))
    families = [(f, g[idx]) for f, g in _group_keys(frame, names, intersectional)]
    classification = infer_task(model, y) == "classification"

    measures: list[_Measure] = []
    group_rows: list[tuple[Any, ...]] = []
    metrics: dict[str, float] = {}
    judged_families = 0
    # per attribute: (metric, rows with intervals, reference lines, higher is better)
    plots: list[tuple[str, str, list[dict[str, Any]], list[dict[str, Any]], bool]] = []
    if classification:
        pos = _resolve_positive(positive, yl, pred)
        header: tuple[str, ...] = (
            "group",
            "rows",
            "selection rate",
            "TPR",
            "FPR",
            "accuracy",
            "status",
        )
        yp, pp = yl == pos, pred == pos
        for family, groups in families:
            sr, tpr, fpr, acc = {}, {}, {}, {}
            for g in sorted(set(groups.tolist())):
                m = groups == g
                n = int(m.sum())
                if n < min_group_size:
                    group_rows.append(
                        (g, n, None, None, None, None, f"too small (< {min_group_size})")
                    )
                    continue
                sr[g] = _Rate(int(pp[m].sum()), n)
                tpr[g] = _Rate(int((pp & yp)[m].sum()), int(yp[m].sum()))
                fpr[g] = _Rate(int((pp & ~yp)[m].sum()), int((~yp)[m].sum()))
                acc[g] = _Rate(int((pred == yl)[m].sum()), n)
                group_rows.append(
                    (g, n, sr[g].value, tpr[g].value, fpr[g].value, acc[g].value, "judged")
                )
            if len(sr) < 2:
                continue
            judged_families += 1
            top = max(r.value for r in sr.values())
            plots.append(
                (
                    family,
                    f"selection rate of {pos!r}",
                    [_rate_row(g, r) for g, r in sr.items()],
                    [
                        figure_line("parity limit", top - max_parity_difference),
                        figure_line("four-fifths of the highest", min_disparate_impact * top),
                    ],
                    True,
                )
            )
            eo_tpr = _spread(tpr, family, "TPR", max_equalized_odds_difference)
            eo_fpr = _spread(fpr, family, "FPR", max_equalized_odds_difference)
            eo = (
                eo_tpr
                if not np.isfinite(eo_fpr.value)
                or (np.isfinite(eo_tpr.value) and eo_tpr.value >= eo_fpr.value)
                else eo_fpr
            )
            measures.extend(
                [
                    _spread(sr, family, "demographic parity difference", max_parity_difference),
                    _spread(sr, family, "disparate impact ratio", min_disparate_impact, "ratio"),
                    _Measure(
                        family,
                        f"equalized odds difference ({eo.name} gap)",
                        eo.value,
                        max_equalized_odds_difference,
                        True,
                        eo.groups,
                        eo.gap,
                        eo.se,
                    ),
                    _spread(acc, family, "accuracy difference", max_accuracy_difference),
                ]
            )
        subject = f"positive class {pos!r}"
    else:
        met = resolve_metric(metric, model, y)
        if met.name not in ("rmse", "mae"):
            raise ValueError(
                f"inclusion compares errors for regression: use rmse or mae, not {met.name!r}"
            )
        root = met.name == "rmse"
        yf = np.asarray(yl, dtype=float)
        resid = np.asarray(pred, dtype=float) - yf
        loss = resid**2 if root else np.abs(resid)
        bias_limit = (
            max_bias_difference if max_bias_difference is not None else 0.1 * float(np.std(yf))
        )
        header = ("group", "rows", met.name, "bias (pred - label)", "mean label", "status")
        for family, groups in families:
            losses, biases = {}, {}
            for g in sorted(set(groups.tolist())):
                m = groups == g
                n = int(m.sum())
                if n < min_group_size:
                    group_rows.append((g, n, None, None, None, f"too small (< {min_group_size})"))
                    continue
                losses[g], biases[g] = _mean(loss[m]), _mean(resid[m])
                err = float(np.sqrt(losses[g].value)) if root else losses[g].value
                group_rows.append((g, n, err, biases[g].value, float(yf[m].mean()), "judged"))
            if len(losses) < 2:
                continue
            judged_families += 1
            errors = [
                _error_row(g, loss_g, int((groups == g).sum()), root)
                for g, loss_g in losses.items()
            ]
            best = min(r["value"] for r in errors)
            plots.append(
                (
                    family,
                    met.name,
                    errors,
                    [figure_line("error ratio limit", best * max_error_ratio)],
                    False,
                )
            )
            measures.append(_error_ratio(losses, family, max_error_ratio, root))
            measures.append(_spread(biases, family, "bias difference", bias_limit))
        subject = f"{met.name} and bias (bias limit {bias_limit:.4g})"

    group_table = Table(header, tuple(group_rows))
    notes = [f"groups:\n{group_table.render(max_rows=40)}"]
    if len(idx) < len(labels):
        notes.append(f"{len(labels) - len(idx)} rows without a label left out")
    data = f"{len(idx)} labelled rows grouped by {', '.join(names)}"
    if intersectional and len(names) > 1:
        data += " and their intersection"
    if judged_families == 0:
        return CheckResult(
            CHECK,
            "skip",
            f"no protected attribute has two groups of at least {min_group_size} rows ({data})",
            Table(header, tuple(group_rows)),
            "model-7",
            notes=tuple(notes[1:]),
        )

    rows = []
    failed = []
    for m in measures:
        key = f"{m.family}.{m.name.split(' (')[0].replace(' ', '_')}"
        if np.isfinite(m.value):
            metrics[key] = m.value
        if m.threshold is None:
            status = "reported (no threshold)"
        elif not np.isfinite(m.value):
            status = "undefined (fewer than two groups with such rows)"
        elif not m.beyond():
            status = "ok"
        elif m.gap <= z * m.se:
            status = f"within chance: gap {m.gap:.3g} <= {z:g} SE ({z * m.se:.3g})"
        else:
            status = "FAIL"
            failed.append(m)
        limit = (
            "-"
            if m.threshold is None
            else f"{'<=' if m.larger_is_worse else '>='} {m.threshold:.4g}"
        )
        rows.append((m.family, m.name, m.value, limit, m.groups, status))
    rows.sort(key=lambda r: r[-1] != "FAIL")
    failed_families = {m.family for m in failed}
    figures = tuple(
        Figure(
            "intervals",
            f"{metric} by {family} (95% intervals)",
            {"metric": metric, "rows": plot_rows, "lines": lines, "higher_is_better": higher},
            family in failed_families,
        )
        for family, metric, plot_rows, lines, higher in plots
    )
    table = Table(
        ("attribute", "measure", "value", "threshold", "groups compared", "status"), tuple(rows)
    )
    method = (
        f"{subject} on {data}; groups of at least {min_group_size} rows; a measure fails "
        f"beyond its threshold when its gap exceeds {z:g} standard errors"
    )
    if failed:
        what = ", ".join(f"{m.name} for {m.family}" for m in failed[:3])
        if len(failed) > 3:
            what += f" and {len(failed) - 3} more"
        return CheckResult(
            CHECK,
            "fail",
            f"{what} beyond threshold: {method}",
            table,
            "model-7",
            metrics,
            tuple(notes),
            figures,
        )
    return CheckResult(
        CHECK,
        "pass",
        f"no group disparity beyond its threshold: {method}",
        table,
        "model-7",
        metrics,
        tuple(notes),
        figures,
    )


def _resolve_positive(positive: Any, y: npt.NDArray[Any], pred: npt.NDArray[Any]) -> Any:
    """The favourable class: given, or 1/True/the larger label of a binary target."""
    seen = sorted({*np.unique(y).tolist(), *np.unique(pred).tolist()}, key=str)
    if positive is not None:
        if positive not in seen:
            raise ValueError(
                f"positive class {positive!r} is not among the labels or predictions: {seen}"
            )
        return positive
    if len(np.unique(y)) > 2:
        raise ValueError(
            f"the target has {len(np.unique(y))} classes ({seen}); set positive= to the "
            "favourable one"
        )
    return _default_positive(y)


# -- built-in check ----------------------------------------------------------------------------
def run_inclusion(ctx: CheckContext) -> CheckResult:
    ds = ctx.holdout_name()
    X, y = ctx.labelled("default", ds)
    return inclusion(
        ctx.model("default"),
        X,
        y,
        list(ctx.settings.protected),
        attributes=labelled_attributes(ctx, ds, ctx.settings.protected),
        positive=ctx.params["positive"],
        min_group_size=ctx.params["min_group_size"],
        max_parity_difference=ctx.params["max_parity_difference"],
        min_disparate_impact=ctx.params["min_disparate_impact"],
        max_equalized_odds_difference=ctx.params["max_equalized_odds_difference"],
        intersectional=bool(ctx.params["intersectional"]),
    )


INCLUSION = BuiltinCheck(
    "model-7",
    "inclusion",
    "outcomes and errors are comparable across protected groups",
    (model("default"), needs_holdout, setting("protected", "protected attributes")),
    run_inclusion,
    (
        Param("positive", "string", None, "the favourable outcome (needed beyond two classes)"),
        Param(
            "min_group_size",
            "integer",
            30,
            "groups smaller than this are reported, not judged",
            1,
        ),
        Param("max_parity_difference", "number", 0.1, "demographic-parity difference limit"),
        Param("min_disparate_impact", "number", 0.8, "four-fifths rule ratio"),
        Param("max_equalized_odds_difference", "number", 0.1, "equalized-odds difference limit"),
        Param("intersectional", "bool", False, "also judge intersections of protected attributes"),
    ),
    kinds="protected columns: categorical, bool",
    declines=(
        "the model cannot take the data's columns; no attribute with two groups of "
        "`min_group_size` rows"
    ),
)

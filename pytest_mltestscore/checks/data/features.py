"""data-2, all features are beneficial; data-3, no feature's cost is too much.

Importance (data-2) is the drop in the metric when a feature's information is removed:

- permutation: the feature's values are shuffled among the rows (``n_repeats`` times, seeded
  per feature) and the model re-scored; mean and spread over the repeats are reported;
- leave-one-feature-out, when a trainer ``refit(train_df, seed)`` and its ``train`` frame are
  given: the model is retrained with the feature replaced by a constant (its training median, or
  most common value) and scored with the same constant in the evaluation rows. The columns stay
  the same, so a trainer that selects its columns by name still works. This ablation decides
  the verdict when present (the paper's "removal costs less than a threshold").

A feature is flagged when its importance is at or below ``min_importance`` (metric units; by
default ``relative_min_importance`` times the model's own score).

Cost (data-3) per feature: bytes per row of the column; time of its feature pipeline callable
(when given; the fastest of ``timing_repeats`` runs, the usual timeit rule); and, when a trainer
is given, the prediction time saved by a model retrained without the feature, counted only when
it exceeds both 10% of the full prediction time and three times its run-to-run spread (holding
a feature constant does not change the work most models do, so that is not timed: it would
only measure noise). Its cost share is the larger of its share of memory and its share of
serving time (all pipelines plus prediction). Timing is the one non-deterministic input; a
verdict that rests on it is only as stable as the gap between costs. Rule: a
feature is flagged when its cost share exceeds ``max_cost_share`` while its importance is at or
below the threshold. In a model with few features every column is a large share of the input,
so there data-3 flags every useless feature; in wide models it singles out the costly ones.

A model whose inputs are prepared by a transform kept apart from it
(:class:`~pytest_mltestscore.prepared.PreparedModel`: a vectorizer beside a classifier) is judged
on its raw input columns, as serving feeds it: data-2 permutes a raw column before the
transform, and data-3 adds to each raw column's cost the transform time it takes (the transform
timed on the rows with that column emptied, against the whole; counted only above 10% of the
transform's time and three times its run-to-run spread). Both say so in their result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from ...arguments import missing_columns_error, require_columns, require_frame
from ...assets import AssetError
from ...builtin import (
    METRIC,
    BuiltinCheck,
    CheckContext,
    Param,
    import_path,
    model,
    needs_holdout,
)
from ...evaluation import (
    FitFn,
    check_positive,
    column_names,
    gain,
    labelled,
    labels_of,
    model_input,
    n_rows,
    outputs,
    positive_for,
    resolve_metric,
    score,
    stacked_outputs,
    take_rows,
    with_column,
)
from ...loading import load_callable
from ...metrics import Metric
from ...modeling import classes_of, evaluate
from ...prepared import preparation, timed_preparation
from ...result import CheckResult, Table, library_check
from ...settings import Settings

if TYPE_CHECKING:
    import pandas as pd

CHECK_BENEFICIAL = "data-2 all features are beneficial"
CHECK_COST = "data-3 no feature's cost is too much"
IMPORTANCE_KEY = "importance."


def _constant(values: Any) -> Any:
    """A neutral value for a column: median of numbers, else the most common value."""
    import pandas as pd

    series = pd.Series(np.asarray(values))
    present = series.dropna()
    if present.empty:
        return np.nan
    if pd.api.types.is_numeric_dtype(present) and not pd.api.types.is_bool_dtype(present):
        return present.median()
    return present.mode().iloc[0]


def _threshold(base: float, min_importance: float | None, relative: float) -> float:
    return float(min_importance) if min_importance is not None else relative * abs(base)


def _select(names: list[str], features: Sequence[str] | None) -> list[int]:
    if features is None:
        return list(range(len(names)))
    missing = [f for f in features if f not in names]
    if missing:
        raise missing_columns_error(missing, names, arg="features", what="the model's input")
    return [names.index(f) for f in features]


@library_check
def features_beneficial(
    model: Any,
    X: Any,
    y: Any,
    *,
    metric: str | Metric | None = None,
    n_repeats: int = 5,
    seed: int = 0,
    min_importance: float | None = None,
    relative_min_importance: float = 0.005,
    features: Sequence[str] | None = None,
    refit: FitFn | None = None,
    train: pd.DataFrame | None = None,
    target: str | None = None,
    min_rows: int = 30,
) -> CheckResult:
    """data-2: every feature's removal costs more than ``min_importance`` of the metric.

    Permutation importance on ``(X, y)``; with ``refit``, ``train`` and ``target`` also
    leave-one-feature-out retraining, which then decides. ``metrics`` holds each feature's
    importance under ``"importance.<feature>"`` (read by :func:`feature_cost`).
    """
    check_positive("n_repeats", n_repeats)
    check_positive("relative_min_importance", relative_min_importance, allow_zero=True)
    if refit is not None:
        if train is None or target is None:
            raise ValueError("leave-one-feature-out needs train= (a frame) and target= with refit=")
        require_frame(train, "train")
        require_frame(X, "X (leave-one-feature-out puts a constant in its columns)")
        require_columns(train, [target], arg="target", what="train")
    view = model_input(model, X)
    names = column_names(view)
    chosen = _select(names, features)
    labels = labels_of(y, n_rows(view))
    keep = np.flatnonzero(labelled(labels))
    if len(keep) < min_rows:
        return CheckResult(
            CHECK_BENEFICIAL,
            "skip",
            f"only {len(keep)} labelled rows to measure feature importance (at least {min_rows})",
            rubric_id="data-2",
        )
    Xl, yl = take_rows(view, keep), labels[keep]
    met = resolve_metric(metric, model, yl)
    positive = positive_for(met, yl)
    classes = classes_of(model)
    base = score(met, yl, outputs(model, Xl, met), classes, positive)

    def permuted() -> Iterator[Any]:
        for j in chosen:
            rng = np.random.default_rng([seed, j])
            col = np.asarray(Xl.iloc[:, j] if hasattr(Xl, "iloc") else Xl[:, j])
            for _ in range(n_repeats):
                yield with_column(Xl, j, col[rng.permutation(len(col))])

    # every permuted copy predicted in as few calls as fit STACK_ROWS rows, in order
    drops = [
        gain(met, base, score(met, yl, out, classes, positive))
        for out in stacked_outputs(model, permuted(), met)
    ]
    perm: dict[str, tuple[float, float]] = {}
    for k, j in enumerate(chosen):
        mine = drops[k * n_repeats : (k + 1) * n_repeats]
        perm[names[j]] = (float(np.mean(mine)), float(np.std(mine)))

    lofo: dict[str, float] = {}
    notes: list[str] = []
    source = preparation(model)
    if source is not None:
        notes.append(
            f"raw input columns judged through the model's transform ({source}): each column "
            "is permuted before the transform, as serving would feed it"
        )
    if refit is not None and train is not None and target is not None:
        full = refit(train, seed)
        X_eval = take_rows(X, keep)
        lofo_base = evaluate(full, model_input(full, X_eval), yl, met)
        notes.append(f"leave-one-feature-out: retrained model scores {lofo_base:.4g}")
        for j in chosen:
            f = names[j]
            if f not in train.columns:
                notes.append(f"{f}: not a column of train, no leave-one-feature-out")
                continue
            value = _constant(train[f])
            neutral_train = train.copy()
            neutral_train[f] = value
            ablated = refit(neutral_train, seed)
            X_neutral = X_eval.copy()
            X_neutral[f] = value
            lofo[f] = gain(
                met, lofo_base, evaluate(ablated, model_input(ablated, X_neutral), yl, met)
            )

    threshold = _threshold(base, min_importance, relative_min_importance)
    rows = []
    flagged = []
    metrics: dict[str, float] = {"base_score": base, "threshold": threshold}
    for j in chosen:
        f = names[j]
        mean, sd = perm[f]
        decisive = lofo.get(f, mean)
        metrics[f"{IMPORTANCE_KEY}{f}"] = decisive
        is_low = decisive <= threshold
        if is_low:
            flagged.append(f)
        rows.append((f, mean, sd, lofo.get(f), "not beneficial" if is_low else "ok"))
    rows.sort(key=lambda r: (r[-1] == "ok", r[3] if r[3] is not None else r[1]))
    table = Table(
        (
            "feature",
            f"permutation drop in {met.name}",
            "sd over repeats",
            "leave-one-out drop",
            "status",
        ),
        tuple(rows),
    )
    method = (
        "leave-one-feature-out retraining"
        if lofo
        else f"permutation importance ({n_repeats} repeats, seed {seed})"
    )
    rule = (
        f"{threshold:.4g}"
        if min_importance is not None
        else f"{threshold:.4g} ({relative_min_importance * 100:g}% of the model's {base:.4g})"
    )
    summary = f"{met.name} drop by {method} on {len(keep)} rows, threshold {rule}"
    if flagged:
        return CheckResult(
            CHECK_BENEFICIAL,
            "fail",
            f"{len(flagged)} of {len(chosen)} features add at most the threshold "
            f"({', '.join(flagged)}): {summary}",
            table,
            "data-2",
            metrics,
            tuple(notes),
        )
    return CheckResult(
        CHECK_BENEFICIAL,
        "pass",
        f"all {len(chosen)} features are beneficial: {summary}",
        table,
        "data-2",
        metrics,
        tuple(notes),
    )


def _best_time(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Fastest wall time of ``fn`` over ``repeats`` runs, and the spread (slowest - fastest)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(min(times)), float(max(times) - min(times))


def _emptied(values: pd.Series) -> Any:
    """A cheap stand-in for a column: the empty text for strings, the median of numbers."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.median()
    if pd.api.types.is_string_dtype(values) or values.dtype == object:
        return ""
    return _constant(values)


def _transform_shares(
    prepare: Callable[[Any], Any], view: pd.DataFrame, repeats: int
) -> tuple[float, dict[str, float | None]]:
    """The transform's time on ``view``, and per raw column the time it saves when that column
    is emptied: counted only above 10% of the transform and 3x its spread (None: it failed)."""
    t_all, spread = _best_time(partial(prepare, view), repeats)
    out: dict[str, float | None] = {}
    for f in view.columns:
        emptied = view.copy()
        emptied[f] = _emptied(view[f])
        try:
            t_less = _best_time(partial(prepare, emptied), repeats)[0]
        except Exception:
            out[str(f)] = None
            continue
        delta = t_all - t_less
        out[str(f)] = delta if delta > max(3 * spread, 0.1 * t_all) else 0.0
    return t_all, out


def _importances_from(
    importances: Mapping[str, float] | CheckResult,
) -> tuple[dict[str, float], float | None]:
    if isinstance(importances, CheckResult):
        found = {
            k[len(IMPORTANCE_KEY) :]: float(v)
            for k, v in importances.metrics.items()
            if k.startswith(IMPORTANCE_KEY)
        }
        if not found:
            raise ValueError(f"the result of {importances.check!r} holds no feature importances")
        base = importances.metrics.get("base_score")
        return found, None if base is None else float(base)
    return {str(k): float(v) for k, v in importances.items()}, None


@library_check
def feature_cost(
    model: Any,
    X: pd.DataFrame,
    y: Any = None,
    importances: Mapping[str, float] | CheckResult | None = None,
    *,
    metric: str | Metric | None = None,
    pipelines: Mapping[str, Callable[[pd.DataFrame], Any]] | None = None,
    max_cost_share: float = 0.1,
    min_importance: float | None = None,
    relative_min_importance: float = 0.005,
    timing_repeats: int = 5,
    seed: int = 0,
    refit: FitFn | None = None,
    train: pd.DataFrame | None = None,
) -> CheckResult:
    """data-3: no feature takes more than ``max_cost_share`` of serving cost for little gain.

    ``importances`` is a mapping feature -> metric drop, or the result of
    :func:`features_beneficial`; when omitted it is computed from ``(X, y)``. ``pipelines``
    maps a feature to the callable that computes it from ``X`` (timed). With ``refit`` and
    ``train`` the prediction time without a feature is measured on a model retrained without it.
    """
    frame = require_frame(X, "X")
    check_positive("max_cost_share", max_cost_share, allow_zero=True)
    check_positive("timing_repeats", timing_repeats)
    pipes = dict(pipelines or {})
    view = model_input(model, frame)
    names = [str(c) for c in view.columns]
    unknown = [p for p in pipes if p not in names]
    if unknown:
        raise missing_columns_error(unknown, names, arg="pipelines", what="the model's input")
    for name, fn in pipes.items():
        if not callable(fn):
            raise ValueError(f"pipelines[{name!r}] must be a callable taking the data frame")
    if refit is not None and train is None:
        raise ValueError("refit= needs train= (the training frame) to retrain without a feature")

    base: float | None = None
    if importances is None:
        if y is None:
            raise ValueError("feature_cost needs y to measure importance, or importances=")
        result = features_beneficial(
            model,
            frame,
            y,
            metric=metric,
            seed=seed,
            min_importance=min_importance,
            relative_min_importance=relative_min_importance,
        )
        if result.verdict == "skip":
            return CheckResult(CHECK_COST, "skip", result.summary, rubric_id="data-3")
        imp, base = _importances_from(result)
    else:
        imp, base = _importances_from(importances)
    missing = [f for f in names if f not in imp]
    if missing:
        raise ValueError(f"importances has no value for feature(s) {', '.join(missing)}")
    if min_importance is None and base is None:
        if y is None:
            raise ValueError(
                "pass min_importance=, or y so the threshold can be relative to the model's score"
            )
        met = resolve_metric(metric, model, y)
        keep = np.flatnonzero(labelled(labels_of(y, len(frame))))
        base = evaluate(model, take_rows(view, keep), take_rows(np.asarray(y), keep), met)
    threshold = _threshold(base or 0.0, min_importance, relative_min_importance)

    n = len(frame)
    mem = {f: float(view[f].memory_usage(deep=True, index=False)) for f in names}
    pipe_time = {f: _best_time(partial(fn, frame), timing_repeats)[0] for f, fn in pipes.items()}
    t_full, spread = _best_time(partial(model.predict, view), timing_repeats)
    saved: dict[str, float | None] = dict.fromkeys(names)
    notes: list[str] = []
    in_transform: dict[str, float] = {}  # part of the prediction time, not added to it
    prepare = timed_preparation(model)
    if prepare is not None:
        transform_time, found = _transform_shares(prepare, view, timing_repeats)
        in_transform = {f: t for f, t in found.items() if t is not None}
        skipped = [f for f, t in found.items() if t is None]
        notes.append(
            f"each raw input column's share of the model's transform ({preparation(model)}, "
            f"{transform_time * 1000:.3g} ms on {n} rows) timed by emptying that column"
            + (f"; could not empty {', '.join(skipped)}" if skipped else "")
        )
    refit_failed: list[str] = []
    for f in names:
        if refit is None or train is None or f not in train.columns:
            continue
        try:
            reduced = refit(train.drop(columns=[f]), seed)
            X_less = model_input(reduced, view.drop(columns=[f]))
        except Exception as exc:
            refit_failed.append(f"{f} ({type(exc).__name__}: {exc})")
            continue
        delta = t_full - _best_time(partial(reduced.predict, X_less), timing_repeats)[0]
        saved[f] = delta if delta > max(3 * spread, 0.1 * t_full) else 0.0
    if refit is not None:
        notes.append("prediction time without a feature measured on a model retrained without it")
    if refit_failed:
        notes.append(
            "retraining without a feature failed, its prediction time is not counted: "
            + "; ".join(refit_failed[:3])
        )

    total_time = t_full + sum(pipe_time.values())
    total_mem = sum(mem.values())
    rows = []
    flagged = []
    metrics: dict[str, float] = {"threshold": threshold, "predict_seconds": t_full}
    for f in names:
        saved_f = saved[f]
        spent = pipe_time.get(f, 0.0) + in_transform.get(f, 0.0) + (saved_f or 0.0)
        t_share = spent / total_time if total_time > 0 else 0.0
        m_share = mem[f] / total_mem if total_mem > 0 else 0.0
        share = max(t_share, m_share)
        metrics[f"cost_share.{f}"] = share
        bad = share > max_cost_share and imp[f] <= threshold
        if bad:
            flagged.append(f)
        status = (
            "costly for its gain" if bad else ("ok" if imp[f] > threshold else "cheap, low gain")
        )
        rows.append(
            (
                f,
                mem[f] / n if n else 0.0,
                (pipe_time.get(f, 0.0) + in_transform.get(f, 0.0)) * 1000,
                None if saved_f is None else saved_f * 1000,
                t_share,
                m_share,
                imp[f],
                status,
            )
        )
    rows.sort(key=lambda r: (r[-1] != "costly for its gain", -max(r[4], r[5])))
    table = Table(
        (
            "feature",
            "bytes/row",
            "pipeline ms",
            "predict ms saved",
            "time share",
            "memory share",
            "importance",
            "status",
        ),
        tuple(rows),
    )
    method = (
        f"cost share = max(time share, memory share) over {n} rows ({len(pipes)} feature "
        f"pipeline(s) timed, median of {timing_repeats}); flagged above {max_cost_share:g} "
        f"with importance at most {threshold:.4g}"
    )
    if flagged:
        return CheckResult(
            CHECK_COST,
            "fail",
            f"{len(flagged)} costly feature(s) with little gain ({', '.join(flagged)}): {method}",
            table,
            "data-3",
            metrics,
            tuple(notes),
        )
    return CheckResult(
        CHECK_COST,
        "pass",
        f"no feature is costly for its gain: {method}",
        table,
        "data-3",
        metrics,
        tuple(notes),
    )


# -- built-in checks ---------------------------------------------------------------------------
RAW_INPUTS = "the model's raw input columns, any kind (through its transform, when it has one)"


def run_features_beneficial(ctx: CheckContext) -> CheckResult:
    X, y = ctx.labelled("default", ctx.holdout_name())
    return features_beneficial(
        ctx.model("default"),
        X,
        y,
        metric=ctx.params["metric"],
        n_repeats=ctx.params["n_repeats"],
        min_importance=ctx.params["min_importance"],
        relative_min_importance=ctx.params["relative_min_importance"],
    )


def pipelines_problem(value: Any, settings: Settings) -> str | None:
    """``pipelines``: a table of feature name -> import path that imports."""
    for feature, path in value.items():
        if not isinstance(path, str) or (problem := import_path(path, settings)) is not None:
            expected = "expected an import path 'pkg.module:callable'"
            return f"{feature}: {problem if isinstance(path, str) else expected}"
    return None


def run_feature_cost(ctx: CheckContext) -> CheckResult:
    X, y = ctx.labelled("default", ctx.holdout_name())
    pipelines = {
        feature: load_callable(path) for feature, path in (ctx.params["pipelines"] or {}).items()
    }
    unknown = [f for f in pipelines if f not in X.columns]
    if unknown:
        raise AssetError(
            f"[tool.mltestscore.checks.data-3] pipelines: {', '.join(map(repr, unknown))} is not "
            f"an input of the model (inputs: {', '.join(map(str, X.columns[:20]))})"
        )
    return feature_cost(
        ctx.model("default"),
        X,
        y,
        metric=ctx.params["metric"],
        pipelines=pipelines or None,
        max_cost_share=ctx.params["max_cost_share"],
        relative_min_importance=ctx.params["relative_min_importance"],
    )


FEATURES_BENEFICIAL = BuiltinCheck(
    "data-2",
    "features-beneficial",
    "every feature measurably helps the model (permutation importance)",
    (model("default"), needs_holdout),
    run_features_beneficial,
    (
        METRIC,
        Param("n_repeats", "integer", 5, "permutations per feature", 1),
        Param("min_importance", "number", None, "absolute minimum drop in the metric"),
        Param(
            "relative_min_importance",
            "number",
            0.005,
            "minimum drop relative to the model's score",
        ),
    ),
    kinds=RAW_INPUTS,
    declines="the model cannot take the data's columns; fewer than 30 labelled rows",
)

FEATURE_COST = BuiltinCheck(
    "data-3",
    "feature-cost",
    "no feature costs much serving time for little gain",
    (model("default"), needs_holdout),
    run_feature_cost,
    (
        METRIC,
        Param(
            "max_cost_share",
            "number",
            0.1,
            "share of prediction cost above which a feature is costly",
            0.0,
            1.0,
        ),
        Param(
            "relative_min_importance",
            "number",
            0.005,
            "importance below which a costly feature is flagged",
        ),
        Param(
            "pipelines",
            "table",
            None,
            "feature -> import path of the callable computing it from the data rows (timed)",
            check=pipelines_problem,
            imports=True,
        ),
    ),
    kinds=RAW_INPUTS,
    declines="the model cannot take the data's columns; fewer than 30 labelled rows",
)

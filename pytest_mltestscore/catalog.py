"""The catalogue of built-in checks: one entry per check, each a thin adapter from the
configured assets to a library function of :mod:`pytest_mltestscore.checks`.

Which assets each check needs is declared with it; the README's rubric table is written from
this list. Parameters are tuned under ``[tool.mltestscore.checks.ID]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .builtin import BuiltinCheck, CheckContext, Param, dataset, model, param, setting
from .result import CheckResult

if TYPE_CHECKING:
    import pandas as pd

METRIC = Param("metric", "string", None, "quality metric (accuracy, roc_auc, log_loss, rmse...)")


# -- shared adapters ---------------------------------------------------------------------------
def model_X(ctx: CheckContext, model_name: str, ds: str) -> pd.DataFrame:
    """The dataset's columns the model was fitted on (``feature_names_in_``), else its features."""
    from .assets import AssetError
    from .modeling import feature_names

    frame = ctx.assets.frame(ds)
    names = feature_names(ctx.assets.model(model_name), ctx.assets.features(ds))
    assert names is not None
    missing = [n for n in names if n not in frame.columns]
    if missing:
        spec = ctx.assets.dataset_spec(ds)
        raise AssetError(
            f"[{spec.key}]: the model {model_name!r} expects column(s) {', '.join(missing)}, "
            "which the data lacks"
        )
    return frame[names]


def labelled(ctx: CheckContext, model_name: str, ds: str) -> tuple[pd.DataFrame, pd.Series]:
    """Model inputs and labels of the rows of ``ds`` that carry a label."""
    X = model_X(ctx, model_name, ds)
    y = ctx.assets.y(ds)
    keep = y.notna().to_numpy()
    return X[keep], y[keep]


def holdout_name(ctx: CheckContext) -> str:
    """The labelled held-out dataset: ``validation``, else ``serving``."""
    return "validation" if "validation" in ctx.assets.datasets else "serving"


def needs_holdout(ctx: CheckContext) -> str | None:
    """labelled `validation` (or `serving`) dataset"""
    for name in ("validation", "serving"):
        spec = ctx.assets.datasets.get(name)
        if spec is not None and spec.target is not None:
            return None
    return (
        "no labelled held-out data: configure a 'validation' dataset (or 'serving') with a target"
    )


def fit_fn(ctx: CheckContext) -> Any:
    from .assets import AssetError
    from .infra.loading import ImportPathError, load_callable

    assert ctx.settings.training_fit is not None
    try:
        return load_callable(ctx.settings.training_fit)
    except ImportPathError as exc:
        raise AssetError(f"[tool.mltestscore.training] fit: {exc}") from None


# -- data-1, monitor-2: schema -------------------------------------------------------------------
SCHEMA_PARAMS = (
    Param("sigmas", "number", 5.0, "standard errors of chance allowed before a share counts", 0.5),
    Param(
        "share_floor",
        "number",
        0.001,
        "beyond-range/unseen shares at or below this never fail",
        0.0,
        1.0,
    ),
    Param(
        "null_floor",
        "number",
        0.002,
        "null-rate rise allowed beyond the schema plus chance",
        0.0,
        1.0,
    ),
)


def _validate(ctx: CheckContext, name: str, rubric_id: str) -> CheckResult:
    from .schema import validate

    schema = ctx.schema()
    reference = "training" if name != "training" and "training" in ctx.assets.datasets else None
    return validate(
        ctx.assets.profile(name, reference=reference),
        schema,
        sigmas=ctx.params["sigmas"],
        share_floor=ctx.params["share_floor"],
        null_floor=ctx.params["null_floor"],
        check=f"{rubric_id} {name} data against {ctx.schema_path.name}",
        rubric_id=rubric_id,
    )


def run_data_1(ctx: CheckContext) -> CheckResult:
    return _validate(ctx, "training", "data-1")


def run_monitor_2(ctx: CheckContext) -> CheckResult:
    return _validate(ctx, "serving", "monitor-2")


# -- data-2, data-3: feature value and cost ----------------------------------------------------
def run_data_2(ctx: CheckContext) -> CheckResult:
    from .modeldev.features import features_beneficial

    X, y = labelled(ctx, "default", holdout_name(ctx))
    return features_beneficial(
        ctx.assets.model("default"),
        X,
        y,
        metric=ctx.params["metric"],
        n_repeats=ctx.params["n_repeats"],
        min_importance=ctx.params["min_importance"],
        relative_min_importance=ctx.params["relative_min_importance"],
    )


def run_data_3(ctx: CheckContext) -> CheckResult:
    from .modeldev.features import feature_cost

    X, y = labelled(ctx, "default", holdout_name(ctx))
    return feature_cost(
        ctx.assets.model("default"),
        X,
        y,
        metric=ctx.params["metric"],
        max_cost_share=ctx.params["max_cost_share"],
        relative_min_importance=ctx.params["relative_min_importance"],
    )


# -- data-4, data-5: policy and privacy ----------------------------------------------------------
def run_data_4(ctx: CheckContext) -> CheckResult:
    from .modeling import feature_names
    from .monitoring.policy import feature_policy

    fallback = ctx.assets.features("training") if "training" in ctx.assets.datasets else None
    names = feature_names(ctx.assets.model("default"), fallback)
    return feature_policy(
        names,
        forbidden=ctx.params["forbidden_features"] or (),
        allowed=ctx.params["allowed_features"],
    )


def needs_policy(ctx: CheckContext) -> str | None:
    """`forbidden_features` or `allowed_features` parameter"""
    if ctx.params.get("forbidden_features") or ctx.params.get("allowed_features"):
        return None
    return (
        "no feature policy: set forbidden_features (and/or allowed_features) under "
        "[tool.mltestscore.checks.data-4]"
    )


def run_data_5(ctx: CheckContext) -> CheckResult:
    from .monitoring.privacy import deletion_log_check, pii_scan

    frames = {n: ctx.assets.frame(n) for n in ("training", "serving") if n in ctx.assets.datasets}
    scan = pii_scan(
        frames,
        allow_columns=ctx.params["allow_columns"] or (),
        allow_values=ctx.params["allow_values"] or (),
        min_share=ctx.params["min_share"],
    )
    log = ctx.params["deletion_log"]
    if log is None or scan.verdict == "fail":
        return scan
    spec = ctx.assets.dataset_spec("training")
    from .assets import AssetError

    if spec.id is None:
        raise AssetError(
            f"[{spec.key}]: a deletion log needs the training data's id column (id = ...)"
        )
    path = ctx.root / log
    try:
        ids = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except OSError as exc:
        raise AssetError(
            f"[tool.mltestscore.checks.data-5] deletion_log = {log!r}: cannot read {path}: {exc}"
        ) from None
    frame = ctx.assets.frame("training")
    ids_typed: list[Any] = ids
    if frame[spec.id].dtype.kind in "iu":
        ids_typed = [int(i) for i in ids if i.lstrip("-").isdigit()]
    deleted = deletion_log_check(frame, spec.id, ids_typed)
    if deleted.verdict == "fail":
        return deleted
    return CheckResult(
        scan.check,
        scan.verdict,
        f"{scan.summary}; {deleted.summary}",
        scan.table,
        "data-5",
        {**scan.metrics, **deleted.metrics},
        scan.notes + deleted.notes,
    )


# -- model-3, model-4, model-5, model-6, model-7 -------------------------------------------------
def run_model_2(ctx: CheckContext) -> CheckResult:
    from .assets import AssetError
    from .modeldev.online import offline_online_correlation

    name = ctx.params["dataset"]
    frame = ctx.assets.frame(name)
    cols = [ctx.params["offline"], ctx.params["online"]]
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise AssetError(
            f"[tool.mltestscore.checks.model-2]: column(s) {', '.join(missing)} not in dataset "
            f"{name!r} (columns: {', '.join(map(str, frame.columns[:20]))})"
        )
    pairs = frame[cols].dropna()
    return offline_online_correlation(
        pairs[cols[0]].to_numpy(dtype=float),
        pairs[cols[1]].to_numpy(dtype=float),
        min_pairs=ctx.params["min_pairs"],
        threshold=ctx.params["threshold"],
        direction=ctx.params["direction"],
    )


def needs_experiments(ctx: CheckContext) -> str | None:
    """paired offline/online observations: `dataset`, `offline`, `online` parameters"""
    missing = [k for k in ("dataset", "offline", "online") if not ctx.params.get(k)]
    if missing:
        return (
            "no paired offline/online observations: set dataset, offline and online under "
            "[tool.mltestscore.checks.model-2]"
        )
    if ctx.params["dataset"] not in ctx.assets.datasets:
        return f"model-2 dataset {ctx.params['dataset']!r} is not configured"
    return None


def run_model_3(ctx: CheckContext) -> CheckResult:
    from .assets import AssetError
    from .infra.loading import ImportPathError, load_callable
    from .modeldev.tuning import hyperparameters_tuned

    try:
        factory = load_callable(ctx.params["factory"])
    except ImportPathError as exc:
        raise AssetError(f"[tool.mltestscore.checks.model-3] factory: {exc}") from None
    space = ctx.params["search_space"]
    for key, values in space.items():
        if not isinstance(values, list) or not values:
            raise AssetError(
                f"[tool.mltestscore.checks.model-3] search_space.{key}: expected a non-empty "
                "array of values"
            )
    spec = ctx.assets.dataset_spec("training")
    frame = ctx.assets.frame("training")
    y = ctx.assets.y("training")
    X = frame[ctx.assets.features("training")]
    return (
        hyperparameters_tuned(
            factory,
            ctx.params["params"] or {},
            space,
            X[y.notna().to_numpy()],
            y[y.notna()],
            metric=ctx.params["metric"],
            cv=ctx.params["cv"],
            n_iter=ctx.params["n_iter"],
            relative_tolerance=ctx.params["relative_tolerance"],
            seed=ctx.settings.training_seed,
        )
        if spec.target
        else CheckResult("model-3", "skip", "the training data has no target column")
    )


def run_model_4(ctx: CheckContext) -> CheckResult:
    from .modeldev.staleness import staleness_curve

    spec = ctx.assets.dataset_spec("training")
    assert spec.timestamp is not None and spec.target is not None
    train_until: Any = ctx.params["train_until"]
    if ctx.settings.training_fit:
        trainer = fit_fn(ctx)
    else:  # a frozen model: it knows the data up to when it was made
        trainer = ctx.assets.model("default")
        if train_until is None:
            train_until = ctx.assets.model_created("default")[0]
    return staleness_curve(
        trainer,
        ctx.assets.frame("training"),
        spec.timestamp,
        spec.target,
        ctx.assets.features("training"),
        train_until=train_until,
        periods=ctx.params["periods"],
        relative_tolerance=ctx.params["relative_tolerance"],
        max_tolerable_age_days=ctx.params["max_tolerable_age_days"],
        metric=ctx.params["metric"],
        seed=ctx.settings.training_seed,
    )


def run_model_5(ctx: CheckContext) -> CheckResult:
    from .modeldev.baseline import simpler_model_not_better

    train_X, train_y = labelled(ctx, "default", "training")
    hold_X, hold_y = labelled(ctx, "default", holdout_name(ctx))
    return simpler_model_not_better(
        ctx.assets.model("default"),
        train_X,
        train_y,
        hold_X,
        hold_y,
        metric=ctx.params["metric"],
        margin=ctx.params["margin"],
        n_bootstrap=ctx.params["n_bootstrap"],
        top_k_features=ctx.params["top_k_features"],
    )


def _attributes(ctx: CheckContext, ds: str, columns: tuple[str, ...]) -> pd.DataFrame:
    from .assets import AssetError

    frame = ctx.assets.frame(ds)
    spec = ctx.assets.dataset_spec(ds)
    keep = ctx.assets.y(ds).notna().to_numpy()
    plain = [c for c in columns if c in frame.columns]
    if not plain and columns and all(c.isidentifier() for c in columns):
        raise AssetError(f"[{spec.key}]: none of {', '.join(columns)} is a column of the data")
    return frame[keep]


def run_model_6(ctx: CheckContext) -> CheckResult:
    from .modeldev.slices import slice_quality

    ds = holdout_name(ctx)
    X, y = labelled(ctx, "default", ds)
    return slice_quality(
        ctx.assets.model("default"),
        X,
        y,
        list(ctx.settings.slices),
        metric=ctx.params["metric"],
        min_slice_size=ctx.params["min_slice_size"],
        absolute_floor=ctx.params["absolute_floor"],
        relative_tolerance=ctx.params["relative_tolerance"],
        confidence=ctx.params["confidence"],
        n_bootstrap=ctx.params["n_bootstrap"],
        attributes=_attributes(ctx, ds, ctx.settings.slices),
    )


def run_model_7(ctx: CheckContext) -> CheckResult:
    from .modeldev.inclusion import inclusion

    ds = holdout_name(ctx)
    X, y = labelled(ctx, "default", ds)
    return inclusion(
        ctx.assets.model("default"),
        X,
        y,
        list(ctx.settings.protected),
        attributes=_attributes(ctx, ds, ctx.settings.protected),
        positive=ctx.params["positive"],
        min_group_size=ctx.params["min_group_size"],
        max_parity_difference=ctx.params["max_parity_difference"],
        min_disparate_impact=ctx.params["min_disparate_impact"],
        max_equalized_odds_difference=ctx.params["max_equalized_odds_difference"],
        intersectional=bool(ctx.params["intersectional"]),
    )


# -- infra-1, infra-3, infra-4, infra-6, infra-7 ---------------------------------------------------
def run_infra_1(ctx: CheckContext) -> CheckResult:
    from .infra.reproducibility import training_reproducible

    spec = ctx.assets.dataset_spec("training")
    assert ctx.settings.training_fit is not None
    fit: Any = ctx.settings.training_fit if ctx.params["separate_processes"] else fit_fn(ctx)
    return training_reproducible(
        fit,
        ctx.assets.frame("training"),
        seed=ctx.settings.training_seed,
        target=spec.target,
        features=spec.features,
        sample=ctx.params["sample"],
        separate_processes=bool(ctx.params["separate_processes"]),
        atol=ctx.params["atol"],
    )


def run_infra_3(ctx: CheckContext) -> CheckResult:
    from .infra.integration import pipeline_integration

    spec = ctx.assets.dataset_spec("training")
    return pipeline_integration(
        raw=ctx.assets.frame("training"),
        fit_fn=fit_fn(ctx),
        serving=ctx.assets.frame("serving"),
        target=spec.target,
        features=spec.features,
        sample=ctx.params["sample"],
        seed=ctx.settings.training_seed,
    )


def needs_gate(ctx: CheckContext) -> str | None:
    """`threshold` parameter or `previous` model"""
    if ctx.params.get("threshold") is not None or "previous" in ctx.assets.models:
        return None
    return (
        "nothing to gate against: set threshold under [tool.mltestscore.checks.infra-4] or "
        "configure a 'previous' model"
    )


def run_infra_4(ctx: CheckContext) -> CheckResult:
    from .infra.gate import validation_gate

    ds = holdout_name(ctx)
    frame = ctx.assets.frame(ds)
    y = ctx.assets.y(ds)
    keep = y.notna().to_numpy()
    X = frame.drop(columns=list(ctx.assets.dataset_spec(ds).role_columns))[keep]
    y = y[keep]
    previous = ctx.assets.model("previous") if "previous" in ctx.assets.models else None
    return validation_gate(
        ctx.assets.model("default"),
        X,
        y,
        metric=ctx.params["metric"],
        threshold=ctx.params["threshold"],
        previous=previous,
        max_relative_drop=ctx.params["max_relative_drop"],
    )


def run_infra_6(ctx: CheckContext) -> CheckResult:
    from .infra.canary import canary

    default = ctx.assets.model_spec("default")
    previous = ctx.assets.model_spec("previous")
    assert default.path is not None
    serving = ctx.assets.frame("serving")
    X = serving.drop(columns=list(ctx.assets.dataset_spec("serving").role_columns))
    return canary(
        default.path,
        previous.path if previous.path is not None else ctx.assets.model("previous"),
        X,
        trusted=default.trusted,
        previous_trusted=previous.trusted,
        sample=ctx.params["sample"],
        min_agreement=ctx.params["min_agreement"],
        max_output_shift=ctx.params["max_output_shift"],
        max_mean_abs_diff=ctx.params["max_mean_abs_diff"],
        max_latency_ratio=ctx.params["max_latency_ratio"],
    )


def run_infra_7(ctx: CheckContext) -> CheckResult:
    from .infra.rollback import rollback_ready

    previous = ctx.assets.model_spec("previous")
    assert previous.path is not None
    serving = ctx.assets.frame("serving")
    reference = ctx.assets.frame("training") if "training" in ctx.assets.datasets else None
    return rollback_ready(previous.path, serving, trusted=previous.trusted, reference=reference)


# -- monitor-3, monitor-4, monitor-5, monitor-7 ----------------------------------------------------
def run_monitor_3(ctx: CheckContext) -> CheckResult:
    training = ctx.assets.dataset_spec("training")
    serving = ctx.assets.dataset_spec("serving")
    if training.id and serving.id and training.id == serving.id:
        from .monitoring.skew import training_serving_skew

        shared = [f for f in ctx.assets.features("serving") if f in ctx.assets.features("training")]
        joined = training_serving_skew(
            ctx.assets.frame("training"),
            ctx.assets.frame("serving"),
            training.id,
            shared,
            rtol=ctx.params["rtol"],
            atol=ctx.params["atol"],
        )
        if joined.verdict != "skip":
            return joined
        # no example is in both (e.g. serving ids are new requests): compare distributions
    from .drift import check_drift

    return check_drift(
        ctx.assets.profile("training"),
        ctx.assets.profile("serving", reference="training"),
        check="monitor-3 training/serving feature distributions",
        rubric_id="monitor-3",
    )


def run_monitor_4(ctx: CheckContext) -> CheckResult:
    from .monitoring.staleness import model_staleness

    created, source = ctx.assets.model_created("default")
    serving = ctx.assets.datasets.get("serving")
    stamps = None
    if serving is not None and serving.timestamp is not None:
        stamps = ctx.assets.frame("serving")[serving.timestamp]
    return model_staleness(
        created,
        ctx.params["max_age_days"],
        source,
        serving_timestamps=stamps,
        max_data_age_days=ctx.params["max_data_age_days"],
    )


def run_monitor_5(ctx: CheckContext) -> CheckResult:
    from .monitoring.stability import numerical_stability

    samples = {
        n: model_X(ctx, "default", n) for n in ("training", "serving") if n in ctx.assets.datasets
    }
    return numerical_stability(
        ctx.assets.model("default"), samples, weight_bound=ctx.params["weight_bound"]
    )


def needs_some_data(ctx: CheckContext) -> str | None:
    """`training` or `serving` dataset"""
    if "training" in ctx.assets.datasets or "serving" in ctx.assets.datasets:
        return None
    return "no 'training' or 'serving' dataset configured"


def run_monitor_7(ctx: CheckContext) -> CheckResult:
    from .monitoring.quality import prediction_quality, quality_baseline

    base_X, base_y = labelled(
        ctx, "default", "validation" if "validation" in ctx.assets.datasets else "training"
    )
    model_ = ctx.assets.model("default")
    baseline, _ = quality_baseline(model_, base_X, base_y, ctx.params["metric"])
    X, y = labelled(ctx, "default", "serving")
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


# -- data-7: feature code coverage (measured over the whole session by the plugin) -------------
def run_data_7(ctx: CheckContext) -> CheckResult:  # pragma: no cover - judged at session end
    raise AssertionError("data-7 is judged by the plugin at the end of the session")


# -- monitor-1: dependency changes -----------------------------------------------------------
DEPS_PARAMS = (
    Param("lock", "string", "mltestscore-deps.lock.json", "the lock file, beside pyproject.toml"),
    Param("import_roots", "strings", None, "more top-level modules whose imports are locked"),
    Param("extra_packages", "strings", None, "more distributions to lock"),
)


def run_monitor_1(ctx: CheckContext) -> CheckResult:
    from .freeze import lock_inputs
    from .infra.dependencies import dependency_changes

    inputs = lock_inputs(ctx.assets, ctx.settings, dict(ctx.params))
    return dependency_changes(
        ctx.root / ctx.params["lock"],
        import_roots=inputs["import_roots"],
        datasets=inputs["datasets"],
        model_artifacts=inputs["model_artifacts"],
    )


# -- monitor-6: computing performance against history ----------------------------------------
PERF_LABELS = {"check": "monitor-6:performance"}  # as the plugin labels a check's metrics


def needs_history(ctx: CheckContext) -> str | None:
    """run history (on by default)"""
    if ctx.settings.history is None:
        return "run history is off (history = false in [tool.mltestscore])"
    return None


def run_monitor_6(ctx: CheckContext) -> CheckResult:
    from .regression import check_performance_history, measure_prediction_performance

    if ctx.params["clock"] not in ("wall", "cpu"):
        raise ValueError(f"clock must be 'wall' or 'cpu', got {ctx.params['clock']!r}")
    ds = "serving" if "serving" in ctx.assets.datasets else holdout_name(ctx)
    X = model_X(ctx, "default", ds)
    if len(X) > ctx.params["sample"]:
        X = X.sample(n=ctx.params["sample"], random_state=0)
    model_ = ctx.assets.model("default")
    current = measure_prediction_performance(model_.predict, X, seed=0, clock=ctx.params["clock"])
    store = ctx.history()
    history: dict[str, list[Any]] = {}
    since = ctx.params["baseline_since"]
    dropped = 0
    if store is not None:
        for name in current:
            series = store.metric_series(name, PERF_LABELS, limit=ctx.params["leak_window"])
            kept = [p for p in series if since is None or p.created >= since]
            dropped = max(dropped, len(series) - len(kept))
            history[name] = kept
    result = check_performance_history(
        current,
        history,
        regression_window=ctx.params["regression_window"],
        min_history=ctx.params["min_history"],
        rel_tolerance=ctx.params["rel_tolerance"],
        leak_window=ctx.params["leak_window"],
        leak_min_runs=ctx.params["leak_min_runs"],
        leak_tolerance=ctx.params["leak_tolerance"],
    )
    # this run's measurements go into the history whatever the verdict
    return CheckResult(
        result.check,
        result.verdict,
        result.summary,
        result.table,
        "monitor-6",
        {**result.metrics, **{k: float(v) for k, v in current.items()}},
        result.notes
        + (
            (f"baseline_since {since:%Y-%m-%d %H:%M} UTC: {dropped} earlier run(s) not compared",)
            if since is not None
            else ()
        ),
    )


# -- monitor-7: SLOs over windows of predictions joined with delayed labels -------------------
def slo_checks(settings: Any) -> tuple[BuiltinCheck, ...]:
    """One built-in check per ``[tool.mltestscore.slo.NAME]``."""
    checks = []
    for spec in settings.slos:

        def run(ctx: CheckContext, spec: Any = spec) -> CheckResult:
            from .labels import check_slo

            preds = ctx.assets.dataset_spec(spec.predictions)
            labs = ctx.assets.dataset_spec(spec.labels)
            for ds, role in (
                (preds, "id"),
                (preds, "timestamp"),
                (preds, "prediction"),
                (labs, "id"),
                (labs, "target"),
                (labs, "timestamp"),
            ):
                if getattr(ds, role) is None:
                    from .assets import AssetError

                    raise AssetError(
                        f"[{ds.key}]: the SLO {spec.slo.name!r} needs its {role} column "
                        f"({role} = ...)"
                    )
            return (
                check_slo(
                    ctx.assets.frame(spec.predictions),
                    ctx.assets.frame(spec.labels),
                    spec.slo,
                    timezone=spec.timezone,
                    id_column=preds.id,
                    timestamp_column=preds.timestamp,
                    prediction_column=preds.prediction,
                    target_column=labs.target,
                    label_timestamp_column=labs.timestamp,
                )
                if preds.id == labs.id
                else _id_mismatch(preds, labs)
            )

        bound = f"{spec.slo.min:g} <= " if spec.slo.min is not None else ""
        upper = f" <= {spec.slo.max:g}" if spec.slo.max is not None else ""
        checks.append(
            BuiltinCheck(
                "monitor-7",
                f"slo-{spec.slo.name}",
                f"{bound}{spec.slo.metric}{upper} over every {spec.slo.window} window",
                (dataset(spec.predictions), dataset(spec.labels)),
                run,
            )
        )
    return tuple(checks)


def _id_mismatch(preds: Any, labs: Any) -> CheckResult:
    return CheckResult(
        "monitor-7 SLO",
        "fail",
        f"predictions are keyed by {preds.id!r} but labels by {labs.id!r}: name the same id column "
        f"in [{preds.key}] and [{labs.key}]",
    )


CHECKS: tuple[BuiltinCheck, ...] = (
    BuiltinCheck(
        "data-1",
        "schema",
        "the training data satisfies the checked-in schema",
        (dataset("training"),),
        run_data_1,
        SCHEMA_PARAMS,
    ),
    BuiltinCheck(
        "data-2",
        "features-beneficial",
        "every feature measurably helps the model (permutation importance)",
        (model("default"), needs_holdout),
        run_data_2,
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
    ),
    BuiltinCheck(
        "data-3",
        "feature-cost",
        "no feature costs much serving time for little gain",
        (model("default"), needs_holdout),
        run_data_3,
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
        ),
    ),
    BuiltinCheck(
        "data-4",
        "feature-policy",
        "the model's features follow the forbidden/allowed lists",
        (model("default"), needs_policy),
        run_data_4,
        (
            Param("forbidden_features", "strings", None, "names or glob patterns no model may use"),
            Param(
                "allowed_features", "strings", None, "if set, the only names or patterns allowed"
            ),
        ),
    ),
    BuiltinCheck(
        "data-5",
        "privacy",
        "no raw PII in the data; deleted ids are gone from training",
        (dataset("training"),),
        run_data_5,
        (
            Param("allow_columns", "strings", None, "columns allowed to hold PII-like values"),
            Param(
                "allow_values", "strings", None, "values never reported (e.g. a support address)"
            ),
            Param(
                "min_share",
                "number",
                0.0,
                "share of a column's rows that must match before it is reported",
                0.0,
                1.0,
            ),
            Param(
                "deletion_log",
                "string",
                None,
                "file of ids (one per line) that must not be in the training data",
            ),
        ),
    ),
    BuiltinCheck(
        "data-7",
        "feature-coverage",
        "line coverage of feature_modules over the session reaches the minimum",
        (setting("feature_modules", "feature_modules"),),
        run_data_7,
        (
            Param(
                "min_coverage",
                "number",
                80.0,
                "minimum line coverage per module, percent",
                0.0,
                100.0,
            ),
        ),
        collect=False,
    ),
    BuiltinCheck(
        "model-2",
        "offline-online-correlation",
        "offline metrics rank experiments as the online metric does (Spearman correlation)",
        (needs_experiments,),
        run_model_2,
        (
            Param("dataset", "string", None, "dataset of paired observations, one row per model"),
            Param("offline", "string", None, "column of the offline metric (e.g. validation AUC)"),
            Param("online", "string", None, "column of the online metric (e.g. click-through)"),
            Param("min_pairs", "integer", 5, "pairs needed for a verdict", 3),
            Param("threshold", "number", 0.7, "minimum rank correlation", -1.0, 1.0),
            Param("direction", "string", "positive", "positive, or negative for a loss"),
        ),
    ),
    BuiltinCheck(
        "model-3",
        "hyperparameters-tuned",
        "the shipped hyperparameters score within tolerance of a seeded search",
        (
            dataset("training", column="target"),
            param("factory", "no estimator factory"),
            param("search_space", "no search space"),
        ),
        run_model_3,
        (
            METRIC,
            Param(
                "factory",
                "string",
                None,
                "import path of a callable(**params) returning an unfitted estimator",
            ),
            Param("params", "table", None, "the shipped hyperparameters"),
            Param("search_space", "table", None, "parameter name -> array of candidate values"),
            Param("cv", "integer", 3, "cross-validation folds", 2),
            Param("n_iter", "integer", 20, "random-search candidates", 1),
            Param(
                "relative_tolerance", "number", 0.02, "allowed shortfall relative to the best found"
            ),
        ),
    ),
    BuiltinCheck(
        "model-4",
        "staleness-curve",
        "quality versus model age is measured on later periods",
        (
            dataset("training", column="timestamp"),
            dataset("training", column="target"),
            model("default"),
        ),
        run_model_4,
        (
            METRIC,
            Param("periods", "integer", 6, "number of later periods scored", 2),
            Param(
                "train_until",
                "string",
                None,
                "train on rows up to this date (default: the median timestamp with a trainer, "
                "the model's creation date without)",
            ),
            Param(
                "relative_tolerance", "number", 0.05, "quality loss that still counts as tolerable"
            ),
            Param(
                "max_tolerable_age_days",
                "number",
                None,
                "fail if quality decays beyond tolerance before this age",
            ),
        ),
    ),
    BuiltinCheck(
        "model-5",
        "simpler-baseline",
        "the model beats simple baselines on held-out data, bootstrap CI",
        (model("default"), dataset("training", column="target"), needs_holdout),
        run_model_5,
        (
            METRIC,
            Param("margin", "number", 0.0, "required lead over the best baseline"),
            Param("n_bootstrap", "integer", 1000, "bootstrap resamples for the CI", 100),
            Param("top_k_features", "integer", 3, "features the linear baseline uses", 1),
        ),
    ),
    BuiltinCheck(
        "model-6",
        "slice-quality",
        "quality holds on every configured slice",
        (model("default"), needs_holdout, setting("slices", "slices")),
        run_model_6,
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
    ),
    BuiltinCheck(
        "model-7",
        "inclusion",
        "outcomes and errors are comparable across protected groups",
        (model("default"), needs_holdout, setting("protected", "protected attributes")),
        run_model_7,
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
            Param(
                "max_equalized_odds_difference", "number", 0.1, "equalized-odds difference limit"
            ),
            Param(
                "intersectional", "bool", False, "also judge intersections of protected attributes"
            ),
        ),
    ),
    BuiltinCheck(
        "infra-1",
        "reproducible-training",
        "training twice with one seed gives the same predictions",
        (setting("training_fit", "[tool.mltestscore.training] fit"), dataset("training")),
        run_infra_1,
        (
            Param("separate_processes", "bool", False, "train each copy in a fresh interpreter"),
            Param("sample", "integer", 500, "rows whose predictions are compared", 1),
            Param("atol", "number", 1e-6, "tolerated absolute difference of outputs"),
        ),
    ),
    BuiltinCheck(
        "infra-3",
        "pipeline-integration",
        "raw data to features, training, artifact and serving run end to end",
        (
            setting("training_fit", "[tool.mltestscore.training] fit"),
            dataset("training"),
            dataset("serving"),
        ),
        run_infra_3,
        (Param("sample", "integer", 200, "rows of raw data the run uses", 10),),
    ),
    BuiltinCheck(
        "infra-4",
        "validation-gate",
        "quality on validation data meets the threshold and the previous model",
        (model("default"), needs_holdout, needs_gate),
        run_infra_4,
        (
            METRIC,
            Param("threshold", "number", None, "absolute metric value the model must reach"),
            Param(
                "max_relative_drop", "number", 0.01, "allowed loss relative to the previous model"
            ),
        ),
    ),
    BuiltinCheck(
        "infra-6",
        "canary",
        "the default model loads in a fresh process and agrees with the previous one",
        (model("default", artifact=True), model("previous"), dataset("serving")),
        run_infra_6,
        (
            Param("sample", "integer", 500, "serving rows sent to both models", 10),
            Param(
                "min_agreement",
                "number",
                0.9,
                "share of rows where both predict the same",
                0.0,
                1.0,
            ),
            Param("max_output_shift", "number", 0.1, "allowed shift of the output distribution"),
            Param("max_mean_abs_diff", "number", 0.1, "allowed mean absolute output difference"),
            Param(
                "max_latency_ratio",
                "number",
                3.0,
                "allowed slowdown against the previous model",
                1.0,
            ),
        ),
    ),
    BuiltinCheck(
        "infra-7",
        "rollback-ready",
        "the previous model loads and serves today's data",
        (model("previous", artifact=True), dataset("serving")),
        run_infra_7,
    ),
    BuiltinCheck(
        "monitor-1",
        "dependencies",
        "installed packages, dataset schemas and model artifacts match the committed lock",
        (),
        run_monitor_1,
        DEPS_PARAMS,
    ),
    BuiltinCheck(
        "monitor-2",
        "serving-invariants",
        "the serving data satisfies the schema learned from training",
        (dataset("serving"),),
        run_monitor_2,
        SCHEMA_PARAMS,
    ),
    BuiltinCheck(
        "monitor-3",
        "training-serving-skew",
        "features agree between training and serving (joined by id, else distributions)",
        (dataset("training"), dataset("serving")),
        run_monitor_3,
        (
            Param("rtol", "number", 1e-6, "relative tolerance for joined float values"),
            Param("atol", "number", 1e-9, "absolute tolerance for joined float values"),
        ),
    ),
    BuiltinCheck(
        "monitor-4",
        "model-staleness",
        "the served model and its newest data are not too old",
        (model("default"), param("max_age_days", "no age limit")),
        run_monitor_4,
        (
            Param("max_age_days", "number", None, "oldest acceptable model age in days"),
            Param(
                "max_data_age_days", "number", None, "oldest acceptable newest serving row, in days"
            ),
        ),
    ),
    BuiltinCheck(
        "monitor-5",
        "numerical-stability",
        "no NaN/inf in predictions or weights; probabilities valid",
        (model("default"), needs_some_data),
        run_monitor_5,
        (Param("weight_bound", "number", 1e6, "largest plausible absolute weight"),),
    ),
    BuiltinCheck(
        "monitor-6",
        "performance",
        "serving latency, throughput and memory show no jump and no slow leak against history",
        (model("default"), needs_some_data, needs_history),
        run_monitor_6,
        (
            Param("sample", "integer", 2000, "serving rows used for the measurement", 10),
            Param(
                "clock",
                "string",
                "wall",
                "wall (catches waits too) or cpu (steadier on shared CI runners)",
            ),
            Param("min_history", "integer", 5, "earlier runs needed for a verdict", 2),
            Param(
                "regression_window", "integer", 10, "runs whose median this run is compared to", 2
            ),
            Param("rel_tolerance", "number", 0.2, "allowed relative worsening beyond the noise"),
            Param("leak_window", "integer", 20, "runs the slow-leak trend is fitted on", 3),
            Param("leak_min_runs", "integer", 10, "runs needed for a slow-leak verdict", 3),
            Param("leak_tolerance", "number", 0.2, "allowed relative drift over the leak window"),
            Param(
                "baseline_since",
                "datetime",
                None,
                "compare only with runs from this date on (after an accepted change in speed)",
            ),
        ),
    ),
    BuiltinCheck(
        "monitor-7",
        "prediction-quality",
        "quality on labelled serving rows holds against the baseline",
        (model("default"), dataset("serving", column="target")),
        run_monitor_7,
        (
            METRIC,
            Param("abs_tolerance", "number", 0.02, "allowed absolute loss of quality"),
            Param("rel_tolerance", "number", 0.05, "allowed relative loss of quality"),
            Param("min_rows", "integer", 100, "labelled serving rows needed for a verdict", 1),
        ),
    ),
)

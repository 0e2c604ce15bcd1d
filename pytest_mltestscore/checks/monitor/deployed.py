"""The deployed service, watched where it runs: its outputs and its latency.

The model called at its endpoint (``[tool.mltestscore.models.deployed] url = ...``) is checked
as the monitoring items ask:

* monitor-3: the service computes, from the serving rows, what the tested artifact computes
  (the comparison of infra-6's deployment check, end to end through the service's own
  preprocessing);
* monitor-5: the live outputs are numerically sound (no NaN or infinity, valid probabilities);
* monitor-6: latency measured at the endpoint, client side, per row and per batch (the rate
  limit's waits left out), stored in the history like the in-process figures and judged against
  it the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...builtin import BuiltinCheck, CheckContext, NotJudged, Param, model, needs_history
from ...result import CheckResult
from ..infra.deployment import (
    DEPLOYMENT_PARAMS,
    deployed_model,
    rows_dataset,
    run_deployment_agreement,
    serving_rows,
)
from .performance import PERFORMANCE, judge_against_history, measure_prediction_performance
from .stability import numerical_stability

if TYPE_CHECKING:
    import pandas as pd


def _deployed_rows(ctx: CheckContext) -> pd.DataFrame:
    """Up to ``sample`` rows in the columns the deployed model takes: its own ``features``,
    else the tested artifact's inputs, else the dataset's features."""
    name = ctx.params["deployed"]
    spec = ctx.assets.model_spec(name)
    own = spec.endpoint is not None and spec.endpoint.features is not None
    X = serving_rows(ctx, name if own or "default" not in ctx.assets.models else "default")
    if len(X) > ctx.params["sample"]:
        X = X.sample(n=ctx.params["sample"], random_state=0).sort_index()
    return X


# -- monitor-3 ---------------------------------------------------------------------------------
def run_deployment_skew(ctx: CheckContext) -> CheckResult:
    return run_deployment_agreement(ctx, rubric_id="monitor-3")


DEPLOYMENT_SKEW = BuiltinCheck(
    "monitor-3",
    "deployment-skew",
    "the deployed service computes the tested artifact's outputs from the same serving rows",
    (model("default"), deployed_model, rows_dataset),
    run_deployment_skew,
    DEPLOYMENT_PARAMS,
    declines="the deployed model cannot be reached",
)


# -- monitor-5 ---------------------------------------------------------------------------------
def run_live_stability(ctx: CheckContext) -> CheckResult:
    from ...endpoints import EndpointUnavailable

    deployed = ctx.assets.model(ctx.params["deployed"])
    try:
        return numerical_stability(
            deployed,
            {f"{ctx.params['dataset']} (deployed)": _deployed_rows(ctx)},
            weight_bound=None,
        )
    except EndpointUnavailable as exc:
        raise NotJudged(f"the deployed model cannot be reached: {exc}") from None


_SHARED = {p.name: p for p in DEPLOYMENT_PARAMS}

LIVE_STABILITY = BuiltinCheck(
    "monitor-5",
    "deployed-outputs",
    "the deployed model's outputs on serving rows are finite, probabilities valid",
    (deployed_model, rows_dataset),
    run_live_stability,
    (_SHARED["deployed"], _SHARED["dataset"], _SHARED["sample"]),
    declines="the deployed model cannot be reached",
)


# -- monitor-6 ---------------------------------------------------------------------------------
ENDPOINT_LABELS = {"check": "monitor-6:endpoint-latency"}  # as the plugin labels its metrics


def run_endpoint_latency(ctx: CheckContext) -> CheckResult:
    from ...endpoints import EndpointModel, EndpointUnavailable

    deployed = ctx.assets.model(ctx.params["deployed"])
    if not isinstance(deployed, EndpointModel):
        raise NotJudged(
            f"model {ctx.params['deployed']!r} is not called at an endpoint (url = ...); its "
            "in-process latency is the performance check's"
        )
    X = _deployed_rows(ctx)
    try:
        current = measure_prediction_performance(
            deployed.predict,
            X,
            row_calls=ctx.params["row_requests"],
            batch_size=min(deployed.spec.batch_size, len(X)),
            batch_calls=ctx.params["batch_requests"],
            warmup=1,
            min_calls=3,
            max_seconds=ctx.params["max_seconds"],
            memory=False,
            call_seconds=deployed.call_seconds,
        )
    except EndpointUnavailable as exc:
        raise NotJudged(f"the deployed model cannot be reached: {exc}") from None
    return judge_against_history(ctx, current, ENDPOINT_LABELS)


_PERF = {p.name: p for p in PERFORMANCE.params}

ENDPOINT_LATENCY = BuiltinCheck(
    "monitor-6",
    "endpoint-latency",
    "latency at the deployed endpoint (client side) shows no jump and no slow leak",
    (deployed_model, rows_dataset, needs_history),
    run_endpoint_latency,
    (
        _SHARED["deployed"],
        _SHARED["dataset"],
        _PERF["sample"],
        Param("row_requests", "integer", 30, "one-row requests timed", 3),
        Param("batch_requests", "integer", 10, "full-batch requests timed", 3),
        Param("max_seconds", "number", 60.0, "time budget of the measurement", 1.0),
        *(
            _PERF[n]
            for n in (
                "min_history",
                "regression_window",
                "rel_tolerance",
                "leak_window",
                "leak_min_runs",
                "leak_tolerance",
                "baseline_since",
            )
        ),
    ),
    declines="fewer than `min_history` earlier whole runs; the endpoint cannot be reached",
)

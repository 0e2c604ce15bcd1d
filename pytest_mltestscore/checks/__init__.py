"""The checks library: call these inside your own tests.

Each function runs one check and returns its :class:`~pytest_mltestscore.result.CheckResult`
when it passes; it raises ``AssertionError`` with a readable table when the check fails, and
skips the test (with the reason) when the check cannot reach a verdict. The same functions
without the assert form (returning the result whatever the verdict) live in
``pytest_mltestscore.modeldev``, ``.monitoring``, ``.infra``, ``.schema``, ``.drift``,
``.labels`` and ``.regression``.

Functions are imported on first use, so ``import pytest_mltestscore.checks`` stays cheap.

    from pytest_mltestscore import checks

    @pytest.mark.rubric("model-6")
    def test_quality_on_islands(ml_model, ml_datasets):
        val = ml_datasets["validation"]
        checks.slice_quality(ml_model, val[FEATURES], val["species"], ["island"])
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any

from ..result import CheckResult, Table, enforce

# public name -> (module, function); rubric ids in comments
_CHECKS: dict[str, tuple[str, str]] = {
    # data-1, monitor-2
    "validate_schema": ("pytest_mltestscore.schema", "validate"),
    # monitor-3 (distributions), monitor-7 (prediction drift)
    "check_drift": ("pytest_mltestscore.drift", "check_drift"),
    # data-2, data-3
    "features_beneficial": ("pytest_mltestscore.modeldev.features", "features_beneficial"),
    "feature_cost": ("pytest_mltestscore.modeldev.features", "feature_cost"),
    # data-4, data-5
    "feature_policy": ("pytest_mltestscore.monitoring.policy", "feature_policy"),
    "pii_scan": ("pytest_mltestscore.monitoring.privacy", "pii_scan"),
    "deletion_log_check": ("pytest_mltestscore.monitoring.privacy", "deletion_log_check"),
    # data-7
    "feature_code_coverage": ("pytest_mltestscore.infra.feature_coverage", "feature_code_coverage"),
    # model-2 .. model-7
    "offline_online_correlation": (
        "pytest_mltestscore.modeldev.online",
        "offline_online_correlation",
    ),
    "hyperparameters_tuned": ("pytest_mltestscore.modeldev.tuning", "hyperparameters_tuned"),
    "staleness_curve": ("pytest_mltestscore.modeldev.staleness", "staleness_curve"),
    "simpler_model_not_better": (
        "pytest_mltestscore.modeldev.baseline",
        "simpler_model_not_better",
    ),
    "slice_quality": ("pytest_mltestscore.modeldev.slices", "slice_quality"),
    "inclusion": ("pytest_mltestscore.modeldev.inclusion", "inclusion"),
    # infra-1 .. infra-7
    "training_reproducible": ("pytest_mltestscore.infra.reproducibility", "training_reproducible"),
    "model_properties": ("pytest_mltestscore.infra.properties", "model_properties"),
    "check_model_on_schema": ("pytest_mltestscore.strategies", "check_model_on_schema"),
    "one_step_lowers_loss": ("pytest_mltestscore.infra.properties", "one_step_lowers_loss"),
    "can_overfit_tiny": ("pytest_mltestscore.infra.properties", "can_overfit_tiny"),
    "pipeline_integration": ("pytest_mltestscore.infra.integration", "pipeline_integration"),
    "validation_gate": ("pytest_mltestscore.infra.gate", "validation_gate"),
    "debuggable": ("pytest_mltestscore.infra.trace", "debuggable"),
    "canary": ("pytest_mltestscore.infra.canary", "canary"),
    "rollback_ready": ("pytest_mltestscore.infra.rollback", "rollback_ready"),
    # monitor-1, monitor-3 .. monitor-7
    "dependency_changes": ("pytest_mltestscore.infra.dependencies", "dependency_changes"),
    "training_serving_skew": ("pytest_mltestscore.monitoring.skew", "training_serving_skew"),
    "feature_code_skew": ("pytest_mltestscore.monitoring.skew", "feature_code_skew"),
    "model_staleness": ("pytest_mltestscore.monitoring.staleness", "model_staleness"),
    "numerical_stability": ("pytest_mltestscore.monitoring.stability", "numerical_stability"),
    "prediction_quality": ("pytest_mltestscore.monitoring.quality", "prediction_quality"),
    "prediction_bias": ("pytest_mltestscore.monitoring.quality", "prediction_bias"),
    "dramatic_regression": ("pytest_mltestscore.regression", "dramatic_regression"),
    "slow_leak": ("pytest_mltestscore.regression", "slow_leak"),
    "evaluate_slo": ("pytest_mltestscore.labels", "evaluate_slo"),
}

__all__ = ["CheckResult", "Table", "enforce", *sorted(_CHECKS)]


def _assert_form(fn: Callable[..., CheckResult]) -> Callable[..., CheckResult]:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> CheckResult:
        __tracebackhide__ = True
        return enforce(fn(*args, **kwargs))

    return run


def __getattr__(name: str) -> Any:
    if name not in _CHECKS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attr = _CHECKS[name]
    wrapped = _assert_form(getattr(importlib.import_module(module), attr))
    globals()[name] = wrapped
    return wrapped


def __dir__() -> list[str]:
    return list(__all__)

"""Checks for monitor-3, monitor-4, monitor-5, monitor-7 (quality), data-4 and data-5.

Pure functions over data and models that return a :class:`~pytest_mltestscore.result.CheckResult`;
wrap one in :func:`~pytest_mltestscore.result.enforce` to assert it inside a test. Distribution
drift (monitor-3 without ids, monitor-7's prediction drift) lives in the drift module.
"""

from __future__ import annotations

from .policy import feature_policy
from .privacy import deletion_log_check, iban_valid, luhn_valid, mask_value, pii_scan
from .quality import prediction_bias, prediction_quality, quality_baseline
from .skew import feature_code_skew, training_serving_skew
from .stability import iter_weights, numerical_stability
from .staleness import artifact_created, model_staleness, sidecar_path, write_artifact_metadata

__all__ = [
    "artifact_created",
    "deletion_log_check",
    "feature_code_skew",
    "feature_policy",
    "iban_valid",
    "iter_weights",
    "luhn_valid",
    "mask_value",
    "model_staleness",
    "numerical_stability",
    "pii_scan",
    "prediction_bias",
    "prediction_quality",
    "quality_baseline",
    "sidecar_path",
    "training_serving_skew",
    "write_artifact_metadata",
]

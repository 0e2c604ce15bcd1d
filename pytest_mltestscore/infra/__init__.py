"""Infrastructure and dependency checks: infra-1 to infra-7, data-7 and monitor-1.

Each check is a pure function returning a :class:`~pytest_mltestscore.result.CheckResult`;
heavy libraries (pandas, scikit-learn, skops, coverage) are imported when a check runs.
"""

from __future__ import annotations

from .canary import canary
from .dependencies import dependency_changes, freeze_dependencies
from .feature_coverage import (
    CoverageHandle,
    ModuleCoverage,
    feature_code_coverage,
    merge_reports,
    start_coverage,
    stop_and_report,
)
from .gate import validation_gate
from .integration import pipeline_integration
from .loading import (
    ArtifactError,
    ImportPathError,
    UntrustedArtifactError,
    load_callable,
    load_model_artifact,
    save_model_artifact,
)
from .properties import can_overfit_tiny, model_properties, one_step_lowers_loss
from .reproducibility import training_reproducible
from .rollback import rollback_ready
from .trace import Trace, TraceStep, debuggable, trace_example

__all__ = [
    "ArtifactError",
    "CoverageHandle",
    "ImportPathError",
    "ModuleCoverage",
    "Trace",
    "TraceStep",
    "UntrustedArtifactError",
    "can_overfit_tiny",
    "canary",
    "debuggable",
    "dependency_changes",
    "feature_code_coverage",
    "freeze_dependencies",
    "load_callable",
    "load_model_artifact",
    "merge_reports",
    "model_properties",
    "one_step_lowers_loss",
    "pipeline_integration",
    "rollback_ready",
    "save_model_artifact",
    "start_coverage",
    "stop_and_report",
    "trace_example",
    "training_reproducible",
    "validation_gate",
]

"""Import paths of the first layout, kept working as aliases of the modules' new homes.

Until 0.1 the checks lived in ``modeldev``, ``monitoring``, ``infra`` and top-level modules
(``schema``, ``drift``, ``regression``, ``labels``, ``strategies``, ``config``). Each of those
paths now names the very module object of its new home (``pytest_mltestscore.modeldev.baseline
is pytest_mltestscore.checks.model.baseline``), and the three old packages re-export the names
they exported then. New code should import from the new homes (see ARCHITECTURE.md).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from typing import Any

_P = "pytest_mltestscore"

MODULES = {
    "config": "settings",
    "schema": "checks.data.schema",
    "drift": "checks.monitor.drift",
    "regression": "checks.monitor.performance",
    "labels": "checks.monitor.slo",
    "strategies": "checks.infra.strategies",
    "modeldev.baseline": "checks.model.baseline",
    "modeldev.features": "checks.data.features",
    "modeldev.inclusion": "checks.model.inclusion",
    "modeldev.online": "checks.model.online",
    "modeldev.slices": "checks.model.slices",
    "modeldev.staleness": "checks.model.staleness_curve",
    "modeldev.tuning": "checks.model.tuning",
    "monitoring.policy": "checks.data.policy",
    "monitoring.privacy": "checks.data.privacy",
    "monitoring.quality": "checks.monitor.quality",
    "monitoring.skew": "checks.monitor.skew",
    "monitoring.stability": "checks.monitor.stability",
    "monitoring.staleness": "checks.monitor.staleness",
    "infra.canary": "checks.infra.canary",
    "infra.dependencies": "checks.monitor.dependencies",
    "infra.feature_coverage": "checks.data.coverage",
    "infra.gate": "checks.infra.gate",
    "infra.integration": "checks.infra.integration",
    "infra.loading": "loading",
    "infra.properties": "checks.infra.properties",
    "infra.reproducibility": "checks.infra.reproducibility",
    "infra.rollback": "checks.infra.rollback",
    "infra.trace": "checks.infra.trace",
}
"""Old module path -> new module path, both relative to the package."""

PACKAGES: dict[str, dict[str, str]] = {
    "modeldev": {
        "DegradationLadder": "checks.model.online",
        "degradation_ladder": "checks.model.online",
        "offline_online_correlation": "checks.model.online",
        "feature_cost": "checks.data.features",
        "features_beneficial": "checks.data.features",
        "hyperparameters_tuned": "checks.model.tuning",
        "inclusion": "checks.model.inclusion",
        "simpler_model_not_better": "checks.model.baseline",
        "slice_masks": "checks.model.slices",
        "slice_quality": "checks.model.slices",
        "staleness_curve": "checks.model.staleness_curve",
    },
    "monitoring": {
        "feature_policy": "checks.data.policy",
        "deletion_log_check": "checks.data.privacy",
        "iban_valid": "checks.data.privacy",
        "luhn_valid": "checks.data.privacy",
        "mask_value": "checks.data.privacy",
        "pii_scan": "checks.data.privacy",
        "prediction_bias": "checks.monitor.quality",
        "prediction_quality": "checks.monitor.quality",
        "quality_baseline": "checks.monitor.quality",
        "feature_code_skew": "checks.monitor.skew",
        "training_serving_skew": "checks.monitor.skew",
        "iter_weights": "checks.monitor.stability",
        "numerical_stability": "checks.monitor.stability",
        "artifact_created": "loading",
        "model_staleness": "checks.monitor.staleness",
        "sidecar_path": "loading",
        "write_artifact_metadata": "loading",
    },
    "infra": {
        "canary": "checks.infra.canary",
        "dependency_changes": "checks.monitor.dependencies",
        "freeze_dependencies": "checks.monitor.dependencies",
        "CoverageHandle": "checks.data.coverage",
        "ModuleCoverage": "checks.data.coverage",
        "feature_code_coverage": "checks.data.coverage",
        "merge_reports": "checks.data.coverage",
        "start_coverage": "checks.data.coverage",
        "stop_and_report": "checks.data.coverage",
        "validation_gate": "checks.infra.gate",
        "pipeline_integration": "checks.infra.integration",
        "ArtifactError": "loading",
        "ImportPathError": "loading",
        "UntrustedArtifactError": "loading",
        "load_callable": "loading",
        "load_model_artifact": "loading",
        "save_model_artifact": "loading",
        "can_overfit_tiny": "checks.infra.properties",
        "model_properties": "checks.infra.properties",
        "one_step_lowers_loss": "checks.infra.properties",
        "training_reproducible": "checks.infra.reproducibility",
        "rollback_ready": "checks.infra.rollback",
        "Trace": "checks.infra.trace",
        "TraceStep": "checks.infra.trace",
        "debuggable": "checks.infra.trace",
        "trace_example": "checks.infra.trace",
    },
}
"""Old package -> the names it exported -> the module that holds each now."""


class _OldPackage(types.ModuleType):
    """An old package: its exported names resolve lazily from their new homes."""

    def __init__(self, name: str, exports: dict[str, str]) -> None:
        homes = ", ".join(sorted(set(exports.values())))
        super().__init__(f"{_P}.{name}", f"Old path of {homes}.")
        self._exports = exports
        self.__all__ = sorted(exports)
        self.__path__: list[str] = []  # a package, so that its old submodules import

    def __getattr__(self, attr: str) -> Any:
        exports = self.__dict__.get("_exports", {})
        if attr not in exports:
            raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r}")
        value = getattr(importlib.import_module(f"{_P}.{exports[attr]}"), attr)
        super().__setattr__(attr, value)
        return value

    def __setattr__(self, attr: str, value: Any) -> None:
        # importing an old submodule binds it on its package; where the package exported a
        # function of the same name (infra.canary), the function wins, as it did then
        if isinstance(value, types.ModuleType) and attr in self.__dict__.get("_exports", {}):
            return
        super().__setattr__(attr, value)


class _Aliases(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the old paths and hands out the new modules under them."""

    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        short = fullname[len(_P) + 1 :] if fullname.startswith(f"{_P}.") else None
        if short in MODULES or short in PACKAGES:
            return importlib.util.spec_from_loader(fullname, self, is_package=short in PACKAGES)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        short = spec.name[len(_P) + 1 :]
        if short in PACKAGES:
            return _OldPackage(short, PACKAGES[short])
        target = importlib.import_module(f"{_P}.{MODULES[short]}")
        self._specs[spec.name] = target.__spec__
        return target

    def exec_module(self, module: types.ModuleType) -> None:
        # the import system stamped the alias's spec on the real module: give it back its own
        own = self._specs.pop(module.__spec__.name if module.__spec__ else "", None)
        if own is not None:
            module.__spec__ = own

    def __init__(self) -> None:
        self._specs: dict[str, Any] = {}


def install() -> None:
    """Put the alias finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _Aliases) for f in sys.meta_path):
        sys.meta_path.append(_Aliases())

"""Commands that write a checked-in file and end the session: the data schema (and deps lock)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .assets import AssetError, Assets


def freeze_schema(assets: Assets, path: Path | None) -> str:
    """Infer the schema from the ``training`` dataset, write it to ``path``, say what was done."""
    from .report import write_text_atomic
    from .schema import infer_schema

    assert path is not None
    try:
        profile = assets.profile("training")
    except AssetError as exc:
        raise pytest.UsageError(f"--ml-score-freeze-schema: {exc}") from None
    if profile.n_rows == 0:
        spec = assets.dataset_spec("training")
        raise pytest.UsageError(
            f"--ml-score-freeze-schema: [{spec.key}] has no rows; cannot infer a schema"
        )
    schema = infer_schema(profile)
    write_text_atomic(path, schema.to_json())
    return (
        f"wrote the schema of {len(schema.features)} features, inferred from "
        f"{profile.n_rows} training rows, to {path}\n"
        "Review it (tighten a range, allow a category), then commit it."
    )


def import_roots(settings: Any, extra: tuple[str, ...] = ()) -> list[str]:
    """Top-level modules of the model's own code: configured import paths and feature modules."""
    paths = [m.load for m in settings.models.values() if m.load]
    paths += [d.load for d in settings.datasets.values() if d.load]
    if settings.training_fit:
        paths.append(settings.training_fit)
    roots = [p.partition(":")[0] for p in paths] + list(settings.feature_modules) + list(extra)
    return sorted({r for r in roots if r})


def lock_inputs(assets: Assets, settings: Any, params: dict[str, Any]) -> dict[str, Any]:
    """What the dependency lock covers: code roots, dataset files (or frames), model artifacts."""
    datasets: dict[str, Any] = {}
    for name, spec in assets.datasets.items():
        datasets[name] = str(settings.root / spec.path) if spec.path else assets.frame(name)
    artifacts = {name: m.path for name, m in assets.models.items() if m.path is not None}
    return {
        "import_roots": import_roots(settings, tuple(params.get("import_roots") or ())),
        "datasets": datasets,
        "model_artifacts": artifacts,
    }


def freeze_deps(assets: Assets, settings: Any, params: dict[str, Any]) -> str:
    """Write the dependency lock (packages, Python, dataset schemas, artifact hashes)."""
    from .infra.dependencies import freeze_dependencies

    path = settings.root / params["lock"]
    try:
        inputs = lock_inputs(assets, settings, params)
        lock = freeze_dependencies(
            inputs["import_roots"],
            datasets=inputs["datasets"],
            model_artifacts=inputs["model_artifacts"],
            extra_packages=tuple(params.get("extra_packages") or ()),
            path=path,
        )
    except (AssetError, ValueError, ImportError) as exc:
        raise pytest.UsageError(f"--ml-score-freeze-deps: {exc}") from None
    packages = lock.get("packages", {})
    return (
        f"wrote the dependency lock to {path}: {len(packages)} package(s) imported by "
        f"{', '.join(inputs['import_roots']) or 'no configured code'}, "
        f"{len(inputs['datasets'])} dataset schema(s), {len(inputs['model_artifacts'])} model "
        "artifact(s)\nCommit it; the monitor-1 check fails when any of these change, until you "
        "freeze again."
    )

"""Commands that write a checked-in file and end the session: the data schema (and deps lock)."""

from __future__ import annotations

from pathlib import Path

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

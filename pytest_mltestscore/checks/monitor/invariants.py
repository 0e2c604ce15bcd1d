"""monitor-2: the data invariants of the checked-in schema (data-1's) hold on serving inputs."""

from __future__ import annotations

from ...builtin import BuiltinCheck, CheckContext, dataset
from ...state import PROFILE_PROPERTY
from ..data.schema import SCHEMA_KINDS_JUDGED, SCHEMA_PARAMS, validate_dataset


def keep_serving_profile(ctx: CheckContext) -> list[tuple[str, object]]:
    """The serving profile this run computed, for the history (later drift against recent runs)."""
    profile = ctx.assets.cached_profile("serving", "training")
    if profile is None:
        return []
    return [(PROFILE_PROPERTY, {"dataset": "serving", "profile": profile.to_dict()})]


SERVING_INVARIANTS = BuiltinCheck(
    "monitor-2",
    "serving-invariants",
    "the serving data satisfies the schema learned from training",
    (dataset("serving"),),
    lambda ctx: validate_dataset(ctx, "serving"),
    SCHEMA_PARAMS,
    after_run=keep_serving_profile,
    kinds=SCHEMA_KINDS_JUDGED,
    declines="no schema frozen yet (`--ml-score-freeze-schema`)",
)

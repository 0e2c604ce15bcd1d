"""data-4: features adhere to meta-level requirements.

A policy lists forbidden features (protected attributes, deprecated or deny-listed inputs) and,
optionally, the only features allowed. Both are names or glob patterns (``fnmatch``: ``*``,
``?``, ``[abc]``), matched case-insensitively against the whole feature name, so ``"sex"``
matches ``Sex`` and ``"*_zip*"`` matches ``home_zip_code``. The check runs on the model's own
feature list (``feature_names_in_``, else the configured features).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import Any

from ...builtin import BuiltinCheck, CheckContext, Param, model
from ...findings import plural, require_names
from ...modeling import feature_names
from ...result import CheckResult, Table, library_check

RUBRIC_ID = "data-4"
POLICY_COLUMNS = ("feature", "rule", "pattern")


def _matches(name: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(name.lower(), pattern.lower())


@library_check
def feature_policy(
    feature_names: Sequence[str] | None,
    forbidden: Sequence[str] = (),
    allowed: Sequence[str] | None = None,
) -> CheckResult:
    """Fail when a feature matches a forbidden name/pattern or, with ``allowed``, matches none.

    Pass the model's feature list from :func:`pytest_mltestscore.modeling.feature_names`.
    Without a feature list, or without any rule, there is nothing to decide: skip.
    """
    check = "feature_policy"
    banned = require_names(forbidden, "forbidden")
    allow = require_names(allowed, "allowed") if allowed is not None else None
    for pattern in [*banned, *(allow or [])]:
        if not pattern.strip():
            raise ValueError("forbidden/allowed: empty pattern")
    if feature_names is None:
        return CheckResult(
            check,
            "skip",
            "the model's feature list is unknown (no feature_names_in_ and no configured features)",
            None,
            RUBRIC_ID,
        )
    names = [str(n) for n in require_names(list(feature_names), "feature_names")]
    if not banned and allow is None:
        return CheckResult(
            check, "skip", "no forbidden or allowed features configured", None, RUBRIC_ID
        )
    if not names:
        return CheckResult(check, "skip", "the model has no features to check", None, RUBRIC_ID)
    rows: list[tuple[Any, ...]] = []
    for name in names:
        for pattern in banned:
            if _matches(name, pattern):
                rows.append((name, "forbidden", pattern))
        if allow is not None and not any(_matches(name, p) for p in allow):
            rows.append((name, "not in allowed list", ", ".join(allow) or "(empty list)"))
    offenders = sorted({r[0] for r in rows}, key=names.index)
    method = (
        f"{plural(len(banned), 'forbidden pattern')}"
        + ("" if allow is None else f", {plural(len(allow), 'allowed pattern')}")
        + " (case-insensitive glob on whole names)"
    )
    metrics = {"features": float(len(names)), "violations": float(len(offenders))}
    if rows:
        return CheckResult(
            check,
            "fail",
            f"{len(offenders)} of {plural(len(names), 'feature')} break the feature policy: "
            f"{', '.join(offenders)} ({method})",
            Table(POLICY_COLUMNS, tuple(rows)),
            RUBRIC_ID,
            metrics,
        )
    return CheckResult(
        check,
        "pass",
        f"all {plural(len(names), 'feature')} follow the feature policy ({method})",
        None,
        RUBRIC_ID,
        metrics,
    )


# -- built-in check ----------------------------------------------------------------------------
def run_feature_policy(ctx: CheckContext) -> CheckResult:
    fallback = (
        ctx.assets.features("training") if ctx.assets.available("dataset", "training") else None
    )
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


FEATURE_POLICY = BuiltinCheck(
    "data-4",
    "feature-policy",
    "the model's features follow the forbidden/allowed lists",
    (model("default"), needs_policy),
    run_feature_policy,
    (
        Param("forbidden_features", "strings", None, "names or glob patterns no model may use"),
        Param("allowed_features", "strings", None, "if set, the only names or patterns allowed"),
    ),
    declines="the model names no features (no `feature_names_in_`, no `features`)",
)

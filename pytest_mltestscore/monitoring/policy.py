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

from ..result import CheckResult, Table
from ._findings import plural, require_names

RUBRIC_ID = "data-4"
POLICY_COLUMNS = ("feature", "rule", "pattern")


def _matches(name: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(name.lower(), pattern.lower())


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

"""infra-7: the previous model is kept, loads, accepts today's serving data and answers sanely.

A rollback is only quick and safe if the previous artifact still works against the data the
service receives now: features renamed or retyped since it was trained make it useless.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...builtin import BuiltinCheck, CheckContext, dataset, model
from ...loading import load_model_artifact
from ...modeling import feature_names
from ...outputs import collect_outputs, output_problems
from ...prepared import prepared_model
from ...result import CheckResult, Table, Verdict, library_check
from .canary import preparation_of

if TYPE_CHECKING:
    import pandas as pd

RUBRIC_ID = "infra-7"
CHECK = "rollback_ready"


def _kind(dtype: Any) -> str:
    """Coarse type family for compatibility: numeric, boolean, datetime or text/category."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "text/category"


@library_check
def rollback_ready(
    previous_artifact: str | Path,
    serving_X: pd.DataFrame,
    *,
    trusted: bool | Sequence[str] = False,
    reference: pd.DataFrame | None = None,
    sample: int = 500,
    seed: int = 0,
    preparation: Mapping[str, Any] | None = None,
) -> CheckResult:
    """The previous model can take over: its artifact exists and loads, every feature it was
    fitted on (``feature_names_in_``) is in the serving data with a compatible type, and it
    gives valid outputs on up to ``sample`` serving rows. With a ``preparation``
    (``transform`` or ``transform_path``, and ``inputs``), the model is loaded with the
    transform that prepares its inputs and takes raw serving rows.

    Types are compared by family (numeric, boolean, datetime, text) against ``reference``
    (e.g. the data the previous model was trained on) when given; without it, predicting on
    serving rows is the type test.
    """
    import pandas as pd

    if not isinstance(serving_X, pd.DataFrame) or serving_X.empty:
        raise ValueError("serving_X must be a non-empty pandas DataFrame")
    if sample < 1:
        raise ValueError(f"sample must be at least 1, got {sample}")
    path = Path(previous_artifact)
    rows: list[tuple[Any, ...]] = []
    metrics: dict[str, float] = {}

    def done(verdict: Verdict, summary: str) -> CheckResult:
        return CheckResult(
            CHECK,
            verdict,
            summary,
            table=Table(("requirement", "status", "detail"), tuple(rows)),
            rubric_id=RUBRIC_ID,
            metrics=metrics,
        )

    if not path.is_file():
        rows.append(("artifact kept", "FAILED", f"no file at {str(path)!r}"))
        return done("fail", f"no previous model to roll back to: {str(path)!r} does not exist")
    rows.append(("artifact kept", "ok", f"{str(path)!r}, {path.stat().st_size} bytes"))

    t0 = time.perf_counter()
    try:
        model = prepared_model(
            load_model_artifact(path, trusted=trusted),
            trusted=trusted is True,
            **dict(preparation or {}),
        )
    except ValueError as exc:  # ArtifactError, or a transform that cannot be composed
        rows.append(("loads", "FAILED", str(exc)))
        return done("fail", f"the previous model does not load: {exc}")
    load_s = time.perf_counter() - t0
    metrics["load_seconds"] = load_s
    rows.append(("loads", "ok", f"{type(model).__name__} in {load_s:.3g} s"))

    names = feature_names(model)
    if names is None:
        n_in = getattr(model, "n_features_in_", None)
        if n_in is not None and n_in != serving_X.shape[1]:
            rows.append(
                (
                    "features present",
                    "FAILED",
                    f"model takes {n_in} columns, serving data has {serving_X.shape[1]}",
                )
            )
            return done(
                "fail",
                "the previous model expects a different number of columns "
                f"({n_in}) than serving data has ({serving_X.shape[1]})",
            )
        rows.append(
            (
                "features present",
                "unknown",
                "the model has no feature_names_in_: columns passed as they are",
            )
        )
        X = serving_X
    else:
        missing = [c for c in names if c not in serving_X.columns]
        if missing:
            rows.append(
                (
                    "features present",
                    "FAILED",
                    f"missing from serving data: {', '.join(map(repr, missing))}",
                )
            )
            return done(
                "fail",
                f"the previous model needs {len(missing)} feature(s) that serving data no longer "
                f"has: {', '.join(map(repr, missing))}",
            )
        rows.append(("features present", "ok", f"all {len(names)} features"))
        X = serving_X[names]
        if reference is not None:
            clashes = [
                (c, _kind(reference[c].dtype), _kind(X[c].dtype))
                for c in names
                if c in reference.columns and _kind(reference[c].dtype) != _kind(X[c].dtype)
            ]
            if clashes:
                for c, was, now in clashes:
                    rows.append(
                        (
                            "types compatible",
                            "FAILED",
                            f"{c!r}: {was} when trained, {now} in serving",
                        )
                    )
                return done(
                    "fail",
                    "serving data changed the type of feature(s) "
                    + ", ".join(f"{c!r} ({was} -> {now})" for c, was, now in clashes),
                )
            rows.append(("types compatible", "ok", "type families match the reference"))

    if len(X) > sample:
        X = X.sample(n=sample, random_state=seed)
    try:
        out = collect_outputs(model, X)
    except Exception as exc:
        text = str(exc).strip().splitlines()
        rows.append(("predicts", "FAILED", f"{type(exc).__name__}: {text[0] if text else ''}"))
        return done(
            "fail",
            f"the previous model cannot predict on serving data: "
            f"{type(exc).__name__}: {text[0] if text else ''}",
        )
    problems = output_problems(out, len(X))
    for p in problems:
        rows.append(
            (
                f"valid output: {p.prop}",
                "FAILED",
                p.detail + ("" if p.row is None else f" (row {p.row!r})"),
            )
        )
    if problems:
        return done(
            "fail",
            f"the previous model gives invalid outputs on serving data: {problems[0].detail}",
        )
    rows.append(("predicts", "ok", f"valid outputs for {len(X)} serving rows"))
    return done(
        "pass",
        f"the previous model loads in {load_s:.3g} s and serves {len(X)} current serving rows",
    )


# -- built-in check ----------------------------------------------------------------------------
def run_rollback(ctx: CheckContext) -> CheckResult:
    previous = ctx.assets.model_spec("previous")
    assert previous.path is not None
    serving = ctx.assets.frame("serving")
    reference = (
        ctx.assets.frame("training") if ctx.assets.available("dataset", "training") else None
    )
    return rollback_ready(
        previous.path,
        serving,
        trusted=previous.trusted,
        reference=reference,
        preparation=preparation_of(previous),
    )


ROLLBACK_READY = BuiltinCheck(
    "infra-7",
    "rollback-ready",
    "the previous model loads and serves today's data",
    (model("previous", artifact=True), dataset("serving")),
    run_rollback,
    declines="never: a previous model that cannot take today's data is a finding",
)

"""infra-6: the model the service runs is the artifact that was tested.

The repository's ``default`` model (the artifact this suite tested) and the deployed one (a model
called where it is deployed, ``[tool.mltestscore.models.deployed] url = ...``) predict the same
serving rows. Labels must be equal and probabilities (or regression values) equal within
``rtol``/``atol``: serialization through JSON keeps floats exact, so any larger difference means
the service runs a different model (another training run, another seed) or different
preprocessing (a feature scaled differently) than the one tested. A failure names the rows and
the output columns. monitor-3 runs the same comparison (training and serving compute the same
values, end to end through the service).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ...builtin import BuiltinCheck, CheckContext, Param, dataset, model
from ...findings import plural, short
from ...modeling import own_columns
from ...outputs import Outputs, collect_outputs, compare_outputs, row_labels
from ...result import CheckResult, Table, library_check

if TYPE_CHECKING:
    import numpy.typing as npt
    import pandas as pd

RUBRIC_ID = "infra-6"
CHECK = "deployment_agreement"
DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 1e-9
SERVICE_DIFFERS = (
    "the service runs a different model or different preprocessing than the one tested"
)


def _deployed_labels(artifact: npt.NDArray[Any], deployed: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The deployed labels in the artifact's dtype where JSON changed it (1.0 for 1, "1" for 1)."""
    if deployed.dtype == artifact.dtype or deployed.shape != artifact.shape:
        return deployed
    try:
        converted = deployed.astype(artifact.dtype)
    except (TypeError, ValueError):
        return deployed.astype(str) if artifact.dtype.kind in "OUS" else deployed
    lossy = artifact.dtype.kind in "iub" and deployed.dtype.kind == "f"
    if lossy and not np.array_equal(converted.astype(float), deployed.astype(float)):
        return deployed  # 0.5 is not the label 0: leave it to differ
    return converted


def _row_differs(
    a: Outputs, b: Outputs, rtol: float, atol: float
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], float]:
    """Per row: the label differs; any number differs beyond tolerance; the largest |diff|."""
    n = len(a.predictions)
    labels: npt.NDArray[np.bool_] = np.zeros(n, dtype=bool)
    if a.task == "classification":
        differ = np.asarray(a.predictions != b.predictions, dtype=bool).reshape(n, -1)
        labels = np.asarray(differ.any(axis=1), dtype=bool)
        num_a, num_b = a.proba, b.proba
    else:
        num_a, num_b = a.predictions, b.predictions
    numbers = np.zeros(n, dtype=bool)
    worst = 0.0
    if num_a is not None and num_b is not None:
        fa = np.asarray(num_a, dtype=float).reshape(n, -1)
        fb = np.asarray(num_b, dtype=float).reshape(n, -1)
        close = np.isclose(fa, fb, rtol=rtol, atol=atol, equal_nan=True)
        numbers = ~close.all(axis=1)
        with np.errstate(invalid="ignore"):
            diff = np.abs(fa - fb)
        finite = diff[np.isfinite(diff)]
        worst = float(finite.max()) if finite.size else (float("inf") if numbers.any() else 0.0)
    return labels, numbers, worst


@library_check
def deployment_agreement(
    artifact: Any,
    deployed: Any,
    X: pd.DataFrame,
    *,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    max_disagreement: float = 0.0,
    sample: int = 500,
    seed: int = 0,
    max_listed: int = 10,
    rubric_id: str = RUBRIC_ID,
) -> CheckResult:
    """The deployed model predicts what the tested artifact predicts on the same rows.

    Labels must be equal and probabilities (classifiers, when the deployed model returns them)
    or values (regressors) within ``np.isclose(artifact, deployed, rtol, atol)``; the check
    fails when the share of rows that differ exceeds ``max_disagreement`` (default 0: any),
    naming the rows (the index of ``X``) and output columns. Up to ``sample`` rows are sent
    (seeded). A deployed model that cannot be reached gives no verdict.
    """
    import pandas as pd

    from ...endpoints import EndpointUnavailable

    if not isinstance(X, pd.DataFrame):
        raise ValueError("X must be a pandas DataFrame of serving rows")
    if not 0.0 <= max_disagreement <= 1.0:
        raise ValueError(f"max_disagreement must be in [0, 1], got {max_disagreement}")
    if rtol < 0 or atol < 0:
        raise ValueError("rtol and atol must be non-negative")
    if len(X) == 0:
        return CheckResult(CHECK, "skip", "no serving rows to compare", rubric_id=rubric_id)
    rows = X.sample(n=sample, random_state=seed).sort_index() if len(X) > sample else X
    ours = collect_outputs(artifact, rows)
    notes: list[str] = []
    try:
        sent = own_columns(deployed, rows)
        predictions = np.asarray(deployed.predict(sent))
        proba = None
        if ours.proba is not None and callable(getattr(deployed, "predict_proba", None)):
            proba = np.asarray(deployed.predict_proba(sent), dtype=float)
    except EndpointUnavailable as exc:
        return CheckResult(
            CHECK, "skip", f"the deployed model cannot be reached: {exc}", rubric_id=rubric_id
        )
    except Exception as exc:  # the service's failure on these rows is the finding
        return CheckResult(
            CHECK,
            "fail",
            f"the deployed model could not predict {len(rows)} serving rows that the tested "
            f"artifact predicts: {type(exc).__name__}: {exc}",
            rubric_id=rubric_id,
        )
    if ours.proba is not None and proba is None:
        notes.append(
            "probabilities not compared: the deployed model returns labels only "
            "(configure proba for its endpoint to compare them)"
        )
        ours = Outputs(ours.task, ours.predictions, None, ours.classes, ours.rows)
    theirs = Outputs(
        task=ours.task,
        predictions=_deployed_labels(ours.predictions, predictions),
        proba=proba,
        classes=ours.classes,
        rows=row_labels(rows),
    )
    n = len(rows)
    comparison = compare_outputs(ours, theirs, atol=atol, rtol=rtol, max_listed=max_listed)
    method = (
        ("labels equal and " if ours.task == "classification" else "")
        + ("probabilities" if ours.task == "classification" else "values")
        + f" within isclose(rtol={rtol:g}, atol={atol:g})"
    )
    if comparison.structural is not None:
        return CheckResult(
            CHECK,
            "fail",
            f"the deployed model's outputs do not have the tested artifact's shape: "
            f"{comparison.structural}; {SERVICE_DIFFERS}",
            rubric_id=rubric_id,
            notes=tuple(notes),
        )
    label_rows, number_rows, worst = _row_differs(ours, theirs, rtol, atol)
    differs = label_rows | number_rows
    k = int(differs.sum())
    metrics = {
        "rows": float(n),
        "rows_differing": float(k),
        "share_differing": k / n,
        "label_agreement": 1.0 - float(label_rows.mean()),
        "max_abs_diff": worst,
    }
    table = Table(
        ("row", "output", "column", "tested artifact", "deployed", "|diff|"),
        tuple(
            (
                short(d.row),
                d.output,
                "-" if d.column is None else short(d.column),
                short(d.first),
                short(d.second),
                "-" if d.abs_diff is None else f"{d.abs_diff:.3g}",
            )
            for d in comparison.differences
        ),
    )
    if k / n > max_disagreement:
        what = []
        if label_rows.any():
            what.append(f"{plural(int(label_rows.sum()), 'label')} differ")
        if number_rows.any():
            kind = "probabilities" if ours.task == "classification" else "values"
            what.append(
                f"{kind} differ on {plural(int(number_rows.sum()), 'row')} (max {worst:.3g})"
            )
        allowed = f" (allowed: {max_disagreement:.1%})" if max_disagreement else ""
        return CheckResult(
            CHECK,
            "fail",
            f"the deployed model disagrees with the tested artifact on {k} of {n} serving rows"
            f"{allowed}: {', '.join(what)} ({method}); {SERVICE_DIFFERS}",
            table,
            rubric_id,
            metrics,
            tuple(notes),
        )
    return CheckResult(
        CHECK,
        "pass",
        f"the deployed model predicts what the tested artifact predicts on {n} serving rows "
        f"({method}" + (f"; {k} differ, allowed {max_disagreement:.1%}" if k else "") + ")",
        table if k else None,
        rubric_id,
        metrics,
        tuple(notes),
    )


# -- built-in check ----------------------------------------------------------------------------
def deployed_model(ctx: CheckContext) -> str | None:
    """`deployed` model (url = ...)"""
    name = ctx.params.get("deployed") or "deployed"
    if name in ctx.assets.models:
        return model(name)(ctx)  # configured: also not judged while an optional one is absent
    return (
        f"no deployed model {name!r} configured ([tool.mltestscore.models.{name}] with url and "
        "protocol, the model where it is deployed)"
    )


def rows_dataset(ctx: CheckContext) -> str | None:
    """`serving` dataset (or the `dataset` parameter)"""
    name = ctx.params.get("dataset") or "serving"
    if name in ctx.assets.datasets:
        return dataset(name)(ctx)
    return f"no dataset {name!r} configured ([tool.mltestscore.datasets.{name}])"


def serving_rows(ctx: CheckContext, model_name: str = "default") -> pd.DataFrame:
    """The rows of the check's dataset the model takes, indexed by the dataset's id column."""
    name = ctx.params.get("dataset") or "serving"
    X = ctx.model_inputs(model_name, name)
    id_column = ctx.assets.dataset_spec(name).id
    if id_column is not None:
        X = X.set_axis(ctx.assets.frame(name)[id_column].to_numpy(), axis=0)
    return X


def run_deployment_agreement(ctx: CheckContext, rubric_id: str = RUBRIC_ID) -> CheckResult:
    return deployment_agreement(
        ctx.assets.model("default"),
        ctx.assets.model(ctx.params["deployed"]),
        serving_rows(ctx),
        rtol=ctx.params["rtol"],
        atol=ctx.params["atol"],
        max_disagreement=ctx.params["max_disagreement"],
        sample=ctx.params["sample"],
        rubric_id=rubric_id,
    )


DEPLOYMENT_PARAMS = (
    Param("deployed", "string", "deployed", "the model called where it is deployed"),
    Param("dataset", "string", "serving", "the rows both models predict"),
    Param("sample", "integer", 500, "serving rows sent to both models", 1),
    Param("rtol", "number", DEFAULT_RTOL, "relative tolerance on probabilities or values"),
    Param("atol", "number", DEFAULT_ATOL, "absolute tolerance on probabilities or values"),
    Param("max_disagreement", "number", 0.0, "share of rows allowed to differ", 0.0, 1.0),
)

DEPLOYMENT = BuiltinCheck(
    "infra-6",
    "deployment",
    "the deployed model predicts what the tested artifact predicts on serving rows",
    (model("default"), deployed_model, rows_dataset),
    run_deployment_agreement,
    DEPLOYMENT_PARAMS,
    declines="the deployed model cannot be reached; no serving rows",
)

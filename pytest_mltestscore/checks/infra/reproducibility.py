"""infra-1: training twice on the same data with the same seed gives the same predictions."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...builtin import BuiltinCheck, CheckContext, Param, dataset, setting
from ...fresh_process import DEFAULT_TIMEOUT, prestart, run_script
from ...loading import import_path_of, load_callable
from ...modeling import feature_names
from ...outputs import Comparison, Outputs, collect_outputs, compare_outputs
from ...result import CheckResult, Table, Verdict, library_check

if TYPE_CHECKING:
    import pandas as pd

CHECK = "training_reproducible"
RUBRIC_ID = "infra-1"
PREDICT_ERROR = "the model fit returns cannot take the columns of its own training rows:"

FitFn = Callable[["pd.DataFrame", int], Any]

# The child trains and predicts, and sends back only the outputs (JSON): no model crosses
# the process boundary, so nothing needs to be picklable or unpickled.
_CHILD_FIT = (
    f"PREDICT_ERROR = {PREDICT_ERROR!r}\n"
    + """
import pandas as pd
from pytest_mltestscore.loading import load_callable
from pytest_mltestscore.outputs import collect_outputs
from pytest_mltestscore.checks.infra.reproducibility import prediction_rows

fit = load_callable(ARGS["fit"])
data = pd.read_pickle(ARGS["data"])
X = pd.read_pickle(ARGS["X"]) if ARGS["X"] else None
try:
    model = fit(data, ARGS["seed"])
except Exception as exc:
    reply({"error": f"raised {type(exc).__name__}: {exc}"})
    raise SystemExit(0)
try:
    rows = prediction_rows(
        model, data, X, ARGS["features"], ARGS["target"], ARGS["sample"], ARGS["seed"]
    )
    reply({"outputs": collect_outputs(model, rows).to_json()})
except Exception as exc:
    reply({"error": f"{PREDICT_ERROR} {type(exc).__name__}: {exc}", "predict": True})
"""
)


@library_check
def training_reproducible(
    fit_fn: FitFn | str,
    data: pd.DataFrame,
    *,
    seed: int = 0,
    target: str | None = None,
    features: Sequence[str] | None = None,
    X: pd.DataFrame | None = None,
    sample: int = 500,
    separate_processes: bool = False,
    atol: float = 1e-6,
    rtol: float = 1e-6,
    max_label_diff_share: float = 0.0,
    timeout: float = DEFAULT_TIMEOUT,
) -> CheckResult:
    """Train twice with ``fit_fn(data, seed)`` and compare predictions on a sample of rows.

    Fails when more than ``max_label_diff_share`` of the predicted labels differ, or when a
    probability (classifiers) or predicted value (regressors) differs by more than
    ``atol + rtol * |value|``. With ``separate_processes`` each training runs in a fresh Python
    interpreter with its own (fixed) string-hash seed, which also catches dependence on state
    within one process (set iteration order, global RNGs, caches); ``fit_fn`` must then be
    importable (a ``"pkg.module:callable"`` path or a top-level function).
    """
    import pandas as pd

    if not isinstance(data, pd.DataFrame) or data.empty:
        raise ValueError("data must be a non-empty pandas DataFrame")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if sample < 1:
        raise ValueError(f"sample must be at least 1, got {sample}")
    if atol < 0 or rtol < 0:
        raise ValueError("atol and rtol must be non-negative")
    if not 0.0 <= max_label_diff_share <= 1.0:
        raise ValueError(f"max_label_diff_share must be in [0, 1], got {max_label_diff_share}")
    if target is not None and target not in data.columns:
        raise ValueError(f"target column {target!r} is not in the data")
    if features is not None:
        missing = [c for c in features if c not in data.columns]
        if missing:
            raise ValueError(f"feature columns not in the data: {', '.join(map(str, missing))}")

    if separate_processes:
        path = fit_fn if isinstance(fit_fn, str) else import_path_of(fit_fn)
        if path is None:
            raise ValueError(
                "separate_processes=True needs fit_fn as an import path 'pkg.module:callable' "
                "or a top-level function a fresh interpreter can import"
            )
        outputs, error = _run_in_fresh_processes(
            path, data, seed, X, features, target, sample, timeout
        )
        where = "in two fresh Python processes"
    else:
        fn = load_callable(fit_fn) if isinstance(fit_fn, str) else fit_fn
        if not callable(fn):
            raise ValueError("fit_fn must be callable or an import path 'pkg.module:callable'")
        outputs, error = _run_twice(fn, data, seed, X, features, target, sample)
        where = "in this process"
    if error is not None and PREDICT_ERROR in error:  # not fed as serving feeds it
        return CheckResult(
            CHECK,
            "skip",
            f"{error}; make fit return a scikit-learn Pipeline that includes the "
            "preprocessing, or list the model's input columns in features = [...] under the "
            "training dataset",
            rubric_id=RUBRIC_ID,
        )
    if error is not None:
        return CheckResult(
            CHECK, "fail", f"training with seed {seed} {where}: {error}", rubric_id=RUBRIC_ID
        )
    out_a, out_b = outputs
    cmp = compare_outputs(out_a, out_b, atol=atol, rtol=rtol)
    n = len(out_a.rows)
    return _verdict(cmp, seed, where, n, atol, rtol, max_label_diff_share, out_a.task)


def _run_twice(
    fn: FitFn,
    data: pd.DataFrame,
    seed: int,
    X: pd.DataFrame | None,
    features: Sequence[str] | None,
    target: str | None,
    sample: int,
) -> tuple[list[Outputs], str | None]:
    outputs = []
    for attempt in (1, 2):
        try:
            model = fn(data.copy(), seed)
        except Exception as exc:
            return [], f"run {attempt} raised {type(exc).__name__}: {exc}"
        try:
            rows = prediction_rows(model, data, X, features, target, sample, seed)
            outputs.append(collect_outputs(model, rows))
        except Exception as exc:
            return [], f"{PREDICT_ERROR} {type(exc).__name__}: {exc}"
    return outputs, None


def _run_in_fresh_processes(
    path: str,
    data: pd.DataFrame,
    seed: int,
    X: pd.DataFrame | None,
    features: Sequence[str] | None,
    target: str | None,
    sample: int,
    timeout: float,
) -> tuple[list[Outputs], str | None]:
    outputs = []
    with tempfile.TemporaryDirectory(prefix="mltestscore-infra1-") as tmp:
        workdir = Path(tmp)
        data_file = workdir / "data.pkl"
        data.to_pickle(data_file)
        x_file = workdir / "X.pkl"
        if X is not None:
            X.to_pickle(x_file)
        args = {
            "fit": path,
            "data": str(data_file),
            "X": str(x_file) if X is not None else None,
            "seed": seed,
            "features": None if features is None else list(features),
            "target": target,
            "sample": sample,
        }
        # A different, fixed hash seed per run: code that depends on set or dict-of-str
        # iteration order shows up, and the verdict stays the same from run to run. Each seed
        # needs its own warm process: start the second while the first trains.
        envs = {attempt: {"PYTHONHASHSEED": str(attempt)} for attempt in (1, 2)}
        prestart(envs[2])
        for attempt, env in envs.items():
            res = run_script(_CHILD_FIT, args, workdir, timeout=timeout, env=env)
            if not res.ok or res.payload is None:
                return [], f"run {attempt}: {res.error}"
            if "error" in res.payload:
                return [], f"run {attempt} {res.payload['error']}"
            outputs.append(Outputs.from_json(res.payload["outputs"]))
    return outputs, None


def prediction_rows(
    model: Any,
    data: pd.DataFrame,
    X: pd.DataFrame | None,
    features: Sequence[str] | None,
    target: str | None,
    sample: int,
    seed: int,
) -> pd.DataFrame:
    """The rows both trained models predict: ``X``, else the model's features of ``data``."""
    names = feature_names(model)
    if X is not None:
        rows = X
    elif names and all(n in data.columns for n in names):
        rows = data[names]
    elif features is not None:
        rows = data[list(features)]
    elif target is not None:
        rows = data.drop(columns=[target])
    else:
        rows = data
    return rows.sample(n=sample, random_state=seed) if len(rows) > sample else rows


def _verdict(
    cmp: Comparison,
    seed: int,
    where: str,
    n: int,
    atol: float,
    rtol: float,
    max_label_share: float,
    task: str,
) -> CheckResult:
    metrics = {
        "rows": float(n),
        "label_diff_share": cmp.label_diff_share,
        "max_abs_diff": cmp.max_abs_diff,
        "mean_abs_diff": cmp.mean_abs_diff,
        "numeric_diffs": float(cmp.n_numeric_diff),
    }
    if cmp.structural is not None:
        return CheckResult(
            CHECK,
            "fail",
            f"trained twice with seed {seed} {where}: outputs differ in shape: {cmp.structural}",
            rubric_id=RUBRIC_ID,
            metrics=metrics,
        )
    numbers = "probabilities" if task == "classification" else "predicted values"
    labels_ok = cmp.label_diff_share <= max_label_share
    numbers_ok = cmp.n_numeric_diff == 0
    parts = []
    if task == "classification":
        parts.append(
            f"{cmp.n_label_diff} of {n} labels differ ({cmp.label_diff_share:.2%}, "
            f"allowed {max_label_share:.2%})"
        )
    parts.append(
        f"{cmp.n_numeric_diff} {numbers} differ beyond atol={atol:g} + rtol={rtol:g}*|value| "
        f"(max abs difference {cmp.max_abs_diff:.4g})"
    )
    verdict: Verdict = "pass" if labels_ok and numbers_ok else "fail"
    summary = f"trained twice with seed {seed} {where}, predicted {n} rows: " + "; ".join(parts)
    table = Table(
        ("output", "row", "column", "first run", "second run", "abs diff"),
        tuple((d.output, d.row, d.column, d.first, d.second, d.abs_diff) for d in cmp.differences),
    )
    return CheckResult(CHECK, verdict, summary, table=table, rubric_id=RUBRIC_ID, metrics=metrics)


# -- built-in check ----------------------------------------------------------------------------
def run_reproducible(ctx: CheckContext) -> CheckResult:
    spec = ctx.assets.dataset_spec("training")
    assert ctx.settings.training_fit is not None
    fit: Any = ctx.settings.training_fit if ctx.params["separate_processes"] else ctx.fit_function()
    return training_reproducible(
        fit,
        ctx.assets.frame("training"),
        seed=ctx.settings.training_seed,
        target=spec.target,
        features=ctx.assets.features("training"),  # not the id, timestamp or prediction
        sample=ctx.params["sample"],
        separate_processes=bool(ctx.params["separate_processes"]),
        atol=ctx.params["atol"],
    )


def _start_warm_processes(ctx: CheckContext) -> None:
    """With ``separate_processes``, start the two trainings' warm processes (one per hash seed)
    while the checks before this one run."""
    if ctx.params["separate_processes"]:
        for attempt in (1, 2):
            prestart({"PYTHONHASHSEED": str(attempt)})


REPRODUCIBLE_TRAINING = BuiltinCheck(
    "infra-1",
    "reproducible-training",
    "training twice with one seed gives the same predictions",
    (setting("training_fit", "[tool.mltestscore.training] fit"), dataset("training")),
    run_reproducible,
    (
        Param("separate_processes", "bool", False, "train each copy in a fresh interpreter"),
        Param("sample", "integer", 500, "rows whose predictions are compared", 1),
        Param("atol", "number", 1e-6, "tolerated absolute difference of outputs"),
    ),
    declines="the model `fit` returns cannot take its own training rows",
    prepare=_start_warm_processes,
)

"""infra-1: training twice on the same data with the same seed gives the same predictions."""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..modeling import feature_names
from ..result import CheckResult, Table, Verdict
from .fresh_process import DEFAULT_TIMEOUT, run_script
from .loading import import_path_of, load_callable
from .outputs import Comparison, collect_outputs, compare_outputs

if TYPE_CHECKING:
    import pandas as pd

CHECK = "training_reproducible"
RUBRIC_ID = "infra-1"

FitFn = Callable[["pd.DataFrame", int], Any]

_CHILD_FIT = """
import pickle
import pandas as pd
from pytest_mltestscore.infra.loading import load_callable
fit = load_callable(ARGS["fit"])
data = pd.read_pickle(ARGS["data"])
model = fit(data, ARGS["seed"])
with open(ARGS["model"], "wb") as fh:
    pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
reply({"type": type(model).__name__})
"""


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
        models, error = _fit_in_fresh_processes(path, data, seed, timeout)
        where = "in two fresh Python processes"
    else:
        fn = load_callable(fit_fn) if isinstance(fit_fn, str) else fit_fn
        if not callable(fn):
            raise ValueError("fit_fn must be callable or an import path 'pkg.module:callable'")
        models, error = _fit_twice(fn, data, seed)
        where = "in this process"
    if error is not None:
        return CheckResult(
            CHECK, "fail", f"training with seed {seed} failed {where}: {error}", rubric_id=RUBRIC_ID
        )
    first, second = models

    rows = _prediction_rows(first, data, X, features, target)
    if len(rows) > sample:
        rows = rows.sample(n=sample, random_state=seed)
    try:
        out_a = collect_outputs(first, rows)
        out_b = collect_outputs(second, rows)
    except Exception as exc:
        return CheckResult(
            CHECK,
            "fail",
            f"the trained model could not predict: {type(exc).__name__}: {exc}",
            rubric_id=RUBRIC_ID,
        )
    cmp = compare_outputs(out_a, out_b, atol=atol, rtol=rtol)
    return _verdict(cmp, seed, where, len(rows), atol, rtol, max_label_diff_share, out_a.task)


def _fit_twice(fn: FitFn, data: pd.DataFrame, seed: int) -> tuple[list[Any], str | None]:
    models = []
    for attempt in (1, 2):
        try:
            models.append(fn(data.copy(), seed))
        except Exception as exc:
            return [], f"run {attempt} raised {type(exc).__name__}: {exc}"
    return models, None


def _fit_in_fresh_processes(
    path: str, data: pd.DataFrame, seed: int, timeout: float
) -> tuple[list[Any], str | None]:
    models = []
    with tempfile.TemporaryDirectory(prefix="mltestscore-infra1-") as tmp:
        workdir = Path(tmp)
        data_file = workdir / "data.pkl"
        data.to_pickle(data_file)
        for attempt in (1, 2):
            model_file = workdir / f"model-{attempt}.pkl"
            args = {"fit": path, "data": str(data_file), "seed": seed, "model": str(model_file)}
            # A different, fixed hash seed per run: code that depends on set or dict-of-str
            # iteration order shows up, and the verdict stays the same from run to run.
            env = {"PYTHONHASHSEED": str(attempt)}
            res = run_script(_CHILD_FIT, args, workdir, timeout=timeout, env=env)
            if not res.ok:
                return [], f"run {attempt}: {res.error}"
            # We wrote this pickle ourselves a moment ago, from the user's own training code.
            with model_file.open("rb") as fh:
                models.append(pickle.load(fh))
    return models, None


def _prediction_rows(
    model: Any,
    data: pd.DataFrame,
    X: pd.DataFrame | None,
    features: Sequence[str] | None,
    target: str | None,
) -> pd.DataFrame:
    if X is not None:
        return X
    if features is not None:
        return data[list(features)]
    names = feature_names(model)
    if names and all(n in data.columns for n in names):
        return data[names]
    if target is not None:
        return data.drop(columns=[target])
    return data


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

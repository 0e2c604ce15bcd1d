"""monitor-5: the model is numerically stable.

Predictions on each sample (training, serving...) hold no NaN or infinity; class probabilities
lie in [0, 1] and each row sums to 1; and the weights a model exposes (``coef_``,
``intercept_``, ``feature_importances_``, MLP ``coefs_``..., found by walking pipelines,
ensembles, column transformers and search wrappers) are finite and within a magnitude bound.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ...arguments import require_frame
from ...builtin import BuiltinCheck, CheckContext, Param, model, needs_some_data
from ...findings import findings_table, plural, require_non_negative, short
from ...modeling import classes_of, describe_rejected, has_proba
from ...result import CheckResult, library_check

if TYPE_CHECKING:
    import pandas as pd

RUBRIC_ID = "monitor-5"
DEFAULT_WEIGHT_BOUND = 1e6
DEFAULT_PROBA_TOLERANCE = 1e-6
DEFAULT_MAX_EXAMPLES = 5
WEIGHT_ATTRIBUTES = (
    "coef_",
    "intercept_",
    "coefs_",
    "intercepts_",
    "dual_coef_",
    "feature_importances_",
)
# Fitted attributes that hold sub-estimators (sklearn's naming), walked in this order.
_CHILD_ATTRIBUTES = (
    "steps",
    "transformers_",
    "transformer_list",
    "best_estimator_",
    "estimator_",
    "estimators_",
    "final_estimator_",
    "base_estimator_",
    "regressor_",
    "calibrated_classifiers_",
    "estimator",
)
_MAX_DEPTH = 6


def _is_estimator(obj: object) -> bool:
    return any(callable(getattr(obj, m, None)) for m in ("fit", "predict", "transform"))


def _children(obj: object) -> Iterator[tuple[str, object]]:
    """(path suffix, sub-estimator) pairs of a fitted estimator."""
    for attr in _CHILD_ATTRIBUTES:
        try:
            value = getattr(obj, attr, None)
        except Exception:  # properties of unfitted parts may raise anything
            continue
        if value is None or isinstance(value, str):
            continue
        if _is_estimator(value):
            yield f".{attr}", value
            continue
        if isinstance(value, np.ndarray):
            if value.dtype != object:
                continue
            items: list[Any] = list(value.ravel())
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:
            continue
        for i, item in enumerate(items):
            # Pipeline steps and column transformers are (name, estimator, ...) tuples.
            if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[0], str):
                if _is_estimator(item[1]):
                    yield f"[{item[0]}]", item[1]
            elif _is_estimator(item):
                yield f".{attr}[{i}]", item


def iter_weights(model: object, name: str = "model") -> Iterator[tuple[str, npt.NDArray[Any]]]:
    """Every weight array a model exposes, with a path such as ``model[clf].coef_``."""
    seen: set[int] = set()

    def walk(obj: object, path: str, depth: int) -> Iterator[tuple[str, npt.NDArray[Any]]]:
        if id(obj) in seen or depth > _MAX_DEPTH:
            return
        seen.add(id(obj))
        for attr in WEIGHT_ATTRIBUTES:
            try:
                value = getattr(obj, attr, None)
            except Exception:  # e.g. coef_ of a non-linear SVC raises AttributeError
                continue
            if value is None:
                continue
            parts = value if isinstance(value, list) else [value]
            for k, part in enumerate(parts):
                try:
                    arr = np.asarray(part, dtype=float)
                except (TypeError, ValueError):
                    continue
                suffix = f"[{k}]" if isinstance(value, list) else ""
                yield f"{path}.{attr}{suffix}", arr
        for suffix, child in _children(obj):
            yield from walk(child, path + suffix, depth + 1)

    yield from walk(model, name, 0)


def _row_examples(index: pd.Index, rows: npt.NDArray[np.bool_], limit: int) -> str:
    picked = index[np.flatnonzero(rows)[:limit]]
    return "rows " + ", ".join(short(v) for v in picked)


def _output_findings(
    sample: str,
    out: npt.NDArray[Any],
    columns: list[str],
    index: pd.Index,
    what: str,
    max_examples: int,
) -> list[tuple[Any, ...]]:
    """NaN/inf findings per output column of one prediction array."""
    if out.dtype.kind not in "fciub":
        return []
    values = out.reshape(len(out), -1).astype(float)
    findings = []
    for j in range(values.shape[1]):
        bad = ~np.isfinite(values[:, j])
        if bad.any():
            kinds = []
            if np.isnan(values[bad, j]).any():
                kinds.append("NaN")
            if np.isinf(values[bad, j]).any():
                kinds.append("inf")
            findings.append(
                (
                    f"{sample}: {what}[{columns[j]}]",
                    "finite check",
                    "non-finite values",
                    "0",
                    f"{int(bad.sum())} {'/'.join(kinds)} of {len(values)}",
                    "finite numbers",
                    int(bad.sum()),
                    _row_examples(index, bad, max_examples),
                )
            )
    return findings


def _proba_findings(
    sample: str,
    proba: npt.NDArray[Any],
    columns: list[str],
    index: pd.Index,
    tol: float,
    max_examples: int,
) -> list[tuple[Any, ...]]:
    """Probabilities outside [0, 1] per column, and rows not summing to 1."""
    findings: list[tuple[Any, ...]] = []
    p = proba.reshape(len(proba), -1).astype(float)
    finite = np.isfinite(p)
    with np.errstate(invalid="ignore"):
        outside = finite & ((p < -tol) | (p > 1 + tol))
    for j in range(p.shape[1]):
        col = outside[:, j]
        if col.any():
            worst = p[col, j][np.argmax(np.abs(p[col, j] - 0.5))]
            findings.append(
                (
                    f"{sample}: predict_proba[{columns[j]}]",
                    "range check",
                    "values outside [0, 1]",
                    f"tolerance {tol:g}",
                    f"{int(col.sum())} of {len(p)} (e.g. {worst:.6g})",
                    "0 <= p <= 1",
                    int(col.sum()),
                    _row_examples(index, col, max_examples),
                )
            )
    if p.shape[1] > 1:
        sums = p.sum(axis=1)
        rows_ok = finite.all(axis=1)
        off = rows_ok & (np.abs(sums - 1) > tol)
        if off.any():
            worst = sums[off][np.argmax(np.abs(sums[off] - 1))]
            findings.append(
                (
                    f"{sample}: predict_proba (row sums)",
                    "sum check",
                    "|row sum - 1|",
                    f"<= {tol:g}",
                    f"{int(off.sum())} of {len(p)} rows (worst sum {worst:.6g})",
                    "1",
                    int(off.sum()),
                    _row_examples(index, off, max_examples),
                )
            )
    return findings


@library_check
def numerical_stability(
    model: Any,
    X_samples: Mapping[str, pd.DataFrame],
    *,
    weight_bound: float | None = DEFAULT_WEIGHT_BOUND,
    proba_tolerance: float = DEFAULT_PROBA_TOLERANCE,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
) -> CheckResult:
    """No NaN/inf in the model's outputs on each named sample, sane probabilities, sane weights.

    ``X_samples`` maps a sample name (``"training"``, ``"serving"``) to feature rows. Failures
    name the sample, the output column and the first few row indexes. Weights are checked for
    NaN/inf and, unless ``weight_bound`` is None, for ``|w| <= weight_bound``.
    """
    check = "numerical_stability"
    if not callable(getattr(model, "predict", None)):
        raise ValueError(f"model: {type(model).__name__} has no predict method")
    if not isinstance(X_samples, Mapping) or not X_samples:
        raise ValueError("X_samples: expected a non-empty mapping of sample name to DataFrame")
    frames = {str(k): require_frame(v, f"X_samples[{k!r}]") for k, v in X_samples.items()}
    require_non_negative(weight_bound, "weight_bound", allow_none=True)
    require_non_negative(proba_tolerance, "proba_tolerance")
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
        raise ValueError(f"max_examples: expected an integer >= 1, got {max_examples!r}")

    findings: list[tuple[Any, ...]] = []
    notes: list[str] = []
    checked_rows = 0
    classes = classes_of(model)
    for sample, X in frames.items():
        if len(X) == 0:
            notes.append(f"sample {sample!r} is empty: not checked")
            continue
        checked_rows += len(X)
        outputs: list[tuple[str, Any]] = [("predict", model.predict)]
        if has_proba(model):
            outputs.append(("predict_proba", model.predict_proba))
        for what, method in outputs:
            try:
                # Silence numpy's floating-point warnings: NaN/inf are what we report.
                with np.errstate(all="ignore"):
                    out = np.asarray(method(X))
            except Exception as exc:  # the model's failure on these rows is the finding
                findings.append(
                    (
                        f"{sample}: {what}",
                        "call",
                        "-",
                        "-",
                        describe_rejected(method, X, exc),
                        "predictions",
                        len(X),
                        "-",
                    )
                )
                continue
            width = 1 if out.ndim == 1 else int(np.prod(out.shape[1:]))
            if what == "predict_proba" and classes is not None and len(classes) == width:
                columns = [short(c) for c in classes]
            else:
                columns = [str(j) for j in range(width)]
            findings += _output_findings(sample, out, columns, X.index, what, max_examples)
            if what == "predict_proba" and out.dtype.kind in "fiub":
                findings += _proba_findings(
                    sample, out, columns, X.index, proba_tolerance, max_examples
                )
    n_arrays = 0
    for path, arr in iter_weights(model):
        n_arrays += 1
        flat = arr.ravel()
        bad = ~np.isfinite(flat)
        if bad.any():
            findings.append(
                (
                    path,
                    "finite check",
                    "non-finite weights",
                    "0",
                    f"{int(bad.sum())} of {flat.size}",
                    "finite numbers",
                    "-",
                    "positions " + ", ".join(map(str, np.flatnonzero(bad)[:max_examples])),
                )
            )
        if weight_bound is not None:
            with np.errstate(invalid="ignore"):
                big = np.isfinite(flat) & (np.abs(flat) > weight_bound)
            if big.any():
                findings.append(
                    (
                        path,
                        "magnitude check",
                        "max |weight|",
                        f"<= {weight_bound:g}",
                        f"{np.abs(flat[big]).max():.4g} ({int(big.sum())} of {flat.size})",
                        f"|w| <= {weight_bound:g}",
                        "-",
                        "positions " + ", ".join(map(str, np.flatnonzero(big)[:max_examples])),
                    )
                )
    bound_text = "no bound" if weight_bound is None else f"|w| <= {weight_bound:g}"
    method = (
        f"finite outputs; probabilities in [0, 1] summing to 1 (tolerance {proba_tolerance:g}); "
        f"weights finite, {bound_text}"
    )
    metrics = {"rows_checked": float(checked_rows), "weight_arrays": float(n_arrays)}
    if n_arrays == 0:
        notes.append("the model exposes no weights (coef_, feature_importances_...): not checked")
    if findings:
        raised = sum(1 for f in findings if f[1] == "call")
        numeric = len(findings) - raised
        parts = [f"the model raised on {plural(raised, 'call')}"] if raised else []
        if numeric or not raised:
            parts.append(plural(numeric, "numerical problem"))
        return CheckResult(
            check,
            "fail",
            f"{'; '.join(parts)} ({method})",
            findings_table(findings),
            RUBRIC_ID,
            metrics,
            tuple(notes),
        )
    if checked_rows == 0:
        return CheckResult(
            check, "skip", "every sample is empty", None, RUBRIC_ID, metrics, tuple(notes)
        )
    return CheckResult(
        check,
        "pass",
        f"{checked_rows} rows in {plural(len(frames), 'sample')} and "
        f"{plural(n_arrays, 'weight array')} are numerically sound ({method})",
        None,
        RUBRIC_ID,
        metrics,
        tuple(notes),
    )


# -- built-in check ----------------------------------------------------------------------------
def run_numerical_stability(ctx: CheckContext) -> CheckResult:
    samples: dict[str, pd.DataFrame] = {
        n: ctx.model_inputs("default", n)
        for n in ("training", "serving")
        if ctx.assets.available("dataset", n)
    }
    return numerical_stability(
        ctx.model("default"), samples, weight_bound=ctx.params["weight_bound"]
    )


NUMERICAL_STABILITY = BuiltinCheck(
    "monitor-5",
    "numerical-stability",
    "no NaN/inf in predictions or weights; probabilities valid",
    (model("default"), needs_some_data),
    run_numerical_stability,
    (Param("weight_bound", "number", 1e6, "largest plausible absolute weight"),),
    declines="the model cannot take the data's columns",
)

"""model-5, a simpler model is not better: the model must beat simple baselines on held-out data.

Two baselines are fitted on the training rows: a constant (majority class with the training class
shares as probabilities, or the training mean) and an L2-regularised linear model (softmax
logistic regression or ridge regression) on the ``top_k_features`` numeric columns with the
largest univariate score (ANOVA F for classes, absolute Pearson correlation for numbers). Both are
fitted with numpy and scipy, so scikit-learn is not needed and the baselines are the same whether
it is installed or not.

The model wins against a baseline when the lower bound of a paired bootstrap confidence interval
of the difference (model minus baseline, in the metric's better direction, resampling held-out
rows) exceeds ``margin``: a tie on a small held-out set is not a win.
"""

from __future__ import annotations

import contextlib
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ...builtin import METRIC, BuiltinCheck, CheckContext, Param, dataset, model, needs_holdout
from ...evaluation import (
    bootstrap_indices,
    bootstrap_means,
    check_bootstrap,
    check_fraction,
    check_positive,
    finish_mean,
    gain,
    labelled,
    labels_of,
    model_input,
    n_rows,
    outputs,
    percentile_interval,
    positive_for,
    resolve_metric,
    row_terms,
    score,
    take_rows,
)
from ...metrics import Metric
from ...modeling import classes_of, infer_task
from ...result import CheckResult, Table, library_check

if TYPE_CHECKING:
    import pandas as pd

CHECK = "model-5 simpler model is not better"


def _as_frame(X: Any) -> pd.DataFrame:
    """A DataFrame view of ``X`` for the baselines (arrays get columns ``x0, x1, ...``)."""
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        return X
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(f"X must be 2-D (rows x features), got {arr.ndim} dimension(s)")
    return pd.DataFrame(arr, columns=[f"x{j}" for j in range(arr.shape[1])])


def _features(k: int) -> str:
    return f"{k} feature{'s' if k != 1 else ''}"


def _numeric_columns(frame: pd.DataFrame) -> list[str]:
    import pandas as pd

    return [
        c
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])
    ]


def univariate_scores(
    frame: pd.DataFrame, y: npt.NDArray[Any], classification: bool
) -> dict[str, float]:
    """A cheap per-column relevance score: ANOVA F (classes) or |Pearson r| (numbers).

    Missing values are filled with the column median; constant columns score 0.
    """
    scores: dict[str, float] = {}
    for col in _numeric_columns(frame):
        x = np.asarray(frame[col], dtype=float)
        finite = np.isfinite(x)
        if not finite.any():
            scores[str(col)] = 0.0
            continue
        x = np.where(finite, x, np.median(x[finite]))
        if np.ptp(x) == 0:
            scores[str(col)] = 0.0
            continue
        if classification:
            labels, inverse = np.unique(y, return_inverse=True)
            k = len(labels)
            if k < 2:
                scores[str(col)] = 0.0
                continue
            counts = np.bincount(inverse)
            means = np.bincount(inverse, weights=x) / counts
            between = float(np.sum(counts * (means - x.mean()) ** 2)) / (k - 1)
            within = float(np.sum((x - means[inverse]) ** 2)) / max(len(x) - k, 1)
            scores[str(col)] = between / within if within > 0 else float("inf")
        else:
            yf = np.asarray(y, dtype=float)
            sy = float(np.std(yf))
            r = float(np.mean((x - x.mean()) * (yf - yf.mean())) / (np.std(x) * sy)) if sy else 0
            scores[str(col)] = abs(r)
    return scores


class _Standardiser:
    """Column selection, median fill and standardisation learned on the training rows."""

    def __init__(self, frame: pd.DataFrame, columns: list[str]) -> None:
        self.columns = columns
        Z = np.asarray(frame[columns], dtype=float)
        finite = np.isfinite(Z)
        self.medians = np.array(
            [
                np.median(Z[finite[:, j], j]) if finite[:, j].any() else 0.0
                for j in range(Z.shape[1])
            ]
        )
        Z = np.where(finite, Z, self.medians)
        self.means = Z.mean(axis=0)
        sd = Z.std(axis=0)
        self.sds = np.where(sd > 0, sd, 1.0)

    def __call__(self, X: Any) -> npt.NDArray[np.float64]:
        Z = np.asarray(_as_frame(X)[self.columns], dtype=float)
        Z = np.where(np.isfinite(Z), Z, self.medians)
        return np.asarray((Z - self.means) / self.sds, dtype=np.float64)


class MajorityBaseline:
    """Predicts the most common training class; probabilities are the training class shares."""

    def __init__(self, y: npt.NDArray[Any]) -> None:
        self.classes_, counts = np.unique(y, return_counts=True)
        self._share = counts / counts.sum()
        self._label = self.classes_[int(np.argmax(counts))]
        self.description = f"majority class ({self._label})"

    def predict(self, X: Any) -> npt.NDArray[Any]:
        return np.full(n_rows(X), self._label, dtype=self.classes_.dtype)

    def predict_proba(self, X: Any) -> npt.NDArray[np.float64]:
        return np.tile(self._share, (n_rows(X), 1))


class MeanBaseline:
    """Predicts the training mean."""

    def __init__(self, y: npt.NDArray[Any]) -> None:
        self._mean = float(np.mean(np.asarray(y, dtype=float)))
        self.description = f"training mean ({self._mean:.4g})"

    def predict(self, X: Any) -> npt.NDArray[np.float64]:
        return np.full(n_rows(X), self._mean)


class LogisticBaseline:
    """Softmax logistic regression with an L2 penalty (scikit-learn's ``C`` convention)."""

    def __init__(self, frame: pd.DataFrame, y: npt.NDArray[Any], columns: list[str], C: float):
        from scipy.optimize import minimize

        self._prep = _Standardiser(frame, columns)
        Z = self._prep(frame)
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        n, d = Z.shape
        k = len(self.classes_)
        onehot = np.zeros((n, k))
        onehot[np.arange(n), y_idx] = 1.0

        def objective(w: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
            W, b = w[: d * k].reshape(d, k), w[d * k :]
            logits = Z @ W + b
            logits -= logits.max(axis=1, keepdims=True)
            logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
            resid = np.exp(logp) - onehot
            loss = -C * float(np.sum(onehot * logp)) + 0.5 * float(np.sum(W * W))
            grad = np.concatenate([(C * Z.T @ resid + W).ravel(), C * resid.sum(axis=0)])
            return loss, grad

        fit = minimize(
            objective, np.zeros(d * k + k), jac=True, method="L-BFGS-B", options={"maxiter": 2000}
        )
        self._W, self._b = fit.x[: d * k].reshape(d, k), fit.x[d * k :]
        self.description = f"L2 logistic regression on {_features(len(columns))}"

    def predict_proba(self, X: Any) -> npt.NDArray[np.float64]:
        logits = self._prep(X) @ self._W + self._b
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float64)

    def predict(self, X: Any) -> npt.NDArray[Any]:
        return np.asarray(self.classes_[np.argmax(self.predict_proba(X), axis=1)])


class RidgeBaseline:
    """Ridge regression on standardised columns (closed form)."""

    def __init__(self, frame: pd.DataFrame, y: npt.NDArray[Any], columns: list[str], alpha: float):
        self._prep = _Standardiser(frame, columns)
        Z = self._prep(frame)
        yf = np.asarray(y, dtype=float)
        self._b = float(yf.mean())
        d = Z.shape[1]
        self._w = np.linalg.solve(Z.T @ Z + alpha * np.eye(d), Z.T @ (yf - self._b))
        self.description = f"ridge regression on {_features(len(columns))}"

    def predict(self, X: Any) -> npt.NDArray[np.float64]:
        return np.asarray(self._prep(X) @ self._w + self._b, dtype=np.float64)


def fit_baselines(
    train_X: Any,
    train_y: npt.NDArray[Any],
    classification: bool,
    top_k_features: int = 3,
    strength: float = 1.0,
) -> tuple[list[Any], list[str]]:
    """Fit the constant and the few-feature linear baselines; return them with notes."""
    frame = _as_frame(train_X)
    notes: list[str] = []
    baselines: list[Any] = [MajorityBaseline(train_y) if classification else MeanBaseline(train_y)]
    numeric = _numeric_columns(frame)
    skipped = [str(c) for c in frame.columns if c not in numeric]
    if skipped:
        notes.append(f"non-numeric columns not used by the linear baseline: {', '.join(skipped)}")
    if classification and len(np.unique(train_y)) < 2:
        notes.append("linear baseline not fitted: the training labels hold a single class")
        return baselines, notes
    scores = univariate_scores(frame, train_y, classification)
    ranked = sorted((s for s in scores.items() if s[1] > 0), key=lambda kv: (-kv[1], kv[0]))
    columns = [c for c, _ in ranked[:top_k_features]]
    if not columns:
        notes.append("linear baseline not fitted: no numeric column varies in the training rows")
        return baselines, notes
    score_name = "ANOVA F" if classification else "|Pearson r|"
    notes.append(
        f"linear baseline features (top {len(columns)} of {len(numeric)} numeric by {score_name}): "
        + ", ".join(f"{c} ({scores[c]:.3g})" for c in columns)
    )
    lookup = {str(c): c for c in frame.columns}
    cols = [lookup[c] for c in columns]
    if classification:
        baselines.append(LogisticBaseline(frame, train_y, cols, C=strength))
    else:
        baselines.append(RidgeBaseline(frame, train_y, cols, alpha=strength))
    return baselines, notes


def _paired_bootstrap(
    metric: Metric,
    y: npt.NDArray[Any],
    model_out: tuple[npt.NDArray[Any], npt.NDArray[Any] | None],
    others: list[tuple[npt.NDArray[Any], npt.NDArray[Any] | None]],
    n_bootstrap: int,
    seed: int,
    positive: object,
) -> npt.NDArray[np.float64]:
    """Resampled differences (model gain over each baseline); NaN where the metric is undefined."""
    terms = [row_terms(metric, y, out, classes) for out, classes in [model_out, *others]]
    if len(y) and all(t is not None for t in terms):  # means over rows: all resamples at once
        means = bootstrap_means([t for t in terms if t is not None], n_bootstrap, seed)
        mine, *theirs = (finish_mean(metric, m) for m in means)
        sign = 1.0 if metric.greater_is_better else -1.0  # gain() over every resample
        return np.column_stack([sign * (mine - t) for t in theirs] or [np.empty((n_bootstrap, 0))])
    diffs = np.full((n_bootstrap, len(others)), np.nan)
    for b, idx in enumerate(bootstrap_indices(len(y), n_bootstrap, seed)):
        yb = y[idx]
        try:
            mv = score(metric, yb, model_out[0][idx], model_out[1], positive)
        except ValueError:
            continue
        for j, (out, classes) in enumerate(others):
            with contextlib.suppress(ValueError):
                diffs[b, j] = gain(metric, mv, score(metric, yb, out[idx], classes, positive))
    return diffs


@library_check
def simpler_model_not_better(
    model: Any,
    train_X: Any,
    train_y: Any,
    holdout_X: Any,
    holdout_y: Any,
    *,
    metric: str | Metric | None = None,
    margin: float = 0.0,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    top_k_features: int = 3,
    min_rows: int = 30,
    baseline_strength: float = 1.0,
) -> CheckResult:
    """model-5: the model beats a constant and a few-feature linear baseline by ``margin``.

    Passes when, against every baseline, the lower bound of the ``confidence`` paired-bootstrap
    interval of (model - baseline) on the held-out rows, in the metric's better direction, is
    above ``margin`` (in metric units). Skips with fewer than ``min_rows`` labelled held-out rows.
    ``baseline_strength`` is the logistic ``C`` or the ridge ``alpha`` of the linear baseline.
    """
    check_bootstrap(n_bootstrap, confidence)
    check_fraction("confidence", confidence)
    check_positive("top_k_features", top_k_features)
    check_positive("min_rows", min_rows)
    check_positive("baseline_strength", baseline_strength)
    if not np.isfinite(margin):
        raise ValueError(f"margin must be a finite number, got {margin!r}")

    met = resolve_metric(metric, model, train_y)
    classification = infer_task(model, train_y) == "classification"
    ytr = labels_of(train_y, n_rows(train_X), "train_y")
    yho = labels_of(holdout_y, n_rows(holdout_X), "holdout_y")
    notes: list[str] = []
    keep_tr, keep_ho = labelled(ytr), labelled(yho)
    if not keep_tr.all():
        notes.append(f"{int((~keep_tr).sum())} training rows without a label left out")
    if not keep_ho.all():
        notes.append(f"{int((~keep_ho).sum())} held-out rows without a label left out")
    n_train, n_hold = int(keep_tr.sum()), int(keep_ho.sum())
    data = f"{n_train} training rows, {n_hold} labelled held-out rows"
    if n_hold < min_rows or n_train < min_rows:
        return CheckResult(
            CHECK,
            "skip",
            f"too few labelled rows to compare with baselines ({data}; at least {min_rows} "
            "of each needed)",
            rubric_id="model-5",
            notes=tuple(notes),
        )

    train_view = take_rows(model_input(model, train_X), np.flatnonzero(keep_tr))
    hold_view = take_rows(model_input(model, holdout_X), np.flatnonzero(keep_ho))
    ytr, yho = ytr[keep_tr], yho[keep_ho]
    baselines, fit_notes = fit_baselines(
        train_view, ytr, classification, top_k_features, baseline_strength
    )
    notes.extend(fit_notes)

    positive = positive_for(met, yho)
    model_out = (outputs(model, hold_view, met), classes_of(model))
    model_value = score(met, yho, *model_out, positive)
    base_outs = [(outputs(b, hold_view, met), classes_of(b)) for b in baselines]
    base_values = [score(met, yho, *o, positive) for o in base_outs]
    diffs = _paired_bootstrap(met, yho, model_out, base_outs, n_bootstrap, seed, positive)

    pct = f"{confidence * 100:g}%"
    rows = []
    metrics: dict[str, float] = {"model_value": model_value}
    failed: list[int] = []
    lows: list[float] = []
    for j, (b, value) in enumerate(zip(baselines, base_values, strict=True)):
        d = diffs[:, j]
        d = d[np.isfinite(d)]
        if len(d) < n_bootstrap // 2:
            notes.append(
                f"{b.description}: metric undefined on {n_bootstrap - len(d)} of {n_bootstrap} "
                "resamples"
            )
        if len(d) == 0:
            return CheckResult(
                CHECK,
                "skip",
                f"{met.name} is undefined on every bootstrap resample of the held-out rows",
                rubric_id="model-5",
                notes=tuple(notes),
            )
        lo, hi = percentile_interval(d, confidence)
        lows.append(lo)
        diff = gain(met, model_value, value)
        ok = lo > margin
        if not ok:
            failed.append(j)
            notes.append(_rows_to_resolve(b.description, diff, lo, margin, n_hold))
        status = "model wins" if ok else f"not a win: CI lower bound {lo:.4g} <= margin {margin:g}"
        rows.append(
            (b.description, value, model_value, diff, f"[{lo:.4g}, {hi:.4g}]", margin, status)
        )
        key = "constant" if j == 0 else "linear"
        metrics[f"{key}_value"] = value
        metrics[f"{key}_difference"] = diff
        metrics[f"{key}_ci_low"] = lo
        metrics[f"{key}_ci_high"] = hi

    best = int(np.argmax([gain(met, v, 0.0) for v in base_values]))
    metrics["best_baseline_value"] = base_values[best]
    metrics["ci_low"] = min(lows)
    table = Table(
        (
            "baseline",
            f"baseline {met.name}",
            f"model {met.name}",
            "model better by",
            f"{pct} CI",
            "margin",
            "status",
        ),
        tuple(rows),
    )
    method = (
        f"{met.name} on {data}; {pct} paired bootstrap CI of the difference "
        f"({n_bootstrap} resamples, seed {seed}) must be above margin {margin:g}"
    )
    if failed:
        names = ", ".join(baselines[j].description for j in failed)
        summary = f"the model is not clearly better than {names}: {method}"
        return CheckResult(CHECK, "fail", summary, table, "model-5", metrics, tuple(notes))
    summary = (
        f"the model ({met.name} {model_value:.4g}) beats the best baseline "
        f"({baselines[best].description}: {base_values[best]:.4g}): {method}"
    )
    return CheckResult(CHECK, "pass", summary, table, "model-5", metrics, tuple(notes))


def rows_to_resolve(diff: float, low: float, margin: float, n_rows: int) -> int | None:
    """How many held-out rows would put the interval's lower bound above ``margin`` if the lead
    stayed ``diff``: the interval's half-width shrinks as 1/sqrt(n). None when the lead itself
    is not above the margin (no number of rows makes it a win)."""
    lead = diff - margin
    half = diff - low
    if lead <= 0 or half <= 0:
        return None
    return max(n_rows + 1, math.ceil(n_rows * (half / lead) ** 2))


def _rows_to_resolve(what: str, diff: float, low: float, margin: float, n_rows: int) -> str:
    needed = rows_to_resolve(diff, low, margin, n_rows)
    if needed is None:
        return (
            f"against {what}: the lead {diff:.4g} is not above the margin {margin:g}, so no "
            "amount of held-out data makes it a win: improve the model (or ship the simpler one)"
        )
    return (
        f"against {what}: at the observed lead {diff:.4g} the interval is too wide on "
        f"{n_rows} held-out rows; about {needed} would resolve it (the interval narrows as "
        "1/sqrt(rows)): collect more labelled held-out data, or improve the model"
    )


# -- built-in check ----------------------------------------------------------------------------
def run_simpler_baseline(ctx: CheckContext) -> CheckResult:
    train_X, train_y = ctx.labelled("default", "training")
    hold_X, hold_y = ctx.labelled("default", ctx.holdout_name())
    return simpler_model_not_better(
        ctx.model("default"),
        train_X,
        train_y,
        hold_X,
        hold_y,
        metric=ctx.params["metric"],
        margin=ctx.params["margin"],
        n_bootstrap=ctx.params["n_bootstrap"],
        top_k_features=ctx.params["top_k_features"],
    )


SIMPLER_BASELINE = BuiltinCheck(
    "model-5",
    "simpler-baseline",
    "the model beats simple baselines on held-out data, bootstrap CI",
    (model("default"), dataset("training", column="target"), needs_holdout),
    run_simpler_baseline,
    (
        METRIC,
        Param("margin", "number", 0.0, "required lead over the best baseline"),
        Param("n_bootstrap", "integer", 1000, "bootstrap resamples for the CI", 100),
        Param("top_k_features", "integer", 3, "features the linear baseline uses", 1),
    ),
    declines="the model cannot take the data's columns; too few labelled rows",
)

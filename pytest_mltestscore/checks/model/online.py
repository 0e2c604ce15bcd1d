"""model-2, offline and online metrics correlate.

:func:`offline_online_correlation` judges paired observations (one offline metric value and one
online metric value per model version or experiment arm): the Spearman rank correlation must
reach ``threshold`` in the expected direction. The p-value is reported, never gated on.

:func:`degradation_ladder` makes the paper's "degrade on purpose" experiment easy: it builds
variants of a model degraded by known amounts (label noise in training, or noise on the inputs
at prediction time) and scores them offline. Serve the variants to a small share of traffic,
record their online metric, and pass both series to ``ladder.correlate(online)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from ...assets import AssetError
from ...builtin import BuiltinCheck, CheckContext, Param, configured_dataset
from ...evaluation import (
    FitFn,
    check_positive,
    column_names,
    labels_of,
    model_input,
    n_rows,
    resolve_metric,
)
from ...metrics import Metric
from ...modeling import evaluate
from ...result import CheckResult, Table, library_check

if TYPE_CHECKING:
    import pandas as pd

CHECK = "model-2 offline and online metrics correlate"


@library_check
def offline_online_correlation(
    offline: Sequence[float] | npt.ArrayLike,
    online: Sequence[float] | npt.ArrayLike,
    *,
    labels: Sequence[str] | None = None,
    min_pairs: int = 5,
    threshold: float = 0.7,
    direction: Literal["positive", "negative"] = "positive",
) -> CheckResult:
    """model-2: the Spearman correlation of paired offline/online values reaches ``threshold``.

    ``direction="negative"`` when one metric is a loss and the other a gain (the correlation is
    then negated before the comparison). Pairs with a missing value are left out; fewer than
    ``min_pairs`` complete pairs, or a metric that never varies, is a skip.
    """
    from scipy.stats import rankdata, spearmanr

    off = np.asarray(offline, dtype=float).reshape(-1)
    on = np.asarray(online, dtype=float).reshape(-1)
    if len(off) != len(on):
        raise ValueError(
            f"{len(off)} offline values but {len(on)} online values: they must pair up"
        )
    if direction not in ("positive", "negative"):
        raise ValueError(f"direction must be 'positive' or 'negative', got {direction!r}")
    if not -1.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a correlation between -1 and 1, got {threshold!r}")
    check_positive("min_pairs", min_pairs)
    names = [str(s) for s in labels] if labels is not None else [str(i) for i in range(len(off))]
    if len(names) != len(off):
        raise ValueError(f"{len(names)} labels for {len(off)} pairs")
    ok = np.isfinite(off) & np.isfinite(on)
    off, on = off[ok], on[ok]
    names = [n for n, keep in zip(names, ok, strict=True) if keep]
    n = len(off)
    notes = [f"{int((~ok).sum())} pairs with a missing value left out"] if not ok.all() else []
    if n < max(min_pairs, 3):
        return CheckResult(
            CHECK,
            "skip",
            f"only {n} complete offline/online pairs (at least {max(min_pairs, 3)} needed)",
            rubric_id="model-2",
            notes=tuple(notes),
        )
    for name, values in (("offline", off), ("online", on)):
        if np.ptp(values) == 0:
            return CheckResult(
                CHECK,
                "skip",
                f"the {name} metric is the same in all {n} pairs: no ranking to correlate",
                rubric_id="model-2",
                notes=tuple(notes),
            )
    rho, p = spearmanr(off, on)
    rho, p = float(rho), float(p)
    signed = rho if direction == "positive" else -rho
    r_off, r_on = rankdata(off), rankdata(on)
    if direction == "negative":
        r_on = rankdata(-on)
    order = np.argsort(off, kind="stable")
    table = Table(
        ("pair", "offline", "online", "offline rank", "online rank", "rank difference"),
        tuple(
            (
                names[i],
                float(off[i]),
                float(on[i]),
                float(r_off[i]),
                float(r_on[i]),
                float(r_on[i] - r_off[i]),
            )
            for i in order
        ),
    )
    expect = "" if direction == "positive" else " (negated: lower online is better)"
    method = (
        f"Spearman rank correlation of {n} offline/online pairs {rho:.3g}{expect} against "
        f"threshold {threshold:g} (p = {p:.3g}, informational)"
    )
    metrics = {"spearman": rho, "p_value": p, "pairs": float(n)}
    if signed >= threshold:
        return CheckResult(
            CHECK,
            "pass",
            f"offline tracks online: {method}",
            table,
            "model-2",
            metrics,
            tuple(notes),
        )
    return CheckResult(
        CHECK,
        "fail",
        f"offline does not track online: {method}",
        table,
        "model-2",
        metrics,
        tuple(notes),
    )


class NoisyInputModel:
    """A model whose numeric inputs get Gaussian noise of ``level`` x each column's SD.

    The noise is drawn from ``seed`` for each call, so the same input gives the same output;
    ``predict``, ``predict_proba`` (when the wrapped model has it) and ``classes_`` are forwarded.
    """

    def __init__(self, model: Any, level: float, scales: dict[Any, float], seed: int) -> None:
        self.model, self.level, self.scales, self.seed = model, level, scales, seed
        for attr in ("classes_", "feature_names_in_"):
            if hasattr(model, attr):
                setattr(self, attr, getattr(model, attr))
        if callable(getattr(model, "predict_proba", None)):
            self.predict_proba = self._predict_proba

    def _noisy(self, X: Any) -> Any:
        rng = np.random.default_rng(self.seed)
        n = n_rows(X)
        if hasattr(X, "iloc"):
            out = X.copy()
            for col, sd in self.scales.items():
                if col in out.columns:
                    noise = rng.normal(0, self.level * sd, n)
                    out[col] = np.asarray(out[col], dtype=float) + noise
            return out
        arr = np.array(X, dtype=float, copy=True)
        for j, sd in self.scales.items():
            arr[:, j] += rng.normal(0, self.level * sd, n)
        return arr

    def predict(self, X: Any) -> Any:
        return self.model.predict(self._noisy(X))

    def _predict_proba(self, X: Any) -> Any:
        return self.model.predict_proba(self._noisy(X))


@dataclass(frozen=True)
class DegradationLadder:
    """Variants of a model degraded by known amounts, with their offline metric."""

    kind: str
    metric: str
    levels: tuple[float, ...]
    models: tuple[Any, ...] = field(repr=False)
    offline: tuple[float, ...]

    @property
    def table(self) -> Table:
        """One row per variant: degradation level and offline metric."""
        return Table(
            ("variant", "kind", "level", f"offline {self.metric}"),
            tuple(
                (i, self.kind, lvl, v)
                for i, (lvl, v) in enumerate(zip(self.levels, self.offline, strict=True))
            ),
        )

    def correlate(self, online: Sequence[float], **kwargs: Any) -> CheckResult:
        """model-2 on this ladder: its offline values against the online value of each variant."""
        labels = [f"{self.kind} {lvl:g}" for lvl in self.levels]
        return offline_online_correlation(self.offline, online, labels=labels, **kwargs)


def degradation_ladder(
    model_or_fit_fn: Any | FitFn,
    X: pd.DataFrame | npt.ArrayLike,
    y: Any,
    X_eval: pd.DataFrame | npt.ArrayLike,
    y_eval: Any,
    *,
    levels: Sequence[float] = (0.0, 0.05, 0.1, 0.2, 0.4),
    kind: Literal["label_noise", "feature_noise"] = "label_noise",
    metric: str | Metric | None = None,
    seed: int = 0,
    target: str | None = None,
) -> DegradationLadder:
    """Degraded variants of a model and their offline metric on ``(X_eval, y_eval)``.

    ``label_noise``: retrain with a share ``level`` of the training labels replaced by labels
    drawn at random from the training labels (needs a trainer ``fit(train_df, seed)``, called
    with ``X`` plus the target column named ``target``, default ``y.name`` or ``"target"``).
    ``feature_noise``: wrap the model (given, or trained once on clean data) so that each numeric
    input gets Gaussian noise of ``level`` standard deviations (of that column in ``X``).
    """
    import pandas as pd

    if kind not in ("label_noise", "feature_noise"):
        raise ValueError(f"kind must be 'label_noise' or 'feature_noise', got {kind!r}")
    lv = [float(v) for v in levels]
    if not lv:
        raise ValueError("levels must hold at least one degradation level")
    for v in lv:
        if not np.isfinite(v) or v < 0 or (kind == "label_noise" and v > 1):
            limit = "between 0 and 1" if kind == "label_noise" else "non-negative"
            raise ValueError(f"{kind} levels must be {limit}, got {v!r}")
    frozen = hasattr(model_or_fit_fn, "predict")
    if not frozen and not callable(model_or_fit_fn):
        raise ValueError(
            "model_or_fit_fn must be a model with predict or a fit(train_df, seed) callable"
        )
    if kind == "label_noise" and frozen:
        raise ValueError(
            "label_noise retrains the model: pass a fit(train_df, seed) callable, not a model"
        )
    ytr = labels_of(y, n_rows(X), "y")
    yev = labels_of(y_eval, n_rows(X_eval), "y_eval")
    name = target or (str(y.name) if getattr(y, "name", None) is not None else "target")

    def train(labels: npt.NDArray[Any]) -> Any:
        frame = (
            X.copy()
            if isinstance(X, pd.DataFrame)
            else pd.DataFrame(np.asarray(X), columns=column_names(X))
        )
        if name in frame.columns:
            raise ValueError(f"target name {name!r} is already a column of X; pass target=")
        frame[name] = labels
        return model_or_fit_fn(frame, seed)

    rng = np.random.default_rng(seed)
    models: list[Any] = []
    if kind == "label_noise":
        for level in lv:
            noisy = ytr.copy()
            k = round(level * len(ytr))
            rows = rng.choice(len(ytr), size=k, replace=False)
            noisy[rows] = ytr[rng.integers(0, len(ytr), k)]
            models.append(train(noisy))
    else:
        base = model_or_fit_fn if frozen else train(ytr)
        scales = _numeric_scales(X)
        models = [NoisyInputModel(base, level, scales, seed + i) for i, level in enumerate(lv)]

    met = resolve_metric(metric, models[0], yev)
    offline = tuple(float(evaluate(m, model_input(m, X_eval), yev, met)) for m in models)
    return DegradationLadder(kind, met.name, tuple(lv), tuple(models), offline)


def _numeric_scales(X: Any) -> dict[Any, float]:
    """Standard deviation of each numeric column of ``X`` (by name for frames, else position)."""
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        types = pd.api.types
        return {
            c: float(np.nanstd(np.asarray(X[c], dtype=float)))
            for c in X.columns
            if types.is_numeric_dtype(X[c]) and not types.is_bool_dtype(X[c])
        }
    arr = np.asarray(X, dtype=float)
    return {j: float(np.nanstd(arr[:, j])) for j in range(arr.shape[1])}


# -- built-in check ----------------------------------------------------------------------------
def run_offline_online(ctx: CheckContext) -> CheckResult:
    name = ctx.params["dataset"]
    frame = ctx.assets.frame(name)
    cols = [ctx.params["offline"], ctx.params["online"]]
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise AssetError(
            f"[tool.mltestscore.checks.model-2]: column(s) {', '.join(missing)} not in dataset "
            f"{name!r} (columns: {', '.join(map(str, frame.columns[:20]))})"
        )
    pairs = frame[cols].dropna()
    return offline_online_correlation(
        pairs[cols[0]].to_numpy(dtype=float),
        pairs[cols[1]].to_numpy(dtype=float),
        min_pairs=ctx.params["min_pairs"],
        threshold=ctx.params["threshold"],
        direction=ctx.params["direction"],
    )


def needs_experiments(ctx: CheckContext) -> str | None:
    """paired offline/online observations: `dataset`, `offline`, `online` parameters"""
    missing = [k for k in ("dataset", "offline", "online") if not ctx.params.get(k)]
    if missing:
        return (
            "no paired offline/online observations: set dataset, offline and online under "
            "[tool.mltestscore.checks.model-2]"
        )
    return None


OFFLINE_ONLINE = BuiltinCheck(
    "model-2",
    "offline-online-correlation",
    "offline metrics rank experiments as the online metric does (Spearman correlation)",
    (needs_experiments,),
    run_offline_online,
    (
        Param(
            "dataset",
            "string",
            None,
            "dataset of paired observations, one row per model",
            check=configured_dataset,
        ),
        Param("offline", "string", None, "column of the offline metric (e.g. validation AUC)"),
        Param("online", "string", None, "column of the online metric (e.g. click-through)"),
        Param("min_pairs", "integer", 5, "pairs needed for a verdict", 3),
        Param("threshold", "number", 0.7, "minimum rank correlation", -1.0, 1.0),
        Param(
            "direction",
            "string",
            "positive",
            "positive, or negative for a loss",
            choices=("positive", "negative"),
        ),
    ),
    declines="fewer than `min_pairs` complete pairs; a metric constant over all pairs",
)

"""model-4, the impact of model staleness is known: an age-versus-quality curve.

A model trained on the rows up to ``train_until`` (or a frozen model trained then) is scored on
successive later periods. A period's age is the number of days from ``train_until`` to the end
of the period: the oldest the model was while serving it.

Rule for the tolerable age: the freshest judged period (the first one with at least
``min_period_rows`` labelled rows) is the reference; walking forward in time, periods whose
metric is no worse than the reference by more than the allowed gap (``tolerance`` in metric
units, else ``relative_tolerance`` times the reference) are within tolerance; the tolerable age
is the age of the last period before the first one that is not. Periods too small to judge
neither extend nor break the run. When no period breaks it, the tolerable age is at least the
age of the last period (``metrics["tolerable_age_is_lower_bound"] == 1``).

Verdict: with ``max_tolerable_age_days`` set (the age the team needs the model to survive),
fail when the tolerable age is below it, pass when it reaches it, skip when no decay is seen but
the data does not reach that age. Without it, pass once a curve of at least two judged periods
exists (the impact of staleness is then known and recorded in ``metrics``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ...arguments import require_columns, require_frame
from ...builtin import METRIC, BuiltinCheck, CheckContext, Param, dataset, model
from ...evaluation import (
    FitFn,
    allowed_gap,
    check_positive,
    describe_gap,
    gain,
    labelled,
    outputs,
    positive_for,
    resolve_metric,
    try_score,
)
from ...metrics import Metric
from ...modeling import classes_of
from ...result import CheckResult, Table, Verdict, library_check

if TYPE_CHECKING:
    import pandas as pd

CHECK = "model-4 impact of staleness"
_DAY = np.timedelta64(1, "D")


def _timestamps(data: pd.DataFrame, column: str) -> tuple[pd.Series, list[int]]:
    """The column parsed as UTC timestamps, and the positions of values that did not parse."""
    import pandas as pd

    raw = data[column]
    if pd.api.types.is_datetime64_any_dtype(raw):
        ts = raw.dt.tz_localize("UTC") if raw.dt.tz is None else raw.dt.tz_convert("UTC")
    else:
        ts = pd.to_datetime(raw, utc=True, errors="coerce", format="mixed")
    bad = np.flatnonzero(np.asarray(ts.isna()) & ~np.asarray(raw.isna()))
    return ts.reset_index(drop=True), [int(i) for i in bad]


def _to_utc(value: Any, what: str) -> pd.Timestamp:
    import pandas as pd

    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ValueError(f"{what} must be a date or timestamp, got {value!r}") from None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _period_edges(start: pd.Timestamp, end: pd.Timestamp, periods: int | str) -> list[pd.Timestamp]:
    import pandas as pd

    if isinstance(periods, str):
        try:
            step = pd.Timedelta(periods)
        except ValueError:
            raise ValueError(
                f"periods must be a count or a fixed duration such as '30D', got {periods!r}"
            ) from None
        if step <= pd.Timedelta(0):
            raise ValueError(f"periods must be a positive duration, got {periods!r}")
        edges = [start]
        while edges[-1] < end:
            edges.append(edges[-1] + step)
        return edges
    if isinstance(periods, bool) or not isinstance(periods, int) or periods < 1:
        raise ValueError(f"periods must be a positive count or a duration string, got {periods!r}")
    return [start + (end - start) * (k / periods) for k in range(periods + 1)]


@library_check
def staleness_curve(
    fit_fn_or_model: FitFn | Any,
    data: pd.DataFrame,
    timestamp: str,
    target: str,
    features: Sequence[str],
    *,
    periods: int | str = 6,
    train_until: Any = None,
    metric: str | Metric | None = None,
    tolerance: float | None = None,
    relative_tolerance: float = 0.05,
    max_tolerable_age_days: float | None = None,
    min_period_rows: int = 30,
    seed: int = 0,
) -> CheckResult:
    """model-4: score a model trained up to ``train_until`` on later periods; derive tolerable age.

    ``fit_fn_or_model`` is either a trainer ``fit(train_df, seed) -> model`` (called on the rows
    up to ``train_until``, all columns) or a frozen model (then ``train_until`` is required).
    ``periods`` splits the rows after ``train_until`` into that many equal spans, or into spans
    of a fixed duration (``"30D"``). ``train_until`` defaults to the median timestamp. The table
    lists every period with its age in days, rows and metric; ``metrics["tolerable_age_days"]``
    is what monitor-4 uses when no maximum age is configured.
    """
    frame = require_frame(data, "data").reset_index(drop=True)
    feats = [features] if isinstance(features, str) else list(features)
    for arg, names in (("timestamp", [timestamp]), ("target", [target]), ("features", feats)):
        require_columns(frame, names, arg=arg, what="data")
    check_positive("min_period_rows", min_period_rows)
    check_positive("relative_tolerance", relative_tolerance, allow_zero=True)
    if max_tolerable_age_days is not None:
        check_positive("max_tolerable_age_days", max_tolerable_age_days)
    frozen = hasattr(fit_fn_or_model, "predict")
    if not frozen and not callable(fit_fn_or_model):
        raise ValueError(
            "fit_fn_or_model must be a model with predict or a fit(train_df, seed) callable"
        )
    if frozen and train_until is None:
        raise ValueError("a frozen model needs train_until: the time its training data ends")

    ts, bad = _timestamps(frame, timestamp)
    if bad:
        shown = ", ".join(f"row {i}: {frame[timestamp].iloc[i]!r}" for i in bad[:5])
        return CheckResult(
            CHECK,
            "fail",
            f"column {timestamp!r}: {len(bad)} value(s) are not timestamps ({shown})",
            Table(("row", timestamp), tuple((i, frame[timestamp].iloc[i]) for i in bad[:20])),
            "model-4",
        )
    has_time = np.asarray(ts.notna())
    notes = []
    if not has_time.all():
        notes.append(f"{int((~has_time).sum())} rows without a {timestamp!r} left out")
    if not has_time.any():
        return CheckResult(CHECK, "skip", f"no row has a {timestamp!r}", rubric_id="model-4")
    if train_until is not None:
        cut = _to_utc(train_until, "train_until")
    else:
        cut = _to_utc(ts[has_time].quantile(0.5), "the median timestamp")
    before = has_time & np.asarray(ts <= cut)
    after = has_time & np.asarray(ts > cut)
    if not after.any():
        return CheckResult(
            CHECK,
            "skip",
            f"no rows after train_until {cut.isoformat()} to score",
            rubric_id="model-4",
            notes=tuple(notes),
        )

    if frozen:
        model = fit_fn_or_model
        trained = "frozen model"
    else:
        train_df = frame[before & labelled(np.asarray(frame[target]))]
        if len(train_df) < min_period_rows:
            return CheckResult(
                CHECK,
                "skip",
                f"only {len(train_df)} labelled rows up to {cut.date()} to train on "
                f"(at least {min_period_rows} needed)",
                rubric_id="model-4",
                notes=tuple(notes),
            )
        model = fit_fn_or_model(train_df, seed)
        trained = f"model trained on {len(train_df)} rows up to {cut.date()} (seed {seed})"

    met = resolve_metric(metric, model, frame[target])
    y_all = np.asarray(frame[target])
    positive = positive_for(met, y_all[labelled(y_all)])
    classes = classes_of(model)
    edges = _period_edges(cut, ts[after].max(), periods)
    ts_after = ts.where(after)
    rows: list[tuple[Any, ...]] = []
    curve: list[tuple[float, float | None, int]] = []
    for k in range(len(edges) - 1):
        lo, hi = edges[k], edges[k + 1]
        in_period = after & np.asarray((ts_after > lo) & (ts_after <= hi))
        m = in_period & labelled(y_all)
        n = int(m.sum())
        age = float((hi - cut) / _DAY)
        value = None
        if n >= min_period_rows:
            sub = frame.loc[m, feats]
            value = try_score(met, y_all[m], outputs(model, sub, met), classes, positive)
        curve.append((age, value, n))
        rows.append((f"{lo.date()} .. {hi.date()}", round(age, 1), n, value))

    judged = [(i, age, v) for i, (age, v, _) in enumerate(curve) if v is not None]
    if len(judged) < 2:
        table = Table(
            ("period", "age (days)", "rows", met.name, "status"),
            tuple((*r, "too few rows to judge" if r[3] is None else "judged") for r in rows),
        )
        return CheckResult(
            CHECK,
            "skip",
            f"fewer than two periods after {cut.date()} have {min_period_rows} labelled rows "
            "to score",
            table,
            "model-4",
            notes=tuple(notes),
        )

    ref = judged[0][2]
    assert ref is not None
    gap = allowed_gap(ref, tolerance, relative_tolerance)
    tolerable = judged[0][1]
    breach: int | None = None
    statuses = ["too few rows to judge"] * len(rows)
    for i, age, v in judged:
        assert v is not None
        within = gain(met, v, ref) >= -gap
        if breach is None and within:
            tolerable = age
        elif breach is None:
            breach = i
        change = v - ref
        statuses[i] = (
            "reference (freshest)"
            if i == judged[0][0]
            else (
                f"within tolerance ({change:+.4g})"
                if within
                else f"beyond tolerance ({change:+.4g})"
            )
        )
    last_age = judged[-1][1]
    lower_bound = breach is None
    table = Table(
        ("period", "age (days)", "rows", met.name, "status"),
        tuple((*r, s) for r, s in zip(rows, statuses, strict=True)),
    )
    metrics: dict[str, float] = {
        "tolerable_age_days": float(tolerable),
        "tolerable_age_is_lower_bound": 1.0 if lower_bound else 0.0,
        "freshest_value": float(ref),
        "periods_judged": float(len(judged)),
        "max_age_scored_days": float(last_age),
    }
    data_text = (
        f"{met.name} of the {trained} on {len(judged)} later periods of {frame.shape[0]} rows "
        f"({timestamp!r}); tolerance {describe_gap(gap, tolerance, relative_tolerance)} from the "
        f"freshest period ({ref:.4g})"
    )
    age_text = f"at least {tolerable:g}" if lower_bound else f"{tolerable:g}"
    verdict: Verdict
    if max_tolerable_age_days is None:
        verdict, summary = "pass", f"tolerable age {age_text} days: {data_text}"
    else:
        metrics["max_tolerable_age_days"] = float(max_tolerable_age_days)
        need = f"required {max_tolerable_age_days:g} days"
        if tolerable >= max_tolerable_age_days:
            verdict, summary = "pass", f"tolerable age {age_text} days, {need}: {data_text}"
        elif lower_bound:
            verdict = "skip"
            summary = (
                f"no decay up to {last_age:g} days, but the data does not reach the {need}: "
                f"{data_text}"
            )
        else:
            verdict = "fail"
            summary = (
                f"quality decays beyond tolerance after {tolerable:g} days, {need}: {data_text}"
            )
    return CheckResult(CHECK, verdict, summary, table, "model-4", metrics, tuple(notes))


# -- built-in check ----------------------------------------------------------------------------
def run_staleness_curve(ctx: CheckContext) -> CheckResult:
    spec = ctx.assets.dataset_spec("training")
    assert spec.timestamp is not None and spec.target is not None
    train_until: Any = ctx.params["train_until"]
    trainer: Any
    if ctx.settings.training_fit:
        trainer = ctx.fit_function()
    else:  # a frozen model: it knows the data up to when it was made
        trainer = ctx.model("default")
        if train_until is None:
            train_until = ctx.assets.model_created("default")[0]
    return staleness_curve(
        trainer,
        ctx.assets.frame("training"),
        spec.timestamp,
        spec.target,
        ctx.assets.features("training"),
        train_until=train_until,
        periods=ctx.params["periods"],
        relative_tolerance=ctx.params["relative_tolerance"],
        max_tolerable_age_days=ctx.params["max_tolerable_age_days"],
        metric=ctx.params["metric"],
        seed=ctx.settings.training_seed,
    )


STALENESS_CURVE = BuiltinCheck(
    "model-4",
    "staleness-curve",
    "quality versus model age is measured on later periods",
    (
        dataset("training", column="timestamp"),
        dataset("training", column="target"),
        model("default"),
    ),
    run_staleness_curve,
    (
        METRIC,
        Param("periods", "integer", 6, "number of later periods scored", 2),
        Param(
            "train_until",
            "string",
            None,
            "train on rows up to this date (default: the median timestamp with a trainer, "
            "the model's creation date without)",
        ),
        Param("relative_tolerance", "number", 0.05, "quality loss that still counts as tolerable"),
        Param(
            "max_tolerable_age_days",
            "number",
            None,
            "fail if quality decays beyond tolerance before this age",
        ),
    ),
    declines="too few labelled rows before `train_until` or in the later periods",
)
